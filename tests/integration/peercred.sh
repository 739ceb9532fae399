# Peer credentials on the control socket.  With control.mode 0777 anybody
# can connect, but an unprivileged uid is refused (exit 4, "permission
# denied") and the daemon logs it; root is served.  With control.group set
# to a group the unprivileged user is given, it is served.  Root only (it
# needs a second uid and a temporary group).
. "$(dirname "$0")/lib.sh" || exit 99

[ "$(id -u)" = 0 ] || skip "needs root (a second uid and groupadd)"
command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
NOBODY_UID=$(id -u nobody 2>/dev/null) || skip "no user nobody"
NOBODY_GID=$(id -g nobody)
# nobody must reach the socket and run chainkeeperctl.
chmod 711 "$T"
if ! setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --clear-groups \
    test -x "$CHAINKEEPERCTL"; then
	skip "nobody cannot run $CHAINKEEPERCTL (folder permissions)"
fi

# as_nobody [setpriv group options] -- chainkeeperctl args
as_nobody() {
	local opts=()
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" "${opts[@]}" \
	    "$CHAINKEEPERCTL" -s "$SOCK" -t 30 "$@"
}

prog=$(write_script prog.sh <<'EOF'
#!/bin/sh
exec sleep 100000
EOF
)
programs() {
	cat <<EOF
programs:
  node:
    command: $prog
    startsecs: 0
EOF
}

CONTROL_EXTRA="  mode: 0777"
programs | write_config
start_daemon
assert_eq 777 "$(stat -c %a "$SOCK")" "socket mode"

# nobody: refused by the daemon, exit 4, permission denied, logged.
out=$(as_nobody --clear-groups -- status 2>&1)
rc=$?
say "nobody: rc $rc: $out"
assert_eq 4 "$rc" "chainkeeperctl exit code for nobody"
assert_match '[Pp]ermission denied' "$out" "chainkeeperctl message for nobody"
wait_for "the refusal in the daemon log" 5 \
    log_has "control: refused pid [0-9]+ uid $NOBODY_UID "
# A command that would change something is refused just the same.
as_nobody --clear-groups -- stop node >/dev/null 2>&1
assert_eq 4 $? "exit code of stop as nobody"
assert_eq RUNNING "$(status_field node state)" "node after nobody's stop"
as_nobody --clear-groups -- shutdown >/dev/null 2>&1
assert_eq 4 $? "exit code of shutdown as nobody"
daemon_up || fail "chainkeeperd went away after nobody's shutdown"

# root is served.
out=$(ctl status 2>&1) || fail "root was refused: $out"
assert_match '^node +RUNNING' "$out" "root's status"

# control.group: a temporary group, given to nobody as a supplementary
# group, then as its primary group.
GROUP=ckt$$
# Groups of earlier runs that were SIGKILLed (no EXIT trap): ckt<pid>
# whose test is gone.
for g in $(getent group | sed -n 's/^\(ckt[0-9][0-9]*\):.*/\1/p'); do
	if ! grep -qs peercred "/proc/${g#ckt}/cmdline"; then
		groupdel "$g" 2>/dev/null && say "removed stale group $g"
	fi
done
on_exit groupdel "$GROUP"
groupadd "$GROUP" || skip "groupadd $GROUP failed"
GID=$(getent group "$GROUP" | cut -d: -f3)
stop_daemon
CONTROL_EXTRA="  mode: 0770
  group: $GROUP"
programs | write_config
start_daemon
assert_eq "770 $GROUP" "$(stat -c '%a %G' "$SOCK")" "socket mode and group"

out=$(as_nobody --groups="$GID" -- status 2>&1)
rc=$?
say "nobody with supplementary group $GROUP: rc $rc"
assert_eq 0 "$rc" "exit code for nobody in $GROUP: $out"
assert_match '^node +RUNNING' "$out" "status as nobody in $GROUP"
out=$(setpriv --reuid="$NOBODY_UID" --regid="$GID" --clear-groups \
    "$CHAINKEEPERCTL" -s "$SOCK" -t 30 status 2>&1)
assert_eq 0 $? "exit code for nobody with primary group $GROUP: $out"
# A member can act, too.
as_nobody --groups="$GID" -- stop node >/dev/null 2>&1 ||
    fail "nobody in $GROUP could not stop node"
assert_eq STOPPED "$(status_field node state)" "node after stop by a member"
as_nobody --groups="$GID" -- start node >/dev/null 2>&1 ||
    fail "nobody in $GROUP could not start node"

# Without the group: refused (by the socket's mode or by the daemon).
out=$(as_nobody --clear-groups -- status 2>&1)
rc=$?
say "nobody without the group: rc $rc: $out"
assert_eq 4 "$rc" "exit code for nobody outside $GROUP"
assert_match '[Pp]ermission denied' "$out" "message for nobody outside $GROUP"
# Even if the socket's mode lets everybody in, the group is checked.
chmod 0777 "$SOCK"
out=$(as_nobody --clear-groups -- status 2>&1)
rc=$?
assert_eq 4 "$rc" "exit code for nobody outside $GROUP, socket 0777"
assert_match 'permission denied: uid' "$out" "daemon's refusal message"

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

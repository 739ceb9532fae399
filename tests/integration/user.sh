# The child's execution context: user (uid, gid, supplementary groups,
# HOME/USER/LOGNAME from passwd), limits (nofile), umask, directory and
# environment.  Root only (it switches to nobody).
. "$(dirname "$0")/lib.sh" || exit 99

[ "$(id -u)" = 0 ] || skip "needs root to switch users"
getent passwd nobody >/dev/null || skip "no user nobody"
IFS=: read -r _ _ NB_UID NB_GID _ NB_HOME _ < <(getent passwd nobody)
NB_GROUPS=$(id -G nobody | tr ' ' '\n' | sort -n | xargs)

# nofile: 327680 if the hard limit allows it, else the hard limit itself
# (the daemon raises its own soft limit to the hard one; without
# CAP_SYS_RESOURCE nothing can go above it).
hard=$(ulimit -Hn)
want=327680
if [ "$hard" != unlimited ] && [ "$hard" -lt $want ]; then
	want=$((hard - 1))
	say "hard nofile limit is $hard: using $want instead of 327680"
fi

mkdir "$T/work"
chmod 711 "$T"
chmod 755 "$T/work"
chown nobody "$T/work"
prog=$(write_script report.sh <<'EOF'
#!/bin/sh
echo "uid=$(id -u)"
echo "gid=$(id -g)"
echo "groups=$(id -G | tr ' ' '\n' | sort -n | xargs)"
echo "home=$HOME"
echo "user=$USER"
echo "logname=$LOGNAME"
echo "nofile=$(ulimit -n)"
echo "nofile_hard=$(ulimit -Hn)"
echo "umask=$(umask)"
echo "pwd=$(pwd)"
echo "network=$NETWORK"
echo "spaced=$SPACED"
echo "empty=[$EMPTY]"
echo "program=$CHAINKEEPER_PROGRAM"
echo "notify=[${NOTIFY_SOCKET:-}]"
touch "new-$CHAINKEEPER_PROGRAM"
echo "newfile=$(stat -c %a "new-$CHAINKEEPER_PROGRAM")"
echo "stdin=$(readlink /proc/self/fd/0)"
echo "DONE"
exec sleep 100000
EOF
)
write_config <<EOF
programs:
  asnobody:
    command: $prog
    user: nobody
    startsecs: 0
    umask: "027"
    directory: $T/work
    limits:
      nofile: $want
    environment:
      NETWORK: mainnet
      SPACED: "a b  c"
      EMPTY: ""
    stdout_logfile: $T/asnobody.out
  asroot:
    command: $prog
    startsecs: 0
    directory: $T/work
    environment:
      HOME: /custom/home
    stdout_logfile: $T/asroot.out
EOF
# A NOTIFY_SOCKET of chainkeeperd's own must not reach the programs.
NOTIFY_SOCKET=/nonexistent/notify.sock start_daemon
wait_for "asnobody's report" 10 grep -qx DONE "$T/asnobody.out"
wait_for "asroot's report" 10 grep -qx DONE "$T/asroot.out"
say "asnobody reports: $(grep -v DONE "$T/asnobody.out" | xargs)"

val() {
	sed -n "s/^$2=//p" "$T/$1.out"
}
assert_eq "$NB_UID" "$(val asnobody uid)" "uid"
assert_eq "$NB_GID" "$(val asnobody gid)" "gid"
assert_eq "$NB_GROUPS" "$(val asnobody groups)" "supplementary groups"
assert_eq "$NB_HOME" "$(val asnobody home)" "HOME"
assert_eq nobody "$(val asnobody user)" "USER"
assert_eq nobody "$(val asnobody logname)" "LOGNAME"
assert_eq "$want" "$(val asnobody nofile)" "ulimit -n"
assert_eq "$want" "$(val asnobody nofile_hard)" "ulimit -Hn"
assert_eq 0027 "$(val asnobody umask)" "umask"
assert_eq 640 "$(val asnobody newfile)" "mode of a new file under umask 027"
assert_eq "$T/work" "$(val asnobody pwd)" "directory"
assert_eq mainnet "$(val asnobody network)" "environment NETWORK"
assert_eq "a b  c" "$(val asnobody spaced)" "environment SPACED"
assert_eq "[]" "$(val asnobody empty)" "environment EMPTY"
assert_eq asnobody "$(val asnobody program)" "CHAINKEEPER_PROGRAM"
assert_eq "[]" "$(val asnobody notify)" "NOTIFY_SOCKET leaked to a program"
assert_eq /dev/null "$(val asnobody stdin)" "stdin"
pid=$(status_field asnobody pid)
assert_eq "$NB_UID $NB_UID $NB_UID $NB_UID" \
    "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' /proc/$pid/status)" \
    "real, effective, saved and fs uid of the running program"
assert_eq "$NB_GID $NB_GID $NB_GID $NB_GID" \
    "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' /proc/$pid/status)" \
    "real, effective, saved and fs gid of the running program"
assert_eq "$want" "$(awk '/^Max open files/ { print $4 }' /proc/$pid/limits)" \
    "soft nofile in /proc/pid/limits"
# Only stdin, stdout and stderr: no descriptor of the daemon leaks.
assert_eq "0 1 2" "$(ls /proc/$pid/fd | sort -n | xargs)" "open descriptors"

# Without user:, the program runs as chainkeeperd's user, with the
# inherited nofile limit, and its own HOME wins.
assert_eq 0 "$(val asroot uid)" "uid without user:"
assert_eq /custom/home "$(val asroot home)" "HOME from environment"
assert_eq "$(ulimit -n)" "$(val asroot nofile)" "inherited ulimit -n"

# A user that does not exist is a config error with a position.
out=$("$CHAINKEEPERD" -n -c /dev/stdin 2>&1 <<EOF
state_dir: $STATE
programs:
  x:
    command: sleep 1
    user: no-such-user-$$
EOF
) && fail "an unknown user was accepted"
assert_match ':5:11: user: no such user' "$out" "unknown user error"

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

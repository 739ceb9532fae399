# chainkeeperd makes itself non-dumpable: no core file with its secrets,
# no ptrace, and /proc/PID/environ, mem and the like belong to root, not
# to the daemon's uid.  The observable: a chainkeeperd run as the
# attacker's uid (as a non-root deployment would run it), holding a
# secret in its environment, whose /proc/PID/environ that same uid cannot
# read (it could on the baseline).  CHAINKEEPERD_DUMPABLE=1 turns this off
# for debugging.
. "$(dirname "$0")/seclib.sh" || exit 99

home=$T/atk
mkdir -m 700 "$home"
chown "$ATK" "$home"
SOCK=$home/ck.sock
STATE=$home/state
LOGDIR=$home/logs
write_config <<EOF
programs:
$CRASHER_CONFIG
EOF
chown "$ATK" "$CFG"

# The attacker runs copies of the binaries: the build folder may sit
# where it cannot reach (a clone in /root).
install -d -m 755 "$T/bin"
cp "$CHAINKEEPERD" "${CHAINKEEPERD%/*}/chainkeeper-fdholder" "$T/bin/" ||
    fail "cannot copy the binaries"

# run_as_atk [ENV...]: chainkeeperd as the attacker, in the background.
run_as_atk() {
	echo "----- $(date '+%F %T') chainkeeperd as $ATK $*" >>"$LOG"
	setpriv --reuid="$ATK_UID" --regid="$ATK_GID" --clear-groups -- \
	    env CK_TEST_DIR="$T" DAEMON_SECRET=envfile-s3cr3t "$@" \
	    "$T/bin/chainkeeperd" -c "$CFG" >>"$LOG" 2>&1 &
	DPID=$!
	wait_until "chainkeeperd as $ATK to answer" 20 daemon_up
}

run_as_atk
wait_until "a first crasher restart" 20 '[ "$(crashes)" -ge 1 ]'
from=$(($(log_lines) + 1))
assert_eq "$ATK_UID" "$(awk '/^Uid:/ { print $2 }' /proc/$DPID/status)" \
    "the daemon's uid"
owner=$(stat -c %U "/proc/$DPID/environ")
say "owner of /proc/$DPID/environ: $owner"
if as_atk cat "/proc/$DPID/environ" 2>/dev/null | grep -qz s3cr3t; then
	fail "the daemon's uid read its environment, secret included"
fi
assert_eq root "$owner" "owner of the daemon's /proc/PID/environ"
as_atk cat "/proc/$DPID/cmdline" >/dev/null ||
    fail "/proc/PID/cmdline should stay readable"
n=$(crashes)
wait_until "another crasher restart" 20 "[ \$(crashes) -ge $((n + 1)) ]"
figure "non-dumpable daemon" "$from"
stop_daemon

# The switch for debugging.
run_as_atk CHAINKEEPERD_DUMPABLE=1
as_atk cat "/proc/$DPID/environ" 2>/dev/null | grep -qz s3cr3t ||
    fail "CHAINKEEPERD_DUMPABLE=1 did not keep the daemon dumpable"
stop_daemon

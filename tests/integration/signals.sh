# The daemon's signals and process-level contract:
#  - SIGUSR2 reopens log files (program logs and chainkeeperd's log.file):
#    after they are moved away, new output lands at the original paths;
#  - sd_notify: READY=1 once the control socket answers, RELOADING=1 and
#    READY=1 around a reload, STOPPING=1 at shutdown; programs do not
#    inherit NOTIFY_SOCKET;
#  - -d daemonizes and returns only once ready (the socket answers when
#    `chainkeeperd -d` returns);
#  - a second chainkeeperd on the same state_dir, or on the same socket, is
#    refused and the first one is not disturbed.
. "$(dirname "$0")/lib.sh" || exit 99

command -v "$PYTHON" >/dev/null || skip "python3 is needed for the notify socket"

DLOG=$T/chainkeeperd.log
DUMP_FILES="$DLOG $DLOG.old $T/notify.out"
LOG_EXTRA="  file: $DLOG"
mkdir "$T/out"
talker=$(write_script talker.sh <<'EOF'
#!/bin/bash
echo "talker up, NOTIFY_SOCKET=[${NOTIFY_SOCKET:-}]"
n=0
trap 'n=$((n + 1)); echo "got-usr1 $n"' USR1
trap 'exit 0' TERM
while :; do sleep 0.2 & wait $!; done
EOF
)
write_config <<EOF
programs:
  talker:
    command: $talker
    startsecs: 0
    stdout_logfile: $T/out/talker.log
EOF

# The notify socket: a datagram socket that records every message, and
# whether the control socket answered at that moment.
cat >"$T/notify.py" <<'EOF'
import os, socket, sys
path, ctl, out = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
open(out + ".ready", "w").close()
while True:
    m = s.recv(4096).decode()
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        c.connect(ctl)
        up = "up"
    except OSError:
        up = "down"
    c.close()
    with open(out, "a") as f:
        f.write("%s socket=%s\n" % (m.replace("\n", " "), up))
EOF
"$PYTHON" "$T/notify.py" "$T/notify.sock" "$SOCK" "$T/notify.out" &
wait_for "the notify listener" 10 test -e "$T/notify.out.ready"

NOTIFY_SOCKET=$T/notify.sock start_daemon
wait_for "READY=1" 10 grep -q '^READY=1' "$T/notify.out"
assert_eq "READY=1 socket=up" "$(sed -n 1p "$T/notify.out")" \
    "first notification (and the socket answered then)"
wait_for "talker RUNNING" 10 state_is talker RUNNING
wait_for "talker's first line" 10 grep -q 'talker up' "$T/out/talker.log"
assert_match 'NOTIFY_SOCKET=\[\]' "$(cat "$T/out/talker.log")" \
    "NOTIFY_SOCKET seen by a program"
ctl reload >/dev/null || fail "reload failed"
wait_for "RELOADING=1 and READY=1" 10 eval \
    '[ "$(grep -c . "$T/notify.out")" -ge 3 ]'
assert_eq "READY=1 RELOADING=1 READY=1" \
    "$(awk '{ print $1 }' "$T/notify.out" | xargs)" "notifications after a reload"

# --- SIGUSR2 --------------------------------------------------------------
tpid=$(status_field talker pid)
ctl signal USR1 talker >/dev/null || fail "signal failed"
wait_for "got-usr1 1" 10 grep -qx 'got-usr1 1' "$T/out/talker.log"
mv "$T/out/talker.log" "$T/out/talker.log.old"
mv "$DLOG" "$DLOG.old"
ctl signal USR1 talker >/dev/null || fail "signal failed"
# Before USR2 the old files are still written: that is why it is needed.
wait_for "got-usr1 2 in the moved file" 10 grep -qx 'got-usr1 2' "$T/out/talker.log.old"
[ -e "$T/out/talker.log" ] && fail "talker.log came back before SIGUSR2"
kill -USR2 "$DPID"
wait_for "talker.log reopened" 10 test -f "$T/out/talker.log"
wait_for "chainkeeperd.log reopened" 10 test -f "$DLOG"
grep -q 'SIGUSR2: reopening log files' "$DLOG.old" ||
    fail "no 'reopening' line in the old daemon log"
ctl signal USR1 talker >/dev/null || fail "signal failed"
wait_for "got-usr1 3 in the new file" 10 grep -qx 'got-usr1 3' "$T/out/talker.log"
grep -q 'got-usr1 3' "$T/out/talker.log.old" && fail "got-usr1 3 went to the moved file"
wait_for "the daemon's new lines in the new log file" 10 \
    grep -q "talker: sent SIGUSR1 to pid $tpid" "$DLOG"
assert_eq 2 "$(grep -c 'talker: sent SIGUSR1' "$DLOG.old")" \
    "SIGUSR1 lines in the old daemon log"
assert_eq "$tpid" "$(status_field talker pid)" "talker's pid across SIGUSR2"

# --- a second daemon ----------------------------------------------------
# Same state_dir, another socket: refused by the state_dir lock.
sed "s|$SOCK|$T/second.sock|" "$CFG" >"$T/second.yaml"
out=$(CK_TEST_DIR=$T timeout 20 "$CHAINKEEPERD" -c "$T/second.yaml" 2>&1)
rc=$?
say "second chainkeeperd, same state_dir: rc $rc: $(printf '%s' "$out" | tail -n 1)"
[ $rc != 0 ] && [ $rc != 124 ] || fail "a second chainkeeperd ran on the same state_dir (rc $rc)"
assert_match 'another chainkeeperd runs on this state_dir' \
    "$out$(tail -n 3 "$DLOG")" "refusal message"
[ -e "$T/second.sock" ] && fail "the second chainkeeperd created its socket"
# Same socket, another state_dir: refused, and the socket is not taken.
sed "s|$STATE|$T/state2|" "$CFG" | sed "s|$DLOG|$T/second.log|" >"$T/third.yaml"
out=$(CK_TEST_DIR=$T timeout 20 "$CHAINKEEPERD" -c "$T/third.yaml" 2>&1)
rc=$?
say "second chainkeeperd, same socket: rc $rc"
[ $rc != 0 ] && [ $rc != 124 ] || fail "a second chainkeeperd ran on the same socket (rc $rc)"
assert_match 'another chainkeeperd is listening' "$out$(cat "$T/second.log" 2>/dev/null)" \
    "refusal message"
assert_eq "$DPID" "$(ctl pid)" "the first daemon still answers on its socket"
assert_eq "$tpid" "$(status_field talker pid)" "talker untouched by the second daemon"
[ "$(pgrep -fc -- "$talker")" = 1 ] || fail "the second daemon started talker again"
# -d is refused the same way, and says so before daemonizing.
CK_TEST_DIR=$T timeout 20 "$CHAINKEEPERD" -d -c "$T/second.yaml" >/dev/null 2>&1
rc=$?
[ $rc != 0 ] && [ $rc != 124 ] || fail "chainkeeperd -d ran on a locked state_dir (rc $rc)"

# --- STOPPING=1 -----------------------------------------------------------
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"
wait_for "STOPPING=1" 10 grep -q '^STOPPING=1' "$T/notify.out"
assert_eq "READY=1 RELOADING=1 READY=1 STOPPING=1" \
    "$(awk '{ print $1 }' "$T/notify.out" | xargs)" "all notifications"

# --- -d -------------------------------------------------------------------
t0=$(now_ms)
CK_TEST_DIR=$T "$CHAINKEEPERD" -d -c "$CFG" >"$T/d.out" 2>&1
rc=$?
took=$(($(now_ms) - t0))
# No waiting here: the socket must answer the moment -d returns.
out=$(ctl version 2>&1)
ctl_rc=$?
say "chainkeeperd -d returned $rc after $took ms; version: $out"
assert_eq 0 "$rc" "exit status of chainkeeperd -d"
assert_eq 0 "$ctl_rc" "chainkeeperctl right after chainkeeperd -d returned ($out)"
[ -S "$SOCK" ] || fail "no socket when chainkeeperd -d returned"
dpid=$(ctl pid)
alive "$dpid" || fail "the daemon is not running"
assert_eq "$dpid" "$(ps -o sid= -p "$dpid" | tr -d ' ')" "the daemon's session"
[ "$(ps -o ppid= -p "$dpid" | tr -d ' ')" != $$ ] ||
    fail "the daemon is still a child of the test"
assert_eq "" "$(cat "$T/d.out")" "output of chainkeeperd -d"
wait_for "talker RUNNING under the daemonized chainkeeperd" 10 state_is talker RUNNING
assert_eq /dev/null "$(readlink /proc/$dpid/fd/0)" "the daemon's stdin"
assert_eq /dev/null "$(readlink /proc/$dpid/fd/2)" "the daemon's stderr"
ctl shutdown >/dev/null || fail "shutdown of the daemonized chainkeeperd failed"
_wait_gone "$dpid" 20 || fail "the daemonized chainkeeperd did not exit"
[ -z "$(tagged_procs)" ] || fail "processes left: $(tagged_procs)"

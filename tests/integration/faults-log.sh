# chainkeeperd's own log is a pipe nobody reads (a stuck journald, a
# terminal on hold): once the pipe is full, log lines are dropped, not
# waited for, so the daemon keeps answering and supervising.  When the pipe
# is read again, a line says how many lines were dropped, and logging goes
# on.
. "$(dirname "$0")/lib.sh" || exit 99

prog=$(write_script idle.sh <<'EOF'
#!/bin/sh
echo run >>"$1"
exec sleep 100000
EOF
)
write_config <<EOF
programs:
  idle:
    command: [$prog, $T/idle.runs]
    startsecs: 0
EOF
mkfifo "$T/fifo"
# The test holds both ends and never reads: the pipe fills up.
exec 7<>"$T/fifo"
echo "----- $(date '+%F %T') chainkeeperd, its log to an unread pipe" >>"$LOG"
# shellcheck disable=SC2086
CK_TEST_DIR=$T ${CK_DAEMON_WRAPPER:-} "$CHAINKEEPERD" -c "$CFG" >"$T/fifo" 2>&1 &
DPID=$!
wait_for "chainkeeperd answering" 10 daemon_up
wait_for "idle RUNNING" 10 state_is idle RUNNING

# Each restart logs a few lines: far more than a pipe holds (64 KiB).
restarts=0
pid0=$(status_field idle pid)
t0=$(now_ms)
while [ "$restarts" -lt 200 ]; do
	"$CHAINKEEPERCTL" -s "$SOCK" -t 10 restart idle >/dev/null ||
	    fail "restart $restarts failed (the daemon blocked on its log?)"
	restarts=$((restarts + 1))
done
say "$restarts restarts in $(($(now_ms) - t0)) ms with the log pipe full"
# Each restart was answered once its new run was executed (a run may be
# stopped again before its script wrote its line, so runs are not counted
# from the file): the program is RUNNING under a new pid.
assert_eq RUNNING "$(status_field idle state)" "idle's state"
[ "$(status_field idle pid)" != "$pid0" ] || fail "idle kept pid $pid0"

ctl status >/dev/null || fail "status failed with the log pipe full"

# Read the pipe again: the daemon says what it dropped, and goes on.
cat <&7 >"$T/drained" &
reader=$!
on_exit "kill $reader 2>/dev/null"
ctl restart idle >/dev/null || fail "restart failed"
wait_until "the dropped lines counted" 10 \
    "grep -q 'log lines were dropped: the log was not being read' '$T/drained'"
line=$(grep 'log lines were dropped' "$T/drained")
say "$line"
n=$(printf '%s\n' "$line" | sed -E 's/.*warning: ([0-9]+) log lines.*/\1/')
[ "$n" -gt 0 ] || fail "dropped count $n"
wait_until "lines after the note" 10 \
    "grep -A1 'log lines were dropped' '$T/drained' | grep -q 'idle: '"

# A RUNNING program SIGKILLed from outside is restarted at once: a new pid,
# RUNNING, restarts incremented, last_exit says SIGKILL.  A second crash
# soon after goes through BACKOFF (the configured delay) and also recovers.
# Prints (does not assert) the crash -> respawn latency.
. "$(dirname "$0")/lib.sh" || exit 99

prog=$(write_script node.sh <<'EOF'
#!/bin/sh
echo "node up pid $$"
exec sleep 100000
EOF
)
write_config <<EOF
programs:
  node:
    command: $prog
    startsecs: 0
    backoff:
      initial: 300ms
      max: 30s
      jitter: 0
EOF
start_daemon

wait_for "node RUNNING" 10 state_is node RUNNING
pid1=$(status_field node pid)
assert_eq 0 "$(status_field node restarts)" "restarts before any crash"
assert_eq null "$(status_field node last_exit)" "last_exit before any crash"

# Crash 1: SIGKILL from outside; poll closely to time the respawn.
t0=$(now_ms)
kill -KILL "$pid1"
respawn_poll=
while [ "$(now_ms)" -lt $((t0 + 10000)) ]; do
	p=$(ctl pid node 2>/dev/null)
	if [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$pid1" ]; then
		respawn_poll=$(($(now_ms) - t0))
		break
	fi
	sleep 0.005
done
[ -n "$respawn_poll" ] || fail "node was not respawned within 10s"
wait_for "node RUNNING again" 10 state_is node RUNNING
pid2=$(status_field node pid)
assert_ne "$pid1" "$pid2" "pid after the crash"
kill -0 "$pid2" || fail "the new pid $pid2 does not exist"
alive "$pid1" && fail "the old pid $pid1 is still alive"
assert_eq 1 "$(status_field node restarts)" "restarts after one crash"
assert_eq KILL "$(status_field node last_exit.signal)" "last_exit.signal"
assert_eq null "$(status_field node last_exit.code)" "last_exit.code"
assert_match 'SIGKILL' "$(status_field node last_exit.text)" "last_exit.text"

# The respawn was immediate: EXITED -> STARTING, no BACKOFF in between.
log_has 'node: RUNNING -> EXITED: killed by SIGKILL' ||
    fail "no EXITED line for the crash in the log"
exited_line=$(log_lineno 'node: RUNNING -> EXITED')
next=$(sed -n "$((exited_line + 1)),\$p" "$LOG" | grep -m1 'node: ')
assert_match "node: EXITED -> STARTING: pid $pid2" "$next" \
    "the line after the crash"
t_exit=$(log_ms 'node: RUNNING -> EXITED')
t_spawn=$(log_ms "node: EXITED -> STARTING: pid $pid2")
say "crash -> respawn latency: $((t_spawn - t0)) ms from kill(2) to the" \
    "daemon's spawn (log), $((t_spawn - t_exit)) ms from the daemon" \
    "seeing the exit to the spawn (log), ${respawn_poll} ms until" \
    "chainkeeperctl reported the new pid (polling)"

# Crash 2, soon after: a crash loop is slowed down by the backoff.
t1=$(now_ms)
kill -KILL "$pid2"
wait_for "node back to RUNNING after the second crash" 10 eval \
    '[ "$(status_field node state)" = RUNNING ] &&
    [ "$(status_field node pid)" != "$pid2" ]'
took=$(($(now_ms) - t1))
pid3=$(status_field node pid)
assert_eq 2 "$(status_field node restarts)" "restarts after two crashes"
assert_match 'node: EXITED -> BACKOFF: killed by SIGKILL; retry in 300 ms' \
    "$(grep 'node: EXITED -> BACKOFF' "$LOG")" "backoff line"
[ "$took" -ge 250 ] || fail "second respawn after $took ms, before the 300 ms backoff"
t_b=$(log_ms 'node: EXITED -> BACKOFF')
t_s=$(log_ms "node: BACKOFF -> STARTING: pid $pid3")
say "second crash: backoff of $((t_s - t_b)) ms (300 ms configured)"
[ $((t_s - t_b)) -ge 290 ] || fail "backoff lasted $((t_s - t_b)) ms"

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"
left=$(tagged_procs)
[ -z "$left" ] || fail "processes left after shutdown: $left"

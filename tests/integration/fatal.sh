# A program that exits at once, with startsecs 1s, startretries 2 and a
# 100 ms initial backoff, goes STARTING -> BACKOFF (100 ms, then 200 ms)
# and ends FATAL after exactly startretries + 1 = 3 spawns (each run appends
# a line to a file).  `chainkeeperctl start` of it exits 1 and says why.
# A program whose command does not exist ends FATAL too, and start says
# "No such file or directory".
. "$(dirname "$0")/lib.sh" || exit 99

prog=$(write_script crash.sh <<'EOF'
#!/bin/sh
echo "run $$" >>"$1"
echo "crash.sh: cannot open the block log" >&2
exit 1
EOF
)
write_config <<EOF
programs:
  crashy:
    command: [$prog, $T/spawns]
    startsecs: 1s
    startretries: 2
    backoff:
      initial: 100ms
      max: 10s
      jitter: 0
  missing:
    command: $T/no-such-binary --flag
    startsecs: 1s
    startretries: 1
    backoff: {initial: 100ms, jitter: 0}
EOF
start_daemon

spawns() {
	if [ -f "$T/spawns" ]; then wc -l <"$T/spawns"; else echo 0; fi
}

wait_for "crashy FATAL" 15 state_is crashy FATAL
assert_eq 3 "$(spawns)" "spawns before FATAL (startretries + 1)"
assert_eq 3 "$(log_count 'crashy: (STOPPED|BACKOFF) -> STARTING')" \
    "STARTING lines in the log"
# BACKOFF twice, with the configured doubling delay, then FATAL.
backoffs=$(grep 'crashy: STARTING -> BACKOFF' "$LOG")
assert_eq 2 "$(printf '%s\n' "$backoffs" | grep -c .)" "BACKOFF lines"
assert_match 'exit status 1; retry in 100 ms' \
    "$(printf '%s\n' "$backoffs" | sed -n 1p)" "first BACKOFF"
assert_match 'exit status 1; retry in 200 ms' \
    "$(printf '%s\n' "$backoffs" | sed -n 2p)" "second BACKOFF"
log_has 'crashy: STARTING -> FATAL: exit status 1; gave up after 2 start retries' ||
    fail "no FATAL line saying it gave up after 2 retries"
t_b1=$(log_ms 'crashy: STARTING -> BACKOFF' 1)
t_s2=$(log_ms 'crashy: BACKOFF -> STARTING' 1)
t_b2=$(log_ms 'crashy: STARTING -> BACKOFF' 2)
t_s3=$(log_ms 'crashy: BACKOFF -> STARTING' 2)
say "backoff delays seen: $((t_s2 - t_b1)) ms, $((t_s3 - t_b2)) ms"
[ $((t_s2 - t_b1)) -ge 95 ] || fail "first backoff was $((t_s2 - t_b1)) ms"
[ $((t_s3 - t_b2)) -ge 195 ] || fail "second backoff was $((t_s3 - t_b2)) ms"
assert_eq 1 "$(status_field crashy last_exit.code)" "last_exit.code"
assert_eq 0 "$(status_field crashy pid)" "pid of a FATAL program"

# FATAL is final: no more spawns.
for i in $(seq 1 10); do
	assert_eq FATAL "$(status_field crashy state)" "crashy state"
	sleep 0.05
done
assert_eq 3 "$(spawns)" "spawns after FATAL"

# start by hand: fails with exit 1 and a reason, and counts afresh.
out=$(ctl start crashy 2>&1)
rc=$?
say "chainkeeperctl start crashy -> $rc: $out"
assert_eq 1 "$rc" "exit code of chainkeeperctl start of a crashing program"
assert_match 'crashy: ERROR \(.*(BACKOFF|FATAL).*exit status 1' "$out" \
    "chainkeeperctl start output"
wait_for "crashy FATAL again" 15 state_is crashy FATAL
assert_eq 6 "$(spawns)" "spawns after a second start (3 more)"
out=$(ctl status crashy)
assert_match '^crashy +FATAL +exit status 1' "$out" "status line"

# A command that cannot run: FATAL, and the reason is the exec error.
wait_for "missing FATAL" 15 state_is missing FATAL
assert_eq 2 "$(log_count 'missing: (STOPPED|BACKOFF) -> STARTING')" \
    "spawns of a missing command (startretries 1 + 1)"
assert_match 'No such file or directory' \
    "$(status_field missing description)" "description of missing"
out=$(ctl start missing 2>&1)
rc=$?
say "chainkeeperctl start missing -> $rc: $out"
assert_eq 1 "$rc" "exit code of chainkeeperctl start of a missing command"
assert_match "missing: ERROR .*cannot run $T/no-such-binary: No such file or directory" \
    "$out" "chainkeeperctl start output"

# --json gives the same verdict in machine form.
out=$(ctl start --json missing 2>/dev/null)
assert_eq false "$(printf '%s' "$out" | jq -r '.[0].ok')" "ok in --json"
assert_match '(BACKOFF|FATAL)' "$(printf '%s' "$out" | jq -r '.[0].error')" \
    "error in --json"

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

# depends_on: b depends on a, and a has startsecs 1s: b is spawned only
# once a is RUNNING (log order and times, and b's own record of a's state
# when it started).  While a is STARTING, b is STOPPED and waiting.  A
# chain c -> b -> a starts in order too.  Start order does not follow the
# config order: b and c are defined first.
. "$(dirname "$0")/lib.sh" || exit 99

prog=$(write_script prog.sh <<'EOF'
#!/bin/sh
# prog.sh NAME: record the start time (ms) and go on.
echo "$1 $(date +%s%3N)" >>"$CK_DIR/starts"
exec sleep 100000
EOF
)
write_config <<EOF
programs:
  c:
    command: [$prog, c]
    startsecs: 0
    depends_on: [b]
    environment: {CK_DIR: $T}
  b:
    command: [$prog, b]
    startsecs: 0
    depends_on: [a]
    environment: {CK_DIR: $T}
  a:
    command: [$prog, a]
    startsecs: 1s
    environment: {CK_DIR: $T}
EOF
start_daemon

# Until a is RUNNING, b and c must not have been spawned: check at every
# sample, whatever the timing.
deadline=$(($(now_ms) + 15000))
samples=0
waiting_seen=0
while :; do
	st=$(ctl status --json) || fail "status failed"
	sa=$(printf '%s' "$st" | jq -r '.[] | select(.name == "a") | .state')
	sb=$(printf '%s' "$st" | jq -r '.[] | select(.name == "b") | .state')
	sc=$(printf '%s' "$st" | jq -r '.[] | select(.name == "c") | .state')
	db=$(printf '%s' "$st" | jq -r '.[] | select(.name == "b") | .description')
	samples=$((samples + 1))
	[ "$sa" = RUNNING ] && break
	assert_eq STOPPED "$sb" "b's state while a is $sa"
	assert_eq STOPPED "$sc" "c's state while a is $sa"
	assert_eq "waiting for depends_on" "$db" "b's description while a is $sa"
	waiting_seen=1
	[ "$(now_ms)" -lt "$deadline" ] || fail "a never became RUNNING"
	sleep 0.05
done
say "$samples status samples until a was RUNNING"
[ $waiting_seen = 1 ] || say "note: a was RUNNING at the first sample"

wait_for "b RUNNING" 10 state_is b RUNNING
wait_for "c RUNNING" 10 state_is c RUNNING

# The log: a RUNNING, then b spawned, then b RUNNING, then c spawned.
l_arun=$(log_lineno 'a: STARTING -> RUNNING')
l_bspawn=$(log_lineno 'b: STOPPED -> STARTING')
l_brun=$(log_lineno 'b: STARTING -> RUNNING')
l_cspawn=$(log_lineno 'c: STOPPED -> STARTING')
[ -n "$l_arun" ] && [ -n "$l_bspawn" ] && [ -n "$l_cspawn" ] ||
    fail "missing log lines"
[ "$l_arun" -lt "$l_bspawn" ] || fail "b was spawned before a was RUNNING (log)"
[ "$l_brun" -lt "$l_cspawn" ] || fail "c was spawned before b was RUNNING (log)"
log_has 'b: waiting for a to be RUNNING' || fail "no 'b: waiting for a' line"
log_has 'c: waiting for b to be RUNNING' || fail "no 'c: waiting for b' line"

# The times the programs recorded themselves, against the daemon's log: a
# program's own record comes after its spawn, so each bound below holds
# however late the scheduler runs a script.  (Comparing b's record with c's
# would not: with startsecs 0, b is RUNNING at spawn and c may be spawned
# and run its first line before b's shell has run its own.)
ta=$(awk '$1 == "a" { print $2 }' "$T/starts")
tb=$(awk '$1 == "b" { print $2 }' "$T/starts")
tc=$(awk '$1 == "c" { print $2 }' "$T/starts")
t_aspawn=$(log_ms 'a: STOPPED -> STARTING') || t_aspawn=$ta
t_arun=$(log_ms 'a: STARTING -> RUNNING')
t_bspawn=$(log_ms 'b: STOPPED -> STARTING')
t_brun=$(log_ms 'b: STARTING -> RUNNING')
say "a started at +0 ms, b at +$((tb - ta)) ms, c at +$((tc - ta)) ms"
[ $((t_arun - t_aspawn)) -ge 950 ] ||
    fail "a RUNNING $((t_arun - t_aspawn)) ms after its spawn (startsecs 1s)"
[ "$t_bspawn" -ge "$t_arun" ] || fail "b spawned before a was RUNNING (times)"
[ "$tb" -ge "$t_arun" ] || fail "b ran before a was RUNNING"
[ "$tc" -ge "$t_brun" ] || fail "c ran before b was RUNNING"
assert_eq 1 "$(grep -c '^a ' "$T/starts")" "a's starts"
assert_eq 1 "$(grep -c '^b ' "$T/starts")" "b's starts"

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

# stopwaitsecs: a program that ignores SIGTERM is SIGKILLed after
# stopwaitsecs (1s): `chainkeeperctl stop` completes, takes >= ~1 s, the
# process is gone, and the daemon log says SIGKILL.  A well-behaved
# program stops at once and is never SIGKILLed.
. "$(dirname "$0")/lib.sh" || exit 99

stubborn=$(write_script stubborn.sh <<'EOF'
#!/bin/bash
trap '' TERM
trap 'echo "got TERM, ignoring it"' USR1
echo "stubborn up"
while :; do sleep 0.1; done
EOF
)
polite=$(write_script polite.sh <<'EOF'
#!/bin/bash
trap 'echo "got TERM, leaving"; exit 0' TERM
echo "polite up"
while :; do sleep 0.05 & wait $!; done
EOF
)
write_config <<EOF
programs:
  stubborn:
    command: $stubborn
    startsecs: 0
    stopwaitsecs: 1s
  polite:
    command: $polite
    startsecs: 0
    stopwaitsecs: 10s
EOF
start_daemon
wait_for "stubborn RUNNING" 10 state_is stubborn RUNNING
wait_for "polite RUNNING" 10 state_is polite RUNNING
spid=$(status_field stubborn pid)
ppid_=$(status_field polite pid)
# The test is only meaningful if TERM really is ignored.
wait_for "stubborn to ignore TERM" 5 eval \
    "grep -q '^SigIgn:.*' /proc/$spid/status &&
    [ \$(( 0x\$(awk '/^SigIgn/ { print \$2 }' /proc/$spid/status) & 0x4000 )) != 0 ]"

# The stubborn one.
t0=$(now_ms)
out=$(ctl stop stubborn 2>&1)
rc=$?
took=$(($(now_ms) - t0))
say "stop stubborn: rc $rc in $took ms: $out"
assert_eq 0 "$rc" "chainkeeperctl stop stubborn exit code"
assert_eq "stubborn: stopped" "$out" "chainkeeperctl stop output"
[ "$took" -ge 950 ] || fail "stop of a TERM-ignoring program took only $took ms (stopwaitsecs 1s)"
[ "$took" -lt 8000 ] || fail "stop of a TERM-ignoring program took $took ms"
alive "$spid" && fail "stubborn pid $spid still alive after stop"
[ -z "$(procs_matching "$stubborn")" ] ||
    fail "stubborn processes left: $(procs_matching "$stubborn")"
assert_eq STOPPED "$(status_field stubborn state)" "stubborn state"
assert_eq KILL "$(status_field stubborn last_exit.signal)" "stubborn last_exit.signal"
log_has 'stubborn: still running 1000 ms after SIGTERM: sent SIGKILL' ||
    fail "the daemon log does not say SIGKILL for stubborn"
# The log tells the same story in time: TERM, then KILL ~1 s later.
t_term=$(log_ms 'stubborn: RUNNING -> STOPPING: sent SIGTERM')
t_kill=$(log_ms 'stubborn: still running .* sent SIGKILL')
say "SIGTERM -> SIGKILL in the log: $((t_kill - t_term)) ms"
[ $((t_kill - t_term)) -ge 990 ] || fail "SIGKILL after $((t_kill - t_term)) ms"

# The polite one.
t0=$(now_ms)
out=$(ctl stop polite 2>&1)
rc=$?
took=$(($(now_ms) - t0))
say "stop polite: rc $rc in $took ms"
assert_eq 0 "$rc" "chainkeeperctl stop polite exit code"
# Far below its stopwaitsecs (10s): it did not wait for the deadline.
[ "$took" -lt 5000 ] || fail "stop of a polite program took $took ms"
alive "$ppid_" && fail "polite pid $ppid_ still alive after stop"
[ -z "$(procs_matching "$polite")" ] || fail "polite processes left"
assert_eq 0 "$(status_field polite last_exit.code)" "polite last_exit.code"
log_has 'polite: .*SIGKILL' && fail "polite was SIGKILLed"

# Stopping a stopped program is a no-op that succeeds.
ctl stop polite >/dev/null || fail "stop of a stopped program failed"

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

# chainkeeperd killed with SIGKILL and started again adopts its programs:
# same pids, RUNNING, never started twice; a program writing to stdout
# meanwhile neither dies nor loses a line (the pipe holder kept the pipe);
# stop and a later crash work on the adopted program; a state file entry
# whose pid now names another process (a recycled pid) is not adopted.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

writer=$(write_script writer.sh <<'EOF'
#!/bin/sh
i=0
while :; do
	i=$((i + 1))
	echo "line $i"
	sleep 0.02
done
EOF
)
sleeper=$(write_script sleeper.sh <<'EOF'
#!/bin/sh
exec sleep 100000
EOF
)
write_config <<EOF
programs:
  writer:
    command: $writer
    startsecs: 0
  sleeper:
    command: $sleeper
    startsecs: 0
EOF
start_daemon
wait_for "both RUNNING" 10 eval 'state_is writer RUNNING && state_is sleeper RUNNING'
wpid=$(status_field writer pid)
spid=$(status_field sleeper pid)
out=$LOGDIR/writer.out.log
wait_for "captured output" 10 test -s "$out"

# Kill chainkeeperd outright; the programs stay.
old=$DPID
kill -KILL "$old"
wait "$old" 2>/dev/null
DPID=
alive "$wpid" || fail "writer died with chainkeeperd"
alive "$spid" || fail "sleeper died with chainkeeperd"
# While nobody reads, the writer keeps writing into the held pipe (it
# holds 64 KiB; this second writes about 500 bytes): no EPIPE, no death.
n_before=$(wc -l <"$out")
sleep 1
alive "$wpid" || fail "writer died while chainkeeperd was away (EPIPE?)"
assert_eq "$n_before" "$(wc -l <"$out")" "lines captured while away"

start_daemon
wait_for "writer adopted" 10 state_is writer RUNNING
assert_eq "$wpid" "$(status_field writer pid)" "writer pid after restart"
assert_eq "$spid" "$(status_field sleeper pid)" "sleeper pid after restart"
assert_eq 0 "$(status_field writer restarts)" "writer restarts"
log_has "writer: STOPPED -> RUNNING: adopted pid $wpid" ||
    fail "no adoption line for the writer"
# Main processes of a program: their instance marker names their own pid.
instances() {
	local pid n=0
	for pid in $(tagged_procs); do
		tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null |
		    grep -qx "CHAINKEEPER_INSTANCE=.*:$1/$pid" && n=$((n + 1))
	done
	echo $n
}
assert_eq 1 "$(instances writer)" "writer instances"
assert_eq 1 "$(instances sleeper)" "sleeper instances"

# Every line, in order, none lost: what was written while away came out
# of the pipe after the restart.
wait_for "output beyond the gap" 10 eval \
    '[ "$(wc -l <"$out")" -gt $((n_before + 80)) ]'
gaps=$(awk '{ if ($2 != NR) { print NR ": " $0; exit } }' "$out")
[ -z "$gaps" ] || fail "lines lost or out of order at $gaps"

# The adopted programs are controlled as usual.
ctl stop sleeper >/dev/null || fail "stop of the adopted sleeper failed"
alive "$spid" && fail "adopted sleeper still alive after stop"
assert_eq STOPPED "$(status_field sleeper state)" "sleeper state"
kill -KILL "$wpid"
wait_for "adopted writer restarted after a crash" 10 eval \
    '[ "$(status_field writer state)" = RUNNING ] &&
    [ "$(status_field writer pid)" != "$wpid" ]'
assert_match 'status unknown' "$(status_field writer last_exit.text)" \
    "exit of an adopted non-child"

# A recycled pid: the state file names a pid that is now another process.
stop_daemon
stranger=$(write_script stranger.sh <<'EOF'
#!/bin/sh
exec sleep 100000
EOF
)
"$stranger" &
xpid=$!
wait_for "stranger up" 5 alive "$xpid"
jq --argjson p "$xpid" \
    '.programs.sleeper.run = {pid: $p, start_ticks: 1, start_time: 1,
    restarts: 0} | .programs.sleeper.admin_stopped = false' \
    "$STATE/state.json" >"$T/state.new" && mv "$T/state.new" "$STATE/state.json"
start_daemon
wait_for "sleeper started afresh" 10 state_is sleeper RUNNING
assert_ne "$xpid" "$(status_field sleeper pid)" "sleeper pid"
alive "$xpid" || fail "a process with a recycled pid was touched"
log_has "sleeper: recorded pid $xpid is gone" ||
    fail "the stale record was not reported"
kill -9 "$xpid"

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"
left=$(tagged_procs)
[ -z "$left" ] || fail "processes left after shutdown: $left"

# chainkeeperd killed (SIGKILL) at the worst instants of a spawn, through
# the CK_TEST_CRASH_AT test hook: after fork (no record yet), after the
# record is written (the child still waits at its gate), and just after the
# child is let through (it may not have exec'd yet).  Each at the first
# spawn and at a respawn after a crash.  Afterwards nothing may be lost or
# doubled: a child that was never let through runs nothing and the next
# chainkeeperd starts the program once; a child let through runs the
# program and the next chainkeeperd adopts it (same pid), with its output
# pipe held meanwhile (no line lost); never two instances.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

writer=$(write_script writer.sh <<'EOF'
#!/bin/sh
# With a file name: the first run exits after 15 lines and makes the
# file (a crash to respawn from); later runs go on.
i=0
while :; do
	i=$((i + 1))
	echo "line $i"
	if [ -n "${1:-}" ] && [ ! -e "$1" ] && [ "$i" -ge 15 ]; then
		: >"$1"
		exit 3
	fi
	sleep 0.02
done
EOF
)

# Main processes of the program: their instance marker names their pid.
instances() {
	local pid
	for pid in $(tagged_procs); do
		tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null |
		    grep -qx "CHAINKEEPER_INSTANCE=.*:prog/$pid" && echo "$pid"
	done
}
ninstances() {
	instances | wc -l
}

# crash_case POINT N: the N-th spawn of prog is where chainkeeperd dies.
crash_case() {
	local point=$1 n=$2 rc before after pid out
	rm -rf "$STATE" "$LOGDIR"
	: >"$LOG"
	if [ "$n" = 1 ]; then
		args="[$writer]"
	else
		rm -f "$T/crashed"
		args="[$writer, $T/crashed]"	# spawn 2 is a respawn
	fi
	write_config <<EOF
programs:
  prog:
    command: $args
    startsecs: 0
    backoff: {initial: 0ms}
EOF
	say "case $point:$n"
	CK_TEST_DIR=$T CK_TEST_CRASH_AT=$point:$n "$CHAINKEEPERD" -c "$CFG" \
	    >>"$LOG" 2>&1 &
	DPID=$!
	wait_for "$point:$n: chainkeeperd killed by the hook" 10 eval \
	    '! kill -0 "$DPID"'
	rc=0
	wait "$DPID" || rc=$?
	DPID=
	assert_eq 137 "$rc" "exit status of chainkeeperd killed at $point:$n"
	log_has "test hook: SIGKILL at $point\$" ||
	    fail "$point:$n: the hook did not fire"
	case $point in
	spawn-after-release)
		# Let through: it runs the program, recorded.
		wait_for "$point:$n: the program runs" 10 eval \
		    '[ "$(ninstances)" = 1 ]'
		before=$(instances)
		;;
	*)
		# Never let through: the child exits and runs nothing.
		wait_for "$point:$n: the gated child gone" 10 eval \
		    '[ -z "$(tagged_procs)" ]'
		before=
		;;
	esac
	[ -f "$STATE/runs/prog" ] || [ "$point" = spawn-after-fork ] ||
	    fail "$point:$n: no run record"
	start_daemon
	wait_for "$point:$n: prog RUNNING" 10 state_is prog RUNNING
	pid=$(status_field prog pid)
	if [ -n "$before" ]; then
		assert_eq "$before" "$pid" "$point:$n: pid after the restart"
		log_has "prog: STOPPED -> RUNNING: adopted pid $before" ||
		    fail "$point:$n: not adopted"
	fi
	after=$(ninstances)
	[ "$after" -le 1 ] || fail "$point:$n: $after instances: $(instances)"
	log_has "not adopting" && fail "$point:$n: a refusal: $(grep 'not adopting' "$LOG")"
	if [ "$n" = 1 ] && [ -n "$before" ]; then
		# The output written while nobody read was held: no line lost.
		out=$LOGDIR/prog.out.log
		wait_for "$point:$n: output after the restart" 10 eval \
		    '[ "$(wc -l <"$out" 2>/dev/null || echo 0)" -gt 40 ]'
		gaps=$(awk '{ if ($2 != NR) { print NR ": " $0; exit } }' "$out")
		[ -z "$gaps" ] || fail "$point:$n: lines lost at $gaps"
	fi
	stop_daemon
	[ -z "$(tagged_procs)" ] || fail "$point:$n: left: $(tagged_procs)"
}

for point in spawn-after-fork spawn-after-record spawn-after-release; do
	crash_case "$point" 1
	crash_case "$point" 2
done

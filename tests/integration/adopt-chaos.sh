# chainkeeperd killed with SIGKILL again and again for 30 s, at random
# instants (and, every other time, inside a spawn through the
# CK_TEST_CRASH_AT hook), while one program restarts every 50-250 ms
# writing a lot, and another runs steadily.  After every kill and every
# start: never two instances of a program; the steady program keeps its
# pid (adopted each time); a run of the flapping program that was running
# when chainkeeperd died and still runs when the next one is up is the one
# it shows (adopted, not swept and not started twice); nothing is ever
# refused adoption.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

SECONDS_TOTAL=${CK_CHAOS_SECONDS:-30}

steady=$(write_script steady.sh <<'EOF'
#!/bin/sh
while :; do
	echo "steady $(date +%s%N)"
	sleep 0.05
done
EOF
)
flappy=$(write_script flappy.sh <<'EOF'
#!/bin/sh
# Writes ~100 KB, lives 50-250 ms, exits 1.
head -c 75000 /dev/urandom | base64
n=$(od -An -N1 -tu1 /dev/urandom | tr -d ' ')
sleep "0.$(( 5 + n % 20 ))"
exit 1
EOF
)
write_config <<EOF
programs:
  steady:
    command: $steady
    startsecs: 0
  flappy:
    command: $flappy
    startsecs: 0
    startretries: 1000000
    backoff: {initial: 10ms, max: 40ms}
EOF

# Main processes of a program: their instance marker names their pid.
# (One grep over /proc and builtins only: the loop must stay quick.)
instances() {
	local f pid kv
	for f in $(grep -lzF "CHAINKEEPER_INSTANCE=" /proc/[0-9]*/environ \
	    2>/dev/null); do
		pid=${f#/proc/}
		pid=${pid%/environ}
		while IFS= read -r -d '' kv; do
			case $kv in
			CHAINKEEPER_INSTANCE=*:"$1/$pid")
				grep -qzxF "CK_TEST_DIR=$T" "$f" 2>/dev/null &&
				    echo "$pid"
				break
				;;
			esac
		done <"$f" 2>/dev/null
	done
}
at_most_one() {
	local n
	n=$(instances "$1" | wc -l)
	[ "$n" -le 1 ] || fail "$2: $n instances of $1: $(instances "$1")"
}

# launch [HOOK]: chainkeeperd in the background; returns when it answers
# or has died (a hook may kill it before it is up).
launch() {
	local deadline
	echo "----- launch ${1:-}" >>"$LOG"
	CK_TEST_DIR=$T CK_TEST_CRASH_AT=${1:-} "$CHAINKEEPERD" -c "$CFG" \
	    >>"$LOG" 2>&1 &
	DPID=$!
	deadline=$(($(now_ms) + 10000 * ${CK_TIMEOUT_SCALE:-1}))
	until daemon_up || ! kill -0 "$DPID" 2>/dev/null; do
		[ "$(now_ms)" -lt "$deadline" ] ||
		    fail "chainkeeperd did not answer in time"
		sleep 0.02
	done
}

points=(spawn-after-fork spawn-after-record spawn-after-release)
end=$(($(now_ms) + SECONDS_TOTAL * 1000))
kills=0
hooks=0
adopted_flappy=0
spid=
fpid=
while [ "$(now_ms)" -lt "$end" ]; do
	hook=
	if [ $((kills % 2)) = 1 ]; then
		hook=${points[RANDOM % 3]}:$((1 + RANDOM % 4))
	fi
	launch "$hook"
	if kill -0 "$DPID" 2>/dev/null && daemon_up; then
		# The running instances at the last kill, if still running,
		# are the ones shown now.
		# A crash hook may kill the daemon between daemon_up and the
		# status request: an empty answer from a dead daemon says
		# nothing.
		s=$(status_field steady pid)
		if [ -n "$spid" ] && { [ -n "$s" ] || alive "$DPID"; }; then
			assert_eq "$spid" "$s" \
			    "steady's pid after restart $kills"
		fi
		if [ -n "$fpid" ]; then
			s=$(status_field flappy pid)
			if [ "$s" = "$fpid" ]; then
				adopted_flappy=$((adopted_flappy + 1))
			elif alive "$fpid" && [ "$(status_field flappy pid)" != "$fpid" ]; then
				fail "flappy's run $fpid was running at kill $kills and still runs, but chainkeeperd shows $s"
			fi
		fi
	fi
	# Run a while, looking for doubles.
	t_end=$(($(now_ms) + RANDOM % 400))
	while :; do
		at_most_one flappy "while up (kill $kills)"
		[ "$(now_ms)" -lt "$t_end" ] || break
		sleep 0.05
	done
	if [ -n "$hook" ] && kill -0 "$DPID" 2>/dev/null; then
		: # the hook did not fire yet: a plain kill then
	elif [ -n "$hook" ]; then
		hooks=$((hooks + 1))
	fi
	kill -KILL "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
	kills=$((kills + 1))
	at_most_one flappy "after kill $kills"
	at_most_one steady "after kill $kills"
	spid=$(instances steady)
	[ -n "$spid" ] || fail "steady is gone after kill $kills"
	fpid=$(instances flappy)
done
say "$kills kills ($hooks inside a spawn), flappy adopted $adopted_flappy times"
log_has "not adopting" && fail "a run was refused: $(grep 'not adopting' "$LOG" | head -3)"
[ "$kills" -ge 5 ] || fail "only $kills kills in ${SECONDS_TOTAL}s"

start_daemon
wait_for "steady adopted at the end" 10 eval \
    '[ "$(status_field steady pid)" = "$spid" ]'
wait_for "flappy RUNNING" 10 state_is flappy RUNNING
check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"
left=$(tagged_procs)
[ -z "$left" ] || fail "processes left after shutdown: $left"

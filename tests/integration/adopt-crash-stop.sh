# chainkeeperd killed (SIGKILL, through the CK_TEST_CRASH_AT test hook) in
# the middle of a stop: the program's main process has ended and the rest
# of its tree (a child it started in the background) has not been
# signalled yet.  The next chainkeeperd must kill that child: nobody else
# ever will.  Two ways in: a reload that removes the program (the next
# chainkeeperd no longer knows its name, only its run record does), and a
# stop by hand of a program that stays in the configuration.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

prog=$(write_script prog.sh <<'EOF'
#!/bin/sh
# A child in the background that outlives the main process's SIGTERM.
sleep 100000 &
echo $! >"$CK_DIR/child"
exec sleep 100001
EOF
)
idle=$(write_script idle.sh <<'EOF'
#!/bin/sh
exec sleep 100000
EOF
)

# config [with-prog]
config() {
	{
		echo "programs:"
		echo "  other:"
		echo "    command: [$idle]"
		echo "    startsecs: 0"
		if [ "${1:-}" = with-prog ]; then
			echo "  prog:"
			echo "    command: [$prog]"
			echo "    startsecs: 0"
			echo "    environment: {CK_DIR: $T}"
		fi
	} | write_config
}

# crash_case HOW: HOW is reload or stop.
crash_case() {
	local how=$1 child rc
	rm -rf "$STATE" "$T/child"
	: >"$LOG"
	config with-prog
	say "case $how"
	CK_TEST_DIR=$T CK_TEST_CRASH_AT=stop-leftovers "$CHAINKEEPERD" \
	    -c "$CFG" >>"$LOG" 2>&1 &
	DPID=$!
	wait_for "$how: prog RUNNING" 10 state_is prog RUNNING
	wait_for "$how: the child's pid" 10 eval '[ -s "$T/child" ]'
	child=$(cat "$T/child")
	alive "$child" || fail "$how: the child $child is not running"
	case $how in
	reload)
		config
		ctl reload >/dev/null 2>&1 || true	# it may die first
		;;
	stop)
		ctl stop prog >/dev/null 2>&1 || true
		;;
	esac
	wait_for "$how: chainkeeperd killed by the hook" 10 eval \
	    '! kill -0 "$DPID"'
	rc=0
	wait "$DPID" || rc=$?
	DPID=
	assert_eq 137 "$rc" "exit status of chainkeeperd killed in the stop"
	log_has 'test hook: SIGKILL at stop-leftovers$' ||
	    fail "$how: the hook did not fire"
	# The crash came before the child was signalled: it still runs.
	alive "$child" || fail "$how: the child did not outlive the crash"

	start_daemon
	wait_for "$how: the child killed by the next chainkeeperd" 10 eval \
	    '! alive "$child"'
	case $how in
	reload)
		log_has "prog: pid $child is left by a recorded run" ||
		    fail "reload: no line about the child"
		assert_eq "" "$(ctl status --json | jq -r '.[] |
		    select(.name == "prog") | .name')" "prog after the reload"
		;;
	stop)
		wait_for "stop: prog STOPPED" 10 state_is prog STOPPED
		assert_eq true "$(ctl status --json prog |
		    jq -r '.[0].admin_stopped')" "prog stopped by hand"
		;;
	esac
	log_has "leaving it alone" && fail "$how: $(grep 'leaving it alone' "$LOG")"
	stop_daemon
	assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"
	[ -z "$(tagged_procs)" ] || fail "$how: left: $(tagged_procs)"
}

crash_case reload
crash_case stop

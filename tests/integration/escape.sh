# Escaped descendants: the program's child calls setsid (leaving the
# program's process group and session) and ignores SIGTERM.  After
# `chainkeeperctl stop`, nothing of the tree is left, with stopasgroup
# false and true.  The escapee runs "sleep 7771" through a link in the
# test folder, so its argv is unique to this test.
. "$(dirname "$0")/lib.sh" || exit 99

mkdir "$T/bin"
ln -s "$(command -v sleep)" "$T/bin/sleep-escapee"
ln -s "$(command -v sleep)" "$T/bin/sleep-main"
marker="$T/bin/sleep-escapee 7771"
# The escapee: a new session (setsid -f forks, so it also leaves the
# program's process tree when setsid's own process exits), TERM ignored,
# and a child of its own: two processes whose argv is exactly $marker.
prog=$(write_script escaper.sh <<EOF
#!/bin/bash
setsid -f bash -c "trap '' TERM; $marker & exec $marker"
echo "escaper up"
exec $T/bin/sleep-main 100000
EOF
)
# A main process that ignores TERM as well: only SIGKILL ends it.
prog2=$(write_script escaper2.sh <<EOF
#!/bin/bash
trap '' TERM
setsid -f bash -c "trap '' TERM; $marker & exec $marker"
echo "escaper2 up"
while :; do sleep 0.1; done
EOF
)
write_config <<EOF
programs:
  nogroup:
    command: $prog
    autostart: false
    startsecs: 0
    stopwaitsecs: 1s
    stopasgroup: false
  group:
    command: $prog
    autostart: false
    startsecs: 0
    stopwaitsecs: 1s
    stopasgroup: true
  stubborn:
    command: $prog2
    autostart: false
    startsecs: 0
    stopwaitsecs: 1s
    stopasgroup: true
EOF
start_daemon

escapees() {
	pgrep -fx -- "$marker"
}

# check_escape NAME: start NAME alone, check that its escapees exist outside
# its session, stop it and check that nothing is left.
check_escape() {
	local name=$1 pid sid e n t0 took out
	ctl start "$name" >/dev/null || fail "start $name failed"
	pid=$(status_field "$name" pid)
	wait_until "$name's two escapees" 10 '[ "$(escapees | wc -l)" = 2 ]'
	for e in $(escapees); do
		sid=$(ps -o sid= -p "$e" | tr -d ' ')
		[ -n "$sid" ] && [ "$sid" != "$pid" ] ||
		    fail "escapee $e is in the program's session $pid"
		[ "$(ps -o pgid= -p "$e" | tr -d ' ')" != "$pid" ] ||
		    fail "escapee $e is in the program's process group"
		[ "$(awk '/^SigIgn/ { print $2 }' /proc/$e/status)" != \
		    0000000000000000 ] || fail "escapee $e does not ignore TERM"
	done
	t0=$(now_ms)
	out=$(ctl stop "$name" 2>&1) || fail "stop $name failed: $out"
	took=$(($(now_ms) - t0))
	say "stop $name took $took ms"
	# stop replies once the whole tree is gone.
	n=$(escapees | wc -l)
	[ "$n" = 0 ] || fail "$name: $n escapees left after stop: $(escapees)"
	alive "$pid" && fail "$name: main pid $pid left after stop"
	[ -z "$(tagged_procs)" ] ||
	    fail "$name: processes left after stop: $(tagged_procs | xargs ps -o pid,pgid,sid,args -p)"
	assert_eq STOPPED "$(status_field "$name" state)" "$name state"
}

assert_eq 0 "$(escapees | wc -l)" "escapees while everything is stopped"
check_escape nogroup
check_escape group
check_escape stubborn
# The escapees, which ignore TERM, were SIGKILLed after stopwaitsecs.
assert_eq 3 "$(log_count '(nogroup|group|stubborn): still running 1000 ms after SIGTERM: sent SIGKILL')" \
    "SIGKILL escalations"

# A run that ends by itself (the main pid is SIGKILLed from outside) while
# its escapees live on: the program is restarted at once; the old run's
# escapees are killed soon after (they would hold the node's ports and
# locks), the new run's are left alone, and the next stop takes those.
ctl start nogroup >/dev/null || fail "start nogroup failed"
wait_until "nogroup's escapees" 10 '[ "$(escapees | wc -l)" = 2 ]'
old=$(escapees | sort | xargs)
pid=$(status_field nogroup pid)
kill -KILL "$pid"
wait_until "nogroup restarted" 10 \
    '[ "$(status_field nogroup state)" = RUNNING ] &&
    [ "$(status_field nogroup pid)" != "$pid" ]'
# new_escapees: those that are not the crashed run's.
new_escapees() {
	escapees | grep -vxF -f <(printf '%s\n' $old)
}
old_alive() {
	local e
	for e in $old; do
		alive "$e" && return 0
	done
	return 1
}
wait_until "the new run's two escapees" 10 '[ "$(new_escapees | wc -l)" = 2 ]'
new=$(new_escapees | sort | xargs)
wait_until "the crashed run's escapees ($old) to be killed" 10 '! old_alive'
say "escapees of the crashed run ($old) are gone; the new run's: $new"
for e in $new; do
	alive "$e" || fail "escapee $e of the running instance was killed"
done
assert_eq RUNNING "$(status_field nogroup state)" "nogroup after the sweep"
ctl stop nogroup >/dev/null || fail "stop nogroup failed"
left=$(escapees | xargs)
[ -z "$left" ] || fail "escapees left after the stop that followed a crash: $left"

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"
[ -z "$(escapees)" ] || fail "escapees left after shutdown"

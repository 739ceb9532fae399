# autorestart and exitcodes, as supervisord:
#   unexpected + exitcodes [0,2]: exit 2 -> EXITED, not restarted;
#                                 exit 3 -> restarted.
#   false: never restarted (neither exit 3 nor exit 0).
#   true:  restarted even after exit 0.
# Each program exits when the test drops a file with the exit code in its
# folder, so every exit happens while it is RUNNING; every run appends a
# line to a "runs" file, which counts the spawns.
# Also: with startsecs 0, a program that exits at once with an expected
# code is EXITED (a normal exit), not a failed start.
. "$(dirname "$0")/lib.sh" || exit 99

prog=$(write_script prog.sh <<'EOF'
#!/bin/sh
d=$1
echo "$$" >>"$d/runs"
while [ ! -e "$d/go" ]; do sleep 0.02; done
code=$(cat "$d/go")
rm -f "$d/go"
exit "$code"
EOF
)
quick=$(write_script quick.sh <<'EOF'
#!/bin/sh
echo "$$" >>"$1/runs"
exit 2
EOF
)
for n in unexp never always quick; do mkdir "$T/$n"; done
write_config <<EOF
programs:
  unexp:
    command: [$prog, $T/unexp]
    startsecs: 0
    autorestart: unexpected
    exitcodes: [0, 2]
  never:
    command: [$prog, $T/never]
    startsecs: 0
    autorestart: false
  always:
    command: [$prog, $T/always]
    startsecs: 0
    autorestart: true
  quick:
    command: [$quick, $T/quick]
    startsecs: 0
    autorestart: unexpected
    exitcodes: [0, 2]
    backoff: {initial: 100ms, max: 1s, jitter: 0}
EOF
start_daemon

runs() {
	if [ -f "$T/$1/runs" ]; then wc -l <"$T/$1/runs"; else echo 0; fi
}

# exit_with NAME CODE: make the running instance exit with CODE.
exit_with() {
	printf '%s\n' "$2" >"$T/$1/go.tmp"
	mv "$T/$1/go.tmp" "$T/$1/go"
}

# running NAME N: RUNNING in its N-th run.
running() {
	[ "$(runs "$1")" = "$2" ] && state_is "$1" RUNNING
}

# The run count stays N and the state EXITED for a while: no restart.
stays_exited() {
	local name=$1 n=$2 i
	# An immediate restart happens in the same event as the exit, before
	# the state can be seen as EXITED; a delayed one would show here.
	for i in $(seq 1 10); do
		assert_eq EXITED "$(status_field "$name" state)" "$name state"
		assert_eq "$n" "$(runs "$name")" "$name runs"
		sleep 0.05
	done
}

for n in unexp never always; do
	wait_for "$n RUNNING" 10 running "$n" 1
done

# unexpected + [0,2]: exit 2 is expected -> EXITED, no restart.
exit_with unexp 2
wait_for "unexp EXITED after exit 2" 10 state_is unexp EXITED
assert_eq 2 "$(status_field unexp last_exit.code)" "unexp last_exit.code"
assert_eq 0 "$(status_field unexp restarts)" "unexp restarts after exit 2"
stays_exited unexp 1
log_has 'unexp: RUNNING -> EXITED: exit status 2 \(expected\)' ||
    fail "the log does not call exit 2 expected"

# Started again by hand, then exit 3 (unexpected) -> restarted.
ctl start unexp >/dev/null || fail "chainkeeperctl start unexp failed"
wait_for "unexp RUNNING (run 2)" 10 running unexp 2
exit_with unexp 3
wait_for "unexp restarted after exit 3" 10 running unexp 3
assert_eq 1 "$(status_field unexp restarts)" "unexp restarts after exit 3"
assert_eq 3 "$(status_field unexp last_exit.code)" "unexp last_exit.code"
log_has 'unexp: RUNNING -> EXITED: exit status 3 \(not expected\)' ||
    fail "the log does not call exit 3 unexpected"

# autorestart false: an unexpected exit is not restarted...
exit_with never 3
wait_for "never EXITED after exit 3" 10 state_is never EXITED
stays_exited never 1
assert_eq 3 "$(status_field never last_exit.code)" "never last_exit.code"
# ... and neither is an expected one.
ctl start never >/dev/null || fail "chainkeeperctl start never failed"
wait_for "never RUNNING (run 2)" 10 running never 2
exit_with never 0
wait_for "never EXITED after exit 0" 10 state_is never EXITED
stays_exited never 2
assert_eq 0 "$(status_field never restarts)" "never restarts"

# autorestart true: even exit 0 is restarted.
exit_with always 0
wait_for "always restarted after exit 0" 10 running always 2
assert_eq 1 "$(status_field always restarts)" "always restarts"
assert_eq 0 "$(status_field always last_exit.code)" "always last_exit.code"

# startsecs 0 and an immediate, expected exit: a normal exit, never a
# failed start (BACKOFF) whatever order the daemon sees exec and exit in.
wait_for "quick EXITED" 10 state_is quick EXITED
stays_exited quick 1
log_has 'quick: (STARTING|BACKOFF) -> BACKOFF' &&
    fail "quick's immediate exit 2 was taken for a failed start"
assert_eq 2 "$(status_field quick last_exit.code)" "quick last_exit.code"
# Restart it by hand a number of times: each run is an expected exit.
for i in 2 3 4 5 6 7 8 9 10; do
	ctl restart --no-wait quick >/dev/null || fail "restart quick failed"
	wait_until "quick run $i EXITED" 10 \
	    '[ "$(runs quick)" = '$i' ] && state_is quick EXITED'
done
if log_has 'quick: (STARTING|BACKOFF) -> BACKOFF'; then
	fail "an immediate exit 2 with startsecs 0 was taken for a failed start"
fi

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

# chainkeeperctl reexec replaces the daemon's image in place: the same
# daemon pid, every program keeps its pid and stays a child (a crash after
# the reexec has a known exit status), output capture goes on without a
# gap.  A configuration changed on disk makes reexec refuse.
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
dpid=$(ctl pid)
out=$LOGDIR/writer.out.log
wait_for "captured output" 10 test -s "$out"

ctl reexec >/dev/null || fail "reexec was refused"
wait_for "the new image took over" 10 log_has 're-executed: taking over'
wait_for "daemon up" 10 daemon_up
assert_eq "$dpid" "$(ctl pid)" "daemon pid after reexec"
assert_eq "$DPID" "$dpid" "the test's daemon pid"
assert_eq "$wpid" "$(status_field writer pid)" "writer pid after reexec"
assert_eq "$spid" "$(status_field sleeper pid)" "sleeper pid after reexec"
assert_eq RUNNING "$(status_field sleeper state)" "sleeper state"
n=$(wc -l <"$out")
wait_for "output goes on" 10 eval '[ "$(wc -l <"$out")" -gt $((n + 20)) ]'
gaps=$(awk '{ if ($2 != NR) { print NR ": " $0; exit } }' "$out")
[ -z "$gaps" ] || fail "lines lost or out of order at $gaps"

# Still our child: the exit status of a crash is known.
kill -KILL "$spid"
wait_for "sleeper restarted" 10 eval \
    '[ "$(status_field sleeper state)" = RUNNING ] &&
    [ "$(status_field sleeper pid)" != "$spid" ]'
assert_eq KILL "$(status_field sleeper last_exit.signal)" "last_exit.signal"

# A changed configuration on disk: reexec refuses, nothing changes.
sed -i 's/startsecs: 0/startsecs: 1/' "$CFG"
if msg=$(ctl reexec 2>&1); then
	fail "reexec accepted a changed configuration"
fi
assert_match 'reload first' "$msg" "refusal"
assert_eq "$wpid" "$(status_field writer pid)" "writer pid after refusal"

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"
left=$(tagged_procs)
[ -z "$left" ] || fail "processes left after shutdown: $left"

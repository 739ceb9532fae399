# chainkeeper-fdholder keeps the programs' output pipes open while
# chainkeeperd is away.  Someone kills it (here SIGKILL, as any crash
# would): chainkeeperd must notice, log it, start a new holder and hand
# it every pipe again.  Then chainkeeperd itself is SIGKILLed: the
# program (run as its own user, writing to stdout without ignoring
# SIGPIPE) must survive, what it wrote meanwhile must wait in the pipe,
# and after the restart its output must be captured again.
. "$(dirname "$0")/seclib.sh" || exit 99

install -d -m 755 "$T/home"
install -d -m 755 -o "$ATK" -g "$ATK" "$T/home/atk"
# One numbered line every 100 ms; SIGPIPE (a pipe with no reader) kills it.
talk=$(write_script talk.sh <<'EOS'
#!/bin/sh
i=0
while :; do
	i=$((i + 1))
	echo "tick $i"
	sleep 0.1
done
EOS
)
write_config <<EOS
programs:
  talk:
    command: $talk
    user: $ATK
    startsecs: 0
    stdout_logfile: $T/home/atk/talk.out
$CRASHER_CONFIG
EOS
start_daemon
wait_for "talk RUNNING" 10 state_is talk RUNNING
wait_for "talk's log" 10 test -s "$T/home/atk/talk.out"
wait_until "the crasher's first respawn" 10 '[ "$(crashes)" -ge 1 ]'
pid=$(status_field talk pid)

holder() { pgrep -P "$DPID" -f "^chainkeeper-fdholder $STATE/"; }
h1=$(holder)
[ -n "$h1" ] || fail "no chainkeeper-fdholder child"
c0=$(crashes)
kill -KILL "$h1"
wait_for "the holder's death logged" 10 log_has \
    "chainkeeper-fdholder \(pid $h1\) was killed by signal 9"
wait_for "a new holder logged" 10 log_has \
    "started a new chainkeeper-fdholder \(pid [0-9]+\) and gave it [0-9]+ output pipes"
h2=$(holder)
[ -n "$h2" ] && [ "$h2" != "$h1" ] || fail "no new holder (was $h1, now '$h2')"
say "$(grep -m1 'started a new chainkeeper-fdholder' "$LOG")"
wait_until "two crasher respawns during the holder's restart" 20 \
    '[ "$(crashes)" -ge $((c0 + 2)) ]'
figure "fdholder killed and replaced"

# Now the daemon dies.  The program goes on writing into the held pipe.
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=
echo "----- chainkeeperd SIGKILLed by the test" >>"$LOG"
sleep 1
alive "$pid" || fail "talk died while chainkeeperd was away (SIGPIPE?)"
lines0=$(wc -l <"$T/home/atk/talk.out")
start_daemon
wait_for "talk adopted" 10 log_has "talk: .*adopted|took [0-9]+ output pipes back"
assert_eq "$pid" "$(status_field talk pid)" "talk's pid after the restart"
wait_until "output captured after the restart" 10 \
    '[ "$(wc -l <"$T/home/atk/talk.out")" -ge $((lines0 + 20)) ]'
alive "$pid" || fail "talk died after the restart"
log_has "took [0-9]+ output pipes back from the holder" ||
    fail "the pipes did not come back from the new holder"
log_has "talk: adopted, but its stdout pipe did not come back" &&
    fail "talk's pipe was lost"
# Nothing was lost: the numbers run on without a gap.
gaps=$(awk '$1 == "tick" { if (prev && $2 != prev + 1) n++; prev = $2 }
    END { print n + 0 }' "$T/home/atk/talk.out")
assert_eq 0 "$gaps" "gaps in talk's numbered lines"
c1=$(crashes)
wait_until "two crasher respawns after the restart" 20 \
    '[ "$(crashes)" -ge $((c1 + 2)) ]'
figure "after the daemon's SIGKILL and restart"

# EOS failover: a primary's nodeos frozen (SIGSTOP) while it produces must
# not wake up producing beside the backup that took over.  chainkeeperd
# kills (SIGKILL) a producing nodeos that has not answered for half a
# round, long before a backup may take over (two rounds after the
# producer's last block); nodeos comes back paused, sees the backup's
# blocks and waits for a hand-back.  SIGCONT then finds nothing to wake.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"
. "$TESTS_SRCDIR/integration/failover-lib.sh"
# EOSIO 1.x's log format, which the code read right before it read Leap's.
FO_ID_OFFSET=0

fo_net 30
fo_host primary primary 1
hctl primary failover nodeos resume >/dev/null || fail "failover resume"
wait_until "the primary to produce" 20 '[ "$(produced primary)" -gt 0 ]'
fo_host b1 backup 2
p0=$(produced primary)
wait_until "the backup to watch a turn" 30 \
    '[ "$(produced primary)" -ge $((p0 + 12)) ]'

pid=$(hctl primary pid nodeos) || fail "pid of the primary's nodeos"
kill -STOP "$pid" || fail "SIGSTOP"
tstop=$(now_ms)
t0=$(last_ms primary)
wait_until "the backup to take over" 40 '[ -n "$(first_after b1 "$t0")" ]'
t1=$(first_after b1 "$t0")
if kill -CONT "$pid" 2>/dev/null; then
	say "SIGCONT woke up pid $pid"
fi
tcont=$(now_ms)
wait_until "two more turns" 40 \
    '[ "$(net "[.slots[] | select(.[1] > $tcont)] | length")" -ge 24 ]'
fo_report "SIGSTOP, takeover, SIGCONT"
say "takeover: b1 $((t1 - t0)) ms after the last block;" \
    "SIGCONT $((tcont - tstop)) ms after SIGSTOP"
fo_no_double
[ $((t1 - t0)) -le $((ROUND * 3 + 1000)) ] ||
    fail "the backup took over after $((t1 - t0)) ms (bound: 3 rounds)"
assert_match 'kill' \
    "$(hctl primary history --json nodeos | jq -r '.[].action // empty')" \
    "the primary's journal"
wait_until "the primary to wait for a hand-back" 20 \
    '[ "$(fo primary handback_required)" = true ]'
paused primary true || fail "the primary produces"
fo_shutdown primary b1

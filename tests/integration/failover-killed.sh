# EOS failover: the primary's nodeos is killed (SIGKILL) just before the
# producer's turn and restarted at once by chainkeeperd, with a first
# backup (2 rounds) and a second backup (3 rounds).  The restarted primary
# has not seen the producer's last block, so it stays paused; the first
# backup takes over in its window; the second never resumes; no slot is
# ever signed twice.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"
. "$TESTS_SRCDIR/integration/failover-lib.sh"

# Blocks of 60 ms (a round of 15.1 s): each backup's window is then 5.7 s
# wide, which a host loaded by a parallel test suite does not miss.
fo_net 60
fo_host primary primary 1
hctl primary failover nodeos resume >/dev/null || fail "failover resume"
wait_until "the primary to produce" 40 '[ "$(produced primary)" -gt 0 ]'
fo_host b1 backup 2
fo_host b2 backup 3
p0=$(produced primary)
wait_until "the backups to watch a turn" 60 \
    '[ "$(produced primary)" -ge $((p0 + 12)) ]'

fo_wait_before_turn 400
hctl primary signal KILL nodeos >/dev/null || fail "SIGKILL of nodeos"
t0=$(last_ms primary)
wait_until "a backup to take over" 90 \
    '[ -n "$(first_after b1 "$t0")$(first_after b2 "$t0")" ]'
t0=$(last_ms primary)	# a dead node's last block may come late
t1=$(first_after b1 "$t0")
wait_until "two more turns" 80 \
    '[ "$(net "[.slots[] | select(.[1] > $t0)] | length")" -ge 24 ]'
fo_report "primary's nodeos killed before its turn"
fo_no_double
[ -n "$t1" ] || fail "the first backup did not take over"
say "takeover: b1 $((t1 - t0)) ms after the producer's last block" \
    "(window: $((ROUND * 17 / 8)) to $((ROUND * 5 / 2)) ms, then its turn)"
[ $((t1 - t0)) -le $((ROUND * 3 + 1000)) ] ||
    fail "the backup took over after $((t1 - t0)) ms (bound: 3 rounds)"
assert_eq 0 "$(produced b2)" "blocks of the second backup"
wait_until "the primary to wait for a hand-back" 40 \
    '[ "$(fo primary handback_required)" = true ]'
fo_shutdown primary b1 b2

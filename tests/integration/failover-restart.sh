# EOS failover: a primary whose nodeos restarts slowly must not produce
# beside the backup that takes over.  The primary's nodeos stops between
# two of the producer's turns and comes back 1.3 rounds after the
# producer's last block (2.7 minutes on EOS: a nodeos loading its state).
# Counting its round from its own start, it would resume 2.3 rounds after
# that block, when the first backup (2 rounds) has resumed too, and both
# would sign the next turn.  The producer's last block is known only from
# what a node showed: the restarted primary has seen none, so it waits,
# sees the backup's blocks and waits for a hand-back.
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
paused b1 true || fail "the backup resumed while the primary produces"

# The primary's nodeos stops in a gap, and comes back 1.3 rounds after
# the producer's last block.
fo_wait_gap 0.5
hctl primary stop nodeos >/dev/null || fail "stop of the primary's nodeos"
t0=$(last_ms primary)
back=$((t0 + ROUND * 13 / 10))
wait_until "1.3 rounds after the last block" 30 '[ "$(now_ms)" -ge $back ]'
hctl primary start nodeos >/dev/null || fail "start of the primary's nodeos"

# Whoever takes over, two more turns: never two signers.
wait_until "a host to take over" 30 \
    '[ -n "$(first_after b1 "$t0")$(first_after primary "$t0")" ]'
t1=$(first_after b1 "$t0")
p1=$(first_after primary "$t0")
wait_until "two more turns" 40 \
    '[ "$(net "[.slots[] | select(.[1] > $t0)] | length")" -ge 24 ]'
fo_report "slow restart (1.3 rounds)"
fo_no_double
ago() { if [ -n "$1" ]; then echo "$(($1 - t0)) ms"; else echo none; fi; }
say "takeover: b1 $(ago "$t1"), primary $(ago "$p1") after the last block"
[ -n "$t1" ] || fail "the backup did not take over"
[ -z "$p1" ] || fail "the restarted primary produced"
[ $((t1 - t0)) -le $((ROUND * 3 + 1000)) ] ||
    fail "the backup took over after $((t1 - t0)) ms (bound: 3 rounds)"
wait_until "the primary to wait for a hand-back" 20 \
    '[ "$(fo primary handback_required)" = true ]'
fo_shutdown primary b1

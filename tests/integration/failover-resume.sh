# EOS failover: "failover resume" on a primary that waits for a hand-back,
# while the backup's last block is still the head, must not make the
# primary record "hand-back required" again: blocks of the producer from
# before the resume by hand tell nothing new.
#
# The backup is paused, and seen paused by the network, before the resume:
# a block it signs after the resume is real news of another host, and the
# primary is right to record it.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"
. "$TESTS_SRCDIR/integration/failover-lib.sh"
# EOSIO 1.x's log format, which the code read right before it read Leap's.
FO_ID_OFFSET=0

# Slower blocks: a turn of 1.2 s, for the commands to land within it.
fo_net 100
fo_host primary primary 1
fo_host b1 backup 2
hctl b1 failover nodeos resume >/dev/null || fail "failover resume on b1"
wait_until "the primary to see the backup's blocks" 40 \
    '[ "$(fo primary handback_required)" = true ]'
# Early in one of the backup's turns: pause it, and resume the primary by
# hand, while the head is the backup's block.
early_in_turn() {
	[ "$(net '(.now_ms - (.slots[-1][1])) < 300 and .in_turn and
	    (.slots[-1][2] == ["b1"])')" = true ]
}
b1_paused() { [ "$(net '.resumed | index("b1")')" = null ]; }
wait_for "early in the backup's turn" 60 early_in_turn
hctl b1 failover nodeos pause >/dev/null || fail "failover pause on b1"
# The pause reaches b1's nodeos over RPC after the command returns; until it
# lands b1 goes on signing, and a block it signs after the resume below is
# real news of another host.  An operator waits for the pause too.
wait_for "b1's nodeos paused" 10 b1_paused
hctl primary failover nodeos resume >/dev/null || fail "failover resume"
t=$(now_ms)
while [ $(($(now_ms) - t)) -lt 2000 ]; do
	[ "$(fo primary handback_required)" = false ] ||
	    fail "the primary recorded a hand-back requirement" \
	    "$(($(now_ms) - t)) ms after the resume by hand"
	sleep 0.05
done
wait_for "the primary to produce" 20 paused primary false
p0=$(produced primary)
wait_until "the primary's turn" 40 '[ "$(produced primary)" -gt "$p0" ]'
assert_eq false "$(fo primary handback_required)" "handback_required"
fo_report "resume by hand over the backup's head"
fo_no_double
fo_shutdown primary b1

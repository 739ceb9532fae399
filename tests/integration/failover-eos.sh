# EOS producer failover end to end on the fake network (21 producers of
# 12 blocks of 20 ms: a round of 5.04 s; nodeos's fork choice) with three
# hosts of one producer, each run by its own chainkeeperd: a primary (1
# round), a first backup (2 rounds) and a second backup (6 rounds), every
# nodeos paused at start, logging block ids as Leap does.
#  - a primary that has seen no block of the producer does not resume by
#    itself: production starts by hand (failover resume);
#  - the backups stay paused while the primary produces;
#  - the primary's nodeos stops: the first backup resumes in its window
#    (2 1/8 to 2 1/2 rounds after the producer's last block), the second
#    does not; a backup producing alone keeps producing;
#  - the primary's nodeos comes back: it stays paused (a backup produces:
#    only an explicit hand-back lets it take over);
#  - hand-back: the backup is paused by hand, the primary takes over; the
#    second backup never resumes; no slot is ever signed twice;
#  - a backup forced to resume while the primary produces steps back in
#    that turn, on the primary's block its node received;
#  - every pause and resume is in the journal (history).
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"
. "$TESTS_SRCDIR/integration/failover-lib.sh"

fo_net 20

# The primary first: nothing tells it when the producer last produced.
fo_host primary primary 1
wait_until "the primary to say why it waits" 20 \
    '[ "$(fo primary state | grep -c "not known")" = 1 ]'
paused primary true ||
    fail "the primary resumed with no block of the producer seen"
hctl primary failover nodeos resume >/dev/null || fail "failover resume"
wait_until "the primary to produce" 20 '[ "$(produced primary)" -gt 4 ]'
fo_host b1 backup 2
fo_host b2 backup 6
p0=$(produced primary)
wait_until "the backups to watch a turn" 30 \
    '[ "$(produced primary)" -ge $((p0 + 12)) ]'
paused b1 true || fail "the first backup resumed while the primary produces"
paused b2 true || fail "the second backup resumed while the primary produces"

# The primary's nodeos stops: its blocks go missing.
hctl primary stop nodeos >/dev/null || fail "stop of the primary's nodeos"
t0=$(last_ms primary)
wait_until "the first backup to take over" 40 '[ -n "$(first_after b1 "$t0")" ]'
t1=$(first_after b1 "$t0")
say "first backup produced $((t1 - t0)) ms after the producer's last block" \
    "(window $((ROUND * 17 / 8))..$((ROUND * 5 / 2)) ms, then its turn)"
[ $((t1 - t0)) -ge $((ROUND * 17 / 8)) ] ||
    fail "the first backup produced after $((t1 - t0)) ms, before its window"
[ $((t1 - t0)) -le $((ROUND * 3 + 1000)) ] ||
    fail "the first backup produced after $((t1 - t0)) ms (bound: 3 rounds)"
paused b2 true || fail "the second backup resumed too"

# The primary comes back: paused, and it stays paused (a backup produces).
hctl primary start nodeos >/dev/null || fail "start of the primary's nodeos"
wait_until "the primary to see the backup's blocks" 20 \
    '[ "$(fo primary handback_required)" = true ]'
b1_before=$(produced b1)
wait_until "two more turns of the backup" 40 \
    '[ "$(produced b1)" -ge $((b1_before + 24)) ]'
paused primary true || fail "the primary resumed while the backup produces"
paused b1 false || fail "the backup stepped back while it produced alone"
fo_no_double

# Hand-back: pause the backup by hand, then let the primary take over.
hctl b1 failover nodeos pause >/dev/null || fail "failover pause on b1"
wait_for "the backup to pause" 10 paused b1 true
hctl primary failover nodeos handback >/dev/null || fail "handback"
wait_for "the primary to take over again" 30 paused primary false
p_before=$(produced primary)
wait_until "the primary to produce again" 30 \
    '[ "$(produced primary)" -gt $((p_before + 4)) ]'
paused b2 true || fail "the second backup resumed during the hand-back"
paused b1 true || fail "the first backup resumed"
hctl b1 failover nodeos auto >/dev/null || fail "failover auto on b1"
fo_no_double
assert_eq 0 "$(produced b2)" "blocks produced by the second backup"

# A backup forced to resume steps back on the primary's next block.
stepback() {
	hctl b1 history --json nodeos | jq -r '.[].why // empty' |
	    grep -c 'came from another host'
}
before=$(stepback)
fo_wait_gap 0.5
hctl b1 failover nodeos resume >/dev/null || fail "failover resume on b1"
d0=$(net .double)
wait_for "the forced backup to step back" 30 eval \
    '[ "$(stepback)" -gt "$before" ] && paused b1 true'
paused primary false || fail "the primary stopped producing"
d1=$(net .double)
say "the forced backup signed $((d1 - d0)) slots beside the primary"
[ $((d1 - d0)) -le 12 ] || fail "more than one turn signed twice"

# The journal has every decision.
hist=$(hctl b1 history)
assert_match 'begin resume' "$hist" "b1 history"
assert_match 'resume ok' "$(hctl primary history)" "primary history"
fo_report "failover-eos"
fo_shutdown primary b1 b2

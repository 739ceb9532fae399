# EOS failover: a backup that produces beside another host steps back.
# nodeos keeps its own block for a slot it signed, so the other host's
# block is never its head; what shows is the other host's block that it
# received ("Received block ... signed by PRODUCER").  A backup producing
# alone never steps back.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"
. "$TESTS_SRCDIR/integration/failover-lib.sh"
# EOSIO 1.x's log format, which the code read right before it read Leap's.
FO_ID_OFFSET=0

fo_net 30
fo_host primary primary 1
fo_host b1 backup 2
hctl b1 failover nodeos resume >/dev/null || fail "failover resume on b1"
wait_until "the backup to produce" 20 '[ "$(produced b1)" -gt 0 ]'
b0=$(produced b1)
wait_until "two turns of the backup alone" 30 \
    '[ "$(produced b1)" -ge $((b0 + 24)) ]'
paused b1 false || fail "the backup stepped back while it produced alone"
fo_no_double

# The primary is made to produce too: the backup steps back in that turn.
fo_wait_gap 0.5
hctl primary failover nodeos resume >/dev/null || fail "failover resume"
t=$(now_ms)
wait_until "the backup to step back" 30 'paused b1 true'
say "the backup stepped back $(($(now_ms) - t)) ms after the resume"
d0=$(net .double)
p0=$(produced primary)
wait_until "two more turns" 40 '[ "$(produced primary)" -ge $((p0 + 24)) ]'
fo_report "a second host produces"
assert_eq "$d0" "$(net .double)" "double productions after the step back"
[ "$d0" -le 12 ] || fail "$d0 slots signed twice: more than one turn"
assert_match 'came from another host' \
    "$(hctl b1 history --json nodeos | jq -r '.[].why // empty')" \
    "b1's journal"
fo_shutdown primary b1

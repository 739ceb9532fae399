# EOS failover: after a host crash (chainkeeperd and nodeos killed), the
# record that chainkeeperd resumed nodeos belongs to the nodeos process
# that died: the restarted chainkeeperd must not trust it.  Its new nodeos
# here starts producing without --pause-on-startup, as a hand-started or
# misconfigured one would: it is paused at once, before the producer's
# next turn, and never signs beside the backup that took over.
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
[ "$(fo primary resumed)" = true ] ||
    fail "the primary is not recorded as resumed"

# The host crashes.
fo_kill_daemon primary
t0=$(last_ms primary)
wait_until "the backup to take over" 40 '[ -n "$(first_after b1 "$t0")" ]'
t1=$(first_after b1 "$t0")

# It comes back, with a nodeos that produces by itself, in a gap.
fo_config primary primary 1 ""
fo_wait_gap 0.6
fo_start_daemon primary
tstart=$(now_ms)
unresumed() {
	hctl primary history --json nodeos | jq -r '.[].why // empty' |
	    grep -c 'without chainkeeperd having resumed'
}
wait_until "the primary's nodeos to be paused" 10 \
    '[ "$(unresumed)" -gt 0 ] && paused primary true'
say "paused at most $(($(now_ms) - tstart)) ms after chainkeeperd answered"
wait_until "two more turns" 40 \
    '[ "$(net "[.slots[] | select(.[1] > $tstart)] | length")" -ge 24 ]'
fo_report "host crash, nodeos gone, then a producing nodeos"
say "takeover: b1 $((t1 - t0)) ms after the last block"
fo_no_double
fo_shutdown primary b1

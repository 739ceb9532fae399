# EOS producer failover end to end on a fake network (round 1.2 s: three
# producers of two 200 ms blocks) with three hosts of one producer, each
# run by its own chainkeeperd: a primary (1 round), a first backup (2
# rounds) and a second backup (6 rounds), every nodeos paused at start.
#  - the primary resumes, the backups stay paused, nothing is produced twice;
#  - the primary's nodeos stops: the first backup resumes after 2 rounds
#    of missing blocks, the second does not;
#  - the primary's nodeos comes back: it stays paused (a backup produces:
#    only an explicit hand-back lets it take over);
#  - hand-back: the backup is paused by hand, the primary takes over after
#    one round; the second backup never resumes; no double production;
#  - a backup forced to resume while the primary produces steps back at
#    once when it sees the primary's blocks;
#  - every pause and resume is in the journal (history).
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

command -v python3 >/dev/null 2>&1 || skip "python3 is needed for the fakes"
NET=$TESTS_SRCDIR/fakes/fake-eosnet.py
python3 "$NET" net --port-file "$T/net.port" --producer eosstorebest \
    --block-ms 200 --turn 2 --producers 3 &
wait_for "the fake network" 10 test -s "$T/net.port"
NETURL=http://127.0.0.1:$(cat "$T/net.port")
net() { curl -s "$NETURL/__state" | jq -r "$1"; }

# host NAME ROLE ROUNDS: a chainkeeperd for one host, in $T/NAME.
host() {
	local d=$T/$1 port
	port=$(free_port)
	mkdir -p "$d"
	cat >"$d/ck.yaml" <<EOF
state_dir: $d/state
log: {dir: $d/logs}
control: {socket: $d/ck.sock}
programs:
  nodeos:
    command: [python3, $NET, node, --net, "$NETURL", --host, $1,
      --port, "$port", --port-file, $d/node.port, -x]
    startsecs: 0
    stopwaitsecs: 5s
    eos_failover:
      producer: eosstorebest
      role: $2
      rounds: $3
      round: 1200ms
      interval: 100ms
      url: http://127.0.0.1:$port
      min_peers: 1
      lib_stall: 2s
      max_head_age: 2s
EOF
	CK_TEST_DIR=$T "$CHAINKEEPERD" -c "$d/ck.yaml" >>"$d/daemon.log" 2>&1 &
	DUMP_FILES="$DUMP_FILES $d/daemon.log"
	wait_for "chainkeeperd of $1" 10 "$CHAINKEEPERCTL" -s "$d/ck.sock" version
}
hctl() { local h=$1; shift; "$CHAINKEEPERCTL" -s "$T/$h/ck.sock" -t 30 "$@"; }
paused() {
	[ "$(hctl "$1" status --json nodeos | jq -r '.[0].eos_failover.paused')" = "$2" ]
}
produced() { net ".produced_by.$1 // 0"; }

# The primary first; the backups join a producing network.
host primary primary 1
wait_for "the primary to resume" 15 paused primary false
wait_until "the primary to produce" 10 '[ "$(produced primary)" -gt 4 ]'
host b1 backup 2
host b2 backup 6
wait_until "the backups to watch a few rounds" 20 \
    '[ "$(produced primary)" -gt 12 ]'
paused b1 true || fail "the first backup resumed while the primary produces: $(curl -s "$NETURL/__state")"
paused b2 true || fail "the second backup resumed while the primary produces"

# The primary's nodeos stops: its blocks go missing.
hctl primary stop nodeos >/dev/null || fail "stop of the primary's nodeos"
t0=$(now_ms)
wait_for "the first backup to take over" 30 paused b1 false
took=$(($(now_ms) - t0))
say "first backup resumed $took ms after the primary stopped (2 rounds = 2400 ms)"
[ "$took" -ge 2300 ] || fail "the first backup resumed after $took ms, before 2 rounds"
wait_until "the first backup to produce" 10 '[ "$(produced b1)" -gt 4 ]'
paused b2 true || fail "the second backup resumed too"

# The primary comes back: paused, and it stays paused (a backup produces).
hctl primary start nodeos >/dev/null || fail "start of the primary's nodeos"
wait_until "the primary to see the backup's blocks" 15 \
    '[ "$(hctl primary status --json nodeos | jq -r ".[0].eos_failover.handback_required")" = true ]'
b1_before=$(produced b1)
wait_until "four more rounds of the backup" 30 \
    '[ "$(produced b1)" -ge $((b1_before + 8)) ]'
paused primary true || fail "the primary resumed while the backup produces"
assert_eq 0 "$(net .double)" "double productions"

# Hand-back: pause the backup by hand, then let the primary take over.
hctl b1 failover nodeos pause >/dev/null || fail "failover pause on b1"
wait_for "the backup to pause" 10 paused b1 true
hctl primary failover nodeos handback >/dev/null || fail "handback"
wait_for "the primary to take over again" 15 paused primary false
p_before=$(produced primary)
wait_until "the primary to produce again" 10 '[ "$(produced primary)" -gt $((p_before + 4)) ]'
paused b2 true || fail "the second backup resumed during the hand-back"
paused b1 true || fail "the first backup resumed"
hctl b1 failover nodeos auto >/dev/null || fail "failover auto on b1"
assert_eq 0 "$(net .double)" "double productions"
assert_eq 0 "$(net ".produced_by.b2 // 0")" "blocks produced by the second backup"

# A backup forced to resume steps back at once on seeing the primary.
stepback() {
	hctl b1 history --json nodeos | jq -r '.[].why // empty' |
	    grep -c 'came from another host'
}
before=$(stepback)
hctl b1 failover nodeos resume >/dev/null || fail "failover resume on b1"
wait_for "the forced backup to step back" 20 eval \
    '[ "$(stepback)" -gt "$before" ] && paused b1 true'
paused primary false || fail "the primary stopped producing"

# The journal has every decision.
hist=$(hctl b1 history)
assert_match 'begin resume' "$hist" "b1 history"
assert_match 'came from another host' "$(hctl b1 history --json | jq -r '.[].why // empty')" \
    "the reason of the step back"
assert_match 'resume ok' "$(hctl primary history)" "primary history"

for h in primary b1 b2; do
	hctl "$h" shutdown >/dev/null
done
for h in primary b1 b2; do
	wait_until "chainkeeperd of $h to exit" 20 \
	    '! "$CHAINKEEPERCTL" -s "$T/$h/ck.sock" version'
done

# The nodeos probe under the real chainkeeperd, which supervises
# tests/fakes/fake-nodeos.py itself (its port on the command line; a block
# every 50 ms).  Asserts:
#  - healthy with value = head, and a detail with head, lib, head_producer,
#    head_age_s, producers_seen, paused, server_version; the value follows
#    the chain;
#  - a frozen head fails within head_stall + fall x interval (not before
#    head_stall), the head age is reported once it passes max_head_age;
#    a frozen LIB alone fails with its own reason; fewer than
#    min_producers in producers_window fails; each recovers when the fake
#    advances again;
#  - check_paused: paused true / false follows the node; a failing
#    /v1/producer/paused is reported in detail, not as a failed probe;
#    --pause-on-startup is seen as paused;
#  - 500, 401, 404, garbage, truncated, empty, huge, wrong types, an HTML
#    502 and a dropped connection each give a failed probe with its own
#    reason while the daemon keeps answering and the node keeps its pid;
#  - a slow node times out; a hanging node is "hung" after hung_after
#    timeouts, and healthy again once it answers;
#  - a restart of the program starts its probe afresh;
#  - the fake's block log lines reach the program's captured output.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

command -v python3 >/dev/null 2>&1 || skip "python3 is needed for the fakes"
PY=$(python3 -c 'import sys; print(sys.executable)')
FAKE=$TESTS_SRCDIR/fakes/fake-nodeos.py

# A free TCP port on 127.0.0.1 (the kernel's choice).
free_port() {
	"$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# fake PORT KEY=VALUE...: tell a fake to change.
fake() {
	"$PY" "$FAKE" control "$@" >/dev/null || fail "cannot control: $*"
}

# pf PROGRAM FIELD: a field (jq path) of the program's probe "chain".
pf() {
	ctl status --json "$1" |
	    jq -r ".[0].probes[] | select(.name == \"chain\") | .$2"
}

health_is() {
	[ "$(pf "$1" health)" = "$2" ]
}

# reason_is PROGRAM REGEX
reason_is() {
	pf "$1" reason | grep -Eq -- "$2"
}

# failing_with PROGRAM REGEX: failing (or hung), last reason matches.
failing_with() {
	local h
	h=$(pf "$1" health)
	[ "$h" = failing ] || [ "$h" = hung ] || return 1
	reason_is "$1" "$2"
}

# A healthy probe whose head moved past $1.
healthy_past() {
	health_is node healthy && [ "$(pf node status)" = ok ] &&
	    [ "$(pf node value | cut -d. -f1)" -gt "$1" ]
}

value_now() {
	pf node value | cut -d. -f1 | sed "s/^null$/0/"
}

P1=$(free_port)
P2=$(free_port)
[ "$P1" != "$P2" ] || P2=$(free_port)
write_config <<EOF
programs:
  node:
    command: ["$PY", "$FAKE", "--port", "$P1", "--block-ms", "50"]
    startsecs: 0
    probes:
      - kind: nodeos
        name: chain
        url: http://127.0.0.1:$P1/
        interval: 300ms
        timeout: 250ms
        fall: 2
        rise: 1
        hung_after: 3
        head_stall: 2s
        lib_stall: 3s
        max_head_age: 4s
        min_producers: 3
        producers_window: 3s
        check_paused: true
  backup:
    command: ["$PY", "$FAKE", "--http-server-address", "127.0.0.1:$P2",
        "--block-ms", "50", "--pause-on-startup", "--quiet-log"]
    startsecs: 0
    probes:
      - kind: nodeos
        name: chain
        url: http://127.0.0.1:$P2
        interval: 500ms
        check_paused: true
EOF
start_daemon
wait_for "node RUNNING" 10 state_is node RUNNING
PID=$(status_field node pid)

# Healthy, with the detail.
# Past the genesis block (head 1, produced by eosio).
wait_for "node's probe healthy" 15 healthy_past 1
pj=$(ctl status --json node | jq -c '.[0].probes[0]')
d=$(echo "$pj" | jq -c .detail)
say "detail: $d"
v=$(echo "$pj" | jq -r .value | cut -d. -f1)
assert_eq "$v" "$(echo "$d" | jq -r .head)" "value = detail.head"
[ "$(echo "$d" | jq -r .lib)" -le "$v" ] || fail "lib above head: $d"
assert_match '^blkproducer[a-u]$' "$(echo "$d" | jq -r .head_producer)" \
    "head_producer"
assert_match '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}$' \
    "$(echo "$d" | jq -r .head_block_time)" "head_block_time"
assert_eq false "$(echo "$d" | jq -r .paused)" "paused"
assert_eq v3.1.0-fake "$(echo "$d" | jq -r .server_version)" \
    "server_version"
echo "$d" | jq -e '.head_age_s < 4 and .head_stalled_s < 2 and
    .lib_stalled_s < 3' >/dev/null || fail "ages in $d"
wait_until "3 producers seen" 10 \
    '[ "$(pf node "detail.producers_seen | length")" -ge 3 ]'
wait_for "the value to follow the chain" 5 healthy_past $((v + 10))
assert_match '^head [0-9]+ by blkproducer[a-u], LIB [0-9]+, head [0-9.]+ s old$' \
    "$(pf node reason)" "reason"

# The backup started with --pause-on-startup.
wait_until "backup probed" 15 '[ "$(pf backup status)" = ok ]'
assert_eq true "$(pf backup detail.paused)" "backup's detail.paused"

# A frozen head: failing within head_stall (2 s) + fall x interval, and
# not before head_stall.
t0=$(now_ms)
fake "$P1" freeze_head=1
wait_for "a frozen head to fail" 10 failing_with node \
    'head [0-9]+ has not advanced for [0-9.]+ s'
took=$(($(now_ms) - t0))
say "frozen head -> failing in $took ms (head_stall 2 s, fall 2 x 300 ms)"
[ "$took" -ge 1500 ] || fail "failing after $took ms, before head_stall"
[ "$(pf node detail.head_stalled_s | cut -d. -f1)" -ge 2 ] ||
    fail "head_stalled_s: $(pf node detail.head_stalled_s)"
wait_for "the head age to be reported" 10 failing_with node \
    'head block is [0-9.]+ s old'
assert_eq RUNNING "$(status_field node state)" "node's state"
v=$(value_now)
fake "$P1" freeze_head=0
t0=$(now_ms)
wait_for "healthy once the head moves" 10 healthy_past "$v"
say "head moves again -> healthy in $(($(now_ms) - t0)) ms"

# A frozen LIB while the head goes on.
fake "$P1" freeze_lib=1
wait_for "a frozen LIB to fail" 10 failing_with node \
    'LIB [0-9]+ has not advanced for [0-9.]+ s'
assert_nomatch 'head [0-9]+ has not' "$(pf node reason)" "LIB-only reason"
[ "$(pf node detail.lib_stalled_s | cut -d. -f1)" -ge 3 ] ||
    fail "lib_stalled_s: $(pf node detail.lib_stalled_s)"
v=$(value_now)
fake "$P1" freeze_lib=0
wait_for "healthy once LIB moves" 10 healthy_past "$v"

# Only one producer left in the schedule.
fake "$P1" producers=1
wait_for "too few producers to fail" 15 failing_with node \
    '1 producer seen in 3 s, fewer than 3'
assert_eq '["blkproducera"]' "$(pf node detail.producers_seen | jq -c .)" \
    "producers_seen"
v=$(value_now)
fake "$P1" producers=21
wait_for "healthy with the schedule back" 15 healthy_past "$v"

# Paused and resumed production.
fake "$P1" paused=1
wait_until "detail.paused true" 5 '[ "$(pf node detail.paused)" = true ]'
fake "$P1" paused=0
wait_until "detail.paused false" 5 '[ "$(pf node detail.paused)" = false ]'
# The paused call failing does not fail the probe.
fake "$P1" mode=500 only=/v1/producer/paused
wait_until "paused_error" 5 \
    'pf node detail.paused_error | grep -q "paused: HTTP 500"'
assert_eq null "$(pf node detail.paused)" "paused when unknown"
health_is node healthy || fail "a failing paused call failed the probe"
fake "$P1" mode=ok
wait_until "paused known again" 5 '[ "$(pf node detail.paused)" = false ]'

# Bad replies: each a failed probe with its own reason.
check_mode() {
	local mode=$1 re=$2 v
	fake "$P1" mode="$mode"
	wait_for "mode $mode: failing with /$re/" 10 failing_with node "$re"
	assert_eq fail "$(pf node status)" "status in mode $mode"
	daemon_up || fail "daemon not answering in mode $mode"
	assert_eq "$PID" "$(status_field node pid)" "node's pid in mode $mode"
	say "mode $mode: $(pf node reason)"
	v=$(value_now)
	fake "$P1" mode=ok
	wait_for "healthy after mode $mode" 10 healthy_past "${v:-0}"
}
check_mode 500 '^get_info: HTTP 500: Fake failure on demand: fake-nodeos was told to fail$'
check_mode 401 '^get_info: HTTP 401$'
check_mode 404 '^get_info: HTTP 404: unspecified: Unknown Endpoint$'
check_mode garbage '^get_info reply is not JSON: '
check_mode truncated '^get_info reply is not JSON: '
check_mode empty '^get_info reply is empty$'
check_mode huge '^get_info: reply too large$'
check_mode wrongtypes '^get_info head_block_num is a string, not an integer$'
check_mode html '^get_info: HTTP 502: <html>'
check_mode close '^get_info: '

# A slow node times out; a hanging one is hung after 3 timeouts.
fake "$P1" mode=slow delay_ms=600
wait_until "a slow node to time out" 10 \
    '[ "$(pf node status)" = timeout ]'
assert_eq "no answer within 250 ms" "$(pf node reason)" "timeout reason"
fake "$P1" mode=ok
wait_for "healthy after the slow node" 10 healthy_past 0
fake "$P1" mode=hang
t0=$(now_ms)
wait_for "a hanging node to be hung" 10 health_is node hung
took=$(($(now_ms) - t0))
say "hang -> hung in $took ms (hung_after 3 x 300 ms)"
[ "$took" -ge 500 ] || fail "hung after $took ms, before 3 timeouts"
assert_eq timeout "$(pf node status)" "status while hung"
t1=$(now_ms)
daemon_up || fail "daemon not answering while the node hangs"
say "chainkeeperctl answered in $(($(now_ms) - t1)) ms during the hang"
assert_eq "$PID" "$(status_field node pid)" "node's pid while hung"
v=$(value_now)
fake "$P1" mode=ok
wait_for "healthy after the hang" 10 healthy_past "${v:-0}"

# The block log lines were captured, in nodeos's format (own producer
# blkproducera: "Produced block"; the others: "Received block").
wait_for "a Received block line in the node's output" 10 grep -rqE \
    'Received block [0-9a-f]{16}\.\.\. #[0-9]+ @ [0-9T:.-]+ signed by blkproducer[b-u] \[trxs: 0, lib: [0-9]+, conf: 0, latency: [0-9]+ ms\]' \
    "$LOGDIR"
wait_for "a Produced block line in the node's output" 10 grep -rqE \
    'Produced block [0-9a-f]{16}\.\.\. #[0-9]+ @ [0-9T:.-]+ signed by blkproducera \[trxs: 0, lib: [0-9]+, confirmed: 0\]' \
    "$LOGDIR"

# A restart starts the probe afresh.
runs=$(pf node runs)
ctl restart node >/dev/null || fail "restart failed"
wait_until "a new pid" 10 \
    '[ "$(status_field node pid)" != "$PID" ] && state_is node RUNNING'
wait_for "healthy after the restart" 15 healthy_past 0
[ "$(pf node runs)" -lt "$runs" ] ||
    fail "probe runs not reset: $(pf node runs)"

daemon_up || fail "daemon not answering at the end"
if grep -Eq 'AddressSanitizer|runtime error:|LeakSanitizer' "$LOG"; then
	fail "sanitizer report in the daemon log"
fi
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

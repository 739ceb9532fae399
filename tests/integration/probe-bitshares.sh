# The bitshares-witness probe under the real chainkeeperd, which
# supervises tests/fakes/fake-witness.py itself (witness_node and cli_wallet
# ports on its command line; a block every 200 ms).  Asserts:
#  - healthy with value = total_missed and a detail with witness_id,
#    signing_key, missed_delta, last_confirmed_block_num, head_age_s; the
#    same witness by id (get_objects) agrees;
#  - a witness that does not exist fails with "witness NAME not found";
#  - total_missed growing (bumped, or missed slots) is reported as
#    missed_delta since the run's first check, without failing;
#  - a stale chain fails within max_age + fall x interval, and recovers;
#  - a key flip through the wallet (unlock, update_witness) shows up as the
#    probe's signing_key; the locked wallet refuses it; the wallet password
#    comes from a file and never reaches argv, the log or status;
#  - 500, 401, garbage, truncated, empty, huge, wrong types, an HTML 502
#    and a dropped connection each give a failed probe with its own reason
#    while the daemon keeps answering and the node keeps its pid;
#  - a hanging node times out, is "hung" after hung_after, and recovers.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

command -v python3 >/dev/null 2>&1 || skip "python3 is needed for the fakes"
PY=$(python3 -c 'import sys; print(sys.executable)')
FAKE=$TESTS_SRCDIR/fakes/fake-witness.py
PW=wallet-pw-never-logged-7d1

free_port() {
	"$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

fake() {
	"$PY" "$FAKE" control "$@" >/dev/null || fail "cannot control: $*"
}

# pf PROBE FIELD: a field (jq path) of the witness program's probe.
pf() {
	ctl status --json witness |
	    jq -r ".[0].probes[] | select(.name == \"$1\") | .$2"
}

health_is() {
	[ "$(pf "$1" health)" = "$2" ]
}

failing_with() {
	local h
	h=$(pf "$1" health)
	[ "$h" = failing ] || [ "$h" = hung ] || return 1
	pf "$1" reason | grep -Eq -- "$2"
}

healthy() {
	health_is "$1" healthy && [ "$(pf "$1" status)" = ok ]
}

# healthy_head_past N: the chain probe healthy and the head past N.
healthy_head_past() {
	healthy chain && [ "$(pf chain detail.head_block_number)" -gt "$1" ]
}

P=$(free_port)
W=$(free_port)
[ "$P" != "$W" ] || W=$(free_port)
printf '%s\n' "$PW" >"$T/wallet.pw"
chmod 600 "$T/wallet.pw"
write_config <<EOF
programs:
  witness:
    command: ["$PY", "$FAKE", "--port", "$P", "--wallet-port", "$W",
        "--block-ms", "200", "--witness", "ckwitness", "--missed", "221",
        "--wallet-password-file", "$T/wallet.pw"]
    startsecs: 0
    probes:
      - kind: bitshares-witness
        name: chain
        url: http://127.0.0.1:$P/rpc
        witness: ckwitness
        max_age: 3s
        interval: 300ms
        timeout: 250ms
        fall: 2
        rise: 1
        hung_after: 3
      - kind: bitshares-witness
        name: byid
        url: http://127.0.0.1:$P/
        witness: "1.6.12"
        interval: 500ms
      - kind: bitshares-witness
        name: ghost
        url: http://127.0.0.1:$P/rpc
        witness: nosuchwitness
        interval: 500ms
        fall: 1
EOF
start_daemon
wait_for "witness RUNNING" 10 state_is witness RUNNING
PID=$(status_field witness pid)

wait_for "the chain probe healthy" 15 healthy chain
d=$(pf chain detail | jq -c .)
say "detail: $d"
assert_eq 221 "$(pf chain value | cut -d. -f1)" "value"
assert_eq 221 "$(echo "$d" | jq -r .total_missed)" "total_missed"
assert_eq 0 "$(echo "$d" | jq -r .missed_delta)" "missed_delta"
assert_eq 1.6.12 "$(echo "$d" | jq -r .witness_id)" "witness_id"
KEY0=$(echo "$d" | jq -r .signing_key)
assert_match '^BTS[1-9A-Za-z]{50}$' "$KEY0" "signing_key"
echo "$d" | jq -e '.head_age_s < 3 and .last_confirmed_block_num >= 0 and
    .head_block_number > 0' >/dev/null || fail "detail: $d"
assert_match '^total_missed 221 \(\+0 this run\), last confirmed block [0-9]+, chain time [0-9.]+ s old$' \
    "$(pf chain reason)" "reason"
wait_for "the probe by id healthy" 10 healthy byid
assert_eq "$KEY0" "$(pf byid detail.signing_key)" "signing_key by id"
assert_eq 221 "$(pf byid detail.total_missed)" "total_missed by id"
wait_for "the last confirmed block to move" 10 eval \
    '[ "$(pf chain detail.last_confirmed_block_num)" -gt 0 ]'

# A witness that does not exist.
wait_for "ghost failing" 10 failing_with ghost \
    '^witness nosuchwitness not found$'
assert_eq null "$(pf ghost value)" "ghost's value"

# Misses: reported, not judged.
fake "$P" bump_missed=5
wait_until "missed_delta 5" 5 '[ "$(pf chain detail.missed_delta)" = 5 ]'
assert_eq 226 "$(pf chain value | cut -d. -f1)" "value after the bump"
healthy chain || fail "a bump failed the probe"
assert_match '\(\+5 this run\)' "$(pf chain reason)" "reason after the bump"
fake "$P" missing=ckwitness
wait_until "missed slots counted" 15 \
    '[ "$(pf chain detail.missed_delta)" -gt 5 ]'
fake "$P" missing=
healthy chain || fail "missed slots failed the probe"

# A stale chain: failing within max_age (3 s) + fall x interval.
t0=$(now_ms)
fake "$P" stale=1
wait_for "a stale chain to fail" 12 failing_with chain \
    '^chain time [0-9T:-]+ is [0-9.]+ s old \(max 3.0 s\); total_missed [0-9]+$'
took=$(($(now_ms) - t0))
say "stale chain -> failing in $took ms (max_age 3 s, fall 2 x 300 ms)"
# BitShares times are whole seconds: up to 1.2 s old when it stops.
[ "$took" -ge 1500 ] || fail "failing after $took ms, before max_age"
assert_eq RUNNING "$(status_field witness state)" "state while stale"
h=$(pf chain detail.head_block_number)
fake "$P" stale=0
wait_for "healthy once the chain moves" 10 healthy_head_past "$h"

# A key flip through the wallet.
NEWKEY=BTS6backupKeyForTheTestsOnly1234567890abcdefghijkmnop
if "$PY" "$FAKE" rpc "$W" update_witness \
    "[\"ckwitness\", \"\", \"$NEWKEY\", true]" >"$T/locked.out" 2>&1; then
	fail "the locked wallet accepted update_witness"
fi
assert_match 'must be unlocked' "$(cat "$T/locked.out")" "locked wallet"
"$PY" - "$W" "$T/wallet.pw" <<'EOF' >/dev/null || fail "cannot unlock"
import json, sys, urllib.request
pw = open(sys.argv[2]).readline().rstrip("\n")
req = urllib.request.Request(
    "http://127.0.0.1:%s/rpc" % sys.argv[1],
    data=json.dumps({"jsonrpc": "2.0", "method": "unlock", "params": [pw],
                     "id": 1}).encode(),
    headers={"Content-Type": "application/json"})
r = json.loads(urllib.request.urlopen(req, timeout=10).read())
sys.exit(1 if r.get("error") else 0)
EOF
"$PY" "$FAKE" rpc "$W" update_witness \
    "[\"ckwitness\", \"\", \"$NEWKEY\", true]" >"$T/flip.out" ||
    fail "update_witness failed: $(cat "$T/flip.out")"
assert_eq "$NEWKEY" "$(jq -r '.result.operations[0][1].new_signing_key' \
    "$T/flip.out")" "update_witness's operation"
wait_until "the probe to see the new key" 5 \
    '[ "$(pf chain detail.signing_key)" = "$NEWKEY" ]'
wait_until "the probe by id to see the new key" 5 \
    '[ "$(pf byid detail.signing_key)" = "$NEWKEY" ]'
assert_eq 1 "$("$PY" "$FAKE" state "$P" | jq -r .update_witness_calls)" \
    "update_witness calls"

# Bad replies.
check_mode() {
	local mode=$1 re=$2
	fake "$P" mode="$mode"
	wait_for "mode $mode: failing with /$re/" 10 failing_with chain "$re"
	assert_eq fail "$(pf chain status)" "status in mode $mode"
	daemon_up || fail "daemon not answering in mode $mode"
	assert_eq "$PID" "$(status_field witness pid)" "pid in mode $mode"
	say "mode $mode: $(pf chain reason)"
	fake "$P" mode=ok
	wait_for "healthy after mode $mode" 10 healthy chain
}
check_mode 500 '^witness: HTTP 500: RPC error 500: fake-witness was told to fail$'
check_mode 401 '^witness: HTTP 401$'
check_mode garbage '^witness reply is not JSON: '
check_mode truncated '^witness reply is not JSON: '
check_mode empty '^witness reply is empty$'
# 1.5 MB is over the 1 MB limit, and quick to make on a loaded host.
fake "$P" huge_mb=1.5
check_mode huge '^witness: reply too large$'
check_mode wrongtypes '^witness signing_key is an object, not a string$'
check_mode html '^witness: HTTP 502: <html>'
check_mode close '^witness: '

# Hang: timeouts, then hung.
fake "$P" mode=hang
t0=$(now_ms)
wait_for "a hanging node to be hung" 10 health_is chain hung
took=$(($(now_ms) - t0))
say "hang -> hung in $took ms (hung_after 3 x 300 ms)"
[ "$took" -ge 500 ] || fail "hung after $took ms, before 3 timeouts"
assert_eq "no answer within 250 ms" "$(pf chain reason)" "timeout reason"
daemon_up || fail "daemon not answering while the node hangs"
fake "$P" mode=ok
wait_for "healthy after the hang" 10 healthy chain

# The wallet password never leaves its file.
if grep -rqF -- "$PW" "$LOG" "$LOGDIR" "$STATE" 2>/dev/null; then
	fail "the wallet password is in a log or state file"
fi
ctl status --json | grep -qF -- "$PW" && fail "the password is in status"
grep -qF -- "$PW" /proc/"$PID"/cmdline && fail "the password is in argv"

daemon_up || fail "daemon not answering at the end"
if grep -Eq 'AddressSanitizer|runtime error:|LeakSanitizer' "$LOG"; then
	fail "sanitizer report in the daemon log"
fi
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

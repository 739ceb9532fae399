# The raptoreum-revive action, end to end against tests/fakes/
# fake-raptoreumd.py.  chainkeeperd supervises two fake smartnodes ("rapt"
# and "stuck"), each with a bitcoin-rpc probe (smartnode: true,
# protx_hash), a hung rule that restarts it and a revive rule; the wallet
# holding the fee funds is a third fake, started by the test, encrypted,
# with the operator secret it expects, and it relays revives to rapt's
# node.  Asserts:
#  - a secret file open to group or others, a symbolic link, or a secret
#    given inline are refused by chainkeeperd -n with file:line:col;
#    etc/raptoreum.yaml passes -n;
#  - a hanging node: the revive rule fires but sends nothing to the wallet
#    (the node's RPC does not answer, or answers after the hung rule's
#    restart that it is not banned), and the hung rule restarts the node;
#  - a PoSe ban: fire, begin, progress (the txid, journaled at once), and
#    end ok once PoSeBanHeight is -1; the wallet got walletpassphrase,
#    update_service with the right proTxHash, ip:port, operator secret
#    and payout address, then walletlock; chainkeeperctl history shows it;
#  - chainkeeperd SIGKILLed while the action watches the ban: started
#    again, the journal reports the action as interrupted and the node
#    (adopted, same pid) still banned gets no new update_service: the
#    rule is blocked until chainkeeperctl release, and after release the
#    hold-down (counted from the journal's firing before the crash) still
#    holds; once it has passed the next firing sends again, and a wallet
#    error quoting the secret is logged scrubbed;
#  - the BLS secret, the wallet passphrase and the wallet RPC password
#    appear in no log, state file, journal, status, history, -nv output or
#    process argv.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

command -v python3 >/dev/null 2>&1 || skip "python3 is needed for the fakes"
PY=$(python3 -c 'import sys; print(sys.executable)')
FAKE=$TESTS_SRCDIR/fakes/fake-raptoreumd.py
HOLD=10		# the revive rule's hold-down, seconds

# fake_ctl PORT JSON / fake_state PORT JQ
fake_ctl() {
	"$PYTHON" "$FAKE" control "$1" "$2" >/dev/null ||
	    fail "cannot control the fake on $1 with $2"
}
fake_state() {
	"$PYTHON" "$FAKE" state "$1" | jq -r "$2"
}

# pf PROGRAM FIELD: a field of the program's smartnode probe.
pf() {
	ctl status --json "$1" |
	    jq -r ".[0].probes[] | select(.name == \"smartnode\") | .$2"
}

# hist PROGRAM JQ-FILTER: the journal records of a program, filtered.
hist() {
	ctl history --json -n 2000 "$1" | jq -c ".[] | $2"
}

# The secrets, in files only their owner may read; grep reads them from
# a pattern file, so they never reach any process's argv.
umask 077
OPKEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$OPKEY" >"$T/operator.key"
printf 'wallet-pass %s never logged\n' "$RANDOM$RANDOM" >"$T/wallet.pass"
printf 'rpc-pw-%s\n' "$RANDOM$RANDOM$RANDOM" >"$T/wallet.pw"
cat "$T/operator.key" "$T/wallet.pass" "$T/wallet.pw" >"$T/secrets.pat"
umask 022
[ ${#OPKEY} = 64 ] || fail "could not make an operator key"

# leaks WHAT FILE...: fail if a secret is in one of the files.
leaks() {
	local what=$1
	shift
	if grep -rqFf "$T/secrets.pat" -- "$@" 2>/dev/null; then
		fail "a secret is in $what: $(grep -rlFf "$T/secrets.pat" -- \
		    "$@" 2>/dev/null | head -3)"
	fi
}

NP=$(free_port)
SP=$(free_port)
while [ "$SP" = "$NP" ]; do SP=$(free_port); done
PROTX=d32c99ababababababababababababababababababababababababababababab
PROTX2=5e1f0000000000000000000000000000000000000000000000000000000000a7
PAYOUT=RoperatorPayoutAddress4TestsOnly1

# The wallet: encrypted, rpcuser + password file, expects the secret,
# tells rapt's node when a revive is mined.
"$PY" "$FAKE" --port-file "$T/wallet.port" --rpcuser ckw \
    --rpcpassword-file "$T/wallet.pw" --operator-key-file "$T/operator.key" \
    --wallet-passphrase-file "$T/wallet.pass" \
    --relay "http://127.0.0.1:$NP" >"$T/wallet.out" 2>&1 &
disown
wait_for "the wallet fake to listen" 20 test -s "$T/wallet.port"
WP=$(cat "$T/wallet.port")
DUMP_FILES="$T/wallet.out"

# revive_cfg PROTX PORT COOKIE READY_TIMEOUT: a revive rule's action.
revive_cfg() {
	cat <<EOF
          raptoreum-revive:
            wallet:
              url: http://127.0.0.1:$WP/
              user: ckw
              password_file: $T/wallet.pw
            node: {url: "http://127.0.0.1:$2/", cookie: $3}
            protx_hash: "$1"
            ip_port: "203.0.113.5:10226"
            operator_key_file: $T/operator.key
            operator_payout_address: $PAYOUT
            wallet_passphrase_file: $T/wallet.pass
            clear_timeout: 30s
            poll_interval: 300ms
            ready_timeout: $4
            timeout: 1s
EOF
}

# node_cfg PORT COOKIE PROTX: a program running a fake node, probed.
node_cfg() {
	cat <<EOF
    command: ["$PY", "$FAKE", "--port", "$1", "--cookie-file", "$2",
        "--height", "5000", "--advance-ms", "200",
        "--set", '{"protx_hash": "$3"}']
    startsecs: 2
    stopwaitsecs: 3
    probes:
      - kind: bitcoin-rpc
        name: smartnode
        url: http://127.0.0.1:$1/
        cookie: $2
        smartnode: true
        protx_hash: "$3"
        interval: 400ms
        timeout: 350ms
        fall: 1
        rise: 1
        hung_after: 2
EOF
}

write_config <<EOF
programs:
  rapt:
$(node_cfg "$NP" "$T/node.cookie" "$PROTX")
    rules:
      - name: hung
        when: {event: hung}
        do: restart
        hold_down: 60s
      - name: revive
        when: {probe: smartnode, failures: 2}
        hold_down: ${HOLD}s
        do:
$(revive_cfg "$PROTX" "$NP" "$T/node.cookie" 3s)
  stuck:
$(node_cfg "$SP" "$T/stuck.cookie" "$PROTX2")
    rules:
      - name: hung
        when: {event: hung}
        do: restart
        hold_down: 60s
      - name: revive
        when: {probe: smartnode, failures: 2}
        hold_down: 60s
        do:
$(revive_cfg "$PROTX2" "$SP" "$T/stuck.cookie" 1s)
EOF

# Bad secret files and inline secrets are refused at load.
badcfg() {
	sed "$1" "$CFG" >"$T/bad.yaml"
	if "$CHAINKEEPERD" -n -c "$T/bad.yaml" >"$T/bad.out" 2>&1; then
		fail "chainkeeperd -n accepted: $1"
	fi
	assert_match "^$T/bad.yaml:[0-9]+:[0-9]+: .*$2" "$(cat "$T/bad.out")" \
	    "-n error for $1"
}
"$CHAINKEEPERD" -n -c "$CFG" >"$T/n.out" 2>&1 ||
    fail "the configuration is refused: $(cat "$T/n.out")"
cp "$T/operator.key" "$T/open.key"
chmod 644 "$T/open.key"
badcfg "s|operator_key_file: $T/operator.key|operator_key_file: $T/open.key|" \
    "operator_key_file: $T/open.key is open to its group or others \(mode 0644\)"
cp "$T/wallet.pw" "$T/open.pw"
chmod 640 "$T/open.pw"
badcfg "s|password_file: $T/wallet.pw|password_file: $T/open.pw|" \
    "wallet: password_file: $T/open.pw is open to its group or others"
cp "$T/wallet.pass" "$T/open.pass"
chmod 604 "$T/open.pass"
badcfg "s|wallet_passphrase_file: $T/wallet.pass|wallet_passphrase_file: $T/open.pass|" \
    "wallet_passphrase_file: .* is open to its group or others"
ln -s "$T/operator.key" "$T/link.key"
badcfg "s|operator_key_file: $T/operator.key|operator_key_file: $T/link.key|" \
    "is a symbolic link"
badcfg "s|operator_key_file: $T/operator.key|operator_key: \"00ff\"|" \
    'unknown setting "operator_key"'
badcfg "s|ip_port: \"203.0.113.5:10226\"|ip_port: \"203.0.113.5\"|" \
    "ip_port must be an IP address and a port"
leaks "the -n errors" "$T/bad.out" "$T/n.out"
# The example configuration in etc/ is valid (its secret files do not
# exist here: warned about, not refused).
"$CHAINKEEPERD" -n -c "$TESTS_SRCDIR/../etc/raptoreum.yaml" >"$T/ex.out" 2>&1 ||
    fail "etc/raptoreum.yaml is refused: $(cat "$T/ex.out")"

start_daemon
wait_for "rapt and stuck RUNNING" 10 eval \
    'state_is rapt RUNNING && state_is stuck RUNNING'
wait_for "rapt's smartnode probe healthy" 15 eval \
    '[ "$(pf rapt health)" = healthy ]'
wait_for "stuck's smartnode probe healthy" 15 eval \
    '[ "$(pf stuck health)" = healthy ]'

# 1. A hanging node: nothing is sent to the wallet; the node is restarted.
SPID=$(status_field stuck pid)
fake_ctl "$SP" '{"mode": "hang"}'
wait_for "stuck's revive to end" 20 eval \
    '[ -n "$(hist stuck "select(.event == \"end\" and
    .action == \"raptoreum-revive\")")" ]'
end=$(hist stuck 'select(.event == "end" and .action == "raptoreum-revive")')
say "stuck: $end"
assert_match 'node RPC did not answer protx info within 1s .*update_service not sent|not PoSe banned' \
    "$(echo "$end" | jq -r .result)" "stuck's revive result"
wait_for "the hung rule to restart stuck" 20 eval \
    '[ "$(status_field stuck pid)" != "$SPID" ] && state_is stuck RUNNING'
[ -n "$(hist stuck 'select(.event == "end" and .action == "restart" and
    .ok)')" ] || fail "no restart by the hung rule in the journal"
assert_eq 0 "$(fake_state "$WP" '.counters.protx // 0')" \
    "wallet protx calls after the hang"
assert_eq 0 "$(fake_state "$WP" '.counters.walletpassphrase // 0')" \
    "wallet unlocks after the hang"

# 2. A PoSe ban, revived.  (startsecs gave the node time to listen: no
# failed check, so no firing, came before.)
assert_eq "" "$(hist rapt 'select(.event == "fire")')" "firings before the ban"
h=$(fake_state "$NP" .height)
t0=$(now_ms)
fake_ctl "$NP" "{\"sn_state\": \"POSE_BANNED\", \"pose_ban_height\": $h,
    \"pose_penalty\": 317}"
wait_for "the revive to end" 30 eval \
    '[ -n "$(hist rapt "select(.event == \"end\" and
    .action == \"raptoreum-revive\")")" ]'
took=$(($(now_ms) - t0))
end=$(hist rapt 'select(.event == "end" and .action == "raptoreum-revive")')
say "ban -> revived in $took ms: $end"
[ "$(echo "$end" | jq -r .ok)" = true ] || fail "the revive failed: $end"
txid=$(hist rapt 'select(.event == "progress")' | jq -r .txid)
assert_match '^[0-9a-f]{64}$' "$txid" "txid in the journal"
assert_match "^PoSe ban cleared \(revived at height [0-9]+\) .* after update_service txid $txid$" \
    "$(echo "$end" | jq -r .result)" "revive result"
calls=$(fake_state "$WP" .update_service_calls)
assert_eq 1 "$(echo "$calls" | jq length)" "update_service calls"
assert_eq "$PROTX" "$(echo "$calls" | jq -r '.[0].protx_hash')" "proTxHash"
assert_eq 203.0.113.5:10226 "$(echo "$calls" | jq -r '.[0].ip_port')" \
    "ip:port"
assert_eq true "$(echo "$calls" | jq -r '.[0].key_ok')" "operator key"
assert_eq "$PAYOUT" "$(echo "$calls" | jq -r '.[0].payout')" "payout"
assert_eq 1 "$(fake_state "$WP" .counters.walletpassphrase)" "unlocks"
assert_eq 1 "$(fake_state "$WP" .counters.walletlock)" "locks"
assert_eq true "$(fake_state "$WP" .wallet_locked)" "wallet locked again"
assert_eq -1 "$(fake_state "$NP" .pose_ban_height)" "node's PoSeBanHeight"
# fire, begin, progress and end, in order, one action.
assert_eq "fire begin progress end" "$(hist rapt \
    'select(.rule == "revive") | .event' | tr -d '"' | tr '\n' ' ' |
    sed 's/ $//')" "journal records"
fire1=$(hist rapt 'select(.event == "fire" and .rule == "revive")' |
    jq -r .ms)
text=$(ctl history rapt)
assert_match 'rapt rule revive: fire \(step 1\): probe smartnode failed 2 times in a row: smartnode POSE_BANNED' \
    "$text" "history: fire"
assert_match "rapt rule revive: begin raptoreum-revive .*\"operator_key_file\":\"$T/operator.key\"" \
    "$text" "history: begin"
assert_match "rapt rule revive: progress raptoreum-revive \(#[0-9]+\): update_service sent, txid $txid" \
    "$text" "history: progress"
assert_match "rapt rule revive: end raptoreum-revive ok: PoSe ban cleared .*txid $txid" \
    "$text" "history: end"
wait_for "rapt's probe healthy again" 10 eval '[ "$(pf rapt health)" = healthy ]'

# 3. Banned again once the hold-down has passed, the ban does not clear:
# chainkeeperd is killed while the action watches.
wait_until "the hold-down to pass" $((HOLD + 5)) \
    '[ $(($(now_ms) - fire1)) -gt '"$((HOLD * 1000 + 200))"' ]'
fake_ctl "$WP" '{"revive_blocks": 1000000}'
h=$(fake_state "$NP" .height)
fake_ctl "$NP" "{\"sn_state\": \"POSE_BANNED\", \"pose_ban_height\": $h,
    \"pose_penalty\": 317}"
wait_for "the second update_service" 20 eval \
    '[ "$(hist rapt "select(.event == \"progress\")" | wc -l)" = 2 ]'
seq2=$(hist rapt 'select(.event == "begin" and .action ==
    "raptoreum-revive")' | tail -n 1 | jq -r .seq)
fire2=$(hist rapt 'select(.event == "fire" and .rule == "revive")' |
    tail -n 1 | jq -r .ms)
assert_eq 2 "$(fake_state "$WP" '.counters.protx')" "protx calls"
RPID=$(status_field rapt pid)
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=
[ "$(jq -s "map(select(.event == \"end\" and .of == $seq2)) | length" \
    "$STATE/journal.jsonl")" = 0 ] ||
    fail "the watch ended before chainkeeperd was killed"
start_daemon
log_has "journal: rapt: action raptoreum-revive \(#$seq2\) of rule revive began at [0-9]+ and never ended: it was interrupted and is NOT run again" ||
    fail "no report of the interrupted action"
[ -n "$(hist rapt "select(.event == \"interrupted\" and .of == $seq2)")" ] ||
    fail "no interrupted record for #$seq2"
assert_match "interrupted .*raptoreum-revive \(#$seq2\) was interrupted by a crash and NOT run again" \
    "$(ctl history rapt)" "history: interrupted"
wait_for "rapt adopted" 10 state_is rapt RUNNING
assert_eq "$RPID" "$(status_field rapt pid)" "rapt's pid after the restart"
# Banned again right after the restart: the probe fails and the rule
# matches, but the interrupted action blocks it until someone checks.
fake_ctl "$NP" "{\"sn_state\": \"POSE_BANNED\", \"pose_ban_height\": $h,
    \"pose_penalty\": 317}"
wait_for "three failed checks after the restart" 10 eval \
    '[ "$(pf rapt failures)" -ge 3 ]'
log_has "rapt: rule revive: .*interrupted.*not acting" ||
    fail "the interrupted action does not block the rule"
assert_eq 2 "$(fake_state "$WP" '.counters.protx')" \
    "protx calls after the restart"
# Checked: released.  The hold-down, counted from the journal's firing
# before the crash, still holds.
ctl release rapt >/dev/null || fail "release failed"
f=$(pf rapt failures)
wait_for "two more failed checks after release" 10 eval \
    '[ "$(pf rapt failures)" -ge $((f + 2)) ]'
now=$(now_ms)
[ $((now - fire2)) -lt $((HOLD * 1000)) ] ||
    fail "the restart took longer than the hold-down: cannot check it"
assert_eq 2 "$(fake_state "$WP" '.counters.protx')" \
    "protx calls within the hold-down after the restart"
assert_eq 2 "$(hist rapt 'select(.event == "fire" and .rule == "revive")' |
    wc -l)" "firings within the hold-down"

# 4. After the hold-down, the next firing sends again; the wallet's error
# quotes the secret, and the action logs it scrubbed.
fake_ctl "$WP" '{"echo_secrets": true, "revive_blocks": 2,
    "update_service_error": {"code": -26, "message": "bad-protx-sig"}}'
wait_for "the third firing to end" $((HOLD + 15)) eval \
    '[ "$(hist rapt "select(.event == \"end\" and
    .action == \"raptoreum-revive\")" | wc -l)" = 2 ]'
fire3=$(hist rapt 'select(.event == "fire" and .rule == "revive")' |
    tail -n 1 | jq -r .ms)
[ $((fire3 - fire2)) -ge $((HOLD * 1000)) ] ||
    fail "fired again $((fire3 - fire2)) ms after the last, hold-down $HOLD s"
end=$(hist rapt 'select(.event == "end" and .action == "raptoreum-revive")' |
    tail -n 1)
say "third: $end"
assert_eq false "$(echo "$end" | jq -r .ok)" "third revive ok"
assert_match '^wallet: protx update_service: RPC error -26: bad-protx-sig \(params: .*\(redacted\)' \
    "$(echo "$end" | jq -r .result)" "scrubbed wallet error"
assert_eq 3 "$(fake_state "$WP" '.counters.protx')" "protx calls"
assert_eq 3 "$(fake_state "$WP" .counters.walletlock)" "locks"

# 5. No secret anywhere.
"$CHAINKEEPERD" -nv -c "$CFG" >"$T/nv.out" 2>&1 || fail "-nv failed"
ctl status --json >"$T/status.json"
ctl history --json -n 2000 >"$T/history.json"
ctl history -n 2000 >"$T/history.txt"
leaks "the daemon log" "$LOG"
leaks "state_dir" "$STATE"
leaks "the program logs" "$LOGDIR"
leaks "status, history or -nv" "$T/status.json" "$T/history.json" \
    "$T/history.txt" "$T/nv.out"
cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' '\n' >"$T/argv.txt"
leaks "a process's argv" "$T/argv.txt"
grep -q "$T/operator.key" "$T/nv.out" || fail "-nv does not show the path"

daemon_up || fail "daemon not answering at the end"
if grep -Eq 'AddressSanitizer|runtime error:|LeakSanitizer' "$LOG"; then
	fail "sanitizer report in the daemon log"
fi
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

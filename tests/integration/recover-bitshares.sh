# The bitshares-flip-key action, end to end against tests/fakes/
# fake-witness.py (witness_node and cli_wallet on one simulated chain, a
# block every 200 ms), supervised by chainkeeperd with a bitshares-witness
# probe and a rule {grew: 5, within: WIN} with a hold-down of WIN.  The
# witness starts on a key that is not in keys: [KA, KB].  Asserts:
#  - a wallet password file open to group or others, a key that is not a
#    key, a witness id instead of a name are refused by -n (file:line:col);
#    etc/bitshares.yaml passes -n;
#  - total_missed jumping by 7 in ONE poll (the BitShares monitor's "== 5"
#    would never fire) flips exactly once, to KA (the current key is not
#    listed: the first), through unlock, update_witness(witness, "", KA,
#    true) and lock, and waits until the chain shows KA (it shows it only
#    3 blocks later); fire, begin, progress and end are in the journal;
#  - 5 more misses within the window: no second flip, neither then nor
#    once the hold-down and the window have passed (growth seen while the
#    rule could not act does not carry over);
#  - after the window, 5 more misses flip to KB; after another window, 6
#    more flip round-robin back to KA;
#  - a wrong password in the password file: the action fails with "unlock
#    refused", no update_witness is sent, the key stays; the wallet's error
#    quoted the password and the journal has it scrubbed;
#  - neither password appears in any log, state file, status, history,
#    -nv output or process argv.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

command -v python3 >/dev/null 2>&1 || skip "python3 is needed for the fakes"
PY=$(python3 -c 'import sys; print(sys.executable)')
FAKE=$TESTS_SRCDIR/fakes/fake-witness.py
WIN=5		# the rule's window and hold-down, seconds
KA=BTS7backupKeyAlphaForTheTestsOnly123456789abcdefghijk
KB=BTS8backupKeyBravoForTheTestsOnly123456789abcdefghijk

# The test's own calls use lib.sh's $PYTHON (the system one starts fast).
fake() {
	"$PYTHON" "$FAKE" control "$P" "$@" >/dev/null ||
	    fail "cannot control: $*"
}

fake_state() {
	"$PYTHON" "$FAKE" state "$P" | jq -r "$1"
}

# pf FIELD: a field of the witness probe.
pf() {
	ctl status --json witness | jq -r ".[0].probes[0].$1"
}

# hist JQ-FILTER: the journal records of the program, filtered.
hist() {
	ctl history --json -n 2000 witness | jq -c ".[] | $1"
}

flips() {
	hist 'select(.event == "end" and .action == "bitshares-flip-key")' |
	    wc -l
}

# runs_now: how many checks the probe has run.
runs_now() {
	pf runs
}

umask 077
printf 'wallet-pw-%s-never-logged\n' "$RANDOM$RANDOM$RANDOM" >"$T/wallet.pw"
cp "$T/wallet.pw" "$T/secrets.pat"
printf 'wrong-pw-%s-never-logged\n' "$RANDOM$RANDOM$RANDOM" >"$T/wrong.pw"
cat "$T/wrong.pw" >>"$T/secrets.pat"
umask 022

leaks() {
	local what=$1
	shift
	if grep -rqFf "$T/secrets.pat" -- "$@" 2>/dev/null; then
		fail "a password is in $what: $(grep -rlFf "$T/secrets.pat" \
		    -- "$@" 2>/dev/null | head -3)"
	fi
}

P=$(free_port)
W=$(free_port)
while [ "$W" = "$P" ]; do W=$(free_port); done
write_config <<EOF
programs:
  witness:
    command: ["$PY", "$FAKE", "--port", "$P", "--wallet-port", "$W",
        "--block-ms", "200", "--witness", "ckwitness", "--missed", "221",
        "--wallet-password-file", "$T/wallet.pw"]
    startsecs: 1
    probes:
      - kind: bitshares-witness
        name: witness
        url: http://127.0.0.1:$P/rpc
        witness: ckwitness
        interval: 300ms
        timeout: 250ms
    rules:
      - name: flip
        when: {probe: witness, grew: 5, within: ${WIN}s}
        hold_down: ${WIN}s
        do:
          bitshares-flip-key:
            wallet: {url: "http://127.0.0.1:$W/rpc"}
            wallet_password_file: $T/wallet.pw
            witness: ckwitness
            keys: [$KA, $KB]
            node: {url: "http://127.0.0.1:$P/rpc"}
            verify_timeout: 5s
            poll_interval: 200ms
            timeout: 1s
EOF

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
cp "$T/wallet.pw" "$T/open.pw"
chmod 644 "$T/open.pw"
badcfg "s|wallet_password_file: $T/wallet.pw|wallet_password_file: $T/open.pw|" \
    "wallet_password_file: $T/open.pw is open to its group or others \(mode 0644\)"
badcfg "s|keys: \[$KA, $KB\]|keys: [$KA, \"BTS not a key\"]|" \
    "keys: entry 2 is not a public key"
badcfg "s|keys: \[$KA, $KB\]|keys: [$KA, $KA]|" "keys: entry 2 repeats entry 1"
badcfg "s|witness: ckwitness$|witness: \"1.6.12\"|" \
    "witness must be the witness's account name"
badcfg "s|wallet_password_file: .*|wallet_password: hunter2|" \
    'unknown setting "wallet_password"'
leaks "the -n errors" "$T/bad.out" "$T/n.out"
# The example configuration in etc/ is valid (its secret files do not
# exist here: warned about, not refused).
"$CHAINKEEPERD" -n -c "$TESTS_SRCDIR/../etc/bitshares.yaml" >"$T/ex.out" 2>&1 ||
    fail "etc/bitshares.yaml is refused: $(cat "$T/ex.out")"

start_daemon
wait_for "witness RUNNING" 10 state_is witness RUNNING
wait_for "the witness probe healthy" 15 eval '[ "$(pf health)" = healthy ]'
K0=$(pf detail.signing_key)
assert_match '^BTS' "$K0" "the initial signing key"
assert_ne "$KA" "$K0" "the initial key"
assert_eq "" "$(hist 'select(.event == "fire")')" "firings at start"

# 1. Misses jump by 7 in one poll: one flip, to KA, seen on chain.
fake update_delay_blocks=3
t0=$(now_ms)
fake bump_missed=7
wait_for "the first flip to end" 15 eval '[ "$(flips)" = 1 ]'
took=$(($(now_ms) - t0))
# (2. begins now, while the hold-down runs: five more misses.)
fake update_delay_blocks=0
fake bump_missed=5
tb=$(now_ms)
end=$(hist 'select(.event == "end")' | tail -n 1)
say "misses +7 -> flipped in $took ms: $end"
assert_eq true "$(echo "$end" | jq -r .ok)" "first flip ok"
assert_match "^signing key of ckwitness flipped $K0 -> $KA, on chain after [0-9.]+s$" \
    "$(echo "$end" | jq -r .result)" "first flip result"
assert_eq "$KA" "$(fake_state '.witnesses.ckwitness.signing_key')" \
    "the key on chain"
assert_eq '[{"name":"ckwitness","url":"","key":"'"$KA"'","broadcast":true}]' \
    "$(fake_state '.update_witness_log' | jq -c .)" "update_witness calls"
assert_eq "unlock update_witness lock" \
    "$(fake_state '.wallet_calls | join(" ")')" "wallet calls"
assert_eq true "$(fake_state .locked)" "wallet locked again"
assert_match '^probe witness: value grew by 7 \(from 221 to 228\)' \
    "$(hist 'select(.event == "fire")' | jq -r .why)" "why it fired"
assert_eq "fire begin progress end" "$(hist 'select(.rule == "flip") |
    .event' | tr -d '"' | tr '\n' ' ' | sed 's/ $//')" "journal records"
assert_match "flip: progress bitshares-flip-key \(#[0-9]+\): update_witness broadcast: $K0 -> $KA" \
    "$(ctl history witness)" "history: progress"
fire1=$(hist 'select(.event == "fire")' | jq -r .ms)

# 2. Five more misses within the window: no second flip, now or later.
[ $((tb - fire1)) -lt $((WIN * 1000 - 1000)) ] ||
    fail "the second bump came $((tb - fire1)) ms after the flip: too late to test the window"
wait_for "the probe to see 233" 5 eval '[ "$(pf value)" = 233 ]'
r=$(runs_now)
wait_for "three more checks" 5 eval '[ "$(runs_now)" -ge $((r + 3)) ]'
assert_eq 1 "$(fake_state .update_witness_calls)" "update_witness calls"
wait_until "the window and hold-down to pass" $((WIN + 5)) \
    '[ $(($(now_ms) - fire1)) -gt $((WIN * 1000 + 600)) ]'
r=$(runs_now)
wait_for "three more checks" 5 eval '[ "$(runs_now)" -ge $((r + 3)) ]'
assert_eq 1 "$(fake_state .update_witness_calls)" \
    "update_witness calls after the window"
assert_eq 1 "$(hist 'select(.event == "fire")' | wc -l)" "firings"

# 3. After the window, 5 more misses: the next key, KB.
fake bump_missed=5
wait_for "the second flip to end" 15 eval '[ "$(flips)" = 2 ]'
end=$(hist 'select(.event == "end")' | tail -n 1)
assert_match "^signing key of ckwitness flipped $KA -> $KB, on chain" \
    "$(echo "$end" | jq -r .result)" "second flip result"
assert_eq "$KB" "$(fake_state '.witnesses.ckwitness.signing_key')" \
    "the key on chain"
fire2=$(hist 'select(.event == "fire")' | tail -n 1 | jq -r .ms)

# 4. After another window, 6 more: round-robin wraps to KA.
wait_until "the hold-down to pass" $((WIN + 5)) \
    '[ $(($(now_ms) - fire2)) -gt $((WIN * 1000 + 600)) ]'
fake bump_missed=6
wait_for "the third flip to end" 15 eval '[ "$(flips)" = 3 ]'
end=$(hist 'select(.event == "end")' | tail -n 1)
assert_match "^signing key of ckwitness flipped $KB -> $KA, on chain" \
    "$(echo "$end" | jq -r .result)" "third flip result"
assert_eq "$KA" "$(fake_state '.witnesses.ckwitness.signing_key')" \
    "the key on chain"
assert_eq 3 "$(fake_state .update_witness_calls)" "update_witness calls"
fire3=$(hist 'select(.event == "fire")' | tail -n 1 | jq -r .ms)

# 5. A wrong password: unlock refused, nothing sent, the key stays.  The
# wallet quotes the password in its error; the journal must not.
cat "$T/wrong.pw" >"$T/wallet.pw"
fake echo_secrets=1
wait_until "the hold-down to pass" $((WIN + 5)) \
    '[ $(($(now_ms) - fire3)) -gt $((WIN * 1000 + 600)) ]'
fake bump_missed=5
wait_for "the fourth run to end" 15 eval '[ "$(flips)" = 4 ]'
end=$(hist 'select(.event == "end")' | tail -n 1)
say "wrong password: $end"
assert_eq false "$(echo "$end" | jq -r .ok)" "flip with a wrong password"
assert_match '^wallet: unlock refused: RPC error 1: Assert Exception: false: Invalid password .*\(redacted\).*; the signing key was not changed$' \
    "$(echo "$end" | jq -r .result)" "wrong password result"
assert_eq 3 "$(fake_state .update_witness_calls)" "update_witness calls"
assert_eq 1 "$(fake_state .bad_unlocks)" "refused unlocks"
assert_eq "$KA" "$(fake_state '.witnesses.ckwitness.signing_key')" \
    "the key on chain"

# 6. No password anywhere.
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

daemon_up || fail "daemon not answering at the end"
if grep -Eq 'AddressSanitizer|runtime error:|LeakSanitizer' "$LOG"; then
	fail "sanitizer report in the daemon log"
fi
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

# The bitcoin-rpc probe against tests/fakes/fake-raptoreumd.py, under the
# real chainkeeperd.  A placeholder program carries the probes; the fakes
# run beside it (ports picked by the kernel, read from port files):
#   N1  node with a cookie file           probed by "rapt" (smartnode +
#                                          protx_hash, hung_after 3)
#   N2  node with rpcuser + password file  probed by "ltc" (reference_url
#                                          on the explorer EX, max_lag 2,
#                                          stall_after 2s) and by "ref"
#                                          (reference: N1 over RPC)
#   EX  explorer (api/getblockcount)
# Asserts: the value follows the height; cookie rotation is followed;
# -28 warmup, 401, 404, HTTP 500 pages, malformed, garbage, huge, empty,
# wrong-typed and array replies and dropped connections each give a failed
# probe with its own clear reason and the daemon keeps answering; a slow
# node times out; a hanging node is "hung" within hung_after x interval
# and its abandoned requests are closed; syncing shows percent and blocks
# behind; stall_after, max_lag (explorer and RPC reference), a failing
# reference (noted, not fatal), smartnode POSE_BANNED, PoSe ban heights
# and "not a smartnode" are reported; no secret reaches the log or status;
# bad settings are refused with file:line:col.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

# On failure, also show every probe's last result (the daemon is still up).
fail() {
	ctl status --json 2>/dev/null | jq -c '.[] | {name, state, health,
	    probes: [.probes[] | {name, health, status, value, reason}]}' >&2
	printf '%s: FAIL: %s\n' "$CK_TEST_NAME" "$*" >&2
	_ck_failed=1
	exit 1
}

command -v python3 >/dev/null 2>&1 || skip "python3 is needed for the fakes"
FAKE=$TESTS_SRCDIR/fakes/fake-raptoreumd.py

# start_fake NAME ARGS...: run a fake in the background; prints its port.
start_fake() {
	local name=$1
	shift
	python3 "$FAKE" --port-file "$T/$name.port" "$@" \
	    >"$T/$name.out" 2>&1 &
	disown	# no "Killed" noise: the cleanup kills it by its $T argv
	wait_for "fake $name to listen" 20 test -s "$T/$name.port"
	DUMP_FILES="$DUMP_FILES $T/$name.out"
}

# fake_ctl NAME JSON: change a fake's behaviour.
fake_ctl() {
	python3 "$FAKE" control "$(cat "$T/$1.port")" "$2" >/dev/null ||
	    fail "cannot control fake $1 with $2"
}

# fake_state NAME FIELD
fake_state() {
	python3 "$FAKE" state "$(cat "$T/$1.port")" | jq -r ".$2"
}

# pf PROGRAM FIELD: a field of the program's (only) probe.
pf() {
	ctl status --json "$1" | jq -r ".[0].probes[0].$2"
}

# reason_is PROGRAM REGEX: the probe's last reason matches.
reason_is() {
	pf "$1" reason | grep -Eq -- "$2"
}

# fails_with PROGRAM REGEX: the last check failed, with that reason.
fails_with() {
	[ "$(pf "$1" status)" = fail ] && reason_is "$1" "$2"
}

health_is() {
	[ "$(pf "$1" health)" = "$2" ]
}

value_is() {
	[ "$(pf "$1" value)" = "$2" ]
}

# healthy_at PROGRAM HEIGHT: healthy, last check ok, value HEIGHT.
healthy_at() {
	[ "$(ctl status --json "$1" | jq -r '.[0].probes[0] |
	    "\(.health) \(.status) \(.value)"')" = "healthy ok $2" ]
}

echo 's3cret-pw-do-not-log' >"$T/n2.pw"
chmod 600 "$T/n2.pw"
start_fake n1 --cookie-file "$T/n1.cookie" --height 1000
start_fake n2 --rpcuser ck --rpcpassword-file "$T/n2.pw" --height 2000
start_fake ex --explorer --height 2000
N1=$(cat "$T/n1.port")
N2=$(cat "$T/n2.port")
EX=$(cat "$T/ex.port")
PROTX=$(fake_state n1 protx_hash)
say "fakes: n1 $N1, n2 $N2, explorer $EX"

idle=$(write_script idle.sh <<'EOF'
#!/bin/sh
exec sleep 100000
EOF
)
write_config <<EOF
programs:
  rapt:
    command: $idle
    startsecs: 0
    probes:
      - kind: bitcoin-rpc
        name: chain
        url: http://127.0.0.1:$N1/
        cookie: $T/n1.cookie
        smartnode: true
        protx_hash: "$PROTX"
        interval: 500ms
        timeout: 400ms
        fall: 2
        rise: 1
        hung_after: 3
  ltc:
    command: $idle
    startsecs: 0
    probes:
      - kind: bitcoin-rpc
        name: chain
        url: http://127.0.0.1:$N2/
        user: ck
        password_file: $T/n2.pw
        reference_url: http://127.0.0.1:$EX/api/getblockcount
        max_lag: 2
        stall_after: 2s
        interval: 500ms
        timeout: 400ms
        fall: 1
        rise: 1
  ref:
    command: $idle
    startsecs: 0
    probes:
      - kind: bitcoin-rpc
        name: chain
        url: http://127.0.0.1:$N2/
        user: ck
        password_file: $T/n2.pw
        reference:
          url: http://127.0.0.1:$N1/
          cookie: $T/n1.cookie
        max_lag: 0
        interval: 500ms
        timeout: 400ms
        fall: 1
        rise: 1
EOF
"$CHAINKEEPERD" -n -c "$CFG" || fail "the config is refused"
start_daemon
for p in rapt ltc ref; do
	wait_for "$p RUNNING" 10 state_is $p RUNNING
done

# --- Basics: value = height, detail, smartnode and PoSe.
wait_for "rapt healthy at 1000" 10 healthy_at rapt 1000
d=$(ctl status --json rapt | jq -c '.[0].probes[0].detail')
say "rapt detail: $d"
assert_eq 1000 "$(jq -r .height <<<"$d")" "detail.height"
assert_eq 1000 "$(jq -r .headers <<<"$d")" "detail.headers"
assert_eq 0 "$(jq -r .blocks_behind <<<"$d")" "detail.blocks_behind"
assert_eq false "$(jq -r .ibd <<<"$d")" "detail.ibd"
assert_eq READY "$(jq -r .smartnode_state <<<"$d")" "detail.smartnode_state"
assert_eq 0 "$(jq -r .pose_penalty <<<"$d")" "detail.pose_penalty"
assert_eq -1 "$(jq -r .pose_ban_height <<<"$d")" "detail.pose_ban_height"
assert_eq -1 "$(jq -r .pose_revived_height <<<"$d")" \
    "detail.pose_revived_height"
assert_match '^height 1000, smartnode READY$' "$(pf rapt reason)" "reason"
assert_match 'chain healthy: height 1000' \
    "$(ctl status rapt)" "chainkeeperctl status"
assert_eq healthy "$(ctl status --json rapt | jq -r '.[0].health')" \
    "program health"

# The height probe follows new blocks.
fake_ctl n1 '{"advance": 5}'
wait_for "rapt at 1005" 10 healthy_at rapt 1005

# A restarted daemon writes a new cookie: it is re-read at every check
# (the old one is refused, so reaching the new height proves it).
fake_ctl n1 '{"rotate_cookie": true, "advance": 1}'
wait_for "rapt at 1006 with the new cookie" 10 healthy_at rapt 1006

# --- Replies that must fail, each with its own reason.
# bad MODE REGEX: set the mode on n1, wait for the reason, then recover.
bad() {
	fake_ctl n1 "{\"mode\": \"$1\"}"
	wait_for "rapt: $1 gives /$2/" 10 fails_with rapt "$2"
	say "$1: $(pf rapt reason)"
	daemon_up || fail "chainkeeperd does not answer after mode $1"
	fake_ctl n1 '{"mode": "ok"}'
	wait_for "rapt healthy after $1" 10 healthy_at rapt 1006
}
bad 401 '^getblockchaininfo: HTTP 401: authentication failed'
bad 404 '^getblockchaininfo: RPC error -32601: Method not found$'
bad http500 '^getblockchaininfo: HTTP 500, reply is not JSON'
bad malformed '^getblockchaininfo: reply is not JSON'
bad garbage '^getblockchaininfo: reply is not JSON'
bad huge '^getblockchaininfo: reply too large'
bad wrongtypes '^getblockchaininfo: blocks is a string, not an integer$'
bad empty '^getblockchaininfo: empty reply$'
bad array '^getblockchaininfo: reply is an array, not a JSON-RPC object$'
bad close '^getblockchaininfo: .+'
assert_eq healthy "$(pf rapt health)" "health after the bad replies"

# Warmup: 500 with error -28 for the next calls.
fake_ctl n1 '{"warmup": 1000}'
wait_for "rapt: -28 warmup" 10 eval \
    'reason_is rapt "^getblockchaininfo: RPC error -28: Loading block index\.\.\.$"'
wait_for "rapt failing during the warmup" 5 health_is rapt failing
fake_ctl n1 '{"warmup": 0}'
wait_for "rapt healthy after the warmup" 10 healthy_at rapt 1006

# A slow answer (over the 400ms timeout) is a timeout, not a failure.
fake_ctl n1 '{"mode": "slow", "delay_ms": 1500}'
wait_for "rapt: timeout" 10 eval '[ "$(pf rapt status)" = timeout ]'
assert_match '^no answer within 400 ms$' "$(pf rapt reason)" "slow reason"
fake_ctl n1 '{"mode": "ok"}'
wait_for "rapt healthy after slow" 10 healthy_at rapt 1006

# --- Smartnode state and PoSe ban.
fake_ctl n1 '{"sn_state": "POSE_BANNED", "pose_penalty": 312,
    "pose_ban_height": 1003}'
wait_for "rapt: POSE_BANNED" 10 eval \
    'reason_is rapt "^smartnode POSE_BANNED: Smartnode was PoSe banned; PoSe banned at height 1003 \(penalty 312\); height 1006$"'
wait_for "rapt failing" 5 health_is rapt failing
d=$(ctl status --json rapt | jq -c '.[0].probes[0].detail')
assert_eq POSE_BANNED "$(jq -r .smartnode_state <<<"$d")" "smartnode_state"
assert_eq 312 "$(jq -r .pose_penalty <<<"$d")" "pose_penalty"
assert_eq 1003 "$(jq -r .pose_ban_height <<<"$d")" "pose_ban_height"
assert_eq 1006 "$(pf rapt value)" "the value while banned"
# protx update_service revives it.
fake_ctl n1 '{"sn_state": "READY", "pose_penalty": 0,
    "pose_ban_height": -1, "pose_revived_height": 1006}'
wait_for "rapt healthy after the revival" 10 healthy_at rapt 1006
assert_eq 1006 "$(pf rapt detail.pose_revived_height)" "pose_revived_height"
fake_ctl n1 '{"smartnode": false}'
wait_for "rapt: not a smartnode" 10 eval \
    'reason_is rapt "^smartnode status: RPC error -32603: This is not a smartnode; height 1006$"'
fake_ctl n1 '{"smartnode": true, "protx_hash": "'"$(printf 'f%.0s' \
    $(seq 64))"'"}'
wait_for "rapt: unknown protx" 10 eval \
    'reason_is rapt "^protx info: RPC error -8: smartnode with proTxHash .* not found; height 1006, smartnode READY$"'
fake_ctl n1 "{\"protx_hash\": \"$PROTX\"}"
wait_for "rapt healthy again" 10 healthy_at rapt 1006

# --- Syncing: percent and blocks behind, still ok.
fake_ctl n1 '{"headers_ahead": 200}'
wait_for "rapt syncing" 10 eval \
    'reason_is rapt "^height 1006, syncing [0-9.]+%, 200 blocks behind, smartnode READY$"'
assert_eq ok "$(pf rapt status)" "status while syncing"
assert_eq 200 "$(pf rapt detail.blocks_behind)" "blocks_behind while syncing"
assert_eq true "$(pf rapt detail.ibd)" "ibd while syncing"
assert_eq 83.4163 "$(pf rapt detail.progress)" "progress (1006/1206) in %"
assert_match 'syncing 83.41%, 200 blocks behind' "$(ctl status rapt)" \
    "chainkeeperctl status while syncing"
fake_ctl n1 '{"headers_ahead": 0}'

# --- The RPC reference (N1, cookie) and max_lag 0 for "ref" on N2.
fake_ctl n2 '{"height": 1006}'
wait_for "ref healthy at 1006 (reference 1006)" 10 eval \
    'healthy_at ref 1006 && reason_is ref "^height 1006, reference 1006$"'
fake_ctl n1 '{"advance": 1}'
wait_for "ref: one block behind its reference" 10 eval \
    'reason_is ref "^height 1006 is 1 block behind the reference 1007 \(max_lag 0\)"'
wait_for "ref failing" 5 health_is ref failing
assert_eq 1 "$(pf ref detail.lag)" "ref detail.lag"
fake_ctl n2 '{"advance": 1}'
wait_for "ref caught up" 10 healthy_at ref 1007

# --- Hung: N1 stops answering.  hung_after 3 x interval 500ms: the probe
# says "hung" after three checks cut off at 400 ms, about 2.3 s on a quiet
# host.  The wait's bound (10 s) is what a check without its timeout (curl
# would wait minutes) could not meet; the time itself is only reported,
# since a loaded host stretches it.
t0=$(now_ms)
fake_ctl n1 '{"mode": "hang"}'
wait_for "rapt hung" 10 health_is rapt hung
took=$(($(now_ms) - t0))
say "hang -> hung in $took ms (hung_after 3 x 500ms, timeout 400ms)"
assert_eq timeout "$(pf rapt status)" "status while hung"
assert_match 'chain hung: no answer within 400 ms' "$(ctl status rapt)" \
    "chainkeeperctl status while hung"
assert_eq hung "$(ctl status --json rapt | jq -r '.[0].health')" \
    "program health while hung"
# Cancelled checks close their connections: the fake holds at most the
# requests in flight (one of rapt, one of ref), not one per timeout.
wait_for "abandoned requests closed" 5 eval \
    '[ "$(fake_state n1 hanging)" -le 2 ]'
# The hung reference makes "ref" note it, within its timeout: ok, not hung.
wait_for "ref notes its hung reference" 10 eval \
    'reason_is ref "^height 1007; reference: .*[Tt]ime"'
assert_eq ok "$(pf ref status)" "ref status while its reference hangs"
assert_eq healthy "$(pf ref health)" "ref health while its reference hangs"
fake_ctl n1 '{"mode": "ok"}'
wait_for "rapt healthy after the hang" 10 healthy_at rapt 1007

# A node that hangs only in the second call (smartnode status) also times
# out: every request of a check shares the one timeout.
fake_ctl n1 '{"mode": "hang", "mode_methods": ["smartnode"]}'
wait_for "rapt: timeout in smartnode status" 10 eval \
    '[ "$(pf rapt status)" = timeout ]'
fake_ctl n1 '{"mode": "ok", "mode_methods": null}'
wait_for "rapt healthy" 10 healthy_at rapt 1007

# --- Explorer reference and stall_after for "ltc" on N2 (now at 1007).
fake_ctl ex '{"height": 1007}'
fake_ctl n2 '{"advance_ms": 300}'
wait_for "ltc ok with its explorer" 10 eval \
    '[ "$(pf ltc status)" = ok ] && reason_is ltc "reference"'
fake_ctl n2 '{"advance_ms": 0, "height": 1010}'
fake_ctl ex '{"height": 1015}'
wait_for "ltc: 5 behind the explorer" 10 eval \
    'reason_is ltc "height 1010 is 5 blocks behind the reference 1015 \(max_lag 2\)"'
wait_for "ltc failing" 5 health_is ltc failing
assert_eq 5 "$(pf ltc detail.lag)" "detail.lag"
assert_eq 5 "$(pf ltc detail.blocks_behind)" "detail.blocks_behind"
assert_eq 1015 "$(pf ltc detail.reference_height)" "detail.reference_height"
# Frozen for 2s: stalled (and still lagging).
wait_for "ltc stalled" 10 eval \
    'reason_is ltc "^stalled: height 1010 unchanged for [0-9.]+s \(stall_after 2s\)"'
assert_eq true "$(pf ltc detail.stalled)" "detail.stalled"
fake_ctl n2 '{"height": 1014}'
wait_for "ltc healthy at 1014" 10 healthy_at ltc 1014
assert_match '^height 1014, 1 block behind, reference 1015$' \
    "$(pf ltc reason)" "ltc reason"
# A broken explorer is noted but fails nothing.  The node grows meanwhile
# (a block each 300 ms), or a slow host would see it stalled (stall_after
# 2s) before the note.
fake_ctl n2 '{"advance_ms": 300}'
fake_ctl ex '{"mode": "garbage"}'
wait_for "ltc notes the broken explorer" 10 eval \
    'reason_is ltc "^height [0-9]+; reference: reply is not a block count"'
assert_eq ok "$(pf ltc status)" "ltc status with a broken explorer"
assert_match 'not a block count' "$(pf ltc detail.reference_error)" \
    "detail.reference_error"
fake_ctl ex '{"mode": "hang"}'
wait_for "ltc notes the hung explorer" 10 eval \
    'reason_is ltc "^height [0-9]+; reference: "'
assert_eq ok "$(pf ltc status)" "ltc status with a hung explorer"
fake_ctl ex '{"mode": "ok"}'
fake_ctl n2 '{"advance_ms": 0}'

# --- Secrets never show.
ck=$(cat "$T/n1.cookie")
ctl status --json >"$T/status.json"
ctl probes all >"$T/probes.txt"
"$CHAINKEEPERD" -nv -c "$CFG" >"$T/nv.txt" 2>&1
for f in "$LOG" "$T/status.json" "$T/probes.txt" "$T/nv.txt"; do
	! grep -qF 's3cret-pw-do-not-log' "$f" || fail "password in $f"
	! grep -qF "${ck#__cookie__:}" "$f" || fail "cookie in $f"
done

# --- Bad settings: refused with file:line:col and a clear message.
# bad_cfg REGEX: the probe settings on stdin must be refused so.
bad_cfg() {
	local f=$T/bad.yaml out
	{
		printf 'programs:\n  x:\n    command: /bin/true\n'
		printf '    probes:\n      - kind: bitcoin-rpc\n'
		sed 's/^/        /'
	} >"$f"
	if out=$("$CHAINKEEPERD" -n -c "$f" 2>&1); then
		fail "accepted: $(cat "$f")"
	fi
	assert_match "$1" "$out" "error for $(tr '\n' ' ' <"$f")"
}
bad_cfg 'bad.yaml:[0-9]+:[0-9]+: .*url is required' <<'EOF'
cookie: /x
EOF
bad_cfg 'bad.yaml:6:[0-9]+: .*url must start with http' <<'EOF'
url: 127.0.0.1:8332
cookie: /x
EOF
bad_cfg 'bad.yaml:[0-9]+:[0-9]+: .*needs cookie, or user and password_file' <<'EOF'
url: http://127.0.0.1:8332/
EOF
bad_cfg 'bad.yaml:7:[0-9]+: .*cookie and user/password_file exclude each other' <<'EOF'
url: http://127.0.0.1:8332/
cookie: /x
user: u
password_file: /p
EOF
bad_cfg 'bad.yaml:8:[0-9]+: .*max_lag needs reference or reference_url' <<'EOF'
url: http://127.0.0.1:8332/
cookie: /x
max_lag: 3
EOF
bad_cfg 'bad.yaml:8:[0-9]+: .*protx_hash must be 64 hex digits' <<'EOF'
url: http://127.0.0.1:8332/
cookie: /x
protx_hash: abc
EOF
bad_cfg 'bad.yaml:8:[0-9]+: .*reference: needs cookie' <<'EOF'
url: http://127.0.0.1:8332/
cookie: /x
reference: {url: "http://127.0.0.1:1/"}
EOF
bad_cfg 'bad.yaml:8:[0-9]+: .*reference: unknown setting "pasword_file"' <<'EOF'
url: http://127.0.0.1:8332/
cookie: /x
reference: {url: "http://127.0.0.1:1/", user: u, pasword_file: /p}
EOF
bad_cfg 'bad.yaml:8:[0-9]+: .*reference must be a map' <<'EOF'
url: http://127.0.0.1:8332/
cookie: /x
reference: http://127.0.0.1:1/
EOF
bad_cfg 'bad.yaml:9:[0-9]+: .*reference and reference_url exclude each other' <<'EOF'
url: http://127.0.0.1:8332/
cookie: /x
reference: {url: "http://127.0.0.1:1/", cookie: /c}
reference_url: http://127.0.0.1:2/api/getblockcount
EOF
bad_cfg 'bad.yaml:8:[0-9]+: .*unknown setting "stall"' <<'EOF'
url: http://127.0.0.1:8332/
cookie: /x
stall: 5m
EOF
bad_cfg 'bad.yaml:8:[0-9]+: .*stall_after' <<'EOF'
url: http://127.0.0.1:8332/
cookie: /x
stall_after: soon
EOF
bad_cfg 'bad.yaml:8:[0-9]+: .*smartnode must be true or false' <<'EOF'
url: http://127.0.0.1:8332/
cookie: /x
smartnode: yes please
EOF

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

# The bitcoin-rpc probe against two REAL litecoind -regtest nodes (Debian's
# package) under chainkeeperd, with cookie auth.  Node B is connected to
# node A and uses A's RPC as its reference (max_lag 2).
# Asserts: the probe's value follows blocks mined on A with
# generatetoaddress (and equals the node's own getblockcount), on A and, by
# P2P, on B; B cut off the network (setnetworkactive false) while A mines
# fails with "N blocks behind the reference", and recovers when it is back;
# A frozen with SIGSTOP is reported hung within hung_after x interval (plus
# one interval and the timeout), while B only notes that its reference does
# not answer; SIGCONT brings A back to healthy; after a restart of A (a new
# cookie) the probe reads the new cookie and is healthy again.
# Prints the measured SIGSTOP -> hung and SIGCONT -> healthy times.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

# On failure, also show every probe's last result (the daemon is still up).
fail() {
	ctl status --json 2>/dev/null | jq -c '.[] | {name, state, health,
	    probes: [.probes[] | {name, health, status, value, reason}]}' >&2
	printf '%s: FAIL: %s\n' "$CK_TEST_NAME" "$*" >&2
	_ck_failed=1
	exit 1
}

# Debian's /usr/bin/litecoind is a wrapper that writes ~/.litecoin: run the
# real daemon.
if [ -z "${LITECOIND:-}" ] && [ -x /usr/lib/litecoin/litecoind ]; then
	LITECOIND=/usr/lib/litecoin/litecoind
fi
LITECOIND=$(command -v "${LITECOIND:-litecoind}") ||
    skip "litecoind is not installed (apt-get install litecoind)"
CLI=$(command -v "${LITECOIN_CLI:-litecoin-cli}") ||
    skip "litecoin-cli is not installed"
command -v python3 >/dev/null 2>&1 || skip "python3 is needed to pick ports"
# P2WSH of OP_TRUE on regtest: anyone can spend, no wallet needed.
ADDR=rltc1qft5p2uhsdcdc3l2ua4ap5qqfg4pjaqlp250x7us7a8qqhrxrxfsqc6h8ge
INTERVAL_MS=1000
HUNG_AFTER=3

# Three free ports per node: P2P, P2P + 1 (0.21's Tor inbound bind) and
# RPC.  They are held open together while picked, then released.
read -r A_P2P A_RPC B_P2P B_RPC < <(python3 - <<'EOF'
import socket
held, out = [], []
def grab(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        return None
    held.append(s)
    return s.getsockname()[1]
while len(out) < 4:
    p = grab(0)
    if len(out) in (0, 2):          # a P2P port: p + 1 must be free too
        if p >= 65535 or grab(p + 1) is None:
            continue
    out.append(p)
print(*out)
EOF
)
[ -n "$B_RPC" ] || fail "could not pick free ports"
say "ports: A p2p $A_P2P rpc $A_RPC, B p2p $B_P2P rpc $B_RPC"

# write_conf NAME P2P RPC PEER_P2P
write_conf() {
	mkdir -p "$T/$1"
	cat >"$T/$1/litecoin.conf" <<EOF
regtest=1
[regtest]
listen=1
bind=127.0.0.1:$2
bind=127.0.0.1:$(($2 + 1))=onion
port=$2
connect=127.0.0.1:$4
dnsseed=0
upnp=0
listenonion=0
discover=0
server=1
rpcbind=127.0.0.1
rpcallowip=127.0.0.1
rpcport=$3
rpcthreads=2
disablewallet=1
dbcache=16
maxmempool=5
maxconnections=16
par=1
nodebuglogfile=1
EOF
}
write_conf a "$A_P2P" "$A_RPC" "$B_P2P"
write_conf b "$B_P2P" "$B_RPC" "$A_P2P"
DUMP_FILES="$LOGDIR/litecoind-a.out.log $LOGDIR/litecoind-b.out.log"

a_cli() { "$CLI" -regtest -datadir="$T/a" -rpcport="$A_RPC" "$@"; }
b_cli() { "$CLI" -regtest -datadir="$T/b" -rpcport="$B_RPC" "$@"; }

# node NAME: the program block of one litecoind.
node() {
	cat <<EOF
  litecoind-$1:
    command: [$LITECOIND, -regtest, "-datadir=$T/$1", "-conf=$T/$1/litecoin.conf", -printtoconsole]
    startsecs: 1s
    stopwaitsecs: 60s
    stopasgroup: true
    killasgroup: true
    redirect_stderr: true
    stdout_logfile: AUTO
EOF
}
write_config <<EOF
programs:
$(node a)
    probes:
      - kind: bitcoin-rpc
        name: chain
        url: http://127.0.0.1:$A_RPC/
        cookie: $T/a/regtest/.cookie
        interval: ${INTERVAL_MS}ms
        timeout: 800ms
        fall: 2
        rise: 1
        hung_after: $HUNG_AFTER
$(node b)
    probes:
      - kind: bitcoin-rpc
        name: chain
        url: http://127.0.0.1:$B_RPC/
        cookie: $T/b/regtest/.cookie
        reference:
          url: http://127.0.0.1:$A_RPC/
          cookie: $T/a/regtest/.cookie
        max_lag: 2
        interval: ${INTERVAL_MS}ms
        timeout: 800ms
        fall: 1
        rise: 1
EOF

# pf PROGRAM FIELD: a field of the program's probe.
pf() {
	ctl status --json "$1" | jq -r ".[0].probes[0].$2"
}

# healthy_at PROGRAM HEIGHT
healthy_at() {
	[ "$(ctl status --json "$1" | jq -r '.[0].probes[0] |
	    "\(.health) \(.status) \(.value)"')" = "healthy ok $2" ]
}

health_is() {
	[ "$(pf "$1" health)" = "$2" ]
}

reason_is() {
	pf "$1" reason | grep -Eq -- "$2"
}

# mine N: N blocks on A; prints A's new height.
mine() {
	a_cli generatetoaddress "$1" "$ADDR" >/dev/null ||
	    fail "generatetoaddress $1 failed"
	a_cli getblockcount
}

start_daemon
wait_for "litecoind-a RUNNING" 30 state_is litecoind-a RUNNING
wait_for "litecoind-b RUNNING" 30 state_is litecoind-b RUNNING
APID=$(status_field litecoind-a pid)
on_exit "kill -CONT $APID"

# Fresh chains: height 0 once the RPC is up (-28 while loading).
wait_for "A's probe healthy at 0" 60 healthy_at litecoind-a 0
wait_for "B's probe healthy at 0" 60 healthy_at litecoind-b 0
say "A at start: $(pf litecoind-a reason)"
wait_for "A and B connected" 60 eval \
    '[ "$(a_cli getconnectioncount)" -ge 1 ]'

# The height follows generatetoaddress, on A and (by P2P) on B.
h=$(mine 5)
assert_eq 5 "$h" "A's height after mining 5"
wait_for "A's probe at 5" 20 healthy_at litecoind-a 5
wait_for "B's probe at 5" 30 healthy_at litecoind-b 5
h=$(mine 3)
wait_for "A's probe at $h" 20 healthy_at litecoind-a "$h"
assert_eq "$(a_cli getblockcount)" "$(pf litecoind-a detail.height)" \
    "detail.height vs getblockcount"
assert_eq "$(a_cli getblockchaininfo | jq -r .headers)" \
    "$(pf litecoind-a detail.headers)" "detail.headers vs the node's"
assert_eq regtest "$(pf litecoind-a detail.chain)" "detail.chain"
assert_eq false "$(pf litecoind-a detail.ibd)" "detail.ibd after mining"
assert_match "^height $h\$" "$(pf litecoind-a reason)" "A's reason"
wait_for "B's probe at $h, reference $h" 30 eval \
    'healthy_at litecoind-b $h && reason_is litecoind-b "^height $h, reference $h\$"'
assert_match "chain healthy: height $h" "$(ctl status litecoind-a)" \
    "chainkeeperctl status"

# B off the network while A mines 4: B lags its reference by 4 > 2.
b_cli setnetworkactive false >/dev/null
wait_for "B disconnected" 20 eval '[ "$(b_cli getconnectioncount)" = 0 ]'
h0=$h
h=$(mine 4)
wait_for "B fails 4 blocks behind" 20 eval \
    'reason_is litecoind-b "^height $h0 is 4 blocks behind the reference $h \(max_lag 2\)"'
wait_for "B failing" 10 health_is litecoind-b failing
assert_eq 4 "$(pf litecoind-b detail.lag)" "B's detail.lag"
assert_eq 4 "$(pf litecoind-b detail.blocks_behind)" "B's blocks_behind"
b_cli setnetworkactive true >/dev/null
wait_for "B back at $h" 60 healthy_at litecoind-b "$h"

# SIGSTOP: A's process is alive but its RPC does not answer.
bound=$((HUNG_AFTER * INTERVAL_MS + INTERVAL_MS + 800 + 1500))
t0=$(now_ms)
kill -STOP "$APID"
wait_for "A hung" 30 health_is litecoind-a hung
took=$(($(now_ms) - t0))
say "SIGSTOP -> hung in $took ms (hung_after $HUNG_AFTER x ${INTERVAL_MS}ms;" \
    "bound $bound ms)"
[ "$took" -le "$bound" ] || fail "hung reported after $took ms > $bound ms"
assert_eq RUNNING "$(status_field litecoind-a state)" "A's state while hung"
assert_eq hung "$(status_field litecoind-a health)" "A's health"
assert_eq timeout "$(pf litecoind-a status)" "A's last check"
assert_match 'chain hung: no answer within 800 ms' \
    "$(ctl status litecoind-a)" "chainkeeperctl status while hung"
# B keeps its height; its reference not answering is noted, not a failure.
wait_for "B notes its frozen reference" 20 eval \
    'reason_is litecoind-b "^height $h; reference: "'
assert_eq ok "$(pf litecoind-b status)" "B's check while A is frozen"
assert_eq healthy "$(pf litecoind-b health)" "B's health while A is frozen"

t0=$(now_ms)
kill -CONT "$APID"
wait_for "A healthy after SIGCONT" 30 healthy_at litecoind-a "$h"
say "SIGCONT -> healthy in $(($(now_ms) - t0)) ms"
h=$(mine 1)
wait_for "A's probe at $h after the freeze" 20 healthy_at litecoind-a "$h"
wait_for "B's probe at $h after the freeze" 30 healthy_at litecoind-b "$h"

# A restart writes a new cookie; the probe reads it at every check.
old_cookie=$(cat "$T/a/regtest/.cookie")
ctl restart litecoind-a >/dev/null || fail "restart litecoind-a failed"
wait_for "litecoind-a RUNNING again" 25 eval \
    '[ "$(status_field litecoind-a state)" = RUNNING ] &&
    [ "$(status_field litecoind-a pid)" != "$APID" ]'
APID=$(status_field litecoind-a pid)
on_exit "kill -CONT $APID"
wait_for "A healthy at $h after its restart" 60 healthy_at litecoind-a "$h"
[ "$(cat "$T/a/regtest/.cookie")" != "$old_cookie" ] ||
    fail "the cookie did not change over the restart"

# No cookie in the log or the status.
ctl status --json >"$T/status.json"
for f in "$LOG" "$T/status.json"; do
	for c in "$T/a/regtest/.cookie" "$T/b/regtest/.cookie"; do
		s=$(cut -d: -f2 "$c")
		! grep -qF "$s" "$f" || fail "a cookie is in $f"
	done
done

stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"
left=$(tagged_procs)
[ -z "$left" ] || fail "processes left after shutdown: $left"

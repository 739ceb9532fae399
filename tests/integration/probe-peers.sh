# The peers probe under the real chainkeeperd.  The program is a python3
# script that listens on a free port; a child it forks opens N loopback
# connections to it, so the tree's sockets are spread over two processes.
# Asserts:
#  - without filters the value is 2N (both ends are in the tree), the
#    same count as ss(8) gives for the tree's pids (when ss is there);
#  - port: P counts the N accepted sockets, remote_port: P the N client
#    ones, and the detail lists the remote endpoints;
#  - the netlink (sock_diag, the default here) and /proc/net/tcp
#    (method: proc) ways give the same counts, with and without the
#    port filters (which netlink applies in the kernel);
#  - max below the count fails; remote_net outside 127/8 counts 0 and
#    fails against min 1; local_net 127.0.0.0/8 counts all;
#  - when the child closes 2 connections the values follow, and the max
#    probe recovers;
#  - bad settings are refused by chainkeeperd -n with file:line:col.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

command -v python3 >/dev/null 2>&1 || skip "python3 is needed"
PY=$(python3 -c 'import sys; print(sys.executable)')
N=5

free_port() {
	"$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

prog=$(write_script peers.py <<EOF
#!$PY
# Listen, fork a child that connects N times; the child closes two of its
# connections once $T/drop exists.
import os, socket, sys, time
port = int(sys.argv[1])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(64)
if os.fork() == 0:
    cs = [socket.create_connection(("127.0.0.1", port)) for _ in range($N)]
    open("$T/connected", "w").close()
    dropped = False
    while True:
        if not dropped and os.path.exists("$T/drop"):
            cs.pop().close()
            cs.pop().close()
            dropped = True
            open("$T/dropped", "w").close()
        time.sleep(0.05)
conns = []
ls.settimeout(0.1)
while True:
    try:
        c, _ = ls.accept()
        conns.append(c)
    except socket.timeout:
        pass
    for c in list(conns):
        c.setblocking(False)
        try:
            if c.recv(1) == b"":
                conns.remove(c)
                c.close()
        except BlockingIOError:
            pass
EOF
)

P=$(free_port)
write_config <<EOF
programs:
  net:
    command: ["$prog", "$P"]
    startsecs: 0
    autorestart: false
    probes:
      - { kind: peers, name: all, interval: 300ms, fall: 1, rise: 1 }
      - { kind: peers, name: inbound, port: $P, interval: 300ms, fall: 1,
          rise: 1 }
      - { kind: peers, name: outbound, remote_port: $P, interval: 300ms,
          fall: 1, rise: 1 }
      - { kind: peers, name: capped, port: $P, max: 3, interval: 300ms,
          fall: 1, rise: 1 }
      - { kind: peers, name: lan, remote_net: 10.0.0.0/8, interval: 300ms,
          fall: 1, rise: 1 }
      - { kind: peers, name: loop, local_net: 127.0.0.0/8, min: 0,
          interval: 300ms, fall: 1, rise: 1 }
      - { kind: peers, name: procfs, method: proc, interval: 300ms,
          fall: 1, rise: 1 }
      - { kind: peers, name: procfs-in, method: proc, port: $P,
          interval: 300ms, fall: 1, rise: 1 }
      - { kind: peers, name: nl-out, method: netlink, remote_port: $P,
          interval: 300ms, fall: 1, rise: 1 }
EOF
start_daemon
wait_until "program RUNNING" 30 'state_is net RUNNING'
wait_for "the child's $N connections" 30 test -f "$T/connected"

# pv PROBE FIELD: a field (jq path) of one probe of net.
pv() {
	ctl status --json net |
	    jq -r ".[0].probes[] | select(.name == \"$1\") | .$2"
}
value_is() {
	[ "$(pv "$1" 'value // "null" | tostring' | sed 's/\.0$//')" = "$2" ]
}

wait_until "all = $((2 * N))" 30 "value_is all $((2 * N))"
wait_until "inbound = $N" 30 "value_is inbound $N"
wait_until "outbound = $N" 30 "value_is outbound $N"
wait_until "loop = $((2 * N))" 30 "value_is loop $((2 * N))"
# The same counts from /proc/net/tcp as from netlink.
wait_until "procfs = $((2 * N))" 30 "value_is procfs $((2 * N))"
wait_until "procfs-in = $N" 30 "value_is procfs-in $N"
wait_until "nl-out = $N" 30 "value_is nl-out $N"
assert_eq proc "$(pv procfs detail.method)" "method: proc"
assert_eq netlink "$(pv nl-out detail.method)" "method: netlink"
assert_eq netlink "$(pv all detail.method)" "method: auto, same netns"
assert_eq healthy "$(pv all health)" "all health"
assert_eq healthy "$(pv inbound health)" "inbound health"
assert_match "^$((2 * N)) established connections$" "$(pv all reason)" \
    "all reason"
assert_eq 2 "$(pv all detail.processes)" "processes in the tree"
assert_eq "$((2 * N))" "$(pv all detail.established)" "detail.established"
assert_eq "$N" "$(pv inbound 'detail.remotes | length')" "remotes listed"
assert_match '^127\.0\.0\.1:[0-9]+$' "$(pv inbound 'detail.remotes[0]')" \
    "an inbound remote"
assert_eq "127.0.0.1:$P" "$(pv outbound 'detail.remotes[0]')" \
    "an outbound remote"

wait_until "capped failing" 30 '[ "$(pv capped health)" = failing ]'
assert_match "^$N established connections, more than 3$" \
    "$(pv capped reason)" "capped reason"
wait_until "lan failing" 30 '[ "$(pv lan health)" = failing ]'
assert_match '^0 established connections, fewer than 1$' "$(pv lan reason)" \
    "lan reason"

# Compare with ss(8): established sockets owned by the tree's pids.
if command -v ss >/dev/null 2>&1; then
	pid=$(status_field net pid)
	pids=$(pgrep -P "$pid" | tr '\n' ' ')
	pat="pid=($pid${pids:+|${pids// /|}}),"
	pat=${pat//|,/,}
	n_ss=$(ss -tnpH state established 2>/dev/null | grep -Ec "$pat")
	say "ss counts $n_ss established sockets for pids $pid $pids"
	assert_eq "$((2 * N))" "$n_ss" "ss(8) count for the tree"
fi

# The child closes two connections: the values follow.
touch "$T/drop"
wait_for "the child dropped 2" 30 test -f "$T/dropped"
wait_until "inbound = $((N - 2))" 30 "value_is inbound $((N - 2))"
wait_until "all = $((2 * (N - 2)))" 30 "value_is all $((2 * (N - 2)))"
wait_until "procfs = $((2 * (N - 2)))" 30 "value_is procfs $((2 * (N - 2)))"
wait_until "capped healthy again" 30 '[ "$(pv capped health)" = healthy ]'
assert_eq RUNNING "$(status_field net state)" "state"

# Bad settings.
bad() {
	local out
	write_config "$T/bad.yaml" <<EOF
programs:
  x:
    command: /bin/true
    probes:
      - kind: peers
        $1
EOF
	out=$("$CHAINKEEPERD" -n -c "$T/bad.yaml" 2>&1) &&
	    fail "accepted: $1"
	# Not assert_match: grep -q may leave printf a SIGPIPE (pipefail).
	[[ $out =~ $2 ]] || fail "error for \"$1\" does not match /$2/: $out"
}
bad "port: 70000" 'bad\.yaml:[0-9]+:[0-9]+: .*port must be between 1 and 65535'
bad "min: 5
        max: 2" 'bad\.yaml:[0-9]+:[0-9]+: .*max \(2\) is less than min \(5\)'
bad "remote_net: 10.0.0.0/40" 'remote_net must be an address or a network'
bad "local_net: nowhere" 'local_net must be an address or a network'
bad "ports: 1" 'unknown setting "ports"'
bad "min: many" 'min must be an integer'
bad "method: lsof" 'method must be auto, netlink or proc'

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

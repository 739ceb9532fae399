# 70 slowloris connections from an unprivileged local user (one header
# byte a second, reconnecting when cut) must not make the scrapes fail:
# every connection has 5 s for its request headers, whatever it trickles,
# and there are more slots than that.  On the baseline (64 slots, 10 s of
# inactivity) every scrape failed while it lasted.
. "$(dirname "$0")/seclib.sh" || exit 99

command -v curl >/dev/null 2>&1 || skip "curl is needed"
MP=$(free_port)
write_config <<EOF
metrics:
  listen: 127.0.0.1:$MP
programs:
$CRASHER_CONFIG
EOF
start_daemon
wait_until "the listener" 20 "curl -sf -m 5 http://127.0.0.1:$MP/metrics"
from=$(($(log_lines) + 1))
mkdir "$T/atk"
chown "$ATK" "$T/atk"

as_atk "$PYTHON" - "$MP" "$T/atk/ready" "$T/atk/out" 30 <<'EOF' &
import socket, sys, time, select
port, ready, out, dur = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
N = 70
def conn():
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    except OSError:
        s.close()
        return None
    s.setblocking(False)
    return [s, time.time()]
conns = [c for c in (conn() for _ in range(N)) if c]
open(ready, "w").write("%d\n" % len(conns))
end = time.time() + dur
cut, held, made = 0, 0.0, len(conns)
while time.time() < end:
    for c in list(conns):
        try:
            c[0].send(b"X")
            r, _, _ = select.select([c[0]], [], [], 0)
            gone = bool(r) and not c[0].recv(4096)
        except OSError:
            gone = True
        if gone:
            cut += 1
            held = max(held, time.time() - c[1])
            c[0].close()
            conns.remove(c)
    while len(conns) < N and time.time() < end:
        c = conn()
        if c is None:
            break
        conns.append(c)
        made += 1
    time.sleep(1)
open(out, "w").write("%d %d %.1f\n" % (made, cut, held))
EOF
atk=$!
wait_until "the attacker's 70 connections" 30 "[ -s '$T/atk/ready' ]"
say "attacker connections open: $(cat "$T/atk/ready")"
sleep 1
ok=0 tries=0
for i in 1 2 3 4; do
	tries=$((tries + 1))
	t0=$(now_ms)
	if curl -sf -m 10 -o /dev/null "http://127.0.0.1:$MP/metrics"; then
		ok=$((ok + 1))
		say "scrape $i: ok in $(($(now_ms) - t0)) ms"
	else
		say "scrape $i: failed after $(($(now_ms) - t0)) ms"
	fi
	sleep 4
done
wait "$atk" 2>/dev/null
read -r made cut held <"$T/atk/out" || fail "the attacker did not report"
echo "FIGURE: metrics slowloris: $ok of $tries scrapes ok; attacker made $made connections, $cut cut by the daemon, held at most $held s"
figure "metrics slowloris" "$from"
assert_eq "$tries" "$ok" "scrapes that succeeded under the slowloris"
[ "$cut" -ge 1 ] || fail "no trickling connection was ever cut"
awk -v h="$held" 'BEGIN { exit !(h <= 15) }' ||
    fail "a trickling connection was held $held s"
stop_daemon

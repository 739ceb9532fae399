# Faults on the control socket: the loop never blocks, the daemon degrades
# with one clear log line and recovers when the resource returns.
# 1. 1000 clients at once: with chainkeeperd stopped (SIGSTOP) all 1000
#    connect into the backlog without EAGAIN; each sends status and all get
#    a correct reply; a second round with chainkeeperd running; its open
#    descriptors return to the baseline after they close.
# 2. Few descriptors (soft RLIMIT_NOFILE lowered with prlimit): new clients
#    beyond the reserve are refused with a "busy" reply and one log line,
#    a connected client is still served, a killed program is respawned;
#    with no descriptor left at all accept() fails: one log line, new
#    clients wait, and are served once the limit is back ("accepting new
#    clients again").
# 3. control.idle_timeout (2s, set by a reload): a client that sent half a
#    request, one that sent nothing and one that does not read its replies
#    are closed with a log line each, while a normal client is served; a
#    tail -f follower is not closed.
. "$(dirname "$0")/lib.sh" || exit 99

command -v "$PYTHON" >/dev/null || skip "python3 is needed for the raw client"
command -v prlimit >/dev/null || skip "prlimit (util-linux) is needed"

NCLIENTS=1000
RESERVE=64	# CONTROL_FD_RESERVE in supervisor/control.c
# Seconds a client waits for a reply, scaled (1000 clients under ASan).
WAIT=$(awk -v s="${CK_TIMEOUT_SCALE:-1}" 'BEGIN { printf "%d", 60 * s }')

cat >"$T/fc.py" <<'EOF'
# fc.py SOCKET MODE ARGS: raw control-socket clients.
import json, os, resource, select, signal, socket, sys, time

path, mode = sys.argv[1], sys.argv[2]
STATUS = b'{"v":1,"cmd":"status"}\n'

def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard

def fdcount(pid):
    return len(os.listdir("/proc/%d/fd" % pid))

def check_status(line, names):
    r = json.loads(line)
    return (r.get("ok") is True and r.get("v") == 1 and
        sorted(p["name"] for p in r["result"]) == names)

def burst(n, dpid, stopped, timeout, names):
    # n clients connected at once (non-blocking connects: a full backlog
    # would say EAGAIN), then a status request on each.
    if raise_nofile() < n + 64:
        print("SKIP hard RLIMIT_NOFILE too low", flush=True)
        return
    conns, eagain, other = [], 0, 0
    t0 = time.monotonic()
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(path)
            except BlockingIOError:
                eagain += 1
                s.setblocking(True)
                s.settimeout(timeout)
                if not stopped:
                    s.connect(path)
                else:
                    s.close()
                    continue
            except OSError:
                other += 1
                s.close()
                continue
            s.setblocking(True)
            conns.append(s)
    finally:
        if stopped:
            os.kill(dpid, signal.SIGCONT)
    t1 = time.monotonic()
    for s in conns:
        s.sendall(STATUS)
    bufs = {s.fileno(): b"" for s in conns}
    socks = {s.fileno(): s for s in conns}
    good = bad = 0
    p = select.poll()
    for s in conns:
        p.register(s, select.POLLIN)
    deadline = time.monotonic() + timeout
    while socks and time.monotonic() < deadline:
        for fd, ev in p.poll(1000):
            d = socks[fd].recv(1 << 20)
            bufs[fd] += d
            if d and not bufs[fd].endswith(b"\n"):
                continue
            p.unregister(fd)
            del socks[fd]
            if d and check_status(bufs[fd].decode(), names):
                good += 1
            else:
                bad += 1
    t2 = time.monotonic()
    held = fdcount(dpid)
    for s in conns:
        s.close()
    print("connected %d eagain %d errors %d connect_ms %d reply_ms %d "
        "good %d bad %d noreply %d daemon_fds %d" % (len(conns), eagain,
        other, (t1 - t0) * 1000, (t2 - t1) * 1000, good, bad, len(socks),
        held), flush=True)

class Conn:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)
        self.s.setblocking(False)
        self.buf = b""
        self.asked = False
        self.closed = False
        self.last = None

def session():
    # Commands on stdin, one answer line each on stdout:
    #   open G K	open K more connections in group G
    #   ask G SECS	status on every open connection of G that is not
    #			waiting already, then collect replies for up to SECS:
    #			"ok=A busy=B closed=C wait=D" (busy: refused and
    #			closed; closed: without a reply; wait: no reply yet)
    #   close G	close the connections of G
    raise_nofile()
    groups = {}
    for line in sys.stdin:
        a = line.split()
        if a[0] == "open":
            g = groups.setdefault(a[1], [])
            for _ in range(int(a[2])):
                g.append(Conn())
            print("opened %d" % len(g), flush=True)
        elif a[0] == "ask":
            g = groups.get(a[1], [])
            res = {"ok": 0, "busy": 0, "closed": 0, "wait": 0, "bad": 0}
            for c in g:
                if c.closed or c.asked:
                    continue
                try:
                    c.s.send(STATUS)
                except OSError:
                    pass	# refused at accept: read the reply
                c.asked = True
            deadline = time.monotonic() + float(a[2])
            while True:
                pend = [c for c in g if c.asked and not c.closed]
                left = deadline - time.monotonic()
                if not pend or left <= 0:
                    break
                r, _, _ = select.select([c.s for c in pend], [], [],
                    min(left, 0.5))
                for c in pend:
                    if c.s not in r:
                        continue
                    try:
                        d = c.s.recv(65536)
                    except OSError:
                        d = b""
                    if not d:
                        c.closed = True
                        c.asked = False
                        continue
                    c.buf += d
                    while b"\n" in c.buf:
                        l, _, c.buf = c.buf.partition(b"\n")
                        c.last = json.loads(l)
                        c.asked = False
            for c in g:
                if c.last is not None:
                    if c.last.get("ok") is True:
                        res["ok"] += 1
                    elif c.last.get("code") == "busy":
                        # Refused: the daemon closes the connection.
                        res["busy"] += 1
                        c.closed = True
                    else:
                        res["bad"] += 1
                elif c.closed:
                    res["closed"] += 1
                elif c.asked:
                    res["wait"] += 1
                c.last = None
            for c in [c for c in g if c.closed]:
                c.s.close()
                g.remove(c)
            print(" ".join("%s=%d" % kv for kv in sorted(res.items())),
                flush=True)
        elif a[0] == "close":
            for c in groups.pop(a[1], []):
                c.s.close()
            print("closed", flush=True)

def wait_closed(s, t0, timeout):
    # Until the daemon closes the connection: POLLHUP, without reading.
    p = select.poll()
    p.register(s, select.POLLRDHUP)
    while time.monotonic() - t0 < timeout:
        for _, ev in p.poll(500):
            if ev & (select.POLLHUP | select.POLLRDHUP | select.POLLERR):
                return "HUP"
    return "TIMEOUT"

def stuck(kind, timeout):
    # A client that gets stuck; prints its pid, then how the connection
    # ended and after how long.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if kind == "noread":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(path)
    print("pid %d" % os.getpid(), flush=True)
    t0 = time.monotonic()
    if kind == "half":
        s.sendall(b'{"v":1,"cmd":"sta')
    elif kind == "noread":
        # More replies than the socket buffers hold; never read them.
        s.sendall(STATUS * 3000)
    how = wait_closed(s, t0, timeout)
    print("%s after %.1f s" % (how, time.monotonic() - t0), flush=True)

def follow(name, timeout):
    # tail -f: print every data line as it comes, EOF or RESET at the end.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    print("pid %d" % os.getpid(), flush=True)
    s.sendall(json.dumps({"v": 1, "cmd": "tail", "args": [name],
        "follow": True}).encode() + b"\n")
    s.settimeout(timeout)
    buf = b""
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            print("RESET", flush=True)
            return
        except socket.timeout:
            print("TIMEOUT", flush=True)
            return
        if not d:
            print("EOF", flush=True)
            return
        buf += d
        while b"\n" in buf:
            l, _, buf = buf.partition(b"\n")
            r = json.loads(l)
            if "data" in r:
                print(r["data"].rstrip("\n"), flush=True)

if mode == "burst":
    burst(int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "stopped",
        float(sys.argv[6]), sorted(sys.argv[7:]))
elif mode == "session":
    session()
elif mode == "stuck":
    stuck(sys.argv[3], float(sys.argv[4]))
elif mode == "follow":
    follow(sys.argv[3], float(sys.argv[4]))
EOF

# Open descriptors of chainkeeperd.
fdcount() {
	ls "/proc/$DPID/fd" | wc -l
}
# The lowest descriptor number chainkeeperd has free (accept's next one).
lowest_free_fd() {
	ls "/proc/$DPID/fd" | sort -n |
	    awk 'BEGIN { n = 0 } $1 == n { n++; next } $1 > n { exit }
	    END { print n }'
}
# Set chainkeeperd's soft open-file limit.
set_nofile() {
	prlimit --pid "$DPID" --nofile="$1:" ||
	    fail "prlimit --pid $DPID --nofile=$1: failed"
}
# The session client (a coprocess): sess COMMAND sets SESS_OUT.
sess() {
	printf '%s\n' "$*" >&"${SESS[1]}"
	IFS= read -r -t "$WAIT" SESS_OUT <&"${SESS[0]}" ||
	    fail "no answer from the session client to: $*"
}
# field KEY: a key=value of SESS_OUT.
field() {
	printf '%s\n' "$SESS_OUT" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

talker=$(write_script talker.sh <<'EOF'
#!/bin/bash
echo "hello-marker pid $$"
trap 'echo "got-usr1"' USR1
trap 'exit 0' TERM
while :; do sleep 0.2 & wait $!; done
EOF
)
worker=$(write_script worker.sh <<'EOF'
#!/bin/bash
trap 'exit 0' TERM
while :; do sleep 0.2 & wait $!; done
EOF
)
programs() {
	cat <<EOF
programs:
  talker:
    command: $talker
    startsecs: 0
  worker:
    command: $worker
    startsecs: 0
    backoff: {initial: 100ms, max: 1s}
EOF
}
programs | write_config
start_daemon
wait_for "talker RUNNING" 10 state_is talker RUNNING
wait_for "worker RUNNING" 10 state_is worker RUNNING
wait_for "talker's marker" 10 grep -q hello-marker "$LOGDIR/talker.out.log"

# --- 1. 1000 clients at once ---------------------------------------------
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $((NCLIENTS + 200)) ]; then
	say "hard RLIMIT_NOFILE $hard is below $((NCLIENTS + 200)):" \
	    "skipping the $NCLIENTS clients"
else
	base=$(fdcount)
	somax=$(cat /proc/sys/net/core/somaxconn 2>/dev/null || echo 0)
	if [ "$somax" -ge "$NCLIENTS" ]; then
		# All connect while chainkeeperd is stopped: they all wait in
		# the backlog, none may get EAGAIN.
		kill -STOP "$DPID"
		out=$("$PYTHON" "$T/fc.py" "$SOCK" burst $NCLIENTS "$DPID" \
		    stopped "$WAIT" talker worker)
		kill -CONT "$DPID"
		say "$NCLIENTS clients connected while chainkeeperd was" \
		    "stopped, then SIGCONT: $out"
		assert_match "^connected $NCLIENTS eagain 0 errors 0 " "$out" \
		    "$NCLIENTS connects into the backlog"
		assert_match " good $NCLIENTS bad 0 noreply 0 " "$out" \
		    "replies to $NCLIENTS clients connected at once"
	else
		say "net.core.somaxconn is $somax: skipping the backlog round"
	fi
	out=$("$PYTHON" "$T/fc.py" "$SOCK" burst $NCLIENTS "$DPID" running \
	    "$WAIT" talker worker)
	say "$NCLIENTS clients connected at once to a running" \
	    "chainkeeperd: $out"
	assert_match "^connected $NCLIENTS eagain [0-9]+ errors 0 " "$out" \
	    "$NCLIENTS connects"
	assert_match " good $NCLIENTS bad 0 noreply 0 " "$out" \
	    "replies to $NCLIENTS clients"
	held=$(printf '%s\n' "$out" | sed -n 's/.*daemon_fds \([0-9]*\).*/\1/p')
	[ "$held" -ge $((base + NCLIENTS)) ] ||
	    fail "chainkeeperd held $held descriptors with $NCLIENTS" \
	    "clients (baseline $base)"
	wait_until "chainkeeperd's descriptors back to $base" 30 \
	    '[ "$(fdcount)" -le "$base" ]'
	say "chainkeeperd's open descriptors: $base before, $held with" \
	    "$NCLIENTS clients, $(fdcount) after"
fi
daemon_up || fail "chainkeeperd stopped answering after the bursts"

# --- 2. few descriptors ---------------------------------------------------
orig=$(prlimit --pid "$DPID" --nofile --output SOFT --noheadings | tr -d ' ')
say "chainkeeperd's soft RLIMIT_NOFILE: $orig"
coproc SESS { "$PYTHON" "$T/fc.py" "$SOCK" session; }
sess open held 1
sess ask held "$WAIT"
assert_eq 1 "$(field ok)" "status on the held connection"

# Room for 20 clients above the reserve.
free=$(lowest_free_fd)
set_nofile $((free + RESERVE + 20))
say "soft RLIMIT_NOFILE now $((free + RESERVE + 20)) (lowest free fd $free)"
sess open many 50
sess ask many "$WAIT"
say "50 more clients with room for about 20: $SESS_OUT"
ok=$(field ok)
busy=$(field busy)
[ "$ok" -ge 10 ] && [ "$busy" -ge 10 ] ||
    fail "expected some served and some refused clients: $SESS_OUT"
assert_eq 50 $((ok + busy)) "clients served or refused (none hung): $SESS_OUT"
re='control: [0-9]+ of [0-9]+ file descriptors in use: refusing new clients'
assert_eq 1 "$(log_count "$re")" "log lines for refused clients"
out=$(ctl status 2>&1)
assert_eq 1 $? "exit code of chainkeeperctl refused for descriptors"
assert_match 'short of file descriptors' "$out" "chainkeeperctl's message"
sess ask held "$WAIT"
assert_eq 1 "$(field ok)" "status on the held connection while short"
# Supervision goes on: a killed program is noticed and respawned.
wpid=$(pgrep -f "$worker") || fail "no worker process"
kill -9 "$wpid"
wait_until "worker respawned while short of descriptors" 20 \
    'n=$(pgrep -f "$worker") && [ "$n" != "$wpid" ]'
log_has "worker: .*RUNNING" || fail "no RUNNING line for the worker"
assert_eq 0 "$(log_count 'worker: cannot create pipes')" \
    "failed spawns of the worker"
set_nofile "$orig"
sess close many
wait_until "fresh clients served again" 20 'ctl status >/dev/null'
wait_for "the accepting-again log line" 10 \
    log_has 'accepting new clients again, after [0-9.]+ s \([0-9]+ refused\)'
say "$(grep -E 'control: accepting new clients again' "$LOG" | tail -n 1)"
wait_for "worker RUNNING" 10 state_is worker RUNNING

# No descriptor left at all: accept() fails, new clients wait.  The soft
# limit goes below every open descriptor (open ones stay usable), so that
# no descriptor closed meanwhile can make room.
set_nofile 1
sess open many 5
sess ask many 2
say "5 clients with no descriptor free, after 2 s: $SESS_OUT"
assert_eq 5 "$(field wait)" "clients waiting for a descriptor: $SESS_OUT"
re='control: accept failed, new clients wait .*: Too many open files'
assert_eq 1 "$(log_count "$re")" "log lines for failed accepts (one an episode)"
sess ask held "$WAIT"
assert_eq 1 "$(field ok)" "status on the held connection with no descriptor"
set_nofile "$orig"
sess ask many "$WAIT"
say "the 5 waiting clients once the limit is back: $SESS_OUT"
assert_eq 5 "$(field ok)" "waiting clients served after the limit came back"
assert_eq 2 "$(log_count 'control: accepting new clients again')" \
    "accepting-again log lines"
sess close many
sess close held
ctl status >/dev/null || fail "status after the descriptor faults"
assert_eq RUNNING "$(status_field talker state)" "talker after the faults"
eval "exec ${SESS[1]}>&-"
wait "$SESS_PID" 2>/dev/null

# --- 3. stuck clients, control.idle_timeout -------------------------------
CONTROL_EXTRA="  idle_timeout: 2s"
programs | write_config
out=$(ctl reload) || fail "reload failed: $out"
# stuck KIND [OUTNAME]: a stuck client in the background, output in
# $T/OUTNAME.out (a fresh file: the shell truncates it only in the job).
stuck() {
	"$PYTHON" "$T/fc.py" "$SOCK" stuck "$1" "$WAIT" >"$T/${2:-$1}.out" \
	    2>&1 &
}
stuck half
stuck none
stuck noread
"$PYTHON" "$T/fc.py" "$SOCK" follow talker 600 >"$T/follow.out" 2>&1 &
follower=$!
wait_for "the follower's first data" 10 grep -q hello-marker "$T/follow.out"
# A normal client is served all along.
served=0
deadline=$(($(now_ms) + WAIT * 1000))
until grep -q after "$T/half.out" && grep -q after "$T/none.out" &&
    grep -q after "$T/noread.out"; do
	ctl status >/dev/null || fail "status failed while clients are stuck"
	served=$((served + 1))
	[ "$(now_ms)" -lt "$deadline" ] ||
	    fail "stuck clients not closed: $(cat "$T"/*.out)"
	sleep 0.1
done
say "a normal client was served $served times meanwhile"
for k in half none noread; do
	say "stuck client $k: $(tr '\n' ' ' <"$T/$k.out")"
	assert_match '^HUP after [0-9.]+ s$' "$(sed -n 2p "$T/$k.out")" \
	    "$k client closed by the daemon"
	awk '$3 < 1.5 { exit 1 }' <(sed -n 2p "$T/$k.out") ||
	    fail "$k client closed before the idle timeout"
done
pid=$(sed -n 's/^pid //p' "$T/half.out")
log_has "client pid $pid idle for 2 s with half a request \(17 bytes\) read: closing" ||
    fail "no log line for the half request"
pid=$(sed -n 's/^pid //p' "$T/none.out")
log_has "control: client pid $pid idle for 2 s without a request: closing it" ||
    fail "no log line for the client that sent nothing"
pid=$(sed -n 's/^pid //p' "$T/noread.out")
log_has "client pid $pid idle for 2 s, not reading [0-9]+ bytes of replies: closing" ||
    fail "no log line for the client that does not read"
grep -E 'idle for 2 s' "$LOG" | sed "s/^/$CK_TEST_NAME: log: /"

# The follower is idle too but stays: one more idle client's timeout later
# it is still connected, and still gets output.
stuck none none2
wait_for "a second idle client closed" "$WAIT" grep -q after "$T/none2.out"
alive "$follower" ||
    fail "the tail -f follower was closed: $(cat "$T/follow.out")"
fpid=$(sed -n 's/^pid //p' "$T/follow.out")
assert_eq 0 "$(log_count "client pid $fpid idle")" \
    "idle log lines for the follower"
ctl signal USR1 talker >/dev/null || fail "signal USR1 failed"
wait_for "the follower to get new output" 10 grep -q got-usr1 "$T/follow.out"
kill "$follower"
daemon_up || fail "chainkeeperd stopped answering"

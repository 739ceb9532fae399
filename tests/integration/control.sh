# The control protocol and chainkeeperctl.
# Raw client (python3): malformed JSON -> error reply, the connection and the
# daemon keep working; a request over 64 KiB -> refused and the connection
# closed; wrong or missing protocol version -> refused; unknown command ->
# error; one request at a time per connection; a pending start does not
# block other clients.
# chainkeeperctl: exit codes 0 ok, 1 failure, 2 usage, 3 no daemon;
# status --json; tail, tail -f; pid; signal; restart; version.
. "$(dirname "$0")/lib.sh" || exit 99

command -v "$PYTHON" >/dev/null || skip "python3 is needed for the raw client"

cat >"$T/raw.py" <<'EOF'
# raw.py SOCKET MODE ARGS: a raw control-socket client; prints every reply
# line, then EOF or RESET when the daemon closes the connection.
import socket, sys, time

path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.settimeout(20)
buf = b""

def readline():
    global buf
    while b"\n" not in buf:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            return "RESET"
        except socket.timeout:
            return "TIMEOUT"
        if not d:
            return "EOF"
        buf += d
    line, _, buf = buf.partition(b"\n")
    return line.decode()

if mode == "lines":
    # Send each argument as one line, then read one reply per line.
    for a in sys.argv[3:]:
        s.sendall(a.encode() + b"\n")
        print(readline(), flush=True)
elif mode == "batch":
    # Send all lines at once, then read N replies.
    n = int(sys.argv[3])
    s.sendall(b"".join(a.encode() + b"\n" for a in sys.argv[4:]))
    for _ in range(n):
        print(readline(), flush=True)
elif mode == "big":
    # A status request whose line is N bytes long (without the newline).
    n = int(sys.argv[3])
    head, tail = b'{"v":1,"cmd":"status","args":["', b'"]}'
    line = head + b"x" * (n - len(head) - len(tail)) + tail
    assert len(line) == n
    try:
        s.sendall(line + b"\n")
    except (BrokenPipeError, ConnectionResetError):
        print("SENDFAIL", flush=True)
    r = readline()
    print(r, flush=True)
    if '"toolarge"' in r:
        # Then the daemon must close the connection.
        print(readline(), flush=True)
elif mode == "partial":
    # Half a request, then hang up.
    s.sendall(b'{"v":1,"cmd":"sta')
    s.close()
    print("closed")
elif mode == "many":
    # Hold N connections open at once, then ask on each.
    n = int(sys.argv[3])
    conns = [s]
    for _ in range(n - 1):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(path)
        c.settimeout(20)
        conns.append(c)
    ok = 0
    for c in conns:
        c.sendall(b'{"v":1,"cmd":"version"}\n')
    for c in conns:
        d = b""
        while not d.endswith(b"\n"):
            d += c.recv(4096)
        ok += b'"ok":true' in d
    print(ok)
EOF
raw() {
	"$PYTHON" "$T/raw.py" "$SOCK" "$@"
}
# jget JSON PATH
jget() {
	printf '%s' "$1" | jq -r "$2"
}

talker=$(write_script talker.sh <<'EOF'
#!/bin/bash
# Prints a marker, counts runs, says so on SIGUSR1; some stderr too.
echo "run $$" >>"$CK_DIR/talker.runs"
echo "hello-marker pid $$"
echo "talker stderr line" >&2
n=0
trap 'n=$((n + 1)); echo "got-usr1 $n"' USR1
trap 'exit 0' TERM
while :; do sleep 0.2 & wait $!; done
EOF
)
write_config <<EOF
programs:
  talker:
    command: $talker
    startsecs: 0
    environment: {CK_DIR: $T}
  slow:
    command: sleep 100000
    autostart: false
    startsecs: 3s
EOF
start_daemon
wait_for "talker RUNNING" 10 state_is talker RUNNING
wait_for "talker's marker" 10 grep -q hello-marker "$LOGDIR/talker.out.log"

# --- raw protocol -----------------------------------------------------
out=$(raw lines '{not json' '{"v":1,"cmd":"version"}')
r1=$(printf '%s\n' "$out" | sed -n 1p)
r2=$(printf '%s\n' "$out" | sed -n 2p)
say "malformed JSON -> $r1"
assert_eq false "$(jget "$r1" .ok)" "ok for malformed JSON"
assert_eq protocol "$(jget "$r1" .code)" "code for malformed JSON"
assert_eq 1 "$(jget "$r1" .v)" "v in an error reply"
assert_eq true "$(jget "$r2" .ok)" "the same connection after malformed JSON"
assert_match '^[0-9]+\.[0-9]+' "$(jget "$r2" .result.version)" "version reply"

r=$(raw lines '[1,2,3]')
assert_eq protocol "$(jget "$r" .code)" "code for a JSON array request"
r=$(raw lines '{"v":1,"cmd":"status","args":"talker"}')
assert_eq protocol "$(jget "$r" .code)" "code for args that are not an array"

r=$(raw lines '{"v":2,"cmd":"version"}')
say "version 2 -> $r"
assert_eq false "$(jget "$r" .ok)" "ok for protocol version 2"
assert_eq protocol "$(jget "$r" .code)" "code for protocol version 2"
assert_match 'not supported' "$(jget "$r" .error)" "error for protocol version 2"
r=$(raw lines '{"cmd":"version"}')
assert_eq protocol "$(jget "$r" .code)" "code for a missing version"
r=$(raw lines '{"v":"1","cmd":"version"}')
assert_eq protocol "$(jget "$r" .code)" "code for a version that is a string"

r=$(raw lines '{"v":1,"cmd":"frobnicate"}')
say "unknown command -> $r"
assert_eq false "$(jget "$r" .ok)" "ok for an unknown command"
assert_match 'unknown command: frobnicate' "$(jget "$r" .error)" \
    "error for an unknown command"
r=$(raw lines '{"v":1}')
assert_eq false "$(jget "$r" .ok)" "ok for a request without cmd"
r=$(raw lines '{"v":1,"cmd":"stop"}')
assert_match 'wrong number of arguments' "$(jget "$r" .error)" "stop without names"

# 64 KiB: a line of exactly 65536 bytes is read and answered...
out=$(raw big 65536)
r=$(printf '%s\n' "$out" | sed -n 1p)
assert_eq unknown "$(jget "$r" .code)" "reply to a 65536-byte request"
# ... one byte more is refused, and the connection closed.
out=$(raw big 65537)
say "65537-byte request -> $(printf '%s' "$out" | cut -c1-120 | xargs)"
r=$(printf '%s\n' "$out" | grep -v SENDFAIL | sed -n 1p)
assert_eq toolarge "$(jget "$r" .code)" "reply to a 65537-byte request"
assert_match '^(EOF|RESET)$' "$(printf '%s\n' "$out" | tail -n 1)" \
    "connection after a too large request"
out=$(raw big 1000000)
assert_match '"code":"toolarge"' "$out" "reply to a 1 MB request"
assert_match '^(EOF|RESET)$' "$(printf '%s\n' "$out" | tail -n 1)" \
    "connection after a 1 MB request"

# Half a request then a hang-up; many clients at once.
raw partial >/dev/null || fail "partial client failed"
assert_eq 50 "$(raw many 50)" "replies to 50 simultaneous clients"

# One request at a time per connection, and a pending start (startsecs 3s)
# blocks neither the daemon nor other clients.
raw batch 2 '{"v":1,"cmd":"start","args":["slow"]}' \
    '{"v":1,"cmd":"version"}' >"$T/batch.out" &
wait_for "the busy reply" 10 grep -q busy "$T/batch.out"
# Answered while the start is still pending: slow is still STARTING, and
# its start has not been answered yet.
st=$(status_field slow state) || fail "status during a pending start failed"
assert_eq STARTING "$st" "slow's state, asked while its start was pending"
assert_eq 1 "$(wc -l <"$T/batch.out")" "replies before the start settled"
wait_for "the start reply" 10 eval '[ "$(wc -l <"$T/batch.out")" = 2 ]'
r=$(sed -n 2p "$T/batch.out")
assert_eq true "$(jget "$r" .ok)" "the pending start's reply"
assert_eq RUNNING "$(jget "$r" '.result[0].state')" "state in the start reply"
daemon_up || fail "chainkeeperd stopped answering"

# --- chainkeeperctl exit codes ------------------------------------------
ctl status >/dev/null
assert_eq 0 $? "exit code of status"
out=$(ctl start no-such-program 2>&1)
assert_eq 1 $? "exit code of start of an unknown program"
assert_match 'no such program: no-such-program' "$out" "message for an unknown program"
ctl status no-such-program >/dev/null 2>&1
assert_eq 1 $? "exit code of status of an unknown program"
ctl signal USR1 no-such-program >/dev/null 2>&1
assert_eq 1 $? "exit code of signal to an unknown program"
"$CHAINKEEPERCTL" -s "$SOCK" >/dev/null 2>&1
assert_eq 2 $? "exit code without a command"
ctl start >/dev/null 2>&1
assert_eq 2 $? "exit code of start without a name"
"$CHAINKEEPERCTL" -s "$SOCK" -t zero status >/dev/null 2>&1
assert_eq 2 $? "exit code for a bad -t"
"$CHAINKEEPERCTL" -s "$SOCK" -x status >/dev/null 2>&1
assert_eq 2 $? "exit code for an unknown option"
ctl frobnicate >/dev/null 2>&1
assert_eq 2 $? "exit code of an unknown command"
ctl signal NOSUCHSIG talker >/dev/null 2>&1
assert_eq 2 $? "exit code of an unknown signal"
out=$("$CHAINKEEPERCTL" -s "$T/no-such.sock" status 2>&1)
assert_eq 3 $? "exit code without a daemon (no socket)"
assert_match 'cannot connect' "$out" "message without a daemon"
"$PYTHON" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' \
    "$T/stale.sock"
"$CHAINKEEPERCTL" -s "$T/stale.sock" status >/dev/null 2>&1
assert_eq 3 $? "exit code for a stale socket"
# A listener that never accepts, its backlog full: -t bounds the connect.
"$PYTHON" - "$T/full.sock" <<'PYEOF' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(0)
held = []
while True:
    c = socket.socket(socket.AF_UNIX)
    c.setblocking(False)
    try:
        c.connect(sys.argv[1])
    except BlockingIOError:
        break
    held.append(c)
os.rename(sys.argv[1], sys.argv[1] + ".ready")
time.sleep(60)
PYEOF
full=$!
on_exit "kill $full 2>/dev/null"
wait_for "a full backlog" 10 test -S "$T/full.sock.ready"
t0=$(now_ms)
out=$("$CHAINKEEPERCTL" -s "$T/full.sock.ready" -t 1 status 2>&1)
assert_eq 1 $? "exit code when the connection is never accepted"
assert_match 'did not accept the connection within 1000 ms' "$out" \
    "message when the connection is never accepted"
say "connect on a full backlog gave up after $(($(now_ms) - t0)) ms (-t 1)"
kill "$full" 2>/dev/null
# -c FILE finds the socket in the configuration.
"$CHAINKEEPERCTL" -c "$CFG" status talker >/dev/null 2>&1
assert_eq 0 $? "exit code of status with -c"
CHAINKEEPER_SOCKET=$SOCK "$CHAINKEEPERCTL" status talker >/dev/null 2>&1
assert_eq 0 $? "exit code of status with CHAINKEEPER_SOCKET"

# --- status --json ------------------------------------------------------
js=$(ctl status --json) || fail "status --json failed"
printf '%s' "$js" | jq -e 'type == "array" and length == 2 and
    all(.[]; has("name") and has("state") and has("pid") and
    has("uptime_s") and has("restarts") and has("last_exit"))' >/dev/null ||
    fail "status --json lacks fields: $js"
printf '%s' "$js" | jq -e '.[] | select(.name == "talker") |
    (.state == "RUNNING") and (.pid | type == "number") and (.pid > 0) and
    (.uptime_s | type == "number") and (.restarts == 0) and
    (.last_exit == null)' >/dev/null || fail "talker in status --json: $js"
assert_eq '["talker"]' "$(ctl status --json talker | jq -c '[.[].name]')" \
    "status --json NAME"
assert_match '^talker +RUNNING +pid [0-9]+' "$(ctl status talker)" "status line"

# --- pid, version -------------------------------------------------------
tpid=$(status_field talker pid)
assert_eq "$tpid" "$(ctl pid talker)" "pid NAME"
assert_eq "$DPID" "$(ctl pid)" "pid of chainkeeperd"
out=$(ctl version) || fail "version failed"
assert_match '^chainkeeperctl [0-9.]+.*, chainkeeperd [0-9.]+.* \(protocol 1\)$' \
    "$out" "version"

# --- tail, tail -f, signal ----------------------------------------------
out=$(ctl tail talker) || fail "tail failed"
assert_match "hello-marker pid $tpid" "$out" "tail talker"
out=$(ctl tail talker stderr) || fail "tail stderr failed"
assert_match 'talker stderr line' "$out" "tail talker stderr"
assert_eq 5 "$(ctl tail -c 5 talker | wc -c)" "bytes of tail -c 5"
ctl tail -f talker >"$T/follow.out" 2>&1 &
follow=$!
wait_for "tail -f to show the recent output" 10 grep -q hello-marker "$T/follow.out"
out=$(ctl signal USR1 talker) || fail "signal USR1 failed: $out"
assert_eq "talker: signalled" "$out" "signal output"
wait_for "the program to see SIGUSR1 (via tail -f)" 10 grep -qx 'got-usr1 1' "$T/follow.out"
ctl signal SIGUSR1 talker >/dev/null || fail "signal SIGUSR1 failed"
wait_for "a second line to stream" 10 grep -qx 'got-usr1 2' "$T/follow.out"
log_has "talker: sent SIGUSR1 to pid $tpid" || fail "no log line for the signal"
grep -qx 'got-usr1 2' "$LOGDIR/talker.out.log" || fail "the log file misses got-usr1 2"
kill "$follow"
wait "$follow" 2>/dev/null
daemon_up || fail "chainkeeperd went away after tail -f was killed"
ctl signal USR1 talker >/dev/null
wait_for "the program to see SIGUSR1 after tail -f went" 10 \
    grep -qx 'got-usr1 3' "$LOGDIR/talker.out.log"
ctl signal USR1 slow >/dev/null || fail "signal USR1 slow"
ctl stop slow >/dev/null
out=$(ctl signal USR1 slow 2>&1)
assert_eq 1 $? "exit code of signal to a stopped program"
assert_match 'not running' "$out" "signal to a stopped program"

# --- restart: one new spawn, running or not -----------------------------
runs() { wc -l <"$T/talker.runs"; }
assert_eq 1 "$(runs)" "talker runs before restart"
ctl restart talker >/dev/null || fail "restart talker failed"
assert_eq 2 "$(runs)" "talker runs after restarting it while running"
assert_ne "$tpid" "$(status_field talker pid)" "pid after restart"
ctl stop talker >/dev/null || fail "stop talker failed"
ctl restart talker >/dev/null || fail "restart of a stopped talker failed"
assert_eq RUNNING "$(status_field talker state)" "talker after restart"
assert_eq 3 "$(runs)" "talker runs after restarting it while stopped"
assert_eq 0 "$(log_count 'talker: STARTING -> STOPPING')" \
    "instances stopped while STARTING"

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

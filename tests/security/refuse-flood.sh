# With control.mode 0777 (SO_PEERCRED then decides), an unprivileged user
# floods the socket with connections.  Each is refused with the
# "permission denied" reply (not a reset), and the log grows by one line
# for that uid, not one per connection (the baseline wrote a line for
# every refusal: 70 MB in 15 s).  chainkeeperctl says "permission denied"
# when the kernel refuses the connection (EACCES), not "is chainkeeperd
# running?".
. "$(dirname "$0")/seclib.sh" || exit 99

CONTROL_EXTRA="  mode: 0777"
write_config <<EOF
programs:
$CRASHER_CONFIG
EOF
start_daemon
wait_until "a first crasher restart" 20 '[ "$(crashes)" -ge 1 ]'
from=$(($(log_lines) + 1))

# The flood: connect, send a request, read the reply, close; 6 seconds.
res=$(as_atk "$PYTHON" -c '
import socket, sys, time
path = sys.argv[1]
end = time.time() + 6
n = denied = other = 0
while time.time() < end:
    s = socket.socket(socket.AF_UNIX)
    n += 1
    try:
        s.connect(path)
        try:
            s.sendall(b"{\"v\":1,\"cmd\":\"stop\",\"args\":[\"crasher\"]}\n")
        except OSError:
            pass
        data = b""
        try:
            while True:
                b = s.recv(4096)
                if not b:
                    break
                data += b
        except OSError:
            pass
        if b"permission denied" in data:
            denied += 1
        else:
            other += 1
    except OSError:
        other += 1
    s.close()
print(n, denied, other)
' "$SOCK") || fail "the flood did not run"
read -r n denied other <<<"$res"
say "flood: $n connections, $denied denied with the reply, $other without"
grown=$(tail -n +"$from" "$LOG" | grep -c "refused" || true)
say "log lines about refusals during the flood: $grown"
echo "FIGURE: refused-connection flood: $n connections in 6 s, $grown log lines"
figure "refused-connection flood" "$from"
[ "$n" -ge 100 ] || fail "the flood made only $n connections"
[ "$grown" -le 3 ] || fail "the log grew by $grown lines for $n refusals"
[ "$other" -le $((n / 100)) ] ||
    fail "$other of $n refused clients got no \"permission denied\" reply"
state_is crasher STOPPED && fail "the refused client stopped the crasher"
wait_until "the crasher to restart after the flood" 20 \
    "[ \$(crashes) -ge \$(( $(crashes) + 1 )) ]"

# The kernel refuses (EACCES): chainkeeperctl says so.
chmod 700 "$SOCK"
out=$(as_atk "$CHAINKEEPERCTL" -s "$SOCK" -t 20 status 2>&1) &&
    fail "connected through a 0700 socket"
say "chainkeeperctl on EACCES: $out"
assert_match "permission denied" "$out" "chainkeeperctl's EACCES message"
assert_nomatch "is chainkeeperd running" "$out" "chainkeeperctl's EACCES message"
chmod 777 "$SOCK"
stop_daemon

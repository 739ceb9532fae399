# A member of the control group opens 900 connections, each with half a
# request, and holds them.  Input buffers grow on need (4 KiB first), so
# the daemon's heap grows by a few MB, not by 64 KiB per client (the
# baseline's heap grew by about 57 MB here, and RSS ratcheted after
# floods).  Supervision goes on meanwhile.
. "$(dirname "$0")/seclib.sh" || exit 99

CONTROL_EXTRA="  group: $ATK
  idle_timeout: 120s"
write_config <<EOF
programs:
$CRASHER_CONFIG
EOF
start_daemon
wait_until "a first crasher restart" 20 '[ "$(crashes)" -ge 1 ]'
from=$(($(log_lines) + 1))
vmdata() {
	awk '/^VmData:/ { print $2 }' "/proc/$DPID/status"
}
before=$(vmdata)
mkdir "$T/atk"
chown "$ATK" "$T/atk"
as_atk "$PYTHON" - "$SOCK" "$T/atk/ready" <<'EOF' &
import socket, sys, time
conns = []
for i in range(900):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(b"{\"v\":1,\"cmd\":\"status\",\"args\":[\"" + b"x" * 100)
    conns.append(s)
open(sys.argv[2], "w").write("%d\n" % len(conns))
time.sleep(60)
EOF
atk=$!
wait_until "the attacker's 900 connections" 30 "[ -s '$T/atk/ready' ]"
# Every connection accepted, then two round trips: each half request has
# been read into its buffer.
wait_until "the daemon to accept the 900 clients" 30 \
    "[ \$(ls /proc/$DPID/fd | wc -l) -ge 900 ]"
ctl status >/dev/null || fail "status failed with 900 clients held"
ctl status >/dev/null || fail "status failed with 900 clients held"
after=$(vmdata)
grown=$(((after - before) / 1024))
echo "FIGURE: 900 held clients with half a request: daemon heap +$grown MB (VmData $before -> $after kB)"
n=$(crashes)
wait_until "another crasher restart" 20 "[ \$(crashes) -ge $((n + 1)) ]"
figure "900 held control clients" "$from"
kill "$atk" 2>/dev/null
wait "$atk" 2>/dev/null
[ "$grown" -lt 20 ] || fail "the heap grew by $grown MB for 900 clients"
stop_daemon

# depends_on with healthy: b waits for a's probe "ready" to be healthy, not
# only for a to be RUNNING.  a is RUNNING at once, but its HTTP endpoint
# answers 503 until the test creates a flag file; b must stay STOPPED and
# waiting all that time, and start only once the probe is healthy.  The
# plain form (c depends on a) starts as soon as a is RUNNING.  A probe name
# that a does not have is a configuration error.
. "$(dirname "$0")/lib.sh" || exit 99

PORT=$(free_port)
server=$(write_script server.py <<'EOF'
#!/usr/bin/env python3
# server.py PORT FLAG: 200 once FLAG exists, 503 before.
import http.server, os, sys
port, flag = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if os.path.exists(flag) else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
)
prog=$(write_script prog.sh <<'EOF'
#!/bin/sh
# prog.sh NAME: record the start time (ms) and go on.
echo "$1 $(date +%s%3N)" >>"$CK_DIR/starts"
exec sleep 100000
EOF
)
write_config <<EOF
programs:
  b:
    command: [$prog, b]
    startsecs: 0
    depends_on: [{program: a, healthy: ready}]
    environment: {CK_DIR: $T}
  c:
    command: [$prog, c]
    startsecs: 0
    depends_on: [a]
    environment: {CK_DIR: $T}
  a:
    command: [python3, $server, "$PORT", $T/ready]
    startsecs: 0
    probes:
      - kind: http
        name: ready
        url: http://127.0.0.1:$PORT/
        interval: 200ms
        timeout: 200ms
        rise: 1
EOF

# -nv shows the long form as written.
"$CHAINKEEPERD" -nv -c "$CFG" >"$T/nv.out" 2>&1 ||
    fail "-nv failed: $(cat "$T/nv.out")"
grep -q '"program": *"a"' "$T/nv.out" &&
    grep -q '"healthy": *"ready"' "$T/nv.out" ||
    fail "-nv does not show {program: a, healthy: ready}"

a_failing() {
	ctl status --json | jq -e '.[] | select(.name == "a") |
	    .probes[0].health == "failing"' >/dev/null
}

start_daemon
wait_for "a RUNNING" 10 state_is a RUNNING
wait_for "c RUNNING" 10 state_is c RUNNING
wait_for "a's probe failing" 10 a_failing
# The probe fails: a is RUNNING, b must keep waiting.  Watch it for a
# number of probe intervals, asserting at every sample.
n=0
while [ $n -lt 20 ]; do
	st=$(ctl status --json) || fail "status failed"
	sb=$(printf '%s' "$st" | jq -r '.[] | select(.name == "b") | .state')
	db=$(printf '%s' "$st" |
	    jq -r '.[] | select(.name == "b") | .description')
	assert_eq STOPPED "$sb" "b's state while a's probe fails"
	assert_eq "waiting for depends_on" "$db" "b's description"
	n=$((n + 1))
	sleep 0.1
done
grep -q '^b ' "$T/starts" && fail "b started before a's probe was healthy"
log_has 'b: waiting for a to be RUNNING with probe ready healthy' ||
    fail "no 'b: waiting for a ... probe ready healthy' line"

# Now a becomes healthy: b starts, after that.
t_ready=$(now_ms)
touch "$T/ready"
wait_for "b RUNNING" 10 state_is b RUNNING
tb=$(awk '$1 == "b" { print $2 }' "$T/starts")
[ "$tb" -ge "$t_ready" ] ||
    fail "b started $((t_ready - tb)) ms before a's probe could be healthy"
assert_eq 1 "$(grep -c '^b ' "$T/starts")" "b's starts"
assert_eq 1 "$(grep -c '^c ' "$T/starts")" "c's starts"

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

# A probe a does not have: the configuration is refused.
sed -i 's/healthy: ready/healthy: nosuch/' "$CFG"
if "$CHAINKEEPERD" -n -c "$CFG" >"$T/n.out" 2>&1; then
	fail "a depends_on on a missing probe was accepted"
fi
grep -q 'waits for probe "nosuch" of "a", which has no such probe' \
    "$T/n.out" || fail "no error for the missing probe: $(cat "$T/n.out")"

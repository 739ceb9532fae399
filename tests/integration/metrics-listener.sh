# The metrics listener (libmicrohttpd on the loop) under the real
# chainkeeperd, with curl.  Asserts:
#  - /metrics is Prometheus text 0.0.4 (content type, # HELP / # TYPE, one
#    family per TYPE line) with the programs' state, restarts and probe
#    results; /status.json is what "chainkeeperctl status --json" says;
#  - only GET and HEAD: POST, PUT, DELETE get 405 with Allow and change
#    nothing; an unknown path is 404; a Host that is not a loopback name
#    gets 421 (DNS rebinding);
#  - 70 idle connections (over the limit of 64) do not stop the daemon
#    from answering its control socket, and /metrics answers again once
#    they are gone;
#  - a reload that changes listen moves the listener; a port in use is
#    retried until it is free; a non-loopback address is refused unless
#    allow_remote; a bad reload keeps the listener;
#  - reexec keeps serving on the same port; shutdown closes it.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

command -v curl >/dev/null 2>&1 || skip "curl is needed"

free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# get PORT PATH [curl args]: the body; fails on a transport error.
get() {
	local port=$1 path=$2
	shift 2
	curl -sS --max-time 10 "$@" "http://127.0.0.1:$port$path"
}

# code PORT PATH [curl args]: the HTTP status only.
code() {
	local port=$1 path=$2
	shift 2
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" \
	    "http://127.0.0.1:$port$path"
}

# sample PORT 'NAME{LABELS}': the value of one sample line.
sample() {
	get "$1" /metrics | awk -v k="$2" '$1 == k { print $2 }'
}

sample_is() {
	[ "$(sample "$1" "$2")" = "$3" ]
}

serving() {
	[ "$(code "$1" /metrics)" = 200 ]
}

refused() {
	[ "$(code "$1" /metrics)" = 000 ]
}

MP=$(free_port)
write_script flaky <<EOF
#!/bin/sh
n=\$(cat "$T/flaky.count" 2>/dev/null || echo 0)
n=\$((n + 1))
echo \$n >"$T/flaky.count"
[ \$n -le 3 ] && exit 3
exec sleep 1000
EOF
conf() {
	write_config <<EOF
metrics:
  listen: $1
  refresh: 2s
programs:
  up:
    command: sleep 1000
    probes:
      - kind: tcp
        name: port
        port: ${1##*:}
        interval: 300ms
  flaky:
    command: $T/flaky
    startsecs: 0
    backoff: {initial: 100ms, max: 200ms}
  idle:
    command: sleep 1000
    autostart: false
EOF
}
conf "127.0.0.1:$MP"
start_daemon
wait_for "up RUNNING" 10 state_is up RUNNING
wait_for "the listener on $MP" 10 serving "$MP"

# The exposition format.
ct=$(curl -s -o /dev/null -w '%{content_type}' "http://127.0.0.1:$MP/metrics")
assert_eq "text/plain; version=0.0.4; charset=utf-8" "$ct" "content type"
wait_for "flaky restarted 3 times" 15 sample_is "$MP" \
    'chainkeeper_program_restarts_total{program="flaky"}' 3
wait_for "the tcp probe ok" 10 sample_is "$MP" \
    'chainkeeper_probe_ok{program="up",probe="port",kind="tcp"}' 1
m=$(get "$MP" /metrics)
for want in 'chainkeeper_program_state{program="up",state="RUNNING"} 1' \
    'chainkeeper_program_state{program="idle",state="STOPPED"} 1' \
    'chainkeeper_program_state{program="idle",state="RUNNING"} 0' \
    'chainkeeper_program_up{program="flaky"} 1' \
    'chainkeeper_program_last_exit_code{program="flaky"} 3' \
    'chainkeeper_program_health{program="up",health="healthy"} 1' \
    'chainkeeper_programs 3'; do
	grep -qxF -- "$want" <<<"$m" ||
	    fail "/metrics lacks: $want"
done
assert_eq "$(status_field up pid)" \
    "$(printf '%s\n' "$m" | awk '$1 == "chainkeeper_program_pid{program=\"up\"}" { print $2 }')" \
    "pid in /metrics"
# Every sample follows the # TYPE of its family, and no family twice.
printf '%s\n' "$m" | awk '
	/^# TYPE / { if (seen[$3]++) { print "twice: " $3; exit 1 } fam = $3; next }
	/^#/ { next }
	{ n = $1; sub(/\{.*/, "", n); if (n != fam) { print "stray: " $0; exit 1 } }
' || fail "/metrics families are not grouped"
grep -Eq '^process_open_fds [0-9]+$' <<<"$m" ||
    fail "no process_open_fds"
grep -Eq '^process_resident_memory_bytes [0-9]+$' <<<"$m" ||
    fail "no process_resident_memory_bytes"

# /status.json is the control socket's status.
a=$(get "$MP" /status.json | jq -c '[.[] | {name, state, pid, restarts}]')
b=$(ctl status --json | jq -c '[.[] | {name, state, pid, restarts}]')
assert_eq "$b" "$a" "/status.json"

# Only GET and HEAD.
for m in POST PUT DELETE PATCH; do
	assert_eq 405 "$(code "$MP" /metrics -X "$m" -d x=1)" "$m /metrics"
done
h=$(curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$MP/" | tr -d '\r')
assert_match '^Allow: GET, HEAD$' "$h" "405 Allow header"
assert_eq 405 "$(code "$MP" /status.json -X POST -d '{"cmd":"stop"}')" \
    "POST /status.json"
state_is up RUNNING || fail "a POST changed something"
assert_eq 200 "$(code "$MP" /metrics -I)" "HEAD /metrics"
assert_eq "" "$(curl -s -I "http://127.0.0.1:$MP/metrics" | tr -d '\r' |
    sed '1,/^$/d')" "HEAD body"
assert_eq 404 "$(code "$MP" /nope)" "unknown path"
assert_eq 421 "$(code "$MP" /metrics -H 'Host: evil.example')" "foreign Host"
assert_eq 421 "$(code "$MP" / -H 'Host: 127.0.0.1.evil.example')" \
    "foreign Host with a loopback prefix"
assert_eq 200 "$(code "$MP" / -H "Host: localhost:$MP")" "Host: localhost"
assert_eq 200 "$(code "$MP" / -H "Host: 127.0.0.1")" "Host: 127.0.0.1"

# 70 idle connections, over MHD's limit: the loop keeps answering.
"$PYTHON" - "$MP" "$T/held" <<'EOF' &
import socket, sys, time
socks = []
for i in range(70):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", int(sys.argv[1])))
        socks.append(s)
    except OSError:
        pass
open(sys.argv[2], "w").write("%d\n" % len(socks))
time.sleep(4)
EOF
HOLDER=$!
wait_until "the idle connections" 10 '[ -s "$T/held" ]'
t0=$(now_ms)
ctl status up >/dev/null || fail "control socket did not answer"
# Blocked behind the peers, it would answer only once they leave, 4 s on.
[ $(($(now_ms) - t0)) -lt 3500 ] ||
    fail "the control socket took $(($(now_ms) - t0)) ms with idle HTTP peers"
wait "$HOLDER"
wait_for "/metrics after the idle connections" 15 serving "$MP"

# A reload moves the listener.
MP2=$(free_port)
conf "127.0.0.1:$MP2"
ctl reload >/dev/null || fail "reload"
wait_for "the listener on $MP2" 10 serving "$MP2"
wait_for "nothing on $MP any more" 10 refused "$MP"

# A port in use is retried until it is free.
MP3=$(free_port)
"$PYTHON" -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
open(sys.argv[2], "w").write("ok\n")
time.sleep(60)' "$MP3" "$T/busy" &
BUSY=$!
wait_until "the squatter" 10 '[ -s "$T/busy" ]'
conf "127.0.0.1:$MP3"
ctl reload >/dev/null || fail "reload"
wait_for "the bind failure logged" 10 log_has \
    "metrics: cannot listen on 127.0.0.1:$MP3.*retrying"
kill "$BUSY"
wait "$BUSY" 2>/dev/null
wait_for "the listener on $MP3 once free" 15 serving "$MP3"
refused "$MP2" || fail "$MP2 still served"

# A non-loopback address needs allow_remote; a bad reload keeps the
# listener.
conf "0.0.0.0:$MP3"
out=$("$CHAINKEEPERD" -n -c "$CFG" 2>&1) && fail "0.0.0.0 accepted: $out"
assert_match "chainkeeper.yaml:[0-9]+:[0-9]+: metrics: listen: 0.0.0.0:$MP3 is not a loopback address" \
    "$out" "-n"
ctl reload >/dev/null 2>&1 && fail "a bad reload succeeded"
serving "$MP3" || fail "a bad reload stopped the listener"
sed -i "s/^  refresh: 2s/  refresh: 2s\n  allow_remote: true/" "$CFG"
"$CHAINKEEPERD" -n -c "$CFG" >/dev/null 2>&1 ||
    fail "allow_remote: true refused: $("$CHAINKEEPERD" -n -c "$CFG" 2>&1)"
conf "127.0.0.1:$MP3"

# reexec serves again on the same port.
n=$(log_count "metrics: listening on http://127.0.0.1:$MP3/")
ctl reexec >/dev/null || fail "reexec"
wait_until "the new image listening" 15 \
    "[ \$(log_count 'metrics: listening on http://127.0.0.1:$MP3/') -gt $n ]"
wait_for "/metrics after reexec" 10 serving "$MP3"
state_is up RUNNING || fail "up not RUNNING after reexec"

stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"
refused "$MP3" || fail "the port is still open after shutdown"

# A real Prometheus (Debian's prometheus) scrapes chainkeeperd's /metrics
# every second on loopback; its query API must return chainkeeper's
# series with the values chainkeeperd has.  Asserts:
#  - the target is up with no scrape error (the exposition parses);
#  - chainkeeper_program_restarts_total of a program that crashed three
#    times is 3; the one-hot state of a running and a stopped program;
#  - an http probe against a local web server (a python http.server the
#    daemon supervises): chainkeeper_probe_ok 1 and its value;
#  - a nodeos probe against tests/fakes/fake-nodeos.py: the head from the
#    probe's detail (chainkeeper_probe_detail{field="head"}) grows and
#    matches the fake's own head closely;
#  - chainkeeperd's own process_resident_memory_bytes and process_open_fds;
#  - a program stopped by hand shows up as STOPPED in Prometheus.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

command -v prometheus >/dev/null 2>&1 ||
    skip "prometheus is not installed (apt-get install prometheus)"
command -v curl >/dev/null 2>&1 || skip "curl is needed"
FAKE=$TESTS_SRCDIR/fakes/fake-nodeos.py

free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# ports N: N distinct free ports.
ports() {
	local p list=" "
	while [ $(echo $list | wc -w) -lt "$1" ]; do
		p=$(free_port)
		case $list in *" $p "*) continue ;; esac
		list="$list$p "
	done
	echo $list
}
read -r MP PP WP NP <<<"$(ports 4)"

# promq QUERY: the value of the query's first result, or nothing.
promq() {
	curl -sS --max-time 5 -G "http://127.0.0.1:$PP/api/v1/query" \
	    --data-urlencode "query=$1" |
	    jq -r 'if .status == "success" and (.data.result | length) > 0
		then .data.result[0].value[1] else empty end'
}

promq_is() {
	[ "$(promq "$1")" = "$2" ]
}

# promq_gt QUERY N: the value is a number above N.
promq_gt() {
	local v
	v=$(promq "$1")
	[ -n "$v" ] && awk -v v="$v" -v n="$2" 'BEGIN { exit !(v + 0 > n) }'
}

mkdir -p "$T/www"
echo '{"height": 12345, "ok": true}' >"$T/www/ok.json"
write_script flaky <<EOF
#!/bin/sh
n=\$(cat "$T/flaky.count" 2>/dev/null || echo 0)
n=\$((n + 1))
echo \$n >"$T/flaky.count"
[ \$n -le 3 ] && exit 3
exec sleep 1000
EOF
write_config <<EOF
metrics:
  listen: 127.0.0.1:$MP
programs:
  web:
    command: ["$PYTHON", "-m", "http.server", "$WP", "--bind", "127.0.0.1",
        "--directory", "$T/www"]
    startsecs: 0
    probes:
      - kind: http
        url: http://127.0.0.1:$WP/ok.json
        json_pointer: /height
        interval: 500ms
  node:
    command: ["$PYTHON", "$FAKE", "--port", "$NP", "--block-ms", "100",
        "--quiet-log"]
    startsecs: 0
    probes:
      - kind: nodeos
        name: chain
        url: http://127.0.0.1:$NP/
        interval: 500ms
  flaky:
    command: $T/flaky
    startsecs: 0
    backoff: {initial: 100ms, max: 200ms}
  idle:
    command: sleep 1000
    autostart: false
EOF
start_daemon
wait_for "web RUNNING" 10 state_is web RUNNING

cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: chainkeeper
    static_configs:
      - targets: ['127.0.0.1:$MP']
EOF
DUMP_FILES="$T/prometheus.log"
prometheus --config.file="$T/prometheus.yml" \
    --storage.tsdb.path="$T/prom" \
    --web.listen-address="127.0.0.1:$PP" \
    --log.level=warn >"$T/prometheus.log" 2>&1 &
PROM=$!
prom_ready() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' \
	    "http://127.0.0.1:$PP/-/ready")" = 200 ]
}
wait_for "prometheus ready" 60 prom_ready
kill -0 "$PROM" || fail "prometheus exited"

wait_for "the target up in prometheus" 30 promq_is 'up{job="chainkeeper"}' 1
tgt=$(curl -sS "http://127.0.0.1:$PP/api/v1/targets" |
    jq -c '.data.activeTargets[0] | {health, lastError}')
assert_eq '{"health":"up","lastError":""}' "$tgt" "the scrape target"

wait_for "restarts_total of flaky = 3" 30 promq_is \
    'chainkeeper_program_restarts_total{program="flaky"}' 3
wait_for "web RUNNING in prometheus" 20 promq_is \
    'chainkeeper_program_state{program="web",state="RUNNING"}' 1
promq_is 'chainkeeper_program_state{program="idle",state="STOPPED"}' 1 ||
    fail "idle is not STOPPED in prometheus"
promq_is 'chainkeeper_program_state{program="idle",state="RUNNING"}' 0 ||
    fail "idle RUNNING is not 0"
wait_for "the http probe ok" 20 promq_is \
    'chainkeeper_probe_ok{program="web",probe="http",kind="http"}' 1
wait_for "the http probe's value" 20 promq_is \
    'chainkeeper_probe_value{program="web",probe="http"}' 12345
wait_for "the nodeos head in prometheus" 20 promq_gt \
    'chainkeeper_probe_detail{program="node",probe="chain",field="head"}' 5
h1=$(promq 'chainkeeper_probe_detail{program="node",probe="chain",field="head"}')
wait_for "the head to grow in prometheus" 20 promq_gt \
    'chainkeeper_probe_detail{program="node",probe="chain",field="head"}' "$h1"
h=$(promq 'chainkeeper_probe_detail{program="node",probe="chain",field="head"}')
fh=$("$PYTHON" "$FAKE" state "$NP" | jq -r .head)
# Scrapes every 1 s, probes every 0.5 s, a block every 0.1 s: within 60.
awk -v a="$h" -v b="$fh" 'BEGIN { d = b - a; exit !(d >= 0 && d < 60) }' ||
    fail "prometheus head $h, fake head $fh"
say "head in prometheus $h, in the fake $fh"
promq_gt 'process_resident_memory_bytes{job="chainkeeper"}' 100000 ||
    fail "no process_resident_memory_bytes"
promq_gt 'process_open_fds{job="chainkeeper"}' 3 || fail "no process_open_fds"
promq_is 'count(chainkeeper_program_state{state="RUNNING"} == 1)' 3 ||
    fail "3 RUNNING programs expected: $(promq 'count(chainkeeper_program_state{state="RUNNING"} == 1)')"

# A stop by hand reaches Prometheus.
ctl stop web >/dev/null || fail "stop web"
wait_for "web STOPPED in prometheus" 20 promq_is \
    'chainkeeper_program_state{program="web",state="STOPPED"}' 1
promq_is 'chainkeeper_program_admin_stopped{program="web"}' 1 ||
    fail "admin_stopped is not 1"

kill "$PROM"
wait "$PROM" 2>/dev/null
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

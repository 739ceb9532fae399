# A real InfluxDB 1.x (Debian's influxdb) on loopback receives chainkeeperd's
# line-protocol pushes.  The daemon supervises tests/fakes/fake-nodeos.py
# (with three TCP links held by a helper in its process tree) and a
# program that crashes three times.  Asserts:
#  - the program points (measurement chainkeeper: state, restarts, ...) and
#    the probe points (chainkeeper_probe) arrive; restarts is 3;
#  - eoskeeper mode: eosbpinfo has eoskeeper's exact fields and types
#    (hbn/当前块, lib/不可逆块, linkn/连接数量 floats; lpbt/上次出块时间,
#    paused, info/告警信息 strings) with the fake's head and LIB, linkn 3,
#    paused 否 then 是 after the fake is paused, lpbt "N秒前" once it
#    produced, info empty while healthy and the probe's reason once the
#    head freezes; eosfninfo (role fn, short field names) has hbn, lib,
#    linkn and info only;
#  - an InfluxDB outage loses nothing: the points of the outage are
#    buffered, counted in /metrics, logged once, and written with their
#    own timestamps when InfluxDB is back;
#  - a full buffer drops the oldest points, counted and logged;
#  - the password (from password_file) is in no log, -nv output or status.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

command -v influxd >/dev/null 2>&1 ||
    skip "influxd is not installed (apt-get install influxdb)"
command -v curl >/dev/null 2>&1 || skip "curl is needed"
FAKE=$TESTS_SRCDIR/fakes/fake-nodeos.py

free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

ports() {
	local p list=" "
	while [ $(echo $list | wc -w) -lt "$1" ]; do
		p=$(free_port)
		case $list in *" $p "*) continue ;; esac
		list="$list$p "
	done
	echo $list
}
read -r IP IR MP NP LP <<<"$(ports 5)"
DB=ckdb
PW=influx-Secret-7f3a

# InfluxDB 1.x, everything under $T, no reporting, loopback only.
cat >"$T/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$IR"
[meta]
  dir = "$T/influx/meta"
[data]
  dir = "$T/influx/data"
  wal-dir = "$T/influx/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:$IP"
  log-enabled = false
[continuous_queries]
  enabled = false
EOF
DUMP_FILES="$T/influxd.log $T/diag.txt"
INFLUXD=
influx_start() {
	influxd -config "$T/influxdb.conf" >>"$T/influxd.log" 2>&1 &
	INFLUXD=$!
	wait_for "influxd answering /ping" 60 influx_up
}
influx_up() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' \
	    "http://127.0.0.1:$IP/ping")" = 204 ]
}
influx_kill() {
	kill "$INFLUXD"
	wait "$INFLUXD" 2>/dev/null
	INFLUXD=
}

# iq 'QUERY': InfluxDB's JSON reply (epoch ms times).
iq() {
	curl -sS --max-time 10 -G "http://127.0.0.1:$IP/query" \
	    --data-urlencode "db=$DB" --data-urlencode "epoch=ms" \
	    --data-urlencode "q=$1"
}

# latest MEASUREMENT [WHERE]: the newest point as one JSON object.
latest() {
	iq "SELECT * FROM \"$1\" WHERE host = 'ckhost'${2:+ AND $2} ORDER BY time DESC LIMIT 1" |
	    jq -c '.results[0].series[0] // empty |
		[.columns, .values[0]] | transpose | map({(.[0]): .[1]}) | add'
}

# lf MEASUREMENT FIELD [WHERE]: one field of the newest point.
lf() {
	latest "$1" "${3:-}" | jq -r --arg f "$2" '.[$f] // empty'
}

lf_is() {
	[ "$(lf "$1" "$2")" = "$3" ]
}

lf_match() {
	local v
	v=$(lf "$1" "$2" "${4:-}")
	grep -Eq -- "$3" <<<"$v"
}

# On a failure, the newest eoskeeper point and the probes, for the log.
diag() {
	{
		echo "eosbpinfo: $(latest eosbpinfo)"
		ctl status --json node | jq -c '.[0].probes[] |
		    {name, health, status, reason, value, detail}'
	} >"$T/diag.txt" 2>&1
}

# sample 'NAME': a sample of chainkeeperd's /metrics.
sample() {
	curl -sS --max-time 5 "http://127.0.0.1:$MP/metrics" |
	    awk -v k="$1" '$1 == k { print $2 }'
}

sample_ge() {
	local v
	v=$(sample "$1")
	[ -n "$v" ] && [ "$v" -ge "$2" ]
}

influx_start
curl -sS -XPOST "http://127.0.0.1:$IP/query" \
    --data-urlencode "q=CREATE DATABASE $DB" | grep -q '"statement_id":0' ||
    fail "cannot create the database"

printf '%s\n' "$PW" >"$T/influx.pw"
chmod 600 "$T/influx.pw"
cat >"$T/links.py" <<'EOF'
import socket, sys, time
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(8)
links = []
for i in range(int(sys.argv[2])):
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    links.append((c, srv.accept()[0]))
while True:
    time.sleep(60)
EOF
write_script node <<EOF
#!/bin/sh
"$PYTHON" "$T/links.py" $LP 3 &
exec "$PYTHON" "$FAKE" --port $NP --block-ms 20
EOF
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
  listen: 127.0.0.1:$MP
  influxdb:
    url: http://127.0.0.1:$IP/write?db=$DB
    interval: 1s
    host: ckhost
    user: chainkeeper
    password_file: $T/influx.pw
    buffer: $1
    eoskeeper:
      - program: node
        role: bp
        nodeos_probe: chain
        peers_probe: links
        produced_probe: produced
      - program: node
        role: fn
        nodeos_probe: chain
        peers_probe: links
        fields: short
programs:
  node:
    command: $T/node
    startsecs: 0
    probes:
      - kind: nodeos
        name: chain
        url: http://127.0.0.1:$NP/
        interval: 300ms
        head_stall: 1s
        fall: 1
        rise: 1
        check_paused: true
      - kind: peers
        name: links
        remote_port: $LP
        interval: 300ms
      - kind: log-match
        name: produced
        regex: 'producer_plugin.cpp.*\] Produced block'
        fresh: 1h
        interval: 300ms
  flaky:
    command: $T/flaky
    startsecs: 0
    backoff: {initial: 100ms, max: 200ms}
EOF
}
conf 1000
start_daemon
wait_for "node RUNNING" 10 state_is node RUNNING

# The program and probe points.
wait_for "flaky's restarts = 3 in InfluxDB" 30 \
    eval '[ "$(lf chainkeeper restarts "program = '\''flaky'\''")" = 3 ]'
wait_for "flaky RUNNING in InfluxDB" 10 \
    eval '[ "$(lf chainkeeper state "program = '\''flaky'\''")" = RUNNING ]'
assert_eq 20 "$(lf chainkeeper state_code "program = 'node'")" "state_code"
assert_eq "$(status_field node pid)" "$(lf chainkeeper pid "program = 'node'")" \
    "node pid"
wait_for "the nodeos probe point" 20 eval \
    '[ -n "$(lf chainkeeper_probe head "program = '\''node'\'' AND probe = '\''chain'\''")" ]'
p=$(latest chainkeeper_probe "probe = 'links'")
assert_eq 3 "$(echo "$p" | jq -r .value)" "links probe value"
assert_eq true "$(echo "$p" | jq -r .ok)" "links probe ok"

# eoskeeper's eosbpinfo.
wait_for "eosbpinfo with the head, 3 links and not paused" 20 eval \
    'diag; lf_is eosbpinfo "linkn/连接数量" 3 && lf_is eosbpinfo paused 否'
e=$(latest eosbpinfo)
say "eosbpinfo: $e"
fh=$("$PYTHON" "$FAKE" state "$NP" | jq -r .head)
hbn=$(echo "$e" | jq -r '.["hbn/当前块"]')
lib=$(echo "$e" | jq -r '.["lib/不可逆块"]')
[ "$hbn" -gt 1 ] && [ "$hbn" -le "$fh" ] ||
    fail "hbn $hbn, fake head $fh"
[ "$lib" -ge 1 ] && [ "$lib" -le "$hbn" ] && [ $((hbn - lib)) -le 40 ] ||
    fail "lib $lib, hbn $hbn"
assert_eq "" "$(echo "$e" | jq -r '.["info/告警信息"]')" "info while healthy"
keys=$(iq 'SHOW FIELD KEYS FROM eosbpinfo' |
    jq -c '.results[0].series[0].values | map(join(":")) | sort')
assert_eq '["hbn/当前块:float","info/告警信息:string","lib/不可逆块:float","linkn/连接数量:float","lpbt/上次出块时间:string","paused:string"]' \
    "$keys" "eosbpinfo fields"
tags=$(iq 'SHOW TAG KEYS FROM eosbpinfo' | jq -c '.results[0].series[0].values')
assert_eq '[["host"]]' "$tags" "eosbpinfo tags"
wait_for "lpbt N秒前 once the fake produced" 30 lf_match eosbpinfo \
    "lpbt/上次出块时间" '^[0-9]+秒前$'

# eosfninfo: short names, no lpbt or paused.
keys=$(iq 'SHOW FIELD KEYS FROM eosfninfo' |
    jq -c '.results[0].series[0].values | map(join(":")) | sort')
assert_eq '["hbn:float","info:string","lib:float","linkn:float"]' "$keys" \
    "eosfninfo fields"
f=$(latest eosfninfo)
[ "$(echo "$f" | jq -r .hbn)" -gt 1 ] || fail "eosfninfo hbn: $f"
assert_eq 3 "$(echo "$f" | jq -r .linkn)" "eosfninfo linkn"

# Paused, then a frozen head: paused 是, and info says why.
"$PYTHON" "$FAKE" control "$NP" paused=1 >/dev/null || fail "pause the fake"
wait_for "eosbpinfo paused 是" 20 lf_is eosbpinfo paused 是
"$PYTHON" "$FAKE" control "$NP" freeze_head=1 >/dev/null || fail "freeze"
frozen_info() {
	diag
	lf_match eosbpinfo "info/告警信息" '^chain: head [0-9]+ has not advanced'
}
wait_for "eosbpinfo info on the frozen head" 20 frozen_info
"$PYTHON" "$FAKE" control "$NP" freeze_head=0 paused=0 >/dev/null

# An outage: buffered, logged once, written later with its own times.
wait_for "pushes counted" 10 sample_ge chainkeeper_influxdb_points_sent_total 10
influx_kill
t1=$(now_ms)
wait_for "3 failed pushes" 20 sample_ge chainkeeper_influxdb_push_failures_total 3
wait_for "points buffered" 10 sample_ge chainkeeper_influxdb_buffered_points 10
t2=$(now_ms)
assert_eq 1 "$(log_count 'influxdb: write to 127.0.0.1:'"$IP"'/write failed')" \
    "warnings during one outage"
influx_start
wait_for "the buffer written" 30 eval \
    '[ "$(sample chainkeeper_influxdb_buffered_points)" = 0 ]'
wait_for "'writing again' logged" 10 log_has "influxdb: writing again"
n=$(iq "SELECT count(state_code) FROM chainkeeper WHERE program = 'node' AND time >= ${t1}ms AND time <= ${t2}ms" |
    jq -r '.results[0].series[0].values[0][1] // 0')
say "points of node written during the outage ($((t2 - t1)) ms): $n"
[ "$n" -ge 2 ] || fail "only $n points of the outage reached InfluxDB"
assert_eq 0 "$(sample chainkeeper_influxdb_points_dropped_total)" "dropped"

# A full buffer drops the oldest, counted and logged.
influx_kill
conf 10
ctl reload >/dev/null || fail "reload"
wait_for "points dropped" 20 sample_ge chainkeeper_influxdb_points_dropped_total 1
wait_for "the drop logged" 10 log_has \
    "influxdb: the buffer is full \(10 points\): dropped the [0-9]+ oldest"
[ "$(sample chainkeeper_influxdb_buffered_points)" -le 10 ] ||
    fail "more than 10 points buffered"

# The password is nowhere.
"$CHAINKEEPERD" -nv -c "$CFG" >"$T/nv.out" 2>&1
grep -q "influx.pw" "$T/nv.out" || fail "-nv lacks password_file"
for f in "$LOG" "$T/nv.out"; do
	grep -qF -- "$PW" "$f" && fail "the password is in $f"
done
out=$(ctl status --json)
[ -n "$out" ] || fail "no status"
grep -qF -- "$PW" <<<"$out" && fail "the password is in status"
out=$(curl -sS "http://127.0.0.1:$MP/metrics" "http://127.0.0.1:$MP/" \
    "http://127.0.0.1:$MP/status.json")
[ -n "$out" ] || fail "nothing over HTTP"
grep -qF -- "$PW" <<<"$out" && fail "the password is served over HTTP"
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

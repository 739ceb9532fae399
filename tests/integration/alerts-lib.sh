# Helpers for the alert tests (tests/integration/alerts-*.sh), sourced
# after lib.sh.  They run the fake WeCom (tests/fakes/fake-wecom.py) and
# the fake SMS gateway (tests/fakes/fake-sms.py) as background jobs of the
# test, on ports the kernel picks, with their secrets in files of this
# test's folder (mode 0600), as chainkeeperd reads them.

# $PYTHON (lib.sh) is the system python3 when there is one: it starts fastest.
command -v "$PYTHON" >/dev/null 2>&1 || skip "python3 is needed for the fakes"
PY=$PYTHON
FAKE_WECOM=$TESTS_SRCDIR/fakes/fake-wecom.py
FAKE_SMS=$TESTS_SRCDIR/fakes/fake-sms.py

# The secrets: random, so that a leak cannot hide behind a common word.
ROBOT_KEY=rk$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
SMS_PASS=pw$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
APP_SECRET=as$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
TG_TOKEN=123456:tg$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
mkdir -p "$T/secrets"
chmod 700 "$T/secrets"
(umask 077
 printf '%s\n' "$ROBOT_KEY" >"$T/secrets/robot.key"
 printf '%s\n' "$SMS_PASS" >"$T/secrets/sms.pass"
 printf '%s\n' "$APP_SECRET" >"$T/secrets/app.secret"
 printf '%s\n' "$TG_TOKEN" >"$T/secrets/tg.token")

# A free TCP port on 127.0.0.1 (the kernel's choice).
free_port() {
	"$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# start_fake NAME SCRIPT [ARGS...]: run a fake in the background; its port
# is in $T/NAME.port, its pid in $T/NAME.pid.
start_fake() {
	local name=$1 script=$2
	shift 2
	rm -f "$T/$name.port"
	"$PY" "$script" --port-file "$T/$name.port" "$@" \
	    >>"$T/$name.log" 2>&1 &
	echo $! >"$T/$name.pid"
	wait_for "fake $name to listen" 15 test -s "$T/$name.port"
}

# stop_fake NAME: kill a fake (an outage); its port stays known.
stop_fake() {
	local pid
	pid=$(cat "$T/$1.pid")
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

fake_port() {
	cat "$T/$1.port"
}

# fake_ctl NAME KEY=VALUE...: change a fake (misbehave modes, app keys).
fake_ctl() {
	local name=$1
	shift
	"$PY" "$FAKE_SMS" control "$(fake_port "$name")" "$@" >/dev/null ||
	    fail "cannot control fake $name: $*"
}

# fake_state NAME [JQ]: the fake's state, or a jq expression of it.
fake_state() {
	"$PY" "$FAKE_SMS" state "$(fake_port "$1")" | jq -r "${2:-.}"
}

# The ids of the alerts (#N) in the messages of a list, in arrival order;
# e.g. received_ids wecom '.robot[].content'.
received_ids() {
	fake_state "$1" "$2" | grep -o 'alert #[0-9]*' | tr -dc '0-9\n'
}

# times_received NAME JQ ID: how often alert ID arrived.
times_received() {
	received_ids "$1" "$2" | grep -cx "$3"
}

# The alerts of chainkeeperctl alerts --json (-n 1000).
alerts_json() {
	ctl alerts -n 1000 --json
}

# delivery_state ID SINK: the state of one delivery.
delivery_state() {
	alerts_json | jq -r --argjson id "$1" --arg s "$2" \
	    '.alerts[] | select(.id == $id) | .deliveries[] |
	    select(.sink == $s) | .state'
}

# all_sent: every delivery of every alert is sent.
all_sent() {
	[ "$(alerts_json | jq '[.alerts[].deliveries[] |
	    select(.state != "sent")] | length')" = 0 ]
}

# The id of the newest alert whose title matches a regex.
alert_id() {
	alerts_json | jq -r --arg re "$1" \
	    '[.alerts[] | select(.title | test($re))] | last | .id // empty'
}

# no_duplicates NAME JQ: no alert id arrives twice at a sink.
no_duplicates() {
	local dup
	dup=$(received_ids "$1" "$2" | sort | uniq -d)
	[ -z "$dup" ] || fail "$1: alerts delivered twice: $(echo $dup)"
}

# in_order NAME JQ: alert ids arrive in increasing order at a sink.
in_order() {
	local ids
	ids=$(received_ids "$1" "$2")
	[ "$ids" = "$(printf '%s\n' "$ids" | sort -n)" ] ||
	    fail "$1: alerts out of order: $(echo $ids)"
}

# check_no_secrets: no secret in the daemon log, status, -nv output, the
# alerts listing, the history, or any file chainkeeperd wrote.
check_no_secrets() {
	local s where
	where="$T/where-secrets.txt"
	{
		cat "$LOG"
		ctl status --json
		ctl alerts -n 1000 --json
		ctl alerts -n 1000
		ctl history
		"$CHAINKEEPERD" -n -v -c "$CFG" 2>&1
		find "$STATE" -type f ! -name lock -exec cat {} + 2>/dev/null
	} >"$where" 2>&1
	for s in "$ROBOT_KEY" "$SMS_PASS" "$APP_SECRET" "$TG_TOKEN" \
	    "${TG_TOKEN#*:}"; do
		if grep -qF -- "$s" "$where"; then
			fail "a secret leaked (into the log, status, -nv, the" \
			    "alerts listing or state_dir)"
		fi
	done
	rm -f "$where"
}

# A sink outage loses nothing.  Both sinks go down for CK_ALERT_OUTAGE_S
# seconds (default 6; CK_ALERT_OUTAGE_S=600 CK_TEST_TIMEOUT=900 runs the
# ten-minute outage of the issue): the fake WeCom answers HTTP 500, the
# fake SMS gateway is stopped (connection refused).  Alerts raised during
# the outage (a FATAL program and a test alert every second) are retried
# with a short backoff (200 ms, at most 1 s).  Asserts:
#  - during the outage, chainkeeperctl alerts shows deliveries retrying,
#    with attempts and a next try, and the sinks as retrying with the
#    last error;
#  - each sink delivers the alert before the next one (in order): while
#    the head of a queue fails, nothing behind it is sent;
#  - after the outage, every alert arrives, exactly once, in order, at
#    both sinks;
#  - an alert older than max_age is given up and listed as failed (a
#    reload adds a sink that never answers, with max_age 2s);
#  - no secret appears anywhere.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"
. "$TESTS_SRCDIR/integration/alerts-lib.sh"

OUTAGE=${CK_ALERT_OUTAGE_S:-6}
start_fake wecom "$FAKE_WECOM" --key-file "$T/secrets/robot.key"
start_fake sms "$FAKE_SMS" --account ck --password-file "$T/secrets/sms.pass"
SMS_PORT=$(fake_port sms)
DEAD_PORT=$(free_port)

crashy=$(write_script crashy.sh <<'EOF'
#!/bin/sh
exit 3
EOF
)

config() {
	write_config <<EOF
alerts:
  host: testhost
  throttle: 0
  max_age: $1
  retry: {initial: 200ms, max: 1s}
  sinks:
    wecom:
      kind: wecom-robot
      key_file: $T/secrets/robot.key
      api_base: http://127.0.0.1:$(fake_port wecom)
      timeout: 2s
    sms:
      kind: http
      url: "http://127.0.0.1:$SMS_PORT/smsJson.aspx?action=send&account=ck&password={secret}&mobile=13800001111&content={title} {message} alert #{id}"
      secret_file: $T/secrets/sms.pass
      timeout: 2s
      success: {status: 200, json: {pointer: /returnstatus, equals: Success}}
$2
programs:
  crashy:
    command: [$crashy]
    autostart: false
    startsecs: 1s
    startretries: 0
EOF
}
config 24h ""
start_daemon

ROBOT='.robot[].content'
SMS='.sms[].content'

ctl alerts test -m "before the outage" >/dev/null || fail "alerts test"
wait_for "the first alert delivered" 15 all_sent

# The outage.
say "both sinks down for $OUTAGE s"
fake_ctl wecom mode=500
stop_fake sms
t0=$(now_ms)
ctl start crashy >/dev/null 2>&1
i=0
while [ $(($(now_ms) - t0)) -lt $((OUTAGE * 1000)) ]; do
	i=$((i + 1))
	ctl alerts test -m "during the outage $i" >/dev/null ||
	    fail "alerts test $i"
	sleep 1
done
say "$i test alerts raised during the outage"
fatal=$(alert_id "crashy fatal")
[ -n "$fatal" ] || fail "no FATAL alert"

# Retrying, visibly: attempts, a next try, the error (between two
# attempts, not during one).
listing_retrying() {
	out=$(ctl alerts -n 1000)
	printf '%s\n' "$out" | grep -Eq 'wecom: retrying \([0-9]+ attempts, next try [0-9:]+\): HTTP 500' &&
	    printf '%s\n' "$out" | grep -Eq 'sms: retrying \([0-9]+ attempts, next try [0-9:]+\): .*(onnect|refused)' &&
	    printf '%s\n' "$out" | grep -Eq 'sms \(http\): retrying, [0-9]+ queued, 1 sent, 0 failed, next try [0-9:]+: '
}
wait_for "both sinks listed as retrying" 10 listing_retrying
head_attempts=$(alerts_json | jq '[.alerts[] | .deliveries[] |
    select(.sink == "wecom" and .state != "sent") | .attempts] | max')
[ "$head_attempts" -ge 3 ] ||
    fail "the head of the wecom queue was tried only $head_attempts times"
# In order: only the head of each queue is tried (for the robot, once
# more wait than its rate allows, the head few in one message).
for s in wecom sms; do
	tried=$(alerts_json | jq --arg s "$s" '[.alerts[] | select(any(
	    .deliveries[]; .sink == $s and .attempts > 0 and
	    .state != "sent")) | .id] | max')
	untried=$(alerts_json | jq --arg s "$s" '[.alerts[] | select(any(
	    .deliveries[]; .sink == $s and .attempts == 0)) | .id] | min')
	[ "$untried" = null ] || [ "$tried" -lt "$untried" ] ||
	    fail "$s: alert #$tried was tried before #$untried"
done
[ "$OUTAGE" -gt 20 ] ||
    assert_eq 1 "$(alerts_json | jq '[.alerts[] | .deliveries[] |
    select(.sink == "wecom" and .attempts > 0 and .state != "sent")] |
    length')" "wecom deliveries tried during a short outage"
assert_eq 1 "$(fake_state wecom '.robot | length')" \
    "robot messages accepted during the outage"

# The end of the outage: everything arrives, once, in order.
fake_ctl wecom mode=ok
t1=$(now_ms)
start_fake sms "$FAKE_SMS" --port "$SMS_PORT" --account ck \
    --password-file "$T/secrets/sms.pass"
# A robot takes 20 messages a minute: a long outage's backlog goes in
# combined messages, which takes a while.
wait_for "every alert delivered after the outage" $((60 + OUTAGE / 2)) all_sent
say "delivered $(($(now_ms) - t1)) ms after the outage ended"
# Every alert went to both sinks: ids 1 to the last, each once (the
# listing keeps only the last 200 finished ones, so count by id).
total=$(alerts_json | jq '[.alerts[].id] | max')
say "$total alerts delivered; $(fake_state wecom '.robot | length') robot messages"
assert_eq "$(seq 1 "$total" | tr '\n' ' ')" \
    "$(received_ids wecom "$ROBOT" | sort -n | tr '\n' ' ')" \
    "the alerts at the robot"
# The gateway restarted: it only knows what came after the outage.
assert_eq "$(seq 2 "$total" | tr '\n' ' ')" \
    "$(received_ids sms "$SMS" | sort -n | tr '\n' ' ')" \
    "the alerts at the gateway after the outage"
no_duplicates wecom "$ROBOT"
no_duplicates sms "$SMS"
in_order wecom "$ROBOT"
in_order sms "$SMS"
assert_eq 1 "$(times_received sms "$SMS" "$fatal")" "FATAL at the gateway"

# max_age: a sink that never answers gives an alert up after 2 s.
config 2s "    dead:
      kind: http
      url: http://127.0.0.1:$DEAD_PORT/hook
      timeout: 500ms"
ctl reload >/dev/null || fail "reload"
id=$(ctl alerts test -m "to nowhere" dead | grep -o '[0-9][0-9]*')
wait_until "alert #$id to dead given up" 20 \
    '[ "$(delivery_state "$id" dead)" = failed ]'
out=$(ctl alerts -n 1000)
assert_match 'dead: failed at [0-9:]+ \([0-9]+ attempts?\): not delivered within max_age' \
    "$out" "alerts listing of the failed delivery"
assert_match 'dead \(http\): idle, 0 queued, 0 sent, 1 failed' "$out" \
    "sinks listing"
log_has "alert #$id to dead FAILED: not delivered within max_age" ||
    fail "no log line for the failed delivery"
check_no_secrets
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

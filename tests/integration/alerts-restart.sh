# chainkeeperd killed with SIGKILL while alerts wait in its outbox: the
# next chainkeeperd resumes them, and sends none twice.  Asserts:
#  - three alerts delivered before the kill are recorded as sent in
#    state_dir/outbox.jsonl and are not sent again after the restart;
#  - alerts raised while both sinks are down (the fake WeCom answers 500,
#    the fake SMS gateway is stopped) survive a SIGKILL of chainkeeperd,
#    with a torn record at the end of the outbox (a crash mid-write), and
#    are delivered once each, in order, by the next chainkeeperd;
#  - the next chainkeeperd says it resumed them, and lists them (ids and
#    messages) in chainkeeperctl alerts;
#  - an open incident (a FATAL program) survives the restart: when the
#    program runs again under the new chainkeeperd, RESOLVED goes out;
#  - no secret appears anywhere.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"
. "$TESTS_SRCDIR/integration/alerts-lib.sh"

start_fake wecom "$FAKE_WECOM" --key-file "$T/secrets/robot.key"
start_fake sms "$FAKE_SMS" --account ck --password-file "$T/secrets/sms.pass"
SMS_PORT=$(fake_port sms)

crashy=$(write_script crashy.sh <<EOF
#!/bin/sh
[ -f "$T/fixed" ] && exec sleep 600
exit 3
EOF
)
write_config <<EOF
alerts:
  host: testhost
  throttle: 0
  retry: {initial: 200ms, max: 500ms}
  sinks:
    wecom:
      kind: wecom-robot
      key_file: $T/secrets/robot.key
      api_base: http://127.0.0.1:$(fake_port wecom)
      format: markdown
    sms:
      kind: http
      method: POST
      url: http://127.0.0.1:$SMS_PORT/smsJson.aspx
      content_type: application/x-www-form-urlencoded
      body: "action=send&account=ck&password={secret}&mobile=13800001111&content={title} {message} alert #{id}"
      secret_file: $T/secrets/sms.pass
      success: {status: 200, json: {pointer: /returnstatus, equals: Success}}
programs:
  crashy:
    command: [$crashy]
    autostart: false
    startsecs: 300ms
    startretries: 0
EOF
start_daemon
ROBOT='.robot[].content'
SMS='.sms[].content'

for i in 1 2 3; do
	ctl alerts test -m "before $i" >/dev/null || fail "alerts test $i"
done
wait_for "three alerts delivered" 15 all_sent
assert_eq 3 "$(grep -c '"t":"sent","sink":"wecom"' "$STATE/outbox.jsonl")" \
    "sent records for wecom in the outbox"

# Both sinks down; alerts queue up; a FATAL incident opens.
fake_ctl wecom mode=500
stop_fake sms
ctl start crashy >/dev/null 2>&1
for i in 4 5 6 7; do
	ctl alerts test -m "queued $i" >/dev/null || fail "alerts test $i"
done
wait_until "the queued alerts retried" 10 \
    '[ "$(alerts_json | jq "[.alerts[].deliveries[] |
    select(.state == \"retrying\")] | length")" -ge 2 ]'
queued=$(alerts_json | jq -r '[.alerts[] | select(any(.deliveries[];
    .state != "sent")) | .id] | join(" ")')
say "waiting when chainkeeperd is killed: $queued"
assert_eq 5 "$(echo $queued | wc -w)" "alerts waiting (FATAL + 4 tests)"

kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
echo "----- chainkeeperd killed with SIGKILL" >>"$LOG"
# A crash in the middle of a write leaves a torn line.
printf '{"t":"alert","id":999,"time":1,"kind":"al' >>"$STATE/outbox.jsonl"

# The sinks come back; so does chainkeeperd.
fake_ctl wecom mode=ok
start_fake sms "$FAKE_SMS" --port "$SMS_PORT" --account ck \
    --password-file "$T/secrets/sms.pass"
start_daemon
log_has 'outbox: a torn last record \([0-9]+ bytes\) .* was cut off' ||
    fail "the torn record was not reported"
log_has 'alerts: 5 alerts from the outbox are not delivered yet: resuming' ||
    fail "no log line about resuming"
wait_for "the resumed alerts delivered" 30 all_sent
got=$(received_ids wecom "$ROBOT")
for id in 1 2 3 $queued; do
	assert_eq 1 "$(printf '%s\n' "$got" | grep -cx "$id")" \
	    "alert #$id at the robot"
done
no_duplicates wecom "$ROBOT"
in_order wecom "$ROBOT"
got=$(received_ids sms "$SMS")
for id in $queued; do
	assert_eq 1 "$(printf '%s\n' "$got" | grep -cx "$id")" \
	    "alert #$id at the gateway"
done
no_duplicates sms "$SMS"
in_order sms "$SMS"
assert_eq 0 "$(fake_state sms .refused)" "SMS refused (bad password)"
out=$(ctl alerts -n 100)
assert_match 'queued 7' "$out" "listing after the restart"
assert_match '#3 .*\[TEST\] testhost: test' "$out" \
    "listing after the restart (old alerts)"
fake_state wecom '.robot[].msgtype' | grep -qvx markdown &&
    fail "a robot message that is not markdown"
fake_state wecom '.robot[].content' | grep -q '<font color="warning">' ||
    fail "no colour in the markdown"

# The FATAL incident, opened before the kill, is resolved now.
touch "$T/fixed"
ctl start crashy >/dev/null || fail "crashy did not start"
wait_until "RESOLVED for crashy" 15 \
    '[ -n "$(alert_id "RESOLVED.*crashy fatal")" ]'
rf=$(alert_id "RESOLVED.*crashy fatal")
wait_until "RESOLVED at both sinks" 15 \
    '[ "$(times_received wecom "$ROBOT" "$rf")" = 1 ] &&
    [ "$(times_received sms "$SMS" "$rf")" = 1 ]'
[ "$rf" -gt 7 ] || fail "the RESOLVED alert has an old id: $rf"
check_no_secrets
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

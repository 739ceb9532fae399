# An incident in a fake daemon reaches the fake WeCom robot and the fake
# SMS gateway exactly once each, repeats are throttled and counted, and a
# resolved message follows when it clears.  Asserts:
#  - a program (a fake web service) whose http probe starts failing raises
#    one "probe" alert, delivered once to each sink (wecom-robot and an
#    ipyy-style http sink with a {secret} password and a success
#    predicate on /returnstatus);
#  - its rule with an alert action fires on every failure: the repeats
#    within the throttle (2 s here) are suppressed, listed as such by
#    chainkeeperctl alerts, and the next one out says how many were
#    suppressed;
#  - when the probe is good again, a RESOLVED message for each incident
#    arrives once at each sink;
#  - a program that crashes to FATAL raises a critical alert once per
#    sink; when it runs again, RESOLVED follows;
#  - chainkeeperctl alerts (text and --json) shows each delivery as sent;
#  - no alert id arrives twice anywhere, and no secret appears in the
#    daemon log, status, -nv output, the alerts listing or state_dir.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"
. "$TESTS_SRCDIR/integration/alerts-lib.sh"

start_fake wecom "$FAKE_WECOM" --key-file "$T/secrets/robot.key"
start_fake sms "$FAKE_SMS" --account ck --password-file "$T/secrets/sms.pass"
# The web service the program "web" stands for: a tiny fake, its probe's
# target, which the test breaks and repairs.
start_fake web "$FAKE_SMS"
WEB_PORT=$(fake_port web)

crashy=$(write_script crashy.sh <<EOF
#!/bin/sh
# Crashes until $T/fixed exists.
[ -f "$T/fixed" ] && exec sleep 600
exit 3
EOF
)

write_config <<EOF
alerts:
  host: testhost
  throttle: 2s
  retry: {initial: 200ms, max: 1s}
  sinks:
    wecom:
      kind: wecom-robot
      key_file: $T/secrets/robot.key
      api_base: http://127.0.0.1:$(fake_port wecom)
    sms:
      kind: http
      url: "http://127.0.0.1:$(fake_port sms)/smsJson.aspx?action=send&userid=&account=ck&password={secret}&mobile=13800001111,13900002222&content={title}: {message} (alert #{id})【链守】&sendTime=&extno="
      secret_file: $T/secrets/sms.pass
      success: {status: 200, json: {pointer: /returnstatus, equals: Success}}
programs:
  web:
    command: [sleep, "600"]
    startsecs: 0
    probes:
      - kind: http
        name: health
        url: http://127.0.0.1:$WEB_PORT/health
        interval: 200ms
        timeout: 150ms
        fall: 2
        rise: 1
    rules:
      - name: web-down
        when: {probe: health, failures: 1}
        do: {alert: {message: "the web service is down", severity: critical}}
        hold_down: 100ms
  crashy:
    command: [$crashy]
    startsecs: 300ms
    startretries: 1
    backoff: {initial: 100ms, jitter: 0}
EOF
start_daemon -v	# debug lines too must hold no secret

ROBOT='.robot[].content'
SMS='.sms[].content'

# The FATAL program: one critical alert, once per sink.
wait_for "crashy FATAL" 15 state_is crashy FATAL
wait_until "the FATAL alert to be raised" 10 '[ -n "$(alert_id "crashy fatal")" ]'
fatal=$(alert_id "crashy fatal")
wait_until "the FATAL alert at both sinks" 15 \
    '[ "$(times_received wecom "$ROBOT" "$fatal")" = 1 ] &&
    [ "$(times_received sms "$SMS" "$fatal")" = 1 ]'
msg=$(fake_state wecom '.robot[].content' | grep -A3 'CRITICAL.*crashy fatal' |
    head -n 4)
assert_match '^\[CRITICAL\] testhost: crashy fatal' "$msg" "robot message"
assert_match 'gave up after 1 start retries' "$msg" "robot message"
sms=$(fake_state sms '.sms[] | select(.content | test("crashy fatal")) |
    .content')
assert_match '^\[CRITICAL\] testhost: crashy fatal: FATAL: exit status 3.*【链守】$' \
    "$sms" "SMS content (URL-encoded in, decoded by the gateway)"
assert_eq "13800001111,13900002222" "$(fake_state sms '.sms[0].mobile')" \
    "SMS mobiles"

# The web service fails: one probe alert; the rule's alert is throttled.
wait_until "web RUNNING and healthy" 15 \
    '[ "$(status_field web health)" = healthy ]'
assert_eq "" "$(alert_id "web")" "alerts about web while it was healthy"
fake_ctl web mode=500
wait_until "the probe alert" 10 '[ -n "$(alert_id "web probe health")" ]'
probe=$(alert_id "web probe health")
wait_until "the probe alert at both sinks" 15 \
    '[ "$(times_received wecom "$ROBOT" "$probe")" = 1 ] &&
    [ "$(times_received sms "$SMS" "$probe")" = 1 ]'
first=$(alert_id "web alert web-down")
[ -n "$first" ] || fail "the rule's alert action raised nothing"
wait_until "suppressed repeats of the rule's alert" 10 \
    '[ "$(alerts_json | jq "[.alerts[] | select(.suppressed)] |
    length")" -ge 2 ]'
out=$(ctl alerts -n 1000)
assert_match 'web alert web-down \(suppressed: a repeat within the throttle\)' \
    "$out" "chainkeeperctl alerts"
# After the throttle window, the next one goes out with the count.
wait_until "an alert carrying suppressed repeats" 15 \
    '[ -n "$(alerts_json | jq -r ".alerts[] | select(.carried > 0) |
    .id" | head -n 1)" ]'
carrier=$(alerts_json | jq -r '.alerts[] | select(.carried > 0) | .id' |
    head -n 1)
n=$(alerts_json | jq -r --argjson id "$carrier" \
    '.alerts[] | select(.id == $id) | .carried')
say "alert #$carrier carries $n suppressed repeats"
wait_until "the carrier at the robot" 15 \
    '[ "$(times_received wecom "$ROBOT" "$carrier")" = 1 ]'
fake_state wecom '.robot[].content' | grep -q "($n repeats suppressed since" ||
    fail "the robot message of #$carrier does not say $n were suppressed"
# Exactly one probe alert while it stays failing.
assert_eq 1 "$(alerts_json | jq '[.alerts[] |
    select(.title | test("web probe health"))] | length')" "probe alerts"

# It recovers: RESOLVED for the probe and for the rule, once per sink.
fake_ctl web mode=ok
wait_until "RESOLVED for the probe" 15 \
    '[ -n "$(alert_id "RESOLVED.*web probe health")" ]'
wait_until "RESOLVED for the rule" 15 \
    '[ -n "$(alert_id "RESOLVED.*web alert web-down")" ]'
rp=$(alert_id "RESOLVED.*web probe health")
rr=$(alert_id "RESOLVED.*web alert web-down")
wait_until "both RESOLVED at both sinks" 15 \
    '[ "$(times_received wecom "$ROBOT" "$rp")" = 1 ] &&
    [ "$(times_received sms "$SMS" "$rp")" = 1 ] &&
    [ "$(times_received wecom "$ROBOT" "$rr")" = 1 ] &&
    [ "$(times_received sms "$SMS" "$rr")" = 1 ]'
fake_state wecom '.robot[].content' | grep -q '^\[RESOLVED\] testhost: web probe health' ||
    fail "no RESOLVED title in the robot messages"

# The FATAL program runs again: RESOLVED.
touch "$T/fixed"
ctl start crashy >/dev/null || fail "crashy did not start"
wait_until "RESOLVED for crashy" 15 \
    '[ -n "$(alert_id "RESOLVED.*crashy fatal")" ]'
rf=$(alert_id "RESOLVED.*crashy fatal")
wait_until "RESOLVED for crashy at both sinks" 15 \
    '[ "$(times_received wecom "$ROBOT" "$rf")" = 1 ] &&
    [ "$(times_received sms "$SMS" "$rf")" = 1 ]'
assert_match 'running again' "$(alerts_json | jq -r --argjson id "$rf" \
    '.alerts[] | select(.id == $id) | .message')" "resolved message"

# Everything that went out went once, and the listing says so.
wait_for "every delivery sent" 15 all_sent
no_duplicates wecom "$ROBOT"
no_duplicates sms "$SMS"
in_order wecom "$ROBOT"
in_order sms "$SMS"
out=$(ctl alerts -n 1000)
assert_match "wecom: sent at [0-9:]+ \(1 attempt\)" "$out" "alerts listing"
assert_match "sms: sent at [0-9:]+ \(1 attempt\)" "$out" "alerts listing"
assert_match "wecom \(wecom-robot\): idle, 0 queued" "$out" "sinks listing"
assert_eq 0 "$(fake_state sms .refused)" "SMS refused (bad password)"
check_no_secrets
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

# The other sink kinds, routes and the summary.  Asserts:
#  - routes: a FATAL (critical) alert goes only where the routes send it
#    (a route by event and minimum severity, another by program glob),
#    and an exit alert of another program goes only to its route;
#  - http: a POST with a JSON body template gets a message with quotes
#    and a newline JSON-escaped (the gateway parses it back intact), a
#    header with the {secret}, and the severity and program in the body;
#  - telegram: sendMessage with the bot token from a file, chat_id and
#    parse_mode HTML;
#  - exec: the script sees the alert in CK_ALERT_* variables (not in its
#    argv); a script that fails the first time is run again; a script that
#    hangs past the sink's timeout is killed and tried again;
#  - chainkeeperctl alerts summary sends the summary to summary.sinks,
#    listing every program and its state;
#  - an OOM kill (a kernel line in a syslog file the oom probe reads, then
#    SIGKILL) raises one critical "oom" alert and no "exit" alert;
#  - alerts test with an unknown sink fails with a message;
#  - -nv shows the alerts section without any secret, a secret-looking
#    header value as (redacted);
#  - no secret appears anywhere.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"
. "$TESTS_SRCDIR/integration/alerts-lib.sh"

start_fake wecom "$FAKE_WECOM" --tg-token-file "$T/secrets/tg.token"
start_fake hook "$FAKE_SMS"
W=$(fake_port wecom)
H=$(fake_port hook)

crashy=$(write_script crashy.sh <<'EOF'
#!/bin/sh
exit 3
EOF
)
quitter=$(write_script quitter.sh <<'EOF'
#!/bin/sh
sleep 0.3
exit 7
EOF
)
# Fails once, then records its environment and argv.
script=$(write_script page.sh <<EOF
#!/bin/sh
if [ ! -f "$T/page.tried" ]; then
	touch "$T/page.tried"
	echo "pager busy"
	exit 1
fi
env | grep '^CK_ALERT_' | sort >"$T/page.env"
echo "\$0 \$*" >"$T/page.argv"
echo "paged"
EOF
)
hang=$(write_script hang.sh <<EOF
#!/bin/sh
n=\$(cat "$T/hang.n" 2>/dev/null || echo 0)
echo \$((n + 1)) >"$T/hang.n"
[ "\$n" -ge 1 ] && exit 0
exec sleep 600
EOF
)

write_config <<EOF
alerts:
  host: testhost
  throttle: 0
  retry: {initial: 200ms, max: 500ms}
  summary: {hours: [7, 19], sinks: [tg]}
  sinks:
    hook:
      kind: http
      method: POST
      url: http://127.0.0.1:$H/hook?sev={severity}
      headers:
        Authorization: "Bearer {secret}"
        X-Api-Token: literal-not-a-placeholder
        X-Program: "{program}"
      body: '{"text": "{message}", "severity": "{severity}", "program": "{program}", "id": {id}}'
      secret_file: $T/secrets/sms.pass
      success: {status: 200, json: {pointer: /ok, equals: true}}
    tg:
      kind: telegram
      token_file: $T/secrets/tg.token
      chat_id: -1001234567
      format: html
      api_base: http://127.0.0.1:$W
    page:
      kind: exec
      command: [$script, --quiet]
      timeout: 5s
    stuck:
      kind: exec
      command: $hang
      timeout: 500ms
    oomlog:
      kind: exec
      command: [sh, -c, 'echo "\$CK_ALERT_EVENT \$CK_ALERT_SEVERITY" >>$T/oom.log']
  routes:
    - {event: fatal, severity: critical, sinks: [hook, tg]}
    - {program: "quit*", event: [exit, oom], sinks: [page]}
    - {program: hog, sinks: [oomlog]}
programs:
  crashy:
    command: [$crashy]
    startsecs: 300ms
    startretries: 0
  quitter:
    command: [$quitter]
    startsecs: 0
    autorestart: false
  hog:
    command: [sleep, "600"]
    startsecs: 0
    autorestart: false
    probes:
      - {kind: oom, syslog: $T/syslog, interval: 300ms, fall: 1, rise: 1}
EOF
: >"$T/syslog"
start_daemon

# Routes.
wait_until "the FATAL alert" 15 '[ -n "$(alert_id "crashy fatal")" ]'
fatal=$(alert_id "crashy fatal")
assert_eq '["hook","tg"]' "$(alerts_json | jq -c --argjson id "$fatal" \
    '[.alerts[] | select(.id == $id) | .deliveries[].sink]')" \
    "sinks of the FATAL alert"
wait_until "the exit alert" 15 '[ -n "$(alert_id "quitter exit")" ]'
quit=$(alert_id "quitter exit")
assert_eq '["page"]' "$(alerts_json | jq -c --argjson id "$quit" \
    '[.alerts[] | select(.id == $id) | .deliveries[].sink]')" \
    "sinks of the exit alert"
wait_for "the routed alerts delivered" 20 all_sent

# http: JSON-escaped body, header with the secret.
req=$(fake_state hook '.webhook[0]')
assert_eq /hook "$(printf '%s' "$req" | jq -r .path)" "webhook path"
assert_eq critical "$(printf '%s' "$req" | jq -r .query.sev)" "query"
body=$(printf '%s' "$req" | jq -r .body)
assert_eq "$fatal" "$(printf '%s' "$body" | jq -r .id)" "id in the body"
assert_eq crashy "$(printf '%s' "$body" | jq -r .program)" "program"
assert_eq crashy "$(printf '%s' "$req" | jq -r '.headers["X-Program"]')" \
    "X-Program header"
[ "$(printf '%s' "$req" | jq -r .headers.Authorization)" = "Bearer $SMS_PASS" ] ||
    fail "the Authorization header does not carry the secret"
# A message with quotes, a backslash and a newline survives the JSON.
ctl alerts test -m 'say "hi" \ and
bye' hook >/dev/null || fail "alerts test hook"
wait_for "the test alert delivered" 15 all_sent
got=$(fake_state hook '.webhook[-1].body' | jq -r .text)
assert_eq 'say "hi" \ and
bye' "$got" "the message after JSON escaping"

# telegram.
tg=$(fake_state wecom '.telegram[0]')
assert_eq -1001234567 "$(printf '%s' "$tg" | jq -r .chat_id)" "chat_id"
assert_eq HTML "$(printf '%s' "$tg" | jq -r .parse_mode)" "parse_mode"
assert_match '^<b>\[CRITICAL\] testhost: crashy fatal</b>' \
    "$(printf '%s' "$tg" | jq -r .text)" "telegram text"

# exec: the environment, retried once.
assert_eq "$quit" "$(sed -n 's/^CK_ALERT_ID=//p' "$T/page.env")" \
    "CK_ALERT_ID"
assert_eq warning "$(sed -n 's/^CK_ALERT_SEVERITY=//p' "$T/page.env")" \
    "CK_ALERT_SEVERITY"
assert_eq quitter "$(sed -n 's/^CK_ALERT_PROGRAM=//p' "$T/page.env")" \
    "CK_ALERT_PROGRAM"
assert_eq exit "$(sed -n 's/^CK_ALERT_EVENT=//p' "$T/page.env")" \
    "CK_ALERT_EVENT"
assert_eq 7 "$(sed -n 's/^CK_ALERT_VALUE=//p' "$T/page.env")" \
    "CK_ALERT_VALUE"
assert_eq page "$(sed -n 's/^CK_ALERT_SINK=//p' "$T/page.env")" \
    "CK_ALERT_SINK"
assert_match '^CK_ALERT_MESSAGE=exited unexpectedly: exit status 7' \
    "$(grep '^CK_ALERT_MESSAGE=' "$T/page.env")" "CK_ALERT_MESSAGE"
assert_eq "$script --quiet" "$(cat "$T/page.argv")" "the script's argv"
assert_eq 2 "$(alerts_json | jq --argjson id "$quit" '.alerts[] |
    select(.id == $id) | .deliveries[0].attempts')" "attempts of the page"
log_has "alert #$quit to page: attempt 1 failed: exit status 1: pager busy" ||
    fail "no log line for the failed page"

# exec: a hanging script is killed at the timeout and run again.
id=$(ctl alerts test -m "stuck" stuck | grep -o '[0-9][0-9]*')
wait_until "#$id delivered by the second run" 15 \
    '[ "$(delivery_state "$id" stuck)" = sent ]'
log_has "alert #$id to stuck: attempt 1 failed: timed out; killed" ||
    fail "no log line for the killed script"
[ -z "$(pgrep -f "$T/hang.sh")" ] || fail "the hung script is still running"

# The summary, now.
ctl alerts summary >/dev/null || fail "alerts summary"
wait_until "the summary at telegram" 15 \
    '[ "$(fake_state wecom ".telegram | length")" -ge 2 ]'
sum=$(fake_state wecom '.telegram[-1].text')
assert_match 'SUMMARY\] testhost: daily summary' "$sum" "summary title"
assert_match 'crashy: FATAL' "$sum" "summary of crashy"
assert_match 'quitter: EXITED' "$sum" "summary of quitter"
assert_match 'hog: RUNNING, healthy, up [0-9]+ s' "$sum" "summary of hog"
assert_match '3 programs, 1 open incidents' "$sum" "summary counts"
assert_match 'open since [0-9-]+ [0-9:]+: crashy fatal$' "$sum" \
    "summary of the open incidents"

# An OOM kill: one critical oom alert, no exit alert.
wait_until "hog RUNNING" 15 'state_is hog RUNNING'
hpid=$(status_field hog pid)
echo "$(date '+%b %e %H:%M:%S') $(hostname) kernel: [12345.678901] Out of memory: Killed process $hpid (sleep) total-vm:8123456kB, anon-rss:5234567kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:11264kB oom_score_adj:0" >>"$T/syslog"
wait_until "the oom probe to see it" 15 \
    '[ "$(status_field hog "probes[0].health")" = failing ]'
kill -9 "$hpid"
wait_until "hog EXITED" 15 'state_is hog EXITED'
wait_until "the oom alert delivered" 15 'grep -q "^oom critical$" "$T/oom.log"'
wait_for "the hog alerts delivered" 15 all_sent
assert_eq 1 "$(alerts_json | jq '[.alerts[] |
    select(.title | test("hog oom"))] | length')" "oom alerts"
assert_eq 0 "$(alerts_json | jq '[.alerts[] |
    select(.title | test("hog exit"))] | length')" "exit alerts of hog"
assert_match 'killed by the OOM killer' "$(alerts_json | jq -r '.alerts[] |
    select(.title | test("hog oom")) | .message')" "oom message"

# Errors and the normalized configuration.
out=$(ctl alerts test nosuch 2>&1) && fail "alerts test nosuch succeeded"
assert_match 'no sink named nosuch' "$out" "alerts test nosuch"
nv=$("$CHAINKEEPERD" -n -v -c "$CFG" 2>/dev/null)
assert_eq '(redacted)' "$(printf '%s' "$nv" |
    jq -r '.alerts.sinks.hook.settings.headers["X-Api-Token"]')" \
    "a secret-looking header in -nv"
assert_eq 'Bearer {secret}' "$(printf '%s' "$nv" |
    jq -r '.alerts.sinks.hook.settings.headers.Authorization')" \
    "a header with a placeholder in -nv"
assert_eq '[7,19]' "$(printf '%s' "$nv" | jq -c .alerts.summary.hours)" \
    "summary hours in -nv"
check_no_secrets
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

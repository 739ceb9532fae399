# The WeCom sinks against the fake WeCom.  Asserts:
#  - a robot's rate limit (3 messages per 2 s here; 20 a minute by
#    default) is never exceeded: a burst of 10 alerts arrives, each once
#    and in order, in fewer messages, some carrying several alerts ("N
#    alerts:"), and the fake never had to answer 45009;
#  - errcode 45009 (rate limited, on demand) is retried once a slot is
#    free, and the alert arrives once;
#  - errcode 93000 (a wrong key in key_file) is retried and shown in
#    chainkeeperctl alerts; once the key file is right again, the alert
#    arrives;
#  - a key file open to group or others is refused by chainkeeperd -n,
#    with its file:line:col;
#  - the app API: gettoken once, the token cached for the next message;
#    an expired token (42001) is renewed and the message sent again; the
#    message goes to to_user joined with | and the agent id;
#  - no key, secret or token appears anywhere.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"
. "$TESTS_SRCDIR/integration/alerts-lib.sh"

# The fake's own copy of the valid key: the test breaks chainkeeperd's.
cp -p "$T/secrets/robot.key" "$T/secrets/valid.key"
start_fake wecom "$FAKE_WECOM" --key-file "$T/secrets/valid.key" \
    --secret-file "$T/secrets/app.secret" --corp-id ww-test-corp \
    --limit 3 --window 2
W=$(fake_port wecom)

write_config <<EOF
alerts:
  host: testhost
  throttle: 0
  retry: {initial: 200ms, max: 1s}
  sinks:
    robot:
      kind: wecom-robot
      key_file: $T/secrets/robot.key
      api_base: http://127.0.0.1:$W
      rate_limit: 3
      rate_window: 2s
      mentioned_list: ["@all"]
    app:
      kind: wecom-app
      corp_id: ww-test-corp
      secret_file: $T/secrets/app.secret
      agent_id: 1000002
      to_user: [zhangsan, lisi]
      api_base: http://127.0.0.1:$W
EOF
start_daemon -v	# debug lines too must hold no secret
ROBOT='.robot[].content'

# A burst: batched, never over the limit.
first=$(ctl alerts test -m "burst 1" robot | grep -o '[0-9][0-9]*')
for i in $(seq 2 10); do
	ctl alerts test -m "burst $i" robot >/dev/null || fail "test $i"
done
wait_for "the burst delivered" 30 all_sent
got=$(received_ids wecom "$ROBOT")
for id in $(seq "$first" $((first + 9))); do
	assert_eq 1 "$(printf '%s\n' "$got" | grep -cx "$id")" \
	    "alert #$id at the robot"
done
no_duplicates wecom "$ROBOT"
in_order wecom "$ROBOT"
msgs=$(fake_state wecom '.robot | length')
say "10 alerts in $msgs robot messages"
[ "$msgs" -lt 10 ] || fail "nothing was combined ($msgs messages)"
fake_state wecom '.robot[].content' | grep -Eq '^[0-9]+ alerts:$' ||
    fail "no message carries several alerts"
assert_eq 0 "$(fake_state wecom .ratelimited)" "45009 answers"
# No 2 s window holds more than 3 messages.
over=$(fake_state wecom '[.robot[].time] as $t | [range(0; $t | length) as
    $i | [$t[] | select(. >= $t[$i] and . < $t[$i] + 2)] | length] | max')
[ "$over" -le 3 ] || fail "$over messages within 2 s"
assert_eq '["@all"]' "$(fake_state wecom '.robot[0].mentioned_list' |
    jq -c .)" "mentioned_list"

# 45009 on demand: retried when a slot is free, delivered once.
fake_ctl wecom ratelimit=1
id=$(ctl alerts test -m "rate limited" robot | grep -o '[0-9][0-9]*')
wait_until "#$id sent after a 45009" 15 \
    '[ "$(delivery_state "$id" robot)" = sent ]'
assert_eq 1 "$(fake_state wecom .ratelimited)" "45009 answers"
assert_eq 1 "$(times_received wecom "$ROBOT" "$id")" "#$id at the robot"
assert_eq 2 "$(alerts_json | jq --argjson id "$id" '.alerts[] |
    select(.id == $id) | .deliveries[0].attempts')" "attempts of #$id"
log_has "alert #$id to robot: attempt 1 failed: errcode 45009 \(rate limited\)" ||
    fail "no log line for the 45009"

# A wrong key (93000): retried, visible, delivered once it is right.
(umask 077; echo "wrong-key" >"$T/secrets/robot.key")
id=$(ctl alerts test -m "wrong key" robot | grep -o '[0-9][0-9]*')
wait_until "#$id rejected twice" 15 \
    '[ "$(fake_state wecom .rejected)" -ge 2 ]'
wait_until "the listing to show why (between two attempts)" 10 \
    "ctl alerts -n 5 | grep -Eq \"robot: retrying \\([0-9]+ attempts.*errcode 93000 \\(the robot's key is wrong\\)\""
(umask 077; printf '%s\n' "$ROBOT_KEY" >"$T/secrets/robot.key")
wait_until "#$id sent with the right key" 15 \
    '[ "$(delivery_state "$id" robot)" = sent ]'
assert_eq 1 "$(times_received wecom "$ROBOT" "$id")" "#$id at the robot"

# A key file open to others is refused at load.
chmod 644 "$T/secrets/robot.key"
out=$("$CHAINKEEPERD" -n -c "$CFG" 2>&1) && fail "-n accepted a 0644 key file"
assert_match "$CFG:[0-9]+:[0-9]+: alerts: sink robot \(wecom-robot\): .*robot.key is open to its group or others \(mode 0644\)" \
    "$out" "-n with a 0644 key file"
chmod 600 "$T/secrets/robot.key"

# The app API: one token, cached; renewed when expired.
id=$(ctl alerts test -m "app 1" app | grep -o '[0-9][0-9]*')
wait_until "#$id sent to the app" 15 '[ "$(delivery_state "$id" app)" = sent ]'
id=$(ctl alerts test -m "app 2" app | grep -o '[0-9][0-9]*')
wait_until "#$id sent to the app" 15 '[ "$(delivery_state "$id" app)" = sent ]'
assert_eq 1 "$(fake_state wecom .gettoken_calls)" "gettoken calls (cached)"
fake_ctl wecom expire_tokens=1
id=$(ctl alerts test -m "app 3" app | grep -o '[0-9][0-9]*')
wait_until "#$id sent to the app" 15 '[ "$(delivery_state "$id" app)" = sent ]'
assert_eq 2 "$(fake_state wecom .gettoken_calls)" "gettoken calls (renewed)"
assert_eq 1 "$(fake_state wecom .expired_replies)" "42001 answers"
assert_eq 3 "$(fake_state wecom '.app | length')" "app messages"
assert_eq "zhangsan|lisi" "$(fake_state wecom '.app[0].touser')" "touser"
assert_eq 1000002 "$(fake_state wecom '.app[0].agentid')" "agentid"
assert_match 'app 3' "$(fake_state wecom '.app[2].content')" "app message"
no_duplicates wecom '.app[].content'
check_no_secrets
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

# Rules and actions: a rule on a failing probe climbs its ladder (exec
# twice, with the hold-down between, then one alert, then nothing while
# every window is full); the journal keeps all of it across a restart of
# chainkeeperd, so the ladder stays used up; hold pauses the rules and
# release ends it; --dry-run journals what would run and runs nothing; an
# action a crash interrupted is reported and not run again: its rule
# waits until release acknowledges it.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

port=$(free_port)
fired=$T/fired
mkdir -p "$T/www"
write_rules() {
	write_config <<EOF
programs:
  web:
    command: [python3, -m, http.server, --bind, 127.0.0.1, "$port"]
    directory: $T/www
    startsecs: 0
    probes:
      - kind: http
        name: page
        url: http://127.0.0.1:$port/missing
        interval: 300ms
        fall: 1
    rules:
      - name: page-broken
        when: {probe: page, failures: 2}
        hold_down: 3s
        steps:
          - do: {exec: [sh, -c, 'echo "\$CHAINKEEPER_RULE \$CHAINKEEPER_PROGRAM" >> $fired; \$1', sh, "${1:-true}"]}
            max: 2
            within: 10m
          - do: {alert: "web keeps failing"}
            max: 1
            within: 10m
EOF
}
fires() { [ -f "$fired" ] && wc -l <"$fired" || echo 0; }

write_rules
start_daemon
wait_until "the first run of the rule" 15 '[ "$(fires)" = 1 ]'
t1=$(log_ms 'rule page-broken fires \(step 1\)' 1)
wait_until "the second run" 15 '[ "$(fires)" = 2 ]'
t2=$(log_ms 'rule page-broken fires \(step 1\)' 2)
[ $((t2 - t1)) -ge 2900 ] || fail "second run $((t2 - t1)) ms after the first, inside the 3 s hold-down"
assert_eq "page-broken web" "$(head -n 1 "$fired")" "the exec's environment"
wait_for "the alert step" 15 log_has 'ALERT web: web keeps failing'
wait_for "the ladder used up" 15 log_has 'every step of its ladder is used up'
n=$(fires)
sleep 4		# longer than the hold-down: nothing may run any more
assert_eq "$n" "$(fires)" "runs after the ladder was used up"
assert_eq 1 "$(log_count 'ALERT web')" "alerts"
hist=$(ctl history web)
assert_match 'fire \(step 1\)' "$hist" "history"
assert_match 'end exec ok' "$hist" "history"
assert_match 'end alert ok' "$hist" "history"
assert_eq 3 "$(ctl history --json web | jq '[.[] | select(.event == "fire")] | length')" "fire records"

# The journal holds across a restart: the ladder stays used up.
stop_daemon
start_daemon
wait_for "the probe failing again" 10 eval \
    '[ "$(status_field web "probes[0].consecutive_failures")" -ge 3 ]'
sleep 4
assert_eq "$n" "$(fires)" "runs after a restart of chainkeeperd"
assert_eq 3 "$(ctl history --json web | jq '[.[] | select(.event == "fire")] | length')" "fire records after restart"

# hold / release.
ctl hold web 10m >/dev/null || fail "hold"
assert_ne null "$(status_field web held_until)" "held_until"
ctl release web >/dev/null || fail "release"
assert_eq null "$(status_field web held_until)" "held_until after release"
stop_daemon

# --dry-run: journaled, not run.
rm -rf "$STATE" "$fired"
write_rules
start_daemon --dry-run
wait_for "a dry run" 15 log_has 'dry run: would run exec'
sleep 1
[ ! -f "$fired" ] || fail "--dry-run ran the action"
assert_eq true "$(ctl history --json web | jq '[.[] | select(.event == "fire")][0].dry_run')" "dry_run in the journal"
stop_daemon

# A crash in the middle of an action: reported, not run again.
rm -rf "$STATE" "$fired"
write_rules "exec sleep 60.$$"
start_daemon
wait_until "the long action to start" 15 '[ "$(fires)" = 1 ]'
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=
pkill -f "sleep 60.$$" 2>/dev/null
start_daemon
wait_for "the interrupted action reported" 10 log_has 'was interrupted and is NOT run again'
assert_match 'interrupted by a crash' "$(ctl history web)" "history"
sleep 3.5
assert_eq 1 "$(fires)" "runs of the interrupted action"
log_has 'an earlier run was interrupted by a crash: not acting' ||
    fail "the blocked rule did not say why"
# release acknowledges it: the rule may act again.
ctl release web >/dev/null || fail "release"
wait_until "the rule to act again after release" 15 '[ "$(fires)" = 2 ]'
pkill -f "sleep 60.$$" 2>/dev/null
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

# Configuration errors: `chainkeeperd -n` on configs with an unknown key, a
# wrong type, a bad duration, a bad size, an unknown depends_on, a cycle,
# a YAML syntax error and an error in an included file exits non-zero and
# reports every error as file:line:col: message (all errors of a file, not
# just the first).  -n on a good config exits 0; -nv prints the normalized
# config with secret-looking environment values redacted.  Starting the
# daemon on a bad config fails with the same messages.
. "$(dirname "$0")/lib.sh" || exit 99

# check_bad FILE EXPECTED...: -n fails, every error line is file:line:col,
# and each EXPECTED ("line:col: regex") is among them; the number of error
# lines equals the number of EXPECTED.
check_bad() {
	local f=$1 out rc e errs n
	shift
	out=$("$CHAINKEEPERD" -n -c "$f" 2>&1)
	rc=$?
	[ $rc != 0 ] || fail "chainkeeperd -n accepted $(basename "$f")"
	errs=$(printf '%s\n' "$out" | grep -v 'configuration not valid$')
	while IFS= read -r e; do
		case $e in
		"$f":[0-9]*:[0-9]*:\ ?*) ;;
		*/conf.d/*.yaml:[0-9]*:[0-9]*:\ ?*) ;;
		*) fail "$(basename "$f"): not file:line:col: message: $e" ;;
		esac
	done <<<"$errs"
	for e in "$@"; do
		case $e in
		/*) assert_match "^$e" "$errs" "errors of $(basename "$f")" ;;
		*) assert_match "^$f:$e" "$errs" "errors of $(basename "$f")" ;;
		esac
	done
	n=$(printf '%s\n' "$errs" | grep -c .)
	assert_eq $# "$n" "number of errors reported for $(basename "$f")"
	printf '%s\n' "$out" | tail -n 1 | grep -q 'configuration not valid' ||
	    fail "$(basename "$f"): no final 'configuration not valid' line"
	say "$(basename "$f"): rc $rc, $n errors as expected"
}

header() {
	printf 'state_dir: %s\ncontrol:\n  socket: %s\n' "$STATE" "$SOCK"
}

# 1 state_dir 2 control 3 socket 4...
{ header; cat <<'EOF'; } >"$T/unknown.yaml"
colour: blue
programs:
  node:
    command: sleep 100
    restart_policy: always
    stdout_logfile: AUTO
    frobnicate: 1
EOF
check_bad "$T/unknown.yaml" \
    '4:1: unknown key "colour"' \
    '8:5: program "node": unknown setting "restart_policy"' \
    '10:5: program "node": unknown setting "frobnicate"'

{ header; cat <<'EOF'; } >"$T/types.yaml"
programs:
  node:
    command: sleep 100
    autostart: maybe
    priority: high
    environment: [A, B]
    exitcodes: zero
    startretries: [1]
EOF
check_bad "$T/types.yaml" \
    '7:16: autostart: expected true or false, not "maybe"' \
    '8:15: priority: expected an integer, not "high"' \
    '9:18: environment must be a map' \
    '10:16: exitcodes: "zero" is not an exit code' \
    '11:19: startretries must be a scalar'

{ header; cat <<'EOF'; } >"$T/duration.yaml"
programs:
  node:
    command: sleep 100
    startsecs: 5parsecs
    stopwaitsecs: -1s
    backoff:
      initial: soon
EOF
check_bad "$T/duration.yaml" \
    '7:16: startsecs: unknown duration unit' \
    '8:19: stopwaitsecs: expected a duration' \
    '10:16: backoff.initial: expected a duration'

{ header; cat <<'EOF'; } >"$T/size.yaml"
programs:
  node:
    command: sleep 100
    stdout_logfile_maxbytes: 12XB
    stderr_logfile_maxbytes: lots
EOF
check_bad "$T/size.yaml" \
    '7:30: stdout_logfile_maxbytes: unknown size unit' \
    '8:30: stderr_logfile_maxbytes: expected a size'

{ header; cat <<'EOF'; } >"$T/depends.yaml"
programs:
  node:
    command: sleep 100
    depends_on: [chaindb, node]
  chaindb:
    command: sleep 100
  wallet:
    command: sleep 100
    depends_on: keosd
EOF
check_bad "$T/depends.yaml" \
    '5:3: program "node" depends on itself' \
    '5:3: program "node": depends_on forms a cycle' \
    '10:3: program "wallet" depends on "keosd", which is not defined'

{ header; cat <<'EOF'; } >"$T/cycle.yaml"
programs:
  a:
    command: sleep 100
    depends_on: [b]
  b:
    command: sleep 100
    depends_on: [c]
  c:
    command: sleep 100
    depends_on: [a]
  d:
    command: sleep 100
    depends_on: [a]
EOF
# d is not in the cycle, but depends on it: it may or may not be named.
out=$("$CHAINKEEPERD" -n -c "$T/cycle.yaml" 2>&1) && fail "a cycle was accepted"
for e in '5:3: program "a": depends_on forms a cycle' \
    '8:3: program "b": depends_on forms a cycle' \
    '11:3: program "c": depends_on forms a cycle'; do
	assert_match "^$T/cycle.yaml:$e" "$out" "cycle errors"
done

{ header; cat <<'EOF'; } >"$T/syntax.yaml"
programs:
  node:
    command: [sleep, 100
    autostart: true
EOF
out=$("$CHAINKEEPERD" -n -c "$T/syntax.yaml" 2>&1) && fail "a YAML error was accepted"
assert_match "^$T/syntax.yaml:[0-9]+:[0-9]+: " "$out" "YAML syntax error"
say "syntax.yaml: $(printf '%s\n' "$out" | head -n 1)"

# Errors in an included file carry that file's name; the main file's too.
mkdir "$T/conf.d"
{ header; cat <<'EOF'; } >"$T/main.yaml"
include: conf.d/*.yaml
programs:
  node:
    command: sleep 100
    autorestart: sometimes
EOF
cat >"$T/conf.d/extra.yaml" <<'EOF'
programs:
  miner:
    command: sleep 100
    stopsignal: SIGFOO
  wallet:
    command: sleep 100
    depends_on: [nothere]
EOF
check_bad "$T/main.yaml" \
    '8:18: autorestart: expected true or false' \
    "$T/conf.d/extra.yaml:4:17: stopsignal: unknown signal \"SIGFOO\"" \
    "$T/conf.d/extra.yaml:5:3: program \"wallet\" depends on \"nothere\""

# Everything at once: all errors are reported, in one run.
{ header; cat <<'EOF'; } >"$T/many.yaml"
bogus: 1
programs:
  a:
    command: sleep 100
    autostart: maybe
    startsecs: 5parsecs
    stdout_logfile_maxbytes: 12XB
    depends_on: [nosuch]
    wat: 1
  b:
    command: sleep 100
    depends_on: [b2]
  b2:
    command: sleep 100
    depends_on: [b]
EOF
check_bad "$T/many.yaml" \
    '4:1: unknown key "bogus"' \
    '8:16: autostart: expected true or false' \
    '9:16: startsecs: unknown duration unit' \
    '10:30: stdout_logfile_maxbytes: unknown size unit' \
    '12:5: program "a": unknown setting "wat"' \
    '6:3: program "a" depends on "nosuch", which is not defined' \
    '13:3: program "b": depends_on forms a cycle' \
    '16:3: program "b2": depends_on forms a cycle'

# A good config: -n exits 0; -nv prints it normalized, secrets redacted.
SECRET=hunter2-$$-s3cr3t
{ header; cat <<EOF; } >"$T/good.yaml"
programs:
  node:
    command: nodeos --data-dir "/srv/eos data" -e
    startsecs: 2s
    stopwaitsecs: 1m
    stdout_logfile_maxbytes: 50MB
    environment:
      RPC_USER: alice
      RPC_PASSWORD: $SECRET
      API_TOKEN: $SECRET
      SIGNING_KEY: $SECRET
      CHAIN_ID: mainnet
EOF
out=$("$CHAINKEEPERD" -n -c "$T/good.yaml" 2>&1) ||
    fail "chainkeeperd -n rejected a good config: $out"
assert_match 'configuration OK' "$out" "-n on a good config"
out=$("$CHAINKEEPERD" -nv -c "$T/good.yaml" 2>"$T/nv.err") ||
    fail "chainkeeperd -nv failed: $(cat "$T/nv.err")"
printf '%s' "$out" | jq -e . >/dev/null || fail "-nv output is not JSON: $out"
env_json=$(printf '%s' "$out" | jq -c '.programs.node.environment')
say "-nv environment: $env_json"
for k in RPC_PASSWORD API_TOKEN SIGNING_KEY; do
	assert_eq "(redacted)" "$(printf '%s' "$out" | jq -r ".programs.node.environment.$k")" \
	    "-nv value of $k"
done
assert_eq alice "$(printf '%s' "$out" | jq -r .programs.node.environment.RPC_USER)" \
    "-nv value of RPC_USER"
assert_eq mainnet "$(printf '%s' "$out" | jq -r .programs.node.environment.CHAIN_ID)" \
    "-nv value of CHAIN_ID"
if printf '%s\n' "$out" "$(cat "$T/nv.err")" | grep -q -- "$SECRET"; then
	fail "the secret value appears in the output of -nv"
fi
# Normalized: durations in ms, sizes in bytes, the command split.
assert_eq 2000 "$(printf '%s' "$out" | jq -r .programs.node.startsecs_ms)" "startsecs_ms"
assert_eq 60000 "$(printf '%s' "$out" | jq -r .programs.node.stopwaitsecs_ms)" "stopwaitsecs_ms"
assert_eq 52428800 "$(printf '%s' "$out" | jq -r .programs.node.stdout_logfile.maxbytes)" \
    "stdout_logfile.maxbytes"
assert_eq '["nodeos","--data-dir","/srv/eos data","-e"]' \
    "$(printf '%s' "$out" | jq -c .programs.node.command)" "command"

# The daemon itself refuses a bad config, with the same messages, and
# creates no socket.
n_out=$("$CHAINKEEPERD" -n -c "$T/many.yaml" 2>&1)
d_out=$(CK_TEST_DIR=$T timeout 20 "$CHAINKEEPERD" -c "$T/many.yaml" 2>&1)
rc=$?
[ $rc != 0 ] && [ $rc != 124 ] ||
    fail "chainkeeperd started on a bad config (rc $rc)"
assert_eq "$n_out" "$d_out" "messages of chainkeeperd -c vs -n"
[ -e "$SOCK" ] && fail "chainkeeperd created its socket with a bad config"
# Also with -d: the parent reports the failure.
d_out=$(CK_TEST_DIR=$T timeout 20 "$CHAINKEEPERD" -d -c "$T/many.yaml" 2>&1)
rc=$?
[ $rc != 0 ] && [ $rc != 124 ] || fail "chainkeeperd -d on a bad config: rc $rc"
assert_eq "$n_out" "$d_out" "messages of chainkeeperd -d -c vs -n"
# A missing file is an error too, naming the file.
out=$("$CHAINKEEPERD" -n -c "$T/nonexistent.yaml" 2>&1) &&
    fail "a missing config file was accepted"
assert_match "$T/nonexistent.yaml: No such file or directory" "$out" "missing file"

# A program that runs as another user (here the attacker, as a program's
# user) gets a clean environment: its own environment:, HOME, USER,
# LOGNAME and PATH for that user, the locale and time zone, and the
# CHAINKEEPER_ variables; not chainkeeperd's (an EnvironmentFile of the
# daemon may hold secrets).  inherit_environment: true keeps the old way,
# and a program without user: is unchanged.
. "$(dirname "$0")/seclib.sh" || exit 99

mkdir "$T/out"
chown "$ATK" "$T/out"
dump=$(write_script dump.sh <<'EOF'
#!/bin/sh
env >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
exec sleep 100000
EOF
)
write_config <<EOF
programs:
$CRASHER_CONFIG
  clean:
    command: $dump
    user: $ATK
    environment: {OUT: $T/out/clean.env, OWN: mine}
  rootprog:
    command: $dump
    environment: {OUT: $T/out/root.env}
EOF
export DAEMON_ENV_SECRET=from-envfile-s3cr3t LANG=C.UTF-8 OLDPWD=/root
start_daemon
unset DAEMON_ENV_SECRET OLDPWD
for f in clean root; do
	wait_until "$f.env" 20 "[ -s '$T/out/$f.env' ]"
done
from=$(($(log_lines) + 1))
clean=$(cat "$T/out/clean.env")
say "the clean program's variables: $(cut -d= -f1 <<<"$clean" | sort | xargs)"
assert_nomatch "s3cr3t" "$clean" "environment of a user: program"
assert_nomatch "^OLDPWD=" "$clean" "environment of a user: program"
assert_match "^PATH=/usr/local/bin:/usr/bin:/bin$" "$clean" "PATH"
assert_match "^USER=$ATK$" "$clean" "USER"
assert_match "^LOGNAME=$ATK$" "$clean" "LOGNAME"
assert_match "^HOME=" "$clean" "HOME"
assert_match "^LANG=C.UTF-8$" "$clean" "LANG"
assert_match "^OWN=mine$" "$clean" "the program's own variable"
assert_match "^CHAINKEEPER_PROGRAM=clean$" "$clean" "CHAINKEEPER_PROGRAM"
assert_match "^CHAINKEEPER_INSTANCE=" "$clean" "CHAINKEEPER_INSTANCE"
# inherit_environment: true, added by a reload.
cp "$CFG" "$CFG.new"
cat >>"$CFG.new" <<EOF
  inherit:
    command: $dump
    user: $ATK
    inherit_environment: true
    environment: {OUT: $T/out/inherit.env}
EOF
mv "$CFG.new" "$CFG"
ctl reload >/dev/null || fail "reload with inherit_environment failed"
wait_until "inherit.env" 20 "[ -s '$T/out/inherit.env' ]"
assert_match "DAEMON_ENV_SECRET=from-envfile-s3cr3t" \
    "$(cat "$T/out/inherit.env")" "inherit_environment: true"
assert_match "DAEMON_ENV_SECRET=from-envfile-s3cr3t" \
    "$(cat "$T/out/root.env")" "a program without user:"
wait_until "two crasher restarts" 20 '[ "$(crashes)" -ge 2 ]'
figure "clean environment for user: programs"
stop_daemon

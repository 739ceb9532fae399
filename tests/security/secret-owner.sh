# A secret file (a sink's secret_file) that the attacker owns is refused,
# even with mode 0600: its owner could rewrite it and send the alerts, or
# root's requests, wherever it likes.  The baseline checked the mode only.
. "$(dirname "$0")/seclib.sh" || exit 99

mkdir -m 711 "$T/secrets"
echo "sms-password-1234" >"$T/secrets/sms.pass"
chmod 600 "$T/secrets/sms.pass"
H=$(free_port)
write_config <<EOF
alerts:
  host: testhost
  sinks:
    hook:
      kind: http
      method: POST
      url: http://127.0.0.1:$H/hook?pw={secret}
      secret_file: $T/secrets/sms.pass
  routes:
    - {event: fatal, sinks: [hook]}
programs:
$CRASHER_CONFIG
EOF
out=$("$CHAINKEEPERD" -n -c "$CFG" 2>&1) ||
    fail "a root 0600 secret file was refused: $out"

chown "$ATK" "$T/secrets/sms.pass"
# The attacker can now rewrite it.
as_atk sh -c "echo attacker-value >'$T/secrets/sms.pass'" ||
    fail "the attacker could not write its file"
out=$("$CHAINKEEPERD" -n -c "$CFG" 2>&1) &&
    fail "a secret file owned by the attacker was accepted: $out"
say "secret file owned by the attacker: $(head -n 1 <<<"$out")"
assert_match "sms.pass is owned by uid $ATK_UID" "$out" "the error"

# A running daemon does not take it on a reload either.
chown root "$T/secrets/sms.pass"
start_daemon
wait_until "a first crasher restart" 20 '[ "$(crashes)" -ge 1 ]'
from=$(($(log_lines) + 1))
chown "$ATK" "$T/secrets/sms.pass"
out=$(ctl reload 2>&1) && fail "reload accepted the attacker's secret file"
assert_match "owned by uid $ATK_UID" "$out" "the reload error"
n=$(crashes)
wait_until "the crasher to restart after the reload" 20 \
    "[ \$(crashes) -ge $((n + 1)) ]"
figure "secret file owned by the attacker" "$from"
stop_daemon

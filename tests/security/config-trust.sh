# Files the attacker owns or can write never become configuration: a
# config file it owns, a world-writable config file, an include it wrote
# into a world-writable conf.d, an include in a folder it owns, and a
# root-owned include in that folder are each refused with the file and
# its owner and mode (as sshd's StrictModes does).  A reload that meets
# such an include keeps the running configuration.  -nv redacts
# secret-looking variables and URL passwords.
. "$(dirname "$0")/seclib.sh" || exit 99

evil=$(write_script evil.sh <<'EOF'
#!/bin/sh
touch "$0.ran"
exec sleep 100000
EOF
)

# check_refused WHAT FILE REGEX: chainkeeperd -n refuses $CFG, naming
# FILE and matching REGEX.
check_refused() {
	local out
	out=$(timeout 20 "$CHAINKEEPERD" -n -c "$CFG" 2>&1) &&
	    fail "$1: accepted: $out"
	say "$1: $(head -n 1 <<<"$out")"
	assert_match "$2: .*$3" "$out" "$1: the error"
}

write_config <<EOF
programs:
$CRASHER_CONFIG
EOF
"$CHAINKEEPERD" -n -c "$CFG" >/dev/null 2>&1 ||
    fail "a root 0644 config was refused"

# The attacker owns the config file.
chown "$ATK" "$CFG"
check_refused "config owned by the attacker" "$CFG" "owned by uid $ATK_UID"
chown root "$CFG"

# A world-writable config file.
chmod 666 "$CFG"
check_refused "world-writable config" "$CFG" "mode 0666"
chmod 644 "$CFG"

# An include the attacker wrote into a world-writable conf.d.
mkdir -m 777 "$T/conf.d"
chmod 777 "$T/conf.d"
as_atk sh -c "printf 'programs:\n  evil:\n    command: $evil\n' \
    >'$T/conf.d/evil.yaml'" || fail "the attacker could not write conf.d"
write_config <<EOF
include: conf.d/*.yaml
programs:
$CRASHER_CONFIG
EOF
check_refused "attacker's include" "$T/conf.d/evil.yaml" \
    "(owned by uid $ATK_UID|folder .* mode 0777)"

# A root include in a folder the attacker owns (it can swap the file).
rm -f "$T/conf.d/evil.yaml"
chmod 755 "$T/conf.d"
chown "$ATK" "$T/conf.d"
printf 'programs:\n  evil:\n    command: %s\n' "$evil" >"$T/conf.d/evil.yaml"
check_refused "include in the attacker's folder" "$T/conf.d/evil.yaml" \
    "folder $T/conf.d is owned by uid $ATK_UID"

# A running daemon: a reload that meets the attacker's include fails and
# changes nothing.
chown root "$T/conf.d"
rm -f "$T/conf.d/evil.yaml"
start_daemon
wait_until "a first crasher restart" 20 '[ "$(crashes)" -ge 1 ]'
from=$(($(log_lines) + 1))
chmod 777 "$T/conf.d"
as_atk sh -c "printf 'programs:\n  evil:\n    command: $evil\n' \
    >'$T/conf.d/evil.yaml'" || fail "the attacker could not write conf.d"
out=$(ctl reload 2>&1) && fail "reload accepted the attacker's include: $out"
say "reload: $(head -n 1 <<<"$out")"
assert_match "evil.yaml" "$out" "the reload error"
ctl status evil >/dev/null 2>&1 && fail "the attacker's program exists"
[ -e "$evil.ran" ] && fail "the attacker's program ran as root"
wait_until "another crasher restart" 20 \
    "[ \$(crashes) -ge \$(( $(crashes) + 1 )) ]"
figure "untrusted config and includes" "$from"
stop_daemon
rm -f "$T/conf.d/evil.yaml"

# -nv: secret-looking names and URL passwords are not printed.
write_config <<EOF
programs:
  node:
    command: /bin/true
    environment:
      RPC_PW: pw-value-1
      WALLET_SEED: seed-value-2
      MNEMONIC: words-value-3
      DATABASE_URL: postgres://user:url-pass-4@db/x
      PLAIN: visible-value
EOF
out=$("$CHAINKEEPERD" -nv -c "$CFG" 2>&1) || fail "-nv failed: $out"
assert_match "visible-value" "$out" "-nv output"
for v in pw-value-1 seed-value-2 words-value-3 url-pass-4; do
	assert_nomatch "$v" "$out" "-nv output"
done
out=$("$CHAINKEEPERD" -nv --show-secrets -c "$CFG" 2>&1) ||
    fail "-nv --show-secrets failed: $out"
assert_match "url-pass-4" "$out" "-nv --show-secrets output"

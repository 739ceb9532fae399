# Hostile YAML is refused fast, before the document is built: 100,000
# levels of flow nesting (the baseline took 36 s, blocking the loop on a
# reload), a mapping of 150,000 keys (the duplicate check was quadratic),
# and a file over 16 MB.  Here the attacker wrote the files and root's
# copies are loaded (an operator's mistake; an include in a folder the
# attacker can write is refused anyway).  Each error says which limit.
. "$(dirname "$0")/seclib.sh" || exit 99

mkdir "$T/y"
chown "$ATK" "$T/y"
as_atk "$PYTHON" - "$T/y" <<'EOF' || fail "the attacker could not write"
import sys
d = sys.argv[1]
with open(d + "/deep.yaml", "w") as f:
    f.write("programs:\n  a:\n    command: /bin/true\n    environment: ")
    f.write("[" * 100000 + "]" * 100000 + "\n")
with open(d + "/wide.yaml", "w") as f:
    f.write("programs:\n  a:\n    command: /bin/true\n    environment:\n")
    for i in range(150000):
        f.write("      K%d: v\n" % i)
with open(d + "/big.yaml", "w") as f:
    f.write("programs:\n  a:\n    command: /bin/true\n    environment:\n")
    f.write("      K: \"" + "x" * (17 * 1024 * 1024) + "\"\n")
EOF
# The files are the attacker's: root's copies go through the checks.
for f in deep wide big; do
	cp "$T/y/$f.yaml" "$T/$f.yaml"
done

# check_fast FILE REGEX: -n refuses FILE within 10 s (scaled), saying REGEX.
check_fast() {
	local rc=0 t0 t1 out limit
	limit=$(awk -v s="${CK_TIMEOUT_SCALE:-1}" 'BEGIN { printf "%d", 10 * s }')
	t0=$(now_ms)
	out=$(timeout "$limit" "$CHAINKEEPERD" -n -c "$1" 2>&1) || rc=$?
	t1=$(now_ms)
	say "$(basename "$1"): rc $rc in $((t1 - t0)) ms: $(head -n 1 <<<"$out")"
	echo "FIGURE: chainkeeperd -n on $(basename "$1"): $((t1 - t0)) ms"
	[ "$rc" != 124 ] || fail "$1: not refused within $limit s"
	assert_ne 0 "$rc" "$1: exit status"
	assert_match "$2" "$out" "$1: the error"
}
check_fast "$T/big.yaml" "larger than 16 MB"
check_fast "$T/deep.yaml" "nested more than 64 levels deep"
check_fast "$T/wide.yaml" "more than 100000 nodes"

# A reload of the deep file does not stall supervision.
write_config <<EOF
programs:
$CRASHER_CONFIG
EOF
start_daemon
wait_until "a first crasher restart" 20 '[ "$(crashes)" -ge 1 ]'
from=$(($(log_lines) + 1))
cp "$CFG" "$T/good.yaml"
{ cat "$T/good.yaml"; tail -n +2 "$T/deep.yaml" | sed 's/^  a:/  b:/'; } \
    >"$CFG.tmp" && mv "$CFG.tmp" "$CFG"
out=$(ctl reload 2>&1) && fail "the deep reload was accepted"
assert_match "nested more than 64 levels deep" "$out" "the reload error"
n=$(crashes)
wait_until "the crasher to restart after the reload" 20 \
    "[ \$(crashes) -ge $((n + 1)) ]"
gap=$(max_gap "$from")
figure "hostile YAML reload" "$from"
[ "$gap" -lt 2000 ] || fail "a respawn took $gap ms around the reload"
stop_daemon

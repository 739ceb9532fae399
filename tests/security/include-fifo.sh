# An include that names a FIFO (here one the attacker owns and never
# writes) is refused at once as "not a regular file": chainkeeperd -n and
# a reload return, and supervision goes on (the baseline waited on the
# FIFO for ever, the loop with it on a reload).
. "$(dirname "$0")/seclib.sh" || exit 99

mkdir "$T/conf.d"
mkfifo "$T/conf.d/pipe.yaml"
chown "$ATK" "$T/conf.d/pipe.yaml"
write_config <<EOF
include: conf.d/*.yaml
programs:
$CRASHER_CONFIG
EOF
t0=$(now_ms)
rc=0
out=$(timeout 20 "$CHAINKEEPERD" -n -c "$CFG" 2>&1) || rc=$?
t1=$(now_ms)
say "chainkeeperd -n with a FIFO include: rc $rc in $((t1 - t0)) ms: $out"
[ "$rc" != 124 ] || fail "chainkeeperd -n hung on the FIFO include"
assert_ne 0 "$rc" "exit status of -n"
assert_match "pipe.yaml: not a regular file" "$out" "the error"

# A running daemon: the FIFO appears, then a reload.
rm -f "$T/conf.d/pipe.yaml"
start_daemon
wait_until "a first crasher restart" 20 '[ "$(crashes)" -ge 1 ]'
from=$(($(log_lines) + 1))
mkfifo "$T/conf.d/pipe.yaml"
chown "$ATK" "$T/conf.d/pipe.yaml"
rc=0
out=$(timeout 20 "$CHAINKEEPERCTL" -s "$SOCK" -t 15 reload 2>&1) || rc=$?
say "reload with a FIFO include: rc $rc: $out"
[ "$rc" != 124 ] || fail "the reload hung on the FIFO include"
assert_match "not a regular file" "$out" "the reload error"
n=$(crashes)
wait_until "the crasher to restart after the reload" 20 \
    "[ \$(crashes) -ge $((n + 1)) ]"
gap=$(max_gap "$from")
figure "FIFO include" "$from"
[ "$gap" -lt 2000 ] || fail "a respawn took $gap ms during the reload"
stop_daemon

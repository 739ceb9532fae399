# The action journal (state_dir/journal.jsonl) records what the rules did
# and is 0600.  When it grows past 4 MB it is compacted: rewritten and
# renamed over the old one.  The new file must be 0600 too, so that in a
# state_dir other users may enter (0755, as a package may make it) the
# attacker still cannot read it.
. "$(dirname "$0")/seclib.sh" || exit 99

idle=$(write_script idle.sh <<'EOS'
#!/bin/sh
exec sleep 100000
EOS
)
install -d -m 755 "$STATE"
# A journal just under the compaction size, 0600 as chainkeeperd makes it.
"$PYTHON" - "$STATE/journal.jsonl" <<'EOS'
import json, sys
with open(sys.argv[1], "w") as f:
    seq = 0
    while f.tell() < 4 * 1024 * 1024 - 2000:
        seq += 1
        f.write(json.dumps({"event": "ack", "program": "idle", "seq": seq,
            "time": 1700000000, "note": "x" * 100}) + "\n")
EOS
chmod 600 "$STATE/journal.jsonl"
write_config <<EOS
programs:
  idle:
    command: $idle
    startsecs: 0
$CRASHER_CONFIG
EOS
start_daemon
wait_for "idle RUNNING" 10 state_is idle RUNNING
wait_until "the crasher's first respawn" 10 '[ "$(crashes)" -ge 1 ]'
c0=$(crashes)
size0=$(stat -c %s "$STATE/journal.jsonl")
ino0=$(stat -c %i "$STATE/journal.jsonl")
# Appends until the journal is compacted (a new file: a new inode).
for i in $(seq 1 40); do
	ctl release all >/dev/null || fail "release all"
	[ "$(stat -c %i "$STATE/journal.jsonl")" != "$ino0" ] && break
done
[ "$(stat -c %i "$STATE/journal.jsonl")" != "$ino0" ] ||
    fail "the journal was not compacted ($(stat -c %s "$STATE/journal.jsonl") bytes)"
say "journal compacted: $size0 -> $(stat -c %s "$STATE/journal.jsonl") bytes"
assert_eq "600 root" "$(stat -c '%a %U' "$STATE/journal.jsonl")" \
    "the compacted journal's mode"
as_atk cat "$STATE/journal.jsonl" >/dev/null 2>&1 &&
    fail "the attacker can read the compacted journal"
# It is still appended to.
size1=$(stat -c %s "$STATE/journal.jsonl")
ctl release all >/dev/null || fail "release all"
[ "$(stat -c %s "$STATE/journal.jsonl")" -gt "$size1" ] ||
    fail "nothing appended after the compaction"
wait_until "two crasher respawns during the attack" 20 \
    '[ "$(crashes)" -ge $((c0 + 2)) ]'
figure "journal compacted"

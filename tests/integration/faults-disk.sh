# A full disk under a log file.  The program's log is on a small tmpfs that
# the test fills up.  Then: one clear log line says output is dropped; the
# program keeps running with the same pid and is never blocked (its pipe is
# still read: it keeps counting); the daemon keeps answering.  When space
# comes back, writing resumes by itself within about a second, at the start
# of a line, and the log says how many bytes and lines were dropped: exactly
# the lines missing from the file.  Every line in the file is whole but at
# most one (the one the disk cut short, which is ended).
# The state_dir is on the same small disk: a program stopped by hand while
# it is full is noted in memory with one log line, and state.json is
# written by itself once there is space again.
# A log folder that is removed while a program writes to it is made again,
# with the file, within about a second, and the output goes on there.
. "$(dirname "$0")/lib.sh" || exit 99

[ "$(id -u)" -eq 0 ] || skip "needs root (to mount a small tmpfs)"
small=$T/small
mkdir -p "$small"
mount -t tmpfs -o size=512k,mode=0755 ck-faults-disk "$small" 2>/dev/null ||
    skip "cannot mount a tmpfs here"
# The daemon may still hold the file open when this runs: detach lazily.
on_exit "umount -l '$small' 2>/dev/null"
STATE=$small/state

pad=$(printf '%080d' 0 | tr 0 x)
talker=$(write_script talker.py <<EOF
#!/usr/bin/python3
# Numbered lines, one a millisecond; the count reached goes to a file
# that is not on the small disk.
import sys, time
i = 0
while True:
    i += 1
    sys.stdout.write("line %d $pad\n" % i)
    sys.stdout.flush()
    if i % 20 == 0:
        with open(sys.argv[1], "w") as f:
            f.write("%d\n" % i)
    time.sleep(0.001)
EOF
)
write_config <<EOF
programs:
  talker:
    command: [$talker, $T/count]
    stdout_logfile: $small/talker.log
    startsecs: 0
  stopme:
    command: [$talker, $T/stopme.count]
    stdout_logfile: NONE
    startsecs: 0
  chatter:
    command: [$talker, $T/chatter.count]
    stdout_logfile: $T/vanishing/sub/chatter.log
    startsecs: 0
EOF
start_daemon
wait_for "talker RUNNING" 10 state_is talker RUNNING
pid=$(status_field talker pid)
count() { cat "$T/count" 2>/dev/null || echo 0; }
wait_until "talker counting" 10 '[ "$(count)" -ge 100 ]'

# Fill the disk.
dd if=/dev/zero of="$small/filler" bs=4k 2>/dev/null
wait_for "the full disk logged" 10 log_has \
    "talker stdout: write $small/talker.log: No space left on device: output is dropped"
c0=$(count)
wait_until "talker counting on a full disk" 20 \
    '[ "$(count)" -ge $((c0 + 1000)) ]'
assert_eq "$pid" "$(status_field talker pid)" "the program's pid"
ctl status >/dev/null || fail "status failed while the disk is full"
ctl stop stopme >/dev/null || fail "stop failed while the disk is full"
wait_for "the state write failure logged" 10 log_has \
    "state: (write|open) .*: the state is kept in memory"
# (Run records live in state_dir/runs: state.json may not exist yet.)
[ ! -e "$STATE/state.json" ] ||
    [ "$(jq -r '.programs.stopme.admin_stopped // false' "$STATE/state.json")" = false ] ||
    fail "state.json was written on a full disk?"
size_full=$(stat -c %s "$small/talker.log")
say "log file $size_full bytes when the disk filled; $(($(count) - c0)) lines since"

# Space comes back.
t0=$(now_ms)
rm -f "$small/filler"
wait_for "writing resumed" 10 log_has "talker stdout: writing to $small/talker.log again"
say "writing resumed $(($(now_ms) - t0)) ms after space came back"
wait_for "the state written again" 10 log_has "state: $STATE/state.json written again"
assert_eq true "$(jq -r '.programs.stopme.admin_stopped' "$STATE/state.json")" \
    "stopme's hand stop in state.json"
assert_eq 1 "$(log_count 'the state is kept in memory')" \
    "lines saying the state could not be written"
c1=$(count)
wait_until "talker counting on" 20 '[ "$(count)" -ge $((c1 + 200)) ]'
[ "$(stat -c %s "$small/talker.log")" -gt "$size_full" ] ||
    fail "nothing was written after space came back"
assert_eq 1 "$(log_count 'output is dropped')" "lines saying output is dropped"
assert_eq "$pid" "$(status_field talker pid)" "the program's pid"

# Stop it, then account for every line.
ctl stop talker >/dev/null || fail "stop failed"
line=$(grep 'talker stdout: writing to .* again' "$LOG")
dropped=$(printf '%s\n' "$line" | sed -E 's/.*; [0-9]+ bytes \(([0-9]+) lines\).*/\1/')
say "$line"
full="^line [0-9]+ $pad\$"
total=$(grep -c . "$small/talker.log")
whole=$(grep -Ec "$full" "$small/talker.log")
[ $((total - whole)) -le 1 ] ||
    fail "$((total - whole)) lines in the file are not whole"
last=$(grep -E "$full" "$small/talker.log" | tail -n 1 | cut -d' ' -f2)
missing=$(grep -E "$full" "$small/talker.log" | cut -d' ' -f2 | awk -v last="$last" '
	{ seen[$1] = 1; if ($1 <= prev) bad = 1; prev = $1 }
	END { if (bad) { print "unordered"; exit }
	      n = 0; for (i = 1; i <= last; i++) if (!(i in seen)) n++
	      print n }')
assert_eq "$dropped" "$missing" "lines missing from the file (the log said $dropped)"
say "$dropped lines dropped, $whole whole lines kept, last line $last"

# The log folder goes away under a running program.
wait_for "chatter RUNNING" 10 state_is chatter RUNNING
cpid=$(status_field chatter pid)
wait_for "chatter's log" 10 test -s "$T/vanishing/sub/chatter.log"
rm -rf "$T/vanishing"
t0=$(now_ms)
wait_for "the folder made again" 10 test -s "$T/vanishing/sub/chatter.log"
say "log folder and file back $(($(now_ms) - t0)) ms after rm -rf"
log_has "chatter stdout: made $T/vanishing/sub again" ||
    fail "no line saying the folder was made again"
first=$(head -n 1 "$T/vanishing/sub/chatter.log")
assert_match "^line [0-9]+ $pad\$" "$first" "first line in the new file"
assert_eq "$cpid" "$(status_field chatter pid)" "chatter's pid"

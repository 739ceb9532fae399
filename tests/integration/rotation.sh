# Output capture and rotation under a fast writer: ~30 MB of numbered lines
# as fast as seq(1) writes them, stdout_logfile_maxbytes 1MB and enough
# backups to keep everything.  The backups (.N ... .1) then the current file
# hold every line exactly once, in order, none split; each file ends at a
# line end and none is over 1 MB by more than a line.  With 3 backups, .1 is the newest, and
# there are exactly 3.
. "$(dirname "$0")/lib.sh" || exit 99

BIG_N=800000
FEW_N=170000
FMT='line %.0f abcdefghijklmnopqrstuvwxyz'
MAX=1048576
mkdir "$T/out"
writer=$(write_script writer.sh <<'EOF'
#!/bin/sh
# writer.sh N FORMAT
exec seq -f "$2" 1 "$1"
EOF
)
write_config <<EOF
programs:
  big:
    command: [$writer, "$BIG_N", "$FMT"]
    autostart: false
    startsecs: 0
    autorestart: false
    stdout_logfile: $T/out/big.log
    stdout_logfile_maxbytes: 1MB
    stdout_logfile_backups: 100
  few:
    command: [$writer, "$FEW_N", "$FMT"]
    autostart: false
    startsecs: 0
    autorestart: false
    stdout_logfile: $T/out/few.log
    stdout_logfile_maxbytes: 1MB
    stdout_logfile_backups: 3
EOF
start_daemon

# The size of all of a log's files.
total_size() {
	local f s=0
	for f in "$T/out/$1.log" "$T/out/$1.log".*; do
		[ -f "$f" ] && s=$((s + $(stat -c %s "$f")))
	done
	echo "$s"
}
# Its files, oldest first: .N ... .1, then the current one.
files_in_order() {
	local i=1
	while [ -f "$T/out/$1.log.$i" ]; do i=$((i + 1)); done
	while [ $i -gt 1 ]; do
		i=$((i - 1))
		echo "$T/out/$1.log.$i"
	done
	echo "$T/out/$1.log"
}

big_bytes=$(seq -f "$FMT" 1 $BIG_N | wc -c)
say "big writes $BIG_N lines, $big_bytes bytes"
t0=$(now_ms)
ctl start big >/dev/null || fail "start big failed"
wait_for "big's $big_bytes bytes to be captured" 60 eval \
    '[ "$(total_size big)" = '"$big_bytes"' ]'
took=$(($(now_ms) - t0))
say "captured $big_bytes bytes in $took ms" \
    "($(awk -v b="$big_bytes" -v t="$took" 'BEGIN { printf "%.0f", b / 1048576 / (t / 1000) }') MB/s)"
wait_for "big EXITED" 10 state_is big EXITED
assert_eq "$big_bytes" "$(total_size big)" "bytes in big's files"

nfiles=$(files_in_order big | wc -l)
say "big's output is in $nfiles files"
[ "$nfiles" -ge 25 ] || fail "only $nfiles files for $big_bytes bytes with 1 MB files"
# Every line once, in order, whole.
bad=$(files_in_order big | xargs cat | awk -v fmt="$FMT" '
	{ want = sprintf(fmt, NR) }
	$0 != want { print "line " NR ": \"" $0 "\" instead of \"" want "\""; exit 1 }
	END { if (NR != '"$BIG_N"') { print NR " lines instead of '"$BIG_N"'"; exit 1 } }')
[ -z "$bad" ] || fail "concatenated files are wrong: $bad"
# Each file ends with a newline, is at most 1 MB (plus the end of a line
# that straddled two reads), and all but the
# current one are nearly full (the next line did not fit).
for f in $(files_in_order big); do
	s=$(stat -c %s "$f")
	# A line that straddles two reads is finished, never split: a
	# file may pass 1 MB by less than one line (lines here are < 64).
	[ "$s" -le $((MAX + 64)) ] || fail "$f is $s bytes, over 1 MB + a line"
	[ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" = '\n' ] ||
	    fail "$f does not end with a newline: a split line"
	head -c 5 "$f" | grep -q '^line ' || fail "$f does not start with a whole line"
	if [ "$f" != "$T/out/big.log" ] && [ "$s" -lt $((MAX - 64)) ]; then
		fail "$f was rotated at $s bytes, well before 1 MB"
	fi
done

# Few backups: .1 is the newest, .3 the oldest, nothing beyond.
few_bytes=$(seq -f "$FMT" 1 $FEW_N | wc -c)
ctl start few >/dev/null || fail "start few failed"
wait_until "few's last line to be captured" 30 \
    '[ "$(tail -n 1 "$T/out/few.log" 2>/dev/null)" = "$(printf "$FMT" $FEW_N)" ]'
wait_for "few EXITED" 10 state_is few EXITED
for i in 1 2 3; do
	[ -f "$T/out/few.log.$i" ] || fail "few.log.$i is missing"
done
ls "$T/out/" | grep -q '^few\.log\.[4-9]' && fail "more than 3 backups: $(ls "$T/out")"
say "few wrote $few_bytes bytes; kept: $(ls "$T/out" | grep few | xargs)"
first_num() { head -n 1 "$1" | awk '{ print $2 }'; }
last_num() { tail -n 1 "$1" | awk '{ print $2 }'; }
prev=
for f in $(files_in_order few); do
	if [ -n "$prev" ]; then
		assert_eq $(($(last_num "$prev") + 1)) "$(first_num "$f")" \
		    "first line of $(basename "$f") after $(basename "$prev")"
	fi
	prev=$f
done
assert_eq "$FEW_N" "$(last_num "$T/out/few.log")" "last line of few.log"
# What is kept is a whole tail of the sequence.
start=$(first_num "$T/out/few.log.3")
bad=$(files_in_order few | xargs cat | awk -v fmt="$FMT" -v s="$start" '
	{ want = sprintf(fmt, s + NR - 1) }
	$0 != want { print "line " NR ": \"" $0 "\""; exit 1 }
	END { if (s + NR - 1 != '"$FEW_N"') { print "ends at " s + NR - 1; exit 1 } }')
[ -z "$bad" ] || fail "few's kept files are wrong: $bad"

# tail shows the end of the current file.
assert_eq "$(printf "$FMT" $BIG_N)" "$(ctl tail big | tail -n 1)" \
    "last line of chainkeeperctl tail big"

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

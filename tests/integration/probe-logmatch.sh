# The log-match probe under the real chainkeeperd.  The program prints an
# eoskeeper-style "Produced block" line every 200 ms (each line in two
# writes, so lines cross pipe reads), stops on a control file, and prints
# a "Not producing block" error to stderr on another.  Asserts:
#  - fresh: healthy while lines come (value = seconds since the last
#    match, detail with the whole last line, time and count); failing
#    within fresh + an interval after they stop, not before fresh; healthy
#    again when they resume;
#  - absent: the error line fails the next check with the line as reason,
#    then healthy again; with hold: 2s it stays failing about 2 s;
#  - file: an external log file written by a helper, followed across a
#    rename rotation and a copytruncate; failing once it stops growing;
#  - a restart of the program starts the probes afresh and they work;
#  - stdout_logfile NONE gives a probe error saying so;
#  - bad settings are refused by chainkeeperd -n.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

command -v python3 >/dev/null 2>&1 || skip "python3 is needed"
PY=$(python3 -c 'import sys; print(sys.executable)')

prog=$(write_script producer.py <<EOF
#!$PY
import os, sys, time
T = "$T"
n = 0
erred = False
while True:
    if not os.path.exists(os.path.join(T, "quiet")):
        n += 1
        sys.stdout.write("info  2024-03-01T12:00:00.500 nodeos producer_"
            "plugin.cpp:2480 produce_block ] Produced block 0a1b2c3d")
        sys.stdout.flush()
        time.sleep(0.02)
        sys.stdout.write("... #%d @ 2024-03-01T12:00:00.500 signed by "
            "eosstorebest [trxs: 0, lib: %d, confirmed: 240]\n" % (n, n))
        sys.stdout.flush()
    if not erred and os.path.exists(os.path.join(T, "error")):
        sys.stderr.write("warn  producer_plugin.cpp ] Not producing block "
            "because I don't have the private key\n")
        sys.stderr.flush()
        erred = True
    time.sleep(0.2)
EOF
)

EXT=$T/ext.log
write_config <<EOF
programs:
  bp:
    command: $prog
    startsecs: 0
    autorestart: false
    probes:
      - name: producing
        kind: log-match
        regex: '.*producer_plugin.cpp.*] Produced block .* (#\d+) @.*'
        fresh: 1s
        interval: 300ms
        fall: 1
        rise: 1
      - name: nokey
        kind: log-match
        stream: stderr
        regex: 'Not producing block because'
        absent: true
        interval: 300ms
        fall: 1
        rise: 1
      - name: nokey-hold
        kind: log-match
        stream: stderr
        regex: 'Not producing block because'
        absent: true
        hold: 2s
        interval: 300ms
        fall: 1
        rise: 1
      - name: ext
        kind: log-match
        file: $EXT
        regex: 'Generated block #[0-9]+'
        fresh: 1s
        interval: 300ms
        fall: 1
        rise: 1
  blind:
    command: $prog
    startsecs: 0
    autorestart: false
    stdout_logfile: NONE
    probes:
      - { kind: log-match, regex: x, fresh: 1m, interval: 300ms, fall: 1 }
EOF
: >"$EXT"
start_daemon
wait_until "bp RUNNING" 30 'state_is bp RUNNING'

# pv PROGRAM PROBE FIELD
pv() {
	ctl status --json "$1" |
	    jq -r ".[0].probes[] | select(.name == \"$2\") | .$3"
}
health_is() {
	[ "$(pv bp "$1" health)" = "$2" ]
}
failing_with() {
	health_is "$1" failing && pv bp "$1" reason | grep -Eq -- "$2"
}

# A helper writing the external log, as a daemon would (reopening).
writer() {
	local i=0
	while [ ! -f "$T/writer-stop" ]; do
		i=$((i + 1))
		echo "2024-03-01 12:00:00 th_a witness.cpp:120 Generated block #$i with timestamp x" >>"$EXT"
		sleep 0.1
	done
}
writer &

wait_until "producing healthy" 30 'health_is producing healthy'
wait_until "two matches" 30 '[ "$(pv bp producing detail.matches)" -ge 2 ]'
line=$(pv bp producing detail.last_line)
assert_match '^info .*Produced block 0a1b2c3d\.\.\. #[0-9]+ @ .* signed by eosstorebest \[trxs: 0, lib: [0-9]+, confirmed: 240\]$' \
    "$line" "the last line, whole although written in two parts"
assert_match '^[0-9]+$' "$(pv bp producing detail.last_match_time)" "time"
assert_match '^last match [0-9]+ s ago$' "$(pv bp producing reason)" "reason"
v=$(pv bp producing value)
awk -v v="$v" 'BEGIN { exit !(v < 1) }' || fail "value $v is not < 1"
assert_eq stdout "$(pv bp producing detail.source)" "source"

# Silence: failing after fresh (1 s), not before.
touch "$T/quiet"
t0=$(now_ms)
wait_until "producing failing" 30 'failing_with producing "^no line matched for [0-9]+ s \(fresh: 1 s\)$"'
took=$(($(now_ms) - t0))
say "failing $took ms after the lines stopped"
[ "$took" -ge 800 ] || fail "failing after $took ms, before fresh"
v=$(pv bp producing value)
awk -v v="$v" 'BEGIN { exit !(v >= 1) }' || fail "value $v is not >= 1"
rm -f "$T/quiet"
wait_until "producing healthy again" 30 'health_is producing healthy'

# Absent mode.
assert_eq healthy "$(pv bp nokey health)" "nokey before the error"
# Without hold the failure lasts one check: the daemon log tells.
touch "$T/error"
NK="bp: probe nokey: healthy -> failing: 1 matching line: warn  producer_plugin.cpp \] Not producing block because I don't have the private key$"
wait_until "nokey failing" 30 'log_has "$NK"'
wait_until "nokey healthy again" 30 'log_has "bp: probe nokey: failing -> healthy"'
wait_until "nokey-hold healthy after hold" 30 'log_has "bp: probe nokey-hold: failing -> healthy"'
t_fail=$(log_ms "bp: probe nokey-hold: healthy -> failing: 1 matching line")
t_ok=$(log_ms "bp: probe nokey-hold: failing -> healthy")
say "nokey-hold failed for $((t_ok - t_fail)) ms (hold: 2s)"
[ $((t_ok - t_fail)) -ge 1700 ] || fail "nokey-hold recovered within hold"
assert_eq healthy "$(pv bp nokey health)" "nokey after the error"
assert_eq 1 "$(pv bp nokey detail.matches)" "one error line"

# The external file, across rotations.
wait_until "ext healthy" 30 'health_is ext healthy'
m0=$(pv bp ext detail.matches)
mv "$EXT" "$EXT.1"
wait_until "ext rotated" 30 '[ "$(pv bp ext detail.rotations)" = 1 ]'
wait_until "ext matches go on" 30 '[ "$(pv bp ext detail.matches)" -gt $((m0 + 5)) ]'
assert_eq healthy "$(pv bp ext health)" "ext after the rotation"
# copytruncate: copy, then truncate in place.
cp "$EXT" "$EXT.2" && : >"$EXT"
wait_until "ext truncation seen" 30 '[ "$(pv bp ext detail.truncations)" -ge 1 ]'
assert_eq healthy "$(pv bp ext health)" "ext after the truncation"
touch "$T/writer-stop"
wait_until "ext failing" 30 'failing_with ext "^no line matched for [0-9]+ s"'
assert_eq "$EXT" "$(pv bp ext detail.source)" "ext source"

# A restart: the probes start afresh and follow the new run.
rm -f "$T/error"
ctl restart bp >/dev/null || fail "restart failed"
wait_until "bp RUNNING again" 30 'state_is bp RUNNING'
wait_until "producing healthy after restart" 30 'health_is producing healthy'
wait_until "fresh counts" 30 '[ "$(pv bp producing detail.matches)" -ge 1 ]'
assert_eq 0 "$(pv bp nokey detail.matches)" "nokey after restart"

# Output that is not captured.
wait_until "blind error" 30 '[ "$(pv blind log-match status)" = error ]'
assert_eq "stdout is not captured (stdout_logfile is NONE)" \
    "$(pv blind log-match reason)" "blind reason"

bad() {
	local out
	write_config "$T/bad.yaml" <<EOF
programs:
  x:
    command: /bin/true
    probes:
      - kind: log-match
        $1
EOF
	out=$("$CHAINKEEPERD" -n -c "$T/bad.yaml" 2>&1) &&
	    fail "accepted: $1"
	# Not assert_match: grep -q may leave printf a SIGPIPE (pipefail).
	[[ $out =~ $2 ]] || fail "error for \"$1\" does not match /$2/: $out"
}
bad "fresh: 1m" 'bad\.yaml:[0-9]+:[0-9]+: .*regex is required'
bad "regex: x" 'set fresh .* or absent: true'
bad "regex: x
        fresh: 1m
        absent: true" 'fresh and absent do not go together'
bad "regex: '(unclosed'
        fresh: 1m" 'bad\.yaml:[0-9]+:[0-9]+: .*regex: '
bad "regex: x
        fresh: 1m
        stream: both" 'stream must be stdout or stderr'
bad "regex: x
        fresh: 1m
        file: rel.log" 'file must be an absolute path'
bad "regex: x
        fresh: 1m
        hold: 1m" 'hold goes with absent: true'
bad "regex: x
        fresh: 1m
        file: /x
        stream: stdout" 'file and stream do not go together'

stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

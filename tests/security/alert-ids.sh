# A local user fills the disk that holds state_dir (a shared /var, here
# a small sticky tmpfs).  Alerts raised meanwhile get ids that the outbox
# cannot record; chainkeeperd is then SIGKILLed and started again while
# the disk is still full.  No alert id may be given a second time: the
# ids come from a reservation written ahead, not from what reached the
# disk.  A hand stop made while the disk is full says at once that it is
# not on disk yet.
. "$(dirname "$0")/seclib.sh" || exit 99

small=$T/small
mkdir -p "$small"
mount -t tmpfs -o size=512k,mode=1777 ck-alert-ids "$small" 2>/dev/null ||
    skip "cannot mount a tmpfs here"
on_exit "umount -l '$small' 2>/dev/null"
STATE=$small/state
idle=$(write_script idle.sh <<'EOS'
#!/bin/sh
exec sleep 100000
EOS
)
write_config <<EOS
programs:
  idle:
    command: $idle
    startsecs: 0
    stdout_logfile: NONE
    stderr_logfile: NONE
$CRASHER_CONFIG
    stdout_logfile: NONE
    stderr_logfile: NONE
EOS
start_daemon
wait_for "idle RUNNING" 10 state_is idle RUNNING
wait_for "alert #2" 15 log_has "alert #2 "

# ids: every alert id the daemon log shows, in order.
ids() { grep -o 'alert #[0-9]* ' "$LOG" | tr -dc '0-9\n'; }

# The attacker fills the disk, and keeps taking what the daemon frees
# (a run record removed when its run ends).  The outbox is refused once
# the slack of its last page is used: up to 4 KiB of records, one alert a
# second, so this may take some 20 s.
as_atk dd if=/dev/zero of="$small/filler" bs=4k 2>/dev/null
full_and_refused() {
	as_atk sh -c "dd if=/dev/zero of='$small/filler.\$\$' bs=4k \
	    2>/dev/null"
	log_has "outbox: write .*No space left on device"
}
c0=$(crashes)
wait_for "a write refused for lack of space" 45 full_and_refused
log_has "outbox: write .*: Success" && fail "a write error with a stale errno"
wait_until "three alerts on the full disk" 20 '[ "$(crashes)" -ge $((c0 + 3)) ]'
ctl stop idle >/dev/null || fail "stop idle"
wait_for "the hand stop said not to be on disk" 10 log_has \
    "state: the hand stop of idle is not on disk yet"
before=$(ids | sort -n | uniq)
last=$(printf '%s\n' "$before" | tail -n 1)
say "alert ids before the SIGKILL: $(printf '%s' "$before" | tr '\n' ' ')"
figure "disk filled by another user"

# SIGKILL, and a restart on the still full disk.
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=
echo "----- chainkeeperd SIGKILLed by the test" >>"$LOG"
lines=$(wc -l <"$LOG")
start_daemon
c1=$(crashes)
wait_until "two alerts after the restart" 20 \
    '[ "$(tail -n +$((lines + 1)) "$LOG" | grep -c "alert #[0-9]* ")" -ge 2 ]'
after=$(tail -n +$((lines + 1)) "$LOG" | grep -o 'alert #[0-9]* ' |
    tr -dc '0-9\n' | sort -n | uniq)
say "alert ids after the restart: $(printf '%s' "$after" | tr '\n' ' ')"
reused=$(comm -12 <(printf '%s\n' "$before") <(printf '%s\n' "$after"))
assert_eq "" "$reused" "alert ids given twice"
[ "$(printf '%s\n' "$after" | head -n 1)" -gt "$last" ] ||
    fail "an id after the restart is not above #$last"
rm -f "$small"/filler*
wait_until "two crasher respawns after the restart" 20 \
    '[ "$(crashes)" -ge $((c1 + 2)) ]'
figure "after the SIGKILL and restart on a full disk"

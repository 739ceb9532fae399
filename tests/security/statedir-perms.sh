# state_dir holds what root writes and trusts (state.json, the journal,
# the outbox, the lock, the pipe holder's socket).  One that another user
# owns, or that its group can write, is refused at start with a message
# naming the folder, its owner and its mode (as sshd's StrictModes does),
# and nothing is written through the links its owner planted there.  In a
# proper state_dir, links left there (by an earlier careless layout) are
# never followed either: the state is written, the journal and outbox
# refuse the link, a linked lock stops the start.
. "$(dirname "$0")/seclib.sh" || exit 99

printf 'ROOT VICTIM\n' >"$T/victim"
chmod 600 "$T/victim"
sum0=$(sha256sum <"$T/victim")
idle=$(write_script idle.sh <<'EOS'
#!/bin/sh
exec sleep 100000
EOS
)

# The daemon that runs meanwhile, on a state_dir with links left in it.
install -d -m 750 "$STATE"
ln -s "$T/victim" "$STATE/.state.json.tmp"
ln -s "$T/victim-journal" "$STATE/journal.jsonl"
ln -s "$T/victim-outbox" "$STATE/outbox.jsonl"
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
ctl stop idle >/dev/null || fail "stop idle"
ctl release all >/dev/null || fail "release all"
wait_for "state.json written" 10 test -f "$STATE/state.json"
assert_eq true "$(jq -r .programs.idle.admin_stopped "$STATE/state.json")" \
    "the hand stop in state.json"
[ -L "$STATE/state.json" ] && fail "state.json is a link"
assert_eq "$sum0" "$(sha256sum <"$T/victim")" "the file behind .state.json.tmp"
[ -e "$T/victim-journal" ] && fail "root made the journal behind a link"
[ -e "$T/victim-outbox" ] && fail "root made the outbox behind a link"
log_has "journal: $STATE/journal.jsonl: it is a symbolic link" ||
    fail "no line saying the journal's link was refused"
say "$(grep -m1 'journal: .*symbolic link' "$LOG")"

# try_start NAME: run a second chainkeeperd on $T/NAME/state; it must
# refuse to start (within the time a start takes).
try_start() {
	local sd=$T/$1/state
	cat >"$T/$1/ck.yaml" <<EOS
state_dir: $sd
control:
  socket: $T/$1/ck.sock
programs:
  idle:
    command: $idle
    autostart: false
    stdout_logfile: NONE
    stderr_logfile: NONE
EOS
	out=$(CK_TEST_DIR=$T timeout -k 5 $((5 * ${CK_TIMEOUT_SCALE:-1})) \
	    "$CHAINKEEPERD" -c "$T/$1/ck.yaml" 2>&1)
	rc=$?
	say "$1: rc $rc: $(printf '%s\n' "$out" | grep -m1 -E 'refused|locked|lock' )"
	[ $rc -ne 0 ] && [ $rc -ne 124 ] ||
	    fail "$1: chainkeeperd ran on $sd (rc $rc)"
}

# A state_dir the attacker owns, with its links planted.
install -d -m 755 "$T/owned"
install -d -m 755 -o "$ATK" -g "$ATK" "$T/owned/state"
as_atk sh -c "cd '$T/owned/state' && ln -s '$T/victim' .state.json.tmp &&
    ln -s '$T/victim-journal' journal.jsonl && ln -s '$T/victim-lock' lock" ||
    fail "the attacker could not plant its links"
try_start owned
assert_match "state_dir $T/owned/state \(owner uid $ATK_UID, mode 0755\) refused" \
    "$out" "the refusal"
assert_eq "$sum0" "$(sha256sum <"$T/victim")" "the file behind .state.json.tmp"
[ -e "$T/victim-journal" ] && fail "root made the journal behind a link"
[ -e "$T/victim-lock" ] && fail "root made the lock behind a link"

# A state_dir its group can write.
install -d -m 755 "$T/grp"
install -d -m 770 -g "$ATK" "$T/grp/state"
try_start grp
assert_match "state_dir $T/grp/state \(owner uid 0, mode 0770\) refused: .*writable by its group" \
    "$out" "the refusal"

# A proper state_dir whose lock is a link: no start, nothing made.
install -d -m 755 "$T/lnk"
install -d -m 750 "$T/lnk/state"
ln -s "$T/victim-lock" "$T/lnk/state/lock"
try_start lnk
assert_match "lock: it is a symbolic link" "$out" "the refusal"
[ -e "$T/victim-lock" ] && fail "root made the lock behind a link"

wait_until "two crasher respawns during the attack" 20 \
    '[ "$(crashes)" -ge $((c0 + 2)) ]'
figure "unsafe state_dirs tried"

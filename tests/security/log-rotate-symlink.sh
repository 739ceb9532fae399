# Rotation in a folder the program's user owns.  With
# stdout_logfile_backups 0 the log is cut to nothing when full: the
# attacker replaces it with a link to a root file, which must not be cut
# (nor written).  With backups, the log is renamed to name.1 and so on:
# the attacker swaps its folder for a link to a root folder holding files
# of the same names, which must not be renamed, cut or added to.
. "$(dirname "$0")/seclib.sh" || exit 99

install -d -m 755 "$T/home"
install -d -m 755 -o "$ATK" -g "$ATK" "$T/home/atk" "$T/home/atk/t" \
    "$T/home/atk/r"
# Root's files: one to be truncated, a folder of "backups" to be renamed.
seq 1 200 | sed 's/^/ROOT SECRET /' >"$T/victim"
chmod 600 "$T/victim"
install -d -m 700 "$T/rootdir"
for f in rot.out rot.out.1 rot.out.2; do
	echo "ROOT $f" >"$T/rootdir/$f"
	chmod 600 "$T/rootdir/$f"
done
sum_victim=$(sha256sum <"$T/victim")
list_root=$(cd "$T/rootdir" && for f in *; do echo "$f $(cat "$f")"; done)

# 200-byte lines, 50 a second: 1KB logs fill every 0.1 s.
talk=$(write_script talk.sh <<'EOS'
#!/bin/sh
pad=$(printf '%0190d' 0)
i=0
while :; do
	i=$((i + 1))
	echo "$i $pad"
	sleep 0.02
done
EOS
)
write_config <<EOS
programs:
  trunc:
    command: $talk
    user: $ATK
    startsecs: 0
    stdout_logfile: $T/home/atk/t/trunc.out
    stdout_logfile_maxbytes: 1KB
    stdout_logfile_backups: 0
  rot:
    command: $talk
    user: $ATK
    startsecs: 0
    stdout_logfile: $T/home/atk/r/rot.out
    stdout_logfile_maxbytes: 1KB
    stdout_logfile_backups: 2
$CRASHER_CONFIG
EOS
start_daemon
wait_for "trunc RUNNING" 10 state_is trunc RUNNING
wait_for "rot RUNNING" 10 state_is rot RUNNING
wait_for "rot rotated" 10 test -s "$T/home/atk/r/rot.out.2"
wait_until "the crasher's first respawn" 10 '[ "$(crashes)" -ge 1 ]'

# The truncate path: the log becomes a link to a root file.
c0=$(crashes)
as_atk sh -c "cd '$T/home/atk/t' && ln -s '$T/victim' x &&
    mv -f x trunc.out" || fail "the attacker could not make the link"
kill -USR2 "$DPID"
wait_until "two crasher respawns during the attack" 30 \
    '[ "$(crashes)" -ge $((c0 + 2)) ]'
assert_eq "$sum_victim" "$(sha256sum <"$T/victim")" \
    "the root file behind trunc.out"
assert_eq "600 root" "$(stat -c '%a %U' "$T/victim")" "the root file's mode"

# The rename path: the folder becomes a link to a root folder.
c0=$(crashes)
swap_dir "$T/home/atk/r" "$T/rootdir" ||
    fail "the attacker could not swap the folder"
kill -USR2 "$DPID"
wait_until "two crasher respawns during the attack" 30 \
    '[ "$(crashes)" -ge $((c0 + 2)) ]'
assert_eq "$list_root" \
    "$(cd "$T/rootdir" && for f in *; do echo "$f $(cat "$f")"; done)" \
    "the root folder behind r/"
log_has "trunc stdout: cannot open $T/home/atk/t/trunc.out: it is a symbolic link" ||
    fail "no line saying trunc.out's link was refused"
log_has "rot stdout: cannot open .*/r is a symbolic link in a folder" ||
    fail "no line saying the swapped folder was refused"
say "$(grep -m1 'trunc stdout: cannot open' "$LOG")"
say "$(grep -m1 'rot stdout: cannot open' "$LOG")"
figure "rotation with links in the program user's folders"

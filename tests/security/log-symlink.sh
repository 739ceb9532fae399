# A program's user owns its log folder (the usual layout) and turns its
# log file into a symbolic link to a root file, then swaps the folder
# itself for a link to a root folder.  chainkeeperd, which writes the log
# as root, must write through neither: the root files stay as they were,
# nothing is made in the root folder, and the log says what was refused.
# Once the attacker puts things back, logging resumes by itself.
. "$(dirname "$0")/seclib.sh" || exit 99

# $T/home/atk/logs: the attacker's, as /srv/eos/logs belongs to eos.
install -d -m 755 "$T/home"
install -d -m 755 -o "$ATK" -g "$ATK" "$T/home/atk" "$T/home/atk/logs"
install -d -m 700 "$T/rootdir"
printf 'ROOT ORIGINAL\n' >"$T/target"
chmod 600 "$T/target"
sum0=$(sha256sum <"$T/target")

chatty=$(write_script chatty.sh <<'EOS'
#!/bin/sh
i=0
while :; do
	i=$((i + 1))
	echo "line $i ssh-ed25519 AAAAattacker attacker@evil"
	sleep 0.1
done
EOS
)
write_config <<EOS
programs:
  chatty:
    command: $chatty
    user: $ATK
    startsecs: 0
    stdout_logfile: $T/home/atk/logs/chatty.out
$CRASHER_CONFIG
EOS
start_daemon
wait_for "chatty RUNNING" 10 state_is chatty RUNNING
wait_for "chatty's log" 10 test -s "$T/home/atk/logs/chatty.out"
wait_until "the crasher's first respawn" 10 '[ "$(crashes)" -ge 1 ]'

# 1. The file becomes a link to a root file.
c0=$(crashes)
as_atk sh -c "cd '$T/home/atk/logs' && ln -s '$T/target' x &&
    mv -f x chatty.out" ||
    fail "the attacker could not make the link"
wait_for "the removal seen" 10 log_has \
    "chatty stdout: $T/home/atk/logs/chatty.out was removed"
kill -USR2 "$DPID"
wait_for "SIGUSR2 handled" 10 log_has "SIGUSR2: reopening log files"
# Give a write through the link every chance to happen.
wait_until "two crasher respawns during the attack" 20 \
    '[ "$(crashes)" -ge $((c0 + 2)) ]'
assert_eq "$sum0" "$(sha256sum <"$T/target")" "the root file's content"
assert_eq "600 root" "$(stat -c '%a %U' "$T/target")" "the root file's mode"
log_has "chatty stdout: cannot open $T/home/atk/logs/chatty.out: it is a symbolic link" ||
    fail "no line saying the link was refused"
[ -L "$T/home/atk/logs/chatty.out" ] || fail "the link was replaced"
say "$(grep -m1 'is a symbolic link' "$LOG")"
figure "log file symlinked to a root file"

# 2. The folder becomes a link to a root folder.
c0=$(crashes)
swap_dir "$T/home/atk/logs" "$T/rootdir" ||
    fail "the attacker could not swap the folder"
kill -USR2 "$DPID"
wait_for "the folder refused" 10 log_has \
    "logs is a symbolic link in a folder that not only root can write"
wait_until "two crasher respawns during the attack" 20 \
    '[ "$(crashes)" -ge $((c0 + 2)) ]'
assert_eq "" "$(ls -A "$T/rootdir")" "files made in the root folder"
assert_eq "$sum0" "$(sha256sum <"$T/target")" "the root file's content"
say "$(grep -m1 'in a folder that not only root can write' "$LOG")"
figure "log folder swapped for a link to a root folder"

# 3. The attacker puts things back: logging resumes by itself.
as_atk sh -c "cd '$T/home/atk' && rm logs && mv logs.old logs &&
    rm -f logs/chatty.out"
wait_for "writing again" 10 log_has "chatty stdout: writing to .* again"
wait_for "a fresh log file" 10 test -s "$T/home/atk/logs/chatty.out"
[ -L "$T/home/atk/logs/chatty.out" ] && fail "the log is still a link"
assert_eq root "$(stat -c %U "$T/home/atk/logs/chatty.out")" \
    "the new log's owner"
assert_eq RUNNING "$(status_field chatty state)" "chatty's state"

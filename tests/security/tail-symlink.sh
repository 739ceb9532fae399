# chainkeeperctl tail reads a program's log as root.  A control-group
# member who is also the program's user (so owns the log folder) turns
# the log into a link to a root-only file, or a hard link to one, and
# asks for its tail: the root file's content must never be printed.
. "$(dirname "$0")/seclib.sh" || exit 99

install -d -m 755 "$T/home"
install -d -m 755 -o "$ATK" -g "$ATK" "$T/home/atk" "$T/home/atk/logs"
printf 'TOP-SECRET-%s\n' "$$" >"$T/secret"
chmod 600 "$T/secret"

chatty=$(write_script chatty.sh <<'EOS'
#!/bin/sh
echo "hello from the program"
exec sleep 100000
EOS
)
CONTROL_EXTRA="  group: $ATK"
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

# The member can tail the real log.
out=$(as_atk "$CHAINKEEPERCTL" -s "$SOCK" tail chatty 2>&1) ||
    fail "the group member cannot tail: $out"
assert_match "hello from the program" "$out" "tail before the attack"

c0=$(crashes)
as_atk sh -c "cd '$T/home/atk/logs' && ln -s '$T/secret' x &&
    mv -f x chatty.out" ||
    fail "the attacker could not make the link"
out=$(as_atk "$CHAINKEEPERCTL" -s "$SOCK" tail chatty 2>&1)
say "tail of a link to a root file: rc $?, $(printf '%s' "$out" | head -c 200)"
assert_nomatch "TOP-SECRET" "$out" "tail through a symbolic link"
wait_for "the refusal logged" 10 log_has \
    "chatty stdout: tail $T/home/atk/logs/chatty.out refused: it is a symbolic link"

# A hard link (where the kernel allows one: fs.protected_hardlinks).
as_atk sh -c "cd '$T/home/atk/logs' && rm -f chatty.out &&
    ln '$T/secret' chatty.out" 2>/dev/null &&
    say "the kernel let the attacker hard-link a root file"
out=$(as_atk "$CHAINKEEPERCTL" -s "$SOCK" tail chatty 2>&1)
assert_nomatch "TOP-SECRET" "$out" "tail through a hard link"

# A folder swapped for a link to root's folder.
swap_dir "$T/home/atk/logs" "$T" ||
    fail "the attacker could not swap the folder"
ln -sf secret "$T/chatty.out" 2>/dev/null
cp "$T/secret" "$T/chatty.out.copy"
out=$(as_atk "$CHAINKEEPERCTL" -s "$SOCK" tail chatty 2>&1)
assert_nomatch "TOP-SECRET" "$out" "tail through a swapped folder"
wait_until "two crasher respawns during the attack" 20 \
    '[ "$(crashes)" -ge $((c0 + 2)) ]'
figure "tail of a linked log by a group member"

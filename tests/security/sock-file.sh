# control.socket names a file that is not a socket: chainkeeperd refuses
# to start with a clear message and leaves the file alone.  The file here
# is an attacker's (a typo in control.socket, or a path a program's user
# prepared): once the baseline deleted it without a word.  A stale socket
# at the path is still replaced.
. "$(dirname "$0")/seclib.sh" || exit 99

victim=$T/victim.txt
echo "precious data" >"$victim"
chown "$ATK" "$victim"
SOCK=$victim
write_config <<EOF
programs:
$CRASHER_CONFIG
EOF
rc=0
timeout 20 "$CHAINKEEPERD" -c "$CFG" >>"$LOG" 2>&1 || rc=$?
say "chainkeeperd with a regular file at the socket path: rc $rc"
[ -f "$victim" ] && [ ! -S "$victim" ] ||
    fail "the regular file at control.socket was replaced"
assert_eq "precious data" "$(cat "$victim")" "the file's content"
assert_ne 0 "$rc" "exit status with a file at the socket path"
[ "$rc" != 124 ] || fail "chainkeeperd started on a file's path"
log_has "$victim exists and is not a socket" ||
    fail "no clear message about the file at the socket path"

# A stale socket (no daemon behind it) is replaced as before, and the
# crasher is supervised.
SOCK=$T/control.sock
write_config <<EOF
programs:
$CRASHER_CONFIG
EOF
"$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$SOCK"
[ -S "$SOCK" ] || fail "could not make a stale socket"
start_daemon
wait_until "two crasher restarts" 20 '[ "$(crashes)" -ge 2 ]'
figure "regular file at the socket path"
stop_daemon

# The control socket's folder must be chainkeeperd's own: a folder the
# attacker owns, a world-writable one and a symlink to the attacker's
# folder are refused at start, so the attacker cannot swap the new socket
# for a symlink between bind() and the mode and group change (once a race
# that gave a root file the socket's mode).  In a proper folder the socket
# gets control.mode and control.group from the start.
. "$(dirname "$0")/seclib.sh" || exit 99

target=$T/root-target
echo "root only" >"$target"
chmod 600 "$target"

# start_refused WHAT: chainkeeperd must refuse to start on $SOCK.
start_refused() {
	local rc=0 from
	from=$(($(log_lines) + 1))
	write_config <<EOF
programs:
$CRASHER_CONFIG
EOF
	timeout 20 "$CHAINKEEPERD" -c "$CFG" >>"$LOG" 2>&1 || rc=$?
	say "$1: rc $rc"
	[ "$rc" != 124 ] || fail "$1: chainkeeperd started"
	assert_ne 0 "$rc" "$1: exit status"
	tail -n +"$from" "$LOG" | grep -q "the socket's folder" ||
	    fail "$1: no message about the socket's folder"
}

# The attacker's own folder, with a race running: the attacker swaps the
# socket for a symlink to the root file whenever it appears.
adir=$T/atkdir
mkdir "$adir"
chown "$ATK" "$adir"
as_atk "$PYTHON" -c '
import os, sys, time
d, target = sys.argv[1], sys.argv[2]
sock, tmp = os.path.join(d, "ck.sock"), os.path.join(d, "ck.tmp")
end = time.time() + 120
while time.time() < end:
    try:
        if os.path.exists(sock) and not os.path.islink(sock):
            os.symlink(target, tmp)
            os.rename(tmp, sock)
    except OSError:
        pass
' "$adir" "$target" &
racer=$!
CONTROL_EXTRA="  mode: 0777"
SOCK=$adir/ck.sock
for i in 1 2 3 4 5; do
	start_refused "socket in the attacker's folder (try $i)"
done
kill "$racer" 2>/dev/null
wait "$racer" 2>/dev/null
assert_eq 600 "$(stat -c %a "$target")" "mode of the root file after the race"

# A world-writable folder, not sticky.
wdir=$T/wdir
mkdir -m 777 "$wdir"
chmod 777 "$wdir"
SOCK=$wdir/ck.sock
start_refused "socket in a world-writable folder"

# A symlink to the attacker's folder.
ln -s "$adir" "$T/link"
SOCK=$T/link/ck.sock
start_refused "socket folder is a symlink"

# A proper folder: made 0755 when missing, socket 0660 with the group.
SOCK=$T/run/sub/ck.sock
CONTROL_EXTRA="  mode: 0660
  group: $ATK"
write_config <<EOF
programs:
$CRASHER_CONFIG
EOF
start_daemon
assert_eq "755 root" "$(stat -c '%a %U' "$T/run/sub")" "the socket folder made"
assert_eq "660 $ATK" "$(stat -c '%a %G' "$SOCK")" "the socket's mode and group"
out=$(as_atk "$CHAINKEEPERCTL" -s "$SOCK" -t 20 status crasher 2>&1) ||
    fail "the control group's member was not served: $out"
wait_until "two crasher restarts" 20 '[ "$(crashes)" -ge 2 ]'
figure "socket folder checks and race"
stop_daemon

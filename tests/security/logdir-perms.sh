# A log folder that someone other than root and the program's user can
# write lets them steer where root writes.  Such a folder is refused when
# the configuration is loaded (chainkeeperd -n, start and reload) with a
# file:line:col message naming it: one writable by others, one writable
# by its group, and one owned by another user (the attacker) for a root
# program.  A folder the program's user owns, and one that does not exist
# yet, are fine.  The running daemon keeps supervising meanwhile.
. "$(dirname "$0")/seclib.sh" || exit 99

install -d -m 755 -o "$ATK" -g "$ATK" "$T/atk"
install -d -m 777 "$T/world"
install -d -m 775 "$T/group"
install -d -m 755 -o "$ATK" -g "$ATK" "$T/theirs"
prog=$(write_script prog.sh <<'EOS'
#!/bin/sh
exec sleep 100000
EOS
)

# The daemon that runs meanwhile (a good configuration).
write_config <<EOS
programs:
  mine:
    command: $prog
    user: $ATK
    stdout_logfile: $T/atk/mine.out
  later:
    command: $prog
    stdout_logfile: $T/not/yet/made/later.out
$CRASHER_CONFIG
EOS
"$CHAINKEEPERD" -n -c "$CFG" >"$T/good.out" 2>&1 ||
    fail "a good configuration was refused: $(cat "$T/good.out")"
start_daemon
wait_for "mine RUNNING" 10 state_is mine RUNNING
wait_until "the crasher's first respawn" 10 '[ "$(crashes)" -ge 1 ]'
c0=$(crashes)

# check NAME FOLDER [USER]: a program logging in FOLDER is refused.
check() {
	local user=${3:+"    user: $3"}
	cp "$CFG" "$T/bad.yaml"
	cat >>"$T/bad.yaml" <<EOS
  $1:
    command: $prog
$user
    stdout_logfile: $2/$1.out
EOS
	sed -i '/^$/d' "$T/bad.yaml"
	out=$("$CHAINKEEPERD" -n -c "$T/bad.yaml" 2>&1)
	rc=$?
	say "$1: rc $rc: $(printf '%s\n' "$out" | head -n 1)"
	[ $rc -ne 0 ] || fail "$1: a log folder in $2 was accepted"
	assert_match "^$T/bad.yaml:[0-9]+:[0-9]+: program \"$1\": stdout_logfile folder $2 refused: " \
	    "$out" "$1's error"
}
check world "$T/world"
assert_match "writable by others \(mode 0777\)" "$out" "world's reason"
check group "$T/group"
assert_match "writable by its group \(mode 0775\)" "$out" "group's reason"
check theirs "$T/theirs" nobody
assert_match "owned by uid $ATK_UID, not by root" "$out" "theirs' reason"
# Another user's folder, for a program that runs as root.
check theirs2 "$T/atk"

# The same at reload: refused, and the running programs are untouched.
pid=$(status_field mine pid)
cp "$T/bad.yaml" "$CFG"
out=$(ctl reload 2>&1) && fail "a reload with a bad log folder succeeded"
assert_match "stdout_logfile folder $T/atk refused" "$out" "the reload's error"
assert_eq "$pid" "$(status_field mine pid)" "mine's pid after the refused reload"
wait_until "two crasher respawns during the attack" 20 \
    '[ "$(crashes)" -ge $((c0 + 2)) ]'
figure "configurations with unsafe log folders loaded"

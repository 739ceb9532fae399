# An unprivileged user cannot take a program's place by carrying its
# instance marker, and a run record that names someone else's process is
# not adopted either.  Root only: it makes an attacker user (removed at
# exit) who plants a process with CHAINKEEPER_INSTANCE=<id>:<prog>/<pid>
# (the id is FNV-1a of state_dir, which anyone can compute) before
# chainkeeperd starts.  The real program must be started (a new pid, run by
# the right uid), the planted process must not be adopted and must be
# named once in the log with its pid and the reason.  Then records written
# as root that name the attacker's process (a run record with uid 0, and an
# older chainkeeperd's state.json record) must be refused, while a real
# run of a user: program is still adopted after a SIGKILL.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh" || exit 99

[ "$(id -u)" = 0 ] || skip "needs root to make an attacker user"
command -v useradd >/dev/null || skip "no useradd"
command -v setpriv >/dev/null || skip "no setpriv"
getent passwd nobody >/dev/null || skip "no user nobody"

ATK=ck-adoptmk-$$
useradd -M -N -r -s /bin/sh "$ATK" || fail "useradd $ATK"
PLANTED=
on_exit 'for p in $PLANTED; do kill -9 $p; done; userdel '"$ATK"
ATK_UID=$(id -u "$ATK")
ATK_GID=$(id -g "$ATK")
NB_UID=$(id -u nobody)
chmod 711 "$T"

# The marker id as chainkeeperd makes it: FNV-1a (32 bits) of state_dir.
fnv1a() {
	local s=$1 h=2166136261 i c
	for ((i = 0; i < ${#s}; i++)); do
		printf -v c '%d' "'${s:i:1}"
		h=$(( ((h ^ c) * 16777619) & 0xffffffff ))
	done
	printf '%08x' "$h"
}
ID=$(fnv1a "$STATE")

sleeper=$(write_script sleeper.sh <<'EOF'
#!/bin/sh
exec sleep 100000
EOF
)
write_config <<EOF
programs:
  rootprog:
    command: $sleeper
    startsecs: 0
  userprog:
    command: $sleeper
    user: nobody
    startsecs: 0
EOF

# The id computed here is the one the daemon uses.
start_daemon
wait_for "both RUNNING" 10 eval \
    'state_is rootprog RUNNING && state_is userprog RUNNING'
rpid=$(status_field rootprog pid)
marker=$(tr '\0' '\n' <"/proc/$rpid/environ" | grep '^CHAINKEEPER_INSTANCE=')
assert_eq "CHAINKEEPER_INSTANCE=$ID:rootprog/$rpid" "$marker" "marker"
stop_daemon

# plant NAME: a process of the attacker whose marker names its own pid.
plant() {
	setpriv --reuid="$ATK_UID" --regid="$ATK_GID" --clear-groups \
	    setsid sh -c "exec env CHAINKEEPER_INSTANCE=$ID:$1/\$\$ \
	    sleep 100000" </dev/null >/dev/null 2>&1 &
	echo $!
}
p1=$(plant rootprog)
p2=$(plant userprog)
PLANTED="$p1 $p2"
wait_for "planted processes carry the marker" 5 eval \
    "grep -qz CHAINKEEPER_INSTANCE=$ID:rootprog/$p1 /proc/$p1/environ &&
    grep -qz CHAINKEEPER_INSTANCE=$ID:userprog/$p2 /proc/$p2/environ"
assert_eq "$ATK_UID" "$(ps -o uid= -p "$p1" | tr -d ' ')" "planted uid"

start_daemon
wait_for "rootprog started" 10 eval \
    '[ "$(status_field rootprog state)" = RUNNING ] &&
    [ "$(status_field rootprog pid)" != "$p1" ]'
wait_for "userprog started" 10 eval \
    '[ "$(status_field userprog state)" = RUNNING ] &&
    [ "$(status_field userprog pid)" != "$p2" ]'
rpid=$(status_field rootprog pid)
upid=$(status_field userprog pid)
assert_eq 0 "$(ps -o uid= -p "$rpid" | tr -d ' ')" "rootprog's uid"
assert_eq "$NB_UID" "$(ps -o uid= -p "$upid" | tr -d ' ')" "userprog's uid"
log_has "adopted pid $p1" && fail "the planted rootprog was adopted"
log_has "adopted pid $p2" && fail "the planted userprog was adopted"
assert_eq 1 "$(log_count "rootprog: not adopting pid $p1 \\(uid $ATK_UID\\): .*marker")" \
    "refusal lines for pid $p1"
assert_eq 1 "$(log_count "userprog: not adopting pid $p2 \\(uid $ATK_UID\\): .*marker")" \
    "refusal lines for pid $p2"
# Marked but not ours: swept, as what an earlier run left would be.
wait_for "the planted processes swept" 10 eval \
    "! alive $p1 && ! alive $p2"
# A real run of a user: program is recorded with that user's ids, and
# adopted after chainkeeperd is killed.
rec=$(jq -c '{uid, gid}' "$STATE/runs/userprog")
assert_eq "{\"uid\":$NB_UID,\"gid\":$(id -g nobody)}" "$rec" "userprog's record"
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=
start_daemon
wait_for "userprog adopted" 10 log_has "userprog: STOPPED -> RUNNING: adopted pid $upid"
assert_eq "$upid" "$(status_field userprog pid)" "userprog pid after a crash"
assert_eq "$rpid" "$(status_field rootprog pid)" "rootprog pid after a crash"
stop_daemon

# Records written as root that name the attacker's process: a run record
# that says uid 0 and names the process's own executable, and an older
# chainkeeperd's record in state.json.  Neither is adopted; the process is
# not the daemon's to kill.
setpriv --reuid="$ATK_UID" --regid="$ATK_GID" --clear-groups \
    setsid sleep 100000 </dev/null >/dev/null 2>&1 &
x=$!
PLANTED="$PLANTED $x"
wait_for "the attacker's sleep" 5 eval \
    "[ \"\$(readlink /proc/$x/exe)\" = \"\$(readlink -f \"\$(command -v sleep)\")\" ]"
ticks=$(awk '{ print $22 }' "/proc/$x/stat")
read -r dev ino < <(stat -L -c '%d %i' "/proc/$x/exe")
jq -n --argjson pid "$x" --argjson t "$ticks" --argjson d "$dev" \
    --argjson i "$ino" --arg b "$(cat /proc/sys/kernel/random/boot_id)" \
    --arg e "$(readlink "/proc/$x/exe")" \
    '{pid: $pid, start_ticks: $t, start_time: 1, restarts: 0, uid: 0,
    gid: 0, boot_id: $b, exe: $e, exe_dev: $d, exe_ino: $i}' \
    >"$STATE/runs/rootprog"
[ -f "$STATE/state.json" ] ||
    echo '{"version": 1, "programs": {}}' >"$STATE/state.json"
jq --argjson pid "$x" --argjson t "$ticks" \
    '.programs.userprog.run = {pid: $pid, start_ticks: $t, start_time: 1,
    restarts: 0}' "$STATE/state.json" >"$T/state.new" ||
    fail "cannot edit state.json"
mv "$T/state.new" "$STATE/state.json"
start_daemon
wait_for "rootprog started afresh" 10 eval \
    '[ "$(status_field rootprog state)" = RUNNING ] &&
    [ "$(status_field rootprog pid)" != "$x" ]'
wait_for "userprog started afresh" 10 eval \
    '[ "$(status_field userprog state)" = RUNNING ] &&
    [ "$(status_field userprog pid)" != "$x" ]'
assert_eq 1 "$(log_count "rootprog: not adopting recorded pid $x: it runs as uid $ATK_UID")" \
    "refusal of the forged run record"
assert_eq 1 "$(log_count "userprog: not adopting recorded pid $x: it runs as uid $ATK_UID")" \
    "refusal of the forged state.json record"
alive "$x" || fail "the process a forged record named was killed"

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

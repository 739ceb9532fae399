# fork failing with EAGAIN: chainkeeperd runs as an unprivileged uid of its
# own, and its RLIMIT_NPROC is lowered at run time (prlimit) below the
# number of processes that uid already has, so every fork fails.  A program
# that was killed then cannot be respawned: it goes BACKOFF with one clear
# log line, keeps retrying past startretries without ever going FATAL, and
# `chainkeeperctl start` of another program fails saying why.  The daemon
# keeps answering.  When the limit is raised again, both programs come back
# by themselves (RUNNING, one spawn each), and the log says so.
. "$(dirname "$0")/lib.sh" || exit 99

command -v setpriv >/dev/null && command -v prlimit >/dev/null ||
    skip "setpriv and prlimit (util-linux) are needed"
[ "$(id -u)" -eq 0 ] || skip "needs root (to run the daemon as another uid)"

# A uid no process on this machine runs as: RLIMIT_NPROC counts per uid.
uid=
for try in $(seq 1 50); do
	u=$((41000 + ($$ + try * 7919) % 20000))
	if ! ps -e -o ruid= | grep -qx " *$u"; then
		uid=$u
		break
	fi
done
[ -n "$uid" ] || skip "no free uid found"
say "daemon uid $uid"

prog=$(write_script steady.sh <<'EOF'
#!/bin/sh
echo run >>"$1"
exec sleep 100000
EOF
)
write_config <<EOF
programs:
  steady:
    command: [$prog, $T/steady.runs]
    startretries: 1
    backoff: {initial: 100ms, max: 400ms, jitter: 0}
  later:
    command: [$prog, $T/later.runs]
    autostart: false
    startretries: 1
    backoff: {initial: 100ms, max: 400ms, jitter: 0}
EOF
mkdir -p "$STATE" "$LOGDIR"
chown -R "$uid:$uid" "$T"
chmod 755 "$T"
CK_DAEMON_WRAPPER="setpriv --reuid=$uid --regid=$uid --clear-groups --"
start_daemon
unset CK_DAEMON_WRAPPER
wait_for "steady RUNNING" 10 state_is steady RUNNING
old=$(status_field steady pid)
assert_eq "$uid" "$(ps -o ruid= -p "$old" | tr -d ' ')" "the program's uid"

runs() { if [ -f "$T/$1.runs" ]; then wc -l <"$T/$1.runs"; else echo 0; fi; }
assert_eq 1 "$(runs steady)" "steady spawns"

# setnproc SOFT: set the daemon's soft RLIMIT_NPROC, as its own uid (a
# root without CAP_SYS_RESOURCE may not change another uid's limits).
hard=$(awk '/^Max processes/ { print $4 }' "/proc/$DPID/limits")
setnproc() {
	setpriv --reuid="$uid" --regid="$uid" --clear-groups -- \
	    prlimit --pid "$DPID" --nproc="$1:$hard"
}
# No fork can succeed for this uid from now on.
setnproc 1 || fail "prlimit failed"
kill -9 "$old"
wait_for "the failed fork logged" 10 \
    log_has 'steady: fork: Resource temporarily unavailable: the host is out of a resource'
wait_for "steady BACKOFF" 10 state_is steady BACKOFF
# Past startretries (1) several times over, and still not FATAL.
wait_for "a fifth failed attempt" 20 log_has 'steady: BACKOFF -> BACKOFF: fork: .*attempt 5'
state_is steady BACKOFF || fail "steady is $(status_field steady state)"
assert_eq 0 "$(log_count 'steady: .*-> FATAL')" "FATAL transitions"
assert_eq 1 "$(log_count 'the host is out of a resource')" \
    "lines saying the host is out of a resource"
assert_eq 1 "$(runs steady)" "steady spawns while fork fails"

# A start by hand fails, saying why; the daemon still answers.
out=$(ctl start later 2>&1)
rc=$?
assert_eq 1 "$rc" "exit status of start while fork fails"
assert_match 'Resource temporarily unavailable' "$out" "start's message"
assert_eq 0 "$(runs later)" "later spawns while fork fails"
ctl status >/dev/null || fail "status failed while fork fails"

# The resource returns: both come back by themselves.
t0=$(now_ms)
setnproc "$hard" || fail "prlimit failed"
wait_for "steady RUNNING again" 10 state_is steady RUNNING
wait_for "later RUNNING" 10 state_is later RUNNING
say "back $(($(now_ms) - t0)) ms after the limit was raised (backoff max 400 ms)"
assert_eq 2 "$(runs steady)" "steady spawns"
assert_eq 1 "$(runs later)" "later spawns"
log_has 'steady: spawned again after [0-9]+ attempts failed for want of a host resource' ||
    fail "no line saying steady spawned again"
[ "$(status_field steady pid)" != "$old" ] || fail "steady kept its old pid"

# The oom probe under the real chainkeeperd.  Three sources of evidence:
#  A. a syslog file (syslog:) to which the test appends realistic kernel
#     lines, SIGKILLing the named process itself:
#     - a child of the program: failing with the pid, name and age,
#       value 1, the program stays RUNNING; healthy again after hold;
#     - the same text logged by a non-kernel tag is ignored;
#     - a pid the tree never had, named like the program's argv[0]: matched
#       by name (detail.last_kill.by_name);
#     - the main process, line before the SIGKILL: status last_exit says
#       "killed by SIGKILL (OOM killer)" with "oom": true; the program is
#       restarted and the new run's probe fails, naming the previous run's
#       main pid;
#     - the main process, line after the exit was reaped: last_exit is
#       marked OOM all the same; a plain SIGKILL is not;
#  B. /dev/kmsg (the default), when this test may write to it (root): a
#     record written there for a child of the program is seen;
#  C. a real OOM kill by the kernel, when a memory cgroup v1 can be made
#     here: the program runs in its own cgroup with memory.limit 64M; its
#     child allocates 300 MB and is killed: the probe fails through
#     /dev/kmsg and the cgroup's oom_kill counter; then the main process
#     allocates and is killed: last_exit is an OOM kill.  A kill named
#     like the wrapper (sh) is not matched by name; one named like the
#     tree's processes is.
#  Bad settings are refused by chainkeeperd -n.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

command -v python3 >/dev/null 2>&1 || skip "python3 is needed"
PY=$(python3 -c 'import sys; print(sys.executable)')
SYSLOG=$T/syslog
# Script names, so process names (comm), unique to this run: a parallel
# run of this test writes to the same /dev/kmsg.
SFX=${T##*.}
: >"$SYSLOG"

# A program whose child the test can OOM-kill; children are reaped.
victim=$(write_script "v$SFX.py" <<EOF
#!$PY
import os, signal, time
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
if os.fork() == 0:
    while True:
        time.sleep(1)
while True:
    time.sleep(1)
EOF
)
early=$(write_script "e$SFX.py" <<EOF
#!$PY
import time
while True:
    time.sleep(1)
EOF
)
late=$(write_script "l$SFX.py" <<EOF
#!$PY
import time
while True:
    time.sleep(1)
EOF
)

# Can this test write to /dev/kmsg and read it back (part B, C)?
KMSG=0
if [ -w /dev/kmsg ] && [ -r /dev/kmsg ] && "$PY" - <<'EOF' 2>/dev/null
import os
r = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
os.lseek(r, 0, os.SEEK_END)
w = os.open("/dev/kmsg", os.O_WRONLY)
os.write(w, b"<6>chainkeeper test: kmsg probe\n")
assert b"chainkeeper test: kmsg probe" in os.read(r, 8192)
EOF
then
	KMSG=1
fi

# A memory cgroup v1 of our own, with a 64M limit (part C).
CG=
MEMMNT=/sys/fs/cgroup/memory
MYCG=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)
if [ $KMSG = 1 ] && [ -n "$MYCG" ] && [ -w "$MEMMNT$MYCG" ] &&
    mkdir "$MEMMNT${MYCG%/}/ck-oom-${T##*.}" 2>/dev/null; then
	CG=$MEMMNT${MYCG%/}/ck-oom-${T##*.}
	on_exit "rmdir '$CG'"
	if ! echo $((64 * 1024 * 1024)) >"$CG/memory.limit_in_bytes"; then
		CG=
	else
		echo $((64 * 1024 * 1024)) >"$CG/memory.memsw.limit_in_bytes" \
		    2>/dev/null
	fi
fi
hog=$(write_script "h$SFX.py" <<EOF
#!$PY
import os, signal, time
T = "$T"
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
if os.fork() == 0:
    while not os.path.exists(os.path.join(T, "hog-child")):
        time.sleep(0.05)
    x = b"\x01" * (300 << 20)
    os._exit(0)
while not os.path.exists(os.path.join(T, "hog-main")):
    time.sleep(0.05)
x = b"\x02" * (300 << 20)
EOF
)

{
	cat <<EOF
programs:
  victim:
    command: $victim
    startsecs: 0
    autorestart: false
    probes:
      - { kind: oom, syslog: $SYSLOG, hold: 3s, interval: 300ms, fall: 1,
          rise: 1 }
  early:
    command: $early
    startsecs: 0
    autorestart: true
    probes:
      - { kind: oom, syslog: $SYSLOG, interval: 300ms, fall: 1, rise: 1 }
  late:
    command: $late
    startsecs: 0
    autorestart: false
    probes:
      - { kind: oom, syslog: $SYSLOG, interval: 300ms, fall: 1, rise: 1 }
EOF
	if [ $KMSG = 1 ]; then
		cat <<EOF
  kvictim:
    command: $victim
    startsecs: 0
    autorestart: false
    probes:
      - { kind: oom, match_name: false, interval: 300ms, fall: 1,
          rise: 1 }
EOF
	fi
	if [ -n "$CG" ]; then
		cat <<EOF
  hog:
    command: ["/bin/sh", "-c", "echo \$\$ > $CG/cgroup.procs && exec $hog"]
    startsecs: 1
    autorestart: false
    probes:
      - { kind: oom, interval: 300ms, fall: 1, rise: 1 }
EOF
	fi
} | write_config
start_daemon

# pv PROGRAM FIELD: a field (jq path) of the program's oom probe.
pv() {
	ctl status --json "$1" |
	    jq -r ".[0].probes[] | select(.kind == \"oom\") | .$2"
}
health_is() {
	[ "$(pv "$1" health)" = "$2" ]
}
failing_with() {
	health_is "$1" failing && pv "$1" reason | grep -Eq -- "$2"
}
# kernel_line PID NAME [TAG]: what the kernel logs, as rsyslog writes it.
kernel_line() {
	echo "$(date '+%b %e %H:%M:%S') $(hostname) ${3:-kernel}: [12345.678901] Out of memory: Killed process $1 ($2) total-vm:8123456kB, anon-rss:5234567kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:11264kB oom_score_adj:0" >>"$SYSLOG"
}
# child_of PID: its (only) child.
child_of() {
	pgrep -P "$1" | head -n 1
}

for p in victim early late; do
	wait_until "$p RUNNING" 30 "state_is $p RUNNING"
	wait_until "$p healthy" 30 "health_is $p healthy"
done
assert_eq "no OOM kill" "$(pv victim reason)" "reason at first"
assert_eq "$SYSLOG" "$(pv victim detail.source)" "source"
assert_eq null "$(pv victim detail.cgroup)" "no cgroup of its own"

# A. A child, killed by "the OOM killer".
vpid=$(status_field victim pid)
wait_until "victim's child" 30 '[ -n "$(child_of "$vpid")" ]'
cpid=$(child_of "$vpid")
wait_until "the child in the tree" 30 '[ "$(pv victim detail.tree_pids)" -ge 2 ]'
kernel_line "$cpid" python3
kill -9 "$cpid"
# The failure lasts hold (3 s): durable facts are read from the detail,
# the transitions from the daemon log (a loaded host polls slowly).
wait_until "victim sees the kill" 30 '[ "$(pv victim detail.last_kill.pid)" = "$cpid" ]'
wait_until "victim failing" 30 "log_has 'victim: probe oom: healthy -> failing: the OOM killer killed pid $cpid \\(python3\\) [0-9]+ s ago\$'"
assert_eq 1 "$(pv victim detail.kills)" "kills"
assert_eq false "$(pv victim detail.last_kill.main)" "last_kill.main"
assert_eq false "$(pv victim detail.last_kill.by_name)" "by_name"
assert_eq RUNNING "$(status_field victim state)" "victim state"
log_has "victim: the OOM killer killed pid $cpid \\(python3\\)$" ||
    fail "no log line for the kill"
# The same text from a process's own syslog tag is not the kernel's.
kernel_line "$vpid" "v$SFX.py" myapp
wait_until "healthy again after hold (3s)" 30 'log_has "victim: probe oom: failing -> healthy: no OOM kill for [0-9]+ s$"'
t_fail=$(log_ms "victim: probe oom: healthy -> failing")
t_ok=$(log_ms "victim: probe oom: failing -> healthy")
[ $((t_ok - t_fail)) -ge 2700 ] || fail "healthy $((t_ok - t_fail)) ms after the kill, within hold"
assert_eq 1 "$(pv victim detail.kills)" "kills after the fake tag"
assert_eq RUNNING "$(status_field victim state)" "victim state"
assert_eq "$vpid" "$(status_field victim pid)" "victim pid"
# A pid the tree never had, with the program's name.
kernel_line 999999 "v$SFX.py"
wait_until "matched by name" 30 '[ "$(pv victim detail.last_kill.by_name)" = true ]'
assert_eq 999999 "$(pv victim detail.last_kill.pid)" "by-name pid"
assert_eq 2 "$(pv victim detail.kills)" "kills after the by-name one"
wait_until "failing for the by-name kill" 30 "log_has 'victim: probe oom: healthy -> failing: the OOM killer killed pid 999999 '"

# The main process: the line first, then the kill; it is restarted.
epid=$(status_field early pid)
kernel_line "$epid" "e$SFX.py"
wait_until "early sees it" 30 'health_is early failing'
assert_eq true "$(pv early detail.last_kill.main)" "last_kill.main"
kill -9 "$epid"
wait_until "early restarted" 30 '[ "$(status_field early pid)" != "$epid" ] && state_is early RUNNING'
assert_eq "killed by SIGKILL (OOM killer)" \
    "$(status_field early last_exit.text)" "last_exit.text"
assert_eq true "$(status_field early last_exit.oom)" "last_exit.oom"
assert_eq KILL "$(status_field early last_exit.signal)" "last_exit.signal"
wait_until "new run failing for the previous run" 30 "failing_with early '^the OOM killer killed the previous run.s main process, pid $epid, [0-9]+ s ago\$'"
assert_eq "$epid" "$(pv early detail.previous_run.pid)" "previous_run.pid"
assert_eq 0 "$(pv early value | cut -d. -f1)" "no kill in this run"

# The main process, plain SIGKILL: not an OOM kill.
lpid=$(status_field late pid)
kill -9 "$lpid"
wait_until "late EXITED" 30 'state_is late EXITED'
assert_eq "killed by SIGKILL" "$(status_field late last_exit.text)" "text"
assert_eq false "$(status_field late last_exit.oom)" "plain SIGKILL"
# Again, the kernel's line after the exit was reaped.
ctl start late >/dev/null || fail "start late"
wait_until "late RUNNING" 30 'state_is late RUNNING'
wait_until "late healthy" 30 'health_is late healthy'
lpid=$(status_field late pid)
kill -9 "$lpid"
# Right after the exit is reaped (the log says so), as a kernel line may.
wait_until "late EXITED (log)" 30 "[ \"\$(log_count 'late: RUNNING -> EXITED')\" = 2 ]"
kernel_line "$lpid" "l$SFX.py"
wait_until "late last_exit marked OOM" 30 '[ "$(status_field late last_exit.oom)" = true ]'
assert_eq "killed by SIGKILL (OOM killer)" \
    "$(status_field late last_exit.text)" "late text"
log_has "late: the OOM killer killed pid $lpid \\(l$SFX.py\\), the main process$" ||
    fail "no log line for the late kill"

# B. /dev/kmsg.
if [ $KMSG = 1 ]; then
	wait_until "kvictim healthy" 30 'health_is kvictim healthy'
	kpid=$(status_field kvictim pid)
	wait_until "kvictim's child" 30 '[ -n "$(child_of "$kpid")" ]'
	kc=$(child_of "$kpid")
	wait_until "the child in the tree" 30 '[ "$(pv kvictim detail.tree_pids)" -ge 2 ]'
	printf '<3>chainkeeper test: Out of memory: Killed process %s (python3) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1kB oom_score_adj:0\n' \
	    "$kc" >/dev/kmsg
	kill -9 "$kc"
	wait_until "kvictim failing" 30 "failing_with kvictim '^the OOM killer killed pid $kc '"
	assert_eq kmsg "$(pv kvictim detail.source)" "kmsg source"
else
	say "cannot write and read /dev/kmsg here: part B skipped"
fi

# C. A real OOM kill in a memory cgroup.
if [ -n "$CG" ]; then
	wait_until "hog RUNNING" 30 'state_is hog RUNNING'
	wait_until "hog healthy" 30 'health_is hog healthy'
	assert_match "memory\\.oom_control\$" "$(pv hog detail.cgroup)" \
	    "the hog's cgroup counter"
	assert_eq 0 "$(pv hog detail.cgroup_kills)" "cgroup_kills at first"
	hpid=$(status_field hog pid)
	hc=$(child_of "$hpid")
	[ -n "$hc" ] || fail "no child of the hog"
	wait_until "the child in the tree" 30 '[ "$(pv hog detail.tree_pids)" -ge 2 ]'
	# The wrapper's name (argv[0] is /bin/sh) matches nothing.
	printf '<3>chainkeeper test: Out of memory: Killed process 999998 (sh) total-vm:1kB\n' \
	    >/dev/kmsg
	printf '<3>chainkeeper test: Out of memory: Killed process 999997 (%s) total-vm:1kB\n' \
	    "h$SFX.py" >/dev/kmsg
	wait_until "a kill by the tree's name" 30 '[ "$(pv hog detail.last_kill.pid)" = 999997 ]'
	assert_eq 1 "$(pv hog detail.log_kills)" "kills named like the wrapper"
	touch "$T/hog-child"
	wait_until "hog failing (kernel OOM kill)" 30 "failing_with hog '^the OOM killer killed '"
	wait_until "both kinds of evidence" 30 '[ "$(pv hog detail.cgroup_kills)" = 1 ] && [ "$(pv hog detail.last_kill.pid)" = "$hc" ]'
	assert_eq 2 "$(pv hog value | cut -d. -f1)" "hog value (2 lines)"
	assert_eq RUNNING "$(status_field hog state)" "hog state"
	touch "$T/hog-main"
	wait_until "hog EXITED" 30 'state_is hog EXITED'
	wait_until "hog last_exit marked OOM" 30 '[ "$(status_field hog last_exit.oom)" = true ]'
	assert_eq "killed by SIGKILL (OOM killer)" \
	    "$(status_field hog last_exit.text)" "hog text"
else
	say "no memory cgroup v1 to make here: real OOM kill (part C) skipped"
fi

bad() {
	local out
	write_config "$T/bad.yaml" <<EOF
programs:
  x:
    command: /bin/true
    probes:
      - kind: oom
        $1
EOF
	out=$("$CHAINKEEPERD" -n -c "$T/bad.yaml" 2>&1) &&
	    fail "accepted: $1"
	# Not assert_match: grep -q may leave printf a SIGPIPE (pipefail).
	[[ $out =~ $2 ]] || fail "error for \"$1\" does not match /$2/: $out"
}
bad "syslog: var/log/syslog" 'bad\.yaml:[0-9]+:[0-9]+: .*syslog must be an absolute path'
bad "cgroup: maybe" 'cgroup must be true or false'
bad "hold: forever" 'hold: '
bad "kmsg: true" 'unknown setting "kmsg"'

stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

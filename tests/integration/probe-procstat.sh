# The procstat probe under the real chainkeeperd.  The program is a python3
# script with a child; control files in the test folder make them grow.
# Asserts:
#  - healthy at first, with a detail of rss, cpu_pct, threads, fds,
#    processes (2: the tree) and state S;
#  - max_rss: each process allocates 70 MB: the tree's sum (the value)
#    passes 100MB while neither process does, and the probe fails with
#    "RSS ... over 100.0 MB";
#  - max_cpu: four busy grandchildren make the tree's CPU pass 10% and
#    fail; when they stop the probe is healthy again;
#  - max_threads and max_fds fail with their own reasons;
#  - max_stopped: SIGSTOP of the main process fails after 1 s in T state,
#    SIGCONT recovers;
#  - max_dstate: the main process frozen by the cgroup v1 freezer (D
#    state) fails after 1 s; thawed, it recovers (when the freezer is
#    writable here);
#  - bad settings are refused by chainkeeperd -n.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

command -v python3 >/dev/null 2>&1 || skip "python3 is needed"
PY=$(python3 -c 'import sys; print(sys.executable)')

prog=$(write_script proc.py <<EOF
#!$PY
import os, threading, time
T = "$T"
def has(name):
    return os.path.exists(os.path.join(T, name))
if os.fork() == 0:
    # The child: 70 MB on "grow".
    mem = None
    while True:
        if mem is None and has("grow"):
            mem = b"\x01" * (70 << 20)
            open(os.path.join(T, "child-grown"), "w").close()
        time.sleep(0.05)
mem = None
busy = None
threads = []
fds = []
while True:
    if mem is None and has("grow"):
        mem = b"\x02" * (70 << 20)
        open(os.path.join(T, "main-grown"), "w").close()
    if busy is None and has("busy"):
        # Four spinners: enough CPU even on a loaded test host.
        busy = []
        for k in range(4):
            pid = os.fork()
            if pid == 0:
                while not has("idle"):
                    for i in range(100000):
                        pass
                os._exit(0)
            busy.append(pid)
    if busy and has("idle"):
        for pid in busy:
            os.waitpid(pid, 0)
        busy = []
    if not threads and has("threads"):
        for i in range(12):
            t = threading.Thread(target=time.sleep, args=(3600,),
                daemon=True)
            t.start()
            threads.append(t)
    if not fds and has("fds"):
        fds = [os.open("/dev/null", os.O_RDONLY) for i in range(64)]
    time.sleep(0.05)
EOF
)

write_config <<EOF
programs:
  app:
    command: $prog
    startsecs: 0
    autorestart: false
    stopwaitsecs: 2s
    probes:
      - { kind: procstat, name: mem, max_rss: 100MB, interval: 300ms,
          fall: 1, rise: 1 }
      - { kind: procstat, name: cpu, max_cpu: 10, interval: 500ms,
          fall: 2, rise: 1 }
      - { kind: procstat, name: thr, max_threads: 8, interval: 300ms,
          fall: 1, rise: 1 }
      - { kind: procstat, name: fds, max_fds: 40, interval: 300ms,
          fall: 1, rise: 1 }
      - { kind: procstat, name: stopped, max_stopped: 1s, interval: 300ms,
          fall: 1, rise: 1 }
      - { kind: procstat, name: frozen, max_dstate: 1s, interval: 300ms,
          fall: 1, rise: 1 }
EOF
start_daemon
wait_until "app RUNNING" 30 'state_is app RUNNING'
pid=$(status_field app pid)

# pv PROBE FIELD: a field (jq path) of one probe of app.
pv() {
	ctl status --json app |
	    jq -r ".[0].probes[] | select(.name == \"$1\") | .$2"
}
health_is() {
	[ "$(pv "$1" health)" = "$2" ]
}
failing_with() {
	health_is "$1" failing && pv "$1" reason | grep -Eq -- "$2"
}
vmrss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

for p in mem cpu thr fds stopped frozen; do
	wait_until "$p healthy" 30 "health_is $p healthy"
done
wait_until "two processes in the tree" 30 '[ "$(pv mem detail.processes)" = 2 ]'
assert_eq S "$(pv mem detail.state)" "state"
assert_match '^[0-9]+$' "$(pv fds detail.fds)" "detail.fds"
assert_match '^[0-9]+$' "$(pv thr detail.threads)" "detail.threads"
wait_until "cpu_pct measured" 30 '[ "$(pv cpu detail.cpu_pct)" != null ]'
assert_match '^RSS [0-9.]+ [KMG]B, CPU [0-9]+%, [0-9]+ threads, state S$' \
    "$(pv cpu reason)" "ok reason"

# RSS: 70 MB in each process, over 100MB only together.
touch "$T/grow"
wait_for "both grew" 30 test -f "$T/child-grown" -a -f "$T/main-grown"
wait_until "mem failing" 30 'failing_with mem "^RSS [0-9.]+ MB over 100\.0 MB$"'
# The sum, once both allocations are in: 2 x 70 MB and the interpreters.
wait_until "tree RSS > 140MB" 30 \
    '[ "$(pv mem value | cut -d. -f1)" -gt $((140 * 1024 * 1024)) ]'
rss=$(pv mem value | cut -d. -f1)
for p in $pid $(pgrep -P "$pid"); do
	[ "$(vmrss_kb "$p")" -lt $((100 * 1024)) ] ||
	    fail "pid $p alone has $(vmrss_kb "$p") kB"
done
assert_eq true "$(ctl status --json app | jq '.[0].probes[] |
    select(.name == "mem") | (.value | floor) == .detail.rss')" \
    "value = detail.rss"
assert_eq healthy "$(pv thr health)" "thr still healthy"

# CPU: a busy grandchild.
touch "$T/busy"
# The allocations above may already have made it fail: wait for the
# spinners to be counted too.
wait_until "cpu failing with the spinners" 30 \
    'failing_with cpu "^CPU [0-9]+% over 10%$" &&
    [ "$(pv cpu detail.processes)" = 6 ]'
touch "$T/idle"
wait_until "cpu healthy again" 30 'health_is cpu healthy'

# Threads and fds.
touch "$T/threads"
wait_until "thr failing" 30 'failing_with thr "^[0-9]+ threads, over 8$"'
touch "$T/fds"
wait_until "fds failing" 30 'failing_with fds "^[0-9]+ open fds, over 40$"'
[ "$(pv fds detail.fds)" -gt 64 ] || fail "fds: $(pv fds detail.fds)"

# T state.
kill -STOP "$pid"
wait_until "state T" 30 '[ "$(pv stopped detail.state)" = T ]'
t0=$(now_ms)
wait_until "stopped failing" 30 'failing_with stopped "^stopped \(T state\) for [0-9]+ s$"'
[ $(($(now_ms) - t0)) -ge 600 ] || fail "stopped failed too early"
kill -CONT "$pid"
wait_until "stopped healthy again" 30 'health_is stopped healthy'

# D state, through the cgroup v1 freezer.
FRZ=/sys/fs/cgroup/freezer
if [ -w "$FRZ" ] && mkdir "$FRZ/ck-$$-${T##*.}" 2>/dev/null; then
	CG="$FRZ/ck-$$-${T##*.}"
	on_exit "echo THAWED > '$CG/freezer.state'; echo $pid > '$FRZ/cgroup.procs'; rmdir '$CG'"
	echo "$pid" >"$CG/cgroup.procs"
	echo FROZEN >"$CG/freezer.state"
	if wait_until_d() { [ "$(awk '{ print $3 }' "/proc/$pid/stat")" = D ]; }
	    wait_for "D state" 30 wait_until_d; then
		wait_until "frozen failing" 30 'failing_with frozen "^in D state \(uninterruptible\) for [0-9]+ s$"'
		assert_eq D "$(pv frozen detail.state)" "state"
		echo THAWED >"$CG/freezer.state"
		wait_until "frozen healthy again" 30 'health_is frozen healthy'
	fi
	echo THAWED >"$CG/freezer.state"
	echo "$pid" >"$FRZ/cgroup.procs"
else
	say "no writable cgroup v1 freezer: D state not tested"
fi

bad() {
	local out
	write_config "$T/bad.yaml" <<EOF
programs:
  x:
    command: /bin/true
    probes:
      - kind: procstat
        $1
EOF
	out=$("$CHAINKEEPERD" -n -c "$T/bad.yaml" 2>&1) &&
	    fail "accepted: $1"
	# Not assert_match: grep -q may leave printf a SIGPIPE (pipefail).
	[[ $out =~ $2 ]] || fail "error for \"$1\" does not match /$2/: $out"
}
bad "max_rss: lots" 'bad\.yaml:[0-9]+:[0-9]+: .*max_rss must be a size'
bad "max_rss: -5MB" 'max_rss must be a size'
bad "max_cpu: 0" 'max_cpu must be a percentage of one core above 0'
bad "max_cpu: fast" 'max_cpu must be a number'
bad "max_dstate: soon" 'max_dstate: '
bad "max_threads: 0" 'max_threads must be between 1 and'
bad "max_memory: 1GB" 'unknown setting "max_memory"'

stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

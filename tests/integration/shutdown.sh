# Orderly shutdown on SIGTERM: programs stop in reverse priority order
# (priority 10, 20, 30 -> 30, 20, 10), each only after the previous one is
# gone; dependents stop before their dependencies; a program that ignores
# SIGTERM is SIGKILLed after its stopwaitsecs; chainkeeperd exits 0 and no
# program process is left.  Also when a dependent has a lower priority
# number than its dependency (the two orders disagree): the dependency
# order wins and the shutdown completes.
. "$(dirname "$0")/lib.sh" || exit 99

# Each program logs "begin NAME" when it gets SIGTERM and "end NAME" just
# before it exits, 300 ms later.
prog=$(write_script prog.sh <<'EOF'
#!/bin/bash
name=$1
trap 'echo "begin $name" >>"$CK_DIR/order"; sleep 0.3;
    echo "end $name" >>"$CK_DIR/order"; exit 0' TERM
while :; do sleep 0.05 & wait $!; done
EOF
)
stubborn=$(write_script stubborn.sh <<'EOF'
#!/bin/bash
trap 'echo "begin stubborn (ignored)" >>"$CK_DIR/order"' TERM
while :; do sleep 0.05 & wait $!; done
EOF
)
write_config <<EOF
programs:
  p10:
    command: [$prog, p10]
    priority: 10
    startsecs: 0
    environment: {CK_DIR: $T}
  p30:
    command: [$prog, p30]
    priority: 30
    startsecs: 0
    environment: {CK_DIR: $T}
  p20:
    command: [$prog, p20]
    priority: 20
    startsecs: 0
    environment: {CK_DIR: $T}
  app:
    command: [$prog, app]
    priority: 40
    startsecs: 0
    depends_on: [db]
    environment: {CK_DIR: $T}
  db:
    command: [$prog, db]
    priority: 40
    startsecs: 0
    environment: {CK_DIR: $T}
  stubborn:
    command: $stubborn
    priority: 50
    startsecs: 0
    stopwaitsecs: 1s
    environment: {CK_DIR: $T}
EOF
all_running() {
	local n
	for n in "$@"; do
		state_is "$n" RUNNING || return 1
	done
}
start_daemon
wait_for "all RUNNING" 10 all_running p10 p20 p30 app db stubborn
pids=$(ctl status --json | jq -r '.[].pid' | xargs)

t0=$(now_ms)
kill -TERM "$DPID"
if ! _wait_gone "$DPID" 30; then
	fail "chainkeeperd did not exit within 30s of SIGTERM"
fi
took=$(($(now_ms) - t0))
wait "$DPID"
rc=$?
DPID=
say "SIGTERM -> exit in $took ms, status $rc"
assert_eq 0 "$rc" "chainkeeperd exit status after SIGTERM"
# stubborn 1 s, then 5 x 300 ms, one after the other.
[ "$took" -ge 2400 ] || fail "shutdown took only $took ms: not one after the other"

order=$(grep -v '^begin stubborn' "$T/order" | xargs)
say "stop order: $order"
assert_eq "begin app end app begin db end db begin p30 end p30 begin p20 end p20 begin p10 end p10" \
    "$order" "stop order"
head -n 1 "$T/order" | grep -q '^begin stubborn' ||
    fail "stubborn (priority 50) was not the first to get SIGTERM"
log_has 'stubborn: still running 1000 ms after SIGTERM: sent SIGKILL' ||
    fail "no SIGKILL escalation for stubborn in the log"
# Nothing else was SIGKILLed.
assert_eq 1 "$(log_count 'sent SIGKILL')" "SIGKILL escalations"
log_has 'shutting down: SIGTERM' || fail "the log does not say why it shut down"
log_has 'all programs stopped; exiting' || fail "no final log line"
for p in $pids; do
	alive "$p" && fail "program pid $p is alive after the shutdown"
done
left=$(tagged_procs)
[ -z "$left" ] || fail "processes left after shutdown: $(ps -o pid,args -p $left)"
[ -e "$SOCK" ] && fail "the control socket is still there"

# Priority and depends_on disagree: "app" (priority 5) depends on "db"
# (priority 40).  Priority alone would stop db first, depends_on says app
# first.  The shutdown must still complete, with app before db.
: >"$T/order"
write_config <<EOF
programs:
  p30:
    command: [$prog, p30]
    priority: 30
    startsecs: 0
    environment: {CK_DIR: $T}
  app:
    command: [$prog, app]
    priority: 5
    startsecs: 0
    depends_on: [db]
    environment: {CK_DIR: $T}
  db:
    command: [$prog, db]
    priority: 40
    startsecs: 0
    environment: {CK_DIR: $T}
EOF
start_daemon
wait_for "all RUNNING" 10 all_running p30 app db
kill -TERM "$DPID"
if ! _wait_gone "$DPID" 20; then
	fail "shutdown deadlocked: a dependent (priority 5) of a program with priority 40 (status: $(status_dump | xargs))"
fi
wait "$DPID"
rc=$?
DPID=
assert_eq 0 "$rc" "chainkeeperd exit status after SIGTERM"
order=$(grep '^end' "$T/order" | xargs)
say "stop order with conflicting priorities: $order"
case $order in
*"end app"*"end db"*) ;;
*) fail "db stopped before its dependent app: $order" ;;
esac
left=$(tagged_procs)
[ -z "$left" ] || fail "processes left after shutdown: $left"

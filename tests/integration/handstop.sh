# A stop by hand is remembered: stop a program with chainkeeperctl, shut
# chainkeeperd down, start it again: that program stays STOPPED
# (admin_stopped true) while the others autostart.  Start it by hand,
# restart chainkeeperd: it autostarts again.
. "$(dirname "$0")/lib.sh" || exit 99

prog=$(write_script prog.sh <<'EOF'
#!/bin/sh
echo "$1 started" >>"$2"
exec sleep 100000
EOF
)
write_config <<EOF
programs:
  node:
    command: [$prog, node, $T/starts]
    startsecs: 0
  wallet:
    command: [$prog, wallet, $T/starts]
    startsecs: 0
  miner:
    command: [$prog, miner, $T/starts]
    startsecs: 0
EOF
starts() {
	grep -c "^$1 started" "$T/starts" 2>/dev/null || echo 0
}
all_running() {
	local n
	for n in "$@"; do
		state_is "$n" RUNNING || return 1
	done
}

start_daemon
wait_for "all RUNNING" 10 all_running node wallet miner
assert_eq false "$(status_field wallet admin_stopped)" "wallet admin_stopped at first"

# Stop wallet by hand.
out=$(ctl stop wallet 2>&1) || fail "stop wallet failed: $out"
assert_eq STOPPED "$(status_field wallet state)" "wallet state after stop"
assert_eq true "$(status_field wallet admin_stopped)" "wallet admin_stopped after stop"
# It is on disk before chainkeeperd goes away.
jq -e '.programs.wallet.admin_stopped == true' "$STATE/state.json" >/dev/null ||
    fail "state.json does not record the hand stop: $(cat "$STATE/state.json")"

# Restart chainkeeperd: wallet stays stopped, the others start.
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"
[ -z "$(tagged_procs)" ] || fail "programs left after shutdown: $(tagged_procs)"
start_daemon
wait_for "node and miner RUNNING after the restart" 10 all_running node miner
assert_eq STOPPED "$(status_field wallet state)" "wallet after the restart"
assert_eq true "$(status_field wallet admin_stopped)" \
    "wallet admin_stopped after the restart"
assert_eq 1 "$(starts wallet)" "wallet starts (only the first)"
assert_eq 2 "$(starts node)" "node starts"
log_has 'wallet: stopped by hand earlier: not starting' ||
    fail "the log does not say why wallet is not started"
# And it stays so (autostart does not come later).
for i in $(seq 1 10); do
	assert_eq STOPPED "$(status_field wallet state)" "wallet state"
	sleep 0.05
done

# A reload does not start it either.
ctl reload >/dev/null || fail "reload failed"
assert_eq STOPPED "$(status_field wallet state)" "wallet after a reload"

# Start it by hand: remembered too; after a restart it autostarts.
out=$(ctl start wallet 2>&1) || fail "start wallet failed: $out"
assert_eq RUNNING "$(status_field wallet state)" "wallet after start"
assert_eq false "$(status_field wallet admin_stopped)" "wallet admin_stopped after start"
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"
start_daemon
wait_for "all RUNNING after the second restart" 10 all_running node wallet miner
assert_eq false "$(status_field wallet admin_stopped)" \
    "wallet admin_stopped after the second restart"
assert_eq 3 "$(starts wallet)" "wallet starts"

# restart by hand also forgets a hand stop.
ctl stop miner >/dev/null || fail "stop miner failed"
ctl restart miner >/dev/null || fail "restart miner failed"
assert_eq false "$(status_field miner admin_stopped)" "miner admin_stopped after restart"
stop_daemon
start_daemon
wait_for "miner autostarted" 10 state_is miner RUNNING

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

# reload: a, b, c run; change b's command, remove c, add d, then
# `chainkeeperctl reload`: a keeps its pid, b has a new pid (its new
# command), c is gone and its process dead, d is RUNNING.  A broken config
# changes nothing and reload exits non-zero with file:line:col.  SIGHUP does
# the same as reload.
. "$(dirname "$0")/lib.sh" || exit 99

prog=$(write_script prog.sh <<'EOF'
#!/bin/bash
# prog.sh NAME VERSION: says who it is, then waits.
echo "$1 version $2 pid $$"
trap 'exit 0' TERM
while :; do sleep 0.05 & wait $!; done
EOF
)
config_v1() {
	write_config <<EOF
programs:
  a:
    command: [$prog, a, 1]
    startsecs: 0
  b:
    command: [$prog, b, 1]
    startsecs: 0
  c:
    command: [$prog, c, 1]
    startsecs: 0
EOF
}
config_v2() {
	write_config <<EOF
programs:
  a:
    command: [$prog, a, 1]
    startsecs: 0
  b:
    command: [$prog, b, 2]
    startsecs: 0
  d:
    command: [$prog, d, 1]
    startsecs: 0
EOF
}
names() {
	ctl status --json | jq -r '[.[].name] | sort | join(" ")'
}
all_running() {
	local n
	for n in "$@"; do
		state_is "$n" RUNNING || return 1
	done
}

config_v1
start_daemon
wait_for "a, b, c RUNNING" 10 all_running a b c
a1=$(status_field a pid)
b1=$(status_field b pid)
c1=$(status_field c pid)

config_v2
out=$(ctl reload 2>&1) || fail "reload failed: $out"
say "reload: $out"
assert_eq "reloaded: 1 added, 1 changed, 1 removed, 1 unchanged" "$out" \
    "reload summary"
wait_for "c removed" 10 eval '[ "$(names)" = "a b d" ]'
wait_for "b and d RUNNING" 10 all_running a b d
assert_eq "$a1" "$(status_field a pid)" "a's pid across the reload"
b2=$(status_field b pid)
assert_ne "$b1" "$b2" "b's pid across the reload"
alive "$b1" && fail "b's old process $b1 is still alive"
alive "$c1" && fail "c's process $c1 is still alive after its removal"
[ -z "$(procs_matching "$prog c ")" ] || fail "c processes left"
# b runs its new command.
assert_match "b version 2 pid $b2" "$(ctl tail b)" "b's output"
ctl status c >/dev/null 2>&1
assert_eq 1 $? "chainkeeperctl status c (removed) exit code"
log_has 'reload: 1 added, 1 changed, 1 removed, 1 unchanged' ||
    fail "no reload summary in the log"
d1=$(status_field d pid)

# A broken config: nothing changes, the error has file:line:col.

write_config <<EOF
programs:
  a:
    command: [$prog, a, 1]
    startsecs: 0
  e:
    command: [$prog, e, 1]
    startsecs: sometimes
  d:
    command: [$prog, d, 1]
    startsecs: 0
    autorestart: perhaps
EOF
out=$(ctl reload 2>&1)
rc=$?
say "broken reload: rc $rc: $out"
[ $rc != 0 ] || fail "reload of a broken config succeeded"
assert_match "^(chainkeeperctl: )?$CFG:12:16: startsecs: " "$out" \
    "reload error for startsecs"
assert_match "^$CFG:16:18: autorestart: " "$out" "reload error for autorestart"
assert_eq "a b d" "$(names)" "programs after a broken reload"
assert_eq "$a1" "$(status_field a pid)" "a's pid after a broken reload"
assert_eq "$b2" "$(status_field b pid)" "b's pid after a broken reload"
assert_eq "$d1" "$(status_field d pid)" "d's pid after a broken reload"
log_has 'reload: .* is not valid; nothing changed' ||
    fail "the log does not say the broken reload changed nothing"

# SIGHUP: back to v1 (c again, b version 1, d removed).
config_v1
kill -HUP "$DPID"
wait_for "SIGHUP reload: a b c" 10 eval '[ "$(names)" = "a b c" ]'
wait_for "a b c RUNNING after SIGHUP" 10 all_running a b c
assert_eq "$a1" "$(status_field a pid)" "a's pid across SIGHUP"
b3=$(status_field b pid)
assert_ne "$b2" "$b3" "b's pid across SIGHUP"
alive "$d1" && fail "d's process $d1 is still alive after its removal"
assert_match "b version 1 pid $b3" "$(ctl tail b)" "b's output after SIGHUP"
assert_eq 2 "$(log_count 'reload: 1 added, 1 changed, 1 removed, 1 unchanged')" \
    "reload summaries in the log"
# A broken config by SIGHUP changes nothing either; the daemon survives.
printf 'bogus: [\n' >>"$CFG"
kill -HUP "$DPID"
wait_for "the log to report the broken SIGHUP reload" 10 \
    eval '[ "$(log_count "reload: .* is not valid; nothing changed")" = 2 ]'
assert_eq "a b c" "$(names)" "programs after a broken SIGHUP"
assert_eq "$b3" "$(status_field b pid)" "b's pid after a broken SIGHUP"
daemon_up || fail "chainkeeperd does not answer after a broken SIGHUP"

# A reload with no change leaves everything alone.
config_v1
out=$(ctl reload 2>&1) || fail "reload failed: $out"
assert_eq "reloaded: 0 added, 0 changed, 0 removed, 3 unchanged" "$out" \
    "summary of a reload without changes"
assert_eq "$b3" "$(status_field b pid)" "b's pid after an empty reload"

check_no_zombies
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

# Shared helpers of the failover-*.sh tests (sourced after lib.sh): a fake
# EOS network (tests/fakes/fake-eosnet.py: 21 producers of 12 blocks, a
# compressed clock, nodeos's fork choice) that records every block of the
# producer with the host that signed it, and one chainkeeperd per host of
# that producer, each with its own fake nodeos.
#
# FO_ID_OFFSET=0 makes the fake nodeos log block ids as EOSIO 1.x did
# (their first 16 hex digits) instead of Leap's (the 16 after the number).
#
#	fo_net [BLOCK_MS]		start the network; sets NETURL, ROUND
#	fo_host NAME ROLE ROUNDS [X]	a host (X: "-x" or "" for no
#					--pause-on-startup); its chainkeeperd
#	fo_config NAME ROLE ROUNDS [X]	only write its configuration
#	fo_start_daemon NAME		start its chainkeeperd
#	fo_kill_daemon NAME		SIGKILL its chainkeeperd (a host crash)
#	fo_report SCENARIO		print slots, double productions
#	fo_no_double			fail on any slot signed twice

command -v python3 >/dev/null 2>&1 || skip "python3 is needed for the fakes"
FO_NET=$TESTS_SRCDIR/fakes/fake-eosnet.py

fo_net() {
	python3 "$FO_NET" net --port-file "$T/net.port" \
	    --producer eosstorebest --block-ms "${1:-30}" &
	wait_for "the fake network" 20 test -s "$T/net.port"
	NETURL=http://127.0.0.1:$(cat "$T/net.port")
	ROUND=$(net .round_ms)
}

# net JQ: a field of the network's state.
net() { curl -s "$NETURL/__state" | jq -r "$1"; }

# fo_host NAME ROLE ROUNDS [X]: a chainkeeperd for one host, in $T/NAME.
fo_host() {
	fo_config "$@"
	fo_start_daemon "$1"
}

# fo_config NAME ROLE ROUNDS [X]: write (or rewrite) its configuration.
fo_config() {
	local d=$T/$1 port x=${4--x}
	port=$(cat "$d/port" 2>/dev/null || free_port)
	mkdir -p "$d"
	echo "$port" >"$d/port"
	mkdir -p "$d"
	cat >"$d/ck.yaml" <<EOF
state_dir: $d/state
log: {dir: $d/logs}
control: {socket: $d/ck.sock}
programs:
  nodeos:
    command: [python3, $FO_NET, node, --net, "$NETURL", --host, $1,
      --port, "$port", --port-file, $d/node.port,
      --log-id-offset, "${FO_ID_OFFSET:-8}" $( [ -n "$x" ] && echo ", $x")]
    startsecs: 0
    stopwaitsecs: 5s
    backoff: {initial: 100ms, max: 1s}
    eos_failover:
      producer: eosstorebest
      role: $2
      rounds: $3
      round: ${ROUND}ms
      interval: 100ms
      url: http://127.0.0.1:$port
      min_peers: 1
      lib_stall: 2s
      max_head_age: 2s
EOF
}

fo_start_daemon() {
	local d=$T/$1
	CK_TEST_DIR=$T "$CHAINKEEPERD" -c "$d/ck.yaml" >>"$d/daemon.log" 2>&1 &
	echo $! >"$d/daemon.pid"
	case " $DUMP_FILES " in
	*" $d/daemon.log "*) ;;
	*) DUMP_FILES="$DUMP_FILES $d/daemon.log" ;;
	esac
	wait_for "chainkeeperd of $1" 20 hctl "$1" version
	wait_until "the nodeos of $1 to answer" 20 "[ \"\$(fo $1 head)\" -gt 0 ]"
}

# fo_kill_daemon NAME: the host crashes: its chainkeeperd and nodeos die.
fo_kill_daemon() {
	local npid
	npid=$(hctl "$1" pid nodeos 2>/dev/null)
	kill -KILL "$(cat "$T/$1/daemon.pid")"
	[ -n "$npid" ] && [ "$npid" -gt 0 ] && kill -KILL "$npid" 2>/dev/null
	wait_until "the crash of $1" 10 "! hctl $1 version"
}

hctl() { local h=$1; shift; "$CHAINKEEPERCTL" -s "$T/$h/ck.sock" -t 30 "$@"; }
fo() { hctl "$1" status --json nodeos | jq -r ".[0].eos_failover.$2"; }
paused() { [ "$(fo "$1" paused)" = "$2" ]; }
produced() { net ".produced_by.$1 // 0"; }
# last_ms HOST: chain time of the host's last block of the producer, or 0.
last_ms() { net "[.slots[] | select(.[2] | index(\"$1\")) | .[1]] | max // 0"; }
# first_after HOST MS: chain time of its first block after MS, or empty.
first_after() {
	net "[.slots[] | select(.[1] > $2 and (.[2] | index(\"$1\"))) |
	    .[1]] | min // empty"
}

# Wait until the producer's next turn is at least FRACTION of a round
# away (e.g. 0.5), so that what follows happens in a gap between turns.
fo_wait_gap() {
	wait_until "a gap before the producer's turn" 30 \
	    "[ \$(( \$(net .next_turn_ms) - \$(now_ms) )) -gt \
	    \$(awk -v r=$ROUND -v f=$1 'BEGIN { printf \"%d\", r * f }') ]"
}

fo_report() {
	local s
	s=$(curl -s "$NETURL/__state")
	say "$1: round ${ROUND} ms; slots signed: $(jq -c .produced_by <<<"$s");" \
	    "missed: $(jq .missed <<<"$s"); double productions:" \
	    "$(jq .double <<<"$s") $(jq -c '.doubles[0:3]' <<<"$s")"
}

fo_no_double() {
	local d
	d=$(net .double)
	[ "$d" = 0 ] || fail "$d slots were signed by two hosts:" \
	    "$(net '.doubles[0:5] | tojson')"
}

fo_shutdown() {
	local h
	for h in "$@"; do
		hctl "$h" shutdown >/dev/null 2>&1
	done
	for h in "$@"; do
		wait_until "chainkeeperd of $h to exit" 20 "! hctl $h version"
	done
}

# fo_wait_before_turn MS: wait until the producer's next turn starts
# within MS milliseconds.
fo_wait_before_turn() {
	wait_until "the producer's turn to come" 30 \
	    "[ \"\$(net .in_turn)\" = false ] &&
	     [ \$(( \$(net .next_turn_ms) - \$(now_ms) )) -lt $1 ]"
}

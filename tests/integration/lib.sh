# Shared helpers for the integration tests; sourced by each test (bash).
#
# Every test runs the real chainkeeperd in the foreground, as a background
# job of the test, on a private socket in a private temporary folder.  On
# exit, whatever happened, the daemon is shut down (chainkeeperctl shutdown,
# a bounded wait, then SIGKILL), every process it started is killed, and the
# folder is removed; when the test failed, the daemon's log is printed.
#
# The automake harness exports CHAINKEEPERD, CHAINKEEPERCTL (absolute paths
# of the built binaries) and TESTS_SRCDIR.  A test can also be run by hand:
#	bash tests/integration/crash-restart.sh
# (the binaries are then looked up in the top build folder).
#
# Exit codes: 0 pass, 77 skip, anything else fail.
#
# Environment knobs: CK_TIMEOUT_SCALE multiplies every wait_for timeout
# (default 1); CK_KEEP=1 keeps the temporary folder; CK_TEST_TIMEOUT is the
# hard limit for one test in seconds (default 300); CK_DAEMON_WRAPPER is a
# command start_daemon puts before chainkeeperd (split on blanks), e.g.
# "valgrind --log-file=/tmp/vg.%p" (tests/valgrind.sh sets it).

set -u
set -o pipefail

CK_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CK_TEST_NAME=$(basename "$0" .sh)

# A hung test must not hang "make check": rerun under timeout(1).  On
# expiry the test gets SIGTERM, and its EXIT trap still cleans up.
if [ -z "${CK_UNDER_TIMEOUT:-}" ] && command -v timeout >/dev/null 2>&1; then
	export CK_UNDER_TIMEOUT=1
	exec timeout -k 15 "${CK_TEST_TIMEOUT:-300}" bash "$0" "$@"
fi

: "${CHAINKEEPERD:=$CK_LIB_DIR/../../chainkeeperd}"
: "${CHAINKEEPERCTL:=$CK_LIB_DIR/../../chainkeeperctl}"
: "${TESTS_SRCDIR:=$(cd "$CK_LIB_DIR/.." && pwd)}"
export CHAINKEEPERD CHAINKEEPERCTL TESTS_SRCDIR

for _b in "$CHAINKEEPERD" "$CHAINKEEPERCTL"; do
	if [ ! -x "$_b" ]; then
		echo "$CK_TEST_NAME: $_b is not built" >&2
		exit 99
	fi
done
if ! command -v jq >/dev/null 2>&1; then
	echo "$CK_TEST_NAME: jq is required (apt-get install jq)" >&2
	exit 99
fi

# python3 for raw socket clients: the system one starts fastest (a pyenv
# shim costs ~0.2 s per run).
if [ -x /usr/bin/python3 ]; then
	PYTHON=/usr/bin/python3
else
	PYTHON=python3
fi

# Stray settings of the caller must not change the daemon's behaviour.
unset NOTIFY_SOCKET JOURNAL_STREAM CHAINKEEPER_SOCKET CHAINKEEPER_INSTANCE \
    CHAINKEEPER_PROGRAM

# The private folder.  The socket path must stay below 100 bytes.
_tmpbase=${TMPDIR:-/tmp}
if [ ! -d "$_tmpbase" ] || [ ${#_tmpbase} -gt 40 ]; then
	_tmpbase=/tmp
fi
T=$(mktemp -d "$_tmpbase/ck-$CK_TEST_NAME.XXXXXX") || exit 99
SOCK=$T/control.sock		# control socket
CFG=$T/chainkeeper.yaml		# the configuration
STATE=$T/state			# state_dir
LOGDIR=$T/logs			# log.dir: program output (AUTO)
LOG=$T/daemon.log		# chainkeeperd's stdout and stderr
DPID=				# pid of the running chainkeeperd
DAEMON_RC=			# exit status of the last stopped chainkeeperd
CONTROL_EXTRA=			# more lines for the control: map
LOG_EXTRA=			# more lines for the log: map
DUMP_FILES=			# more files to print when the test fails
_ck_cleanups=()
_ck_failed=0

# Print a message to the test log.
say() {
	printf '%s: %s\n' "$CK_TEST_NAME" "$*"
}

# Fail the test (only from the test's main shell, not in $(...)).
fail() {
	printf '%s: FAIL: %s\n' "$CK_TEST_NAME" "$*" >&2
	_ck_failed=1
	exit 1
}

# Skip the test (77).
skip() {
	printf '%s: SKIP: %s\n' "$CK_TEST_NAME" "$*" >&2
	exit 77
}

# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() {
	if [ "$1" != "$2" ]; then
		fail "${3:-value}: expected \"$1\", got \"$2\""
	fi
}

# assert_ne UNEXPECTED ACTUAL [WHAT]
assert_ne() {
	if [ "$1" = "$2" ]; then
		fail "${3:-value}: did not expect \"$1\""
	fi
}

# assert_match REGEX TEXT [WHAT]: TEXT matches the extended REGEX.
assert_match() {
	if ! grep -Eq -- "$1" <<<"$2"; then
		fail "${3:-text} does not match /$1/: $2"
	fi
}

# assert_nomatch REGEX TEXT [WHAT]
assert_nomatch() {
	if grep -Eq -- "$1" <<<"$2"; then
		fail "${3:-text} matches /$1/ but should not: $2"
	fi
}

# Run a command at exit (after the daemon is stopped), e.g. groupdel.
on_exit() {
	_ck_cleanups+=("$*")
}

# Milliseconds since the epoch, without a fork.
now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# set_now_ms: NOW_MS is milliseconds since the epoch; unlike $(now_ms) not
# even a subshell, so it works while a test's fork bomb holds every slot.
set_now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	NOW_MS=$((t / 1000))
}

# scaled_ms SECONDS: SECONDS x CK_TIMEOUT_SCALE in ms, into SCALED_MS;
# without a fork for a whole-number scale.
scaled_ms() {
	local s=${CK_TIMEOUT_SCALE:-1}
	case $s in
	*[!0-9]*|'') SCALED_MS=$(awk -v t="$1" -v s="$s" \
	    'BEGIN { printf "%d", t * s * 1000 }') ;;
	*) case $1 in
	   *[!0-9]*) SCALED_MS=$(awk -v t="$1" -v s="$s" \
	       'BEGIN { printf "%d", t * s * 1000 }') ;;
	   *) SCALED_MS=$(($1 * s * 1000)) ;;
	   esac ;;
	esac
}

# wait_for "description" TIMEOUT_S command [args...]: poll the command
# every 30 ms until it succeeds; fail after TIMEOUT_S seconds (scaled by
# CK_TIMEOUT_SCALE).  The command's output is discarded.
wait_for() {
	local desc=$1 timeout=$2 deadline
	shift 2
	scaled_ms "$timeout"
	set_now_ms
	deadline=$((NOW_MS + SCALED_MS))
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		set_now_ms
		if [ "$NOW_MS" -gt "$deadline" ]; then
			fail "timed out after ${timeout}s waiting for: $desc"
		fi
		sleep 0.03
	done
}

# wait_until "description" TIMEOUT_S 'shell condition'
wait_until() {
	wait_for "$1" "$2" eval "$3"
}

# chainkeeperctl on this test's socket.
ctl() {
	"$CHAINKEEPERCTL" -s "$SOCK" -t 60 "$@"
}

# status_field NAME FIELD: one field of `status --json NAME` (jq path
# after the object, e.g. state, pid, last_exit.signal); "null" if null.
status_field() {
	ctl status --json "$1" | jq -r ".[0].$2"
}

# state_is NAME STATE
state_is() {
	[ "$(status_field "$1" state)" = "$2" ]
}

# The whole status as compact JSON, for messages.
status_dump() {
	ctl status --json 2>&1 | jq -c '.[] | {name, state, pid, restarts,
	    description}' 2>/dev/null
}

# write_config [FILE]: the common header (state_dir, log.dir and
# $LOG_EXTRA, control.socket and $CONTROL_EXTRA), then the rest of the
# configuration from stdin (programs: ...).
write_config() {
	local f=${1:-$CFG}
	{
		printf 'state_dir: %s\n' "$STATE"
		printf 'log:\n  dir: %s\n' "$LOGDIR"
		if [ -n "$LOG_EXTRA" ]; then
			printf '%s\n' "$LOG_EXTRA"
		fi
		printf 'control:\n  socket: %s\n' "$SOCK"
		if [ -n "$CONTROL_EXTRA" ]; then
			printf '%s\n' "$CONTROL_EXTRA"
		fi
		cat
	} >"$f.tmp" && mv "$f.tmp" "$f"
}

# write_script NAME: an executable script $T/NAME from stdin; prints its
# path.  Programs run such scripts, so their argv holds $T: unique to this
# test, which makes pgrep -f safe when tests run in parallel.
write_script() {
	cat >"$T/$1" && chmod 755 "$T/$1"
	echo "$T/$1"
}

# A free TCP port on 127.0.0.1 (the kernel's choice).
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Whether the daemon answers on the socket.
daemon_up() {
	ctl version >/dev/null 2>&1
}

# start_daemon [ARGS...]: run chainkeeperd -c $CFG in the foreground, in the
# background, and wait until it answers.  Every process it starts carries
# CK_TEST_DIR=$T in its environment, for the leftover checks.
start_daemon() {
	local deadline
	echo "----- $(date '+%F %T') start_daemon $*" >>"$LOG"
	# shellcheck disable=SC2086
	CK_TEST_DIR=$T ${CK_DAEMON_WRAPPER:-} "$CHAINKEEPERD" -c "$CFG" "$@" \
	    >>"$LOG" 2>&1 &
	DPID=$!
	deadline=$(($(now_ms) + $(awk -v s="${CK_TIMEOUT_SCALE:-1}" \
	    'BEGIN { printf "%d", s * 10000 }')))
	until daemon_up; do
		if ! kill -0 "$DPID" 2>/dev/null; then
			wait "$DPID"
			fail "chainkeeperd exited at start (status $?)"
		fi
		[ "$(now_ms)" -lt "$deadline" ] ||
		    fail "chainkeeperd did not answer on $SOCK in time"
		sleep 0.03
	done
}

# Whether a pid is alive (a zombie counts as gone).
alive() {
	local s
	s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $s in
	Z*) return 1 ;;
	esac
	return 0
}

# stop_daemon: chainkeeperctl shutdown, wait (bounded), then SIGKILL; sets
# DAEMON_RC to its exit status.  Fails if it had to be killed.
stop_daemon() {
	local pid=$DPID ok=1
	[ -n "$pid" ] || return 0
	ctl shutdown >/dev/null 2>&1
	if ! _wait_gone "$pid" 30; then
		kill -9 "$pid" 2>/dev/null
		ok=0
	fi
	DAEMON_RC=0
	wait "$pid" 2>/dev/null || DAEMON_RC=$?
	DPID=
	echo "----- $(date '+%F %T') chainkeeperd exited $DAEMON_RC" >>"$LOG"
	[ $ok = 1 ] || fail "chainkeeperd did not exit within 30s of shutdown"
	# A clean shutdown dismisses the output pipe holder too.
	wait_until "the pipe holder to exit with chainkeeperd" 5 \
	    '[ -z "$(tagged_daemons)" ]'

}

# _wait_gone PID SECONDS: poll until PID is gone (or a zombie).
_wait_gone() {
	local pid=$1 deadline=$(($(now_ms) + $2 * 1000))
	while alive "$pid"; do
		[ "$(now_ms)" -lt "$deadline" ] || return 1
		sleep 0.03
	done
	return 0
}

# The pids of processes started by this test's daemons (they carry
# CK_TEST_DIR=$T in their environment), the daemons themselves excluded.
tagged_procs() {
	local f pid self holder exe
	self=$(readlink -f "$CHAINKEEPERD")
	holder=${self%/*}/chainkeeper-fdholder
	for f in $(grep -lzxF "CK_TEST_DIR=$T" /proc/[0-9]*/environ \
	    2>/dev/null); do
		pid=${f#/proc/}
		pid=${pid%/environ}
		[ "$pid" != "${DPID:-x}" ] || continue
		# Without a fork a process: thousands are scanned at times.
		[ ! "/proc/$pid/exe" -ef "$self" ] || continue
		[ ! "/proc/$pid/exe" -ef "$holder" ] || continue
		if [ -z "${CK_DAEMON_WRAPPER:-}" ]; then
			echo "$pid"
			continue
		fi
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
		# Under CK_DAEMON_WRAPPER=valgrind, valgrind runs the daemon.
		case $exe in */valgrind/*-linux) exe=$self ;; esac
		[ "$exe" != "$self" ] || continue
		# The daemon's output pipe holder is part of the daemon.
		[ "${exe##*/}" != chainkeeper-fdholder ] || continue
		echo "$pid"
	done
}

# Daemons of this test still running (e.g. one started with -d).
tagged_daemons() {
	local f pid self exe
	self=$(readlink -f "$CHAINKEEPERD")
	for f in $(grep -lzxF "CK_TEST_DIR=$T" /proc/[0-9]*/environ \
	    2>/dev/null); do
		pid=${f#/proc/}
		pid=${pid%/environ}
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
		case $exe in */valgrind/*-linux) exe=$self ;; esac
		if [ "$exe" = "$self" ] ||
		    [ "${exe##*/}" = chainkeeper-fdholder ]; then
			echo "$pid"
		fi
	done
}

# Processes whose command line contains a string.
procs_matching() {
	pgrep -f -- "$1"
}

# Zombies whose parent is the daemon.
zombies() {
	[ -n "$DPID" ] || return 0
	ps -e -o stat=,ppid=,pid=,args= | awk -v p="$DPID" \
	    '$1 ~ /^Z/ && $2 == p'
}

_no_zombies() {
	[ -z "$(zombies)" ]
}

# No zombie child of chainkeeperd may stay (a just-exited child may be a
# zombie for an instant, so allow a few seconds to be reaped).
check_no_zombies() {
	if ! _no_zombies; then
		wait_for "chainkeeperd to reap its zombie children: $(zombies)" \
		    5 _no_zombies
	fi
}

# log_ms REGEX [N]: the time (ms since the epoch) stamped on the N-th
# (default first) line of the daemon log that matches REGEX.
log_ms() {
	local line stamp
	line=$(grep -E -- "$1" "$LOG" | sed -n "${2:-1}p")
	[ -n "$line" ] || return 1
	stamp=$(printf '%s\n' "$line" | awk '{ print $1 " " $2 }')
	date -d "$stamp" +%s%3N
}

# log_has REGEX: the daemon log has a matching line.
log_has() {
	grep -Eq -- "$1" "$LOG"
}

# log_count REGEX
log_count() {
	grep -Ec -- "$1" "$LOG"
}

# log_lineno REGEX: the number of the first matching line in the log.
log_lineno() {
	grep -nE -- "$1" "$LOG" | head -n 1 | cut -d: -f1
}

_ck_exit() {
	local rc=$? f pid pids i
	set +e
	trap - EXIT INT TERM HUP
	if [ $_ck_failed = 1 ] && [ $rc = 0 ]; then
		rc=1
	fi
	if [ -n "$DPID" ] && alive "$DPID"; then
		"$CHAINKEEPERCTL" -s "$SOCK" -t 10 shutdown >/dev/null 2>&1
		_wait_gone "$DPID" 15 || kill -9 "$DPID" 2>/dev/null
	fi
	[ -n "$DPID" ] && wait "$DPID" 2>/dev/null
	# Background helpers of the test itself.
	pids=$(jobs -p)
	disown -a 2>/dev/null
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	# Any other daemon of this test (-d), then anything started by a
	# daemon of this test, escaped or not, and helpers naming $T.
	pids=$(tagged_daemons)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	for i in 1 2 3 4 5; do
		pids=$(tagged_procs; pgrep -f -- "$T")
		[ -n "$pids" ] || break
		kill -9 $pids 2>/dev/null
		sleep 0.1
	done
	for i in "${!_ck_cleanups[@]}"; do
		eval "${_ck_cleanups[$i]}" >/dev/null 2>&1
	done
	if [ $rc != 0 ] && [ $rc != 77 ]; then
		for f in "$LOG" $DUMP_FILES; do
			[ -f "$f" ] || continue
			echo "===== $f (last 200 lines)" >&2
			tail -n 200 "$f" >&2
		done
		[ -f "$CFG" ] && { echo "===== $CFG" >&2; cat "$CFG" >&2; }
		echo "$CK_TEST_NAME: FAILED (exit $rc)" >&2
	elif [ $rc = 0 ]; then
		say "PASS"
	fi
	if [ -n "${CK_KEEP:-}" ]; then
		echo "$CK_TEST_NAME: kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit $rc
}
trap _ck_exit EXIT
trap 'exit 1' INT TERM HUP

say "temporary folder $T"

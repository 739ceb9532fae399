#!/bin/bash
# Build the libFuzzer harnesses (tests/fuzz/build.sh) and run each for a
# bounded time, starting from its seed corpus tests/fuzz/corpus/TARGET
# (read only) plus what earlier runs found (build-fuzz/corpus/TARGET, kept
# between runs).  Prints, per target, the executions, executions per
# second, coverage (edges, features) and corpus size; any crash, leak,
# timeout or failed check stops that target, leaves the input in
# build-fuzz/crashes/ and fails the run.  The dictionary of each target is
# made from the string literals of the code it exercises.
#
# Usage: tests/fuzz/run.sh [--seconds N] [--jobs J] [--no-build] [TARGET...]
#	--seconds N	time per target (default 10; 600 for a long run)
#	--jobs J	targets run at the same time (default 1)
#	--no-build	use the harnesses already built
# Exit status: 0 when every target ran clean.
set -uo pipefail
top=$(cd -- "$(dirname -- "$0")/../.." && pwd)
cd -- "$top" || exit 2
out=${CK_FUZZ_OUT:-$top/build-fuzz}
seconds=10
jobs=1
build=1
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	-h|--help)
		sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ $# -eq 0 ]; then
	set -- $(cd tests/fuzz && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
fi
if [ "$build" = 1 ]; then
	echo "fuzz: building $* (tests/fuzz/build.sh)"
	mkdir -p "$out"
	if ! tests/fuzz/build.sh "$@" >"$out/build.log" 2>&1; then
		tail -30 "$out/build.log"
		echo "fuzz: build failed (log: $out/build.log)"
		exit 1
	fi
fi
mkdir -p "$out/corpus" "$out/crashes" "$out/logs"

# The sources whose string literals make a target's dictionary.
dict_sources() {
	case $1 in
	config) echo supervisor/config.c supervisor/metrics*.c probes/*.c \
	    actions/*.c alerts/*.c ;;
	control) echo supervisor/control.c ;;
	bitcoin_rpc) echo probes/probe-bitcoin-rpc.c ;;
	nodeos) echo probes/probe-nodeos.c ;;
	bitshares) echo probes/probe-bitshares-witness.c ;;
	sys) echo probes/probe-sys.c probes/probe-oom.c probes/probe-peers.c ;;
	util) echo lib/util.c ;;
	esac
}

# make_dict TARGET FILE: identifiers quoted in the sources, as bare words
# and as JSON keys or YAML keys, plus the syntax of the input's language.
make_dict() {
	local srcs
	srcs=$(dict_sources "$1")
	{
		if [ -n "$srcs" ]; then
			# shellcheck disable=SC2086
			grep -ohE '"[A-Za-z_][A-Za-z0-9_.-]{1,40}"' $srcs |
			    sort -u | while read -r w; do
				w=${w#\"}; w=${w%\"}
				printf '"%s"\n' "$w"
				if [ "$1" = config ]; then
					printf '"%s: "\n' "$w"
				else
					printf '"\\"%s\\":"\n' "$w"
				fi
			done
		fi
		case $1 in
		config) printf '%s\n' '": "' '"- "' '"&a "' '"*a"' '"<<: "' \
		    '"!!str "' '"|\x0a"' '">-\x0a"' '"\x0a  "' '"---\x0a"' \
		    '"? "' '"%YAML 1.1\x0a"' '"{"' '"}"' '"["' '"]"' '"\x00"' ;;
		util|sys) printf '%s\n' '"\xc3\xa9"' '"\xe4\xb8\xad"' \
		    '"\xf0\x9f\x98\x80"' '"\xed\xa0\x80"' '"\xff"' ;;
		*) printf '%s\n' '"{"' '"}"' '"["' '"]"' '"null"' '"true"' \
		    '"false"' '"-1"' '"1e400"' '"9223372036854775808"' \
		    '"\"\\u0000\""' '"\"\\ud800\""' '"\\n"' ;;
		esac
	} >"$out/$1.dict"
}

# run_target TARGET: one bounded run; writes $out/logs/TARGET.{log,line}.
run_target() {
	local t=$1 rc log line execs eps cov ft corp new status
	log=$out/logs/$t.log
	mkdir -p "$out/corpus/$t"
	make_dict "$t"
	"$out/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
	    -print_final_stats=1 -dict="$out/$t.dict" \
	    -artifact_prefix="$out/crashes/$t-" \
	    "$out/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	new=$(sed -n 's/^stat::new_units_added: *//p' "$log")
	line=$(grep -E '^#[0-9]+' "$log" | tail -1)
	cov=$(printf '%s' "$line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s' "$line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(printf '%s' "$line" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	if [ "$rc" = 0 ]; then
		status=ok
	else
		status="FAIL (exit $rc) $(ls -t "$out/crashes/$t-"* \
		    2>/dev/null | head -1)"
	fi
	printf '%-12s %10s execs %7s/s  cov %5s  ft %6s  corpus %5s (+%s)' \
	    "$t" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" \
	    "${corp:-?}" "${new:-0}" >"$out/logs/$t.line"
	printf '  %s\n' "$status" >>"$out/logs/$t.line"
	return "$rc"
}

echo "fuzz: $seconds s per target, $jobs at a time: $*"
failed=0
pids=()
names=()
for t in "$@"; do
	if [ ! -x "$out/fuzz_$t" ]; then
		echo "fuzz: $out/fuzz_$t is not built" >&2
		failed=1
		continue
	fi
	run_target "$t" &
	pids+=($!)
	names+=("$t")
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		sleep 0.2
	done
done
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || failed=1
	cat "$out/logs/${names[$i]}.line"
done
for t in "${names[@]}"; do
	if ! grep -q ' ok$' "$out/logs/$t.line"; then
		echo "---- $t: $out/logs/$t.log"
		# From the report to the stack's first frames in our code.
		sed -n '/check failed\|runtime error\|^==[0-9]*==ERROR/,$p' \
		    "$out/logs/$t.log" | grep -v 'in fuzzer::' | head -40
	fi
done
if [ "$failed" = 0 ]; then
	echo "fuzz: all clean"
else
	echo "fuzz: FAILED (inputs in $out/crashes; rerun one with" \
	    "$out/fuzz_TARGET FILE)"
fi
exit "$failed"

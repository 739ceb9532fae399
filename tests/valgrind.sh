#!/bin/bash
# Run the integration tests with chainkeeperd under valgrind's memcheck,
# and chainkeeperd -nv over the example and fuzz seed configurations; report
# memory errors and leaks per test.  Each daemon a test starts runs as
#	valgrind --tool=memcheck --leak-check=full
#	    --errors-for-leak-kinds=definite,indirect --error-exitcode=42
#	    --track-fds=no --child-silent-after-fork=yes chainkeeperd ...
# through the CK_DAEMON_WRAPPER hook of tests/integration/lib.sh, with its
# log in build-valgrind/TEST.PID.vg (or $CK_VG_OUT).  A daemon with an error
# or a definite or indirect leak exits 42 instead of 0.  Waits are scaled
# by CK_TIMEOUT_SCALE (default 4): valgrind runs the daemon ~20x slower.
#
# Not checked: what runs after "chainkeeperctl reexec" (the exec leaves
# valgrind: its log has no summary; reexec.sh and metrics-listener.sh
# still run, the part before the exec is checked up to the exec), and
# daemons a test kills with SIGKILL (no summary either); both are counted
# under NO_SUMMARY.  Tests that cannot pass under valgrind 3.19 run all the
# same (their daemons are checked) and are shown as XFAIL with the reason:
# valgrind refuses to raise RLIMIT_NOFILE, and answers getrlimit from its
# own copy, so faults-control's prlimit from outside is not seen; alerts-incident's probe timeout
# (150 ms) is too short for a daemon under valgrind.  Other failures are
# listed too, but only memory errors and leaks fail the run.
#
# Usage: tests/valgrind.sh [--jobs J] [TEST...]	(TEST: e.g. reload)
# Needs a built tree (make) and valgrind.  Exit status 0 when no daemon
# had a memory error or a definite or indirect leak.
set -uo pipefail
top=$(cd -- "$(dirname -- "$0")/.." && pwd)
cd -- "$top" || exit 2
out=${CK_VG_OUT:-$top/build-valgrind}
jobs=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
	case $1 in
	--jobs) jobs=$2; shift 2 ;;
	-h|--help)
		sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0 ;;
	-*) echo "valgrind.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
command -v valgrind >/dev/null 2>&1 || {
	echo "valgrind.sh: valgrind is not installed" >&2; exit 2; }
[ -x ./chainkeeperd ] && [ -x ./chainkeeperctl ] || {
	echo "valgrind.sh: build the tree first (make)" >&2; exit 2; }
if [ $# -eq 0 ]; then
	set -- $(printf 'ck-print-%%:\n\t@:$(info $($*))\n' |
	    make -s --no-print-directory -f Makefile -f - \
	    ck-print-INTEGRATION_TESTS | tr ' ' '\n' |
	    sed -n 's|^tests/integration/\(.*\)\.sh$|\1|p')
fi
rm -rf "$out"
mkdir -p "$out"
vg="valgrind --tool=memcheck --leak-check=full"
vg="$vg --errors-for-leak-kinds=definite,indirect --error-exitcode=42"
vg="$vg --track-fds=no --child-silent-after-fork=yes --num-callers=30"
# Copies: a rebuild of the tree during the run must not change them.
mkdir -p "$out/bin"
cp chainkeeperd chainkeeperctl chainkeeper-fdholder "$out/bin/" || exit 2
export CHAINKEEPERD=$out/bin/chainkeeperd
export CHAINKEEPERCTL=$out/bin/chainkeeperctl
export TESTS_SRCDIR=$top/tests
export CK_TIMEOUT_SCALE=${CK_TIMEOUT_SCALE:-4}
export CK_TEST_TIMEOUT=${CK_TEST_TIMEOUT:-1200}

# vg_sum FILE...: "errors definite_bytes indirect_bytes nosummary"
vg_sum() {
	local f x e=0 d=0 i=0 n=0
	for f in "$@"; do
		x=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$f")
		if [ -z "$x" ]; then
			n=$((n + 1))
			continue
		fi
		e=$((e + x))
		x=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' \
		    "$f" | tr -d ,)
		d=$((d + ${x:-0}))
		x=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' \
		    "$f" | tr -d ,)
		i=$((i + ${x:-0}))
	done
	echo "$e $d $i $n"
}

# Why a test cannot pass under valgrind, if it cannot.
vg_known() {
	case $1 in
	user)
		echo "limits.nofile: valgrind refuses to raise RLIMIT_NOFILE" \
		    "(EPERM)" ;;
	faults-control)
		echo "valgrind answers getrlimit(RLIMIT_NOFILE) from its own" \
		    "copy, so a prlimit from outside is not seen" ;;
	alerts-incident)
		echo "its probe's 150 ms timeout is shorter than an HTTP check" \
		    "by a daemon under valgrind" ;;
	esac
}

# run_test NAME: one integration test; writes $out/NAME.{out,rc}.
run_test() {
	local t=$1 rc
	CK_DAEMON_WRAPPER="$vg --log-file=$out/$t.%p.vg" \
	    bash "tests/integration/$t.sh" >"$out/$t.out" 2>&1
	rc=$?
	echo "$rc" >"$out/$t.rc"
}

start=$(date +%s)
echo "valgrind: ${#@} integration tests, $jobs at a time," \
    "CK_TIMEOUT_SCALE=$CK_TIMEOUT_SCALE; logs in $out"
for t in "$@"; do
	run_test "$t" &
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		sleep 0.2
	done
done
# chainkeeperd -nv: the configuration loader and its JSON, on good and
# bad configurations, in the same pool.
ncfg=0
for f in etc/*.yaml tests/fuzz/corpus/config/*; do
	[ -s "$f" ] || continue
	ncfg=$((ncfg + 1))
	$vg --log-file="$out/config-check.$ncfg.vg" "$CHAINKEEPERD" -nv \
	    -c "$f" >/dev/null 2>&1 &
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		sleep 0.2
	done
done
wait

printf '%-22s %-6s %7s %7s %12s %12s %s\n' TEST RESULT DAEMONS ERRORS \
    DEF_LOST_B IND_LOST_B NO_SUMMARY
total_e=0 total_d=0 total_i=0 total_n=0 failed=0 passed=0 skipped=0
xfailed=0
for t in "$@"; do
	rc=$(cat "$out/$t.rc" 2>/dev/null || echo 99)
	case $rc in
	0) res=PASS; passed=$((passed + 1)) ;;
	77) res=SKIP; skipped=$((skipped + 1)) ;;
	*)
		if [ -n "$(vg_known "$t")" ]; then
			res=XFAIL; xfailed=$((xfailed + 1))
		else
			res=FAIL; failed=$((failed + 1))
		fi ;;
	esac
	logs=("$out/$t".*.vg)
	if [ -e "${logs[0]}" ]; then
		read -r e d i n <<<"$(vg_sum "${logs[@]}")"
	else
		logs=(); e=0 d=0 i=0 n=0
	fi
	total_e=$((total_e + e)) total_d=$((total_d + d))
	total_i=$((total_i + i)) total_n=$((total_n + n))
	printf '%-22s %-6s %7s %7s %12s %12s %s\n' "$t" "$res" "${#logs[@]}" \
	    "$e" "$d" "$i" "$n"
done
read -r e d i n <<<"$(vg_sum "$out"/config-check.*.vg)"
printf '%-22s %-6s %7s %7s %12s %12s %s\n' "chainkeeperd -nv" "-" \
    "$ncfg" "$e" "$d" "$i" "$n"
total_e=$((total_e + e)) total_d=$((total_d + d)) total_i=$((total_i + i))

# The reports of every log with an error or a leak.
for f in "$out"/*.vg; do
	if grep -Eq 'ERROR SUMMARY: [1-9]' "$f"; then
		echo "---- $f"
		grep -vE '^==[0-9]+== *$' "$f" | sed -n '/Command:/,$p' |
		    head -80
	fi
done
for t in "$@"; do
	rc=$(cat "$out/$t.rc" 2>/dev/null || echo 99)
	if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
		why=$(vg_known "$t")
		echo "---- $t failed under valgrind${why:+ (expected: $why)}:" \
		    "$out/$t.out"
		grep -E ': FAIL' "$out/$t.out" | head -3
	fi
done
echo "valgrind: $# tests ($passed passed, $failed failed, $xfailed" \
    "expected failures, $skipped skipped) and $ncfg configurations in" \
    "$(( $(date +%s) - start )) s:" \
    "$total_e errors, $total_d bytes definitely lost, $total_i bytes" \
    "indirectly lost; $total_n daemon logs without a summary (SIGKILL" \
    "or reexec)"
[ "$total_e" = 0 ] && [ "$total_d" = 0 ] && [ "$total_i" = 0 ]

#!/bin/sh
# Install what is missing, build, and run the whole test suite: unit and
# integration tests, then again built with ASan and UBSan, then the man page
# lint; then each libFuzzer harness for CK_FUZZ_SECONDS (default 10) s.
# Prints "N passed, N failed" last; exits non-zero on any failure.
# --quick skips the sanitizer build.
set -eu
cd -- "$(dirname -- "$0")"
. ./bootstrap.sh
ck_install
ck_build

quick=0
[ "${1:-}" = "--quick" ] && quick=1
top=$(pwd)
passed=0
failed=0

# Count the automake test results of one build folder.
count() {
	for trs in $(find "$1/tests" -name '*.trs' 2>/dev/null); do
		case $(sed -n 's/^:test-result: //p' "$trs") in
		PASS|XFAIL|SKIP) passed=$((passed + 1)) ;;
		*) failed=$((failed + 1)); echo "FAILED: $1 ${trs%.trs}" ;;
		esac
	done
}

run_check() {
	if ! make -C "$1" -j"$(nproc)" check >"$1/check.out" 2>&1; then
		grep -E '^(FAIL|ERROR)' "$1/check.out" || tail -20 "$1/check.out"
		for log in $(grep -l -E '^(FAIL|ERROR)' $(find "$1/tests" \
		    -name '*.log') 2>/dev/null); do
			echo "---- $log"; tail -40 "$log"
		done
	fi
	grep -E '^(PASS|FAIL|SKIP|ERROR|XFAIL)' "$1/check.out" || true
	grep -h ': FAIL: ' $(find "$1/tests" -name '*.log') 2>/dev/null || true
	count "$1"
}

echo "== tests (-Werror build)"
run_check "$top"

if [ "$quick" -eq 0 ]; then
	echo "== tests (ASan + UBSan build)"
	# A copy of the distributed tree (this tree is configured in place,
	# so it cannot also be built out of tree); this also proves that the
	# distribution holds every file the tests need.
	san="$top/build-san"
	rm -rf "$san"
	make distdir distdir=build-san >/dev/null
	(cd "$san" && ./configure --enable-werror --enable-sanitizers \
	    >/dev/null)
	make -C "$san" -j"$(nproc)" >/dev/null
	export ASAN_OPTIONS=detect_leaks=1:exitcode=99
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98
	run_check "$san"
	unset ASAN_OPTIONS UBSAN_OPTIONS
fi

echo "== chaos soak (${CK_SOAK_SECONDS:-60} s; tests/soak/soak.py --seconds 600 for the long one)"
if python3 tests/soak/soak.py --seconds "${CK_SOAK_SECONDS:-60}"; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi

echo "== model-based test (regressions, then ${CK_MODEL_SECONDS:-150} s; tests/model/run --seconds 3600 for the long one)"
if tests/model/run --replay tests/model/regress &&
    tests/model/run --seconds "${CK_MODEL_SECONDS:-150}" --seed 1 \
    --seed "$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')" \
    --seed "$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')"; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi

echo "== man page lint"
if mandoc -Tlint -W warning man/*.[58] >lint.out 2>&1 && [ ! -s lint.out ]; then
	passed=$((passed + 1))
else
	cat lint.out; failed=$((failed + 1))
fi
rm -f lint.out

echo "== fuzzing (tests/fuzz/run.sh, ${CK_FUZZ_SECONDS:-10} s per target)"
if tests/fuzz/run.sh --seconds "${CK_FUZZ_SECONDS:-10}"; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

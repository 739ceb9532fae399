#!/bin/bash
# Build the libFuzzer harnesses tests/fuzz/fuzz_*.c with clang, ASan and
# UBSan, into build-fuzz/ (or $CK_FUZZ_OUT).  The daemon's modules (the
# sources of libckbase.a and libchainkeeper.a, as the configured Makefile
# lists them, and chainkeeperd.c with its main() renamed) are compiled with
# -fsanitize=fuzzer-no-link into one archive; each harness is linked with
# -fsanitize=fuzzer against it, with the include paths, defines and
# pkg-config flags the Makefile uses.  Needs a configured tree
# (./configure) and clang with libFuzzer (Debian 12: clang,
# libclang-rt-14-dev).  Not part of make or make check.
#
# Usage: tests/fuzz/build.sh [TARGET...]	(default: every harness)
set -euo pipefail
top=$(cd -- "$(dirname -- "$0")/../.." && pwd)
cd -- "$top"
out=${CK_FUZZ_OUT:-$top/build-fuzz}
cc=${CK_FUZZ_CC:-clang}
jobs=$(nproc 2>/dev/null || echo 2)

if [ ! -f Makefile ] || [ ! -f autoconf.h ]; then
	echo "build.sh: configure the tree first (./configure)" >&2
	exit 2
fi
if ! command -v "$cc" >/dev/null 2>&1; then
	echo "build.sh: $cc not found (apt-get install clang" \
	    "libclang-rt-14-dev)" >&2
	exit 2
fi

# mkvar NAME: a variable of the configured Makefile, fully expanded.
mkvar() {
	printf 'ck-print-%%:\n\t@:$(info $($*))\n' |
	    make -s --no-print-directory -f Makefile -f - "ck-print-$1"
}

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
base="-g -O1 -fno-omit-frame-pointer $san"
# Word splitting is wanted here: these are lists of flags; eval undoes the
# Makefile's quoting of -DSYSCONFDIR='"..."'.
eval "cppflags=($(mkvar DEFS) -I. $(mkvar AM_CPPFLAGS) -I tests/fuzz \
    $(mkvar YAML_CFLAGS) $(mkvar JANSSON_CFLAGS) $(mkvar PROC2_CFLAGS) \
    $(mkvar CURL_CFLAGS) $(mkvar MHD_CFLAGS))"
read -r -a libs <<<"$(mkvar YAML_LIBS) $(mkvar JANSSON_LIBS) \
    $(mkvar PROC2_LIBS) $(mkvar CURL_LIBS) $(mkvar MHD_LIBS) \
    $(mkvar EV_LIBS) -lm"
read -r -a srcs <<<"$( (mkvar libckbase_a_SOURCES
    mkvar libchainkeeper_a_SOURCES) | tr ' ' '\n' |
    grep '\.c$' | tr '\n' ' ') supervisor/chainkeeperd.c"
warn="-Wall -Wextra -Wshadow -Wno-unused-parameter"

mkdir -p "$out/obj"
# Rebuild everything when a header or the flags changed; else only the
# objects older than their source.
flags="$cc $base ${cppflags[*]}"
newest_h=$(ls -t lib/*.h supervisor/*.h probes/*.h actions/*.h alerts/*.h \
    autoconf.h | head -1)
if [ ! -f "$out/obj/flags" ] || [ "$(cat "$out/obj/flags")" != "$flags" ] ||
    [ "$newest_h" -nt "$out/obj/stamp" ]; then
	rm -f "$out"/obj/*.o
	printf '%s\n' "$flags" >"$out/obj/flags"
fi
: >"$out/obj/stamp.new"

compile() {
	local src=$1 obj extra=()
	obj=$out/obj/$(printf '%s' "${src%.c}" | tr / _).o
	[ "$src" = supervisor/chainkeeperd.c ] &&
	    extra=(-Dmain=chainkeeperd_main -Wno-missing-prototypes)
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
		# shellcheck disable=SC2086
		$cc $base -fsanitize=fuzzer-no-link $warn "${cppflags[@]}" \
		    "${extra[@]}" -c "$src" -o "$obj" || return 1
	fi
}
objs=()
fail=0
running=0
pids=()
for src in "${srcs[@]}"; do
	compile "$src" &
	pids+=($!)
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait "${pids[0]}" || fail=1
		pids=("${pids[@]:1}")
		running=$((running - 1))
	fi
done
for p in "${pids[@]}"; do
	wait "$p" || fail=1
done
[ "$fail" = 0 ] || { echo "build.sh: compiling the modules failed" >&2
    exit 1; }
for src in "${srcs[@]}"; do
	objs+=("$out/obj/$(printf '%s' "${src%.c}" | tr / _).o")
done
rm -f "$out/libck-fuzz.a"
ar rcs "$out/libck-fuzz.a" "${objs[@]}"
mv "$out/obj/stamp.new" "$out/obj/stamp"

if [ $# -eq 0 ]; then
	set -- $(cd tests/fuzz && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
fi
for t in "$@"; do
	if [ ! -f "tests/fuzz/fuzz_$t.c" ]; then
		echo "build.sh: no harness tests/fuzz/fuzz_$t.c" >&2
		exit 2
	fi
	# shellcheck disable=SC2086
	$cc $base -fsanitize=fuzzer $warn "${cppflags[@]}" \
	    "tests/fuzz/fuzz_$t.c" "$out/libck-fuzz.a" "${libs[@]}" \
	    -o "$out/fuzz_$t"
	echo "build.sh: $out/fuzz_$t"
done

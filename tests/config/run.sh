#!/bin/sh
# Golden configuration tests, after bgpd's regress/usr.sbin/bgpd/config:
# each tests/config/NAME.yaml is checked with chainkeeperd -n -v and its
# output compared with NAME.ok (a valid file: the normalized configuration
# and the OK line) or NAME.err (a refused one: every error, then the
# "not valid" line).  The example files etc/NAME.yaml are checked the same
# way against tests/config/etc-NAME.ok.
#
# A file NAME.d/ beside NAME.yaml is copied along (for include:).  Files
# are copied into a private folder, owned by root with mode 0600 (the
# daemon refuses a file others could write), and that folder is written
# @DIR@ in the output; the compiled-in default state_dir and control
# socket are written @STATE_DIR@ and @SOCKET@, so the results do not
# depend on where the tree is or how it was configured.  Timestamped log
# lines (warnings about secret files that do not exist here) are left out.
#
# Usage: run.sh [--update] [NAME ...]
# --update writes the expected files from the output instead of comparing
# (and removes the other kind, when a file went from valid to refused or
# back).  Exit codes: 0 pass, 1 fail, 77 skip (not root), 99 broken.
set -u

here=$(cd -- "$(dirname -- "$0")" && pwd)
src=${TESTS_SRCDIR:-$here/..}
src=$(cd -- "$src/.." && pwd)
d=${CHAINKEEPERD:-$here/../../chainkeeperd}
update=0
if [ "${1:-}" = "--update" ]; then
	update=1
	shift
fi
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: config goldens: need root (user: root, file owners)"
	exit 77
fi
if [ ! -x "$d" ]; then
	echo "FAIL: config goldens: no chainkeeperd at $d" >&2
	exit 99
fi
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
chmod 0700 "$tmp"

# The compiled-in defaults, from a file that sets neither.
echo 'programs: {}' > "$tmp/defaults.yaml"
chmod 0600 "$tmp/defaults.yaml"
defaults=$("$d" -n -v -c "$tmp/defaults.yaml" 2>/dev/null) || {
	echo "FAIL: config goldens: chainkeeperd -nv refuses programs: {}" >&2
	exit 99
}
def_state=$(printf '%s\n' "$defaults" | sed -n \
    's/^  "state_dir": "\(.*\)",$/\1/p')
def_socket=$(printf '%s\n' "$defaults" | sed -n \
    's/^    "socket": "\(.*\)",$/\1/p')
if [ -z "$def_state" ] || [ -z "$def_socket" ]; then
	echo "FAIL: config goldens: no default state_dir or socket" >&2
	exit 99
fi

# check NAME YAML EXPECTED_BASE: run one file, compare or update.
check() {
	name=$1 yaml=$2 base=$3
	w=$tmp/w
	rm -rf "$w"
	mkdir -m 0700 "$w"
	cp "$yaml" "$w/$name.yaml"
	chmod 0600 "$w/$name.yaml"
	if [ -d "${yaml%.yaml}.d" ]; then
		cp -R "${yaml%.yaml}.d" "$w/$name.d"
		chmod -R go-w "$w/$name.d"
		chown -R 0:0 "$w/$name.d"
	fi
	"$d" -n -v -c "$w/$name.yaml" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -eq 0 ]; then
		kind=ok
	else
		kind=err
	fi
	grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2} ' "$tmp/err" |
	    cat "$tmp/out" - |
	    sed -e "s|$w|@DIR@|g" -e "s|$def_state|@STATE_DIR@|g" \
	    -e "s|$def_socket|@SOCKET@|g" >"$tmp/got"
	if [ $update -eq 1 ]; then
		rm -f "$base.ok" "$base.err"
		cp "$tmp/got" "$base.$kind"
		echo "wrote $(basename "$base").$kind"
		return 0
	fi
	if [ ! -f "$base.$kind" ]; then
		other=ok
		[ $kind = ok ] && other=err
		echo "FAIL: $name: chainkeeperd says $kind, expected" \
		    "$(basename "$base").$other"
		sed 's/^/	/' "$tmp/got"
		return 1
	fi
	if ! diff -u "$base.$kind" "$tmp/got" >"$tmp/diff"; then
		echo "FAIL: $name: output differs from $(basename "$base").$kind"
		cat "$tmp/diff"
		return 1
	fi
	return 0
}

fails=0 n=0
if [ $# -eq 0 ]; then
	set -- $(cd "$here" && ls *.yaml | sed 's/\.yaml$//') \
	    $(cd "$src/etc" && ls *.yaml | sed 's/^/etc-/; s/\.yaml$//')
fi
for name; do
	case $name in
	etc-*)	yaml=$src/etc/${name#etc-}.yaml ;;
	*)	yaml=$here/$name.yaml ;;
	esac
	if [ ! -f "$yaml" ]; then
		echo "FAIL: no $yaml" >&2
		exit 99
	fi
	n=$((n + 1))
	check "$name" "$yaml" "$here/$name" || fails=$((fails + 1))
done
if [ $fails -gt 0 ]; then
	echo "FAIL: config goldens: $fails of $n differ"
	exit 1
fi
echo "PASS: config goldens: $n files"
exit 0

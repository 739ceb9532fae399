#!/bin/sh
# The floor check: every #include "x.h" in a .c or .h file of the folders
# that tests/floors names must point to a header of the file's own floor
# or of a floor below it.  Includes are by basename (each folder is on the
# -I path), so x.h is looked up in those folders; an include that points
# up a floor, names a header that no folder holds, or names one that two
# folders hold, is reported as
#	FILE:LINE: includes DIR/x.h: floor N (FOLDERS) is above floor M
# and the check fails.  <x.h> includes (system and libraries) are not
# looked at; headers that configure makes are listed in the table.
#
# Run by make check; by hand: sh tests/check-floors.sh [TOP] (default:
# the tree this script is in).  Exit codes: 0 pass, 1 fail, 99 broken table.
set -eu
top=${1:-$(cd -- "$(dirname -- "$0")/.." && pwd)}
cd -- "$top"
table=tests/floors
if [ ! -f "$table" ]; then
	echo "FAIL: floors: no $top/$table" >&2
	exit 99
fi

folders=$(sed -e 's/#.*//' -e '/^[ 	]*generated:/d' "$table")
files=
for d in $folders; do
	if [ ! -d "$d" ]; then
		echo "FAIL: floors: $table names $d, which is not a folder" >&2
		exit 99
	fi
	for f in "$d"/*.c "$d"/*.h; do
		[ -f "$f" ] && files="$files $f"
	done
done

# shellcheck disable=SC2086
awk -v table="$table" '
function base(p) {
	sub(/.*\//, "", p)
	return (p)
}
function dir(p) {
	if (p !~ /\//)
		return (".")
	sub(/\/[^\/]*$/, "", p)
	return (p)
}
BEGIN {
	while ((getline line < table) > 0) {
		sub(/#.*/, "", line)
		n = split(line, w)
		if (n == 0)
			continue
		if (w[1] == "generated:") {
			for (i = 2; i <= n; i++)
				generated[w[i]] = 1
			continue
		}
		nfloors++
		names[nfloors] = w[1]
		for (i = 2; i <= n; i++)
			names[nfloors] = names[nfloors] " " w[i]
		for (i = 1; i <= n; i++)
			floor_of[w[i]] = nfloors
	}
	close(table)
	# Where each header is (the first folder that holds it).
	for (i = 1; i < ARGC; i++) {
		if (ARGV[i] !~ /\.h$/)
			continue
		h = base(ARGV[i])
		if (h in where)
			twice[h] = twice[h] " " ARGV[i]
		else {
			where[h] = dir(ARGV[i])
			twice[h] = ARGV[i]
		}
		count[h]++
	}
	bad = 0
	nincl = 0
}
/^[ \t]*#[ \t]*include[ \t]*"/ {
	nincl++
	h = $0
	sub(/^[^"]*"/, "", h)
	sub(/".*/, "", h)
	if (h in generated)
		next
	from = floor_of[dir(FILENAME)]
	if (!(base(h) in where) || h ~ /\//) {
		printf("%s:%d: includes \"%s\", which no floor holds " \
		    "(floors: %s)\n", FILENAME, FNR, h, table)
		bad++
		next
	}
	if (count[base(h)] > 1) {
		printf("%s:%d: includes \"%s\", which more than one folder " \
		    "holds:%s\n", FILENAME, FNR, h, " " twice[base(h)])
		bad++
		next
	}
	to = floor_of[where[h]]
	if (to > from) {
		printf("%s:%d: includes %s/%s: floor %d (%s) is above " \
		    "floor %d (%s)\n", FILENAME, FNR, where[h], h, to,
		    names[to], from, names[from])
		bad++
	}
}
END {
	if (bad > 0) {
		printf("FAIL: floors: %d include%s point%s up a floor or " \
		    "nowhere\n", bad, bad == 1 ? "" : "s",
		    bad == 1 ? "s" : "")
		exit 1
	}
	printf("PASS: floors: %d includes in %d files, none points up a " \
	    "floor (%d floors)\n", nincl, ARGC - 1, nfloors)
}
' $files

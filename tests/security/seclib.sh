# Shared by the security tests (bash, sourced first): the integration
# helpers, an unprivileged attacker user made for this test run (removed
# on exit), and the supervision latency figure.
#
# Every test runs as root, acts as the attacker with as_atk, and prints
# "FIGURE: ..." lines: the exit -> respawn latency of a crasher program
# (a root program that exits every second), read from the daemon log's
# millisecond timestamps while the attack ran.
. "$(dirname "$0")/../integration/lib.sh" || exit 99

[ "$(id -u)" -eq 0 ] || skip "needs root (makes an attacker user)"
command -v useradd >/dev/null 2>&1 || skip "no useradd"
command -v setpriv >/dev/null 2>&1 || skip "no setpriv"

# A name unique to this test run (at most 32 characters).
ATK=cka${CK_TEST_NAME:0:14}$$
ATK=${ATK:0:32}
# useradd fails while another holds /etc/passwd's lock: try again.
for _i in 1 2 3 4 5 6 7 8 9 10; do
	useradd -M -U -d /nonexistent -s /bin/sh "$ATK" >/dev/null 2>&1 &&
	    break
	sleep 0.5
done
id "$ATK" >/dev/null 2>&1 || skip "useradd $ATK failed"
on_exit "userdel -f '$ATK' >/dev/null 2>&1; groupdel '$ATK' >/dev/null 2>&1"
ATK_UID=$(id -u "$ATK")
ATK_GID=$(id -g "$ATK")
# The attacker must reach its own folders below $T.
chmod 711 "$T"

# as_atk COMMAND...: run a command as the attacker (no other groups).
as_atk() {
	setpriv --reuid="$ATK_UID" --regid="$ATK_GID" --clear-groups -- "$@"
}

# The crasher: a root program that exits with status 3 after a second.
CRASHER=$(write_script crasher.sh <<'EOS'
#!/bin/sh
sleep 1
exit 3
EOS
)
CRASHER_CONFIG="  crasher:
    command: $CRASHER
    startsecs: 0
    autorestart: true
    backoff: {initial: 100ms, max: 200ms, jitter: 0}"

# swap_dir FOLDER TARGET: as the attacker, move FOLDER (its own) aside to
# FOLDER.old and put a link to TARGET in its place.  chainkeeperd may make
# the folder again in between (it writes there): then move that one
# aside too (it sits in the attacker's own folder) and try again.
swap_dir() {
	as_atk sh -c "mv '$1' '$1.old' || exit 1
	    i=0
	    until ln -s '$2' '$1' 2>/dev/null; do
		    i=\$((i + 1)); [ \$i -lt 200 ] || exit 1
		    mv '$1' '$1.again'\$i 2>/dev/null
	    done"
}

# figure WHAT [FROM_LINE]: the crasher's exit -> next start latency in the
# daemon log (from line FROM_LINE on), as a FIGURE line: p50, max, n.
figure() {
	tail -n +"${2:-1}" "$LOG" | awk '
	function ms(t,	a) { split(t, a, ":"); return (a[1] * 3600 + a[2] * 60 + a[3]) * 1000 }
	/crasher: RUNNING -> EXITED/ { pend = ms($2); have = 1; next }
	/crasher: .*-> STARTING: pid/ && have { print int(ms($2) - pend + 0.5); have = 0 }
	' | sort -n | awk -v what="$1" '
	{ v[NR] = $1 }
	END {
		if (NR == 0) { print "FIGURE: " what ": no crasher respawn seen"; exit }
		printf "FIGURE: %s: crasher exit->respawn p50 %d ms, max %d ms (n=%d)\n",
		    what, v[int((NR + 1) / 2)], v[NR], NR
	}'
}

# max_gap [FROM_LINE]: the largest crasher exit -> respawn gap in ms.
max_gap() {
	tail -n +"${1:-1}" "$LOG" | awk '
	function ms(t,	a) { split(t, a, ":"); return (a[1] * 3600 + a[2] * 60 + a[3]) * 1000 }
	/crasher: RUNNING -> EXITED/ { pend = ms($2); have = 1; next }
	/crasher: .*-> STARTING: pid/ && have { g = int(ms($2) - pend + 0.5); if (g > m) m = g; have = 0 }
	END { print m + 0 }'
}

# crashes: how many times the crasher has exited so far.
crashes() {
	grep -c 'crasher: RUNNING -> EXITED' "$LOG"
}

# log_lines: the daemon log's length in lines.
log_lines() {
	if [ -f "$LOG" ]; then wc -l <"$LOG"; else echo 0; fi
}

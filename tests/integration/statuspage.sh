# The status page, rendered by a real browser: headless Chromium (Debian's
# chromium) loads http://127.0.0.1:PORT/ from chainkeeperd and dumps the
# DOM, then takes a screenshot, which is kept under the build folder
# (tests/artifacts/status.png, not in the source tree).  Asserts:
#  - every program is in the table with its state (RUNNING, STOPPED,
#    BACKOFF or FATAL) and health (healthy, failing, -), its pid, and for
#    a nodeos program the height from its probe;
#  - a probe reason with HTML in it (<b>, <script>) is shown as text: no
#    such element is in the DOM, the title is not changed;
#  - the page refreshes itself (meta refresh) and has no script;
#  - the screenshot is a PNG of the requested size.
. "${TESTS_SRCDIR:-$(dirname "$0")/..}/integration/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser) ||
    skip "chromium is not installed (apt-get install chromium)"
command -v curl >/dev/null 2>&1 || skip "curl is needed"
FAKE=$TESTS_SRCDIR/fakes/fake-nodeos.py
ART=$(cd "$(dirname "$CHAINKEEPERD")" && pwd)/tests/artifacts
mkdir -p "$ART" || fail "cannot create $ART"

free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

ports() {
	local p list=" "
	while [ $(echo $list | wc -w) -lt "$1" ]; do
		p=$(free_port)
		case $list in *" $p "*) continue ;; esac
		list="$list$p "
	done
	echo $list
}
read -r MP WP NP <<<"$(ports 3)"

mkdir -p "$T/www"
cat >"$T/www/tag.json" <<'EOF'
{"tag": "<b>bold</b><script>document.title='pwned'</script>"}
EOF
write_config <<EOF
metrics:
  listen: 127.0.0.1:$MP
  refresh: 4s
programs:
  nodeos:
    command: ["$PYTHON", "$FAKE", "--port", "$NP", "--block-ms", "50",
        "--quiet-log"]
    startsecs: 0
    probes:
      - kind: nodeos
        name: chain
        url: http://127.0.0.1:$NP/
        interval: 300ms
  web:
    command: ["$PYTHON", "-m", "http.server", "$WP", "--bind", "127.0.0.1",
        "--directory", "$T/www"]
    startsecs: 0
    probes:
      - kind: http
        name: markup
        url: http://127.0.0.1:$WP/tag.json
        json_pointer: /tag
        compare: ==
        value: plain
        interval: 300ms
        fall: 1
  broken:
    command: $T/does-not-exist
    startretries: 1
    backoff: {initial: 100ms, max: 100ms}
  idle:
    command: sleep 1000
    autostart: false
EOF
start_daemon
wait_for "nodeos healthy" 20 eval \
    '[ "$(status_field nodeos health)" = healthy ]'
wait_for "web failing" 20 eval '[ "$(status_field web health)" = failing ]'
wait_for "broken FATAL" 20 state_is broken FATAL

# chrome ARGS...: headless Chromium, its profile and home under $T.
chrome() {
	HOME=$T/home timeout 90 "$CHROMIUM" --headless --no-sandbox \
	    --disable-gpu --disable-quic --no-first-run \
	    --disable-background-networking --disable-component-update \
	    --disable-sync --disable-dev-shm-usage \
	    --user-data-dir="$T/chrome" "$@" 2>>"$T/chromium.log"
}
mkdir -p "$T/home"
DUMP_FILES="$T/chromium.log $T/dom.html"
chrome --dump-dom "http://127.0.0.1:$MP/" >"$T/dom.html" ||
    fail "chromium --dump-dom failed (exit $?)"
[ -s "$T/dom.html" ] || fail "chromium rendered nothing"

# The text of one table row, as the browser has it.
row() {
	"$PYTHON" - "$T/dom.html" "$1" <<'EOF'
import html.parser, sys

class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.cur, self.tags = {}, None, []
    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "tr" and a.get("id", "").startswith("program-"):
            self.cur = a["id"][8:]
            self.rows[self.cur] = []
    def handle_endtag(self, tag):
        if tag == "tr":
            self.cur = None
    def handle_data(self, d):
        if self.cur is not None and d.strip():
            self.rows[self.cur].append(d.strip())

p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
print("|".join(p.rows.get(sys.argv[2], [])))
if sys.argv[2] == "--tags":
    print(" ".join(sorted(set(p.tags))))
EOF
}

r=$(row nodeos)
say "nodeos row: $r"
pid=$(status_field nodeos pid)
assert_match "^nodeos\|RUNNING\|healthy\|$pid\|[0-9]+s\|0\|[0-9]+\|" "$r" \
    "nodeos row"
height=$(echo "$r" | cut -d'|' -f7)
[ "$height" -gt 1 ] || fail "no height in the nodeos row: $r"
r=$(row web)
say "web row: $r"
assert_match "^web\|RUNNING\|failing\|" "$r" "web row"
assert_match "markup failing: /tag is \"<b>bold</b><script>" "$r" \
    "the reason, as text"
r=$(row broken)
assert_match "^broken\|FATAL\|-\|" "$r" "broken row"
r=$(row idle)
assert_match "^idle\|STOPPED\|-\|" "$r" "idle row"

# Markup in a reason stays text: no <b> or <script> element, the title.
tags=$(row --tags | tail -n 1)
say "elements: $tags"
assert_nomatch '(^| )(b|script)( |$)' "$tags" "elements in the page"
grep -q '<title>chainkeeper: ' "$T/dom.html" || fail "the title changed"
grep -q 'pwned' "$T/dom.html" || fail "the reason is not on the page"
grep -q '&lt;b&gt;bold&lt;/b&gt;' "$T/dom.html" ||
    fail "the reason is not escaped in the DOM"
grep -q '<meta http-equiv="refresh" content="4">' "$T/dom.html" ||
    fail "no meta refresh"
csp=$(curl -s -D - -o /dev/null "http://127.0.0.1:$MP/" | tr -d '\r' |
    grep -i '^Content-Security-Policy:')
assert_match "default-src 'none'" "$csp" "CSP header"

# The screenshot, kept.
rm -f "$ART/status.png"
chrome --screenshot="$ART/status.png" --window-size=1200,800 \
    "http://127.0.0.1:$MP/" >/dev/null || fail "chromium --screenshot failed"
[ -s "$ART/status.png" ] || fail "no screenshot"
size=$("$PYTHON" -c 'import struct, sys
d = open(sys.argv[1], "rb").read(24)
assert d[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
print("%dx%d" % struct.unpack(">II", d[16:24]))' "$ART/status.png") ||
    fail "the screenshot is not a PNG"
assert_eq 1200x800 "$size" "screenshot size"
say "screenshot: $ART/status.png"
stop_daemon
assert_eq 0 "$DAEMON_RC" "chainkeeperd exit status"

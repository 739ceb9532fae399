"""Misbehaviour on demand for the fake daemons (python3 stdlib only).

A fake is an "app" object served over HTTP by serve().  The app answers
requests normally; this module makes any server misbehave when told to,
through a control endpoint that always answers, whatever the mode:

    GET|POST /__control?mode=hang             every API request hangs
    GET|POST /__control?mode=500&only=/v1/producer/paused
                                              only matching paths misbehave
    GET|POST /__control?mode=slow&delay_ms=800
    GET|POST /__control?mode=ok               back to normal
    GET      /__state                         the fake's state as JSON

Modes (the "mode" key):
    ok          answer normally
    hang        accept the request, never answer (until the mode changes)
    slow        answer normally after delay_ms (default 2000)
    500         HTTP 500 with the daemon's own error body
    401         HTTP 401, empty body
    404         HTTP 404 with the daemon's own error body
    garbage     HTTP 200, a body that is not JSON
    truncated   HTTP 200, the normal body cut in half
    huge        HTTP 200, the normal JSON padded to huge_mb MB (default 4)
    wrongtypes  HTTP 200, the normal shape with the wrong JSON types
    empty       HTTP 200, empty body
    html        HTTP 502, an HTML page (a proxy in the way)
    close       close the connection without an answer

Other control keys go to the app's control(); /__control answers 400 with
{"error": ...} for an unknown key or a bad value.  The reply to a control
request is the app's state.
"""

import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("ok", "hang", "slow", "500", "401", "404", "garbage", "truncated",
         "huge", "wrongtypes", "empty", "html", "close")


class Raw:
    """A reply body sent as is (not JSON-encoded)."""

    def __init__(self, data, content_type="text/plain"):
        self.data = data if isinstance(data, bytes) else data.encode()
        self.content_type = content_type


class Modes:
    """The misbehaviour of one server; changes wake hung requests."""

    def __init__(self):
        self.cond = threading.Condition()
        self.mode = "ok"
        self.only = ""
        self.delay_ms = 2000
        self.huge_mb = 4
        self.served = 0

    def set(self, params):
        with self.cond:
            if "mode" in params:
                if params["mode"] not in MODES:
                    raise ValueError("unknown mode %r (modes: %s)" %
                                     (params["mode"], ", ".join(MODES)))
                self.mode = params["mode"]
                if "only" not in params:
                    self.only = ""
            if "only" in params:
                self.only = params["only"]
            if "delay_ms" in params:
                self.delay_ms = int(params["delay_ms"])
            if "huge_mb" in params:
                self.huge_mb = float(params["huge_mb"])
            self.cond.notify_all()

    def for_path(self, path):
        with self.cond:
            return self.for_path_locked(path)

    def hang(self, path):
        """Block while this path's mode is hang."""
        with self.cond:
            while self.for_path_locked(path) == "hang":
                self.cond.wait(0.5)

    def for_path_locked(self, path):
        if self.only and self.only not in path:
            return "ok"
        return self.mode

    def state(self):
        with self.cond:
            return {"mode": self.mode, "only": self.only,
                    "delay_ms": self.delay_ms, "huge_mb": self.huge_mb,
                    "served": self.served}


def _encode(data):
    if isinstance(data, Raw):
        return data.data, data.content_type
    return json.dumps(data, separators=(",", ":")).encode(), \
        "application/json"


def _huge(data, mb):
    pad = "x" * int(mb * 1024 * 1024)
    if isinstance(data, dict):
        d = {"padding": pad}
        d.update(data)
        return d
    return [data, pad]


def _params(query, body):
    params = {k: v[-1] for k, v in urllib.parse.parse_qs(
        query, keep_blank_values=True).items()}
    if body:
        try:
            extra = json.loads(body)
            if isinstance(extra, dict):
                params.update({k: str(v) if not isinstance(v, str) else v
                               for k, v in extra.items()})
        except ValueError:
            pass
    return params


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s: %s\n" % (self.server.label, fmt % args))

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def _reply(self, status, data, extra_headers=()):
        body, ctype = _encode(data)
        self._send(status, body, ctype, extra_headers)

    def _send(self, status, body, ctype, extra_headers=()):
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra_headers:
                self.send_header(k, v)
            self.end_headers()
            step = 65536
            for i in range(0, len(body), step):
                self.wfile.write(body[i:i + step])
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _handle(self, method):
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = 0
        body = self.rfile.read(n) if n > 0 else b""
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        app = self.server.app
        modes = self.server.modes
        if path == "/__control":
            try:
                params = _params(url.query, body)
                common = {k: params.pop(k) for k in
                          ("mode", "only", "delay_ms", "huge_mb")
                          if k in params}
                modes.set(common)
                if params:
                    app.control(params, self.server.label)
            except (ValueError, KeyError) as e:
                self._reply(400, {"error": str(e)})
                return
            self._reply(200, self._state())
            return
        if path == "/__state":
            self._reply(200, self._state())
            return
        with modes.cond:
            modes.served += 1
        mode = modes.for_path(path)
        if mode == "hang":
            modes.hang(path)
            mode = modes.for_path(path)
        if mode == "slow":
            time.sleep(modes.delay_ms / 1000.0)
        if mode == "close":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if mode == "401":
            self._send(401, b"", "text/plain")
            return
        if mode in ("500", "404"):
            self._reply(int(mode), app.error(int(mode), path))
            return
        if mode == "garbage":
            self._send(200, b"<<this is {not JSON", "application/json")
            return
        if mode == "empty":
            self._send(200, b"", "application/json")
            return
        if mode == "html":
            self._send(502, b"<html><body><h1>502 Bad Gateway</h1></body>"
                       b"</html>", "text/html")
            return
        if mode == "wrongtypes":
            status, data = app.wrong_types(method, path, body,
                                           self.server.label)
        else:
            # An app that reads query strings asks for the whole path.
            status, data = app.handle(
                method, self.path if getattr(app, "want_query", False)
                else path, body, self.server.label)
        if mode == "truncated":
            raw, ctype = _encode(data)
            self._send(status, raw[:max(1, len(raw) // 2)], ctype)
            return
        if mode == "huge" and not isinstance(data, Raw):
            data = _huge(data, modes.huge_mb)
        self._reply(status, data)

    def _state(self):
        s = self.server.app.state()
        s["server"] = self.server.label
        s["misbehave"] = self.server.modes.state()
        return s


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that gave up (probe timeout) is not an error.
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def serve(app, host, port, label="api", verbose=False):
    """Start a server thread for app; returns the server (its port is
    server.server_address[1])."""
    srv = Server((host, port), Handler)
    srv.app = app
    srv.modes = Modes()
    srv.label = label
    srv.verbose = verbose
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv


def announce(name, servers, port_file=None):
    """Tell the world the ports: stderr, and port_file (atomically)."""
    ports = [s.server_address[1] for s in servers]
    sys.stderr.write("%s: listening on %s\n" % (
        name, ", ".join("%s:%d" % (s.label, p)
                        for s, p in zip(servers, ports))))
    sys.stderr.flush()
    if port_file:
        tmp = port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(" ".join(str(p) for p in ports) + "\n")
        os.rename(tmp, port_file)


def _base(where):
    """A port number or a URL, as a base URL."""
    if where.isdigit():
        return "http://127.0.0.1:%s" % where
    return where.rstrip("/")


def control(where, **params):
    """Client side: set modes or app keys on a fake; returns its state."""
    import urllib.request
    q = urllib.parse.urlencode(params)
    with urllib.request.urlopen(_base(where) + "/__control?" + q,
                                timeout=10) as r:
        return json.loads(r.read())


def client_main(argv):
    """The fakes' command-line client, for shell tests:
        FAKE control PORT|URL KEY=VALUE...   change it, print its state
        FAKE state PORT|URL                  print its state
        FAKE rpc PORT|URL METHOD [JSON-ARRAY]  a JSON-RPC 2.0 call, print
                                             the reply (exit 1 on error)
    Returns an exit status, or None when argv is not a client command."""
    import urllib.error
    import urllib.request
    if len(argv) < 3 or argv[1] not in ("control", "state", "rpc"):
        return None
    cmd, where = argv[1], argv[2]
    try:
        if cmd == "control":
            params = dict(a.split("=", 1) for a in argv[3:])
            out = control(where, **params)
        elif cmd == "state":
            with urllib.request.urlopen(_base(where) + "/__state",
                                        timeout=10) as r:
                out = json.loads(r.read())
        else:
            body = json.dumps({"jsonrpc": "2.0", "method": argv[3],
                               "params": json.loads(argv[4]) if
                               len(argv) > 4 else [], "id": 1}).encode()
            req = urllib.request.Request(
                _base(where) + "/rpc", data=body,
                headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as r:
                out = json.loads(r.read())
    except urllib.error.HTTPError as e:
        sys.stderr.write("%s: HTTP %d: %s\n" % (cmd, e.code,
                                               e.read()[:200]))
        return 1
    except (OSError, ValueError) as e:
        sys.stderr.write("%s: %s\n" % (cmd, e))
        return 1
    print(json.dumps(out))
    return 1 if isinstance(out, dict) and out.get("error") else 0

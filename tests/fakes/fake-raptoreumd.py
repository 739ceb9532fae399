#!/usr/bin/env python3
"""A fake raptoreumd (Bitcoin-lineage JSON-RPC 1.0), or a fake explorer.

Node role (default): POST / with Basic auth (--rpcuser and
--rpcpassword-file, or --cookie-file, which this fake writes as
"__cookie__:<hex>" like the daemon does at each start).  Methods:
getblockchaininfo, getblockcount, smartnode status, protx info <hash>,
mnsync status; anything else is 404 -32601 "Method not found".  Bad auth
is 401 with an empty body; during warmup (--warmup N: the first N calls)
the reply is 500 {"error":{"code":-28,"message":"Loading block index..."}}.
JSON-RPC batches (arrays) are answered as Bitcoin Core does.

Explorer role (--explorer): GET /api/getblockcount (a bare integer) and
GET /api/protx?command=info&protxhash=H (the protx info object).

Wallet calls (any node instance can be "the wallet" that holds the fee
funds, a second instance or the node itself): walletpassphrase <pw> <secs>
and walletlock (with --wallet-passphrase-file the wallet is encrypted and
starts locked; without, both are -15 like an unencrypted wallet), and
protx update_service <hash> <ip:port> <operatorKey> [payout [feesource]]:
-13 while locked, -8 for an unknown proTxHash, a bad ip:port, or an
operator key other than --operator-key-file's; else it returns a txid,
records the call in "update_service_calls" (the key is never recorded,
only whether it matched: key_ok) and revives the smartnode revive_blocks
blocks later: PoSeBanHeight -1, PoSePenalty 0, PoSeRevivedHeight set,
state READY.  With --relay URL (repeatable) the wallet also tells those
nodes (POST URL/__control {"revive": {"protx_hash": H, "in": N}}), as the
network would.

Both roles take commands on POST /__control (a JSON object, no auth) and
report their state and call counters on GET /__state.  Settings:
  height, headers_ahead (headers = height + headers_ahead, the node is then
  syncing), advance_ms (one new block every advance_ms; 0 = frozen),
  advance (add N blocks now), chain, ibd (null = headers_ahead > 0),
  warmup (the next N RPC calls get -28), mode, delay_ms, mode_methods
  (null = the mode applies to every method, else a list of methods),
  huge_bytes, smartnode (false = "This is not a smartnode"), sn_state,
  protx_hash, pose_penalty, pose_ban_height, pose_revived_height,
  rotate_cookie (true: write a new cookie, as a restarted daemon does),
  reset_counters (true), revive_blocks (blocks from update_service to the
  ban clearing; default 2), revive ({"protx_hash": H, "in": N}: clear the
  ban of H N blocks from now, what --relay sends), update_service_error
  (null, or {"code": C, "message": M}: update_service fails so),
  echo_secrets (true: wallet errors quote the secrets they were given, to
  test that callers scrub them).
Modes: ok, hang (no answer until the mode changes or the client hangs
up; GET /__state counts such requests in "hanging"), slow (answer after
delay_ms), http500 (500 with an HTML page), 500 (500 with the -28 error
body), html (502 with an HTML page, a proxy in the way), 401, 404,
malformed or truncated (truncated JSON),
garbage (binary bytes), huge (huge_bytes of valid JSON), wrongtypes (the
right keys with the wrong JSON types), empty (200, no body), close (close
the connection without an answer), array (a JSON array instead of an
object).

Usage:
  fake-raptoreumd.py [--port N] [--port-file F] [--explorer]
      [--rpcuser U --rpcpassword-file F | --cookie-file F]
      [--height H] [--advance-ms MS] [--warmup N] [--set JSON]
      [--operator-key-file F] [--wallet-passphrase-file F] [--relay URL]
  fake-raptoreumd.py control PORT JSON    POST JSON to /__control
  fake-raptoreumd.py state PORT           GET /__state
--port 0 (the default) picks a free port; it is printed on stdout and
written to --port-file.  Python 3 standard library only.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import select
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SN_STATUS = {
    "READY": "Ready",
    "POSE_BANNED": "Smartnode was PoSe banned",
    "WAITING_FOR_PROTX": "Waiting for ProTx to appear on-chain",
    "REMOVED": "Smartnode removed from list",
    "OPERATOR_KEY_CHANGED": "Operator key changed or revoked",
    "PROTX_IP_CHANGED": "IP address specified in ProTx changed",
    "ERROR": "Error. Local address does not match the address from ProTx",
    "UNKNOWN": "Unknown",
}

DEFAULT_PROTX = "d32c99" + "ab" * 29


class State:
    """Everything the fake answers with, under one lock."""

    def __init__(self, args):
        self.lock = threading.Condition()
        self.base_height = args.height
        self.base_time = time.monotonic()
        self.s = {
            "headers_ahead": 0,
            "advance_ms": args.advance_ms,
            "chain": "main",
            "ibd": None,
            "warmup": args.warmup,
            "mode": "ok",
            "delay_ms": 0,
            "mode_methods": None,
            "huge_bytes": 4 * 1024 * 1024,
            "smartnode": True,
            "sn_state": "READY",
            "protx_hash": DEFAULT_PROTX,
            "pose_penalty": 0,
            "pose_ban_height": -1,
            "pose_revived_height": -1,
            "revive_blocks": 2,
            "update_service_error": None,
            "echo_secrets": False,
        }
        # Secrets stay out of self.s: /__state must never show them.
        self.operator_key = None
        if args.operator_key_file:
            with open(args.operator_key_file) as f:
                self.operator_key = f.readline().rstrip("\r\n")
        self.passphrase = None
        if args.wallet_passphrase_file:
            with open(args.wallet_passphrase_file) as f:
                self.passphrase = f.readline().rstrip("\r\n")
        self.unlocked_until = 0.0
        self.relays = list(args.relay or [])
        self.revive_at = None
        self.update_calls = []
        self.to_relay = []
        self.counters = {}
        self.auth_failures = 0
        self.generation = 0
        self.hanging = 0
        self.cookie_file = args.cookie_file
        self.user = args.rpcuser
        self.password = None
        if args.rpcpassword_file:
            with open(args.rpcpassword_file) as f:
                self.password = f.readline().rstrip("\r\n")
        self.cookie = None
        if self.cookie_file:
            self.write_cookie()

    def write_cookie(self):
        self.cookie = "__cookie__:" + secrets.token_hex(32)
        tmp = self.cookie_file + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.cookie)
        os.rename(tmp, self.cookie_file)

    def height(self):
        adv = self.s["advance_ms"]
        if adv and adv > 0:
            n = int((time.monotonic() - self.base_time) * 1000 // adv)
            return self.base_height + n
        return self.base_height

    def rebase(self):
        """Fold the blocks made so far into base_height, keeping the
        time already spent towards the next one."""
        adv = self.s["advance_ms"]
        now = time.monotonic()
        if adv and adv > 0:
            n = int((now - self.base_time) * 1000 // adv)
            self.base_height += n
            self.base_time += n * adv / 1000.0
        else:
            self.base_time = now

    def control(self, cmd):
        with self.lock:
            self.rebase()
            for k, v in cmd.items():
                if k == "height":
                    self.base_height = int(v)
                elif k == "advance":
                    self.base_height += int(v)
                elif k == "rotate_cookie":
                    if v and self.cookie_file:
                        self.write_cookie()
                elif k == "reset_counters":
                    if v:
                        self.counters = {}
                        self.auth_failures = 0
                elif k == "revive":
                    if v.get("protx_hash") == self.s["protx_hash"]:
                        self.revive_at = self.height() + int(v["in"])
                elif k in self.s:
                    self.s[k] = v
                else:
                    raise KeyError(k)
            self.generation += 1
            self.lock.notify_all()
            return self.snapshot()

    def apply_revive(self):
        """A pending revive whose block has come clears the ban."""
        if self.revive_at is not None and self.height() >= self.revive_at:
            self.s["pose_ban_height"] = -1
            self.s["pose_penalty"] = 0
            self.s["pose_revived_height"] = self.revive_at
            self.s["sn_state"] = "READY"
            self.revive_at = None

    def wallet_locked(self):
        return (self.passphrase is not None and
                time.monotonic() >= self.unlocked_until)

    def snapshot(self):
        self.apply_revive()
        d = dict(self.s)
        d["height"] = self.height()
        d["revive_at"] = self.revive_at
        d["update_service_calls"] = list(self.update_calls)
        d["wallet_encrypted"] = self.passphrase is not None
        d["wallet_locked"] = self.wallet_locked()
        d["counters"] = dict(self.counters)
        d["auth_failures"] = self.auth_failures
        d["hanging"] = self.hanging
        return d

    def count(self, method):
        with self.lock:
            self.counters[method] = self.counters.get(method, 0) + 1

    def mode_for(self, method):
        """The mode that applies to a method, and the delay."""
        with self.lock:
            mm = self.s["mode_methods"]
            if mm is not None and method not in mm:
                return "ok", 0, self.generation
            return self.s["mode"], self.s["delay_ms"], self.generation

    def wait_change(self, generation, limit):
        """Block until a control command arrives (or limit seconds)."""
        deadline = time.monotonic() + limit
        with self.lock:
            while self.generation == generation:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self.lock.wait(left)


def chaininfo(st):
    h = st.height()
    ahead = st.s["headers_ahead"]
    headers = h + ahead
    ibd = st.s["ibd"] if st.s["ibd"] is not None else ahead > 0
    progress = 1.0 if headers == 0 else min(1.0, h / headers)
    if ahead == 0 and not ibd:
        progress = 0.9999983
    return {
        "chain": st.s["chain"], "blocks": h, "headers": headers,
        "bestblockhash": "%064x" % (h + 1), "difficulty": 1234.56,
        "mediantime": 1690000000 + h * 120, "verificationprogress": progress,
        "initialblockdownload": ibd, "chainwork": "%064x" % (h * 4096),
        "size_on_disk": 123456789 + h, "pruned": False, "softforks": [],
        "bip9_softforks": {}, "warnings": "",
    }


def protx_info(st):
    return {
        "proTxHash": st.s["protx_hash"], "collateralHash": "ee" * 32,
        "collateralIndex": 1, "collateralAddress": "RcoLLateRaL",
        "collateralAmount": 1800000, "needToUpgrade": False,
        "operatorReward": 0.0,
        "state": {
            "service": "203.0.113.5:10226", "registeredHeight": 250000,
            "lastPaidHeight": max(0, st.height() - 100),
            "PoSePenalty": st.s["pose_penalty"],
            "PoSeRevivedHeight": st.s["pose_revived_height"],
            "PoSeBanHeight": st.s["pose_ban_height"],
            "revocationReason": 0, "ownerAddress": "Rowner",
            "votingAddress": "Rvoting", "payoutAddress": "Rpayout",
            "pubKeyOperator": "8f" * 48, "operatorPayoutAddress": "",
        },
        "confirmations": 260000, "metaInfo": {},
    }


class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def call(st, method, params):
    """One RPC call: its result, or RpcError."""
    if not isinstance(params, list):
        params = []
    with st.lock:
        st.apply_revive()
        if method in ("walletpassphrase", "walletlock"):
            return wallet_call(st, method, params)
        if method == "protx" and params[:1] == ["update_service"]:
            return update_service(st, params[1:])
        if method == "getblockchaininfo":
            return chaininfo(st)
        if method == "getblockcount":
            return st.height()
        if method == "smartnode" and params[:1] == ["status"]:
            if not st.s["smartnode"]:
                raise RpcError(-32603, "This is not a smartnode")
            s = st.s["sn_state"]
            return {
                "outpoint": "ee" * 32 + "-1", "service": "203.0.113.5:10226",
                "proTxHash": st.s["protx_hash"], "collateralHash": "ee" * 32,
                "collateralIndex": 1,
                "dmnState": protx_info(st)["state"],
                "state": s, "status": SN_STATUS.get(s, s.title()),
            }
        if method == "protx" and params[:1] == ["info"]:
            if len(params) < 2 or params[1] != st.s["protx_hash"]:
                raise RpcError(-8, "smartnode with proTxHash %s not found"
                               % (params[1] if len(params) > 1 else ""))
            return protx_info(st)
        if method == "mnsync" and params[:1] == ["status"]:
            return {"AssetID": 999, "AssetName": "SMARTNODE_SYNC_FINISHED",
                    "AssetStartTime": 1690000000, "Attempt": 0,
                    "IsBlockchainSynced": True, "IsSynced": True}
    raise RpcError(-32601, "Method not found")


def wallet_call(st, method, params):
    """walletpassphrase and walletlock (st.lock held)."""
    if st.passphrase is None:
        raise RpcError(-15, "Error: running with an unencrypted wallet, "
                       "but %s was called." % method)
    if method == "walletlock":
        st.unlocked_until = 0.0
        return None
    if len(params) != 2 or not isinstance(params[1], int):
        raise RpcError(-1, "walletpassphrase \"passphrase\" timeout")
    if params[0] != st.passphrase:
        raise RpcError(-14, "Error: The wallet passphrase entered was "
                       "incorrect." + (" (%r)" % params[0]
                                       if st.s["echo_secrets"] else ""))
    st.unlocked_until = time.monotonic() + max(0, params[1])
    return None


def update_service(st, args):
    """protx update_service (st.lock held): a txid, or RpcError."""
    echo = (" (params: %s)" % json.dumps(args)) if st.s["echo_secrets"] \
        else ""
    if len(args) < 3 or len(args) > 5 or \
            not all(isinstance(a, str) for a in args):
        raise RpcError(-1, "protx update_service \"proTxHash\" "
                       "\"ipAndPort\" \"operatorKey\" "
                       "(\"operatorPayoutAddress\" \"feeSourceAddress\")")
    if st.wallet_locked():
        raise RpcError(-13, "Error: Please enter the wallet passphrase with "
                       "walletpassphrase first.")
    h, ipport, key = args[0], args[1], args[2]
    if h != st.s["protx_hash"]:
        raise RpcError(-8, "smartnode with proTxHash %s not found" % h)
    host, _, port = ipport.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RpcError(-8, "invalid network address %s" % ipport)
    if st.operator_key is not None and key != st.operator_key:
        raise RpcError(-8, "the operator key does not belong to the "
                       "registered public key" + echo)
    err = st.s["update_service_error"]
    if err:
        raise RpcError(int(err.get("code", -4)),
                       str(err.get("message", "failed")) + echo)
    height = st.height()
    st.update_calls.append({
        "protx_hash": h, "ip_port": ipport,
        "key_ok": st.operator_key is None or key == st.operator_key,
        "payout": args[3] if len(args) > 3 else None,
        "fee_source": args[4] if len(args) > 4 else None,
        "height": height})
    n = int(st.s["revive_blocks"])
    st.revive_at = height + n
    st.to_relay.append({"revive": {"protx_hash": h, "in": n}})
    return hashlib.sha256(("%s:%d:%d" % (h, height, len(st.update_calls)))
                          .encode()).hexdigest()


def relay(st):
    """Tell the --relay nodes about revives (outside st.lock)."""
    with st.lock:
        cmds, st.to_relay = st.to_relay, []
    for cmd in cmds:
        for url in st.relays:
            try:
                req = urllib.request.Request(
                    url.rstrip("/") + "/__control",
                    data=json.dumps(cmd).encode(), method="POST")
                urllib.request.urlopen(req, timeout=5).read()
            except OSError as e:
                sys.stderr.write("relay to %s: %s\n" % (url, e))


def wrong_types(method, result):
    """The same keys with the wrong JSON types."""
    if method == "getblockchaininfo":
        r = dict(result)
        r["blocks"] = str(r["blocks"])
        r["headers"] = [r["headers"]]
        r["verificationprogress"] = "0.5"
        r["initialblockdownload"] = "no"
        return r
    if method == "getblockcount":
        return str(result)
    if method == "smartnode":
        return dict(result, state=5)
    if method == "protx":
        r = dict(result)
        r["state"] = dict(r["state"], PoSePenalty="12", PoSeBanHeight=None)
        return r
    return result


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-raptoreumd/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    # -- plumbing

    def send(self, code, body=b"", ctype="application/json", extra=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass
        self.close_connection = True

    def send_json(self, code, obj):
        self.send(code, json.dumps(obj) + "\n")

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 16 * 1024 * 1024:
            return b""
        return self.rfile.read(n) if n > 0 else b""

    def misbehave(self, method, mode, delay_ms, generation):
        """Apply a mode; True if it already answered (or never will)."""
        st = self.server.st
        if mode == "hang":
            # Until a control command or the client hangs up; "hanging"
            # counts the requests held, so a test can see that a client
            # that gave up also closed its connection.
            with st.lock:
                st.hanging += 1
            try:
                deadline = time.monotonic() + 600
                while time.monotonic() < deadline:
                    if st.generation != generation or self.peer_gone():
                        break
                    st.wait_change(generation, 0.05)
            finally:
                with st.lock:
                    st.hanging -= 1
            self.close_connection = True
            return True
        if mode == "slow":
            time.sleep(delay_ms / 1000.0)
            return False
        if mode == "http500":
            self.send(500, "<html><body><h1>500 Internal Server Error"
                      "</h1></body></html>", "text/html")
            return True
        if mode == "401":
            self.send(401, b"", None,
                      {"WWW-Authenticate": 'Basic realm="jsonrpc"'})
            return True
        if mode == "404":
            self.send_json(404, {"result": None, "error": {
                "code": -32601, "message": "Method not found"}, "id": "ck"})
            return True
        if mode == "500":
            self.send_json(500, {"result": None, "error": {
                "code": -28, "message": "Loading block index..."},
                "id": "ck"})
            return True
        if mode == "html":
            self.send(502, "<html><body><h1>502 Bad Gateway</h1></body>"
                      "</html>", "text/html")
            return True
        if mode in ("malformed", "truncated"):
            self.send(200, '{"result":{"chain":"main","blocks":12')
            return True
        if mode == "garbage":
            self.send(200, bytes(range(256)) * 4, "application/octet-stream")
            return True
        if mode == "empty":
            self.send(200, b"")
            return True
        if mode == "array":
            self.send_json(200, [1, 2, 3])
            return True
        if mode == "close":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        if mode == "huge":
            with st.lock:
                size = int(st.s["huge_bytes"])
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            head = b'{"result":{"blocks":1,"pad":"'
            tail = b'"},"error":null,"id":"ck"}'
            self.send_header("Content-Length",
                             str(len(head) + size + len(tail)))
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                self.wfile.write(head)
                left = size
                while left > 0:
                    self.wfile.write(chunk[:min(left, len(chunk))])
                    left -= min(left, len(chunk))
                self.wfile.write(tail)
            except OSError:
                pass
            self.close_connection = True
            return True
        return False

    def peer_gone(self):
        """Whether the client closed its end (EOF is readable)."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    # -- control

    def do_GET(self):
        st = self.server.st
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/__state":
            with st.lock:
                self.send_json(200, st.snapshot())
            return
        if not self.server.explorer:
            self.send(405, b"JSONRPC server handles only POST requests",
                      "text/html")
            return
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/api/getblockcount":
            method = "getblockcount"
        elif url.path == "/api/protx" and q.get("command") == ["info"]:
            method = "protx"
        else:
            self.send(404, "Not found", "text/plain")
            return
        st.count(method)
        mode, delay, gen = st.mode_for(method)
        if self.misbehave(method, mode, delay, gen):
            return
        with st.lock:
            if method == "getblockcount":
                body = str(st.height())
                if mode == "wrongtypes":
                    body = json.dumps({"height": st.height()})
                self.send(200, body + "\n", "text/plain")
                return
            if q.get("protxhash") != [st.s["protx_hash"]]:
                self.send_json(200, {"error": "not found"})
                return
            r = protx_info(st)
        if mode == "wrongtypes":
            r = wrong_types(method, r)
        self.send_json(200, r)

    def do_POST(self):
        st = self.server.st
        body = self.read_body()
        if self.path == "/__control":
            try:
                cmd = json.loads(body)
                if not isinstance(cmd, dict):
                    raise ValueError("not an object")
                self.send_json(200, st.control(cmd))
            except (ValueError, KeyError, TypeError) as e:
                self.send_json(400, {"error": "bad control: %s" % e})
            return
        if self.server.explorer:
            self.send(404, "Not found", "text/plain")
            return
        if not self.authorized():
            with st.lock:
                st.auth_failures += 1
            self.send(401, b"", None,
                      {"WWW-Authenticate": 'Basic realm="jsonrpc"'})
            return
        if self.path != "/":
            self.send(404, b"", None)
            return
        try:
            req = json.loads(body)
        except ValueError:
            self.send_json(500, {"result": None, "error": {
                "code": -32700, "message": "Parse error"}, "id": None})
            return
        if isinstance(req, list):
            replies = [self.one(r, batch=True)[1] for r in req]
            relay(st)
            self.send_json(200, replies)
            return
        if not isinstance(req, dict):
            self.send_json(400, {"result": None, "error": {
                "code": -32600, "message": "Invalid Request object"},
                "id": None})
            return
        method = req.get("method")
        mode, delay, gen = st.mode_for(method)
        st.count(method)
        if self.misbehave(method, mode, delay, gen):
            return
        code, reply = self.one(req, batch=False,
                               wrong=(mode == "wrongtypes"), counted=True)
        relay(st)
        self.send_json(code, reply)

    def one(self, req, batch, wrong=False, counted=False):
        """Answer one request object: (HTTP status, reply object)."""
        st = self.server.st
        rid = req.get("id") if isinstance(req, dict) else None
        method = req.get("method") if isinstance(req, dict) else None
        if not counted:
            st.count(method)
        with st.lock:
            warm = st.s["warmup"] > 0
            if warm:
                st.s["warmup"] -= 1
        if warm:
            return 500, {"result": None, "error": {
                "code": -28, "message": "Loading block index..."}, "id": rid}
        try:
            result = call(st, method, req.get("params", []))
            if wrong:
                result = wrong_types(method, result)
            return 200, {"result": result, "error": None, "id": rid}
        except RpcError as e:
            code = 404 if e.code == -32601 else 500
            return code, {"result": None, "error": {
                "code": e.code, "message": e.message}, "id": rid}

    def authorized(self):
        st = self.server.st
        h = self.headers.get("Authorization") or ""
        if not h.startswith("Basic "):
            return False
        try:
            got = base64.b64decode(h[6:], validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        with st.lock:
            want = []
            if st.cookie:
                want.append(st.cookie)
            if st.user is not None and st.password is not None:
                want.append("%s:%s" % (st.user, st.password))
        return any(hmac.compare_digest(got, w) for w in want)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def client(argv):
    """control PORT JSON | state PORT"""
    what, port = argv[0], argv[1]
    base = port if "://" in port else "http://127.0.0.1:%s" % port
    if what == "control":
        req = urllib.request.Request(base + "/__control",
                                     data=argv[2].encode(), method="POST")
    else:
        req = urllib.request.Request(base + "/__state")
    with urllib.request.urlopen(req, timeout=10) as r:
        sys.stdout.write(r.read().decode())
    return 0


def main():
    if len(sys.argv) > 2 and sys.argv[1] in ("control", "state"):
        return client(sys.argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--explorer", action="store_true")
    ap.add_argument("--rpcuser")
    ap.add_argument("--rpcpassword-file")
    ap.add_argument("--cookie-file")
    ap.add_argument("--height", type=int, default=1000)
    ap.add_argument("--advance-ms", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=0)
    ap.add_argument("--set", help="initial control settings (JSON object)")
    ap.add_argument("--operator-key-file",
                    help="the BLS operator secret update_service expects")
    ap.add_argument("--wallet-passphrase-file",
                    help="an encrypted wallet with this passphrase")
    ap.add_argument("--relay", action="append",
                    help="a node to tell about revives (repeatable)")
    args = ap.parse_args()
    if not args.explorer and not args.cookie_file and not (
            args.rpcuser and args.rpcpassword_file):
        ap.error("a node needs --cookie-file, or --rpcuser and "
                 "--rpcpassword-file")
    st = State(args)
    if args.set:
        st.control(json.loads(args.set))
    srv = Server((args.bind, args.port), Handler)
    srv.st = st
    srv.explorer = args.explorer
    port = srv.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(args.port_file + ".tmp", args.port_file)
    print(port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

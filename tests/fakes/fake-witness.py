#!/usr/bin/env python3
"""A fake BitShares witness_node and cli_wallet in one process, for
chainkeeper's tests; python3 stdlib only.

The two HTTP JSON-RPC servers share one simulated chain, so a key flip made
through the wallet (update_witness) is what the node reports next.

witness_node (--port), POST / or /rpc, both request forms:
    {"method":"call","params":["database","get_witness_by_account",["init0"]]}
    {"method":"get_witness_by_account","params":["init0"]}
  get_witness_by_account, get_witnesses, get_objects (1.6.N, 2.0.0, 2.1.0),
  get_dynamic_global_properties, get_global_properties, get_chain_id.
  Witnesses init0 .. init10 exist (ids 1.6.1 .. 1.6.11), plus --witness NAME.
  A block every --block-ms (3000 like BitShares, less in tests); the
  scheduled witness produces it (last_confirmed_block_num) unless it is
  in the "missing" set, in which case its total_missed grows.

cli_wallet (--wallet-port, optional), POST / or /rpc:
  is_new, is_locked, lock, unlock [password], info, about,
  get_witness [name], update_witness [name, url, key, broadcast].
  The password is the first line of --wallet-password-file ("password"
  without one).  update_witness needs an unlocked wallet; an empty url or
  key keeps the current one.

Control (see misbehave.py for the modes; a mode applies to the server it is
sent to): GET /__control?KEY=VALUE&...
    stale=1|0          the chain stops (time and head freeze) / goes on
    bump_missed=N      total_missed += N for witness= (default: the first
                       --witness, or init0)
    missing=a,b        these witnesses miss their slots ("" for none)
    advance=N          N blocks at once
    signing_key=KEY    set witness='s key directly
    locked=1|0         lock / unlock the wallet without a password
    update_delay_blocks=N  a broadcast update_witness shows on the node
                       only N blocks (slots) later (default 0: at once)
    echo_secrets=1|0   the wallet's unlock error quotes the password it
                       was given (to test that callers scrub it)
GET /__state: chain, witnesses, wallet state and a count of update_witness
calls; unlock_calls, bad_unlocks, update_witness_log (name, url, key,
broadcast of each call) and pending_keys (changes not on chain yet).

Usage: fake-witness.py [--port N] [--wallet-port M] [--port-file F]
    [--block-ms 3000] [--witness NAME]... [--missed N]
    [--wallet-password-file F]
--port 0 / --wallet-port 0 pick free ports; the port file gets "PORT" or
"PORT WALLET_PORT".

Client side, for shell tests (PORT or a URL):
    fake-witness.py control PORT KEY=VALUE...   change it; prints its state
    fake-witness.py state PORT                  prints its state
    fake-witness.py rpc PORT METHOD '[ARGS]'
        a JSON-RPC 2.0 call; prints the reply (exit 1 on error)
"""

import argparse
import datetime
import hashlib
import json
import os
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import misbehave  # noqa: E402

CHAIN_ID = "4018d7844c78f6a6c41c6a552b898022310fc5dec06da467ee7905a8dad512c8"


def bts_time(ms):
    """BitShares time: 2019-01-28T06:08:00 (UTC, whole seconds)."""
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S")


def fake_key(seed):
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    h = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    s = ""
    while len(s) < 50:
        h, r = divmod(h, 58)
        s += alphabet[r]
    return "BTS" + s


class RpcError(Exception):
    def __init__(self, message, code=1, name="assert_exception"):
        super().__init__(message)
        self.code = code
        self.name = name


class Chain:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.block_ms = args.block_ms
        self.witnesses = {}
        names = ["init%d" % i for i in range(11)]
        for n in args.witness or []:
            if n not in names:
                names.append(n)
        for i, n in enumerate(names):
            self.witnesses[n] = {
                "id": "1.6.%d" % (i + 1),
                "witness_account": "1.2.%d" % (100 + i),
                "last_aslot": 0,
                "signing_key": fake_key(n),
                "pay_vb": "1.13.%d" % (i + 1),
                "vote_id": "1:%d" % (i + 1),
                "total_votes": "%d" % (36630737598892 - i * 1000),
                "url": "https://%s.example.org" % n,
                "total_missed": args.missed if n in (args.witness or []) or
                (not args.witness and n == "init0") else 0,
                "last_confirmed_block_num": 0,
            }
        self.default = (args.witness or ["init0"])[0]
        self.order = names
        self.missing = set()
        self.stale = False
        self.head = 1
        self.lib = 1
        now = int(time.time() * 1000)
        self.slot = now // self.block_ms
        self.time_ms = self.slot * self.block_ms
        self.current = self.order[0]
        self.recently_missed = 0
        self.password = args.password
        self.locked = True
        self.update_calls = 0
        self.wallet_calls = []
        self.update_delay = 0
        self.pending = []
        self.echo_secrets = False
        self.unlock_calls = 0
        self.bad_unlocks = 0
        self.update_log = []

    def tick(self):
        now = int(time.time() * 1000)
        slot = now // self.block_ms
        with self.lock:
            if slot - self.slot > 1000:
                self.slot = slot - 1000
            while self.slot < slot:
                self.slot += 1
                if self.stale:
                    continue
                self._slot(self.slot, self.slot * self.block_ms)

    def _slot(self, slot, ms):
        for p in self.pending:
            p[0] -= 1
        for p in [p for p in self.pending if p[0] <= 0]:
            self.pending.remove(p)
            self.witnesses[p[1]]["url"] = p[2]
            self.witnesses[p[1]]["signing_key"] = p[3]
        name = self.order[slot % len(self.order)]
        w = self.witnesses[name]
        if name in self.missing:
            w["total_missed"] += 1
            self.recently_missed += 1
            return
        self.head += 1
        self.lib = max(self.lib, self.head - 15, 1)
        self.time_ms = ms
        self.current = name
        w["last_confirmed_block_num"] = self.head
        w["last_aslot"] = slot
        self.recently_missed = max(0, self.recently_missed - 1)

    def dgp(self):
        return {
            "id": "2.1.0", "head_block_number": self.head,
            "head_block_id": "%08x" % self.head + hashlib.sha1(
                b"%d" % self.head).hexdigest()[:32],
            "time": bts_time(self.time_ms),
            "current_witness": self.witnesses[self.current]["id"],
            "next_maintenance_time": bts_time(self.time_ms + 3600 * 1000),
            "last_budget_time": bts_time(self.time_ms - 3600 * 1000),
            "witness_budget": 0, "accounts_registered_this_interval": 0,
            "recently_missed_count": self.recently_missed,
            "current_aslot": self.slot,
            "recent_slots_filled": "340282366920938463463374607431768211455",
            "dynamic_flags": 0,
            "last_irreversible_block_num": self.lib,
        }

    def gp(self):
        return {"id": "2.0.0", "parameters": {
            "block_interval": max(1, self.block_ms // 1000),
            "maintenance_interval": 3600, "maximum_witness_count": 1001},
            "next_available_vote_id": 1000,
            "active_committee_members": ["1.5.0"],
            "active_witnesses": [self.witnesses[n]["id"]
                                 for n in self.order]}

    def by_id(self, oid):
        if oid == "2.1.0":
            return self.dgp()
        if oid == "2.0.0":
            return self.gp()
        for w in self.witnesses.values():
            if w["id"] == oid:
                return dict(w)
        return None

    # JSON-RPC.

    def node_call(self, method, args):
        with self.lock:
            if method == "get_witness_by_account":
                w = self.witnesses.get(args[0] if args else "")
                return dict(w) if w else None
            if method in ("get_objects", "get_witnesses"):
                ids = args[0] if args and isinstance(args[0], list) else None
                if ids is None:
                    raise RpcError("Parse Error: expected a list of ids", 7,
                                   "parse_error_exception")
                return [self.by_id(i) for i in ids]
            if method == "get_dynamic_global_properties":
                return self.dgp()
            if method == "get_global_properties":
                return self.gp()
            if method == "get_chain_id":
                return CHAIN_ID
        raise RpcError("Assert Exception: itr != _by_name.end(): no method "
                       "with name '%s'" % method, 10)

    def wallet_call(self, method, args):
        with self.lock:
            self.wallet_calls.append(method)
            if method == "is_new":
                return False
            if method == "is_locked":
                return self.locked
            if method == "lock":
                self.locked = True
                return None
            if method == "unlock":
                self.unlock_calls += 1
                if not args or args[0] != self.password:
                    self.bad_unlocks += 1
                    raise RpcError("Assert Exception: false: Invalid "
                                   "password" + (" %r" % (args,) if
                                                 self.echo_secrets else ""),
                                   10)
                self.locked = False
                return None
            if method == "about":
                return {"client_version": "fake-witness",
                        "fc_revision": "0" * 40}
            if method == "info":
                return {"head_block_num": self.head,
                        "head_block_id": self.dgp()["head_block_id"],
                        "head_block_age": "%d seconds old" % max(
                            0, (int(time.time() * 1000) - self.time_ms) //
                            1000),
                        "chain_id": CHAIN_ID,
                        "participation": "100.00000000000000000",
                        "active_witnesses": self.gp()["active_witnesses"]}
            if method == "get_witness":
                w = self.witnesses.get(args[0] if args else "")
                if w is None:
                    raise RpcError("Assert Exception: maybe_witness: No "
                                   "witness is registered for account", 10)
                return dict(w)
            if method == "update_witness":
                if len(args) != 4:
                    raise RpcError("Assert Exception: args.size() == 4: "
                                   "update_witness takes 4 arguments", 10)
                name, url, key, broadcast = args
                if self.locked:
                    raise RpcError("Assert Exception: !is_locked(): The "
                                   "wallet must be unlocked", 10)
                w = self.witnesses.get(name)
                if w is None:
                    raise RpcError("Assert Exception: maybe_witness: No "
                                   "witness is registered for account "
                                   "'%s'" % name, 10)
                if key and (not isinstance(key, str) or
                            not key.startswith("BTS") or len(key) < 40):
                    raise RpcError("Assert Exception: invalid public key",
                                   10)
                self.update_calls += 1
                self.update_log.append({"name": name, "url": url,
                                        "key": key, "broadcast": broadcast})
                new_url = url or w["url"]
                new_key = key or w["signing_key"]
                if broadcast and self.update_delay > 0:
                    self.pending.append([self.update_delay, name, new_url,
                                         new_key])
                elif broadcast:
                    w["url"] = new_url
                    w["signing_key"] = new_key
                return {"ref_block_num": self.head & 0xffff,
                        "ref_block_prefix": 567,
                        "expiration": bts_time(self.time_ms + 30000),
                        "operations": [[21, {
                            "fee": {"amount": "1000000",
                                    "asset_id": "1.3.0"},
                            "witness": w["id"],
                            "witness_account": w["witness_account"],
                            "new_url": new_url,
                            "new_signing_key": new_key}]],
                        "extensions": [],
                        "signatures": ["1f" + "ab" * 64]}
        raise RpcError("Assert Exception: false: method '%s' not found" %
                       method, 10)

    # The app interface for misbehave.serve().

    def handle(self, method, path, body, label):
        if path.rstrip("/") not in ("", "/rpc"):
            return 404, misbehave.Raw("Not Found", "text/plain")
        try:
            req = json.loads(body or b"null")
        except ValueError:
            return 200, {"id": None, "jsonrpc": "2.0",
                         "error": {"code": -32700, "message": "Parse error"}}
        if not isinstance(req, dict) or "method" not in req:
            return 200, {"id": None, "jsonrpc": "2.0",
                         "error": {"code": -32600,
                                   "message": "Invalid Request"}}
        rid = req.get("id")
        m, params = req["method"], req.get("params") or []
        try:
            if label == "api" and m == "call":
                if (not isinstance(params, list) or len(params) != 3 or
                        params[0] not in ("database", 0)):
                    raise RpcError("Assert Exception: api_id: no such API "
                                   "%r" % (params[0] if params else None),
                                   10)
                result = self.node_call(params[1], params[2])
            elif label == "api":
                result = self.node_call(m, params)
            else:
                result = self.wallet_call(m, params)
        except (RpcError, TypeError, IndexError) as e:
            code = getattr(e, "code", 10)
            return 200, {"id": rid, "jsonrpc": "2.0", "error": {
                "code": 1, "message": str(e), "data": {
                    "code": code, "name": getattr(e, "name", "exception"),
                    "message": str(e), "stack": []}}}
        return 200, {"id": rid, "jsonrpc": "2.0", "result": result}

    def wrong_types(self, method, path, body, label):
        try:
            req = json.loads(body or b"null")
            text = json.dumps(req)
        except ValueError:
            text = ""
        if "get_dynamic_global_properties" in text:
            with self.lock:
                d = self.dgp()
            d["head_block_number"] = "many"
            d["time"] = 1548655680
            return 200, {"id": 1, "jsonrpc": "2.0", "result": d}
        with self.lock:
            w = dict(self.witnesses[self.default])
        w["total_missed"] = "lots"
        w["last_confirmed_block_num"] = [1]
        w["signing_key"] = {"key": 1}
        return 200, {"id": 1, "jsonrpc": "2.0", "result": w}

    def error(self, code, path):
        return {"id": 1, "jsonrpc": "2.0", "error": {
            "code": code, "message": "fake-witness was told to fail",
            "data": {"code": code, "name": "fake_exception",
                     "message": "fake failure on demand", "stack": []}}}

    def control(self, params, label):
        def flag(v):
            if v not in ("0", "1", "true", "false"):
                raise ValueError("expected 0 or 1, not %r" % v)
            return v in ("1", "true")
        with self.lock:
            name = params.pop("witness", self.default)
            if name not in self.witnesses:
                raise ValueError("no witness %r" % name)
            w = self.witnesses[name]
            for k, v in params.items():
                if k == "stale":
                    self.stale = flag(v)
                elif k == "bump_missed":
                    w["total_missed"] += int(v)
                elif k == "missing":
                    names = set(x for x in v.split(",") if x)
                    bad = names - set(self.witnesses)
                    if bad:
                        raise ValueError("no witness %s" % ", ".join(bad))
                    self.missing = names
                elif k == "advance":
                    now = int(time.time() * 1000)
                    for _ in range(max(0, int(v))):
                        self.slot += 1
                        self._slot(self.slot, now)
                elif k == "signing_key":
                    w["signing_key"] = v
                elif k == "locked":
                    self.locked = flag(v)
                elif k == "update_delay_blocks":
                    self.update_delay = max(0, int(v))
                elif k == "echo_secrets":
                    self.echo_secrets = flag(v)
                else:
                    raise ValueError("unknown control key %r" % k)

    def state(self):
        with self.lock:
            return {"head_block_number": self.head, "lib": self.lib,
                    "time": bts_time(self.time_ms), "stale": self.stale,
                    "missing": sorted(self.missing),
                    "witnesses": {n: dict(w) for n, w in
                                  self.witnesses.items()},
                    "locked": self.locked,
                    "update_witness_calls": self.update_calls,
                    "unlock_calls": self.unlock_calls,
                    "bad_unlocks": self.bad_unlocks,
                    "update_witness_log": list(self.update_log[-50:]),
                    "pending_keys": [p[1:] for p in self.pending],
                    "wallet_calls": list(self.wallet_calls[-50:]),
                    "pid": os.getpid()}


def main():
    rc = misbehave.client_main(sys.argv)
    if rc is not None:
        sys.exit(rc)
    ap = argparse.ArgumentParser(description="fake witness_node + cli_wallet")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8090)
    ap.add_argument("--wallet-port", type=int)
    ap.add_argument("--port-file")
    ap.add_argument("--block-ms", type=int, default=3000)
    ap.add_argument("--witness", action="append",
                    help="a witness account (repeatable)")
    ap.add_argument("--missed", type=int, default=221,
                    help="initial total_missed of the --witness ones")
    ap.add_argument("--wallet-password-file")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if args.block_ms < 10:
        ap.error("--block-ms must be >= 10")
    args.password = "password"
    if args.wallet_password_file:
        with open(args.wallet_password_file) as f:
            args.password = f.readline().rstrip("\r\n")

    signal.signal(signal.SIGTERM, lambda s, f: os._exit(0))
    chain = Chain(args)
    servers = [misbehave.serve(chain, args.host, args.port, "api",
                               args.verbose)]
    if args.wallet_port is not None:
        servers.append(misbehave.serve(chain, args.host, args.wallet_port,
                                       "wallet", args.verbose))
    misbehave.announce("fake-witness", servers, args.port_file)
    while True:
        chain.tick()
        time.sleep(min(args.block_ms, 100) / 1000.0)


if __name__ == "__main__":
    main()

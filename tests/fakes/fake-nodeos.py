#!/usr/bin/env python3
"""A fake nodeos (EOSIO / Leap) for chainkeeper's tests; python3 stdlib only.

It simulates a DPoS chain: 21 producers (blkproducera .. blkproduceru) take
turns of 12 blocks, one block every --block-ms (500 like EOS, or faster for
tests).  This node's own producer (--producer) produces its own slots
unless production is paused (--pause-on-startup / -x, or POST
/v1/producer/pause); a paused node's slots are missed, as on a real chain
with a single producer key.  Every block is logged on stdout in nodeos's
format ("Produced block ..." for our own, "Received block ..." for the
others), so log-match probes can read the fake's captured output.

HTTP API (nodeos accepts GET or POST):
    /v1/chain/get_info           head, LIB, head producer and time
    /v1/chain/get_producers      rows by votes, {"json":true,"limit":21}
    /v1/net/connections          --peers entries
    /v1/producer/pause|resume    HTTP 201 {"result":"ok"}
    /v1/producer/paused          HTTP 201, bare true or false
anything else: 404 with nodeos's error body.

Control (see misbehave.py for the modes): GET /__control?KEY=VALUE&...
    freeze_head=1|0   stop / restart block production (head and LIB stop)
    freeze_lib=1|0    LIB stops while head goes on (a finality stall)
    advance=N         add N blocks at once (also while frozen)
    paused=1|0        pause / resume our producer (as the API does)
    producers=N       shrink / grow the schedule (1..21)
    peers=N           how many peers /v1/net/connections lists
    lib_lag=N         how far LIB trails head
GET /__state: head, lib, paused, frozen flags, and how many pause/resume
calls were made.

Usage: fake-nodeos.py [--port N | --http-server-address HOST:PORT]
    [--port-file F] [--block-ms 500] [--producer NAME] [--producers 21]
    [--lib-lag 24] [--peers 3] [-x|--pause-on-startup] [--quiet-log]
--port 0 picks a free port; the port is printed on stderr and written to
--port-file.

Client side, for shell tests (PORT or a URL):
    fake-nodeos.py control PORT KEY=VALUE...   change it; prints its state
    fake-nodeos.py state PORT                  prints its state
"""

import argparse
import datetime
import hashlib
import os
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import misbehave  # noqa: E402

NAMES = ["blkproducer" + chr(ord("a") + i) for i in range(21)]
CHAIN_ID = hashlib.sha256(b"chainkeeper fake nodeos").hexdigest()


def iso(ms):
    """EOS time: 2022-10-14T06:06:53.500 (UTC, no zone)."""
    t = datetime.datetime.fromtimestamp(ms / 1000.0, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d" % (ms % 1000)


def block_id(num):
    h = hashlib.sha256(b"block %d" % num).hexdigest()
    return "%08x" % num + h[8:]


class Chain:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.block_ms = args.block_ms
        self.own = args.producer
        self.nproducers = args.producers
        self.lib_lag = args.lib_lag
        self.peers = args.peers
        self.paused = args.pause_on_startup
        self.freeze_head = False
        self.freeze_lib = False
        self.quiet_log = args.quiet_log
        self.head = 1
        self.lib = 1
        now = int(time.time() * 1000)
        self.head_time = now - now % self.block_ms
        self.head_producer = "eosio"
        self.unpaid = {n: 0 for n in NAMES}
        self.slot = now // self.block_ms
        self.missed_own = 0
        self.produced_own = 0
        self.pause_calls = 0
        self.resume_calls = 0
        self.log_lock = threading.Lock()

    def producer_of(self, slot):
        return NAMES[(slot // 12) % self.nproducers]

    def tick(self):
        """Produce the blocks of the slots that have passed."""
        now = int(time.time() * 1000)
        slot = now // self.block_ms
        lines = []
        with self.lock:
            # After a long freeze, do not replay hours of slots.
            if slot - self.slot > 1000:
                self.slot = slot - 1000
            while self.slot < slot:
                self.slot += 1
                if self.freeze_head:
                    continue
                prod = self.producer_of(self.slot)
                if prod == self.own and self.paused:
                    self.missed_own += 1
                    continue
                lines.append(self._produce(prod, self.slot * self.block_ms))
        self._log(lines)

    def _produce(self, prod, ms):
        self.head += 1
        self.head_time = ms
        self.head_producer = prod
        self.unpaid[prod] = self.unpaid.get(prod, 0) + 1
        if not self.freeze_lib:
            self.lib = max(self.lib, self.head - self.lib_lag, 1)
        now = int(time.time() * 1000)
        bid = block_id(self.head)[:16]
        if prod == self.own:
            self.produced_own += 1
            return ("info  %s thread-0  producer_plugin.cpp:1419  "
                    "produce_block ] Produced block %s... #%d @ %s signed "
                    "by %s [trxs: 0, lib: %d, confirmed: 0]" %
                    (iso(now), bid, self.head, iso(ms), prod, self.lib))
        return ("info  %s thread-0  producer_plugin.cpp:337   "
                "on_incoming_block ] Received block %s... #%d @ %s signed by "
                "%s [trxs: 0, lib: %d, conf: 0, latency: %d ms]" %
                (iso(now), bid, self.head, iso(ms), prod, self.lib,
                 max(0, now - ms)))

    def _log(self, lines):
        if not lines or self.quiet_log:
            return
        with self.log_lock:
            try:
                sys.stdout.write("\n".join(lines) + "\n")
                sys.stdout.flush()
            except (BrokenPipeError, OSError):
                pass

    def advance(self, n):
        lines = []
        with self.lock:
            now = int(time.time() * 1000)
            for _ in range(n):
                lines.append(self._produce(self.producer_of(self.slot), now))
        self._log(lines)

    # The app interface for misbehave.serve().

    def get_info(self):
        with self.lock:
            return {
                "server_version": "f36e59e5",
                "chain_id": CHAIN_ID,
                "head_block_num": self.head,
                "last_irreversible_block_num": self.lib,
                "last_irreversible_block_id": block_id(self.lib),
                "head_block_id": block_id(self.head),
                "head_block_time": iso(self.head_time),
                "head_block_producer": self.head_producer,
                "virtual_block_cpu_limit": 286788,
                "virtual_block_net_limit": 1504517,
                "block_cpu_limit": 199900,
                "block_net_limit": 1048576,
                "server_version_string": "v3.1.0-fake",
                "fork_db_head_block_num": self.head,
                "fork_db_head_block_id": block_id(self.head),
                "server_full_version_string": "v3.1.0-fake-f36e59e5",
                "total_cpu_weight": "1000000000",
                "total_net_weight": "1000000000",
                "earliest_available_block_num": 1,
                "last_irreversible_block_time": iso(self.head_time - 500 *
                                                    (self.head - self.lib)),
            }

    def handle(self, method, path, body, label):
        path = path.rstrip("/")
        if path == "/v1/chain/get_info":
            return 200, self.get_info()
        if path == "/v1/chain/get_producers":
            with self.lock:
                rows = [{"owner": n,
                         "total_votes": "%d.00000000000000000" %
                         (10 ** 15 - i * 10 ** 12),
                         "producer_key": "EOS" + hashlib.sha256(
                             n.encode()).hexdigest()[:50],
                         "is_active": 1, "url": "https://%s.example" % n,
                         "unpaid_blocks": self.unpaid.get(n, 0),
                         "last_claim_time": "1970-01-01T00:00:00.000",
                         "location": 0}
                        for i, n in enumerate(NAMES)]
            return 200, {"rows": rows, "total_producer_vote_weight":
                         "%d.00000000000000000" % (21 * 10 ** 15),
                         "more": ""}
        if path == "/v1/net/connections":
            with self.lock:
                n, head, lib = self.peers, self.head, self.lib
            return 200, [{
                "peer": "peer%d.example:9876" % i, "connecting": False,
                "syncing": False, "is_socket_open": True,
                "last_handshake": {
                    "network_version": 1210, "chain_id": CHAIN_ID,
                    "node_id": hashlib.sha256(b"%d" % i).hexdigest(),
                    "key": "EOS1111111111111111111111111111111114T1Anm",
                    "time": "%d" % (time.time_ns()), "token": "0" * 64,
                    "sig": "SIG_K1_111111111111111111111111111111111111111111"
                           "1111111111111111111116uk5ne",
                    "p2p_address": "peer%d.example:9876 - %s" % (
                        i, hashlib.sha256(b"%d" % i).hexdigest()[:7]),
                    "last_irreversible_block_num": lib,
                    "last_irreversible_block_id": block_id(lib),
                    "head_num": head, "head_id": block_id(head),
                    "os": "linux", "agent": "EOS Test Agent",
                    "generation": 1}} for i in range(n)]
        if path == "/v1/producer/pause":
            with self.lock:
                self.paused = True
                self.pause_calls += 1
            return 201, {"result": "ok"}
        if path == "/v1/producer/resume":
            with self.lock:
                self.paused = False
                self.resume_calls += 1
            return 201, {"result": "ok"}
        if path == "/v1/producer/paused":
            with self.lock:
                return 201, misbehave.Raw("true" if self.paused else
                                          "false", "application/json")
        return 404, self.error(404, path)

    def wrong_types(self, method, path, body, label):
        path = path.rstrip("/")
        if path == "/v1/chain/get_info":
            info = self.get_info()
            info["head_block_num"] = str(info["head_block_num"])
            info["last_irreversible_block_num"] = 1.5
            info["head_block_producer"] = 12345
            info["head_block_time"] = None
            return 200, info
        if path == "/v1/producer/paused":
            return 201, misbehave.Raw('"yes"', "application/json")
        if path == "/v1/chain/get_producers":
            return 200, {"rows": {"owner": 1}, "more": 0}
        return 200, {"unexpected": [1, 2, 3]}

    def error(self, code, path):
        if code == 404:
            return {"code": 404, "message": "Not Found",
                    "error": {"code": 0, "name": "exception",
                              "what": "unspecified",
                              "details": [{"message": "Unknown Endpoint",
                                           "file": "http_plugin.cpp",
                                           "line_number": 318,
                                           "method": "handle_http_request"}]}}
        return {"code": 500, "message": "Internal Service Error",
                "error": {"code": 3010004, "name": "fake_exception",
                          "what": "Fake failure on demand",
                          "details": [{"message": "fake-nodeos was told to "
                                       "fail", "file": "fake.cpp",
                                       "line_number": 1,
                                       "method": "misbehave"}]}}

    def control(self, params, label):
        def flag(v):
            if v not in ("0", "1", "true", "false"):
                raise ValueError("expected 0 or 1, not %r" % v)
            return v in ("1", "true")
        for k, v in params.items():
            with self.lock:
                if k == "freeze_head":
                    self.freeze_head = flag(v)
                elif k == "freeze_lib":
                    self.freeze_lib = flag(v)
                    if not self.freeze_lib:
                        self.lib = max(self.lib, self.head - self.lib_lag, 1)
                elif k == "paused":
                    self.paused = flag(v)
                elif k == "producers":
                    n = int(v)
                    if not 1 <= n <= len(NAMES):
                        raise ValueError("producers must be 1..21")
                    self.nproducers = n
                elif k == "peers":
                    self.peers = max(0, int(v))
                elif k == "lib_lag":
                    self.lib_lag = max(0, int(v))
                elif k == "advance":
                    pass
                else:
                    raise ValueError("unknown control key %r" % k)
            if k == "advance":
                self.advance(max(0, int(v)))

    def state(self):
        with self.lock:
            return {"head": self.head, "lib": self.lib,
                    "head_producer": self.head_producer,
                    "head_block_time": iso(self.head_time),
                    "paused": self.paused, "freeze_head": self.freeze_head,
                    "freeze_lib": self.freeze_lib,
                    "producers": self.nproducers, "peers": self.peers,
                    "own_producer": self.own,
                    "produced_own": self.produced_own,
                    "missed_own": self.missed_own,
                    "pause_calls": self.pause_calls,
                    "resume_calls": self.resume_calls, "pid": os.getpid()}


def main():
    rc = misbehave.client_main(sys.argv)
    if rc is not None:
        sys.exit(rc)
    ap = argparse.ArgumentParser(description="fake nodeos for tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8888)
    ap.add_argument("--http-server-address", help="HOST:PORT, as nodeos")
    ap.add_argument("--port-file")
    ap.add_argument("--block-ms", type=int, default=500)
    ap.add_argument("--producer", default=NAMES[0],
                    help="this node's producer name")
    ap.add_argument("--producers", type=int, default=21)
    ap.add_argument("--lib-lag", type=int, default=24)
    ap.add_argument("--peers", type=int, default=3)
    ap.add_argument("-x", "--pause-on-startup", action="store_true")
    ap.add_argument("--quiet-log", action="store_true",
                    help="no block log lines on stdout")
    ap.add_argument("--verbose", action="store_true",
                    help="log HTTP requests on stderr")
    args = ap.parse_args()
    if args.http_server_address:
        host, _, port = args.http_server_address.rpartition(":")
        args.host, args.port = host or "127.0.0.1", int(port)
    if args.block_ms < 10 or not 1 <= args.producers <= 21:
        ap.error("--block-ms must be >= 10, --producers 1..21")

    signal.signal(signal.SIGTERM, lambda s, f: os._exit(0))
    chain = Chain(args)
    srv = misbehave.serve(chain, args.host, args.port, "api", args.verbose)
    misbehave.announce("fake-nodeos", [srv], args.port_file)
    sys.stderr.write("fake-nodeos: producer %s%s, a block every %d ms\n" % (
        args.producer, " (paused)" if args.pause_on_startup else "",
        args.block_ms))
    sys.stderr.flush()
    while True:
        chain.tick()
        time.sleep(min(args.block_ms, 100) / 1000.0)


if __name__ == "__main__":
    main()

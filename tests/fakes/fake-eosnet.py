#!/usr/bin/env python3
"""A fake EOS network with several hosts of one producer, for the failover
tests; python3 stdlib only.

"net" mode runs the chain on a compressed clock: slot N is the time
N * BLOCK_MS (wall clock), and PRODUCERS producers take turns of TURN
slots (21 and 12 by default, as on EOS: a round is 21 * 12 slots).  The
other producers always produce.  The producer under test (--producer) has
several hosts; its slot is signed by every host that is resumed and alive
at that moment: none, the slot is missed; two or more, a double
production, which the net records (slot and hosts).

Fork choice is nodeos's: every participant (each host, and "the rest of
the network", on which the other producers build) keeps its own head and
switches only to a strictly better one (a higher block number; on a tie
the block it has stays), and a host that signs a block makes it its head
at once.  So two hosts signing one slot each keep their own block, each
receives the other's (and logs "Received block ... signed by PRODUCER"),
and the fork is settled by the next producer, which builds on the block
the rest of the network received first (random); the losing host then
switches to the longer chain.

"node" mode is one host's nodeos as chainkeeperd sees it: it answers the
nodeos HTTP API (get_info, get_block, producer/pause|resume|paused,
net/connections) from its own view of the net, and prints nodeos's log
lines on stderr: "Produced block ..." for the blocks this host signed,
"Received block ..." for every block it received, with nodeos's formats
(id characters 8..24, or 0..16 as EOSIO 1.x with --log-id-offset 0).
It starts paused with -x (--pause-on-startup).  A
node that does not poll the net (killed, or stopped with SIGSTOP) neither
produces nor receives; one that wakes up receives what it missed, and
produces again if it was resumed.

    fake-eosnet.py net --port-file F --producer eosstorebest
        [--block-ms 30] [--turn 12] [--producers 21] [--seed N]
    fake-eosnet.py node --net http://127.0.0.1:P --host NAME
        --port-file F [-x] [--peers 3]

Net control: GET /__control?partition=HOST&on=1|0 (the host receives
nothing, and its blocks reach nobody, until healed); GET /__state: head,
round_ms, now_ms, next_turn_ms (start of
the producer's next turn), in_turn, double (slots signed twice),
doubles ([slot, ms, hosts]),
missed, produced_by, resumed, slots ([slot, ms, hosts] of every slot of
the producer that was signed).
"""

import argparse
import datetime
import hashlib
import json
import os
import random
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def iso(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000.0, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d" % (ms % 1000)


def now_ms():
    return int(time.time() * 1000)


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


class Block:
    def __init__(self, num, prev, producer, slot, ms, host):
        self.num = num
        self.prev = prev
        self.producer = producer
        self.slot = slot
        self.ms = ms
        self.host = host
        self.id = "%08x" % num + hashlib.sha256(
            ("%s %s %d %s" % (prev, producer, slot, host)).encode()
        ).hexdigest()[:56]

    def public(self, kind=None):
        d = {"id": self.id, "num": self.num, "producer": self.producer,
             "ms": self.ms, "previous": self.prev}
        if kind is not None:
            d["kind"] = kind
        return d


class Host:
    def __init__(self, head):
        self.head = head
        self.inbox = []         # blocks received, not yet applied
        self.held = []          # blocks signed while partitioned
        self.events = []        # (kind, block) for the node's log
        self.resumed = False
        self.polled = 0
        self.partitioned = False


class Net:
    def __init__(self, a):
        self.lock = threading.Lock()
        self.a = a
        self.rnd = random.Random(a.seed)
        others = ["otherprod%s" % chr(ord("a") + i)
                  for i in range(a.producers - 1)]
        # The producer under test takes the fourth turn of the round.
        pos = min(3, len(others))
        self.names = others[:pos] + [a.producer] + others[pos:]
        g = Block(1, "0" * 64, "eosio", 0, now_ms(), None)
        self.blocks = {g.id: g}
        self.net_head = g
        self.hosts = {}
        self.double = 0
        self.doubles = []
        self.missed = 0
        self.produced_by = {}
        self.slots = []
        self.slot = now_ms() // a.block_ms

    def host(self, name):
        h = self.hosts.get(name)
        if h is None:
            h = self.hosts[name] = Host(self.net_head)
        return h

    def live(self, h, now):
        return now - h.polled < max(5 * self.a.block_ms, 300)

    @staticmethod
    def better(b, head):
        return b.num > head.num

    def apply(self, h):
        """The host takes in what it received, in order."""
        if h.partitioned:
            return
        for b in h.inbox:
            h.events.append(("Received", b))
            if self.better(b, h.head):
                h.head = b
        h.inbox = []

    def deliver(self, blocks):
        """Blocks reach the rest of the network and every other host,
        each in its own random order."""
        order = list(blocks)
        self.rnd.shuffle(order)
        for b in order:
            if self.better(b, self.net_head):
                self.net_head = b
        for name, h in self.hosts.items():
            rest = [b for b in blocks if b.host != name]
            self.rnd.shuffle(rest)
            h.inbox.extend(rest)

    def produce(self, s):
        now = now_ms()
        ms = s * self.a.block_ms
        prod = self.names[(s // self.a.turn) % len(self.names)]
        if prod != self.a.producer:
            b = Block(self.net_head.num + 1, self.net_head.id, prod, s, ms,
                      None)
            self.blocks[b.id] = b
            self.net_head = b
            self.deliver([b])
            return
        signers = sorted(n for n, h in self.hosts.items()
                         if h.resumed and self.live(h, now))
        if not signers:
            self.missed += 1
            return
        made = []
        for n in signers:
            h = self.hosts[n]
            self.apply(h)
            b = Block(h.head.num + 1, h.head.id, prod, s, ms, n)
            self.blocks[b.id] = b
            h.head = b
            h.events.append(("Produced", b))
            self.produced_by[n] = self.produced_by.get(n, 0) + 1
            if h.partitioned:
                h.held.append(b)
            else:
                made.append(b)
        self.slots.append([s, ms, signers])
        if len(signers) > 1:
            self.double += 1
            if len(self.doubles) < 50:
                self.doubles.append([s, ms, signers])
        if made:
            self.deliver(made)

    def run(self):
        while True:
            time.sleep(self.a.block_ms / 4000.0)
            with self.lock:
                due = now_ms() // self.a.block_ms
                while self.slot < due:
                    self.slot += 1
                    self.produce(self.slot)

    def view(self, name, after):
        with self.lock:
            h = self.host(name)
            h.polled = now_ms()
            self.apply(h)
            ev = [b.public(k) for k, b in h.events[after:]]
            return {"events": ev, "next": len(h.events),
                    "head": h.head.public(), "resumed": h.resumed,
                    "partitioned": h.partitioned}

    def block(self, name, num):
        """Block NUM on the chain of the host's head."""
        with self.lock:
            b = self.host(name).head
            while b is not None and b.num > num:
                b = self.blocks.get(b.prev)
            return b.public() if b is not None and b.num == num else None

    def next_turn(self):
        """Start (ms) of the producer's next turn, and whether it is
        producing now."""
        a = self.a
        s = now_ms() // a.block_ms
        rnd = a.turn * len(self.names)
        first = self.names.index(a.producer) * a.turn
        k = (s - first) // rnd
        start = k * rnd + first
        inturn = start <= s < start + a.turn
        if start <= s:
            start += rnd
        return start * a.block_ms, inturn

    def state(self):
        with self.lock:
            nt, inturn = self.next_turn()
            return {"head": self.net_head.num, "now_ms": now_ms(),
                    "next_turn_ms": nt, "in_turn": inturn,
                    "round_ms": self.a.block_ms * self.a.turn *
                    len(self.names),
                    "block_ms": self.a.block_ms,
                    "double": self.double, "doubles": self.doubles,
                    "missed": self.missed, "produced_by": self.produced_by,
                    "resumed": sorted(n for n, h in self.hosts.items()
                                      if h.resumed),
                    "slots": self.slots}


class Handler(BaseHTTPRequestHandler):
    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass    # the client went away (killed, or it timed out)


class NetHandler(Handler):
    net = None

    def log_message(self, *args):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        net = self.net
        if u.path == "/view":
            self.reply(200, net.view(q["host"], int(q.get("after", "0"))))
        elif u.path == "/block":
            b = net.block(q["host"], int(q["num"]))
            self.reply(200 if b is not None else 404, b)
        elif u.path == "/producer":
            with net.lock:
                h = net.host(q["host"])
                h.polled = now_ms()
                h.resumed = q["op"] == "resume"
            self.reply(200, {"ok": True})
        elif u.path == "/__control":
            with net.lock:
                h = net.host(q["partition"])
                h.partitioned = q.get("on", "1") == "1"
                if not h.partitioned and h.held:
                    held, h.held = h.held, []
                    net.deliver(held)
            self.reply(200, net.state())
        elif u.path == "/__state":
            self.reply(200, net.state())
        else:
            self.reply(404, {"error": "no such path"})


def run_net(a):
    net = Net(a)
    NetHandler.net = net
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), NetHandler)
    write_port(a.port_file, srv.server_address[1])
    threading.Thread(target=net.run, daemon=True).start()
    srv.serve_forever()


class Node:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.head = None
        self.resumed = False
        self.partitioned = False
        self.next = 0

    def call(self, path):
        with urllib.request.urlopen(self.a.net + path, timeout=2) as r:
            return json.loads(r.read())

    def logid(self, e):
        o = self.a.log_id_offset
        return e["id"][o:o + 16]

    def log(self, e, lib):
        ms = e["ms"]
        if e["kind"] == "Produced":
            line = ("info  %s thread-0  producer_plugin.cpp:2452 "
                    "produce_block        ] Produced block %s... #%d @ %s "
                    "signed by %s [trxs: 0, lib: %d, confirmed: 0, net: 0, "
                    "cpu: 100, elapsed: 50, time: 100, latency: 1 ms]" %
                    (iso(now_ms()), self.logid(e), e["num"], iso(ms),
                     e["producer"], lib))
        else:
            line = ("info  %s net-0     producer_plugin.cpp:561  "
                    "on_incoming_block    ] Received block %s... #%d @ %s "
                    "signed by %s [trxs: 0, lib: %d, confirmed: 0, net: 0, "
                    "cpu: 100, elapsed: 50, time: 100, latency: %d ms]" %
                    (iso(now_ms()), self.logid(e), e["num"], iso(ms),
                     e["producer"], lib, max(0, now_ms() - ms)))
        print(line, file=sys.stderr, flush=True)

    def poll(self):
        while True:
            try:
                v = self.call("/view?host=%s&after=%d" %
                              (self.a.host, self.next))
            except OSError:
                time.sleep(0.05)
                continue
            with self.lock:
                self.resumed = v["resumed"]
                self.partitioned = v["partitioned"]
                self.head = v["head"]
                self.next = v["next"]
                lib = max(1, self.head["num"] - 12)
            for e in v["events"]:
                if now_ms() - e["ms"] < 300000:
                    self.log(e, lib)
            time.sleep(self.a.poll_ms / 1000.0)

    def info(self):
        with self.lock:
            h = self.head
            if h is None:
                return None
            lib = max(1, h["num"] - 12)
            return {"server_version": "fake", "head_block_num": h["num"],
                    "last_irreversible_block_num": lib,
                    "head_block_id": h["id"],
                    "head_block_producer": h["producer"],
                    "head_block_time": iso(h["ms"]),
                    "fork_db_head_block_num": h["num"],
                    "fork_db_head_block_id": h["id"]}


class NodeHandler(Handler):
    node = None

    def log_message(self, *args):
        pass

    def send(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.handle_api(b"")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        self.handle_api(self.rfile.read(n) if n else b"")

    def handle_api(self, body):
        node = self.node
        p = urlparse(self.path).path
        if p == "/v1/chain/get_info":
            info = node.info()
            if info is None:
                self.send(503, b'{"code":503,"message":"starting"}')
            else:
                self.send(200, json.dumps(info).encode())
        elif p == "/v1/chain/get_block":
            try:
                num = int(json.loads(body or b"{}")["block_num_or_id"])
                with urllib.request.urlopen(
                        "%s/block?host=%s&num=%d" % (node.a.net, node.a.host,
                                                     num), timeout=2) as r:
                    b = json.loads(r.read())
                self.send(200, json.dumps(
                    {"id": b["id"], "block_num": b["num"],
                     "producer": b["producer"], "timestamp": iso(b["ms"]),
                     "previous": b["previous"]}).encode())
            except (OSError, ValueError, KeyError, TypeError):
                self.send(400, b'{"code":400,"message":"unknown block"}')
        elif p in ("/v1/producer/pause", "/v1/producer/resume"):
            op = p.rsplit("/", 1)[1]
            node.call("/producer?host=%s&op=%s" % (node.a.host, op))
            with node.lock:
                node.resumed = op == "resume"
            self.send(201, b'{"result":"ok"}')
        elif p == "/v1/producer/paused":
            with node.lock:
                self.send(201, b"false" if node.resumed else b"true")
        elif p == "/v1/net/connections":
            with node.lock:
                n = 0 if node.partitioned else node.a.peers
            self.send(200, json.dumps(
                [{"peer": "127.0.0.1:%d" % (9001 + i), "connecting": False,
                  "syncing": False, "is_socket_open": True}
                 for i in range(n)]).encode())
        else:
            self.send(404, b'{"code":404,"message":"Not Found"}')


def run_node(a):
    node = Node(a)
    NodeHandler.node = node
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), NodeHandler)
    # Paused (or not) before anything else, as nodeos -x is.
    node.call("/producer?host=%s&op=%s" % (
        a.host, "pause" if a.pause_on_startup else "resume"))
    node.resumed = not a.pause_on_startup
    # Blocks received before this run are not logged again.
    v = node.call("/view?host=%s&after=0" % a.host)
    node.next = v["next"]
    threading.Thread(target=node.poll, daemon=True).start()
    write_port(a.port_file, srv.server_address[1])
    srv.serve_forever()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    n = sub.add_parser("net")
    n.add_argument("--port", type=int, default=0)
    n.add_argument("--port-file", required=True)
    n.add_argument("--producer", required=True)
    n.add_argument("--block-ms", type=int, default=30)
    n.add_argument("--turn", type=int, default=12)
    n.add_argument("--producers", type=int, default=21)
    n.add_argument("--seed", type=int, default=None)
    d = sub.add_parser("node")
    d.add_argument("--net", required=True)
    d.add_argument("--host", required=True)
    d.add_argument("--port", type=int, default=0)
    d.add_argument("--port-file", required=True)
    d.add_argument("--peers", type=int, default=3)
    d.add_argument("--poll-ms", type=int, default=20)
    d.add_argument("--log-id-offset", type=int, choices=(0, 8), default=8,
                   help="which 16 hex digits of a block id the log shows: "
                   "8 (Leap, EOSIO 2) or 0 (EOSIO 1.x)")
    d.add_argument("-x", "--pause-on-startup", action="store_true")
    a = ap.parse_args()
    if a.mode == "net":
        run_net(a)
    else:
        run_node(a)


if __name__ == "__main__":
    main()

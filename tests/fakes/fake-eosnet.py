#!/usr/bin/env python3
"""A fake EOS network with several hosts of one producer, for the failover
tests; python3 stdlib only.

"net" mode runs the chain: PRODUCERS producers take turns of TURN blocks,
one block every BLOCK_MS.  The producer under test (--producer) has
several hosts; its slot is produced by the hosts that are resumed at that
moment (none: the block is missed; two or more: a double production, which
the net counts and records).  Other producers always produce.

"node" mode is one host's nodeos as chainkeeperd sees it: it answers the
nodeos HTTP API (get_info, producer/pause|resume|paused, net/connections)
from the net, and prints nodeos's log lines: "Produced block ..." for the
blocks THIS host produced, "Received block ..." for the others.  It starts
paused with -x (--pause-on-startup), as every host must.  When the node
process dies, the net stops counting it as resumed.

    fake-eosnet.py net --port-file F --producer eosstorebest
        [--block-ms 100] [--turn 2] [--producers 3]
    fake-eosnet.py node --net http://127.0.0.1:P --host NAME
        --port-file F [-x] [--peers 3]

Net control: GET /__control?partition=HOST&on=1 (the host sees a frozen
chain and no peers), GET /__state (head, produced_by, double, missed).
"""

import argparse
import datetime
import hashlib
import json
import os
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def iso(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000.0, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d" % (ms % 1000)


def bid(num, host=""):
    """A block id: its number, then a hash; two hosts producing the same
    slot make two different blocks of the same number (a fork)."""
    return "%08x" % num + hashlib.sha256(
        ("b%d %s" % (num, host)).encode()).hexdigest()[8:]


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


class Net:
    def __init__(self, a):
        self.lock = threading.Lock()
        self.a = a
        self.names = [a.producer] + ["otherprod%s" % chr(ord("a") + i)
                                     for i in range(a.producers - 1)]
        self.blocks = []        # (num, producer, host or None, ms)
        self.resumed = {}       # host -> last heartbeat ms (resumed hosts)
        self.alive = {}         # host -> last heartbeat ms
        self.partitioned = set()
        self.double = 0
        self.missed = 0
        self.produced_by = {}
        self.slot = 0

    def live(self, host, now):
        return now - self.alive.get(host, 0) < 3 * self.a.block_ms + 500

    def tick(self):
        now = int(time.time() * 1000)
        with self.lock:
            prod = self.names[(self.slot // self.a.turn) % len(self.names)]
            self.slot += 1
            host = None
            if prod == self.a.producer:
                hosts = sorted(h for h in self.resumed
                               if self.live(h, now))
                if not hosts:
                    self.missed += 1
                    return
                if len(hosts) > 1:
                    self.double += 1
                # Every resumed host produces a block; one wins the fork.
                host = ",".join([hosts[self.double % len(hosts)]] +
                                [h for h in hosts
                                 if h != hosts[self.double % len(hosts)]])
                for h in hosts:
                    self.produced_by[h] = self.produced_by.get(h, 0) + 1
            num = len(self.blocks) + 1
            self.blocks.append((num, prod, host, now))

    def run(self):
        while True:
            time.sleep(self.a.block_ms / 1000.0)
            self.tick()

    def view(self, host):
        """get_info and the blocks as HOST sees them."""
        with self.lock:
            now = int(time.time() * 1000)
            self.alive[host] = now
            if host in self.resumed:
                self.resumed[host] = now
            blocks = list(self.blocks)
            if host in self.partitioned:
                blocks = blocks[:self.cut.get(host, len(blocks))]
            return blocks, host in self.resumed, host in self.partitioned

    def state(self):
        with self.lock:
            return {"head": len(self.blocks), "double": self.double,
                    "missed": self.missed, "produced_by": self.produced_by,
                    "resumed": sorted(self.resumed)}


class NetHandler(BaseHTTPRequestHandler):
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
            blocks, resumed, part = net.view(q["host"])
            after = int(q.get("after", "0"))
            self.reply(200, {"blocks": [b for b in blocks if b[0] > after],
                             "head": len(blocks), "resumed": resumed,
                             "partitioned": part})
        elif u.path == "/producer":
            with net.lock:
                now = int(time.time() * 1000)
                net.alive[q["host"]] = now
                if q["op"] == "resume":
                    net.resumed[q["host"]] = now
                elif q["op"] == "pause":
                    net.resumed.pop(q["host"], None)
            self.reply(200, {"ok": True})
        elif u.path == "/__control":
            with net.lock:
                h = q["partition"]
                if q.get("on", "1") == "1":
                    net.partitioned.add(h)
                    net.cut[h] = len(net.blocks)
                else:
                    net.partitioned.discard(h)
            self.reply(200, net.state())
        elif u.path == "/__state":
            self.reply(200, net.state())
        else:
            self.reply(404, {"error": "no such path"})


def run_net(a):
    net = Net(a)
    net.cut = {}
    NetHandler.net = net
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), NetHandler)
    write_port(a.port_file, srv.server_address[1])
    threading.Thread(target=net.run, daemon=True).start()
    srv.serve_forever()


class Node:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.blocks = []
        self.resumed = False
        self.partitioned = False
        self.logged = 0

    def call(self, path):
        with urllib.request.urlopen(self.a.net + path, timeout=2) as r:
            return json.loads(r.read())

    def poll(self):
        while True:
            try:
                v = self.call("/view?host=%s&after=%d" %
                              (self.a.host, self.logged))
            except OSError:
                time.sleep(0.05)
                continue
            with self.lock:
                self.resumed = v["resumed"]
                self.partitioned = v["partitioned"]
                for b in v["blocks"]:
                    self.blocks.append(b)
                    num, prod, host, ms = b
                    hosts = host.split(",") if host is not None else []
                    mine = self.a.host in hosts
                    if mine:
                        print("info  %s thread-0  producer_plugin.cpp:1419 "
                              " produce_block ] Produced block %s... #%d @ "
                              "%s signed by %s [trxs: 0, lib: %d, "
                              "confirmed: 0]" % (iso(ms),
                                                 bid(num, self.a.host)[:16],
                                                 num,
                                                 iso(ms), prod,
                                                 max(1, num - 2)),
                              file=sys.stderr, flush=True)
                    else:
                        print("info  %s thread-0  producer_plugin.cpp:337 "
                              "  on_incoming_block ] Received block %s... "
                              "#%d @ %s signed by %s [trxs: 0, lib: %d, "
                              "conf: 0, latency: 5 ms]" %
                              (iso(ms), bid(num, hosts[0] if hosts else
                                            "")[:16], num, iso(ms), prod,
                               max(1, num - 2)), file=sys.stderr,
                              flush=True)
                    self.logged = num
            time.sleep(self.a.block_ms_poll / 1000.0)

    def info(self):
        with self.lock:
            if not self.blocks:
                return {"head_block_num": 1, "last_irreversible_block_num":
                        1, "head_block_producer": "eosio",
                        "head_block_time": iso(int(time.time() * 1000))}
            num, prod, host, ms = self.blocks[-1]
            win = host.split(",")[0] if host is not None else ""
            return {"server_version": "fake", "head_block_num": num,
                    "last_irreversible_block_num": max(1, num - 2),
                    "head_block_id": bid(num, win),
                    "head_block_producer": prod,
                    "head_block_time": iso(ms)}


class NodeHandler(BaseHTTPRequestHandler):
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
        self.handle_api()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        if n:
            self.rfile.read(n)
        self.handle_api()

    def handle_api(self):
        node = self.node
        p = urlparse(self.path).path
        if p == "/v1/chain/get_info":
            self.send(200, json.dumps(node.info()).encode())
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
    if a.pause_on_startup:
        node.call("/producer?host=%s&op=pause" % a.host)
    else:
        node.call("/producer?host=%s&op=resume" % a.host)
        node.resumed = True
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
    n.add_argument("--block-ms", type=int, default=100)
    n.add_argument("--turn", type=int, default=2)
    n.add_argument("--producers", type=int, default=3)
    d = sub.add_parser("node")
    d.add_argument("--net", required=True)
    d.add_argument("--host", required=True)
    d.add_argument("--port", type=int, default=0)
    d.add_argument("--port-file", required=True)
    d.add_argument("--peers", type=int, default=3)
    d.add_argument("--block-ms-poll", type=int, default=20)
    d.add_argument("-x", "--pause-on-startup", action="store_true")
    a = ap.parse_args()
    if a.mode == "net":
        run_net(a)
    else:
        run_node(a)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Chaos soak for chainkeeperd (python3 stdlib only).

Runs the real chainkeeperd on a private folder with a mix of programs and,
for a bounded time, injects faults at random:

    kill       SIGKILL a program's main process
    stop       SIGSTOP a program for a moment, then SIGCONT
    daemon     SIGKILL chainkeeperd and start it again (it adopts)
    reexec     chainkeeperctl reexec
    reload     change one program's settings and reload
    flood      make a writer burst thousands of lines
    misbehave  make the fake nodeos hang / answer 500 / garbage, then heal
    ctlstop    chainkeeperctl stop then start of a program

while it checks invariants all the time:

    - no zombie whose parent is chainkeeperd;
    - never two live instances of one program;
    - every program that should run is RUNNING again within its bound;
    - chainkeeperd answers its socket (except while it is restarted);
and at the end:
    - no captured line lost: every writer's lines are numbered per process,
      and each process's numbers must be 1..n without a gap or a repeat;
    - chainkeeperd's memory is flat (RSS after the warm-up vs at the end);
    - chainkeeperd exits 0 on shutdown, and nothing is left running.

Usage: soak.py [--seconds 600] [--seed N] [--chainkeeperd PATH]
               [--chainkeeperctl PATH] [--keep]
Prints the figures and exits 1 on any violation.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
WRITERS = 4
SLEEPERS = 4
RESTART_BOUND = 10.0    # s: a program must be RUNNING again within this

WRITER = r'''import os, sys, time
name = sys.argv[1]
flag = sys.argv[2]
pid = os.getpid()
n = 0
while True:
    burst = 1
    if os.path.exists(flag):
        try:
            os.unlink(flag)
            burst = 20000
        except OSError:
            pass
    for _ in range(burst):
        n += 1
        os.write(1, b"W %s %d %d\n" % (name.encode(), pid, n))
    time.sleep(0.02)
'''


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Soak:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.dir = tempfile.mkdtemp(prefix="ck-soak.")
        self.sock = os.path.join(self.dir, "ck.sock")
        self.cfg = os.path.join(self.dir, "ck.yaml")
        self.state = os.path.join(self.dir, "state")
        self.logs = os.path.join(self.dir, "logs")
        self.dlog = open(os.path.join(self.dir, "daemon.log"), "ab")
        self.daemon = None
        self.events = {}
        self.checks = 0
        self.violations = []
        self.generation = 0
        self.nodeos_port = free_port()
        self.down_since = {}
        self.daemon_gap_until = 0.0
        with open(os.path.join(self.dir, "writer.py"), "w") as f:
            f.write(WRITER)

    # ---- configuration and daemon ----

    def write_config(self):
        lines = ["state_dir: %s" % self.state, "log: {dir: %s}" % self.logs,
                 "control: {socket: %s}" % self.sock, "programs:"]
        for i in range(WRITERS):
            lines += ["  w%d:" % i,
                      "    command: [python3, %s/writer.py, w%d, %s/flood%d]"
                      % (self.dir, i, self.dir, i),
                      "    startsecs: 0",
                      "    stdout_logfile_maxbytes: 1MB",
                      "    stdout_logfile_backups: 1000",
                      "    backoff: {initial: 100ms, max: 2s, jitter: 10%}",
                      "    environment: {GEN: \"%d\"}" %
                      (self.generation if i == 0 else 0)]
        for i in range(SLEEPERS):
            lines += ["  s%d:" % i,
                      "    command: [sh, -c, 'sleep 100000 & sleep 100000']",
                      "    startsecs: 0",
                      "    stopwaitsecs: 1s",
                      "    backoff: {initial: 100ms, max: 2s, jitter: 10%}"]
        lines += ["  nodeos:",
                  "    command: [python3, %s/tests/fakes/fake-nodeos.py, "
                  "--port, '%d', --block-ms, '100', --quiet-log]"
                  % (TOP, self.nodeos_port),
                  "    startsecs: 0",
                  "    backoff: {initial: 100ms, max: 2s, jitter: 10%}",
                  "    probes:",
                  "      - kind: nodeos",
                  "        url: http://127.0.0.1:%d" % self.nodeos_port,
                  "        interval: 500ms",
                  "        timeout: 400ms",
                  "        hung_after: 3"]
        tmp = self.cfg + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.rename(tmp, self.cfg)

    def start_daemon(self):
        self.daemon = subprocess.Popen(
            [self.a.chainkeeperd, "-c", self.cfg], stdout=self.dlog,
            stderr=self.dlog, env=dict(os.environ, CK_SOAK_DIR=self.dir))
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.ctl("version") is not None:
                return
            if self.daemon.poll() is not None:
                self.violation("chainkeeperd exited at start (%d)" %
                               self.daemon.returncode)
                return
            time.sleep(0.05)
        self.violation("chainkeeperd did not answer within 15 s")

    def ctl(self, *args, timeout=20):
        try:
            r = subprocess.run([self.a.chainkeeperctl, "-s", self.sock] +
                               list(args), capture_output=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if r.returncode != 0:
            return None
        return r.stdout

    def status(self):
        out = self.ctl("status", "--json")
        if out is None:
            return None
        try:
            return json.loads(out)
        except ValueError:
            self.violation("status --json is not JSON")
            return None

    def violation(self, what):
        t = time.strftime("%H:%M:%S")
        self.violations.append("%s %s" % (t, what))
        print("VIOLATION %s %s" % (t, what), flush=True)

    # ---- processes ----

    def procs(self):
        """pid -> (ppid, state, environ marker) for every process."""
        out = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
                rest = st[st.rindex(")") + 2:].split()
                marker = None
                with open("/proc/%s/environ" % d, "rb") as f:
                    env = f.read().split(b"\0")
                if ("CK_SOAK_DIR=%s" % self.dir).encode() not in env:
                    continue
                for e in env:
                    if e.startswith(b"CHAINKEEPER_INSTANCE="):
                        marker = e.split(b"=", 1)[1].decode()
                out[int(d)] = (int(rest[1]), rest[0], marker)
            except (OSError, ValueError):
                continue
        return out

    def rss_kb(self):
        try:
            with open("/proc/%d/status" % self.daemon.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    # ---- invariants ----

    def check(self):
        self.checks += 1
        now = time.time()
        ps = self.procs()
        dpid = self.daemon.pid if self.daemon else -1
        mains = {}
        for pid, (ppid, state, marker) in ps.items():
            if state == "Z" and ppid == dpid:
                # A zombie may exist for an instant before it is reaped.
                self.zombie_seen = getattr(self, "zombie_seen", {})
                first = self.zombie_seen.setdefault(pid, now)
                if now - first > 2.0:
                    self.violation("zombie %d of chainkeeperd for %.1f s" %
                                   (pid, now - first))
                continue
            if marker and state != "Z":
                name, mpid = marker.rsplit("/", 1)
                if int(mpid) == pid:
                    mains.setdefault(name.split(":", 1)[1], []).append(pid)
        for name, pids in mains.items():
            if len(pids) > 1:
                self.violation("two instances of %s: %s" % (name, pids))
        if now < self.daemon_gap_until:
            return
        st = self.status()
        if st is None:
            self.violation("chainkeeperd does not answer")
            return
        for p in st:
            if p["state"] == "RUNNING" or p.get("admin_stopped"):
                self.down_since.pop(p["name"], None)
                continue
            first = self.down_since.setdefault(p["name"], now)
            if now - first > RESTART_BOUND:
                self.violation("%s is %s for %.1f s" %
                               (p["name"], p["state"], now - first))
                self.down_since[p["name"]] = now

    # ---- faults ----

    def pick(self, prefix=""):
        st = self.status() or []
        running = [p for p in st if p["state"] == "RUNNING" and p["pid"] > 0
                   and p["name"].startswith(prefix)]
        return self.rng.choice(running) if running else None

    def inject(self):
        kind = self.rng.choice(["kill", "kill", "kill", "stop", "daemon",
                                "reexec", "reload", "flood", "flood",
                                "misbehave", "ctlstop"])
        self.events[kind] = self.events.get(kind, 0) + 1
        if kind == "kill":
            p = self.pick()
            if p:
                os.kill(p["pid"], signal.SIGKILL)
        elif kind == "stop":
            p = self.pick("s")
            if p:
                os.kill(p["pid"], signal.SIGSTOP)
                time.sleep(self.rng.uniform(0.1, 1.0))
                os.kill(p["pid"], signal.SIGCONT)
        elif kind == "daemon":
            self.daemon.send_signal(signal.SIGKILL)
            self.daemon.wait()
            self.daemon_gap_until = time.time() + 5
            self.start_daemon()
        elif kind == "reexec":
            self.daemon_gap_until = time.time() + 5
            if self.ctl("reexec") is None:
                self.violation("reexec refused")
            time.sleep(0.5)
        elif kind == "reload":
            self.generation += 1
            self.write_config()
            out = self.ctl("reload", "--json")
            if out is None:
                self.violation("reload failed")
        elif kind == "flood":
            i = self.rng.randrange(WRITERS)
            open(os.path.join(self.dir, "flood%d" % i), "w").close()
        elif kind == "misbehave":
            mode = self.rng.choice(["hang", "500", "garbage", "slow"])
            try:
                subprocess.run(["curl", "-s", "-m", "2",
                                "http://127.0.0.1:%d/__control?mode=%s" %
                                (self.nodeos_port, mode)],
                               capture_output=True, timeout=5)
                time.sleep(self.rng.uniform(0.5, 3))
                subprocess.run(["curl", "-s", "-m", "2",
                                "http://127.0.0.1:%d/__control?mode=ok" %
                                self.nodeos_port],
                               capture_output=True, timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        elif kind == "ctlstop":
            p = self.pick("w")
            if p:
                self.ctl("stop", p["name"])
                self.ctl("start", p["name"])

    # ---- the end ----

    def check_lines(self):
        """Every writer process's lines 1..n, none lost, none twice."""
        seqs = {}
        bad = 0
        for f in sorted(os.listdir(self.logs)):
            if not f.startswith("w") or ".out.log" not in f:
                continue
            with open(os.path.join(self.logs, f), "rb") as fh:
                for line in fh:
                    m = re.match(rb"^W (w\d+) (\d+) (\d+)\n$", line)
                    if not m:
                        bad += 1
                        continue
                    seqs.setdefault((m.group(1), int(m.group(2))),
                                    []).append(int(m.group(3)))
        lines = 0
        for key, v in seqs.items():
            lines += len(v)
            s = sorted(v)
            if s != list(range(1, len(s) + 1)):
                missing = sorted(set(range(1, s[-1] + 1)) - set(s))
                self.violation("lines of %s pid %d: %d lost (first %s), "
                               "%d repeated" % (key[0].decode(), key[1],
                                                len(missing), missing[:3],
                                                len(s) - len(set(s))))
        if bad:
            self.violation("%d captured lines are malformed (split?)" % bad)
        return lines, len(seqs)

    def run(self):
        self.write_config()
        self.start_daemon()
        end = time.time() + self.a.seconds
        time.sleep(3)
        rss0 = self.rss_kb()
        next_event = time.time() + self.rng.uniform(0.2, 1.0)
        while time.time() < end:
            if time.time() >= next_event:
                self.inject()
                next_event = time.time() + self.rng.uniform(0.2, 1.0)
            self.check()
            time.sleep(0.2)
        # Quiet period, then the final checks.
        self.daemon_gap_until = 0
        time.sleep(3)
        for _ in range(20):
            self.check()
            time.sleep(0.25)
        rss1 = self.rss_kb()
        self.ctl("shutdown")
        try:
            rc = self.daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            rc = -1
        if rc != 0:
            self.violation("chainkeeperd exited %d on shutdown" % rc)
        time.sleep(1)
        left = [p for p, (pp, st, m) in self.procs().items() if st != "Z"]
        if left:
            self.violation("left running after shutdown: %s" % left)
            for p in left:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        lines, runs = self.check_lines()
        with open(os.path.join(self.dir, "daemon.log"), "rb") as f:
            dl = f.read()
        for pat in (b"fatal:", b"AddressSanitizer", b"runtime error:"):
            if pat in dl:
                self.violation("daemon log has %r" % pat.decode())
        growth = rss1 - rss0
        if growth > 2048:
            self.violation("chainkeeperd RSS grew %d kB" % growth)
        print("soak: %d s, seed %d" % (self.a.seconds, self.a.seed))
        print("events injected: %d (%s)" % (sum(self.events.values()),
              ", ".join("%s %d" % kv for kv in sorted(self.events.items()))))
        print("invariant checks: %d" % self.checks)
        print("captured lines checked: %d from %d writer processes" %
              (lines, runs))
        print("chainkeeperd RSS: %d kB after warm-up, %d kB at the end" %
              (rss0, rss1))
        print("violations: %d" % len(self.violations))
        for v in self.violations:
            print("  " + v)
        if self.a.keep or self.violations:
            print("kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return 1 if self.violations else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    ap.add_argument("--chainkeeperd", default=os.path.join(TOP,
                                                            "chainkeeperd"))
    ap.add_argument("--chainkeeperctl", default=os.path.join(TOP,
                                                             "chainkeeperctl"))
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    s = Soak(a)
    try:
        sys.exit(s.run())
    finally:
        for pid in s.procs():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


if __name__ == "__main__":
    main()

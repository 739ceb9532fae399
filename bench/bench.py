#!/usr/bin/env python3
"""
bench/bench.py, run as bench/run: chainkeeperd side by side with
supervisord, runit and s6.

For N programs of a tiny program (bench/tick.c: it reads CLOCK_MONOTONIC,
sends "NAME PID NS" in one datagram to this harness, then pauses) it
measures, per supervisor:

  start_all  launching the supervisor -> all N programs have started
  respawn    SIGKILL of one running program -> its replacement started
             (median of --respawn-reps, a different program each time)
  storm      SIGKILL of all N at once -> all N started again (median of
             --storm-reps)
  idle RSS / PSS   summed over the supervisor's own processes (not the
             programs), from /proc/PID/smaps_rollup
  idle CPU   utime+stime of those processes over an idle --idle-secs
  status     wall time of the one command a user runs to see all N
  probes     chainkeeperd with 500 programs probed over HTTP once a second
             (n/a until probes are implemented)

It prints one table and writes the same as JSON.  Everything runs in a
temporary folder; every supervisor and program is stopped and the folder
removed afterwards, also on errors and Ctrl-C.  Python 3 stdlib only.

Usage: bench/run [--n 200,1000] [--only chainkeeper,supervisord,runit,s6]
                 [--json FILE] [--quick] [--no-install] [--keep] [-v]
"""

import argparse
import atexit
import datetime
import json
import os
import platform
import resource
import selectors
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
SUPERVISORS = ["chainkeeper", "supervisord", "runit", "s6", "floor"]
DEFAULT = ["chainkeeper", "supervisord", "runit", "s6", "floor"]
NOT_A_SUPERVISOR = {"floor"}     # no ratio column, no status command
PEERS = {
    # name: (Debian package, binaries it must provide)
    "supervisord": ("supervisor", ["supervisord", "supervisorctl"]),
    "runit": ("runit", ["runsvdir", "runsv", "sv"]),
    "s6": ("s6", ["s6-svscan", "s6-supervise", "s6-svstat",
                  "s6-svscanctl"]),
}
PROBE_PROGRAMS = 500

VERBOSE = False


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def vlog(msg):
    if VERBOSE:
        log(msg)


def now_ns():
    return time.monotonic_ns()


def run_quiet(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, **kw)


# ---------------------------------------------------------------------------
# Setup: peers from Debian, chainkeeper built, limits raised.

def as_root_prefix():
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(
            ["sudo", "-n", "true"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL).returncode == 0:
        return ["sudo", "-n"]
    if shutil.which("sudo"):
        return ["sudo"]
    return None


def init_identity():
    """What PID 1 and /sbin/init are, to check an install left them alone."""
    ident = {}
    for key, path in (("pid1", "/proc/1/exe"), ("sbin_init", "/sbin/init")):
        try:
            ident[key] = os.path.realpath(path)
        except OSError:
            ident[key] = None
    return ident


def install_peers(names):
    """apt-get install the Debian packages of the peers that are missing."""
    missing = [n for n in names if n in PEERS and
               not all(shutil.which(b) for b in PEERS[n][1])]
    if not missing:
        return []
    pkgs = [PEERS[n][0] for n in missing]
    pre = as_root_prefix()
    if pre is None or not shutil.which("apt-get"):
        log("cannot install %s (need apt-get and root or sudo): "
            "skipping %s" % (" ".join(pkgs), ", ".join(missing)))
        return missing
    log("installing from Debian: %s (--no-install-recommends; runit is "
        "installed as plain binaries, not as init)" % " ".join(pkgs))
    before = init_identity()
    # Packages must not start their own services here (supervisor's
    # postinst would start a system supervisord): a policy-rc.d that
    # says "no" for the length of the install, if there is none already.
    policy = "/usr/sbin/policy-rc.d"
    made_policy = False
    if not os.path.exists(policy):
        tmp = tempfile.NamedTemporaryFile("w", delete=False)
        tmp.write("#!/bin/sh\n# bench/run: no service starts during the "
                  "install\nexit 101\n")
        tmp.close()
        os.chmod(tmp.name, 0o755)
        subprocess.run(pre + ["cp", tmp.name, policy], check=False)
        os.unlink(tmp.name)
        made_policy = os.path.exists(policy)
    env = ["env", "DEBIAN_FRONTEND=noninteractive"]
    try:
        r = subprocess.run(pre + env + ["apt-get", "install", "-y", "-q",
                                        "--no-install-recommends"] + pkgs,
                           stdout=subprocess.DEVNULL)
        if r.returncode != 0:
            subprocess.run(pre + env + ["apt-get", "update", "-q"],
                           stdout=subprocess.DEVNULL)
            subprocess.run(pre + env + ["apt-get", "install", "-y", "-q",
                                        "--no-install-recommends"] + pkgs,
                           stdout=subprocess.DEVNULL)
    finally:
        if made_policy:
            subprocess.run(pre + ["rm", "-f", policy], check=False)
    # On a systemd host the supervisor package enables supervisor.service;
    # we only wanted the binaries.
    if "supervisord" in missing and os.path.isdir("/run/systemd/system"):
        subprocess.run(pre + ["systemctl", "disable", "--now",
                              "supervisor.service"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = init_identity()
    if after != before:
        log("WARNING: init changed during the install: %s -> %s"
            % (before, after))
    return [n for n in missing
            if not all(shutil.which(b) for b in PEERS[n][1])]


def ensure_chainkeeper(ck_dir=None):
    if ck_dir:
        ckd = os.path.join(os.path.abspath(ck_dir), "chainkeeperd")
        ckctl = os.path.join(os.path.abspath(ck_dir), "chainkeeperctl")
        if not (os.access(ckd, os.X_OK) and os.access(ckctl, os.X_OK)):
            raise SystemExit("bench: no chainkeeperd and chainkeeperctl "
                             "in %s" % ck_dir)
        return ckd, ckctl
    ckd = os.path.join(ROOT, "chainkeeperd")
    ckctl = os.path.join(ROOT, "chainkeeperctl")
    if os.access(ckd, os.X_OK) and os.access(ckctl, os.X_OK):
        return ckd, ckctl
    log("building chainkeeper (./chainkeeperd is missing)")
    if os.path.exists(os.path.join(ROOT, "bootstrap.sh")):
        # The project's own: installs the build dependencies, then builds.
        subprocess.run(["sh", "./bootstrap.sh"], cwd=ROOT, check=True)
    else:
        if not os.path.exists(os.path.join(ROOT, "configure")):
            subprocess.run(["autoreconf", "-fi"], cwd=ROOT, check=True)
        if not os.path.exists(os.path.join(ROOT, "Makefile")):
            subprocess.run(["./configure"], cwd=ROOT, check=True)
        subprocess.run(["make", "-j%d" % os.cpu_count()], cwd=ROOT,
                       check=True)
    return ckd, ckctl


def raise_nofile(want=65536):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if os.geteuid() == 0 and hard != resource.RLIM_INFINITY and hard < want:
        try:
            with open("/proc/sys/fs/nr_open") as f:
                want = min(want, int(f.read()))
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return
        except (OSError, ValueError):
            pass
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (OSError, ValueError):
        pass


def build_c(work, name, static):
    src = os.path.join(HERE, name + ".c")
    out = os.path.join(work, name + ".bin")
    cc = os.environ.get("CC", "cc")
    for extra in ((["-static"], []) if static else ([],)):
        r = run_quiet([cc, "-O2"] + extra + ["-o", out, src])
        if r.returncode == 0:
            return out
    raise SystemExit("bench: cannot compile %s:\n%s" % (src, r.stdout))


# ---------------------------------------------------------------------------
# /proc helpers.

def proc_table():
    """pid -> (ppid, utime+stime ticks) of every process."""
    t = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        t[int(d)] = (int(rest[1]), int(rest[11]) + int(rest[12]))
    return t


def exe_of(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return None


def descendants(root, table=None):
    table = table if table is not None else proc_table()
    kids = {}
    for pid, (ppid, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        if p not in table:
            continue
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def alive(pid):
    """Whether a process exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return False
    return s[s.rindex(")") + 2] != "Z"


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return None


def smaps_rollup(pid):
    rss = pss = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def schedstat_ns(pid):
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def sweep(work, tick):
    """SIGKILL whatever is left of ours: tick programs, anything run from or
    inside the work folder.  Returns how many were killed."""
    me = os.getpid()
    killed = 0
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        pid = int(d)
        ours = exe_of(pid) == tick
        if not ours:
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    ours = work.encode() in f.read()
            except OSError:
                pass
        if not ours:
            try:
                ours = os.readlink("/proc/%d/cwd" % pid).startswith(
                    work + "/")
            except OSError:
                pass
        if ours:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed


# ---------------------------------------------------------------------------
# The receiver of start records.

class Watch:
    def __init__(self, names, after_ns):
        self.pending = set(names)
        self.after = after_ns
        self.got = {}
        self.event = threading.Event()
        if not self.pending:
            self.event.set()


class Receiver:
    """Collects the datagram every tick sends at start, in a thread."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        for opt in (33, socket.SO_RCVBUF):      # 33: SO_RCVBUFFORCE
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, opt, 16 << 20)
                break
            except OSError:
                continue
        self.sock.bind(path)
        self.lock = threading.Lock()
        self.latest = {}        # name -> (pid, ns)
        self.starts = 0
        self.watch = None
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            try:
                data = self.sock.recv(1024)
            except OSError:
                return
            try:
                name, pid, ns = data.decode().split()
                pid, ns = int(pid), int(ns)
            except ValueError:
                continue
            with self.lock:
                self.latest[name] = (pid, ns)
                self.starts += 1
                w = self.watch
                if w is not None and name in w.pending and ns > w.after:
                    w.pending.discard(name)
                    w.got[name] = (pid, ns)
                    if not w.pending:
                        w.event.set()

    def arm(self, names, after_ns):
        """Watch for a start of each name after after_ns (arm before the
        action that causes the starts)."""
        w = Watch(names, after_ns)
        with self.lock:
            self.watch = w
        return w

    def wait(self, w, timeout):
        ok = w.event.wait(timeout)
        with self.lock:
            if self.watch is w:
                self.watch = None
        return ok

    def reset(self):
        with self.lock:
            self.latest = {}
            self.starts = 0
            self.watch = None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------
# Supervisors.  Each writes its configuration for N programs, starts, names
# its own processes, gives its status command, and stops.

def names_for(n):
    return ["p%04d" % i for i in range(n)]


class Supervisor:
    name = "?"
    status_desc = ""

    def __init__(self, h):
        self.h = h
        self.proc = None
        self.dir = None

    def setup(self, n):
        raise NotImplementedError

    def argv(self):
        raise NotImplementedError

    def start(self):
        env = dict(os.environ, CKBENCH_SOCK=self.h.sockpath)
        out = open(os.path.join(self.dir, "supervisor.log"), "wb")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT,
                                     env=env, cwd=self.dir,
                                     start_new_session=True)
        out.close()
        self.h.live.append(self)

    def own_pids(self):
        """The supervisor's processes: the tree under it minus programs."""
        if self.proc is None:
            return []
        return [p for p in descendants(self.proc.pid)
                if exe_of(p) != self.h.tick]

    def status_argv(self):
        raise NotImplementedError

    def request_stop(self):
        self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout=120):
        """Stop the supervisor and its programs; the time it took, or None
        when it had to be killed."""
        if self.proc is None:
            return None
        own = self.own_pids()
        t0 = now_ns()
        took = None
        try:
            if self.proc.poll() is None:
                self.request_stop()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None and \
                        not any(alive(p) for p in own):
                    # Nothing of the supervisor is left: programs still
                    # running now were left behind (swept below).
                    if not self._leftovers():
                        took = (now_ns() - t0) / 1e6
                    else:
                        log("%s left programs running after it exited"
                            % self.name)
                    break
                time.sleep(0.01)
        finally:
            if self.proc.poll() is None:
                log("%s did not stop within %d s: killing it"
                    % (self.name, timeout))
                for p in descendants(self.proc.pid):
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
            n = sweep(self.h.work, self.h.tick)
            if n:
                log("%s: killed %d leftover processes" % (self.name, n))
            if self in self.h.live:
                self.h.live.remove(self)
            self.proc = None
        return took

    def _leftovers(self):
        tick = self.h.tick
        for d in os.listdir("/proc"):
            if d.isdigit() and exe_of(int(d)) == tick:
                return True
        return False

    def version(self):
        return None


class ChainKeeper(Supervisor):
    name = "chainkeeper"
    subdir = "ck"

    def setup(self, n, names=None, extra=None):
        self.dir = os.path.join(self.h.work, self.subdir)
        os.makedirs(self.dir, exist_ok=True)
        self.sock = os.path.join(self.dir, "ck.sock")
        self.cfg = os.path.join(self.dir, "chainkeeper.yaml")
        lines = ["control:", "  socket: %s" % self.sock,
                 "state_dir: %s" % os.path.join(self.dir, "state"),
                 "programs:"]
        for name in names or names_for(n):
            lines += [
                "  %s:" % name,
                "    command: [%s, %s, %s]" % (self.h.tick, name,
                                              self.h.sockpath),
                "    startsecs: 0",
                "    autorestart: true",
                "    stdout_logfile: NONE",
                "    stderr_logfile: NONE",
                "    backoff: {initial: 0ms}",
            ]
            if extra:
                lines += ["    " + line for line in extra(name)]
        with open(self.cfg, "w") as f:
            f.write("\n".join(lines) + "\n")

    def check_config(self):
        return run_quiet([self.h.ckd, "-n", "-c", self.cfg])

    def argv(self):
        return [self.h.ckd, "-c", self.cfg]

    def status_argv(self):
        return [self.h.ckctl, "-s", self.sock, "status"]

    status_desc = "chainkeeperctl -s SOCK status"

    def version(self):
        r = run_quiet([self.h.ckd, "-V"])
        return r.stdout.strip()


class Supervisord(Supervisor):
    name = "supervisord"
    subdir = "sd"

    def setup(self, n):
        self.dir = os.path.join(self.h.work, self.subdir)
        os.makedirs(os.path.join(self.dir, "childlog"), exist_ok=True)
        self.cfg = os.path.join(self.dir, "supervisord.conf")
        sock = os.path.join(self.dir, "supervisor.sock")
        d = self.dir
        out = [
            "[unix_http_server]", "file=%s" % sock, "chmod=0700", "",
            "[supervisord]", "nodaemon=true",
            "logfile=%s/supervisord.log" % d,
            "pidfile=%s/supervisord.pid" % d,
            "childlogdir=%s/childlog" % d,
            "minfds=%d" % max(1024, 4 * n + 64),
            "minprocs=%d" % max(200, n + 64), "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = "
            "supervisor.rpcinterface:make_main_rpcinterface", "",
            "[supervisorctl]", "serverurl=unix://%s" % sock, "",
        ]
        for name in names_for(n):
            out += ["[program:%s]" % name,
                    "command=%s %s %s" % (self.h.tick, name, self.h.sockpath),
                    "startsecs=0", "autorestart=true",
                    "stdout_logfile=NONE", "stderr_logfile=NONE", ""]
        with open(self.cfg, "w") as f:
            f.write("\n".join(out))

    def argv(self):
        return ["supervisord", "-n", "-c", self.cfg]

    def status_argv(self):
        return ["supervisorctl", "-c", self.cfg, "status"]

    status_desc = "supervisorctl -c CONF status"

    def version(self):
        return "supervisord " + run_quiet(["supervisord", "--version"]
                                          ).stdout.strip()


def dpkg_version(pkg):
    r = run_quiet(["dpkg-query", "-W", "-f=${Version}", pkg])
    return r.stdout.strip() if r.returncode == 0 else "?"


class ServiceDirs(Supervisor):
    """runit and s6: one directory per program, whose run is tick itself
    (both run ./run inside the service directory, so tick takes its name
    from the directory and its socket from $CKBENCH_SOCK)."""

    def setup(self, n):
        self.dir = os.path.join(self.h.work, self.subdir)
        self.scan = os.path.join(self.dir, "services")
        os.makedirs(self.scan, exist_ok=True)
        self.svdirs = []
        for name in names_for(n):
            d = os.path.join(self.scan, name)
            os.makedirs(d, exist_ok=True)
            os.symlink(self.h.tick, os.path.join(d, "run"))
            self.svdirs.append(d)
        # As on a real host, the scan directory was not changed this very
        # second (runsvdir waits a second before it trusts a directory
        # whose mtime is the current second).
        past = time.time() - 60
        os.utime(self.scan, (past, past))


class Runit(ServiceDirs):
    name = "runit"
    subdir = "runit"

    def argv(self):
        return ["runsvdir", "-P", self.scan]

    def status_argv(self):
        return ["sv", "status"] + self.svdirs

    status_desc = "sv status DIR/*"

    def request_stop(self):
        # runsvdir on HUP: TERM to every runsv, which stops its service
        # and exits; then runsvdir exits.
        self.proc.send_signal(signal.SIGHUP)

    def version(self):
        return "runit " + dpkg_version("runit")


class S6(ServiceDirs):
    name = "s6"
    subdir = "s6"

    def argv(self):
        # -c: s6-svscan supervises at most 500 services by default.
        return ["s6-svscan", "-c", str(max(500, 2 * len(self.svdirs))),
                self.scan]

    def status_argv(self):
        return ["sh", "-c", 'for d in "$0"/*; do s6-svstat "$d"; done',
                self.scan]

    status_desc = 'for d in DIR/*; do s6-svstat "$d"; done'

    def request_stop(self):
        # Tear down: s6-svscan brings every service down and exits.
        r = run_quiet(["s6-svscanctl", "-t", self.scan])
        if r.returncode != 0:
            self.proc.send_signal(signal.SIGTERM)

    def version(self):
        return "s6 " + dpkg_version("s6")


class Floor(Supervisor):
    """bench/floor.c: fork+exec+wait and nothing else (the lower bound)."""
    name = "floor"
    subdir = "floor"
    status_desc = "-"

    def setup(self, n):
        self.dir = os.path.join(self.h.work, self.subdir)
        os.makedirs(self.dir, exist_ok=True)
        self.n = n

    def argv(self):
        return [self.h.floor, self.h.tick, self.h.sockpath, str(self.n)]

    def status_argv(self):
        return None

    def version(self):
        return "floor (bench/floor.c)"


CLASSES = {"chainkeeper": ChainKeeper, "supervisord": Supervisord,
           "runit": Runit, "s6": S6, "floor": Floor}


# ---------------------------------------------------------------------------
# Measurements.

def median(v):
    return statistics.median(v) if v else None


def measure_start_all(h, sup, names, timeout):
    w = h.rx.arm(names, 0)
    t0 = now_ns()
    w.after = t0
    sup.start()
    if not h.rx.wait(w, timeout):
        return None, "%d of %d programs never started" % (len(w.pending),
                                                          len(names))
    return (max(ns for _, ns in w.got.values()) - t0) / 1e6, None


def settle(h, names, min_up_s):
    """Wait until every program has been up for min_up_s (runit and s6
    delay the respawn of a program that ran less than a second)."""
    with h.rx.lock:
        newest = max(h.rx.latest[n][1] for n in names)
    wait = newest / 1e9 + min_up_s - time.monotonic()
    if wait > 0:
        time.sleep(wait)


def measure_memory(sup):
    pids = sup.own_pids()
    rss = pss = 0
    for p in pids:
        r, s = smaps_rollup(p)
        rss += r
        pss += s
    return {"rss_kb": rss, "pss_kb": pss, "processes": len(pids)}


def measure_idle_cpu(h, sup, secs):
    pids = sup.own_pids()
    t1 = proc_table()
    s1 = {p: schedstat_ns(p) for p in pids}
    starts = h.rx.starts
    time.sleep(secs)
    t2 = proc_table()
    s2 = {p: schedstat_ns(p) for p in pids}
    ticks = sum(t2[p][1] - t1[p][1] for p in pids if p in t1 and p in t2)
    sched = sum(s2[p] - s1[p] for p in pids)
    return {"idle_cpu_ms": ticks * 1000.0 / CLK_TCK,
            "idle_cpu_sched_ms": sched / 1e6,
            "idle_secs": secs,
            "idle_unexpected_starts": h.rx.starts - starts}


def timed_run(argv, outpath):
    """Wall time of one command, stdout to a file; (ms, rc, lines)."""
    fa = [(os.POSIX_SPAWN_OPEN, 1, outpath,
           os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
          (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
          (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)]
    exe = shutil.which(argv[0]) or argv[0]
    t0 = now_ns()
    pid = os.posix_spawn(exe, argv, os.environ, file_actions=fa)
    _, status = os.waitpid(pid, 0)
    t1 = now_ns()
    with open(outpath, "rb") as f:
        lines = f.read().count(b"\n")
    return (t1 - t0) / 1e6, os.waitstatus_to_exitcode(status), lines


def measure_status(h, sup, reps):
    if sup.status_argv() is None:
        return {}
    out = os.path.join(h.work, "status.out")
    timed_run(sup.status_argv(), out)           # warm the page cache
    times, rc, lines = [], 0, 0
    for _ in range(reps):
        ms, rc, lines = timed_run(sup.status_argv(), out)
        times.append(ms)
    return {"status_ms": median(times), "status_ms_all": times,
            "status_cmd": sup.status_desc, "status_lines": lines,
            "status_rc": rc}


def measure_respawn(h, names, reps, timeout=15):
    times = []
    step = max(1, len(names) // reps)
    picks = [names[(i * step) % len(names)] for i in range(reps)]
    for name in picks:
        with h.rx.lock:
            pid, _ = h.rx.latest[name]
        w = h.rx.arm([name], 0)
        t0 = now_ns()
        w.after = t0
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if not h.rx.wait(w, timeout):
            return times, "%s was not restarted within %d s" % (name,
                                                                 timeout)
        times.append((w.got[name][1] - t0) / 1e6)
        time.sleep(0.05)
    return times, None


def measure_storm(h, names, timeout):
    with h.rx.lock:
        pids = [h.rx.latest[n][0] for n in names]
    w = h.rx.arm(names, 0)
    t0 = now_ns()
    w.after = t0
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    kill_ms = (now_ns() - t0) / 1e6
    if not h.rx.wait(w, timeout):
        return None, kill_ms, "%d of %d not restarted within %d s" % (
            len(w.pending), len(names), timeout)
    return (max(ns for _, ns in w.got.values()) - t0) / 1e6, kill_ms, None


def cpu_ns(pids):
    return sum(schedstat_ns(p) for p in pids)


def bench_one(h, cls, n, args):
    """Every figure of one supervisor for N programs."""
    sup = cls(h)
    res = {"n": n}
    names = names_for(n)
    h.rx.reset()
    shutil.rmtree(os.path.join(h.work, sup.subdir), ignore_errors=True)
    sup.setup(n)
    timeout = max(60, n * 0.1)
    log("%s N=%d: start_all" % (sup.name, n))
    try:
        ms, err = measure_start_all(h, sup, names, timeout)
        res["start_all_ms"] = ms
        if err:
            res["error"] = "start_all: " + err
            return res
        settle(h, names, 1.5)
        res.update(measure_memory(sup))
        log("%s N=%d: idle %g s" % (sup.name, n, args.idle_secs))
        res.update(measure_idle_cpu(h, sup, args.idle_secs))
        log("%s N=%d: status x%d" % (sup.name, n, args.status_reps))
        res.update(measure_status(h, sup, args.status_reps))
        log("%s N=%d: respawn x%d" % (sup.name, n, args.respawn_reps))
        own = sup.own_pids()
        c0 = cpu_ns(own)
        times, err = measure_respawn(h, names, args.respawn_reps)
        if times:
            res["respawn_cpu_us"] = (cpu_ns(own) - c0) / 1e3 / len(times)
        res["respawn_ms"] = median(times)
        res["respawn_ms_all"] = times
        if err:
            res["error"] = "respawn: " + err
            return res
        storms, kills = [], []
        for i in range(args.storm_reps):
            settle(h, names, 1.5)
            log("%s N=%d: storm %d/%d" % (sup.name, n, i + 1,
                                          args.storm_reps))
            c0 = cpu_ns(own)
            ms, kill_ms, err = measure_storm(h, names, timeout)
            res.setdefault("storm_cpu_ms_all", []).append(
                (cpu_ns(own) - c0) / 1e6)
            if err:
                res["error"] = "storm: " + err
                break
            storms.append(ms)
            kills.append(kill_ms)
        res["storm_ms"] = median(storms)
        res["storm_cpu_ms"] = median(res.get("storm_cpu_ms_all", []))
        res["storm_ms_all"] = storms
        res["storm_kill_loop_ms"] = kills
        time.sleep(1)
        after = measure_memory(sup)
        res["rss_kb_after_storms"] = after["rss_kb"]
        res["supervisor_pid"] = sup.proc.pid
    finally:
        log("%s N=%d: stop" % (sup.name, n))
        res["stop_all_ms"] = sup.stop()
    return res


# ---------------------------------------------------------------------------
# Probes: chainkeeperd, PROBE_PROGRAMS programs each probed over HTTP once a
# second, its CPU as a share of one core.  Structured to run as soon as
# chainkeeperd accepts the probe stanza below (adjust probe_stanza() to the
# final syntax when the probes issue lands).

def probe_stanza(port):
    """The probes key of one program: one HTTP check a second."""
    def stanza(name):
        return ["probes:",
                "  - kind: http",
                "    url: http://127.0.0.1:%d/%s" % (port, name),
                "    interval: 1s",
                "    timeout: 500ms"]
    return stanza


class TinyHTTP:
    """A loopback HTTP/1.1 server answering 200 "ok", counting requests."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(1024)
        self.ls.setblocking(False)
        self.port = self.ls.getsockname()[1]
        self.requests = 0
        self.stop = False
        self.sel.register(self.ls, selectors.EVENT_READ, None)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        bufs = {}
        while not self.stop:
            for key, _ in self.sel.select(0.2):
                if key.data is None:
                    try:
                        c, _ = self.ls.accept()
                    except OSError:
                        continue
                    c.setblocking(False)
                    bufs[c] = b""
                    self.sel.register(c, selectors.EVENT_READ, "c")
                    continue
                c = key.fileobj
                try:
                    data = c.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self.sel.unregister(c)
                    c.close()
                    bufs.pop(c, None)
                    continue
                bufs[c] += data
                while b"\r\n\r\n" in bufs[c]:
                    req, bufs[c] = bufs[c].split(b"\r\n\r\n", 1)
                    self.requests += 1
                    close = b"connection: close" in req.lower()
                    try:
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: "
                                  b"text/plain\r\nContent-Length: 3\r\n" +
                                  (b"Connection: close\r\n" if close
                                   else b"") + b"\r\nok\n")
                    except OSError:
                        close = True
                    if close:
                        self.sel.unregister(c)
                        c.close()
                        bufs.pop(c, None)
                        break

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.ls.close()


def bench_probes(h, nprog, args):
    ck = ChainKeeper(h)
    ck.dir = os.path.join(h.work, "ck")
    shutil.rmtree(ck.dir, ignore_errors=True)
    srv = TinyHTTP()
    try:
        ck.setup(nprog, extra=probe_stanza(srv.port))
        r = ck.check_config()
        if r.returncode != 0:
            vlog("probe config refused: " + r.stdout.strip()[:300])
            return {"value": None, "programs": nprog,
                    "note": "n/a (probes not implemented)"}
        h.rx.reset()
        names = names_for(nprog)
        ms, err = measure_start_all(h, ck, names, 120)
        if err:
            return {"value": None, "note": "start: " + err}
        time.sleep(3)
        req0 = srv.requests
        cpu = measure_idle_cpu(h, ck, args.idle_secs)
        reqs = srv.requests - req0
        pct = cpu["idle_cpu_sched_ms"] / (args.idle_secs * 1000) * 100
        healthy = None
        r = run_quiet([h.ckctl, "-s", ck.sock, "status", "--json"])
        try:
            healthy = sum(1 for prog in json.loads(r.stdout)
                          if prog.get("probes") and all(
                              pr.get("health") == "healthy"
                              for pr in prog["probes"]))
        except (ValueError, TypeError, AttributeError):
            pass
        mem = measure_memory(ck)
        return {"value": pct, "programs": nprog,
                "cpu_ms": cpu["idle_cpu_sched_ms"],
                "cpu_ms_stat": cpu["idle_cpu_ms"],
                "secs": args.idle_secs,
                "requests_per_s": reqs / args.idle_secs,
                "healthy_programs": healthy,
                "rss_kb": mem["rss_kb"], "pss_kb": mem["pss_kb"],
                "note": "%.1f%% of one core (%.0f req/s, %s/%d healthy)" % (
                    pct, reqs / args.idle_secs, healthy, nprog)}
    finally:
        if ck.proc is not None:
            ck.stop()
        srv.close()


# ---------------------------------------------------------------------------
# Report.

METRICS = [
    # key, label, unit scale, format
    ("start_all_ms", "start_all (ms)", 1, "%.1f"),
    ("respawn_ms", "respawn median (ms)", 1, "%.2f"),
    ("respawn_cpu_us", "  supervisor CPU per respawn (us)", 1, "%.0f"),
    ("storm_ms", "storm (ms)", 1, "%.1f"),
    ("storm_cpu_ms", "  supervisor CPU per storm (ms)", 1, "%.1f"),
    ("rss_kb", "idle RSS (MB)", 1 / 1024, "%.2f"),
    ("pss_kb", "idle PSS (MB)", 1 / 1024, "%.2f"),
    ("processes", "supervisor processes", 1, "%d"),
    ("idle_cpu_ms", "idle CPU (ms per idle)", 1, "%.0f"),
    ("status_ms", "status (ms)", 1, "%.1f"),
    ("stop_all_ms", "shutdown, all stopped (ms)", 1, "%.0f"),
]

TARGETS = [
    # key, N, limit, text
    ("respawn_ms", 200, 2, "respawn median <= 2 ms"),
    ("storm_ms", 200, 150, "storm <= 0.15 s"),
    ("start_all_ms", 200, 200, "start_all <= 0.2 s"),
    ("start_all_ms", 1000, 1000, "start_all <= 1 s"),
    ("status_ms", 200, 3, "status <= 3 ms"),
    ("status_ms", 1000, 15, "status <= 15 ms"),
    ("rss_kb", 200, 4 * 1024, "chainkeeperd RSS <= 4 MB"),
    ("rss_kb", 1000, 12 * 1024, "chainkeeperd RSS <= 12 MB"),
]


def fmt(v, scale, f):
    if v is None:
        return "-"
    return f % (v * scale)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def make_table(results, sups, probes, idle_secs):
    peers = [s for s in sups if s != "chainkeeper" and
             s not in NOT_A_SUPERVISOR]
    errors = []
    head = ["N", "figure"] + sups + ["ck/" + p for p in peers]
    rows = []
    for n in sorted(results, key=int):
        r = results[n]
        for key, label, scale, f in METRICS:
            if key == "idle_cpu_ms":
                label = "idle CPU (ms / %g s)" % idle_secs
            row = [str(n), label]
            for s in sups:
                row.append(fmt(r.get(s, {}).get(key), scale, f))
            ck = r.get("chainkeeper", {}).get(key)
            for p in peers:
                q = ratio(ck, r.get(p, {}).get(key))
                if key == "processes":
                    row.append("")
                else:
                    row.append("-" if q is None else "%.3gx" % q)
            rows.append(row)
        for s in sups:
            e = r.get(s, {}).get("error")
            if e:
                errors.append("N=%s %s: %s" % (n, s, e))
    if "chainkeeper" in sups:
        row = [str(probes.get("programs", PROBE_PROGRAMS)),
               "probes, 1/s HTTP each (% core)"]
        for s in sups:
            if s != "chainkeeper":
                row.append("-")
            elif probes.get("value") is None:
                row.append("n/a")
            else:
                row.append("%.1f" % probes["value"])
        row += ["-"] * len(peers)
        rows.append(row)
    widths = [max(len(str(x[i])) for x in [head] + rows)
              for i in range(len(head))]
    lines = ["  ".join(str(c).rjust(w) if i > 1 else str(c).ljust(w)
                       for i, (c, w) in enumerate(zip(x, widths)))
             for x in [head] + rows]
    lines.insert(1, "-" * len(lines[0]))
    lines += ["ERROR " + e for e in errors]
    return "\n".join(lines)


def check_targets(results, probes):
    out = []
    for key, n, limit, text in TARGETS:
        v = results.get(str(n), {}).get("chainkeeper", {}).get(key)
        if v is None:
            continue
        out.append({"target": "%s (N=%d)" % (text, n), "value": v,
                    "limit": limit, "met": v <= limit})
    v = probes.get("value")
    out.append({"target": "probes <= 10%% of one core (%s programs)"
                % probes.get("programs", PROBE_PROGRAMS),
                "value": v, "limit": 10,
                "met": None if v is None else v <= 10,
                "note": probes.get("note")})
    return out


def git_describe():
    r = run_quiet(["git", "-C", ROOT, "describe", "--always", "--dirty"])
    return r.stdout.strip() if r.returncode == 0 else None


def machine_info():
    info = {"nproc": os.cpu_count(), "kernel": platform.release(),
            "python": platform.python_version()}
    try:
        with open("/etc/debian_version") as f:
            info["debian"] = f.read().strip()
    except OSError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["mem_total_kb"] = int(f.readline().split()[1])
    except OSError:
        pass
    return info


# ---------------------------------------------------------------------------

class Harness:
    def __init__(self, args):
        self.args = args
        self.live = []
        self.work = tempfile.mkdtemp(prefix="ckb.",
                                     dir=os.environ.get("TMPDIR", "/tmp"))
        self.sockpath = os.path.join(self.work, "tick.sock")
        if len(self.sockpath) > 90:
            raise SystemExit("bench: %s: path too long for a unix socket; "
                             "set TMPDIR to a shorter folder" % self.work)
        self.tick = None
        self.floor = None
        self.rx = None
        self.ckd = self.ckctl = None
        self.cleaned = False

    def cleanup(self):
        if self.cleaned:
            return
        self.cleaned = True
        for sup in list(self.live):
            try:
                sup.stop(timeout=30)
            except Exception as e:      # keep cleaning
                log("stopping %s: %s" % (sup.name, e))
        if self.tick:
            sweep(self.work, self.tick)
        if self.rx:
            self.rx.close()
        if self.args.keep:
            log("kept %s" % self.work)
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def parse_args():
    ap = argparse.ArgumentParser(
        prog="bench/run", description="chainkeeperd side by side with supervisord, runit "
        "and s6 (see BENCHMARKS.md)")
    ap.add_argument("--n", default=None,
                    help="program counts, comma separated (200,1000)")
    ap.add_argument("--only", default=",".join(DEFAULT),
                    help="supervisors, comma separated (%s; floor is "
                    "a bare fork+exec loop, the lower bound)"
                    % ",".join(SUPERVISORS))
    ap.add_argument("--json", default=None,
                    help="write the results here (bench/results.json)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: N=20, few repetitions, 2 s idle")
    ap.add_argument("--respawn-reps", type=int, default=None)
    ap.add_argument("--storm-reps", type=int, default=None)
    ap.add_argument("--status-reps", type=int, default=None)
    ap.add_argument("--idle-secs", type=float, default=None)
    ap.add_argument("--ck-dir", default=None,
                    help="take chainkeeperd and chainkeeperctl from this "
                    "build folder (default: the repository's)")
    ap.add_argument("--no-probes", action="store_true",
                    help="skip the probes figure")
    ap.add_argument("--no-install", action="store_true",
                    help="do not apt-get install missing peers")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary folder")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    q = a.quick
    a.ns = [int(x) for x in (a.n or ("20" if q else "200,1000")).split(",")]
    a.respawn_reps = a.respawn_reps or (5 if q else 20)
    a.storm_reps = a.storm_reps or (1 if q else 3)
    a.status_reps = a.status_reps or (3 if q else 10)
    a.idle_secs = a.idle_secs or (2.0 if q else 10.0)
    a.sups = [s.strip() for s in a.only.split(",") if s.strip()]
    for s in a.sups:
        if s not in SUPERVISORS:
            ap.error("unknown supervisor %r (use %s)"
                     % (s, ",".join(SUPERVISORS)))
    a.json = a.json or os.path.join(HERE, "results.json")
    return a


def main():
    global VERBOSE
    args = parse_args()
    VERBOSE = args.verbose
    command = "bench/run " + " ".join(shlex.quote(x) for x in sys.argv[1:])

    sups = [s for s in SUPERVISORS if s in args.sups]
    skipped = {}
    if not args.no_install:
        for s in install_peers(sups):
            skipped[s] = "not installed"
    else:
        for s in sups:
            if s in PEERS and not all(shutil.which(b)
                                      for b in PEERS[s][1]):
                skipped[s] = "not installed"
    sups = [s for s in sups if s not in skipped]
    for s, why in skipped.items():
        log("skipping %s: %s" % (s, why))
    raise_nofile()

    h = Harness(args)
    atexit.register(h.cleanup)

    def on_signal(signum, frame):
        raise SystemExit("bench: interrupted by signal %d" % signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    # Ctrl-C cleans up too, even where SIGINT came in ignored (a job
    # started in the background by a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)

    try:
        if "chainkeeper" in sups:
            h.ckd, h.ckctl = ensure_chainkeeper(args.ck_dir)
        # Static: exec costs the same under every supervisor and needs no
        # dynamic loader work in the measured interval.
        h.tick = build_c(h.work, "tick", True)
        if "floor" in sups:
            h.floor = build_c(h.work, "floor", False)
        h.rx = Receiver(h.sockpath)
        versions = {}
        for s in sups:
            sup = CLASSES[s](h)
            versions[s] = sup.version()
        log("work folder %s; %s" % (h.work, ", ".join(
            "%s" % v for v in versions.values())))
        results = {}
        load_before = loadavg()
        for n in args.ns:
            results[str(n)] = {}
            for s in sups:
                results[str(n)][s] = bench_one(h, CLASSES[s], n, args)
                vlog(json.dumps(results[str(n)][s]))
        probes = {"value": None, "note": "skipped (--no-probes)"}
        if "chainkeeper" in sups and not args.no_probes:
            nprog = 20 if args.quick else PROBE_PROGRAMS
            log("chainkeeper: probes, %d programs" % nprog)
            probes = bench_probes(h, nprog, args)
        load_after = loadavg()
    finally:
        h.cleanup()

    ratios = {}
    for n, r in results.items():
        ck = r.get("chainkeeper")
        if not ck:
            continue
        ratios[n] = {}
        for p in sups:
            if p == "chainkeeper" or p in NOT_A_SUPERVISOR:
                continue
            ratios[n][p] = {key: ratio(ck.get(key), r[p].get(key))
                            for key, _, _, _ in METRICS
                            if key != "processes"}
    targets = check_targets(results, probes) if "chainkeeper" in sups \
        else []
    table = make_table(results, sups, probes, args.idle_secs)
    doc = {
        "command": command,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "machine": machine_info(),
        "loadavg_before_after": [load_before, load_after],
        "versions": versions,
        "chainkeeper_git": git_describe(),
        "skipped": skipped,
        "settings": {"ns": args.ns, "respawn_reps": args.respawn_reps,
                     "storm_reps": args.storm_reps,
                     "status_reps": args.status_reps,
                     "idle_secs": args.idle_secs,
                     "status_commands": {s: CLASSES[s].status_desc
                                         for s in sups}},
        "results": results,
        "probes": probes,
        "ratios_chainkeeper_to": ratios,
        "targets": targets,
        "table": table.splitlines(),
    }
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")

    m = doc["machine"]
    print("%s, %s; %d cores, Linux %s, Debian %s" % (
        command, doc["date"], m["nproc"], m["kernel"], m.get("debian", "?")))
    print("; ".join(v for v in versions.values() if v) +
          ("; chainkeeper %s" % doc["chainkeeper_git"]
           if doc.get("chainkeeper_git") else ""))
    print("load average before / after: %s / %s" % (load_before, load_after))
    try:
        if max(float(load_before.split()[0]), float(load_after.split()[0])) \
                > (os.cpu_count() or 1):
            print("WARNING: other work was running (load average above the "
                  "number of cores): times are inflated; the floor column "
                  "shows by how much.")
    except (AttributeError, ValueError, IndexError):
        pass
    print()
    print(table)
    print()
    print("ck/X: chainkeeper's figure divided by X's (below 1: chainkeeper "
          "is lower, i.e. faster or smaller).")
    print("status commands: " + "; ".join(
        "%s: %s" % (s, CLASSES[s].status_desc) for s in sups
        if s not in NOT_A_SUPERVISOR))
    if "floor" in sups:
        print("floor: not a supervisor; bench/floor.c forks and execs the "
              "programs and nothing else (the machine's lower bound).")
    if "chainkeeper" in sups:
        print("probes: " + str(probes.get("note")))
    if targets:
        print()
        print("targets (chainkeeper):")
        for t in targets:
            state = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
            val = "-" if t["value"] is None else "%.2f" % t["value"]
            print("  %-45s %10s  %s" % (t["target"], val, state))
    print()
    print("JSON: %s" % args.json)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("bench: interrupted; everything was stopped and removed")

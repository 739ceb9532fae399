"""Reference model of what chainkeeperctl status must show (stdlib only).

The model knows each program's settings (a spec), whether it was stopped by
hand, and, for each program, the set of states status may settle in after a
step, whether its pid must be the one seen before the step, and whether it
waits for its depends_on.  Where the real outcome depends on timing the
model cannot see (a program that exits on its own, a daemon killed in the
middle of a request) the allowed set is wider, and the model takes what
status shows as the new starting point once the check passed.

A spec is a dict: kind (long, fork, stubborn, quick, short), env (int),
priority (int), deps (list of names), autostart, autorestart (bools).
"""

import copy

NAMES = ["a", "b", "c", "d"]
KINDS = ["long", "fork", "stubborn", "quick", "short"]
# Kinds that, once started, stay RUNNING until stopped.
STAYS_UP = ("long", "fork", "stubborn")
ALL = frozenset(["STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING",
                 "EXITED", "FATAL"])
RUNNING_STATES = ("STARTING", "RUNNING", "STOPPING")

COMMANDS = {
    "long": "[sleep, '100000']",
    "fork": "[sh, -c, 'sleep 100000 & sleep 100001']",
    "stubborn": "[sh, -c, 'trap \"\" TERM; sleep 100000']",
    "quick": "[sh, -c, 'exit 3']",
    "short": "[sleep, '2']",
}


def effective(specs):
    """The specs as written to the file: depends_on only on present names."""
    out = {}
    for n, s in specs.items():
        e = dict(s)
        e["deps"] = [d for d in s["deps"] if d in specs]
        out[n] = e
    return out


def render(specs, state_dir, sock, logs):
    """The configuration file for specs."""
    lines = ["state_dir: %s" % state_dir, "log: {dir: %s}" % logs,
             "control: {socket: %s}" % sock, "programs:"]
    for n, s in sorted(effective(specs).items()):
        lines += ["  %s:" % n,
                  "    command: %s" % COMMANDS[s["kind"]],
                  "    environment: {MODEL_ENV: \"%d\"}" % s["env"],
                  "    priority: %d" % s["priority"],
                  "    autostart: %s" % ("true" if s["autostart"] else
                                         "false"),
                  "    autorestart: %s" % ("true" if s["autorestart"] else
                                           "false"),
                  # A program that exits at once must never pass for
                  # started, however loaded the host.
                  "    startsecs: %s" % ("3s" if s["kind"] == "quick"
                                         else "200ms"),
                  "    startretries: 1",
                  "    stopwaitsecs: 500ms",
                  "    backoff: {initial: 100ms, max: 200ms, jitter: 0}"]
        if s["deps"]:
            lines.append("    depends_on: [%s]" % ", ".join(s["deps"]))
    return "\n".join(lines) + "\n"


class Expect:
    """What one program's status must settle to after a step."""

    def __init__(self, states, pid=None, hand=None, waiting=False):
        self.states = frozenset(states)
        self.pid = pid          # the pid it must keep, or None
        self.hand = hand        # admin_stopped, or None: either
        self.waiting = waiting  # STOPPED, waiting for depends_on

    def __repr__(self):
        return "Expect(%s, pid=%s, hand=%s%s)" % (
            "|".join(sorted(self.states)), self.pid, self.hand,
            ", waiting" if self.waiting else "")


class Model:
    def __init__(self, specs):
        self.specs = copy.deepcopy(specs)
        self.hand = {}          # name -> stopped by hand (kept on removal)
        self.seen = {}          # name -> (state, pid, waiting) last settled
        self.expect = {}

    # ---- helpers ----

    def names(self):
        return set(self.specs)

    def eff(self):
        return effective(self.specs)

    def will_run(self, name, exp):
        """Whether name will be RUNNING once settled: True, False, None."""
        e = exp.get(name)
        s = self.eff()[name]
        if e is None:
            return False
        if e.states == {"RUNNING"}:
            return True
        if s["kind"] == "short" and s["autorestart"] and \
                "RUNNING" in e.states and not e.waiting:
            return True     # it is RUNNING again and again
        if "RUNNING" not in e.states:
            return False
        return None

    def started(self, name, exp, pid=None):
        """What a start of name settles to (depends_on checked later)."""
        s = self.eff()[name]
        if s["deps"]:
            return Expect(["STOPPED"], hand=False, waiting=True)
        return self.run_expect(s, pid)

    def run_expect(self, s, pid=None):
        if s["kind"] in STAYS_UP:
            return Expect(["RUNNING"], pid=pid, hand=False)
        if s["kind"] == "quick":
            return Expect(["FATAL"], hand=False)
        if s["autorestart"]:
            return Expect(["RUNNING", "STARTING", "BACKOFF"], hand=False)
        return Expect(["RUNNING", "STARTING", "EXITED"], hand=False)

    def resolve_waiting(self, exp):
        """Programs waiting for depends_on start once those will run."""
        changed = True
        while changed:
            changed = False
            for n in sorted(exp):
                e = exp[n]
                if not e.waiting:
                    continue
                deps = self.eff()[n]["deps"]
                ws = [self.will_run(d, exp) for d in deps]
                if all(w is True for w in ws):
                    exp[n] = self.run_expect(self.eff()[n])
                    changed = True
                elif any(w is None for w in ws):
                    # A dependency that runs for a while: either.
                    r = self.run_expect(self.eff()[n])
                    exp[n] = Expect(r.states | {"STOPPED"}, hand=False)
                    changed = True
        return exp

    def keep(self, name):
        """Nothing happens to name: what it showed, and its pid."""
        st, pid, waiting = self.seen[name]
        s = self.eff()[name]
        hand = self.hand.get(name, False)
        if waiting:
            return Expect(["STOPPED"], hand=hand, waiting=True)
        if st == "RUNNING" and s["kind"] != "short":
            # Also a run of earlier settings adopted after a request was
            # cut short: it runs on until restarted.
            return Expect(["RUNNING"], pid=pid, hand=hand)
        if s["kind"] == "short" and st != "STOPPED" and not hand:
            return self.run_expect(s)
        return Expect([st], hand=hand)

    def active(self, name):
        st, _, waiting = self.seen[name]
        return waiting or st in ("STARTING", "RUNNING", "BACKOFF",
                                 "STOPPING")

    # ---- steps: each fills self.expect ----

    def step_reload(self, new_specs):
        """Returns the summary the reply must carry."""
        old = self.eff()
        self.specs = copy.deepcopy(new_specs)
        new = self.eff()
        summary = {"added": set(), "changed": set(), "removed": set(),
                   "unchanged": 0}
        exp = {}
        for n in sorted(set(old) | set(new)):
            if n not in new:
                summary["removed"].add(n)
                self.seen.pop(n, None)
                continue
            if n not in old:
                summary["added"].add(n)
                if new[n]["autostart"] and not self.hand.get(n, False):
                    exp[n] = self.started(n, exp)
                else:
                    exp[n] = Expect(["STOPPED"],
                                    hand=self.hand.get(n, False))
                continue
            if old[n] == new[n]:
                summary["unchanged"] += 1
                exp[n] = self.keep(n)
                continue
            summary["changed"].add(n)
            if self.hand.get(n, False):
                exp[n] = Expect(["STOPPED"], hand=True)
            elif self.active(n) or new[n]["autostart"]:
                exp[n] = self.started(n, exp)
            else:
                exp[n] = Expect(["STOPPED"], hand=False)
        self.expect = self.resolve_waiting(exp)
        return summary

    def step_start(self, names):
        exp = {n: self.keep(n) for n in self.specs}
        for n in names:
            self.hand[n] = False
            st, pid, waiting = self.seen[n]
            if st in ("RUNNING", "STARTING") and not waiting:
                e = self.keep(n)
                e.hand = False
                exp[n] = e
            else:
                exp[n] = self.started(n, exp)
        self.expect = self.resolve_waiting(exp)

    def step_stop(self, names):
        exp = {n: self.keep(n) for n in self.specs}
        for n in names:
            self.hand[n] = True
            st, _, waiting = self.seen[n]
            if self.eff()[n]["kind"] == "short":
                exp[n] = Expect(["STOPPED", "EXITED"], hand=True)
            elif st in ("EXITED", "FATAL") and not waiting:
                exp[n] = Expect([st, "STOPPED"], hand=True)
            else:
                exp[n] = Expect(["STOPPED"], hand=True)
        self.expect = self.resolve_waiting(exp)

    def step_restart(self, names):
        exp = {n: self.keep(n) for n in self.specs}
        for n in names:
            self.hand[n] = False
            exp[n] = self.started(n, exp)
        self.expect = self.resolve_waiting(exp)

    def step_signal(self, name, sig):
        exp = {n: self.keep(n) for n in self.specs}
        st, pid, waiting = self.seen[name]
        s = self.eff()[name]
        if st == "BACKOFF" and not waiting:
            # No process now, but the retry may be spawned before the
            # signal comes: it may land on the new run, while STARTING.
            exp[name].states |= {"BACKOFF", "STARTING", "RUNNING", "FATAL",
                                 "EXITED"}
            exp[name].pid = None
        if st in ("RUNNING", "STARTING") and not waiting and \
                not (sig == "TERM" and s["kind"] == "stubborn"):
            if s["autorestart"]:
                exp[name] = self.run_expect(s)
            elif s["kind"] == "short":
                exp[name] = Expect(["EXITED", "RUNNING", "STARTING"],
                                   hand=False)
            else:
                exp[name] = Expect(["EXITED"], hand=False)
            if st == "STARTING":
                # Killed before startsecs: a failed start, whatever
                # autorestart says.  It is tried again (BACKOFF, then a
                # new STARTING), or FATAL once startretries is used up by
                # failures the model does not count.
                exp[name].states |= {"BACKOFF", "STARTING", "RUNNING",
                                     "FATAL"}
            exp[name].pid = None
        self.expect = exp

    def step_daemon_back(self, adopted, touched=()):
        """chainkeeperd came back after a SIGKILL (adopted) or a reexec;
        touched programs had a request cut short: anything goes."""
        exp = {}
        for n, s in self.eff().items():
            st, pid, waiting = self.seen[n]
            hand = self.hand.get(n, False)
            if n in touched:
                exp[n] = Expect(ALL - {"STOPPING"})
            elif st == "RUNNING" and s["kind"] != "short":
                exp[n] = Expect(["RUNNING"], pid=pid, hand=hand)
            elif s["kind"] == "short" and st != "STOPPED":
                exp[n] = Expect(ALL - {"STOPPING"}, hand=hand)
            elif s["autostart"] and not hand:
                exp[n] = self.started(n, exp)
            else:
                exp[n] = Expect(["STOPPED"] if adopted else
                                ["STOPPED", st], hand=hand)
        self.expect = self.resolve_waiting(exp)

    def step_fresh(self):
        """chainkeeperd started after a shutdown: nothing runs."""
        exp = {}
        for n, s in self.eff().items():
            hand = self.hand.get(n, False)
            if s["autostart"] and not hand:
                exp[n] = self.started(n, exp)
            else:
                exp[n] = Expect(["STOPPED"], hand=hand)
        self.expect = self.resolve_waiting(exp)

    def step_unknown(self, touched):
        """A request cut short by a SIGKILL: touched ones may be anything."""
        self.step_daemon_back(True, touched)

    def observe(self, status):
        """Take what status settled to as the next starting point."""
        self.seen = {}
        for p in status:
            waiting = "waiting" in (p.get("description") or "")
            self.seen[p["name"]] = (p["state"], p["pid"], waiting)
            self.hand[p["name"]] = bool(p.get("admin_stopped"))

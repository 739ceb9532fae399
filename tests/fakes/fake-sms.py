#!/usr/bin/env python3
"""A fake SMS gateway (ipyy style) for chainkeeper's alert tests, and a
generic webhook; python3 stdlib only.

    GET|POST /smsJson.aspx?action=send&userid=&account=A&password=P
             &mobile=13800001111,13900002222&content=TEXT&sendTime=&extno=
        -> {"returnstatus":"Success","message":"操作成功","remainpoint":"99",
            "taskID":"...","successCounts":"1"}
           {"returnstatus":"Faild","message":"..."} for a wrong account or
           password, and on demand (fail=N)
    any other path, any method: a webhook; the request is recorded and
    answered {"ok":true}

Failures for any path come from misbehave.py (mode=500, hang, close...).

Control: GET /__control?KEY=VALUE&...
    fail=N      the next N messages get returnstatus "Faild"
    reset=1     forget what was received
GET /__state: "sms" (each {time, mobile, content, account}), "webhook"
(each {time, method, path, query, body, headers}), counters.

The password comes from --password-file, as chainkeeper reads it, so it
never appears on a command line.

Usage: fake-sms.py [--port N] [--port-file F] [--account A]
    [--password-file F]
"""

import argparse
import os
import signal
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import misbehave  # noqa: E402


class Gateway:
    want_query = True       # misbehave passes the path with its query

    def __init__(self, args):
        self.lock = threading.Lock()
        self.account = args.account
        self.password_file = args.password_file
        self.fail_next = 0
        self.reset()

    def reset(self):
        self.sms = []
        self.webhook = []
        self.attempts = 0
        self.refused = 0

    def password(self):
        if not self.password_file:
            return None
        with open(self.password_file) as f:
            return f.readline().rstrip("\r\n")

    def handle(self, method, path, body, label):
        url = urllib.parse.urlsplit(path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(
            url.query, keep_blank_values=True).items()}
        if url.path.rstrip("/") == "/smsJson.aspx":
            if method == "POST" and body:
                q.update({k: v[-1] for k, v in urllib.parse.parse_qs(
                    body.decode("utf-8", "replace"),
                    keep_blank_values=True).items()})
            return self.send(q)
        with self.lock:
            self.webhook.append({
                "time": time.time(), "method": method, "path": url.path,
                "query": q, "body": body.decode("utf-8", "replace"),
                "headers": {k: v for k, v in self.headers_of_request()}})
        return 200, {"ok": True}

    def headers_of_request(self):
        # misbehave does not hand the headers over; see Handler below.
        return list(getattr(threading.current_thread(), "ck_headers", []))

    def send(self, q):
        with self.lock:
            self.attempts += 1
            if q.get("action") != "send":
                return 200, {"returnstatus": "Faild",
                             "message": "action must be send"}
            want = self.password()
            if q.get("account") != self.account or \
                    (want is not None and q.get("password") != want):
                self.refused += 1
                return 200, {"returnstatus": "Faild",
                             "message": "用户名或密码错误"}
            if self.fail_next > 0:
                self.fail_next -= 1
                self.refused += 1
                return 200, {"returnstatus": "Faild",
                             "message": "余额不足"}
            if not q.get("mobile") or not q.get("content"):
                return 200, {"returnstatus": "Faild",
                             "message": "mobile and content are required"}
            self.sms.append({"time": time.time(), "mobile": q["mobile"],
                             "content": q["content"],
                             "account": q.get("account")})
            n = len(self.sms)
        return 200, {"returnstatus": "Success", "message": "操作成功",
                     "remainpoint": "%d" % (1000 - n),
                     "taskID": "%d" % (1500000 + n), "successCounts": "1"}

    def wrong_types(self, method, path, body, label):
        return 200, {"returnstatus": 1, "message": None}

    def error(self, code, path):
        return {"returnstatus": "Faild", "message": "fake HTTP %d" % code}

    def control(self, params, label):
        with self.lock:
            for k, v in params.items():
                if k == "fail":
                    self.fail_next = int(v)
                elif k == "reset":
                    self.reset()
                else:
                    raise ValueError("unknown control key %r" % k)

    def state(self):
        with self.lock:
            return {"sms": list(self.sms), "webhook": list(self.webhook),
                    "attempts": self.attempts, "refused": self.refused,
                    "pid": os.getpid()}


class Handler(misbehave.Handler):
    """Keeps the request headers where the app can see them."""

    def _handle(self, method):
        threading.current_thread().ck_headers = [
            (k, v) for k, v in self.headers.items()
            if k.lower() not in ("host", "content-length", "accept",
                                 "user-agent")]
        super()._handle(method)

    def do_PUT(self):
        self._handle("PUT")


def main():
    rc = misbehave.client_main(sys.argv)
    if rc is not None:
        sys.exit(rc)
    ap = argparse.ArgumentParser(description="fake SMS gateway for tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--account", default="ck")
    ap.add_argument("--password-file")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda s, f: os._exit(0))
    srv = misbehave.Server((args.host, args.port), Handler)
    srv.app = Gateway(args)
    srv.modes = misbehave.Modes()
    srv.label = "sms"
    srv.verbose = args.verbose
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    misbehave.announce("fake-sms", [srv], args.port_file)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()

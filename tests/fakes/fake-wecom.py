#!/usr/bin/env python3
"""A fake WeCom (企业微信) for chainkeeper's alert tests; python3 stdlib only.

It serves the group robot webhook and the application message API as
chainkeeper's sinks use them, plus a Telegram Bot API sendMessage, and
records every message it accepted, so a test can check that an alert
arrived exactly once.

    POST /cgi-bin/webhook/send?key=KEY        a robot message
        -> 200 {"errcode":0,"errmsg":"ok"}
           {"errcode":93000,...}  for a key it does not know (or on demand)
           {"errcode":45009,...}  over --limit messages per --window
                                  seconds for one key (or on demand)
    GET  /cgi-bin/gettoken?corpid=ID&corpsecret=S
        -> {"errcode":0,"access_token":"...","expires_in":7200}
           {"errcode":40001,...}  for a wrong secret
    POST /cgi-bin/message/send?access_token=T  an application message
        -> {"errcode":0,...}, 40014 for an unknown token, 42001 for an
           expired one
    POST /bot<TOKEN>/sendMessage               Telegram
        -> {"ok":true,"result":{...}} or 401 {"ok":false,...}

Failures for any path come from misbehave.py (mode=500, hang, close...).

Control: GET /__control?KEY=VALUE&...
    ratelimit=N     the next N robot messages get errcode 45009
    reject=N        the next N robot messages get errcode 93000
    limit=N         robot messages per key per window (0: no limit)
    window=S        the window, seconds
    expire_tokens=1 every access token given so far is expired (42001)
    token_ttl=S     expires_in of new access tokens
    reset=1         forget what was received
GET /__state: what was received ("robot", "app", "telegram": lists of
{time, msgtype, content, ...}) and counters.

Secrets come from files, as chainkeeper reads them, so they never appear
on a command line: --key-file (robot keys, one a line), --secret-file (the
app's corp secret), --tg-token-file.

Usage: fake-wecom.py [--port N] [--port-file F] [--key-file F]
    [--corp-id ID] [--secret-file F] [--tg-token-file F] [--limit 20]
    [--window 60]
"""

import argparse
import os
import secrets
import signal
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import misbehave  # noqa: E402


def read_lines(path):
    if not path:
        return []
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip()]


class WeCom:
    want_query = True       # misbehave passes the path with its query

    def __init__(self, args):
        self.lock = threading.Lock()
        self.key_file = args.key_file
        self.corp_id = args.corp_id
        self.secret_file = args.secret_file
        self.tg_token_file = args.tg_token_file
        self.limit = args.limit
        self.window = args.window
        self.ratelimit_next = 0
        self.reject_next = 0
        self.token_ttl = 7200
        self.tokens = {}            # token -> expired?
        self.sent_times = {}        # robot key -> [times]
        self.reset()

    def reset(self):
        self.robot = []
        self.app = []
        self.telegram = []
        self.robot_attempts = 0
        self.app_attempts = 0
        self.rejected = 0
        self.ratelimited = 0
        self.gettoken_calls = 0
        self.expired_replies = 0

    # The app interface for misbehave.serve().

    def handle(self, method, path, body, label):
        url = urllib.parse.urlsplit(path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(
            url.query, keep_blank_values=True).items()}
        p = url.path.rstrip("/")
        if p == "/cgi-bin/webhook/send" and method == "POST":
            return self.robot_send(q.get("key", ""), body)
        if p == "/cgi-bin/gettoken":
            return self.gettoken(q.get("corpid", ""), q.get("corpsecret", ""))
        if p == "/cgi-bin/message/send" and method == "POST":
            return self.app_send(q.get("access_token", ""), body)
        if p.startswith("/bot") and p.endswith("/sendMessage"):
            return self.tg_send(p[4:-len("/sendMessage")], body)
        return 404, {"errcode": 404, "errmsg": "not found"}

    def wrong_types(self, method, path, body, label):
        return 200, {"errcode": "zero", "errmsg": 0}

    def error(self, code, path):
        return {"errcode": -1, "errmsg": "system error (fake %d)" % code}

    def robot_send(self, key, body):
        try:
            msg = misbehave.json.loads(body or b"{}")
        except ValueError:
            return 200, {"errcode": 40008, "errmsg": "invalid message "
                         "type"}
        now = time.time()
        with self.lock:
            self.robot_attempts += 1
            if key not in read_lines(self.key_file) or self.reject_next > 0:
                if self.reject_next > 0:
                    self.reject_next -= 1
                self.rejected += 1
                return 200, {"errcode": 93000, "errmsg": "invalid webhook "
                             "url, hint: [fake], from ip: 127.0.0.1"}
            times = [t for t in self.sent_times.get(key, [])
                     if now - t < self.window]
            if self.ratelimit_next > 0 or (self.limit > 0 and
                                           len(times) >= self.limit):
                if self.ratelimit_next > 0:
                    self.ratelimit_next -= 1
                self.ratelimited += 1
                return 200, {"errcode": 45009, "errmsg": "api freq out of "
                             "limit"}
            mt = msg.get("msgtype")
            part = msg.get(mt) if isinstance(mt, str) else None
            if not isinstance(part, dict) or \
                    not isinstance(part.get("content"), str):
                return 200, {"errcode": 40008, "errmsg": "invalid message "
                             "type"}
            times.append(now)
            self.sent_times[key] = times
            rec = {"time": now, "msgtype": mt, "content": part["content"]}
            for k in ("mentioned_list", "mentioned_mobile_list"):
                if k in part:
                    rec[k] = part[k]
            self.robot.append(rec)
        return 200, {"errcode": 0, "errmsg": "ok"}

    def gettoken(self, corpid, secret):
        with self.lock:
            self.gettoken_calls += 1
            want = read_lines(self.secret_file)
            if corpid != self.corp_id or not want or secret != want[0]:
                return 200, {"errcode": 40001, "errmsg": "invalid credential"}
            tok = secrets.token_hex(16)
            self.tokens[tok] = False
            return 200, {"errcode": 0, "errmsg": "ok", "access_token": tok,
                         "expires_in": self.token_ttl}

    def app_send(self, token, body):
        with self.lock:
            self.app_attempts += 1
            if token not in self.tokens:
                return 200, {"errcode": 40014, "errmsg": "invalid "
                             "access_token"}
            if self.tokens[token]:
                self.expired_replies += 1
                return 200, {"errcode": 42001, "errmsg": "access_token "
                             "expired"}
            try:
                msg = misbehave.json.loads(body or b"{}")
            except ValueError:
                return 200, {"errcode": 40008, "errmsg": "bad json"}
            mt = msg.get("msgtype")
            part = msg.get(mt) if isinstance(mt, str) else None
            if not isinstance(part, dict) or "agentid" not in msg:
                return 200, {"errcode": 40008, "errmsg": "invalid message"}
            self.app.append({"time": time.time(), "msgtype": mt,
                             "content": part.get("content"),
                             "agentid": msg.get("agentid"),
                             "touser": msg.get("touser"),
                             "toparty": msg.get("toparty")})
        return 200, {"errcode": 0, "errmsg": "ok", "invaliduser": ""}

    def tg_send(self, token, body):
        want = read_lines(self.tg_token_file)
        if not want or token != want[0]:
            return 401, {"ok": False, "error_code": 401,
                         "description": "Unauthorized"}
        try:
            msg = misbehave.json.loads(body or b"{}")
        except ValueError:
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: bad JSON"}
        if "chat_id" not in msg or not isinstance(msg.get("text"), str):
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: chat_id and text"}
        with self.lock:
            self.telegram.append({"time": time.time(),
                                  "chat_id": msg["chat_id"],
                                  "text": msg["text"],
                                  "parse_mode": msg.get("parse_mode")})
            n = len(self.telegram)
        return 200, {"ok": True, "result": {"message_id": n,
                                            "text": msg["text"]}}

    def control(self, params, label):
        with self.lock:
            for k, v in params.items():
                if k == "ratelimit":
                    self.ratelimit_next = int(v)
                elif k == "reject":
                    self.reject_next = int(v)
                elif k == "limit":
                    self.limit = int(v)
                elif k == "window":
                    self.window = float(v)
                elif k == "expire_tokens":
                    for t in self.tokens:
                        self.tokens[t] = True
                elif k == "token_ttl":
                    self.token_ttl = int(v)
                elif k == "reset":
                    self.reset()
                else:
                    raise ValueError("unknown control key %r" % k)

    def state(self):
        with self.lock:
            return {"robot": list(self.robot), "app": list(self.app),
                    "telegram": list(self.telegram),
                    "robot_attempts": self.robot_attempts,
                    "app_attempts": self.app_attempts,
                    "rejected": self.rejected,
                    "ratelimited": self.ratelimited,
                    "gettoken_calls": self.gettoken_calls,
                    "expired_replies": self.expired_replies,
                    "limit": self.limit, "window": self.window,
                    "pid": os.getpid()}


def main():
    rc = misbehave.client_main(sys.argv)
    if rc is not None:
        sys.exit(rc)
    ap = argparse.ArgumentParser(description="fake WeCom for tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--key-file", help="valid robot keys, one a line")
    ap.add_argument("--corp-id", default="ww-fake-corp")
    ap.add_argument("--secret-file", help="the app's corp secret")
    ap.add_argument("--tg-token-file", help="the Telegram bot token")
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--window", type=float, default=60.0)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda s, f: os._exit(0))
    app = WeCom(args)
    srv = misbehave.serve(app, args.host, args.port, "wecom", args.verbose)
    misbehave.announce("fake-wecom", [srv], args.port_file)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()

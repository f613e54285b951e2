#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A webhook receiver for replywatch's delivery tests.

Synopsis
  hook.py [--port N] [--port-file FILE] [--secret-file FILE] [--quiet]
          [--down-fraction F [--seed N] [--down-mean SECONDS]]

It listens on 127.0.0.1 (HTTP/1.1, keep-alive) and takes a POST on any
path outside /_fixture/. With --secret-file, X-Replywatch-Signature must be
"sha256=" and the hex HMAC-SHA256 of the exact body with the file's content
(without trailing line ends, as replywatchd reads it) as the key: a missing or wrong one is
answered 401. A delivery is a request answered 2xx; one whose
Idempotency-Key was delivered before is a duplicate. --port-file gets the
port, written atomically once the server accepts connections.

--down-fraction F (0 <= F < 1, default 0: never) makes the receiver "down"
about that fraction of the time, in random windows (--seed N repeats
them): up and down periods alternate from the start, each drawn from an
exponential distribution, the down ones with mean --down-mean seconds
(default 4, each 0.5 to 20 s), the up ones with mean
down-mean * (1 - F) / F. Each down window picks one way to fail: 503
without Retry-After, 503 or 429 with "Retry-After: 1", or the connection
dropped without an answer (status null in /_fixture/requests). A request
queued with /_fixture/fail goes first. /_fixture/ itself is never down.
In this mode each request also has "down": true or false.

Control API (JSON):
  GET    /_fixture/requests   every request, oldest first: {"time", "path",
                              "key", "event", "signature": "ok" | "bad" |
                              "missing" | "unchecked", "status", "duplicate",
                              "content_type", "body"}
  GET    /_fixture/deliveries {"KEY": number of 2xx answers, ...}
  GET    /_fixture/duplicates [KEY, ...] delivered more than once
  POST   /_fixture/fail       {"status": 503, "times": 2, "retry_after": "1",
                              "body": "..."}: the next "times" requests
                              (default 1) get that answer instead
  DELETE /_fixture/requests   forget everything (requests, faults)
  GET    /_fixture/down       --down-fraction's record: {"fraction",
                              "seed", "elapsed", "down_seconds", "windows",
                              "down_now", "answers": {"503": n, ...}}
"""
import argparse
import hashlib
import hmac
import json
import os
import random
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


DOWN_KINDS = ("503", "503-retry-after", "429-retry-after", "drop")


class Downtime:
    """Alternating up and down windows, drawn as time goes by."""

    def __init__(self, fraction, seed, mean_down):
        self.fraction = fraction
        self.seed = seed
        self.rng = random.Random(seed)
        self.mean_down = mean_down
        self.mean_up = mean_down * (1 - fraction) / fraction
        self.start = time.monotonic()
        self.down = False
        self.kind = None
        self.until = self.start + self.draw_up()
        self.down_seconds = 0.0     # of the windows over
        self.windows = 0
        self.answers = {}

    def draw_up(self):
        return self.rng.expovariate(1 / self.mean_up)

    def draw_down(self):
        return min(20.0, max(0.5, self.rng.expovariate(1 / self.mean_down)))

    def advance(self, now):
        while now >= self.until:
            if self.down:
                self.down, self.kind = False, None
                self.until += self.draw_up()
            else:
                length = self.draw_down()
                self.down, self.kind = True, self.rng.choice(DOWN_KINDS)
                self.windows += 1
                self.down_seconds += length
                self.until += length

    def state(self):
        """The failure to answer with now, or None when up."""
        self.advance(time.monotonic())
        return self.kind if self.down else None

    def record(self):
        now = time.monotonic()
        self.advance(now)
        down = self.down_seconds - (self.until - now if self.down else 0.0)
        return {"fraction": self.fraction, "seed": self.seed,
                "elapsed": round(now - self.start, 3), "down_seconds": round(down, 3),
                "windows": self.windows, "down_now": self.down, "answers": dict(self.answers)}


class State:
    def __init__(self, secret, downtime=None):
        self.secret = secret
        self.downtime = downtime
        self.lock = threading.Lock()
        self.requests = []
        self.delivered = {}
        self.faults = []

    def reset(self):
        self.requests, self.delivered, self.faults = [], {}, []


def signature_state(secret, header, body):
    if secret is None:
        return "unchecked"
    if not header:
        return "missing"
    want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return "ok" if hmac.compare_digest(header.encode(), want.encode()) else "bad"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hook.py"

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("hook: %s\n" % (fmt % args))

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                n = int(self.rfile.readline().split(b";")[0], 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, body=b"", ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        st = self.server.state
        with st.lock:
            if self.path == "/_fixture/requests":
                return self.reply(200, st.requests)
            if self.path == "/_fixture/deliveries":
                return self.reply(200, st.delivered)
            if self.path == "/_fixture/duplicates":
                return self.reply(200, sorted(k for k, n in st.delivered.items() if n > 1))
            if self.path == "/_fixture/down" and st.downtime is not None:
                return self.reply(200, st.downtime.record())
        self.reply(404, {"error": "not found"})

    def do_DELETE(self):
        if self.path == "/_fixture/requests":
            with self.server.state.lock:
                self.server.state.reset()
            return self.reply(200, {})
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        st = self.server.state
        body = self.read_body()
        if self.path == "/_fixture/fail":
            f = json.loads(body or b"{}")
            with st.lock:
                st.faults.append({"status": int(f.get("status", 503)),
                                  "times": int(f.get("times", 1)),
                                  "retry_after": f.get("retry_after"),
                                  "body": f.get("body", "")})
            return self.reply(200, {"pending": len(st.faults)})
        key = self.headers.get("Idempotency-Key")
        sig = signature_state(st.secret, self.headers.get("X-Replywatch-Signature"), body)
        headers = {}
        with st.lock:
            down = None
            if st.faults:
                f = st.faults[0]
                f["times"] -= 1
                if f["times"] <= 0:
                    st.faults.pop(0)
                status, answer = f["status"], f["body"]
                if f["retry_after"] is not None:
                    headers["Retry-After"] = str(f["retry_after"])
            elif st.downtime is not None and st.downtime.state() is not None:
                down = st.downtime.state()
                st.downtime.answers[down] = st.downtime.answers.get(down, 0) + 1
                status = None if down == "drop" else int(down[:3])
                answer = {"error": "down for a while"}
                if down.endswith("retry-after"):
                    headers["Retry-After"] = "1"
            elif sig in ("missing", "bad"):
                status, answer = 401, {"error": "signature " + sig}
            else:
                status, answer = 200, {"ok": True}
            dup = False
            if status is not None and 200 <= status < 300 and key is not None:
                dup = key in st.delivered
                st.delivered[key] = st.delivered.get(key, 0) + 1
            entry = {
                "time": time.time(), "path": self.path, "key": key,
                "event": self.headers.get("X-Replywatch-Event"),
                "signature": sig, "status": status, "duplicate": dup,
                "content_type": self.headers.get("Content-Type"),
                "user_agent": self.headers.get("User-Agent"),
                "body": body.decode("utf-8", "replace")}
            if st.downtime is not None:
                entry["down"] = down is not None
            st.requests.append(entry)
        if status is None:
            return self.drop()
        self.reply(status, answer, headers=headers)

    def drop(self):
        """Close the connection without an answer (a reset: linger 0)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description="webhook receiver for replywatch's tests")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", help="write the port there once listening")
    p.add_argument("--secret-file", help="verify X-Replywatch-Signature with this key")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--down-fraction", type=float, default=0.0,
                   help="be down about this fraction of the time (0: never)")
    p.add_argument("--seed", type=int, help="random seed of the down windows")
    p.add_argument("--down-mean", type=float, default=4.0,
                   help="mean length of a down window in seconds")
    a = p.parse_args()
    if not 0 <= a.down_fraction < 1 or a.down_mean <= 0:
        p.error("--down-fraction must be 0 <= F < 1 and --down-mean > 0")
    downtime = None
    if a.down_fraction > 0:
        seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 31)
        downtime = Downtime(a.down_fraction, seed, a.down_mean)
    secret = None
    if a.secret_file:
        with open(a.secret_file, "rb") as f:
            secret = f.read()
        secret = secret.rstrip(b"\r\n")
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    server.state = State(secret, downtime)
    server.quiet = a.quiet
    if a.port_file:
        write_atomically(a.port_file, "%d\n" % server.server_address[1])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

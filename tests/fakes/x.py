#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A fake X API v2 server: replywatch's fixture for the x connector.

Synopsis
  x.py [--port N] [--port-file FILE] [--token-dir DIR] [--window SECONDS]
       [--dm-limit N] [--limit N] [--access-ttl SECONDS] [--max-page N]
       [--quiet]

It listens on 127.0.0.1 and answers the part of X API v2 replywatch polls
(../shared/api/platform-apis.md, section 1), for one brand, "acme" (user id
1550000000000000001), and its customers:

  GET  /2/users/me
  GET  /2/users/{id}/mentions   since_id until_id start_time end_time
  GET  /2/users/{id}/tweets     max_results (5..100, default 10)
                                pagination_token exclude tweet.fields
                                expansions user.fields
  GET  /2/dm_events             max_results (1..100, default 100)
                                pagination_token event_types
                                dm_event.fields expansions user.fields
  POST /2/oauth2/token          grant_type=refresh_token&refresh_token=
                                &client_id= (form)

Every API request needs "Authorization: Bearer ACCESS" with an access token
the server issued and that has not expired (else 401 with X's Problem
body). The first pair is "at-1"/"rt-1"; --token-dir DIR gets them as
DIR/access.token and DIR/refresh.token (0600). Each refresh token works
once: a refresh answers a new pair (at-N, rt-N, expires_in --access-ttl)
and a used or unknown refresh token gets 400 invalid_request. Results are
newest first; fields are only those asked for (defaults: id, text,
edit_history_tweet_ids; DMs id, event_type, text).

Rate limits: per endpoint, fixed windows of --window seconds (default 900)
from the first request; --dm-limit (default 15) for /2/dm_events,
--limit (default 300) for the others. x-rate-limit-limit, -remaining and
-reset (epoch seconds) on every answer; 429 with X's body past the limit.

Post ids are snowflakes of their created_at: ((ms - 1288834974657) << 22)
| seq, so that a backdated post sorts among older ones.

Control API (no auth; JSON; never counted, logged or faulted):
  POST   /_fixture/tweet   {"from": "dana" | "brand", "text", "created_at"
           (RFC 3339), "in_reply_to": ID, "mention": true}: a post. A
           customer's post mentions the brand unless "mention" is false;
           one that answers the brand's post mentions it anyway.
           -> {"id", "conversation_id", "created_at"}
  POST   /_fixture/dm      {"from": "dana" | "brand", "to": "dana" (from the
           brand), "text", "created_at"} -> {"id", "dm_conversation_id"}
  POST   /_fixture/expire  every access token issued so far expires now
  POST   /_fixture/faults  {"faults": [F...], "path": "/2/dm_events",
           "times": 1}: the next matching API requests (path prefix) take
           the faults in order; F is {"status": N, "body": "..." or JSON,
           "headers": {}} or {"malformed": true} (200, a JSON body cut in
           the middle of an object) or {"garbage": true} (200, HTML)
  DELETE /_fixture/faults
  GET    /_fixture/requests  [{"method", "path", "query", "token", "status",
           "time", "refresh_token" (oauth2/token), "grant"}...]
  DELETE /_fixture/requests
  GET    /_fixture/state   {"access", "refresh", "refreshes", "users"}
"""

import argparse
import json
import math
import os
import re
import signal
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BRAND_ID = "1550000000000000001"
BRAND_NAME = "acme"
TWEPOCH = 1288834974657
CLIENT_ID = "replywatch-test-client"
MAX_PAGE = [100]            # --max-page: a page holds at most that many

UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401,
                "detail": "Unauthorized"}
TOO_MANY = {"title": "Too Many Requests", "detail": "Too Many Requests",
            "type": "about:blank", "status": 429}
NOT_FOUND = {"title": "Not Found Error", "type": "https://api.x.com/2/problems/resource-not-found",
             "status": 404, "detail": "Not found"}
BAD_REFRESH = {"error": "invalid_request",
               "error_description": "Value passed for the token was invalid."}

RFC3339_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?Z$")


def parse_time(text):
    m = RFC3339_RE.match(text or "")
    if m is None:
        raise ValueError("not an RFC 3339 UTC time: %r" % (text,))
    moment = datetime(*[int(g) for g in m.groups()[:6]], tzinfo=timezone.utc)
    return int(moment.timestamp()) * 1000 + int(float(m.group(7) or 0) * 1000)


def iso_ms(ms):
    secs, frac = divmod(int(ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + ".%03dZ" % frac


class Problem(Exception):
    def __init__(self, status, body, headers=()):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = list(headers)


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.users = {BRAND_ID: BRAND_NAME}
        self.by_name = {BRAND_NAME: BRAND_ID}
        self.next_user = 2244994945
        self.seq = 0
        self.tweets = {}            # id -> dict
        self.dms = {}               # id -> dict
        self.access = {"at-1": None}    # token -> expiry (epoch s) or None
        self.refresh = {"rt-1": "valid"}
        self.current = ("at-1", "rt-1")
        self.refreshes = 0
        self.issued = 1
        self.windows = {}           # endpoint -> [start, count]
        self.faults = []
        self.requests = []

    # ---- data
    def user(self, name):
        if name in ("brand", BRAND_NAME):
            return BRAND_ID
        if name not in self.by_name:
            uid = str(self.next_user)
            self.next_user += 7
            self.by_name[name] = uid
            self.users[uid] = name
        return self.by_name[name]

    def new_id(self, ms):
        self.seq = (self.seq + 1) & 0x3fffff
        return str(((ms - TWEPOCH) << 22) | self.seq)

    def add_tweet(self, data):
        ms = parse_time(data["created_at"])
        author = self.user(data.get("from", "brand"))
        tid = self.new_id(ms)
        t = {"id": tid, "text": data.get("text", "hello"), "author_id": author,
             "created_at": iso_ms(ms), "conversation_id": tid,
             "edit_history_tweet_ids": [tid]}
        parent = self.tweets.get(data.get("in_reply_to"))
        if data.get("in_reply_to") is not None and parent is None:
            raise Problem(400, {"error": "no such post"})
        mention = author != BRAND_ID and data.get("mention", True)
        if parent is not None:
            t["conversation_id"] = parent["conversation_id"]
            t["referenced_tweets"] = [{"type": "replied_to", "id": parent["id"]}]
            t["in_reply_to_user_id"] = parent["author_id"]
            if not t["text"].startswith("@"):
                t["text"] = "@%s %s" % (self.users[parent["author_id"]], t["text"])
            if parent["author_id"] == BRAND_ID and author != BRAND_ID:
                mention = True
        if mention and "@" + BRAND_NAME not in t["text"]:
            t["text"] = "@%s %s" % (BRAND_NAME, t["text"])
        t["_mentions_brand"] = author != BRAND_ID and mention
        self.tweets[tid] = t
        return {"id": tid, "conversation_id": t["conversation_id"], "created_at": t["created_at"]}

    def add_dm(self, data):
        ms = parse_time(data["created_at"])
        sender = self.user(data.get("from", "brand"))
        other = self.user(data["to"]) if sender == BRAND_ID else BRAND_ID
        if other == sender:
            raise Problem(400, {"error": "a DM needs two people"})
        a, b = sorted([sender, other], key=int)
        did = self.new_id(ms)
        e = {"id": did, "event_type": "MessageCreate", "text": data.get("text", "hi"),
             "sender_id": sender, "dm_conversation_id": "%s-%s" % (a, b),
             "created_at": iso_ms(ms), "participant_ids": [a, b]}
        self.dms[did] = e
        return {"id": did, "dm_conversation_id": e["dm_conversation_id"]}

    # ---- tokens
    def check_token(self, header):
        if not header or not header.startswith("Bearer "):
            raise Problem(401, UNAUTHORIZED)
        token = header[7:]
        if token not in self.access:
            raise Problem(401, UNAUTHORIZED)
        exp = self.access[token]
        if exp is not None and time.time() >= exp:
            raise Problem(401, UNAUTHORIZED)
        return token

    def do_refresh(self, form):
        if form.get("grant_type") != "refresh_token":
            raise Problem(400, {"error": "unsupported_grant_type",
                                "error_description": "grant_type"})
        if form.get("client_id") != CLIENT_ID:
            raise Problem(401, {"error": "invalid_client",
                                "error_description": "Missing valid authorization header"})
        rt = form.get("refresh_token")
        if self.refresh.get(rt) != "valid":
            raise Problem(400, BAD_REFRESH)
        self.refresh[rt] = "used"
        self.issued += 1
        at, new_rt = "at-%d" % self.issued, "rt-%d" % self.issued
        self.access[at] = time.time() + self.args.access_ttl
        self.refresh[new_rt] = "valid"
        self.current = (at, new_rt)
        self.refreshes += 1
        return {"token_type": "bearer", "expires_in": self.args.access_ttl,
                "access_token": at, "scope": "tweet.read users.read dm.read offline.access",
                "refresh_token": new_rt}

    # ---- rate limits
    def count(self, endpoint):
        limit = self.args.dm_limit if endpoint == "dm" else self.args.limit
        now = time.time()
        w = self.windows.get(endpoint)
        if w is None or now >= w[0] + self.args.window:
            w = self.windows[endpoint] = [now, 0]
        w[1] += 1
        reset = int(math.ceil(w[0] + self.args.window))
        headers = [("x-rate-limit-limit", str(limit)),
                   ("x-rate-limit-remaining", str(max(0, limit - w[1]))),
                   ("x-rate-limit-reset", str(reset))]
        if w[1] > limit:
            raise Problem(429, TOO_MANY, headers)
        return headers


def fields(obj, wanted, default):
    keep = set(default) | set(wanted)
    return {k: v for k, v in obj.items() if k in keep and not k.startswith("_")}


def csv(query, name):
    return [x for v in query.get(name, []) for x in v.split(",") if x]


def one(query, name):
    v = query.get(name)
    return v[-1] if v else None


def check_id(query, name):
    v = one(query, name)
    if v is not None and not re.fullmatch(r"[0-9]{1,19}", v):
        raise Problem(400, {"title": "Invalid Request", "status": 400, "type": "about:blank",
                            "detail": "The `%s` query parameter value [%s] is not valid" % (name, v)})
    return v


def page_of(items, query, default_max, lo, hi):
    """items sorted newest first; the page after pagination_token."""
    n = one(query, "max_results")
    n = int(n) if n is not None else default_max
    if not lo <= n <= hi:
        raise Problem(400, {"title": "Invalid Request", "status": 400, "type": "about:blank",
                            "detail": "max_results out of range"})
    n = min(n, MAX_PAGE[0])
    token = one(query, "pagination_token")
    if token is not None:
        m = re.fullmatch(r"pt([0-9]{1,19})x{0,16}", token)
        if m is None:
            raise Problem(400, {"title": "Invalid Request", "status": 400, "type": "about:blank",
                                "detail": "The `pagination_token` query parameter value "
                                          "[%s] is not valid" % token})
        below = int(m.group(1))
        items = [i for i in items if int(i["id"]) < below]
    page = items[:n]
    more = len(items) > n
    return page, ("pt%s" % page[-1]["id"]).ljust(20, "x") if more else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-x/1"

    def log_message(self, fmt, *args):
        if not self.server.args.quiet:
            sys.stderr.write("x.py: " + (fmt % args) + "\n")

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_DELETE(self):
        self.route("DELETE")

    def send(self, status, body, headers=(), raw=None, ctype="application/json"):
        data = raw if raw is not None else json.dumps(body).encode()
        if status >= 400 and raw is None and ctype == "application/json" and "title" in body:
            ctype = "application/problem+json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def route(self, method):
        st = self.server.state
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path.startswith("/_fixture/"):
            try:
                with st.lock:
                    out = self.fixture(method, url.path, body)
                self.send(200, out)
            except Problem as p:
                self.send(p.status, p.body)
            except (ValueError, KeyError, TypeError) as e:
                self.send(400, {"error": str(e)})
            return
        query = parse_qs(url.query, keep_blank_values=True)
        entry = {"method": method, "path": url.path, "query": url.query, "token": None,
                 "status": None, "time": time.time()}
        with st.lock:
            st.requests.append(entry)
            fault = None
            for f in st.faults:
                if url.path.startswith(f.get("path", "")):
                    fault = f
                    break
            if fault is not None:
                fault["times"] = fault.get("times", 1) - 1
                if fault["times"] <= 0:
                    st.faults.remove(fault)
            try:
                status, out, headers, raw = self.api(method, url.path, query, body, entry, fault)
            except Problem as p:
                status, out, headers, raw = p.status, p.body, p.headers, None
            entry["status"] = status
        self.send(status, out, headers, raw)

    def fixture(self, method, path, body):
        st = self.server.state
        data = json.loads(body) if body else {}
        if method == "POST" and path == "/_fixture/tweet":
            return st.add_tweet(data)
        if method == "POST" and path == "/_fixture/dm":
            return st.add_dm(data)
        if method == "POST" and path == "/_fixture/expire":
            for t in st.access:
                st.access[t] = time.time() - 1
            return {"expired": len(st.access)}
        if method == "POST" and path == "/_fixture/faults":
            for f in data["faults"]:
                f.setdefault("path", data.get("path", ""))
                f.setdefault("times", data.get("times", 1))
                st.faults.append(f)
            return {"pending": len(st.faults)}
        if method == "DELETE" and path == "/_fixture/faults":
            st.faults = []
            return {"pending": 0}
        if method == "GET" and path == "/_fixture/requests":
            return st.requests
        if method == "DELETE" and path == "/_fixture/requests":
            st.requests = []
            return {}
        if method == "GET" and path == "/_fixture/state":
            return {"access": st.current[0], "refresh": st.current[1],
                    "refreshes": st.refreshes, "users": st.users}
        raise Problem(404, {"error": "no such fixture call"})

    def api(self, method, path, query, body, entry, fault):
        st = self.server.state
        if method == "POST" and path == "/2/oauth2/token":
            form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
            entry["refresh_token"] = form.get("refresh_token")
            entry["grant"] = form.get("grant_type")
            return 200, st.do_refresh(form), [], None
        if method != "GET":
            raise Problem(405, {"title": "Method Not Allowed", "status": 405,
                                "type": "about:blank", "detail": method})
        entry["token"] = st.check_token(self.headers.get("Authorization"))
        if path == "/2/users/me":
            endpoint = "me"
        elif path == "/2/dm_events":
            endpoint = "dm"
        elif re.fullmatch(r"/2/users/[0-9]+/(mentions|tweets)", path):
            endpoint = path.rsplit("/", 1)[1]
        else:
            raise Problem(404, NOT_FOUND)
        headers = st.count(endpoint)
        if fault is not None:
            if fault.get("malformed"):
                return 200, None, headers, b'{"data":[{"id":"1","text":"cut'
            if fault.get("garbage"):
                return 200, None, headers, b"<html>oops</html>"
            if "status" in fault:
                extra = list(fault.get("headers", {}).items())
                b = fault.get("body", TOO_MANY if fault["status"] == 429 else UNAUTHORIZED)
                raw = b.encode() if isinstance(b, str) else None
                return fault["status"], b, headers + extra, raw
        if endpoint == "me":
            return 200, {"data": {"id": BRAND_ID, "name": "Acme Support",
                                  "username": BRAND_NAME}}, headers, None
        if endpoint == "dm":
            return 200, self.dm_events(query), headers, None
        uid = path.split("/")[3]
        return 200, self.timeline(uid, endpoint, query), headers, None

    def includes(self, items, key, query):
        if key not in csv(query, "expansions"):
            return {}
        st = self.server.state
        ids = []
        for i in items:
            if i.get(key) and i[key] not in ids:
                ids.append(i[key])
        users = [{"id": u, "name": st.users[u].title(), "username": st.users[u]} for u in ids]
        return {"includes": {"users": users}} if users else {}

    def timeline(self, uid, endpoint, query):
        st = self.server.state
        since, until = check_id(query, "since_id"), check_id(query, "until_id")
        start, end = one(query, "start_time"), one(query, "end_time")
        items = []
        for t in st.tweets.values():
            if endpoint == "mentions" and not (t["_mentions_brand"] and uid == BRAND_ID):
                continue
            if endpoint == "tweets" and t["author_id"] != uid:
                continue
            if since is not None and int(t["id"]) <= int(since):
                continue
            if until is not None and int(t["id"]) >= int(until):
                continue
            ms = parse_time(t["created_at"])
            if start is not None and ms < parse_time(start):
                continue
            if end is not None and ms > parse_time(end):
                continue
            items.append(t)
        items.sort(key=lambda t: int(t["id"]), reverse=True)
        page, nxt = page_of(items, query, 10, 5, 100)
        wanted = csv(query, "tweet.fields")
        data = [fields(t, wanted, ["id", "text", "edit_history_tweet_ids"]) for t in page]
        return self.wrap(data, page, nxt, "author_id", query)

    def dm_events(self, query):
        st = self.server.state
        types = csv(query, "event_types") or ["MessageCreate", "ParticipantsJoin",
                                              "ParticipantsLeave"]
        items = [e for e in st.dms.values() if e["event_type"] in types]
        items.sort(key=lambda e: int(e["id"]), reverse=True)
        page, nxt = page_of(items, query, 100, 1, 100)
        wanted = csv(query, "dm_event.fields")
        data = [fields(e, wanted, ["id", "event_type", "text"]) for e in page]
        return self.wrap(data, page, nxt, "sender_id", query)

    def wrap(self, data, page, nxt, key, query):
        out = {}
        meta = {"result_count": len(data)}
        if data:
            out["data"] = data
            out.update(self.includes(page, key, query))
            if key == "author_id":
                meta["newest_id"] = page[0]["id"]
                meta["oldest_id"] = page[-1]["id"]
        if nxt is not None:
            meta["next_token"] = nxt
        out["meta"] = meta
        return out


def write_secret(path, text):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description="A fake X API v2 server for replywatch.")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--token-dir")
    ap.add_argument("--window", type=float, default=900.0,
                    help="rate-limit window in seconds (default 900)")
    ap.add_argument("--dm-limit", type=int, default=15)
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--access-ttl", type=int, default=7200)
    ap.add_argument("--max-page", type=int, default=100,
                    help="at most this many items a page, whatever max_results says")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    MAX_PAGE[0] = args.max_page

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.args = args
    server.state = State(args)
    if args.token_dir:
        os.makedirs(args.token_dir, mode=0o700, exist_ok=True)
        write_secret(os.path.join(args.token_dir, "access.token"), "at-1")
        write_secret(os.path.join(args.token_dir, "refresh.token"), "rt-1")
    stop = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % server.server_address[1])
        os.replace(tmp, args.port_file)
    stop.wait()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

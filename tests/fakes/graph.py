#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A fake Meta Graph API: replywatch's fixture for the facebook and instagram
connectors (../shared/api/platform-apis.md, sections 2 and 3).

Synopsis
  graph.py [--port N] [--port-file FILE] [--token-file-dir DIR] [--quiet]

It listens on 127.0.0.1 and answers, under any version prefix (/v21.0/):

  GET /{page}/conversations  platform=messenger|instagram, limit, after
  GET /{conversation}/messages              limit, after (newest first)
  GET /{page}/feed                          limit, after (newest first)
  GET /{post}/comments       since (Unix s), limit, after; a Facebook post's
                             comments come newest first with parent{id}; an
                             Instagram media's top-level comments with their
                             replies embedded, oldest first
  GET /{page}/tagged, /{ig}/media, /{ig}/tags   limit, after (newest first)

One page, PAGE_ID, with its Instagram account IG_ID (username "acme"); both
are the brand and answer to the token "token-page" (--token-file-dir writes
it to DIR/page.token, mode 0600). Another token, or none, gets the Graph
error body of code 190. Pages carry paging.cursors and, when there is more,
paging.next with the access token in it, as Graph does. Times are ISO 8601
with "+0000".

Control API (no token; JSON; never logged or faulted):
  POST /_fixture/message  {"platform": "messenger"|"instagram",
           "conversation": "t_1", "from": "brand"|NAME, "text": "...",
           "created_time": "RFC 3339"}       -> {"id", "conversation"}
         the conversation is created on first use; its updated_time is
         its newest message's
  POST /_fixture/post     {"edge": "feed"|"tagged"|"media"|"tags",
           "from": "brand"|NAME, "text", "created_time"}     -> {"id"}
  POST /_fixture/comment  {"on": POST_ID, "parent": COMMENT_ID (optional),
           "from", "text", "created_time"}   -> {"id"}
         a Facebook post's updated_time becomes its newest comment's
  message, post and comment also take a list of such objects, stored at
  once (no poll sees part of them)   -> {"ids": [...]}
  POST /_fixture/usage    {"app": {...}|null, "business": {...}|null,
           "page": {...}|null}   the X-App-Usage, X-Business-Use-Case-Usage
         and X-Page-Usage headers of every answer from now on (null: none)
  POST /_fixture/faults   {"faults": [F...], "path": "/v21.0/...",
           "times": 1}   each API request whose path starts with "path"
         uses up the oldest matching fault; F is
           {"status": 400, "body": {...} or "...", "headers": {...}}
           {"delay": 2.0}   {"reset": true}   {"truncate": true} (the
           connection closed halfway through the body)   {"cut": true}
           (the answer whole as HTTP, its JSON cut in the middle)
  DELETE /_fixture/faults
  GET    /_fixture/requests  [{"method", "path", "query", "token",
           "status", "time"}...]
  DELETE /_fixture/requests
"""

import argparse
import base64
import calendar
import json
import os
import re
import signal
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

PAGE_ID = "111222333444555"
PAGE_NAME = "Acme"
IG_ID = "17841405309211844"
IG_USERNAME = "acme"
TOKEN = "token-page"
VERSION = re.compile(r"^/v\d+\.\d+/")


def iso(secs):
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(int(secs)))


def parse_time(text):
    if text is None:
        return int(time.time())
    if isinstance(text, (int, float)):
        return int(text)
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)", text)
    if not m:
        raise ValueError("not a time: %r" % text)
    secs = calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
    zone = m.group(7)
    if zone != "Z":
        sign = -1 if zone[0] == "+" else 1
        hh, mm = int(zone[1:3]), int(zone[-2:])
        secs += sign * (hh * 3600 + mm * 60)
    return secs


class HttpError(Exception):
    def __init__(self, status, body):
        super().__init__(str(body))
        self.status = status
        self.body = body


def graph_error(status, code, message, subcode=None, kind="OAuthException"):
    err = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGh123"}
    if subcode is not None:
        err["error_subcode"] = subcode
    return HttpError(status, {"error": err})


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.seq = 1000
        self.users = {}                 # name -> id
        self.conversations = {}         # id -> {"platform", "messages": []}
        self.posts = {}                 # id -> post dict
        self.comments = {}              # id -> comment dict

    def next_id(self):
        self.seq += 1
        return self.seq

    def author(self, name, instagram):
        if name == "brand":
            return {"id": IG_ID, "username": IG_USERNAME} if instagram else \
                {"id": PAGE_ID, "name": PAGE_NAME}
        if not isinstance(name, str) or not re.fullmatch(r"[\w.]{1,30}", name):
            raise HttpError(400, {"fixture": '"from" must be "brand" or a user name'})
        uid = self.users.setdefault(name, str(6500000000000000 + len(self.users) + 1))
        return {"id": uid, "username": name} if instagram else {"id": uid, "name": name}

    def add_message(self, data):
        platform = data.get("platform", "messenger")
        if platform not in ("messenger", "instagram"):
            raise HttpError(400, {"fixture": "platform: messenger or instagram"})
        conv_id = data.get("conversation") or "t_%d" % self.next_id()
        conv = self.conversations.setdefault(conv_id, {"platform": platform, "messages": []})
        if conv["platform"] != platform:
            raise HttpError(400, {"fixture": "the conversation is of another platform"})
        msg = {"id": "m_%d" % self.next_id(), "created": parse_time(data.get("created_time")),
               "from": self.author(data.get("from", "dana"), platform == "instagram"),
               "message": data.get("text", "Hello?")}
        conv["messages"].append(msg)
        conv["messages"].sort(key=lambda m: -m["created"])
        return {"id": msg["id"], "conversation": conv_id}

    def add_post(self, data):
        edge = data.get("edge", "feed")
        if edge not in ("feed", "tagged", "media", "tags"):
            raise HttpError(400, {"fixture": "edge: feed, tagged, media or tags"})
        instagram = edge in ("media", "tags")
        created = parse_time(data.get("created_time"))
        num = self.next_id()
        post = {"id": str(num) if instagram else "%s_%d" % (PAGE_ID, num), "edge": edge,
                "created": created, "updated": created,
                "from": self.author(data.get("from", "brand" if edge == "media" else "dana"),
                                    instagram),
                "text": data.get("text", "Summer sale starts today!"), "comments": []}
        self.posts[post["id"]] = post
        return {"id": post["id"]}

    def add_comment(self, data):
        post = self.posts.get(data.get("on"))
        if post is None:
            raise HttpError(400, {"fixture": "on: no such post"})
        instagram = post["edge"] in ("media", "tags")
        parent = data.get("parent")
        if parent is not None and parent not in self.comments:
            raise HttpError(400, {"fixture": "parent: no such comment"})
        created = parse_time(data.get("created_time"))
        num = self.next_id()
        comment = {"id": str(num) if instagram else "%s_%d" % (post["id"].split("_")[-1], num),
                   "post": post["id"], "parent": parent, "created": created,
                   "from": self.author(data.get("from", "dana"), instagram),
                   "text": data.get("text", "my order never arrived")}
        self.comments[comment["id"]] = comment
        post["comments"].append(comment)
        post["updated"] = max(post["updated"], created)
        return {"id": comment["id"]}


class FaultQueue:
    def __init__(self):
        self.lock = threading.Lock()
        self.entries = []

    def add(self, faults, path, times):
        with self.lock:
            for f in faults:
                self.entries.append([f, f.get("path", path), f.get("times", times)])
            return len(self.entries)

    def take(self, path):
        with self.lock:
            for entry in self.entries:
                if entry[1] and not path.startswith(entry[1]):
                    continue
                entry[2] -= 1
                if entry[2] <= 0:
                    self.entries.remove(entry)
                return entry[0]
            return None

    def clear(self):
        with self.lock:
            n = len(self.entries)
            self.entries.clear()
            return n


class App:
    def __init__(self, quiet):
        self.store = Store()
        self.faults = FaultQueue()
        self.requests = []
        self.rlock = threading.Lock()
        self.usage = {"app": None, "business": None, "page": None}
        self.quiet = quiet
        self.origin = None

    # ---- pages

    def paged(self, path, query, items, render):
        """A page of items (already ordered) from the "after" cursor."""
        try:
            limit = max(1, min(100, int(query.get("limit", ["25"])[-1])))
        except ValueError:
            raise graph_error(400, 100, "(#100) The parameter limit must be a number")
        start = 0
        if "after" in query:
            try:
                start = int(base64.urlsafe_b64decode(query["after"][-1].encode()).decode())
            except (ValueError, UnicodeDecodeError):
                raise graph_error(400, 100, "(#100) Invalid cursor")
        chunk = items[start:start + limit]
        out = {"data": [render(x) for x in chunk]}
        if chunk:
            enc = lambda n: base64.urlsafe_b64encode(str(n).encode()).decode()
            out["paging"] = {"cursors": {"before": enc(start), "after": enc(start + len(chunk))}}
            if start + len(chunk) < len(items):
                q = {k: v[-1] for k, v in query.items() if k != "after"}
                q["after"] = enc(start + len(chunk))
                out["paging"]["next"] = "%s%s?%s" % (self.origin, path, "&".join(
                    "%s=%s" % (k, quote(v, safe=",{}().")) for k, v in q.items()))
        return out

    def api(self, path, query):
        m = VERSION.match(path)
        if not m:
            raise graph_error(400, 2500, "Unknown path components: %s" % path)
        parts = path[m.end():].split("/")
        if len(parts) != 2:
            raise graph_error(400, 2500, "Unknown path components: %s" % path)
        node, edge = parts
        token = query.get("access_token", [None])[-1]
        if token is None:
            raise graph_error(400, 2500, "An active access token must be used to query "
                              "information about the current user.")
        if token != TOKEN:
            raise graph_error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        s = self.store
        with s.lock:
            if node == PAGE_ID and edge == "conversations":
                platform = query.get("platform", ["messenger"])[-1].lower()
                convs = sorted(((cid, c) for cid, c in s.conversations.items()
                                if c["platform"] == platform and c["messages"]),
                               key=lambda x: -x[1]["messages"][0]["created"])
                return self.paged(path, query, convs, lambda x: {
                    "id": x[0], "updated_time": iso(x[1]["messages"][0]["created"]),
                    "message_count": len(x[1]["messages"])})
            if edge == "messages" and node in s.conversations:
                return self.paged(path, query, s.conversations[node]["messages"], lambda x: {
                    "id": x["id"], "created_time": iso(x["created"]), "from": x["from"],
                    "message": x["message"]})
            if (node, edge) in ((PAGE_ID, "feed"), (PAGE_ID, "tagged"), (IG_ID, "media"),
                                (IG_ID, "tags")):
                want = edge
                posts = sorted((p for p in s.posts.values() if p["edge"] == want),
                               key=lambda p: -p["created"])
                return self.paged(path, query, posts, lambda p: self.render_post(p))
            if edge == "comments" and node in s.posts:
                return self.comments(path, query, s.posts[node])
        raise graph_error(400, 100, "(#100) Tried accessing nonexisting field (%s)" % edge,
                          subcode=33)

    @staticmethod
    def render_post(p):
        if p["edge"] in ("media", "tags"):
            out = {"id": p["id"], "timestamp": iso(p["created"]), "caption": p["text"],
                   "permalink": "https://www.instagram.com/p/%s/" % p["id"]}
            if p["edge"] == "media":
                out["comments_count"] = len(p["comments"])
            else:
                out["username"] = p["from"]["username"]
            return out
        return {"id": p["id"], "created_time": iso(p["created"]), "updated_time": iso(p["updated"]),
                "message": p["text"], "from": p["from"],
                "permalink_url": "https://www.facebook.com/%s" % p["id"].replace("_", "/posts/")}

    def comments(self, path, query, post):
        if post["edge"] in ("media", "tags"):
            def ig(c):
                return {"id": c["id"], "text": c["text"], "timestamp": iso(c["created"]),
                        "username": c["from"]["username"], "from": c["from"],
                        **({"parent_id": c["parent"]} if c["parent"] else {})}
            top = sorted((c for c in post["comments"] if not c["parent"]),
                         key=lambda c: c["created"])

            def render(c):
                out = ig(c)
                replies = sorted((r for r in post["comments"] if r["parent"] == c["id"]),
                                 key=lambda r: r["created"])
                if replies:
                    out["replies"] = {"data": [ig(r) for r in replies]}
                return out
            return self.paged(path, query, top, render)
        items = post["comments"]
        if "since" in query:
            try:
                since = int(query["since"][-1])
            except ValueError:
                since = parse_time(query["since"][-1])
            items = [c for c in items if c["created"] >= since]
        items = sorted(items, key=lambda c: -c["created"])

        def fb(c):
            out = {"id": c["id"], "created_time": iso(c["created"]), "from": c["from"],
                   "message": c["text"]}
            if c["parent"]:
                out["parent"] = {"id": c["parent"]}
            return out
        return self.paged(path, query, items, fb)

    def usage_headers(self):
        names = {"app": "X-App-Usage", "business": "X-Business-Use-Case-Usage",
                 "page": "X-Page-Usage"}
        return [(names[k], json.dumps(v, separators=(",", ":")))
                for k, v in self.usage.items() if v is not None]

    # ---- control

    def fixture(self, method, name, body):
        s = self.store
        if method == "POST":
            try:
                data = json.loads(body or b"{}")
            except ValueError as error:
                raise HttpError(400, {"fixture": "bad JSON: %s" % error})
            adders = {"message": s.add_message, "post": s.add_post,
                      "comment": s.add_comment}
            try:
                with s.lock:
                    if name in adders and isinstance(data, list):
                        return {"ids": [adders[name](x)["id"] for x in data]}
                    if name in adders:
                        return adders[name](data)
            except ValueError as error:
                raise HttpError(400, {"fixture": str(error)})
            if name == "usage":
                for k in ("app", "business", "page"):
                    if k in data:
                        self.usage[k] = data[k]
                return self.usage
            if name == "faults":
                faults = data.get("faults")
                if isinstance(faults, dict):
                    faults = [faults]
                if not isinstance(faults, list) or not faults:
                    raise HttpError(400, {"fixture": '"faults" must be a non-empty list'})
                return {"pending": self.faults.add(faults, data.get("path"),
                                                   data.get("times", 1))}
        elif method == "GET" and name == "requests":
            with self.rlock:
                return list(self.requests)
        elif method == "DELETE" and name == "requests":
            with self.rlock:
                n = len(self.requests)
                self.requests.clear()
            return {"cleared": n}
        elif method == "DELETE" and name == "faults":
            return {"cleared": self.faults.clear()}
        raise HttpError(404, {"fixture": "no fixture endpoint %s %s" % (method, name)})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeGraph/1.0"

    def log_message(self, fmt, *args):
        if not self.server.app.quiet:
            sys.stderr.write("graph.py: " + fmt % args + "\n")

    def send(self, status, body, headers=(), truncate=False, cut=False):
        data = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode())
        if cut:
            data = data[:len(data) // 2]
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, str(v))
        self.end_headers()
        if truncate:
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data)

    def handle_any(self, method):
        app = self.server.app
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path.startswith("/_fixture/"):
            try:
                self.send(200, app.fixture(method, url.path[len("/_fixture/"):].strip("/"), body))
            except HttpError as error:
                self.send(error.status, error.body)
            return
        query = parse_qs(url.query)
        entry = {"method": method, "path": url.path,
                 "query": re.sub(r"access_token=[^&]*", "access_token=-", url.query),
                 "token": query.get("access_token", [None])[-1], "status": None,
                 "time": round(time.time(), 3)}
        with app.rlock:
            app.requests.append(entry)
        headers = app.usage_headers()
        fault = app.faults.take(url.path)
        if fault is not None:
            if "delay" in fault:
                time.sleep(float(fault["delay"]))
            if fault.get("reset"):
                entry["status"] = 0
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if "status" in fault:
                entry["status"] = fault["status"]
                self.send(fault["status"], fault.get("body", ""),
                          headers + list(fault.get("headers", {}).items()))
                return
        try:
            if method != "GET":
                raise graph_error(400, 100, "(#100) Unsupported method")
            answer, status = app.api(url.path, query), 200
        except HttpError as error:
            answer, status = error.body, error.status
        entry["status"] = status
        self.send(status, answer, headers, truncate=bool(fault and fault.get("truncate")),
                  cut=bool(fault and fault.get("cut")))

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app):
        self.app = app
        super().__init__(("127.0.0.1", 0), Handler)

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def write_atomically(path, text, mode=0o644):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description="A fake Graph API for replywatch.")
    parser.add_argument("--port-file", help="write the port there once listening")
    parser.add_argument("--token-file-dir", help="write the page token to DIR/page.token")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    app = App(args.quiet)
    if args.token_file_dir:
        os.makedirs(args.token_file_dir, mode=0o700, exist_ok=True)
        write_atomically(os.path.join(args.token_file_dir, "page.token"), TOKEN + "\n", 0o600)
    server = Server(app)
    port = server.server_address[1]
    app.origin = "http://127.0.0.1:%d" % port
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    if args.port_file:
        write_atomically(args.port_file, "%d\n" % port)
    stop.wait()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

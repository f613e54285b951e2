#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A fake LinkedIn Community Management API: replywatch's test fixture.

Synopsis
  linkedin.py [--port N] [--port-file FILE] [--token-file-dir DIR]
              [--org ID] [--quiet]

It listens on 127.0.0.1 and answers the part of the API replywatch polls
(../shared/api/platform-apis.md, section 4), for one organization (default
2414183) whose token is "token-linkedin" (--token-file-dir writes it to
DIR/linkedin.token, mode 0600). --port-file gets the port once the server
accepts connections.

  GET /rest/posts?q=author&author={org URN}&start&count (default 10)
  GET /rest/socialActions/{post or comment URN}/comments?start&count
  GET /rest/organizationalEntityNotifications?q=criteria
        &organizationalEntity={org URN}&actions=List(A,B)
        &timeRange=(start:MS,end:MS)&start&count

Like LinkedIn, every request needs "Authorization: Bearer TOKEN" (401 with
LinkedIn's error body otherwise), "LinkedIn-Version: YYYYMM" and
"X-Restli-Protocol-Version: 2.0.0" (400 otherwise); URNs in the query must
be percent-encoded and Rest.li's List(...) and (k:v) must not be (400).
Posts come newest first; a post's comments, replies included (with
parentComment), oldest first; notifications of a time range newest first.
Lists have "paging" with start, count, total and a rel="next" link.

Control API (no auth; JSON bodies; never logged or faulted):
  POST   /_fixture/post     {"created": MS, "text": "..."}
                            -> {"id": "urn:li:share:N", "activity": URN}
  POST   /_fixture/comment  {"post": URN, "from": "member NAME" | "org",
                             "created": MS, "text": "...", "parent": URN}
                            -> {"id": "urn:li:comment:(ACTIVITY,N)"}
  POST   /_fixture/mention  {"created": MS, "action": "SHARE_MENTION",
                             "from": "NAME"} -> {"id": post URN}; or a list
                            of them, stored at once -> {"ids": [...]}
  POST   /_fixture/token    {"expired": true|false}: 401 for every request
  POST   /_fixture/faults   {"faults": [F...], "path": "/rest/posts",
                             "times": 1}; F: {"status": N, "headers": {},
                             "body": str or JSON} | {"delay": s} |
                             {"truncate": true} (the connection closed
                             halfway through the body) | {"cut": true} (the
                             answer whole as HTTP, its JSON cut in the
                             middle) | {"wrong_types": true}
  DELETE /_fixture/faults
  GET    /_fixture/requests [{"method", "path", "query", "version",
                             "restli", "status", "time"}...]
"""

import argparse
import json
import os
import re
import signal
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

TOKEN = "token-linkedin"
EXPIRED = {"status": 401, "serviceErrorCode": 65600, "code": "INVALID_ACCESS_TOKEN",
           "message": "Invalid access token"}
NO_TOKEN = {"status": 401, "serviceErrorCode": 65604, "code": "EMPTY_ACCESS_TOKEN",
            "message": "Empty oauth2 access token"}
THROTTLED = {"serviceErrorCode": 101, "status": 429,
             "message": "Resource level throttle limit for calls to this resource is reached."}
VERSION_RE = re.compile(r"^20\d\d(0[1-9]|1[0-2])(\.\d\d)?$")
RANGE_RE = re.compile(r"^\(start:(\d+),end:(\d+)\)$")
LIST_RE = re.compile(r"^List\(([A-Z_]+(,[A-Z_]+)*)\)$")


def error(status, message, code=None):
    body = {"status": status, "message": message}
    if code:
        body["code"] = code
    return status, body, {}


class Store:
    def __init__(self, org):
        self.lock = threading.Lock()
        self.org = "urn:li:organization:%s" % org
        self.seq = 7361000000000000000
        self.posts = []                 # dicts, in creation order
        self.comments = []
        self.notifications = []
        self.expired = False

    def next_id(self):
        self.seq += 1
        return self.seq

    def add_post(self, created, text):
        post = {"id": "urn:li:share:%d" % self.next_id(), "author": self.org,
                "commentary": text, "visibility": "PUBLIC", "lifecycleState": "PUBLISHED",
                "createdAt": created, "publishedAt": created, "lastModifiedAt": created,
                "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                                 "thirdPartyDistributionChannels": []},
                "isReshareDisabledByAuthor": False}
        post["_activity"] = "urn:li:activity:%d" % self.next_id()
        self.posts.append(post)
        return post

    def post_of(self, urn):
        for post in self.posts:
            if urn in (post["id"], post["_activity"]):
                return post
        return None

    def add_comment(self, post, actor, created, text, parent):
        num = self.next_id()
        urn = "urn:li:comment:(%s,%d)" % (post["_activity"], num)
        person = "urn:li:person:AdminPerson01" if actor == self.org else actor
        comment = {"$URN": urn, "id": str(num), "commentUrn": urn, "actor": actor,
                   "object": post["_activity"], "message": {"text": text, "attributes": []},
                   "created": {"actor": person, "time": created},
                   "lastModified": {"actor": person, "time": created}}
        if actor == self.org:
            comment["agent"] = person
        if parent:
            comment["parentComment"] = parent
        comment["_post"] = post["id"]
        self.comments.append(comment)
        return comment

    def add_mention(self, created, action, actor):
        source = "urn:li:share:%d" % self.next_id()
        note = {"action": action, "organizationalEntity": self.org, "sourcePost": source,
                "generatedActivity": "urn:li:activity:%d" % self.next_id(),
                "lastModifiedAt": created}
        if actor:
            note["actor"] = actor
        self.notifications.append(note)
        return note


def public(item):
    return {k: v for k, v in item.items() if not k.startswith("_")}


def paged(items, query, default_count, path, raw_query):
    try:
        start = int(query.get("start", ["0"])[-1])
        count = int(query.get("count", [str(default_count)])[-1])
    except ValueError:
        return error(400, "start and count must be integers", "ILLEGAL_ARGUMENT")
    if start < 0 or not 1 <= count <= 100:
        return error(400, "start must be >= 0 and count 1..100", "ILLEGAL_ARGUMENT")
    page = items[start:start + count]
    links = []
    if start + count < len(items):
        rest = re.sub(r"(^|&)start=\d+", "", raw_query).lstrip("&")
        links.append({"type": "application/json", "rel": "next",
                      "href": "%s?%s&start=%d" % (path, rest, start + count)})
    return 200, {"paging": {"start": start, "count": count, "total": len(items),
                            "links": links},
                 "elements": [public(x) for x in page]}, {}


class Api:
    def __init__(self, store):
        self.store = store

    def answer(self, path, raw_query):
        query = parse_qs(raw_query, keep_blank_values=True)
        store = self.store
        if path == "/rest/posts":
            if query.get("q") != ["author"]:
                return error(400, "q=author is required", "ILLEGAL_ARGUMENT")
            if "author=" + quote(store.org, safe="") not in raw_query:
                return error(400, "author must be the organization's encoded URN",
                             "ILLEGAL_ARGUMENT")
            posts = sorted(store.posts, key=lambda p: -p["createdAt"])
            return paged(posts, query, 10, path, raw_query)
        match = re.fullmatch(r"/rest/socialActions/([^/]+)/comments", path)
        if match:
            if ":" in match.group(1) or "(" in match.group(1):
                return error(400, "the URN in the path must be encoded", "ILLEGAL_ARGUMENT")
            target = unquote(match.group(1))
            post = store.post_of(target)
            if post is not None:
                items = [c for c in store.comments if c["_post"] == post["id"]]
            elif any(c["commentUrn"] == target for c in store.comments):
                items = [c for c in store.comments if c.get("parentComment") == target]
            else:
                return error(404, "Not Found", "NOT_FOUND")
            items.sort(key=lambda c: c["created"]["time"])
            return paged(items, query, 10, path, raw_query)
        if path == "/rest/organizationalEntityNotifications":
            return self.notifications(query, raw_query, path)
        return error(404, "Resource %s does not exist" % path, "NOT_FOUND")

    def notifications(self, query, raw_query, path):
        store = self.store
        if query.get("q") != ["criteria"]:
            return error(400, "q=criteria is required", "ILLEGAL_ARGUMENT")
        if "organizationalEntity=" + quote(store.org, safe="") not in raw_query:
            return error(400, "organizationalEntity must be the organization's encoded URN",
                         "ILLEGAL_ARGUMENT")
        raw = dict(p.split("=", 1) for p in raw_query.split("&") if "=" in p)
        actions = LIST_RE.match(raw.get("actions", ""))
        span = RANGE_RE.match(raw.get("timeRange", ""))
        if actions is None or span is None:
            return error(400, "actions=List(...) and timeRange=(start:MS,end:MS) are "
                         "required, unencoded", "ILLEGAL_ARGUMENT")
        wanted = actions.group(1).split(",")
        start, end = int(span.group(1)), int(span.group(2))
        if start >= end:
            return error(400, "timeRange: start must be before end", "ILLEGAL_ARGUMENT")
        items = [n for n in store.notifications
                 if n["action"] in wanted and start <= n["lastModifiedAt"] < end]
        items.sort(key=lambda n: -n["lastModifiedAt"])
        return paged(items, query, 10, path, raw_query)


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.entries = []               # [fault, path, uses left]

    def add(self, faults, path, times):
        with self.lock:
            for fault in faults:
                self.entries.append([fault, fault.get("path", path), fault.get("times", times)])
            return len(self.entries)

    def take(self, path):
        with self.lock:
            for entry in self.entries:
                if entry[1] is None or path.startswith(entry[1]):
                    entry[2] -= 1
                    if entry[2] <= 0:
                        self.entries.remove(entry)
                    return entry[0]
        return None

    def clear(self):
        with self.lock:
            n = len(self.entries)
            self.entries = []
            return n


def wrong_types(body):
    """The last element's created time (or lastModifiedAt) as a string."""
    elements = body.get("elements") if isinstance(body, dict) else None
    if elements:
        last = elements[-1]
        if "created" in last:
            last["created"]["time"] = str(last["created"]["time"])
        elif "lastModifiedAt" in last:
            last["lastModifiedAt"] = str(last["lastModifiedAt"])
        else:
            last["id"] = {"id": last.get("id")}
    return body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-linkedin/1"

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status, body, headers=None, truncate=False):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if truncate:
            self.wfile.write(data[:len(data) // 2])
            self.close_connection = True
        else:
            self.wfile.write(data)

    def dispatch(self, method):
        url = urlsplit(self.path)
        body = self.read_body()
        try:
            if url.path.startswith("/_fixture/"):
                status, reply = self.server.fixture(method, url.path, body)
                self.send(status, reply)
            else:
                self.serve_api(method, url)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def serve_api(self, method, url):
        srv = self.server
        entry = {"method": method, "path": url.path, "query": url.query,
                 "version": self.headers.get("LinkedIn-Version"),
                 "restli": self.headers.get("X-Restli-Protocol-Version"),
                 "status": None, "time": time.time()}
        with srv.store.lock:
            srv.requests.append(entry)
        status, reply, headers = self.api_reply(method, url)
        fault = srv.faults.take(url.path) or {}
        if fault.get("delay"):
            time.sleep(fault["delay"])
        if "status" in fault:
            status = fault["status"]
            reply = fault.get("body", THROTTLED if status == 429 else
                              {"status": status, "message": "Internal Server Error"})
            if isinstance(reply, str):
                reply = reply.encode()
            headers = fault.get("headers", {})
        elif fault.get("wrong_types") and status == 200:
            reply = wrong_types(reply)
        entry["status"] = status
        if fault.get("cut"):
            data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
            reply = data[:len(data) // 2]
        self.send(status, reply, headers, truncate=bool(fault.get("truncate")))

    def api_reply(self, method, url):
        srv = self.server
        auth = self.headers.get("Authorization") or ""
        if method != "GET":
            return error(405, "Method not allowed")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            return 401, NO_TOKEN, {}
        if auth[7:].strip() != TOKEN or srv.store.expired:
            return 401, EXPIRED, {}
        version = self.headers.get("LinkedIn-Version")
        if version is None:
            return error(400, "A version must be present. Please specify a version by "
                         "adding the LinkedIn-Version header.", "VERSION_MISSING")
        if not VERSION_RE.match(version):
            return error(400, "Invalid version %s" % version, "INVALID_VERSION")
        if self.headers.get("X-Restli-Protocol-Version") != "2.0.0":
            return error(400, "X-Restli-Protocol-Version: 2.0.0 is required here",
                         "ILLEGAL_ARGUMENT")
        with srv.store.lock:
            return srv.api.answer(url.path, url.query)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port, store, quiet):
        self.store = store
        self.api = Api(store)
        self.faults = Faults()
        self.requests = []
        self.quiet = quiet
        super().__init__(("127.0.0.1", port), Handler)

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def fixture(self, method, path, raw):
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            return 400, {"error": "the body is not JSON"}
        store = self.store
        with store.lock:
            try:
                return self.control(method, path, data, store)
            except (KeyError, TypeError, ValueError) as err:
                return 400, {"error": "bad fixture request: %r" % (err,)}

    def control(self, method, path, data, store):
        if (method, path) == ("POST", "/_fixture/post"):
            post = store.add_post(int(data["created"]), data.get("text", "A post"))
            return 200, {"id": post["id"], "activity": post["_activity"]}
        if (method, path) == ("POST", "/_fixture/comment"):
            post = store.post_of(data["post"])
            if post is None:
                return 404, {"error": "no such post"}
            who = data.get("from", "member dana")
            actor = store.org if who == "org" else "urn:li:person:" + who.split()[-1]
            comment = store.add_comment(post, actor, int(data["created"]),
                                        data.get("text", "A comment"), data.get("parent"))
            return 200, {"id": comment["commentUrn"]}
        if (method, path) == ("POST", "/_fixture/mention") and isinstance(data, list):
            return 200, {"ids": [self.control(method, path, x, store)[1]["id"] for x in data]}
        if (method, path) == ("POST", "/_fixture/mention"):
            who = data.get("from")
            note = store.add_mention(int(data["created"]), data.get("action", "SHARE_MENTION"),
                                     "urn:li:person:" + who if who else None)
            return 200, {"id": note["sourcePost"]}
        if (method, path) == ("POST", "/_fixture/token"):
            store.expired = bool(data.get("expired", True))
            return 200, {"expired": store.expired}
        if (method, path) == ("POST", "/_fixture/faults"):
            faults = data["faults"]
            if isinstance(faults, dict):
                faults = [faults]
            return 200, {"pending": self.faults.add(faults, data.get("path"),
                                                    int(data.get("times", 1)))}
        if (method, path) == ("DELETE", "/_fixture/faults"):
            return 200, {"cleared": self.faults.clear()}
        if (method, path) == ("GET", "/_fixture/requests"):
            return 200, list(self.requests)
        return 404, {"error": "no such fixture endpoint"}


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
    parser = argparse.ArgumentParser(description="A fake LinkedIn API for replywatch.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--token-file-dir")
    parser.add_argument("--org", default="2414183")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.token_file_dir:
        os.makedirs(args.token_file_dir, mode=0o700, exist_ok=True)
        write_atomically(os.path.join(args.token_file_dir, "linkedin.token"),
                         TOKEN + "\n", 0o600)
    server = Server(args.port, Store(args.org), args.quiet)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    if args.port_file:
        write_atomically(args.port_file, "%d\n" % server.server_address[1])
    stop.wait()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Write the seed corpora of the fuzz targets: fuzz/seeds.py [SRCDIR].

From the project's own files only: lines of etc/demo.jsonl, the example
configuration, responses captured from the fake platforms of tests/fakes/
(started here on 127.0.0.1 and stopped again) and small inputs written
here. Running it again rewrites fuzz/corpus/; fuzz/regress/ is not
touched."""

import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

SRC = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                      os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(SRC, "fuzz", "corpus")
NOW = "2026-08-14T10:00:00Z"


def put(target, data, name=None):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def demo_lines():
    with open(os.path.join(SRC, "etc", "demo.jsonl")) as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    return lines[::12][:24]


# ---- msg, exec-output ---------------------------------------------------------
def msg_seeds():
    for l in demo_lines():
        put("msg", l)
    put("msg", '{"platform":"x","account":"a","id":"1","conversation":"1",'
        '"kind":"broadcast","direction":"outbound","created_at":'
        '"2026-08-14T10:00:00.123+02:00","author":null,"in_reply_to":"0",'
        '"text":"caf\\u00e9 \\ud83d\\ude00","url":"https://x.example/1",'
        '"complaint":null,"extra":[1,{"a":2}]}')
    put("msg", '{"id":"1","id":"2"}')


def exec_seeds():
    lines = []
    for l in demo_lines()[:8]:
        m = json.loads(l)
        m["account"] = "acme"
        lines.append(json.dumps(m))
    out = "\n".join(lines[:4]) + '\n{"cursor": "page-2"}\n\n' + \
        "\n".join(lines[4:]) + '\n{"cursor":"page-3"}'
    err = "fetching page 1\nwarning: slow \xe2\x80\xa6\nretrying\n"
    put("exec-output", b"\x00" + out.encode() + b"\x00\x00" + err.encode())
    put("exec-output", b"\x41" + out.encode() + b"\x00\x00" + err.encode())
    put("exec-output", b"\x09" + ("x" * 80 + "\n").encode() + b"\x00\x00")
    put("exec-output", b"\x35" + lines[0].encode() + b'\n{"cursor": 5}\n'
        + b"\x00\x00" + b"rate limited\n")
    put("exec-output", b"\x02" + b'{"cursor":"a\\u0000b"}\n\x00\x00'
        + b"\xff\xfe denied\n")


# ---- conf, time -----------------------------------------------------------------
def conf_seeds():
    with open(os.path.join(SRC, "etc", "replywatch.conf.example")) as f:
        put("conf", f.read(), "example")
    put("conf", """[daemon]
database = /tmp/x.db
log_level = debug
sla_direct = 15m
metrics_listen = 127.0.0.1:9464
timezone = Europe/Berlin
business_hours = mon-fri 09:00-12:30, 13:30-18:00; sat 10:00-14:00
closed = 2026-12-24,2026-12-25
complaint_cues = late delivery=2.0, refund*=1.5, "kaputt"
complaint_threshold = 0.7
language = de

[account "acme"]
connector = mastodon
url = https://mastodon.example
token_file = /etc/replywatch/acme.token
poll_interval = 90s
backfill = 7d
sla_business_time = yes

[account "acme-x"]
connector = x
client_id = abc
refresh_token_file = /etc/replywatch/x.refresh
""")
    put("conf", "[account \"a\"]\nconnector = exec\ncommand = /bin/true "
        "--flag\ncommand_timeout = 10s\n[daemon]\nsla_broadcast = 1h30m\n")
    put("conf", "[daemon]\nbusiness_hours = fri-mon 22:00-24:00\n"
        "timezone = America/St_Johns\nsla_business_time = yes\n")


def time_seeds():
    for s in [
        NOW + "\n90m\n24h\nUTC\nmon-fri 09:00-17:00\n2026-12-24 2026-12-25",
        "2026-03-29T00:30:00.5+01:00\n1h30m\nnow\nEurope/Berlin\n"
        "mon-sun 00:00-24:00\n",
        "1970-01-01T00:00:00Z\n7d\n2026-11-25\nAmerica/New_York\n"
        "mon,wed-fri 9:00-12:00 12:00-13:00; sat 10:00-14:00;\n2026-02-28",
        "9999-12-31T23:59:59.999-14:00\n45s\n2026-11-25T12:00:00Z\n"
        "Australia/Lord_Howe\nfri-mon 22:00-24:00\n",
        "2026-10-25T02:30:00+02:00\n1w2d3h4m5s6ms\n90m\nPacific/Chatham\n"
        "Monday-Friday 08:00-20:00\n2026-10-25,2026-10-26",
    ]:
        put("time", s)


# ---- http, metrics --------------------------------------------------------------
def http_seeds():
    put("http", "HTTP/1.1 200 OK\r\nLink: <https://m.example/api/v1/"
        "notifications?max_id=9>; rel=\"next\", <https://m.example/api/v1/"
        "notifications?min_id=12>; rel=\"prev\"\r\nX-RateLimit-Limit: 300"
        "\r\nX-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: "
        "2026-08-14T10:03:20.500000Z\r\n\r\n[{\"id\":\"1\",\"created_at\":"
        "\"2026-08-14T09:38:33.412Z\",\"ok\":true,\"count\":3}]")
    put("http", "HTTP/2 429\r\nretry-after: 120\r\ncontent-type: "
        "application/json\r\n\r\n{\"error\":\"RateLimitExceeded\","
        "\"message\":\"Rate Limit Exceeded\"}")
    put("http", "HTTP/1.1 503 Service Unavailable\nRetry-After: Wed, 21 Oct "
        "2026 07:28:00 GMT\n\n<html><body>down</body></html>")
    put("http", "HTTP/1.1 100 Continue\r\n\r\n"[:-2] + "HTTP/1.1 401\r\n"
        "Link: <http://127.0.0.1:3000/x>; rel=next\r\n\r\n{\"error\":"
        "{\"message\":\"Invalid OAuth access token.\",\"code\":190}}")
    put("http", "HTTP/1.1 200\r\n\r\n{\"data\":[{\"id\":\"5\",\"items\":"
        "[1,2]}],\"next\":\"abc\",\"cursor\":null")


def metrics_seeds():
    put("metrics", "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
    put("metrics", "HEAD /metrics?x=1 HTTP/1.0\r\n\r\n")
    put("metrics", "\r\nPOST http://h/metrics HTTP/1.1\nHost: h\n"
        "Content-Length: 0\n\n")
    put("metrics", "GET /other HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    put("metrics", "GET * HTTP/2.0\r\nTransfer-Encoding: chunked\r\n\r\n")


# ---- classify ---------------------------------------------------------------------
def classify_seeds():
    for i, t in enumerate([
        "I am NOT happy!! Still waiting for my refund, order 4411 :(",
        "Meine Bestellung ist immer noch nicht da. Total kaputt!!!",
        "Thanks a lot, great service \U0001f600 would recommend",
        "Can you help me change my address?",
        "sooo disappointed... worst experience ever, never again",
    ]):
        put("classify", bytes([0, i % 3]) + t.encode())
    put("classify", b"\x01late delivery=2.0, refund*=1.5, \"kaputt\", "
        b"nicht zufrieden=-3\nThe late delivery was a shame, refunds?")
    hdr = b"RWCMODEL" + struct.pack("<IIIIII", 1, 1, 10, 1, 3, 4) + \
        struct.pack("<f", 0.25)
    w = b"".join(struct.pack("<f", x / 100.0) for x in range(-50, 50))
    put("classify", b"\x03" + hdr + w + b"I want my money back now")
    model = hdr + struct.pack("<4f", 1, 0.5, -0.5, 0.1) + \
        b"\x00" * (4 << 10)
    h = 0xcbf29ce484222325
    for b in model:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    put("classify", b"\x02" + model + struct.pack("<Q", h))
    put("classify", b"\x04\x00text,label\n\"still \"\"broken\"\", "
        b"help\",1\r\nall good,0\n")
    put("classify", b"\x04\x01text\tlabel\nkaputt\t1\nsuper\t0")


# ---- connectors: responses of the fakes -------------------------------------------
class Fake:
    def __init__(self, script, *args):
        self.dir = tempfile.mkdtemp(prefix="seeds.")
        pf = os.path.join(self.dir, "port")
        self.p = subprocess.Popen(
            [sys.executable, os.path.join(SRC, "tests", "fakes", script),
             "--port-file", pf, "--quiet", *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(pf):
                break
            time.sleep(0.1)
        with open(pf) as f:
            self.base = "http://127.0.0.1:%s" % f.read().strip()

    def call(self, path, token=None, body=None, method=None, headers=None):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else
                                     json.dumps(body).encode())
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            r = urllib.request.urlopen(req, timeout=10)
        except urllib.error.HTTPError as e:
            r = e
        data = r.read()
        keep = [(k, v) for k, v in r.headers.items()
                if k.lower() not in ("date", "server", "content-length",
                                     "connection")]
        return r.status, keep, data

    def stop(self):
        self.p.terminate()
        self.p.wait()


def response(status, headers, body):
    head = "%d\n" % status + "".join("%s: %s\n" % kv for kv in headers)
    return head.encode() + b"\n" + body


def conn_seed(first, responses):
    put("connector", first.encode() + b"\n" +
        b"\n----\n".join(responses))


def mastodon_seeds():
    f = Fake("mastodon.py")
    try:
        for i, (frm, vis, text) in enumerate([
            ("dana", "direct", "order 4411 never arrived!!"),
            ("lena", "public", "Meine Bestellung ist nicht da"),
            ("felix", "public", "thanks <b>a lot</b> &amp; more"),
        ]):
            r = f.call("/_fixture/status", body={
                "brand": "brand1", "from": frm, "visibility": vis,
                "text": text})
        _, _, st = r
        sid = json.loads(st)["id"]
        f.call("/_fixture/status", body={
            "brand": "brand1", "from": "brand", "text": "sorry!",
            "in_reply_to": sid})
        tok = "token-brand1"
        verify = response(*f.call("/api/v1/accounts/verify_credentials",
                                  tok))
        bid = json.loads(f.call("/api/v1/accounts/verify_credentials",
                                tok)[2])["id"]
        notifs = response(*f.call("/api/v1/notifications?types[]=mention"
                                  "&limit=80", tok))
        statuses = response(*f.call("/api/v1/accounts/%s/statuses?limit=40"
                                    "&exclude_reblogs=true" % bid, tok))
        ctx = response(*f.call("/api/v1/statuses/%s/context" % sid, tok))
        conv = response(*f.call("/api/v1/conversations", tok))
        unauth = response(*f.call("/api/v1/notifications", "bad"))
        conn_seed("mastodon mentions 0 -", [verify, notifs, ctx, ctx])
        conn_seed("mastodon mentions 2 9", [verify, notifs, notifs, ctx])
        conn_seed("mastodon statuses 0 -", [verify, statuses, statuses])
        conn_seed("mastodon 1 1 -", [verify, notifs, statuses, ctx, conv])
        conn_seed("mastodon mentions 0 -", [verify, unauth])
        conn_seed("mastodon mentions 8 -", [verify, notifs])
    finally:
        f.stop()


def x_seeds():
    f = Fake("x.py")
    try:
        t = json.loads(f.call("/_fixture/tweet", body={
            "from": "dana", "text": "@acme where is my order?",
            "created_at": "2026-08-14T08:00:00Z"})[2])
        f.call("/_fixture/tweet", body={
            "from": "brand", "text": "@dana looking into it",
            "in_reply_to": t["id"], "created_at": "2026-08-14T08:30:00Z"})
        f.call("/_fixture/dm", body={"from": "dana", "text": "hello?",
                                     "created_at": "2026-08-14T08:40:00Z"})
        tok = "at-1"
        me = response(*f.call("/2/users/me", tok))
        uid = json.loads(f.call("/2/users/me", tok)[2])["data"]["id"]
        men = response(*f.call(
            "/2/users/%s/mentions?tweet.fields=created_at,author_id,"
            "conversation_id,in_reply_to_user_id,referenced_tweets"
            "&expansions=author_id&user.fields=username" % uid, tok))
        tw = response(*f.call(
            "/2/users/%s/tweets?tweet.fields=created_at,conversation_id,"
            "referenced_tweets,in_reply_to_user_id" % uid, tok))
        dm = response(*f.call(
            "/2/dm_events?dm_event.fields=id,text,event_type,created_at,"
            "sender_id,dm_conversation_id&expansions=sender_id"
            "&user.fields=username", tok))
        req = urllib.request.Request(
            f.base + "/2/oauth2/token", method="POST",
            data=b"grant_type=refresh_token&refresh_token=rt-1"
            b"&client_id=fuzz-client-id")
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            r = urllib.request.urlopen(req, timeout=10)
        except urllib.error.HTTPError as e:
            r = e
        token = response(r.status, [("Content-Type", "application/json")],
                         r.read())
        token_ok = response(200, [("Content-Type", "application/json")],
                            b'{"token_type":"bearer","expires_in":7200,'
                            b'"access_token":"at-2","scope":"tweet.read '
                            b'users.read dm.read offline.access",'
                            b'"refresh_token":"rt-2"}')
        bad = response(*f.call("/2/users/me", "nope"))
        for stream in ("0", "1", "2"):
            conn_seed("x %s 0 -" % stream, [token_ok, me, men, tw, dm])
            conn_seed("x %s 0 -" % stream, [token, me, men, tw, dm])
            conn_seed("x %s 0 -" % stream, [me, men, tw, dm])
        conn_seed("x 0 1 -", [token, me, bad, token, men, dm])
    finally:
        f.stop()


def linkedin_seeds():
    f = Fake("linkedin.py")
    try:
        p = json.loads(f.call("/_fixture/post", body={
            "created": 1786690000000, "text": "New product"})[2])
        f.call("/_fixture/comment", body={
            "post": p["id"], "from": "member Dana", "created": 1786695000000,
            "text": "broken on arrival"})
        f.call("/_fixture/mention", body={"created": 1786696000000,
                                          "action": "SHARE_MENTION",
                                          "from": "Lena"})
        tok = "token-linkedin"
        h = {"LinkedIn-Version": "202411",
             "X-Restli-Protocol-Version": "2.0.0"}
        org = "urn%3Ali%3Aorganization%3A2414183"
        posts = response(*f.call("/rest/posts?q=author&author=%s&count=10"
                                 % org, tok, headers=h))
        act = urllib.request.quote(p["activity"], safe="")
        com = response(*f.call("/rest/socialActions/%s/comments" % act,
                               tok, headers=h))
        notif = response(*f.call(
            "/rest/organizationalEntityNotifications?q=criteria"
            "&organizationalEntity=%s&actions=List(SHARE_MENTION,COMMENT)"
            "&timeRange=(start:1786600000000,end:1786701600000)" % org,
            tok, headers=h))
        for stream in ("0", "1", "2"):
            conn_seed("linkedin %s 0 -" % stream, [posts, com, com, notif])
            conn_seed("linkedin %s 2 -" % stream, [notif, posts, com])
    finally:
        f.stop()


def other_connector_seeds():
    """Connectors without a fake here (Bluesky, Graph): shaped after their
    APIs' documented answers."""
    session = response(200, [("Content-Type", "application/json")], json.dumps({
        "did": "did:plc:acme", "handle": "acme.fuzz.example",
        "accessJwt": "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3ODY3MDUyMDB9.x",
        "refreshJwt": "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3ODcwMDAwMDB9.y",
        "active": True}).encode())
    notifs = response(200, [("RateLimit-Limit", "3000"),
                            ("RateLimit-Remaining", "2999"),
                            ("RateLimit-Reset", "1786702500")],
                      json.dumps({"cursor": "2026-08-14T09:00:00.000Z",
                                  "notifications": [{
                                      "uri": "at://did:plc:dana/app.bsky.feed.post/3k",
                                      "cid": "bafy", "author": {
                                          "did": "did:plc:dana",
                                          "handle": "dana.bsky.social"},
                                      "reason": "mention",
                                      "record": {"$type": "app.bsky.feed.post",
                                                 "text": "@acme help",
                                                 "createdAt": "2026-08-14T09:00:00.000Z",
                                                 "reply": {"root": {"uri": "at://did:plc:acme/app.bsky.feed.post/1", "cid": "b"},
                                                           "parent": {"uri": "at://did:plc:acme/app.bsky.feed.post/1", "cid": "b"}}},
                                      "isRead": False,
                                      "indexedAt": "2026-08-14T09:00:01.000Z"}]
                                  }).encode())
    convos = response(200, [], json.dumps({"cursor": "c1", "convos": [{
        "id": "convo1", "rev": "r1", "members": [
            {"did": "did:plc:acme", "handle": "acme.fuzz.example"},
            {"did": "did:plc:dana", "handle": "dana.bsky.social"}],
        "lastMessage": {"id": "m1", "rev": "r1", "text": "hi",
                        "sender": {"did": "did:plc:dana"},
                        "sentAt": "2026-08-14T09:10:00.000Z"},
        "unreadCount": 1}]}).encode())
    log = response(200, [], json.dumps({"cursor": "r2", "logs": [{
        "$type": "chat.bsky.convo.defs#logCreateMessage", "rev": "r2",
        "convoId": "convo1", "message": {
            "$type": "chat.bsky.convo.defs#messageView", "id": "m2",
            "rev": "r2", "text": "still waiting!!",
            "sender": {"did": "did:plc:dana"},
            "sentAt": "2026-08-14T09:20:00.000Z"}}]}).encode())
    expired = response(400, [], b'{"error":"ExpiredToken","message":'
                       b'"Token has expired"}')
    for s in ("0", "1", "2"):
        conn_seed("bluesky %s 0 -" % s, [session, notifs, convos, log, log])
        conn_seed("bluesky %s 1 -" % s, [session, notifs, expired, session,
                                         notifs, convos, log])
    graph_me = response(200, [("x-app-usage", '{"call_count":5,'
                               '"total_time":1,"total_cputime":1}')],
                        b'{"id":"100000000000001","name":"Acme"}')
    feed = response(200, [], json.dumps({"data": [{
        "id": "100000000000001_2", "message": "New!",
        "created_time": "2026-08-14T07:00:00+0000",
        "from": {"id": "100000000000001", "name": "Acme"},
        "comments": {"data": [{"id": "2_3", "message": "broken!!",
                               "created_time": "2026-08-14T08:00:00+0000",
                               "from": {"id": "555", "name": "Dana"}}],
                     "paging": {"cursors": {"after": "QVFI"}}}}],
        "paging": {"cursors": {"before": "a", "after": "b"},
                   "next": "https://graph.facebook.com/v21.0/x?after=b"}}
        ).encode())
    convs = response(200, [], json.dumps({"data": [{
        "id": "t_1", "updated_time": "2026-08-14T08:00:00+0000",
        "messages": {"data": [{"id": "m_1", "message": "hello?",
                               "created_time": "2026-08-14T08:00:00+0000",
                               "from": {"id": "555", "name": "Dana"},
                               "to": {"data": [{"id": "100000000000001"}]}}]}}
        ]}).encode())
    ig_media = response(200, [], json.dumps({"data": [{
        "id": "1789", "caption": "new", "timestamp":
        "2026-08-14T07:00:00+0000", "username": "acme",
        "comments": {"data": [{"id": "1790", "text": "where is it",
                               "timestamp": "2026-08-14T08:00:00+0000",
                               "username": "dana", "from": {"id": "9",
                               "username": "dana"}}]}}]}).encode())
    err = response(400, [], b'{"error":{"message":"(#4) Application '
                   b'request limit reached","type":"OAuthException",'
                   b'"code":4,"fbtrace_id":"A"}}')
    for c in ("facebook", "instagram"):
        for s in ("0", "1", "2"):
            conn_seed("%s %s 0 -" % (c, s), [graph_me, feed, convs,
                                             ig_media, feed])
            conn_seed("%s %s 3 -" % (c, s), [ig_media, convs, err])


def main():
    msg_seeds()
    exec_seeds()
    conf_seeds()
    time_seeds()
    http_seeds()
    metrics_seeds()
    classify_seeds()
    mastodon_seeds()
    x_seeds()
    linkedin_seeds()
    other_connector_seeds()


if __name__ == "__main__":
    main()

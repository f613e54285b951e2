#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Fake Bluesky chat service (chat.bsky.convo.*) for replywatch's tests.

Bluesky's chat server is not open source, so the tests run this instead.
Clients never talk to it directly: they call the real PDS with the header
"atproto-proxy: <chat did>#bsky_chat", and the PDS forwards the request
here with a service JWT of its own (network.js registers that DID).

Implemented, in the chat.bsky.convo lexicons' wire format:
  GET  /xrpc/chat.bsky.convo.getLog            [cursor]
  GET  /xrpc/chat.bsky.convo.listConvos        [limit, cursor, readState, status]
  GET  /xrpc/chat.bsky.convo.getMessages       convoId [limit, cursor]
  GET  /xrpc/chat.bsky.convo.getConvo          convoId
  GET  /xrpc/chat.bsky.convo.getConvoForMembers members (repeated)
  POST /xrpc/chat.bsky.convo.sendMessage       {convoId, message: {text}}
  POST /xrpc/chat.bsky.convo.updateRead        {convoId}
Anything else under /xrpc/ answers 501 MethodNotImplemented.

Semantics copied from the real service:
  * getLog without a cursor returns no logs, only the current cursor: the
    log starts "now". Later calls return the entries with rev > cursor.
    (cursor=2222222222222, the smallest rev, returns the whole history.)
  * revs, ids and convo ids are 13-character TIDs; revs compare as strings.
  * a convo is "request" for a member until that member sends in it (or
    asked for it through getConvoForMembers), "accepted" afterwards.

Test control endpoints (not part of any lexicon, no auth):
  POST /_fixture/message {"from": did, "to": did, "text": "...",
                          "sent_at": optional RFC 3339}
       injects a message, creating the direct convo if needed (sent_at
       is stored as UTC with milliseconds, like the service's own);
       answers {"convoId": ..., "message": <messageView>}
  GET  /_fixture/log     everything: {"logs", "convos", "requests"}
  POST /_fixture/reset   forgets all convos, logs and requests
  GET  /_fixture/health  {"ok": true}

usage: chat.py [--port N] [--port-file PATH] [--plc URL | --net-json PATH]
Port 0 (the default) picks a free port; --port-file receives it once the
socket listens. --plc (or the "plc" URL in the network's JSON file, read
when first needed) is used to turn member DIDs into handles.
"""

import argparse
import base64
import datetime
import ctypes
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

S32 = "234567abcdefghijklmnopqrstuvwxyz"
ZERO_REV = "2" * 13
MSG_VIEW = "chat.bsky.convo.defs#messageView"
MAX_REQUESTS = 2000


def iso_ms(t):
    t = t.astimezone(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def now_iso():
    return iso_ms(datetime.datetime.now(datetime.timezone.utc))


def normalize_datetime(s):
    """An RFC 3339 date-time (with a zone) in the form the service uses,
    UTC with milliseconds; None if s is not one."""
    if not isinstance(s, str) or "T" not in s.upper():
        return None
    try:
        d = datetime.datetime.fromisoformat(s.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    return iso_ms(d) if d.tzinfo is not None else None


def b64url_json(part):
    part += "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(part.encode()))


class XrpcError(Exception):
    def __init__(self, status, error, message):
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


class Store:
    """All state, in memory, behind one lock."""

    def __init__(self, plc=None, net_json=None):
        self.lock = threading.Lock()
        self.plc = plc
        self.net_json = net_json
        self.handles = {}
        self.last_us = 0
        self.reset()

    def reset(self):
        self.convos = {}        # id -> convo dict (internal form)
        self.logs = []          # (visible_to frozenset, entry)
        self.requests = []

    # -- ids ---------------------------------------------------------------
    def tid(self):
        """A TID: microseconds since 1970 and a clock id, base32-sortable.
        Strictly increasing within this process."""
        us = max(int(time.time() * 1e6), self.last_us + 1)
        self.last_us = us
        n = (us << 10) | 7
        out = ""
        for _ in range(13):
            out = S32[n & 31] + out
            n >>= 5
        return out

    # -- identities ----------------------------------------------------------
    def plc_url(self):
        if not self.plc and self.net_json:
            try:
                with open(self.net_json) as f:
                    self.plc = json.load(f).get("plc")
            except (OSError, ValueError):
                return None
        return self.plc

    def handle(self, did):
        """Handle of a DID from its PLC document; cached. Called without
        the lock held (it does network I/O)."""
        if did in self.handles:
            return self.handles[did]
        h = "handle.invalid"
        plc = self.plc_url()
        if plc and did.startswith("did:plc:"):
            try:
                with urllib.request.urlopen(plc + "/" + did, timeout=5) as r:
                    doc = json.load(r)
                for aka in doc.get("alsoKnownAs", []):
                    if aka.startswith("at://"):
                        h = aka[5:]
                        break
            except (OSError, ValueError):
                return h        # not cached: try again next time
        self.handles[did] = h
        return h

    def profile(self, did):
        return {"did": did, "handle": self.handle(did)}

    # -- model -----------------------------------------------------------------
    def log(self, members, entry):
        self.logs.append((frozenset(members), entry))

    def direct_convo(self, a, b, initiator):
        """The direct convo of a and b; created (with a logBeginConvo entry)
        if it does not exist. Lock held."""
        key = frozenset((a, b))
        for c in self.convos.values():
            if c["key"] == key:
                return c
        cid = self.tid()
        rev = self.tid()
        c = {"id": cid, "key": key, "members": [a, b], "rev": rev,
             "messages": [], "accepted": {initiator}, "read": {}}
        self.convos[cid] = c
        self.log(key, {"$type": "chat.bsky.convo.defs#logBeginConvo",
                       "rev": rev, "convoId": cid})
        return c

    def add_message(self, c, sender, text, sent_at=None, facets=None):
        """Lock held."""
        msg_id = self.tid()
        rev = self.tid()
        msg = {"id": msg_id, "rev": rev, "text": text,
               "sender": {"did": sender}, "sentAt": sent_at or now_iso()}
        if facets:
            msg["facets"] = facets
        c["messages"].append(msg)
        c["rev"] = rev
        c["accepted"].add(sender)
        c["read"][sender] = rev
        self.log(c["key"], {"$type": "chat.bsky.convo.defs#logCreateMessage",
                            "rev": rev, "convoId": c["id"],
                            "message": dict({"$type": MSG_VIEW}, **msg)})
        return msg

    def member_convo(self, convo_id, did):
        c = self.convos.get(convo_id)
        if c is None or did not in c["key"]:
            raise XrpcError(400, "InvalidConvo", "Convo not found")
        return c

    def convo_view_raw(self, c, viewer):
        """Plain data for a convoView; handles are filled in later."""
        read = c["read"].get(viewer, "")
        unread = sum(1 for m in c["messages"]
                     if m["sender"]["did"] != viewer and m["rev"] > read)
        v = {"id": c["id"], "rev": c["rev"], "members": list(c["members"]),
             "muted": False,
             "status": "accepted" if viewer in c["accepted"] else "request",
             "unreadCount": unread,
             "kind": {"$type": "chat.bsky.convo.defs#directConvo"}}
        if c["messages"]:
            v["lastMessage"] = dict({"$type": MSG_VIEW}, **c["messages"][-1])
        return v

    def finish_view(self, v):
        v["members"] = [self.profile(d) for d in v["members"]]
        return v


def page_limit(q):
    try:
        n = int(q.get("limit", ["50"])[0])
    except ValueError:
        raise XrpcError(400, "InvalidRequest", "limit must be an integer")
    if not 1 <= n <= 100:
        raise XrpcError(400, "InvalidRequest",
                        "limit must be between 1 and 100")
    return n


def one(q, name, required=False):
    v = q.get(name)
    if not v:
        if required:
            raise XrpcError(400, "InvalidRequest",
                            'Error: Params must have the property "%s"' % name)
        return None
    return v[0]


# -- XRPC methods: (store, caller did, query dict, body) -> response dict ------

def get_log(st, me, q, body):
    cursor = one(q, "cursor")
    with st.lock:
        if cursor is None:
            latest = st.logs[-1][1]["rev"] if st.logs else ZERO_REV
            return {"cursor": latest, "logs": []}
        logs = [e for vis, e in st.logs if me in vis and e["rev"] > cursor]
    return {"cursor": logs[-1]["rev"] if logs else cursor, "logs": logs}


def list_convos(st, me, q, body):
    limit = page_limit(q)
    cursor = one(q, "cursor")
    read_state = one(q, "readState")
    status = one(q, "status")
    with st.lock:
        views = [st.convo_view_raw(c, me) for c in st.convos.values()
                 if me in c["key"]]
    views.sort(key=lambda v: v["rev"], reverse=True)
    if cursor:
        views = [v for v in views if v["rev"] < cursor]
    if read_state == "unread":
        views = [v for v in views if v["unreadCount"] > 0]
    if status:
        views = [v for v in views if v["status"] == status]
    out = {"convos": [st.finish_view(v) for v in views[:limit]]}
    if len(views) > limit:
        out["cursor"] = views[limit - 1]["rev"]
    return out


def get_messages(st, me, q, body):
    limit = page_limit(q)
    cid = one(q, "convoId", required=True)
    cursor = one(q, "cursor")
    with st.lock:
        c = st.member_convo(cid, me)
        msgs = [dict({"$type": MSG_VIEW}, **m) for m in reversed(c["messages"])]
    if cursor:
        msgs = [m for m in msgs if m["rev"] < cursor]
    out = {"messages": msgs[:limit]}
    if len(msgs) > limit:
        out["cursor"] = msgs[limit - 1]["rev"]
    return out


def get_convo(st, me, q, body):
    cid = one(q, "convoId", required=True)
    with st.lock:
        v = st.convo_view_raw(st.member_convo(cid, me), me)
    return {"convo": st.finish_view(v)}


def get_convo_for_members(st, me, q, body):
    members = set(q.get("members", [])) | {me}
    if any(not m.startswith("did:") for m in members):
        raise XrpcError(400, "InvalidRequest", "members must be DIDs")
    others = sorted(members - {me})
    if len(others) != 1:
        raise XrpcError(400, "InvalidRequest",
                        "this fake only supports direct (two-member) convos")
    with st.lock:
        c = st.direct_convo(me, others[0], me)
        c["accepted"].add(me)
        v = st.convo_view_raw(c, me)
    return {"convo": st.finish_view(v)}


def send_message(st, me, q, body):
    if not isinstance(body, dict) or not isinstance(body.get("convoId"), str):
        raise XrpcError(400, "InvalidRequest",
                        'Input must have the property "convoId"')
    msg = body.get("message")
    if not isinstance(msg, dict) or not isinstance(msg.get("text"), str):
        raise XrpcError(400, "InvalidRequest",
                        'Input/message must have the property "text"')
    if len(msg["text"].encode()) > 10000:
        raise XrpcError(400, "InvalidRequest",
                        "Input/message/text must not be longer than 10000 characters")
    with st.lock:
        c = st.member_convo(body["convoId"], me)
        return dict(st.add_message(c, me, msg["text"],
                                   facets=msg.get("facets")))


def update_read(st, me, q, body):
    if not isinstance(body, dict) or not isinstance(body.get("convoId"), str):
        raise XrpcError(400, "InvalidRequest",
                        'Input must have the property "convoId"')
    with st.lock:
        c = st.member_convo(body["convoId"], me)
        c["read"][me] = c["rev"]
        v = st.convo_view_raw(c, me)
    return {"convo": st.finish_view(v)}


METHODS = {
    "chat.bsky.convo.getLog": ("GET", get_log),
    "chat.bsky.convo.listConvos": ("GET", list_convos),
    "chat.bsky.convo.getMessages": ("GET", get_messages),
    "chat.bsky.convo.getConvo": ("GET", get_convo),
    "chat.bsky.convo.getConvoForMembers": ("GET", get_convo_for_members),
    "chat.bsky.convo.sendMessage": ("POST", send_message),
    "chat.bsky.convo.updateRead": ("POST", update_read),
}


def caller_did(auth, nsid):
    """The caller's DID from the PDS's service JWT.

    The signature is NOT checked: this is a test fake behind a PDS on
    loopback, and checking would mean resolving the user's signing key
    and verifying ES256K. Only the claims are used: iss (the user), exp
    and lxm, which the real service also checks."""
    if not auth or not auth.lower().startswith("bearer "):
        raise XrpcError(401, "AuthMissing", "Authentication Required")
    parts = auth[7:].strip().split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not a JWT")
        claims = b64url_json(parts[1])
        iss = claims["iss"]
        if not isinstance(iss, str) or not iss.startswith("did:"):
            raise ValueError("bad iss")
    except (ValueError, KeyError, TypeError):
        raise XrpcError(401, "BadJwt", "Unable to parse the service JWT")
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and exp < time.time():
        raise XrpcError(401, "JwtExpired", "jwt expired")
    lxm = claims.get("lxm")
    if lxm is not None and lxm != nsid:
        raise XrpcError(401, "BadJwtLexiconMethod",
                        "bad jwt lexicon method (\"lxm\"). must match: " + nsid)
    return iss.split("#", 1)[0], claims


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "replywatch-fake-chat/1"

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def reply(self, status, obj):
        out = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def dispatch(self):
        st = self.server.store
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        rec = {"time": now_iso(), "method": self.command, "path": url.path,
               "query": q}
        try:
            raw = self.read_body()
            body = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise XrpcError(400, "InvalidRequest", "body is not JSON")
            if url.path.startswith("/_fixture/"):
                status, out = self.fixture(st, url.path[10:], body)
            elif url.path.startswith("/xrpc/"):
                nsid = url.path[6:]
                rec["nsid"] = nsid
                if nsid not in METHODS:
                    raise XrpcError(501, "MethodNotImplemented",
                                    "Method Not Implemented")
                verb, fn = METHODS[nsid]
                if self.command != verb:
                    raise XrpcError(400, "InvalidRequest",
                                    "Incorrect HTTP method (%s) expected %s"
                                    % (self.command, verb))
                me, claims = caller_did(self.headers.get("Authorization"), nsid)
                rec["iss"] = me
                rec["aud"] = claims.get("aud")
                status, out = 200, fn(st, me, q, body)
            else:
                raise XrpcError(404, "NotFound", "Not Found")
        except XrpcError as e:
            status, out = e.status, {"error": e.error, "message": e.message}
        except Exception as e:          # a bug here: say so, keep serving
            status, out = 500, {"error": "InternalServerError",
                                "message": "%s: %s" % (type(e).__name__, e)}
        rec["status"] = status
        if not url.path.startswith("/_fixture/"):
            with st.lock:
                st.requests.append(rec)
                del st.requests[:-MAX_REQUESTS]
            sys.stderr.write(json.dumps(rec) + "\n")
            sys.stderr.flush()
        self.reply(status, out)

    def fixture(self, st, name, body):
        if name == "health" and self.command == "GET":
            return 200, {"ok": True}
        if name == "log" and self.command == "GET":
            with st.lock:
                logs = [dict(e, members=sorted(vis)) for vis, e in st.logs]
                convos = [{"id": c["id"], "rev": c["rev"],
                           "members": list(c["members"]),
                           "accepted": sorted(c["accepted"]),
                           "messages": list(c["messages"])}
                          for c in st.convos.values()]
                reqs = list(st.requests)
            return 200, {"logs": logs, "convos": convos, "requests": reqs}
        if name == "reset" and self.command == "POST":
            with st.lock:
                st.reset()
            return 200, {"ok": True}
        if name == "message" and self.command == "POST":
            b = body if isinstance(body, dict) else {}
            frm, to, text = b.get("from"), b.get("to"), b.get("text")
            sent_at = b.get("sent_at")
            if not (isinstance(frm, str) and frm.startswith("did:")
                    and isinstance(to, str) and to.startswith("did:")
                    and frm != to and isinstance(text, str)):
                raise XrpcError(400, "InvalidRequest",
                                'need {"from": did, "to": did, "text": string}')
            if sent_at is not None:
                sent_at = normalize_datetime(sent_at)
                if sent_at is None:
                    raise XrpcError(400, "InvalidRequest",
                                    "sent_at must be an RFC 3339 date-time with a zone")
            with st.lock:
                c = st.direct_convo(frm, to, frm)
                msg = st.add_message(c, frm, text, sent_at=sent_at)
            return 200, {"convoId": c["id"], "message": msg}
        raise XrpcError(404, "NotFound", "no such fixture endpoint")


def main():
    ap = argparse.ArgumentParser(description="fake chat.bsky.convo service")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--plc", help="PLC directory URL, for handles")
    ap.add_argument("--net-json", help="network.js's JSON file (for its plc URL)")
    a = ap.parse_args()

    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    srv.daemon_threads = True
    srv.store = Store(plc=a.plc, net_json=a.net_json)
    port = srv.server_address[1]

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    # If the test shell that started us dies, the kernel sends SIGTERM
    # (prctl PR_SET_PDEATHSIG), and stop() runs: no polling for it.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass

    if a.port_file:
        tmp = "%s.%d.tmp" % (a.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, a.port_file)
    sys.stderr.write("chat: listening on %s:%d\n" % (a.host, port))
    sys.stderr.flush()
    srv.serve_forever(poll_interval=0.2)
    srv.server_close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A fake Mastodon server: replywatch's test fixture, benchmark target and demo.

Synopsis
  mastodon.py [--port N] [--port-file FILE] [--accounts N] [--token-file-dir DIR]
              [--rate-limit N] [--quiet] [--chaos SEED]
  mastodon.py --simulate [--speed X] [--catch-up DURATION] [--seed N] [--history DURATION]
              [options above]

It listens on 127.0.0.1 (HTTP/1.1, keep-alive) and answers the part of the
Mastodon API replywatch polls (../shared/api/platform-apis.md, section 5).
Brands are brand1..brandN with tokens "token-brandK"; --simulate has the one
brand "acme" (token "token-acme"). --port-file gets the port, written
atomically once the server accepts connections: wait for that file.

  GET /api/v1/accounts/verify_credentials
  GET /api/v1/notifications        types[] exclude_types[] account_id
                                   include_filtered
                                   max_id since_id min_id limit (40, max 80)
  GET /api/v1/accounts/{id}/statuses  exclude_replies exclude_reblogs only_media pinned
                                   max_id since_id min_id limit (20, max 40)
  GET /api/v1/statuses/{id}/context
  GET /api/v1/conversations        max_id since_id min_id limit (20, max 40)

Every request needs "Authorization: Bearer TOKEN" (else 401). Pages come
newest first with a Link header (rel="next": older, rel="prev": newer).
Status ids are (created_at in ms << 16) | seq as a decimal string, so a
backdated status sorts among older ones; notification and conversation ids
are counters in insertion order. Requests are counted per token in fixed
5-minute windows (X-RateLimit-* headers; 429 when exhausted).

Control API (no auth; JSON bodies; never counted, logged or faulted):
  POST   /_fixture/status    {"brand": "brand1", "from": "dana" | "brand",
           "visibility": "public", "text": "...", "in_reply_to": "ID",
           "created_at": "RFC 3339", "mention": true, "language": "en"}
         Posts a status. "from" is a customer (created on first use as
         NAME@social.example), "brand" (or a brand's name). "mention" puts
         @brand in a customer's text (default true); a reply always mentions
         the author it answers. Customer statuses that mention the brand or
         answer one of its statuses notify it. Visibility defaults to the
         parent's, else public. -> {"id", "notification_id", "created_at"}
  POST   /_fixture/faults    {"faults": [F...], "path": "/api/v1/notif...",
           "token": "token-brand1", "times": 1}
         Queues faults; each API request whose path starts with "path" and
         whose token is "token" (both optional) uses up the oldest matching
         fault once; a fault lasts "times" requests (default 1). Each F may
         also carry its own path/token/times. Kinds (delay combines):
           {"status": 429, "headers": {...}, "body": "..." or JSON}
                                   (default body: Mastodon's error JSON;
                                   nginx's HTML page for 502, 503, 504)
           {"delay": 3.0}          wait, then answer normally
           {"reset": true}         shut the socket down without an answer
           {"truncate": true}      real headers and Content-Length, half the
                                   body, then shut down
           {"oversize": 20000000}  200, a JSON array of exactly that many bytes
           {"wrong_types": true}   200, the real answer with each "id" an
                                   object and "created_at" a number in the
                                   last item of a list (or the whole object)
         -> {"queued": n, "pending": n}
  DELETE /_fixture/faults    drops all queued faults
  GET    /_fixture/requests  [{"method", "path", "query" (raw), "token",
           "brand", "status" (null: no answer), "time" (epoch s)}...],
           the last 100,000 non-control requests
  DELETE /_fixture/requests  empties that list
  DELETE /_fixture/ratelimit resets the rate-limit counters
  GET    /_fixture/state     {"statuses", "notifications", "brands": {name:
           {"id", "statuses", "notifications", "conversations"}}, "time", ...}
  POST   /_fixture/bulk      {"per_brand": K, "direct_share": 0.3}
         K new customer statuses mentioning each brand -> {"created": n}
  POST   /_fixture/policy    {"brand": "brand1", "filter_private_mentions":
           true, "following": ["dana", ...]}
         The brand's NotificationPolicy (Mastodon 4.3): while
         filter_private_mentions is on (default off), a direct mention from
         an account the brand does not follow, unless it answers the brand,
         makes a filtered notification, which /api/v1/notifications leaves
         out unless include_filtered=true. Like Mastodon, the policy applies
         when the notification is made. "following" (customer names) replaces
         the brand's follows. -> {"filter_private_mentions", "following"}

--chaos SEED: random faults on the API (never on /_fixture/), drawn from
SEED, for soak tests (tests/soak.sh); without it nothing changes. Each
request that no queued fault applies to gets, independently of the rest:
  5 %   a 5xx (500, 502, 503 or 504, as the "status" fault)
  2 %   a connection reset (as "reset")
  1 %   truncated JSON (as "truncate")
  0.1 % a latency spike before the answer, 2 to 20 s (as "delay")
  0.1 % the start of a burst of 429s for its token: every request of the
        token is answered 429 with Retry-After (the seconds left, rounded
        up) and X-RateLimit-Remaining: 0 for 1 to 5 s
Requests of the log get "chaos": the fault's name or null.
  GET    /_fixture/chaos     {"seed", "requests", "faults": {name: n}}
  POST   /_fixture/chaos     {"on": false} stops the faults, true resumes

--simulate: customers write to acme (about 35% direct) and an agent answers
most of them after a realistic delay. The simulated clock starts --catch-up
(default 2h) behind the real time and runs --speed times faster (default
60: a simulated minute per second) until it has caught up, then at the real
pace: no status is ever dated in the future. The --history (default 6h)
before that start is generated at start-up.
"""

import argparse
import bisect
import heapq
import itertools
import json
import math
import os
import random
import re
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import traceback
from collections import deque
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

LOCAL_DOMAIN = "mastodon.example"
REMOTE_DOMAIN = "social.example"
AVATAR = "https://mastodon.example/avatars/original/missing.png"
HEADER = "https://mastodon.example/headers/original/missing.png"
RATE_PERIOD = 300
VISIBILITIES = ("public", "unlisted", "private", "direct")
MAX_BODY = 16 * 1024 * 1024
REQUEST_LOG_SIZE = 100000

NOT_FOUND = {"error": "Record not found"}
BAD_TOKEN = {"error": "The access token is invalid"}
TOO_MANY = {"error": "Too many requests"}
DOORKEEPER_CHALLENGE = ('Bearer realm="Doorkeeper", error="invalid_token", '
                        'error_description="The access token is invalid"')


class HttpError(Exception):
    """An answer that ends the handling of a request early."""

    def __init__(self, status, message, close=False):
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close


# ---------------------------------------------------------------- time

def iso_ms(ms):
    """2026-08-14T09:38:33.412Z"""
    secs, frac = divmod(int(ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + ".%03dZ" % frac


def iso_us(secs):
    """2026-08-14T09:35:00.000000Z, like Ruby's iso8601(6)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + ".000000Z"


RFC3339_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:?\d\d)$")


def parse_rfc3339(text):
    """Milliseconds since the epoch; ValueError if it is no RFC 3339 time."""
    match = RFC3339_RE.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError("not an RFC 3339 time: %r" % (text,))
    fields = [int(g) for g in match.groups()[:6]]
    moment = datetime(*fields, tzinfo=timezone.utc)
    ms = int(moment.timestamp()) * 1000 + int(float(match.group(7) or 0) * 1000)
    zone = match.group(8)
    if zone.upper() != "Z":
        digits = zone[1:].replace(":", "")
        offset = int(digits[:2]) * 3600 + int(digits[2:]) * 60
        ms -= (1 if zone[0] == "+" else -1) * offset * 1000
    return ms


def parse_duration(text):
    """'6h', '90m', '2d', '30s' or '0' -> milliseconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", text.strip())
    if match is None:
        raise argparse.ArgumentTypeError("bad duration %r (e.g. 6h, 90m)" % text)
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return int(float(match.group(1)) * unit * 1000)


def minutes(n):
    return int(n * 60000)


class Clock:
    """Milliseconds since the epoch. It starts `lag_ms` behind the real
    time and runs `speed` times faster until it has caught up; from then on
    it is the real time, so that no status is ever dated in the future.
    While frozen (to replay history) it stands still at the frozen time."""

    def __init__(self, speed=1.0, lag_ms=0):
        self.speed = speed
        self.base_ms = time.time() * 1000 - lag_ms
        self.mono0 = time.monotonic()
        self.frozen_ms = None

    def now_ms(self):
        if self.frozen_ms is not None:
            return self.frozen_ms
        fast = self.base_ms + (time.monotonic() - self.mono0) * 1000 * self.speed
        return int(min(fast, time.time() * 1000))

    def freeze(self, ms):
        self.frozen_ms = ms

    def resume(self, at_ms):
        """Run again, from at_ms, now."""
        self.base_ms = at_ms
        self.mono0 = time.monotonic()
        self.frozen_ms = None

    def real_seconds_until(self, ms):
        now = self.now_ms()
        if ms <= now:
            return 0.0
        real = time.time() * 1000
        if now >= real or self.speed <= 1:
            return (ms - now) / 1000.0
        # still catching up: fast until the real time, then real time
        catch_up_s = (real - now) / 1000.0 / (self.speed - 1)
        caught_ms = real + catch_up_s * 1000
        if ms <= caught_ms:
            return (ms - now) / 1000.0 / self.speed
        return catch_up_s + (ms - caught_ms) / 1000.0


class SnowflakeIds:
    """Mastodon-like ids: (ms << 16) | seq, seq counting ids of the same ms."""

    def __init__(self):
        self.used = {}

    def next(self, ms):
        while True:
            seq = self.used.get(ms, 0)
            if seq <= 0xFFFF:
                self.used[ms] = seq + 1
                return (ms << 16) | seq
            ms += 1


# ---------------------------------------------------------------- HTML

def escape_html(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


TOKEN_RE = re.compile(
    r"(?P<url>https?://[^\s<>\"]+)"
    r"|(?<![\w/])@(?P<user>\w+)(?:@(?P<domain>[\w.-]*\w))?"
    r"|(?<![\w/&#])#(?P<tag>\w*[^\W\d_]\w*)")


def link_html(url):
    scheme, rest = url.split("://", 1)
    if len(rest) > 30:
        shown = '<span class="ellipsis">%s</span><span class="invisible">%s</span>' % (
            escape_html(rest[:30]), escape_html(rest[30:]))
    else:
        shown = '<span class="">%s</span><span class="invisible"></span>' % escape_html(rest)
    return ('<a href="%s" target="_blank" rel="nofollow noopener" translate="no">'
            '<span class="invisible">%s://</span>%s</a>' % (escape_html(url), scheme, shown))


def mention_html(account):
    return ('<span class="h-card" translate="no"><a href="%s" class="u-url mention">'
            '@<span>%s</span></a></span>' % (escape_html(account.url), escape_html(account.username)))


def hashtag_html(name):
    return ('<a href="https://%s/tags/%s" class="mention hashtag" rel="tag">#<span>%s</span></a>'
            % (LOCAL_DOMAIN, escape_html(name.lower()), escape_html(name)))


def render_inline(line, resolve, mentioned, tags):
    out, pos = [], 0
    for match in TOKEN_RE.finditer(line):
        out.append(escape_html(line[pos:match.start()]))
        pos = match.end()
        if match.group("url"):
            url = match.group("url").rstrip(".,;:!?)'")
            out.append(link_html(url) + escape_html(match.group("url")[len(url):]))
        elif match.group("user"):
            account = resolve(match.group("user"), match.group("domain"))
            if account is None:
                out.append(escape_html(match.group(0)))
                continue
            out.append(mention_html(account))
            if account not in mentioned:
                mentioned.append(account)
        else:
            name = match.group("tag")
            out.append(hashtag_html(name))
            tags.append({"name": name.lower(), "url": "https://%s/tags/%s" % (LOCAL_DOMAIN, name.lower())})
    out.append(escape_html(line[pos:]))
    return "".join(out)


def render_content(text, resolve):
    """Plain text -> (Mastodon-like HTML, mentioned accounts, tags)."""
    mentioned, tags = [], []
    paragraphs = []
    for paragraph in re.split(r"\n{2,}", text.strip()):
        lines = [render_inline(line, resolve, mentioned, tags) for line in paragraph.split("\n")]
        paragraphs.append("<p>" + "<br />".join(lines) + "</p>")
    return "".join(paragraphs), mentioned, tags


def json_list(encoded_items):
    return b"[" + b",".join(encoded_items) + b"]"


def to_json(value):
    """Compact UTF-8 JSON escaping <, > and & like Rails does."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text.encode("utf-8")


# ---------------------------------------------------------------- model

class Account:
    def __init__(self, account_id, username, domain, display_name, note="", brand=None):
        self.id = account_id
        self.username = username
        self.domain = domain
        self.display_name = display_name
        self.note = note
        self.brand = brand              # the Brand if this is a brand account
        self.statuses_count = int(account_id) % 700 + 20
        self.last_status_ms = None
        self.cache = None
        self.encoded = None

    @property
    def acct(self):
        return self.username if self.domain == LOCAL_DOMAIN else "%s@%s" % (self.username, self.domain)

    @property
    def url(self):
        return "https://%s/@%s" % (self.domain, self.username)

    @property
    def uri(self):
        return "https://%s/users/%s" % (self.domain, self.username)

    def counted_status(self, ms):
        self.statuses_count += 1
        self.last_status_ms = max(ms, self.last_status_ms or ms)
        self.cache = self.encoded = None

    def render(self):
        """The Account entity; the dict is shared, never change it."""
        if self.cache is None:
            number = int(self.id)
            self.cache = {
                "id": self.id, "username": self.username, "acct": self.acct,
                "display_name": self.display_name, "locked": False, "bot": False,
                "group": False, "indexable": True, "discoverable": True,
                "created_at": iso_ms((1672531200 + number % 700 * 86400) * 1000),
                "note": "<p>%s</p>" % escape_html(self.note) if self.note else "",
                "url": self.url, "uri": self.uri,
                "avatar": AVATAR, "avatar_static": AVATAR, "header": HEADER, "header_static": HEADER,
                "followers_count": number % 5000 + 3, "following_count": number % 300 + 1,
                "statuses_count": self.statuses_count,
                "last_status_at": iso_ms(self.last_status_ms)[:10] if self.last_status_ms else None,
                "emojis": [], "fields": [],
            }
        return self.cache

    def json(self):
        if self.encoded is None:
            self.encoded = to_json(self.render())
        return self.encoded

    def mention(self):
        return {"id": self.id, "username": self.username, "url": self.url, "acct": self.acct}


class Status:
    """A status; its JSON is kept in three pieces around the two parts that
    change: the author's account and replies_count."""

    def __init__(self, num, ms, account, visibility, content, mentioned, tags, parent, language):
        self.num = num
        self.id = str(num)
        self.ms = ms
        self.account = account
        self.visibility = visibility
        self.mentioned = mentioned
        self.parent = parent
        self.replies_count = 0
        self.pieces = self.json_pieces(content, tags, language)

    def json_pieces(self, content, tags, language):
        author, parent = self.account, self.parent
        local = author.domain == LOCAL_DOMAIN
        encoded = to_json({
            "id": self.id,
            "uri": "https://%s/users/%s/statuses/%s" % (author.domain, author.username, self.id),
            "url": "https://%s/@%s/%s" % (author.domain, author.username, self.id),
            "created_at": iso_ms(self.ms), "account": None, "content": content,
            "visibility": self.visibility, "sensitive": False, "spoiler_text": "",
            "media_attachments": [],
            "application": {"name": "Web", "website": None} if local else None,
            "mentions": [a.mention() for a in self.mentioned], "tags": tags, "emojis": [],
            "reblogs_count": 0, "favourites_count": 0, "replies_count": 0,
            "in_reply_to_id": parent.id if parent else None,
            "in_reply_to_account_id": parent.account.id if parent else None,
            "reblog": None, "poll": None, "card": None, "language": language, "text": None,
            "edited_at": None, "favourited": False, "reblogged": False, "muted": False,
            "bookmarked": False,
        })
        # Unescaped quotes only delimit keys and strings: these splits are exact.
        head, rest = encoded.split(b'"account":null', 1)
        middle, tail = rest.split(b'"replies_count":0', 1)
        return head + b'"account":', middle + b'"replies_count":', tail

    def json(self):
        head, middle, tail = self.pieces
        return b"%s%s%s%d%s" % (head, self.account.json(), middle, self.replies_count, tail)

    def visible_to(self, account):
        return (self.visibility in ("public", "unlisted") or self.account is account
                or account in self.mentioned)

    def root(self):
        status = self
        while status.parent is not None:
            status = status.parent
        return status


class Notification:
    def __init__(self, num, ms, status, filtered=False):
        self.num = num
        self.id = str(num)
        self.ms = ms
        self.status = status
        self.filtered = filtered        # by the brand's NotificationPolicy

    def json(self):
        head = to_json({"id": self.id, "type": "mention", "group_key": "ungrouped-" + self.id,
                        "created_at": iso_ms(self.ms)})[:-1]
        return b"%s,\"account\":%s,\"status\":%s}" % (head, self.status.account.json(), self.status.json())


class Conversation:
    """A brand's direct thread (Mastodon's AccountConversation)."""

    def __init__(self, conversation_id, owner):
        self.id = conversation_id
        self.owner = owner
        self.last = None
        self.participants = []
        self.unread = False

    def add(self, status):
        if self.last is None or status.num > self.last.num:
            self.last = status
        for account in [status.account] + status.mentioned:
            if account is not self.owner and account not in self.participants:
                self.participants.append(account)
        self.unread = status.account is not self.owner

    def json(self):
        return b'{"id":"%s","unread":%s,"accounts":%s,"last_status":%s}' % (
            self.id.encode(), b"true" if self.unread else b"false",
            json_list(a.json() for a in self.participants), self.last.json())


class Timeline:
    """Items in ascending order of their numeric id, paged like Mastodon."""

    def __init__(self):
        self.keys = []
        self.items = []

    def __len__(self):
        return len(self.keys)

    def add(self, key, item):
        index = bisect.bisect_right(self.keys, key)
        self.keys.insert(index, key)
        self.items.insert(index, item)

    def page(self, paging, keep=None):
        """Newest first. min_id: the oldest `limit` items above it;
        otherwise the newest `limit` items between since_id and max_id."""
        keys, items = self.keys, self.items
        high = len(keys) if paging.max_id is None else bisect.bisect_left(keys, paging.max_id)
        lower = paging.min_id if paging.min_id is not None else paging.since_id
        low = 0 if lower is None else bisect.bisect_right(keys, lower)
        if paging.min_id is not None:
            indexes = range(low, high)
        else:
            indexes = range(high - 1, low - 1, -1)
        chosen = []
        for index in indexes:
            if len(chosen) >= paging.limit:
                break
            if keep is None or keep(items[index]):
                chosen.append(items[index])
        if paging.min_id is not None:
            chosen.reverse()
        return chosen


class Paging:
    def __init__(self, query, default_limit, max_limit):
        self.max_id = self.cursor(query, "max_id")
        self.since_id = self.cursor(query, "since_id")
        self.min_id = self.cursor(query, "min_id")
        self.limit = self.read_limit(query, default_limit, max_limit)

    @staticmethod
    def cursor(query, name):
        value = last_value(query, name)
        if value is None or value == "":
            return None
        if not value.isdigit():
            raise HttpError(400, "%s must be a numeric id" % name)
        return int(value)

    @staticmethod
    def read_limit(query, default_limit, max_limit):
        value = last_value(query, "limit")
        try:
            return min(abs(int(value)), max_limit)
        except (TypeError, ValueError):
            return default_limit


def last_value(query, name):
    values = query.get(name)
    return values[-1] if values else None


def truthy(value):
    return value is not None and value.lower() in ("1", "true", "t", "on", "yes")


class Brand:
    def __init__(self, account, token):
        self.account = account
        self.token = token
        self.notifications = Timeline()
        self.conversations = {}         # thread root id -> Conversation
        self.filter_private_mentions = False
        self.following = set()          # account ids

    def filters(self, status):
        """Mastodon 4.3's NotificationPolicy on private mentions: those of
        strangers are filtered, unless they answer the brand."""
        if not self.filter_private_mentions or status.visibility != "direct":
            return False
        if status.parent is not None and status.parent.account is self.account:
            return False
        return status.account.id not in self.following


# ---------------------------------------------------------------- store

class Store:
    """All statuses, accounts and notifications, behind one lock."""

    def __init__(self, clock):
        self.lock = threading.RLock()
        self.clock = clock
        self.snowflakes = SnowflakeIds()
        self.notification_ids = itertools.count(3481000)
        self.conversation_ids = itertools.count(418400)
        self.customer_ids = itertools.count(110000000000000042)
        self.accounts = {}              # id -> Account
        self.by_acct = {}               # acct -> Account
        self.brands = {}                # username -> Brand
        self.tokens = {}                # token -> Brand
        self.statuses = {}              # id -> Status
        self.children = {}              # id -> [Status] in id order
        self.timelines = {}             # account id -> Timeline of its statuses

    def add_account(self, account):
        self.accounts[account.id] = account
        self.by_acct[account.acct.lower()] = account
        self.timelines[account.id] = Timeline()
        return account

    def add_brand(self, username, display_name, account_id, token):
        with self.lock:
            account = Account(account_id, username, LOCAL_DOMAIN, display_name,
                              note="Official support account. We answer Mon-Fri 8-20.")
            brand = Brand(self.add_account(account), token)
            account.brand = brand
            self.brands[username] = brand
            self.tokens[token] = brand
            return brand

    def customer(self, username, domain=REMOTE_DOMAIN, display_name=None):
        """The customer account, created on first use."""
        with self.lock:
            account = self.by_acct.get(("%s@%s" % (username, domain)).lower())
            if account is None:
                name = display_name or CUSTOMER_NAMES.get(username, username.capitalize())
                account = self.add_account(Account(str(next(self.customer_ids)), username, domain, name))
            return account

    def resolve(self, username, domain):
        acct = username if domain in (None, LOCAL_DOMAIN) else "%s@%s" % (username, domain)
        return self.by_acct.get(acct.lower())

    def brand_for_token(self, token):
        return self.tokens.get(token) if token else None

    def post(self, author, text, visibility="public", parent=None, ms=None, language="en"):
        """Create a status; returns (status, {brand username: Notification})."""
        with self.lock:
            status = self.build_status(author, text, visibility, parent, ms, language)
            self.add_status(status)
            return status, self.notify(status)

    def build_status(self, author, text, visibility, parent, ms, language):
        ms = self.clock.now_ms() if ms is None else ms
        content, mentioned, tags = render_content(text, self.resolve)
        return Status(self.snowflakes.next(ms), ms, author, visibility, content,
                      mentioned, tags, parent, language)

    def add_status(self, status):
        self.statuses[status.id] = status
        self.timelines[status.account.id].add(status.num, status)
        status.account.counted_status(status.ms)
        if status.parent is not None:
            status.parent.replies_count += 1
            siblings = self.children.setdefault(status.parent.id, [])
            bisect.insort(siblings, status, key=lambda s: s.num)
        if status.visibility == "direct":
            self.add_to_conversations(status)

    def notify(self, status):
        """Mentions of a brand and replies to a brand's status notify it."""
        recipients = [a for a in status.mentioned if a.brand is not None]
        if status.parent is not None and status.parent.account.brand is not None:
            recipients.append(status.parent.account)
        made = {}
        for account in recipients:
            if account is status.account or account.username in made:
                continue
            notification = Notification(next(self.notification_ids), self.clock.now_ms(), status,
                                        account.brand.filters(status))
            account.brand.notifications.add(notification.num, notification)
            made[account.username] = notification
        return made

    def add_to_conversations(self, status):
        root = status.root()
        for account in [status.account] + status.mentioned:
            brand = account.brand
            if brand is None:
                continue
            conversation = brand.conversations.get(root.id)
            if conversation is None:
                conversation = Conversation(str(next(self.conversation_ids)), account)
                brand.conversations[root.id] = conversation
            conversation.add(status)

    def descendants(self, status, viewer):
        found = []
        pending = list(reversed(self.children.get(status.id, [])))
        while pending:
            child = pending.pop()
            if child.visible_to(viewer):
                found.append(child)
            pending.extend(reversed(self.children.get(child.id, [])))
        return found


# ---------------------------------------------------------------- API

class Reply:
    def __init__(self, status, payload=None, headers=(), body=None, route=None):
        self.status = status
        self.payload = payload
        self.headers = list(headers)
        self.body = body                # bytes, or None: JSON of payload
        self.route = route

    def encoded(self):
        if self.body is None:
            self.body = to_json(self.payload)
        return self.body


API_ROUTES = [
    (re.compile(r"/api/v1/accounts/verify_credentials/?"), "verify_credentials"),
    (re.compile(r"/api/v1/notifications/?"), "notifications"),
    (re.compile(r"/api/v1/accounts/([^/]+)/statuses/?"), "account_statuses"),
    (re.compile(r"/api/v1/statuses/([^/]+)/context/?"), "context"),
    (re.compile(r"/api/v1/conversations/?"), "conversations"),
]


def match_route(method, path):
    if method != "GET":
        return None, ()
    for pattern, name in API_ROUTES:
        match = pattern.fullmatch(path)
        if match:
            return name, match.groups()
    return None, ()


class Api:
    """The Mastodon endpoints. Each returns a Reply, made under the store's
    lock from the JSON the entities keep encoded."""

    def __init__(self, store, port, scheme="http"):
        self.store = store
        self.port = port
        self.scheme = scheme

    def answer(self, route, args, brand, path, query):
        with self.store.lock:
            reply = getattr(self, route)(brand, path, query, *args)
        reply.route = route
        return reply

    def paged(self, path, encoded_items, ids, limit, extra=()):
        """A page with its Link header (none when empty)."""
        headers = []
        if ids:
            base = "%s://127.0.0.1:%d%s" % (self.scheme, self.port, path.rstrip("/"))
            older = base + "?" + urlencode([("max_id", ids[-1]), ("limit", limit)] + list(extra))
            newer = base + "?" + urlencode([("min_id", ids[0]), ("limit", limit)] + list(extra))
            headers.append(("Link", '<%s>; rel="next", <%s>; rel="prev"' % (older, newer)))
        return Reply(200, headers=headers, body=json_list(encoded_items))

    def verify_credentials(self, brand, path, query):
        account = dict(brand.account.render())
        account["source"] = {"privacy": "public", "sensitive": False, "language": "en",
                             "note": brand.account.note, "fields": [], "follow_requests_count": 0}
        return Reply(200, account)

    def notifications(self, brand, path, query):
        paging = Paging(query, 40, 80)
        types = query.get("types[]", []) + query.get("types", [])
        excluded = query.get("exclude_types[]", []) + query.get("exclude_types", [])
        account_id = last_value(query, "account_id")
        include_filtered = last_value(query, "include_filtered")
        with_filtered = truthy(include_filtered)

        def keep(n):
            return ((with_filtered or not n.filtered)
                    and (not account_id or n.status.account.id == account_id))

        items = []
        if (not types or "mention" in types) and "mention" not in excluded:
            items = brand.notifications.page(paging, keep)
        extra = [("types[]", t) for t in types] + [("exclude_types[]", t) for t in excluded]
        if account_id:
            extra.append(("account_id", account_id))
        if include_filtered is not None:
            # Mastodon's Link headers carry it on
            extra.append(("include_filtered", include_filtered))
        return self.paged(path, [n.json() for n in items], [n.id for n in items], paging.limit, extra)

    def account_statuses(self, brand, path, query, account_id):
        account = self.store.accounts.get(account_id)
        if account is None:
            return Reply(404, NOT_FOUND)
        paging = Paging(query, 20, 40)
        own = account is brand.account
        no_replies = truthy(last_value(query, "exclude_replies"))

        def keep(status):
            if not own and status.visibility not in ("public", "unlisted"):
                return False
            return not (no_replies and status.parent is not None
                        and status.parent.account is not status.account)

        items = []
        if not truthy(last_value(query, "pinned")) and not truthy(last_value(query, "only_media")):
            items = self.store.timelines[account.id].page(paging, keep)
        flags = ("exclude_replies", "exclude_reblogs", "only_media", "pinned")
        extra = [(name, query[name][-1]) for name in flags if name in query]
        return self.paged(path, [s.json() for s in items], [s.id for s in items], paging.limit, extra)

    def context(self, brand, path, query, status_id):
        status = self.store.statuses.get(status_id)
        viewer = brand.account
        if status is None or not status.visible_to(viewer):
            return Reply(404, NOT_FOUND)
        ancestors = []
        parent = status.parent
        while parent is not None:
            if parent.visible_to(viewer):
                ancestors.append(parent)
            parent = parent.parent
        ancestors.reverse()
        descendants = self.store.descendants(status, viewer)
        return Reply(200, body=b'{"ancestors":%s,"descendants":%s}' % (
            json_list(s.json() for s in ancestors), json_list(s.json() for s in descendants)))

    def conversations(self, brand, path, query):
        paging = Paging(query, 20, 40)
        by_last = Timeline()
        for conversation in brand.conversations.values():
            by_last.add(conversation.last.num, conversation)
        items = by_last.page(paging)
        return self.paged(path, [c.json() for c in items], [c.last.id for c in items], paging.limit)


def synthetic_item(route, brand):
    """Something to corrupt when the real page is empty."""
    stranger = Account("110999999999999999", "mallory", REMOTE_DOMAIN, "Mallory")
    status = Status(1 << 16, int(time.time() * 1000), stranger, "public",
                    "<p>wrong types</p>", [brand.account], [], None, "en")
    if route == "notifications":
        return json.loads(Notification(1, status.ms, status).json())
    if route == "conversations":
        conversation = Conversation("1", brand.account)
        conversation.add(status)
        return json.loads(conversation.json())
    return json.loads(status.json())


def corrupt(value):
    """Every "id" becomes an object and every "created_at" a number."""
    if isinstance(value, list):
        return [corrupt(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key == "id" and isinstance(item, str):
            out[key] = {"value": item}
        elif key == "created_at" and isinstance(item, str):
            out[key] = parse_rfc3339(item) / 1000.0
        else:
            out[key] = corrupt(item)
    return out


def wrong_types_reply(reply, brand):
    payload = json.loads(reply.encoded())
    if isinstance(payload, list):
        payload = list(payload) or [synthetic_item(reply.route, brand)]
        payload[-1] = corrupt(payload[-1])
    else:
        payload = corrupt(payload)
    return Reply(200, payload, reply.headers, route=reply.route)


# ---------------------------------------------------------------- limits, faults, log

class RateLimiter:
    """Requests per key in fixed windows of RATE_PERIOD seconds."""

    def __init__(self, limit):
        self.limit = limit
        self.lock = threading.Lock()
        self.windows = {}               # key -> (window number, count)

    def hit(self, key):
        """(allowed, X-RateLimit-* headers) for one more request."""
        now = time.time()
        window = int(now // RATE_PERIOD)
        with self.lock:
            seen, count = self.windows.get(key, (window, 0))
            count = count + 1 if seen == window else 1
            self.windows[key] = (window, count)
        headers = [("X-RateLimit-Limit", str(self.limit)),
                   ("X-RateLimit-Remaining", str(max(0, self.limit - count))),
                   ("X-RateLimit-Reset", iso_us((window + 1) * RATE_PERIOD))]
        return count <= self.limit, headers

    def reset(self):
        with self.lock:
            self.windows.clear()


FAULT_ACTIONS = ("status", "delay", "reset", "truncate", "oversize", "wrong_types")
FAULT_KEYS = FAULT_ACTIONS + ("headers", "body", "path", "token", "times")


def check_fault(fault):
    """Raise HttpError(400) unless the fault makes sense."""
    if not isinstance(fault, dict) or not any(k in fault for k in FAULT_ACTIONS):
        raise HttpError(400, "a fault is an object with one of: " + ", ".join(FAULT_ACTIONS))
    unknown = sorted(set(fault) - set(FAULT_KEYS))
    if unknown:
        raise HttpError(400, "unknown fault keys: " + ", ".join(unknown))
    if "status" in fault and not (isinstance(fault["status"], int) and 100 <= fault["status"] <= 599):
        raise HttpError(400, "fault status must be an HTTP status code")
    if "delay" in fault and not (isinstance(fault["delay"], (int, float)) and 0 <= fault["delay"] <= 600):
        raise HttpError(400, "fault delay must be 0..600 seconds")
    if "oversize" in fault and not (isinstance(fault["oversize"], int) and 2 <= fault["oversize"] <= 1 << 31):
        raise HttpError(400, "fault oversize must be a byte count >= 2")
    headers = fault.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, (str, int)) for v in headers.values()):
        raise HttpError(400, "fault headers must be an object of strings")


class FaultQueue:
    def __init__(self):
        self.lock = threading.Lock()
        self.entries = []               # [fault, path, token, uses left]

    def add(self, faults, path, token, times):
        with self.lock:
            for fault in faults:
                self.entries.append([fault, fault.get("path", path), fault.get("token", token),
                                     fault.get("times", times)])
            return len(self.entries)

    def take(self, path, token):
        """The oldest fault for this request, used up once; or None."""
        with self.lock:
            for entry in self.entries:
                fault, want_path, want_token, _ = entry
                if want_path and not path.startswith(want_path):
                    continue
                if want_token and want_token != token:
                    continue
                entry[3] -= 1
                if entry[3] <= 0:
                    self.entries.remove(entry)
                return fault
            return None

    def clear(self):
        with self.lock:
            count = len(self.entries)
            self.entries.clear()
            return count

    def __len__(self):
        return len(self.entries)


class Chaos:
    """--chaos: random faults, as if FaultQueue had queued them."""

    SERVER_ERRORS = (500, 502, 503, 504)

    def __init__(self, seed):
        self.seed = seed
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.on = True
        self.requests = 0
        self.counts = {}
        self.bursts = {}                # token -> monotonic end of its 429 burst

    def count(self, name):
        self.counts[name] = self.counts.get(name, 0) + 1

    def draw(self, token):
        """(name, fault) for one API request; (None, None) for none."""
        with self.lock:
            if not self.on:
                return None, None
            self.requests += 1
            rng, now = self.rng, time.monotonic()
            end = self.bursts.get(token, 0.0)
            if end <= now and rng.random() < 0.001:
                end = now + rng.uniform(1.0, 5.0)
                self.bursts[token] = end
                self.count("429 bursts")
            if end > now:
                self.count("429")
                return "429", {"status": 429, "headers": {
                    "Retry-After": str(max(1, math.ceil(end - now)))}}
            fault = {}
            name = []
            roll = rng.random()
            if roll < 0.05:
                fault["status"] = rng.choice(self.SERVER_ERRORS)
                name.append(str(fault["status"]))
            elif roll < 0.07:
                fault["reset"] = True
                name.append("reset")
            elif roll < 0.08:
                fault["truncate"] = True
                name.append("truncate")
            if rng.random() < 0.001:
                fault["delay"] = round(rng.uniform(2.0, 20.0), 3)
                name.insert(0, "delay")
            for n in name:
                self.count(n)
            return ("+".join(name), fault) if fault else (None, None)

    def record(self):
        with self.lock:
            return {"seed": self.seed, "on": self.on, "requests": self.requests,
                    "faults": dict(self.counts)}


class RequestLog:
    def __init__(self):
        self.lock = threading.Lock()
        self.entries = deque(maxlen=REQUEST_LOG_SIZE)

    def record(self, method, url, token, brand):
        entry = {"method": method, "path": url.path, "query": url.query, "token": token,
                 "brand": brand.account.username if brand else None, "status": None,
                 "time": round(time.time(), 3)}
        with self.lock:
            self.entries.append(entry)
        return entry

    def snapshot(self):
        with self.lock:
            return [dict(e) for e in self.entries]

    def clear(self):
        with self.lock:
            count = len(self.entries)
            self.entries.clear()
            return count


class Log:
    def __init__(self, quiet):
        self.quiet = quiet
        self.lock = threading.Lock()

    def info(self, message):
        if not self.quiet:
            self.error(message)

    def error(self, message):
        with self.lock:
            sys.stderr.write(message.rstrip("\n") + "\n")
            sys.stderr.flush()


# ---------------------------------------------------------------- control API

class Fixture:
    """The /_fixture/ endpoints (see the docstring at the top)."""

    def __init__(self, app):
        self.app = app
        self.store = app.store
        self.routes = {
            ("POST", "status"): self.post_status,
            ("POST", "faults"): self.post_faults,
            ("DELETE", "faults"): self.delete_faults,
            ("GET", "requests"): self.get_requests,
            ("DELETE", "requests"): self.delete_requests,
            ("DELETE", "ratelimit"): self.delete_ratelimit,
            ("GET", "state"): self.get_state,
            ("POST", "bulk"): self.post_bulk,
            ("POST", "policy"): self.post_policy,
            ("GET", "chaos"): self.get_chaos,
            ("POST", "chaos"): self.post_chaos,
        }

    def handle(self, method, path, body):
        name = path[len("/_fixture/"):].strip("/")
        action = self.routes.get((method, name))
        if action is None:
            raise HttpError(404, "no fixture endpoint %s %s" % (method, path))
        return Reply(200, action(self.parse_body(body) if method == "POST" else None))

    @staticmethod
    def parse_body(body):
        try:
            data = json.loads(body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError) as error:
            raise HttpError(400, "bad JSON: %s" % error)
        if not isinstance(data, dict):
            raise HttpError(400, "the body must be a JSON object")
        return data

    def pick_brand(self, data):
        name = data.get("brand")
        if name is None and len(self.store.brands) == 1:
            return next(iter(self.store.brands.values()))
        brand = self.store.brands.get(name) if isinstance(name, str) else None
        if brand is None:
            raise HttpError(400, "unknown brand %r" % (name,))
        return brand

    def author(self, brand, sender):
        if not isinstance(sender, str) or not re.fullmatch(r"\w{1,30}(@[\w.-]+)?", sender):
            raise HttpError(400, '"from" must be "brand" or a user name')
        if sender == "brand":
            return brand.account
        if sender in self.store.brands:
            return self.store.brands[sender].account
        username, _, domain = sender.partition("@")
        return self.store.customer(username, domain or REMOTE_DOMAIN)

    def post_status(self, data):
        store = self.store
        with store.lock:
            brand = self.pick_brand(data)
            author = self.author(brand, data.get("from", "dana"))
            parent = self.parent(data.get("in_reply_to"))
            visibility = data.get("visibility") or (parent.visibility if parent else "public")
            if visibility not in VISIBILITIES:
                raise HttpError(400, "visibility must be one of " + ", ".join(VISIBILITIES))
            is_brand = author.brand is brand
            text = data.get("text", "Thanks for reaching out!" if is_brand else "Hello?")
            if not isinstance(text, str):
                raise HttpError(400, '"text" must be a string')
            mention = data.get("mention", not is_brand)
            text = with_mentions(text, author, parent, brand.account if mention else None)
            ms = self.created_ms(data.get("created_at"))
            language = data.get("language") if isinstance(data.get("language"), str) else "en"
            status, notifications = store.post(author, text, visibility, parent, ms, language)
            notification = notifications.get(brand.account.username)
            return {"id": status.id, "notification_id": notification.id if notification else None,
                    "created_at": iso_ms(status.ms)}

    def parent(self, status_id):
        if status_id is None:
            return None
        parent = self.store.statuses.get(str(status_id))
        if parent is None:
            raise HttpError(400, "in_reply_to: no status %s" % status_id)
        return parent

    @staticmethod
    def created_ms(value):
        if value is None:
            return None
        try:
            return parse_rfc3339(value)
        except ValueError as error:
            raise HttpError(400, "created_at: %s" % error)

    def post_faults(self, data):
        faults = data.get("faults")
        if isinstance(faults, dict):
            faults = [faults]
        if not isinstance(faults, list) or not faults:
            raise HttpError(400, '"faults" must be a non-empty list')
        for fault in faults:
            check_fault(fault)
        times = data.get("times", 1)
        if not isinstance(times, int) or times < 1 or any(
                not isinstance(f.get("times", 1), int) or f.get("times", 1) < 1 for f in faults):
            raise HttpError(400, '"times" must be a positive integer')
        path, token = data.get("path"), data.get("token")
        if not isinstance(path, (str, type(None))) or not isinstance(token, (str, type(None))):
            raise HttpError(400, '"path" and "token" must be strings')
        pending = self.app.faults.add(faults, path, token, times)
        return {"queued": len(faults), "pending": pending}

    def delete_faults(self, data):
        return {"cleared": self.app.faults.clear()}

    def get_requests(self, data):
        return self.app.requests.snapshot()

    def delete_requests(self, data):
        return {"cleared": self.app.requests.clear()}

    def delete_ratelimit(self, data):
        self.app.limiter.reset()
        return {"reset": True}

    def get_state(self, data):
        store = self.store
        with store.lock:
            brands = {name: {"id": b.account.id, "statuses": len(store.timelines[b.account.id]),
                             "notifications": len(b.notifications),
                             "filtered": sum(n.filtered for n in b.notifications.items),
                             "conversations": len(b.conversations)}
                      for name, b in store.brands.items()}
            return {"statuses": len(store.statuses), "accounts": len(store.accounts),
                    "notifications": sum(b["notifications"] for b in brands.values()),
                    "brands": brands, "faults_pending": len(self.app.faults),
                    "time": iso_ms(store.clock.now_ms())}

    def get_chaos(self, data):
        if self.app.chaos is None:
            raise HttpError(404, "no --chaos")
        return self.app.chaos.record()

    def post_chaos(self, data):
        if self.app.chaos is None:
            raise HttpError(404, "no --chaos")
        with self.app.chaos.lock:
            self.app.chaos.on = bool(data.get("on", True))
        return self.app.chaos.record()

    def post_bulk(self, data):
        per_brand = data.get("per_brand", 1)
        share = data.get("direct_share", 0.3)
        if not isinstance(per_brand, int) or not 0 <= per_brand <= 100000:
            raise HttpError(400, '"per_brand" must be an integer 0..100000')
        if not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise HttpError(400, '"direct_share" must be 0..1')
        phrases, rng = self.app.phrases, self.app.rng
        created = 0
        with self.store.lock:
            for brand in list(self.store.brands.values()):
                for _ in range(per_brand):
                    name = rng.choice(CUSTOMERS)[0]
                    customer = self.store.customer(name)
                    visibility = "direct" if rng.random() < share else "public"
                    language, _, text = phrases.opener(customer, visibility == "direct")
                    text = with_mentions(text, customer, None, brand.account)
                    self.store.post(customer, text, visibility, None, None, language)
                    created += 1
        return {"created": created, "statuses": len(self.store.statuses)}


    def post_policy(self, data):
        store = self.store
        with store.lock:
            brand = self.pick_brand(data)
            if "filter_private_mentions" in data:
                brand.filter_private_mentions = bool(data["filter_private_mentions"])
            following = data.get("following")
            if following is not None:
                if not isinstance(following, list):
                    raise HttpError(400, '"following" must be a list of names')
                brand.following = {self.author(brand, name).id for name in following}
            return {"filter_private_mentions": brand.filter_private_mentions,
                    "following": sorted(store.accounts[i].acct for i in brand.following)}


def with_mentions(text, author, parent, brand_account):
    """Put the mentions a client would add in front of the text."""
    prefix = []
    for account in (parent.account if parent else None, brand_account):
        if account is None or account is author:
            continue
        handle = "@" + account.acct
        if not mentions(text, handle) and handle not in prefix:
            prefix.append(handle)
    return " ".join(prefix + [text]) if prefix else text


def mentions(text, handle):
    return re.search(r"(?<![\w@])%s(?![\w@-])" % re.escape(handle), text, re.IGNORECASE) is not None


# ---------------------------------------------------------------- HTTP

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Mastodon"
    sys_version = ""
    timeout = 75
    disable_nagle_algorithm = True
    error_content_type = "application/json"
    error_message_format = '{"error":"%(explain)s"}'

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    @property
    def app(self):
        return self.server.app

    def version_string(self):
        return self.server_version

    def log_request(self, code="-", size="-"):
        pass                            # see log_line()

    def log_message(self, fmt, *args):
        self.app.log.info("%s %s" % (self.client_address[0], fmt % args))

    def log_line(self, method, url, status, size, who):
        path = url.path + ("?" + url.query if url.query else "")
        path = re.sub(r"(access_token=)[^&]*", r"\1[hidden]", path)
        self.app.log.info("%s %s %s %s %s B%s %.1f ms" % (
            self.client_address[0], method, path, status if status else "-", size,
            " [%s]" % who if who else "", (time.monotonic() - self.started) * 1000))

    def dispatch(self, method):
        self.started = time.monotonic()
        url = urlsplit(self.path)
        try:
            body = self.read_body()
            if url.path.startswith("/_fixture/"):
                reply = self.app.fixture.handle(method, url.path, body)
                self.send_reply(reply)
                self.log_line(method, url, reply.status, len(reply.body), "fixture")
            else:
                self.serve_api(method, url)
        except HttpError as error:
            self.close_connection = self.close_connection or error.close
            self.send_error_reply(error.status, error.message)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        except Exception:
            self.app.log.error("request %s %s failed:\n%s" % (method, url.path, traceback.format_exc()))
            self.close_connection = True
            self.send_error_reply(500, "fake server bug, see its stderr")

    def send_error_reply(self, status, message):
        try:
            self.send_reply(Reply(status, {"error": message}))
        except OSError:
            self.close_connection = True

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self.read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.strip().isdigit():
            raise HttpError(400, "bad Content-Length", close=True)
        if int(length) > MAX_BODY:
            raise HttpError(413, "body too large", close=True)
        return self.rfile.read(int(length))

    def read_chunked(self):
        data = bytearray()
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise HttpError(400, "bad chunk", close=True)
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass
                return bytes(data)
            if len(data) + size > MAX_BODY:
                raise HttpError(413, "body too large", close=True)
            data += self.rfile.read(size)
            self.rfile.readline(1024)

    def serve_api(self, method, url):
        app = self.app
        token = bearer_token(self.headers.get("Authorization"))
        brand = app.store.brand_for_token(token)
        entry = app.requests.record(method, url, token, brand)
        allowed, limit_headers = app.limiter.hit(brand.token if brand else "ip:" + self.client_address[0])
        fault = app.faults.take(url.path, token) or {}
        if app.chaos is not None:
            name = None
            if not fault:
                name, fault = app.chaos.draw(token)
                fault = fault or {}
            entry["chaos"] = name
        who = brand.account.username if brand else None
        if fault.get("delay"):
            time.sleep(fault["delay"])
        if fault.get("reset"):
            self.log_line(method, url, None, 0, who)
            self.drop_connection()
        elif fault.get("oversize") and "status" not in fault:
            entry["status"] = 200
            self.log_line(method, url, 200, fault["oversize"], who)
            self.send_oversize(fault["oversize"], limit_headers)
        else:
            reply = self.fault_or_answer(fault, method, url, brand, allowed, limit_headers)
            entry["status"] = reply.status
            self.log_line(method, url, reply.status, len(reply.encoded()), who)
            self.send_reply(reply, truncate=bool(fault.get("truncate")))

    def fault_or_answer(self, fault, method, url, brand, allowed, limit_headers):
        if "status" in fault:
            return fault_reply(fault, limit_headers)
        reply = self.api_reply(method, url, brand, allowed)
        reply.headers = merge_headers(limit_headers, reply.headers)
        if fault.get("wrong_types") and reply.status == 200:
            reply = wrong_types_reply(reply, brand or next(iter(self.app.store.brands.values())))
        return reply

    def api_reply(self, method, url, brand, allowed):
        if not allowed:
            return Reply(429, TOO_MANY)
        route, args = match_route(method, url.path)
        if route is None:
            return Reply(404, NOT_FOUND)
        if brand is None:
            return Reply(401, BAD_TOKEN, [("WWW-Authenticate", DOORKEEPER_CHALLENGE)])
        query = parse_qs(url.query, keep_blank_values=True)
        try:
            return self.app.api.answer(route, args, brand, url.path, query)
        except HttpError as error:
            return Reply(error.status, {"error": error.message})

    def send_reply(self, reply, truncate=False):
        body = reply.encoded()
        self.send_response(reply.status)
        headers = merge_headers([("Content-Type", "application/json; charset=utf-8"),
                                 ("Cache-Control", "private, no-store")], reply.headers)
        for name, value in headers:
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if truncate:
            self.wfile.write(body[:len(body) // 2])
            self.drop_connection()
        else:
            self.wfile.write(body)

    def send_oversize(self, size, headers):
        """A 200 whose body is a JSON array of exactly `size` bytes."""
        self.send_response(200)
        for name, value in merge_headers([("Content-Type", "application/json; charset=utf-8")], headers):
            self.send_header(name, value)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if size < 4:
            self.wfile.write(b"[" + b" " * (size - 2) + b"]")
            return
        self.wfile.write(b'["')
        left, chunk = size - 4, b"x" * 65536
        while left > 0:
            self.wfile.write(chunk[:left])
            left -= len(chunk)
        self.wfile.write(b'"]')

    def drop_connection(self):
        """Close the TCP connection now, whatever was (not) sent."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def bearer_token(header):
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def merge_headers(*lists):
    """Later lists override earlier ones, names compared case-insensitively."""
    merged = {}
    for headers in lists:
        for name, value in headers:
            merged[name.lower()] = (name, str(value))
    return list(merged.values())


GATEWAY_PAGE = ("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
                "<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
DEFAULT_ERRORS = {401: BAD_TOKEN, 403: {"error": "This action is outside the authorized scopes"},
                  404: NOT_FOUND, 429: TOO_MANY, 500: {"error": "Internal server error"}}


def fault_reply(fault, limit_headers):
    """The answer of a {"status": N} fault: given or Mastodon-like body
    (nginx's HTML page for 502, 503 and 504)."""
    status = fault["status"]
    headers = list(limit_headers)
    if status == 429:
        headers.append(("X-RateLimit-Remaining", "0"))
    body = fault.get("body")
    if body is None and status in (502, 503, 504):
        phrase = phrase_of(status)
        body = (GATEWAY_PAGE % (status, phrase, status, phrase)).encode()
        headers.append(("Content-Type", "text/html"))
    elif body is None:
        body = to_json(DEFAULT_ERRORS.get(status, {"error": phrase_of(status)}))
    elif isinstance(body, str):
        body = body.encode("utf-8")
    else:
        body = to_json(body)
    headers = merge_headers(headers, [(k, str(v)) for k, v in fault.get("headers", {}).items()])
    return Reply(status, headers=headers, body=body)


def phrase_of(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error %d" % status


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, port, app):
        self.app = app
        super().__init__(("127.0.0.1", port), Handler)

    def server_bind(self):
        # Skip HTTPServer's getfqdn(): it may wait on DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def use_tls(self, cert, key):
        """Serve HTTPS; the handshake happens in the handler's thread."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.socket = context.wrap_socket(self.socket, server_side=True,
                                          do_handshake_on_connect=False)

    def handle_error(self, request, client_address):
        # a client that refuses the certificate is what TLS tests expect
        if isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError)):
            return
        super().handle_error(request, client_address)


class App:
    """Everything the handlers share."""

    def __init__(self, store, rng, limit, quiet):
        self.store = store
        self.rng = rng
        self.phrases = Phrasebook(rng)
        self.limiter = RateLimiter(limit)
        self.faults = FaultQueue()
        self.requests = RequestLog()
        self.log = Log(quiet)
        self.fixture = Fixture(self)
        self.api = None                 # once the port is known
        self.chaos = None               # --chaos


# ---------------------------------------------------------------- texts

CUSTOMERS = [
    ("dana", "Dana K", "en"), ("lukas", "Lukas Becker", "de"), ("priya", "Priya N.", "en"),
    ("marco", "Marco Rossi", "en"), ("jun", "Jun \U0001F331", "en"), ("amelie", "Am\u00e9lie", "en"),
    ("tom", "Tom O'Brien", "en"), ("sofia", "Sof\u00eda", "en"), ("kwame", "Kwame A.", "en"),
    ("lena", "Lena M\u00fcller", "de"), ("felix", "Felix Schmidt", "de"), ("mia", "Mia & Co", "en"),
]
CUSTOMER_NAMES = {name: display for name, display, _ in CUSTOMERS}
CUSTOMER_LANGUAGES = {name: language for name, _, language in CUSTOMERS}

OPENERS = {
    "en": [
        ("question", "Do you ship to Canada? Couldn't find it in the FAQ."),
        ("question", "Is the X200 compatible with the older chargers?"),
        ("question", "How do I change the delivery address on order #{order}?"),
        ("question", "What are your opening hours on public holidays?"),
        ("question", "Quick one: can I return something I bought in a store through the website?"),
        ("question", "Is there a student discount? Asking for a friend \U0001F604"),
        ("question", "Does the warranty cover water damage? Asking before I buy."),
        ("praise", "Just got my order, everything perfect. Thanks for the quick delivery!"),
        ("praise", "Shout-out to your support team, Maya sorted my issue in 5 minutes \U0001F44F"),
        ("praise", "Love the new app update, checkout is so much faster now #happycustomer"),
        ("complaint", "still waiting for my refund for order #{order}. It's been two weeks."),
        ("complaint", "my order arrived broken. The box was fine, the lamp inside wasn't. What now?"),
        ("complaint", "no answer for 3 days, really?!"),
        ("complaint", "charged twice for the same order ({order}) & nobody replies to my emails"),
        ("complaint", "your tracking page has said 'label created' since Monday: "
                      "https://track.example.com/parcels/{order}"),
        ("complaint", "third time I'm asking: where is my parcel? #fail"),
        ("complaint", "Hi,\n\nmy order #{order} arrived broken.\nPhotos are in the email I sent on "
                      "Monday. What now?"),
    ],
    "de": [
        ("complaint", "Meine Bestellung ist immer noch nicht da. Bestellnummer {order}"),
        ("question", "Hallo, kann ich die Lieferadresse f\u00fcr {order} noch \u00e4ndern?"),
        ("complaint", "Seit einer Woche keine Antwort auf meine Mail. Was ist da los?"),
        ("praise", "Danke f\u00fcr den schnellen Austausch, alles bestens!"),
        ("complaint", "Paket kam besch\u00e4digt an & der Kundenservice ist nicht erreichbar. Super."),
    ],
    "direct": [
        ("account", "order {order}, email {email} - the package never arrived"),
        ("account", "Can you check my account? I can't log in since the password reset."),
        ("account", "Here's my order number: {order}. The invoice has the wrong address "
                    "<Main St 12 & 14>."),
        ("complaint", "I was promised a callback yesterday. Nobody called. Order {order}."),
    ],
}

REPLIES = {
    ("en", "question"): [
        "Hi {first}! Yes, we do - delivery takes 5-7 business days.",
        "Good question! You can change it under Orders \u2192 Details until the parcel ships.",
        "Thanks for asking! All the details are here: https://acme.example/help/returns-and-exchanges",
    ],
    ("en", "praise"): [
        "Thank you so much, {first}! We'll pass it on to the team \U0001F49B",
        "That's great to hear, enjoy!",
    ],
    ("en", "complaint"): [
        "We're sorry, {first}! Could you send us your order number in a DM so we can check?",
        "So sorry about this. A replacement is on its way; you'll get the tracking link by email today.",
        "Apologies for the wait. Your refund was issued this morning, it can take 3-5 business days "
        "to show up.",
        "That's not the experience we want you to have. I've escalated this to our logistics team "
        "& will get back to you by tomorrow.",
    ],
    ("en", "account"): [
        "Thanks {first}, I found your order. I've sent you a password reset link just now.",
        "Got it, thanks! The address is corrected and a new invoice is on its way.",
    ],
    ("en", "followup"): [
        "Sure! You can pick a new date from the link in your shipping email.",
        "Sorry for the confusion, {first}. Let me check with the warehouse and come back to you.",
    ],
    ("de", "complaint"): [
        "Hallo {first}, das tut uns leid! Das Paket ist unterwegs und kommt morgen an.",
        "Entschuldige die Wartezeit. Wir k\u00fcmmern uns heute noch darum.",
    ],
    ("de", "question"): ["Hallo {first}, danke f\u00fcr deine Nachricht! Wir haben die Adresse ge\u00e4ndert."],
    ("de", "praise"): ["Danke, {first}! Das freut uns sehr \U0001F60A"],
    ("de", "followup"): ["Voraussichtlich morgen zwischen 10 und 14 Uhr."],
}

NUDGES = {
    "en": ["any update?", "Hello?? Still nothing.", "Bumping this. Order {order}.",
           "It's been hours. Is anyone reading this?"],
    "de": ["Ist da jemand?", "Noch keine Antwort..."],
}
THANKS = {"en": ["Thanks, that worked!", "Great, thank you!"], "de": ["Danke!", "Super, danke euch!"]}
FOLLOWUPS = {
    "en": ["Thanks! One more thing: can I also change the delivery date?",
           "That doesn't really answer my question, though."],
    "de": ["Und wann genau kommt es an?"],
}
ANNOUNCEMENTS = [
    "Our support hours this weekend: Sat 9-17, Sun closed. DMs stay open!",
    "Heads-up: deliveries in the north may be a day late because of the storm. Sorry & thanks "
    "for your patience!",
    "New: track your parcel right in the app. https://acme.example/app #update",
]


def first_name(account):
    words = account.display_name.split()
    return words[0] if words else account.username


class Phrasebook:
    def __init__(self, rng):
        self.rng = rng

    def fill(self, template, account):
        return template.format(order=self.rng.randint(10000, 99999), first=first_name(account),
                               email="%s@example.net" % account.username)

    def opener(self, customer, direct):
        """(language, category, text) of a customer's first message."""
        rng = self.rng
        if CUSTOMER_LANGUAGES.get(customer.username) == "de" and rng.random() < 0.8:
            language, pool = "de", OPENERS["de"]
        elif direct and rng.random() < 0.5:
            language, pool = "en", OPENERS["direct"]
        else:
            language, pool = "en", OPENERS["en"]
        category, template = rng.choice(pool)
        return language, category, self.fill(template, customer)

    def reply(self, language, category, customer):
        pool = REPLIES.get((language, category)) or REPLIES[(language, "complaint")]
        return self.fill(self.rng.choice(pool), customer)

    def pick(self, table, language, customer):
        return self.fill(self.rng.choice(table[language]), customer)


# ---------------------------------------------------------------- simulation

class Scheduler:
    """A heap of timed events run by one thread, in simulated time."""

    def __init__(self, clock):
        self.clock = clock
        self.heap = []
        self.order = itertools.count()
        self.cond = threading.Condition()
        self.stopping = False
        self.thread = None

    def at(self, when_ms, action, *args):
        with self.cond:
            heapq.heappush(self.heap, (when_ms, next(self.order), action, args))
            self.cond.notify()

    def replay(self, until_ms):
        """Run every event due by until_ms at once, the clock frozen at each."""
        while True:
            with self.cond:
                if not self.heap or self.heap[0][0] > until_ms:
                    return
                when, _, action, args = heapq.heappop(self.heap)
            self.clock.freeze(when)
            action(when, *args)

    def start(self):
        self.thread = threading.Thread(target=self.run, name="simulation", daemon=True)
        self.thread.start()

    def stop(self):
        with self.cond:
            self.stopping = True
            self.cond.notify()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def next_due(self):
        """Wait for the next due event; None once stopping."""
        with self.cond:
            while not self.stopping:
                if not self.heap:
                    self.cond.wait()
                    continue
                wait = self.clock.real_seconds_until(self.heap[0][0])
                if wait <= 0:
                    return heapq.heappop(self.heap)
                self.cond.wait(wait)
            return None

    def run(self):
        while True:
            event = self.next_due()
            if event is None:
                return
            when, _, action, args = event
            try:
                action(when, *args)
            except Exception:
                traceback.print_exc()


class ThreadState:
    """One customer's conversation with the brand."""

    def __init__(self, customer, visibility, language, category):
        self.customer = customer
        self.visibility = visibility
        self.language = language
        self.category = category
        self.waiting = None             # the customer status awaiting an answer
        self.asked_ms = None


class Simulation:
    """Customers write to the brand; an agent answers most of them."""

    def __init__(self, store, brand, rng, scheduler, log):
        self.store = store
        self.brand = brand
        self.rng = rng
        self.scheduler = scheduler
        self.log = log
        self.phrases = Phrasebook(rng)
        self.replaying = False
        self.counts = {"customer": 0, "brand": 0}

    def begin(self, history_ms):
        """Generate the last history_ms, then run on in the background."""
        now = self.store.clock.now_ms()
        first = now - history_ms
        self.schedule_customer(first)
        self.scheduler.at(first + minutes(self.rng.uniform(60, 240)), self.announce)
        self.replaying = True
        self.scheduler.replay(now)
        self.replaying = False
        self.store.clock.resume(now)
        self.scheduler.start()

    def schedule_customer(self, after_ms):
        gap = max(minutes(0.5), minutes(self.rng.expovariate(1 / 7.0)))
        self.scheduler.at(after_ms + gap, self.customer_writes)

    def post(self, when, author, text, visibility, parent, language, note="", mention=None):
        text = with_mentions(text, author, parent, mention)
        status, _ = self.store.post(author, text, visibility, parent, when, language)
        self.counts["brand" if author is self.brand.account else "customer"] += 1
        if not self.replaying:
            to = parent.account.username if parent else (self.brand.account.username
                                                          if author is not self.brand.account else "all")
            snippet = text if len(text) <= 60 else text[:59] + "\u2026"
            self.log.info("sim %s %s -> %s (%s%s) %s" % (
                iso_ms(when)[:16].replace("T", " "), author.username, to, visibility, note,
                json.dumps(snippet, ensure_ascii=False)))
        return status

    def customer_writes(self, when):
        self.schedule_customer(when)
        rng = self.rng
        name = rng.choice(CUSTOMERS)[0]
        customer = self.store.customer(name)
        roll = rng.random()
        visibility = "direct" if roll < 0.35 else "unlisted" if roll < 0.42 else "public"
        language, category, text = self.phrases.opener(customer, visibility == "direct")
        thread = ThreadState(customer, visibility, language, category)
        thread.waiting = self.post(when, customer, text, visibility, None, language,
                                   mention=self.brand.account)
        thread.asked_ms = when
        self.plan_answer(when, thread)
        if rng.random() < 0.15:
            self.scheduler.at(when + minutes(rng.uniform(45, 180)), self.customer_nudges, thread)

    def plan_answer(self, when, thread):
        delay = answer_delay_ms(self.rng, thread.visibility)
        if delay is not None:
            self.scheduler.at(when + delay, self.agent_answers, thread)

    def agent_answers(self, when, thread):
        target = thread.waiting
        if target is None:
            return
        text = self.phrases.reply(thread.language, thread.category, thread.customer)
        note = ", after %s" % short_duration(when - thread.asked_ms)
        reply = self.post(when, self.brand.account, text, thread.visibility, target, thread.language, note)
        thread.waiting = None
        if self.rng.random() < 0.25:
            self.scheduler.at(when + minutes(self.rng.uniform(5, 90)), self.customer_follows_up,
                              thread, reply)

    def customer_nudges(self, when, thread):
        if thread.waiting is None:
            return
        text = self.phrases.pick(NUDGES, thread.language, thread.customer)
        thread.waiting = self.post(when, thread.customer, text, thread.visibility, thread.waiting,
                                   thread.language, mention=self.brand.account)

    def customer_follows_up(self, when, thread, brand_reply):
        if self.rng.random() < 0.5:
            text = self.phrases.pick(THANKS, thread.language, thread.customer)
            self.post(when, thread.customer, text, thread.visibility, brand_reply, thread.language)
            return
        text = self.phrases.pick(FOLLOWUPS, thread.language, thread.customer)
        thread.waiting = self.post(when, thread.customer, text, thread.visibility, brand_reply,
                                   thread.language)
        thread.asked_ms = when
        thread.category = "followup"
        self.plan_answer(when, thread)

    def announce(self, when):
        self.post(when, self.brand.account, self.rng.choice(ANNOUNCEMENTS), "public", None, "en")
        self.scheduler.at(when + minutes(self.rng.uniform(240, 540)), self.announce)


def answer_delay_ms(rng, visibility):
    """None for never (about 10%); a few answers come hours later; the rest
    lognormal, direct messages (median 12 min) faster than public (25 min)."""
    roll = rng.random()
    if roll < 0.10:
        return None
    if roll < 0.17:
        return minutes(rng.uniform(120, 840))
    median = 12 if visibility == "direct" else 25
    return minutes(min(24 * 60, max(2.0, rng.lognormvariate(math.log(median), 0.7))))


def short_duration(ms):
    mins = int(ms // 60000)
    return "%dh%02dm" % divmod(mins, 60) if mins >= 60 else "%dm" % mins


# ---------------------------------------------------------------- start-up

def parse_args(argv):
    parser = argparse.ArgumentParser(description="A fake Mastodon server for replywatch.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--port-file", help="write the port there once listening")
    parser.add_argument("--accounts", type=int, default=1, help="brand accounts brand1..brandN")
    parser.add_argument("--token-file-dir", help="write each brand's token to DIR/NAME.token (0600)")
    parser.add_argument("--rate-limit", type=int, default=300, help="requests per token per 5 minutes")
    parser.add_argument("--quiet", action="store_true", help="no request or event log")
    parser.add_argument("--chaos", type=int, metavar="SEED",
                        help="random faults on the API, drawn from SEED (soak tests)")
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (needs --tls-key)")
    parser.add_argument("--tls-key", help="the certificate's PEM private key")
    parser.add_argument("--simulate", action="store_true",
                        help="the demo: one brand, acme, with live traffic (--accounts is ignored)")
    parser.add_argument("--speed", type=float, default=60.0, help="simulated seconds per real second")
    parser.add_argument("--seed", type=int, help="random seed (default: random)")
    parser.add_argument("--catch-up", type=parse_duration, default=parse_duration("2h"),
                        help="start this far behind the real time and run --speed times "
                        "faster until caught up (default 2h); real time after that")
    parser.add_argument("--history", type=parse_duration, default=parse_duration("6h"),
                        help="simulated past to generate at start-up (default 6h)")
    args = parser.parse_args(argv)
    if args.accounts < 1 or args.rate_limit < 1 or args.speed <= 0 or not 0 <= args.port <= 65535:
        parser.error("--accounts and --rate-limit must be >= 1, --speed > 0, --port 0..65535")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 31)
    return args


def write_atomically(path, text, mode=0o644):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def make_brands(store, args):
    if args.simulate:
        return [store.add_brand("acme", "Acme Support", "109876543210987654", "token-acme")]
    return [store.add_brand("brand%d" % k, "Brand %d Support" % k, str(109876543210000000 + k),
                            "token-brand%d" % k) for k in range(1, args.accounts + 1)]


def write_tokens(directory, brands):
    os.makedirs(directory, mode=0o700, exist_ok=True)
    for brand in brands:
        write_atomically(os.path.join(directory, brand.account.username + ".token"),
                         brand.token + "\n", 0o600)


def main(argv=None):
    args = parse_args(argv)
    rng = random.Random(args.seed)       # the simulation's own, for --seed
    clock = Clock(args.speed, args.catch_up) if args.simulate else Clock()
    store = Store(clock)
    app = App(store, random.Random(args.seed + 1), args.rate_limit, args.quiet)
    brands = make_brands(store, args)
    if args.chaos is not None:
        app.chaos = Chaos(args.chaos)
    if args.token_file_dir:
        write_tokens(args.token_file_dir, brands)
    try:
        server = Server(args.port, app)
    except OSError as error:
        app.log.error("mastodon.py: cannot listen on 127.0.0.1:%d: %s" % (args.port, error))
        return 1
    if args.tls_cert:
        server.use_tls(args.tls_cert, args.tls_key)
    port = server.server_address[1]
    app.api = Api(store, port, "https" if args.tls_cert else "http")

    scheduler = None
    if args.simulate:
        scheduler = Scheduler(clock)
        simulation = Simulation(store, brands[0], rng, scheduler, app.log)
        simulation.begin(args.history)
        app.log.info("simulation: seed %d, speed %gx, %d customer and %d brand statuses in the "
                     "last %s" % (args.seed, args.speed, simulation.counts["customer"],
                                  simulation.counts["brand"], short_duration(args.history)))

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serving = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    serving.start()
    if args.port_file:
        write_atomically(args.port_file, "%d\n" % port)
    first = brands[0]
    app.log.info("fake Mastodon on http://127.0.0.1:%d: %d brand(s); %s id %s, token %s" % (
        port, len(brands), first.account.username, first.account.id,
        "in " + args.token_file_dir if args.token_file_dir else first.token))

    stop.wait()
    server.shutdown()
    server.server_close()
    if scheduler is not None:
        scheduler.stop()
    if args.port_file:
        try:
            os.unlink(args.port_file)
        except OSError:
            pass
    app.log.info("fake Mastodon on port %d stopped" % port)
    return 0


if __name__ == "__main__":
    sys.exit(main())

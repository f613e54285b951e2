#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The driver of tests/soak.sh: conversations with a known ground truth,
injected into the fake Mastodon server (tests/fakes/mastodon.py --chaos)
while replywatchd polls it, then the daemon's figures, alerts and
deliveries compared with that truth.

  soak-driver.py run    --out DIR --fake URL --rw PATH --conf FILE --pid PID
                        --seconds N [--seed S] [--accounts 50] [--rate R]
                        [--sla-direct 10] [--sla-broadcast 20] [--settle T]
  soak-driver.py verify --out DIR --hook URL --rw PATH --conf FILE
                        [--sla-direct 10] [--sla-broadcast 20] [--rss-tolerance 5]

run: for N seconds, customers of brand1..brandN (accounts b1..bN) write
mentions and direct messages, some of which the brand answers after a
known delay, before or after the SLA, some never; a conversation may have
a second message that joins the wait, a second customer, or a follow-up
that opens a new wait. No customer writes in the last (sla_broadcast + 5)
seconds, so that every deadline has passed at the end; the brand's late
answers may come up to about 20 s after the end.
Beside it, an observer lists the stored messages about twice a second
(`replywatch messages`), so that the time at which each one was first
stored is known within an observation, and a sampler reads replywatchd's
VmRSS and open file descriptors every second. Then it waits (condition
based, at most --settle seconds) until every injected message is stored,
every open wait of the truth has its overdue alert and no notification is
pending, and takes the last sample. Writes DIR/truth.json, DIR/seen.json,
DIR/samples.json; exits 1 if the daemon did not settle in time.

verify: after replywatchd has stopped, prints one line per check,
"PASS: name" or "FAIL: name: why", and "FIGURE: ..." lines; exits 0.

The ground truth follows ../shared/spec/reply-time.md (section 2) over the
injected messages, in the order (created_at, inbound first, id).
"""

import argparse
import bisect
import concurrent.futures
import heapq
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime, timezone

CUSTOMER_DOMAIN = "social.example"
TEXTS = ["Hello, a quick question about item %d, thanks",
         "Hi there, could you tell me more about item %d?"]
JOIN_TEXT = "Thank you, one more question about item %d"


def log(*words):
    sys.stderr.write("soak-driver: %s\n" % " ".join(str(w) for w in words))
    sys.stderr.flush()


def call(method, url, body=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read().decode() or "null")


RFC3339_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?Z$")


def iso_ms(text):
    """RFC 3339 in UTC ('Z') -> ms since the epoch."""
    m = RFC3339_RE.match(text)
    if m is None:
        raise ValueError("not a UTC RFC 3339 time: %r" % (text,))
    fields = [int(g) for g in m.groups()[:6]]
    secs = int(datetime(*fields, tzinfo=timezone.utc).timestamp())
    return secs * 1000 + int(round(float(m.group(7) or 0) * 1000))


def ms_iso(ms):
    """As replywatch prints times: milliseconds only when not zero."""
    secs, frac = divmod(int(ms), 1000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    return base + (".%03dZ" % frac if frac else "Z")


class Cli:
    def __init__(self, rw, conf):
        self.rw, self.conf = rw, conf

    def run(self, *args):
        p = subprocess.run([self.rw, "-c", self.conf] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        if p.returncode != 0:
            raise RuntimeError("replywatch %s: exit %d: %s" % (
                " ".join(args), p.returncode, p.stderr.decode(errors="replace").strip()))
        return p.stdout.decode()

    def lines(self, *args):
        return [json.loads(line) for line in self.run(*args).splitlines() if line.strip()]

    def messages(self):
        return self.lines("messages", "--since", "7d", "--format", "json")

    def alerts(self):
        return json.loads(self.run("alerts", "--format", "json") or "[]")


# ---------------------------------------------------------------- the truth

def compute_waits(messages, sla_ms):
    """The waits of the spec (section 2) over the messages, per account:
    dicts with account, kind, conversation, author, opened_ms, open_id,
    inbound, ids, closed_ms, close_id (None while open), target_ms."""
    by_account = {}
    for m in messages:
        by_account.setdefault(m["account"], []).append(m)
    waits = []
    for account, msgs in sorted(by_account.items()):
        msgs.sort(key=lambda m: (m["created_ms"], 0 if m["direction"] == "inbound" else 1, m["id"]))
        by_id = {m["id"]: m for m in msgs}
        open_ = {}
        for m in msgs:
            if m["kind"] == "direct":
                key = ("direct", m["conversation"], None)
            elif m["direction"] == "inbound":
                key = ("broadcast", m["conversation"], m["author"])
            else:
                target = by_id.get(m["in_reply_to"]) if m["in_reply_to"] else None
                if target is None or target["direction"] != "inbound" or target["kind"] != "broadcast":
                    continue
                key = ("broadcast", target["conversation"], target["author"])
            w = open_.get(key)
            if m["direction"] == "inbound":
                if w is None:
                    w = {"account": account, "kind": key[0], "conversation": key[1],
                         "author": key[2], "opened_ms": m["created_ms"], "open_id": m["id"],
                         "inbound": 0, "ids": [], "closed_ms": None, "close_id": None,
                         "target_ms": sla_ms[key[0]]}
                    open_[key] = w
                    waits.append(w)
                w["inbound"] += 1
                w["ids"].append(m["id"])
            elif w is not None:
                w["closed_ms"], w["close_id"] = m["created_ms"], m["id"]
                del open_[key]
    return waits


def first_responses(messages, waits):
    """Per (account, kind, conversation) that begins with an inbound
    message: the first response time in ms, or None."""
    first = {}
    for m in sorted(messages, key=lambda m: (m["created_ms"], 0 if m["direction"] == "inbound" else 1, m["id"])):
        first.setdefault((m["account"], m["kind"], m["conversation"]), m)
    closers = {}
    for w in waits:
        if w["close_id"] is not None:
            key = (w["account"], w["kind"], w["conversation"])
            if key not in closers or w["closed_ms"] < closers[key]:
                closers[key] = w["closed_ms"]
    out = {}
    for key, m in first.items():
        if m["direction"] == "inbound":
            out[key] = closers[key] - m["created_ms"] if key in closers else None
    return out


# ---------------------------------------------------------------- run

class Observer(threading.Thread):
    """Lists the stored messages again and again: for each (account, id),
    the index and times of the first observation that had it."""

    def __init__(self, cli):
        super().__init__(name="observer", daemon=True)
        self.cli = cli
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.obs = []                   # [(t0, t1)] per observation
        self.seen = {}                  # "account id" -> observation index
        self.counts = {}                # "account id" -> rows in the last one
        self.errors = 0

    def observe(self):
        t0 = time.time()
        try:
            rows = self.cli.messages()
        except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as error:
            self.errors += 1
            log("observer:", error)
            return
        t1 = time.time()
        counts = {}
        for r in rows:
            k = "%s %s" % (r["account"], r["id"])
            counts[k] = counts.get(k, 0) + 1
        with self.lock:
            index = len(self.obs)
            self.obs.append((t0, t1))
            for k in counts:
                self.seen.setdefault(k, index)
            self.counts = counts

    def run(self):
        while not self.stop.is_set():
            self.observe()
            self.stop.wait(0.5)         # pacing, not a wait for a condition


DATABASE = None                         # its size goes with each sample
# replywatchd's page cache: one block of 2 MiB (store_init_daemon,
# cache_size = -2048), whose lines (a 4 KiB page and SQLite's header:
# about 4,400 bytes) become resident as pages are first read or written.
PAGE_COST = 4400
CACHE_PAGES = 2048 * 1024 // PAGE_COST


def fd_kinds(pid):
    kinds = {}
    try:
        names = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return None
    for name in names:
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, name))
        except OSError:
            continue
        if target.startswith("socket:"):
            kind = "socket"
        elif target.startswith("pipe:"):
            kind = "pipe"
        elif target.startswith("anon_inode:"):
            kind = target
        else:
            kind = "file:" + re.sub(r"^.*/", "", target)
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def sample(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return None
    kinds = fd_kinds(pid)
    if kinds is None:
        return None
    out = {"time": time.time(), "fds": sum(kinds.values()), "fd_kinds": kinds}
    for key, name in (("rss_kib", "VmRSS"), ("hwm_kib", "VmHWM"), ("anon_kib", "RssAnon"),
                      ("file_kib", "RssFile"), ("shmem_kib", "RssShmem")):
        out[key] = int(status[name].split()[0]) if name in status else None
    if DATABASE is not None:
        out["db_bytes"] = sum(os.path.getsize(DATABASE + x) for x in ("", "-wal")
                              if os.path.exists(DATABASE + x))
        out["db_pages"] = db_pages(DATABASE)
    return out


def db_pages(path):
    """The database's size in pages, as the last commit left it."""
    try:
        con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
        try:
            return con.execute("PRAGMA page_count").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return None


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(name="sampler", daemon=True)
        self.pid = pid
        self.samples = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            s = sample(self.pid)
            if s is not None:
                self.samples.append(s)
            self.stop.wait(1.0)


class Injector:
    """Conversations on a timetable; every message it posts is recorded."""

    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.heap = []
        self.seq = 0
        self.messages = []
        self.roots = {}                 # status id -> its thread's root
        self.sla = {"direct": args.sla_direct, "broadcast": args.sla_broadcast}
        self.start = time.time()
        self.end = self.start + args.seconds
        self.cutoff = self.end - (args.sla_broadcast + 5)
        self.conversations = 0
        self.late_max = 0.0
        self.plans = {"met": 0, "breached": 0, "never": 0}

    def at(self, when, fn, *a):
        self.seq += 1
        heapq.heappush(self.heap, (when, self.seq, fn, a))

    def post(self, k, sender, visibility, text, in_reply_to=None):
        body = {"brand": "brand%d" % k, "from": sender, "text": text}
        if visibility is not None:
            body["visibility"] = visibility
        if in_reply_to is not None:
            body["in_reply_to"] = in_reply_to["id"]
        r = call("POST", self.args.fake + "/_fixture/status", body)
        root = self.roots[in_reply_to["id"]] if in_reply_to is not None else r["id"]
        self.roots[r["id"]] = root
        kind = visibility if visibility is not None else in_reply_to["kind"]
        m = {"account": "b%d" % k, "id": r["id"], "created_ms": iso_ms(r["created_at"]),
             "kind": "direct" if kind == "direct" else "broadcast",
             "direction": "outbound" if sender == "brand" else "inbound",
             "author": "brand%d" % k if sender == "brand" else "%s@%s" % (sender, CUSTOMER_DOMAIN),
             "in_reply_to": in_reply_to["id"] if in_reply_to is not None else None,
             "conversation": root}
        self.messages.append(m)
        return m

    def text(self, template):
        return template % self.rng.randint(1, 999)

    # one thread of a conversation: a customer's messages to answer
    def answer_plan(self, kind):
        sla, r = self.sla[kind], self.rng.random()
        if r < 0.15:
            self.plans["never"] += 1
            return None
        if r < 0.575:
            self.plans["met"] += 1
            return self.rng.uniform(2.0, sla - 4.0) if kind == "direct" else \
                self.rng.uniform(3.0, sla - 5.0)
        self.plans["breached"] += 1
        return self.rng.uniform(sla + 4.0, sla + 20.0)

    def new_conversation(self, now):
        rng = self.rng
        k = rng.randint(1, self.args.accounts)
        roll = rng.random()
        names = rng.sample(range(400), 2)
        a, b = "cust%d" % names[0], "cust%d" % names[1]
        self.conversations += 1
        if roll < 0.45:
            first = self.post(k, a, "direct", self.text(TEXTS[0]))
        else:
            first = self.post(k, a, "public", self.text(TEXTS[1]))
        thread = {"k": k, "kind": first["kind"], "last": {a: first}}
        if rng.random() < 0.25:
            # before any answer: it joins the wait
            self.at(now + rng.uniform(0.5, 1.5), self.join, thread, a, first)
        self.plan(now, thread, a, 0)
        if first["kind"] == "broadcast" and roll >= 0.8:
            # a second customer answers the first one in the thread
            self.at(now + rng.uniform(1.0, 3.0), self.second, thread, b, first)

    def join(self, now, thread, who, parent):
        if now < self.cutoff:
            thread["last"][who] = self.post(thread["k"], who, None, self.text(JOIN_TEXT), parent)

    def second(self, now, thread, who, parent):
        if now < self.cutoff:
            thread["last"][who] = self.post(thread["k"], who, None, self.text(TEXTS[1]), parent)
            self.plan(now, thread, who, 0)

    def plan(self, now, thread, who, depth):
        delay = self.answer_plan(thread["kind"])
        if delay is not None:
            self.at(now + delay, self.answer, thread, who, depth)

    def answer(self, now, thread, who, depth):
        reply = self.post(thread["k"], "brand", None, "Thanks for your message, here is the answer.",
                          thread["last"][who])
        if depth == 0 and self.rng.random() < 0.2:
            self.at(now + self.rng.uniform(1.0, 4.0), self.follow_up, thread, who, reply)

    def follow_up(self, now, thread, who, parent):
        if now < self.cutoff:
            thread["last"][who] = self.post(thread["k"], who, None, self.text(JOIN_TEXT), parent)
            self.plan(now, thread, who, 1)

    def arrivals(self, now):
        self.new_conversation(now)
        nxt = now + self.rng.expovariate(self.args.rate)
        if nxt < self.cutoff:
            self.at(nxt, self.arrivals)

    def run(self):
        self.at(self.start + 0.2, self.arrivals)
        self.at(self.end, lambda now: None)     # the soak lasts that long
        while self.heap:
            when, _, fn, a = self.heap[0]
            now = time.time()
            if when > now:
                time.sleep(min(when - now, 0.5))      # the timetable's pace
                continue
            heapq.heappop(self.heap)
            self.late_max = max(self.late_max, now - when)
            fn(now, *a)


def settled(cli, observer, truth_keys, open_waits):
    """'' once the daemon has caught up, else what it still lacks."""
    with observer.lock:
        counts = dict(observer.counts)
    missing = [k for k in truth_keys if k not in counts]
    if missing:
        return "%d messages not stored yet (e.g. %s)" % (len(missing), missing[0])
    alerts = cli.alerts()
    firing = {(a["account"], a["subject"]) for a in alerts
              if a["rule"] == "overdue" and a["state"] == "firing"}
    lacking = [w for w in open_waits if (w["account"], subject(w)) not in firing]
    if lacking:
        return "%d open waits without a firing overdue alert (e.g. %s %s)" % (
            len(lacking), lacking[0]["account"], subject(lacking[0]))
    pending = [n for a in alerts for n in a["notifications"] if n["state"] == "pending"]
    if pending:
        return "%d notifications pending" % len(pending)
    unnotified = [a for a in alerts if not a["notifications"]]
    if unnotified:
        return "%d alerts without a notification (e.g. %s)" % (len(unnotified), unnotified[0]["id"])
    return ""


def subject(w):
    return "%s:%s:%s" % (w["kind"], w["conversation"], w["open_id"])


def cmd_run(args):
    cli = Cli(args.rw, args.conf)
    observer = Observer(cli)
    sampler = Sampler(args.pid)
    observer.start()
    sampler.start()
    inj = Injector(args)
    log("injecting for %ds (seed %d, %d accounts, customers until +%ds)" % (
        args.seconds, args.seed, args.accounts, inj.cutoff - inj.start))
    inj.run()
    inj_end = time.time()
    sla_ms = {"direct": args.sla_direct * 1000, "broadcast": args.sla_broadcast * 1000}
    waits = compute_waits(inj.messages, sla_ms)
    open_waits = [w for w in waits if w["close_id"] is None]
    keys = ["%s %s" % (m["account"], m["id"]) for m in inj.messages]
    log("injected %d messages in %d conversations (%d waits, %d open); plans %s; "
        "at most %.2fs behind the timetable" % (
            len(inj.messages), inj.conversations, len(waits), len(open_waits), inj.plans,
            inj.late_max))

    # catching up: until the condition holds, or the time is up
    deadline = time.time() + args.settle
    state = "?"
    while True:
        try:
            state = settled(cli, observer, keys, open_waits)
        except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as error:
            state = str(error)
        if not state or time.time() >= deadline:
            break
        time.sleep(0.5)                 # between two looks at the condition
    settle_s = time.time() - inj_end
    final = sample(args.pid)
    observer.stop.set()
    sampler.stop.set()
    observer.join()
    sampler.join()
    if final is not None:
        final["final"] = True
        sampler.samples.append(final)
    with open(os.path.join(args.out, "truth.json"), "w") as f:
        json.dump({"start": inj.start, "end": inj.end, "cutoff": inj.cutoff,
                   "injected_until": inj_end, "settled_after": settle_s,
                   "settled": not state, "conversations": inj.conversations,
                   "plans": inj.plans, "late_max": inj.late_max,
                   "sla": sla_ms, "messages": inj.messages}, f)
    with open(os.path.join(args.out, "seen.json"), "w") as f:
        json.dump({"obs": observer.obs, "seen": observer.seen, "errors": observer.errors}, f)
    with open(os.path.join(args.out, "samples.json"), "w") as f:
        json.dump(sampler.samples, f)
    if state:
        log("did not catch up within %ds: %s" % (args.settle, state))
        return 1
    log("caught up %.1fs after the last injection" % settle_s)
    return 0


# ---------------------------------------------------------------- verify

class Report:
    def __init__(self):
        self.lines = []

    def check(self, name, problems, limit=8):
        if problems:
            more = " (and %d more)" % (len(problems) - limit) if len(problems) > limit else ""
            self.lines.append("FAIL: %s: %s%s" % (name, "; ".join(str(p) for p in problems[:limit]),
                                                   more))
        else:
            self.lines.append("PASS: %s" % name)

    def figure(self, text):
        self.lines.append("FIGURE: %s" % text)


def explain(cli, account, msg_id):
    out = cli.run("explain", "--account", account, msg_id)
    fields = {}
    for line in out.splitlines():
        if line.startswith("Effect: "):
            fields["effect"] = line[len("Effect: "):]
        m = re.match(r"  (opened by|opened|closed|reply time|messages|author|conversation|SLA)"
                     r"\s{2,}(.*)$", line)
        if m:
            fields[m.group(1)] = m.group(2)
    return fields


def nearest_rank(values, p):
    values = sorted(values)
    rank = -(-p * len(values) // 100)
    return values[max(1, int(rank)) - 1]


def close_enough(a, b):
    return a is not None and b is not None and abs(a - b) < 0.0015


def cmd_verify(args):
    out = args.out
    truth = json.load(open(os.path.join(out, "truth.json")))
    seen = json.load(open(os.path.join(out, "seen.json")))
    samples = json.load(open(os.path.join(out, "samples.json")))
    cli = Cli(args.rw, args.conf)
    rep = Report()
    sla = truth["sla"]
    msgs = truth["messages"]
    waits = compute_waits([dict(m) for m in msgs], sla)
    obs = seen["obs"]
    seen_at = seen["seen"]

    # ---- every injected message stored once, as posted
    stored = cli.messages()
    count = {}
    for r in stored:
        count[(r["account"], r["id"])] = count.get((r["account"], r["id"]), 0) + 1
    want = {(m["account"], m["id"]): m for m in msgs}
    missing = ["%s %s" % k for k in want if k not in count]
    dups = ["%s %s x%d" % (k[0], k[1], n) for k, n in count.items() if n > 1]
    extra = ["%s %s" % k for k in count if k not in want]
    rep.check("every injected message is stored (%d)" % len(want), missing)
    rep.check("no message is stored twice", dups)
    rep.check("nothing else is stored", extra)
    per_account = {}
    for m in msgs:
        per_account[m["account"]] = per_account.get(m["account"], 0) + 1
    stored_per_account = {}
    for (acc, _), n in count.items():
        stored_per_account[acc] = stored_per_account.get(acc, 0) + n
    rep.check("messages per account", ["%s: %d stored, %d injected" % (
        a, stored_per_account.get(a, 0), n) for a, n in sorted(per_account.items())
        if stored_per_account.get(a, 0) != n] + ["%s: %d stored, none injected" % (
            a, n) for a, n in stored_per_account.items() if a not in per_account])
    wrong = []
    complaints = []
    for r in stored:
        m = want.get((r["account"], r["id"]))
        if m is None:
            continue
        got = (r["kind"], r["direction"], r["conversation"], iso_ms(r["created_at"]),
               r.get("author"), r.get("in_reply_to"))
        exp = (m["kind"], m["direction"], m["conversation"], m["created_ms"], m["author"],
               m["in_reply_to"])
        if got != exp:
            wrong.append("%s %s: %s, want %s" % (r["account"], r["id"], got, exp))
        if r.get("complaint"):
            complaints.append("%s %s" % (r["account"], r["id"]))
    rep.check("stored messages as posted (kind, direction, conversation, created_at, "
              "author, in_reply_to)", wrong)
    rep.check("no message classified as a complaint (the truth has none)", complaints)

    # ---- the waits: closed ones by explain, open ones by pending, all by stats
    closed = [w for w in waits if w["close_id"] is not None]
    open_ = [w for w in waits if w["close_id"] is None]

    def explain_wait(w):
        try:
            e = explain(cli, w["account"], w["close_id"])
        except RuntimeError as error:
            return str(error)
        exp = {"effect": "it closed a wait.", "conversation": w["conversation"],
               "opened": ms_iso(w["opened_ms"]), "opened by": "message %s" % w["open_id"],
               "messages": "%d inbound" % w["inbound"], "closed": ms_iso(w["closed_ms"])}
        if w["kind"] == "broadcast":
            exp["author"] = w["author"]
        bad = ["%s %r, want %r" % (k, e.get(k), v) for k, v in exp.items() if e.get(k) != v]
        secs = re.search(r"\(([0-9.]+) s\)$", e.get("reply time", ""))
        if secs is None or abs(float(secs.group(1)) * 1000 - (w["closed_ms"] - w["opened_ms"])) > 0.5:
            bad.append("reply time %r, want %.3f s" % (
                e.get("reply time"), (w["closed_ms"] - w["opened_ms"]) / 1000))
        met = w["closed_ms"] - w["opened_ms"] <= w["target_ms"]
        if e.get("SLA") != ("met" if met else "breached"):
            bad.append("SLA %r, want %s" % (e.get("SLA"), "met" if met else "breached"))
        return "%s %s: %s" % (w["account"], w["close_id"], ", ".join(bad)) if bad else None

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        problems = [p for p in pool.map(explain_wait, closed) if p]
    rep.check("explain: each reply closed its wait, opened/closed/reply time as the "
              "truth (%d waits)" % len(closed), problems)

    pend = cli.lines("pending", "--format", "json")
    got = {}
    for p in pend:
        key = (p["account"], p["kind"], p["conversation"], p["author"] if p["kind"] == "broadcast"
               else None)
        got.setdefault(key, []).append(p)
    problems = []
    for w in open_:
        key = (w["account"], w["kind"], w["conversation"], w["author"])
        rows = got.pop(key, [])
        if len(rows) != 1:
            problems.append("%s %s: %d pending rows" % (w["account"], subject(w), len(rows)))
            continue
        p = rows[0]
        exp = (ms_iso(w["opened_ms"]), w["open_id"], w["inbound"], "breached")
        have = (p["opened_at"], p["first_id"], p["messages"], p["sla"])
        if have != exp:
            problems.append("%s %s: %s, want %s" % (w["account"], subject(w), have, exp))
    problems += ["not in the truth: %s" % (rows,) for rows in got.values()]
    rep.check("pending: exactly the open waits of the truth (%d), opened_at, first "
              "message, messages, SLA breached" % len(open_), problems)

    stats = json.loads(cli.run("stats", "--by", "account,kind", "--format", "json"))
    groups = {(g["account"], g["kind"]): g for g in stats["groups"]}
    fr = first_responses(msgs, waits)
    problems = []
    keys = sorted({(w["account"], w["kind"]) for w in waits})
    for key in keys:
        ws = [w for w in waits if (w["account"], w["kind"]) == key]
        times = [(w["closed_ms"] - w["opened_ms"]) / 1000 for w in ws if w["close_id"]]
        met = sum(1 for w in ws if w["close_id"] and
                  w["closed_ms"] - w["opened_ms"] <= w["target_ms"])
        firsts = [v / 1000 for (a, k, _), v in fr.items() if (a, k) == key and v is not None]
        g = groups.pop(key, None)
        if g is None:
            problems.append("%s %s: no group" % key)
            continue
        exp = {"waits": len(ws), "answered": len(times), "unanswered": len(ws) - len(times),
               "sla": (met, len(ws) - met, 0)}
        have = {"waits": g["waits"], "answered": g["answered"], "unanswered": g["unanswered"],
                "sla": (g["sla"]["met"], g["sla"]["breached"], g["sla"]["pending"])}
        bad = ["%s %s, want %s" % (k, have[k], v) for k, v in exp.items() if have[k] != v]
        for name, values in (("reply_seconds", times), ("first_response_seconds", firsts)):
            block = g.get(name)
            if not values:
                if block is not None:
                    bad.append("%s %s, want null" % (name, block))
                continue
            if block is None:
                bad.append("%s null, want %d values" % (name, len(values)))
                continue
            expb = {"count": len(values), "max": max(values), "mean": sum(values) / len(values),
                    "p50": nearest_rank(values, 50), "p90": nearest_rank(values, 90),
                    "p99": nearest_rank(values, 99)}
            for k, v in expb.items():
                if not close_enough(block.get(k), v):
                    bad.append("%s.%s %s, want %s" % (name, k, block.get(k), v))
        if bad:
            problems.append("%s %s: %s" % (key[0], key[1], ", ".join(bad)))
    problems += ["%s %s: a group without waits in the truth" % k for k in groups]
    rep.check("stats by account and kind: waits, answered, reply and first response "
              "times, SLA met/breached", problems)

    # ---- alerts
    alerts = cli.alerts()
    by_key = {}
    for a in alerts:
        by_key.setdefault((a["rule"], a["account"], a["subject"]), []).append(a)
    problems = []
    for key, lst in by_key.items():
        lst.sort(key=lambda a: a["fired_at"])
        for x, y in zip(lst, lst[1:]):
            if x["resolved_at"] is None or iso_ms(x["resolved_at"]) > iso_ms(y["fired_at"]):
                problems.append("%s %s %s: alerts %d and %d overlap" % (key + (x["id"], y["id"])))
    rep.check("no alert fired twice for one rule, account and subject at once", problems)

    def obs_index_before(t):
        """Index of the last observation that had ended before t."""
        return bisect.bisect_left([o[1] for o in obs], t) - 1

    problems, lag_alerts, no_alert_needed, expected = [], [], 0, 0
    accounted = set()
    for w in waits:
        key = ("overdue", w["account"], subject(w))
        lst = by_key.get(key, [])
        accounted.add(key)
        deadline = w["opened_ms"] + w["target_ms"]
        late = w["close_id"] is None or w["closed_ms"] - w["opened_ms"] > w["target_ms"]
        so = seen_at.get("%s %s" % (w["account"], w["open_id"]))
        sc = seen_at.get("%s %s" % (w["account"], w["close_id"])) if w["close_id"] else None
        name = "%s %s" % (w["account"], subject(w))
        if late:
            # required unless the daemon may have stored the reply no later
            # than the message that opened the wait: then it never saw the
            # wait open past its deadline
            required = w["close_id"] is None or (so is not None and sc is not None and so < sc)
            if required:
                expected += 1
            elif not lst:
                no_alert_needed += 1
            if (required and len(lst) != 1) or len(lst) > 1:
                problems.append("%s: %d overdue alerts, want 1 (breached%s)" % (
                    name, len(lst), ", open" if w["close_id"] is None else ""))
                continue
        else:
            if len(lst) > 1:
                problems.append("%s: %d overdue alerts for a wait answered in time" % (name, len(lst)))
                continue
            if lst:
                # only if the reply was not stored yet when it fired
                fired = iso_ms(lst[0]["fired_at"]) / 1000
                i = obs_index_before(fired - 0.25)
                if sc is not None and sc <= i:
                    problems.append("%s: alert %d fired at %s though the reply %s was stored by "
                                    "%.3f (answered in time, %.3f s)" % (
                                        name, lst[0]["id"], lst[0]["fired_at"], w["close_id"],
                                        obs[sc][1], (w["closed_ms"] - w["opened_ms"]) / 1000))
                    continue
                lag_alerts.append(lst[0])
        for a in lst:
            d = a.get("details") or {}
            bad = []
            if a["severity"] != "critical":
                bad.append("severity %s" % a["severity"])
            if iso_ms(a["fired_at"]) < deadline:
                bad.append("fired at %s before the deadline %s" % (a["fired_at"], ms_iso(deadline)))
            exp = {"kind": w["kind"], "conversation": w["conversation"], "message_id": w["open_id"],
                   "opened_at": ms_iso(w["opened_ms"]), "deadline": ms_iso(deadline),
                   "target_seconds": w["target_ms"] // 1000}
            if w["kind"] == "broadcast":
                exp["author"] = w["author"]
            if w["close_id"] is None:
                if a["state"] != "firing":
                    bad.append("state %s, want firing (never answered)" % a["state"])
            else:
                exp["replied_at"] = ms_iso(w["closed_ms"])
                exp["reply_id"] = w["close_id"]
                if a["state"] != "resolved":
                    bad.append("state %s, want resolved" % a["state"])
                elif iso_ms(a["resolved_at"]) < w["closed_ms"]:
                    bad.append("resolved at %s before the reply" % a["resolved_at"])
            bad += ["details.%s %r, want %r" % (k, d.get(k), v) for k, v in exp.items()
                    if d.get(k) != v]
            if bad:
                problems.append("%s: alert %d: %s" % (name, a["id"], ", ".join(bad)))
    others = ["%s %s %s (alert %s)" % (k + (lst[0]["id"],)) for k, lst in by_key.items()
              if k not in accounted]
    rep.check("overdue alerts exactly for the waits past their SLA (%d required), "
              "with the truth's times" % expected, problems)
    rep.check("no other alert (rule, account or subject unknown to the truth)", others)
    rep.figure("alerts %d: %d overdue for breached waits, %d for waits answered in time "
               "but stored after the deadline, %d breached waits stored only with their "
               "reply (no alert)" % (len(alerts), sum(
                   1 for w in waits for _ in by_key.get(("overdue", w["account"], subject(w)), [])
                   if w["close_id"] is None or w["closed_ms"] - w["opened_ms"] > w["target_ms"]),
                   len(lag_alerts), no_alert_needed))

    # ---- deliveries
    hook = call("GET", args.hook + "/_fixture/requests", timeout=60)
    ok = [r for r in hook if r["status"] is not None and 200 <= r["status"] < 300]
    delivered = {}
    for r in ok:
        try:
            body = json.loads(r["body"])
        except ValueError:
            body = {}
        delivered.setdefault(r["key"], []).append(body)
    problems, matched = [], set()
    for a in alerts:
        events = [n["event"] for n in a["notifications"]]
        if a["held"] or a["silenced"]:
            problems.append("alert %d is %s" % (a["id"], "held" if a["held"] else "silenced"))
        if "firing" not in events:
            problems.append("alert %d: no firing notification (%s)" % (a["id"], events))
        if a["state"] == "resolved" and "resolved" not in events:
            problems.append("alert %d: resolved, no resolved notification" % a["id"])
        for n in a["notifications"]:
            if n["state"] != "delivered":
                problems.append("alert %d: notification %d %s: %s (%s)" % (
                    a["id"], n["id"], n["event"], n["state"], n["last_error"]))
                continue
            prefix = "rw1-%d-" % iso_ms(n["created_at"])
            keys = [k for k, bodies in delivered.items()
                    if k and k.startswith(prefix) and k.endswith("-" + n["route"]) and any(
                        b.get("event") == n["event"] and
                        a["id"] in [x.get("id") for x in b.get("alerts", [])] for b in bodies)]
            if len(keys) != 1:
                problems.append("alert %d: notification %d %s: %d matching 2xx deliveries at "
                                "the hook" % (a["id"], n["id"], n["event"], len(keys)))
            matched.update(keys)
    unknown = sorted(set(delivered) - matched)
    rep.check("every notification delivered, the hook answered 2xx for its key", problems)
    rep.check("the hook got no delivery the alerts do not list", unknown)
    notes = sum(len(a["notifications"]) for a in alerts)
    dup = sum(len(b) - 1 for b in delivered.values())
    failed_answers = sum(1 for r in hook if r["status"] is None or not 200 <= r["status"] < 300)
    try:
        down = call("GET", args.hook + "/_fixture/down")
    except OSError:
        down = {}
    rep.figure("notifications %d, hook requests %d (%d not 2xx), repeated 2xx deliveries of "
               "a key %d; hook down %.1f of %.1f s (%.0f %%) in %s windows, answers %s" % (
                   notes, len(hook), failed_answers, dup, down.get("down_seconds", 0),
                   down.get("elapsed", 0), 100 * down.get("down_seconds", 0) /
                   max(1, down.get("elapsed", 1)), down.get("windows"), down.get("answers")))

    # ---- memory and descriptors
    warm_at = truth["start"] + (truth["end"] - truth["start"]) / 3
    during = [s for s in samples if not s.get("final")]
    final = [s for s in samples if s.get("final")]
    if not during or not final:
        rep.check("RSS and fd samples", ["no samples (final: %d)" % len(final)])
    else:
        warm = min(during, key=lambda s: abs(s["time"] - warm_at))
        end = final[0]
        growth = 100.0 * (end["rss_kib"] - warm["rss_kib"]) / warm["rss_kib"]
        peak = max(s["rss_kib"] for s in samples)
        # SQLite's page cache (2 MiB: CACHE_PAGES lines of PAGE_COST
        # bytes) grows with the database until it is full: the pages
        # added since the warm-up may be cached on top of it, and that
        # much growth is not counted. Once the database is larger than
        # the cache, nothing is set aside.
        pw, pe = warm.get("db_pages"), end.get("db_pages")
        cache_kib = 0.0
        if pw is not None and pe is not None:
            cache_kib = max(0, min(pe, CACHE_PAGES) - min(pw, CACHE_PAGES)) * PAGE_COST / 1024.0
        net = 100.0 * (end["rss_kib"] - warm["rss_kib"] - cache_kib) / warm["rss_kib"]
        rep.figure("VmRSS %d KiB at warm-up (+%.0f s), %d KiB at the end (%+.1f %%), peak %d KiB, "
                   "VmHWM %d KiB; RssAnon %s -> %s KiB; database %s -> %s pages: up to %.0f KiB "
                   "more page cache; growth without it %+.1f %%" % (
                       warm["rss_kib"], warm["time"] - truth["start"], end["rss_kib"], growth,
                       peak, end["hwm_kib"], warm.get("anon_kib"), end.get("anon_kib"), pw, pe,
                       cache_kib, net))
        rep.check("RSS growth after warm-up at most %g %% (besides the page cache of the "
                  "pages added)" % args.rss_tolerance,
                  [] if net <= args.rss_tolerance else
                  ["%d -> %d KiB (%+.1f %%; %+.1f %% besides up to %.0f KiB of page cache for "
                   "%s new pages)" % (warm["rss_kib"], end["rss_kib"], growth, net, cache_kib,
                                      pe - pw if pw is not None and pe is not None else "?")])

        def split(s):
            sockets = s["fd_kinds"].get("socket", 0)
            return sockets, {k: v for k, v in s["fd_kinds"].items() if k != "socket"}
        ws, wo = split(warm)
        es, eo = split(end)
        after = [split(s)[0] for s in during if s["time"] >= warm["time"]]
        rep.figure("fds %d at warm-up (%d sockets), %d at the end (%d sockets); sockets "
                   "after warm-up %d..%d; others %s" % (
                       warm["fds"], ws, end["fds"], es, min(after), max(after),
                       ", ".join("%s %d" % kv for kv in sorted(eo.items()))))
        rep.check("no file descriptor growth but sockets: the same files, pipes and "
                  "event fds at the end as at warm-up",
                  [] if wo == eo else ["warm-up %s, end %s" % (wo, eo)])
        limit = args.max_sockets
        rep.check("sockets at most the connection limit (%d) all along" % limit,
                  ["%d at %.0f s" % (split(s)[0], s["time"] - truth["start"]) for s in samples
                   if split(s)[0] > limit])

    # ---- figures
    rep.figure("injected %d messages (%d inbound) in %d conversations over %.0f s: %d waits, "
               "%d answered (%d in time), %d never; plans %s; driver at most %.2f s late" % (
                   len(msgs), sum(m["direction"] == "inbound" for m in msgs),
                   truth["conversations"], truth["end"] - truth["start"], len(waits), len(closed),
                   sum(w["closed_ms"] - w["opened_ms"] <= w["target_ms"] for w in closed),
                   len(open_), truth["plans"], truth["late_max"]))
    lags = []
    for m in msgs:
        s = seen_at.get("%s %s" % (m["account"], m["id"]))
        if s is not None:
            lags.append(obs[s][1] - m["created_ms"] / 1000)
    if lags:
        lags.sort()
        rep.figure("stored after (observed, +<=0.5 s): median %.1f s, p99 %.1f s, max %.1f s; "
                   "caught up %.1f s after the last injection" % (
                       lags[len(lags) // 2], lags[min(len(lags) - 1, int(len(lags) * 0.99))],
                       lags[-1], truth["settled_after"]))
    if args.fake:
        try:
            chaos = call("GET", args.fake + "/_fixture/chaos")
            rep.figure("fake Mastodon: %d API requests, faults %s" % (
                chaos["requests"], json.dumps(chaos["faults"], sort_keys=True)))
        except OSError:
            pass
    print("\n".join(rep.lines))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("command", choices=("run", "verify"))
    p.add_argument("--out", required=True)
    p.add_argument("--fake")
    p.add_argument("--hook")
    p.add_argument("--rw", required=True)
    p.add_argument("--conf", required=True)
    p.add_argument("--pid", type=int)
    p.add_argument("--seconds", type=int, default=180)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--accounts", type=int, default=50)
    p.add_argument("--rate", type=float, default=1.0, help="new conversations per second")
    p.add_argument("--sla-direct", type=int, default=10)
    p.add_argument("--sla-broadcast", type=int, default=20)
    p.add_argument("--settle", type=int, default=300)
    p.add_argument("--rss-tolerance", type=float, default=5.0)
    p.add_argument("--max-sockets", type=int, default=16)
    p.add_argument("--db", help="the daemon's database, whose size is sampled")
    args = p.parse_args()
    global DATABASE
    DATABASE = args.db
    if args.command == "run":
        if args.pid is None or args.fake is None:
            p.error("run needs --pid and --fake")
        if args.seconds < args.sla_broadcast + 25:
            p.error("--seconds must be at least sla_broadcast + 25")
        return cmd_run(args)
    if args.hook is None:
        p.error("verify needs --hook")
    return cmd_verify(args)


if __name__ == "__main__":
    sys.exit(main())

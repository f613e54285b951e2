#!/bin/sh
# SPDX-License-Identifier: ISC
# Imports past the sizes where the store works in slices: a conversation
# of more messages than the engine takes at a time (appended and
# recomputed), replies whose targets lie in another slice, batches ended
# early, records larger than the pipe between the reading process and the
# store. Every order and batch size gives the figures of one clean import.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
command -v python3 >/dev/null || skip "python3 is needed to generate the input"

# One broadcast thread of 30,000 messages (20 authors, the brand replying
# to earlier messages, some to messages 10,000 back) and one direct
# conversation of 20,000: both more than the 8,192 messages of a slice.
# Messages share their second in twos and threes, so that the engine's
# order of ties (inbound first, then by id) matters.
python3 - "$TMP" <<'PY'
import datetime, json, random, sys
random.seed(7)
d = sys.argv[1]
t0 = 1767225600  # 2026-01-01
rows = []
def ts(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
inbound = []
for i in range(30000):
    t = t0 + (i // 2) * 20
    if i % 3 == 2 and inbound:
        back = random.choice([1, 2, 5, 10000]) if len(inbound) > 10000 else 1
        m = {"direction": "outbound", "author": "brand",
             "in_reply_to": inbound[-min(back, len(inbound))]}
    else:
        m = {"direction": "inbound", "author": "u%d" % random.randint(1, 20),
             "text": "still broken" if i % 7 == 0 else "hello"}
        inbound.append("b%d" % i)
    m.update({"platform": "x", "account": "acme", "id": "b%d" % i,
              "conversation": "thread", "kind": "broadcast",
              "created_at": ts(t)})
    rows.append(m)
for i in range(20000):
    t = t0 + (i // 3) * 45 + random.randint(0, 1)
    rows.append({"platform": "x", "account": "acme", "id": "d%d" % i,
                 "conversation": "dm", "kind": "direct",
                 "direction": "outbound" if random.random() < 0.4 else "inbound",
                 "created_at": ts(t)})
def write(name, rs):
    with open("%s/%s" % (d, name), "w") as f:
        for r in rs:
            f.write(json.dumps(r) + "\n")
write("forward.jsonl", rows)
write("reverse.jsonl", reversed(rows))
random.shuffle(rows)
write("shuffled.jsonl", rows)
PY

AT=--at=2026-03-01T00:00:00Z
stats() {
	"$RW" -d "$1" stats --since 2025-12-01T00:00:00Z \
	    --until 2026-03-01T00:00:00Z "$AT" --by kind --format json
}
waits() {
	# every wait and what each conversation remembers, without the row ids
	# an order of storing gives
	python3 - "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for r in db.execute(
        "SELECT c.conv, c.first_ms, c.first_inbound, m.msg_id,"
        " c.first_response_ms, c.first_complaint_ms, c.last_ms, c.last_dir,"
        " c.last_id FROM conversations c"
        " LEFT JOIN messages m ON m.id = c.first_msg ORDER BY c.conv"):
    print(r)
for r in sorted(db.execute(
        "SELECT c.conv, w.author, w.opened_ms, w.closed_ms,"
        " w.complaint_ms, o.msg_id, x.msg_id, w.inbound FROM waits w"
        " JOIN conversations c ON c.id = w.conv_id"
        " JOIN messages o ON o.id = w.open_msg"
        " LEFT JOIN messages x ON x.id = w.close_msg"), key=repr):
    print(r)
PY
}

check "forward, one batch" "$RW" -d "$TMP/f.db" import --batch 100000 \
    "$TMP/forward.jsonl"
stats "$TMP/f.db" >"$TMP/f.json"
waits "$TMP/f.db" >"$TMP/f.waits"
check "the reference has the waits of 50,000 messages" python3 -c '
import json, sys
g = {x["kind"]: x for x in json.load(open(sys.argv[1]))["groups"]}
assert g["broadcast"]["waits"] > 5000 and g["direct"]["waits"] > 4000, g' \
    "$TMP/f.json"

run() {	# NAME FILE BATCH
	check "$1: import" "$RW" -d "$TMP/$1.db" import --batch "$3" "$TMP/$2"
	stats "$TMP/$1.db" >"$TMP/$1.json"
	waits "$TMP/$1.db" >"$TMP/$1.waits"
	check "$1: the same figures" cmp "$TMP/f.json" "$TMP/$1.json"
	check "$1: the same waits" cmp "$TMP/f.waits" "$TMP/$1.waits"
}
run forward-small forward.jsonl 7000	# appended slices across batches
run reverse reverse.jsonl 100000	# one batch, appended in slices
run reverse-small reverse.jsonl 9000	# recomputed in slices each batch
run shuffled shuffled.jsonl 4000

# The largest records, many of them, straddling the reading process's
# writes: texts of 64 KiB, the longest accepted. A longer text, and a line
# over 1 MiB, are rejected.
python3 - "$TMP/long.jsonl" <<'PY'
import json, sys
out = open(sys.argv[1], "w")
for i in range(40):
    n = 65537 if i == 20 else 65536
    out.write(json.dumps({
        "platform": "x", "account": "acme", "id": "l%d" % i,
        "conversation": "long%d" % (i % 3), "kind": "direct",
        "direction": "inbound", "created_at": "2026-01-02T00:00:%02dZ" % i,
        "text": chr(ord("a") + i % 26) * n}) + "\n")
    if i == 30:
        out.write(json.dumps({"text": "x" * 1048576}) + "\n")
PY
expect_status 3 "long lines: two rejected" \
    sh -c '"$0" -d "$1" import "$2" 2>"$3"' "$RW" "$TMP/l.db" \
    "$TMP/long.jsonl" "$TMP/long.err"
check "long lines: text too long" contains "$TMP/long.err" \
    'long.jsonl:21: field "text" is longer than 65536 bytes'
check "long lines: line too long" contains "$TMP/long.err" \
    "long.jsonl:32: line longer than 1048576 bytes"
check "long lines: the others stored whole" python3 - "$TMP/l.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
got = sorted(db.execute("SELECT msg_id, text FROM messages"),
             key=lambda r: int(r[0][1:]))
want = [i for i in range(40) if i != 20]
assert [int(m[1:]) for m, _ in got] == want, [m for m, _ in got]
for m, t in got:
    i = int(m[1:])
    assert t == chr(ord("a") + i % 26) * 65536, (m, len(t))
PY

finish

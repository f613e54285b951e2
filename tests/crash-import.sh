#!/bin/sh
# SPDX-License-Identifier: ISC
# An import killed with SIGKILL at random points, then run again, leaves a
# database whose figures equal those of a clean import.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
command -v python3 >/dev/null || skip "python3 is needed to generate the input"

seed=${CRASH_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
echo "seed $seed (CRASH_SEED=$seed reproduces the kill points)"

# 60,000 messages in 6,000 conversations: large enough to be killed mid-way.
python3 - "$TMP/in.jsonl" <<'PY'
import datetime, json, random, sys
random.seed(1)
out = open(sys.argv[1], "w")
t0 = 1767225600  # 2026-01-01
mid = 0
for c in range(6000):
    kind = "direct" if c % 2 else "broadcast"
    t = t0 + random.randint(0, 30 * 86400)
    conv = "c%d" % c
    last = None
    for i in range(10):
        mid += 1
        out_ = random.random() < 0.4
        m = {"platform": "x", "account": "acct%d" % (c % 5), "id": "m%d" % mid,
             "conversation": conv, "kind": kind,
             "direction": "outbound" if out_ else "inbound",
             "author": "brand" if out_ else "u%d" % random.randint(1, 3),
             "created_at": datetime.datetime.fromtimestamp(
                 t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "text": "message %d" % mid}
        if out_ and last:
            m["in_reply_to"] = last
        if not out_:
            last = m["id"]
        t += random.randint(10, 3600)
        out.write(json.dumps(m) + "\n")
PY

stats() {
	"$RW" -d "$1" stats --by kind,account --format json \
		--since 2025-01-01T00:00:00Z --until 2027-01-01T00:00:00Z \
		--at 2027-01-01T00:00:00Z
}

check "clean import" "$RW" -d "$TMP/clean.db" import --batch 500 "$TMP/in.jsonl"
stats "$TMP/clean.db" >"$TMP/clean.json"

db="$TMP/crash.db"
size() {
	s=0
	for f in "$db" "$db-wal"; do
		[ -f "$f" ] && s=$((s + $(stat -c %s "$f")))
	done
	echo "$s"
}
grown_to() {
	[ "$(size)" -ge "$1" ] || ! kill -0 "$pid" 2>/dev/null
}

rand=$seed
kills=0
for round in 1 2 3 4 5; do
	rand=$(( (rand * 1103515245 + 12345) % 2147483648 ))
	# kill once the database (with its WAL) has grown by a random amount
	target=$(( $(size) + 200000 + rand % 3000000 ))
	"$RW" -d "$db" import --batch 500 "$TMP/in.jsonl" 2>/dev/null &
	pid=$!
	if ! wait_until 120 grown_to "$target"; then
		fail "round $round: the import did not progress"
	fi
	if kill -9 "$pid" 2>/dev/null; then
		kills=$((kills + 1))
	fi
	wait "$pid" 2>/dev/null || true
done
echo "killed $kills imports"
check "at least one import was killed mid-way" test "$kills" -ge 1

check "import after the crashes" "$RW" -d "$db" import --batch 500 "$TMP/in.jsonl"
stats "$db" >"$TMP/crash.json"
check "figures equal the clean import's" cmp "$TMP/clean.json" "$TMP/crash.json"

finish

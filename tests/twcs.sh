#!/bin/sh
# SPDX-License-Identifier: ISC
# Real data: 93 customer-support messages from Twitter. The figures per
# account must equal those computed independently in the expected file.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

data="$SHARED/data/twcs-sample.jsonl"
expected="$SHARED/data/twcs-sample.expected.json"
[ -r "$data" ] && [ -r "$expected" ] ||
	skip "the shared data sets are not here ($SHARED/data); set REPLYWATCH_SHARED"
command -v python3 >/dev/null || skip "python3 is needed to compare JSON"

db="$TMP/twcs.db"
check "import" "$RW" -d "$db" import "$data"
"$RW" -d "$db" stats --by account --format json \
	--since 2000-01-01T00:00:00Z --until 2100-01-01T00:00:00Z \
	--at 2100-01-01T00:00:00Z >"$TMP/stats.json"

check "figures equal the expected ones" python3 - "$TMP/stats.json" "$expected" <<'PY'
import json, sys
got = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))
have = {}
for g in got["groups"]:
    r = g["reply_seconds"] or {}
    have[g["account"]] = {
        "waits": g["waits"], "answered": g["answered"],
        "unanswered": g["unanswered"],
        "p50": r.get("p50"), "p90": r.get("p90"), "max": r.get("max"),
    }
bad = 0
for acct in sorted(set(want) | set(have)):
    w, h = want.get(acct), have.get(acct)
    if w is None or h is None:
        print("account %s: expected %s, got %s" % (acct, w, h)); bad += 1; continue
    for k in w:
        if w[k] != h.get(k):
            print("account %s: %s = %s, expected %s" % (acct, k, h.get(k), w[k])); bad += 1
print("%d accounts compared, %d differences" % (len(want), bad))
sys.exit(1 if bad else 0)
PY

# A second import of the same file changes no figure.
check "re-import" "$RW" -d "$db" import "$data"
"$RW" -d "$db" stats --by account --format json \
	--since 2000-01-01T00:00:00Z --until 2100-01-01T00:00:00Z \
	--at 2100-01-01T00:00:00Z >"$TMP/stats2.json"
check "re-import changes nothing" cmp -s "$TMP/stats.json" "$TMP/stats2.json"

finish

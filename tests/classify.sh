#!/bin/sh
# SPDX-License-Identifier: ISC
# replywatch classify and train: JSON lines in order, --lang, --model,
# the errors of train on bad CSV (naming the line), corrupt models. With
# the shared data sets: a model trained on real messages.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
command -v python3 >/dev/null || skip "python3 is needed to read JSON output"

RWC() { "$RW" -d "$TMP/none.db" "$@"; }

check "classify --help" sh -c '"$0" classify --help | grep -q "^usage: replywatch"' "$RW"
check "train --help" sh -c '"$0" train --help | grep -q "^usage: replywatch"' "$RW"
expect_status 2 "bad --lang" RWC classify --lang fr
expect_status 2 "bad --threshold" RWC classify --threshold 2
expect_status 2 "train without --lang" RWC train -o "$TMP/m" x.csv
expect_status 2 "train without -o" RWC train --lang en x.csv
expect_status 1 "bad --cues" RWC classify --cues 'refund=lots' </dev/null

# ---- classify: one JSON object per line, in order --------------------------
cat >"$TMP/in.txt" <<'T'
@acme I am still waiting for my refund!!
Thanks, great service :)
How do I change my password?
Meine Bestellung ist immer noch nicht da.

I am not happy with this
T
RWC classify <"$TMP/in.txt" >"$TMP/out.jsonl"
check "classify: JSON lines in order" python3 - "$TMP/out.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 6, rows
want = [(True, "en"), (False, "en"), (False, "en"), (True, "de"), (False, "en"), (True, "en")]
for r, (c, lang) in zip(rows, want):
    assert set(r) == {"complaint", "score", "lang", "cues"}, r
    assert r["complaint"] is c and r["lang"] == lang, (r, c, lang)
    assert 0 <= r["score"] <= 1
assert rows[0]["cues"][:2] == ["still waiting", "refund"], rows[0]
assert "immer noch" in rows[3]["cues"], rows[3]
assert "not happy" in rows[5]["cues"], rows[5]
PY
printf 'The train is late again\n' | RWC classify --lang de >"$TMP/de.jsonl"
check "--lang de fixes the language" contains "$TMP/de.jsonl" '"lang":"de"'
printf 'about the parcel\n' | RWC classify --cues 'parcel=4' >"$TMP/cues.jsonl"
check "--cues" contains "$TMP/cues.jsonl" '"cues":["parcel"]'
printf 'still waiting\n' | RWC classify --threshold 1 >"$TMP/th.jsonl"
check "--threshold" contains "$TMP/th.jsonl" '"complaint":false'

# The configuration's keys, per account.
cat >"$TMP/rw.conf" <<C
[daemon]
database = $TMP/none.db
[account "de-desk"]
language = de
complaint_threshold = 0.99
complaint_cues = "Paket zerdrückt"=2
C
printf 'Paket zerdrückt\n' | "$RW" -c "$TMP/rw.conf" classify --account de-desk >"$TMP/acct.jsonl"
check "account settings" python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).read())
assert r["lang"] == "de" and r["complaint"] is False and r["cues"] == ["paket zerdrückt"], r
' "$TMP/acct.jsonl"
expect_status 2 "unknown account" "$RW" -c "$TMP/rw.conf" classify --account nope

# ---- train -------------------------------------------------------------------
cat >"$TMP/train.csv" <<'CSV'
id,text,label
1,my parcel never arrived,1
2,"still waiting for the refund, again",1
3,"the app keeps crashing
after the update",1
4,thanks for the quick help,0
5,do you ship to canada,0
6,"love the new ""blue"" colour",0
CSV
check "train" sh -c '"$0" train --lang en -o "$1/m.model" "$1/train.csv" | grep -q "^6 messages (3 complaints)"' "$RW" "$TMP"
printf 'my parcel never arrived\nthanks for the quick help\n' |
	RWC classify --lang en --model "$TMP/m.model" >"$TMP/model.jsonl"
check "classify --model" python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["complaint"] for r in rows] == [True, False], rows
' "$TMP/model.jsonl"

train_error() {	# DESCRIPTION TEXT-IN-ERROR CSV
	printf '%s' "$3" >"$TMP/bad.csv"
	set +e
	RWC train --lang en -o "$TMP/bad.model" "$TMP/bad.csv" 2>"$TMP/err"
	rc=$?
	set -e
	if [ "$rc" = 1 ] && contains "$TMP/err" "$2" && [ ! -e "$TMP/bad.model" ]; then
		pass
	else
		fail "$1: exit $rc, $(cat "$TMP/err")"
	fi
}
train_error "bad label" "bad.csv:3: label \"yes\" is not 0 or 1" \
	'text,label
fine,0
broken,yes
'
train_error "no label column" "bad.csv:1: the header has no \"label\" column" \
	'text,score
a,1
'
train_error "wrong field count" "bad.csv:4: 3 fields, the header has 2" \
	'text,label
"two
lines",1
a,0,extra
'
train_error "unterminated quote" "line 3: a quoted field starting there has no closing quote" \
	'text,label
a,1
"b,0
'
train_error "one class" "both labels are needed" \
	'text,label
a,1
b,1
'
train_error "empty file" "empty file" ''
expect_status 1 "missing file" RWC train --lang en -o "$TMP/x.model" "$TMP/none.csv"

# ---- corrupt models ----------------------------------------------------------
printf 'not a model at all' >"$TMP/junk.model"
RWC classify --model "$TMP/junk.model" </dev/null 2>"$TMP/err" && fail "junk model accepted" || pass
check "junk model: reason" contains "$TMP/err" "not a replywatch model"
head -c 1000 "$TMP/m.model" >"$TMP/short.model"
RWC classify --model "$TMP/short.model" </dev/null 2>"$TMP/err" && fail "short model accepted" || pass
check "short model: reason" contains "$TMP/err" "truncated"
RWC classify --model "$TMP/missing.model" </dev/null 2>"$TMP/err" && fail "missing model accepted" || pass
check "missing model: reason" contains "$TMP/err" "cannot open"

# ---- real data (the shared data sets) ---------------------------------------
data="$SHARED/data/complaints-dev.csv"
if [ ! -r "$data" ]; then
	finish
	skip "the shared data sets are not here ($SHARED/data); set REPLYWATCH_SHARED"
fi
check "train on real messages" sh -c '"$0" train --lang en -o "$1/real.model" "$2" | grep -q "^2750 messages (987 complaints)"' "$RW" "$TMP" "$data"
printf 'I have been on hold for two hours, still no answer\nLove the new store, thank you!\n' |
	RWC classify --model "$TMP/real.model" >"$TMP/real.jsonl"
check "real model" python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["complaint"] for r in rows] == [True, False], rows
' "$TMP/real.jsonl"
finish

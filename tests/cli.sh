#!/bin/sh
# SPDX-License-Identifier: ISC
# The replywatch CLI end to end: import, stats in every format, pending,
# messages, explain, the configuration, exit codes and error messages.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
command -v python3 >/dev/null || skip "python3 is needed to read JSON output"

db="$TMP/rw.db"

# ---- global options -------------------------------------------------------
check "--version" sh -c '"$0" --version | grep -q "^replywatch [0-9]"' "$RW"
check "--help lists the commands" sh -c '"$0" --help | grep -q "explain"' "$RW"
for c in import stats pending messages explain; do
	check "$c --help" sh -c '"$0" "$1" --help | grep -q "^usage: replywatch"' "$RW" "$c"
done
expect_status 2 "no command" "$RW"
expect_status 2 "unknown command" "$RW" frobnicate
expect_status 2 "bad option" "$RW" stats --bogus
expect_status 2 "bad time" "$RW" -d "$db" stats --since yesterday-ish
expect_status 2 "bad dimension" "$RW" -d "$db" stats --by colour
expect_status 2 "bad format" "$RW" -d "$db" stats --format xml
expect_status 1 "no database yet" "$RW" -d "$TMP/none/x.db" stats

# ---- the reference example of the specification ---------------------------
cat >"$TMP/ref.jsonl" <<'J'
{"platform":"x","account":"acme","id":"d1","conversation":"D1","kind":"direct","direction":"inbound","author":"A","created_at":"2026-11-20T10:00:00Z","text":"hello?"}
{"platform":"x","account":"acme","id":"d2","conversation":"D1","kind":"direct","direction":"inbound","author":"A","created_at":"2026-11-20T10:05:00Z","text":"anyone?"}
{"platform":"x","account":"acme","id":"d3","conversation":"D1","kind":"direct","direction":"outbound","author":"acme","created_at":"2026-11-20T10:12:00Z","text":"here"}
{"platform":"x","account":"acme","id":"m1","conversation":"P1","kind":"broadcast","direction":"inbound","author":"B","created_at":"2026-11-20T10:20:00Z","text":"@acme broken"}
{"platform":"x","account":"acme","id":"m2","conversation":"P1","kind":"broadcast","direction":"inbound","author":"C","created_at":"2026-11-20T11:21:00+01:00","text":"@acme me too"}
{"platform":"x","account":"acme","id":"r2","conversation":"P1","kind":"broadcast","direction":"outbound","author":"acme","created_at":"2026-11-20T10:30:00Z","in_reply_to":"m2","text":"sorry C"}
{"platform":"x","account":"acme","id":"r1","conversation":"P1","kind":"broadcast","direction":"outbound","author":"acme","created_at":"2026-11-20T10:31:00Z","in_reply_to":"m1","text":"sorry B"}
J
check "import the example" "$RW" -d "$db" import "$TMP/ref.jsonl"
win="--since 2026-11-20T00:00:00Z --until 2026-11-21T00:00:00Z"
# shellcheck disable=SC2086
"$RW" -d "$db" stats $win --at 2026-11-21T00:00:00Z --by kind --format json >"$TMP/s.json"
check "stats json follows the reference example" python3 - "$TMP/s.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["at"] == "2026-11-21T00:00:00Z" and s["since"] == "2026-11-20T00:00:00Z", s
g = {x["kind"]: x for x in s["groups"]}
d, b = g["direct"], g["broadcast"]
assert (d["waits"], d["answered"], d["unanswered"]) == (1, 1, 0), d
assert d["reply_seconds"] == {"count": 1, "p50": 720, "p90": 720, "p99": 720, "mean": 720.0, "max": 720}, d
assert d["first_response_seconds"]["p50"] == 720, d
assert d["oldest_unanswered_seconds"] is None and d["reply_business_seconds"] is None
assert (b["waits"], b["answered"]) == (2, 2), b
r = b["reply_seconds"]
assert (r["count"], r["p50"], r["p90"], r["max"], r["mean"]) == (2, 540, 660, 660, 600.0), r
assert b["first_response_seconds"]["p50"] == 600, b
assert d["sla"] == {"target_seconds": 3600, "complaint_target_seconds": 1800, "met": 1, "breached": 0, "pending": 0}, d
PY

# As of 10:25 only W1 was answered; W2 and W3 were open, the oldest 300 s.
# shellcheck disable=SC2086
"$RW" -d "$db" stats $win --at 2026-11-20T10:25:00Z --format json >"$TMP/at.json"
check "--at ages open waits" python3 - "$TMP/at.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))["groups"][0]
assert (g["waits"], g["answered"], g["unanswered"]) == (3, 1, 2), g
assert g["oldest_unanswered_seconds"] == 300, g
assert g["first_response_seconds"]["count"] == 1, g
assert g["sla"]["pending"] == 2, g
PY

# shellcheck disable=SC2086
"$RW" -d "$db" stats $win --at 2026-11-21T00:00:00Z --by kind,account >"$TMP/t.txt"
check "table has aligned totals" contains "$TMP/t.txt" "total"
check "table shows durations for people" contains "$TMP/t.txt" "12m 00s"
# shellcheck disable=SC2086
"$RW" -d "$db" stats $win --at 2026-11-21T00:00:00Z --by kind --format csv >"$TMP/s.csv"
check "csv header" sh -c 'head -1 "$0" | grep -q "^kind,waits,answered,unanswered,"' "$TMP/s.csv"
check "csv rows" test "$(wc -l <"$TMP/s.csv")" -eq 3
check "csv values" grep -q "^direct,1,1,0,,1,720,720,720,720.000,720," "$TMP/s.csv"

# ---- pending, explain, messages -------------------------------------------
"$RW" -d "$db" pending --at 2026-11-20T10:25:00Z --format json >"$TMP/p.json"
check "pending: two open waits, oldest first" python3 - "$TMP/p.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["author"] for r in rows] == ["B", "C"], rows
assert rows[0]["age_seconds"] == 300 and rows[0]["sla"] == "pending", rows[0]
# "@acme broken" was classified a complaint on import: the 30m target
assert rows[0]["complaint"] is True and rows[0]["sla_target_seconds"] == 1800, rows[0]
assert rows[0]["sla_deadline"] == "2026-11-20T10:50:00Z", rows[0]
assert rows[1]["complaint"] is False and rows[1]["sla_deadline"] == "2026-11-20T14:21:00Z", rows[1]
PY
"$RW" -d "$db" pending --at 2026-11-20T10:25:00Z >"$TMP/p.txt"
check "pending table" contains "$TMP/p.txt" "in 25m 00s"

"$RW" -d "$db" explain --at 2026-11-21T00:00:00Z r2 >"$TMP/e.txt"
check "explain a reply" contains "$TMP/e.txt" "it closed a wait"
check "explain gives the reply time" contains "$TMP/e.txt" "9m 00s (540 s)"
check "explain names the author's wait" contains "$TMP/e.txt" "author         C"
"$RW" -d "$db" explain --at 2026-11-21T00:00:00Z d2 >"$TMP/e2.txt"
check "explain a join" contains "$TMP/e2.txt" "it joined a wait"
expect_status 1 "explain an unknown id" "$RW" -d "$db" explain nope

"$RW" -d "$db" messages --since 2026-11-20T00:00:00Z --until 2026-11-21T00:00:00Z \
	--format json >"$TMP/m.jsonl"
check "messages lists all" test "$(wc -l <"$TMP/m.jsonl")" -eq 7
check "messages json re-imports" "$RW" -d "$TMP/copy.db" import "$TMP/m.jsonl"
# shellcheck disable=SC2086
"$RW" -d "$TMP/copy.db" stats $win --at 2026-11-21T00:00:00Z --by kind --format json >"$TMP/s2.json"
check "the copy has the same figures" cmp -s "$TMP/s.json" "$TMP/s2.json"

# ---- import: bad lines are reported, the rest is imported -------------------
cat >"$TMP/bad.jsonl" <<'J'
{"platform":"x","account":"acme","id":"z1","conversation":"Z","kind":"direct","direction":"inbound","created_at":"2026-11-20T12:00:00Z"}
{"platform":"x","account":"acme",
{"platform":"x","id":"z2","conversation":"Z","kind":"direct","direction":"inbound","created_at":"2026-11-20T12:00:00Z"}
{"platform":"x","account":"acme","id":"z3","conversation":"Z","kind":"dm","direction":"inbound","created_at":"2026-11-20T12:00:00Z"}
{"platform":"x","account":"acme","id":"z4","conversation":"Z","kind":"direct","direction":"inbound","created_at":"2026-11-31T12:00:00Z"}

[1,2]
{"platform":"x","account":"acme","id":5,"conversation":"Z","kind":"direct","direction":"inbound","created_at":"2026-11-20T12:00:00Z"}
{"platform":"x","account":"acme","id":"z6","conversation":"Z","kind":"direct","direction":"outbound","created_at":"2026-11-20T12:30:00Z"}
J
expect_status 3 "import with bad lines" sh -c '"$0" -d "$1" import - <"$2" 2>"$3"' \
	"$RW" "$db" "$TMP/bad.jsonl" "$TMP/bad.err"
check "invalid JSON reported with its line" contains "$TMP/bad.err" "-:2: invalid JSON"
check "missing field reported" contains "$TMP/bad.err" '-:3: missing required field "account"'
check "bad kind reported" contains "$TMP/bad.err" '-:4: field "kind" must be "direct" or "broadcast"'
check "bad time reported" contains "$TMP/bad.err" '-:5: field "created_at" is not an RFC 3339 timestamp'
check "not an object reported" contains "$TMP/bad.err" "-:7: not a JSON object"
check "wrong type reported" contains "$TMP/bad.err" '-:8: field "id" must be a string'
check "summary" contains "$TMP/bad.err" "2 messages: 2 new, 0 already stored, 6 rejected"
"$RW" -d "$db" stats --since 2026-11-20T11:00:00Z --until 2026-11-20T13:00:00Z \
	--at 2026-11-21T00:00:00Z --format json >"$TMP/z.json"
check "the good lines were imported" python3 -c '
import json, sys
g = json.load(open(sys.argv[1]))["groups"][0]
assert g["reply_seconds"]["p50"] == 1800, g' "$TMP/z.json"

# ---- the configuration: SLA targets and business hours ----------------------
cat >"$TMP/rw.conf" <<C
[daemon]
database = $db
sla_direct = 10m

[account "acme"]
timezone = Europe/Berlin
business_hours = mon-fri 11:05-11:10 11:25-11:26
C
# shellcheck disable=SC2086
"$RW" -c "$TMP/rw.conf" stats $win --at 2026-11-21T00:00:00Z --by kind --format json >"$TMP/c.json"
check "targets and business hours come from -c" python3 - "$TMP/c.json" <<'PY'
import json, sys
g = {x["kind"]: x for x in json.load(open(sys.argv[1]))["groups"]}
d = g["direct"]
assert d["sla"]["target_seconds"] == 600 and d["sla"]["breached"] == 2, d
# 10:00-10:12 UTC is 11:00-11:12 Berlin: 300 s inside 11:05-11:10;
# the 12:00-12:30 UTC wait (13:00 Berlin) lies outside
r = d["reply_business_seconds"]
assert (r["count"], r["p50"], r["max"]) == (2, 0, 300), d
# W2 11:20-11:31 and W3 11:21-11:30 Berlin each cover 11:25-11:26
r = g["broadcast"]["reply_business_seconds"]
assert (r["count"], r["p50"], r["max"]) == (2, 60, 60), r
PY
printf '[daemon]\nsla_direct = 0.5s\nfoo = 1\n' >"$TMP/bad.conf"
expect_status 1 "a bad configuration is refused" sh -c '"$0" -c "$1" stats 2>"$2"' \
	"$RW" "$TMP/bad.conf" "$TMP/conf.err"
check "configuration errors name file and line" contains "$TMP/conf.err" "bad.conf:3:"

# ---- reclassify: new complaint settings, and the figures follow ---------------
"$RW" -d "$db" explain m1 >"$TMP/x1.txt"
check "explain shows how the message was classified" grep -q \
	"complaint      yes (score [0-9.]*, en; cues: broken)" "$TMP/x1.txt"
printf '[daemon]\ndatabase = %s\ncomplaint_threshold = 0.99\n' "$db" >"$TMP/strict.conf"
"$RW" -c "$TMP/strict.conf" reclassify --since 2026-11-19 --until 2026-11-21 >"$TMP/rc.txt"
check "reclassify says what changed" grep -q \
	"inbound messages classified: [1-9][0-9]* changed, 0 now complaints, 1 no longer" "$TMP/rc.txt"
"$RW" -d "$db" pending --at 2026-11-20T10:25:00Z --format json >"$TMP/p2.json"
check "B's wait is no complaint any more: the 4h target" python3 - "$TMP/p2.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows[0]["author"] == "B" and rows[0]["complaint"] is False, rows[0]
assert rows[0]["sla_deadline"] == "2026-11-20T14:20:00Z", rows[0]
PY
expect_status 2 "reclassify: --since after --until" "$RW" -d "$db" reclassify \
	--since 2026-11-21 --until 2026-11-20
# ---- Meta's messaging window: a hard deadline beside the SLA ----------------
printf '%s\n' '{"platform":"facebook","account":"acme-fb","id":"f1","conversation":"t1","kind":"direct","direction":"inbound","created_at":"2026-11-25T10:00:00Z","text":"hello?"}' \
	'{"platform":"facebook","account":"acme-fb","id":"f2","conversation":"t1","kind":"direct","direction":"inbound","created_at":"2026-11-25T11:00:00Z","text":"anyone?"}' \
	>"$TMP/fb.jsonl"
check "import Messenger messages" "$RW" -d "$TMP/fb.db" import "$TMP/fb.jsonl"
"$RW" -d "$TMP/fb.db" pending --at 2026-11-25T12:00:00Z --format json >"$TMP/fbp.json"
check "pending: the window closes 24 h after the customer's last message" \
	grep -q '"reply_window_closes":"2026-11-26T11:00:00Z"' "$TMP/fbp.json"
"$RW" -d "$TMP/fb.db" pending --at 2026-11-25T12:00:00Z >"$TMP/fbp.txt"
check "pending table: closes in 23h" grep -q "closes in 23h 00m" "$TMP/fbp.txt"
"$RW" -d "$TMP/fb.db" explain f2 >"$TMP/fbx.txt"
check "explain shows the window" grep -q "reply window   until 2026-11-26T11:00:00Z" "$TMP/fbx.txt"
finish

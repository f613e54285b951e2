#!/bin/sh
# SPDX-License-Identifier: ISC
# replywatchd's x connector end to end against the fake X API
# (tests/fakes/x.py): a fixture conversation (a mention, the brand's
# reply, a DM exchange) backfilled over several pages and checked against
# hand-computed reply times; the DM budget (a small one here, in short
# windows) is never overrun; an expired access token is renewed with the
# refresh token, the rotated pair is saved in the state directory and the
# spent refresh token is never sent again; kill -9 right after a renewal
# and a restart: the saved pair is used and polling goes on; a cut JSON
# page, an HTML page and a 403 problem body are refused whole and shown
# in the status in the platform's words, and polling catches up; no token
# in the log.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/daemon-lib.sh"

X_PY="$top_srcdir/tests/fakes/x.py"
WINDOW=6
DM_LIMIT=4
TOK="$TMP/tok"
spawn fakex "$TMP/fakex.log" python3 "$X_PY" --quiet --port-file "$TMP/x.port" \
	--token-dir "$TOK" --window "$WINDOW" --dm-limit "$DM_LIMIT" --max-page 5
if ! wait_until 20 test -s "$TMP/x.port"; then
	cat "$TMP/fakex.log"
	echo "FAIL: the fake X server did not start"
	exit 1
fi
X_URL="http://127.0.0.1:$(cat "$TMP/x.port")"

# xfx OP ARGS [+ OP ARGS...]: the fake's control API; times are seconds
# after $base (or RFC 3339).
#   tweet FROM WHEN [JSON]   a post; prints its id
#   dm FROM TO WHEN          a direct message; prints its id
#   GET|POST|DELETE PATH [JSON]
cat >"$TMP/xfx.py" <<'PY'
import json, sys, time, urllib.request
URL, base = sys.argv[1], float(sys.argv[2])
def call(method, path, body=None):
    req = urllib.request.Request(URL + path, data=body.encode() if body else None,
                                 method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=20) as r:
        return r.read().decode()
def when(w):
    try:
        t = base + float(w)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(t))) + ".000Z"
    except ValueError:
        return w
ops, cur = [], []
for a in sys.argv[3:] + ["+"]:
    if a == "+":
        ops.append(cur); cur = []
    else:
        cur.append(a)
for o in ops:
    if not o:
        continue
    if o[0] == "tweet":
        d = {"from": o[1], "created_at": when(o[2])}
        d.update(json.loads(o[3]) if len(o) > 3 else {})
        print(json.loads(call("POST", "/_fixture/tweet", json.dumps(d)))["id"])
    elif o[0] == "dm":
        d = {"from": o[1], "to": o[2], "created_at": when(o[3]), "text": "dm at %s" % o[3]}
        print(json.loads(call("POST", "/_fixture/dm", json.dumps(d)))["id"])
    else:
        print(call(o[0], o[1], o[2] if len(o) > 2 else None))
PY
base=$(($(date +%s) - 3600))
xfx() {
	python3 "$TMP/xfx.py" "$X_URL" "$base" "$@"
}

# ---- the fixture conversation, before the first start -------------------------
# dana mentions the brand at 0 and is answered at 300 (broadcast: 300 s);
# she writes a DM at 600, answered at 720 (120 s), again at 900, answered
# at 960 (60 s). Twelve other mentions and eight other DMs (unanswered)
# make several pages (the fake's pages hold 5 at most).
# shellcheck disable=SC2046
set -- $(xfx tweet dana 0 '{"text": "my order 4411 never arrived"}')
m1=$1
# shellcheck disable=SC2046
set -- $(xfx tweet brand 300 "{\"in_reply_to\": \"$m1\", \"text\": \"sorry, DM us\"}" \
	+ dm dana brand 600 + dm brand dana 720 + dm dana brand 900 + dm brand dana 960)
r1=$1 d1=$2 d2=$3 d3=$4 d4=$5
extra=""
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	extra="$extra + tweet cust$i $((1000 + i * 10))"
done
for i in 1 2 3 4 5 6 7 8; do
	extra="$extra + dm dmer$i brand $((1200 + i * 10))"
done
# shellcheck disable=SC2086
xfx $extra >/dev/null

CONF="$TMP/rw.conf"
conf_daemon "$CONF" "log_level = debug"
cat >>"$CONF" <<C
[account "acme-x"]
connector = x
url = $X_URL
token_file = $TOK/access.token
refresh_token_file = $TOK/refresh.token
client_id = replywatch-test-client
poll_interval = 1s
backfill = 2h
C
STATE="$TMP/acme-x.x-oauth"
check "-t accepts the x account" sh -c '"$0" -t -c "$1" >/dev/null 2>&1' "$RWD" "$CONF"
LOG="$TMP/rwd.log"
rwd_start "$LOG"

check "backfill: all 26 messages, over several pages" wait_until 40 have_msgs 26
messages_to "$TMP/m1.jsonl"
check "mapping: kinds, directions, threads, authors" python3 - "$TMP/m1.jsonl" \
	"$m1" "$r1" "$d1" "$d2" "$d3" "$d4" <<'PY'
import json, sys
m = {r["id"]: r for r in map(json.loads, open(sys.argv[1]))}
m1, r1, d1, d2, d3, d4 = sys.argv[2:]
def is_(i, kind, direction, conv, author):
    x = m[i]
    assert (x["platform"], x["account"]) == ("x", "acme-x"), x
    assert (x["kind"], x["direction"], x["conversation"], x["author"]) == \
        (kind, direction, conv, author), x
is_(m1, "broadcast", "inbound", m1, "dana")
is_(r1, "broadcast", "outbound", m1, "acme")
assert m[r1]["in_reply_to"] == m1, m[r1]
assert m[r1]["url"] == "https://x.com/acme/status/" + r1, m[r1]
conv = m[d1]["conversation"]
assert conv.startswith("1550000000000000001-") or conv.endswith("-1550000000000000001"), conv
for i, d in ((d1, "inbound"), (d2, "outbound"), (d3, "inbound"), (d4, "outbound")):
    is_(i, "direct", d, conv, "dana" if d == "inbound" else "acme")
assert len(m) == 26, len(m)
PY
"$RW" -c "$CONF" stats --since 7d --by kind --format json >"$TMP/stats.json"
check "reply times: broadcast 300 s; direct 120 s and 60 s" python3 - "$TMP/stats.json" <<'PY'
import json, sys
g = {x["kind"]: x for x in json.load(open(sys.argv[1]))["groups"]}
b, d = g["broadcast"], g["direct"]
assert (b["waits"], b["answered"], b["unanswered"]) == (13, 1, 12), b
assert (b["reply_seconds"]["count"], b["reply_seconds"]["max"]) == (1, 300), b
assert (d["waits"], d["answered"], d["unanswered"]) == (10, 2, 8), d
r = d["reply_seconds"]
assert (r["count"], r["max"], r["mean"], r["p50"]) == (2, 120, 90, 60), r
PY

xfx GET /_fixture/requests >"$TMP/req1.json"
check "paging: pagination_token followed on every stream" python3 - "$TMP/req1.json" <<'PY'
import json, sys
from urllib.parse import parse_qs
reqs = json.load(open(sys.argv[1]))
for suffix in ("/mentions", "/tweets", "/dm_events"):
    paged = [r for r in reqs if r["path"].endswith(suffix) and
             "pagination_token" in parse_qs(r["query"])]
    assert paged or suffix == "/tweets", suffix
mentions = [parse_qs(r["query"]) for r in reqs if r["path"].endswith("/mentions")]
assert any("start_time" in q for q in mentions), mentions[:3]
assert any("since_id" in q for q in mentions), mentions[-3:]
PY

# ---- the DM budget ----------------------------------------------------------
# The daemon polls every second; the fake allows DM_LIMIT requests a
# WINDOW. Watch at least three windows.
dm_windows() {
	xfx GET /_fixture/requests >"$TMP/req-dm.json"
	python3 - "$TMP/req-dm.json" "$WINDOW" "$DM_LIMIT" <<'PY'
import json, sys
reqs = [r for r in json.load(open(sys.argv[1])) if r["path"] == "/2/dm_events"]
window, limit = float(sys.argv[2]), int(sys.argv[3])
# the fake's windows: each starts with the first request after the last one
wins, start = [], None
for r in reqs:
    if start is None or r["time"] >= start + window:
        start = r["time"]
        wins.append(0)
    wins[-1] += 1
if any(r["status"] == 429 for r in reqs):
    print("a DM request got 429"); sys.exit(2)
if max(wins) > limit:
    print("a window had %d DM requests" % max(wins)); sys.exit(2)
sys.exit(0 if len(wins) >= 4 else 1)
PY
}
check "DM budget: never more than $DM_LIMIT requests in $WINDOW s, no 429" \
	wait_until 40 dm_windows
check "DM budget: the daemon waits for the reset, not an error" \
	stream_is acme-x dm 'd["state"] == "ok" and d["failures"] == 0'

# ---- token expiry, renewal, rotation ----------------------------------------
check "no state file before a renewal" test ! -e "$STATE"
t_exp=$(date +%s)
xfx POST /_fixture/expire >/dev/null
state_has() {
	test -f "$STATE" && grep -q "\"$1\"" "$STATE"
}
check "the renewed pair is saved in the state directory" wait_until 20 state_has rt-2
check "the state file is private" sh -c '[ "$(stat -c %a "$0")" = 600 ]' "$STATE"
check "the state file holds the new access token" state_has at-2
n_new=$(xfx tweet erin 1500 '{"text": "anyone there?"}')
check "after the renewal, polling goes on" wait_until 20 have_msg "$n_new"
# requests since the renewal (0.5 s after it: one in flight may still
# carry the old token) have come in once polling has gone on a while
renewed_and_polled() {
	xfx GET /_fixture/requests >"$TMP/req2.json" &&
	python3 - "$TMP/req2.json" <<'PY'
import json, sys
reqs = json.load(open(sys.argv[1]))
tok = [r for r in reqs if r["path"] == "/2/oauth2/token"]
late = [r for r in reqs if tok and r["time"] > tok[0]["time"] + 0.5 and
        r["token"] is not None]
sys.exit(0 if late else 1)
PY
}
wait_until 20 renewed_and_polled || :
check "one renewal with rt-1; the old access token is not used after it" \
	python3 - "$TMP/req2.json" <<'PY'
import json, sys
reqs = json.load(open(sys.argv[1]))
tok = [r for r in reqs if r["path"] == "/2/oauth2/token"]
assert [r["refresh_token"] for r in tok] == ["rt-1"], tok
assert all(r["status"] == 200 for r in tok), tok
t = tok[0]["time"]
late = [r for r in reqs if r["time"] > t + 0.5 and r["token"] is not None]
assert late and all(r["token"] == "at-2" for r in late), set(r["token"] for r in late)
PY

# ---- kill -9 right after a renewal, and a restart ----------------------------
xfx POST /_fixture/expire >/dev/null
check "a second renewal is saved" wait_until 20 state_has rt-3
kill -s KILL "$(pid_of rwd)"
wait_until 10 ended rwd || :
xfx DELETE /_fixture/requests >/dev/null
n_after=$(xfx tweet finn 1600 '{"text": "hello after the crash"}')
LOG2="$TMP/rwd-2.log"
rwd_start "$LOG2"
check "after kill -9 and a restart, polling goes on" wait_until 20 have_msg "$n_after"
check "after the restart, every stream is ok" wait_until 20 stream_is acme-x mentions \
	'd["state"] == "ok"'
xfx GET /_fixture/requests >"$TMP/req3.json"
check "the restart used the saved pair, not the spent one" python3 - "$TMP/req3.json" <<'PY'
import json, sys
reqs = json.load(open(sys.argv[1]))
assert not [r for r in reqs if r["path"] == "/2/oauth2/token"], "a renewal after the restart"
toks = set(r["token"] for r in reqs if r["token"] is not None)
assert toks == {"at-3"}, toks
# the DM budget is not kept across a restart: one 429 may tell it again
bad = [r for r in reqs if r["status"] != 200]
assert all(r["status"] == 429 and r["path"] == "/2/dm_events" for r in bad), bad
assert len(bad) <= 1, bad
PY
messages_to "$TMP/m2.jsonl"
check "28 messages, each once" sh -c \
	'[ "$(wc -l <"$0")" -eq 28 ] && [ "$(sort -u "$0" | wc -l)" -eq 28 ]' "$TMP/m2.jsonl"

# ---- faults: cut JSON, HTML, an X problem body ------------------------------------
# Each fault answers the next mentions request. The page is refused whole
# and logged with the reason; the next poll catches up from the cursor
# and stores the new post once.
MENTIONS=/2/users/1550000000000000001/mentions
mentions_failed_with() {	# TEXT: the status shows it as the last error
	stream_is acme-x mentions \
	    "d['failures'] > 0 and $(printf '%s' "$1" | python3 -c \
	    'import json, sys; print(json.dumps(sys.stdin.read()))') in (d['last_error'] or '')"
}
x_fault_case() {	# NAME FAULT-JSON LOG-TEXT AUTHOR
	xfx POST /_fixture/faults "{\"faults\": [$2], \"path\": \"$MENTIONS\"}" \
	    >/dev/null
	id=$(xfx tweet "$4" 1700 '{"text": "is anyone reading this?"}')
	check "$1: the status names the problem" wait_until 20 \
	    mentions_failed_with "$3"
	check "$1: logged with the reason" wait_until 10 grep -qF "$3" "$LOG2"
	check "$1: then caught up" wait_until 20 have_msg "$id"
	check "$1: the stream is ok again" wait_until 20 stream_is acme-x \
	    mentions 'd["state"] == "ok"'
}
x_fault_case "cut JSON" '{"malformed": true}' "the JSON response ends early" gina
x_fault_case "HTML" '{"garbage": true}' "not valid JSON" hugo
messages_to "$TMP/m3.jsonl"
check "after the faults: 30 messages, each once" sh -c \
	'[ "$(wc -l <"$0")" -eq 30 ] && [ "$(sort -u "$0" | wc -l)" -eq 30 ]' "$TMP/m3.jsonl"
# a 403 with X's problem body: its detail, as X words it, in the status
xfx POST /_fixture/faults "{\"faults\": [{\"status\": 403, \"body\": {\"title\": \"Forbidden\", \"status\": 403, \"type\": \"https://api.twitter.com/2/problems/not-authorized-for-resource\", \"detail\": \"You are not permitted to use this endpoint (client-forbidden)\"}}], \"path\": \"$MENTIONS\"}" >/dev/null
check "403: X's detail in the status" wait_until 20 \
	mentions_failed_with "You are not permitted to use this endpoint (client-forbidden)"
check "403: the account's mentions are failing" stream_is acme-x mentions \
	'd["state"].startswith("failing")'

# ---- no token anywhere ----------------------------------------------------------
stop_proc rwd TERM 10
check "SIGTERM: exit 0 (got '$STOP_RC')" test "$STOP_RC" = 0
for f in "$LOG" "$LOG2" "$TMP/m2.jsonl"; do
	check "no token in $(basename "$f")" sh -c '! grep -Eqw "(at|rt)-[0-9]+" "$0"' "$f"
done
check "no sanitizer report" sanitizer_clean "$LOG"
check "no sanitizer report after the restart" sanitizer_clean "$LOG2"

finish

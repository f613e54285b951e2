# SPDX-License-Identifier: ISC
# Shared by tests/facebook.sh and tests/instagram.sh, sourced after lib.sh
# and daemon-lib.sh: the fake Graph API (tests/fakes/graph.py), its control
# API, and the checks both make of replywatchd against it.

GRAPH_PY="$top_srcdir/tests/fakes/graph.py"
PAGE_ID=111222333444555
IG_ID=17841405309211844

# graph_start: the fake; $GRAPH_URL, and the token in $TMP/tokens/page.token.
graph_start() {
	spawn graph "$TMP/graph.log" python3 "$GRAPH_PY" --quiet \
		--port-file "$TMP/graph.port" --token-file-dir "$TMP/tokens"
	if ! wait_until 20 test -s "$TMP/graph.port"; then
		cat "$TMP/graph.log"
		echo "FAIL: the fake Graph API did not start"
		exit 1
	fi
	GRAPH_URL="http://127.0.0.1:$(cat "$TMP/graph.port")"
}

# gx METHOD NAME [JSON]: a call of the control API; prints the answer.
# WHEN in the JSON may be written @SECONDS: $BASE + SECONDS, RFC 3339.
gx() {
	python3 - "$GRAPH_URL" "$BASE" "$@" <<'PY'
import json, re, sys, time, urllib.request
url, base, method, name = sys.argv[1:5]
body = sys.argv[5] if len(sys.argv) > 5 else None
if body is not None:
    body = re.sub(r"@(-?\d+)", lambda m: time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(base) + int(m.group(1)))), body).encode()
req = urllib.request.Request(url + "/_fixture/" + name, data=body, method=method,
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=20) as r:
    ans = json.loads(r.read().decode())
print(ans["id"] if isinstance(ans, dict) and "id" in ans else json.dumps(ans))
PY
}

# waits_are KIND ANSWERED UNANSWERED SECONDS...: replywatch stats of that
# kind has those counts, and every answered wait of the kind in the
# database took those seconds (the sorted lists compared), as worked out
# by hand; the statistics' maximum and mean agree with them.
waits_are() {
	"$RW" -c "$CONF" stats --since 7d --by kind --format json >"$TMP/stats.json" || return 1
	python3 - "$TMP/stats.json" "$TMP/rw.db" "$@" <<'PY'
import json, sqlite3, sys
kind, answered, unanswered = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
want = sorted(int(x) for x in sys.argv[6:])
g = {x["kind"]: x for x in json.load(open(sys.argv[1]))["groups"]}
x = g.get(kind)
if x is None:
    sys.exit(1)
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[2], uri=True)
code = {"direct": 0, "broadcast": 1}[kind]
got = sorted((c - o) / 1000 for o, c in db.execute(
    "SELECT opened_ms, closed_ms FROM waits WHERE kind = ? AND closed_ms IS NOT NULL",
    (code,)))
db.close()
r = x["reply_seconds"] or {"count": 0}
ok = (x["answered"], x["unanswered"], r["count"]) == (answered, unanswered, len(want))
ok = ok and got == want
if ok and want:
    ok = (r["max"], round(r["mean"], 3)) == (max(want), round(sum(want) / len(want), 3))
if not ok:
    print("%s waits: %s s, want %s s; stats: %s" % (kind, got, want, x), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

# requests_of PATH: the fake's requests to that path, one time a line.
requests_of() {
	gx GET requests | python3 -c '
import json, sys
for x in json.loads(sys.stdin.read()):
    if x["path"] == sys.argv[1]:
        print(x["time"])' "$1"
}

# two_requests_of PATH: at least two since the log was emptied.
two_requests_of() {
	[ "$(requests_of "$1" | wc -l)" -ge 2 ]
}

# gap_of PATH: seconds between its first two requests.
gap_of() {
	requests_of "$1" | head -n 2 | awk 'NR == 1 { a = $1 } NR == 2 { printf "%d\n", $1 - a }'
}

# usage_slows PATH KEY JSON: with that usage header (KEY: app, business,
# page), the stream of PATH polls at least 4 s apart (5 times its 1 s);
# without, about a second apart.
usage_slows() {
	gx POST usage "{\"$2\": $3}" >/dev/null
	# a poll that has seen the header, then the requests from there
	gx DELETE requests >/dev/null
	wait_until 15 two_requests_of "$1" || return 1
	gx DELETE requests >/dev/null
	wait_until 20 two_requests_of "$1" || return 1
	_gap=$(gap_of "$1")
	gx POST usage "{\"$2\": null}" >/dev/null
	[ "$_gap" -ge 4 ] || { echo "usage at 90 %: polls $_gap s apart"; return 1; }
}

# unslowed PATH: polls about a second apart again.
unslowed() {
	gx DELETE requests >/dev/null
	wait_until 15 two_requests_of "$1" || return 1
	gx DELETE requests >/dev/null
	wait_until 15 two_requests_of "$1" || return 1
	[ "$(gap_of "$1")" -le 2 ]
}

# expired PATH: every request to it gets Graph's code 190 body.
expired() {
	gx POST faults "{\"path\": \"$1\", \"times\": 100000, \"faults\": [{\"status\": 400,
		\"body\": {\"error\": {\"message\": \"Error validating access token: Session has expired on Thursday, 14-Aug-26 09:00:00 PDT.\",
		\"type\": \"OAuthException\", \"code\": 190, \"error_subcode\": 463, \"fbtrace_id\": \"AbCd\"}}}]}" >/dev/null
}

EXPIRED_TEXT="code 190/subcode 463: Error validating access token: Session has expired on Thursday, 14-Aug-26 09:00:00 PDT."

# shows_expired ACCOUNT STREAM: replywatch status has the platform's text.
shows_expired() {
	stream_is "$1" "$2" 'd["state"].startswith("failing") and d["last_error"] == "'"$EXPIRED_TEXT"'"'
}

# gbulk NAME JSON_LIST: the fixture objects (post, comment, message) stored
# at once, so that no poll sees part of them; prints their ids, one a line.
gbulk() {
	gx POST "$1" "$2" | python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin)["ids"]))'
}

# posts_of EDGE NAME N WHEN: a JSON list of N posts on the edge, by NAME1
# to NAMEN, at @WHEN+1 to @WHEN+N.
posts_of() {
	_l= _i=1
	while [ "$_i" -le "$3" ]; do
		_l="$_l${_l:+, }{\"edge\": \"$1\", \"from\": \"$2$_i\", \"text\": \"$2 $_i\", \"created_time\": \"@$(($4 + _i))\"}"
		_i=$((_i + 1))
	done
	echo "[$_l]"
}

# paged_with PATH PARAM: a request to the path had that query parameter.
paged_with() {
	gx GET requests | python3 -c '
import json, sys
from urllib.parse import parse_qs
sys.exit(0 if any(x["path"] == sys.argv[1] and sys.argv[2] in parse_qs(x["query"])
                  for x in json.loads(sys.stdin.read())) else 1)' "$1" "$2"
}

# statuses_and_gaps PATH: the answers to the path since the log was
# emptied, "STATUS GAP" a line (GAP: seconds to the next request).
statuses_and_gaps() {
	gx GET requests | python3 -c '
import json, sys
r = [x for x in json.loads(sys.stdin.read()) if x["path"] == sys.argv[1]]
for a, b in zip(r, r[1:]):
    print(a["status"], "%.2f" % (b["time"] - a["time"]))' "$1"
}

# answered PATH N: at least N requests to the path have been answered.
answered() {
	[ "$(gx GET requests | python3 -c '
import json, sys
print(len([x for x in json.loads(sys.stdin.read()) if x["path"] == sys.argv[1] and x["status"] is not None]))' "$1")" -ge "$2" ]
}

# graph_cases ACCOUNT STREAM EDGE PATH: the stream (a list of posts on the
# fixture's EDGE, read from PATH) against paging, an empty page, throttle
# codes with 429, and a page whose JSON is cut; $LOG is the daemon's log.
# The posts are made at @2100 and later: newer than the fixture's.
graph_cases() {
	_acc=$1 _st=$2 _edge=$3 _path=$4

	# more than one page: 30 posts, the connector asks for 25 a page
	_n0=$(msg_count)
	gx DELETE requests >/dev/null
	gbulk post "$(posts_of "$_edge" pager 30 2100)" >"$TMP/paged.ids"
	check "$_st: 30 new posts, over two pages of 25" wait_until 20 have_msgs $((_n0 + 30))
	check "$_st: each of them stored once" stored_once "$TMP/paged.ids"
	check "$_st: paging.next was followed (after=)" paged_with "$_path" after

	# an empty page ({"data": []}, no paging): polled without an error
	_n0=$(msg_count)
	_cur=$(stream_field "$_acc" "$_st" cursor)
	gx DELETE requests >/dev/null
	gx POST faults "{\"path\": \"$_path\", \"faults\": [{\"status\": 200, \"body\": {\"data\": []}}]}" >/dev/null
	check "$_st: an empty page, then the next poll" wait_until 15 answered "$_path" 2
	check "$_st: an empty page is no error, the cursor stays" stream_is "$_acc" "$_st" \
		'd["state"] == "ok" and d["failures"] == 0 and d["cursor"] == "'"$_cur"'"'
	check "$_st: nothing new stored" have_msgs "$_n0"

	# throttled: code 32 (400), then code 4 with 429, each with Retry-After
	# 2; posts made meanwhile arrive once the throttle is over
	gx DELETE requests >/dev/null
	gx POST faults "{\"path\": \"$_path\", \"faults\": [
		{\"status\": 400, \"headers\": {\"Retry-After\": \"2\"}, \"body\": {\"error\": {\"message\": \"(#32) Page request limit reached\", \"type\": \"OAuthException\", \"code\": 32, \"fbtrace_id\": \"AbCd\"}}},
		{\"status\": 429, \"headers\": {\"Retry-After\": \"2\"}, \"body\": {\"error\": {\"message\": \"(#4) Application request limit reached\", \"type\": \"OAuthException\", \"is_transient\": true, \"code\": 4, \"fbtrace_id\": \"AbCd\"}}}]}" >/dev/null
	gbulk post "$(posts_of "$_edge" late 3 2300)" >"$TMP/late.ids"
	check "$_st: code 32 shows as rate limited, in Graph's words" wait_until 10 stream_is "$_acc" "$_st" \
		'd["last_error"] == "code 32: (#32) Page request limit reached"'
	check "$_st: code 4 with 429 too" wait_until 10 stream_is "$_acc" "$_st" \
		'd["last_error"] == "code 4: (#4) Application request limit reached"'
	check "$_st: after the throttle, the posts of meanwhile" wait_until 20 have_msgs $((_n0 + 3))
	check "$_st: each once" stored_once "$TMP/late.ids"
	check "$_st: the stream is ok again" wait_until 10 stream_is "$_acc" "$_st" \
		'd["state"] == "ok" and d["failures"] == 0'
	statuses_and_gaps "$_path" >"$TMP/gaps"
	# (a poll may have come in before the faults were set)
	if awk '$1 != 200 || n { n++ } n && n <= 2 { s = s $1 " "; if ($2 < 1.9) bad = 1 }
		END { exit (s != "400 429 " || bad) }' "$TMP/gaps"; then
		pass
	else
		fail "$_st: Retry-After honoured after each throttle; answers and gaps:"
		cat "$TMP/gaps"
	fi

	# JSON cut in the middle of the page: refused whole, logged, recovered
	_n0=$(msg_count)
	gx POST faults "{\"path\": \"$_path\", \"times\": 100000, \"faults\": [{\"cut\": true}]}" >/dev/null
	gbulk post "$(posts_of "$_edge" cut 3 2400)" >"$TMP/cut.ids"
	if wait_until 15 grep -qE "account $_acc: $_st: [a-z ]+: the JSON response ends early \(truncated after [0-9]+ bytes\)" "$LOG"; then
		pass
	else
		fail "$_st: cut JSON: logged, naming the problem; the log says:"
		grep -F "account $_acc: $_st:" "$LOG" | tail -n 5
	fi
	check "$_st: cut JSON: in status" stream_is "$_acc" "$_st" \
		'd["state"].startswith("failing") and "ends early" in d["last_error"]'
	check "$_st: cut JSON: nothing of the page stored" have_msgs "$_n0"
	gx DELETE faults >/dev/null
	check "$_st: cut JSON: the next poll recovers" wait_until 20 have_msgs $((_n0 + 3))
	check "$_st: cut JSON: each post once" stored_once "$TMP/cut.ids"
	check "$_st: cut JSON: ok again" wait_until 10 stream_is "$_acc" "$_st" \
		'd["state"] == "ok" and d["failures"] == 0'
}

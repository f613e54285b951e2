#!/bin/sh
# SPDX-License-Identifier: ISC
# replywatchd's LinkedIn connector end to end against the fixture server
# (tests/fakes/linkedin.py): a fixture conversation on the organization's
# post (a member's comment and the organization's reply, twice) and a
# mention, imported through the real connector and checked against reply
# times computed by hand; a comment made while the daemon runs; every
# request with LinkedIn-Version and X-Restli-Protocol-Version; a 429 and a
# 500 survived; an expired token shown in `replywatch status` in
# LinkedIn's own words; no token in any output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/daemon-lib.sh"

LI_PY="$top_srcdir/tests/fakes/linkedin.py"
TOKENS="$TMP/tokens"
spawn fake "$TMP/fake.log" python3 "$LI_PY" --quiet --port-file "$TMP/fake.port" \
	--token-file-dir "$TOKENS"
if ! wait_until 20 test -s "$TMP/fake.port"; then
	cat "$TMP/fake.log"
	echo "FAIL: the fake LinkedIn server did not start"
	exit 1
fi
FAKE_URL="http://127.0.0.1:$(cat "$TMP/fake.port")"

# lfx METHOD PATH [JSON]: a call of the fixture's control API; prints the
# answer's "id" if it has one, else the answer.
lfx() {
	python3 - "$FAKE_URL" "$@" <<'PY'
import json, sys, urllib.request
url, method, path = sys.argv[1:4]
data = sys.argv[4].encode() if len(sys.argv) > 4 else None
req = urllib.request.Request(url + path, data=data, method=method,
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=20) as r:
    body = json.loads(r.read().decode())
print(body["id"] if isinstance(body, dict) and "id" in body else json.dumps(body))
PY
}

# Times in epoch ms, counted back from now (the fixture takes them as given).
now=$(python3 -c 'import time; print(int(time.time()) * 1000)')
ago() {
	echo $((now - $1 * 1000))
}

# The fixture conversation: the organization's post; dana complains 60
# minutes ago, the organization answers her 12 minutes later (720 s); erin
# asks 40 minutes ago, the answer comes 10 minutes later (600 s); dana
# thanks, unanswered. A member mentions the organization 20 minutes ago.
post=$(lfx POST /_fixture/post "{\"created\": $(ago 5400), \"text\": \"Summer sale\"}")
c1=$(lfx POST /_fixture/comment "{\"post\": \"$post\", \"from\": \"member dana\", \
	\"created\": $(ago 3600), \"text\": \"my order never arrived\"}")
r1=$(lfx POST /_fixture/comment "{\"post\": \"$post\", \"from\": \"org\", \
	\"created\": $(ago 2880), \"parent\": \"$c1\", \"text\": \"Sorry! We sent a DM.\"}")
c2=$(lfx POST /_fixture/comment "{\"post\": \"$post\", \"from\": \"member erin\", \
	\"created\": $(ago 2400), \"text\": \"do you ship to Canada?\"}")
r2=$(lfx POST /_fixture/comment "{\"post\": \"$post\", \"from\": \"org\", \
	\"created\": $(ago 1800), \"parent\": \"$c2\", \"text\": \"Yes, we do.\"}")
c3=$(lfx POST /_fixture/comment "{\"post\": \"$post\", \"from\": \"member dana\", \
	\"created\": $(ago 1500), \"parent\": \"$r1\", \"text\": \"thanks\"}")
men=$(lfx POST /_fixture/mention "{\"created\": $(ago 1200), \"from\": \"finn\"}")
# older than the backfill: not fetched
old=$(lfx POST /_fixture/comment "{\"post\": \"$post\", \"from\": \"member gus\", \
	\"created\": $(ago 10800), \"text\": \"first!\"}")

CONF="$TMP/rw.conf"
conf_daemon "$CONF" "log_level = debug"
cat >>"$CONF" <<C
[account "li"]
connector = linkedin
url = $FAKE_URL
token_file = $TOKENS/linkedin.token
platform_id = 2414183
poll_interval = 1s
backfill = 2h
C
expect_status 0 "--check-config accepts the account" sh -c \
	'"$0" -t -c "$1" >/dev/null 2>&1' "$RWD" "$CONF"
LOG="$TMP/rwd.log"
rwd_start "$LOG" -- -v

check "the fixture conversation and the mention arrive" wait_until 20 have_msgs 6
check "comments: first poll ok" wait_until 10 stream_is li comments 'd["state"] == "ok"'
check "mentions: first poll ok" wait_until 10 stream_is li mentions 'd["state"] == "ok"'
if have_msg "$old"; then fail "a comment older than the backfill was fetched"; else pass; fi

messages_to "$TMP/m.jsonl"
check "messages: kinds, directions, threads, replies" python3 - "$TMP/m.jsonl" \
	"$post" "$c1" "$r1" "$c2" "$r2" "$c3" "$men" "$now" <<'PY'
import json, sys
from datetime import datetime, timezone
m = {r["id"]: r for r in map(json.loads, open(sys.argv[1]))}
post, c1, r1, c2, r2, c3, men, now = sys.argv[2:]
now = int(now)
def ms(x):
    return int(datetime.fromisoformat(x["created_at"].replace("Z", "+00:00")).timestamp() * 1000)
def is_(i, direction, conv, reply, author, ago):
    x = m[i]
    assert (x["platform"], x["account"], x["kind"], x["direction"], x["conversation"]) == \
        ("linkedin", "li", "broadcast", direction, conv), x
    assert x.get("in_reply_to") == reply, x
    assert x.get("author") == author, x
    assert ms(x) == now - ago * 1000, (x, now)
org = "urn:li:organization:2414183"
is_(c1, "inbound", post, post, "urn:li:person:dana", 3600)
is_(r1, "outbound", post, c1, org, 2880)
is_(c2, "inbound", post, post, "urn:li:person:erin", 2400)
is_(r2, "outbound", post, c2, org, 1800)
is_(c3, "inbound", post, r1, "urn:li:person:dana", 1500)
is_(men, "inbound", men, None, "urn:li:person:finn", 1200)
assert m[c1]["text"] == "my order never arrived", m[c1]
assert m[c1]["url"] == "https://www.linkedin.com/feed/update/%s/" % post, m[c1]
PY

"$RW" -c "$CONF" stats --since 7d --by kind,account --format json >"$TMP/stats.json"
check "reply times: 720 s and 600 s, two waits open" python3 - "$TMP/stats.json" <<'PY'
import json, sys
g = {(x["kind"], x["account"]): x for x in json.load(open(sys.argv[1]))["groups"]}
b = g[("broadcast", "li")]
r = b["reply_seconds"]
assert (b["answered"], r["count"], r["p50"], r["max"]) == (2, 2, 600, 720), b
# dana's thanks and the mention wait
assert (b["waits"], b["unanswered"]) == (4, 2), b
assert ("direct", "li") not in g, g
PY

# ---- incremental: a new comment and its answer while the daemon runs ---------
now2=$(python3 -c 'import time; print(int(time.time()) * 1000)')
c4=$(lfx POST /_fixture/comment "{\"post\": \"$post\", \"from\": \"member hana\", \
	\"created\": $((now2 - 60000)), \"text\": \"is the sale on in stores?\"}")
r4=$(lfx POST /_fixture/comment "{\"post\": \"$post\", \"from\": \"org\", \
	\"created\": $((now2 - 15000)), \"parent\": \"$c4\", \"text\": \"Online only.\"}")
check "a new comment and its reply arrive" wait_until 15 have_msgs 8
check "the reply is outbound" have_msg "$r4"
check "comments cursor: the newest comment's time" wait_until 10 stream_has li comments \
	"\"cursor\":\"$((now2 - 15000))\""

# ---- the headers, on every request ---------------------------------------------
lfx GET /_fixture/requests >"$TMP/requests.json"
check "every request had LinkedIn-Version 202601 and Rest.li 2.0.0, and succeeded" \
	python3 - "$TMP/requests.json" <<'PY'
import json, sys
reqs = json.load(open(sys.argv[1]))
assert len(reqs) >= 4, reqs
for r in reqs:
    assert (r["version"], r["restli"], r["status"]) == ("202601", "2.0.0", 200), r
paths = {r["path"] for r in reqs}
assert "/rest/posts" in paths and "/rest/organizationalEntityNotifications" in paths, paths
assert any(p.startswith("/rest/socialActions/urn%3Ali%3Ashare%3A") for p in paths), paths
n = [r for r in reqs if r["path"] == "/rest/organizationalEntityNotifications"][0]
assert "actions=List(SHARE_MENTION,COMMENT_MENTION)" in n["query"] and "timeRange=(start:" in n["query"], n
PY

# ---- throttled, then a server error: polling goes on -----------------------------
lfx POST /_fixture/faults '{"faults": [{"status": 429, "headers": {"Retry-After": "3"}}],
	"path": "/rest/organizationalEntityNotifications"}' >/dev/null
check "429: mentions rate limited, in LinkedIn's words" wait_until 10 stream_is li mentions \
	'(d["last_error"] or "").startswith("HTTP 429: Resource level throttle limit")'
check "429: mentions recover" wait_until 10 stream_is li mentions \
	'd["state"] == "ok" and d["failures"] == 0'
lfx GET /_fixture/requests >"$TMP/requests2.json"
check "429: Retry-After is honoured" python3 - "$TMP/requests2.json" <<'PY'
import json, sys
reqs = [r for r in json.load(open(sys.argv[1]))
        if r["path"] == "/rest/organizationalEntityNotifications"]
i = [r["status"] for r in reqs].index(429)
assert reqs[i + 1]["time"] - reqs[i]["time"] >= 2.9, reqs[i:i + 2]
PY
lfx POST /_fixture/faults '{"faults": [{"status": 500}], "path": "/rest/posts"}' >/dev/null
check "500: comments fail for a while" wait_until 10 stream_has li comments '"failures":[1-9]'
check "500: comments recover" wait_until 15 stream_has li comments '"state":"ok"' '"failures":0'

# ---- paging, an empty page, a throttle, broken JSON: on the mentions ----------
NOTIFS=/rest/organizationalEntityNotifications
# mentions N FROM_MS NAME: N mentions at FROM_MS + 1 s, + 2 s, ..., stored
# at once; their ids into $TMP/NAME.ids
mentions() {
	_l= _i=1
	while [ "$_i" -le "$1" ]; do
		_l="$_l${_l:+, }{\"created\": $(($2 + _i * 1000)), \"from\": \"$3$_i\"}"
		_i=$((_i + 1))
	done
	lfx POST /_fixture/mention "[$_l]" | python3 -c \
		'import json, sys; print("\n".join(json.load(sys.stdin)["ids"]))' >"$TMP/$3.ids"
}
# notif_requests: "STATUS START TIME" of each request to $NOTIFS since T
notif_requests() {
	lfx GET /_fixture/requests | python3 -c '
import json, re, sys
for r in json.loads(sys.stdin.read()):
    if r["path"] == sys.argv[1] and r["time"] >= float(sys.argv[2]):
        m = re.search(r"(?:^|&)start=(\d+)", r["query"])
        print(r["status"], m.group(1) if m else "-", "%.3f" % r["time"])' "$NOTIFS" "$1"
}
answered_since() {
	[ "$(notif_requests "$1" | grep -vc "^None")" -ge "$2" ]
}
epoch() {
	python3 -c 'import time; print("%.3f" % time.time())'
}
now3=$(python3 -c 'import time; print(int(time.time()) * 1000)')
n0=$(msg_count)
t0=$(epoch)
# 55 mentions: the connector asks for 50 a page
mentions 55 $((now3 - 600000)) pager
check "paging: 55 new mentions over two pages" wait_until 20 have_msgs $((n0 + 55))
check "paging: each once" stored_once "$TMP/pager.ids"
notif_requests "$t0" >"$TMP/nr1"
check "paging: start=50 was asked for" grep -q "^200 50 " "$TMP/nr1"

# an empty page: no error; the cursor (the end of the time range read) does
# not go back
n0=$(msg_count)
cur=$(stream_field li mentions cursor)
t0=$(epoch)
lfx POST /_fixture/faults "{\"path\": \"$NOTIFS\", \"faults\": [{\"status\": 200,
	\"body\": {\"paging\": {\"start\": 0, \"count\": 50, \"total\": 0, \"links\": []}, \"elements\": []}}]}" >/dev/null
check "empty page: it and the next poll answered" wait_until 15 answered_since "$t0" 2
if stream_is li mentions \
	'd["state"] == "ok" and d["failures"] == 0 and int(d["cursor"]) >= '"$cur"; then
	pass
else
	fail "empty page: no error, the cursor (a time-range end) not back ($cur); status:"
	grep '"stream":"mentions"' "$TMP/status.json"
fi
check "empty page: nothing new" have_msgs "$n0"

# throttled with mentions made meanwhile: caught up from the cursor, once
t0=$(epoch)
lfx POST /_fixture/faults "{\"faults\": [{\"status\": 429, \"headers\": {\"Retry-After\": \"2\"}}],
	\"path\": \"$NOTIFS\"}" >/dev/null
mentions 3 $((now3 - 300000)) late
check "429 again: rate limited" wait_until 10 stream_is li mentions \
	'(d["last_error"] or "").startswith("HTTP 429: Resource level throttle limit")'
check "429 again: the mentions of meanwhile arrive" wait_until 20 have_msgs $((n0 + 3))
check "429 again: each once" stored_once "$TMP/late.ids"
check "429 again: ok" wait_until 10 stream_is li mentions 'd["state"] == "ok" and d["failures"] == 0'

# broken JSON: cut in the middle, or a time of the wrong type in the last
# element; each page refused whole (its first elements are fine), logged,
# and the next poll takes it
for f in cut wrong_types; do
	n0=$(msg_count)
	lfx POST /_fixture/faults "{\"faults\": [{\"$f\": true}], \"times\": 100000,
		\"path\": \"$NOTIFS\"}" >/dev/null
	mentions 3 $((now3 - 200000 + ${#f} * 10000)) "$(echo "$f" | tr -d _)"
	case $f in
	cut) pat="account li: mentions: [a-z ]+: the JSON response ends early \(truncated after [0-9]+ bytes\)" ;;
	*) pat="account li: mentions: [a-z ]+: notifications\.elements\[[0-9]+\]\.lastModifiedAt: expected a number, got a string" ;;
	esac
	if wait_until 15 grep -qE "$pat" "$LOG"; then
		pass
	else
		fail "$f: logged, naming the problem; the log says:"
		grep -F "account li: mentions:" "$LOG" | tail -n 3
	fi
	check "$f: nothing of the page stored" have_msgs "$n0"
	lfx DELETE /_fixture/faults >/dev/null
	check "$f: the next poll recovers" wait_until 20 have_msgs $((n0 + 3))
	check "$f: each once" stored_once "$TMP/$(echo "$f" | tr -d _).ids"
	check "$f: ok again" wait_until 10 stream_is li mentions 'd["state"] == "ok" and d["failures"] == 0'
done

# ---- an expired token: LinkedIn's own words ------------------------------------
lfx POST /_fixture/token '{"expired": true}' >/dev/null
check "expired token: comments failing with LinkedIn's message" wait_until 10 \
	stream_has li comments '"state":"failing' \
	'"last_error":"HTTP 401: Invalid access token \(serviceErrorCode 65600\)"'
check "expired token: mentions too" wait_until 10 stream_has li mentions \
	'"last_error":"HTTP 401: Invalid access token'
check "the daemon runs on" running rwd

stop_proc rwd TERM 10
check "replywatchd stops on SIGTERM" test "$STOP_RC" = 0
check "no sanitizer report" sanitizer_clean "$LOG"
check "the token is never shown" sh -c '! grep -q "token-linkedin" "$0"' "$LOG"
finish

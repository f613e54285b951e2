#!/bin/sh
# SPDX-License-Identifier: ISC
# replywatchd with the facebook connector against the fake Graph API: a
# visitor's post and a comment on the page's post answered by the page, a
# Messenger exchange and a post that tags the page, imported through the
# real connector, with the reply times worked out by hand; usage headers
# at 90 % stretch the polls; an expired token (code 190) in status.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/daemon-lib.sh"
. "$top_srcdir/tests/graph-lib.sh"

graph_start
BASE=$(date +%s)
BASE=$((BASE - 3600))
CONF="$TMP/rw.conf"

# The page's post; Dana comments 10 min later, the page answers 3 min after.
post=$(gx POST post '{"edge": "feed", "from": "brand", "created_time": "@600"}')
c1=$(gx POST comment "{\"on\": \"$post\", \"from\": \"dana\", \"text\": \"my order never arrived\", \"created_time\": \"@1200\"}")
r1=$(gx POST comment "{\"on\": \"$post\", \"parent\": \"$c1\", \"from\": \"brand\", \"text\": \"Sorry Dana! We messaged you.\", \"created_time\": \"@1380\"}")
# A visitor's post on the page, answered 5 min later; a post tagging the
# page, not answered.
vp=$(gx POST post '{"edge": "feed", "from": "erin", "text": "Where is my refund?", "created_time": "@1500"}')
r2=$(gx POST comment "{\"on\": \"$vp\", \"from\": \"brand\", \"text\": \"Checking!\", \"created_time\": \"@1800\"}")
tp=$(gx POST post '{"edge": "tagged", "from": "finn", "text": "Great shop @Acme", "created_time": "@2000"}')
# Messenger: Gus writes, the page answers a minute later; Gus again.
d1=$(gx POST message '{"platform": "messenger", "conversation": "t_900", "from": "gus", "text": "Order 4411, still nothing", "created_time": "@1600"}')
d2=$(gx POST message '{"platform": "messenger", "conversation": "t_900", "from": "brand", "text": "Hi Gus, the email on the order?", "created_time": "@1660"}')
d3=$(gx POST message '{"platform": "messenger", "conversation": "t_900", "from": "gus", "text": "gus@example.net", "created_time": "@1900"}')

conf_daemon "$CONF" "log_level = debug"
cat >>"$CONF" <<C
[account "fb"]
connector = facebook
url = $GRAPH_URL
token_file = $TMP/tokens/page.token
platform_id = $PAGE_ID
poll_interval = 1s
backfill = 2h
C
LOG="$TMP/rwd.log"
rwd_start "$LOG"

check "the fixture conversation arrives" wait_until 20 have_msgs 9
messages_to "$TMP/m.jsonl"
check "kinds, directions, threads and replies" python3 - "$TMP/m.jsonl" \
	"$BASE" "$post" "$c1" "$r1" "$vp" "$r2" "$tp" "$d1" "$d2" "$d3" <<'PY'
import json, sys, time
m = {r["id"]: r for r in map(json.loads, open(sys.argv[1]))}
base = int(sys.argv[2])
post, c1, r1, vp, r2, tp, d1, d2, d3 = sys.argv[3:]
def is_(i, kind, direction, conv, reply=None):
    x = m[i]
    assert (x["platform"], x["account"], x["kind"], x["direction"], x["conversation"]) == \
        ("facebook", "fb", kind, direction, conv), x
    assert x.get("in_reply_to") == reply, x
is_(post, "broadcast", "outbound", post)
is_(c1, "broadcast", "inbound", post, post)
is_(r1, "broadcast", "outbound", post, c1)
is_(vp, "broadcast", "inbound", vp)
is_(r2, "broadcast", "outbound", vp, vp)
is_(tp, "broadcast", "inbound", tp)
is_(d1, "direct", "inbound", "t_900")
is_(d2, "direct", "outbound", "t_900")
is_(d3, "direct", "inbound", "t_900")
assert m[c1]["text"] == "my order never arrived", m[c1]
assert m[c1]["created_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + 1200)), m[c1]
assert len(m) == 9, len(m)
PY
# by hand: 1380 - 1200 = 180 s and 1800 - 1500 = 300 s; the tagged post
# waits. 1660 - 1600 = 60 s; Gus's second message waits.
check "broadcast reply times: 180 s and 300 s, one waiting" wait_until 10 waits_are broadcast 2 1 180 300
check "direct reply time: 60 s, one waiting" wait_until 10 waits_are direct 1 1 60
check "each stream has a watermark" stream_is fb comments 'd["state"] == "ok" and d["cursor"].endswith("Z")'

# a new comment is fetched incrementally, and only once
c2=$(gx POST comment "{\"on\": \"$post\", \"from\": \"hana\", \"text\": \"me too\", \"created_time\": \"@2400\"}")
check "a new comment arrives" wait_until 20 have_msg "$c2"
check "nothing twice" wait_until 10 have_msgs 10

# usage at 90 %: the next poll waits five intervals
check "X-App-Usage at 90 % stretches the polls" usage_slows "/v21.0/$PAGE_ID/tagged" app \
	'{"call_count": 90, "total_time": 20, "total_cputime": 10}'
check "the usage shows as the rate limit" stream_is fb tagged 'd["rate_limit"]["limit"] == 100'
check "X-Page-Usage at 90 % stretches them too" usage_slows "/v21.0/$PAGE_ID/feed" page \
	'{"call_count": 90, "total_time": 5, "total_cputime": 5}'
check "low usage: polls a second apart again" unslowed "/v21.0/$PAGE_ID/tagged"

# paging, an empty page, throttle codes, cut JSON (graph-lib.sh)
graph_cases fb tagged tagged "/v21.0/$PAGE_ID/tagged"

# the token expires: status shows Graph's own words
expired "/v21.0/$PAGE_ID/conversations"
check "code 190 shows in replywatch status" wait_until 20 shows_expired fb conversations
check "the other streams go on" stream_is fb tagged 'd["state"] == "ok"'

stop_proc rwd TERM 10
check "SIGTERM: exit 0 (got '$STOP_RC')" test "$STOP_RC" = 0
"$RW" -c "$CONF" status --format json >"$TMP/status-end.json"
check "no token in the log" sh -c '! grep -q "token-page" "$0" "$1"' "$LOG" "$TMP/status-end.json"
check "the log shows the requests, without the token" grep -q "GET $GRAPH_URL/v21.0/$PAGE_ID/feed" "$LOG"
check "no sanitizer report" sanitizer_clean "$LOG"
finish

#!/bin/sh
# SPDX-License-Identifier: ISC
# replywatchd with the instagram connector against the fake Graph API: a
# comment on the account's media answered by a reply, a direct message
# through the linked page's conversations (platform=instagram), a post the
# account is tagged in, imported through the real connector with the reply
# times worked out by hand; X-Business-Use-Case-Usage at 90 % stretches
# the polls; an expired token (code 190) in status.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/daemon-lib.sh"
. "$top_srcdir/tests/graph-lib.sh"

graph_start
BASE=$(date +%s)
BASE=$((BASE - 3600))
CONF="$TMP/rw.conf"

# The account's media; Dana comments, the account replies 2 min later.
media=$(gx POST post '{"edge": "media", "from": "brand", "text": "Summer sale", "created_time": "@600"}')
c1=$(gx POST comment "{\"on\": \"$media\", \"from\": \"dana.k\", \"text\": \"my order never arrived\", \"created_time\": \"@1200\"}")
r1=$(gx POST comment "{\"on\": \"$media\", \"parent\": \"$c1\", \"from\": \"brand\", \"text\": \"@dana.k sorry! please check your DMs\", \"created_time\": \"@1320\"}")
# Lena's comment, not answered; Finn tags the account, not answered.
c2=$(gx POST comment "{\"on\": \"$media\", \"from\": \"lena\", \"text\": \"size?\", \"created_time\": \"@1400\"}")
tp=$(gx POST post '{"edge": "tags", "from": "finn", "text": "love it @acme", "created_time": "@2000"}')
# A direct message, answered 5 min later.
d1=$(gx POST message '{"platform": "instagram", "conversation": "aWdfZAG06", "from": "dana.k", "text": "Order 4411", "created_time": "@1500"}')
d2=$(gx POST message '{"platform": "instagram", "conversation": "aWdfZAG06", "from": "brand", "text": "Hi Dana", "created_time": "@1800"}')
# A Messenger conversation of the same page is not Instagram's.
gx POST message '{"platform": "messenger", "conversation": "t_1", "from": "gus", "created_time": "@1500"}' >/dev/null

conf_daemon "$CONF" "log_level = debug"
cat >>"$CONF" <<C
[account "ig"]
connector = instagram
url = $GRAPH_URL
token_file = $TMP/tokens/page.token
platform_id = $IG_ID
page_id = $PAGE_ID
poll_interval = 1s
backfill = 2h
C
LOG="$TMP/rwd.log"
rwd_start "$LOG"

check "the fixture conversation arrives" wait_until 20 have_msgs 7
messages_to "$TMP/m.jsonl"
check "kinds, directions, threads and replies" python3 - "$TMP/m.jsonl" \
	"$media" "$c1" "$r1" "$c2" "$tp" "$d1" "$d2" <<'PY'
import json, sys
m = {r["id"]: r for r in map(json.loads, open(sys.argv[1]))}
media, c1, r1, c2, tp, d1, d2 = sys.argv[2:]
def is_(i, kind, direction, conv, reply=None, author=None):
    x = m[i]
    assert (x["platform"], x["account"], x["kind"], x["direction"], x["conversation"]) == \
        ("instagram", "ig", kind, direction, conv), x
    assert x.get("in_reply_to") == reply, x
    assert author is None or x.get("author") == author, x
is_(media, "broadcast", "outbound", media)
is_(c1, "broadcast", "inbound", media, media, "dana.k")
is_(r1, "broadcast", "outbound", media, c1, "acme")
is_(c2, "broadcast", "inbound", media, media, "lena")
is_(tp, "broadcast", "inbound", tp, None, "finn")
is_(d1, "direct", "inbound", "aWdfZAG06", None, "dana.k")
is_(d2, "direct", "outbound", "aWdfZAG06", None, "acme")
assert len(m) == 7, len(m)
PY
# by hand: 1320 - 1200 = 120 s; Lena's comment and the tag wait.
# 1800 - 1500 = 300 s.
check "broadcast reply time: 120 s, two waiting" wait_until 10 waits_are broadcast 1 2 120
check "direct reply time: 300 s" wait_until 10 waits_are direct 1 0 300

# a reply to Lena: the comments of the media are read again
r2=$(gx POST comment "{\"on\": \"$media\", \"parent\": \"$c2\", \"from\": \"brand\", \"text\": \"M and L\", \"created_time\": \"@1460\"}")
check "a new reply arrives" wait_until 20 have_msg "$r2"
check "broadcast reply times: 120 s and 60 s" wait_until 10 waits_are broadcast 2 1 120 60

check "X-Business-Use-Case-Usage at 90 % stretches the polls" usage_slows "/v21.0/$IG_ID/tags" business \
	"{\"$IG_ID\": [{\"type\": \"instagram\", \"call_count\": 90, \"total_cputime\": 4, \"total_time\": 4, \"estimated_time_to_regain_access\": 0}]}"
check "low usage: polls a second apart again" unslowed "/v21.0/$IG_ID/tags"

# paging, an empty page, throttle codes, cut JSON (graph-lib.sh)
graph_cases ig tags tags "/v21.0/$IG_ID/tags"

expired "/v21.0/$IG_ID/media"
check "code 190 shows in replywatch status" wait_until 20 shows_expired ig comments
check "the other streams go on" stream_is ig dm 'd["state"] == "ok"'

stop_proc rwd TERM 10
check "SIGTERM: exit 0 (got '$STOP_RC')" test "$STOP_RC" = 0
"$RW" -c "$CONF" status --format json >"$TMP/status-end.json"
check "no token in the log" sh -c '! grep -q "token-page" "$0" "$1"' "$LOG" "$TMP/status-end.json"
check "no sanitizer report" sanitizer_clean "$LOG"
finish

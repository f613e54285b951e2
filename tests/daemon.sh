#!/bin/sh
# SPDX-License-Identifier: ISC
# replywatchd end to end against the fake Mastodon server: --help,
# --version, --check-config on a good configuration and its file:line
# errors (one at a time and all at once, secrets never shown); two brand
# accounts polled: backfill before the first start (and, beside them, an
# empty account with backfill = 0, whose first messages must not be lost),
# mentions, direct messages and the brand's replies stored with their reply
# times and threads, the direct message from a stranger even though
# brand1's NotificationPolicy filters it (include_filtered); replywatch
# status of every stream; SIGTERM while a request hangs; a restart after
# SIGTERM that goes on from the stored cursors and stores nothing twice; a
# burst of more than a page of mentions, followed across the Link headers
# and stored once; SIGINT; the journal's <N> prefixes; no token anywhere in
# the output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/daemon-lib.sh"

fake_start 3
CONF="$TMP/rw.conf"

# ---- options -----------------------------------------------------------------
check "--help" sh -c '"$0" --help | grep -q "^usage: replywatchd"' "$RWD"
check "-h" sh -c '"$0" -h | grep -q -- "--check-config"' "$RWD"
check "--version" sh -c '"$0" --version | grep -q "^replywatchd [0-9]"' "$RWD"
check "-V" sh -c '"$0" -V | grep -q "^replywatchd [0-9]"' "$RWD"
expect_status 2 "an unknown option" sh -c '"$0" --bogus 2>/dev/null' "$RWD"
expect_status 2 "an extra argument" sh -c '"$0" extra 2>/dev/null' "$RWD"

# ---- --check-config ------------------------------------------------------------
S="$TMP/secrets"
mkdir -m 700 "$S"
echo "tk-SECRET-good-71c3" >"$S/good.token"
echo "tk-SECRET-open-9d2e" >"$S/open.token"
chmod 600 "$S/good.token"
chmod 644 "$S/open.token"

conf_daemon "$TMP/good.conf"
cat >>"$TMP/good.conf" <<C
[account "masto"]
connector = mastodon
url = $FAKE_URL
token_file = $S/good.token
poll_interval = 1s

[account "sky"]
connector = bluesky
handle = acme.bsky.social
password_file = $S/good.token

[account "hook"]
connector = exec
command = true
C
expect_status 0 "-t on a good configuration" sh -c \
	'"$0" -t -c "$1" >"$2" 2>"$3"' "$RWD" "$TMP/good.conf" "$TMP/t.out" "$TMP/t.err"
check "-t says the configuration is OK" contains "$TMP/t.out" "configuration OK"
check "-t on a good configuration prints no error" test ! -s "$TMP/t.err"
expect_status 0 "--check-config on a good configuration" sh -c \
	'"$0" --check-config --config "$1" 2>&1 | grep -q "configuration OK"' "$RWD" "$TMP/good.conf"
cat "$TMP/t.out" "$TMP/t.err" >>"$TMP/all-check.out"

# The account lines of each broken configuration, after its header.
bad_body() {
	case $1 in
	http) printf '%s\n' "connector = mastodon" "url = http://example.com" \
		"token_file = $S/good.token" ;;
	mode) printf '%s\n' "connector = mastodon" "url = $FAKE_URL" \
		"token_file = $S/open.token" ;;
	missing) printf '%s\n' "connector = mastodon" "url = $FAKE_URL" \
		"token_file = $S/missing.token" ;;
	interval) printf '%s\n' "connector = mastodon" "url = $FAKE_URL" \
		"token_file = $S/good.token" "poll_interval = 500ms" ;;
	unknown) printf '%s\n' "connector = twitter" "url = $FAKE_URL" ;;
	noconn) printf '%s\n' "url = $FAKE_URL" "token_file = $S/good.token" ;;
	nourl) printf '%s\n' "connector = mastodon" "token_file = $S/good.token" ;;
	nocmd) printf '%s\n' "connector = exec" ;;
	nohandle) printf '%s\n' "connector = bluesky" "password_file = $S/good.token" ;;
	esac
}
# The line of the error, counted from the account's header, and its why.
bad_expect() {
	case $1 in
	http) echo "2 http:// is accepted only for loopback addresses" ;;
	mode) echo "3 open.token: the secret file may be read or written by its group or others (mode 0644)" ;;
	missing) echo "3 missing.token: No such file or directory" ;;
	interval) echo "4 poll_interval = 500ms is too short" ;;
	unknown) echo '1 unknown connector "twitter"' ;;
	noconn) echo "0 connector = is required" ;;
	nourl) echo "0 connector mastodon needs url =" ;;
	nocmd) echo "0 needs command =" ;;
	nohandle) echo "0 needs handle =" ;;
	esac
}
BAD_KINDS="http mode missing interval unknown noconn nourl nocmd nohandle"

# has_error ERRFILE CONFFILE LINE WHY: one line of ERRFILE is CONF:LINE: ...WHY...
has_error() {
	grep -F -- "$2:$3: " "$1" | grep -qF -- "$4"
}

# run_check CONF NAME: replywatchd -t, its output kept as $TMP/NAME.out/.err
run_check() {
	expect_status 1 "-t refuses $2" sh -c '"$0" -t -c "$1" >"$2" 2>"$3"' \
		"$RWD" "$1" "$TMP/$2.out" "$TMP/$2.err"
	check "$2: nothing on stdout" test ! -s "$TMP/$2.out"
	cat "$TMP/$2.out" "$TMP/$2.err" >>"$TMP/all-check.out"
}

# add_bad CONF KIND: append the broken account; prints the line its error
# should name
add_bad() {
	_h=$(($(wc -l <"$1") + 1))
	{ echo "[account \"acct-$2\"]"; bad_body "$2"; echo; } >>"$1"
	echo $((_h + $(bad_expect "$2" | cut -d' ' -f1)))
}

# all.conf has every error; acct.conf every one but the bad poll_interval,
# which is found while the file is read, before the accounts are checked
conf_daemon "$TMP/all.conf"
conf_daemon "$TMP/acct.conf"
for k in $BAD_KINDS; do
	f="$TMP/bad-$k.conf"
	conf_daemon "$f"
	line=$(add_bad "$f" "$k")
	run_check "$f" "bad-$k"
	why=$(bad_expect "$k" | cut -d' ' -f2-)
	check "-t error for $k: file:line: why" has_error "$TMP/bad-$k.err" "$f" "$line" "$why"
	eval "all_line_$k=$(add_bad "$TMP/all.conf" "$k")"
	[ "$k" = interval ] || eval "acct_line_$k=$(add_bad "$TMP/acct.conf" "$k")"
done
run_check "$TMP/acct.conf" acct
run_check "$TMP/all.conf" all
for k in $BAD_KINDS; do
	why=$(bad_expect "$k" | cut -d' ' -f2-)
	if [ "$k" != interval ]; then
		eval "line=\$acct_line_$k"
		check "-t lists every account error at once: $k ($why)" \
			has_error "$TMP/acct.err" "$TMP/acct.conf" "$line" "$why"
	fi
	eval "line=\$all_line_$k"
	check "-t lists every error at once: $k ($why)" \
		has_error "$TMP/all.err" "$TMP/all.conf" "$line" "$why"
done
check "-t never prints a secret" sh -c '! grep -q "tk-SECRET" "$0"' "$TMP/all-check.out"

# ---- backfill: what was there before the first start ---------------------------
# times count from $base: bpost BRAND FROM SECONDS [MORE_JSON] (see fx)
base=$(fx epoch)
bpost() {
	fx base "$base" + post "$@"
}
# shellcheck disable=SC2046
set -- $(fx base "$base" + post brand1 erin -2400 \
	+ post brand1 brand -1800 '"text": "Spring sale starts today"' \
	+ post brand1 brand -7200 '"text": "Old news, before the backfill"' \
	+ post brand2 finn -2700)
pre1=$1 pre2=$2 old=$3 pre3=$4

conf_daemon "$CONF" "log_level = info"
account_conf "$CONF" b1 brand1 "poll_interval = 1s" "backfill = 1h"
account_conf "$CONF" b2 brand2 "poll_interval = 1s" "backfill = 1h"
LOG1="$TMP/rwd-1.log"
rwd_start "$LOG1" -- -v

# Beside it, a daemon of its own for brand3, which has nothing yet, with
# backfill = 0: nothing before its first poll, everything after it.
CONF0="$TMP/rw0.conf"
cat >"$CONF0" <<C
[daemon]
database = $TMP/rw0.db

[account "b3"]
connector = mastodon
url = $FAKE_URL
token_file = $TOKENS/brand3.token
poll_interval = 1s
backfill = 0
C
LOG0="$TMP/rwd-0.log"
spawn rwd0 "$LOG0" "$RWD" -c "$CONF0"
b3_polled() {
	"$RW" -c "$CONF0" status --format json | grep -q '"stream":"mentions","state":"ok"'
}

polled_ok() {
	stream_is "$1" "$2" 'd["state"] == "ok"'
}
check "backfill: 3 messages within the hour" wait_until 15 have_msgs 3
for s in "b1 mentions" "b1 statuses" "b2 mentions" "b2 statuses"; do
	# shellcheck disable=SC2086
	check "first poll of $s" wait_until 15 polled_ok $s
done
for id in "$pre1" "$pre2" "$pre3"; do
	check "backfill fetched $id" have_msg "$id"
done
if have_msg "$old"; then fail "backfill fetched a status older than 1h"; else pass; fi
messages_to "$TMP/m0.jsonl"
check "the backfilled messages" python3 - "$TMP/m0.jsonl" "$pre1" "$pre2" "$pre3" "$old" <<'PY'
import json, sys
m = {r["id"]: r for r in map(json.loads, open(sys.argv[1]))}
pre1, pre2, pre3, old = sys.argv[2:]
assert old not in m, m[old]
assert (m[pre1]["account"], m[pre1]["direction"], m[pre1]["kind"]) == ("b1", "inbound", "broadcast"), m[pre1]
assert (m[pre2]["account"], m[pre2]["direction"]) == ("b1", "outbound"), m[pre2]
assert (m[pre3]["account"], m[pre3]["author"]) == ("b2", "finn@social.example"), m[pre3]
PY

check "backfill = 0: the first poll of an empty account" wait_until 15 b3_polled
t_b3=$(fx epoch)
b3m=$(post brand3 kim -1 '"text": "first!"')
b3r=$(post brand3 brand 0 "\"in_reply_to\": \"$b3m\"")

# ---- normal flow: mentions, a direct message, the brand's replies ------------
# brand1 follows nobody and, like Mastodon 4.3 may, filters private mentions
# of strangers: the notifications list shows them only with include_filtered
fx POST /_fixture/policy '{"brand": "brand1", "filter_private_mentions": true}' >/dev/null
# shellcheck disable=SC2046
set -- $(fx base "$base" + post brand1 dana -600 '"text": "my parcel is late"' \
	+ post brand1 gus -540 '"visibility": "direct", "text": "order 123?"' \
	+ post brand2 hana -600 '"text": "is the shop open?"')
m1=$1 d1=$2 m2=$3
check "the new mentions and the direct message arrive" wait_until 15 have_msgs 6

# notified TOKEN STATUS_ID [QUERY]: the notifications list of the token
# (with the query) shows the status.
notified() {
	python3 - "$FAKE_URL" "$@" <<'PY'
import json, sys, urllib.request
url, token, sid = sys.argv[1:4]
query = sys.argv[4] if len(sys.argv) > 4 else ""
req = urllib.request.Request(url + "/api/v1/notifications?limit=80" + query,
                             headers={"Authorization": "Bearer " + token})
with urllib.request.urlopen(req, timeout=20) as r:
    sys.exit(0 if any(n["status"]["id"] == sid for n in json.load(r)) else 1)
PY
}
if notified token-brand1 "$d1"; then
	fail "the fake's policy does not filter the stranger's direct message"
else
	pass
fi
check "the filtered direct message is there with include_filtered" \
	notified token-brand1 "$d1" "&include_filtered=true"
check "the filtered direct message is stored" have_msg "$d1"
# shellcheck disable=SC2046
set -- $(fx base "$base" + post brand1 brand -420 "\"in_reply_to\": \"$m1\"" \
	+ post brand1 brand -480 "\"in_reply_to\": \"$d1\"" \
	+ post brand2 brand -300 "\"in_reply_to\": \"$m2\"")
r1=$1 rd=$2 r2=$3
check "the brand's replies arrive" wait_until 15 have_msgs 9

stats_answered() {
	"$RW" -c "$CONF" stats --since 7d --by kind,account --format json >"$TMP/stats.json" &&
		python3 - "$TMP/stats.json" <<'PY'
import json, sys
g = {(x["kind"], x["account"]): x for x in json.load(open(sys.argv[1]))["groups"]}
sys.exit(0 if all(k in g and g[k]["answered"] >= 1 for k in
                  [("broadcast", "b1"), ("direct", "b1"), ("broadcast", "b2")]) else 1)
PY
}
check "stats show the waits answered" wait_until 15 stats_answered
check "reply times are the created_at differences" python3 - "$TMP/stats.json" <<'PY'
import json, sys
g = {(x["kind"], x["account"]): x for x in json.load(open(sys.argv[1]))["groups"]}
want = {("broadcast", "b1"): 180, ("direct", "b1"): 60, ("broadcast", "b2"): 300}
for key, secs in want.items():
    r = g[key]["reply_seconds"]
    assert (g[key]["answered"], r["count"], r["p50"], r["max"]) == (1, 1, secs, secs), (key, g[key])
# pre1 (b1) and pre3 (b2) are still waiting
assert (g[("broadcast", "b1")]["waits"], g[("broadcast", "b1")]["unanswered"]) == (2, 1), g
assert (g[("broadcast", "b2")]["waits"], g[("broadcast", "b2")]["unanswered"]) == (2, 1), g
assert g[("direct", "b1")]["waits"] == 1, g
PY

# the customer answers the brand's reply: the same thread
t1=$(bpost brand1 dana -360 "\"in_reply_to\": \"$r1\", \"text\": \"still nothing\"")
check "the customer's follow-up arrives" wait_until 15 have_msg "$t1"
messages_to "$TMP/m1.jsonl"
check "messages: kinds, directions and threads" python3 - "$TMP/m1.jsonl" \
	"$m1" "$d1" "$m2" "$r1" "$rd" "$r2" "$t1" <<'PY'
import json, sys
m = {r["id"]: r for r in map(json.loads, open(sys.argv[1]))}
m1, d1, m2, r1, rd, r2, t1 = sys.argv[2:]
def is_(i, account, kind, direction, conv):
    x = m[i]
    assert (x["account"], x["kind"], x["direction"], x["conversation"]) == \
        (account, kind, direction, conv), x
is_(m1, "b1", "broadcast", "inbound", m1)
is_(d1, "b1", "direct", "inbound", d1)
is_(m2, "b2", "broadcast", "inbound", m2)
is_(r1, "b1", "broadcast", "outbound", m1)
is_(rd, "b1", "direct", "outbound", d1)
is_(r2, "b2", "broadcast", "outbound", m2)
is_(t1, "b1", "broadcast", "inbound", m1)
assert m[r1]["in_reply_to"] == m1 and m[t1]["in_reply_to"] == r1, (m[r1], m[t1])
assert m[d1]["author"] == "gus@social.example" and m[r1]["author"] == "brand1", m
assert len(m) == 10, len(m)
PY

# ---- replywatch status ----------------------------------------------------------
status_settled() {
	"$RW" -c "$CONF" status --format json >"$TMP/status.json" &&
		python3 - "$TMP/status.json" <<'PY'
import json, sys
rows = {(r["account"], r["stream"]): r for r in map(json.loads, open(sys.argv[1]))}
want = {("b1", "mentions"): 4, ("b1", "statuses"): 3, ("b2", "mentions"): 2, ("b2", "statuses"): 1}
sys.exit(0 if set(rows) == set(want) and all(
    rows[k]["fetched"] == n and rows[k]["cursor"] for k, n in want.items()) else 1)
PY
}
check "status: four streams, their cursors and counts" wait_until 15 status_settled
check "status --format json of every stream" python3 - "$TMP/status.json" <<'PY'
import json, sys
for r in map(json.loads, open(sys.argv[1])):
    assert (r["platform"], r["connector"]) == ("mastodon", "mastodon"), r
    assert r["state"] == "ok" and r["failures"] == 0 and r["last_error"] is None, r
    assert r["last_poll"] and r["last_ok"] and r["next_poll"] and r["backoff_until"] is None, r
    assert isinstance(r["cursor"], str) and r["cursor"].isdigit(), r
    rl = r["rate_limit"]
    assert rl["limit"] == 300 and 0 <= rl["remaining"] < 300, r
    assert isinstance(rl["reset"], str) and rl["reset"].endswith("Z"), r
PY
"$RW" -c "$CONF" status >"$TMP/status.txt"
"$RW" -c "$CONF" status --format csv >"$TMP/status.csv"
check "status table" sh -c 'grep -q "^b1 .*mentions .*ok" "$0" && grep -q "^b2 .*statuses .*ok" "$0"' \
	"$TMP/status.txt"
check "status csv" test "$(wc -l <"$TMP/status.csv")" -eq 5

# ---- backfill = 0 (the daemon beside): what came after the first poll -------
# done when both are stored, or when both streams have polled twice since
b3_done() {
	"$RW" -c "$CONF0" messages --since 7d --format json >"$TMP/m-b3.jsonl"
	[ "$(wc -l <"$TMP/m-b3.jsonl")" -eq 2 ] && return 0
	requests_to "$TMP/req-b3.json"
	python3 - "$TMP/req-b3.json" "$t_b3" <<'PY'
import json, sys
reqs = [x for x in json.load(open(sys.argv[1]))
        if x["token"] == "token-brand3" and x["time"] > float(sys.argv[2]) + 0.5
        and x["status"] == 200]
n = sum(x["path"].endswith("/notifications") for x in reqs)
m = sum(x["path"].endswith("/statuses") for x in reqs)
sys.exit(0 if n >= 2 and m >= 2 else 1)
PY
}
check "backfill = 0: the daemon polls" wait_until 15 b3_done
check "backfill = 0: a mention after the first poll is stored" grep -q "\"id\":\"$b3m\"" "$TMP/m-b3.jsonl"
check "backfill = 0: a reply after the first poll is stored" grep -q "\"id\":\"$b3r\"" "$TMP/m-b3.jsonl"

# ---- SIGTERM while a request hangs (the daemon beside) -----------------------
# The fake holds brand3's next notifications request for 20 s, well within
# http_timeout (30 s): the daemon must not wait for the answer to stop.
b3_hanging() {
	fx requests token-brand3 /api/v1/notifications "$1" | grep -q " None "
}
t_hang=$(fx epoch + POST /_fixture/faults '{"faults": [{"delay": 20}],
	"token": "token-brand3", "path": "/api/v1/notifications"}' | sed 2d)
check "brand3's notifications request hangs" wait_until 5 b3_hanging "$t_hang"
stop_proc rwd0 TERM 3
check "SIGTERM with a request in flight: exit 0 within 3 s (got '$STOP_RC')" \
	test "$STOP_RC" = 0
check "the request was still in flight" b3_hanging "$t_hang"
if command -v sqlite3 >/dev/null; then
	check "the database beside is intact" sh -c \
		'[ "$(sqlite3 "$0" "PRAGMA integrity_check")" = ok ]' "$TMP/rw0.db"
fi
check "replywatch stats works on it" sh -c \
	'"$0" -c "$1" stats --since 7d >/dev/null' "$RW" "$CONF0"
check "what the daemon beside stored is still there" sh -c \
	'[ "$("$0" -c "$1" messages --since 7d --format json | wc -l)" -eq 2 ]' \
	"$RW" "$CONF0"
fx DELETE /_fixture/faults >/dev/null

# ---- restart: SIGTERM, statuses meanwhile, going on from the cursors -----------
c1m=$(stream_field b1 mentions cursor)
c1s=$(stream_field b1 statuses cursor)
c2m=$(stream_field b2 mentions cursor)
c2s=$(stream_field b2 statuses cursor)
stop_proc rwd TERM 10
check "SIGTERM: exit 0 within 10 s (got '$STOP_RC')" test "$STOP_RC" = 0
check "SIGTERM is logged" contains "$LOG1" "SIGTERM: stopping"
check "the last line says stopped" sh -c 'tail -n 1 "$0" | grep -q "stopped$"' "$LOG1"

w1=$(bpost brand1 ivy -240 '"text": "hello while you were away"')
# shellcheck disable=SC2046
set -- $(fx base "$base" + post brand1 brand -180 "\"in_reply_to\": \"$w1\"" \
	+ post brand2 jo -120 + DELETE /_fixture/requests)
w2=$1 w3=$2
LOG2="$TMP/rwd-2.log"
rwd_start "$LOG2" JOURNAL_STREAM=9:4242 -- -v
check "after the restart, what came meanwhile arrives" wait_until 15 have_msgs 13

# two more polls of each stream, so that a duplicate would have shown up
polls_after_restart() {
	requests_to "$TMP/req.json"
	python3 - "$TMP/req.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
n = {}
for x in r:
    if x["status"] == 200 and x["path"].endswith(("/statuses", "/notifications")):
        n[(x["token"], x["path"])] = n.get((x["token"], x["path"]), 0) + 1
sys.exit(0 if len(n) == 4 and min(n.values()) >= 3 else 1)
PY
}
check "polling goes on after the restart" wait_until 15 polls_after_restart
messages_to "$TMP/m2.jsonl"
check "nothing is stored twice" python3 - "$TMP/m2.jsonl" "$w1" "$w2" "$w3" <<'PY'
import json, sys
rows = list(map(json.loads, open(sys.argv[1])))
ids = [r["id"] for r in rows]
assert len(ids) == 13 and len(set(ids)) == 13, ids
m = {r["id"]: r for r in rows}
for i in sys.argv[2:]:
    assert i in m, i
assert m[sys.argv[3]]["conversation"] == sys.argv[2], m[sys.argv[3]]
PY
requests_to "$TMP/req.json"
check "each stream goes on from its stored cursor" python3 - "$TMP/req.json" \
	"$c1m" "$c1s" "$c2m" "$c2s" <<'PY'
import json, sys
from urllib.parse import parse_qs
reqs = json.load(open(sys.argv[1]))
c1m, c1s, c2m, c2s = sys.argv[2:]
def first(token, notifications):
    for x in reqs:
        if x["token"] != token:
            continue
        if x["path"].endswith("/notifications" if notifications else "/statuses"):
            return parse_qs(x["query"])
    raise AssertionError("no request of %s" % token)
for token, notif, cursor in [("token-brand1", True, c1m), ("token-brand1", False, c1s),
                             ("token-brand2", True, c2m), ("token-brand2", False, c2s)]:
    q = first(token, notif)
    assert q.get("min_id") == [cursor], (token, notif, cursor, q)
    assert "max_id" not in q, q
PY
"$RW" -c "$CONF" stats --since 7d --by kind,account --format json >"$TMP/stats2.json"
check "the reply made while the daemon was down counts" python3 - "$TMP/stats2.json" <<'PY'
import json, sys
g = {(x["kind"], x["account"]): x for x in json.load(open(sys.argv[1]))["groups"]}
r = g[("broadcast", "b1")]["reply_seconds"]
assert (r["count"], r["max"]) == (2, 180) and r["mean"] == 120, r
PY
check "fetched counts go on" stream_is b1 mentions 'd["fetched"] == 5 and d["state"] == "ok"'

# ---- a burst: more mentions than one page holds -------------------------------
# 90 new mentions of each brand at once (about 30% direct, which brand1's
# policy filters), more than a page of 80: one poll follows the Link header
# to the second page, and every message is stored once.
n1=$(msg_count b1)
n2=$(msg_count b2)
c1m=$(stream_field b1 mentions cursor)
t_burst=$(fx epoch + POST /_fixture/bulk '{"per_brand": 90, "direct_share": 0.3}' | sed 2d)
check "the burst arrives" wait_until 20 have_msgs $((n1 + n2 + 180))
# two more polls of brand1's mentions, which would show a duplicate
t_more=$(fx epoch)
more_polls() {
	[ "$(fx requests token-brand1 /api/v1/notifications "$t_more" | grep -c " 200 ")" -ge 2 ]
}
check "polling goes on after the burst" wait_until 15 more_polls
check "the burst: every message stored once" have_msgs $((n1 + 90)) b1
check "the burst: brand2's too" have_msgs $((n2 + 90)) b2
messages_to "$TMP/m3.jsonl"
check "the burst: no message twice" python3 - "$TMP/m3.jsonl" <<'PY'
import json, sys
ids = [json.loads(l)["id"] for l in open(sys.argv[1])]
assert len(ids) == len(set(ids)), len(ids) - len(set(ids))
PY
fx GET /_fixture/state >"$TMP/state.json"
check "the burst had filtered direct messages" python3 - "$TMP/state.json" <<'PY'
import json, sys
assert json.load(open(sys.argv[1]))["brands"]["brand1"]["filtered"] >= 2
PY
requests_to "$TMP/req3.json"
check "the burst: brand1's poll went from its cursor across the Link" \
	python3 - "$TMP/req3.json" "$t_burst" "$c1m" <<'PY'
import json, sys
from urllib.parse import parse_qs
reqs, since, cursor = json.load(open(sys.argv[1])), float(sys.argv[2]), sys.argv[3]
notif = [x for x in reqs if x["token"] == "token-brand1" and x["time"] >= since
         and x["path"] == "/api/v1/notifications" and x["status"] == 200]
# the first page: the connector's URL, from the cursor (the last such
# request: an earlier one may have come just before the burst)
i = max(i for i, x in enumerate(notif) if parse_qs(x["query"]).get("min_id") == [cursor])
first, second = notif[i], notif[i + 1]
q1, q2 = parse_qs(first["query"]), parse_qs(second["query"])
assert q1.get("include_filtered") == ["true"] and q1.get("limit") == ["80"], first
# the second page: the fake's Link rel="prev" (its parameters in its order),
# newer than the first page, still with include_filtered
assert second["query"].startswith("min_id="), second
assert q2["min_id"] != [cursor] and q2.get("include_filtered") == ["true"], second
assert q2.get("types[]") == ["mention"] and q2.get("limit") == ["80"], second
PY

# ---- SIGINT, and the journal's priority prefixes ---------------------------------
stop_proc rwd INT 10
check "SIGINT: exit 0 within 10 s (got '$STOP_RC')" test "$STOP_RC" = 0
check "SIGINT is logged" contains "$LOG2" "<5>SIGINT: stopping"
check "the journal gets <5>stopped" sh -c 'tail -n 1 "$0" | grep -q "^<5>stopped$"' "$LOG2"
check "debug lines are <7>" grep -q "^<7>debug: " "$LOG2"
check "with JOURNAL_STREAM every line starts with <N>" sh -c '! grep -v "^<[0-7]>" "$0"' "$LOG2"
check "without JOURNAL_STREAM lines start with the program's name" \
	sh -c '! grep -v "^replywatchd: " "$0"' "$LOG1"

# ---- no secret in any output -------------------------------------------------
"$RW" -c "$CONF" status --format json >"$TMP/status-end.json"
"$RW" -c "$CONF" status >>"$TMP/status-end.json"
"$RW" -c "$CONF" status --format csv >>"$TMP/status-end.json"
for f in "$LOG0" "$LOG1" "$LOG2" "$TMP/status-end.json" "$TMP/status.txt" "$TMP/m2.jsonl"; do
	check "no token in $(basename "$f")" sh -c '! grep -q "token-brand" "$0"' "$f"
done
check "no sanitizer report" sanitizer_clean "$LOG1"
check "no sanitizer report (backfill = 0)" sanitizer_clean "$LOG0"
check "no sanitizer report after the restart" sanitizer_clean "$LOG2"

finish

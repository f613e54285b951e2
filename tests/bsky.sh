#!/bin/sh
# SPDX-License-Identifier: ISC
# replywatchd's Bluesky connector end to end against a real local Bluesky
# network (@atproto/dev-env: PLC, PDS, AppView; PostgreSQL and Redis),
# with direct messages proxied by the real PDS to a small chat service.
# Two accounts: a customer mentions the brand, the brand replies; the
# stored reply time equals the difference of the posts' createdAt. Direct
# messages before the daemon starts (backfill) and while it runs (the
# chat log) are stored with their reply time too.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
RWD="$top_builddir/replywatchd"
command -v python3 >/dev/null || skip "python3 is needed"
. "$top_srcdir/tests/bsky/harness.sh"

daemon=""
stop_all() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
	bsky_teardown
	rm -rf "$TMP"
}
trap stop_all EXIT
rc=0
bsky_setup "$TMP/bsky" || rc=$?
[ "$rc" -eq 77 ] && skip "$BSKY_SKIP_REASON"
[ "$rc" -eq 0 ] || { echo "FAIL: the Bluesky network did not start"; exit 1; }

# ---- two accounts; the brand logs in with an app password -------------------
brand=acmebrand.test customer=dana.test
brand_did=$(bsky_driver create-account "$brand" brand-pass)
customer_did=$(bsky_driver create-account "$customer" dana-pass)
bsky_driver app-password "$brand" brand-pass replywatch >"$TMP/app.password"
chmod 600 "$TMP/app.password"

# json FILE KEY: a top-level string of a JSON object
json() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# ---- before the daemon starts: a mention, the brand's reply, a DM pair --------
bsky_driver post "$customer" dana-pass "@$brand my order never arrived" \
	--mention "$brand" >"$TMP/mention1.json"
m1=$(json "$TMP/mention1.json" uri)
check "the mention reaches the brand's notifications" \
	bsky_driver wait-notification "$brand" brand-pass "$m1" 30 >/dev/null
bsky_driver reply "$brand" brand-pass "$m1" "sorry! checking now" >"$TMP/reply1.json"
bsky_driver chat-send "$customer" dana-pass "$brand_did" "hello, I need help" >"$TMP/dm1.json"
bsky_driver chat-send "$brand" brand-pass "$customer_did" "hi Dana, how can we help?" >"$TMP/dm2.json"

cat >"$TMP/rw.conf" <<CONF
[daemon]
database = $TMP/rw.db
log_level = debug

[account "acme-bsky"]
connector = bluesky
url = $BSKY_PDS_URL
handle = $brand
password_file = $TMP/app.password
chat_proxy = $BSKY_CHAT_PROXY
poll_interval = 1s
backfill = 1h
CONF
check "the configuration is accepted" "$RWD" -t -c "$TMP/rw.conf"
"$RWD" -c "$TMP/rw.conf" 2>"$TMP/daemon.log" &
daemon=$!

# count ID...: how many of these message ids are stored
stored() {
	"$RW" -c "$TMP/rw.conf" messages --since 2h --format json >"$TMP/msgs.json" 2>/dev/null || return 1
	python3 - "$TMP/msgs.json" "$@" <<'PY'
import json, sys
ids = {json.loads(l)["id"] for l in open(sys.argv[1]) if l.strip()}
sys.exit(0 if all(i in ids for i in sys.argv[2:]) else 1)
PY
}
r1=$(json "$TMP/reply1.json" uri)
dm1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/dm1.json")
dm2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/dm2.json")
check "backfill stores the mention, the reply and both direct messages" \
	wait_until 60 stored "$m1" "$r1" "$dm1" "$dm2"

# ---- while it runs: a second mention and reply, a second DM pair --------------
bsky_driver post "$customer" dana-pass "@$brand also, the invoice is wrong" \
	--mention "$brand" >"$TMP/mention2.json"
m2=$(json "$TMP/mention2.json" uri)
bsky_driver wait-notification "$brand" brand-pass "$m2" 30 >/dev/null
bsky_driver reply "$brand" brand-pass "$m2" "we will send a new one" >"$TMP/reply2.json"
r2=$(json "$TMP/reply2.json" uri)
bsky_driver chat-send "$customer" dana-pass "$brand_did" "are you there?" >"$TMP/dm3.json"
bsky_driver chat-send "$brand" brand-pass "$customer_did" "yes, sorry for the wait" >"$TMP/dm4.json"
dm3=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/dm3.json")
dm4=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/dm4.json")
check "polling stores new mentions, replies and direct messages" \
	wait_until 60 stored "$m2" "$r2" "$dm3" "$dm4"

# ---- the figures ------------------------------------------------------------------
"$RW" -c "$TMP/rw.conf" messages --since 2h --format json >"$TMP/msgs.json"
check "each message is stored once, mapped as on the platform" python3 - \
	"$TMP/msgs.json" "$brand" "$m1" "$r1" "$m2" "$r2" "$dm1" "$dm2" "$dm3" "$dm4" <<'PY'
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
brand, m1, r1, m2, r2, dm1, dm2, dm3, dm4 = sys.argv[2:]
ids = [m["id"] for m in msgs]
assert len(ids) == len(set(ids)), "stored twice: %r" % ids
by = {m["id"]: m for m in msgs}
for mid, kind, direction in ((m1, "broadcast", "inbound"), (r1, "broadcast", "outbound"),
                             (m2, "broadcast", "inbound"), (r2, "broadcast", "outbound"),
                             (dm1, "direct", "inbound"), (dm2, "direct", "outbound"),
                             (dm3, "direct", "inbound"), (dm4, "direct", "outbound")):
    m = by[mid]
    assert (m["kind"], m["direction"], m["platform"], m["account"]) == \
        (kind, direction, "bluesky", "acme-bsky"), m
assert by[r1]["in_reply_to"] == m1 and by[r1]["conversation"] == m1, by[r1]
assert by[m1]["conversation"] == m1 and by[m1]["author"] == "dana.test", by[m1]
assert by[dm1]["conversation"] == by[dm4]["conversation"], (by[dm1], by[dm4])
PY

# reply times: the differences of the platform's own timestamps
python3 - "$TMP" >"$TMP/expected" <<'PY'
import json, sys
from datetime import datetime
def t(name, key):
    v = json.load(open("%s/%s.json" % (sys.argv[1], name)))[key]
    return datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
b = sorted([t("reply1", "createdAt") - t("mention1", "createdAt"),
            t("reply2", "createdAt") - t("mention2", "createdAt")])
d = sorted([t("dm2", "sentAt") - t("dm1", "sentAt"), t("dm4", "sentAt") - t("dm3", "sentAt")])
print(json.dumps({"broadcast": b, "direct": d}))
PY
check "stored reply times equal the differences of the posts' timestamps" sh -c '
	"$0" -c "$1/rw.conf" stats --since 2h --by kind --format json >"$1/stats.json" &&
	python3 - "$1/stats.json" "$1/expected" <<'"'"'PY'"'"'
import json, sys
groups = {g["kind"]: g for g in json.load(open(sys.argv[1]))["groups"]}
want = json.load(open(sys.argv[2]))
for kind in ("broadcast", "direct"):
    g = groups[kind]
    assert (g["waits"], g["answered"], g["unanswered"]) == (2, 2, 0), g
    got = sorted([g["reply_seconds"]["p50"], g["reply_seconds"]["max"]])
    for a, b in zip(got, want[kind]):
        assert abs(a - b) < 0.002, (kind, got, want[kind])
PY' "$RW" "$TMP"

"$RW" -c "$TMP/rw.conf" status --format json >"$TMP/status.json"
check "status: every stream ok with a cursor" python3 - "$TMP/status.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert sorted(r["stream"] for r in rows) == ["chat", "notifications", "posts"], rows
for r in rows:
    assert r["state"] == "ok" and r["cursor"] and r["last_error"] is None, r
PY
check "the app password never appears in the log or the status" sh -c \
	'! grep -qF -- "$(cat "$0")" "$1" "$2"' "$TMP/app.password" "$TMP/daemon.log" "$TMP/status.json"

kill -TERM "$daemon"
st=0
wait "$daemon" || st=$?
daemon=""
check "SIGTERM stops the daemon with status 0" test "$st" -eq 0
if [ "$FAILS" -gt 0 ]; then
	tail -n 40 "$TMP/daemon.log"
fi
finish

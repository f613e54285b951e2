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
# kind: the counts, and the reply times (sorted) as hand-computed.
waits_are() {
	"$RW" -c "$CONF" stats --since 7d --by kind --format json >"$TMP/stats.json" || return 1
	python3 - "$TMP/stats.json" "$@" <<'PY'
import json, sys
kind, answered, unanswered = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
want = sorted(int(x) for x in sys.argv[5:])
g = {x["kind"]: x for x in json.load(open(sys.argv[1]))["groups"]}
x = g.get(kind)
if x is None:
    sys.exit(1)
r = x["reply_seconds"]
ok = (x["answered"], x["unanswered"], r["count"]) == (answered, unanswered, len(want))
if ok and want:
    ok = (r["max"], round(r["mean"])) == (max(want), round(sum(want) / len(want)))
if not ok:
    print("stats of %s: %s" % (kind, x), file=sys.stderr)
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

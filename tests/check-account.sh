#!/bin/sh
# SPDX-License-Identifier: ISC
# replywatch check-account against the fakes of every platform: one
# request per stream, storing nothing; what works, with the rate-limit
# state; what the platform refuses, in its own words. For X, no refresh
# token is ever spent and no file is written, neither in the current
# directory nor in the daemon's state directory.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/daemon-lib.sh"
command -v python3 >/dev/null || skip "python3 is needed for the fixture servers"
. "$top_srcdir/tests/graph-lib.sh"

CONF="$TMP/rw.conf"
DB_DIR="$TMP/db"
CWD="$TMP/cwd"	# where check-account runs: it must stay empty
mkdir -p "$DB_DIR" "$CWD"
printf 'not-a-token\n' >"$TMP/bad.token"
chmod 600 "$TMP/bad.token"

# ca NAME OUT: check-account in $CWD, its output in OUT; its exit status.
ca() {
	(cd "$CWD" && "$RW" -c "$CONF" check-account "$1" >"$2" 2>"$2.err")
}

# has OUT REGEX: the output has a line matching REGEX (shown if not).
has() {
	grep -q -- "$2" "$1" && return 0
	echo "no line matching \"$2\" in:"
	cat "$1"
	return 1
}

# one_each URL PATH...: the fake's request log (GET URL) holds exactly one
# request to each PATH and no other; then it is emptied.
one_each() {
	python3 - "$@" <<'PY'
import collections, json, sys, urllib.request
url, want = sys.argv[1], sys.argv[2:]
with urllib.request.urlopen(url, timeout=20) as r:
    got = collections.Counter(x["path"] for x in json.loads(r.read().decode()))
urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=20).read()
if got != collections.Counter(want):
    print("requests: %s, wanted one each of %s" % (dict(got), want))
    sys.exit(1)
PY
}

# started NAME PORTFILE: the fake of that name is listening.
started() {
	wait_until 20 test -s "$2" && return 0
	cat "$TMP/$1.log"
	echo "FAIL: the fake $1 did not start"
	exit 1
}

# ---- the fakes and the configuration -----------------------------------------
spawn mastodon "$TMP/mastodon.log" python3 "$top_srcdir/tests/fakes/mastodon.py" \
	--quiet --accounts 1 --port-file "$TMP/m.port" --token-file-dir "$TMP/m"
spawn x "$TMP/x.log" python3 "$top_srcdir/tests/fakes/x.py" --quiet \
	--port-file "$TMP/x.port" --token-dir "$TMP/xt"
spawn linkedin "$TMP/linkedin.log" python3 "$top_srcdir/tests/fakes/linkedin.py" \
	--quiet --port-file "$TMP/li.port" --token-file-dir "$TMP/li"
graph_start
started mastodon "$TMP/m.port"
started x "$TMP/x.port"
started linkedin "$TMP/li.port"
M_URL="http://127.0.0.1:$(cat "$TMP/m.port")"
X_URL="http://127.0.0.1:$(cat "$TMP/x.port")"
LI_URL="http://127.0.0.1:$(cat "$TMP/li.port")"
X_ME=1550000000000000001
BASE=$(date +%s)	# for graph-lib.sh's gx

cat >"$CONF" <<CONF
[daemon]
database = $DB_DIR/rw.db
[account "good"]
connector = mastodon
url = $M_URL
token_file = $TMP/m/brand1.token
[account "bad"]
connector = mastodon
url = $M_URL
token_file = $TMP/bad.token
[account "acme-x"]
connector = x
url = $X_URL
token_file = $TMP/xt/access.token
refresh_token_file = $TMP/xt/refresh.token
client_id = replywatch-test-client
[account "fb"]
connector = facebook
url = $GRAPH_URL
token_file = $TMP/tokens/page.token
platform_id = $PAGE_ID
[account "ig"]
connector = instagram
url = $GRAPH_URL
token_file = $TMP/tokens/page.token
platform_id = $IG_ID
page_id = $PAGE_ID
[account "li"]
connector = linkedin
url = $LI_URL
token_file = $TMP/li/linkedin.token
platform_id = 2414183
CONF

# ---- Mastodon ------------------------------------------------------------------
curl -sf -X POST -d '{"brand":"brand1","from":"dana","text":"@brand1 hello"}' \
	"$M_URL/_fixture/status" >/dev/null
curl -sf -X DELETE "$M_URL/_fixture/requests" >/dev/null
expect_status 0 "mastodon: a working account: exit 0" ca good "$TMP/good.txt"
check "mastodon: mentions work" has "$TMP/good.txt" "^  mentions *works"
check "mastodon: statuses work" has "$TMP/good.txt" "^  statuses *works: 0 messages"
check "mastodon: the rate-limit state" has "$TMP/good.txt" "rate limit: [0-9]* of 300 left"
check "mastodon: one request a stream (and the account lookup)" one_each \
	"$M_URL/_fixture/requests" /api/v1/accounts/verify_credentials \
	/api/v1/notifications /api/v1/accounts/109876543210000001/statuses
expect_status 1 "mastodon: a refused token: exit 1" ca bad "$TMP/bad.txt"
check "mastodon: the platform's own words" has "$TMP/bad.txt" \
	"HTTP 401: The access token is invalid"
check "mastodon: the token is not printed" sh -c '! grep -q "not-a-token" "$0"' "$TMP/bad.txt"

# ---- X ---------------------------------------------------------------------------
# more mentions than a page holds by default: only the first is fetched
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	when=$(date -u -d "@$(($(date +%s) - 600 + i))" +%Y-%m-%dT%H:%M:%S.000Z)
	curl -sf -X POST -d "{\"from\": \"cust$i\", \"text\": \"hi $i\", \"created_at\": \"$when\"}" \
		"$X_URL/_fixture/tweet" >/dev/null
done
curl -sf -X DELETE "$X_URL/_fixture/requests" >/dev/null
expect_status 0 "x: a working account: exit 0" ca acme-x "$TMP/x.txt"
check "x: each stream works" sh -c '
	grep -q "^  mentions *works" "$0" && grep -q "^  tweets *works" "$0" &&
	grep -q "^  dm *works" "$0"' "$TMP/x.txt"
check "x: the rate-limit state" has "$TMP/x.txt" "rate limit: [0-9]* of 15 left"
check "x: one request a stream (and the account lookup)" one_each \
	"$X_URL/_fixture/requests" /2/users/me /2/users/$X_ME/mentions \
	/2/users/$X_ME/tweets /2/dm_events
curl -sf -X POST "$X_URL/_fixture/expire" >/dev/null
expect_status 1 "x: an expired token: exit 1" ca acme-x "$TMP/x-exp.txt"
check "x: X's own words" has "$TMP/x-exp.txt" "HTTP 401: Unauthorized"
check "x: the refresh token is left to the daemon" has "$TMP/x-exp.txt" \
	"replywatchd renews it with the refresh token; check-account does not spend a refresh token"
# a new process knows not who the brand is: each stream's request is that
check "x: one request a stream, no token refresh" one_each \
	"$X_URL/_fixture/requests" /2/users/me /2/users/me /2/users/me
check "x: the refresh token was not spent" sh -c \
	'curl -sf "$0/_fixture/state" | python3 -c "import json, sys; sys.exit(json.load(sys.stdin)[\"refreshes\"] != 0)"' "$X_URL"
check "x: no file in the current directory" test -z "$(ls -A "$CWD")"
check "x: no file in the state directory" test -z "$(ls -A "$DB_DIR")"

# the daemon's saved pair (an access token that has expired) is the one
# read, and it is not renewed either
printf '{"access_token": "at-1", "refresh_token": "rt-1", "expires_at_ms": 1000, "seed": "%s"}\n' \
	"$(python3 -c '
h = 14695981039346656037
for c in b"at-1\nrt-1":
    h = ((h ^ c) * 1099511628211) % 2**64
print("%016x" % h)')" \
	>"$DB_DIR/acme-x.x-oauth"
cp "$DB_DIR/acme-x.x-oauth" "$TMP/saved"
expect_status 1 "x: a saved token that has expired: exit 1" ca acme-x "$TMP/x-saved.txt"
check "x: ... says so without a request" sh -c '
	grep -q "^  mentions *not checked" "$0" &&
	grep -q "check-account does not spend a refresh token" "$0"' "$TMP/x-saved.txt"
check "x: ... the saved pair is left as it was" cmp -s "$DB_DIR/acme-x.x-oauth" "$TMP/saved"
check "x: ... and nothing was sent" one_each "$X_URL/_fixture/requests"
rm -f "$DB_DIR/acme-x.x-oauth"

# ---- Facebook and Instagram ------------------------------------------------------------
gx POST usage '{"app": {"call_count": 10, "total_time": 5, "total_cputime": 5}}' >/dev/null
gx DELETE requests >/dev/null
expect_status 0 "facebook: a working account: exit 0" ca fb "$TMP/fb.txt"
check "facebook: each stream works" sh -c '
	grep -q "^  conversations *works" "$0" && grep -q "^  comments *works" "$0" &&
	grep -q "^  tagged *works" "$0"' "$TMP/fb.txt"
check "facebook: the usage as the rate limit" has "$TMP/fb.txt" "rate limit: 90 of 100 left"
check "facebook: one request a stream" one_each "$GRAPH_URL/_fixture/requests" \
	/v21.0/$PAGE_ID/conversations /v21.0/$PAGE_ID/feed /v21.0/$PAGE_ID/tagged
expect_status 0 "instagram: a working account: exit 0" ca ig "$TMP/ig.txt"
check "instagram: each stream works" sh -c '
	grep -q "^  comments *works" "$0" && grep -q "^  tags *works" "$0" &&
	grep -q "^  dm *works" "$0"' "$TMP/ig.txt"
check "instagram: the usage as the rate limit" has "$TMP/ig.txt" "rate limit: 90 of 100 left"
IG_REQS=$(python3 - "$GRAPH_URL/_fixture/requests" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=20) as r:
    print(" ".join(sorted(x["path"] for x in json.loads(r.read().decode()))))
PY
)
# shellcheck disable=SC2086
check "instagram: one request a stream" one_each "$GRAPH_URL/_fixture/requests" $IG_REQS
check "instagram: ... three of them" test "$(echo "$IG_REQS" | wc -w)" -eq 3
expired /v21.0/
expect_status 1 "facebook: an expired token: exit 1" ca fb "$TMP/fb-exp.txt"
check "facebook: Graph's own words" has "$TMP/fb-exp.txt" "$EXPIRED_TEXT"
check "facebook: one request a stream" one_each "$GRAPH_URL/_fixture/requests" \
	/v21.0/$PAGE_ID/conversations /v21.0/$PAGE_ID/feed /v21.0/$PAGE_ID/tagged
expect_status 1 "instagram: an expired token: exit 1" ca ig "$TMP/ig-exp.txt"
check "instagram: Graph's own words" has "$TMP/ig-exp.txt" "$EXPIRED_TEXT"
gx DELETE faults >/dev/null

# ---- LinkedIn --------------------------------------------------------------------
curl -sf -X DELETE "$LI_URL/_fixture/requests" >/dev/null 2>&1 || true
expect_status 0 "linkedin: a working account: exit 0" ca li "$TMP/li.txt"
check "linkedin: each stream works" sh -c '! grep -v "^li \|rate limit" "$0" | grep -qv " works"' "$TMP/li.txt"
LI_REQS=$(python3 - "$LI_URL/_fixture/requests" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=20) as r:
    print(len(json.loads(r.read().decode())))
PY
)
check "linkedin: one request a stream" test "$LI_REQS" -eq "$(grep -c '^  [a-z]' "$TMP/li.txt")"
curl -sf -X POST -d '{"expired": true}' "$LI_URL/_fixture/token" >/dev/null
expect_status 1 "linkedin: an expired token: exit 1" ca li "$TMP/li-exp.txt"
check "linkedin: LinkedIn's own words" has "$TMP/li-exp.txt" "HTTP 401: Invalid access token"

# ---- everywhere ------------------------------------------------------------------
check "nothing was stored" test ! -e "$DB_DIR/rw.db"
check "no file in the current directory" test -z "$(ls -A "$CWD")"
expect_status 1 "an unknown account" "$RW" -c "$CONF" check-account nobody
expect_status 2 "no account named" "$RW" -c "$CONF" check-account
finish

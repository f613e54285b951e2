#!/bin/sh
# SPDX-License-Identifier: ISC
# replywatch check-account: one poll of each stream against the fixture
# server, storing nothing: what works, and what the platform refuses in
# its own words, with the rate-limit state.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
command -v python3 >/dev/null || skip "python3 is needed for the fixture server"

fake=""
cleanup() {
	[ -n "$fake" ] && kill "$fake" 2>/dev/null && wait "$fake" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
python3 "$top_srcdir/tests/fakes/mastodon.py" --quiet --accounts 1 \
	--port-file "$TMP/port" --token-file-dir "$TMP" &
fake=$!
wait_until 20 test -s "$TMP/port" || { echo "FAIL: no fixture server"; exit 1; }
url="http://127.0.0.1:$(cat "$TMP/port")"
printf 'not-a-token\n' >"$TMP/bad.token"
chmod 600 "$TMP/bad.token"
cat >"$TMP/rw.conf" <<CONF
[daemon]
database = $TMP/rw.db
[account "good"]
connector = mastodon
url = $url
token_file = $TMP/brand1.token
[account "bad"]
connector = mastodon
url = $url
token_file = $TMP/bad.token
CONF
curl -sf -X POST -d '{"brand":"brand1","from":"dana","text":"@brand1 hello"}' \
	"$url/_fixture/status" >/dev/null

"$RW" -c "$TMP/rw.conf" check-account good >"$TMP/good.txt" 2>/dev/null
check "a working account: exit 0" test $? -eq 0
check "each stream works, with what it saw" sh -c '
	grep -q "^  mentions *works: 1 message in the last hour (1 inbound, 0 outbound)" "$0" &&
	grep -q "^  statuses *works: 0 messages" "$0"' "$TMP/good.txt"
check "the rate-limit state is shown" grep -q "rate limit: [0-9]* of 300 left" "$TMP/good.txt"
expect_status 1 "a refused token: exit 1" sh -c \
	'"$0" -c "$1" check-account bad >"$2" 2>/dev/null' "$RW" "$TMP/rw.conf" "$TMP/bad.txt"
check "the platform's own words" grep -q "HTTP 401: The access token is invalid" "$TMP/bad.txt"
check "nothing was stored" test ! -e "$TMP/rw.db"
check "the token is not printed" sh -c '! grep -q "not-a-token" "$0"' "$TMP/bad.txt"
expect_status 1 "an unknown account" "$RW" -c "$TMP/rw.conf" check-account nobody
expect_status 2 "no account named" "$RW" -c "$TMP/rw.conf" check-account
finish

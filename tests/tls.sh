#!/bin/sh
# SPDX-License-Identifier: ISC
# TLS certificates are verified: a platform with a self-signed certificate
# is refused, with curl's reason in `replywatch status`, until the
# account's ca_file names the certificate; then it is polled.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
RWD="$top_builddir/replywatchd"
command -v python3 >/dev/null || skip "python3 is needed for the fixture server"
command -v openssl >/dev/null || skip "openssl is needed to make a certificate"

fake="" daemon=""
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
	[ -n "$fake" ] && kill "$fake" 2>/dev/null && wait "$fake" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/key.pem" \
	-out "$TMP/cert.pem" 2>/dev/null
python3 "$top_srcdir/tests/fakes/mastodon.py" --quiet --accounts 1 \
	--tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" \
	--port-file "$TMP/port" --token-file-dir "$TMP" &
fake=$!
wait_until 20 test -s "$TMP/port" || { echo "FAIL: the fixture server did not start"; exit 1; }
url="https://127.0.0.1:$(cat "$TMP/port")"

# conf CA-LINE: a configuration with one account on the TLS server
conf() {
	cat >"$TMP/rw.conf" <<CONF
[daemon]
database = $TMP/rw.db
[account "brand1"]
connector = mastodon
url = $url
token_file = $TMP/brand1.token
poll_interval = 1s
$1
CONF
}

# state STATE TEXT: the mentions stream is in STATE, its error has TEXT
state() {
	"$RW" -c "$TMP/rw.conf" status --format json 2>/dev/null | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
m = [r for r in rows if r["stream"] == "mentions"]
sys.exit(0 if m and m[0]["state"].startswith(sys.argv[1]) and
         sys.argv[2] in (m[0]["last_error"] or "") else 1)' "$1" "$2"
}

conf ""
"$RWD" -c "$TMP/rw.conf" 2>"$TMP/daemon1.log" &
daemon=$!
check "a self-signed certificate is refused" wait_until 20 state failing "certificate"
kill -TERM "$daemon"
wait "$daemon" || true
daemon=""

conf "ca_file = $TMP/cert.pem"
"$RWD" -c "$TMP/rw.conf" 2>"$TMP/daemon2.log" &
daemon=$!
check "with ca_file naming it, the platform is polled" wait_until 20 state ok ""
finish

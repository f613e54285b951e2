#!/bin/sh
# SPDX-License-Identifier: ISC
# The delivery channels against real servers, through tests/deliver-send
# (deliver_start on the daemon's HTTP client, retried like the outbox):
# webhooks to tests/fakes/hook.py, which checks the signature and counts
# deliveries per Idempotency-Key; email through a private Postfix with
# STARTTLS and AUTH (tests/mail/harness.sh), read back from its Maildir.
# Without Postfix (or root) the mail part is skipped, and so is the test.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
SEND="$top_builddir/tests/deliver-send"
[ -x "$SEND" ] || skip "$SEND is not built (make check builds it)"
command -v python3 >/dev/null || skip "python3 is needed for the webhook receiver"
command -v curl >/dev/null || skip "curl is needed to talk to the webhook receiver"
. "$top_srcdir/tests/mail/harness.sh"

HOOK_PID=
cleanup() {
	_st=$?
	set +e
	if [ -n "$HOOK_PID" ]; then
		kill "$HOOK_PID" 2>/dev/null
		wait "$HOOK_PID" 2>/dev/null
	fi
	mail_teardown
	rm -rf "$TMP"
	exit "$_st"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Retries wait deliver_backoff_ms / 100: 50 ms, 100 ms, ...
RW_DELIVER_BACKOFF_DIV=100
export RW_DELIVER_BACKOFF_DIV

# send NAME ARGS...: deliver-send's output in $TMP/NAME.out (stderr in
# NAME.err); its exit status in $SENT.
send() {
	_n=$1
	shift
	set +e
	"$SEND" "$@" >"$TMP/$_n.out" 2>"$TMP/$_n.err"
	SENT=$?
	set -e
	if grep -Eq "Sanitizer|runtime error:|SUMMARY:" "$TMP/$_n.err"; then
		fail "$_n: sanitizer report"
		cat "$TMP/$_n.err"
	fi
}

# sent_ok NAME WANT_STATUS LAST_LINE: exit status and the last line.
sent_ok() {
	if [ "$SENT" != "$2" ] || [ "$(tail -n 1 "$TMP/$1.out")" != "$3" ]; then
		fail "$1: exit $SENT (want $2), output:"
		cat "$TMP/$1.out" "$TMP/$1.err"
		return 1
	fi
	pass
}

# out_has NAME ERE: deliver-send's output matches (else it is shown)
out_has() {
	grep -Eq -- "$2" "$TMP/$1.out" && return 0
	echo "$1: no line matches $2 in:"
	cat "$TMP/$1.out" "$TMP/$1.err"
	return 1
}

# ---- webhooks -------------------------------------------------------------

printf 'a shared secret\n' >"$TMP/hook.secret"
printf 'the wrong one\n' >"$TMP/wrong.secret"
chmod 600 "$TMP/hook.secret" "$TMP/wrong.secret"
python3 "$top_srcdir/tests/fakes/hook.py" --quiet --port-file "$TMP/hook.port" \
	--secret-file "$TMP/hook.secret" >"$TMP/hook.log" 2>&1 &
HOOK_PID=$!
wait_until 20 test -s "$TMP/hook.port" || { cat "$TMP/hook.log"; echo "FAIL: hook.py did not start"; exit 1; }
HOOK="http://127.0.0.1:$(cat "$TMP/hook.port")"

hookctl() {
	if [ $# -gt 2 ]; then
		curl -sS -X "$1" -H 'Content-Type: application/json' --data "$3" "$HOOK$2"
	else
		curl -sS -X "$1" "$HOOK$2"
	fi
}

# hook_check PYTHON_EXPR: holds of r (the requests), d (deliveries per
# key); JSON and TEXT are there too
hook_check() {
	hookctl GET /_fixture/requests >"$TMP/requests.json"
	hookctl GET /_fixture/deliveries >"$TMP/deliveries.json"
	JSON=$JSON TEXT=${TEXT:-} python3 - "$TMP/requests.json" "$TMP/deliveries.json" "$1" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
d = json.load(open(sys.argv[2]))
ok = eval("(" + sys.argv[3] + ")", {"r": r, "d": d, "json": json,
                        "JSON": os.environ["JSON"], "TEXT": os.environ["TEXT"]})
if not ok:
    print("not true: " + sys.argv[3])
    print(json.dumps(r, indent=1))
sys.exit(0 if ok else 1)
PY
}

JSON='{"version":1,"event":"overdue","account":"acme-x","kind":"direct","waiting_ms":2520000,"url":"https://x.example/acme/status/1"}'

# signed, verified by the receiver; the exact body, its headers
send signed -k alert-1.r1 -s "$TMP/hook.secret" -j "$JSON" webhook "$HOOK/hooks/ops"
sent_ok signed 0 "attempt 1: OK"
check "signed: one delivery, signature verified, headers" hook_check \
	"len(r) == 1 and r[0]['signature'] == 'ok' and r[0]['key'] == 'alert-1.r1' and
	 r[0]['event'] == 'overdue' and r[0]['content_type'] == 'application/json' and
	 r[0]['user_agent'].startswith('replywatch/') and r[0]['body'] == JSON and
	 r[0]['path'] == '/hooks/ops' and d == {'alert-1.r1': 1}"

# the wrong secret, or none: 401, a permanent failure
send wrong -k alert-2.r1 -s "$TMP/wrong.secret" -j "$JSON" -m 5 webhook "$HOOK/hooks/ops"
sent_ok wrong 1 "attempt 1: FAILED: HTTP 401: {\"error\": \"signature bad\"}"
send unsigned -k alert-2.r1 -j "$JSON" webhook "$HOOK/hooks/ops"
sent_ok unsigned 1 "attempt 1: FAILED: HTTP 401: {\"error\": \"signature missing\"}"

# Slack/Mattermost: {"text": ...}, signed too
TEXT='overdue: "Dana" waits 42 min for acme-x \ <https://x.example/1> für'
send slack -k alert-3.r1 -s "$TMP/hook.secret" -j "$JSON" -S -t "$TEXT" webhook "$HOOK/hooks/slack"
sent_ok slack 0 "attempt 1: OK"
check "slack: the text as JSON" hook_check \
	"r[-1]['signature'] == 'ok' and json.loads(r[-1]['body']) == {'text': TEXT}"

# 503 twice, then 200: retried with the same key, delivered once
hookctl POST /_fixture/fail '{"status": 503, "times": 2}' >/dev/null
send retry -k alert-4.r1 -s "$TMP/hook.secret" -j "$JSON" -m 5 webhook "$HOOK/hooks/ops"
sent_ok retry 0 "attempt 3: OK"
check "retry: two RETRY lines" test "$(grep -c ': RETRY in .* ms: HTTP 503' "$TMP/retry.out")" -eq 2
check "retry: three requests with one key, one delivery" hook_check \
	"[x['status'] for x in r if x['key'] == 'alert-4.r1'] == [503, 503, 200] and
	 d['alert-4.r1'] == 1 and not any(x['duplicate'] for x in r)"

# 429 with Retry-After: honoured (1 s / 100), then delivered
hookctl POST /_fixture/fail '{"status": 429, "times": 1, "retry_after": 1}' >/dev/null
send ratelimit -k alert-5.r1 -s "$TMP/hook.secret" -j "$JSON" -m 3 webhook "$HOOK/hooks/ops"
sent_ok ratelimit 0 "attempt 2: OK"
check "429: Retry-After used" out_has ratelimit '^attempt 1: RETRY in [0-9]+ ms \(Retry-After\): HTTP 429' 

# 400: failed at once, never retried
hookctl POST /_fixture/fail '{"status": 400, "times": 1, "body": "unknown field"}' >/dev/null
send bad -k alert-6.r1 -s "$TMP/hook.secret" -j "$JSON" -m 5 webhook "$HOOK/hooks/ops"
sent_ok bad 1 "attempt 1: FAILED: HTTP 400: unknown field"
check "400: one request" hook_check \
	"[x['status'] for x in r if x['key'] == 'alert-6.r1'] == [400]"

# 503 on every attempt: still RETRY when the attempts run out
hookctl POST /_fixture/fail '{"status": 503, "times": 3}' >/dev/null
send exhausted -k alert-7.r1 -s "$TMP/hook.secret" -j "$JSON" -m 3 webhook "$HOOK/hooks/ops"
check "503 x3: exit 3" test "$SENT" -eq 3
check "503 x3: nothing delivered" hook_check "'alert-7.r1' not in d"

# a second delivery of one key is what the receiver reports as duplicate
send again -k alert-1.r1 -s "$TMP/hook.secret" -j "$JSON" webhook "$HOOK/hooks/ops"
sent_ok again 0 "attempt 1: OK"
check "duplicate seen by the receiver" test "$(hookctl GET /_fixture/duplicates)" = '["alert-1.r1"]'

# nobody listening: a network error, retried
send refused -k alert-8.r1 -j "$JSON" -m 2 webhook "http://127.0.0.1:9/hooks"
check "connection refused: retried, exit 3" test "$SENT" -eq 3
check "connection refused: two attempts" test "$(grep -c 'RETRY' "$TMP/refused.out")" -eq 2

# refused before sending: plain http off loopback, header injection
send offloop -k k -j "$JSON" webhook "http://hooks.example.com/x"
sent_ok offloop 1 "attempt 1: FAILED: url: http:// is accepted only for loopback addresses (127.0.0.1, ::1, localhost): use https://"
send inject -k "$(printf 'k\r\nX-Evil: 1')" -j "$JSON" webhook "$HOOK/hooks/ops"
check "header injection in the key refused" test "$SENT" -eq 1

# ---- email --------------------------------------------------------------------

set +e
mail_setup "$TMP/mail"
rc=$?
set -e
if [ "$rc" = 77 ]; then
	echo "deliver: the mail part is skipped: $MAIL_SKIP_REASON"
	finish >/dev/null || { finish; exit 1; }
	echo "$TEST_NAME: $PASSES passed (webhooks), mail skipped"
	exit 77
fi
[ "$rc" = 0 ] || { echo "FAIL: the mail servers did not start"; exit 1; }

CREATED=1795608000000	# 2026-11-25T12:00:00Z
SUBJECT='[replywatch] overdue: direct reply for acme-x, waiting 42 min – ünd'
BODY='dana@social.example has waited 42 min for a direct reply on acme-x.
.
..two dots
Grüße
https://social.example/@dana/1'

# mail_is FILE PYTHON_EXPR: holds of m (email.message, decoded headers)
# and body (the decoded text, LF line ends)
mail_is() {
	python3 - "$1" "$2" "$SUBJECT" "$BODY" <<'PY'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
subject, want_body = sys.argv[3], sys.argv[4]
body = m.get_content().replace("\r\n", "\n")
ok = eval("(" + sys.argv[2] + ")", {"m": m, "body": body, "subject": subject, "want_body": want_body})
if not ok:
    print("not true: " + sys.argv[2])
    print(open(sys.argv[1], encoding="utf-8", errors="replace").read())
sys.exit(0 if ok else 1)
PY
}

MAILARGS="-f replywatch@example.test -r $MAIL_USER -c $MAIL_CA_FILE -d $CREATED"

# STARTTLS (required, the default) and AUTH
# shellcheck disable=SC2086
send starttls $MAILARGS -U "$MAIL_USER" -P "$MAIL_PASSWORD_FILE" -k alert-10.r2 \
	-u "$SUBJECT" -t "$BODY" email "$MAIL_SMTP_URL"
sent_ok starttls 0 "attempt 1: OK"
if f=$(mail_wait_message "$MAIL_MAILDIR" "Message-ID: <alert-10.r2@replywatch>" 20); then
	pass
	check "starttls: headers and body" mail_is "$f" \
		"m['Subject'] == subject and m['From'] == 'replywatch@example.test' and
		 m['To'] == 'ops@example.test' and m['Message-ID'] == '<alert-10.r2@replywatch>' and
		 m['Date'] == 'Wed, 25 Nov 2026 12:00:00 +0000' and
		 m['Auto-Submitted'] == 'auto-generated' and
		 m.get_content_type() == 'text/plain' and m.get_content_charset() == 'utf-8' and
		 body == want_body + '\n' and 'with ESMTPSA' in m['Received']"
else
	fail "starttls: the message did not arrive"
	tail -n 20 "$MAIL_BASE/postfix.log"
fi

# implicit TLS (smtps://) and AUTH
# shellcheck disable=SC2086
send smtps $MAILARGS -U "$MAIL_USER" -P "$MAIL_PASSWORD_FILE" -k alert-11.r2 \
	-u "$SUBJECT" -t "$BODY" email "$MAIL_SMTPS_URL"
sent_ok smtps 0 "attempt 1: OK"
if f=$(mail_wait_message "$MAIL_MAILDIR" "Message-ID: <alert-11.r2@replywatch>" 20); then
	check "smtps: over TLS with AUTH" mail_is "$f" \
		"m['Subject'] == subject and 'with ESMTPSA' in m['Received']"
else
	fail "smtps: the message did not arrive"
fi

# STARTTLS required, the server has none: failed, saying so
# shellcheck disable=SC2086
send notls $MAILARGS -U "$MAIL_USER" -P "$MAIL_PASSWORD_FILE" -k alert-12.r2 \
	-u "$SUBJECT" -t "$BODY" -m 3 email "$MAIL_PLAIN_URL"
sent_ok notls 1 "attempt 1: FAILED: STARTTLS is required, but the server does not offer it"

# without STARTTLS on loopback, where that is allowed
# shellcheck disable=SC2086
send plain $MAILARGS -n -k alert-13.r2 -u "$SUBJECT" -t "$BODY" email "$MAIL_PLAIN_URL"
sent_ok plain 0 "attempt 1: OK"
check "plain: arrived" mail_wait_message "$MAIL_MAILDIR" "Message-ID: <alert-13.r2@replywatch>" 20 >/dev/null

# the wrong password: 535, permanent
printf 'not-the-password' >"$TMP/wrong.pw"
chmod 600 "$TMP/wrong.pw"
# shellcheck disable=SC2086
send badpw $MAILARGS -U "$MAIL_USER" -P "$TMP/wrong.pw" -k alert-14.r2 \
	-u "$SUBJECT" -t "$BODY" -m 3 email "$MAIL_SMTP_URL"
check "wrong password: failed at once" test "$SENT" -eq 1
check "wrong password: the server's 535" out_has badpw '^attempt 1: FAILED: SMTP: 535'

# no AUTH where it is required: the recipient is refused (5xx)
# shellcheck disable=SC2086
send noauth $MAILARGS -k alert-15.r2 -u "$SUBJECT" -t "$BODY" email "$MAIL_SMTP_URL"
check "no AUTH: failed" test "$SENT" -eq 1
check "no AUTH: the server's 554" out_has noauth '^attempt 1: FAILED: SMTP: 554'

# an unknown mailbox: 550, permanent
# shellcheck disable=SC2086
send unknown -f replywatch@example.test -r nobody@example.test -c "$MAIL_CA_FILE" \
	-U "$MAIL_USER" -P "$MAIL_PASSWORD_FILE" -k alert-16.r2 -u "$SUBJECT" \
	-t "$BODY" email "$MAIL_SMTP_URL"
check "unknown mailbox: failed" test "$SENT" -eq 1
check "unknown mailbox: the server's 550" out_has unknown '^attempt 1: FAILED: SMTP: 550'

# a certificate we do not trust: a TLS error, retried
send untrusted -f replywatch@example.test -r "$MAIL_USER" -U "$MAIL_USER" \
	-P "$MAIL_PASSWORD_FILE" -k alert-17.r2 -u "$SUBJECT" -t "$BODY" -m 1 \
	email "$MAIL_SMTP_URL"
check "untrusted certificate: retry" test "$SENT" -eq 3

check "only the three good messages arrived" \
	test "$(find "$MAIL_MAILDIR/new" "$MAIL_MAILDIR/cur" -type f | wc -l)" -eq 3

finish

#!/bin/sh
# SPDX-License-Identifier: ISC
# Alerts end to end (doc/alerts.md): the real replywatchd against the fake
# Mastodon server, its notifications delivered to tests/fakes/hook.py (which
# checks each body's signature and counts deliveries per Idempotency-Key)
# and, through a private Postfix with STARTTLS and AUTH
# (tests/mail/harness.sh), to a Maildir that is read back. One case after
# the other, each with its own configuration, database, brand account
# (brandN, account cN) and webhook path (/hooks/cN):
#
#   c1  a public mention passes its deadline: one signed firing (JSON v1)
#       and its email; the brand's reply: resolved, by webhook and email;
#       `replywatch alerts` shows it resolved and delivered on both routes
#   c2  a direct message with alert_warning = 50: "due soon" (warning),
#       then "overdue" (critical) at the deadline
#   c3  the webhook answers 503 three times (Retry-After: 1): retried with
#       the same key and body, delivered exactly once per key
#   c4  SIGKILL while the webhook fails; restarted on the same database:
#       delivered with the same key, exactly once; nothing fires twice
#   c5  connector_down (401 on the brand's own statuses, where its replies
#       are seen): fired at once; two overdue alerts meanwhile are held; the
#       brand answers one, unseen; the renewed token and SIGHUP: resolved,
#       the answered one never told, the other told
#   c5b the same with 503 and connector_down_after = 1s, recovering by
#       itself once the fault is gone
#   c6  a silence: the overdue alert fires silenced, nothing is sent; the
#       silence removed, it is told
#   c7  group_wait = 2s: three overdue waits, one notification
#   c8  backlog_limit = 2: three open waits fire it, a reply resolves it
#   c9  complaint_spike: three complaints in a 10 s window fire it; it is
#       resolved once they have left the window
#
# Every case ends with SIGTERM (exit 0) and a log free of sanitizer
# reports. Without Postfix (or root) only the mail checks are skipped.
# Retries are sped up with RW_DELIVER_BACKOFF_DIV=100 (c3 checks that).
# ALERTS_CASES="c3 c5" runs only those cases; ALERTS_DEBUG=1 logs debug
# messages, ALERTS_LOG_LINES=N shows N lines of a failing case's log.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/daemon-lib.sh"
command -v curl >/dev/null || skip "curl is needed to talk to the webhook receiver"
. "$top_srcdir/tests/mail/harness.sh"

# the mail servers go first: mail_setup's guard is a child of this shell,
# which daemon_lib_cleanup's final wait would wait for
alerts_cleanup() {
	_st=$?
	set +e
	mail_teardown
	(exit "$_st")
	daemon_lib_cleanup
}
trap alerts_cleanup EXIT

# Retries wait deliver_backoff_ms / 100 (and Retry-After / 100)
RW_DELIVER_BACKOFF_DIV=100
export RW_DELIVER_BACKOFF_DIV

T0=$(date +%s)
# what the cases hand to judge.py (E["..."])
JUDGE_TMP=$TMP ID='' IDS='' ID_A='' ID_B='' KEY='' REPLY='' SENT_AT='' ST='' T1=''
export JUDGE_TMP ID IDS ID_A ID_B KEY REPLY SENT_AT ST T1

# ---- the webhook receiver ------------------------------------------------------
printf 'the hook secret\n' >"$TMP/hook.secret"
chmod 600 "$TMP/hook.secret"
spawn hook "$TMP/hook.log" python3 "$top_srcdir/tests/fakes/hook.py" --quiet \
	--port-file "$TMP/hook.port" --secret-file "$TMP/hook.secret"
wait_until 20 test -s "$TMP/hook.port" || { cat "$TMP/hook.log"; echo "FAIL: hook.py did not start"; exit 1; }
HOOK="http://127.0.0.1:$(cat "$TMP/hook.port")"

hookctl() {
	if [ $# -gt 2 ]; then
		curl -sS -X "$1" -H 'Content-Type: application/json' --data "$3" "$HOOK$2"
	else
		curl -sS -X "$1" "$HOOK$2"
	fi
}

fake_start 10

# ---- the mail servers -----------------------------------------------------------
set +e
mail_setup "$TMP/mail"
rc=$?
set -e
MAIL=0
case $rc in
0) MAIL=1 ;;
77) echo "alerts: the mail checks are skipped: $MAIL_SKIP_REASON" ;;
*) echo "FAIL: the mail servers did not start"; exit 1 ;;
esac

# ---- judging JSON and mail --------------------------------------------------------
# judge.py MODE FILE CASE EXPR: the Python expression holds (exit 0) or
# not (1, and with JUDGE_SAY=1 what it was about is printed).
#   hook    FILE is hook.py's /_fixture/requests: r are the requests to
#           /hooks/CASE, each with "json" (its body parsed, or None);
#           fired/resolved(r, rule): the bodies of that event (and rule)
#   alerts  FILE is `replywatch alerts --format json`: a, those of CASE
#   mail    FILE is one message: m (email.message, headers decoded),
#           body (its text, LF line ends)
#   print   like hook, but prints the expression's value
# E is the environment (E["ID"] ...); re, json and datetime are there.
cat >"$TMP/judge.py" <<'PY'
import datetime, email, email.policy, email.utils, json, os, re, sys

mode, path, case, expr = sys.argv[1:5]

def parse(s):
    try:
        return json.loads(s)
    except (TypeError, ValueError):
        return None

def bodies(r, event, rule=None):
    return [x["json"] for x in r if x["json"] and x["json"].get("event") == event
            and (rule is None or x["json"].get("rule") == rule)]

def fired(r, rule=None):
    return bodies(r, "firing", rule)

def resolved(r, rule=None):
    return bodies(r, "resolved", rule)

def ok(r):
    return [x for x in r if 200 <= (x["status"] or 0) < 300]

def ms(t):
    return datetime.datetime.strptime(t.replace("Z", "+0000"),
                                      "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()

env = {"E": os.environ, "re": re, "json": json, "datetime": datetime,
       "fired": fired, "resolved": resolved, "bodies": bodies, "ok": ok,
       "ms": ms, "email": email}
what = None
if mode in ("hook", "print"):
    reqs = json.load(open(path))
    r = [dict(x, json=parse(x["body"])) for x in reqs if x["path"] == "/hooks/" + case]
    env.update(r=r, everything=reqs)
    what = r
elif mode == "alerts":
    every = json.load(open(path))
    env.update(a=[x for x in every if x["account"] == case])
    what = every
elif mode == "mail":
    m = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
    env.update(m=m, body=m.get_content().replace("\r\n", "\n"))
    what = open(path, encoding="utf-8", errors="replace").read()
try:
    v = eval("(" + expr + ")", env)
except Exception as e:
    v = None
    if os.environ.get("JUDGE_SAY") == "1":
        print("error: %r" % (e,))
if mode == "print":
    if v is None:
        sys.exit(1)
    print(v)
    sys.exit(0)
if not v and os.environ.get("JUDGE_SAY") == "1":
    print("not true: " + expr)
    print(what if isinstance(what, str) else json.dumps(what, indent=1))
sys.exit(0 if v else 1)
PY

judge() {
	python3 "$TMP/judge.py" "$@"
}

# hook_has CASE EXPR (quiet, for waits); hook_check CASE EXPR (says why not)
hook_has() {
	hookctl GET /_fixture/requests >"$TMP/requests.json" || return 1
	judge hook "$TMP/requests.json" "$@"
}
hook_check() {
	hookctl GET /_fixture/requests >"$TMP/requests.json" || return 1
	JUDGE_SAY=1 judge hook "$TMP/requests.json" "$@"
}
# hook_get CASE EXPR: prints the value (nothing if there is none)
hook_get() {
	hookctl GET /_fixture/requests >"$TMP/requests.json" || return 0
	judge print "$TMP/requests.json" "$@" || :
}

# alerts_has CASE EXPR, alerts_check CASE EXPR: of `replywatch alerts`
alerts_has() {
	"$RW" -c "$CONF" alerts --format json >"$TMP/alerts.json" 2>"$TMP/alerts.err" || return 1
	judge alerts "$TMP/alerts.json" "$@"
}
alerts_check() {
	"$RW" -c "$CONF" alerts --format json >"$TMP/alerts.json" 2>"$TMP/alerts.err" ||
		{ cat "$TMP/alerts.err"; return 1; }
	JUDGE_SAY=1 judge alerts "$TMP/alerts.json" "$@"
}

# check_until DESCRIPTION TIMEOUT hook|alerts CASE EXPR: wait until the
# expression holds; if it does not in time, it fails, saying why
check_until() {
	_d=$1 _t=$2 _w=$3
	shift 3
	if wait_until "$_t" "${_w}_has" "$@"; then
		pass
	else
		fail "$_d (waited $_t s)"
		"${_w}_check" "$@" || :
	fi
}

# mail_check FILE EXPR
mail_check() {
	JUDGE_SAY=1 judge mail "$1" - "$2"
}

# mail_of KEY NAME: wait for the email of the webhook notification KEY
# (the same notification on the route "mail": the key ends in -mail);
# its path in $TMP/NAME.mail. 1 if it did not come.
mail_of() {
	_mk="${1%-hook}-mail"
	if _mf=$(mail_wait_message "$MAIL_MAILDIR" "Message-ID: <$_mk@replywatch>" 20); then
		cp "$_mf" "$TMP/$2.mail"
		return 0
	fi
	echo "no email with Message-ID <$_mk@replywatch>; the Maildir has:"
	grep -h "^Subject:\|^Message-ID:" "$MAIL_MAILDIR"/new/* "$MAIL_MAILDIR"/cur/* 2>/dev/null || :
	tail -n 20 "$MAIL_BASE/postfix.log"
	return 1
}

# ---- one case ---------------------------------------------------------------------
# case_start NAME BRAND [ACCOUNT LINES...]: a configuration of its own
# (database $TMP/NAME.db, the account NAME of the brand, the routes "hook"
# to /hooks/NAME and "mail"), and replywatchd started on it.
case_start() {
	CASE=$1 _brand=$2
	shift 2
	CONF="$TMP/$CASE.conf"
	LOG="$TMP/$CASE.log"
	CASE_FAILS=$FAILS
	CASE_T0=$(date +%s)
	{
		echo "[daemon]"
		echo "database = $TMP/$CASE.db"
		echo "sla_broadcast = 3s"
		echo "sla_direct = 3s"
		echo "group_wait = 0s"
		[ -z "${ALERTS_DEBUG:-}" ] || echo "log_level = debug"
		echo
		echo "[account \"$CASE\"]"
		echo "connector = mastodon"
		echo "url = $FAKE_URL"
		echo "token_file = $TOKENS/$_brand.token"
		echo "poll_interval = 1s"
		for _l in "$@"; do echo "$_l"; done
		echo
		echo "[route \"hook\"]"
		echo "type = webhook"
		echo "url = $HOOK/hooks/$CASE"
		echo "secret_file = $TMP/hook.secret"
		if [ "$MAIL" = 1 ]; then
			echo
			echo "[route \"mail\"]"
			echo "type = email"
			echo "url = $MAIL_SMTP_URL"
			echo "from = replywatch@example.test"
			echo "to = $MAIL_USER"
			echo "username = $MAIL_USER"
			echo "password_file = $MAIL_PASSWORD_FILE"
			echo "ca_file = $MAIL_CA_FILE"
		fi
	} >"$CONF"
	rwd_start "$LOG"
}

# no_secret FILE...: neither the hook secret nor the mail password in them
no_secret() {
	for _f in "$@"; do
		grep -qF "the hook secret" "$_f" && return 1
		if [ "$MAIL" = 1 ] && [ -s "$MAIL_PASSWORD_FILE" ] &&
		    grep -qF "$(head -n 1 "$MAIL_PASSWORD_FILE")" "$_f"; then
			return 1
		fi
	done
	return 0
}

# case_end: SIGTERM, exit 0, no sanitizer report; the log if a check of
# the case failed
case_end() {
	stop_proc rwd TERM 10
	check "$CASE: SIGTERM: exit 0 within 10 s (got '$STOP_RC')" test "$STOP_RC" = 0
	check "$CASE: no sanitizer report" sanitizer_clean "$LOG"
	# secrets: the webhook's HMAC key and the SMTP password are never
	# shown, in the log, by replywatch alerts or by replywatchd -t
	"$RW" -c "$CONF" alerts --format json >"$TMP/$CASE.alerts.json" 2>&1 || :
	"$RWD" -t -c "$CONF" >"$TMP/$CASE.t.out" 2>&1 || :
	check "$CASE: no secret in the log, alerts or -t output" no_secret \
		"$LOG" "$TMP/$CASE.alerts.json" "$TMP/$CASE.t.out"
	if [ "$FAILS" -ne "$CASE_FAILS" ]; then
		echo "---- $CASE: the end of replywatchd's log:"
		tail -n "${ALERTS_LOG_LINES:-40}" "$LOG"
		echo "----"
	fi
	echo "$CASE: $(($(date +%s) - CASE_T0)) s"
}

# the routes, as a Python list
if [ "$MAIL" = 1 ]; then
	BOTH_ROUTES='["hook", "mail"]'
else
	BOTH_ROUTES='["hook"]'
fi

# ==== c1: a public mention passes its deadline, then is answered ==============
c1() {
	case_start c1 brand1
	ID=$(post brand1 dana 0)
	check_until "c1: a firing arrives" 15 hook c1 'fired(r)'
	KEY=$(hook_get c1 '[x["key"] for x in r if x["event"] == "firing"][0]')
	check "c1: the firing: signed, JSON version 1, overdue, the message" hook_check c1 '
		[x["signature"] for x in r if x["event"] == "firing"] == ["ok"] and
		(lambda b: b["version"] == 1 and b["event"] == "firing" and
		 b["rule"] == "overdue" and b["account"] == "c1" and
		 b["key"] == r[0]["key"] and len(b["alerts"]) == 1 and
		 b["alerts"][0]["details"]["message_id"] == E["ID"] and
		 b["alerts"][0]["details"]["kind"] == "broadcast" and
		 b["alerts"][0]["details"]["author"] == "dana@social.example" and
		 b["alerts"][0]["severity"] == "critical" and
		 b["alerts"][0]["state"] == "firing" and
		 re.fullmatch(r"overdue: broadcast reply for c1, waiting [0-9]+ s", b["summary"])
		)(fired(r)[0])'
	if [ "$MAIL" = 1 ]; then
		if mail_of "$KEY" c1-firing; then
			SENT_AT=$(hook_get c1 'fired(r)[0]["created_at"]')
			check "c1: the firing email: Subject, Date, Message-ID, From, To, author and URL" \
				mail_check "$TMP/c1-firing.mail" '
				re.fullmatch(r"\[replywatch\] overdue: broadcast reply for c1, waiting [0-9]+ s", m["Subject"]) and
				email.utils.parsedate_to_datetime(m["Date"]).timestamp() == int(ms(E["SENT_AT"])) and
				m["Message-ID"] == "<" + E["KEY"][:-4] + "mail@replywatch>" and
				m["From"] == "replywatch@example.test" and m["To"] == "ops@example.test" and
				"dana@social.example" in body and
				"https://social.example/@dana/" + E["ID"] in body'
		else
			fail "c1: the firing email did not arrive"
		fi
	fi
	REPLY=$(post brand1 brand 0 "\"in_reply_to\": \"$ID\"")
	check_until "c1: a resolved arrives after the reply" 15 hook c1 'resolved(r)'
	check "c1: the resolved: signed, the reply" hook_check c1 '
		[x["signature"] for x in r if x["event"] == "resolved"] == ["ok"] and
		(lambda b: b["version"] == 1 and b["rule"] == "overdue" and
		 b["alerts"][0]["state"] == "resolved" and
		 b["alerts"][0]["details"]["message_id"] == E["ID"] and
		 b["alerts"][0]["details"]["reply_id"] == E["REPLY"]
		)(resolved(r)[0])'
	if [ "$MAIL" = 1 ]; then
		KEY2=$(hook_get c1 '[x["key"] for x in r if x["event"] == "resolved"][0]')
		if mail_of "$KEY2" c1-resolved; then
			check "c1: the resolved email" mail_check "$TMP/c1-resolved.mail" '
				re.fullmatch(r"\[replywatch\] resolved: overdue broadcast reply for c1, answered after [0-9]+ s", m["Subject"]) and
				"dana@social.example" in body'
		else
			fail "c1: the resolved email did not arrive"
		fi
	fi
	check_until "c1: alerts: resolved, firing and resolved delivered on every route" \
		10 alerts c1 "len(a) == 1 and a[0]['state'] == 'resolved' and
		 a[0]['delivery'] == 'delivered' and
		 sorted((n['route'], n['event'], n['state']) for n in a[0]['notifications']) ==
		 sorted((rt, ev, 'delivered') for rt in $BOTH_ROUTES for ev in ('firing', 'resolved'))"
	check "c1: exactly one firing and one resolved, each delivered once" hook_check c1 '
		[x["event"] for x in r] == ["firing", "resolved"] and
		all(x["status"] == 200 for x in r)'
	case_end
}

# ==== c2: a direct message, due soon at 50 %, then overdue ====================
c2() {
	case_start c2 brand2 "sla_direct = 4s" "alert_warning = 50"
	ID=$(post brand2 erin 0 '"visibility": "direct"')
	check_until "c2: a warning, then a critical firing" 15 hook c2 'len(fired(r)) >= 2'
	check "c2: due soon (warning) first, then overdue (critical)" hook_check c2 '
		[(b["alerts"][0]["severity"], b["alerts"][0]["details"]["message_id"]) for b in fired(r)] ==
		    [("warning", E["ID"]), ("critical", E["ID"])] and
		re.fullmatch(r"due soon: direct reply for c2, waiting [0-9]+ s of 4 s", fired(r)[0]["summary"]) and
		re.fullmatch(r"overdue: direct reply for c2, waiting [0-9]+ s", fired(r)[1]["summary"]) and
		fired(r)[0]["alerts"][0]["id"] == fired(r)[1]["alerts"][0]["id"] and
		all(x["signature"] == "ok" for x in r)'
	check "c2: the warning at about 50 % of the target, the critical at the deadline" hook_check c2 '
		(lambda w, c: 1.5 <= ms(w["created_at"]) - ms(w["alerts"][0]["details"]["opened_at"]) < 3.5 and
		 ms(c["created_at"]) >= ms(c["alerts"][0]["details"]["deadline"]))(fired(r)[0], fired(r)[1])'
	if [ "$MAIL" = 1 ]; then
		KW=$(hook_get c2 'r[0]["key"]')
		KC=$(hook_get c2 '[x["key"] for x in r if x["json"]["alerts"][0]["severity"] == "critical"][0]')
		if mail_of "$KW" c2-warning && mail_of "$KC" c2-critical; then
			check "c2: the due-soon email" mail_check "$TMP/c2-warning.mail" '
				re.fullmatch(r"\[replywatch\] due soon: direct reply for c2, waiting [0-9]+ s of 4 s", m["Subject"])'
			check "c2: the overdue email" mail_check "$TMP/c2-critical.mail" '
				re.fullmatch(r"\[replywatch\] overdue: direct reply for c2, waiting [0-9]+ s", m["Subject"])'
		else
			fail "c2: the emails did not arrive"
		fi
	fi
	check_until "c2: alerts: one alert, critical, both firings delivered" 10 alerts c2 \
		"len(a) == 1 and a[0]['severity'] == 'critical' and a[0]['state'] == 'firing' and
		 sorted((n['route'], n['event'], n['state']) for n in a[0]['notifications']) ==
		 sorted((rt, 'firing', 'delivered') for rt in $BOTH_ROUTES for _ in (1, 2))"
	case_end
}

# ==== c3: 503 three times: retried, same key and body, delivered once ========
c3() {
	case_start c3 brand3
	hookctl POST /_fixture/fail '{"status": 503, "times": 3, "retry_after": "1"}' >/dev/null
	ID=$(post brand3 fay 0)
	check_until "c3: the firing is tried and refused" 15 hook c3 \
		'[x["status"] for x in r] [:1] == [503]'
	if wait_until 10 hook_has c3 'ok(r)'; then
		pass
	else
		fail "c3: not delivered within 10 s after three 503 (RW_DELIVER_BACKOFF_DIV=100: the backoff should be 50, 100, 200 ms; Retry-After: 1)"
		# the undivided backoff is 5 + 10 + 20 s: wait for it to judge the rest
		wait_until 50 hook_has c3 'ok(r)' || :
	fi
	KEY=$(hook_get c3 'r[0]["key"]')
	check "c3: four attempts with one key and one body, signed, answered 503 503 503 200" hook_check c3 '
		[x["status"] for x in r if x["key"] == E["KEY"]] == [503, 503, 503, 200] and
		len(set(x["body"] for x in r if x["key"] == E["KEY"])) == 1 and
		all(x["signature"] == "ok" and x["event"] == "firing" for x in r if x["key"] == E["KEY"])'
	post brand3 brand 0 "\"in_reply_to\": \"$ID\"" >/dev/null
	check_until "c3: the resolved is delivered" 15 hook c3 'ok([x for x in r if x["event"] == "resolved"])'
	check "c3: no duplicate delivery" test "$(hookctl GET /_fixture/duplicates)" = "[]"
	hookctl GET /_fixture/deliveries >"$TMP/deliveries.json"
	check "c3: each key of c3 delivered exactly once" hook_check c3 '
		(lambda d: len(set(x["key"] for x in r)) == 2 and
		 all(d.get(k) == 1 for k in set(x["key"] for x in r)))(json.load(open(E["JUDGE_TMP"] + "/deliveries.json")))'
	check "c3: alerts: the firing delivered after 4 attempts" alerts_check c3 \
		"[(n['event'], n['state'], n['attempts']) for n in a[0]['notifications'] if n['route'] == 'hook'] ==
		 [('firing', 'delivered', 4), ('resolved', 'delivered', 1)]"
	case_end
}

# ==== c4: SIGKILL with a notification pending; restart =========================
c4() {
	case_start c4 brand4
	hookctl POST /_fixture/fail '{"status": 503, "times": 100000}' >/dev/null
	ID=$(post brand4 gus 0)
	check_until "c4: the firing is tried and refused" 15 hook c4 \
		'[(x["event"], x["status"]) for x in r][:1] == [("firing", 503)]'
	KEY=$(hook_get c4 'r[0]["key"]')
	if [ "$MAIL" = 1 ]; then
		# its email went out: only the webhook's notification is left
		check_until "c4: the firing email delivered" 15 alerts c4 \
			"[n['state'] for x in a for n in x['notifications'] if n['route'] == 'mail'] == ['delivered']"
	fi
	stop_proc rwd KILL 5
	check "c4: SIGKILL ended it" test -n "$STOP_RC"
	hookctl GET /_fixture/requests >"$TMP/c4-before.json"
	# forget the faults (and the requests, kept above)
	hookctl DELETE /_fixture/requests >/dev/null
	rwd_start "$LOG"
	check_until "c4: after the restart, the firing is delivered" 20 hook c4 'ok(r)'
	check_until "c4: alerts: one alert for the wait, one firing per route, delivered" 10 alerts c4 \
		"len(a) == 1 and a[0]['details']['message_id'] == E['ID'] and
		 a[0]['state'] == 'firing' and a[0]['delivery'] == 'delivered' and
		 sorted((n['route'], n['event'], n['state']) for n in a[0]['notifications']) ==
		 sorted((rt, 'firing', 'delivered') for rt in $BOTH_ROUTES)"
	check "c4: the same key and body as before the kill, delivered once" hook_check c4 '
		(lambda before: [x["key"] for x in r] == [E["KEY"]] and
		 set(x["body"] for x in r) == set(x["body"] for x in before if x["key"] == E["KEY"]) and
		 len(set(x["body"] for x in r)) == 1 and r[0]["signature"] == "ok"
		)(json.load(open(E["JUDGE_TMP"] + "/c4-before.json")))'
	check "c4: no duplicate delivery" test "$(hookctl GET /_fixture/duplicates)" = "[]"
	check "c4: nothing else told" hook_check c4 \
		'all(x["json"]["rule"] == "overdue" and x["json"]["event"] == "firing" for x in r)'
	check "c4: the restart told it: 1 notification still to deliver" \
		contains "$LOG" "outbox: 1 notification still to deliver"
	case_end
}

# ==== c5, c5b: connector_down holds overdue alerts back ===========================
# down_case NAME BRAND STATUS [ACCOUNT LINES...]: the brand's own statuses
# (where its replies are seen) answer STATUS, the mentions still come: the
# account is down; two mentions pass their deadline meanwhile, held; the
# brand answers one of them, unseen. Then the fault is gone: connector_down
# is resolved, the answered one resolved without ever being told, the other
# told.
down_case() {
	_n=$1 _b=$2 _st=$3
	shift 3
	case_start "$_n" "$_b" "$@"
	check "$_n: the first polls are done" wait_until 15 stream_has "$_n" statuses '"state":"ok"'
	fx POST /_fixture/faults '{"faults": [{"status": '"$_st"'}], "token": "token-'"$_b"'",
		"path": "/api/v1/accounts/", "times": 100000}' >/dev/null
	ST=$_st
	check_until "$_n: connector_down fires" 15 hook "$_n" 'fired(r, "connector_down")'
	check "$_n: connector_down: the stream, its error, whether credentials were refused" \
		hook_check "$_n" '
		(lambda s: s["stream"] == "statuses" and s["auth"] is (E["ST"] == "401") and
		 E["ST"] in s["error"])(
		 fired(r, "connector_down")[0]["alerts"][0]["details"]["streams"][0]) and
		 r[0]["signature"] == "ok"'
	# shellcheck disable=SC2046
	set -- $(fx post "$_b" hal 0 + post "$_b" ivy 0)
	ID_A=$1 ID_B=$2
	check_until "$_n: the overdue alerts fire held" 15 alerts "$_n" \
		"sorted((x['details']['message_id'], x['state'], x['held'], x['delivery'])
		        for x in a if x['rule'] == 'overdue') ==
		 sorted((i, 'firing', True, 'held') for i in (E['ID_A'], E['ID_B']))"
	check "$_n: nothing told of them" hook_check "$_n" \
		'[x["json"]["rule"] for x in r] == ["connector_down"]'
	post "$_b" brand 0 "\"in_reply_to\": \"$ID_A\"" >/dev/null
	fx DELETE /_fixture/faults >/dev/null
	if [ "$_st" = 401 ]; then
		# a 401 is tried again only every 10 minutes: the operator
		# gives the daemon the renewed token (a new file) and SIGHUP
		cp "$TOKENS/$_b.token" "$TMP/$_n-renewed.token"
		chmod 600 "$TMP/$_n-renewed.token"
		sed "s|^token_file = .*|token_file = $TMP/$_n-renewed.token|" "$CONF" >"$CONF.new"
		mv "$CONF.new" "$CONF"
		kill -s HUP "$(pid_of rwd)"
		check "$_n: reloaded, the account set up again" wait_until 10 \
			contains "$LOG" "reload: 0 accounts kept, 0 added, 1 changed"
	fi
	if ! wait_until 20 hook_has "$_n" 'fired(r, "overdue")'; then
		fail "$_n: the fault is over, but connector_down is not resolved and the held alert not told within 20 s"
		stream_has "$_n" statuses && echo "$_n: the statuses stream: $(cat "$TMP/stream.json")"
		case_end
		return
	fi
	pass
	check "$_n: told in order: connector_down firing, resolved, the unanswered one firing" \
		hook_check "$_n" '
		[(x["json"]["rule"], x["json"]["event"]) for x in r] ==
		    [("connector_down", "firing"), ("connector_down", "resolved"), ("overdue", "firing")] and
		[y["details"]["message_id"] for y in fired(r, "overdue")[0]["alerts"]] == [E["ID_B"]] and
		all(x["signature"] == "ok" and x["status"] == 200 for x in r)'
	check_until "$_n: alerts: the answered one resolved untold, the other told" 10 alerts "$_n" \
		"sorted((x['details']['message_id'], x['state'], x['held'], x['delivery'],
		         len(x['notifications'])) for x in a if x['rule'] == 'overdue') ==
		 sorted([(E['ID_A'], 'resolved', True, 'held', 0),
		         (E['ID_B'], 'firing', False, 'delivered', len($BOTH_ROUTES))])"
	case_end
}

# 401: the credentials refused, down at once
c5() {
	down_case c5 brand5 401
}
# 503 for connector_down_after: recovers by itself
c5b() {
	down_case c5b brand10 503 "connector_down_after = 1s"
}

# ==== c6: a silence, then none ===================================================
c6() {
	case_start c6 brand6 "repeat_interval = 2s"
	SID=$("$RW" -c "$CONF" silence add --account c6 --rule overdue --for 1h --reason test) || :
	check "c6: silence add printed an id" test -n "$SID"
	ID=$(post brand6 ida 0)
	check_until "c6: the alert fires, silenced" 15 alerts c6 \
		"[(x['state'], x['silenced'], x['delivery']) for x in a if x['details'].get('message_id') == E['ID']] ==
		 [('firing', True, 'silenced')]"
	check "c6: nothing sent while silenced" hook_check c6 'r == []'
	check "c6: the log says it fired" contains "$LOG" "alert: overdue: broadcast reply for c6"
	# shellcheck disable=SC2016
	check "c6: silence remove" sh -c '"$0" -c "$1" silence remove "$2" >/dev/null' "$RW" "$CONF" "$SID"
	if wait_until 8 hook_has c6 'fired(r, "overdue")'; then
		pass
		check "c6: told once, signed, the message" hook_check c6 '
		len(fired(r)) == 1 and fired(r)[0]["alerts"][0]["details"]["message_id"] == E["ID"] and
		all(x["signature"] == "ok" for x in r)'
	else
		fail "c6: the silence removed, the alert is not told within 8 s (repeat_interval = 2s)"
	fi
	case_end
}

# ==== c7: group_wait = 2s: three overdue waits, one notification ===============
c7() {
	case_start c7 brand7 "group_wait = 2s"
	IDS=$(fx post brand7 jan -0.6 + post brand7 kim -0.3 + post brand7 lou 0 | tr '\n' ' ')
	check_until "c7: a firing arrives" 15 hook c7 'fired(r)'
	check_until "c7: all three alerts told" 10 alerts c7 \
		"len(a) == 3 and all(x['notifications'] for x in a)"
	check "c7: one notification with the three alerts" hook_check c7 '
		len(r) == 1 and len(fired(r)) == 1 and
		sorted(x["details"]["message_id"] for x in fired(r)[0]["alerts"]) == sorted(E["IDS"].split()) and
		re.fullmatch(r"overdue: 3 replies for c7, oldest waiting [0-9]+ s", fired(r)[0]["summary"]) and
		r[0]["signature"] == "ok"'
	check "c7: alerts: one notification per route, shared by the three" alerts_check c7 \
		"len(set(n['id'] for x in a for n in x['notifications'])) == len($BOTH_ROUTES)"
	if [ "$MAIL" = 1 ]; then
		if mail_of "$(hook_get c7 'r[0]["key"]')" c7; then
			check "c7: one email for the three" mail_check "$TMP/c7.mail" '
				re.fullmatch(r"\[replywatch\] overdue: 3 replies for c7, oldest waiting [0-9]+ s", m["Subject"]) and
				all("https://social.example/@%s/%s" % (u, i) in body
				    for u, i in zip(("jan", "kim", "lou"), E["IDS"].split()))'
		else
			fail "c7: the email did not arrive"
		fi
	fi
	case_end
}

# ==== c8: backlog ==================================================================
c8() {
	case_start c8 brand8 "backlog_limit = 2" "sla_broadcast = 1h"
	IDS=$(fx post brand8 max 0 + post brand8 ned 0 + post brand8 oli 0 | tr '\n' ' ')
	check_until "c8: backlog fires" 15 hook c8 'fired(r, "backlog")'
	check "c8: backlog: 3 open, limit 2" hook_check c8 '
		fired(r)[0]["alerts"][0]["details"] == {"open": 3, "limit": 2} and
		re.fullmatch(r"backlog: c8, 3 waits open \(limit 2\)", fired(r)[0]["summary"]) and
		r[0]["signature"] == "ok"'
	# shellcheck disable=SC2086 # three ids, split on purpose
	set -- $IDS
	post brand8 brand 0 "\"in_reply_to\": \"$1\"" >/dev/null
	check_until "c8: a reply resolves it" 15 hook c8 'resolved(r, "backlog")'
	check "c8: resolved with 2 open" hook_check c8 '
		resolved(r)[0]["alerts"][0]["details"]["open"] == 2 and
		[x["json"]["event"] for x in r] == ["firing", "resolved"]'
	check_until "c8: alerts: resolved, delivered" 10 alerts c8 \
		"[(x['rule'], x['state'], x['delivery']) for x in a] == [('backlog', 'resolved', 'delivered')]"
	case_end
}

# ==== c9: complaint_spike ===========================================================
c9() {
	# the texts are complaints for the classifier
	printf '%s\n' "still waiting, refund now, this is broken" \
		"my order never arrived, still waiting, refund now" \
		"this is broken again, refund now please" >"$TMP/complaints.txt"
	"$RW" -d "$TMP/classify.db" classify <"$TMP/complaints.txt" >"$TMP/classify.out"
	check "c9: the three texts are complaints" test "$(grep -c '"complaint":true' "$TMP/classify.out")" -eq 3
	case_start c9 brand9 "complaint_spike_window = 10s" "complaint_spike_floor = 3" \
		"sla_broadcast = 1h" "sla_complaint = 1h"
	T1=$(fx epoch)
	fx post brand9 pam 0 '"text": "still waiting, refund now, this is broken"' + \
		post brand9 quin 0 '"text": "my order never arrived, still waiting, refund now"' + \
		post brand9 rae 0 '"text": "this is broken again, refund now please"' >/dev/null
	check_until "c9: complaint_spike fires" 15 hook c9 'fired(r, "complaint_spike")'
	check "c9: 3 complaints in 10 s, floor 3" hook_check c9 '
		(lambda d: d["complaints"] == 3 and d["window_seconds"] == 10 and d["floor"] == 3)(
		 fired(r)[0]["alerts"][0]["details"]) and r[0]["signature"] == "ok"'
	check_until "c9: resolved once the complaints have left the window" 20 hook c9 \
		'resolved(r, "complaint_spike")'
	check "c9: resolved no earlier than 10 s after the complaints" hook_check c9 '
		ms(resolved(r)[0]["alerts"][0]["resolved_at"]) >= float(E["T1"]) + 9.9 and
		resolved(r)[0]["alerts"][0]["details"]["complaints"] < 3 and
		[x["json"]["event"] for x in r] == ["firing", "resolved"]'
	case_end
}

# ALERTS_CASES="c3 c5" runs only those
for c in c1 c2 c3 c4 c5 c5b c6 c7 c8 c9; do
	case " ${ALERTS_CASES:-$c} " in
	*" $c "*) "$c" ;;
	esac
done
echo "alerts: $(($(date +%s) - T0)) s"
finish

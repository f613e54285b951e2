#!/bin/sh
# SPDX-License-Identifier: ISC
# replywatch alerts and replywatch silence: the alerts that tests/alerts-seed
# writes as replywatchd would, in every format and with every filter; the
# silences' round trip; errors, exit codes, and a user who may not write.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
command -v python3 >/dev/null || skip "python3 is needed to read JSON output"
SEED="$top_builddir/tests/alerts-seed"
[ -x "$SEED" ] || skip "$SEED is not built (make check builds it)"

db="$TMP/rw.db"
check "seed the database" "$SEED" "$db"

for c in alerts silence; do
	check "$c --help" sh -c '"$0" "$1" --help | grep -q "^usage: replywatch"' "$RW" "$c"
done
check "--help lists alerts" sh -c '"$0" --help | grep -q "^  alerts "' "$RW"
check "--help lists silence" sh -c '"$0" --help | grep -q "^  silence "' "$RW"

# ---- alerts: the table -----------------------------------------------------
"$RW" -d "$db" alerts >"$TMP/a.txt"
check "table header" sh -c 'head -1 "$0" | grep -q "^ID  RULE .*STATE .*FIRED .*RESOLVED .*SUMMARY .*DELIVERY$"' "$TMP/a.txt"
# oldest first: 6 2 1 5 3 4, with a second line for a second notification
check "table: oldest first" sh -c \
	'test "$(awk "NR > 1 && \$1 ~ /^[0-9]+$/ { printf \"%s \", \$1 }" "$0")" = "6 2 1 5 3 4 "' \
	"$TMP/a.txt"
check "table: delivered" contains "$TMP/a.txt" "ops (firing): delivered 2026-11-20T10:00:05Z"
check "table: pending, with attempts, next try and last error" grep -q \
	"mail (firing): pending, 2 attempts, next try in .*, last error: connection refused" "$TMP/a.txt"
check "table: failed, with the error" contains "$TMP/a.txt" \
	"ops (resolved): failed 2026-11-20T09:45:00Z after 5 attempts: HTTP 400: bad payload"
check "table: held" grep -q "^ 4  overdue .*held (connector down)$" "$TMP/a.txt"
check "table: silenced" grep -q "^ 5  backlog .*gamma .*silenced$" "$TMP/a.txt"
check "table: not yet notified" grep -q "^ 3  connector_down .*firing .*not yet notified$" "$TMP/a.txt"
check "table: resolved, never told" grep -q "^ 6  backlog .*resolved .*not notified$" "$TMP/a.txt"
check "table: resolved time" grep -q "^ 2  complaint_spike .*2026-11-20T09:00:00Z  2026-11-20T09:30:00Z" "$TMP/a.txt"
check "table: an account-wide alert has no subject" grep -q "^ 3  connector_down  *beta  *-  " "$TMP/a.txt"

# ---- alerts: JSON ------------------------------------------------------------
"$RW" -d "$db" alerts --format json >"$TMP/a.json"
check "json: every field" python3 - "$TMP/a.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
assert [x["id"] for x in a] == [6, 2, 1, 5, 3, 4], a
keys = ["id", "rule", "account", "subject", "severity", "state", "fired_at",
        "resolved_at", "summary", "details", "notified_at", "held",
        "silenced", "delivery", "notifications"]
for x in a:
    assert list(x) == keys, list(x)
by = {x["id"]: x for x in a}
one = by[1]
assert one["rule"] == "overdue" and one["account"] == "acme", one
assert one["subject"] == "x:D1" and one["severity"] == "critical", one
assert one["state"] == "firing" and one["resolved_at"] is None, one
assert one["fired_at"] == "2026-11-20T10:00:00Z", one
assert one["details"] == {"conversation": "D1", "waiting_seconds": 3600}, one
assert one["delivery"] == "pending", one
n = one["notifications"]
assert [(x["route"], x["event"], x["state"]) for x in n] == \
    [("ops", "firing", "delivered"), ("mail", "firing", "pending")], n
nkeys = ["id", "route", "event", "state", "created_at", "attempts",
         "next_attempt_at", "delivered_at", "failed_at", "last_error"]
for x in n:
    assert list(x) == nkeys, list(x)
assert n[0]["delivered_at"] == "2026-11-20T10:00:05Z" and n[0]["attempts"] == 1, n
assert n[0]["next_attempt_at"] is None and n[0]["failed_at"] is None, n
assert n[1]["attempts"] == 2 and n[1]["next_attempt_at"] == "2100-01-01T00:00:00Z", n
assert n[1]["last_error"] == "connection refused" and n[1]["delivered_at"] is None, n
two = by[2]
assert two["state"] == "resolved" and two["resolved_at"] == "2026-11-20T09:30:00Z", two
assert two["delivery"] == "failed" and two["details"] is None, two
f = two["notifications"][1]
assert (f["event"], f["state"], f["failed_at"], f["last_error"]) == \
    ("resolved", "failed", "2026-11-20T09:45:00Z", "HTTP 400: bad payload"), f
assert by[4]["held"] is True and by[4]["delivery"] == "held", by[4]
assert by[4]["notifications"] == [], by[4]
assert by[5]["silenced"] is True and by[5]["delivery"] == "silenced", by[5]
assert by[3]["delivery"] == "not yet notified" and by[3]["subject"] == "", by[3]
assert by[6]["delivery"] == "not notified", by[6]
PY

# ---- alerts: filters ---------------------------------------------------------
ids() {
	python3 -c 'import json, sys; print(" ".join(str(x["id"]) for x in json.load(sys.stdin)))'
}
check "--firing" test "$("$RW" -d "$db" alerts --firing --format json | ids)" = "1 5 3 4"
check "--account" test "$("$RW" -d "$db" alerts --account beta --format json | ids)" = "3 4"
check "--rule" test "$("$RW" -d "$db" alerts --rule backlog --format json | ids)" = "6 5"
check "--firing --account --rule" test \
	"$("$RW" -d "$db" alerts --firing --account acme --rule backlog --format json | ids)" = ""
# fired or resolved at or after --since: 2 resolved at 09:30
check "--since: fired or resolved since" test \
	"$("$RW" -d "$db" alerts --since 2026-11-20T09:30:00Z --format json | ids)" = "2 1 5 3 4"
check "--since: fired since" test \
	"$("$RW" -d "$db" alerts --since 2026-11-20T09:30:01Z --format json | ids)" = "1 5 3 4"
check "--since --firing" test \
	"$("$RW" -d "$db" alerts --since 2026-11-20T10:45:00Z --firing --format json | ids)" = "3 4"
check "--limit: the newest, oldest first" test \
	"$("$RW" -d "$db" alerts --limit 2 --format json | ids)" = "3 4"
check "--since a duration before now" test \
	"$("$RW" -d "$db" alerts --since 1h --format json | ids)" = ""
"$RW" -d "$db" alerts --since 1h >"$TMP/none.txt"
check "no alerts: said so" contains "$TMP/none.txt" "No alerts."

# ---- alerts: CSV -------------------------------------------------------------
"$RW" -d "$db" alerts --firing --account acme --format csv >"$TMP/a.csv"
check "csv header" sh -c 'head -1 "$0" | grep -q "^id,rule,account,subject,severity,state,fired_at,resolved_at,summary,held,silenced,delivery,route,event,notification_state,notification_created_at,attempts,next_attempt_at,done_at,last_error"' "$TMP/a.csv"
check "csv: one row per notification" python3 - "$TMP/a.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 2, rows
assert [r["route"] for r in rows] == ["ops", "mail"], rows
assert rows[0]["summary"] == "a direct message waits for 1 h, beyond its 30 min target", rows
assert rows[0]["notification_state"] == "delivered" and rows[0]["done_at"] == "2026-11-20T10:00:05Z", rows
assert rows[1]["attempts"] == "2" and rows[1]["last_error"] == "connection refused", rows
assert rows[1]["next_attempt_at"] == "2100-01-01T00:00:00Z", rows
PY
"$RW" -d "$db" alerts --account beta --format csv >"$TMP/b.csv"
check "csv: an alert without notifications has one row" python3 - "$TMP/b.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert [(r["id"], r["delivery"], r["held"], r["route"]) for r in rows] == \
    [("3", "not yet notified", "no", ""), ("4", "held", "yes", "")], rows
PY

# ---- alerts: bad input -------------------------------------------------------
expect_status 2 "alerts: unknown rule" sh -c '"$0" -d "$1" alerts --rule late 2>"$2"' \
	"$RW" "$db" "$TMP/e1"
check "alerts: unknown rule named" contains "$TMP/e1" '--rule: "late" is not a rule'
expect_status 2 "alerts: bad --since" "$RW" -d "$db" alerts --since yesterday-ish
expect_status 2 "alerts: bad --limit" "$RW" -d "$db" alerts --limit 0
expect_status 2 "alerts: bad --format" "$RW" -d "$db" alerts --format xml
expect_status 2 "alerts: stray argument" "$RW" -d "$db" alerts 12
expect_status 1 "alerts: no database" "$RW" -d "$TMP/none/x.db" alerts

# ---- silence: add, list, remove ----------------------------------------------
id1=$("$RW" -d "$db" silence add --account acme --for 2h --reason "release night")
check "silence add prints the id" test "$id1" = 2
id2=$("$RW" -d "$db" silence add --rule backlog --until 2099-01-01 --reason "known")
check "silence add: another id" test "$id2" = 3
id3=$("$RW" -d "$db" silence add --account beta --rule overdue --for 30m --reason "moving")
"$RW" -d "$db" silence list >"$TMP/s.txt"
check "list: in force" grep -q "^ 2  acme  *(every rule)  .*  1h 59m  .*release night$" "$TMP/s.txt"
check "list: every account" grep -q "^ 3  (every account)  backlog  .*2099-01-01T00:00:00Z" "$TMP/s.txt"
check "list: who added it" grep -q "^ 4  beta .*overdue .* $(id -un)  moving$" "$TMP/s.txt"
check "list: not the expired one" sh -c '! grep -q "migration" "$0"' "$TMP/s.txt"
"$RW" -d "$db" silence list --all >"$TMP/sa.txt"
check "list --all: the expired one too" grep -q "^ 1  gamma .*  expired  *ops  *migration$" "$TMP/sa.txt"
"$RW" -d "$db" silence list --all --format json >"$TMP/s.json"
check "list json" python3 - "$TMP/s.json" "$(id -un)" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert [x["id"] for x in s] == [1, 2, 3, 4], s
assert list(s[0]) == ["id", "account", "rule", "created_at", "until",
                      "in_force", "created_by", "reason"], s[0]
assert s[0]["in_force"] is False and s[0]["until"] == "2026-11-20T12:00:00Z", s[0]
assert s[1]["account"] == "acme" and s[1]["rule"] is None, s[1]
assert s[1]["in_force"] is True and s[1]["created_by"] == sys.argv[2], s[1]
assert s[2]["account"] is None and s[2]["rule"] == "backlog", s[2]
PY
"$RW" -d "$db" silence list --format csv >"$TMP/s.csv"
check "list csv" sh -c 'head -1 "$0" | grep -q "^id,account,rule,created_at,until,in_force,created_by,reason" && test "$(wc -l <"$0")" -eq 4' "$TMP/s.csv"
"$RW" -d "$db" silence remove "$id3" >"$TMP/rm.txt"
check "silence remove" contains "$TMP/rm.txt" "removed silence $id3"
check "removed: gone from the list" sh -c '! "$0" -d "$1" silence list | grep -q moving' "$RW" "$db"
expect_status 1 "remove an unknown id" sh -c '"$0" -d "$1" silence remove "$2" 2>"$3"' \
	"$RW" "$db" "$id3" "$TMP/e2"
check "remove an unknown id: said so" contains "$TMP/e2" "no silence with id $id3"
# a silence in force now marks a firing alert that was never told
"$RW" -d "$db" alerts --account beta --rule connector_down --format json >"$TMP/q.json"
check "a new silence is not applied to beta's connector_down" python3 -c '
import json, sys; a = json.load(open(sys.argv[1])); assert a[0]["silenced"] is False, a' "$TMP/q.json"
"$RW" -d "$db" silence add --account beta --for 1h --reason "down for maintenance" >/dev/null
"$RW" -d "$db" alerts --account beta --rule connector_down --format json >"$TMP/q.json"
check "it is once a silence covers it" python3 -c '
import json, sys; a = json.load(open(sys.argv[1])); assert a[0]["delivery"] == "silenced", a' "$TMP/q.json"

# ---- silence: bad input ------------------------------------------------------
# bad_add DESCRIPTION MESSAGE ARGS...: silence add ARGS exits 2 with the
# message on stderr
bad_add() {
	desc=$1 msg=$2
	shift 2
	expect_status 2 "$desc" sh -c 'rw=$1 db=$2 err=$3; shift 3; "$rw" -d "$db" silence add "$@" 2>"$err"' \
		sh "$RW" "$db" "$TMP/bad.err" "$@"
	check "$desc: said so" contains "$TMP/bad.err" "$msg"
}
bad_add "silence add: unknown rule" '--rule: "late" is not a rule (overdue, complaint_spike, connector_down or backlog)' \
	--rule late --for 1h --reason x
bad_add "silence add: no --reason" "give a --reason" --account acme --for 1h
bad_add "silence add: empty --reason" "give a --reason" --account acme --for 1h --reason " "
bad_add "silence add: bad duration" '--for: "soon" is not a duration' --account acme --for soon --reason x
bad_add "silence add: zero duration" '--for: "0s" is not a duration' --account acme --for 0s --reason x
bad_add "silence add: neither account nor rule" "give --account, --rule or both" --for 1h --reason x
bad_add "silence add: no duration" "give how long" --account acme --reason x
bad_add "silence add: both --for and --until" "not both" --account acme --for 1h --until 2099-01-01 --reason x
bad_add "silence add: --until in the past" "not in the future" --account acme --until 2020-01-01 --reason x
expect_status 2 "silence add: bad --until" "$RW" -d "$db" silence add --account acme --until soonish --reason x
expect_status 2 "silence: no subcommand" "$RW" -d "$db" silence
expect_status 2 "silence: unknown subcommand" "$RW" -d "$db" silence mute
expect_status 2 "silence remove: not an id" "$RW" -d "$db" silence remove abc
expect_status 2 "silence remove: no id" "$RW" -d "$db" silence remove
expect_status 2 "silence list: bad format" "$RW" -d "$db" silence list --format xml
expect_status 1 "silence add: no database" "$RW" -d "$TMP/none/x.db" silence add --account a --for 1h --reason x
check "nothing was added by the bad commands" test \
	"$("$RW" -d "$db" silence list --all --format csv | wc -l)" -eq 5

# ---- a user who may not write to the database --------------------------------
# As root, chmod cannot take write access away: run as nobody instead.
DB=$db ERR=$TMP/ro.err
export DB ERR
as_other=
if [ "$(id -u)" -ne 0 ]; then
	chmod 0444 "$db"
	as_other="env"
elif command -v setpriv >/dev/null &&
    setpriv --reuid=nobody --regid=nogroup --clear-groups true 2>/dev/null; then
	chmod 0755 "$TMP"
	as_other="setpriv --reuid=nobody --regid=nogroup --clear-groups"
elif command -v runuser >/dev/null && runuser -u nobody -- true 2>/dev/null; then
	chmod 0755 "$TMP"
	as_other="runuser -u nobody --"
fi
if [ -n "$as_other" ]; then
	# shellcheck disable=SC2086
	expect_status 1 "silence add without write access" sh -c \
		'"$@" -d "$DB" silence add --account acme --for 1h --reason x 2>"$ERR"' \
		sh $as_other "$RW"
	check "it says how to run it" contains "$TMP/ro.err" \
		"cannot write $db: Permission denied: run it as the replywatch user (sudo -u replywatch replywatch silence ...)"
	# shellcheck disable=SC2086
	expect_status 1 "silence remove without write access" sh -c \
		'"$@" -d "$DB" silence remove 2 2>"$ERR"' sh $as_other "$RW"
	check "remove says how to run it" contains "$TMP/ro.err" "run it as the replywatch user"
	# shellcheck disable=SC2086
	check "reading works without write access" sh -c \
		'"$@" -d "$DB" alerts --firing --format json >/dev/null && "$@" -d "$DB" silence list >/dev/null' \
		sh $as_other "$RW"
	chmod 0644 "$db"
else
	echo "SKIP: silence add without write access: running as root without setpriv or runuser to drop it"
fi
check "nothing was added without write access" test \
	"$("$RW" -d "$db" silence list --all --format csv | wc -l)" -eq 5
finish

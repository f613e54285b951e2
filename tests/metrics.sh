#!/bin/sh
# SPDX-License-Identifier: ISC
# replywatchd's /metrics: scraped while it runs, valid for promtool, its
# figures in step with the database (open waits, replies, polls); only GET
# of /metrics is served.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
RWD="$top_builddir/replywatchd"
command -v python3 >/dev/null || skip "python3 is needed"
command -v curl >/dev/null || skip "curl is needed to scrape"

daemon=""
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# a webhook route where nothing listens: its notification stays pending
noport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# The program: first poll, two direct messages and the brand's reply to
# one of them 90 s later; every poll after that, nothing new.
cat >"$TMP/poll.sh" <<'EOF2'
#!/bin/sh
[ -n "$REPLYWATCH_CURSOR" ] && { echo '{"cursor":"done"}'; exit 0; }
t0=$(date -u -d '-10 min' +%Y-%m-%dT%H:%M:%SZ)
t1=$(date -u -d '-10 min +90 sec' +%Y-%m-%dT%H:%M:%SZ)
m='{"platform":"test","account":"alpha","kind":"direct"'
echo "$m"',"id":"a1","conversation":"A","direction":"inbound","created_at":"'"$t0"'"}'
echo "$m"',"id":"a2","conversation":"A","direction":"outbound","created_at":"'"$t1"'"}'
echo "$m"',"id":"b1","conversation":"B","direction":"inbound","created_at":"'"$t0"'"}'
echo '{"cursor":"done"}'
EOF2
cat >"$TMP/rw.conf" <<EOF2
[daemon]
database = $TMP/rw.db
metrics_listen = 127.0.0.1:$port
sla_direct = 1h
alert_warning = 10
group_wait = 0s
[account "alpha"]
connector = exec
command = sh $TMP/poll.sh
poll_interval = 1s
[route "hook"]
type = webhook
url = http://127.0.0.1:$noport/hook
EOF2
"$RWD" -c "$TMP/rw.conf" 2>"$TMP/daemon.log" &
daemon=$!
scrape() { curl -sf "http://127.0.0.1:$port/metrics" >"$TMP/m.txt"; }
value() { grep -F -- "$1" "$TMP/m.txt" | awk '{ print $NF }'; }
ready() { scrape && [ "$(value 'replywatch_polls_total{account="alpha",stream="messages",result="ok"}')" -ge 2 ] 2>/dev/null; }
check "/metrics is served and counts polls" wait_until 20 ready

check "one wait open (B), none overdue" sh -c '
	grep -qx "replywatch_open_waits{account=\"alpha\",kind=\"direct\"} 1" "$0" &&
	grep -qx "replywatch_overdue_waits{account=\"alpha\",kind=\"direct\"} 0" "$0"' "$TMP/m.txt"
check "the reply of 90 s is in the histogram and met its SLA" sh -c '
	grep -qx "replywatch_reply_time_seconds_bucket{account=\"alpha\",kind=\"direct\",le=\"60\"} 0" "$0" &&
	grep -qx "replywatch_reply_time_seconds_bucket{account=\"alpha\",kind=\"direct\",le=\"300\"} 1" "$0" &&
	grep -qx "replywatch_reply_time_seconds_sum{account=\"alpha\",kind=\"direct\"} 90" "$0" &&
	grep -qx "replywatch_sla_replies_total{account=\"alpha\",kind=\"direct\",outcome=\"met\"} 1" "$0"' "$TMP/m.txt"
check "the oldest open wait is about 10 minutes old" awk '
	/^replywatch_oldest_open_wait_age_seconds/ { found = 1; ok = $NF >= 599 && $NF < 700 }
	END { exit !(found && ok) }' "$TMP/m.txt"
check "3 messages fetched" grep -qx \
	'replywatch_messages_fetched_total{account="alpha",stream="messages"} 3' "$TMP/m.txt"
# B is 10 minutes old: past 10 % of its hour, it gets an early warning
alerting() { scrape && [ "$(value 'replywatch_alert_notifications_total{route="hook",result="retry"}')" -ge 1 ] 2>/dev/null; }
check "the early warning of B fires; its webhook is retried" wait_until 20 alerting
check "one alert firing, one notification pending" sh -c '
	grep -qx "replywatch_alerts_firing{account=\"alpha\",rule=\"overdue\"} 1" "$0" &&
	grep -qx "replywatch_alerts_firing{account=\"alpha\",rule=\"backlog\"} 0" "$0" &&
	grep -qx "replywatch_alert_notifications_pending{route=\"hook\"} 1" "$0" &&
	grep -qx "replywatch_alert_notifications_total{route=\"hook\",result=\"delivered\"} 0" "$0"' "$TMP/m.txt"
if command -v promtool >/dev/null; then
	check "promtool check metrics finds nothing" sh -c \
		'out=$(promtool check metrics <"$0" 2>&1); [ -z "$out" ] || { echo "$out"; false; }' "$TMP/m.txt"
else
	echo "promtool not installed: format check skipped"
fi
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
check "another path: 404" test "$(status "http://127.0.0.1:$port/")" = 404
check "POST /metrics: 405" test "$(status -X POST "http://127.0.0.1:$port/metrics")" = 405

kill -TERM "$daemon"
st=0
wait "$daemon" || st=$?
daemon=""
check "SIGTERM: exit 0 with the metrics server open" test "$st" -eq 0
finish

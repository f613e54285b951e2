#!/bin/sh
# SPDX-License-Identifier: ISC
# replywatchd when a platform misbehaves: with two brand accounts on the
# fake Mastodon server, brand1's notifications answer 500, 429 with
# Retry-After and with rate-limit reset headers, hang past http_timeout,
# reset the connection, truncate the JSON, send a body over
# max_response_size, send fields of the wrong type, and finally 401. Each
# time: the daemon keeps running, brand2's messages still arrive within a
# few poll intervals, `replywatch status` shows brand1's failure with its
# reason and a backoff, a 429 is waited out, and once the fault is over
# (used up, or dropped by the fake after the failure was seen) brand1
# recovers and catches up from its cursor, storing what was posted
# meanwhile exactly once. Under four 500s in a row the gaps between
# brand1's tries roughly double. A 401 leaves brand1's mentions failing
# with the platform's words while brand2 goes on. At the end SIGTERM stops
# the daemon with exit 0, no sanitizer has reported anything, and no
# message is stored twice or lost.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/daemon-lib.sh"

fake_start 2
CONF="$TMP/rw.conf"
conf_daemon "$CONF" "http_timeout = 2s" "max_response_size = 64K"
account_conf "$CONF" b1 brand1 "poll_interval = 1s" "backfill = 1h"
account_conf "$CONF" b2 brand2 "poll_interval = 1s" "backfill = 1h"
LOG="$TMP/rwd.log"

# One mention each before the start, so that both have a cursor.
fx post brand1 ann -60 + post brand2 bob -60 >/dev/null
N1=1 N2=1
rwd_start "$LOG"
check "the first polls" wait_until 15 have_msgs 2
check "brand1's mentions have a cursor" \
	wait_until 15 stream_has b1 mentions '"state":"ok"' '"cursor":"[0-9]+"'

# cursor_of FILE: the cursor in a line of `replywatch status --format json`.
cursor_of() {
	sed -n 's/.*"cursor":"\([0-9]*\)".*/\1/p' "$1"
}

# b1_requests SINCE: brand1's notification requests since then, one a
# line: time, status, min_id, max_id (see fx).
b1_requests() {
	fx requests token-brand1 /api/v1/notifications "$1"
}

# b1_hanging SINCE: a request of brand1's notifications has no answer yet.
b1_hanging() {
	b1_requests "$1" | grep -q " None "
}

# went_on CURSOR N: in the requests on stdin, every failed one and the one
# that caught up asked for min_id=CURSOR (at least N of them, first),
# and no later one went back or started a backfill again.
went_on() {
	awk -v c="$1" -v n="$2" '
		function newer(a, b) {
			return length(a) > length(b) || (length(a) == length(b) && a > b)
		}
		{ print }
		$3 == c && !moved { at++; next }
		{ moved = 1 }
		$3 == "-" || $4 != "-" || !newer($3, c) { bad = 1 }
		END { exit !(at >= n && !bad) }' >"$TMP/went_on.txt"
}

# episode NAME FAULT ERROR [TIMES]: inject the fault on brand1's
# notifications and check everything while it lasts and after. ERROR is an
# extended regular expression that the status's last_error must match.
# With TIMES, the fault is used up by that many requests; without, it
# lasts until the failure has been seen in the status, then the fake is
# told to drop it: the platform recovers.
k=0
stream_has b1 mentions >/dev/null
cp "$TMP/stream.json" "$TMP/b1.json"
episode() {
	name=$1 fault=$2 error=$3 times=${4:-1000}
	k=$((k + 1))
	cursor=$(cursor_of "$TMP/b1.json")
	json="{\"faults\": [$fault], \"times\": $times, \"token\": \"token-brand1\", \
\"path\": \"/api/v1/notifications\"}"
	if [ "$name" = timeout ]; then
		t_inject=$(fx epoch + POST /_fixture/faults "$json" | sed 2d)
		# brand2 goes on while brand1 hangs
		check "$name: brand1's request hangs" wait_until 5 b1_hanging "$t_inject"
		# shellcheck disable=SC2046
		set -- "$t_inject" $(fx post brand1 "cust$k" -1 "\"text\": \"during $name\"" \
			+ post brand2 "cust$k" -1 "\"text\": \"during $name\"")
	else
		# something new for both, as soon as the fault is queued
		# shellcheck disable=SC2046
		set -- $(fx epoch + POST /_fixture/faults "$json" \
			+ post brand1 "cust$k" -1 "\"text\": \"during $name\"" \
			+ post brand2 "cust$k" -1 "\"text\": \"during $name\"" | sed 2d)
	fi
	t_inject=$1 id1=$2 id2=$3
	N1=$((N1 + 1)) N2=$((N2 + 1))
	# brand2's message should arrive within a few poll intervals: watched
	# in the background while brand1's failure is looked for
	(
		trap - EXIT HUP INT TERM PIPE
		if wait_until 3 have_msg "$id2"; then echo on-time; else echo late; fi \
			>"$TMP/b2.result"
	) &
	b2_watch=$!
	check "$name: status shows brand1 failing and backing off" \
		wait_until 8 stream_has b1 mentions '"state":"failing, backing off"' \
		'"failures":[1-9]' '"backoff_until":"'
	check "$name: status gives the reason" grep -Eq "\"last_error\":\"$error" "$TMP/stream.json"
	[ -n "${4:-}" ] || fx DELETE /_fixture/faults >/dev/null
	cat "$TMP/stream.json" >>"$TMP/failures.jsonl"
	wait "$b2_watch" || :
	check "$name: brand2's message arrives within a few poll intervals" \
		grep -q on-time "$TMP/b2.result"
	check "$name: brand2 is fine" stream_has b2 mentions '"state":"ok"'
	check "$name: the daemon runs on" running rwd
	check "$name: brand1 recovers" wait_until 10 stream_has b1 mentions '"state":"ok"'
	cp "$TMP/stream.json" "$TMP/b1.json"
	check "$name: brand1's new message is stored" wait_until 5 have_msg "$id1"
	check "$name: brand1's messages are all stored, once" have_msgs "$N1" b1
	check "$name: brand2's messages are all stored, once" have_msgs "$N2" b2
	b1_requests "$t_inject" >"$TMP/b1req.txt"
	# at least one failed request and the one that caught up
	check "$name: brand1 went on from its cursor" went_on "$cursor" 2 <"$TMP/b1req.txt"
}

episode "HTTP 500" '{"status": 500}' 'HTTP 500: Internal server error"'

# waited_out SINCE: in the requests on stdin, the one after the 429 came
# SINCE seconds after it (a number), or at SINCE (an epoch time, "@T").
waited_out() {
	awk -v w="$1" '
		found { ok = w ~ /^@/ ? $1 >= substr(w, 2) - 0.1 : $1 - t >= w - 0.1; exit }
		$2 == "429" { found = 1; t = $1 }
		END { exit !ok }'
}

# 429 with Retry-After: 3: no request before the 3 seconds are over
episode "429 Retry-After" '{"status": 429, "headers": {"Retry-After": "3"}}' \
	'HTTP 429: Too many requests"' 1
check "429 Retry-After: 3 is waited out" waited_out 3 <"$TMP/b1req.txt"

# 429 whose X-RateLimit-Reset says when: no request before then
# shellcheck disable=SC2046
set -- $(fx epoch 4 + time 4)
reset_at=$1 reset_time=$2
episode "429 X-RateLimit-Reset" "{\"status\": 429, \"headers\": \
{\"X-RateLimit-Remaining\": \"0\", \"X-RateLimit-Reset\": \"$reset_time\"}}" \
	'HTTP 429: Too many requests"' 1
check "429 X-RateLimit-Reset is waited out" waited_out "@$reset_at" <"$TMP/b1req.txt"

episode timeout '{"delay": 5}' '[^"]*timed out'
# (libcurl sends a request again when a reused connection turns out to be
# closed, up to 5 times: the reset lasts until the poll has failed)
episode "connection reset" '{"reset": true}' \
	'(Empty reply from server|Connection died|[^"]*reset)'
episode "truncated JSON" '{"truncate": true}' '[^"]*(transfer closed|truncated|ends early)'
episode "body over max_response_size" '{"oversize": 100000}' '[^"]*65536'
episode "wrong field types" '{"wrong_types": true}' \
	'notifications\[[0-9]+\]\.id: expected a string, got an object"'

# ---- 5xx backoff grows --------------------------------------------------------
# Four 500s in a row: after the k-th failure the next try comes after the
# poll interval (1 s) times 2^(k-1), less up to half of it ("equal
# jitter"), so the gaps between the tries roughly double.
t_bo=$(fx epoch + POST /_fixture/faults '{"faults": [{"status": 500}], "times": 4,
	"token": "token-brand1", "path": "/api/v1/notifications"}' | sed 2d)
four_500s() {
	[ "$(b1_requests "$t_bo" | grep -c " 500 ")" -ge 4 ]
}
check "backoff: four 500s in a row" wait_until 20 four_500s
b1_requests "$t_bo" >"$TMP/backoff.txt"
check "backoff: the gaps between tries double, with jitter" \
	python3 - "$TMP/backoff.txt" <<'PY'
import sys
times = [float(l.split()[0]) for l in open(sys.argv[1]) if l.split()[1] == "500"]
gaps = [b - a for a, b in zip(times, times[1:4])]
for k, gap in enumerate(gaps, 1):
    hi = 2.0 ** (k - 1)
    # not before the delay; the request's own time and the timer's slack after
    assert hi / 2 - 0.05 <= gap <= hi + 0.5, (k, gap, gaps)
assert len(gaps) == 3 and gaps[2] > 1.5 * gaps[0], gaps
PY
check "backoff: brand1 recovers" wait_until 12 stream_has b1 mentions '"state":"ok"'
check "backoff: the daemon runs on" running rwd

# 401: brand1's mentions fail until the token changes; brand2 goes on
# shellcheck disable=SC2046
set -- $(fx POST /_fixture/faults '{"faults": [{"status": 401}], "token": "token-brand1",
	"path": "/api/v1/notifications"}' + post brand2 carl -1)
id2=$2
N2=$((N2 + 1))
check "401: brand2's message arrives" wait_until 3 have_msg "$id2"
check "401: brand1's mentions are failing" wait_until 8 stream_has b1 mentions \
	'"state":"failing' '"last_error":"HTTP 401: The access token is invalid"'
check "401: brand1's own statuses are still polled" stream_has b1 statuses '"state":"ok"'
check "401: brand2 is fine" stream_has b2 mentions '"state":"ok"' '"failures":0'
check "401: the daemon runs on" running rwd

# ---- the end -------------------------------------------------------------------
stop_proc rwd TERM 10
check "SIGTERM: exit 0 within 10 s (got '$STOP_RC')" test "$STOP_RC" = 0
check "the daemon logs that it stopped" sh -c 'tail -n 1 "$0" | grep -q "stopped$"' "$LOG"
check "no sanitizer report" sanitizer_clean "$LOG"
check "every fault was logged" test "$(grep -c "warning: account b1: mentions: " "$LOG")" -ge 9
messages_to "$TMP/m.jsonl"
check "every message stored once" python3 - "$TMP/m.jsonl" "$N1" "$N2" <<'PY'
import json, sys
rows = list(map(json.loads, open(sys.argv[1])))
ids = [(r["account"], r["id"]) for r in rows]
assert len(ids) == len(set(ids)), ids
n1, n2 = int(sys.argv[2]), int(sys.argv[3])
assert sum(a == "b1" for a, _ in ids) == n1 and sum(a == "b2" for a, _ in ids) == n2, (ids, n1, n2)
assert len(rows) == n1 + n2
PY
check "brand2 never failed" stream_has b2 mentions '"failures":0' '"state":"ok"'
check "no token in the log" sh -c '! grep -q "token-brand" "$0"' "$LOG"
check "no token in the status" sh -c '! "$0" -c "$1" status | grep -q "token-brand"' "$RW" "$CONF"

finish

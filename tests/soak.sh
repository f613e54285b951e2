#!/bin/sh
# SPDX-License-Identifier: ISC
# The fault-injection soak test: replywatchd with 50 Mastodon accounts
# polled every second, against the fake server in chaos mode (5 % 5xx,
# 2 % connection resets, 1 % truncated JSON, rare latency spikes of up to
# 20 s, bursts of 429 with Retry-After; tests/fakes/mastodon.py --chaos),
# its overdue alerts going to a webhook receiver that is down a fifth of
# the time (503, 429 with Retry-After, or the connection dropped;
# tests/fakes/hook.py --down-fraction 0.2). For SOAK_SECONDS (default 180;
# `make soak`: 1800) tests/soak-driver.py writes conversations with a known
# ground truth across the accounts: mentions and direct messages, some
# joined by a second message, by a second customer or followed up, some
# answered by the brand in time, some late, some never. Then it waits
# (on conditions, with a time limit) until the daemon has caught up and
# checks, against the truth of ../shared/spec/reply-time.md:
#  - every injected message is stored exactly once, per account, as posted;
#  - every wait: `explain` of each reply (opened, closed, reply time, the
#    message that opened it), `pending` (the waits still open), `stats`
#    per account and kind (counts, reply and first response times, SLA);
#  - overdue alerts exactly for the waits past their SLA (one each; a wait
#    answered in time may have one only if the reply was not stored yet
#    when it fired), with the truth's times, none twice at once, every
#    notification delivered and seen with a 2xx by the receiver under its
#    Idempotency-Key;
#  - replywatchd's VmRSS grows at most 5 % from a third of the run to the
#    end, besides what SQLite's page cache (2 MiB) may take for the
#    database pages added meanwhile; its files, pipes and event fds are the
#    same at both points (exactly: they do not come and go), and its
#    sockets stay within the connection limits all along (they come and
#    go with resets and keep-alive);
#  - SIGTERM stops it with exit 0, and no sanitizer has reported anything.
# SOAK_SEED (default 1) seeds the conversations, the faults and the
# receiver's down windows (the timing still varies from run to run);
# SOAK_KEEP=DIR keeps the work files (logs, database, truth, samples).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/daemon-lib.sh"

SECONDS_=${SOAK_SECONDS:-180}
SEED=${SOAK_SEED:-1}
ACCOUNTS=50
SLA_DIRECT=10
SLA_BROADCAST=20
CONNS=8
DRIVER="$top_srcdir/tests/soak-driver.py"
HOOK_PY="$top_srcdir/tests/fakes/hook.py"
echo "soak: $SECONDS_ s, seed $SEED, $ACCOUNTS accounts"

# ---- the fake platform (chaos) and the webhook receiver (down 20 %) ----------
TOKENS="$TMP/tokens"
spawn fake "$TMP/fake.log" python3 "$FAKE_PY" --quiet --accounts "$ACCOUNTS" \
	--port-file "$TMP/fake.port" --token-file-dir "$TOKENS" \
	--rate-limit 1000000 --chaos "$SEED"
umask 077
echo "soak-secret-$SEED" >"$TMP/hook.secret"
spawn hook "$TMP/hook.log" python3 "$HOOK_PY" --quiet --port-file "$TMP/hook.port" \
	--secret-file "$TMP/hook.secret" --down-fraction 0.2 --seed "$SEED"
if ! wait_until 20 test -s "$TMP/fake.port" || ! wait_until 20 test -s "$TMP/hook.port"; then
	cat "$TMP/fake.log" "$TMP/hook.log"
	echo "FAIL: the fake servers did not start"
	exit 1
fi
FAKE_URL="http://127.0.0.1:$(cat "$TMP/fake.port")"
HOOK_URL="http://127.0.0.1:$(cat "$TMP/hook.port")"
echo "$FAKE_URL" >"$TMP/fake.url"

# ---- replywatchd ------------------------------------------------------------
CONF="$TMP/rw.conf"
conf_daemon "$CONF" "http_timeout = 30s" "max_host_connections = $CONNS" \
	"sla_direct = ${SLA_DIRECT}s" "sla_broadcast = ${SLA_BROADCAST}s" \
	"complaint_threshold = 1" "complaint_spike_floor = 0" \
	"group_wait = 0s" "repeat_interval = 24h"
{
	echo "[route \"soak\"]"
	echo "type = webhook"
	echo "url = $HOOK_URL/soak"
	echo "secret_file = $TMP/hook.secret"
	echo
} >>"$CONF"
k=1
while [ "$k" -le "$ACCOUNTS" ]; do
	account_conf "$CONF" "b$k" "brand$k" "poll_interval = 1s" "backfill = 1h"
	k=$((k + 1))
done
LOG="$TMP/rwd.log"
# The daemon's delivery backoff (5 s, 10 s, ... 1 h) divided by 20 where
# it honours RW_DELIVER_BACKOFF_DIV; the test does not depend on it.
# Under AddressSanitizer, a small quarantine: it fills during the warm-up
# instead of growing the RSS all along (freed memory is still poisoned
# while in it).
SAN_ENV=
if grep -q __asan_init "$RWD" 2>/dev/null; then
	SAN_ENV="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
fi
# shellcheck disable=SC2086
rwd_start "$LOG" RW_DELIVER_BACKOFF_DIV=20 $SAN_ENV || exit 1

# every stream has polled successfully once
all_polled() {
	"$RW" -c "$CONF" status --format json >"$TMP/status.json" &&
		python3 - "$TMP/status.json" "$ACCOUNTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if len(rows) == 2 * int(sys.argv[2]) and all(r["last_ok"] for r in rows) else 1)
PY
}
check "the first poll of every stream" wait_until 90 all_polled

# ---- the soak --------------------------------------------------------------
T0=$(date +%s)
SETTLE=$((300 + SECONDS_ / 6))
if python3 "$DRIVER" run --out "$TMP" --fake "$FAKE_URL" --rw "$RW" --conf "$CONF" \
	--pid "$(pid_of rwd)" --seconds "$SECONDS_" --seed "$SEED" --accounts "$ACCOUNTS" \
	--sla-direct "$SLA_DIRECT" --sla-broadcast "$SLA_BROADCAST" --settle "$SETTLE" \
	--db "$TMP/rw.db"; then
	pass
else
	fail "the daemon caught up within $SETTLE s after the soak (messages stored, alerts" \
		"fired and delivered)"
fi
check "the daemon ran all along" running rwd

# ---- the end ----------------------------------------------------------------
stop_proc rwd TERM 30
check "SIGTERM: exit 0 within 30 s (got '$STOP_RC')" test "$STOP_RC" = 0
check "the daemon logs that it stopped" sh -c 'tail -n 1 "$0" | grep -q "stopped$"' "$LOG"
check "no sanitizer report" sanitizer_clean "$LOG"
check "no token in the log" sh -c '! grep -q "token-brand" "$0"' "$LOG"

python3 "$DRIVER" verify --out "$TMP" --fake "$FAKE_URL" --hook "$HOOK_URL" --rw "$RW" \
	--conf "$CONF" --max-sockets $((2 * CONNS)) >"$TMP/verify.txt" 2>&1 ||
	fail "the verification ran: $(tail -n 3 "$TMP/verify.txt")"
while IFS= read -r line; do
	case $line in
	PASS:*) pass ;;
	FAIL:*) echo "$line"; FAILS=$((FAILS + 1)) ;;
	*) echo "$line" ;;
	esac
done <"$TMP/verify.txt"
echo "soak: $(($(date +%s) - T0)) s from the first injection to the end of the checks;" \
	"daemon log: $(wc -l <"$LOG") lines, $(grep -c "warning: " "$LOG" || :) warnings"
if [ "$FAILS" -gt 0 ]; then
	echo "--- the daemon's log, last lines"
	tail -n 40 "$LOG"
fi
# SOAK_KEEP=DIR: the work files (logs, database, truth, samples) kept there
if [ -n "${SOAK_KEEP:-}" ]; then
	mkdir -p "$SOAK_KEEP" && cp -r "$TMP"/. "$SOAK_KEEP"/ &&
		echo "work files kept in $SOAK_KEEP"
fi
finish

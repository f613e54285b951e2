#!/bin/sh
# SPDX-License-Identifier: ISC
#
# Alert latency benchmark of replywatchd (bench/README.md, "Alert
# latency"): from a wait's SLA deadline to the receipt of its firing
# webhook. One brand account on the fake Mastodon server polled every 60 s,
# WAITS customer mentions whose deadlines (created_at + sla_broadcast) are
# spread uniformly over SPREAD seconds from FIRST seconds after the
# daemon's start, all of them fetched by its first poll; group_wait = 0s,
# one webhook route to tests/fakes/hook.py. Next to it, in the same run:
# the latency a periodic evaluator every 60 s from the daemon's start
# (Prometheus' default rule evaluation) would have had for the same
# deadlines.
#
#	sh bench/alert-latency.sh BUILDDIR
#	ALERT_BENCH_SPREAD=60 ALERT_BENCH_WAITS=200 \
#	    sh bench/alert-latency.sh BUILDDIR		# a smoke run
#
# Needs BUILDDIR/replywatchd and python3 (the fake servers, tests/fakes/
# mastodon.py and hook.py, and its sqlite3 module to read the daemon's
# database read-only). Work files go to BUILDDIR/bench/out/alerts/, with
# every figure as key=value lines in results.txt. Exits 1 if a target is
# missed (or alerts are missing), 2 if the benchmark itself could not run.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
export LC_ALL=C

BUILD=${1:-.}
SRC=$(cd "$(dirname "$0")/.." && pwd)
RWD=$BUILD/replywatchd
FAKE=$SRC/tests/fakes/mastodon.py
HOOK=$SRC/tests/fakes/hook.py
PYTHON=${PYTHON:-python3}

WAITS=${ALERT_BENCH_WAITS:-1000}	# customer mentions, one wait each
SPREAD=${ALERT_BENCH_SPREAD:-300}	# seconds over which deadlines fall
FIRST=${ALERT_BENCH_FIRST:-70}		# the first deadline, s after start
INTERVAL=${ALERT_BENCH_INTERVAL:-60}	# poll_interval, and the reference's
					# evaluation interval, seconds
SLA=${ALERT_BENCH_SLA:-600}		# sla_broadcast, seconds
SEED=${ALERT_BENCH_SEED:-42}		# of the deadlines
LEAD=${ALERT_BENCH_LEAD:-2}		# seconds the posting may take
GRACE=${ALERT_BENCH_GRACE:-60}		# after the last deadline, at most

# Target.
P99_MAX_MS=1000

OUT=$BUILD/bench/out/alerts

die() {
	echo "alert-latency: $*" >&2
	exit 2
}
for f in "$RWD" "$FAKE" "$HOOK"; do
	[ -e "$f" ] || die "$f not found (build first; BUILDDIR is the first" \
	    "argument)"
done
command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON is needed"
for v in WAITS SPREAD FIRST INTERVAL SLA SEED LEAD GRACE; do
	case ${!v} in
	'' | *[!0-9]*) die "$v must be a whole number of seconds (or count)" ;;
	esac
done
[ "$WAITS" -ge 1 ] && [ "$SPREAD" -ge 1 ] ||
    die "ALERT_BENCH_WAITS and ALERT_BENCH_SPREAD must be at least 1"
# Every created_at in the past (the fake would date a mention in the
# future as given, but no platform does), with a margin for the posting.
[ "$SLA" -gt $((FIRST + SPREAD + LEAD)) ] ||
    die "ALERT_BENCH_SLA must exceed FIRST + SPREAD + LEAD" \
	"($((FIRST + SPREAD + LEAD)) s)"
# The deadlines must come after the first poll has stored the waits.
[ "$FIRST" -ge 10 ] || die "ALERT_BENCH_FIRST must be at least 10 s"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/results.txt "$OUT"/rw.db "$OUT"/rw.db-wal "$OUT"/rw.db-shm \
    "$OUT"/hook.json "$OUT"/posted.json "$OUT"/latencies.txt
rm -rf "$OUT"/tok "$OUT"/port "$OUT"/hook.port

now() { date +%s.%N; }
calc() {
	local e=$1
	shift
	awk "$@" "BEGIN { print ($e) }" </dev/null
}
record() { echo "$1=$2" >>"$OUT"/results.txt; }

# Only the processes started here are stopped, by their pid.
FAKE_PID=
HOOK_PID=
DAEMON_PID=
cleanup() {
	local p
	for p in "$DAEMON_PID" "$FAKE_PID" "$HOOK_PID"; do
		[ -n "$p" ] || continue
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	DAEMON_PID=
	FAKE_PID=
	HOOK_PID=
}
trap cleanup EXIT
trap 'exit 2' INT TERM

# wait_port FILE PID WHAT: until the server writes its port file.
wait_port() {
	for _ in $(seq 600); do
		[ -s "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || die "$3 exited: $(tail -n 3 \
		    "$OUT/$3.log")"
		sleep 0.1
	done
	die "$3 did not start"
}

echo "== replywatchd alert latency: $WAITS waits, deadlines over ${SPREAD}s" \
    "from start+${FIRST}s, poll_interval ${INTERVAL}s, sla_broadcast" \
    "${SLA}s, group_wait 0s"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' \
    /proc/cpuinfo | head -n 1), kernel $(uname -r)"
echo "load average before: $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "note: group_wait = 0s, so each firing is sent at once; with the" \
    "default 30s, grouping adds up to group_wait by design"

mkdir -p "$OUT"/tok
"$PYTHON" "$FAKE" --accounts 1 --rate-limit 1000000 --quiet \
    --token-file-dir "$OUT"/tok --port-file "$OUT"/port 2>"$OUT"/fake.log &
FAKE_PID=$!
"$PYTHON" "$HOOK" --quiet --port-file "$OUT"/hook.port 2>"$OUT"/hook.log &
HOOK_PID=$!
wait_port "$OUT"/port "$FAKE_PID" fake
wait_port "$OUT"/hook.port "$HOOK_PID" hook
PORT=$(cat "$OUT"/port)
HOOK_PORT=$(cat "$OUT"/hook.port)

{
	printf '[daemon]\ndatabase = %s/rw.db\nlog_level = notice\n\n' "$OUT"
	printf '[account "brand1"]\nconnector = mastodon\n'
	printf 'url = http://127.0.0.1:%s\n' "$PORT"
	printf 'token_file = %s/tok/brand1.token\n' "$OUT"
	printf 'poll_interval = %ss\n' "$INTERVAL"
	# the first poll walks back over every mention (the fake dates a
	# notification when it was posted, so any backfill would do)
	printf 'backfill = %ss\n' $((SLA + 3600))
	# a mention read as a complaint would be due by sla_complaint
	printf 'sla_broadcast = %ss\nsla_complaint = %ss\n' "$SLA" "$SLA"
	printf 'sla_direct = %ss\n' "$SLA"
	printf 'group_wait = 0s\ncomplaint_spike_floor = 0\n\n'
	printf '[route "bench-hook"]\ntype = webhook\n'
	printf 'url = http://127.0.0.1:%s/alerts\n' "$HOOK_PORT"
} >"$OUT"/rw.conf

# The mentions: deadline_i = B + FIRST + SPREAD * u_i, u_i uniform in
# [0, 1) (seeded), created_at = deadline - SLA, where B = the start of the
# posting + LEAD, about when the daemon starts. Printed: B, the seconds the
# posting took.
cat >"$OUT"/post.py <<'EOF'
import http.client, json, random, sys, time
port, n, spread, first, sla, seed, lead = (int(a) for a in sys.argv[1:8])
rng = random.Random(seed)
def rfc3339(ms):
    s, frac = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%03dZ" % frac
con = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
t0 = time.time()
base = t0 + lead
posted = []
for i in range(n):
    deadline_ms = int(round((base + first + spread * rng.random()) * 1000))
    body = json.dumps({"brand": "brand1", "from": "cust%d" % (i % 97),
                       "visibility": "public", "mention": True,
                       "text": "Hello, where can I find the opening hours "
                               "of your shop? (%d)" % i,
                       "created_at": rfc3339(deadline_ms - sla * 1000)})
    con.request("POST", "/_fixture/status", body,
                {"Content-Type": "application/json"})
    r = con.getresponse()
    answer = r.read()
    if r.status != 200:
        sys.exit("POST /_fixture/status: %d %s" % (r.status, answer[:200]))
    posted.append({"id": json.loads(answer)["id"], "deadline_ms": deadline_ms})
con.close()
json.dump(posted, open(sys.argv[8], "w"))
print("%.3f %.3f" % (base, time.time() - t0))
EOF
read -r BASE POST_S <<<"$("$PYTHON" "$OUT"/post.py "$PORT" "$WAITS" \
    "$SPREAD" "$FIRST" "$SLA" "$SEED" "$LEAD" "$OUT"/posted.json)" ||
    die "posting the mentions failed"
[ -n "$POST_S" ] || die "posting the mentions failed"

T_START=$(now)
"$RWD" -c "$OUT"/rw.conf 2>"$OUT"/daemon.log &
DAEMON_PID=$!
echo "posted $WAITS mentions in ${POST_S}s; replywatchd started" \
    "$(calc "sprintf(\"%.2f\", b - s)" -v s="$T_START" -v b="$BASE")s" \
    "before the deadlines' base (the first deadline falls at base +" \
    "${FIRST}s or later)"

# The first poll: until every wait is stored (or 60 s).
cat >"$OUT"/first-poll.py <<'EOF'
import sqlite3, sys, time
db, want, pid, start = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
end = time.monotonic() + 60
n = 0
while time.monotonic() < end:
    time.sleep(0.2)
    try:
        with open("/proc/%s/stat" % pid) as f:
            alive = f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        alive = False
    if not alive:
        sys.exit("replywatchd exited")
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=1)
        n = con.execute("SELECT count(*) FROM waits WHERE closed_ms IS NULL").fetchone()[0]
        ok = con.execute("SELECT max(last_ok_ms) FROM streams s JOIN accounts a "
                         "ON a.id = s.account_id WHERE s.stream = 'mentions'").fetchone()[0]
        con.close()
    except sqlite3.Error:
        continue
    if n >= want and ok:
        print("%.3f" % (ok / 1000.0 - start))
        sys.exit(0)
sys.exit("after 60 s, %d of %d waits stored" % (n, want))
EOF
FIRST_POLL=$("$PYTHON" "$OUT"/first-poll.py "$OUT"/rw.db "$WAITS" \
    "$DAEMON_PID" "$T_START") || { tail -n 5 "$OUT"/daemon.log >&2; die "the first poll did not store" \
    "the $WAITS waits"; }
HZ=$(getconf CLK_TCK)
cpu_s() {
	awk -v hz="$HZ" '{ printf "%.2f", ($14 + $15) / hz }' \
	    /proc/"$DAEMON_PID"/stat
}
CPU_FIRST=$(cpu_s)
echo "first poll stored the $WAITS waits at start+${FIRST_POLL}s" \
    "(daemon CPU so far ${CPU_FIRST}s)"

# Until every firing webhook has arrived, or GRACE s after the last
# deadline.
LAST_DL=$("$PYTHON" -c 'import json, sys
print("%.3f" % (max(p["deadline_ms"] for p in json.load(open(sys.argv[1]))) / 1000))' \
    "$OUT"/posted.json)
echo "waiting for $WAITS firing webhooks, at most until" \
    "start+$(calc "sprintf(\"%.0f\", l + g - s)" -v l="$LAST_DL" \
    -v g="$GRACE" -v s="$T_START")s"
"$PYTHON" - "$HOOK_PORT" "$WAITS" "$LAST_DL" "$GRACE" "$DAEMON_PID" \
    <<'EOF' || true
import json, sys, time, urllib.request
port, want, last, grace, pid = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
url = "http://127.0.0.1:%s/_fixture/requests" % port
while True:
    got = 0
    for r in json.load(urllib.request.urlopen(url, timeout=30)):
        if r["event"] == "firing" and 200 <= (r["status"] or 0) < 300 and not r["duplicate"]:
            b = json.loads(r["body"])
            got += sum(1 for a in b.get("alerts", []) if a.get("rule") == "overdue")
    if got >= want:
        sys.exit(0)
    if time.time() > last + grace:
        print("alert-latency: %d of %d firing alerts after the grace period"
              % (got, want), file=sys.stderr)
        sys.exit(1)
    try:
        open("/proc/%s/stat" % pid).close()
    except OSError:
        sys.exit("replywatchd exited")
    time.sleep(1)
EOF
T_END=$(now)
kill -0 "$DAEMON_PID" 2>/dev/null || die "replywatchd exited: $(tail -n 3 \
    "$OUT"/daemon.log)"
CPU=$(cpu_s)
RSS=$(awk '/^VmHWM/ { print $2 }' /proc/"$DAEMON_PID"/status)
"$PYTHON" -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=30).read().decode())' \
    "http://127.0.0.1:$HOOK_PORT/_fixture/requests" >"$OUT"/hook.json ||
    die "could not read the webhook requests"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || die "replywatchd did not stop cleanly"
DAEMON_PID=
cleanup

# The figures. Latency of an alert = receipt of its first firing webhook
# - details.deadline; the reference = the first evaluation at start + k *
# INTERVAL at or after the deadline - the deadline. Percentiles by nearest
# rank. fired_ms (the alerts table) splits the latency in two.
"$PYTHON" - "$OUT"/hook.json "$OUT"/posted.json "$OUT"/rw.db "$T_START" \
    "$INTERVAL" "$OUT"/latencies.txt >"$OUT"/analysis.txt <<'EOF' ||
import json, math, re, sqlite3, sys
from datetime import datetime, timezone
reqs = json.load(open(sys.argv[1]))
posted = json.load(open(sys.argv[2]))
start, interval = float(sys.argv[4]), float(sys.argv[5])

def parse(t):
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", t)
    if m is None:
        raise ValueError("not RFC 3339: %r" % t)
    s = datetime(*(int(g) for g in m.groups()[:6]), tzinfo=timezone.utc).timestamp()
    s += float(m.group(7) or 0)
    if m.group(8) != "Z":
        sign = 1 if m.group(8)[0] == "+" else -1
        s -= sign * (int(m.group(8)[1:3]) * 3600 + int(m.group(8)[4:6]) * 60)
    return s

def pct(v, p):
    v = sorted(v)
    return v[max(0, math.ceil(p / 100.0 * len(v)) - 1)] if v else float("nan")

want = {p["id"]: p["deadline_ms"] / 1000.0 for p in posted}
first = {}			# message id -> (receipt, deadline, alert id)
other_events = {}
requests_per_body = []
bad_status = dup = 0
deadline_off = twice = 0
for r in reqs:
    if not 200 <= (r["status"] or 0) < 300:
        bad_status += 1
        continue
    if r["duplicate"]:
        dup += 1
        continue
    b = json.loads(r["body"])
    if r["event"] != "firing" or b.get("rule") != "overdue":
        k = "%s/%s" % (b.get("rule"), r["event"])
        other_events[k] = other_events.get(k, 0) + 1
        continue
    requests_per_body.append(len(b["alerts"]))
    for a in b["alerts"]:
        d = a["details"]
        mid, dl = d["message_id"], parse(d["deadline"])
        if mid in want and abs(dl - want[mid]) > 0.0015:
            deadline_off += 1
        if mid not in first:
            first[mid] = (r["time"], dl, a["id"])
        elif first[mid][2] != a["id"]:
            twice += 1
fired = {}
con = sqlite3.connect("file:%s?mode=ro" % sys.argv[3], uri=True)
for aid, fms in con.execute("SELECT id, fired_ms FROM alerts WHERE rule = 'overdue'"):
    fired[aid] = fms / 1000.0
con.close()

lat = [rcv - dl for rcv, dl, _ in first.values()]
to_fire = [fired[aid] - dl for _, dl, aid in first.values() if aid in fired]
fire_to_rcv = [rcv - fired[aid] for rcv, _, aid in first.values() if aid in fired]
deadlines = sorted(want.values())
ref = [start + math.ceil((dl - start) / interval) * interval - dl for dl in deadlines]
with open(sys.argv[6], "w") as f:
    for mid, (rcv, dl, _) in sorted(first.items(), key=lambda x: x[1][1]):
        f.write("%s %.3f %.3f %.1f\n" % (mid, dl - start, rcv - start, (rcv - dl) * 1000))
out = {
    "alerts": len(first), "expected": len(want),
    "missing": len(set(want) - set(first)), "unexpected": len(set(first) - set(want)),
    "deadline_mismatch": deadline_off, "second_alerts": twice, "bodies": len(requests_per_body),
    "max_alerts_per_body": max(requests_per_body or [0]),
    "non_2xx": bad_status, "duplicates": dup,
    "other_events": ",".join("%s:%d" % kv for kv in sorted(other_events.items())) or "none",
    "deadline_first_s": "%.1f" % (deadlines[0] - start),
    "deadline_last_s": "%.1f" % (deadlines[-1] - start),
}
for name, v in (("lat", lat), ("ref", ref), ("fire", to_fire), ("send", fire_to_rcv)):
    for p in (50, 90, 99, 100):
        out["%s_p%d_ms" % (name, p)] = "%.1f" % (1000 * pct(v, p)) if v else "nan"
    out["%s_min_ms" % name] = "%.1f" % (1000 * min(v)) if v else "nan"
for k, v in out.items():
    print("%s=%s" % (k, v))
EOF
    die "the analysis failed"

field() { sed -n "s/^$1=//p" "$OUT"/analysis.txt; }
cat "$OUT"/analysis.txt >>"$OUT"/results.txt
record start_epoch "$T_START"
record post_seconds "$POST_S"
record first_poll_seconds "$FIRST_POLL"
record cpu_seconds "$CPU"
record cpu_first_poll_seconds "$CPU_FIRST"
record peak_rss_kib "$RSS"
RUN_S=$(calc "sprintf(\"%.0f\", e - s)" -v s="$T_START" -v e="$T_END")
record run_seconds "$RUN_S"

N=$(field alerts)
P99=$(field lat_p99_ms)
RP99=$(field ref_p99_ms)
RATIO=$(calc "sprintf(\"%.4f\", p / r)" -v p="$P99" -v r="$RP99")
record ratio_p99 "$RATIO"
echo "deadlines from start+$(field deadline_first_s)s to" \
    "start+$(field deadline_last_s)s"
echo "firing webhooks: $N alerts of $(field expected) ($(field missing)" \
    "missing, $(field unexpected) unexpected, $(field second_alerts)" \
    "second alerts for a message, $(field deadline_mismatch) with another" \
    "deadline than posted) in $(field bodies) requests (at" \
    "most $(field max_alerts_per_body) alerts in one); $(field non_2xx)" \
    "not 2xx, $(field duplicates) duplicates; other events:" \
    "$(field other_events)"
printf '%-36s %9s %9s %9s %9s %9s\n' "latency, ms" min p50 p90 p99 max
for s in "lat:replywatchd, deadline -> webhook" \
    "fire:  deadline -> alert fired" "send:  fired -> webhook received" \
    "ref:every-${INTERVAL}s evaluation (reference)"; do
	k=${s%%:*}
	printf '%-36s %9s %9s %9s %9s %9s\n' "${s#*:}" "$(field "${k}_min_ms")" \
	    "$(field "${k}_p50_ms")" "$(field "${k}_p90_ms")" \
	    "$(field "${k}_p99_ms")" "$(field "${k}_p100_ms")"
done
echo "p99 replywatchd / p99 reference: $RATIO (1/$(calc \
    "sprintf(\"%.0f\", r / p)" -v p="$P99" -v r="$RP99"))"
echo "replywatchd over the run (${RUN_S}s): CPU ${CPU}s (${CPU_FIRST}s up to" \
    "the end of the first poll), peak RSS $((RSS / 1024)) MiB ($RSS KiB)"

verdict() { if [ "$1" = 1 ]; then echo PASS; else echo FAIL; fi; }
V_P99=$(verdict "$(calc "p <= m" -v p="$P99" -v m="$P99_MAX_MS")")
V_ALL=$(verdict "$(calc "n == w && t == 0" -v n="$N" -v w="$WAITS" \
    -v t="$(field second_alerts)")")
echo
echo "== summary ($WAITS waits over ${SPREAD}s, poll_interval ${INTERVAL}s," \
    "group_wait 0s)"
printf '%-40s %-30s %-12s %s\n' "figure" "measured" "target" "result"
printf '%-40s %-30s %-12s %s\n' "alert latency p99 (deadline -> webhook)" \
    "$P99 ms (ratio $RATIO)" "<= $P99_MAX_MS ms" "$V_P99"
printf '%-40s %-30s %-12s %s\n' "firing alerts received" "$N of $WAITS" \
    "all" "$V_ALL"
echo "alert latency p99: $V_P99"
echo "alerts received: $V_ALL"
echo "results: $OUT/results.txt"
if [ "$V_P99" = FAIL ] || [ "$V_ALL" = FAIL ]; then
	echo "alert-latency: some targets were missed" >&2
	exit 1
fi

#!/bin/sh
# SPDX-License-Identifier: ISC
#
# Fan-out benchmark of replywatchd (bench/README.md, "The daemon"): one
# full poll cycle of 1,000 Mastodon accounts against the fake server on
# loopback, next to curl fetching the same URLs with the same parallelism
# in the same run, and the daemon's peak RSS.
#
#	sh bench/fanout.sh BUILDDIR
#	RUNS=1 sh bench/fanout.sh _build		# one run
#
# Needs BUILDDIR/replywatchd, python3 (the fake server, tests/fakes/
# mastodon.py, and its sqlite3 module) and curl. Work files go to
# BUILDDIR/bench/out/fanout/. Exits 1 if a target is missed, 2 if the
# benchmark itself could not run.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
export LC_ALL=C

BUILD=${1:-.}
SRC=$(cd "$(dirname "$0")/.." && pwd)
RWD=$BUILD/replywatchd
FAKE=$SRC/tests/fakes/mastodon.py
PYTHON=${PYTHON:-python3}
CURL=${CURL:-curl}

ACCOUNTS=${ACCOUNTS:-1000}	# brand accounts, 2 streams each
CONNS=${CONNS:-50}		# max_host_connections = curl --parallel-max
PER_BRAND=${PER_BRAND:-5}	# new mentions per brand before the cycle
RUNS=${RUNS:-3}			# daemon cycles, each with a fresh server
REFS=${REFS:-2}			# curl runs per cycle; the fastest counts
TIMEOUT=${TIMEOUT:-300}		# seconds a cycle may take before giving up

# Targets.
RATIO_MAX=1.5			# cycle / curl, median of the runs
RSS_MAX_KIB=40960		# peak RSS of replywatchd, every run

OUT=$BUILD/bench/out/fanout

for f in "$RWD" "$FAKE"; do
	if [ ! -e "$f" ]; then
		echo "fanout: $f not found (build first; BUILDDIR is the" \
		    "first argument)" >&2
		exit 2
	fi
done
for p in "$PYTHON" "$CURL"; do
	if ! command -v "$p" >/dev/null 2>&1; then
		echo "fanout: $p is needed" >&2
		exit 2
	fi
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/results.txt

now() { date +%s.%N; }
calc() {
	local e=$1
	shift
	awk "$@" "BEGIN { print ($e) }" </dev/null
}
record() { echo "$1=$2" >>"$OUT"/results.txt; }

# Only the processes started here are stopped, by their pid.
FAKE_PID=
DAEMON_PID=
cleanup() {
	if [ -n "$DAEMON_PID" ]; then
		kill -TERM "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	if [ -n "$FAKE_PID" ]; then
		kill -TERM "$FAKE_PID" 2>/dev/null || true
		wait "$FAKE_PID" 2>/dev/null || true
	fi
	DAEMON_PID=
	FAKE_PID=
}
trap cleanup EXIT
trap 'exit 2' INT TERM

die() {
	echo "fanout: $*" >&2
	exit 2
}

# start_fake DIR: the fake server with ACCOUNTS brands; sets PORT.
start_fake() {
	local dir=$1
	rm -rf "$dir"/tok "$dir"/port
	mkdir -p "$dir"/tok
	"$PYTHON" "$FAKE" --accounts "$ACCOUNTS" --rate-limit 1000000 \
	    --quiet --token-file-dir "$dir"/tok --port-file "$dir"/port \
	    2>"$dir"/fake.log &
	FAKE_PID=$!
	for _ in $(seq 1200); do
		[ -s "$dir"/port ] && break
		kill -0 "$FAKE_PID" 2>/dev/null || die "the fake server" \
		    "exited: $(tail -n 3 "$dir"/fake.log)"
		sleep 0.1
	done
	[ -s "$dir"/port ] || die "the fake server did not start"
	PORT=$(cat "$dir"/port)
}

# write_conf DIR: a configuration of ACCOUNTS accounts, one cycle an hour.
write_conf() {
	local dir=$1 k
	{
		printf '[daemon]\ndatabase = %s/rw.db\nlog_level = notice\n' \
		    "$dir"
		printf 'max_host_connections = %s\n\n' "$CONNS"
		for k in $(seq "$ACCOUNTS"); do
			printf '[account "brand%d"]\nconnector = mastodon\n' "$k"
			printf 'url = http://127.0.0.1:%s\n' "$PORT"
			printf 'token_file = %s/tok/brand%d.token\n' "$dir" "$k"
			printf 'poll_interval = 1h\nbackfill = 1h\n\n'
		done
	} >"$dir"/rw.conf
}

# wait_cycle DB N PID: until N streams have a last_ok; exits 3 if a stream
# failed, 4 on timeout, 5 if PID exited.
wait_cycle() {
	"$PYTHON" - "$1" "$2" "$TIMEOUT" "$3" <<'EOF'
import os, sqlite3, sys, time
db, want, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + limit
con = None
ok = 0
while time.monotonic() < end:
    time.sleep(0.2)
    try:
        with open("/proc/%s/stat" % sys.argv[4]) as f:
            alive = f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        alive = False
    if not alive:
        print("replywatchd exited", file=sys.stderr)
        sys.exit(5)
    try:
        if con is None:
            if not os.path.exists(db + "-wal"):
                continue
            con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
        ok, bad = con.execute("SELECT coalesce(sum(last_ok_ms > 0), 0),"
                              " coalesce(sum(failures > 0), 0) FROM streams").fetchone()
    except sqlite3.Error:
        continue
    if bad:
        row = con.execute("SELECT last_error FROM streams WHERE failures > 0").fetchone()
        print("a stream failed: %s" % (row[0],), file=sys.stderr)
        sys.exit(3)
    if ok >= want:
        sys.exit(0)
print("timed out with %d of %d streams polled" % (ok, want), file=sys.stderr)
sys.exit(4)
EOF
}

# analyze DIR PORT: what the daemon requested and when it committed;
# writes DIR/curl.cfg (the same URLs and headers) and prints key=value.
analyze() {
	"$PYTHON" - "$1" "$2" <<'EOF'
import collections, json, sqlite3, sys, urllib.request
d, port = sys.argv[1], sys.argv[2]
base = "http://127.0.0.1:%s" % port
reqs = json.load(urllib.request.urlopen(base + "/_fixture/requests"))
con = sqlite3.connect("file:%s/rw.db?mode=ro" % d, uri=True)
last_ok, first_poll, fetched, n = con.execute(
    "SELECT max(last_ok_ms), min(last_poll_ms), sum(fetched), count(*) FROM streams").fetchone()
msgs = con.execute("SELECT count(*) FROM messages").fetchone()[0]
bad = [r for r in reqs if r["status"] != 200]
kinds = collections.Counter(r["path"].rsplit("/", 1)[-1] for r in reqs)
with open(d + "/curl.cfg", "w") as f:
    for i, r in enumerate(reqs):
        url = base + r["path"] + ("?" + r["query"] if r["query"] else "")
        f.write('%surl = "%s"\nheader = "Authorization: Bearer %s"\n'
                'header = "Accept: application/json"\ncompressed\n'
                'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n'
                % ("next\n" if i else "", url, r["token"]))
t0, t1 = reqs[0]["time"], reqs[-1]["time"]
print("requests=%d" % len(reqs))
print("requests_not_200=%d" % len(bad))
print("verify_credentials=%d" % kinds["verify_credentials"])
print("notifications=%d" % kinds["notifications"])
print("statuses=%d" % kinds["statuses"])
print("streams=%d" % n)
print("messages=%d" % msgs)
print("fetched=%d" % (fetched or 0))
print("first_request=%.3f" % t0)
print("last_request=%.3f" % t1)
print("last_commit=%.3f" % (last_ok / 1000.0))
print("cycle_seconds=%.3f" % (last_ok / 1000.0 - t0))
print("request_span_seconds=%.3f" % (t1 - t0))
EOF
}

field() { sed -n "s/^$1=//p" "$2"; }

echo "== replywatchd fan-out: $ACCOUNTS accounts, $PER_BRAND new mentions" \
    "each, max_host_connections=$CONNS, $RUNS runs"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' \
    /proc/cpuinfo | head -n 1), kernel $(uname -r);" \
    "$("$CURL" --version | head -n 1 | cut -d ' ' -f 1-2)"
echo "load average before: $(cut -d ' ' -f 1-3 /proc/loadavg)"

CYCLES=
RATIOS=
RSS_WORST=0
FAILED=0
for run in $(seq "$RUNS"); do
	D=$OUT/run$run
	mkdir -p "$D"
	rm -f "$D"/rw.db "$D"/rw.db-wal "$D"/rw.db-shm
	start_fake "$D"
	"$CURL" -sSf -X POST -H 'Content-Type: application/json' \
	    -d "{\"per_brand\": $PER_BRAND}" \
	    "http://127.0.0.1:$PORT/_fixture/bulk" >/dev/null ||
	    die "POST /_fixture/bulk failed"
	write_conf "$D"

	T_START=$(now)
	"$RWD" -c "$D"/rw.conf 2>"$D"/daemon.log &
	DAEMON_PID=$!
	rc=0
	wait_cycle "$D"/rw.db $((ACCOUNTS * 2)) "$DAEMON_PID" || rc=$?
	if [ "$rc" != 0 ]; then
		tail -n 5 "$D"/daemon.log >&2
		die "run $run: the cycle did not complete"
	fi
	RSS=$(awk '/^VmHWM/ { print $2 }' /proc/"$DAEMON_PID"/status)
	CPU=$(awk -v hz="$(getconf CLK_TCK)" \
	    '{ printf "%.2f", ($14 + $15) / hz }' /proc/"$DAEMON_PID"/stat)
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID" || die "run $run: replywatchd did not stop cleanly"
	DAEMON_PID=

	analyze "$D" "$PORT" >"$D"/analysis.txt
	REQS=$(field requests "$D"/analysis.txt)
	[ "$(field requests_not_200 "$D"/analysis.txt)" = 0 ] ||
	    die "run $run: some daemon requests did not get a 200"
	CYCLE=$(field cycle_seconds "$D"/analysis.txt)
	START_TO_DONE=$(calc "sprintf(\"%.3f\", c - s)" \
	    -v c="$(field last_commit "$D"/analysis.txt)" -v s="$T_START")

	# The reference: the same URLs and headers, CONNS at a time.
	BEST=
	for ref in $(seq "$REFS"); do
		t0=$(now)
		"$CURL" -sS -g --parallel --parallel-immediate \
		    --parallel-max "$CONNS" -K "$D"/curl.cfg >"$D"/codes.txt \
		    2>"$D"/curl.err || die "run $run: curl failed:" \
		    "$(grep -v '^ *[-D0-9]' "$D"/curl.err | head -n 3)"
		t1=$(now)
		ok=$(grep -c '^200$' "$D"/codes.txt || true)
		[ "$ok" = "$REQS" ] ||
		    die "run $run: curl got $ok answers 200 of $REQS"
		s=$(calc "sprintf(\"%.3f\", b - a)" -v a="$t0" -v b="$t1")
		if [ -z "$BEST" ] || [ "$(calc "s < b" -v s="$s" -v b="$BEST")" = 1 ]; then
			BEST=$s
		fi
		record "run${run}_curl${ref}_seconds" "$s"
	done
	cleanup

	RATIO=$(calc "sprintf(\"%.2f\", c / r)" -v c="$CYCLE" -v r="$BEST")
	CYCLES="$CYCLES $CYCLE"
	RATIOS="$RATIOS $RATIO"
	[ "$RSS" -le "$RSS_WORST" ] || RSS_WORST=$RSS
	echo "run $run: $REQS requests ($(field verify_credentials \
	    "$D"/analysis.txt) verify_credentials, $(field notifications \
	    "$D"/analysis.txt) notifications, $(field statuses \
	    "$D"/analysis.txt) statuses), $(field messages "$D"/analysis.txt)" \
	    "messages stored"
	echo "  cycle (first request -> last commit) $CYCLE s; daemon start" \
	    "-> last commit $START_TO_DONE s; requests span" \
	    "$(field request_span_seconds "$D"/analysis.txt) s"
	echo "  curl --parallel-max $CONNS, same URLs: $BEST s (best of" \
	    "$REFS); ratio $RATIO"
	echo "  replywatchd: peak RSS $((RSS / 1024)) MiB ($RSS KiB)," \
	    "CPU $CPU s"
	if [ "$(calc "c < 2" -v c="$CYCLE")" = 1 ]; then
		echo "  note: a cycle this short is mostly the daemon's 1 s" \
		    "spread of first polls (FIRST_POLL_SPREAD_MS); the ratio" \
		    "means something from about 500 accounts on"
	fi
	record "run${run}_requests" "$REQS"
	record "run${run}_cycle_seconds" "$CYCLE"
	record "run${run}_start_to_commit_seconds" "$START_TO_DONE"
	record "run${run}_curl_seconds" "$BEST"
	record "run${run}_ratio" "$RATIO"
	record "run${run}_peak_rss_kib" "$RSS"
	record "run${run}_cpu_seconds" "$CPU"
done

MEDIAN=$(echo "$RATIOS" | tr ' ' '\n' | sed '/^$/d' | sort -n |
    awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2)
	print (NR % 2) ? v[m] : (v[m] + v[m + 1]) / 2 }')
record ratio_median "$MEDIAN"
record peak_rss_kib_max "$RSS_WORST"
verdict() { if [ "$1" = 1 ]; then echo PASS; else echo FAIL; fi; }
V_RATIO=$(verdict "$(calc "r <= m" -v r="$MEDIAN" -v m="$RATIO_MAX")")
V_RSS=$(verdict "$(calc "r <= m" -v r="$RSS_WORST" -v m="$RSS_MAX_KIB")")
echo
echo "== summary ($ACCOUNTS accounts, max_host_connections=$CONNS)"
printf '%-40s %-28s %-12s %s\n' "figure" "measured" "target" "result"
printf '%-40s %-28s %-12s %s\n' "cycle / curl (median of $RUNS)" \
    "$MEDIAN (runs:$RATIOS)" "<= $RATIO_MAX" "$V_RATIO"
printf '%-40s %-28s %-12s %s\n' "replywatchd peak RSS (worst run)" \
    "$((RSS_WORST / 1024)) MiB" "<= $((RSS_MAX_KIB / 1024)) MiB" "$V_RSS"
echo "fanout ratio: $V_RATIO"
echo "fanout peak RSS: $V_RSS"
echo "results: $OUT/results.txt"
[ "$V_RATIO" = PASS ] && [ "$V_RSS" = PASS ] || FAILED=1
if [ "$FAILED" != 0 ]; then
	echo "fanout: some targets were missed" >&2
	exit 1
fi

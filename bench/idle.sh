#!/bin/sh
# SPDX-License-Identifier: ISC
#
# Idle benchmark of replywatchd (bench/README.md, "The daemon"): 100
# Mastodon accounts polled every 60 s against the fake server, with no new
# data. After the first cycle, it measures over IDLE_SECONDS the CPU time
# of the daemon (utime + stime in /proc/PID/stat) and its wake-ups
# (voluntary context switches in /proc/PID/status: each sleep in
# epoll_wait that ends is one), next to the polls the server saw; then,
# over STRACE_SECONDS, it traces the loop's system calls to sort every
# wake-up: one that sends or receives nothing served no poll. A poll wakes
# the daemon once on its timer, then once or more for its answer (the fake
# server sends the headers and the body in separate segments), so the
# context switches per poll are shown but not judged.
#
#	sh bench/idle.sh BUILDDIR
#	IDLE_SECONDS=60 STRACE_SECONDS=30 sh bench/idle.sh BUILDDIR	# quick
#
# Needs BUILDDIR/replywatchd, python3 (the fake server, tests/fakes/
# mastodon.py), curl and strace (without strace the second part is
# skipped). Work files go to BUILDDIR/bench/out/idle/. Exits 1 if a target
# is missed, 2 if the benchmark itself could not run.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
export LC_ALL=C

BUILD=${1:-.}
SRC=$(cd "$(dirname "$0")/.." && pwd)
RWD=$BUILD/replywatchd
FAKE=$SRC/tests/fakes/mastodon.py
PYTHON=${PYTHON:-python3}
CURL=${CURL:-curl}
STRACE=${STRACE:-strace}

ACCOUNTS=${ACCOUNTS:-100}	# 2 streams each
INTERVAL=${INTERVAL:-60}	# poll_interval, seconds
IDLE_SECONDS=${IDLE_SECONDS:-300}	# the /proc window
STRACE_SECONDS=${STRACE_SECONDS:-60}	# the strace window; 0: none
SETTLE=${SETTLE:-5}		# seconds after the first cycle

# Targets.
CPU_MAX_PCT=0.5			# of one core, over IDLE_SECONDS
IDLE_WAKE_MAX=0			# wake-ups that serve no poll (strace), and
				# no more timer wake-ups than polls

OUT=$BUILD/bench/out/idle

for f in "$RWD" "$FAKE"; do
	if [ ! -e "$f" ]; then
		echo "idle: $f not found (build first; BUILDDIR is the first" \
		    "argument)" >&2
		exit 2
	fi
done
for p in "$PYTHON" "$CURL"; do
	if ! command -v "$p" >/dev/null 2>&1; then
		echo "idle: $p is needed" >&2
		exit 2
	fi
done
if [ "$STRACE_SECONDS" != 0 ] && ! command -v "$STRACE" >/dev/null 2>&1; then
	echo "idle: note: no strace (Debian package strace): the wake-ups" \
	    "are not sorted"
	STRACE_SECONDS=0
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/results.txt "$OUT"/strace.txt "$OUT"/rw.db "$OUT"/rw.db-wal \
    "$OUT"/rw.db-shm
rm -rf "$OUT"/tok "$OUT"/port

calc() {
	local e=$1
	shift
	awk "$@" "BEGIN { print ($e) }" </dev/null
}
record() { echo "$1=$2" >>"$OUT"/results.txt; }
die() {
	echo "idle: $*" >&2
	exit 2
}

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

# ticks PID: utime + stime, in clock ticks.
ticks() { awk '{ print $14 + $15 }' /proc/"$1"/stat; }
# switches PID: voluntary and involuntary context switches.
switches() {
	awk '/^voluntary_ctxt_switches/ { v = $2 }
	    /^nonvoluntary_ctxt_switches/ { n = $2 } END { print v, n }' \
	    /proc/"$1"/status
}
# served FROM TO: API requests the fake server received in [FROM, TO).
served() {
	"$PYTHON" - "$PORT" "$1" "$2" <<'EOF'
import json, sys, urllib.request
port, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
reqs = json.load(urllib.request.urlopen("http://127.0.0.1:%s/_fixture/requests" % port))
inside = [r for r in reqs if t0 <= r["time"] < t1]
print(len(inside), sum(1 for r in inside if r["status"] != 200))
EOF
}

echo "== replywatchd idle: $ACCOUNTS accounts, poll_interval ${INTERVAL}s," \
    "no new data; ${IDLE_SECONDS}s measured, ${STRACE_SECONDS}s traced"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' \
    /proc/cpuinfo | head -n 1), kernel $(uname -r)"
echo "load average before: $(cut -d ' ' -f 1-3 /proc/loadavg)"

mkdir -p "$OUT"/tok
"$PYTHON" "$FAKE" --accounts "$ACCOUNTS" --rate-limit 1000000 --quiet \
    --token-file-dir "$OUT"/tok --port-file "$OUT"/port 2>"$OUT"/fake.log &
FAKE_PID=$!
for _ in $(seq 600); do
	[ -s "$OUT"/port ] && break
	kill -0 "$FAKE_PID" 2>/dev/null || die "the fake server exited"
	sleep 0.1
done
[ -s "$OUT"/port ] || die "the fake server did not start"
PORT=$(cat "$OUT"/port)
# Something to store in the first cycle, so that every later poll is an
# incremental one from a cursor; nothing new after that.
"$CURL" -sSf -X POST -d '{"per_brand": 2}' \
    "http://127.0.0.1:$PORT/_fixture/bulk" >/dev/null ||
    die "POST /_fixture/bulk failed"
{
	printf '[daemon]\ndatabase = %s/rw.db\nlog_level = notice\n\n' "$OUT"
	for k in $(seq "$ACCOUNTS"); do
		printf '[account "brand%d"]\nconnector = mastodon\n' "$k"
		printf 'url = http://127.0.0.1:%s\n' "$PORT"
		printf 'token_file = %s/tok/brand%d.token\n' "$OUT" "$k"
		printf 'poll_interval = %ss\nbackfill = 1h\n\n' "$INTERVAL"
	done
} >"$OUT"/rw.conf

"$RWD" -c "$OUT"/rw.conf 2>"$OUT"/daemon.log &
DAEMON_PID=$!
# The first cycle: every stream polled once.
"$PYTHON" - "$OUT"/rw.db $((ACCOUNTS * 2)) <<'EOF' || die "no first cycle"
import os, sqlite3, sys, time
db, want = sys.argv[1], int(sys.argv[2])
for _ in range(600):
    time.sleep(0.1)
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        ok = con.execute("SELECT coalesce(sum(last_ok_ms > 0), 0) FROM streams").fetchone()[0]
        con.close()
    except sqlite3.Error:
        continue
    if ok >= want:
        sys.exit(0)
sys.exit(1)
EOF
sleep "$SETTLE"
kill -0 "$DAEMON_PID" 2>/dev/null || die "replywatchd exited"
FIRST_CPU=$(calc "sprintf(\"%.2f\", t / hz)" -v t="$(ticks "$DAEMON_PID")" \
    -v hz="$(getconf CLK_TCK)")
echo "first cycle done; CPU so far ${FIRST_CPU}s (start-up and first cycle)"

# ---- the /proc window ---------------------------------------------------
HZ=$(getconf CLK_TCK)
T0=$(date +%s.%N)
C0=$(ticks "$DAEMON_PID")
read -r V0 N0 <<<"$(switches "$DAEMON_PID")"
sleep "$IDLE_SECONDS"
C1=$(ticks "$DAEMON_PID")
read -r V1 N1 <<<"$(switches "$DAEMON_PID")"
T1=$(date +%s.%N)
read -r POLLS BAD <<<"$(served "$T0" "$T1")"
[ "$BAD" = 0 ] || echo "idle: warning: $BAD requests not answered 200"
W=$(calc "sprintf(\"%.1f\", b - a)" -v a="$T0" -v b="$T1")
CPU_S=$(calc "sprintf(\"%.2f\", t / hz)" -v t=$((C1 - C0)) -v hz="$HZ")
CPU_PCT=$(calc "sprintf(\"%.3f\", 100 * c / w)" -v c="$CPU_S" -v w="$W")
VOL=$((V1 - V0))
INVOL=$((N1 - N0))
EXPECT=$(calc "sprintf(\"%.0f\", s * w / i)" -v s=$((ACCOUNTS * 2)) \
    -v w="$W" -v i="$INTERVAL")
PER_POLL=$(calc "sprintf(\"%.2f\", p ? v / p : 0)" -v v="$VOL" -v p="$POLLS")
CPU_MS_POLL=$(calc "sprintf(\"%.2f\", p ? 1000 * c / p : 0)" -v c="$CPU_S" \
    -v p="$POLLS")
echo "window ${W}s: CPU ${CPU_S}s = ${CPU_PCT}% of one core" \
    "(${CPU_MS_POLL} ms per poll)"
echo "  polls (requests served): $POLLS, expected about $EXPECT" \
    "($((ACCOUNTS * 2)) streams x ${W}s / ${INTERVAL}s)"
echo "  wake-ups (voluntary context switches): $VOL = $PER_POLL per poll;" \
    "involuntary: $INVOL"
record window_seconds "$W"
record cpu_seconds "$CPU_S"
record cpu_percent "$CPU_PCT"
record polls "$POLLS"
record polls_expected "$EXPECT"
record voluntary_switches "$VOL"
record involuntary_switches "$INVOL"
record wakeups_per_poll "$PER_POLL"

# ---- the strace window --------------------------------------------------
V_IDLE=n/a
if [ "$STRACE_SECONDS" != 0 ]; then
	S0=$(date +%s.%N)
	timeout -s INT "$STRACE_SECONDS" "$STRACE" -f -tt -qq \
	    -e trace=epoll_wait,epoll_pwait,epoll_pwait2,sendto,sendmsg,write,writev,recvfrom,recvmsg,read,connect,accept4 \
	    -p "$DAEMON_PID" -o "$OUT"/strace.txt 2>"$OUT"/strace.err || true
	S1=$(date +%s.%N)
	read -r SPOLLS _ <<<"$(served "$S0" "$S1")"
	# A wake-up is an epoll_wait that may sleep (timeout not 0) and
	# returned; it served a poll if a socket was written or read before
	# the next epoll_wait.
	read -r WAKES TIMERW IOW NETW IDLEW <<<"$(awk '
	    / epoll_(p)?wait2?\(.*= [0-9]+$/ {
		if (open) { if (net) netw++; else idlew++ }
		open = 0
		if ($0 ~ /, 0\) += [0-9]+$/)
			next		# did not wait
		open = 1; net = 0; wakes++
		if ($NF == "0") timerw++; else iow++
		next
	    }
	    / (sendto|sendmsg|writev|recvfrom|recvmsg|connect)\(/ { net = 1 }
	    END {
		if (open) { if (net) netw++; else idlew++ }
		print wakes + 0, timerw + 0, iow + 0, netw + 0, idlew + 0
	    }' "$OUT"/strace.txt)"
	echo "strace over $(calc "sprintf(\"%.1f\", b - a)" -v a="$S0" \
	    -v b="$S1")s: $WAKES epoll_wait returns ($TIMERW on a timer," \
	    "$IOW on a socket), $SPOLLS polls served;"
	echo "  wake-ups that sent or received: $NETW; that did neither" \
	    "(served no poll): $IDLEW"
	record strace_polls "$SPOLLS"
	record strace_epoll_returns "$WAKES"
	record strace_timer_returns "$TIMERW"
	record strace_io_returns "$IOW"
	record strace_net_wakeups "$NETW"
	record strace_idle_wakeups "$IDLEW"
	if [ "$IDLEW" -le "$IDLE_WAKE_MAX" ] && [ "$TIMERW" -le "$SPOLLS" ]
	then
		V_IDLE=PASS
	else
		V_IDLE=FAIL
	fi
fi
cleanup

verdict() { if [ "$1" = 1 ]; then echo PASS; else echo FAIL; fi; }
V_CPU=$(verdict "$(calc "c <= m" -v c="$CPU_PCT" -v m="$CPU_MAX_PCT")")
echo
echo "== summary ($ACCOUNTS accounts every ${INTERVAL}s, ${W}s)"
printf '%-44s %-22s %-10s %s\n' "figure" "measured" "target" "result"
printf '%-44s %-22s %-10s %s\n' "CPU, % of one core" "$CPU_PCT" \
    "<= $CPU_MAX_PCT" "$V_CPU"
printf '%-44s %-22s %-10s %s\n' "wake-ups per poll (/proc, not judged)" \
    "$VOL / $POLLS = $PER_POLL" "-" "-"
printf '%-44s %-22s %-10s %s\n' "wake-ups serving no poll (strace)" \
    "${IDLEW:-n/a}" "<= $IDLE_WAKE_MAX" "$V_IDLE"
printf '%-44s %-22s %-10s %s\n' "timer wake-ups vs polls (strace)" \
    "${TIMERW:-n/a} vs ${SPOLLS:-n/a}" "<= polls" "$V_IDLE"
echo "idle CPU: $V_CPU"
echo "idle wake-ups: $V_IDLE"
echo "results: $OUT/results.txt"
if [ "$V_CPU" = FAIL ] || [ "$V_IDLE" = FAIL ]; then
	echo "idle: some targets were missed" >&2
	exit 1
fi

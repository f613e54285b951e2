#!/bin/bash
# SPDX-License-Identifier: ISC
#
# The performance benchmark of the core (bench/README.md says what each
# figure means). Run from the build directory, after building:
#
#	make bench
#	N=200000 CONVS=20000 make bench		# a smaller run
#
# Needs ./replywatch, bench/rw-gen and bench/rw-refinsert; writes its work
# files under bench/out/. Exits 1 if a target is missed.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
export LC_ALL=C

N=${N:-1000000}
CONVS=${CONVS:-100000}
SEED=${SEED:-42}
RUNS=${RUNS:-5}			# stats: best of RUNS
ROUNDS=${ROUNDS:-5}		# import: median of ROUNDS paired runs
UNUSUAL=${UNUSUAL:-1}		# 0: no imports of unusual input
UNUSUAL_N=${UNUSUAL_N:-200000}	# messages with 500-byte ids
ONE_N=${ONE_N:-400000}		# messages of the one conversation

RW=./replywatch
GEN=bench/rw-gen
REF=bench/rw-refinsert
OUT=bench/out

# Targets.
RATIO_MIN=0.5			# import msgs/s over the SQLite ceiling
RSS_MAX_KIB=65536		# peak RSS of an import, whatever the input
RSS_GROWTH_MAX_KIB=8192		# full import over half-size import (checked
				# from N=200000 on: below, SQLite's 12 MiB
				# page cache is still filling up)
STATS_MAX_S=0.3			# stats --by kind,account over everything

# Windows. --at is fixed so that the figures do not depend on the day the
# benchmark runs; the generated messages span 2026-11-01 to early December.
AT=2027-01-01T00:00:00Z
ALL=(--since 2026-10-01T00:00:00Z --until "$AT" --at "$AT")
DAY=2026-11-10
ONEDAY=(--since "${DAY}T00:00:00Z" --until 2026-11-11T00:00:00Z --at "$AT")
EMPTY=(--since 2026-06-01T00:00:00Z --until 2026-06-02T00:00:00Z --at "$AT")

for f in "$RW" "$GEN" "$REF"; do
	if [ ! -x "$f" ]; then
		echo "bench: $f not found: run 'make bench' from the build" \
		    "directory" >&2
		exit 2
	fi
done
if [ "$N" -lt 4 ] || [ "$CONVS" -lt 4 ] || [ "$CONVS" -gt "$N" ]; then
	echo "bench: need 4 <= CONVS <= N" >&2
	exit 2
fi
mkdir -p "$OUT"
rm -f "$OUT"/results.txt

# now: wall-clock seconds with microseconds (bash 5).
now() { echo "$EPOCHREALTIME"; }
# calc EXPR [VAR=VALUE...]: awk arithmetic, printed.
calc() {
	local e=$1
	shift
	awk "$@" "BEGIN { print ($e) }" </dev/null
}
# field KEY LINE: the value of KEY=VALUE in a line.
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
record() { echo "$1=$2" >>"$OUT"/results.txt; }

# run_measured LOG CMD...: runs CMD with stderr to LOG; sets SECS (wall
# clock), RSS_KIB (peak resident set) and CPU (user+system seconds, or ?).
run_measured() {
	local log=$1 t0 t1 pid hwm v rc=0
	shift
	if [ -x /usr/bin/time ]; then
		t0=$(now)
		/usr/bin/time -f '%M %U %S' -o "$OUT"/time.txt "$@" 2>"$log" ||
		    rc=$?
		t1=$(now)
		RSS_KIB=$(tail -n 1 "$OUT"/time.txt | cut -d ' ' -f 1)
		CPU=$(tail -n 1 "$OUT"/time.txt | awk '{ printf "%.2f", $2 + $3 }')
	else
		# No GNU time: sample VmHWM (a high-water mark) until the end.
		t0=$(now)
		"$@" 2>"$log" &
		pid=$!
		hwm=0
		while kill -0 "$pid" 2>/dev/null; do
			v=$(awk '/^VmHWM/ { print $2 }' /proc/"$pid"/status \
			    2>/dev/null || true)
			[ -n "$v" ] && hwm=$v
			sleep 0.02
		done
		wait "$pid" || rc=$?
		t1=$(now)
		RSS_KIB="$hwm"
		CPU="?"
	fi
	SECS=$(calc "sprintf(\"%.3f\", b - a)" -v a="$t0" -v b="$t1")
	return $rc
}

# best_of CMD...: runs CMD RUNS times (stdout discarded); sets BEST and ALL_S.
best_of() {
	local t0 t1 s
	BEST=
	ALL_S=
	for _ in $(seq "$RUNS"); do
		t0=$(now)
		"$@" >/dev/null
		t1=$(now)
		s=$(calc "b - a" -v a="$t0" -v b="$t1")
		ALL_S="$ALL_S $(calc "sprintf(\"%.3f\", s)" -v s="$s")"
		if [ -z "$BEST" ] || [ "$(calc "s < b" -v s="$s" -v b="$BEST")" = 1 ]; then
			BEST=$s
		fi
	done
}

fresh_db() { rm -f "$1" "$1"-wal "$1"-shm "$1"-journal; }

import_run() {
	local db=$1 file=$2 n=$3 log=$4
	fresh_db "$db"
	sync
	if ! run_measured "$log" "$RW" -d "$db" import "$file"; then
		echo "bench: import of $file failed:" >&2
		tail -n 5 "$log" >&2
		exit 1
	fi
	if ! grep -q ": $n new, 0 already stored, 0 rejected" "$log"; then
		echo "bench: import of $file did not store $n new messages:" >&2
		tail -n 5 "$log" >&2
		exit 1
	fi
}

echo "== replywatch benchmark: N=$N messages, CONVS=$CONVS conversations," \
    "seed $SEED"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' \
    /proc/cpuinfo | head -n 1), $(awk '/^MemTotal/ { printf "%d MiB", $2 / 1024 }' \
    /proc/meminfo), kernel $(uname -r)"
echo "$("$RW" --version 2>&1 | head -n 1); $("$REF" -n 4 -c 4 -o "$OUT"/probe.db \
    | sed 's/.*sqlite=/SQLite /')"
rm -f "$OUT"/probe.db "$OUT"/probe.db-wal "$OUT"/probe.db-shm
echo "load average before: $(cut -d ' ' -f 1-3 /proc/loadavg)"
if [ ! -x /usr/bin/time ]; then
	echo "note: /usr/bin/time missing (Debian package time); sampling" \
	    "VmHWM instead, which can miss a short final peak"
fi

# ---- input ------------------------------------------------------------
HALF_N=$((N / 2))
HALF_C=$((CONVS / 2))
t0=$(now)
"$GEN" -n "$N" -c "$CONVS" -s "$SEED" >"$OUT"/messages.jsonl
"$GEN" -n "$HALF_N" -c "$HALF_C" -s "$SEED" >"$OUT"/messages-half.jsonl
t1=$(now)
SIZE=$(wc -c <"$OUT"/messages.jsonl)
DAY_MSGS=$(grep -c "\"created_at\":\"${DAY}T" "$OUT"/messages.jsonl || true)
echo "generated $OUT/messages.jsonl ($N lines, $((SIZE / 1048576)) MiB)" \
    "and messages-half.jsonl ($HALF_N lines) in" \
    "$(calc "sprintf(\"%.1f\", b - a)" -v a="$t0" -v b="$t1") s;" \
    "$DAY_MSGS messages on $DAY"

# ---- ingest -----------------------------------------------------------
# ROUNDS imports, each between two runs of the reference: the ceiling of a
# round is the faster of its two references (the less flattering ratio),
# and the figure is the median round. The machine's speed drifts from
# minute to minute; a pair sees both programs under the same conditions.
echo
echo "== ingest ($ROUNDS rounds: reference, import, reference)"
# ref_run: prints the reference's rows/s, and its line on stderr.
ref_run() {
	local line
	sync
	line=$("$REF" -n "$N" -c "$CONVS" -s "$SEED" -o "$OUT"/ref.db)
	rm -f "$OUT"/ref.db "$OUT"/ref.db-wal "$OUT"/ref.db-shm
	echo "reference:    $line" >&2
	field rows_per_s "$line"
}
REF_PREV=$(ref_run)
RATIOS=
: >"$OUT"/rounds.txt
for round in $(seq "$ROUNDS"); do
	import_run "$OUT"/rw.db "$OUT"/messages.jsonl "$N" "$OUT"/import.log
	echo "import #$round:    seconds=$SECS cpu_seconds=$CPU" \
	    "peak_rss_kib=$RSS_KIB ($(tail -n 1 "$OUT"/import.log |
	    sed 's/^replywatch import: //'))"
	REF_NEXT=$(ref_run)
	C=$(calc "a > b ? a : b" -v a="$REF_PREV" -v b="$REF_NEXT")
	R=$(calc "sprintf(\"%.3f\", n / s / c)" -v n="$N" -v s="$SECS" -v c="$C")
	echo "round #$round:     ceiling $C rows/s; import" \
	    "$(calc "sprintf(\"%.0f\", n / s)" -v n="$N" -v s="$SECS") msgs/s" \
	    "= $R x ceiling"
	RATIOS="$RATIOS $R"
	echo "$R $C $SECS $CPU $RSS_KIB" >>"$OUT"/rounds.txt
	REF_PREV=$REF_NEXT
done
# the median round (the lower middle one for an even count)
MEDIAN=$(sort -n "$OUT"/rounds.txt | sed -n "$(((ROUNDS + 1) / 2))p")
RATIO=$(echo "$MEDIAN" | cut -d ' ' -f 1)
CEIL=$(echo "$MEDIAN" | cut -d ' ' -f 2)
IMPORT_S=$(echo "$MEDIAN" | cut -d ' ' -f 3)
IMPORT_CPU=$(echo "$MEDIAN" | cut -d ' ' -f 4)
IMPORT_RSS=$(sort -n -k 5 "$OUT"/rounds.txt | tail -n 1 | cut -d ' ' -f 5)
IMPORT_RATE=$(calc "sprintf(\"%.0f\", n / s)" -v n="$N" -v s="$IMPORT_S")

import_run "$OUT"/rw-half.db "$OUT"/messages-half.jsonl "$HALF_N" \
    "$OUT"/import-half.log
HALF_S=$SECS
HALF_RSS=$RSS_KIB
HALF_CPU=$CPU
echo "import half:  seconds=$HALF_S cpu_seconds=$HALF_CPU" \
    "peak_rss_kib=$HALF_RSS"
fresh_db "$OUT"/rw-half.db
HALF_RATE=$(calc "sprintf(\"%.0f\", n / s)" -v n="$HALF_N" -v s="$HALF_S")
GROWTH=$((IMPORT_RSS - HALF_RSS))
echo "median round: ceiling ${CEIL} rows/s; import ${IMPORT_RATE} msgs/s" \
    "= ${RATIO} x ceiling (rounds:$RATIOS)"

# ---- unusual input ------------------------------------------------------
# What the store keeps per message and per conversation is bounded for any
# ids, not only the generator's: 200,000 broadcast messages whose id,
# conversation, author and reply target are 500 bytes each; and one
# conversation of 400,000 messages written newest first, so that each
# batch comes before the stored ones and the conversation is recomputed
# from all of its messages every time.
LONG_RSS=
ONE_RSS=
if [ "$UNUSUAL" != 0 ]; then
	echo
	echo "== unusual input"
	awk -v n="$UNUSUAL_N" -f - >"$OUT"/long-ids.jsonl <<'AWK'
function pad(s) { return substr(s P, 1, 500) }
BEGIN {
	P = sprintf("%500s", ""); gsub(/ /, "-", P)
	for (i = 0; i < n; i++) {
		r = ""
		if (i % 2)
			r = sprintf(",\"in_reply_to\":\"%s\"", pad("m" (i - 1)))
		printf "{\"platform\":\"x\",\"account\":\"acct\",\"id\":\"%s\"," \
		    "\"conversation\":\"%s\",\"kind\":\"broadcast\"," \
		    "\"direction\":\"%s\",\"author\":\"%s\"," \
		    "\"created_at\":\"2026-11-%02dT%02d:%02d:%02dZ\"," \
		    "\"text\":\"my order is late again\"%s}\n", pad("m" i),
		    pad("c" int(i / 2)), i % 2 ? "outbound" : "inbound",
		    pad("a" (i % 5000)), 1 + int(i / 8000) % 28,
		    int(i / 400) % 24, int(i / 60) % 60, i % 60, r
	}
}
AWK
	awk -v n="$ONE_N" -f - >"$OUT"/one-conversation.jsonl <<'AWK'
BEGIN {
	for (i = n - 1; i >= 0; i--) {
		s = 6 * i
		printf "{\"platform\":\"x\",\"account\":\"acct\",\"id\":\"m%d\"," \
		    "\"conversation\":\"one\",\"kind\":\"direct\"," \
		    "\"direction\":\"%s\",\"created_at\":" \
		    "\"2026-01-%02dT%02d:%02d:%02dZ\"," \
		    "\"text\":\"where is my parcel\"}\n", i,
		    i % 3 ? "inbound" : "outbound", 1 + int(s / 86400),
		    int(s / 3600) % 24, int(s / 60) % 60, s % 60
	}
}
AWK
	import_run "$OUT"/rw-unusual.db "$OUT"/long-ids.jsonl "$UNUSUAL_N" \
	    "$OUT"/import-long-ids.log
	LONG_RSS=$RSS_KIB
	echo "import, 500-byte ids: seconds=$SECS peak_rss_kib=$LONG_RSS"
	import_run "$OUT"/rw-unusual.db "$OUT"/one-conversation.jsonl \
	    "$ONE_N" "$OUT"/import-one.log
	ONE_RSS=$RSS_KIB
	echo "import, one conversation newest first: seconds=$SECS" \
	    "peak_rss_kib=$ONE_RSS"
	fresh_db "$OUT"/rw-unusual.db
	rm -f "$OUT"/long-ids.jsonl "$OUT"/one-conversation.jsonl
fi

# ---- queries ----------------------------------------------------------
echo
echo "== queries (best of $RUNS; the database file is in the page cache)"
DB_MIB=$(calc "sprintf(\"%.0f\", s / 1048576)" \
    -v s="$(cat "$OUT"/rw.db "$OUT"/rw.db-wal 2>/dev/null | wc -c)")
best_of "$RW" -d "$OUT"/rw.db stats --by kind,account "${ALL[@]}" --format json
FULL_S=$BEST
echo "stats --by kind,account, everything:  best $(calc "sprintf(\"%.3f\", s)" \
    -v s="$FULL_S") s (runs:$ALL_S)"
best_of "$RW" -d "$OUT"/rw.db stats --by kind,account "${ONEDAY[@]}" --format json
DAY_S=$BEST
echo "stats --by kind,account, $DAY only: best $(calc "sprintf(\"%.3f\", s)" \
    -v s="$DAY_S") s (runs:$ALL_S)"
best_of "$RW" -d "$OUT"/rw.db stats --by kind,account "${EMPTY[@]}" --format json
EMPTY_S=$BEST
echo "stats --by kind,account, empty day:    best $(calc "sprintf(\"%.3f\", s)" \
    -v s="$EMPTY_S") s (runs:$ALL_S) = start-up and open"
"$RW" -d "$OUT"/rw.db stats --by kind,account "${ALL[@]}" --format json \
    >"$OUT"/stats-all.json
"$RW" -d "$OUT"/rw.db stats --by kind,account "${ONEDAY[@]}" --format json \
    >"$OUT"/stats-day.json

DAY_FRAC=$(calc "sprintf(\"%.4f\", d / n)" -v d="$DAY_MSGS" -v n="$N")
DAY_RATIO=$(calc "sprintf(\"%.3f\", d / f)" -v d="$DAY_S" -v f="$FULL_S")
# What the day's share of the messages would cost at the full query's
# rate, over the fixed cost; twice that (plus 5 ms of timer noise) is
# allowed.
DAY_BUDGET=$(calc "e + 2 * p * (f - e) + 0.005" -v e="$EMPTY_S" \
    -v p="$DAY_FRAC" -v f="$FULL_S")
echo "one day holds ${DAY_FRAC} of the messages and costs ${DAY_RATIO} of" \
    "the full query"

# ---- summary ----------------------------------------------------------
verdict() { if [ "$1" = 1 ]; then echo PASS; else echo FAIL; fi; }
V_RATIO=$(verdict "$(calc "r >= m" -v r="$RATIO" -v m="$RATIO_MIN")")
V_RSS=$(verdict "$(calc "r <= m" -v r="$IMPORT_RSS" -v m="$RSS_MAX_KIB")")
if [ "$HALF_N" -ge 100000 ]; then
	V_GROWTH=$(verdict "$(calc "g <= m" -v g="$GROWTH" \
	    -v m="$RSS_GROWTH_MAX_KIB")")
else
	V_GROWTH=n/a	# the page cache is still filling up
fi
if [ "$UNUSUAL" != 0 ]; then
	V_LONG=$(verdict "$(calc "r <= m" -v r="$LONG_RSS" -v m="$RSS_MAX_KIB")")
	V_ONE=$(verdict "$(calc "r <= m" -v r="$ONE_RSS" -v m="$RSS_MAX_KIB")")
else
	V_LONG=n/a
	V_ONE=n/a
fi
V_STATS=$(verdict "$(calc "s <= m" -v s="$FULL_S" -v m="$STATS_MAX_S")")
V_DAY=$(verdict "$(calc "d <= b" -v d="$DAY_S" -v b="$DAY_BUDGET")")
FAILED=0
for v in "$V_RATIO" "$V_RSS" "$V_GROWTH" "$V_LONG" "$V_ONE" "$V_STATS" \
    "$V_DAY"; do
	[ "$v" != FAIL ] || FAILED=1
done

{
	record n "$N"
	record convs "$CONVS"
	record seed "$SEED"
	record rounds "$ROUNDS"
	record import_ratios "$(echo $RATIOS | tr ' ' ,)"
	record ceiling_rows_per_s "$CEIL"
	record import_seconds "$IMPORT_S"
	record import_msgs_per_s "$IMPORT_RATE"
	record import_ratio "$RATIO"
	record import_cpu_seconds "$IMPORT_CPU"
	record import_peak_rss_kib "$IMPORT_RSS"
	record half_import_seconds "$HALF_S"
	record half_import_msgs_per_s "$HALF_RATE"
	record half_import_cpu_seconds "$HALF_CPU"
	record half_import_peak_rss_kib "$HALF_RSS"
	record long_ids_peak_rss_kib "$LONG_RSS"
	record one_conversation_peak_rss_kib "$ONE_RSS"
	record db_mib "$DB_MIB"
	record stats_all_seconds "$FULL_S"
	record stats_day_seconds "$DAY_S"
	record stats_empty_seconds "$EMPTY_S"
	record day_messages "$DAY_MSGS"
	record day_fraction "$DAY_FRAC"
	record day_ratio "$DAY_RATIO"
}

f3() { calc "sprintf(\"%.3f\", s)" -v s="$1"; }
echo
echo "== summary (N=$N, database $DB_MIB MiB)"
printf '%-44s %-26s %-16s %s\n' "figure" "measured" "target" "result"
printf '%-44s %-26s %-16s %s\n' "import / SQLite ceiling (msgs/s; median)" \
    "$IMPORT_RATE / $CEIL = $RATIO" ">= $RATIO_MIN" "$V_RATIO"
printf '%-44s %-26s %-16s %s\n' "import peak RSS, $N messages" \
    "$((IMPORT_RSS / 1024)) MiB" "<= $((RSS_MAX_KIB / 1024)) MiB" "$V_RSS"
printf '%-44s %-26s %-16s %s\n' "peak RSS growth from $HALF_N messages" \
    "$((HALF_RSS / 1024)) -> $((IMPORT_RSS / 1024)) MiB" \
    "<= +$((RSS_GROWTH_MAX_KIB / 1024)) MiB" "$V_GROWTH"
mib() { if [ -n "$1" ]; then echo "$(($1 / 1024)) MiB"; else echo -; fi; }
printf '%-44s %-26s %-16s %s\n' "peak RSS, $UNUSUAL_N msgs of 500-byte ids" \
    "$(mib "$LONG_RSS")" "<= $((RSS_MAX_KIB / 1024)) MiB" "$V_LONG"
printf '%-44s %-26s %-16s %s\n' "peak RSS, one conv. of $ONE_N, newest 1st" \
    "$(mib "$ONE_RSS")" "<= $((RSS_MAX_KIB / 1024)) MiB" "$V_ONE"
printf '%-44s %-26s %-16s %s\n' "stats --by kind,account, all (s)" \
    "$(f3 "$FULL_S")" "<= $STATS_MAX_S" "$V_STATS"
printf '%-44s %-26s %-16s %s\n' "stats, one day (s; day/all = $DAY_RATIO)" \
    "$(f3 "$DAY_S")" "<= $(f3 "$DAY_BUDGET")" "$V_DAY"
echo "(one-day budget: start-up $(f3 "$EMPTY_S") s + 2 x $DAY_FRAC of the" \
    "full query's remaining cost + 5 ms)"
echo "results: $OUT/results.txt"
if [ "$FAILED" != 0 ]; then
	echo "bench: some targets were missed" >&2
	exit 1
fi

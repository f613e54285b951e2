#!/bin/sh
# SPDX-License-Identifier: ISC
#
# fuzz/run.sh [TARGET...]: build the fuzz targets with clang, libFuzzer,
# AddressSanitizer (LeakSanitizer included) and UBSan, then run each one
# for FUZZ_SECONDS seconds (default 60) on its seed corpus
# (fuzz/corpus/TARGET) and its regression inputs (fuzz/regress/TARGET).
# FUZZ_SECONDS=0 builds and runs every seed and regression input once.
#
# Fails if any target finds a crash, a leak, undefined behaviour, a
# timeout or runs out of memory. What it finds is copied to
# fuzz/regress/TARGET/ (a regression test from then on: make check runs
# it) and kept in the build directory's artifacts/.
#
#	FUZZ_BUILDDIR	where to build (default _build-fuzz in the source tree)
#	FUZZ_CC		the compiler (default clang; Debian 12: clang-14)
#	FUZZ_JOBS	targets run at once (default: the number of CPUs)
#	FUZZ_ARGS	more libFuzzer options for every target
#	FUZZ_KEEP=1	do not copy what is found to fuzz/regress/
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
B=${FUZZ_BUILDDIR:-$srcdir/_build-fuzz}
CC=${FUZZ_CC:-clang}
SECS=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
ALL="msg connector exec-output conf time http metrics classify"
TARGETS=${*:-$ALL}

SAN="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
 -fno-sanitize-recover=all"

command -v "$CC" >/dev/null 2>&1 || {
	echo "fuzz/run.sh: $CC not found: apt-get install clang-14" \
	    "libclang-rt-14-dev (and FUZZ_CC=clang-14), or set FUZZ_CC" >&2
	exit 2
}

# ---- the library, configured for clang -------------------------------------
mkdir -p "$B"
B=$(cd "$B" && pwd)
if [ ! -f "$B/Makefile" ]; then
	[ -x "$srcdir/configure" ] || (cd "$srcdir" && autoreconf -fi)
	echo "fuzz/run.sh: configuring $B"
	# shellcheck disable=SC2086
	(cd "$B" && "$srcdir/configure" -q --without-check CC="$CC" \
	    CFLAGS="$(echo $SAN) -fsanitize=fuzzer-no-link" \
	    LDFLAGS="-fsanitize=address,undefined")
fi
make -s -C "$B" libreplywatch.a

mkvar() { sed -n "s/^$1 = //p" "$B/Makefile"; }
CFLAGS="-std=c11 $(echo $SAN) -I$B -I$srcdir/daemon -I$srcdir/connectors
 -I$srcdir/fuzz -DSYSCONFDIR=\"/etc\" -DLOCALSTATEDIR=\"/var\"
 -DPKGDATADIR=\"/usr/share/replywatch\" $(mkvar CJSON_CFLAGS)
 $(mkvar SQLITE_CFLAGS) $(mkvar INIH_CFLAGS) $(mkvar UV_CFLAGS)
 $(mkvar CURL_CFLAGS)"
LIBS="$B/libreplywatch.a $(mkvar SQLITE_LIBS) $(mkvar CJSON_LIBS)
 $(mkvar INIH_LIBS) $(mkvar UV_LIBS) $(mkvar CURL_LIBS) $(mkvar LIBS) -lm"
O=$B/fuzz
mkdir -p "$O"

cc() {	# cc OUT SRC...: compile to an object
	out=$1
	shift
	# shellcheck disable=SC2086
	$CC $CFLAGS -fsanitize=fuzzer-no-link -c -o "$out" "$@"
}

# ---- the connectors: every file that compiles ------------------------------
# registry.c is rebuilt without the lines of connectors whose file is
# missing or does not compile (yet), so that the rest is still fuzzed.
connector_objs() {
	objs=""
	for f in "$srcdir"/connectors/*.c; do
		n=$(basename "$f" .c)
		[ "$n" = registry ] && continue
		if cc "$O/c-$n.o" "$f" 2>"$O/c-$n.log"; then
			objs="$objs $O/c-$n.o"
		else
			echo "fuzz/run.sh: connectors/$n.c does not compile:" \
			    "left out (see $O/c-$n.log)" >&2
		fi
	done
	# shellcheck disable=SC2086
	nm -g --defined-only $objs | awk '$3 ~ /^connector_/ { print $3 }' \
	    > "$O/defined.txt"
	cp "$srcdir/connectors/registry.c" "$O/registry.c"
	for s in $(grep -o 'connector_[A-Za-z0-9_]*' "$O/registry.c" |
	    sort -u | grep -v -x -e connector_def -e connector_at \
	    -e connector_find); do
		grep -q -x "$s" "$O/defined.txt" && continue
		echo "fuzz/run.sh: $s is not built: left out" >&2
		sed -i -e "s/&$s,//g" -e "s/,[ 	]*$s\([,;]\)/\1/g" \
		    -e "s/connector_def $s,[ 	]*/connector_def /" \
		    -e "/connector_def $s;/d" "$O/registry.c"
	done
	cc "$O/c-registry.o" "$O/registry.c"
	echo "$objs $O/c-registry.o"
}

build() {	# build TARGET
	t=$1
	extra=""
	case $t in
	connector)	extra="$(connector_objs) $srcdir/fuzz/fake-job.c
			    $srcdir/daemon/http-util.c $srcdir/daemon/secret.c" ;;
	exec-output)	extra="$srcdir/fuzz/fake-job.c" ;;
	http)		extra="$srcdir/daemon/http-util.c
			    $srcdir/connectors/jsonget.c
			    $srcdir/connectors/connector.c" ;;
	metrics)	extra="$srcdir/daemon/metrics.c" ;;
	esac
	# shellcheck disable=SC2086
	$CC $CFLAGS -fsanitize=fuzzer -o "$O/fuzz-$t" \
	    "$srcdir/fuzz/fuzz-$t.c" $extra $LIBS
}

for t in $TARGETS; do
	[ -f "$srcdir/fuzz/fuzz-$t.c" ] || { echo "no target $t" >&2; exit 2; }
	echo "fuzz/run.sh: building fuzz-$t"
	build "$t"
done

# ---- running ------------------------------------------------------------------
maxlen() {
	case $1 in
	connector)	echo 65536 ;;
	classify)	echo 16384 ;;
	exec-output)	echo 16384 ;;
	*)		echo 8192 ;;
	esac
}

run() {	# run TARGET: 0 if nothing was found
	t=$1
	work=$B/corpus/$t
	art=$B/artifacts/$t
	mkdir -p "$work" "$art"
	dirs="$work $srcdir/fuzz/corpus/$t"
	[ -d "$srcdir/fuzz/regress/$t" ] && dirs="$dirs $srcdir/fuzz/regress/$t"
	if [ "$SECS" -eq 0 ]; then
		opts="-runs=0"
	else
		opts="-max_total_time=$SECS"
	fi
	# shellcheck disable=SC2086
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	    "$O/fuzz-$t" $opts -timeout=20 -rss_limit_mb=2048 \
	    -max_len="$(maxlen "$t")" -print_final_stats=1 \
	    -artifact_prefix="$art/" ${FUZZ_ARGS:-} $dirs \
	    > "$B/$t.log" 2>&1
}

summary() {	# summary TARGET RC
	t=$1
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$B/$t.log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$B/$t.log")
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$B/$t.log" | tail -n 1)
	if [ "$2" -eq 0 ]; then
		res=ok
	else
		res="FAILED (see $B/$t.log)"
	fi
	printf '%-12s %10s execs %7s/s  %-20s %s\n' "$t" "${execs:-?}" \
	    "${rate:-?}" "${cov:-cov: ?}" "$res"
}

rm -rf "$B/artifacts"
rc=0
# shellcheck disable=SC2086
set -- $TARGETS
while [ $# -gt 0 ]; do
	batch=""
	while [ $# -gt 0 ] && [ "$(echo $batch | wc -w)" -lt "$JOBS" ]; do
		(if run "$1"; then echo 0; else echo 1; fi) > "$B/$1.rc" &
		batch="$batch $1"
		shift
	done
	wait
	for t in $batch; do
		r=$(cat "$B/$t.rc")
		summary "$t" "$r"
		[ "$r" -eq 0 ] || rc=1
	done
done

found=$(find "$B/artifacts" -type f 2>/dev/null | sort)
if [ -n "$found" ]; then
	echo "fuzz/run.sh: found:"
	for f in $found; do
		t=$(basename "$(dirname "$f")")
		echo "  $f"
		if [ "${FUZZ_KEEP:-0}" != 1 ]; then
			mkdir -p "$srcdir/fuzz/regress/$t"
			cp "$f" "$srcdir/fuzz/regress/$t/"
		fi
	done
	[ "${FUZZ_KEEP:-0}" = 1 ] ||
	    echo "fuzz/run.sh: copied to fuzz/regress/: make check runs them"
fi
exit "$rc"

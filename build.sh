#!/bin/sh
# SPDX-License-Identifier: ISC
# Set up, build and run replywatch on Debian 12 from a fresh checkout:
#   ./build.sh demo    install what is missing, build, run the demo
#   ./build.sh check   install what is missing, build, run every test
#                      (the unit tests also under valgrind, then all again
#                      built with AddressSanitizer and UBSan), then fuzz
#                      every parser for FUZZ_SECONDS (60) each
#   ./build.sh         install what is missing and build
# The build goes to _build/ (the sanitizer build to _build-sanitize/).
set -eu
cd "$(dirname "$0")"
top=$PWD

# What building and the demo need
PACKAGES="gcc make autoconf automake pkg-config tzdata python3 time
 libuv1-dev libcurl4-openssl-dev libsqlite3-dev libcjson-dev libinih-dev
 libunistring-dev libsystemd-dev libssl-dev check libsubunit-dev mandoc"
# and what the tests need besides: the real servers they run against
# (PostgreSQL and Redis for the local Bluesky network, Postfix and Dovecot
# for email), promtool, valgrind, clang with libFuzzer
TEST_PACKAGES="postgresql redis-server postfix dovecot-core openssl curl
 prometheus valgrind clang-14 libclang-rt-14-dev llvm-14"

SAN_CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"

# install_missing PACKAGE...
install_missing() {
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "build.sh: installing$missing"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	# Postfix asks how to deliver: nowhere but this machine (the tests run
	# their own instance; this keeps the system one off the network)
	case "$missing" in
	*postfix*)
		printf '%s\n' "postfix postfix/main_mailer_type select Local only" \
		    "postfix postfix/mailname string localhost" |
		    $sudo debconf-set-selections ;;
	esac
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing
}

# build DIR [CONFIGURE-ARGS...]: configure (once) and build out of tree
build() {
	dir=$1
	shift
	mkdir -p "$dir"
	(cd "$dir" && { [ -f Makefile ] || "$top/configure" "$@"; } &&
	    make -j"$(nproc)")
}

# the closing line: counts of every test-suite.log given
summary() {
	cat "$@" 2>/dev/null | awk '
	    /^# PASS:/ { p += $3 } /^# FAIL:/ { f += $3 } /^# ERROR:/ { f += $3 }
	    /^# XPASS:/ { f += $3 } /^# SKIP:/ { s += $3 }
	    END { printf "%d passed, %d failed, %d skipped\n", p, f, s }'
}

# shellcheck disable=SC2086
case "${1:-}" in
check) install_missing $PACKAGES $TEST_PACKAGES ;;
*) install_missing $PACKAGES ;;
esac
if [ -f config.status ]; then
	echo "build.sh: the source tree is configured in place; cleaning it for out-of-tree builds"
	make distclean >/dev/null
fi
[ -x configure ] || autoreconf -fi
build _build --enable-werror
case "${1:-}" in
demo)
	make -C _build demo
	;;
check)
	rc=0
	make -C _build -j"$(nproc)" check || { rc=1; cat _build/test-suite.log; }
	make -C _build -j"$(nproc)" check-valgrind ||
	    { rc=1; cat _build/test-suite-valgrind.log; }
	build _build-sanitize --enable-werror CFLAGS="$SAN_CFLAGS" \
	    LDFLAGS="-fsanitize=address,undefined" >/dev/null
	make -C _build-sanitize -j"$(nproc)" check ||
	    { rc=1; cat _build-sanitize/test-suite.log; }
	# every parser fuzzed for 60 s each (make fuzz), from a fixed seed so
	# that a run can be repeated; FUZZ_ARGS=-seed=0 for a random one
	FUZZ_ARGS="${FUZZ_ARGS:--seed=1}" make -C _build fuzz FUZZ_CC=clang-14 \
	    FUZZ_SECONDS="${FUZZ_SECONDS:-60}" || rc=1
	line=$(summary _build/test-suite.log _build/test-suite-valgrind.log \
	    _build-sanitize/test-suite.log)
	echo "$line"
	# CI has everything a test needs (../shared, root, Node.js 20): a
	# test that skips there hides a missing piece, so it fails the run
	if [ -n "${CI:-}" ] && ! echo "$line" | grep -q ' 0 skipped$'; then
		echo "build.sh: tests were skipped in CI (see SKIP above)" >&2
		rc=1
	fi
	exit "$rc"
	;;
"")
	;;
*)
	echo "usage: ./build.sh [demo|check]" >&2
	exit 2
	;;
esac

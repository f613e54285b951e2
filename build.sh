#!/bin/sh
# SPDX-License-Identifier: ISC
# Set up, build and run replywatch on Debian 12 from a fresh checkout:
#   ./build.sh demo    install what is missing, build, run the demo
#   ./build.sh check   install what is missing, build, run every test
#                      (the unit tests also under valgrind, then all again
#                      built with AddressSanitizer and UBSan)
#   ./build.sh         install what is missing and build
# The build goes to _build/ (the sanitizer build to _build-sanitize/).
set -eu
cd "$(dirname "$0")"
top=$PWD

PACKAGES="gcc make autoconf automake pkg-config tzdata python3 time
 libuv1-dev libcurl4-openssl-dev libsqlite3-dev libcjson-dev libinih-dev
 libunistring-dev check libsubunit-dev mandoc
 postgresql redis-server openssl libsystemd-dev prometheus curl valgrind"

SAN_CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"

install_missing() {
	missing=""
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "build.sh: installing$missing"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
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

install_missing
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
	summary _build/test-suite.log _build/test-suite-valgrind.log \
	    _build-sanitize/test-suite.log
	exit "$rc"
	;;
"")
	;;
*)
	echo "usage: ./build.sh [demo|check]" >&2
	exit 2
	;;
esac

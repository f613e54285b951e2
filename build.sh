#!/bin/sh
# SPDX-License-Identifier: ISC
# Set up, build and run replywatch on Debian 12 from a fresh checkout:
#   ./build.sh demo    install what is missing, build, run the demo
#   ./build.sh check   install what is missing, build, run every test
#   ./build.sh         install what is missing and build
set -eu
cd "$(dirname "$0")"

PACKAGES="gcc make autoconf automake pkg-config tzdata python3 time
 libuv1-dev libcurl4-openssl-dev libsqlite3-dev libcjson-dev libinih-dev
 libunistring-dev
 check libsubunit-dev"

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

build() {
	[ -x configure ] || autoreconf -fi
	[ -f Makefile ] || ./configure --enable-werror
	make -j"$(nproc)"
}

install_missing
build
case "${1:-}" in
demo)
	make demo
	;;
check)
	rc=0
	make -j"$(nproc)" check || rc=$?
	[ "$rc" -eq 0 ] || cat test-suite.log
	# one closing line for people and CI
	awk '/^# PASS:/ { p = $3 } /^# FAIL:/ { f += $3 } /^# ERROR:/ { f += $3 }
	    /^# XPASS:/ { f += $3 } /^# SKIP:/ { s = $3 }
	    END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' test-suite.log
	exit "$rc"
	;;
"")
	;;
*)
	echo "usage: ./build.sh [demo|check]" >&2
	exit 2
	;;
esac

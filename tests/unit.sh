#!/bin/sh
# SPDX-License-Identifier: ISC
# The systemd unit: `systemd-analyze verify` prints nothing, and
# `systemd-analyze security --offline=yes` rates its exposure 2.0 or less.
# The unit is checked as built, with its programs pointing into the build
# tree and its man pages found there.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
command -v systemd-analyze >/dev/null || skip "systemd-analyze is needed"
unit="$top_builddir/etc/replywatchd.service"
[ -r "$unit" ] || skip "$unit is not built"

# as installed, but with the programs of this build
mkdir -p "$TMP/units" "$TMP/man/man1" "$TMP/man/man5" "$TMP/man/man8"
sed -e "s|^\(Exec[A-Za-z]*=\)[^ ]*/replywatchd|\1$top_builddir/replywatchd|" \
	"$unit" >"$TMP/units/replywatchd.service"
cp "$top_builddir/man/replywatch.1" "$TMP/man/man1/"
cp "$top_builddir/man/replywatch.conf.5" "$TMP/man/man5/"
cp "$top_builddir/man/replywatchd.8" "$TMP/man/man8/"

check "systemd-analyze verify prints nothing" sh -c '
	cd "$0" && out=$(MANPATH="$1" systemd-analyze verify ./replywatchd.service 2>&1)
	[ -z "$out" ] || { echo "$out"; false; }' "$TMP/units" "$TMP/man"

systemd-analyze security --offline=yes "$TMP/units/replywatchd.service" \
	>"$TMP/security.txt" 2>&1 || true
level=$(sed -n 's/.*Overall exposure level for replywatchd.service: \([0-9.]*\).*/\1/p' "$TMP/security.txt")
echo "exposure: ${level:-?}"
check "the exposure level is 2.0 or less" awk -v l="${level:-99}" 'BEGIN { exit !(l <= 2.0) }'
check "the unit is Type=notify with a watchdog and a reload" sh -c '
	grep -q "^Type=notify$" "$0" && grep -q "^WatchdogSec=" "$0" &&
	grep -q "^ExecReload=/bin/kill -HUP \$MAINPID$" "$0" &&
	grep -q "^StateDirectory=replywatch$" "$0"' "$unit"
finish

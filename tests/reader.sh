#!/bin/sh
# SPDX-License-Identifier: ISC
# An operator in the daemon's group runs the replywatch CLI on the
# database while replywatchd writes it, and after it has stopped, without
# write access to the database or its directory (the unit's UMask=0027
# and StateDirectoryMode=0750).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
RWD="$top_builddir/replywatchd"
[ "$(id -u)" -eq 0 ] || skip "needs root, to run the CLI as another user"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is needed"
group=$(getent group nogroup | cut -d: -f3)
[ -n "$group" ] || skip "no group nogroup"

daemon=""
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
chmod 0755 "$TMP"
dir="$TMP/state"
mkdir "$dir"
chgrp nogroup "$dir"
chmod 2750 "$dir"	# new files take the directory's group
cat >"$dir/rw.conf" <<EOF2
[daemon]
database = $dir/rw.db
[account "alpha"]
connector = exec
command = printf '{"platform":"test","account":"alpha","id":"m%s","conversation":"c1","kind":"direct","direction":"inbound","created_at":"%s"}\\n' "\$(date +%s%N)" "\$REPLYWATCH_NOW"
poll_interval = 1s
EOF2
chmod 0640 "$dir/rw.conf"

(umask 027 && exec "$RWD" -c "$dir/rw.conf") 2>"$TMP/daemon.log" &
daemon=$!
operator() {
	setpriv --reuid=65534 --regid="$group" --clear-groups "$RW" -c "$dir/rw.conf" "$@"
}
polled() { operator status --format json 2>/dev/null | grep -q '"state":"ok"'; }
check "the operator reads the status while the daemon writes" wait_until 20 polled
check "the operator may not write the database" sh -c \
	'! setpriv --reuid=65534 --regid="$0" --clear-groups sh -c ": >>\"\$0\"" "$1" 2>/dev/null' \
	"$group" "$dir/rw.db"
check "pending works for the operator" sh -c \
	'setpriv --reuid=65534 --regid="$0" --clear-groups "$1" -c "$2" pending | grep -q alpha' \
	"$group" "$RW" "$dir/rw.conf"
kill -TERM "$daemon"
wait "$daemon" || true
daemon=""
check "and after the daemon has stopped" sh -c \
	'setpriv --reuid=65534 --regid="$0" --clear-groups "$1" -c "$2" stats --since 1h --format json | grep -q "\"waits\""' \
	"$group" "$RW" "$dir/rw.conf"
finish

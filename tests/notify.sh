#!/bin/sh
# SPDX-License-Identifier: ISC
# replywatchd and systemd: with NOTIFY_SOCKET pointing at a socket of the
# test, the daemon sends READY (with STATUS), WATCHDOG keep-alives,
# RELOADING then READY around a reload on SIGHUP that adds one account and
# removes another, READY again after refusing an invalid configuration
# (which leaves the old one in force), and STOPPING on SIGTERM.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
RWD="$top_builddir/replywatchd"
command -v python3 >/dev/null || skip "python3 is needed for the notify socket"
"$RWD" --help >/dev/null
grep -q 'HAVE_LIBSYSTEMD 1' "$top_builddir/config.h" ||
	skip "built without libsystemd: no sd_notify"

listener="" daemon=""
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
	[ -n "$listener" ] && kill "$listener" 2>/dev/null && wait "$listener" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

# The service manager's side: every datagram, one per line ("\n" -> "|").
python3 - "$TMP/notify.sock" "$TMP/notify.log" <<'PY' &
import os, socket, sys
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(log, "a", buffering=1) as out:
    while True:
        data = s.recv(4096).decode()
        out.write(data.replace("\n", "|") + "\n")
PY
listener=$!
wait_until 10 test -S "$TMP/notify.sock" || { echo "FAIL: no notify socket"; exit 1; }

# account NAME: an exec account whose program writes one message
account() {
	cat <<ACC
[account "$1"]
connector = exec
command = printf '{"platform":"test","account":"$1","id":"m1","conversation":"c1","kind":"direct","direction":"inbound","created_at":"%s"}\\n' "\$REPLYWATCH_NOW"
poll_interval = 1s
ACC
}
{ echo "[daemon]"; echo "database = $TMP/rw.db"; account alpha; } >"$TMP/rw.conf"

NOTIFY_SOCKET="$TMP/notify.sock" WATCHDOG_USEC=400000 \
	"$RWD" -c "$TMP/rw.conf" 2>"$TMP/daemon.log" &
daemon=$!
has() { grep -q -- "$1" "$TMP/notify.log" 2>/dev/null; }
count() { grep -c -- "$1" "$TMP/notify.log" 2>/dev/null || true; }

check "READY=1 with a STATUS that counts the accounts" \
	wait_until 10 has "^READY=1|STATUS=1 account, "
check "WATCHDOG=1 keep-alives" wait_until 10 sh -c \
	'[ "$(grep -c "^WATCHDOG=1" "$0")" -ge 3 ]' "$TMP/notify.log"
streams() {
	"$RW" -c "$TMP/rw.conf" status --format json 2>/dev/null | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
ok = {r["account"] for r in rows if r["state"] == "ok"}
sys.exit(0 if ok == set(sys.argv[1:]) else 1)' "$@"
}
check "alpha is polled" wait_until 10 streams alpha

# reload: beta in, alpha out
{ echo "[daemon]"; echo "database = $TMP/rw.db"; account beta; } >"$TMP/rw.conf"
readies=$(count '^READY=1')
kill -HUP "$daemon"
check "RELOADING=1 then READY=1 again" wait_until 10 sh -c \
	'[ "$(grep -c "^READY=1" "$0")" -gt "$1" ]' "$TMP/notify.log" "$readies"
check "RELOADING=1 came before that READY=1" python3 - "$TMP/notify.log" <<'PY'
import sys
lines = [l.strip() for l in open(sys.argv[1])]
r = [i for i, l in enumerate(lines) if l.startswith("RELOADING=1")]
ready = [i for i, l in enumerate(lines) if l.startswith("READY=1")]
assert r and len(ready) >= 2 and ready[0] < r[0] < ready[-1], lines
assert "MONOTONIC_USEC=" in lines[r[0]], lines[r[0]]
PY
check "the reload is logged: beta added, alpha removed" wait_until 10 sh -c \
	'grep -q "reload: 0 accounts kept, 1 added, 0 changed, 1 removed" "$0" &&
	 grep -q "account alpha: removed" "$0"' "$TMP/daemon.log"
check "beta is polled after the reload" wait_until 10 sh -c \
	'"$0" -c "$1" status --account beta --format json | grep -q "\"state\":\"ok\""' \
	"$RW" "$TMP/rw.conf"

# an invalid configuration is refused, the old one stays
cp "$TMP/rw.conf" "$TMP/good.conf"
printf '[account "gamma"]\nconnector = exec\npoll_interval = 10ms\n' >>"$TMP/rw.conf"
readies=$(count '^READY=1')
kill -HUP "$daemon"
check "an invalid configuration is refused with file:line" wait_until 10 sh -c \
	'grep -q "rw.conf:[0-9]*: poll_interval = 10ms is too short" "$0" &&
	 grep -q "the old one stays in force" "$0"' "$TMP/daemon.log"
check "READY=1 after the refused reload" wait_until 10 sh -c \
	'[ "$(grep -c "^READY=1" "$0")" -gt "$1" ]' "$TMP/notify.log" "$readies"
check "the daemon still runs" kill -0 "$daemon"

kill -TERM "$daemon"
st=0
wait "$daemon" || st=$?
daemon=""
check "SIGTERM: exit 0" test "$st" -eq 0
check "STOPPING=1 at the end" sh -c 'tail -n 3 "$0" | grep -q "^STOPPING=1"' "$TMP/notify.log"
[ "$FAILS" -eq 0 ] || { cat "$TMP/notify.log"; tail -n 30 "$TMP/daemon.log"; }
finish

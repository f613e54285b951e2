#!/bin/sh
# SPDX-License-Identifier: ISC
# The demo: replywatchd in the foreground against a simulated Mastodon
# brand on 127.0.0.1. Customers write mentions and direct messages, an
# agent answers them after varied delays (some never); the simulated clock
# starts two hours back and runs 60 times faster until it reaches the real
# time. Ctrl-C stops both.
#
#   sh demo/run.sh BUILDDIR
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/_build}" && pwd)
dir="${DEMO_DIR:-$build/demo}"	# DEMO_DIR: elsewhere (the tests)
rm -rf "$dir"
mkdir -p "$dir"

python3 "$src/tests/fakes/mastodon.py" --simulate --speed 60 \
	--catch-up 2h --history 6h --rate-limit 100000 --quiet \
	--port-file "$dir/port" --token-file-dir "$dir" &
fake=$!
trap 'kill "$fake" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM

# the platform is ready when it has written its port
tries=0
while [ ! -s "$dir/port" ]; do
	kill -0 "$fake" 2>/dev/null || { echo "demo: the demo platform did not start" >&2; exit 1; }
	tries=$((tries + 1))
	[ "$tries" -lt 300 ] || { echo "demo: the demo platform did not start in 30 s" >&2; exit 1; }
	sleep 0.1
done

cat >"$dir/replywatch.conf" <<CONF
# The demo's configuration, written by demo/run.sh.
[daemon]
database = $dir/replywatch.db
sla_direct = 15m
sla_broadcast = 1h
sla_complaint = 10m

[account "acme"]
connector = mastodon
url = http://127.0.0.1:$(cat "$dir/port")
token_file = $dir/acme.token
poll_interval = 5s
backfill = 8h
CONF

cat <<MSG
replywatch demo: a simulated Mastodon brand, @acme, on 127.0.0.1:$(cat "$dir/port").
In another terminal:
    $build/replywatch -c $dir/replywatch.conf stats --since 8h --by kind
    $build/replywatch -c $dir/replywatch.conf pending
    $build/replywatch -c $dir/replywatch.conf status
Ctrl-C stops the demo.

MSG
set +e
"$build/replywatchd" -c "$dir/replywatch.conf"
rc=$?
set -e
# Ctrl-C reached replywatchd (exit 0) or it failed
[ "$rc" -eq 0 ] || [ "$rc" -eq 130 ] || exit "$rc"
exit 0

#!/bin/sh
# SPDX-License-Identifier: ISC
# The README's first command: demo/run.sh starts the simulated Mastodon
# brand and replywatchd in the foreground. The terminal shows mentions,
# direct messages, replies with their reply times and overdue
# conversations; the CLI answers beside it; Ctrl-C (SIGINT to the
# terminal's process group) stops everything with status 0.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
command -v python3 >/dev/null || skip "python3 is needed for the demo platform"
command -v setsid >/dev/null || skip "setsid (util-linux) is needed"

pgid=""
cleanup() {
	[ -n "$pgid" ] && kill -KILL "-$pgid" 2>/dev/null || :
	rm -rf "$TMP"
}
trap cleanup EXIT
log="$TMP/demo.log"
# its own session and process group, as a terminal would give it
DEMO_DIR="$TMP/demo" setsid sh "$top_srcdir/demo/run.sh" "$top_builddir" \
	</dev/null >"$log" 2>&1 &
pgid=$!	# setsid execs in place when it is not a group leader already
check "the demo started" wait_until 30 grep -q "Ctrl-C stops the demo" "$log"
check "a mention or direct message is shown" wait_until 60 \
	grep -Eq "acme: (public mention|direct message) from " "$log"
check "a reply is shown with its reply time and target" wait_until 60 \
	grep -Eq "acme: replied to .* after .*target .*: (met|missed)" "$log"
check "an overdue conversation is shown" wait_until 60 \
	grep -q "acme: overdue: " "$log"
CONF="$TMP/demo/replywatch.conf"
check "replywatch stats beside it" sh -c \
	'"$0" -c "$1" stats --since 8h --by kind >"$2"' "$RW" "$CONF" "$TMP/stats.txt"
check "the stats table has both kinds" sh -c \
	'grep -q direct "$0" && grep -q broadcast "$0"' "$TMP/stats.txt"
check "replywatch status beside it" sh -c \
	'"$0" -c "$1" status | grep -q acme' "$RW" "$CONF"

# Ctrl-C: SIGINT to the whole group
kill -INT "-$pgid"
gone() { ! kill -0 "-$pgid" 2>/dev/null; }
check "Ctrl-C stops every process of the demo" wait_until 20 gone
rc=0
wait "$pgid" || rc=$?
# 130 is the shell's own way to end on SIGINT; replywatchd's status is
# checked by its log line
check "the demo ends as on Ctrl-C (got $rc)" sh -c '[ "$0" = 0 ] || [ "$0" = 130 ]' "$rc"
pgid=""
check "replywatchd said it stopped" grep -q "stopped" "$log"

finish

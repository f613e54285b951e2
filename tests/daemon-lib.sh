# SPDX-License-Identifier: ISC
# Shared helpers of the daemon tests (tests/daemon.sh, tests/faults.sh),
# sourced after lib.sh: the fake Mastodon server (tests/fakes/mastodon.py)
# and its control API, replywatchd in the background, queries of the CLI's
# JSON, and an exit trap that stops every process a test started, by its
# process id, whether the test passed, failed or was interrupted.

RWD="$top_builddir/replywatchd"
FAKE_PY="$top_srcdir/tests/fakes/mastodon.py"
command -v python3 >/dev/null || skip "python3 is needed for the fake Mastodon server"
[ -x "$RWD" ] || skip "$RWD is not built"
[ -x "$RW" ] || skip "$RW is not built"

# Names of the processes started with spawn; each has $TMP/NAME.pid while
# it runs and $TMP/NAME.rc (its exit status) once it has ended.
SPAWNED=""

# spawn NAME LOGFILE COMMAND...: run the command in the background, its
# standard output and error appended to LOGFILE.
spawn() {
	_name=$1 _log=$2
	shift 2
	rm -f "$TMP/$_name.pid" "$TMP/$_name.rc"
	(
		trap - EXIT HUP INT TERM PIPE
		set +e
		# the command itself gets the pid written: it execs in place
		sh -c 'echo $$ >"$0.new" && mv "$0.new" "$0" && exec "$@"' \
			"$TMP/$_name.pid" "$@" </dev/null >>"$_log" 2>&1
		echo $? >"$TMP/$_name.rc.new"
		mv "$TMP/$_name.rc.new" "$TMP/$_name.rc"
	) &
	case " $SPAWNED " in
	*" $_name "*) ;;
	*) SPAWNED="$SPAWNED $_name" ;;
	esac
	wait_until 10 test -s "$TMP/$_name.pid"
}

pid_of() {
	cat "$TMP/$1.pid"
}

# running NAME: it was started and has not ended.
running() {
	[ -s "$TMP/$1.pid" ] && [ ! -e "$TMP/$1.rc" ]
}

ended() {
	[ -s "$TMP/$1.rc" ]
}

# stop_proc NAME SIGNAL TIMEOUT: send the signal and wait up to TIMEOUT
# seconds for the process to end; its exit status is in $STOP_RC (empty if
# it did not end in time).
stop_proc() {
	STOP_RC=
	if running "$1"; then
		kill -s "$2" "$(pid_of "$1")" 2>/dev/null || :
	fi
	if wait_until "$3" ended "$1"; then
		# shellcheck disable=SC2034
		STOP_RC=$(cat "$TMP/$1.rc")
	fi
}

# The exit trap: every process still running gets SIGTERM, then SIGKILL
# if it has not ended 5 seconds later; then the temporary directory goes.
daemon_lib_cleanup() {
	_status=$?
	set +e
	for _n in $SPAWNED; do
		running "$_n" && kill -s TERM "$(pid_of "$_n")" 2>/dev/null
	done
	for _n in $SPAWNED; do
		if running "$_n" && ! wait_until 5 ended "$_n"; then
			kill -s KILL "$(pid_of "$_n")" 2>/dev/null
		fi
	done
	wait
	rm -rf "$TMP"
	exit "$_status"
}
trap daemon_lib_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 141' PIPE

# ---- the fake Mastodon server ----------------------------------------------

# A small client of the fake's control API, and a clock. Python starts
# slowly, so one call may do several things, separated by "+"; each
# prints one line:
#   METHOD PATH [JSON]          the answer's body (GET, POST, DELETE)
#   post BRAND FROM WHEN [MORE] POST /_fixture/status: a status of the
#                               customer FROM, or of the brand if FROM is
#                               "brand", created at WHEN, with MORE JSON
#                               members ('"in_reply_to": "1"'); its id
#   base EPOCH                  WHEN and time offsets count from then
#                               (default: the start of the call); no line
#   time SECONDS                base + SECONDS as RFC 3339
#   epoch [SECONDS]             now + SECONDS in epoch seconds
#   requests TOKEN PATH SINCE   the API requests made with that token to
#                               that path since then (epoch seconds), one a
#                               line: time, status (None: no answer yet),
#                               min_id and max_id ("-" if none)
# WHEN is a number of seconds after base (negative: before) or RFC 3339.
cat >"$TMP/fx.py" <<'PY'
import json, sys, time, urllib.request
from urllib.parse import parse_qs

URL = open(sys.argv[1]).read().strip()
base = time.time()

def call(method, path, body=None):
    data = body.encode() if body is not None else None
    req = urllib.request.Request(URL + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=20) as r:
        return r.read().decode()

def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(t))) + \
        ".%03dZ" % (int(round(t * 1000)) % 1000)

def when(w):
    try:
        return rfc3339(base + float(w))
    except ValueError:
        return w

def run(op, args):
    global base
    if op == "post":
        body = '{"brand": "%s", "from": "%s", "created_at": "%s"%s}' % (
            args[0], args[1], when(args[2]), ", " + args[3] if len(args) > 3 else "")
        print(json.loads(call("POST", "/_fixture/status", body))["id"])
    elif op == "base":
        base = float(args[0])
    elif op == "time":
        print(rfc3339(base + float(args[0])))
    elif op == "epoch":
        print("%.3f" % (time.time() + float(args[0] if args else 0)))
    elif op == "requests":
        for x in json.loads(call("GET", "/_fixture/requests")):
            if x["token"] == args[0] and x["path"] == args[1] and x["time"] >= float(args[2]):
                q = parse_qs(x["query"])
                print(x["time"], x["status"], ",".join(q.get("min_id", ["-"])),
                      ",".join(q.get("max_id", ["-"])))
    else:
        print(call(op, args[0], args[1] if len(args) > 1 else None))

ops, cur = [], []
for a in sys.argv[2:] + ["+"]:
    if a == "+":
        ops.append(cur)
        cur = []
    else:
        cur.append(a)
for o in ops:
    if o:
        run(o[0], o[1:])
PY

fx() {
	python3 "$TMP/fx.py" "$TMP/fake.url" "$@"
}

# fake_start N: the fake with brands brand1..brandN, whose tokens are in
# $TOKENS/brandK.token (mode 0600); $FAKE_URL is its address.
fake_start() {
	TOKENS="$TMP/tokens"
	spawn fake "$TMP/fake.log" python3 "$FAKE_PY" --quiet --accounts "$1" \
		--port-file "$TMP/fake.port" --token-file-dir "$TOKENS"
	if ! wait_until 20 test -s "$TMP/fake.port"; then
		cat "$TMP/fake.log"
		echo "FAIL: the fake Mastodon server did not start"
		exit 1
	fi
	FAKE_URL="http://127.0.0.1:$(cat "$TMP/fake.port")"
	echo "$FAKE_URL" >"$TMP/fake.url"
}

# post BRAND FROM WHEN [MORE_JSON]: a status (see fx); prints its id.
post() {
	fx post "$@"
}

# The fake's request log as JSON, into FILE.
requests_to() {
	fx GET /_fixture/requests >"$1"
}

# ---- replywatchd -------------------------------------------------------------

# conf_daemon FILE [KEY = VALUE lines]: a new configuration, its database in
# $TMP; account_conf FILE NAME BRAND [lines]: an account of the fake.
conf_daemon() {
	_f=$1
	shift
	{
		echo "[daemon]"
		echo "database = $TMP/rw.db"
		for _l in "$@"; do echo "$_l"; done
		echo
	} >"$_f"
}

account_conf() {
	_f=$1 _a=$2 _b=$3
	shift 3
	{
		echo "[account \"$_a\"]"
		echo "connector = mastodon"
		echo "url = $FAKE_URL"
		echo "token_file = $TOKENS/$_b.token"
		for _l in "$@"; do echo "$_l"; done
		echo
	} >>"$_f"
}

# rwd_start LOG [ENV=VALUE...] [-- OPTIONS]: replywatchd -c $CONF in the
# background, its output appended to LOG; returns once it says "started".
rwd_start() {
	_log=$1
	shift
	_env=
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		_env="$_env $1"
		shift
	done
	[ $# -gt 0 ] && shift
	: >>"$_log"
	_before=$(grep -c "started: " "$_log" || :)
	# shellcheck disable=SC2086
	spawn rwd "$_log" env $_env "$RWD" -c "$CONF" "$@"
	wait_until 20 rwd_started_or_ended "$_log" "$_before" || :
	if ended rwd || [ "$(grep -c "started: " "$_log" || :)" -le "$_before" ]; then
		fail "replywatchd did not start"
		cat "$_log"
		return 1
	fi
}

rwd_started_or_ended() {
	ended rwd || [ "$(grep -c "started: " "$1" || :)" -gt "$2" ]
}

# The sanitizers' reports, if any, in a log.
sanitizer_clean() {
	! grep -E "Sanitizer|runtime error:|SUMMARY:" "$1"
}

# ---- the CLI's JSON ------------------------------------------------------------

# messages_to FILE: every stored message of the last week, one JSON object
# a line.
messages_to() {
	"$RW" -c "$CONF" messages --since 7d --format json >"$1"
}

# stored_once IDS_FILE: every id in the file is stored, and no message twice.
stored_once() {
	messages_to "$TMP/once.jsonl" || return 1
	python3 - "$TMP/once.jsonl" "$1" <<'PY'
import json, sys
ids = [json.loads(l)["id"] for l in open(sys.argv[1])]
want = open(sys.argv[2]).read().split()
ok = len(ids) == len(set(ids)) and want and all(i in ids for i in want)
if not ok:
    print("stored %d, %d distinct; missing %s" % (len(ids), len(set(ids)),
          [i for i in want if i not in ids]), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

# msg_count [ACCOUNT]: the number of stored messages (of the account).
msg_count() {
	if [ $# -gt 0 ]; then
		"$RW" -c "$CONF" messages --since 7d --account "$1" --format json | wc -l
	else
		"$RW" -c "$CONF" messages --since 7d --format json | wc -l
	fi
}

# have_msgs N [ACCOUNT]: exactly N messages are stored (for the account).
have_msgs() {
	_want=$1
	shift
	[ "$(msg_count "$@")" -eq "$_want" ]
}

# have_msg ID: the message is stored.
have_msg() {
	"$RW" -c "$CONF" messages --since 7d --format json | grep -q "\"id\":\"$1\""
}

# stream_is ACCOUNT STREAM PYTHON_EXPR: `replywatch status --format json`
# has that stream, and the expression holds of its object d.
stream_is() {
	"$RW" -c "$CONF" status --format json >"$TMP/status.json" || return 1
	python3 - "$TMP/status.json" "$@" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
found = [r for r in rows if r["account"] == sys.argv[2] and r["stream"] == sys.argv[3]]
sys.exit(0 if found and eval(sys.argv[4], {"d": found[0]}) else 1)
PY
}

# stream_has ACCOUNT STREAM ERE...: the stream's line of `replywatch status
# --format json` (compact JSON, e.g. "state":"ok") matches every pattern.
stream_has() {
	_acc=$1 _str=$2
	shift 2
	"$RW" -c "$CONF" status --format json >"$TMP/status.json" || return 1
	grep "^{\"account\":\"$_acc\",.*\"stream\":\"$_str\"," "$TMP/status.json" \
		>"$TMP/stream.json" || return 1
	for _p in "$@"; do
		grep -Eq -- "$_p" "$TMP/stream.json" || return 1
	done
}

# stream_field ACCOUNT STREAM FIELD: that field of the stream's status.
stream_field() {
	"$RW" -c "$CONF" status --format json | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["account"] == sys.argv[1] and r["stream"] == sys.argv[2]:
        print(r[sys.argv[3]])' "$@"
}

# SPDX-License-Identifier: ISC
# A real local Bluesky network for replywatch's tests: PostgreSQL, Redis,
# @atproto/dev-env (PLC, PDS, AppView, Ozone) and the fake chat service,
# all on 127.0.0.1. POSIX sh; source it, then:
#
#   trap 'bsky_teardown' EXIT                 (before setup: it cleans up
#                                               a half-done setup too)
#   bsky_setup "$TMP/bsky" || exit $?         (77: a prerequisite is
#                                               missing, i.e. skip)
#   bsky_driver post dana.test pw 'hi @acme.test' --mention acme.test
#   curl "$BSKY_PDS_URL/xrpc/..."
#   bsky_teardown
#
# bsky_setup exports BSKY_NET_JSON, BSKY_PDS_URL, BSKY_PLC_URL,
# BSKY_APPVIEW_URL, BSKY_CHAT_PROXY ("<did>#bsky_chat", the value of the
# atproto-proxy header), BSKY_CHAT_DID, BSKY_CHAT_URL (the fake itself, for
# its /_fixture/ endpoints) and BSKY_DIR. It returns 0 when everything is
# up, 77 when a prerequisite is missing (the reason is printed and kept in
# BSKY_SKIP_REASON) and 1 on any other failure (after printing the logs'
# tails and stopping whatever it had started).
#
# Settings (environment):
#   REPLYWATCH_NPM_CACHE  where node_modules are kept between runs
#                         (default ~/.cache/replywatch-bsky), one directory
#                         per package-lock.json and Node ABI
#   BSKY_HERE             this directory (found from $top_srcdir or $0)
#   BSKY_PGBIN            PostgreSQL's bin dir (default: newest
#                         /usr/lib/postgresql/*/bin)
#   BSKY_START_TIMEOUT    seconds to wait for the network (default 180)
#   BSKY_KEEP=1           bsky_teardown keeps DIR (logs) for a post-mortem

_bsky_log() {
	echo "bsky: $*" >&2
}

_bsky_now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# _bsky_alive PID: the process exists and is not a zombie.
_bsky_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	if [ -r "/proc/$1/stat" ]; then
		case $(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) in
		Z*) return 1 ;;
		esac
	fi
	return 0
}

# _bsky_stop PIDFILE SECONDS: SIGTERM, wait for the exit, SIGKILL if late.
_bsky_stop() {
	[ -f "$1" ] || return 0
	_bsky_pid=$(cat "$1" 2>/dev/null)
	rm -f "$1"
	[ -n "$_bsky_pid" ] || return 0
	if ! _bsky_alive "$_bsky_pid"; then
		wait "$_bsky_pid" 2>/dev/null || true    # reap it if it is our child
		return 0
	fi
	kill -TERM "$_bsky_pid" 2>/dev/null || true
	_bsky_n=$(($2 * 10))
	while [ "$_bsky_n" -gt 0 ] && _bsky_alive "$_bsky_pid"; do
		sleep 0.1
		_bsky_n=$((_bsky_n - 1))
	done
	if _bsky_alive "$_bsky_pid"; then
		_bsky_log "pid $_bsky_pid ignored SIGTERM for $2 s, killing it"
		kill -KILL "$_bsky_pid" 2>/dev/null || true
	fi
	wait "$_bsky_pid" 2>/dev/null || true
	return 0
}

# _bsky_wait_file FILE PIDFILE SECONDS WHAT: wait until FILE exists, failing
# early if the process in PIDFILE has died.
_bsky_wait_file() {
	_bsky_n=$(($3 * 10))
	_bsky_pid=$(cat "$2")
	while [ ! -s "$1" ]; do
		if ! _bsky_alive "$_bsky_pid"; then
			_bsky_log "$4 exited before it was ready"
			return 1
		fi
		if [ "$_bsky_n" -le 0 ]; then
			_bsky_log "$4 not ready after $3 s"
			return 1
		fi
		sleep 0.1
		_bsky_n=$((_bsky_n - 1))
	done
	return 0
}

# _bsky_free_ports N: N distinct free TCP ports on 127.0.0.1, one a line.
_bsky_free_ports() {
	"$_bsky_py" -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
' "$1"
}

# _bsky_as_pg CMD...: run a PostgreSQL tool as "postgres" when we are root
# (initdb refuses to run as root), as ourselves otherwise.
_bsky_as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

_bsky_skip() {
	BSKY_SKIP_REASON=$*
	_bsky_log "SKIP: $*"
	return 77
}

_bsky_prereqs() {
	if [ -z "${BSKY_HERE:-}" ]; then
		for _bsky_d in ${top_srcdir:+"$top_srcdir/tests/bsky"} \
		    "$(dirname "$0")" "$(dirname "$0")/bsky" "$(dirname "$0")/tests/bsky"; do
			if [ -f "$_bsky_d/network.js" ]; then
				BSKY_HERE=$_bsky_d
				break
			fi
		done
	fi
	if [ -z "${BSKY_HERE:-}" ] || [ ! -f "$BSKY_HERE/network.js" ]; then
		_bsky_log "cannot find tests/bsky (set BSKY_HERE or top_srcdir)"
		return 1
	fi
	BSKY_HERE=$(cd "$BSKY_HERE" && pwd)

	command -v node >/dev/null 2>&1 || { _bsky_skip "node is not installed"; return; }
	_bsky_v=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
	[ "${_bsky_v:-0}" -ge 20 ] 2>/dev/null ||
		{ _bsky_skip "node ${_bsky_v:-?} is too old (need >= 20)"; return; }
	command -v npm >/dev/null 2>&1 || { _bsky_skip "npm is not installed"; return; }

	if [ -z "${BSKY_PGBIN:-}" ]; then
		# the highest version wins (sorted numerically: 9 before 10)
		for _bsky_d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5,5n); do
			if [ -x "$_bsky_d/initdb" ] && [ -x "$_bsky_d/pg_ctl" ]; then
				BSKY_PGBIN=$_bsky_d
			fi
		done
	fi
	if [ -z "${BSKY_PGBIN:-}" ] || [ ! -x "$BSKY_PGBIN/initdb" ]; then
		_bsky_skip "PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) are not installed"
		return
	fi
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || { _bsky_skip "no user 'postgres' to run initdb as"; return; }
		command -v runuser >/dev/null 2>&1 || { _bsky_skip "runuser is missing"; return; }
	fi
	command -v redis-server >/dev/null 2>&1 ||
		{ _bsky_skip "redis-server is not installed (apt-get install redis-server)"; return; }

	_bsky_py=
	for _bsky_d in /usr/bin/python3 "$(command -v python3 2>/dev/null)"; do
		if [ -n "$_bsky_d" ] && [ -x "$_bsky_d" ]; then
			_bsky_py=$_bsky_d
			break
		fi
	done
	[ -n "$_bsky_py" ] || { _bsky_skip "python3 is not installed"; return; }
	return 0
}

# _bsky_node_modules: sets BSKY_NODE_MODULES, installing with npm ci into
# the cache on first use. The install goes to a scratch directory that is
# renamed into place, so a concurrent or interrupted run never sees half.
_bsky_node_modules() {
	_bsky_cache=${REPLYWATCH_NPM_CACHE:-${HOME:-/root}/.cache/replywatch-bsky}
	_bsky_key=$(cat "$BSKY_HERE/package.json" "$BSKY_HERE/package-lock.json" |
		sha256sum | cut -c1-16)
	_bsky_abi=$(node -p 'process.versions.modules + "-" + process.arch')
	_bsky_dest=$_bsky_cache/$_bsky_key-node$_bsky_abi
	BSKY_NODE_MODULES=$_bsky_dest/node_modules
	BSKY_NPM_MS=0
	if [ -f "$_bsky_dest/.installed" ] && [ -d "$BSKY_NODE_MODULES/@atproto/dev-env" ]; then
		return 0
	fi
	mkdir -p "$_bsky_cache" || return 1
	_bsky_t=$(_bsky_now_ms)
	_bsky_tmp=$(mktemp -d "$_bsky_cache/.install.XXXXXX") || return 1
	cp "$BSKY_HERE/package.json" "$BSKY_HERE/package-lock.json" "$_bsky_tmp/" || return 1
	_bsky_log "installing node_modules into $_bsky_dest (first run only; about 2.5 min)"
	if ! (cd "$_bsky_tmp" && npm ci --prefer-offline --no-audit --no-fund) \
	    >"$BSKY_DIR/npm.log" 2>&1; then
		_bsky_log "npm ci failed; the end of $BSKY_DIR/npm.log:"
		tail -n 25 "$BSKY_DIR/npm.log" >&2
		rm -rf "$_bsky_tmp"
		return 1
	fi
	: >"$_bsky_tmp/.installed"
	if [ -e "$_bsky_dest" ] && [ ! -f "$_bsky_dest/.installed" ]; then
		rm -rf "$_bsky_dest"    # a broken leftover
	fi
	if ! mv -T "$_bsky_tmp" "$_bsky_dest" 2>/dev/null; then
		rm -rf "$_bsky_tmp"     # another run was faster; use its copy
	fi
	[ -d "$BSKY_NODE_MODULES/@atproto/dev-env" ] || return 1
	BSKY_NPM_MS=$(($(_bsky_now_ms) - _bsky_t))
	return 0
}

_bsky_start_postgres() {
	_bsky_pg=$BSKY_DIR/pg
	mkdir -p "$_bsky_pg" || return 1
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres "$_bsky_pg" || return 1
		# DIR may lie inside a directory that only root may enter
		if ! runuser -u postgres -- test -w "$_bsky_pg" 2>/dev/null; then
			rmdir "$_bsky_pg"
			_bsky_pg=$(mktemp -d /tmp/rw-bsky-pg.XXXXXX) || return 1
			chown postgres "$_bsky_pg" || return 1
		fi
	fi
	echo "$_bsky_pg" >"$BSKY_DIR/pg.dir"
	if ! _bsky_as_pg "$BSKY_PGBIN/initdb" -D "$_bsky_pg/data" -A trust -U postgres \
	    --no-sync -E UTF8 --locale=C >"$BSKY_DIR/initdb.log" 2>&1; then
		_bsky_log "initdb failed:"
		tail -n 20 "$BSKY_DIR/initdb.log" >&2
		return 1
	fi
	if ! _bsky_as_pg "$BSKY_PGBIN/pg_ctl" -D "$_bsky_pg/data" -l "$_bsky_pg/server.log" \
	    -w -t 60 -o "-c listen_addresses=127.0.0.1 -p $1 -k $_bsky_pg \
	    -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
	    -c max_connections=200" start >"$BSKY_DIR/pg_ctl.log" 2>&1; then
		_bsky_log "postgres did not start:"
		tail -n 20 "$_bsky_pg/server.log" >&2
		return 1
	fi
	return 0
}

# _bsky_guard PID: run in the background; when the shell PID is gone (killed,
# or it exited without bsky_teardown), tear everything down. No fd of the
# test is kept open: a test driver reading its output would wait for it.
_bsky_guard() {
	_bsky_in_guard=1
	while kill -0 "$1" 2>/dev/null; do
		sleep 1
	done
	bsky_teardown
}

bsky_setup() {
	if [ $# -ne 1 ] || [ -z "$1" ]; then
		_bsky_log "usage: bsky_setup DIR"
		return 1
	fi
	# shellcheck disable=SC2034 # for the caller
	BSKY_SKIP_REASON=
	_bsky_t0=$(_bsky_now_ms)
	_bsky_prereqs || return $?

	mkdir -p "$1" || return 1
	BSKY_DIR=$(cd "$1" && pwd) || return 1
	export BSKY_DIR

	_bsky_in_guard=
	_bsky_guard $$ </dev/null >/dev/null 2>&1 &
	echo $! >"$BSKY_DIR/guard.pid"

	_bsky_node_modules || { bsky_teardown; return 1; }
	_bsky_t1=$(_bsky_now_ms)

	# shellcheck disable=SC2046 # two numbers, split on purpose
	set -- $(_bsky_free_ports 2)
	if [ $# -ne 2 ]; then
		_bsky_log "could not find free ports"
		bsky_teardown
		return 1
	fi
	_bsky_pgport=$1
	_bsky_redisport=$2

	mkdir -p "$BSKY_DIR/redis" "$BSKY_DIR/tmp"
	redis-server --bind 127.0.0.1 --port "$_bsky_redisport" --save '' \
		--appendonly no --dir "$BSKY_DIR/redis" --daemonize no \
		>"$BSKY_DIR/redis.log" 2>&1 &
	echo $! >"$BSKY_DIR/redis.pid"

	"$_bsky_py" "$BSKY_HERE/chat.py" --port 0 --port-file "$BSKY_DIR/chat.port" \
		--net-json "$BSKY_DIR/net.json" >"$BSKY_DIR/chat.log" 2>&1 &
	echo $! >"$BSKY_DIR/chat.pid"

	if ! _bsky_start_postgres "$_bsky_pgport"; then
		bsky_teardown
		return 1
	fi

	# redis: ready once it logs so
	_bsky_n=200
	until grep -q 'Ready to accept connections' "$BSKY_DIR/redis.log" 2>/dev/null; do
		if ! _bsky_alive "$(cat "$BSKY_DIR/redis.pid")" || [ "$_bsky_n" -le 0 ]; then
			_bsky_log "redis did not start:"
			tail -n 20 "$BSKY_DIR/redis.log" >&2
			bsky_teardown
			return 1
		fi
		sleep 0.1
		_bsky_n=$((_bsky_n - 1))
	done
	if ! _bsky_wait_file "$BSKY_DIR/chat.port" "$BSKY_DIR/chat.pid" 20 "the chat fake"; then
		tail -n 20 "$BSKY_DIR/chat.log" >&2
		bsky_teardown
		return 1
	fi
	_bsky_chatport=$(cat "$BSKY_DIR/chat.port")
	_bsky_t2=$(_bsky_now_ms)

	# exec: the subshell becomes node, so $! is node's PID and node's
	# parent is this shell (network.js exits when its parent does).
	(
		cd "$BSKY_DIR" &&
		TMPDIR=$BSKY_DIR/tmp NODE_PATH=$BSKY_NODE_MODULES LOG_ENABLED=false \
		DB_POSTGRES_URL="postgresql://postgres@127.0.0.1:$_bsky_pgport/postgres" \
		REDIS_HOST="127.0.0.1:$_bsky_redisport" \
		exec node -r "$BSKY_HERE/loopback.js" "$BSKY_HERE/network.js" \
			"$BSKY_DIR/net.json" --chat-port "$_bsky_chatport"
	) >"$BSKY_DIR/net.log" 2>"$BSKY_DIR/net.err" &
	echo $! >"$BSKY_DIR/net.pid"
	if ! _bsky_wait_file "$BSKY_DIR/net.json" "$BSKY_DIR/net.pid" \
	    "${BSKY_START_TIMEOUT:-180}" "the Bluesky network"; then
		tail -n 30 "$BSKY_DIR/net.err" >&2
		bsky_teardown
		return 1
	fi

	BSKY_NET_JSON=$BSKY_DIR/net.json
	eval "$(node -e '
		const j = require(process.argv[1])
		const q = (s) => "\x27" + String(s).replace(/\x27/g, "\x27\\\x27\x27") + "\x27"
		for (const [k, v] of [["PDS_URL", j.pds], ["PLC_URL", j.plc],
		    ["APPVIEW_URL", j.appview], ["CHAT_PROXY", j.chat_proxy], ["CHAT_DID", j.chat_did]])
			console.log("BSKY_" + k + "=" + q(v))
	' "$BSKY_NET_JSON")" || { bsky_teardown; return 1; }
	BSKY_CHAT_URL=http://127.0.0.1:$_bsky_chatport
	export BSKY_NET_JSON BSKY_PDS_URL BSKY_PLC_URL BSKY_APPVIEW_URL \
		BSKY_CHAT_PROXY BSKY_CHAT_DID BSKY_CHAT_URL BSKY_HERE

	_bsky_t3=$(_bsky_now_ms)
	BSKY_SETUP_MS=$((_bsky_t3 - _bsky_t0))
	if [ "$BSKY_NPM_MS" -gt 0 ]; then
		_bsky_npm="npm ci ${BSKY_NPM_MS} ms"
	else
		_bsky_npm="node_modules cached"
	fi
	_bsky_log "up in $BSKY_SETUP_MS ms ($_bsky_npm; pg+redis+chat $((_bsky_t2 - _bsky_t1)) ms;" \
		"network $((_bsky_t3 - _bsky_t2)) ms); PDS $BSKY_PDS_URL"
	return 0
}

# bsky_teardown: stop everything bsky_setup started, by PID, and remove DIR.
# Safe to call more than once and after a failed or partial setup.
bsky_teardown() {
	[ -n "${BSKY_DIR:-}" ] && [ -d "$BSKY_DIR" ] || return 0
	if [ -z "${_bsky_in_guard:-}" ] && [ -f "$BSKY_DIR/guard.pid" ]; then
		kill -KILL "$(cat "$BSKY_DIR/guard.pid")" 2>/dev/null || true
		wait "$(cat "$BSKY_DIR/guard.pid")" 2>/dev/null || true
		rm -f "$BSKY_DIR/guard.pid"
	fi
	_bsky_stop "$BSKY_DIR/net.pid" 30
	_bsky_stop "$BSKY_DIR/chat.pid" 10
	_bsky_stop "$BSKY_DIR/redis.pid" 10
	if [ -f "$BSKY_DIR/pg.dir" ]; then
		_bsky_pg=$(cat "$BSKY_DIR/pg.dir")
		if [ -f "$_bsky_pg/data/postmaster.pid" ]; then
			if ! _bsky_as_pg "$BSKY_PGBIN/pg_ctl" -D "$_bsky_pg/data" -m fast -w -t 30 \
			    stop >/dev/null 2>&1; then
				_bsky_pid=$(head -n 1 "$_bsky_pg/data/postmaster.pid" 2>/dev/null)
				if [ -n "$_bsky_pid" ]; then
					kill -KILL "$_bsky_pid" 2>/dev/null || true
				fi
			fi
		fi
		case $_bsky_pg in
		"$BSKY_DIR"/*) ;;
		/tmp/rw-bsky-pg.*) [ "${BSKY_KEEP:-0}" = 1 ] || rm -rf "$_bsky_pg" ;;
		esac
		rm -f "$BSKY_DIR/pg.dir" || true
	fi
	if [ "${BSKY_KEEP:-0}" = 1 ]; then
		_bsky_log "kept $BSKY_DIR"
	else
		rm -rf "$BSKY_DIR" || true
	fi
	unset BSKY_DIR BSKY_NET_JSON BSKY_PDS_URL BSKY_PLC_URL BSKY_APPVIEW_URL \
		BSKY_CHAT_PROXY BSKY_CHAT_DID BSKY_CHAT_URL
	return 0
}

# bsky_driver COMMAND ARGS...: driver.js against the running network.
bsky_driver() {
	node "$BSKY_HERE/driver.js" "$BSKY_NET_JSON" "$@"
}

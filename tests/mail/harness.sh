# SPDX-License-Identifier: ISC
# A real mail server for replywatch's tests: a private Postfix (Debian's
# package) with its own configuration, queue and Maildirs, and a private
# Dovecot for SMTP AUTH, all on 127.0.0.1. Nothing leaves: the only
# destination is example.test, every other one is the error transport.
# POSIX sh; source it, then:
#
#   trap 'mail_teardown' EXIT                (before setup: it cleans up a
#                                              half-done setup too)
#   mail_setup "$TMP/mail" || exit $?        (77: a prerequisite is missing)
#   curl --ssl-reqd --cacert "$MAIL_CA_FILE" --url "$MAIL_SMTP_URL" ...
#   f=$(mail_wait_message "$MAIL_MAILDIR" 'Subject: hello' 20)
#   mail_teardown
#
# mail_setup exports
#   MAIL_SMTP_URL       smtp://127.0.0.1:PORT, STARTTLS required, then AUTH
#   MAIL_SMTPS_URL      smtps://127.0.0.1:PORT, implicit TLS, then AUTH
#   MAIL_PLAIN_URL      smtp://127.0.0.1:PORT, no TLS and no AUTH offered
#   MAIL_USER           ops@example.test, the SASL user and the mailbox
#   MAIL_PASSWORD_FILE  its password (mode 600, no newline)
#   MAIL_CA_FILE        the servers' self-signed certificate (IP:127.0.0.1,
#                       DNS:localhost)
#   MAIL_MAILDIR        ops@example.test's Maildir (new/ holds deliveries)
#   MAIL_BASE           where it all lives: DIR itself, or a directory in
#                       /tmp when the postfix user cannot enter DIR
# It returns 0 when the servers answer, 77 when a prerequisite is missing
# (the reason is printed and kept in MAIL_SKIP_REASON) and 1 on any other
# failure (after printing the logs' tails and stopping what it started).
# Every wait is on a condition (a file, a greeting), with a deadline.
#
# Settings (environment):
#   MAIL_HERE           this directory (found from $top_srcdir or $0)
#   MAIL_START_TIMEOUT  seconds to wait for each server (default 30)
#   MAIL_KEEP=1         mail_teardown keeps the directory for a post-mortem
#
# Prerequisites: root (Postfix's master starts as root and drops to the
# postfix user), Debian's postfix and dovecot-core, openssl, python3.

_mail_log() {
	echo "mail: $*" >&2
}

_mail_skip() {
	MAIL_SKIP_REASON=$*
	_mail_log "SKIP: $*"
	return 77
}

# _mail_alive PID: the process exists and is not a zombie.
_mail_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	if [ -r "/proc/$1/stat" ]; then
		case $(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) in
		Z*) return 1 ;;
		esac
	fi
	return 0
}

# _mail_gone PID SECONDS: wait until the process has ended.
_mail_gone() {
	_mail_n=$(($2 * 20))
	while _mail_alive "$1"; do
		[ "$_mail_n" -le 0 ] && return 1
		sleep 0.05
		_mail_n=$((_mail_n - 1))
	done
	return 0
}

# _mail_kill PID: SIGTERM, SIGKILL if it is still there 10 s later.
_mail_kill() {
	[ -n "$1" ] || return 0
	_mail_alive "$1" || return 0
	kill -TERM "$1" 2>/dev/null || true
	if ! _mail_gone "$1" 10; then
		_mail_log "pid $1 ignored SIGTERM, killing it"
		kill -KILL "$1" 2>/dev/null || true
		_mail_gone "$1" 5 || true
	fi
}

_mail_prereqs() {
	if [ -z "${MAIL_HERE:-}" ]; then
		for _mail_d in ${top_srcdir:+"$top_srcdir/tests/mail"} \
		    "$(dirname "$0")/mail" "$(dirname "$0")"; do
			if [ -f "$_mail_d/main.cf.in" ]; then
				MAIL_HERE=$_mail_d
				break
			fi
		done
	fi
	if [ -z "${MAIL_HERE:-}" ] || [ ! -f "$MAIL_HERE/main.cf.in" ]; then
		_mail_log "cannot find tests/mail (set MAIL_HERE or top_srcdir)"
		return 1
	fi
	MAIL_HERE=$(cd "$MAIL_HERE" && pwd)
	[ "$(id -u)" -eq 0 ] ||
		{ _mail_skip "Postfix's master must be started as root"; return; }
	_mail_postfix=/usr/sbin/postfix
	_mail_dovecot=/usr/sbin/dovecot
	[ -x "$_mail_postfix" ] ||
		{ _mail_skip "postfix is not installed (apt-get install postfix)"; return; }
	[ -x "$_mail_dovecot" ] ||
		{ _mail_skip "dovecot is not installed (apt-get install dovecot-core)"; return; }
	for _mail_u in postfix dovecot dovenull; do
		id "$_mail_u" >/dev/null 2>&1 ||
			{ _mail_skip "there is no user $_mail_u (reinstall postfix, dovecot-core)"; return; }
	done
	getent group postdrop >/dev/null 2>&1 ||
		{ _mail_skip "there is no group postdrop (reinstall postfix)"; return; }
	command -v openssl >/dev/null 2>&1 ||
		{ _mail_skip "openssl is not installed"; return; }
	command -v runuser >/dev/null 2>&1 ||
		{ _mail_skip "runuser (util-linux) is missing"; return; }
	_mail_py=
	for _mail_d in /usr/bin/python3 "$(command -v python3 2>/dev/null)"; do
		if [ -n "$_mail_d" ] && [ -x "$_mail_d" ]; then
			_mail_py=$_mail_d
			break
		fi
	done
	[ -n "$_mail_py" ] || { _mail_skip "python3 is not installed"; return; }
	return 0
}

# _mail_free_ports N: N distinct free TCP ports on 127.0.0.1, one a line.
_mail_free_ports() {
	"$_mail_py" -c '
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

# _mail_greets PORT TLS: the server on PORT sends its 220 greeting (TLS=1:
# after a TLS handshake, implicit TLS).
_mail_greets() {
	"$_mail_py" -c '
import socket, ssl, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    if sys.argv[2] == "1":
        ctx = ssl.create_default_context(cafile=sys.argv[3])
        s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    ok = s.recv(512).startswith(b"220")
    s.sendall(b"QUIT\r\n")
    s.close()
except OSError:
    ok = False
sys.exit(0 if ok else 1)
' "$1" "$2" "$MAIL_BASE/tls/cert.pem" 2>/dev/null
}

# _mail_wait WHAT PIDFILE COMMAND...: until the command succeeds, failing
# early if the process whose pid is in PIDFILE has died.
_mail_wait() {
	_mail_what=$1 _mail_pidf=$2
	shift 2
	_mail_n=$((${MAIL_START_TIMEOUT:-30} * 10))
	until "$@"; do
		if [ -s "$_mail_pidf" ] && ! _mail_alive "$(cat "$_mail_pidf")"; then
			_mail_log "$_mail_what exited before it was ready"
			return 1
		fi
		if [ "$_mail_n" -le 0 ]; then
			_mail_log "$_mail_what not ready after ${MAIL_START_TIMEOUT:-30} s"
			return 1
		fi
		sleep 0.1
		_mail_n=$((_mail_n - 1))
	done
}

# _mail_fill TEMPLATE OUT: the template with its @NAMES@ filled in.
_mail_fill() {
	sed -e "s|@BASE@|$MAIL_BASE|g" -e "s|@UID@|$_mail_uid|g" \
	    -e "s|@GID@|$_mail_gid|g" -e "s|@PLAIN_PORT@|$_mail_plain|g" \
	    -e "s|@SUBMIT_PORT@|$_mail_submit|g" \
	    -e "s|@SMTPS_PORT@|$_mail_smtps|g" "$1" >"$2"
}

# _mail_guard PID: in the background; once the shell PID is gone (killed,
# or it exited without mail_teardown), tear everything down.
_mail_guard() {
	_mail_in_guard=1
	while kill -0 "$1" 2>/dev/null; do
		sleep 1
	done
	mail_teardown
}

_mail_tail() {
	for _mail_f in "$@"; do
		[ -s "$_mail_f" ] || continue
		_mail_log "the end of $_mail_f:"
		tail -n 20 "$_mail_f" >&2
	done
}

_mail_configure() {
	mkdir -p "$MAIL_BASE/conf" "$MAIL_BASE/spool" "$MAIL_BASE/data" \
	    "$MAIL_BASE/vmail" "$MAIL_BASE/tls" "$MAIL_BASE/dovecot/run" \
	    "$MAIL_BASE/dovecot/state" || return 1
	if ! openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
	    -subj '/CN=127.0.0.1' \
	    -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
	    -keyout "$MAIL_BASE/tls/key.pem" -out "$MAIL_BASE/tls/cert.pem" \
	    >"$MAIL_BASE/openssl.log" 2>&1; then
		_mail_tail "$MAIL_BASE/openssl.log"
		return 1
	fi
	chmod 644 "$MAIL_BASE/tls/cert.pem"
	chmod 600 "$MAIL_BASE/tls/key.pem"
	_mail_uid=$(id -u postfix)
	_mail_gid=$(id -g postfix)
	_mail_fill "$MAIL_HERE/main.cf.in" "$MAIL_BASE/conf/main.cf" &&
	_mail_fill "$MAIL_HERE/master.cf.in" "$MAIL_BASE/conf/master.cf" &&
	_mail_fill "$MAIL_HERE/dovecot.conf.in" "$MAIL_BASE/dovecot/dovecot.conf" ||
		return 1
	echo "$MAIL_USER example.test/ops/" >"$MAIL_BASE/conf/vmailbox"
	# the SASL password: random, in a file for the client (mode 600)
	# and in Dovecot's user list (readable by its auth process)
	_mail_pw=$(openssl rand -hex 12) || return 1
	(umask 077 && printf '%s' "$_mail_pw" >"$MAIL_BASE/password")
	(umask 027 && echo "$MAIL_USER:{PLAIN}$_mail_pw" >"$MAIL_BASE/dovecot/users")
	chgrp dovecot "$MAIL_BASE/dovecot/users" || return 1
	chown postfix "$MAIL_BASE/vmail" "$MAIL_BASE/data" || return 1
	return 0
}

mail_setup() {
	if [ $# -ne 1 ] || [ -z "$1" ]; then
		_mail_log "usage: mail_setup DIR"
		return 1
	fi
	# shellcheck disable=SC2034 # for the caller
	MAIL_SKIP_REASON=
	_mail_prereqs || return $?
	mkdir -p "$1" || return 1
	MAIL_DIR=$(cd "$1" && pwd) || return 1
	export MAIL_DIR
	# Postfix's and Dovecot's unprivileged processes must reach it all
	chmod 755 "$MAIL_DIR"
	if runuser -u postfix -- test -x "$MAIL_DIR" 2>/dev/null; then
		MAIL_BASE=$MAIL_DIR
	else
		MAIL_BASE=$(mktemp -d /tmp/rw-mail.XXXXXX) || return 1
		chmod 755 "$MAIL_BASE"
		echo "$MAIL_BASE" >"$MAIL_DIR/base"
	fi
	MAIL_USER=ops@example.test

	_mail_in_guard=
	_mail_guard $$ </dev/null >/dev/null 2>&1 &
	echo $! >"$MAIL_DIR/guard.pid"

	# shellcheck disable=SC2046 # three numbers, split on purpose
	set -- $(_mail_free_ports 3)
	if [ $# -ne 3 ]; then
		_mail_log "could not find free ports"
		mail_teardown
		return 1
	fi
	_mail_plain=$1 _mail_submit=$2 _mail_smtps=$3
	if ! _mail_configure; then
		_mail_log "could not write the configuration"
		mail_teardown
		return 1
	fi

	# postfix check makes the queue directories, owned as Postfix wants
	# them; then Dovecot puts its auth socket into private/ before the
	# master starts
	if ! "$_mail_postfix" -c "$MAIL_BASE/conf" check \
	    >"$MAIL_BASE/postfix-check.log" 2>&1; then
		_mail_tail "$MAIL_BASE/postfix-check.log"
		mail_teardown
		return 1
	fi
	if ! "$_mail_dovecot" -c "$MAIL_BASE/dovecot/dovecot.conf" \
	    >"$MAIL_BASE/dovecot/start.log" 2>&1; then
		_mail_tail "$MAIL_BASE/dovecot/start.log" "$MAIL_BASE/dovecot/dovecot.log"
		mail_teardown
		return 1
	fi
	if ! _mail_wait dovecot "$MAIL_BASE/dovecot/run/master.pid" \
	    test -S "$MAIL_BASE/spool/private/auth"; then
		_mail_tail "$MAIL_BASE/dovecot/dovecot.log"
		mail_teardown
		return 1
	fi
	"$_mail_postfix" -c "$MAIL_BASE/conf" start-fg \
	    </dev/null >"$MAIL_BASE/postfix.log" 2>&1 &
	echo $! >"$MAIL_BASE/postfix-fg.pid"
	if ! _mail_wait "postfix (plain)" "$MAIL_BASE/postfix-fg.pid" \
		_mail_greets "$_mail_plain" 0 ||
	    ! _mail_wait "postfix (submission)" "$MAIL_BASE/postfix-fg.pid" \
		_mail_greets "$_mail_submit" 0 ||
	    ! _mail_wait "postfix (smtps)" "$MAIL_BASE/postfix-fg.pid" \
		_mail_greets "$_mail_smtps" 1; then
		_mail_tail "$MAIL_BASE/postfix.log"
		mail_teardown
		return 1
	fi

	MAIL_SMTP_URL=smtp://127.0.0.1:$_mail_submit
	MAIL_SMTPS_URL=smtps://127.0.0.1:$_mail_smtps
	MAIL_PLAIN_URL=smtp://127.0.0.1:$_mail_plain
	MAIL_PASSWORD_FILE=$MAIL_BASE/password
	MAIL_CA_FILE=$MAIL_BASE/tls/cert.pem
	MAIL_MAILDIR=$MAIL_BASE/vmail/example.test/ops
	export MAIL_SMTP_URL MAIL_SMTPS_URL MAIL_PLAIN_URL MAIL_USER \
	    MAIL_PASSWORD_FILE MAIL_CA_FILE MAIL_MAILDIR MAIL_BASE
	_mail_log "up: submission $MAIL_SMTP_URL, smtps $MAIL_SMTPS_URL," \
	    "plain $MAIL_PLAIN_URL; Maildir $MAIL_MAILDIR"
	return 0
}

# mail_message_matching MAILDIR TEXT: the first delivered message that
# contains the text (a fixed string), its path on stdout.
mail_message_matching() {
	for _mail_f in "$1"/new/* "$1"/cur/*; do
		[ -f "$_mail_f" ] || continue
		if grep -qF -- "$2" "$_mail_f"; then
			echo "$_mail_f"
			return 0
		fi
	done
	return 1
}

# mail_wait_message MAILDIR TEXT TIMEOUT: wait until a delivered message
# contains the text (a fixed string); prints its path. 1 on timeout.
mail_wait_message() {
	_mail_n=$(($3 * 20))
	until mail_message_matching "$1" "$2"; do
		[ "$_mail_n" -le 0 ] && return 1
		sleep 0.05
		_mail_n=$((_mail_n - 1))
	done
}

# mail_teardown: stop what mail_setup started, by pid, and remove the
# directory. Safe to call more than once and after a partial setup.
mail_teardown() {
	[ -n "${MAIL_DIR:-}" ] && [ -d "$MAIL_DIR" ] || return 0
	if [ -z "${_mail_in_guard:-}" ] && [ -f "$MAIL_DIR/guard.pid" ]; then
		kill -KILL "$(cat "$MAIL_DIR/guard.pid")" 2>/dev/null || true
		wait "$(cat "$MAIL_DIR/guard.pid")" 2>/dev/null || true
		rm -f "$MAIL_DIR/guard.pid"
	fi
	_mail_b=${MAIL_BASE:-}
	[ -z "$_mail_b" ] && [ -f "$MAIL_DIR/base" ] && _mail_b=$(cat "$MAIL_DIR/base")
	[ -n "$_mail_b" ] || _mail_b=$MAIL_DIR
	if [ -f "$_mail_b/spool/pid/master.pid" ]; then
		_mail_pid=$(tr -d ' ' <"$_mail_b/spool/pid/master.pid")
		/usr/sbin/postfix -c "$_mail_b/conf" stop >/dev/null 2>&1 || true
		_mail_gone "$_mail_pid" 10 || _mail_kill "$_mail_pid"
	fi
	if [ -f "$_mail_b/postfix-fg.pid" ]; then
		_mail_pid=$(cat "$_mail_b/postfix-fg.pid")
		_mail_gone "$_mail_pid" 5 || _mail_kill "$_mail_pid"
		wait "$_mail_pid" 2>/dev/null || true
	fi
	if [ -f "$_mail_b/dovecot/run/master.pid" ]; then
		# an immediate restart would find it still running: wait
		_mail_kill "$(cat "$_mail_b/dovecot/run/master.pid")"
	fi
	if [ "${MAIL_KEEP:-0}" = 1 ]; then
		_mail_log "kept $_mail_b"
	else
		[ "$_mail_b" != "$MAIL_DIR" ] && rm -rf "$_mail_b"
		rm -rf "$MAIL_DIR"
	fi
	unset MAIL_DIR MAIL_BASE MAIL_SMTP_URL MAIL_SMTPS_URL MAIL_PLAIN_URL \
	    MAIL_PASSWORD_FILE MAIL_CA_FILE MAIL_MAILDIR
	return 0
}

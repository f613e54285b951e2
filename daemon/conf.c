/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <ini.h>

#include "bizhours.h"
#include "classify.h"
#include "conf.h"
#include "log.h"
#include "timefmt.h"
#include "tz.h"
#include "xmalloc.h"

/*
 * The table conf_keys below (name, section, type, default, bounds, help)
 * drives parsing, validation, inheritance and conf_key_info.
 *
 * Every problem is collected as "file:line: why" and parsing goes on, so
 * that one run lists them all. Values are quoted back only where that is
 * safe: never a path, URL or secret.
 *
 * inih splits "key = value" lines and strips inline comments; everything
 * else is done here. The reader hands inih one physical line at a time and
 * counts them, so the handler always knows the current line. It also reads
 * the section headers itself (inih truncates them to 49 bytes, too short
 * for [account "NAME"] with a 64-character name), catches the lines inih
 * would reject so that each one is reported, and joins continuation lines.
 * Whatever it takes care of, it hands to inih as an empty line.
 */

#define CONF_NAME_MAX	64	/* account names, connector names */
#define CONF_KEYNAME_MAX 32	/* longer unknown key names are not quoted */
#define CONF_MAX_ERRORS	100
#define CONF_SHOW_MAX	80	/* values quoted back in messages are cut */

enum conf_scope {
	SCOPE_DAEMON,		/* [daemon] only, in struct conf */
	SCOPE_ACCOUNT,		/* [account "…"] only, in struct conf_account */
	SCOPE_POLICY,		/* both, in struct conf_policy: [daemon] gives
				   the default, an account may override it */
	SCOPE_ROUTE,		/* [route "…"] only, in struct conf_route */
};

enum conf_type {
	TYPE_PATH,		/* char *: a file name */
	TYPE_NAME,		/* char *: letters, digits, '-', '_' */
	TYPE_URL,		/* char *: no spaces or control characters */
	TYPE_ADDRESS,		/* char *: the same, an email address */
	TYPE_TEXT,		/* char *: the same, some other string */
	TYPE_DURATION,		/* int64_t ms, timefmt_parse_duration */
	TYPE_BOOL,		/* int */
	TYPE_LEVEL,		/* enum log_level */
	TYPE_ZONE,		/* char *: IANA name; empty: none */
	TYPE_HOURS,		/* char *: bizhours.h hours; empty: none */
	TYPE_DATES,		/* char *: bizhours.h closed dates; empty: none */
	TYPE_COUNT,		/* int64_t: a whole number */
	TYPE_LIST,		/* char *: comma-separated items */
	TYPE_SIZE,		/* int64_t bytes: a number, optional K, M or G */
	TYPE_FRACTION,		/* double: a number from 0 to 1 */
	TYPE_LANG,		/* int: enum classify_lang */
	TYPE_CUES,		/* char *: classify.h extra cues; empty: none */
};

#define KEY_NONZERO	0x01	/* duration: 0 is refused */
#define KEY_MULTILINE	0x02	/* may go on over deeper-indented lines,
				   joined with a space */

enum conf_key_id {
	K_DATABASE,
	K_LOG_LEVEL,
	K_SLA_DIRECT,
	K_SLA_BROADCAST,
	K_SLA_COMPLAINT,
	K_SLA_BUSINESS_TIME,
	K_TIMEZONE,
	K_BUSINESS_HOURS,
	K_CLOSED,
	K_CONNECTOR,
	K_URL,
	K_TOKEN_FILE,
	K_PASSWORD_FILE,
	K_POLL_INTERVAL,
	K_BACKFILL,
	K_COMMAND,
	K_COMMAND_TIMEOUT,
	K_HANDLE,
	K_CHAT_PROXY,
	K_CA_FILE,
	K_PLATFORM_ID,
	K_PAGE_ID,
	K_API_VERSION,
	K_CLIENT_ID,
	K_CLIENT_SECRET_FILE,
	K_REFRESH_TOKEN_FILE,
	K_ALERT_ROUTES,
	K_ALERT_OVERDUE,
	K_ALERT_WARNING,
	K_COMPLAINT_SPIKE_WINDOW,
	K_COMPLAINT_SPIKE_FLOOR,
	K_COMPLAINT_SPIKE_FACTOR,
	K_CONNECTOR_DOWN_AFTER,
	K_BACKLOG_LIMIT,
	K_REPEAT_INTERVAL,
	K_GROUP_WAIT,
	K_ROUTE_TYPE,
	K_ROUTE_URL,
	K_ROUTE_SECRET_FILE,
	K_ROUTE_FORMAT,
	K_ROUTE_FROM,
	K_ROUTE_TO,
	K_ROUTE_USERNAME,
	K_ROUTE_PASSWORD_FILE,
	K_ROUTE_STARTTLS,
	K_ROUTE_CA_FILE,
	K_HTTP_TIMEOUT,
	K_CONNECT_TIMEOUT,
	K_MAX_HOST_CONNECTIONS,
	K_MAX_RESPONSE_SIZE,
	K_METRICS_LISTEN,
	K_COMPLAINT_MODEL,
	K_COMPLAINT_THRESHOLD,
	K_COMPLAINT_CUES,
	K_LANGUAGE,
	NKEYS
};

struct conf_key {
	const char	*name;
	enum conf_scope	 scope;
	size_t		 off;	/* in the struct its scope names */
	enum conf_type	 type;
	const char	*def;	/* parsed like a value from the file; NULL: none */
	const char	*min;	/* durations; NULL: no bound */
	const char	*max;
	int		 flags;
	const char	*help;
};

#define DAEMON(f)	.scope = SCOPE_DAEMON, .off = offsetof(struct conf, f)
#define ACCOUNT(f)	.scope = SCOPE_ACCOUNT, \
			.off = offsetof(struct conf_account, f)
#define ROUTE(f)	.scope = SCOPE_ROUTE, \
			.off = offsetof(struct conf_route, f)
#define POLICY(f)	.scope = SCOPE_POLICY, \
			.off = offsetof(struct conf_policy, f)

_Static_assert(NKEYS <= CONF_ACCOUNT_MAXKEYS, "conf_account.keyline is too small");

static const struct conf_key conf_keys[NKEYS] = {
	[K_DATABASE] = { "database", DAEMON(database), .type = TYPE_PATH,
	    .def = CONF_DEFAULT_DATABASE,
	    .help = "SQLite database of messages and reply times" },
	[K_LOG_LEVEL] = { "log_level", DAEMON(log_level), .type = TYPE_LEVEL,
	    .def = "info",
	    .help = "most verbose messages logged: error, warning, notice, "
	    "info, debug" },
	[K_SLA_DIRECT] = { "sla_direct", POLICY(sla_direct_ms),
	    .type = TYPE_DURATION, .def = "1h", .max = "365d",
	    .flags = KEY_NONZERO,
	    .help = "reply-time target for direct (private) messages" },
	[K_SLA_BROADCAST] = { "sla_broadcast", POLICY(sla_broadcast_ms),
	    .type = TYPE_DURATION, .def = "4h", .max = "365d",
	    .flags = KEY_NONZERO,
	    .help = "reply-time target for public mentions, comments and "
	    "replies" },
	[K_SLA_COMPLAINT] = { "sla_complaint", POLICY(sla_complaint_ms),
	    .type = TYPE_DURATION, .def = "30m", .max = "365d",
	    .flags = KEY_NONZERO,
	    .help = "reply-time target for messages flagged as complaints" },
	[K_SLA_BUSINESS_TIME] = { "sla_business_time",
	    POLICY(sla_business_time), .type = TYPE_BOOL, .def = "no",
	    .help = "count the targets in business hours only (needs "
	    "business_hours)" },
	[K_TIMEZONE] = { "timezone", POLICY(timezone), .type = TYPE_ZONE,
	    .help = "IANA time zone of business_hours and closed (UTC if "
	    "unset)" },
	[K_BUSINESS_HOURS] = { "business_hours", POLICY(business_hours),
	    .type = TYPE_HOURS, .flags = KEY_MULTILINE,
	    .help = "weekly opening hours, e.g. \"mon-fri 09:00-17:30\"" },
	[K_CLOSED] = { "closed", POLICY(closed), .type = TYPE_DATES,
	    .flags = KEY_MULTILINE,
	    .help = "dates closed all day, e.g. \"2026-12-24 2026-12-25\"" },
	[K_CONNECTOR] = { "connector", ACCOUNT(connector), .type = TYPE_NAME,
	    .help = "connector that polls the account's platform" },
	[K_URL] = { "url", ACCOUNT(url), .type = TYPE_URL,
	    .help = "base URL of the platform's API" },
	[K_TOKEN_FILE] = { "token_file", ACCOUNT(token_file),
	    .type = TYPE_PATH,
	    .help = "file holding the API token (never written in this "
	    "file)" },
	[K_PASSWORD_FILE] = { "password_file", ACCOUNT(password_file),
	    .type = TYPE_PATH,
	    .help = "file holding the password (never written in this "
	    "file)" },
	[K_POLL_INTERVAL] = { "poll_interval", ACCOUNT(poll_interval_ms),
	    .type = TYPE_DURATION, .def = "60s", .min = "1s", .max = "24h",
	    .help = "time between two polls of the platform" },
	[K_BACKFILL] = { "backfill", ACCOUNT(backfill_ms),
	    .type = TYPE_DURATION, .def = "24h", .max = "366d",
	    .help = "how far back the first poll fetches messages" },
	[K_COMMAND] = { "command", ACCOUNT(command), .type = TYPE_PATH,
	    .help = "exec connector: the program to run on each poll, with "
	    "its arguments (run by /bin/sh -c)" },
	[K_COMMAND_TIMEOUT] = { "command_timeout", ACCOUNT(command_timeout_ms),
	    .type = TYPE_DURATION, .def = "60s", .min = "1s", .max = "1h",
	    .help = "exec connector: how long one run may take before it is "
	    "killed" },
	[K_HANDLE] = { "handle", ACCOUNT(handle), .type = TYPE_URL,
	    .help = "the account's login name or handle where the platform "
	    "needs one (bluesky: handle or DID)" },
	[K_CHAT_PROXY] = { "chat_proxy", ACCOUNT(chat_proxy), .type = TYPE_URL,
	    .def = "did:web:api.bsky.chat#bsky_chat",
	    .help = "bluesky: the chat service the PDS proxies direct "
	    "messages to (atproto-proxy header)" },
	[K_CA_FILE] = { "ca_file", ACCOUNT(ca_file), .type = TYPE_PATH,
	    .help = "PEM file of the certificate authorities to trust for "
	    "this account's url (default: the system's)" },
	[K_PLATFORM_ID] = { "platform_id", ACCOUNT(platform_id),
	    .type = TYPE_URL,
	    .help = "the brand's own id on the platform (x: user id, "
	    "facebook: page id, instagram: business account id, linkedin: "
	    "organization id)" },
	[K_PAGE_ID] = { "page_id", ACCOUNT(page_id), .type = TYPE_URL,
	    .help = "instagram: the Facebook page linked to the account, "
	    "whose conversations hold its direct messages" },
	[K_API_VERSION] = { "api_version", ACCOUNT(api_version),
	    .type = TYPE_URL,
	    .help = "the platform's API version (facebook, instagram: "
	    "v21.0; linkedin: YYYYMM) where the connector's default will "
	    "not do" },
	[K_CLIENT_ID] = { "client_id", ACCOUNT(client_id), .type = TYPE_URL,
	    .help = "x: the OAuth 2.0 client id, to refresh the user token" },
	[K_CLIENT_SECRET_FILE] = { "client_secret_file",
	    ACCOUNT(client_secret_file), .type = TYPE_PATH,
	    .help = "x: file holding the OAuth 2.0 client secret "
	    "(confidential clients)" },
	[K_REFRESH_TOKEN_FILE] = { "refresh_token_file",
	    ACCOUNT(refresh_token_file), .type = TYPE_PATH,
	    .help = "x: file holding the first OAuth 2.0 refresh token; "
	    "the rotated ones are kept in the state directory" },
	[K_ALERT_ROUTES] = { "alert_routes", POLICY(alert_routes),
	    .type = TYPE_LIST,
	    .help = "routes (comma-separated [route] names) that get the "
	    "account's alerts (default: every route)" },
	[K_ALERT_OVERDUE] = { "alert_overdue", POLICY(alert_overdue),
	    .type = TYPE_BOOL, .def = "yes",
	    .help = "alert when a wait passes its SLA deadline" },
	[K_ALERT_WARNING] = { "alert_warning", POLICY(alert_warning_pct),
	    .type = TYPE_COUNT, .def = "0", .min = "0", .max = "99",
	    .help = "early warning at this percentage of the SLA target "
	    "(0: none)" },
	[K_COMPLAINT_SPIKE_WINDOW] = { "complaint_spike_window",
	    POLICY(spike_window_ms), .type = TYPE_DURATION, .def = "1h",
	    .min = "10s", .max = "7d",
	    .help = "sliding window in which complaints are counted" },
	[K_COMPLAINT_SPIKE_FLOOR] = { "complaint_spike_floor",
	    POLICY(spike_floor), .type = TYPE_COUNT, .def = "5", .min = "0",
	    .max = "100000",
	    .help = "complaints in the window needed for a spike (0: no "
	    "spike alerts)" },
	[K_COMPLAINT_SPIKE_FACTOR] = { "complaint_spike_factor",
	    POLICY(spike_factor), .type = TYPE_COUNT, .def = "3", .min = "1",
	    .max = "1000",
	    .help = "a spike also needs this many times the trailing "
	    "baseline (the mean of the 24 windows before)" },
	[K_CONNECTOR_DOWN_AFTER] = { "connector_down_after",
	    POLICY(down_after_ms), .type = TYPE_DURATION, .def = "15m",
	    .min = "1s", .max = "7d",
	    .help = "alert when an account's polls have failed for this long "
	    "(authentication failures at once)" },
	[K_BACKLOG_LIMIT] = { "backlog_limit", POLICY(backlog_limit),
	    .type = TYPE_COUNT, .def = "0", .min = "0", .max = "10000000",
	    .help = "alert when more waits than this are open (0: none)" },
	[K_REPEAT_INTERVAL] = { "repeat_interval", POLICY(repeat_interval_ms),
	    .type = TYPE_DURATION, .def = "4h", .min = "1s", .max = "30d",
	    .help = "notify again about an alert still firing after this "
	    "long" },
	[K_GROUP_WAIT] = { "group_wait", POLICY(group_wait_ms),
	    .type = TYPE_DURATION, .def = "30s", .max = "1h",
	    .help = "alerts of one account and rule within this time go out "
	    "as one notification" },
	[K_ROUTE_TYPE] = { "type", ROUTE(type), .type = TYPE_NAME,
	    .help = "webhook or email" },
	[K_ROUTE_URL] = { "url", ROUTE(url), .type = TYPE_URL,
	    .help = "the webhook's https:// URL (http:// on loopback only), or "
	    "the mail server's smtp:// (STARTTLS) or smtps:// URL" },
	[K_ROUTE_SECRET_FILE] = { "secret_file", ROUTE(secret_file),
	    .type = TYPE_PATH,
	    .help = "webhook: file holding the HMAC-SHA256 key that signs "
	    "each body (default: none, unsigned)" },
	[K_ROUTE_FORMAT] = { "format", ROUTE(format), .type = TYPE_NAME,
	    .def = "json",
	    .help = "webhook: the body: json (versioned) or slack "
	    "({\"text\": ...}, also Mattermost)" },
	[K_ROUTE_FROM] = { "from", ROUTE(from), .type = TYPE_ADDRESS,
	    .help = "email: the sender address" },
	[K_ROUTE_TO] = { "to", ROUTE(to), .type = TYPE_LIST,
	    .help = "email: the recipients, comma-separated" },
	[K_ROUTE_USERNAME] = { "username", ROUTE(username), .type = TYPE_TEXT,
	    .help = "email: the SMTP AUTH user name (with password_file; "
	    "default: no AUTH)" },
	[K_ROUTE_PASSWORD_FILE] = { "password_file", ROUTE(password_file),
	    .type = TYPE_PATH,
	    .help = "email: file holding the SMTP AUTH password (with "
	    "username)" },
	[K_ROUTE_STARTTLS] = { "starttls", ROUTE(starttls), .type = TYPE_BOOL,
	    .def = "yes",
	    .help = "email: an smtp:// server must offer STARTTLS (no only "
	    "for a server on loopback)" },
	[K_ROUTE_CA_FILE] = { "ca_file", ROUTE(ca_file), .type = TYPE_PATH,
	    .help = "PEM file of the certificate authorities to trust for "
	    "url (default: the system's)" },
	[K_HTTP_TIMEOUT] = { "http_timeout", DAEMON(http_timeout_ms),
	    .type = TYPE_DURATION, .def = "30s", .min = "1s", .max = "10m",
	    .help = "longest time one HTTP request may take" },
	[K_CONNECT_TIMEOUT] = { "connect_timeout", DAEMON(connect_timeout_ms),
	    .type = TYPE_DURATION, .def = "10s", .min = "100ms", .max = "2m",
	    .help = "longest time to connect to a server" },
	[K_MAX_HOST_CONNECTIONS] = { "max_host_connections",
	    DAEMON(max_host_connections), .type = TYPE_COUNT, .def = "8",
	    .min = "1", .max = "256",
	    .help = "requests at once to one host; more wait their turn" },
	[K_MAX_RESPONSE_SIZE] = { "max_response_size",
	    DAEMON(max_response_size), .type = TYPE_SIZE, .def = "8M",
	    .min = "64K", .max = "1G",
	    .help = "largest response body accepted from a platform" },
	[K_METRICS_LISTEN] = { "metrics_listen", DAEMON(metrics_listen),
	    .type = TYPE_URL,
	    .help = "address and port of the Prometheus /metrics endpoint, "
	    "e.g. 127.0.0.1:9464 (default: none)" },
	[K_COMPLAINT_MODEL] = { "complaint_model", POLICY(complaint_model),
	    .type = TYPE_PATH,
	    .help = "model trained by 'replywatch train' for the complaint "
	    "classifier (default: the built-in rules only)" },
	[K_COMPLAINT_THRESHOLD] = { "complaint_threshold",
	    POLICY(complaint_threshold), .type = TYPE_FRACTION, .def = "0.5",
	    .min = "0", .max = "1",
	    .help = "a message is a complaint when its score reaches this" },
	[K_COMPLAINT_CUES] = { "complaint_cues", POLICY(complaint_cues),
	    .type = TYPE_CUES,
	    .help = "extra complaint cues with weights, e.g. "
	    "\"late delivery=2.0, refund*=1.5\"" },
	[K_LANGUAGE] = { "language", POLICY(language), .type = TYPE_LANG,
	    .def = "auto",
	    .help = "language of the messages: auto (detected per message), "
	    "en or de" },
};

#undef DAEMON
#undef ACCOUNT
#undef POLICY

/* Keys that would put a secret in the file, and what to use instead. */
static const struct {
	const char	*name;
	const char	*instead;
} conf_secret_keys[] = {
	{ "token", "token_file" },
	{ "access_token", "token_file" },
	{ "api_token", "token_file" },
	{ "bearer_token", "token_file" },
	{ "api_key", "token_file" },
	{ "apikey", "token_file" },
	{ "secret", "token_file" },
	{ "client_secret", "token_file" },
	{ "password", "password_file" },
	{ "passwd", "password_file" },
};

static const char *const conf_type_names[] = {
	[TYPE_PATH] = "path", [TYPE_NAME] = "name", [TYPE_URL] = "url",
	[TYPE_ADDRESS] = "address", [TYPE_TEXT] = "text",
	[TYPE_DURATION] = "duration", [TYPE_BOOL] = "boolean",
	[TYPE_LEVEL] = "log level", [TYPE_ZONE] = "time zone",
	[TYPE_HOURS] = "business hours", [TYPE_DATES] = "dates",
	[TYPE_COUNT] = "number", [TYPE_SIZE] = "size", [TYPE_LIST] = "list",
	[TYPE_FRACTION] = "number 0..1", [TYPE_LANG] = "language",
	[TYPE_CUES] = "cues",
};

/* What one section of the file set. */
struct conf_sect {
	int	 line;		/* of its header; 0: not in the file */
	int	 keyline[NKEYS];	/* where each key was set; 0: not set */
	char	 bad[NKEYS];	/* the value was refused (already reported) */
};

enum conf_where {
	WHERE_NONE,		/* before the first section header */
	WHERE_SKIP,		/* in a section whose header was refused */
	WHERE_DAEMON,
	WHERE_ACCOUNT,		/* the last one of conf->accounts */
	WHERE_ROUTE,		/* the last one of conf->routes */
};

struct conf_err {
	int	 line;
	size_t	 seq;
	char	*msg;
};

struct conf_load {
	const char	*path;
	FILE		*fp;
	int		 read_errno;	/* getline failed with it */
	char		*buf;		/* getline's */
	size_t		 bufsz;
	int		 lineno;
	int		 indent;	/* of the current line */
	struct conf	*conf;
	enum conf_where	 where;
	struct conf_sect daemon;
	struct conf_sect *sects;	/* one per account, in parallel */
	struct conf_sect *rsects;	/* one per route, in parallel */
	char		**cont;		/* value continuation lines extend */
	int		 cont_indent;	/* of the line that set it */
	char		*scratch;	/* *cont of a refused value */
	struct conf_err	*errs;
	size_t		 nerrs;
	size_t		 dropped;	/* errors past CONF_MAX_ERRORS */
};

static void conf_error(struct conf_load *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
conf_error_push(struct conf_load *ld, int line, const char *why)
{
	struct conf_err *e;

	ld->errs = xreallocarray(ld->errs, ld->nerrs + 1, sizeof *ld->errs);
	e = &ld->errs[ld->nerrs];
	e->line = line;
	e->seq = ld->nerrs++;
	if (line > 0)
		xasprintf(&e->msg, "%s:%d: %s", ld->path, line, why);
	else
		xasprintf(&e->msg, "%s: %s", ld->path, why);
}

/* line 0: about the whole file. */
static void
conf_error(struct conf_load *ld, int line, const char *fmt, ...)
{
	va_list ap;
	char *why;
	int n;

	if (ld->nerrs >= CONF_MAX_ERRORS) {
		ld->dropped++;
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&why, fmt, ap);
	va_end(ap);
	if (n == -1)
		fatal("out of memory");
	conf_error_push(ld, line, why);
	free(why);
}

static int
conf_err_cmp(const void *a, const void *b)
{
	const struct conf_err *ea = a, *eb = b;

	if (ea->line != eb->line)
		return ea->line < eb->line ? -1 : 1;
	return ea->seq < eb->seq ? -1 : ea->seq > eb->seq;
}

/* Hand the errors over, in order of line. */
static void
conf_errors_take(struct conf_load *ld, struct conf_errors *errs)
{
	char *why;
	size_t i;

	if (ld->dropped > 0) {
		/* Last, whatever the lines of the others. */
		xasprintf(&why, "too many errors, %zu more not shown",
		    ld->dropped);
		conf_error_push(ld, 0, why);
		ld->errs[ld->nerrs - 1].line = INT_MAX;
		free(why);
	}
	if (ld->nerrs > 1)
		qsort(ld->errs, ld->nerrs, sizeof *ld->errs, conf_err_cmp);
	errs->n = ld->nerrs;
	errs->msgs = xcalloc(ld->nerrs, sizeof *errs->msgs);
	for (i = 0; i < ld->nerrs; i++)
		errs->msgs[i] = ld->errs[i].msg;
	free(ld->errs);
	ld->errs = NULL;
	ld->nerrs = 0;
}

void
conf_errors_add(struct conf_errors *errs, const char *path, int line,
    const char *fmt, ...)
{
	va_list ap;
	char *why;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) == -1)
		fatal("out of memory");
	va_end(ap);
	errs->msgs = xreallocarray(errs->msgs, errs->n + 1, sizeof *errs->msgs);
	if (line > 0)
		xasprintf(&errs->msgs[errs->n], "%s:%d: %s", path, line, why);
	else
		xasprintf(&errs->msgs[errs->n], "%s: %s", path, why);
	errs->n++;
	free(why);
}

void
conf_errors_clear(struct conf_errors *errs)
{
	size_t i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}

/* ---- values ----------------------------------------------------------- */

static void *
key_target(const struct conf_key *k, struct conf *conf,
    struct conf_account *a)
{
	char *base;

	assert(k->scope != SCOPE_ROUTE);
	switch (k->scope) {
	case SCOPE_DAEMON:
		base = (char *)conf;
		break;
	case SCOPE_ACCOUNT:
		base = (char *)a;
		break;
	default:
		base = (char *)(a != NULL ? &a->policy : &conf->defaults);
		break;
	}
	return base + k->off;
}

/* v may be *dst itself. */
static void
set_string(char **dst, const char *v)
{
	char *copy = xstrdup_or_null(v);

	free(*dst);
	*dst = copy;
}

static int
has_control(const char *s, int space_too)
{
	for (; *s != '\0'; s++) {
		if (iscntrl((unsigned char)*s) || (space_too && *s == ' '))
			return 1;
	}
	return 0;
}

/*
 * A value as quoted back in a message: printable ASCII, anything else as
 * '?', cut after CONF_SHOW_MAX characters.
 */
static const char *
shown(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < CONF_SHOW_MAX && i + 1 < len; i++)
		buf[i] = s[i] >= ' ' && s[i] <= '~' ? s[i] : '?';
	if (s[i] != '\0' && i + 4 <= len) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* 1..max characters, each a letter, a digit or one of extra. */
static int
valid_name(const char *s, size_t max, const char *extra)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		if (!isalnum((unsigned char)s[n]) && strchr(extra, s[n]) == NULL)
			return 0;
	}
	return n > 0 && n <= max;
}

static int
parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* q: v as shown in messages. */
static int
parse_duration(const struct conf_key *k, const char *v, const char *q,
    int64_t *out, char **why)
{
	int64_t ms, bound;

	if (timefmt_parse_duration(v, &ms) == -1) {
		xasprintf(why, "%s: invalid duration \"%s\" "
		    "(for example 45s, 30m, 1h30m, 2d)", k->name, q);
		return -1;
	}
	if (ms == 0 && (k->flags & KEY_NONZERO)) {
		xasprintf(why, "%s = %s: a zero SLA target is refused",
		    k->name, q);
		return -1;
	}
	if (k->min != NULL && timefmt_parse_duration(k->min, &bound) == 0 &&
	    ms < bound) {
		xasprintf(why, "%s = %s is too short: the minimum is %s",
		    k->name, q, k->min);
		return -1;
	}
	if (k->max != NULL && timefmt_parse_duration(k->max, &bound) == 0 &&
	    ms > bound) {
		xasprintf(why, "%s = %s is too long: the maximum is %s",
		    k->name, q, k->max);
		return -1;
	}
	*out = ms;
	return 0;
}

/* "12", or for sizes "64K", "8M", "1G" (powers of 1024). -1 if malformed. */
static int
parse_number(const char *v, int size, int64_t *out)
{
	unsigned long long n;
	char *end;
	int shift = 0;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || n > INT64_MAX / 2)
		return -1;
	if (size && *end != '\0' && end[1] == '\0') {
		switch (*end++) {
		case 'K': case 'k': shift = 10; break;
		case 'M': case 'm': shift = 20; break;
		case 'G': case 'g': shift = 30; break;
		default: return -1;
		}
	}
	if (*end != '\0' || n > (unsigned long long)(INT64_MAX >> shift))
		return -1;
	*out = (int64_t)(n << shift);
	return 0;
}

static int
parse_count(const struct conf_key *k, const char *v, const char *q,
    int64_t *out, char **why)
{
	int size = k->type == TYPE_SIZE;
	int64_t n, bound;

	if (parse_number(v, size, &n) == -1) {
		xasprintf(why, "%s: invalid %s \"%s\"%s", k->name,
		    size ? "size" : "number", q, size ?
		    " (bytes, or with K, M or G: 64K, 8M)" : "");
		return -1;
	}
	if (k->min != NULL && parse_number(k->min, 1, &bound) == 0 &&
	    n < bound) {
		xasprintf(why, "%s = %s is too small: the minimum is %s",
		    k->name, q, k->min);
		return -1;
	}
	if (k->max != NULL && parse_number(k->max, 1, &bound) == 0 &&
	    n > bound) {
		xasprintf(why, "%s = %s is too large: the maximum is %s",
		    k->name, q, k->max);
		return -1;
	}
	*out = n;
	return 0;
}

/* A number from 0 to 1, written with digits and at most one '.'. */
static int
parse_fraction(const struct conf_key *k, const char *v, const char *q,
    double *out, char **why)
{
	char *end;
	double d;

	errno = 0;
	if (strspn(v, "0123456789.") != strlen(v) ||
	    (d = strtod(v, &end)) < 0 || *end != '\0' || errno != 0 ||
	    d > 1) {
		xasprintf(why, "%s: invalid value \"%s\": use a number from "
		    "0 to 1, such as 0.5", k->name, q);
		return -1;
	}
	*out = d;
	return 0;
}

static int
parse_lang(const struct conf_key *k, const char *v, const char *q, int *out,
    char **why)
{
	enum classify_lang l;

	if (classify_lang_parse(v, &l) == -1) {
		xasprintf(why, "%s: unknown language \"%s\": use auto, en or "
		    "de", k->name, q);
		return -1;
	}
	*out = (int)l;
	return 0;
}

/*
 * Convert v and store it at dst. -1 with *why (caller frees) if refused.
 * Paths and URLs are never quoted back: a URL may carry credentials.
 */
static int
key_parse(const struct conf_key *k, const char *v, void *dst, char **why)
{
	char q[CONF_SHOW_MAX + 4];
	enum log_level level;
	int b;

	shown(v, q, sizeof q);
	if (*v == '\0' && k->type != TYPE_ZONE && k->type != TYPE_HOURS &&
	    k->type != TYPE_DATES && k->type != TYPE_CUES) {
		xasprintf(why, "%s: empty value", k->name);
		return -1;
	}
	switch (k->type) {
	case TYPE_LIST:
	case TYPE_PATH:
		if (has_control(v, 0)) {
			xasprintf(why, "%s: the %s contains control "
			    "characters", k->name,
			    k->type == TYPE_LIST ? "list" : "path");
			return -1;
		}
		break;
	case TYPE_NAME:
		if (!valid_name(v, CONF_NAME_MAX, "-_")) {
			xasprintf(why, "%s: invalid name \"%s\": use up to %d "
			    "letters, digits, '-' and '_'", k->name, q,
			    CONF_NAME_MAX);
			return -1;
		}
		break;
	case TYPE_URL:
	case TYPE_ADDRESS:
	case TYPE_TEXT:
		if (has_control(v, 1)) {
			xasprintf(why, "%s: the %s contains spaces or control "
			    "characters", k->name, strcmp(k->name, "url") == 0 ?
			    "URL" : "value");
			return -1;
		}
		break;
	case TYPE_DURATION:
		return parse_duration(k, v, q, dst, why);
	case TYPE_COUNT:
	case TYPE_SIZE:
		return parse_count(k, v, q, dst, why);
	case TYPE_BOOL:
		if (parse_bool(v, &b) == -1) {
			xasprintf(why, "%s: invalid boolean \"%s\": use yes or "
			    "no", k->name, q);
			return -1;
		}
		*(int *)dst = b;
		return 0;
	case TYPE_LEVEL:
		if (log_parse_level(v, &level) == -1) {
			xasprintf(why, "%s: unknown level \"%s\": use error, "
			    "warning, notice, info or debug", k->name, q);
			return -1;
		}
		*(enum log_level *)dst = level;
		return 0;
	case TYPE_FRACTION:
		return parse_fraction(k, v, q, dst, why);
	case TYPE_LANG:
		return parse_lang(k, v, q, dst, why);
	case TYPE_CUES:
		if (*v != '\0' && classify_cues_check(v, why) == -1)
			return -1;
		set_string(dst, *v == '\0' ? NULL : v);
		return 0;
	case TYPE_ZONE:
	case TYPE_HOURS:
	case TYPE_DATES:
		/* Checked once the file is read, see check_strings. */
		set_string(dst, *v == '\0' ? NULL : v);
		return 0;
	}
	set_string(dst, v);
	return 0;
}

static void
key_default(const struct conf_key *k, void *dst)
{
	char *why;

	if (k->def == NULL)
		return;
	if (key_parse(k, k->def, dst, &why) == -1)
		fatal("built-in default of %s: %s", k->name, why);
}

/* The [daemon] value of a policy key to an account that does not set it. */
static void
key_copy(const struct conf_key *k, void *dst, const void *src)
{
	switch (k->type) {
	case TYPE_DURATION:
	case TYPE_COUNT:
	case TYPE_SIZE:
		*(int64_t *)dst = *(const int64_t *)src;
		break;
	case TYPE_BOOL:
	case TYPE_LANG:
		*(int *)dst = *(const int *)src;
		break;
	case TYPE_FRACTION:
		*(double *)dst = *(const double *)src;
		break;
	case TYPE_LEVEL:
		*(enum log_level *)dst = *(const enum log_level *)src;
		break;
	default:
		set_string(dst, *(char *const *)src);
		break;
	}
}

static const struct conf_key *
key_find(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		if (strcasecmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	}
	return NULL;
}

/* The key of that name for the current section: route keys share names
 * (url, ca_file, password_file) with account keys. */
static const struct conf_key *
key_find_in(const char *name, enum conf_where where)
{
	const struct conf_key *first = NULL;
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		if (strcasecmp(conf_keys[i].name, name) != 0)
			continue;
		if ((conf_keys[i].scope == SCOPE_ROUTE) == (where == WHERE_ROUTE))
			return &conf_keys[i];
		if (first == NULL)
			first = &conf_keys[i];
	}
	return first;
}

int
conf_key_info(size_t i, struct conf_keyinfo *out)
{
	static const char *const sections[] = {
		[SCOPE_DAEMON] = "daemon", [SCOPE_ACCOUNT] = "account",
		[SCOPE_POLICY] = "daemon account", [SCOPE_ROUTE] = "route",
	};
	const struct conf_key *k;

	if (i >= NKEYS)
		return -1;
	k = &conf_keys[i];
	out->name = k->name;
	out->sections = sections[k->scope];
	out->type = conf_type_names[k->type];
	out->def = k->def;
	out->min = k->min;
	out->max = k->max;
	out->help = k->help;
	return 0;
}

/* ---- the structures ---------------------------------------------------- */

static void
policy_clear(struct conf_policy *p)
{
	free(p->timezone);
	free(p->alert_routes);
	free(p->business_hours);
	free(p->closed);
	free(p->complaint_model);
	free(p->complaint_cues);
	bizhours_free(p->biz);
	memset(p, 0, sizeof *p);
}

static void
account_clear(struct conf_account *a)
{
	free(a->name);
	free(a->connector);
	free(a->url);
	free(a->token_file);
	free(a->password_file);
	free(a->command);
	free(a->handle);
	free(a->chat_proxy);
	free(a->ca_file);
	free(a->platform_id);
	free(a->page_id);
	free(a->api_version);
	free(a->client_id);
	free(a->client_secret_file);
	free(a->refresh_token_file);
	policy_clear(&a->policy);
}

static void
route_clear(struct conf_route *r)
{
	free(r->name);
	free(r->type);
	free(r->url);
	free(r->secret_file);
	free(r->format);
	free(r->from);
	free(r->to);
	free(r->username);
	free(r->password_file);
	free(r->ca_file);
}

void
conf_free(struct conf *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->naccounts; i++)
		account_clear(&conf->accounts[i]);
	free(conf->accounts);
	for (i = 0; i < conf->nroutes; i++)
		route_clear(&conf->routes[i]);
	free(conf->routes);
	policy_clear(&conf->defaults);
	free(conf->database);
	free(conf->metrics_listen);
	free(conf->path);
	free(conf);
}

struct conf *
conf_default(const char *database)
{
	struct conf *conf;
	size_t i;

	conf = xcalloc(1, sizeof *conf);
	for (i = 0; i < NKEYS; i++) {
		if (conf_keys[i].scope != SCOPE_ACCOUNT &&
		    conf_keys[i].scope != SCOPE_ROUTE)
			key_default(&conf_keys[i],
			    key_target(&conf_keys[i], conf, NULL));
	}
	if (database != NULL)
		set_string(&conf->database, database);
	return conf;
}

/* A new account with the built-in defaults of the account-only keys; the
 * policy is filled in once the whole file is read. */
static struct conf_account *
account_add(struct conf *conf, const char *name, int line)
{
	struct conf_account *a;
	size_t i;

	conf->accounts = xreallocarray(conf->accounts, conf->naccounts + 1,
	    sizeof *conf->accounts);
	a = &conf->accounts[conf->naccounts++];
	memset(a, 0, sizeof *a);
	a->name = xstrdup(name);
	a->line = line;
	for (i = 0; i < NKEYS; i++) {
		if (conf_keys[i].scope == SCOPE_ACCOUNT)
			key_default(&conf_keys[i],
			    key_target(&conf_keys[i], conf, a));
	}
	return a;
}

int
conf_account_key_line(const struct conf_account *a, const char *name)
{
	const struct conf_key *k;

	if ((k = key_find(name)) == NULL || k->scope == SCOPE_DAEMON)
		return 0;
	return a->keyline[k - conf_keys];
}

const struct conf_account *
conf_find_account(const struct conf *conf, const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < conf->naccounts; i++) {
		if (strcmp(conf->accounts[i].name, name) == 0)
			return &conf->accounts[i];
	}
	return NULL;
}

const struct conf_policy *
conf_policy_for(const struct conf *conf, const char *name)
{
	const struct conf_account *a;

	if ((a = conf_find_account(conf, name)) != NULL)
		return &a->policy;
	return &conf->defaults;
}

/* ---- reading the file -------------------------------------------------- */

static char *
rstrip(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static char *
lskip(char *s)
{
	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	return s;
}

/* Cut an inline comment: ';' after a space, as inih does. */
static char *
cut_comment(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++) {
		if (*p == ';' && p > s && isspace((unsigned char)p[-1])) {
			*p = '\0';
			break;
		}
	}
	return rstrip(s);
}

/* Does inih find a '=' or ':' before any inline comment? */
static int
has_separator(const char *s)
{
	const char *p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '=' || *p == ':')
			return 1;
		if (*p == ';' && p > s && isspace((unsigned char)p[-1]))
			return 0;
	}
	return 0;
}

static const char *
where_name(struct conf_load *ld, char *buf, size_t len)
{
	if (ld->where == WHERE_DAEMON)
		return "[daemon]";
	if (ld->where == WHERE_ROUTE) {
		snprintf(buf, len, "[route \"%s\"]",
		    ld->conf->routes[ld->conf->nroutes - 1].name);
		return buf;
	}
	snprintf(buf, len, "[account \"%s\"]",
	    ld->conf->accounts[ld->conf->naccounts - 1].name);
	return buf;
}

static void
section_daemon(struct conf_load *ld)
{
	if (ld->daemon.line != 0)
		conf_error(ld, ld->lineno, "duplicate [daemon] section, "
		    "the first is at line %d", ld->daemon.line);
	else
		ld->daemon.line = ld->lineno;
	ld->where = WHERE_DAEMON;
}

/* s: what follows "account" in the header. */
static void
section_account(struct conf_load *ld, char *s)
{
	const struct conf_account *prev;
	struct conf_sect *sc;
	char *name, *end, q[CONF_SHOW_MAX + 4];

	name = lskip(s);
	if (*name != '"' || (end = strchr(name + 1, '"')) == NULL ||
	    *lskip(end + 1) != '\0') {
		conf_error(ld, ld->lineno, "the account name must be in double "
		    "quotes: [account \"NAME\"]");
		return;
	}
	name++;
	*end = '\0';
	if (!valid_name(name, CONF_NAME_MAX, "-_.")) {
		conf_error(ld, ld->lineno, "invalid account name \"%s\": use "
		    "1 to %d letters, digits, '-', '_' or '.'",
		    shown(name, q, sizeof q), CONF_NAME_MAX);
		return;
	}
	/* A duplicate is still read, so that errors in it are found too. */
	if ((prev = conf_find_account(ld->conf, name)) != NULL)
		conf_error(ld, ld->lineno, "duplicate [account \"%s\"], "
		    "already defined at line %d", name, prev->line);
	account_add(ld->conf, name, ld->lineno);
	ld->sects = xreallocarray(ld->sects, ld->conf->naccounts,
	    sizeof *ld->sects);
	sc = &ld->sects[ld->conf->naccounts - 1];
	memset(sc, 0, sizeof *sc);
	sc->line = ld->lineno;
	ld->where = WHERE_ACCOUNT;
}

static const struct conf_route *
find_route(const struct conf *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->nroutes; i++) {
		if (strcmp(conf->routes[i].name, name) == 0)
			return &conf->routes[i];
	}
	return NULL;
}

static void
route_add(struct conf *conf, const char *name, int line)
{
	struct conf_route *r;
	size_t i;

	conf->routes = xreallocarray(conf->routes, conf->nroutes + 1,
	    sizeof *conf->routes);
	r = &conf->routes[conf->nroutes++];
	memset(r, 0, sizeof *r);
	r->name = xstrdup(name);
	r->line = line;
	for (i = 0; i < NKEYS; i++) {
		if (conf_keys[i].scope == SCOPE_ROUTE)
			key_default(&conf_keys[i],
			    (char *)r + conf_keys[i].off);
	}
}

static void
section_route(struct conf_load *ld, char *s)
{
	const struct conf_route *prev;
	struct conf_sect *sc;
	char *name, *end, q[CONF_SHOW_MAX + 4];

	name = lskip(s);
	if (*name != '"' || (end = strchr(name + 1, '"')) == NULL ||
	    *lskip(end + 1) != '\0') {
		conf_error(ld, ld->lineno, "the route name must be in double "
		    "quotes: [route \"NAME\"]");
		return;
	}
	name++;
	*end = '\0';
	if (!valid_name(name, CONF_NAME_MAX, "-_.")) {
		conf_error(ld, ld->lineno, "invalid route name \"%s\": use "
		    "1 to %d letters, digits, '-', '_' or '.'",
		    shown(name, q, sizeof q), CONF_NAME_MAX);
		return;
	}
	if ((prev = find_route(ld->conf, name)) != NULL)
		conf_error(ld, ld->lineno, "duplicate [route \"%s\"], "
		    "already defined at line %d", name, prev->line);
	route_add(ld->conf, name, ld->lineno);
	ld->rsects = xreallocarray(ld->rsects, ld->conf->nroutes,
	    sizeof *ld->rsects);
	sc = &ld->rsects[ld->conf->nroutes - 1];
	memset(sc, 0, sizeof *sc);
	sc->line = ld->lineno;
	ld->where = WHERE_ROUTE;
}

/* s: a stripped line starting with '['. */
static void
section_header(struct conf_load *ld, char *s)
{
	char *end, *name, q[CONF_SHOW_MAX + 4];

	ld->where = WHERE_SKIP;
	if ((end = strchr(s, ']')) == NULL) {
		conf_error(ld, ld->lineno, "invalid section header: "
		    "missing ']'");
		return;
	}
	*end++ = '\0';
	end = lskip(end);
	if (*end != '\0' && *end != ';' && *end != '#') {
		conf_error(ld, ld->lineno, "unexpected text after the "
		    "section header");
		return;
	}
	name = rstrip(lskip(s + 1));
	if (strcasecmp(name, "daemon") == 0)
		section_daemon(ld);
	else if (strncasecmp(name, "account", 7) == 0 &&
	    (name[7] == '\0' || name[7] == '"' ||
	    isspace((unsigned char)name[7])))
		section_account(ld, name + 7);
	else if (strncasecmp(name, "route", 5) == 0 &&
	    (name[5] == '\0' || name[5] == '"' ||
	    isspace((unsigned char)name[5])))
		section_route(ld, name + 5);
	else
		conf_error(ld, ld->lineno, "unknown section [%s] "
		    "(expected [daemon], [account \"NAME\"] or "
		    "[route \"NAME\"])",
		    shown(name, q, sizeof q));
}

/* An indented line going on with a multi-line value. */
static void
continuation(struct conf_load *ld, char *s)
{
	char *v;

	s = cut_comment(s);
	if (*s == '\0')
		return;
	if (*ld->cont == NULL)
		v = xstrdup(s);
	else
		xasprintf(&v, "%s %s", *ld->cont, s);
	free(*ld->cont);
	*ld->cont = v;
}

/* Classify one line: what to hand inih, "" for nothing. */
static const char *
lex_line(struct conf_load *ld, char *line, size_t len)
{
	char *s;

	if (strlen(line) != len) {
		ld->cont = NULL;
		conf_error(ld, ld->lineno, "the line contains a NUL byte");
		return "";
	}
	if (ld->lineno == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0)
		line += 3;
	s = rstrip(lskip(line));
	if (*s == '\0' || *s == ';' || *s == '#') {
		ld->cont = NULL;
		return "";
	}
	if (ld->cont != NULL && s - line > ld->cont_indent &&
	    strchr(s, '=') == NULL) {
		continuation(ld, s);
		return "";
	}
	ld->cont = NULL;
	ld->indent = (int)(s - line);
	if (*s == '[') {
		section_header(ld, s);
		return "";
	}
	if (!has_separator(s)) {
		conf_error(ld, ld->lineno, "syntax error: expected "
		    "\"key = value\" or a [section] header");
		return "";
	}
	return s;
}

static char *
conf_reader(char *str, int num, void *arg)
{
	struct conf_load *ld = arg;
	const char *s;
	ssize_t len;

	if (num < 2)
		return NULL;
	errno = 0;
	if ((len = getline(&ld->buf, &ld->bufsz, ld->fp)) == -1) {
		if (ferror(ld->fp))
			ld->read_errno = errno != 0 ? errno : EIO;
		return NULL;
	}
	ld->lineno++;
	if (len > 0 && ld->buf[len - 1] == '\n')
		ld->buf[--len] = '\0';
	s = lex_line(ld, ld->buf, (size_t)len);
	if (strlen(s) > (size_t)num - 2) {
		conf_error(ld, ld->lineno, "line too long: at most %d "
		    "characters", num - 2);
		s = "";
	}
	snprintf(str, (size_t)num, "%s\n", s);
	return str;
}

/* A key name safe and short enough to quote in a message: something else
 * may be a secret pasted on a line of its own. */
static int
quotable_key(const char *name)
{
	return valid_name(name, CONF_KEYNAME_MAX, "-_.");
}

static int
secret_key(struct conf_load *ld, const char *name)
{
	const char *instead;
	size_t i;

	for (i = 0; i < sizeof conf_secret_keys / sizeof conf_secret_keys[0];
	    i++) {
		if (strcasecmp(name, conf_secret_keys[i].name) == 0) {
			instead = conf_secret_keys[i].instead;
			/* a route's key is the webhook's secret_file */
			if (ld->where == WHERE_ROUTE &&
			    strcmp(instead, "token_file") == 0)
				instead = "secret_file";
			conf_error(ld, ld->lineno, "key \"%s\": inline "
			    "secrets are not supported, put the secret in a "
			    "file and set %s", conf_secret_keys[i].name,
			    instead);
			return 1;
		}
	}
	return 0;
}

/* The key exists: may it be in this section, and only once? */
static int
key_allowed(struct conf_load *ld, const struct conf_key *k,
    struct conf_sect *sc, const char *in)
{
	int first = sc->keyline[k - conf_keys];

	if (k->scope == SCOPE_DAEMON && ld->where != WHERE_DAEMON) {
		conf_error(ld, ld->lineno, "key \"%s\" is only valid in "
		    "[daemon], not in %s", k->name, in);
		return 0;
	}
	if (k->scope == SCOPE_ACCOUNT && ld->where != WHERE_ACCOUNT) {
		conf_error(ld, ld->lineno, "key \"%s\" is only valid in "
		    "[account \"NAME\"] sections, not in %s", k->name, in);
		return 0;
	}
	if (k->scope == SCOPE_ROUTE && ld->where != WHERE_ROUTE) {
		conf_error(ld, ld->lineno, "key \"%s\" is only valid in "
		    "[route \"NAME\"] sections, not in %s", k->name, in);
		return 0;
	}
	if (k->scope != SCOPE_ROUTE && ld->where == WHERE_ROUTE) {
		conf_error(ld, ld->lineno, "key \"%s\" is not valid in %s",
		    k->name, in);
		return 0;
	}
	if (first != 0) {
		conf_error(ld, ld->lineno, "key \"%s\" given twice in %s, "
		    "first at line %d", k->name, in, first);
		return 0;
	}
	return 1;
}

/* The value without the double quotes around it, if any. */
static char *
unquote(const char *value)
{
	size_t n = strlen(value);

	if (n >= 2 && value[0] == '"' && value[n - 1] == '"')
		return xstrndup(value + 1, n - 2);
	return xstrdup(value);
}

/* A multi-line key's continuation lines go to *dst. */
static void
expect_continuation(struct conf_load *ld, char **dst)
{
	if (dst == &ld->scratch) {
		free(ld->scratch);
		ld->scratch = NULL;
	}
	ld->cont = dst;
	ld->cont_indent = ld->indent;
}

static void
key_set(struct conf_load *ld, const struct conf_key *k, struct conf_sect *sc,
    const char *value)
{
	struct conf_account *a = NULL;
	char *v, *why;
	void *dst;

	if (ld->where == WHERE_ACCOUNT)
		a = &ld->conf->accounts[ld->conf->naccounts - 1];
	if (k->scope == SCOPE_ROUTE)
		dst = (char *)&ld->conf->routes[ld->conf->nroutes - 1] + k->off;
	else
		dst = key_target(k, ld->conf, a);
	sc->keyline[k - conf_keys] = ld->lineno;
	if (a != NULL && k->scope != SCOPE_DAEMON)
		a->keyline[k - conf_keys] = ld->lineno;
	v = unquote(value);
	if (key_parse(k, v, dst, &why) == -1) {
		sc->bad[k - conf_keys] = 1;
		conf_error(ld, ld->lineno, "%s", why);
		free(why);
		dst = &ld->scratch;
	}
	if (k->flags & KEY_MULTILINE)
		expect_continuation(ld, dst);
	free(v);
}

static int
conf_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct conf_load *ld = arg;
	const struct conf_key *k;
	struct conf_sect *sc;
	char in[CONF_NAME_MAX + 16];
	const char *where;

	(void)section;	/* inih's copy may be truncated: see section_header */
	if (secret_key(ld, name) || ld->where == WHERE_SKIP)
		return 1;
	if (*name == '\0') {
		conf_error(ld, ld->lineno, "missing key name before '='");
		return 1;
	}
	if (ld->where == WHERE_NONE) {
		if (quotable_key(name))
			conf_error(ld, ld->lineno, "key \"%s\" outside of a "
			    "section: put it under [daemon] or "
			    "[account \"NAME\"]", name);
		else
			conf_error(ld, ld->lineno, "key outside of a section");
		return 1;
	}
	where = where_name(ld, in, sizeof in);
	if ((k = key_find_in(name, ld->where)) == NULL) {
		if (quotable_key(name))
			conf_error(ld, ld->lineno, "unknown key \"%s\" in %s",
			    name, where);
		else
			conf_error(ld, ld->lineno, "invalid key name in %s",
			    where);
		return 1;
	}
	sc = ld->where == WHERE_DAEMON ? &ld->daemon :
	    ld->where == WHERE_ROUTE ? &ld->rsects[ld->conf->nroutes - 1] :
	    &ld->sects[ld->conf->naccounts - 1];
	if (key_allowed(ld, k, sc, where))
		key_set(ld, k, sc, value);
	else if (k->flags & KEY_MULTILINE)
		expect_continuation(ld, &ld->scratch);
	return 1;
}

/* ---- after the file is read -------------------------------------------- */

/* An error of tz.c or bizhours.c, under the key's name unless it starts
 * with a key's name already. err is freed. */
static void
conf_error_from(struct conf_load *ld, int line, const char *key, char *err)
{
	size_t i, n;

	if (err == NULL) {
		conf_error(ld, line, "%s: invalid value", key);
		return;
	}
	for (i = 0; i < NKEYS; i++) {
		n = strlen(conf_keys[i].name);
		if (strncmp(err, conf_keys[i].name, n) == 0 && err[n] == ':') {
			conf_error(ld, line, "%s", err);
			free(err);
			return;
		}
	}
	conf_error(ld, line, "%s: %s", key, err);
	free(err);
}

/*
 * The policy strings a section sets: each valid on its own? Each is
 * reported at its own line; build_biz puts them together.
 */
static void
check_strings(struct conf_load *ld, struct conf_sect *sc,
    const struct conf_policy *p)
{
	struct bizhours *bh;
	struct tz *tz;
	char *err = NULL;

	if (sc->keyline[K_TIMEZONE] != 0 && p->timezone != NULL) {
		if ((tz = tz_new(p->timezone, &err)) == NULL) {
			sc->bad[K_TIMEZONE] = 1;
			conf_error_from(ld, sc->keyline[K_TIMEZONE],
			    "timezone", err);
		}
		tz_free(tz);
	}
	if (sc->keyline[K_BUSINESS_HOURS] != 0 && p->business_hours != NULL) {
		err = NULL;
		if ((bh = bizhours_new("UTC", p->business_hours, NULL,
		    &err)) == NULL) {
			sc->bad[K_BUSINESS_HOURS] = 1;
			conf_error_from(ld, sc->keyline[K_BUSINESS_HOURS],
			    "business_hours", err);
		}
		bizhours_free(bh);
	}
	if (sc->keyline[K_CLOSED] != 0 && p->closed != NULL) {
		/* Hours known to be valid, so that an error is the dates'. */
		err = NULL;
		if ((bh = bizhours_new("UTC", "mon 09:00-17:00", p->closed,
		    &err)) == NULL) {
			sc->bad[K_CLOSED] = 1;
			conf_error_from(ld, sc->keyline[K_CLOSED], "closed",
			    err);
		}
		bizhours_free(bh);
	}
}

/* Policy keys the account does not set come from [daemon], also the fact
 * that their value was refused. */
static void
inherit(struct conf_load *ld, struct conf_account *a, struct conf_sect *sc)
{
	const struct conf_key *k;
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		k = &conf_keys[i];
		if (k->scope != SCOPE_POLICY || sc->keyline[i] != 0)
			continue;
		key_copy(k, key_target(k, ld->conf, a),
		    key_target(k, ld->conf, NULL));
		sc->bad[i] = ld->daemon.bad[i];
	}
}

/* sla_business_time = yes needs business hours. An account that sets
 * neither key has [daemon]'s problem, reported there. */
static void
check_business_time(struct conf_load *ld, const struct conf_account *a,
    const struct conf_sect *sc)
{
	const struct conf_policy *p = a != NULL ? &a->policy :
	    &ld->conf->defaults;

	if (!p->sla_business_time || p->business_hours != NULL ||
	    sc->bad[K_BUSINESS_HOURS])
		return;
	if (a == NULL)
		conf_error(ld, sc->keyline[K_SLA_BUSINESS_TIME],
		    "sla_business_time = yes needs business_hours in "
		    "[daemon]");
	else if (sc->keyline[K_SLA_BUSINESS_TIME] != 0)
		conf_error(ld, sc->keyline[K_SLA_BUSINESS_TIME],
		    "sla_business_time = yes needs business_hours in "
		    "[account \"%s\"]", a->name);
	else if (sc->keyline[K_BUSINESS_HOURS] != 0)
		conf_error(ld, sc->keyline[K_BUSINESS_HOURS],
		    "business_hours is empty but [account \"%s\"] inherits "
		    "sla_business_time = yes from [daemon] (line %d)",
		    a->name, ld->daemon.keyline[K_SLA_BUSINESS_TIME]);
}

static void
build_biz(struct conf_load *ld, struct conf_policy *p,
    const struct conf_sect *sc)
{
	char *err = NULL;
	int line;

	if (p->business_hours == NULL || sc->bad[K_TIMEZONE] ||
	    sc->bad[K_BUSINESS_HOURS] || sc->bad[K_CLOSED])
		return;
	p->biz = bizhours_new(p->timezone != NULL ? p->timezone : "UTC",
	    p->business_hours, p->closed, &err);
	if (p->biz != NULL)
		return;
	/*
	 * Each part was fine on its own. Report at the section's own line
	 * (the hours' if it sets them); an account that sets none of the
	 * three has [daemon]'s problem, reported there.
	 */
	if ((line = sc->keyline[K_BUSINESS_HOURS]) == 0 &&
	    (line = sc->keyline[K_TIMEZONE]) == 0)
		line = sc->keyline[K_CLOSED];
	if (line != 0)
		conf_error_from(ld, line, "business_hours", err);
	else
		free(err);
}

/* Every name in alert_routes names a route. Reported where it is set. */
static void
check_alert_routes(struct conf_load *ld, const char *list, int line)
{
	char *copy, *p, *name, q[CONF_SHOW_MAX + 4];
	size_t n = 0;

	if (list == NULL || line == 0)
		return;
	copy = xstrdup(list);
	for (p = copy; (name = strsep(&p, ",")) != NULL;) {
		name = rstrip(lskip(name));
		if (*name == '\0')
			continue;
		n++;
		if (find_route(ld->conf, name) == NULL)
			conf_error(ld, line, "alert_routes: no [route \"%s\"] "
			    "in the file", shown(name, q, sizeof q));
	}
	if (n == 0)
		conf_error(ld, line, "alert_routes: no route name in the list");
	free(copy);
}

/*
 * The host of a URL, after "scheme://" and any userinfo, before the port
 * and path; an IPv6 literal without its brackets. -1 if there is none.
 * (http-util.c has the same for the daemon, but needs libcurl.)
 */
static int
url_host(const char *url, char *host, size_t len)
{
	const char *p, *h, *e, *at, *rb, *colon;

	if ((p = strstr(url, "://")) == NULL)
		return -1;
	h = p + 3;
	e = h + strcspn(h, "/?#");
	if ((at = memchr(h, '@', (size_t)(e - h))) != NULL)
		h = at + 1;
	if (*h == '[') {
		if ((rb = memchr(h, ']', (size_t)(e - h))) == NULL)
			return -1;
		h++;
		e = rb;
	} else if ((colon = memchr(h, ':', (size_t)(e - h))) != NULL)
		e = colon;
	if (e <= h || (size_t)(e - h) >= len)
		return -1;
	memcpy(host, h, (size_t)(e - h));
	host[e - h] = '\0';
	return 0;
}

/* 127.0.0.0/8, ::1 or localhost. */
static int
host_is_loopback(const char *host)
{
	unsigned a, b, c, d;
	char extra;

	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
		return 1;
	if (sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) == 4)
		return a == 127 && b < 256 && c < 256 && d < 256;
	return 0;
}

static int
has_scheme(const char *url, const char *scheme)
{
	return strncasecmp(url, scheme, strlen(scheme)) == 0;
}

/* A route's url: NULL if it will do, else why (the URL is not quoted: it
 * may carry credentials). *loopback: its host is a loopback address. */
static const char *
route_url_problem(const char *url, int webhook, int *loopback)
{
	char host[256];

	*loopback = 0;
	if (url_host(url, host, sizeof host) == -1)
		return webhook ? "not a URL with a host (e.g. "
		    "https://hooks.example.com/replywatch)" :
		    "not a URL with a host (e.g. smtp://mail.example.com:587)";
	*loopback = host_is_loopback(host);
	if (!webhook) {
		if (has_scheme(url, "smtp://") || has_scheme(url, "smtps://"))
			return NULL;
		return "the scheme of an email route must be smtp:// "
		    "(STARTTLS) or smtps://";
	}
	if (has_scheme(url, "https://"))
		return NULL;
	if (has_scheme(url, "http://"))
		return *loopback ? NULL : "http:// is accepted only for "
		    "loopback addresses (127.0.0.1, ::1, localhost): use "
		    "https://";
	return "the scheme of a webhook must be https:// (or http:// on "
	    "loopback)";
}

/* local@domain: visible ASCII without the characters that would make it
 * more than a plain address in a header or an SMTP command (as deliver.c
 * requires). */
static int
plain_address(const char *s)
{
	const char *at, *p;

	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	}
	if (p == s || p - s > 254 || strpbrk(s, "<>()[],;:\\\"") != NULL)
		return 0;
	return (at = strchr(s, '@')) != NULL && at != s && at[1] != '\0' &&
	    strchr(at + 1, '@') == NULL;
}

static void
check_recipients(struct conf_load *ld, const char *list, int line)
{
	char *copy, *p, *addr;
	size_t n = 0;

	copy = xstrdup(list);
	for (p = copy; (addr = strsep(&p, ",")) != NULL;) {
		addr = rstrip(lskip(addr));
		n++;
		if (*addr == '\0')
			conf_error(ld, line, "to: recipient %zu is empty", n);
		else if (!plain_address(addr))
			conf_error(ld, line, "to: recipient %zu is not a plain "
			    "address (local@domain)", n);
	}
	free(copy);
}

/* Keys of one type of route only. */
static const struct {
	enum conf_key_id id;
	int		 email;		/* 0: webhook */
} route_type_keys[] = {
	{ K_ROUTE_SECRET_FILE, 0 },
	{ K_ROUTE_FORMAT, 0 },
	{ K_ROUTE_FROM, 1 },
	{ K_ROUTE_TO, 1 },
	{ K_ROUTE_USERNAME, 1 },
	{ K_ROUTE_PASSWORD_FILE, 1 },
	{ K_ROUTE_STARTTLS, 1 },
};

/*
 * A route on its own. Its secret_file and password_file are read (and
 * their permissions checked) by routeset_new, as poller_check_account
 * does for an account's token_file.
 */
static void
check_route(struct conf_load *ld, const struct conf_route *r,
    const struct conf_sect *sc)
{
	const char *why;
	int webhook, loopback, line, url_ok = 0;
	size_t i;

	if (r->type == NULL) {
		if (!sc->bad[K_ROUTE_TYPE])
			conf_error(ld, r->line, "[route \"%s\"]: type = is "
			    "required (webhook or email)", r->name);
		return;
	}
	if (strcmp(r->type, "webhook") != 0 && strcmp(r->type, "email") != 0) {
		conf_error(ld, sc->keyline[K_ROUTE_TYPE], "type: \"%s\" is "
		    "not webhook or email", r->type);
		return;
	}
	webhook = strcmp(r->type, "webhook") == 0;
	for (i = 0; i < sizeof route_type_keys / sizeof route_type_keys[0];
	    i++) {
		line = sc->keyline[route_type_keys[i].id];
		if (line != 0 && route_type_keys[i].email == webhook)
			conf_error(ld, line, "key \"%s\" is only valid in "
			    "%s routes, and [route \"%s\"] is a%s",
			    conf_keys[route_type_keys[i].id].name,
			    webhook ? "email" : "webhook", r->name,
			    webhook ? " webhook" : "n email route");
	}
	loopback = 0;
	if (r->url == NULL) {
		if (!sc->bad[K_ROUTE_URL])
			conf_error(ld, r->line, "[route \"%s\"]: url = is "
			    "required", r->name);
	} else if ((why = route_url_problem(r->url, webhook,
	    &loopback)) != NULL)
		conf_error(ld, sc->keyline[K_ROUTE_URL], "url: %s", why);
	else
		url_ok = 1;
	if (webhook) {
		if (strcmp(r->format, "json") != 0 &&
		    strcmp(r->format, "slack") != 0)
			conf_error(ld, sc->keyline[K_ROUTE_FORMAT], "format: "
			    "\"%s\" is not json or slack", r->format);
		return;
	}
	/* (with a bad url, that is what needs fixing first) */
	if (!r->starttls && url_ok &&
	    (!has_scheme(r->url, "smtp://") || !loopback))
		conf_error(ld, sc->keyline[K_ROUTE_STARTTLS], "starttls = no "
		    "is accepted only for an smtp:// url on loopback "
		    "(127.0.0.1, ::1, localhost)");
	if (r->from == NULL) {
		if (!sc->bad[K_ROUTE_FROM])
			conf_error(ld, r->line, "[route \"%s\"]: an email "
			    "route needs from = (the sender address)",
			    r->name);
	} else if (!plain_address(r->from))
		conf_error(ld, sc->keyline[K_ROUTE_FROM], "from: not a plain "
		    "address (local@domain)");
	if (r->to == NULL) {
		if (!sc->bad[K_ROUTE_TO])
			conf_error(ld, r->line, "[route \"%s\"]: an email "
			    "route needs to = (the recipients, "
			    "comma-separated)", r->name);
	} else
		check_recipients(ld, r->to, sc->keyline[K_ROUTE_TO]);
	if (r->username != NULL && r->password_file == NULL &&
	    !sc->bad[K_ROUTE_PASSWORD_FILE])
		conf_error(ld, sc->keyline[K_ROUTE_USERNAME], "username = "
		    "needs password_file = (SMTP AUTH)");
	if (r->password_file != NULL && r->username == NULL &&
	    !sc->bad[K_ROUTE_USERNAME])
		conf_error(ld, sc->keyline[K_ROUTE_PASSWORD_FILE],
		    "password_file = needs username = (SMTP AUTH)");
}

static void
conf_resolve(struct conf_load *ld)
{
	struct conf *conf = ld->conf;
	struct conf_account *a;
	struct conf_sect *sc;
	size_t i;

	check_strings(ld, &ld->daemon, &conf->defaults);
	check_business_time(ld, NULL, &ld->daemon);
	build_biz(ld, &conf->defaults, &ld->daemon);
	for (i = 0; i < conf->naccounts; i++) {
		a = &conf->accounts[i];
		sc = &ld->sects[i];
		check_strings(ld, sc, &a->policy);
		inherit(ld, a, sc);
		check_business_time(ld, a, sc);
		build_biz(ld, &a->policy, sc);
		check_alert_routes(ld, a->policy.alert_routes,
		    sc->keyline[K_ALERT_ROUTES]);
	}
	check_alert_routes(ld, conf->defaults.alert_routes,
	    ld->daemon.keyline[K_ALERT_ROUTES]);
	for (i = 0; i < conf->nroutes; i++)
		check_route(ld, &conf->routes[i], &ld->rsects[i]);
}

static void
conf_parse(struct conf_load *ld)
{
	int rc;

	rc = ini_parse_stream(conf_reader, ld, conf_handler, ld);
	if (ld->read_errno != 0) {
		conf_error(ld, 0, "cannot read: %s", strerror(ld->read_errno));
		return;
	}
	if (rc == -2)
		conf_error(ld, 0, "out of memory");
	else if (rc != 0 && ld->nerrs == 0)
		/* Not expected: the reader hands inih only lines it takes. */
		conf_error(ld, rc > 0 ? rc : 0, "syntax error");
	conf_resolve(ld);
}

struct conf *
conf_load(const char *path, struct conf_errors *errs)
{
	struct conf *conf;

	if ((conf = conf_load_partial(path, errs)) != NULL && errs != NULL &&
	    errs->n > 0) {
		conf_free(conf);
		conf = NULL;
	}
	return conf;
}

struct conf *
conf_load_partial(const char *path, struct conf_errors *errs)
{
	struct conf_load ld;
	struct conf_errors ignored;
	struct conf *conf = NULL;

	if (errs == NULL)
		errs = &ignored;
	memset(errs, 0, sizeof *errs);
	memset(&ld, 0, sizeof ld);
	ld.path = path;
	if ((ld.fp = fopen(path, "re")) == NULL)
		conf_error(&ld, 0, "cannot open: %s", strerror(errno));
	else {
		ld.conf = conf_default(NULL);
		ld.conf->path = xstrdup(path);
		conf_parse(&ld);
		fclose(ld.fp);
	}
	free(ld.buf);
	free(ld.sects);
	free(ld.rsects);
	free(ld.scratch);
	conf = ld.conf;
	if (ld.nerrs > 0)
		conf_errors_take(&ld, errs);
	if (errs == &ignored && ignored.n > 0) {
		conf_free(conf);
		conf = NULL;
	}
	if (errs == &ignored)
		conf_errors_clear(&ignored);
	return conf;
}

char *
conf_state_dir(const struct conf *conf)
{
	const char *db = conf->database;
	const char *slash = db != NULL ? strrchr(db, '/') : NULL;

	if (slash == NULL)
		return xstrdup(".");
	if (slash == db)
		return xstrdup("/");
	return xstrndup(db, (size_t)(slash - db));
}

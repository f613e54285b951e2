/* SPDX-License-Identifier: ISC */
#ifndef RW_CONF_H
#define RW_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct bizhours;

/*
 * The configuration file: INI, parsed with inih. One table of keys (name,
 * type, default, range, help) in conf.c drives parsing, --check-config and
 * the documentation.
 *
 *   [daemon]            database, log_level, defaults for every policy key
 *   [account "NAME"]    one monitored brand account
 *   [route "NAME"]      where alerts are delivered: a webhook or email
 *
 * NAME: 1 to 64 letters, digits, '-', '_' or '.', unique among the
 * sections of its kind. An account inherits each policy key (struct
 * conf_policy) from [daemon] unless it sets it, wherever the sections are
 * in the file. Errors read "file:line: why"; open and read failures
 * "file: why". Values of secrets are never quoted in them.
 */

#define CONF_DEFAULT_PATH	SYSCONFDIR "/replywatch/replywatch.conf"
#define CONF_DEFAULT_DATABASE	LOCALSTATEDIR "/lib/replywatch/replywatch.db"

/* Settings that [daemon] gives as defaults and an account may override. */
#define CONF_ACCOUNT_MAXKEYS	80

struct conf_policy {
	int64_t	 sla_direct_ms;		/* default 1h */
	int64_t	 sla_broadcast_ms;	/* default 4h */
	int64_t	 sla_complaint_ms;	/* default 30m */
	int	 sla_business_time;	/* targets count business time (needs hours) */
	char	*timezone;		/* IANA name, NULL = none */
	char	*business_hours;	/* bizhours.h syntax, NULL = none */
	char	*closed;		/* closed dates, NULL = none */
	struct bizhours *biz;		/* built from the three above; NULL if no hours */
	char	*complaint_model;	/* trained model file, NULL = none */
	double	 complaint_threshold;	/* 0..1, default 0.5 */
	char	*complaint_cues;	/* extra cues (classify.h), NULL = none */
	int	 language;		/* enum classify_lang, default auto */
	/* alerts */
	char	*alert_routes;		/* route names, comma-separated; NULL:
					   every route */
	int	 alert_overdue;		/* default yes */
	int64_t	 alert_warning_pct;	/* 0: no early warning */
	int64_t	 spike_window_ms;	/* default 1h */
	int64_t	 spike_floor;		/* default 5; 0: no spike alerts */
	int64_t	 spike_factor;		/* default 3 */
	int64_t	 down_after_ms;		/* default 15m */
	int64_t	 backlog_limit;		/* 0: no backlog alerts */
	int64_t	 repeat_interval_ms;	/* default 4h */
	int64_t	 group_wait_ms;		/* default 30s */
};

struct conf_account {
	char	*name;			/* the local name used in messages' "account" */
	int	 line;			/* line of its [account "…"] header */
	char	*connector;		/* NULL until the daemon issue requires it */
	char	*url;
	char	*token_file;
	char	*password_file;
	int64_t	 poll_interval_ms;	/* default 60s, at least 1s */
	int64_t	 backfill_ms;		/* default 24h */
	char	*command;		/* exec connector: program and arguments */
	int64_t	 command_timeout_ms;	/* default 60s */
	char	*handle;		/* login name (bluesky: handle or DID) */
	char	*chat_proxy;		/* bluesky: atproto-proxy of chat calls */
	char	*ca_file;		/* CAs to trust for url; NULL: system's */
	char	*platform_id;		/* the brand's id on the platform */
	char	*page_id;		/* instagram: the linked Facebook page */
	char	*api_version;		/* Graph "v21.0", LinkedIn "YYYYMM" */
	char	*client_id;		/* x: OAuth 2.0 client */
	char	*client_secret_file;	/* x: its secret, confidential clients */
	char	*refresh_token_file;	/* x: the first refresh token */
	struct conf_policy policy;
	int	 keyline[CONF_ACCOUNT_MAXKEYS];	/* see conf_account_key_line */
};

/* A [route "NAME"]: where alerts are delivered. */
struct conf_route {
	char	*name;
	int	 line;
	char	*type;			/* "webhook" or "email" */
	char	*url;
	char	*secret_file;		/* webhook: HMAC key */
	char	*format;		/* webhook: "json" (default) or "slack" */
	char	*from;			/* email */
	char	*to;			/* email: comma-separated */
	char	*username;		/* email AUTH */
	char	*password_file;
	int	 starttls;		/* email smtp://: default yes */
	char	*ca_file;
};

struct conf {
	char	*path;
	char	*database;
	enum log_level log_level;	/* default LOG_LEVEL_INFO */
	struct conf_policy defaults;	/* from [daemon] */
	int64_t	 http_timeout_ms;	/* default 30s */
	int64_t	 connect_timeout_ms;	/* default 10s */
	int64_t	 max_host_connections;	/* default 8 */
	int64_t	 max_response_size;	/* bytes, default 8 MiB */
	char	*metrics_listen;	/* "ADDR:PORT", NULL: no metrics */
	struct conf_account *accounts;	/* array */
	size_t	 naccounts;
	struct conf_route *routes;	/* array */
	size_t	 nroutes;
};

/* Every problem found, each as "file:line: why". */
struct conf_errors {
	char	**msgs;
	size_t	  n;
};

/* Parse and validate. NULL if any error; then errs lists them all, in order
 * of line (caller frees with conf_errors_clear). errs is an output: its
 * previous contents are overwritten, not freed. */
struct conf *conf_load(const char *path, struct conf_errors *errs);
/* The same, but what could be read is returned even when errs->n > 0, so
 * that later checks can list their problems too; NULL only when the file
 * cannot be opened. */
struct conf *conf_load_partial(const char *path, struct conf_errors *errs);
void conf_free(struct conf *);
void conf_errors_clear(struct conf_errors *);
/* Add "path:line: why" ("path: why" when line is 0). */
void conf_errors_add(struct conf_errors *, const char *path, int line,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A configuration with only the built-in defaults and the given database. */
struct conf *conf_default(const char *database);

/* The line an account's key was set on, 0 if not set in the account. */
int conf_account_key_line(const struct conf_account *, const char *key);

/* The directory of the database, where connectors keep their own files
 * (the state directory): "." for a bare file name. Caller frees. */
char *conf_state_dir(const struct conf *);

/* The account of that name, or NULL. */
const struct conf_account *conf_find_account(const struct conf *, const char *name);

/* The policy in force for an account name: its own, or [daemon]'s if the
 * account is not configured. Never NULL. */
const struct conf_policy *conf_policy_for(const struct conf *, const char *name);

/* The table of keys, for --check-config and documentation. */
struct conf_keyinfo {
	const char	*name;
	const char	*sections;	/* "daemon", "account", "daemon account"
					   or "route" */
	const char	*type;		/* "duration", "path", "boolean", … */
	const char	*def;		/* built-in default as written, NULL: none */
	const char	*min, *max;	/* durations; NULL: no bound */
	const char	*help;		/* one line */
};

/* The i-th key (0-based) in *out and 0, or -1 past the last one. */
int conf_key_info(size_t i, struct conf_keyinfo *out);

#endif

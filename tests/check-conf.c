/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bizhours.h"
#include "conf.h"
#include "log.h"
#include "timefmt.h"
#include "xmalloc.h"

#define MS_MIN	(60 * INT64_C(1000))
#define MS_HOUR	(60 * MS_MIN)

/*
 * Each test case gets a directory of its own (Check's fixtures take no
 * argument, hence the static); its files are removed after the last test,
 * also when a test fails.
 */
static char tmpdir[1024];

static void
tmpdir_setup(void)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || *base == '\0')
		base = "/tmp";
	snprintf(tmpdir, sizeof tmpdir, "%s/check-conf.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL)
		ck_abort_msg("mkdtemp %s: %s", tmpdir, strerror(errno));
}

static void
tmpdir_teardown(void)
{
	struct dirent *de;
	char *path;
	DIR *d;

	if ((d = opendir(tmpdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		xasprintf(&path, "%s/%s", tmpdir, de->d_name);
		if (unlink(path) == -1)
			rmdir(path);
		free(path);
	}
	closedir(d);
	rmdir(tmpdir);
}

/* A new file in tmpdir holding len bytes of text; caller frees the path. */
static char *
write_file(const char *text, size_t len)
{
	char *path;
	FILE *f;
	int fd;

	xasprintf(&path, "%s/conf.XXXXXX", tmpdir);
	fd = mkstemp(path);
	ck_assert_msg(fd != -1, "mkstemp: %s", strerror(errno));
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

static char *
write_conf(const char *text)
{
	return write_file(text, strlen(text));
}

static struct conf *
load_ok(const char *text)
{
	struct conf_errors errs;
	struct conf *conf;
	char *path;

	path = write_conf(text);
	conf = conf_load(path, &errs);
	ck_assert_msg(conf != NULL, "unexpected errors (%zu), first: %s",
	    errs.n, errs.n > 0 ? errs.msgs[0] : "none");
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_str_eq(conf->path, path);
	free(path);
	return conf;
}

/* Load text; it must fail. *pathp: the file's path (caller frees). */
static void
load_fail(const char *text, struct conf_errors *errs, char **pathp)
{
	struct conf *conf;

	*pathp = write_conf(text);
	conf = conf_load(*pathp, errs);
	ck_assert_msg(conf == NULL, "loaded, though it is wrong:\n%s", text);
	ck_assert_uint_gt(errs->n, 0);
}

static char *
join_errors(const struct conf_errors *errs)
{
	char *s = xstrdup(""), *t;
	size_t i;

	for (i = 0; i < errs->n; i++) {
		xasprintf(&t, "%s\n  %s", s, errs->msgs[i]);
		free(s);
		s = t;
	}
	return s;
}

/*
 * Load text; it must fail with exactly the errors given, NULL-terminated,
 * each as what follows "path:" ("3: unknown key ..." or " cannot ...").
 */
static void
expect_errors(const char *text, ...)
{
	struct conf_errors errs;
	const char *want;
	char *path, *full, *all;
	va_list ap;
	size_t n = 0;

	load_fail(text, &errs, &path);
	all = join_errors(&errs);
	va_start(ap, text);
	while ((want = va_arg(ap, const char *)) != NULL) {
		xasprintf(&full, "%s:%s", path, want);
		ck_assert_msg(n < errs.n, "missing error \"%s\"; got:%s",
		    full, all);
		ck_assert_msg(strcmp(errs.msgs[n], full) == 0,
		    "error %zu is \"%s\", expected \"%s\"; all:%s", n,
		    errs.msgs[n], full, all);
		free(full);
		n++;
	}
	va_end(ap);
	ck_assert_msg(n == errs.n, "%zu errors expected, got %zu:%s", n,
	    errs.n, all);
	free(all);
	free(path);
	conf_errors_clear(&errs);
}

/* Exactly one error, at that line, starting with that text after it. */
static void
expect_error_prefix(const char *text, int line, const char *prefix)
{
	struct conf_errors errs;
	char *path, *full, *all;

	load_fail(text, &errs, &path);
	all = join_errors(&errs);
	ck_assert_msg(errs.n == 1, "one error expected:%s", all);
	xasprintf(&full, "%s:%d: %s", path, line, prefix);
	ck_assert_msg(strncmp(errs.msgs[0], full, strlen(full)) == 0,
	    "expected \"%s...\", got%s", full, all);
	free(full);
	free(all);
	free(path);
	conf_errors_clear(&errs);
}

static void
assert_default_policy(const struct conf_policy *p)
{
	ck_assert_int_eq(p->sla_direct_ms, 1 * MS_HOUR);
	ck_assert_int_eq(p->sla_broadcast_ms, 4 * MS_HOUR);
	ck_assert_int_eq(p->sla_complaint_ms, 30 * MS_MIN);
	ck_assert_int_eq(p->sla_business_time, 0);
	ck_assert_ptr_null(p->timezone);
	ck_assert_ptr_null(p->business_hours);
	ck_assert_ptr_null(p->closed);
	ck_assert_ptr_null(p->biz);
	ck_assert_ptr_null(p->alert_routes);
	ck_assert_int_eq(p->alert_overdue, 1);
	ck_assert_int_eq(p->alert_warning_pct, 0);
	ck_assert_int_eq(p->spike_window_ms, 1 * MS_HOUR);
	ck_assert_int_eq(p->spike_floor, 5);
	ck_assert_int_eq(p->spike_factor, 3);
	ck_assert_int_eq(p->down_after_ms, 15 * MS_MIN);
	ck_assert_int_eq(p->backlog_limit, 0);
	ck_assert_int_eq(p->repeat_interval_ms, 4 * MS_HOUR);
	ck_assert_int_eq(p->group_wait_ms, 30 * 1000);
}

static char *
example_path(void)
{
	const char *top = getenv("top_srcdir");
	char *path;

	if (top == NULL || *top == '\0')
		top = ".";
	xasprintf(&path, "%s/etc/replywatch.conf.example", top);
	return path;
}

static char *
read_text(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f, *m;
	int c;

	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	m = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(m);
	while ((c = getc(f)) != EOF)
		putc(c, m);
	fclose(f);
	fclose(m);
	return text;
}

/* ---- defaults ------------------------------------------------------------ */

START_TEST(test_default_builtin)
{
	struct conf *conf;

	conf = conf_default(NULL);
	ck_assert_str_eq(conf->database, CONF_DEFAULT_DATABASE);
	ck_assert_ptr_null(conf->path);
	ck_assert_int_eq(conf->log_level, LOG_LEVEL_INFO);
	ck_assert_uint_eq(conf->naccounts, 0);
	ck_assert_uint_eq(conf->nroutes, 0);
	ck_assert_ptr_null(conf->routes);
	assert_default_policy(&conf->defaults);
	ck_assert_ptr_null(conf_find_account(conf, "x"));
	ck_assert_ptr_eq(conf_policy_for(conf, "x"), &conf->defaults);
	ck_assert_ptr_eq(conf_policy_for(conf, NULL), &conf->defaults);
	conf_free(conf);

	conf = conf_default("/srv/rw.db");
	ck_assert_str_eq(conf->database, "/srv/rw.db");
	conf_free(conf);
	conf_free(NULL);
}
END_TEST

START_TEST(test_default_file)
{
	const struct conf_account *a;
	struct conf *conf;

	conf = load_ok("");
	ck_assert_str_eq(conf->database, CONF_DEFAULT_DATABASE);
	ck_assert_int_eq(conf->log_level, LOG_LEVEL_INFO);
	ck_assert_uint_eq(conf->naccounts, 0);
	assert_default_policy(&conf->defaults);
	conf_free(conf);

	conf = load_ok("# nothing but\n\n; comments\n[daemon]\n"
	    "[account \"a\"]\n");
	ck_assert_uint_eq(conf->naccounts, 1);
	a = conf_find_account(conf, "a");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->name, "a");
	ck_assert_int_eq(a->line, 5);
	ck_assert_ptr_null(a->connector);
	ck_assert_ptr_null(a->url);
	ck_assert_ptr_null(a->token_file);
	ck_assert_ptr_null(a->password_file);
	ck_assert_int_eq(a->poll_interval_ms, 60 * 1000);
	ck_assert_int_eq(a->backfill_ms, 24 * MS_HOUR);
	assert_default_policy(&a->policy);
	ck_assert_ptr_eq(conf_policy_for(conf, "a"), &a->policy);
	ck_assert_ptr_eq(conf_policy_for(conf, "b"), &conf->defaults);
	conf_free(conf);
}
END_TEST

START_TEST(test_values)
{
	const struct conf_account *a;
	struct conf *conf;

	conf = load_ok(
	    "[daemon]\n"
	    "database = /srv/replywatch/rw.db\n"
	    "log_level = DEBUG\n"
	    "[account \"x\"]\n"
	    "connector = mastodon_2-x\n"
	    "url = https://social.example.com/api\n"
	    "token_file = /etc/replywatch/x.token\n"
	    "password_file = \"/etc/replywatch/x password\"\n"
	    "poll_interval = 1s\n"
	    "backfill = 0\n"
	    "sla_direct = 1h30m\n"
	    "sla_broadcast = 90\n"
	    "sla_complaint = 1d\n");
	ck_assert_str_eq(conf->database, "/srv/replywatch/rw.db");
	ck_assert_int_eq(conf->log_level, LOG_LEVEL_DEBUG);
	a = conf_find_account(conf, "x");
	ck_assert_str_eq(a->connector, "mastodon_2-x");
	ck_assert_str_eq(a->url, "https://social.example.com/api");
	ck_assert_str_eq(a->token_file, "/etc/replywatch/x.token");
	ck_assert_str_eq(a->password_file, "/etc/replywatch/x password");
	ck_assert_int_eq(a->poll_interval_ms, 1000);
	ck_assert_int_eq(a->backfill_ms, 0);
	ck_assert_int_eq(a->policy.sla_direct_ms, 90 * MS_MIN);
	ck_assert_int_eq(a->policy.sla_broadcast_ms, 90 * 1000);
	ck_assert_int_eq(a->policy.sla_complaint_ms, 24 * MS_HOUR);
	conf_free(conf);
}
END_TEST

START_TEST(test_log_levels)
{
	static const struct {
		const char *name;
		enum log_level level;
	} t[] = {
		{ "error", LOG_LEVEL_ERR }, { "warning", LOG_LEVEL_WARN },
		{ "notice", LOG_LEVEL_NOTICE }, { "info", LOG_LEVEL_INFO },
		{ "debug", LOG_LEVEL_DEBUG },
	};
	struct conf *conf;
	char *text;
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		xasprintf(&text, "[daemon]\nlog_level = %s\n", t[i].name);
		conf = load_ok(text);
		ck_assert_int_eq(conf->log_level, t[i].level);
		conf_free(conf);
		free(text);
	}
	expect_errors("[daemon]\nlog_level = loud\n",
	    "2: log_level: unknown level \"loud\": use error, warning, "
	    "notice, info or debug", NULL);
}
END_TEST

START_TEST(test_bools)
{
	static const char *const yes[] = { "yes", "YES", "true", "On", "1" };
	static const char *const no[] = { "no", "False", "off", "0" };
	struct conf *conf;
	char *text;
	size_t i;

	for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		xasprintf(&text, "[daemon]\nbusiness_hours = mon 09:00-17:00\n"
		    "sla_business_time = %s\n", yes[i]);
		conf = load_ok(text);
		ck_assert_int_eq(conf->defaults.sla_business_time, 1);
		conf_free(conf);
		free(text);
	}
	for (i = 0; i < sizeof no / sizeof no[0]; i++) {
		xasprintf(&text, "[daemon]\nsla_business_time = %s\n", no[i]);
		conf = load_ok(text);
		ck_assert_int_eq(conf->defaults.sla_business_time, 0);
		conf_free(conf);
		free(text);
	}
	expect_errors(
	    "[daemon]\n"
	    "sla_business_time = maybe\n"
	    "[account \"a\"]\n"
	    "sla_business_time = 2\n"
	    "[account \"b\"]\n"
	    "sla_business_time =\n",
	    "2: sla_business_time: invalid boolean \"maybe\": use yes or no",
	    "4: sla_business_time: invalid boolean \"2\": use yes or no",
	    "6: sla_business_time: empty value", NULL);
}
END_TEST

/* ---- inheritance ------------------------------------------------------- */

static void
check_inherited(struct conf *conf)
{
	const struct conf_account *a, *b;
	const struct conf_policy *d = &conf->defaults;

	ck_assert_uint_eq(conf->naccounts, 2);
	ck_assert_int_eq(d->sla_direct_ms, 2 * MS_HOUR);
	ck_assert_int_eq(d->sla_broadcast_ms, 4 * MS_HOUR);
	ck_assert_int_eq(d->sla_complaint_ms, 20 * MS_MIN);
	ck_assert_str_eq(d->timezone, "Europe/Berlin");
	ck_assert_str_eq(d->business_hours, "mon-fri 09:00-17:00");
	ck_assert_ptr_null(d->closed);
	ck_assert_ptr_nonnull(d->biz);
	ck_assert_int_eq(d->sla_business_time, 1);

	/* a overrides some keys, inherits the others */
	a = conf_find_account(conf, "a");
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->policy.sla_direct_ms, 2 * MS_HOUR);
	ck_assert_int_eq(a->policy.sla_broadcast_ms, 8 * MS_HOUR);
	ck_assert_int_eq(a->policy.sla_complaint_ms, 20 * MS_MIN);
	ck_assert_int_eq(a->policy.sla_business_time, 1);
	ck_assert_str_eq(a->policy.timezone, "Europe/Berlin");
	ck_assert_ptr_ne(a->policy.timezone, d->timezone);
	ck_assert_str_eq(a->policy.business_hours, "mon-fri 09:00-17:00");
	ck_assert_str_eq(a->policy.closed, "2026-12-24");
	ck_assert_ptr_nonnull(a->policy.biz);
	ck_assert_ptr_ne(a->policy.biz, d->biz);
	ck_assert_int_eq(a->poll_interval_ms, 30 * 1000);

	/* b sets every policy key itself */
	b = conf_find_account(conf, "b");
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(b->policy.sla_direct_ms, 5 * MS_MIN);
	ck_assert_int_eq(b->policy.sla_broadcast_ms, 10 * MS_MIN);
	ck_assert_int_eq(b->policy.sla_complaint_ms, 1 * MS_MIN);
	ck_assert_int_eq(b->policy.sla_business_time, 0);
	ck_assert_ptr_null(b->policy.timezone);
	ck_assert_ptr_null(b->policy.business_hours);
	ck_assert_ptr_null(b->policy.closed);
	ck_assert_ptr_null(b->policy.biz);
	ck_assert_int_eq(b->poll_interval_ms, 60 * 1000);

	ck_assert_ptr_eq(conf_policy_for(conf, "a"), &a->policy);
	ck_assert_ptr_eq(conf_policy_for(conf, "b"), &b->policy);
	ck_assert_ptr_eq(conf_policy_for(conf, "c"), d);
}

#define DAEMON_SECTION \
	"[daemon]\n" \
	"sla_direct = 2h\n" \
	"sla_complaint = 20m\n" \
	"sla_business_time = yes\n" \
	"timezone = Europe/Berlin\n" \
	"business_hours = mon-fri 09:00-17:00\n"
#define ACCOUNT_A \
	"[account \"a\"]\n" \
	"sla_broadcast = 8h\n" \
	"closed = 2026-12-24\n" \
	"poll_interval = 30s\n"
#define ACCOUNT_B \
	"[account \"b\"]\n" \
	"sla_direct = 5m\n" \
	"sla_broadcast = 10m\n" \
	"sla_complaint = 1m\n" \
	"sla_business_time = no\n" \
	"timezone =\n" \
	"business_hours =\n" \
	"closed = \"\"\n"

START_TEST(test_inherit_any_order)
{
	static const char *const texts[] = {
		DAEMON_SECTION ACCOUNT_A ACCOUNT_B,
		ACCOUNT_A DAEMON_SECTION ACCOUNT_B,
		ACCOUNT_A ACCOUNT_B DAEMON_SECTION,
		ACCOUNT_B ACCOUNT_A DAEMON_SECTION,
	};
	struct conf *conf;
	size_t i;

	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		conf = load_ok(texts[i]);
		check_inherited(conf);
		conf_free(conf);
	}
}
END_TEST

START_TEST(test_inherit_business_hours)
{
	struct conf *conf;
	int64_t from, to;

	/* the account's zone applies to the hours it inherits */
	conf = load_ok(
	    "[account \"ny\"]\n"
	    "timezone = America/New_York\n"
	    "[daemon]\n"
	    "business_hours = mon-fri 09:00-17:00\n");
	ck_assert_ptr_nonnull(conf->defaults.biz);
	ck_assert_ptr_nonnull(conf->accounts[0].policy.biz);
	/* Monday 2026-11-23 17:00-18:00 UTC: 12:00-13:00 in New York */
	ck_assert_int_eq(timefmt_parse_rfc3339("2026-11-23T17:00:00Z",
	    &from), 0);
	ck_assert_int_eq(timefmt_parse_rfc3339("2026-11-23T18:00:00Z",
	    &to), 0);
	ck_assert_int_eq(bizhours_between(conf->accounts[0].policy.biz,
	    from, to), MS_HOUR);
	ck_assert_int_eq(bizhours_between(conf->defaults.biz, from, to), 0);
	conf_free(conf);

	/* timezone alone: allowed, no business hours */
	conf = load_ok("[daemon]\ntimezone = Europe/Berlin\n"
	    "[account \"a\"]\nclosed = 2026-12-24\n");
	ck_assert_str_eq(conf->defaults.timezone, "Europe/Berlin");
	ck_assert_ptr_null(conf->defaults.biz);
	ck_assert_ptr_null(conf->accounts[0].policy.biz);
	conf_free(conf);
}
END_TEST

START_TEST(test_business_time_without_hours)
{
	expect_errors(
	    "[daemon]\n"
	    "sla_business_time = yes\n"
	    "[account \"inherits\"]\n"
	    "sla_direct = 2h\n"
	    "[account \"has-hours\"]\n"
	    "business_hours = mon-fri 09:00-17:00\n",
	    "2: sla_business_time = yes needs business_hours in [daemon]",
	    NULL);
	expect_errors(
	    "[account \"x\"]\n"
	    "sla_business_time = on\n"
	    "timezone = Europe/Berlin\n"
	    "[daemon]\n",
	    "2: sla_business_time = yes needs business_hours in "
	    "[account \"x\"]", NULL);
	expect_errors(
	    "[daemon]\n"
	    "sla_business_time = yes\n"
	    "business_hours = mon-fri 09:00-17:00\n"
	    "[account \"x\"]\n"
	    "business_hours =\n"
	    "[account \"y\"]\n"
	    "business_hours =\n"
	    "sla_business_time = no\n",
	    "5: business_hours is empty but [account \"x\"] inherits "
	    "sla_business_time = yes from [daemon] (line 2)", NULL);
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

START_TEST(test_poll_interval)
{
	struct conf *conf;

	expect_errors(
	    "[account \"a\"]\n"
	    "poll_interval = 500ms\n"
	    "[account \"b\"]\n"
	    "poll_interval = 0\n"
	    "[account \"c\"]\n"
	    "poll_interval = 25h\n",
	    "2: poll_interval = 500ms is too short: the minimum is 1s",
	    "4: poll_interval = 0 is too short: the minimum is 1s",
	    "6: poll_interval = 25h is too long: the maximum is 24h", NULL);
	conf = load_ok("[account \"a\"]\npoll_interval = 1000ms\n"
	    "[account \"b\"]\npoll_interval = 24h\n");
	ck_assert_int_eq(conf->accounts[0].poll_interval_ms, 1000);
	ck_assert_int_eq(conf->accounts[1].poll_interval_ms, 24 * MS_HOUR);
	conf_free(conf);
}
END_TEST

START_TEST(test_bad_durations)
{
	expect_errors(
	    "[daemon]\n"
	    "sla_direct = 1x\n"
	    "sla_broadcast = -5m\n"
	    "sla_complaint =\n"
	    "[account \"a\"]\n"
	    "sla_direct = 0\n"
	    "sla_broadcast = 0s\n"
	    "sla_complaint = 1h 30\n"
	    "backfill = soon\n"
	    "[account \"b\"]\n"
	    "sla_direct = 400d\n"
	    "backfill = 367d\n"
	    "poll_interval = 99999999999999999999s\n",
	    "2: sla_direct: invalid duration \"1x\" (for example 45s, 30m, "
	    "1h30m, 2d)",
	    "3: sla_broadcast: invalid duration \"-5m\" (for example 45s, "
	    "30m, 1h30m, 2d)",
	    "4: sla_complaint: empty value",
	    "6: sla_direct = 0: a zero SLA target is refused",
	    "7: sla_broadcast = 0s: a zero SLA target is refused",
	    "8: sla_complaint: invalid duration \"1h 30\" (for example 45s, "
	    "30m, 1h30m, 2d)",
	    "9: backfill: invalid duration \"soon\" (for example 45s, 30m, "
	    "1h30m, 2d)",
	    "11: sla_direct = 400d is too long: the maximum is 365d",
	    "12: backfill = 367d is too long: the maximum is 366d",
	    "13: poll_interval: invalid duration \"99999999999999999999s\" "
	    "(for example 45s, 30m, 1h30m, 2d)", NULL);
}
END_TEST

START_TEST(test_duplicate_account)
{
	expect_errors(
	    "[account \"a\"]\n"
	    "sla_direct = 1h\n"
	    "[account \"b\"]\n"
	    "\n"
	    "[account \"a\"]\n"
	    "sla_direct = 0\n"
	    "[account \"a\"]\n",
	    "5: duplicate [account \"a\"], already defined at line 1",
	    "6: sla_direct = 0: a zero SLA target is refused",
	    "7: duplicate [account \"a\"], already defined at line 1", NULL);
	expect_errors(
	    "[daemon]\n"
	    "[account \"a\"]\n"
	    "[daemon]\n",
	    "3: duplicate [daemon] section, the first is at line 1", NULL);
}
END_TEST

START_TEST(test_unknown_key_section)
{
	expect_errors(
	    "[daemon]\n"
	    "foo = 1\n"
	    "[account \"x\"]\n"
	    "bar = 2\n"
	    "[accounts \"y\"]\n"
	    "baz = 3\n"
	    "[daemon]x\n"
	    "[]\n"
	    "[account \"z\"]\n"
	    "this_key_name_is_far_too_long_to_quote_back = 1\n"
	    "Sla-Direct = 1h\n",
	    "2: unknown key \"foo\" in [daemon]",
	    "4: unknown key \"bar\" in [account \"x\"]",
	    "5: unknown section [accounts \"y\"] (expected [daemon], "
	    "[account \"NAME\"] or [route \"NAME\"])",
	    "7: unexpected text after the section header",
	    "8: unknown section [] (expected [daemon], "
	    "[account \"NAME\"] or [route \"NAME\"])",
	    "10: invalid key name in [account \"z\"]",
	    "11: unknown key \"Sla-Direct\" in [account \"z\"]", NULL);
}
END_TEST

START_TEST(test_wrong_section)
{
	expect_errors(
	    "database = /x.db\n"
	    "\n"
	    "[daemon]\n"
	    "poll_interval = 10s\n"
	    "connector = x\n"
	    "[account \"a\"]\n"
	    "database = /y.db\n"
	    "log_level = debug\n",
	    "1: key \"database\" outside of a section: put it under [daemon] "
	    "or [account \"NAME\"]",
	    "4: key \"poll_interval\" is only valid in [account \"NAME\"] "
	    "sections, not in [daemon]",
	    "5: key \"connector\" is only valid in [account \"NAME\"] "
	    "sections, not in [daemon]",
	    "7: key \"database\" is only valid in [daemon], not in "
	    "[account \"a\"]",
	    "8: key \"log_level\" is only valid in [daemon], not in "
	    "[account \"a\"]", NULL);
}
END_TEST

START_TEST(test_duplicate_key)
{
	struct conf *conf;

	expect_errors(
	    "[daemon]\n"
	    "sla_direct = 1h\n"
	    "SLA_DIRECT = 2h\n"
	    "[account \"a\"]\n"
	    "url = https://a.example\n"
	    "poll_interval = 1m\n"
	    "url = https://b.example\n"
	    "closed = 2026-12-24\n"
	    "closed = 2026-12-25\n"
	    "    2026-12-26\n",
	    "3: key \"sla_direct\" given twice in [daemon], first at line 2",
	    "7: key \"url\" given twice in [account \"a\"], first at line 5",
	    "9: key \"closed\" given twice in [account \"a\"], first at line 8",
	    NULL);
	/* once in [daemon] and once in an account is an override */
	conf = load_ok("[daemon]\nsla_direct = 1h\n[account \"a\"]\n"
	    "sla_direct = 2h\n");
	ck_assert_int_eq(conf->accounts[0].policy.sla_direct_ms, 2 * MS_HOUR);
	conf_free(conf);
}
END_TEST

START_TEST(test_inline_secret)
{
	struct conf_errors errs;
	char *path;
	size_t i;

	expect_errors(
	    "[account \"a\"]\n"
	    "token = s3cr3t-t0ken\n"
	    "password = hunter2\n"
	    "secret = xyzzy\n"
	    "[daemon]\n"
	    "API_KEY: k3y\n"
	    "[nowhere]\n"
	    "access_token = t0k\n",
	    "2: key \"token\": inline secrets are not supported, put the "
	    "secret in a file and set token_file",
	    "3: key \"password\": inline secrets are not supported, put the "
	    "secret in a file and set password_file",
	    "4: key \"secret\": inline secrets are not supported, put the "
	    "secret in a file and set token_file",
	    "6: key \"api_key\": inline secrets are not supported, put the "
	    "secret in a file and set token_file",
	    "7: unknown section [nowhere] (expected [daemon], "
	    "[account \"NAME\"] or [route \"NAME\"])",
	    "8: key \"access_token\": inline secrets are not supported, put "
	    "the secret in a file and set token_file", NULL);

	/* neither secrets nor URLs are quoted back */
	load_fail(
	    "[account \"a\"]\n"
	    "token = s3cr3t-t0ken\n"
	    "url = https://user:pa55word@api.example/ x\n"
	    "password_file =\n"
	    "gh0_abcdefghijklmnopqrstuvwxyz0123456789\n"
	    "gh1_abcdefghijklmnopqrstuvwxyz0123456789: x\n",
	    &errs, &path);
	ck_assert_uint_eq(errs.n, 5);
	for (i = 0; i < errs.n; i++) {
		ck_assert_ptr_null(strstr(errs.msgs[i], "s3cr3t"));
		ck_assert_ptr_null(strstr(errs.msgs[i], "pa55word"));
		ck_assert_ptr_null(strstr(errs.msgs[i], "abcdefghijklmn"));
	}
	conf_errors_clear(&errs);
	free(path);
}
END_TEST

START_TEST(test_bad_business_hours)
{
	/* each at its own line; inherited by accounts, reported once */
	expect_error_prefix(
	    "[account \"a\"]\n"
	    "[daemon]\n"
	    "timezone = Europe/Berlin\n"
	    "\n"
	    "business_hours = mon-fri 09:00-25:00\n"
	    "[account \"b\"]\n",
	    5, "business_hours: ");
	expect_error_prefix(
	    "[daemon]\n"
	    "business_hours = mon-fri 09:00-17:00\n"
	    "[account \"a\"]\n"
	    "timezone = Mars/Olympus_Mons\n",
	    4, "timezone: ");
	expect_error_prefix(
	    "[daemon]\n"
	    "business_hours = mon-fri 09:00-17:00\n"
	    "[account \"a\"]\n"
	    "sla_direct = 2h\n"
	    "closed = 2026-12-24\n"
	    "   2026-02-30\n",
	    5, "closed: ");
	expect_error_prefix(
	    "[account \"a\"]\n"
	    "business_hours = someday\n",
	    2, "business_hours: ");
	/* a bad part is not reported again when the parts are put together */
	expect_errors(
	    "[daemon]\n"
	    "timezone = Nowhere/Town\n"
	    "business_hours = mon-fri 09:00-17:00\n"
	    "sla_business_time = yes\n"
	    "[account \"a\"]\n"
	    "[account \"b\"]\n"
	    "closed = 2026-12-24\n",
	    "2: timezone: \"Nowhere/Town\": unknown time zone", NULL);
}
END_TEST

START_TEST(test_account_names)
{
	char name64[65], *text, *first;
	struct conf *conf;

	memset(name64, 'n', 64);
	name64[64] = '\0';
	xasprintf(&text, "[account \"%s\"]\nsla_direct = 2h\n"
	    "[account   \"A-b_c.9\"]\n", name64);
	conf = load_ok(text);
	free(text);
	ck_assert_uint_eq(conf->naccounts, 2);
	ck_assert_ptr_nonnull(conf_find_account(conf, name64));
	ck_assert_int_eq(conf_policy_for(conf, name64)->sla_direct_ms,
	    2 * MS_HOUR);
	ck_assert_ptr_nonnull(conf_find_account(conf, "A-b_c.9"));
	ck_assert_ptr_null(conf_find_account(conf, "a-b_c.9"));
	conf_free(conf);

	xasprintf(&text,
	    "[account \"%sn\"]\n"
	    "[account \"\"]\n"
	    "[account \"a/b\"]\n"
	    "[account acme]\n"
	    "[account]\n"
	    "[account \"x\" y]\n"
	    "[account \"x]\n"
	    "sla_direct = 0\n", name64);
	xasprintf(&first, "1: invalid account name \"%sn\": use 1 to 64 "
	    "letters, digits, '-', '_' or '.'", name64);
	expect_errors(text, first,
	    "2: invalid account name \"\": use 1 to 64 letters, digits, '-', "
	    "'_' or '.'",
	    "3: invalid account name \"a/b\": use 1 to 64 letters, digits, "
	    "'-', '_' or '.'",
	    "4: the account name must be in double quotes: [account \"NAME\"]",
	    "5: the account name must be in double quotes: [account \"NAME\"]",
	    "6: the account name must be in double quotes: [account \"NAME\"]",
	    "7: the account name must be in double quotes: [account \"NAME\"]",
	    NULL);
	free(first);
	free(text);
}
END_TEST

START_TEST(test_syntax)
{
	static const char nul[] = "[daemon]\nsla_direct = 1h\0x\n";
	char *text, *path, *want;
	struct conf_errors errs;
	struct conf *conf;
	char longv[1001];

	expect_errors(
	    "[daemon]\n"
	    "log_level\n"
	    "= 1h\n"
	    "[account \"a\"\n"
	    "sla_direct = 0\n"
	    "[account \"b\"]\n"
	    "sla_direct ; = 1h\n"
	    "  = 2h\n",
	    "2: syntax error: expected \"key = value\" or a [section] header",
	    "3: missing key name before '='",
	    "4: invalid section header: missing ']'",
	    "7: syntax error: expected \"key = value\" or a [section] header",
	    "8: missing key name before '='", NULL);

	/* a NUL byte */
	path = write_file(nul, sizeof nul - 1);
	ck_assert_ptr_null(conf_load(path, &errs));
	ck_assert_uint_eq(errs.n, 1);
	xasprintf(&want, "%s:2: the line contains a NUL byte", path);
	ck_assert_str_eq(errs.msgs[0], want);
	conf_errors_clear(&errs);
	free(want);
	free(path);

	/* a long line is refused, lines after it are still counted */
	memset(longv, 'x', sizeof longv - 1);
	longv[sizeof longv - 1] = '\0';
	xasprintf(&text, "[account \"a\"]\nurl = https://%s\n"
	    "poll_interval = 0\n", longv);
	load_fail(text, &errs, &path);
	ck_assert_uint_eq(errs.n, 2);
	xasprintf(&want, "%s:2: line too long: at most ", path);
	ck_assert_int_eq(strncmp(errs.msgs[0], want, strlen(want)), 0);
	free(want);
	xasprintf(&want, "%s:3: poll_interval = 0 is too short: the minimum "
	    "is 1s", path);
	ck_assert_str_eq(errs.msgs[1], want);
	free(want);
	conf_errors_clear(&errs);
	free(path);
	free(text);

	/* a long comment is fine */
	xasprintf(&text, "# %s\n[daemon]\n", longv);
	conf = load_ok(text);
	conf_free(conf);
	free(text);
}
END_TEST

START_TEST(test_lexical)
{
	const struct conf_account *a;
	struct conf *conf;

	/* BOM, CRLF, indentation, quotes, comments, ':' */
	conf = load_ok(
	    "\xef\xbb\xbf# comment\r\n"
	    "[ daemon ] ; the daemon\r\n"
	    "  log_level = \"warning\" ; inline comment\r\n"
	    "\tdatabase: /srv/rw.db\r\n"
	    "[Account \"a\"]   # its account\r\n"
	    "    url = https://example.com/a;b\r\n"
	    "    business_hours = \"mon-fri 09:00-17:00\"\r\n"
	    "    sla_direct = 2h\r\n");
	ck_assert_int_eq(conf->log_level, LOG_LEVEL_WARN);
	ck_assert_str_eq(conf->database, "/srv/rw.db");
	a = conf_find_account(conf, "a");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->url, "https://example.com/a;b");
	ck_assert_str_eq(a->policy.business_hours, "mon-fri 09:00-17:00");
	ck_assert_int_eq(a->policy.sla_direct_ms, 2 * MS_HOUR);
	ck_assert_ptr_nonnull(a->policy.biz);
	conf_free(conf);
}
END_TEST

START_TEST(test_continuation)
{
	const struct conf_account *a;
	struct conf *conf;

	conf = load_ok(
	    "[account \"a\"]\n"
	    "  closed = 2026-12-24,\n"
	    "     2026-12-25 ; christmas\n"
	    "\t\t\t2026-12-31\n"
	    "  business_hours = mon-fri 09:00-12:30\n"
	    "                   13:30-17:00;\n"
	    "                   sat 10:00-14:00\n"
	    "      sla_direct = 2h\n"
	    "  sla_broadcast = 5h\n"
	    "[account \"b\"]\n"
	    "closed =\n"
	    "  2027-01-01\n"
	    "\n"
	    "  sla_direct = 3h\n");
	a = conf_find_account(conf, "a");
	ck_assert_str_eq(a->policy.closed, "2026-12-24, 2026-12-25 2026-12-31");
	ck_assert_str_eq(a->policy.business_hours,
	    "mon-fri 09:00-12:30 13:30-17:00; sat 10:00-14:00");
	ck_assert_ptr_nonnull(a->policy.biz);
	ck_assert_int_eq(a->policy.sla_direct_ms, 2 * MS_HOUR);
	ck_assert_int_eq(a->policy.sla_broadcast_ms, 5 * MS_HOUR);
	a = conf_find_account(conf, "b");
	ck_assert_str_eq(a->policy.closed, "2027-01-01");
	ck_assert_int_eq(a->policy.sla_direct_ms, 3 * MS_HOUR);
	conf_free(conf);

	/* only business_hours and closed go on over several lines */
	expect_errors(
	    "[daemon]\n"
	    "sla_direct = 1h\n"
	    "    30m\n",
	    "3: syntax error: expected \"key = value\" or a [section] header",
	    NULL);
}
END_TEST

START_TEST(test_values_shown)
{
	char long_value[101], *text, *want;

	memset(long_value, 'y', sizeof long_value - 1);
	long_value[sizeof long_value - 1] = '\0';
	xasprintf(&text,
	    "[daemon]\n"
	    "log_level = \x1b[31mred\x7f\n"
	    "sla_business_time = %s\n", long_value);
	xasprintf(&want, "3: sla_business_time: invalid boolean \"%.80s...\": "
	    "use yes or no", long_value);
	expect_errors(text,
	    "2: log_level: unknown level \"?[31mred?\": use error, warning, "
	    "notice, info or debug", want, NULL);
	free(want);
	free(text);
}
END_TEST

START_TEST(test_many_errors)
{
	expect_errors(
	    "[daemon]\n"				/* 1 */
	    "sla_direct = 0\n"				/* 2 */
	    "sla_business_time = yes\n"			/* 3 */
	    "[account \"x\"]\n"				/* 4 */
	    "poll_interval = 100ms\n"			/* 5 */
	    "foo = bar\n"				/* 6 */
	    "token = abc\n"				/* 7 */
	    "[bogus]\n"					/* 8 */
	    "sla_direct = 0\n"				/* 9 */
	    "[account \"x\"]\n"				/* 10 */
	    "backfill = 1y\n"				/* 11 */
	    "business_hours = mon-fri 09:00-17:00\n"	/* 12 */
	    "business_hours = mon 09:00-17:00\n",	/* 13 */
	    "2: sla_direct = 0: a zero SLA target is refused",
	    "3: sla_business_time = yes needs business_hours in [daemon]",
	    "5: poll_interval = 100ms is too short: the minimum is 1s",
	    "6: unknown key \"foo\" in [account \"x\"]",
	    "7: key \"token\": inline secrets are not supported, put the "
	    "secret in a file and set token_file",
	    "8: unknown section [bogus] (expected [daemon], "
	    "[account \"NAME\"] or [route \"NAME\"])",
	    "10: duplicate [account \"x\"], already defined at line 4",
	    "11: backfill: invalid duration \"1y\" (for example 45s, 30m, "
	    "1h30m, 2d)",
	    "13: key \"business_hours\" given twice in [account \"x\"], first "
	    "at line 12", NULL);
}
END_TEST

START_TEST(test_too_many_errors)
{
	struct conf_errors errs;
	char *text = NULL, *path, *want;
	size_t len = 0, i;
	FILE *m;

	m = open_memstream(&text, &len);
	fputs("[daemon]\n", m);
	for (i = 0; i < 150; i++)
		fprintf(m, "k%zu = 1\n", i);
	fclose(m);
	load_fail(text, &errs, &path);
	ck_assert_uint_eq(errs.n, 101);
	xasprintf(&want, "%s:101: unknown key \"k99\" in [daemon]", path);
	ck_assert_str_eq(errs.msgs[99], want);
	free(want);
	xasprintf(&want, "%s: too many errors, 50 more not shown", path);
	ck_assert_str_eq(errs.msgs[100], want);
	free(want);
	conf_errors_clear(&errs);
	conf_errors_clear(&errs);
	free(path);
	free(text);

	/* errs may be NULL */
	path = write_conf("[daemon]\nfoo = 1\n");
	ck_assert_ptr_null(conf_load(path, NULL));
	free(path);
}
END_TEST

START_TEST(test_file_errors)
{
	struct conf_errors errs;
	char *path, *want;

	xasprintf(&path, "%s/does-not-exist.conf", tmpdir);
	ck_assert_ptr_null(conf_load(path, &errs));
	ck_assert_uint_eq(errs.n, 1);
	xasprintf(&want, "%s: cannot open: %s", path, strerror(ENOENT));
	ck_assert_str_eq(errs.msgs[0], want);
	conf_errors_clear(&errs);
	free(want);
	free(path);

	xasprintf(&path, "%s/a-directory", tmpdir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_ptr_null(conf_load(path, &errs));
	ck_assert_uint_eq(errs.n, 1);
	xasprintf(&want, "%s: cannot read: %s", path, strerror(EISDIR));
	ck_assert_str_eq(errs.msgs[0], want);
	conf_errors_clear(&errs);
	ck_assert_int_eq(rmdir(path), 0);
	free(want);
	free(path);
}
END_TEST

/* ---- routes and alert rules --------------------------------------------- */

START_TEST(test_routes)
{
	const struct conf_account *a, *b;
	const struct conf_route *r;
	struct conf *conf;

	conf = load_ok(
	    "[daemon]\n"
	    "alert_routes = hook, mail\n"
	    "alert_warning = 80\n"
	    "complaint_spike_window = 30m\n"
	    "complaint_spike_floor = 0\n"
	    "complaint_spike_factor = 4\n"
	    "connector_down_after = 5m\n"
	    "backlog_limit = 50\n"
	    "repeat_interval = 1h\n"
	    "group_wait = 0\n"
	    "[account \"a\"]\n"
	    "alert_routes = mail\n"
	    "alert_overdue = no\n"
	    "repeat_interval = 2h\n"
	    "[account \"b\"]\n"
	    "[route \"hook\"]\n"
	    "type = webhook\n"
	    "url = https://hooks.example.com/rw?x=1\n"
	    "secret_file = /etc/replywatch/hook.secret\n"
	    "format = slack\n"
	    "ca_file = /etc/replywatch/ca.pem\n"
	    "[route \"mail\"]\n"
	    "type = email\n"
	    "url = smtps://mail.example.com\n"
	    "from = rw@example.com\n"
	    "to = a@example.com,  b@example.org \n"
	    "username = rw\n"
	    "password_file = mail.password\n"
	    "[route \"local.hook\"]\n"
	    "type = webhook\n"
	    "url = http://127.0.0.1:8080/hook\n"
	    "[route \"local-mail\"]\n"
	    "type = email\n"
	    "url = smtp://localhost:25\n"
	    "starttls = no\n"
	    "from = rw@localhost\n"
	    "to = root@localhost\n");
	ck_assert_uint_eq(conf->nroutes, 4);

	r = &conf->routes[0];
	ck_assert_str_eq(r->name, "hook");
	ck_assert_int_eq(r->line, 16);
	ck_assert_str_eq(r->type, "webhook");
	ck_assert_str_eq(r->url, "https://hooks.example.com/rw?x=1");
	ck_assert_str_eq(r->secret_file, "/etc/replywatch/hook.secret");
	ck_assert_str_eq(r->format, "slack");
	ck_assert_str_eq(r->ca_file, "/etc/replywatch/ca.pem");
	ck_assert_ptr_null(r->from);
	ck_assert_ptr_null(r->to);
	ck_assert_ptr_null(r->username);
	ck_assert_ptr_null(r->password_file);
	ck_assert_int_eq(r->starttls, 1);

	r = &conf->routes[1];
	ck_assert_str_eq(r->name, "mail");
	ck_assert_str_eq(r->type, "email");
	ck_assert_str_eq(r->url, "smtps://mail.example.com");
	ck_assert_str_eq(r->from, "rw@example.com");
	ck_assert_str_eq(r->to, "a@example.com,  b@example.org");
	ck_assert_str_eq(r->username, "rw");
	ck_assert_str_eq(r->password_file, "mail.password");
	ck_assert_str_eq(r->format, "json");
	ck_assert_int_eq(r->starttls, 1);
	ck_assert_ptr_null(r->secret_file);
	ck_assert_ptr_null(r->ca_file);

	r = &conf->routes[2];
	ck_assert_str_eq(r->name, "local.hook");
	ck_assert_str_eq(r->format, "json");
	ck_assert_ptr_null(r->secret_file);
	r = &conf->routes[3];
	ck_assert_int_eq(r->starttls, 0);

	/* the alert keys are policy keys: inherited unless set */
	ck_assert_str_eq(conf->defaults.alert_routes, "hook, mail");
	ck_assert_int_eq(conf->defaults.alert_overdue, 1);
	ck_assert_int_eq(conf->defaults.alert_warning_pct, 80);
	ck_assert_int_eq(conf->defaults.group_wait_ms, 0);
	a = conf_find_account(conf, "a");
	ck_assert_str_eq(a->policy.alert_routes, "mail");
	ck_assert_int_eq(a->policy.alert_overdue, 0);
	ck_assert_int_eq(a->policy.repeat_interval_ms, 2 * MS_HOUR);
	ck_assert_int_eq(a->policy.alert_warning_pct, 80);
	ck_assert_int_eq(conf_account_key_line(a, "alert_routes"), 12);
	ck_assert_int_eq(conf_account_key_line(a, "alert_warning"), 0);
	b = conf_find_account(conf, "b");
	ck_assert_str_eq(b->policy.alert_routes, "hook, mail");
	ck_assert_ptr_ne(b->policy.alert_routes, conf->defaults.alert_routes);
	ck_assert_int_eq(b->policy.alert_overdue, 1);
	ck_assert_int_eq(b->policy.alert_warning_pct, 80);
	ck_assert_int_eq(b->policy.spike_window_ms, 30 * MS_MIN);
	ck_assert_int_eq(b->policy.spike_floor, 0);
	ck_assert_int_eq(b->policy.spike_factor, 4);
	ck_assert_int_eq(b->policy.down_after_ms, 5 * MS_MIN);
	ck_assert_int_eq(b->policy.backlog_limit, 50);
	ck_assert_int_eq(b->policy.repeat_interval_ms, 1 * MS_HOUR);
	ck_assert_int_eq(b->policy.group_wait_ms, 0);
	/* a route's url is not an account's */
	ck_assert_int_eq(conf_account_key_line(b, "url"), 0);
	conf_free(conf);

	/* a route of each kind alone, nothing else needed */
	conf = load_ok("[route \"x\"]\ntype = webhook\n"
	    "url = HTTPS://[2001:db8::1]:8443/x\n");
	ck_assert_uint_eq(conf->nroutes, 1);
	ck_assert_uint_eq(conf->naccounts, 0);
	conf_free(conf);
	conf = load_ok("[route \"x\"]\ntype = webhook\n"
	    "url = http://[::1]:9/x\n");
	conf_free(conf);
}
END_TEST

START_TEST(test_route_sections)
{
	expect_errors(
	    "[route x]\n"
	    "type = webhook\n"
	    "[route \"a b\"]\n"
	    "[route \"ok\"]\n"
	    "type = webhook\n"
	    "url = https://a.example\n"
	    "[route \"ok\"]\n"
	    "type = webhook\n"
	    "url = https://b.example\n"
	    "url = https://c.example\n"
	    "[route \"\"]\n",
	    "1: the route name must be in double quotes: [route \"NAME\"]",
	    "3: invalid route name \"a b\": use 1 to 64 letters, digits, "
	    "'-', '_' or '.'",
	    "7: duplicate [route \"ok\"], already defined at line 4",
	    "10: key \"url\" given twice in [route \"ok\"], first at line 9",
	    "11: invalid route name \"\": use 1 to 64 letters, digits, "
	    "'-', '_' or '.'", NULL);
	/* keys of other sections, and route keys elsewhere */
	expect_errors(
	    "[daemon]\n"
	    "type = webhook\n"
	    "from = a@example.com\n"
	    "[account \"a\"]\n"
	    "secret_file = /x\n"
	    "starttls = no\n"
	    "[route \"r\"]\n"
	    "type = webhook\n"
	    "url = https://hooks.example.com\n"
	    "sla_direct = 1h\n"
	    "alert_routes = r\n"
	    "token_file = /x\n"
	    "database = /x.db\n"
	    "handle = a\n"
	    "nope = 1\n"
	    "secret = abc\n"
	    "password = abc\n",
	    "2: key \"type\" is only valid in [route \"NAME\"] sections, not "
	    "in [daemon]",
	    "3: key \"from\" is only valid in [route \"NAME\"] sections, not "
	    "in [daemon]",
	    "5: key \"secret_file\" is only valid in [route \"NAME\"] "
	    "sections, not in [account \"a\"]",
	    "6: key \"starttls\" is only valid in [route \"NAME\"] "
	    "sections, not in [account \"a\"]",
	    "10: key \"sla_direct\" is not valid in [route \"r\"]",
	    "11: key \"alert_routes\" is not valid in [route \"r\"]",
	    "12: key \"token_file\" is only valid in [account \"NAME\"] "
	    "sections, not in [route \"r\"]",
	    "13: key \"database\" is only valid in [daemon], not in "
	    "[route \"r\"]",
	    "14: key \"handle\" is only valid in [account \"NAME\"] "
	    "sections, not in [route \"r\"]",
	    "15: unknown key \"nope\" in [route \"r\"]",
	    "16: key \"secret\": inline secrets are not supported, put the "
	    "secret in a file and set secret_file",
	    "17: key \"password\": inline secrets are not supported, put the "
	    "secret in a file and set password_file", NULL);
}
END_TEST

START_TEST(test_route_type_url)
{
	expect_errors(
	    "[route \"none\"]\n"
	    "url = https://a.example\n"
	    "[route \"bad\"]\n"
	    "type = pager\n"
	    "[route \"bad2\"]\n"
	    "type = web hook\n"
	    "[route \"nourl\"]\n"
	    "type = webhook\n",
	    "1: [route \"none\"]: type = is required (webhook or email)",
	    "4: type: \"pager\" is not webhook or email",
	    "6: type: invalid name \"web hook\": use up to 64 letters, "
	    "digits, '-' and '_'",
	    "7: [route \"nourl\"]: url = is required", NULL);
	/* webhook: https://, or http:// on loopback */
	expect_errors(
	    "[route \"a\"]\n"
	    "type = webhook\n"
	    "url = http://hooks.example.com/x\n"
	    "[route \"b\"]\n"
	    "type = webhook\n"
	    "url = ftp://hooks.example.com/x\n"
	    "[route \"c\"]\n"
	    "type = webhook\n"
	    "url = smtp://mail.example.com\n"
	    "[route \"d\"]\n"
	    "type = webhook\n"
	    "url = hooks.example.com/x\n"
	    "[route \"e\"]\n"
	    "type = webhook\n"
	    "url = http://127.0.0.1.example.com/x\n"
	    "[route \"f\"]\n"
	    "type = webhook\n"
	    "url = https://\n",
	    "3: url: http:// is accepted only for loopback addresses "
	    "(127.0.0.1, ::1, localhost): use https://",
	    "6: url: the scheme of a webhook must be https:// (or http:// "
	    "on loopback)",
	    "9: url: the scheme of a webhook must be https:// (or http:// "
	    "on loopback)",
	    "12: url: not a URL with a host (e.g. "
	    "https://hooks.example.com/replywatch)",
	    "15: url: http:// is accepted only for loopback addresses "
	    "(127.0.0.1, ::1, localhost): use https://",
	    "18: url: not a URL with a host (e.g. "
	    "https://hooks.example.com/replywatch)", NULL);
	/* email: smtp:// or smtps:// */
	expect_errors(
	    "[route \"a\"]\n"
	    "type = email\n"
	    "url = https://mail.example.com\n"
	    "from = a@example.com\n"
	    "to = b@example.com\n"
	    "[route \"b\"]\n"
	    "type = email\n"
	    "url = mail.example.com:587\n"
	    "from = a@example.com\n"
	    "to = b@example.com\n",
	    "3: url: the scheme of an email route must be smtp:// "
	    "(STARTTLS) or smtps://",
	    "8: url: not a URL with a host (e.g. smtp://mail.example.com:587)",
	    NULL);
}
END_TEST

START_TEST(test_route_email)
{
	/* from and to are required */
	expect_errors(
	    "[route \"m\"]\n"
	    "type = email\n"
	    "url = smtp://mail.example.com:587\n",
	    "1: [route \"m\"]: an email route needs from = (the sender "
	    "address)",
	    "1: [route \"m\"]: an email route needs to = (the recipients, "
	    "comma-separated)", NULL);
	expect_errors(
	    "[route \"m\"]\n"
	    "type = email\n"
	    "url = smtp://mail.example.com:587\n"
	    "from = <rw@example.com>\n"
	    "to = a@example.com, , b@example.com, c, d@e@f\n",
	    "4: from: not a plain address (local@domain)",
	    "5: to: recipient 2 is empty",
	    "5: to: recipient 4 is not a plain address (local@domain)",
	    "5: to: recipient 5 is not a plain address (local@domain)", NULL);
	expect_errors(
	    "[route \"m\"]\n"
	    "type = email\n"
	    "url = smtp://mail.example.com:587\n"
	    "from = Replywatch rw@example.com\n"
	    "to = b@example.com\n",
	    "4: from: the value contains spaces or control characters", NULL);
	/* STARTTLS may be turned off only for a loopback smtp:// server */
	expect_errors(
	    "[route \"a\"]\n"
	    "type = email\n"
	    "url = smtp://mail.example.com:587\n"
	    "starttls = no\n"
	    "from = a@example.com\n"
	    "to = b@example.com\n"
	    "[route \"b\"]\n"
	    "type = email\n"
	    "url = smtps://127.0.0.1\n"
	    "starttls = off\n"
	    "from = a@example.com\n"
	    "to = b@example.com\n"
	    "[route \"c\"]\n"
	    "type = email\n"
	    "url = smtp://127.0.0.1:2525\n"
	    "starttls = no\n"
	    "from = a@example.com\n"
	    "to = b@example.com\n",
	    "4: starttls = no is accepted only for an smtp:// url on loopback "
	    "(127.0.0.1, ::1, localhost)",
	    "10: starttls = no is accepted only for an smtp:// url on "
	    "loopback (127.0.0.1, ::1, localhost)", NULL);
	/* SMTP AUTH needs both */
	expect_errors(
	    "[route \"a\"]\n"
	    "type = email\n"
	    "url = smtp://mail.example.com:587\n"
	    "from = a@example.com\n"
	    "to = b@example.com\n"
	    "username = rw\n"
	    "[route \"b\"]\n"
	    "type = email\n"
	    "url = smtp://mail.example.com:587\n"
	    "from = a@example.com\n"
	    "to = b@example.com\n"
	    "password_file = /etc/replywatch/b.password\n",
	    "6: username = needs password_file = (SMTP AUTH)",
	    "12: password_file = needs username = (SMTP AUTH)", NULL);
}
END_TEST

START_TEST(test_route_type_keys)
{
	expect_errors(
	    "[route \"hook\"]\n"
	    "type = webhook\n"
	    "url = https://hooks.example.com\n"
	    "from = a@example.com\n"
	    "to = b@example.com\n"
	    "username = u\n"
	    "password_file = /p\n"
	    "starttls = yes\n"
	    "format = xml\n"
	    "[route \"mail\"]\n"
	    "type = email\n"
	    "url = smtps://mail.example.com\n"
	    "from = a@example.com\n"
	    "to = b@example.com\n"
	    "secret_file = /s\n"
	    "format = slack\n"
	    "secret_file = /t\n"
	    "[route \"ctl\"]\n"
	    "type = webhook\n"
	    "url = https://hooks.example.com\n"
	    "secret_file = a\tb\n",
	    "4: key \"from\" is only valid in email routes, and "
	    "[route \"hook\"] is a webhook",
	    "5: key \"to\" is only valid in email routes, and "
	    "[route \"hook\"] is a webhook",
	    "6: key \"username\" is only valid in email routes, and "
	    "[route \"hook\"] is a webhook",
	    "7: key \"password_file\" is only valid in email routes, and "
	    "[route \"hook\"] is a webhook",
	    "8: key \"starttls\" is only valid in email routes, and "
	    "[route \"hook\"] is a webhook",
	    "9: format: \"xml\" is not json or slack",
	    "15: key \"secret_file\" is only valid in webhook routes, and "
	    "[route \"mail\"] is an email route",
	    "16: key \"format\" is only valid in webhook routes, and "
	    "[route \"mail\"] is an email route",
	    "17: key \"secret_file\" given twice in [route \"mail\"], first "
	    "at line 15",
	    "21: secret_file: the path contains control characters", NULL);
}
END_TEST

START_TEST(test_alert_keys)
{
	expect_errors(
	    "[daemon]\n"
	    "alert_routes = hook, pager, hook\n"
	    "alert_warning = 100\n"
	    "complaint_spike_window = 5s\n"
	    "complaint_spike_factor = 0\n"
	    "connector_down_after = 8d\n"
	    "backlog_limit = -1\n"
	    "repeat_interval = 500ms\n"
	    "group_wait = 2h\n"
	    "alert_overdue = maybe\n"
	    "[account \"a\"]\n"
	    "alert_routes = Hook\n"
	    "[account \"b\"]\n"
	    "alert_routes = ,\n"
	    "[account \"c\"]\n"
	    "alert_routes = hook\n"
	    "[route \"hook\"]\n"
	    "type = webhook\n"
	    "url = https://hooks.example.com\n",
	    "2: alert_routes: no [route \"pager\"] in the file",
	    "3: alert_warning = 100 is too large: the maximum is 99",
	    "4: complaint_spike_window = 5s is too short: the minimum is 10s",
	    "5: complaint_spike_factor = 0 is too small: the minimum is 1",
	    "6: connector_down_after = 8d is too long: the maximum is 7d",
	    "7: backlog_limit: invalid number \"-1\"",
	    "8: repeat_interval = 500ms is too short: the minimum is 1s",
	    "9: group_wait = 2h is too long: the maximum is 1h",
	    "10: alert_overdue: invalid boolean \"maybe\": use yes or no",
	    "12: alert_routes: no [route \"Hook\"] in the file",
	    "14: alert_routes: no route name in the list", NULL);
	/* an account that inherits a bad list is not reported again */
	expect_errors(
	    "[account \"a\"]\n"
	    "[daemon]\n"
	    "alert_routes = gone\n",
	    "3: alert_routes: no [route \"gone\"] in the file", NULL);
}
END_TEST

/* ---- the example file and the key table ---------------------------------- */

START_TEST(test_example_parses)
{
	const struct conf_account *a;
	struct conf_errors errs;
	struct conf *conf;
	int64_t from, to;
	char *path;

	path = example_path();
	conf = conf_load(path, &errs);
	ck_assert_msg(conf != NULL, "%s: %zu errors, first: %s", path, errs.n,
	    errs.n > 0 ? errs.msgs[0] : "none");
	free(path);
	ck_assert_uint_eq(conf->naccounts, 3);
	/* its routes are examples, commented out */
	ck_assert_uint_eq(conf->nroutes, 0);
	assert_default_policy(&conf->defaults);
	ck_assert_int_eq(conf->http_timeout_ms, 30 * 1000);
	ck_assert_int_eq(conf->max_response_size, 8 << 20);

	a = &conf->accounts[0];
	ck_assert_ptr_nonnull(a->connector);
	ck_assert_ptr_nonnull(a->url);
	ck_assert_ptr_nonnull(a->token_file);
	ck_assert_ptr_null(a->policy.biz);
	ck_assert_int_eq(a->policy.sla_business_time, 0);

	a = &conf->accounts[1];
	ck_assert_str_eq(a->connector, "bluesky");
	ck_assert_ptr_nonnull(a->handle);
	ck_assert_ptr_nonnull(a->password_file);
	ck_assert_str_eq(a->chat_proxy, "did:web:api.bsky.chat#bsky_chat");
	ck_assert_int_eq(conf_account_key_line(a, "handle"),
	    conf_account_key_line(a, "url") + 4);

	a = &conf->accounts[2];
	ck_assert_str_eq(a->connector, "exec");
	ck_assert_ptr_nonnull(a->command);
	ck_assert_int_eq(a->command_timeout_ms, 2 * 60 * 1000);
	ck_assert_int_eq(conf_account_key_line(a, "url"), 0);
	ck_assert_int_eq(a->policy.sla_business_time, 1);
	ck_assert_str_eq(a->policy.timezone, "Europe/Berlin");
	ck_assert_str_eq(a->policy.business_hours, "mon-fri 09:00-17:30");
	ck_assert_ptr_nonnull(a->policy.closed);
	ck_assert_ptr_nonnull(a->policy.biz);
	/* Monday 2026-11-23, 08:00-09:00 UTC: 09:00-10:00 in Berlin */
	ck_assert_int_eq(timefmt_parse_rfc3339("2026-11-23T08:00:00Z",
	    &from), 0);
	ck_assert_int_eq(timefmt_parse_rfc3339("2026-11-23T09:00:00Z",
	    &to), 0);
	ck_assert_int_eq(bizhours_between(a->policy.biz, from, to), MS_HOUR);
	/* closed on Christmas Eve (a Thursday) */
	ck_assert_int_eq(timefmt_parse_rfc3339("2026-12-24T08:00:00Z",
	    &from), 0);
	ck_assert_int_eq(timefmt_parse_rfc3339("2026-12-24T09:00:00Z",
	    &to), 0);
	ck_assert_int_eq(bizhours_between(a->policy.biz, from, to), 0);
	conf_free(conf);
}
END_TEST

/*
 * Every key is documented in the example as "key = " (maybe commented
 * out), and the commented-out examples are valid too, with the
 * commented-out [route "NAME"] sections.
 */
START_TEST(test_example_documents_every_key)
{
	struct conf_keyinfo ki;
	char *path, *text, *line, *needle, *p, *uncommented;
	struct conf *conf;
	size_t i;

	path = example_path();
	text = read_text(path);
	free(path);
	for (i = 0; conf_key_info(i, &ki) == 0; i++) {
		ck_assert_ptr_nonnull(ki.name);
		ck_assert_ptr_nonnull(ki.sections);
		ck_assert_ptr_nonnull(ki.type);
		ck_assert_ptr_nonnull(ki.help);
		xasprintf(&needle, "\n%s = ", ki.name);
		line = strstr(text, needle);
		free(needle);
		if (line == NULL) {
			xasprintf(&needle, "\n#%s = ", ki.name);
			line = strstr(text, needle);
			free(needle);
		}
		ck_assert_msg(line != NULL, "key %s not in the example",
		    ki.name);
	}
	ck_assert_uint_eq(i, 55);
	ck_assert_int_eq(conf_key_info(i, &ki), -1);

	/* Uncomment "#key = value" and "#[route" lines: still valid. */
	uncommented = xstrdup(text);
	for (p = uncommented; (p = strstr(p, "\n#")) != NULL; p++) {
		if (strncmp(p + 2, "[route \"", 8) == 0)
			p[1] = ' ';
		for (i = 0; conf_key_info(i, &ki) == 0; i++) {
			if (strncmp(p + 2, ki.name, strlen(ki.name)) == 0 &&
			    strncmp(p + 2 + strlen(ki.name), " = ", 3) == 0)
				p[1] = ' ';
		}
	}
	ck_assert_str_ne(uncommented, text);
	conf = load_ok(uncommented);
	ck_assert_ptr_nonnull(conf->defaults.business_hours);
	ck_assert_ptr_nonnull(conf->defaults.biz);
	/* a webhook and an email route, which alert_routes names */
	ck_assert_uint_eq(conf->nroutes, 2);
	ck_assert_str_eq(conf->routes[0].type, "webhook");
	ck_assert_ptr_nonnull(conf->routes[0].secret_file);
	ck_assert_str_eq(conf->routes[1].type, "email");
	ck_assert_ptr_nonnull(conf->routes[1].from);
	ck_assert_ptr_nonnull(conf->routes[1].to);
	ck_assert_ptr_nonnull(conf->routes[1].password_file);
	ck_assert_ptr_nonnull(conf->defaults.alert_routes);
	conf_free(conf);
	free(uncommented);
	free(text);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc;

	tc = tcase_create("defaults");
	tcase_add_unchecked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_default_builtin);
	tcase_add_test(tc, test_default_file);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_log_levels);
	tcase_add_test(tc, test_bools);
	suite_add_tcase(s, tc);

	tc = tcase_create("inheritance");
	tcase_add_unchecked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_inherit_any_order);
	tcase_add_test(tc, test_inherit_business_hours);
	tcase_add_test(tc, test_business_time_without_hours);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_unchecked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_poll_interval);
	tcase_add_test(tc, test_bad_durations);
	tcase_add_test(tc, test_duplicate_account);
	tcase_add_test(tc, test_unknown_key_section);
	tcase_add_test(tc, test_wrong_section);
	tcase_add_test(tc, test_duplicate_key);
	tcase_add_test(tc, test_inline_secret);
	tcase_add_test(tc, test_bad_business_hours);
	tcase_add_test(tc, test_account_names);
	tcase_add_test(tc, test_values_shown);
	tcase_add_test(tc, test_many_errors);
	tcase_add_test(tc, test_too_many_errors);
	tcase_add_test(tc, test_file_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("syntax");
	tcase_add_unchecked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_syntax);
	tcase_add_test(tc, test_lexical);
	tcase_add_test(tc, test_continuation);
	suite_add_tcase(s, tc);

	tc = tcase_create("routes");
	tcase_add_unchecked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_routes);
	tcase_add_test(tc, test_route_sections);
	tcase_add_test(tc, test_route_type_url);
	tcase_add_test(tc, test_route_email);
	tcase_add_test(tc, test_route_type_keys);
	tcase_add_test(tc, test_alert_keys);
	suite_add_tcase(s, tc);

	tc = tcase_create("example");
	tcase_add_unchecked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_example_parses);
	tcase_add_test(tc, test_example_documents_every_key);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(conf_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

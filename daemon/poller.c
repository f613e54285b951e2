/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <unistr.h>

#include "classify.h"
#include "classify-msg.h"
#include "conf.h"
#include "connector.h"
#include "http.h"
#include "log.h"
#include "msg.h"
#include "poller.h"
#include "secret.h"
#include "store.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * Each stream has one uv timer. When it fires, a poll job is made and
 * handed to the connector; the connector hands messages to the job and
 * ends it with poll_job_done. Then the stream's state is saved and the
 * timer set again. A stream never has two polls at once.
 */

#define MIN_TIME_MS		946684800000LL	/* 2000-01-01: older is absurd */
#define FUTURE_SLACK_MS		(24LL * 3600 * 1000)
#define BACKOFF_CAP_MS		(30LL * 60 * 1000)
#define AUTH_RETRY_MS		(10LL * 60 * 1000)
#define POLL_OVERLAP_MS		(5LL * 60 * 1000)	/* clocks and indexing lag */

struct poller;
struct account_rt;

struct stream_rt {
	struct account_rt *acc;
	int		 index;
	const char	*name;
	uv_timer_t	 timer;
	struct poll_job	*job;		/* running, or NULL */
	/* the saved state */
	char		*cursor;
	int64_t		 last_poll_ms, last_ok_ms, last_error_ms;
	char		*last_error;
	int64_t		 failures, fetched;
	struct poll_ratelimit rl;
	int64_t		 next_poll_ms, backoff_until_ms;
	/* since the daemon started, for metrics */
	uint64_t	 polls_ok, polls_failed, rate_limited;
};

struct account_rt {
	struct poller	*p;
	const struct conf_account *conf;
	const struct connector_def *def;
	const char	*platform;
	char		*secret;
	void		*conn;
	struct stream_rt *streams;
	size_t		 nstreams;
	size_t		 open_timers;	/* initialised and not yet closed */
	int		 retiring;	/* removed by a reload: closing */
	struct account_rt *next_retiring;
};

struct poller {
	uv_loop_t	*loop;
	const struct conf *conf;
	struct store	*store;
	struct http	*http;
	struct poller_hooks hooks;
	struct account_rt **accounts;
	size_t		 naccounts;
	struct account_rt *retiring;	/* removed, still closing */
	struct classify_set *classify;	/* complaint classifiers of conf */
	char		*state_dir;	/* the database's directory */
	uint64_t	 rng;
	int		 stopping;
	void		(*stopped)(void *);
	void		*stopped_arg;
	int		 stopped_told;
};

struct poll_job {
	struct stream_rt *s;
	int64_t		 now_ms;
	int64_t		 backfill_since;
	void		*data;
	struct msg	*msgs;		/* handed over, not committed */
	size_t		 n, cap;
	int		 spoiled;	/* an invalid message was handed over */
	char		*error;		/* why it is spoiled */
	size_t		 added;		/* new messages stored by this poll */
};

static void stream_schedule(struct stream_rt *, int64_t delay_ms);
static void maybe_stopped(struct poller *);
static void account_retired(struct account_rt *);

/* ---- randomness for jitter (xorshift64*, seeded from the clock) --------- */

static uint64_t
rng_next(struct poller *p)
{
	p->rng ^= p->rng >> 12;
	p->rng ^= p->rng << 25;
	p->rng ^= p->rng >> 27;
	return p->rng * 2685821657736338717ULL;
}

/* Uniform in [lo, hi]. */
static int64_t
rng_between(struct poller *p, int64_t lo, int64_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + (int64_t)(rng_next(p) % (uint64_t)(hi - lo + 1));
}

/* ---- checking accounts ---------------------------------------------------- */

static int
key_line(const struct conf_account *a, const char *key)
{
	int line = conf_account_key_line(a, key);

	return line > 0 ? line : a->line;
}

/* The account's complaint model must load. */
static void
check_classifier(const struct conf *conf, const struct conf_account *a,
    struct conf_errors *errs)
{
	struct classify_options o;
	struct classify *c;
	char *err = NULL;

	classify_options_from_policy(&o, &a->policy);
	/* the built-in rules alone always load: only a model or cues of the
	 * account's own can be refused */
	if (o.model_path == NULL && o.cues == NULL)
		return;
	if ((c = classify_new(&o, &err)) != NULL) {
		classify_free(c);
		return;
	}
	conf_errors_add(errs, conf->path, key_line(a, "complaint_model"),
	    "account \"%s\": %s", a->name, err);
	free(err);
}

/* "mastodon, bluesky, …": the registry's names. */
static void
connector_names(char *buf, size_t len)
{
	const struct connector_def *c;
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; (c = connector_at(i)) != NULL && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s",
		    i > 0 ? ", " : "", c->name);
}

size_t
poller_check_account(const struct conf *conf, const struct conf_account *a,
    struct conf_errors *errs)
{
	char names[256];
	const struct connector_def *def;
	struct connector_env env;
	const char *why, *file;
	size_t before = errs->n;
	char *err = NULL, *secret = NULL;
	void *conn;

	if (a->connector == NULL) {
		connector_names(names, sizeof names);
		conf_errors_add(errs, conf->path, a->line, "account \"%s\": "
		    "connector = is required (%s)", a->name, names);
		return errs->n - before;
	}
	if ((def = connector_find(a->connector)) == NULL) {
		connector_names(names, sizeof names);
		conf_errors_add(errs, conf->path, key_line(a, "connector"),
		    "account \"%s\": unknown connector \"%s\" (known: %s)",
		    a->name, a->connector, names);
		return errs->n - before;
	}
	if (a->url == NULL && def->default_url == NULL && !def->url_optional)
		conf_errors_add(errs, conf->path, a->line, "account \"%s\": "
		    "connector %s needs url =", a->name, def->name);
	else if (a->url != NULL && http_url_check(a->url, &why) == -1)
		conf_errors_add(errs, conf->path, key_line(a, "url"),
		    "account \"%s\": url: %s", a->name, why);
	check_classifier(conf, a, errs);
	file = a->token_file != NULL ? a->token_file : a->password_file;
	if (def->needs_secret && file == NULL)
		conf_errors_add(errs, conf->path, a->line, "account \"%s\": "
		    "connector %s needs token_file = or password_file =",
		    a->name, def->name);
	else if (def->needs_secret) {
		if ((secret = secret_load(file, &err)) == NULL) {
			conf_errors_add(errs, conf->path, key_line(a,
			    a->token_file != NULL ? "token_file" :
			    "password_file"), "account \"%s\": %s", a->name,
			    err);
			free(err);
		}
	}
	/* the connector's own objections (exec: command, bluesky: handle),
	 * heard when there is nothing else to say: it is set up and freed
	 * at once, with no client and no loop */
	if (errs->n == before) {
		memset(&env, 0, sizeof env);
		env.account = a;
		env.secret = secret;
		if ((conn = def->new(&env, &err)) != NULL)
			def->free(conn);
		else {
			conf_errors_add(errs, conf->path, a->line,
			    "account \"%s\": %s", a->name, err);
			free(err);
		}
	}
	secret_free(secret);
	return errs->n - before;
}

/* ---- the job, as connectors see it -------------------------------------- */

int
poll_job_stream(const struct poll_job *j)
{
	return j->s->index;
}

const char *
poll_job_cursor(const struct poll_job *j)
{
	return j->s->cursor;
}

int64_t
poll_job_backfill_since(const struct poll_job *j)
{
	return j->backfill_since;
}

int64_t
poll_job_now(const struct poll_job *j)
{
	return j->now_ms;
}

void
poll_job_set_data(struct poll_job *j, void *data)
{
	j->data = data;
}

void *
poll_job_data(const struct poll_job *j)
{
	return j->data;
}

static int
check_string(const char *name, const char *v, size_t max, int required,
    char **errstr)
{
	size_t len;

	if (v == NULL) {
		if (required)
			xasprintf(errstr, "message: %s is missing", name);
		return required ? -1 : 0;
	}
	len = strlen(v);
	if (required && len == 0) {
		xasprintf(errstr, "message: %s is empty", name);
		return -1;
	}
	if (len > max) {
		xasprintf(errstr, "message: %s is %zu bytes long, more than "
		    "%zu", name, len, max);
		return -1;
	}
	if (u8_check((const uint8_t *)v, len) != NULL) {
		xasprintf(errstr, "message: %s is not valid UTF-8", name);
		return -1;
	}
	return 0;
}

static int
check_msg(const struct poll_job *j, const struct msg *m, char **errstr)
{
	if (check_string("platform", m->platform, MSG_MAX_NAME, 1, errstr) ||
	    check_string("id", m->id, MSG_MAX_ID, 1, errstr) ||
	    check_string("conversation", m->conversation, MSG_MAX_ID, 1,
	    errstr) ||
	    check_string("author", m->author, MSG_MAX_ID, 0, errstr) ||
	    check_string("in_reply_to", m->in_reply_to, MSG_MAX_ID, 0,
	    errstr) ||
	    check_string("text", m->text, MSG_MAX_TEXT, 0, errstr) ||
	    check_string("url", m->url, MSG_MAX_URL, 0, errstr))
		return -1;
	if (m->created_ms < MIN_TIME_MS ||
	    m->created_ms > j->now_ms + FUTURE_SLACK_MS) {
		char when[TIMEFMT_RFC3339_LEN];

		timefmt_format_rfc3339(m->created_ms < 0 ? 0 : m->created_ms,
		    when, sizeof when);
		xasprintf(errstr, "message %s: created_at %s is not plausible",
		    m->id, when);
		return -1;
	}
	return 0;
}

int
poll_job_add(struct poll_job *j, struct msg *m, char **errstr)
{
	struct account_rt *a = j->s->acc;

	if (a->def->platform != NULL) {
		free(m->platform);
		m->platform = xstrdup(a->def->platform);
	}
	if (m->account == NULL || strcmp(m->account, a->conf->name) != 0) {
		free(m->account);
		m->account = xstrdup(a->conf->name);
	}
	if (check_msg(j, m, errstr) == -1) {
		j->spoiled = 1;
		free(j->error);
		j->error = xstrdup(*errstr);
		msg_clear(m);
		return -1;
	}
	if (j->n == j->cap) {
		j->cap = j->cap ? j->cap * 2 : 64;
		j->msgs = xreallocarray(j->msgs, j->cap, sizeof *j->msgs);
	}
	j->msgs[j->n++] = *m;
	memset(m, 0, sizeof *m);
	return 0;
}

void
poll_job_discard(struct poll_job *j)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		msg_clear(&j->msgs[i]);
	j->n = 0;
}

char *
poll_job_conversation_of(struct poll_job *j, const char *msg_id)
{
	struct account_rt *a = j->s->acc;
	char *err = NULL, *conv;
	size_t i;

	for (i = j->n; i-- > 0;) {
		if (strcmp(j->msgs[i].id, msg_id) == 0)
			return xstrdup(j->msgs[i].conversation);
	}
	conv = store_conversation_of(a->p->store, a->platform, a->conf->name,
	    msg_id, &err);
	if (err != NULL) {
		log_warn("account %s: %s", a->conf->name, err);
		free(err);
	}
	return conv;
}

static void
stream_state(const struct stream_rt *s, struct store_stream *ss)
{
	memset(ss, 0, sizeof *ss);
	ss->platform = s->acc->platform;
	ss->account = s->acc->conf->name;
	ss->stream = s->name;
	ss->connector = s->acc->def->name;
	ss->cursor = s->cursor;
	ss->last_poll_ms = s->last_poll_ms;
	ss->last_ok_ms = s->last_ok_ms;
	ss->last_error_ms = s->last_error_ms;
	ss->last_error = s->last_error;
	ss->failures = s->failures;
	ss->fetched = s->fetched;
	ss->rl_limit = s->rl.limit;
	ss->rl_remaining = s->rl.remaining;
	ss->rl_reset_ms = s->rl.reset_ms;
	ss->next_poll_ms = s->next_poll_ms;
	ss->backoff_until_ms = s->backoff_until_ms;
}

/* Inbound messages the platform did not flag are classified as they are
 * stored. A classifier that cannot be made (a bad model file) is logged
 * and its messages stored unclassified. */
static void
classify_job(struct poll_job *j)
{
	struct account_rt *a = j->s->acc;
	struct classify *c = NULL;
	char *err = NULL;
	size_t i;

	for (i = 0; i < j->n; i++) {
		struct msg *m = &j->msgs[i];

		if (m->direction != MSG_INBOUND ||
		    m->complaint != MSG_COMPLAINT_UNKNOWN || m->text == NULL)
			continue;
		if (c == NULL && (c = classify_set_get(a->p->classify,
		    a->conf->name, &err)) == NULL) {
			log_err("account %s: complaint classifier: %s",
			    a->conf->name, err);
			free(err);
			return;
		}
		classify_msg(c, m);
	}
}

/* Store what was handed over, with the cursor, in one transaction. */
static int
commit(struct poll_job *j, const char *cursor, char **errstr)
{
	struct stream_rt *s = j->s;
	struct poller *p = s->acc->p;
	struct store_stream ss;
	size_t i, added = 0;
	char *old, *isnew;
	int new;

	if (j->spoiled) {
		xasprintf(errstr, "%s", j->error);
		return -1;
	}
	if (store_begin(p->store, errstr) == -1)
		return -1;
	isnew = xcalloc(j->n ? j->n : 1, 1);
	classify_job(j);
	for (i = 0; i < j->n; i++) {
		if (store_put_message(p->store, &j->msgs[i], &new,
		    errstr) == -1)
			goto fail;
		isnew[i] = (char)new;
		added += new;
	}
	old = s->cursor;
	if (cursor != NULL)
		s->cursor = xstrdup(cursor);
	s->fetched += (int64_t)added;
	stream_state(s, &ss);
	if (store_stream_save(p->store, &ss, errstr) == -1 ||
	    store_commit(p->store, errstr) == -1) {
		if (cursor != NULL) {
			free(s->cursor);
			s->cursor = old;
		}
		s->fetched -= (int64_t)added;
		goto fail;
	}
	if (cursor != NULL)
		free(old);
	/* tell what is new, now that it is stored */
	for (i = 0; i < j->n; i++) {
		if (isnew[i] && p->hooks.message != NULL)
			p->hooks.message(&j->msgs[i], p->hooks.arg);
	}
	free(isnew);
	j->added += added;
	poll_job_discard(j);
	return 0;
fail:
	free(isnew);
	store_rollback(p->store);
	return -1;
}

int
poll_job_commit(struct poll_job *j, const char *cursor, char **errstr)
{
	if (commit(j, cursor, errstr) == -1) {
		j->spoiled = 1;
		if (j->error == NULL)
			j->error = xstrdup(*errstr);
		return -1;
	}
	return 0;
}

/* ---- ending a poll ------------------------------------------------------ */

static const char *
status_name(enum poll_status st)
{
	switch (st) {
	case POLL_OK: return "ok";
	case POLL_RETRY: return "temporary failure";
	case POLL_RATE_LIMITED: return "rate limited";
	case POLL_AUTH: return "authentication failed";
	case POLL_BAD_DATA: return "bad data";
	case POLL_CANCELLED: return "cancelled";
	}
	return "?";
}

/* The delay before the next poll after an outcome. */
static int64_t
next_delay(struct stream_rt *s, const struct poll_result *r, int64_t now)
{
	struct poller *p = s->acc->p;
	int64_t interval = s->acc->conf->poll_interval_ms, d, cap;
	int shift;

	switch (r->status) {
	case POLL_OK:
		/* the interval, 10 % either way */
		d = rng_between(p, interval - interval / 10,
		    interval + interval / 10);
		break;
	case POLL_RATE_LIMITED:
		d = r->retry_at_ms > now ? r->retry_at_ms - now :
		    s->rl.reset_ms > now ? s->rl.reset_ms - now : interval;
		d += rng_between(p, 0, 1000);
		break;
	case POLL_AUTH:
		d = interval > AUTH_RETRY_MS ? interval : AUTH_RETRY_MS;
		break;
	default:
		/* exponential from the interval, capped, "equal jitter" */
		cap = interval > BACKOFF_CAP_MS ? interval : BACKOFF_CAP_MS;
		shift = s->failures > 16 ? 15 : (int)s->failures - 1;
		d = interval;
		while (shift-- > 0 && d < cap)
			d *= 2;
		if (d > cap)
			d = cap;
		d = rng_between(p, d / 2, d);
		break;
	}
	/* the platform said when: not before that */
	if (r->retry_at_ms > now + d)
		d = r->retry_at_ms - now;
	return d;
}

static void
job_free(struct poll_job *j)
{
	poll_job_discard(j);
	free(j->msgs);
	free(j->error);
	free(j);
}

static void
note_failure(struct stream_rt *s, const struct poll_result *r, int64_t now)
{
	const char *why = r->error != NULL ? r->error : status_name(r->status);

	s->failures++;
	s->last_error_ms = now;
	free(s->last_error);
	s->last_error = xstrdup(why);
	if (r->status == POLL_AUTH || s->failures == 1 ||
	    (s->failures & (s->failures - 1)) == 0)
		log_warn("account %s: %s: %s: %s", s->acc->conf->name,
		    s->name, status_name(r->status), why);
	else
		log_info("account %s: %s: %s (failure %lld in a row): %s",
		    s->acc->conf->name, s->name, status_name(r->status),
		    (long long)s->failures, why);
}

void
poll_job_done(struct poll_job *j, const struct poll_result *res)
{
	struct stream_rt *s = j->s;
	struct poller *p = s->acc->p;
	struct poll_result r = *res;
	struct store_stream ss;
	char *err = NULL, *old_error = NULL;
	int64_t now = timefmt_now(), delay = -1, old_failures = 0;
	int ok, saved = 0;

	s->job = NULL;
	if (r.rl.limit >= 0 || r.rl.remaining >= 0 || r.rl.reset_ms >= 0)
		s->rl = r.rl;
	if (r.status == POLL_OK) {
		/* the state after a success is stored in the poll's own
		 * transaction: one commit per poll, not two */
		struct stream_rt before = *s;

		delay = next_delay(s, &r, now);
		old_failures = s->failures;
		old_error = s->last_error;
		s->last_poll_ms = s->last_ok_ms = now;
		s->failures = 0;
		s->last_error = NULL;
		s->next_poll_ms = now + delay;
		s->backoff_until_ms = -1;
		if (commit(j, r.cursor, &err) == -1) {
			s->last_poll_ms = before.last_poll_ms;
			s->last_ok_ms = before.last_ok_ms;
			s->failures = before.failures;
			s->last_error = before.last_error;
			s->next_poll_ms = before.next_poll_ms;
			s->backoff_until_ms = before.backoff_until_ms;
			old_error = NULL;
			delay = -1;
			r.status = j->spoiled ? POLL_BAD_DATA : POLL_RETRY;
			r.error = err;
		} else
			saved = 1;
	}
	if (r.status == POLL_CANCELLED) {
		job_free(j);
		if (s->acc->retiring)
			account_retired(s->acc);
		else if (p->stopping)
			maybe_stopped(p);
		return;
	}
	s->last_poll_ms = now;
	ok = r.status == POLL_OK;
	if (ok)
		s->polls_ok++;
	else
		s->polls_failed++;
	if (r.status == POLL_RATE_LIMITED || (r.retry_at_ms > now && ok))
		s->rate_limited++;
	if (ok) {
		if (old_failures > 0)
			log_notice("account %s: %s: polling works again after "
			    "%lld failures", s->acc->conf->name, s->name,
			    (long long)old_failures);
		free(old_error);
		log_debug("account %s: %s: %zu new messages",
		    s->acc->conf->name, s->name, j->added);
	} else
		note_failure(s, &r, now);
	if (!saved) {
		delay = next_delay(s, &r, now);
		s->next_poll_ms = now + delay;
		s->backoff_until_ms = ok ? -1 : now + delay;
	}
	free(err);
	err = NULL;
	if (!saved) {
		stream_state(s, &ss);
		if (store_stream_save(p->store, &ss, &err) == -1) {
			log_err("account %s: %s", s->acc->conf->name, err);
			free(err);
		}
	}
	job_free(j);
	if (p->hooks.polled != NULL) {
		struct poller_poll pp;

		pp.account = s->acc->conf->name;
		pp.stream = s->name;
		pp.ok = ok;
		pp.auth = r.status == POLL_AUTH;
		pp.failures = s->failures;
		pp.last_ok_ms = s->last_ok_ms;
		pp.error = ok ? NULL : s->last_error;
		p->hooks.polled(&pp, p->hooks.arg);
	}
	if (s->acc->retiring)
		account_retired(s->acc);
	else if (!p->stopping)
		stream_schedule(s, delay);
	else
		maybe_stopped(p);
}

/* ---- timers -------------------------------------------------------------- */

/* Where a stream without a cursor starts: the backfill window, or, if it
 * polled successfully before and found nothing to make a cursor of, from
 * a little before that poll, so that what came since is not missed. */
static int64_t
backfill_since(const struct stream_rt *s, int64_t now)
{
	int64_t since = now - s->acc->conf->backfill_ms;

	if (s->last_ok_ms >= 0 && s->last_ok_ms - POLL_OVERLAP_MS < since)
		since = s->last_ok_ms - POLL_OVERLAP_MS;
	return since;
}

static void
on_poll_timer(uv_timer_t *t)
{
	struct stream_rt *s = t->data;
	struct account_rt *a = s->acc;
	struct poll_job *j;

	if (a->p->stopping || a->retiring || s->job != NULL)
		return;
	j = xcalloc(1, sizeof *j);
	j->s = s;
	j->now_ms = timefmt_now();
	j->backfill_since = s->cursor == NULL ?
	    backfill_since(s, j->now_ms) : -1;
	s->job = j;
	log_debug("account %s: polling %s", a->conf->name, s->name);
	a->def->poll(a->conn, j);
}

static void
stream_schedule(struct stream_rt *s, int64_t delay_ms)
{
	if (delay_ms < 0)
		delay_ms = 0;
	uv_timer_start(&s->timer, on_poll_timer, (uint64_t)delay_ms, 0);
}


/* ---- accounts: set up, started, retired ------------------------------------ */

static void
load_stream(const struct store_stream *ss, void *arg)
{
	struct account_rt *a = arg;
	size_t i;

	for (i = 0; i < a->nstreams; i++) {
		struct stream_rt *s = &a->streams[i];

		if (strcmp(ss->stream, s->name) != 0 ||
		    strcmp(ss->platform, a->platform) != 0)
			continue;
		/* another connector's cursor means nothing to this one */
		if (ss->connector == NULL ||
		    strcmp(ss->connector, a->def->name) != 0)
			continue;
		free(s->cursor);
		free(s->last_error);
		s->cursor = xstrdup_or_null(ss->cursor);
		s->last_poll_ms = ss->last_poll_ms;
		s->last_ok_ms = ss->last_ok_ms;
		s->last_error_ms = ss->last_error_ms;
		s->last_error = xstrdup_or_null(ss->last_error);
		s->failures = ss->failures;
		s->fetched = ss->fetched;
		s->rl.limit = ss->rl_limit;
		s->rl.remaining = ss->rl_remaining;
		s->rl.reset_ms = ss->rl_reset_ms;
		s->next_poll_ms = ss->next_poll_ms;
		s->backoff_until_ms = ss->backoff_until_ms;
	}
}

static void
account_free(struct account_rt *a)
{
	size_t k;

	if (a == NULL)
		return;
	if (a->conn != NULL)
		a->def->free(a->conn);
	for (k = 0; k < a->nstreams; k++) {
		free(a->streams[k].cursor);
		free(a->streams[k].last_error);
	}
	free(a->streams);
	secret_free(a->secret);
	free(a);
}

/* The account's connector and streams, without timers: nothing runs yet,
 * so it can still be thrown away with account_free. */
static struct account_rt *
account_new(struct poller *p, const struct conf_account *ca, char **errstr)
{
	struct connector_env env;
	struct account_rt *a;
	const char *file;
	size_t i, n;

	a = xcalloc(1, sizeof *a);
	a->p = p;
	a->conf = ca;
	if ((a->def = connector_find(ca->connector != NULL ? ca->connector :
	    "")) == NULL) {
		xasprintf(errstr, "unknown connector");
		free(a);
		return NULL;
	}
	a->platform = a->def->platform != NULL ? a->def->platform :
	    a->def->name;
	file = ca->token_file != NULL ? ca->token_file : ca->password_file;
	if (a->def->needs_secret &&
	    (a->secret = secret_load(file, errstr)) == NULL) {
		account_free(a);
		return NULL;
	}
	memset(&env, 0, sizeof env);
	env.account = ca;
	env.secret = a->secret;
	env.http = p->http;
	env.loop = p->loop;
	env.state_dir = p->state_dir;
	if ((a->conn = a->def->new(&env, errstr)) == NULL) {
		account_free(a);
		return NULL;
	}
	for (n = 0; a->def->streams[n] != NULL; n++)
		;
	a->streams = xcalloc(n ? n : 1, sizeof *a->streams);
	a->nstreams = n;
	for (i = 0; i < n; i++) {
		struct stream_rt *s = &a->streams[i];

		s->acc = a;
		s->index = (int)i;
		s->name = a->def->streams[i];
		s->rl.limit = s->rl.remaining = s->rl.reset_ms = -1;
		s->last_poll_ms = s->last_ok_ms = s->last_error_ms = -1;
		s->next_poll_ms = s->backoff_until_ms = -1;
	}
	return a;
}

/* Timers, the stored state of the streams, and (when delay >= 0) the
 * first poll of each stream after a random delay of at most delay. A
 * stored backoff is kept, unless the account's connector settings or
 * secret changed (renewed): then it belonged to the old ones. */
static void
account_start(struct account_rt *a, int64_t delay, int renewed)
{
	struct poller *p = a->p;
	char *err = NULL;
	int64_t now = timefmt_now(), d;
	size_t k;

	for (k = 0; k < a->nstreams; k++) {
		uv_timer_init(p->loop, &a->streams[k].timer);
		a->streams[k].timer.data = &a->streams[k];
		a->open_timers++;
	}
	if (p->store != NULL && store_each_stream(p->store, a->conf->name,
	    load_stream, a, &err) == -1) {
		log_err("account %s: %s", a->conf->name, err);
		free(err);
	}
	if (delay < 0)
		return;
	for (k = 0; k < a->nstreams; k++) {
		struct stream_rt *s = &a->streams[k];

		d = rng_between(p, 0, delay);
		/* a backoff or rate limit outlives a restart */
		if (renewed)
			s->backoff_until_ms = -1;
		else if (s->backoff_until_ms > now + d)
			d = s->backoff_until_ms - now;
		stream_schedule(s, d);
	}
}

static void
on_timer_closed(uv_handle_t *h)
{
	struct stream_rt *s = h->data;
	struct account_rt *a = s->acc;

	a->open_timers--;
	if (a->retiring)
		account_retired(a);
	else
		maybe_stopped(a->p);
}

/* Stop an account's timers and cancel its polls. */
static void
account_close(struct account_rt *a)
{
	size_t k;

	for (k = 0; k < a->nstreams; k++) {
		struct stream_rt *s = &a->streams[k];

		uv_timer_stop(&s->timer);
		if (s->job != NULL)
			a->def->cancel(a->conn, s->job);
	}
	for (k = 0; k < a->nstreams; k++) {
		if (!uv_is_closing((uv_handle_t *)&a->streams[k].timer))
			uv_close((uv_handle_t *)&a->streams[k].timer,
			    on_timer_closed);
	}
}

static size_t
account_running(const struct account_rt *a)
{
	size_t k, n = 0;

	for (k = 0; k < a->nstreams; k++)
		n += a->streams[k].job != NULL;
	return n;
}

/* A retiring account is freed once its timers are closed and its polls
 * have ended. */
static void
account_retired(struct account_rt *a)
{
	struct poller *p = a->p;
	struct account_rt **pp;

	if (a->open_timers > 0 || account_running(a) > 0)
		return;
	for (pp = &p->retiring; *pp != NULL; pp = &(*pp)->next_retiring) {
		if (*pp == a) {
			*pp = a->next_retiring;
			break;
		}
	}
	log_info("account %s: removed", a->conf->name);
	account_free(a);
	if (p->stopping)
		maybe_stopped(p);
}

static void
account_retire(struct account_rt *a)
{
	struct poller *p = a->p;

	a->retiring = 1;
	a->next_retiring = p->retiring;
	p->retiring = a;
	account_close(a);
}

/* ---- the poller --------------------------------------------------------- */

/* Every account of conf, or none: on failure *errstr lists each problem as
 * "file:line: account "NAME": why", one per line. */
static struct account_rt **
accounts_new(struct poller *p, const struct conf *conf,
    struct account_rt **const reuse, char **errstr)
{
	struct account_rt **v;
	size_t i;
	char *err = NULL, *all;

	v = xcalloc(conf->naccounts ? conf->naccounts : 1, sizeof *v);
	for (i = 0; i < conf->naccounts; i++) {
		const struct conf_account *ca = &conf->accounts[i];

		if (reuse != NULL && reuse[i] != NULL)
			continue;
		if ((v[i] = account_new(p, ca, &err)) != NULL)
			continue;
		xasprintf(&all, "%s%s%s:%d: account \"%s\": %s",
		    *errstr != NULL ? *errstr : "", *errstr != NULL ? "\n" : "",
		    conf->path, ca->line, ca->name, err);
		free(*errstr);
		*errstr = all;
		free(err);
		err = NULL;
	}
	if (*errstr == NULL)
		return v;
	for (i = 0; i < conf->naccounts; i++)
		account_free(v[i]);
	free(v);
	return NULL;
}

struct poller *
poller_new(uv_loop_t *loop, const struct conf *conf, struct store *store,
    struct http *http, const struct poller_hooks *hooks, char **errstr)
{
	struct poller *p;
	size_t i;

	p = xcalloc(1, sizeof *p);
	p->loop = loop;
	p->conf = conf;
	p->store = store;
	p->http = http;
	if (hooks != NULL)
		p->hooks = *hooks;
	p->rng = uv_hrtime() | 1;
	p->classify = classify_set_new(conf);
	p->state_dir = conf_state_dir(conf);
	if ((p->accounts = accounts_new(p, conf, NULL, errstr)) == NULL) {
		p->accounts = xcalloc(1, sizeof *p->accounts);
		return p;	/* the caller stops and frees it */
	}
	p->naccounts = conf->naccounts;
	for (i = 0; i < p->naccounts; i++)
		account_start(p->accounts[i], -1, 0);
	return p;
}

void
poller_start(struct poller *p, int64_t first_delay_ms)
{
	int64_t now = timefmt_now(), d;
	size_t i, k;

	for (i = 0; i < p->naccounts; i++) {
		struct account_rt *a = p->accounts[i];

		for (k = 0; k < a->nstreams; k++) {
			struct stream_rt *s = &a->streams[k];

			d = rng_between(p, 0, first_delay_ms);
			if (s->backoff_until_ms > now + d)
				d = s->backoff_until_ms - now;
			stream_schedule(s, d);
		}
	}
}

/* The settings that make an account another one: its connector must be
 * set up again. Everything else (poll_interval, policy) applies as is. */
static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
same_account(const struct account_rt *a, const struct conf_account *ca)
{
	const struct conf_account *o = a->conf;
	const char *file;
	char *secret, *err = NULL;
	int same;

	if (!same_str(o->connector, ca->connector) ||
	    !same_str(o->url, ca->url) ||
	    !same_str(o->token_file, ca->token_file) ||
	    !same_str(o->password_file, ca->password_file) ||
	    !same_str(o->command, ca->command) ||
	    o->command_timeout_ms != ca->command_timeout_ms ||
	    !same_str(o->handle, ca->handle) ||
	    !same_str(o->chat_proxy, ca->chat_proxy) ||
	    !same_str(o->ca_file, ca->ca_file) ||
	    !same_str(o->platform_id, ca->platform_id) ||
	    !same_str(o->page_id, ca->page_id) ||
	    !same_str(o->api_version, ca->api_version) ||
	    !same_str(o->client_id, ca->client_id) ||
	    !same_str(o->client_secret_file, ca->client_secret_file) ||
	    !same_str(o->refresh_token_file, ca->refresh_token_file) ||
	    o->backfill_ms != ca->backfill_ms)
		return 0;
	if (!a->def->needs_secret)
		return 1;
	/* a new token in the same file is a new account too */
	file = ca->token_file != NULL ? ca->token_file : ca->password_file;
	if ((secret = secret_load(file, &err)) == NULL) {
		free(err);
		return 0;
	}
	same = a->secret != NULL && strcmp(secret, a->secret) == 0;
	secret_free(secret);
	return same;
}

int
poller_reload(struct poller *p, const struct conf *conf, char **errstr)
{
	struct account_rt **keep, **fresh, *a;
	size_t i, k, added = 0, changed = 0, kept = 0, removed = 0;
	int *used, *renewed;

	keep = xcalloc(conf->naccounts ? conf->naccounts : 1, sizeof *keep);
	used = xcalloc(p->naccounts ? p->naccounts : 1, sizeof *used);
	renewed = xcalloc(conf->naccounts ? conf->naccounts : 1,
	    sizeof *renewed);
	for (i = 0; i < conf->naccounts; i++) {
		for (k = 0; k < p->naccounts; k++) {
			a = p->accounts[k];
			if (strcmp(a->conf->name, conf->accounts[i].name) != 0)
				continue;
			used[k] = renewed[i] = 1;
			if (same_account(a, &conf->accounts[i]))
				keep[i] = a;
			break;
		}
	}
	/* set up what is new before anything changes: all or nothing */
	if ((fresh = accounts_new(p, conf, keep, errstr)) == NULL) {
		free(keep);
		free(used);
		free(renewed);
		return -1;
	}
	for (k = 0; k < p->naccounts; k++) {
		a = p->accounts[k];
		for (i = 0; i < conf->naccounts && keep[i] != a; i++)
			;
		if (i < conf->naccounts)
			continue;
		if (used[k])
			changed++;
		else
			removed++;
		account_retire(a);
	}
	for (i = 0; i < conf->naccounts; i++) {
		if (keep[i] != NULL) {
			/* the same account: new settings from the next poll */
			keep[i]->conf = &conf->accounts[i];
			fresh[i] = keep[i];
			kept++;
			continue;
		}
		account_start(fresh[i], 1000, renewed[i]);
		added++;
	}
	added -= changed;
	free(p->accounts);
	p->accounts = fresh;
	p->naccounts = conf->naccounts;
	p->conf = conf;
	/* complaint settings may have changed: new classifiers */
	classify_set_free(p->classify);
	p->classify = classify_set_new(conf);
	log_notice("reload: %zu accounts kept, %zu added, %zu changed, %zu "
	    "removed", kept, added, changed, removed);
	free(keep);
	free(used);
	free(renewed);
	return 0;
}

/* Stopped: every timer closed and every cancelled poll ended (a
 * connector may need loop turns to end one, e.g. to reap a process). */
static void
maybe_stopped(struct poller *p)
{
	size_t i;

	if (p->stopped_told || !p->stopping || p->retiring != NULL)
		return;
	for (i = 0; i < p->naccounts; i++) {
		if (p->accounts[i]->open_timers > 0 ||
		    account_running(p->accounts[i]) > 0)
			return;
	}
	p->stopped_told = 1;
	if (p->stopped != NULL)
		p->stopped(p->stopped_arg);
}

void
poller_stop(struct poller *p, void (*done)(void *), void *arg)
{
	size_t i;

	p->stopping = 1;
	p->stopped = done;
	p->stopped_arg = arg;
	for (i = 0; i < p->naccounts; i++)
		account_close(p->accounts[i]);
	maybe_stopped(p);
}

void
poller_free(struct poller *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->naccounts; i++)
		account_free(p->accounts[i]);
	free(p->accounts);
	classify_set_free(p->classify);
	free(p->state_dir);
	free(p);
}

void
poller_each_stream(const struct poller *p, poller_stream_fn *fn, void *arg)
{
	struct poller_stream_info si;
	size_t i, k;

	for (i = 0; i < p->naccounts; i++) {
		const struct account_rt *a = p->accounts[i];

		for (k = 0; k < a->nstreams; k++) {
			const struct stream_rt *s = &a->streams[k];

			memset(&si, 0, sizeof si);
			si.account = a->conf->name;
			si.connector = a->def->name;
			si.stream = s->name;
			si.polls_ok = s->polls_ok;
			si.polls_failed = s->polls_failed;
			si.rate_limited = s->rate_limited;
			si.fetched = s->fetched;
			si.last_ok_ms = s->last_ok_ms;
			si.failing = s->failures > 0;
			si.rl.limit = s->rl.limit;
			si.rl.remaining = s->rl.remaining;
			si.rl.reset_ms = s->rl.reset_ms;
			fn(&si, arg);
		}
	}
}

size_t
poller_naccounts(const struct poller *p)
{
	return p->naccounts;
}

size_t
poller_nfailing(const struct poller *p)
{
	size_t i, k, n = 0;

	for (i = 0; i < p->naccounts; i++) {
		for (k = 0; k < p->accounts[i]->nstreams; k++)
			n += p->accounts[i]->streams[k].failures > 0;
	}
	return n;
}

size_t
poller_nrunning(const struct poller *p)
{
	size_t i, n = 0;

	for (i = 0; i < p->naccounts; i++)
		n += account_running(p->accounts[i]);
	return n;
}

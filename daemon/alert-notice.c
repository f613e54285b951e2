/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alert-notice.h"
#include "store.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * The words of a notification. Overdue alerts are told from their details
 * (what the wait was: kind, author, when it opened, its target) and the
 * time of sending, so that "waiting 42 min" is true when it is sent; the
 * other rules carry their one-line summary, written when they fired.
 */

/* The text lists this many alerts of a group; the JSON all of them. */
#define NOTICE_TEXT_MAX	25

void
notice_duration(int64_t ms, char buf[NOTICE_DURATION_LEN])
{
	int64_t s = ms < 0 ? 0 : ms / 1000, m = s / 60, h = m / 60, d = h / 24;

	if (s < 60)
		snprintf(buf, NOTICE_DURATION_LEN, "%lld s", (long long)s);
	else if (m < 60)
		snprintf(buf, NOTICE_DURATION_LEN, "%lld min", (long long)m);
	else if (h < 24 && m % 60 == 0)
		snprintf(buf, NOTICE_DURATION_LEN, "%lld h", (long long)h);
	else if (h < 24)
		snprintf(buf, NOTICE_DURATION_LEN, "%lld h %lld min",
		    (long long)h, (long long)(m % 60));
	else if (h % 24 == 0)
		snprintf(buf, NOTICE_DURATION_LEN, "%lld d", (long long)d);
	else
		snprintf(buf, NOTICE_DURATION_LEN, "%lld d %lld h",
		    (long long)d, (long long)(h % 24));
}

/* ---- reading the details ---------------------------------------------- */

struct facts {			/* of one alert, from its details */
	cJSON		*root;
	const char	*kind;		/* overdue: "direct", "broadcast" */
	const char	*author, *url, *excerpt, *conversation, *message_id;
	int64_t		 opened_ms, deadline_ms, replied_ms;
	int64_t		 target_ms;
	int		 complaint, gone;
};

static const char *
jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t
jtime(const cJSON *o, const char *name)
{
	const char *s = jstr(o, name);
	int64_t ms;

	if (s == NULL || timefmt_parse_rfc3339(s, &ms) == -1)
		return -1;
	return ms;
}

static void
facts_read(const struct store_alert *a, struct facts *f)
{
	const cJSON *v;

	memset(f, 0, sizeof *f);
	f->opened_ms = f->deadline_ms = f->replied_ms = f->target_ms = -1;
	if (a->details == NULL ||
	    (f->root = cJSON_Parse(a->details)) == NULL)
		return;
	f->kind = jstr(f->root, "kind");
	f->author = jstr(f->root, "author");
	f->url = jstr(f->root, "url");
	f->excerpt = jstr(f->root, "excerpt");
	f->conversation = jstr(f->root, "conversation");
	f->message_id = jstr(f->root, "message_id");
	f->opened_ms = jtime(f->root, "opened_at");
	f->deadline_ms = jtime(f->root, "deadline");
	f->replied_ms = jtime(f->root, "replied_at");
	v = cJSON_GetObjectItemCaseSensitive(f->root, "target_seconds");
	if (cJSON_IsNumber(v))
		f->target_ms = (int64_t)(v->valuedouble * 1000);
	f->complaint = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f->root,
	    "complaint"));
	f->gone = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f->root,
	    "gone"));
}

static void
facts_clear(struct facts *f)
{
	cJSON_Delete(f->root);
}

/* ---- the subject ---------------------------------------------------------- */

static int
is_warning(const struct store_alert *a)
{
	return a->severity != NULL && strcmp(a->severity, "warning") == 0;
}

/* "direct reply" or "broadcast reply to a complaint" */
static void
reply_words(const struct facts *f, char *buf, size_t len)
{
	snprintf(buf, len, "%s reply%s", f->kind != NULL ? f->kind : "a",
	    f->complaint ? " to a complaint" : "");
}

static char *
subject_overdue(const char *event, const struct store_alert *const *alerts,
    size_t n, int64_t now)
{
	struct facts f;
	char words[64], d1[NOTICE_DURATION_LEN], d2[NOTICE_DURATION_LEN];
	char *s;
	int64_t oldest = -1;
	size_t i;

	if (n > 1) {
		for (i = 0; i < n; i++) {
			facts_read(alerts[i], &f);
			if (f.opened_ms >= 0 &&
			    (oldest < 0 || f.opened_ms < oldest))
				oldest = f.opened_ms;
			facts_clear(&f);
		}
		notice_duration(now - oldest, d1);
		if (strcmp(event, "resolved") == 0)
			xasprintf(&s, "[replywatch] resolved: %zu overdue "
			    "replies for %s", n, alerts[0]->account);
		else
			xasprintf(&s, "[replywatch] %s: %zu replies for %s, "
			    "oldest waiting %s", strcmp(event, "repeat") == 0 ?
			    "still overdue" : is_warning(alerts[0]) ?
			    "due soon" : "overdue", n, alerts[0]->account,
			    oldest >= 0 ? d1 : "?");
		return s;
	}
	facts_read(alerts[0], &f);
	reply_words(&f, words, sizeof words);
	if (strcmp(event, "resolved") == 0) {
		notice_duration((f.replied_ms >= 0 ? f.replied_ms :
		    alerts[0]->resolved_ms) - f.opened_ms, d1);
		if (f.replied_ms >= 0)
			xasprintf(&s, "[replywatch] resolved: %s %s for %s, "
			    "answered after %s", is_warning(alerts[0]) ?
			    "late" : "overdue", words, alerts[0]->account, d1);
		else
			xasprintf(&s, "[replywatch] resolved: %s %s for %s, "
			    "no longer waiting", is_warning(alerts[0]) ?
			    "late" : "overdue", words, alerts[0]->account);
	} else if (is_warning(alerts[0])) {
		notice_duration(now - f.opened_ms, d1);
		notice_duration(f.target_ms, d2);
		xasprintf(&s, "[replywatch] due soon: %s for %s, waiting %s "
		    "of %s", words, alerts[0]->account, d1, d2);
	} else {
		notice_duration(now - f.opened_ms, d1);
		xasprintf(&s, "[replywatch] %s: %s for %s, waiting %s",
		    strcmp(event, "repeat") == 0 ? "still overdue" : "overdue",
		    words, alerts[0]->account, d1);
	}
	facts_clear(&f);
	return s;
}

static char *
subject_of(const char *event, const struct store_alert *const *alerts,
    size_t n, int64_t now)
{
	char *s;

	if (strcmp(alerts[0]->rule, "overdue") == 0)
		return subject_overdue(event, alerts, n, now);
	if (n > 1)
		xasprintf(&s, "[replywatch] %s%s: %zu alerts for %s",
		    strcmp(event, "resolved") == 0 ? "resolved: " :
		    strcmp(event, "repeat") == 0 ? "still firing: " : "",
		    alerts[0]->rule, n, alerts[0]->account);
	else
		xasprintf(&s, "[replywatch] %s%s",
		    strcmp(event, "resolved") == 0 ? "resolved: " :
		    strcmp(event, "repeat") == 0 ? "still firing: " : "",
		    alerts[0]->summary);
	return s;
}

/* ---- the text ------------------------------------------------------------- */

static void
text_overdue(FILE *fp, const char *event, const struct store_alert *a,
    int64_t now)
{
	struct facts f;
	char words[64], d1[NOTICE_DURATION_LEN], d2[NOTICE_DURATION_LEN];
	char t1[40], t2[40];

	facts_read(a, &f);
	reply_words(&f, words, sizeof words);
	words[0] = (char)(words[0] >= 'a' && words[0] <= 'z' ?
	    words[0] - 'a' + 'A' : words[0]);
	notice_duration(f.target_ms, d2);
	if (strcmp(event, "resolved") == 0) {
		if (f.replied_ms >= 0) {
			notice_duration(f.replied_ms - f.opened_ms, d1);
			fprintf(fp, "* %s: answered after %s (target %s)\n",
			    words, d1, d2);
		} else
			fprintf(fp, "* %s: no longer waiting (the message "
			    "is gone or was reclassified)\n", words);
	} else {
		notice_duration(now - f.opened_ms, d1);
		fprintf(fp, "* %s %s: waiting %s (target %s)\n", words,
		    is_warning(a) ? "due soon" : "overdue", d1, d2);
	}
	if (f.author != NULL)
		fprintf(fp, "  From: %s\n", f.author);
	if (f.opened_ms >= 0 && f.deadline_ms >= 0) {
		timefmt_format_rfc3339(f.opened_ms, t1, sizeof t1);
		timefmt_format_rfc3339(f.deadline_ms, t2, sizeof t2);
		fprintf(fp, "  Opened: %s, deadline %s\n", t1, t2);
	}
	if (f.url != NULL)
		fprintf(fp, "  Message: %s\n", f.url);
	else if (f.message_id != NULL)
		fprintf(fp, "  Message id: %s\n", f.message_id);
	if (f.excerpt != NULL && *f.excerpt != '\0')
		fprintf(fp, "  \"%s\"\n", f.excerpt);
	facts_clear(&f);
}

/* A rule's summary, and what its details add for people. */
static void
text_other(FILE *fp, const struct store_alert *a)
{
	const cJSON *v;
	cJSON *o;

	fprintf(fp, "* %s\n", a->summary);
	if (strcmp(a->rule, "connector_down") != 0 || a->details == NULL ||
	    (o = cJSON_Parse(a->details)) == NULL)
		return;
	v = cJSON_GetObjectItemCaseSensitive(o, "held_overdue");
	if (cJSON_IsNumber(v) && v->valuedouble >= 1)
		fprintf(fp, "  %.0f overdue alert%s of this account held back "
		    "meanwhile: the replies may just not be seen; those still "
		    "open are told once it polls again\n", v->valuedouble,
		    v->valuedouble == 1 ? "" : "s");
	cJSON_Delete(o);
}

static char *
text_of(const char *event, const struct store_alert *const *alerts, size_t n,
    int64_t now)
{
	char t[40], *buf = NULL;
	size_t len = 0, i;
	FILE *fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return xstrdup("");
	fprintf(fp, "replywatch: %s %s, account %s, %zu alert%s\n\n",
	    alerts[0]->rule, event, alerts[0]->account, n, n == 1 ? "" : "s");
	for (i = 0; i < n && i < NOTICE_TEXT_MAX; i++) {
		if (strcmp(alerts[i]->rule, "overdue") == 0)
			text_overdue(fp, event, alerts[i], now);
		else
			text_other(fp, alerts[i]);
		timefmt_format_rfc3339(alerts[i]->fired_ms, t, sizeof t);
		fprintf(fp, "  Alert %lld, %s, firing since %s", (long long)
		    alerts[i]->id, alerts[i]->severity, t);
		if (alerts[i]->resolved_ms >= 0) {
			timefmt_format_rfc3339(alerts[i]->resolved_ms, t,
			    sizeof t);
			fprintf(fp, ", resolved %s", t);
		}
		fprintf(fp, "\n\n");
	}
	if (n > NOTICE_TEXT_MAX)
		fprintf(fp, "... and %zu more (replywatch alerts lists them)"
		    "\n\n", n - NOTICE_TEXT_MAX);
	if (strcmp(event, "resolved") != 0)
		fprintf(fp, "To silence these: replywatch silence add "
		    "--account %s --rule %s --for 2h --reason TEXT\n",
		    alerts[0]->account, alerts[0]->rule);
	fprintf(fp, "-- \nreplywatchd %s\n", PACKAGE_VERSION);
	fclose(fp);
	return buf;
}

/* ---- the JSON ------------------------------------------------------------- */

static void
add_time(cJSON *o, const char *name, int64_t ms)
{
	char t[40];

	if (ms < 0) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	timefmt_format_rfc3339(ms, t, sizeof t);
	cJSON_AddStringToObject(o, name, t);
}

static char *
json_of(const char *event, const char *key, const char *subject,
    const struct store_alert *const *alerts, size_t n, int64_t now)
{
	cJSON *root = cJSON_CreateObject(), *arr, *o, *d;
	char *s;
	size_t i;

	cJSON_AddNumberToObject(root, "version", NOTICE_VERSION);
	cJSON_AddStringToObject(root, "key", key);
	cJSON_AddStringToObject(root, "event", event);
	cJSON_AddStringToObject(root, "account", alerts[0]->account);
	cJSON_AddStringToObject(root, "rule", alerts[0]->rule);
	/* without "[replywatch] " */
	cJSON_AddStringToObject(root, "summary", subject + 13);
	add_time(root, "created_at", now);
	cJSON_AddStringToObject(root, "sender", "replywatchd " PACKAGE_VERSION);
	arr = cJSON_AddArrayToObject(root, "alerts");
	for (i = 0; i < n; i++) {
		const struct store_alert *a = alerts[i];

		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", (double)a->id);
		cJSON_AddStringToObject(o, "rule", a->rule);
		cJSON_AddStringToObject(o, "account", a->account);
		cJSON_AddStringToObject(o, "subject", a->subject);
		cJSON_AddStringToObject(o, "severity", a->severity);
		cJSON_AddStringToObject(o, "state", a->resolved_ms >= 0 ?
		    "resolved" : "firing");
		cJSON_AddStringToObject(o, "summary", a->summary);
		add_time(o, "fired_at", a->fired_ms);
		add_time(o, "resolved_at", a->resolved_ms);
		d = a->details != NULL ? cJSON_Parse(a->details) : NULL;
		if (d == NULL)
			d = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "details", d);
		cJSON_AddItemToArray(arr, o);
	}
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

int
notice_build(const char *event, const char *key,
    const struct store_alert *const *alerts, size_t n, int64_t now_ms,
    struct notice *out)
{
	char *json;

	memset(out, 0, sizeof *out);
	if (n == 0)
		return -1;
	out->subject = subject_of(event, alerts, n, now_ms);
	out->text = text_of(event, alerts, n, now_ms);
	json = json_of(event, key, out->subject, alerts, n, now_ms);
	/* cJSON's allocator is malloc, but keep ownership plain */
	out->json = xstrdup(json);
	cJSON_free(json);
	return 0;
}

void
notice_clear(struct notice *n)
{
	free(n->subject);
	free(n->text);
	free(n->json);
	memset(n, 0, sizeof *n);
}

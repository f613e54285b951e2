/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "classify.h"
#include "classify-msg.h"
#include "conf.h"
#include "msg.h"
#include "log.h"
#include "xmalloc.h"

int
classify_msg(struct classify *c, struct msg *m)
{
	struct classify_result r;
	cJSON *cues;
	char *json;
	size_t i;

	if (m->direction != MSG_INBOUND || m->text == NULL)
		return 0;
	classify_text(c, m->text, strlen(m->text), &r);
	m->scored = 1;
	m->complaint = r.complaint ? MSG_COMPLAINT_YES : MSG_COMPLAINT_NO;
	m->complaint_score = r.score;
	snprintf(m->lang, sizeof m->lang, "%s", classify_lang_name(r.lang));
	free(m->cues);
	m->cues = NULL;
	if (r.ncues == 0)
		return 1;
	if ((cues = cJSON_CreateArray()) == NULL)
		fatal("out of memory");
	for (i = 0; i < r.ncues; i++)
		cJSON_AddItemToArray(cues, cJSON_CreateString(r.cues[i]));
	if ((json = cJSON_PrintUnformatted(cues)) == NULL)
		fatal("out of memory");
	m->cues = xstrdup(json);
	cJSON_free(json);
	cJSON_Delete(cues);
	return 1;
}

/* ---- one classifier per account ------------------------------------------ */

struct classify_set {
	const struct conf *conf;
	struct {
		char		*account;
		struct classify	*c;	/* borrowed from shared */
	} *v;
	size_t		 n;
	/* one classifier per distinct set of complaint settings: accounts
	 * that keep the defaults share one */
	struct {
		struct classify_options o;
		struct classify	*c;
	} *shared;
	size_t		 nshared;
};

struct classify_set *
classify_set_new(const struct conf *conf)
{
	struct classify_set *cs = xcalloc(1, sizeof *cs);

	cs->conf = conf;
	return cs;
}

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
same_options(const struct classify_options *a,
    const struct classify_options *b)
{
	return a->lang == b->lang && a->threshold == b->threshold &&
	    same_str(a->cues, b->cues) && same_str(a->model_path, b->model_path);
}

struct classify *
classify_set_get(struct classify_set *cs, const char *account, char **errstr)
{
	struct classify_options o;
	struct classify *c = NULL;
	size_t i;

	for (i = 0; i < cs->n; i++) {
		if (strcmp(cs->v[i].account, account) == 0)
			return cs->v[i].c;
	}
	/* the options point into the configuration, which outlives us */
	classify_options_from_policy(&o, conf_policy_for(cs->conf, account));
	for (i = 0; i < cs->nshared && c == NULL; i++) {
		if (same_options(&cs->shared[i].o, &o))
			c = cs->shared[i].c;
	}
	if (c == NULL) {
		if ((c = classify_new(&o, errstr)) == NULL)
			return NULL;
		cs->shared = xreallocarray(cs->shared, cs->nshared + 1,
		    sizeof *cs->shared);
		cs->shared[cs->nshared].o = o;
		cs->shared[cs->nshared].c = c;
		cs->nshared++;
	}
	cs->v = xreallocarray(cs->v, cs->n + 1, sizeof *cs->v);
	cs->v[cs->n].account = xstrdup(account);
	cs->v[cs->n].c = c;
	cs->n++;
	return c;
}

void
classify_set_free(struct classify_set *cs)
{
	size_t i;

	if (cs == NULL)
		return;
	for (i = 0; i < cs->n; i++)
		free(cs->v[i].account);
	for (i = 0; i < cs->nshared; i++)
		classify_free(cs->shared[i].c);
	free(cs->v);
	free(cs->shared);
	free(cs);
}

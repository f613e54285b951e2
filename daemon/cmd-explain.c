/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bizhours.h"
#include <cjson/cJSON.h>

#include "cmd.h"
#include "connector.h"
#include "conf.h"
#include "engine.h"
#include "stats.h"
#include "store.h"
#include "timefmt.h"
#include "xmalloc.h"

static const char explain_help[] =
    "How the reply-time engine treated the message with this id: the wait\n"
    "it opened, joined or closed, the times, the reply time and the SLA\n"
    "outcome at --at.\n"
    "\n"
    "Options:\n"
    "  --account A  only the message of this account\n"
    "  --at T       evaluation time for open waits and SLA (default: now)\n"
    "  -h, --help   this help\n";

struct explain {
	struct cmd_ctx	*ctx;
	struct store	*st;
	int64_t		 at_ms;
	size_t		 found;
	int		 failed;
};

/* One conversation computed by the engine. */
struct computed {
	struct store_conversation conv;
	struct engine_msg	*em;
	struct engine_result	 res;
};

static int
compute(struct explain *ex, const struct msg *m, const char *conversation,
    struct computed *c)
{
	char *err = NULL;
	size_t i;

	memset(c, 0, sizeof *c);
	if (store_load_conversation(ex->st, m->platform, m->account, m->kind,
	    conversation, &c->conv, &err) == -1) {
		fprintf(stderr, "replywatch explain: %s\n", err);
		free(err);
		return -1;
	}
	c->em = xcalloc(c->conv.n, sizeof *c->em);
	for (i = 0; i < c->conv.n; i++) {
		const struct msg *cm = &c->conv.msgs[i];

		c->em[i].ref = (int64_t)i;
		c->em[i].id = cm->id;
		c->em[i].author = cm->author;
		c->em[i].in_reply_to = cm->in_reply_to;
		c->em[i].created_ms = cm->created_ms;
		c->em[i].direction = cm->direction;
		c->em[i].complaint = cm->complaint == MSG_COMPLAINT_YES;
		c->em[i].foreign = c->conv.foreign[i];
	}
	engine_compute(m->kind, c->em, c->conv.n, &c->res);
	return 0;
}

static void
computed_clear(struct computed *c)
{
	engine_result_clear(&c->res);
	free(c->em);
	store_conversation_clear(&c->conv);
}

/* The engine's index of the message with this id, or SIZE_MAX. */
static size_t
find(const struct computed *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->conv.n; i++)
		if (strcmp(c->em[i].id, id) == 0)
			return i;
	return SIZE_MAX;
}

static void
print_time(const char *label, int64_t ms)
{
	char buf[TIMEFMT_RFC3339_LEN];

	timefmt_format_rfc3339(ms, buf, sizeof buf);
	printf("  %-14s %s\n", label, buf);
}

static void
print_duration(const char *label, int64_t ms)
{
	char buf[TIMEFMT_DURATION_LEN], secs[32];

	timefmt_format_duration(ms, buf, sizeof buf);
	snprintf(secs, sizeof secs, "%.3f", (double)ms / 1000.0);
	secs[strcspn(secs, ".")] = ms % 1000 == 0 ? '\0' : '.';
	printf("  %-14s %s (%s s)\n", label, buf, secs);
}

static void
print_wait(struct explain *ex, const struct msg *m, const char *conversation,
    const struct computed *c, const struct engine_wait *w)
{
	const struct conf_policy *pol = conf_policy_for(ex->ctx->conf, m->account);
	const struct engine_msg *opener = &c->em[0];
	int closed = w->closed_ms != ENGINE_OPEN && w->closed_ms <= ex->at_ms;
	int complaint = w->complaint_ms != ENGINE_NONE &&
	    w->complaint_ms <= ex->at_ms;
	int64_t target, deadline, end;
	enum stats_sla_outcome sla;
	size_t i;

	for (i = 0; i < c->conv.n; i++)
		if (c->em[i].ref == w->open_ref)
			opener = &c->em[i];
	printf("The wait:\n");
	printf("  %-14s %s\n", "conversation", conversation);
	if (m->kind == MSG_BROADCAST)
		printf("  %-14s %s\n", "author", w->author ? w->author : "(none)");
	print_time("opened", w->opened_ms);
	printf("  %-14s message %s\n", "opened by", opener->id);
	printf("  %-14s %d inbound\n", "messages", w->inbound);
	printf("  %-14s %s\n", "complaint", complaint ? "yes" : "no");
	end = closed ? w->closed_ms : ex->at_ms;
	if (closed) {
		print_time("closed", w->closed_ms);
		print_duration("reply time", w->closed_ms - w->opened_ms);
	} else
		print_duration("open for", end - w->opened_ms);
	if (pol->biz != NULL)
		print_duration("business time", bizhours_between(pol->biz,
		    w->opened_ms, end));
	sla = stats_sla(pol, m->kind, complaint, w->opened_ms,
	    closed ? w->closed_ms : -1, ex->at_ms, &target, &deadline);
	print_duration("SLA target", target);
	if (deadline != INT64_MAX)
		print_time("SLA deadline", deadline);
	printf("  %-14s %s\n", "SLA", stats_sla_name(sla));
}

/* Why an outbound message changed nothing. */
static const char *
why_none(const struct msg *m, const struct computed *target)
{
	size_t t;

	if (m->kind == MSG_DIRECT)
		return "no wait was open in the conversation";
	if (m->in_reply_to == NULL)
		return "it replies to no message";
	if (target == NULL || (t = find(target, m->in_reply_to)) == SIZE_MAX ||
	    target->em[t].foreign)
		return "the message it replies to is not stored";
	if (target->em[t].direction == MSG_OUTBOUND)
		return "it replies to the brand's own message";
	return "the author it replies to had no open wait";
}

/* The conversation of the message an outbound reply answers, if stored. */
struct target {
	const struct msg *reply;
	char		*conversation;
};

static void
target_found(const struct msg *t, void *arg)
{
	struct target *tg = arg;

	if (tg->conversation == NULL && t->kind == tg->reply->kind &&
	    strcmp(t->platform, tg->reply->platform) == 0)
		tg->conversation = xstrdup(t->conversation);
}

/* A broadcast reply to a message of another conversation acts there:
 * compute that one. 1 if done, 0 if not applicable, -1 on error. */
static int
compute_target(struct explain *ex, const struct msg *m, struct computed *c,
    char **conversation)
{
	struct target tg = { .reply = m };
	char *err = NULL;

	*conversation = NULL;
	if (m->kind != MSG_BROADCAST || m->direction != MSG_OUTBOUND ||
	    m->in_reply_to == NULL)
		return 0;
	if (store_find_message(ex->st, m->in_reply_to, m->account, target_found,
	    &tg, &err) == -1) {
		fprintf(stderr, "replywatch explain: %s\n", err);
		free(err);
		return -1;
	}
	if (tg.conversation == NULL || strcmp(tg.conversation,
	    m->conversation) == 0) {
		free(tg.conversation);
		return 0;
	}
	if (compute(ex, m, tg.conversation, c) == -1) {
		free(tg.conversation);
		return -1;
	}
	*conversation = tg.conversation;
	return 1;
}

static void
print_effect(const struct msg *m, const struct computed *c, size_t i)
{
	printf("Effect: ");
	switch (c->res.actions[i]) {
	case ENGINE_ACT_OPEN:
		printf("it opened a wait.\n");
		break;
	case ENGINE_ACT_JOIN:
		printf("it joined a wait that was already open (the clock runs "
		    "from the oldest unanswered message).\n");
		break;
	case ENGINE_ACT_CLOSE:
		printf("it closed a wait.\n");
		break;
	default:
		printf("none: %s.\n", why_none(m, c));
		break;
	}
}

/* "; cues: still waiting, refund" from the stored JSON array */
static void
print_cues(const char *json)
{
	const cJSON *c;
	cJSON *arr;
	const char *sep = "; cues: ";

	if (json == NULL || (arr = cJSON_Parse(json)) == NULL)
		return;
	cJSON_ArrayForEach(c, arr) {
		if (cJSON_IsString(c)) {
			printf("%s%s", sep, c->valuestring);
			sep = ", ";
		}
	}
	cJSON_Delete(arr);
}

/* On platforms that allow a reply only for a while after the customer's
 * last message, the window this message opens. */
static void
print_window(const struct msg *m)
{
	const struct connector_def *def;
	char until[TIMEFMT_RFC3339_LEN];

	if (m->kind != MSG_DIRECT || m->direction != MSG_INBOUND ||
	    (def = connector_find(m->platform)) == NULL ||
	    def->reply_window_ms <= 0)
		return;
	timefmt_format_rfc3339(m->created_ms + def->reply_window_ms, until,
	    sizeof until);
	printf("  %-14s until %s, unless the customer writes again (%s "
	    "allows a reply only that long after their last message)\n",
	    "reply window", until, m->platform);
}

static void
print_header(const struct msg *m)
{
	char when[TIMEFMT_RFC3339_LEN];

	timefmt_format_rfc3339(m->created_ms, when, sizeof when);
	printf("Message %s of %s on %s: %s %s, created %s\n", m->id, m->account,
	    m->platform, msg_direction_name(m->direction), msg_kind_name(m->kind),
	    when);
	printf("  %-14s %s\n", "conversation", m->conversation);
	if (m->author)
		printf("  %-14s %s\n", "author", m->author);
	if (m->in_reply_to)
		printf("  %-14s %s\n", "in reply to", m->in_reply_to);
	printf("  %-14s %s", "complaint",
	    m->complaint == MSG_COMPLAINT_YES ? "yes" :
	    m->complaint == MSG_COMPLAINT_NO ? "no" : "not classified");
	if (m->scored) {
		printf(" (score %.2f", m->complaint_score);
		if (m->lang[0] != '\0')
			printf(", %s", m->lang);
		print_cues(m->cues);
		putchar(')');
	} else if (m->complaint != MSG_COMPLAINT_UNKNOWN)
		printf(" (as the platform or the input said)");
	putchar('\n');
	print_window(m);
}

static void
explain_one(const struct msg *m, void *arg)
{
	struct explain *ex = arg;
	struct computed own, other, *c = &own;
	char *other_conv = NULL;
	const char *conv = m->conversation;
	int have_other;
	size_t i;

	if (ex->found++ > 0)
		putchar('\n');
	print_header(m);
	if (m->created_ms > ex->at_ms) {
		printf("Effect: none yet: it was created after the evaluation "
		    "time.\n");
		return;
	}
	if (compute(ex, m, m->conversation, &own) == -1) {
		ex->failed = 1;
		return;
	}
	if ((i = find(&own, m->id)) == SIZE_MAX) {
		fprintf(stderr, "replywatch explain: %s: not found in its "
		    "conversation\n", m->id);
		ex->failed = 1;
		computed_clear(&own);
		return;
	}
	have_other = 0;
	if (own.res.actions[i] == ENGINE_ACT_NONE) {
		have_other = compute_target(ex, m, &other, &other_conv);
		if (have_other == -1) {
			ex->failed = 1;
			computed_clear(&own);
			return;
		}
		if (have_other == 1) {
			c = &other;
			conv = other_conv;
			i = find(&other, m->id);
		}
	}
	if (i != SIZE_MAX) {
		print_effect(m, c, i);
		if (c->res.wait_of[i] != SIZE_MAX)
			print_wait(ex, m, conv, c, &c->res.waits[c->res.wait_of[i]]);
	}
	if (have_other == 1)
		computed_clear(&other);
	free(other_conv);
	computed_clear(&own);
}

int
cmd_explain(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "account", required_argument, NULL, 'A' },
		{ "at", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct explain ex = { .ctx = ctx, .at_ms = ctx->now_ms };
	const char *account = NULL;
	char *err = NULL;
	int ch;

	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			account = optarg;
			break;
		case 'a':
			if (cmd_parse_time(ctx, "--at", optarg, &ex.at_ms))
				return EXIT_USAGE;
			break;
		case 'h':
			cmd_usage(stdout, "explain", explain_help);
			return EXIT_OK;
		default:
			cmd_usage(stderr, "explain", explain_help);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error("explain", "give one message id");
	if ((ex.st = store_open(ctx->dbpath, STORE_READER, &err)) == NULL) {
		fprintf(stderr, "replywatch explain: %s\n", err);
		free(err);
		return EXIT_FAIL;
	}
	if (store_find_message(ex.st, argv[optind], account, explain_one, &ex,
	    &err) == -1) {
		fprintf(stderr, "replywatch explain: %s\n", err);
		free(err);
		ex.failed = 1;
	}
	store_close(ex.st);
	if (ex.failed)
		return EXIT_FAIL;
	if (ex.found == 0) {
		fprintf(stderr, "replywatch explain: no message with id \"%s\"%s%s\n",
		    argv[optind], account ? " in account " : "",
		    account ? account : "");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

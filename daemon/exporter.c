/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "alert.h"
#include "exporter.h"
#include "metrics.h"
#include "msg.h"
#include "outbox.h"
#include "poller.h"
#include "timefmt.h"
#include "watch.h"

/*
 * What /metrics shows: the daemon's own figures, read from the poller and
 * the watch when a scrape comes. Definitions (also in replywatchd(8)):
 *
 * replywatch_open_waits{account,kind}            waits open now
 * replywatch_overdue_waits{account,kind}         of them, past the SLA deadline
 * replywatch_oldest_open_wait_age_seconds{…}     age of the oldest open wait
 * replywatch_reply_time_seconds{account,kind}    histogram of reply times
 *                                                told since the start
 * replywatch_sla_replies_total{…,outcome}        those replies, met/breached
 * replywatch_polls_total{account,stream,result}  polls ended ok or failed
 * replywatch_rate_limit_waits_total{account,stream}
 *                                                polls that had to wait for
 *                                                the platform's rate limit
 * replywatch_messages_fetched_total{account,stream}
 *                                                new messages stored, ever
 * replywatch_stream_up{account,stream}           1 if its last poll succeeded
 * replywatch_last_successful_poll_timestamp_seconds{account,stream}
 * replywatch_rate_limit_remaining{account,stream}  the platform's figure
 * replywatch_alerts_firing{account,rule}         alerts firing now
 * replywatch_alert_notifications_total{route,result}
 *                                                delivery attempts since the
 *                                                start: delivered, failed (for
 *                                                good) or retry
 * replywatch_alert_notifications_pending{route}  notifications not yet
 *                                                delivered
 */

struct scrape {
	struct metrics_out *out;
	int64_t		 now;
	int		 pass;
};

static void
group_open(const struct watch_group *g, void *arg)
{
	struct scrape *sc = arg;
	const char *labels[] = { "account", g->account, "kind",
	    msg_kind_name(g->kind), NULL };
	double age;

	switch (sc->pass) {
	case 0:
		metrics_sample(sc->out, NULL, labels, (double)g->open);
		break;
	case 1:
		metrics_sample(sc->out, NULL, labels, (double)g->overdue);
		break;
	case 2:
		age = g->oldest_opened_ms < 0 ? 0 :
		    (double)(sc->now - g->oldest_opened_ms) / 1000;
		metrics_sample(sc->out, NULL, labels, age < 0 ? 0 : age);
		break;
	case 3:
		metrics_histogram(sc->out, "replywatch_reply_time_seconds",
		    labels, watch_reply_bounds, WATCH_NBUCKETS, g->hist,
		    g->reply_seconds_sum, g->replies);
		break;
	default: {
		const char *met[] = { "account", g->account, "kind",
		    msg_kind_name(g->kind), "outcome", "met", NULL };
		const char *breached[] = { "account", g->account, "kind",
		    msg_kind_name(g->kind), "outcome", "breached", NULL };

		metrics_sample(sc->out, NULL, met, (double)g->met);
		metrics_sample(sc->out, NULL, breached, (double)g->breached);
		break;
	}
	}
}

static void
stream_figures(const struct poller_stream_info *si, void *arg)
{
	struct scrape *sc = arg;
	const char *labels[] = { "account", si->account, "stream", si->stream,
	    NULL };
	const char *ok[] = { "account", si->account, "stream", si->stream,
	    "result", "ok", NULL };
	const char *failed[] = { "account", si->account, "stream", si->stream,
	    "result", "error", NULL };

	switch (sc->pass) {
	case 0:
		metrics_sample(sc->out, NULL, ok, (double)si->polls_ok);
		metrics_sample(sc->out, NULL, failed, (double)si->polls_failed);
		break;
	case 1:
		metrics_sample(sc->out, NULL, labels, (double)si->rate_limited);
		break;
	case 2:
		metrics_sample(sc->out, NULL, labels, (double)si->fetched);
		break;
	case 3:
		metrics_sample(sc->out, NULL, labels, si->failing ? 0 : 1);
		break;
	case 4:
		if (si->last_ok_ms >= 0)
			metrics_sample(sc->out, NULL, labels,
			    (double)si->last_ok_ms / 1000);
		break;
	default:
		if (si->rl.remaining >= 0)
			metrics_sample(sc->out, NULL, labels,
			    (double)si->rl.remaining);
		break;
	}
}

static void
alert_count(const char *account, const char *rule, size_t n, void *arg)
{
	struct scrape *sc = arg;
	const char *labels[] = { "account", account, "rule", rule, NULL };

	metrics_sample(sc->out, NULL, labels, (double)n);
}

static void
route_figures(const char *route, uint64_t delivered, uint64_t failed,
    uint64_t retried, size_t pending, void *arg)
{
	struct scrape *sc = arg;
	const char *ok[] = { "route", route, "result", "delivered", NULL };
	const char *bad[] = { "route", route, "result", "failed", NULL };
	const char *again[] = { "route", route, "result", "retry", NULL };
	const char *labels[] = { "route", route, NULL };

	if (sc->pass == 0) {
		metrics_sample(sc->out, NULL, ok, (double)delivered);
		metrics_sample(sc->out, NULL, bad, (double)failed);
		metrics_sample(sc->out, NULL, again, (double)retried);
	} else
		metrics_sample(sc->out, NULL, labels, (double)pending);
}

static void
alert_figures(struct metrics_out *out, struct exporter *ex,
    struct scrape *sc)
{
	if (ex->alerts != NULL) {
		metrics_family(out, "replywatch_alerts_firing", "gauge",
		    "Alerts firing now, by account and rule.");
		alerts_each_count(ex->alerts, alert_count, sc);
	}
	if (ex->outbox == NULL)
		return;
	metrics_family(out, "replywatch_alert_notifications_total", "counter",
	    "Attempts to deliver an alert notification since the daemon "
	    "started, by result.");
	sc->pass = 0;
	outbox_each_route(ex->outbox, route_figures, sc);
	metrics_family(out, "replywatch_alert_notifications_pending", "gauge",
	    "Alert notifications not delivered yet.");
	sc->pass = 1;
	outbox_each_route(ex->outbox, route_figures, sc);
}

void
exporter_collect(struct metrics_out *out, void *arg)
{
	static const struct {
		const char *name, *type, *help;
	} waits[] = {
		{ "replywatch_open_waits", "gauge",
		  "Waits open now: someone waits for the brand's answer." },
		{ "replywatch_overdue_waits", "gauge",
		  "Open waits past their SLA deadline." },
		{ "replywatch_oldest_open_wait_age_seconds", "gauge",
		  "How long the oldest open wait has lasted (0: none open)." },
		{ "replywatch_reply_time_seconds", "histogram",
		  "Reply times of the replies seen since the daemon started." },
		{ "replywatch_sla_replies_total", "counter",
		  "Replies seen since the daemon started, by SLA outcome." },
	}, streams[] = {
		{ "replywatch_polls_total", "counter",
		  "Polls of a stream that ended, by result." },
		{ "replywatch_rate_limit_waits_total", "counter",
		  "Polls after which the platform's rate limit set the next "
		  "one." },
		{ "replywatch_messages_fetched_total", "counter",
		  "New messages stored from a stream, in all." },
		{ "replywatch_stream_up", "gauge",
		  "1 if the stream's last poll succeeded, else 0." },
		{ "replywatch_last_successful_poll_timestamp_seconds", "gauge",
		  "When the stream last polled successfully (Unix time)." },
		{ "replywatch_rate_limit_remaining", "gauge",
		  "Requests left in the platform's rate-limit window, as it "
		  "said last." },
	};
	struct exporter *ex = arg;
	struct scrape sc = { .out = out, .now = timefmt_now() };
	size_t i;

	for (i = 0; i < sizeof waits / sizeof waits[0]; i++) {
		metrics_family(out, waits[i].name, waits[i].type,
		    waits[i].help);
		sc.pass = (int)i;
		watch_each_group(ex->watch, group_open, &sc);
	}
	for (i = 0; i < sizeof streams / sizeof streams[0]; i++) {
		metrics_family(out, streams[i].name, streams[i].type,
		    streams[i].help);
		sc.pass = (int)i;
		poller_each_stream(ex->poller, stream_figures, &sc);
	}
	alert_figures(out, ex, &sc);
}

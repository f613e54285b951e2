/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "store.h"
#include "timefmt.h"

/*
 * tests/cli-alerts.sh's helper: writes alerts, their events and
 * notifications in every state, and a silence, into the database DB
 * (created if need be), as replywatchd would. All times are on
 * 2026-11-20 (UTC).
 *
 *   id  rule             account  state     told
 *   1   overdue          acme     firing    ops delivered, mail pending
 *   2   complaint_spike  acme     resolved  ops: firing delivered,
 *                                           resolved failed
 *   3   connector_down   beta     firing    nothing yet
 *   4   overdue          beta     firing    held (connector down)
 *   5   backlog          gamma    firing    silenced
 *   6   backlog          acme     resolved  nothing (2026-11-19)
 */

static struct store *st;

static void
die(const char *what, char *err)
{
	fprintf(stderr, "alerts-seed: %s: %s\n", what, err ? err : "?");
	free(err);
	store_close(st);
	exit(1);
}

static int64_t
at(const char *hhmmss)
{
	char buf[64];
	int64_t ms;

	snprintf(buf, sizeof buf, "2026-11-20T%sZ", hhmmss);
	if (timefmt_parse_rfc3339(buf, &ms) == -1) {
		fprintf(stderr, "alerts-seed: bad time %s\n", buf);
		exit(1);
	}
	return ms;
}

static int64_t
alert(const char *rule, const char *account, const char *subject,
    const char *severity, const char *summary, const char *details,
    int64_t fired, int64_t resolved, int held)
{
	struct store_alert a = {
		.rule = rule, .account = account, .subject = subject,
		.severity = severity, .summary = summary, .details = details,
		.fired_ms = fired, .resolved_ms = resolved, .notified_ms = -1,
		.held = held,
	};
	char *err = NULL;

	if (store_alert_add(st, &a, &err) == -1)
		die("alert", err);
	return a.id;
}

static int64_t
event(int64_t alert, const char *what, int64_t t, const char *done)
{
	char *err = NULL;
	int64_t id;

	if (store_event_add(st, alert, what, t, &id, &err) == -1)
		die("event", err);
	if (done != NULL && store_event_done(st, id, done, &err) == -1)
		die("event done", err);
	return id;
}

static void
notification(const char *key, const char *route, const char *rule,
    const char *what, int64_t created, int64_t ev, const char *state,
    int attempts, int64_t next, int64_t done, const char *error)
{
	struct store_notification n = {
		.key = key, .route = route, .account = "acme", .rule = rule,
		.event = what, .created_ms = created, .subject = "subject",
		.text = "text", .json = "{}", .state = state,
		.attempts = attempts, .next_ms = next, .done_ms = done,
		.last_error = error,
	};
	char *err = NULL;

	if (store_notification_add(st, &n, &ev, 1, &err) == -1)
		die("notification", err);
}

int
main(int argc, char **argv)
{
	struct store_silence si = {
		.account = "gamma", .created_ms = at("09:00:00"),
		.until_ms = at("12:00:00"), .reason = "migration",
		.created_by = "ops",
	};
	int64_t a, e;
	char *err = NULL;

	if (argc != 2) {
		fprintf(stderr, "usage: alerts-seed DB\n");
		return 2;
	}
	if ((st = store_open(argv[1], STORE_CREATE, &err)) == NULL)
		die(argv[1], err);
	if (store_tx_begin(st, &err) == -1)
		die("begin", err);

	a = alert("overdue", "acme", "x:D1", "critical",
	    "a direct message waits for 1 h, beyond its 30 min target",
	    "{\"conversation\":\"D1\",\"waiting_seconds\":3600}",
	    at("10:00:00"), -1, 0);
	e = event(a, "firing", at("10:00:00"), "notified");
	notification("k1", "ops", "overdue", "firing", at("10:00:00"), e,
	    "delivered", 1, -1, at("10:00:05"), NULL);
	/* next try far ahead: "in ..." whenever the test runs */
	notification("k2", "mail", "overdue", "firing", at("10:00:00"), e,
	    "pending", 2, 4102444800000LL, -1, "connection refused");

	a = alert("complaint_spike", "acme", "", "warning",
	    "12 complaints in 1 h, 4 times the usual", NULL,
	    at("09:00:00"), at("09:30:00"), 0);
	e = event(a, "firing", at("09:00:00"), "notified");
	notification("k3", "ops", "complaint_spike", "firing", at("09:00:00"),
	    e, "delivered", 1, -1, at("09:00:02"), NULL);
	e = event(a, "resolved", at("09:30:00"), "notified");
	notification("k4", "ops", "complaint_spike", "resolved",
	    at("09:30:00"), e, "failed", 5, -1, at("09:45:00"),
	    "HTTP 400: bad payload");

	a = alert("connector_down", "beta", "", "critical",
	    "no successful poll for 20 min", NULL, at("11:00:00"), -1, 0);
	event(a, "firing", at("11:00:00"), NULL);

	alert("overdue", "beta", "x:P1:bob", "warning",
	    "a mention waits for 45 min", NULL, at("11:05:00"), -1, 1);

	a = alert("backlog", "gamma", "", "warning", "30 waits open", NULL,
	    at("10:30:00"), -1, 0);
	event(a, "firing", at("10:30:00"), "silenced");
	if (store_silence_add(st, &si, &err) == -1)
		die("silence", err);

	alert("backlog", "acme", "", "warning", "25 waits open", NULL,
	    at("10:00:00") - 26 * 3600000LL, at("10:00:00") - 25 * 3600000LL,
	    0);

	if (store_tx_commit(st, &err) == -1)
		die("commit", err);
	store_close(st);
	return 0;
}

/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>	/* only to craft a database of version 3, and to
			   compete for the write lock */

#include "msg.h"
#include "store.h"
#include "xmalloc.h"

/* The store's alerts, events, notifications and silences, and its
 * transactions (store-alerts.c). */

static char tmpdir[64];
static char dbpath[128];

static void
setup(void)
{
	strcpy(tmpdir, "/tmp/check-store-alerts.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof dbpath, "%s/rw.db", tmpdir);
}

static void
teardown(void)
{
	char cmd[256];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct store *
open_ok(int flags)
{
	char *err = NULL;
	struct store *st = store_open(dbpath, STORE_CREATE | flags, &err);

	if (st == NULL)
		ck_abort_msg("store_open: %s", err);
	return st;
}

static struct store_alert
mk_alert(const char *rule, const char *account, const char *subject,
    int64_t fired, int64_t resolved)
{
	struct store_alert a = {
		.rule = rule, .account = account, .subject = subject,
		.severity = "warning", .summary = "something is wrong",
		.fired_ms = fired, .resolved_ms = resolved, .notified_ms = -1,
	};
	return a;
}

static int64_t
add_alert(struct store *st, const char *rule, const char *account,
    const char *subject, int64_t fired, int64_t resolved)
{
	struct store_alert a = mk_alert(rule, account, subject, fired, resolved);
	char *err = NULL;

	if (store_alert_add(st, &a, &err) != 0)
		ck_abort_msg("store_alert_add: %s", err);
	ck_assert_int_gt(a.id, 0);
	return a.id;
}

/* The alerts a filter lists, as "rule/account/subject" separated by
 * spaces. */
struct listing {
	char	buf[1024];
	struct store_alert last;
	char	details[256];
};

static void
list_one(const struct store_alert *a, void *arg)
{
	struct listing *l = arg;

	if (l->buf[0] != '\0')
		strcat(l->buf, " ");
	strcat(l->buf, a->rule);
	strcat(l->buf, "/");
	strcat(l->buf, a->account);
	strcat(l->buf, "/");
	strcat(l->buf, a->subject);
	l->last = *a;
	snprintf(l->details, sizeof l->details, "%s",
	    a->details != NULL ? a->details : "(null)");
	l->last.details = NULL;
	l->last.rule = l->last.account = l->last.subject = NULL;
	l->last.severity = l->last.summary = NULL;
}

static const char *
list(struct store *st, const struct store_alert_filter *f,
    struct listing *l)
{
	char *err = NULL;

	memset(l, 0, sizeof *l);
	if (store_each_alert(st, f, list_one, l, &err) != 0)
		ck_abort_msg("store_each_alert: %s", err);
	return l->buf;
}

static int
count_rows(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int n;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

START_TEST(test_alerts_filters)
{
	struct store *st = open_ok(0);
	struct store_alert_filter f = { .since_ms = -1 };
	struct listing l;

	add_alert(st, "overdue", "acme", "x:D1", 1000, -1);
	add_alert(st, "complaint_spike", "acme", "", 2000, -1);
	add_alert(st, "overdue", "beta", "x:P1:bob", 3000, 5000);
	add_alert(st, "backlog", "beta", "", 500, 4500);

	ck_assert_str_eq(list(st, &f, &l), "backlog/beta/ overdue/acme/x:D1 "
	    "complaint_spike/acme/ overdue/beta/x:P1:bob");
	ck_assert_str_eq(list(st, NULL, &l), "backlog/beta/ overdue/acme/x:D1 "
	    "complaint_spike/acme/ overdue/beta/x:P1:bob");
	f.firing = 1;
	ck_assert_str_eq(list(st, &f, &l),
	    "overdue/acme/x:D1 complaint_spike/acme/");
	f.since_ms = 1500;
	ck_assert_str_eq(list(st, &f, &l), "complaint_spike/acme/");
	/* fired at or after since, or resolved at or after since */
	f.firing = 0;
	f.since_ms = 4500;
	ck_assert_str_eq(list(st, &f, &l), "backlog/beta/ overdue/beta/x:P1:bob");
	f.since_ms = 4501;
	ck_assert_str_eq(list(st, &f, &l), "overdue/beta/x:P1:bob");
	f.since_ms = 5001;
	ck_assert_str_eq(list(st, &f, &l), "");
	f.since_ms = -1;
	f.account = "acme";
	ck_assert_str_eq(list(st, &f, &l),
	    "overdue/acme/x:D1 complaint_spike/acme/");
	f.rule = "overdue";
	ck_assert_str_eq(list(st, &f, &l), "overdue/acme/x:D1");
	f.account = NULL;
	ck_assert_str_eq(list(st, &f, &l),
	    "overdue/acme/x:D1 overdue/beta/x:P1:bob");
	f.rule = "backlog";
	f.firing = 1;
	ck_assert_str_eq(list(st, &f, &l), "");
	/* a limit keeps the newest, listed oldest first */
	memset(&f, 0, sizeof f);
	f.since_ms = -1;
	f.limit = 2;
	ck_assert_str_eq(list(st, &f, &l),
	    "complaint_spike/acme/ overdue/beta/x:P1:bob");
	f.since_ms = 0;
	ck_assert_str_eq(list(st, &f, &l),
	    "complaint_spike/acme/ overdue/beta/x:P1:bob");
	f.firing = 1;
	f.limit = 1;
	ck_assert_str_eq(list(st, &f, &l), "complaint_spike/acme/");
	store_close(st);
}
END_TEST

START_TEST(test_alert_update)
{
	struct store *st = open_ok(0);
	struct store_alert a = mk_alert("overdue", "acme", "x:D1", 1000, -1);
	struct store_alert_filter f = { .since_ms = -1 };
	struct listing l;
	char *err = NULL;

	a.details = "{\"waiting\":3}";
	ck_assert_int_eq(store_alert_add(st, &a, &err), 0);
	list(st, &f, &l);
	ck_assert_int_eq(l.last.id, a.id);
	ck_assert_int_eq(l.last.fired_ms, 1000);
	ck_assert_int_eq(l.last.resolved_ms, -1);
	ck_assert_int_eq(l.last.notified_ms, -1);
	ck_assert_int_eq(l.last.held, 0);
	ck_assert_str_eq(l.details, "{\"waiting\":3}");

	a.severity = "critical";
	a.summary = "still waiting";
	a.details = NULL;
	a.notified_ms = 1500;
	a.held = 1;
	ck_assert_int_eq(store_alert_update(st, &a, &err), 0);
	list(st, &f, &l);
	ck_assert_int_eq(l.last.notified_ms, 1500);
	ck_assert_int_eq(l.last.held, 1);
	ck_assert_str_eq(l.details, "(null)");
	a.resolved_ms = 2000;
	a.held = 0;
	ck_assert_int_eq(store_alert_update(st, &a, &err), 0);
	f.firing = 1;
	ck_assert_str_eq(list(st, &f, &l), "");
	f.firing = 0;
	list(st, &f, &l);
	ck_assert_int_eq(l.last.resolved_ms, 2000);

	a.id = 999;
	ck_assert_int_eq(store_alert_update(st, &a, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no such alert"));
	free(err);
	store_close(st);
}
END_TEST

START_TEST(test_unique_firing)
{
	struct store *st = open_ok(0);
	struct store_alert a = mk_alert("overdue", "acme", "x:D1", 1000, -1);
	struct store_alert b = a;
	char *err = NULL;

	ck_assert_int_eq(store_alert_add(st, &a, &err), 0);
	ck_assert_int_eq(store_alert_add(st, &b, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "already firing"));
	free(err);
	err = NULL;
	/* another subject, account or rule is another alert */
	add_alert(st, "overdue", "acme", "x:D2", 1000, -1);
	add_alert(st, "overdue", "beta", "x:D1", 1000, -1);
	add_alert(st, "backlog", "acme", "x:D1", 1000, -1);
	/* once resolved, it is history: the same may fire again */
	a.resolved_ms = 2000;
	ck_assert_int_eq(store_alert_update(st, &a, &err), 0);
	b.fired_ms = 3000;
	ck_assert_int_eq(store_alert_add(st, &b, &err), 0);
	ck_assert_int_ne(a.id, b.id);
	/* and history may hold it more than once */
	b.resolved_ms = 4000;
	ck_assert_int_eq(store_alert_update(st, &b, &err), 0);
	add_alert(st, "overdue", "acme", "x:D1", 5000, -1);
	store_close(st);
}
END_TEST

struct seen_events {
	struct store	*st;
	char		 buf[512];
	int		 mark;		/* mark each done as it is seen */
};

static void
seen_event(const struct store_alert_event *e, const struct store_alert *a,
    void *arg)
{
	struct seen_events *s = arg;
	char one[128], *err = NULL;

	ck_assert_int_eq(e->alert_id, a->id);
	snprintf(one, sizeof one, "%s%lld:%s:%s@%lld", s->buf[0] ? " " : "",
	    (long long)e->id, a->subject, e->event, (long long)e->at_ms);
	strcat(s->buf, one);
	if (s->mark && store_event_done(s->st, e->id, "notified", &err) != 0)
		ck_abort_msg("store_event_done: %s", err);
}

START_TEST(test_events)
{
	struct store *st = open_ok(0);
	struct seen_events s = { .st = st };
	int64_t a1, a2, e1, e2, e3, e4;
	char want[256], *err = NULL;

	a1 = add_alert(st, "overdue", "acme", "D1", 1000, -1);
	a2 = add_alert(st, "overdue", "acme", "D2", 1100, -1);
	ck_assert_int_eq(store_event_add(st, a1, "firing", 1000, &e1, &err), 0);
	ck_assert_int_eq(store_event_add(st, a2, "firing", 1100, &e2, &err), 0);
	ck_assert_int_eq(store_event_add(st, a1, "repeat", 2000, &e3, &err), 0);
	ck_assert_int_eq(store_event_add(st, a1, "resolved", 3000, NULL, &err),
	    0);
	ck_assert_int_lt(e1, e2);
	ck_assert_int_lt(e2, e3);
	ck_assert_int_eq(store_each_pending_event(st, seen_event, &s, &err), 0);
	snprintf(want, sizeof want, "%lld:D1:firing@1000 %lld:D2:firing@1100 "
	    "%lld:D1:repeat@2000 %lld:D1:resolved@3000", (long long)e1,
	    (long long)e2, (long long)e3, (long long)e3 + 1);
	ck_assert_str_eq(s.buf, want);

	ck_assert_int_eq(store_event_done(st, e1, "notified", &err), 0);
	ck_assert_int_eq(store_event_done(st, e3, "silenced", &err), 0);
	memset(s.buf, 0, sizeof s.buf);
	ck_assert_int_eq(store_each_pending_event(st, seen_event, &s, &err), 0);
	snprintf(want, sizeof want, "%lld:D2:firing@1100 %lld:D1:resolved@3000",
	    (long long)e2, (long long)e3 + 1);
	ck_assert_str_eq(s.buf, want);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM alert_events WHERE "
	    "done = 'silenced'"), 1);

	/* a callback may mark events done while they are listed */
	memset(s.buf, 0, sizeof s.buf);
	s.mark = 1;
	ck_assert_int_eq(store_each_pending_event(st, seen_event, &s, &err), 0);
	s.mark = 0;
	memset(s.buf, 0, sizeof s.buf);
	ck_assert_int_eq(store_each_pending_event(st, seen_event, &s, &err), 0);
	ck_assert_str_eq(s.buf, "");

	ck_assert_int_eq(store_event_add(st, 999, "firing", 1, &e4, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no alert 999"));
	free(err);
	err = NULL;
	ck_assert_int_eq(store_event_done(st, 999, "dropped", &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no such event"));
	free(err);
	store_close(st);
}
END_TEST

struct seen_notes {
	char	buf[512];
};

static void
seen_note(const struct store_notification *n, void *arg)
{
	struct seen_notes *s = arg;
	char one[128];

	snprintf(one, sizeof one, "%s%s:%s:%s:%d", s->buf[0] ? " " : "",
	    n->route, n->event, n->state, n->attempts);
	strcat(s->buf, one);
}

static const char *
notes_pending(struct store *st, struct seen_notes *s)
{
	char *err = NULL;

	memset(s, 0, sizeof *s);
	if (store_each_pending_notification(st, seen_note, s, &err) != 0)
		ck_abort_msg("pending notifications: %s", err);
	return s->buf;
}

static const char *
notes_of(struct store *st, int64_t alert, struct seen_notes *s)
{
	char *err = NULL;

	memset(s, 0, sizeof *s);
	if (store_each_alert_notification(st, alert, seen_note, s, &err) != 0)
		ck_abort_msg("notifications of an alert: %s", err);
	return s->buf;
}

START_TEST(test_notifications)
{
	struct store *st = open_ok(0);
	struct store_notification n = {
		.key = "k1", .route = "ops", .account = "acme",
		.rule = "overdue", .event = "firing", .created_ms = 1000,
		.subject = "2 overdue", .text = "text", .json = "{\"v\":1}",
		.state = "pending", .attempts = 0, .next_ms = 1000,
		.done_ms = -1,
	};
	struct store_notification g;
	struct seen_notes s;
	int64_t a1, a2, a3, ev[4];
	char *err = NULL;

	a1 = add_alert(st, "overdue", "acme", "D1", 1000, -1);
	a2 = add_alert(st, "overdue", "acme", "D2", 1000, -1);
	a3 = add_alert(st, "overdue", "acme", "D3", 1000, -1);
	ck_assert_int_eq(store_event_add(st, a1, "firing", 1000, &ev[0], &err), 0);
	ck_assert_int_eq(store_event_add(st, a2, "firing", 1000, &ev[1], &err), 0);
	ck_assert_int_eq(store_event_add(st, a1, "resolved", 2000, &ev[2], &err),
	    0);
	/* one group of two events, to two routes; the same event twice is
	 * linked once */
	ev[3] = ev[1];
	ck_assert_int_eq(store_notification_add(st, &n, ev, 2, &err), 0);
	ck_assert_int_gt(n.id, 0);
	n.key = "k2";
	n.route = "mail";
	ck_assert_int_eq(store_notification_add(st, &n, ev, 4, &err), 0);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM notification_events"),
	    2 + 3);
	n.key = "k3";
	n.route = "ops";
	n.event = "resolved";
	n.created_ms = 2000;
	ck_assert_int_eq(store_notification_add(st, &n, &ev[2], 1, &err), 0);

	ck_assert_str_eq(notes_pending(st, &s),
	    "ops:firing:pending:0 mail:firing:pending:0 ops:resolved:pending:0");
	ck_assert_str_eq(notes_of(st, a1, &s),
	    "ops:firing:pending:0 mail:firing:pending:0 ops:resolved:pending:0");
	ck_assert_str_eq(notes_of(st, a2, &s),
	    "ops:firing:pending:0 mail:firing:pending:0");
	ck_assert_str_eq(notes_of(st, a3, &s), "");

	/* delivered, retried, failed */
	ck_assert_int_eq(store_notification_get(st, n.id - 2, &g, &err), 0);
	ck_assert_str_eq(g.key, "k1");
	ck_assert_str_eq(g.route, "ops");
	ck_assert_str_eq(g.account, "acme");
	ck_assert_str_eq(g.rule, "overdue");
	ck_assert_str_eq(g.subject, "2 overdue");
	ck_assert_str_eq(g.text, "text");
	ck_assert_str_eq(g.json, "{\"v\":1}");
	ck_assert_int_eq(g.created_ms, 1000);
	ck_assert_int_eq(g.next_ms, 1000);
	ck_assert_int_eq(g.done_ms, -1);
	ck_assert_ptr_null(g.last_error);
	g.state = "delivered";
	g.attempts = 1;
	g.next_ms = -1;
	g.done_ms = 1200;
	ck_assert_int_eq(store_notification_update(st, &g, &err), 0);
	ck_assert_int_eq(store_notification_get(st, n.id - 1, &g, &err), 0);
	ck_assert_str_eq(g.key, "k2");
	g.attempts = 2;
	g.next_ms = 5000;
	g.last_error = "connection refused";
	ck_assert_int_eq(store_notification_update(st, &g, &err), 0);
	ck_assert_int_eq(store_notification_get(st, n.id, &g, &err), 0);
	g.state = "failed";
	g.attempts = 5;
	g.done_ms = 9000;
	g.next_ms = -1;
	g.last_error = "HTTP 400";
	ck_assert_int_eq(store_notification_update(st, &g, &err), 0);

	ck_assert_str_eq(notes_pending(st, &s), "mail:firing:pending:2");
	ck_assert_str_eq(notes_of(st, a1, &s), "ops:firing:delivered:1 "
	    "mail:firing:pending:2 ops:resolved:failed:5");
	ck_assert_int_eq(store_notification_get(st, n.id - 2, &g, &err), 0);
	ck_assert_int_eq(g.done_ms, 1200);
	ck_assert_str_eq(g.state, "delivered");
	ck_assert_int_eq(store_notification_get(st, n.id - 1, &g, &err), 0);
	ck_assert_int_eq(g.next_ms, 5000);
	ck_assert_str_eq(g.last_error, "connection refused");
	ck_assert_int_eq(store_notification_get(st, n.id, &g, &err), 0);
	ck_assert_str_eq(g.state, "failed");
	ck_assert_str_eq(g.last_error, "HTTP 400");
	ck_assert_int_eq(store_notification_get(st, 999, &g, &err), 1);

	/* the key is unique; an unknown event adds nothing at all */
	n.key = "k1";
	ck_assert_int_eq(store_notification_add(st, &n, ev, 1, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "key k1 is taken"));
	free(err);
	err = NULL;
	n.key = "k4";
	ev[3] = 999;
	ck_assert_int_eq(store_notification_add(st, &n, ev, 4, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no event 999"));
	free(err);
	err = NULL;
	ck_assert_int_eq(count_rows("SELECT count(*) FROM notifications"), 3);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM notification_events"),
	    6);
	g.id = 999;
	ck_assert_int_eq(store_notification_update(st, &g, &err), -1);
	free(err);
	store_close(st);
}
END_TEST

static void
seen_silence(const struct store_silence *si, void *arg)
{
	char *buf = arg, one[160];

	snprintf(one, sizeof one, "%s%lld:%s:%s:%s:%s", buf[0] ? " " : "",
	    (long long)si->id, si->account ? si->account : "*",
	    si->rule ? si->rule : "*", si->reason,
	    si->created_by ? si->created_by : "?");
	strcat(buf, one);
}

static const char *
silences(struct store *st, int64_t at, char *buf)
{
	char *err = NULL;

	buf[0] = '\0';
	if (store_each_silence(st, at, seen_silence, buf, &err) != 0)
		ck_abort_msg("store_each_silence: %s", err);
	return buf;
}

START_TEST(test_silences)
{
	struct store *st = open_ok(0);
	struct store_silence a = { .account = "acme", .created_ms = 1000,
	    .until_ms = 5000, .reason = "maintenance", .created_by = "ann" };
	struct store_silence b = { .rule = "backlog", .created_ms = 2000,
	    .until_ms = 3000, .reason = "known" };
	struct store_silence c = { .account = "beta", .rule = "overdue",
	    .created_ms = 1000, .until_ms = 10000, .reason = "holiday",
	    .created_by = "bob" };
	char buf[512], *err = NULL;

	ck_assert_int_eq(store_silence_add(st, &a, &err), 0);
	ck_assert_int_eq(store_silence_add(st, &b, &err), 0);
	ck_assert_int_eq(store_silence_add(st, &c, &err), 0);
	ck_assert_int_lt(a.id, b.id);
	ck_assert_int_lt(b.id, c.id);
	ck_assert_str_eq(silences(st, 999, buf), "");
	ck_assert_str_eq(silences(st, 1000, buf),
	    "1:acme:*:maintenance:ann 3:beta:overdue:holiday:bob");
	ck_assert_str_eq(silences(st, 2999, buf), "1:acme:*:maintenance:ann "
	    "2:*:backlog:known:? 3:beta:overdue:holiday:bob");
	ck_assert_str_eq(silences(st, 3000, buf),
	    "1:acme:*:maintenance:ann 3:beta:overdue:holiday:bob");
	ck_assert_str_eq(silences(st, 5000, buf), "3:beta:overdue:holiday:bob");
	ck_assert_str_eq(silences(st, -1, buf), "1:acme:*:maintenance:ann "
	    "2:*:backlog:known:? 3:beta:overdue:holiday:bob");

	ck_assert_int_eq(store_silence_remove(st, c.id, &err), 0);
	ck_assert_int_eq(store_silence_remove(st, c.id, &err), 1);
	ck_assert_int_eq(store_silence_remove(st, 999, &err), 1);
	ck_assert_str_eq(silences(st, -1, buf),
	    "1:acme:*:maintenance:ann 2:*:backlog:known:?");
	/* a removed id is never given again */
	ck_assert_int_eq(store_silence_add(st, &c, &err), 0);
	ck_assert_int_eq(c.id, 4);
	/* a reason is required */
	c.reason = NULL;
	ck_assert_int_eq(store_silence_add(st, &c, &err), -1);
	free(err);
	store_close(st);
}
END_TEST

START_TEST(test_tx_rollback)
{
	struct store *st = open_ok(0);
	struct store_alert_filter f = { .since_ms = -1 };
	struct store_silence si = { .account = "acme", .created_ms = 1,
	    .until_ms = 2, .reason = "r" };
	struct listing l;
	struct seen_notes s;
	struct store_notification n = { .key = "k", .route = "ops",
	    .created_ms = 1, .next_ms = -1, .done_ms = -1 };
	char buf[256], *err = NULL;
	int64_t a, e;

	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	a = add_alert(st, "overdue", "acme", "D1", 1000, -1);
	ck_assert_int_eq(store_event_add(st, a, "firing", 1000, &e, &err), 0);
	ck_assert_int_eq(store_notification_add(st, &n, &e, 1, &err), 0);
	ck_assert_int_eq(store_silence_add(st, &si, &err), 0);
	ck_assert_str_eq(list(st, &f, &l), "overdue/acme/D1");
	store_tx_rollback(st);
	ck_assert_str_eq(list(st, &f, &l), "");
	ck_assert_str_eq(notes_pending(st, &s), "");
	ck_assert_str_eq(silences(st, -1, buf), "");
	ck_assert_int_eq(count_rows("SELECT count(*) FROM alert_events"), 0);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM notification_events"),
	    0);

	/* and committed, it is there for another connection */
	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	add_alert(st, "overdue", "acme", "D1", 1000, -1);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM alerts"), 0);
	ck_assert_int_eq(store_tx_commit(st, &err), 0);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM alerts"), 1);
	/* nothing is open any more */
	ck_assert_int_eq(store_tx_commit(st, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no transaction is open"));
	free(err);
	store_tx_rollback(st);
	store_close(st);
}
END_TEST

START_TEST(test_tx_nested)
{
	struct store *st = open_ok(0);
	struct store_alert_filter f = { .since_ms = -1 };
	struct listing l;
	char *err = NULL;

	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	add_alert(st, "overdue", "acme", "A", 1000, -1);
	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	add_alert(st, "overdue", "acme", "B", 2000, -1);
	store_tx_rollback(st);
	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	add_alert(st, "overdue", "acme", "C", 3000, -1);
	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	add_alert(st, "overdue", "acme", "D", 4000, -1);
	ck_assert_int_eq(store_tx_commit(st, &err), 0);
	ck_assert_int_eq(store_tx_commit(st, &err), 0);
	ck_assert_str_eq(list(st, &f, &l),
	    "overdue/acme/A overdue/acme/C overdue/acme/D");
	ck_assert_int_eq(count_rows("SELECT count(*) FROM alerts"), 0);
	ck_assert_int_eq(store_tx_commit(st, &err), 0);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM alerts"), 3);

	/* an inner commit is undone by the outer rollback */
	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	add_alert(st, "overdue", "acme", "E", 5000, -1);
	ck_assert_int_eq(store_tx_commit(st, &err), 0);
	store_tx_rollback(st);
	ck_assert_str_eq(list(st, &f, &l),
	    "overdue/acme/A overdue/acme/C overdue/acme/D");
	store_close(st);
}
END_TEST

START_TEST(test_tx_takes_write_lock)
{
	struct store *st = open_ok(0);
	sqlite3 *db;
	char *err = NULL;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	/* outside a batch, the transaction holds the write lock from its
	 * start, before it writes anything */
	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_BUSY);
	ck_assert_int_eq(store_tx_commit(st, &err), 0);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	store_close(st);
}
END_TEST

START_TEST(test_tx_in_batch)
{
	struct store *st = open_ok(0);
	struct store_alert_filter f = { .since_ms = -1 };
	struct msg m = {
		.platform = (char *)"x", .account = (char *)"acme",
		.id = (char *)"m1", .conversation = (char *)"D1",
		.kind = MSG_DIRECT, .direction = MSG_INBOUND,
		.created_ms = 1000, .author = (char *)"ann",
		.text = (char *)"hello", .complaint = MSG_COMPLAINT_UNKNOWN,
	};
	struct listing l;
	char *err = NULL;
	int added;

	ck_assert_int_eq(store_begin(st, &err), 0);
	ck_assert_int_eq(store_put_message(st, &m, &added, &err), 0);
	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	add_alert(st, "overdue", "acme", "A", 1000, -1);
	ck_assert_int_eq(store_tx_commit(st, &err), 0);
	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	add_alert(st, "overdue", "acme", "B", 2000, -1);
	store_tx_rollback(st);
	/* written without a transaction of its own: the batch's */
	add_alert(st, "overdue", "acme", "C", 3000, -1);
	/* not visible before the batch commits */
	ck_assert_int_eq(count_rows("SELECT count(*) FROM alerts"), 0);
	ck_assert_int_eq(store_commit(st, &err), 0);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM alerts"), 2);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM messages"), 1);
	ck_assert_str_eq(list(st, &f, &l), "overdue/acme/A overdue/acme/C");

	/* a batch rolled back takes what its transactions committed */
	ck_assert_int_eq(store_begin(st, &err), 0);
	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	add_alert(st, "overdue", "acme", "D", 4000, -1);
	ck_assert_int_eq(store_tx_commit(st, &err), 0);
	store_rollback(st);
	ck_assert_str_eq(list(st, &f, &l), "overdue/acme/A overdue/acme/C");

	/* a batch that ends with a transaction still open in it leaves
	 * nothing open */
	ck_assert_int_eq(store_begin(st, &err), 0);
	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	add_alert(st, "overdue", "acme", "E", 5000, -1);
	store_rollback(st);
	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	add_alert(st, "overdue", "acme", "F", 6000, -1);
	ck_assert_int_eq(store_tx_commit(st, &err), 0);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM alerts"), 3);
	ck_assert_str_eq(list(st, &f, &l),
	    "overdue/acme/A overdue/acme/C overdue/acme/F");
	store_close(st);
}
END_TEST

START_TEST(test_tx_commit_fails)
{
	struct store *st = open_ok(0);
	struct store_alert_filter f = { .since_ms = -1 };
	struct listing l;
	char *err = NULL;

	/* A batch that commits with a transaction open in it ends that
	 * transaction too: committing it later, inside the next batch,
	 * fails. The failed commit rolls its level back; the rollback that
	 * callers write after it must leave the batch alone. */
	ck_assert_int_eq(store_begin(st, &err), 0);
	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	add_alert(st, "overdue", "acme", "A", 1000, -1);
	ck_assert_int_eq(store_commit(st, &err), 0);
	ck_assert_int_eq(store_begin(st, &err), 0);
	add_alert(st, "overdue", "acme", "B", 2000, -1);
	ck_assert_int_eq(store_tx_commit(st, &err), -1);
	free(err);
	err = NULL;
	store_tx_rollback(st);
	add_alert(st, "overdue", "acme", "C", 3000, -1);
	ck_assert_int_eq(store_commit(st, &err), 0);
	ck_assert_str_eq(list(st, &f, &l),
	    "overdue/acme/A overdue/acme/B overdue/acme/C");
	/* a rollback after anything else is meant */
	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	add_alert(st, "overdue", "acme", "D", 4000, -1);
	store_tx_rollback(st);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM alerts"), 3);
	store_close(st);
}
END_TEST

START_TEST(test_close_with_tx_open)
{
	struct store *st = open_ok(0);
	char *err = NULL;

	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	ck_assert_int_eq(store_tx_begin(st, &err), 0);
	add_alert(st, "overdue", "acme", "A", 1000, -1);
	store_close(st);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM alerts"), 0);
}
END_TEST

START_TEST(test_reader_sees_alerts)
{
	struct store *w = open_ok(0), *r;
	struct store_alert_filter f = { .since_ms = -1 };
	struct listing l;
	char *err = NULL;

	/* a reader works while the writer holds the write lock */
	ck_assert_int_eq(store_tx_begin(w, &err), 0);
	add_alert(w, "overdue", "acme", "A", 1000, -1);
	r = open_ok(STORE_READER);
	ck_assert_str_eq(list(r, &f, &l), "");
	ck_assert_int_eq(store_tx_commit(w, &err), 0);
	ck_assert_str_eq(list(r, &f, &l), "overdue/acme/A");
	store_close(r);
	store_close(w);
}
END_TEST

START_TEST(test_migrate_from_3)
{
	struct store *st = open_ok(0);
	struct store_alert_filter f = { .since_ms = -1 };
	struct msg m = {
		.platform = (char *)"x", .account = (char *)"acme",
		.id = (char *)"m1", .conversation = (char *)"D1",
		.kind = MSG_DIRECT, .direction = MSG_INBOUND,
		.created_ms = 1000, .author = (char *)"ann",
		.text = (char *)"hello", .complaint = MSG_COMPLAINT_UNKNOWN,
	};
	struct listing l;
	char *err = NULL;
	sqlite3 *db;
	int added;

	ck_assert_int_eq(store_schema_latest(), 4);
	ck_assert_int_eq(store_begin(st, &err), 0);
	ck_assert_int_eq(store_put_message(st, &m, &added, &err), 0);
	ck_assert_int_eq(store_commit(st, &err), 0);
	store_close(st);
	/* what version 3 had: without the tables of migration 4 */
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "DROP TABLE alerts;"
	    "DROP TABLE alert_events; DROP TABLE notifications;"
	    "DROP TABLE notification_events; DROP TABLE silences;"
	    "PRAGMA user_version = 3", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	/* a reader that may not write cannot upgrade it: it says so */
	ck_assert_int_eq(chmod(dbpath, 0444), 0);
	if (access(dbpath, W_OK) == -1) {
		ck_assert_ptr_null(store_open(dbpath, STORE_READER, &err));
		ck_assert_ptr_nonnull(strstr(err, "schema version 3 is older"));
		free(err);
		err = NULL;
	}
	ck_assert_int_eq(chmod(dbpath, 0644), 0);

	st = open_ok(0);
	ck_assert_int_eq(store_schema_version(st), 4);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM messages"), 1);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM sqlite_master WHERE "
	    "name IN ('alerts', 'alert_events', 'notifications', "
	    "'notification_events', 'silences', 'alerts_firing', "
	    "'alerts_fired', 'alerts_resolved', 'alert_events_pending', "
	    "'notifications_pending', 'notification_events_event')"), 11);
	add_alert(st, "overdue", "acme", "D1", 1000, -1);
	ck_assert_str_eq(list(st, &f, &l), "overdue/acme/D1");
	store_close(st);
}
END_TEST

/* The listing and pending queries use their indexes. */
static char *
plan(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	char *out = xstrdup("");

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		char *n;

		xasprintf(&n, "%s%s\n", out, sqlite3_column_text(s, 3));
		free(out);
		out = n;
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return out;
}

START_TEST(test_indexes_used)
{
	struct store *st = open_ok(0);
	char *p;

	store_close(st);
	/* the shapes of store-sqlite.c's S_ALERT_SINCE and S_ALERT_FIRING */
	p = plan("EXPLAIN QUERY PLAN SELECT * FROM alerts WHERE id IN ("
	    "SELECT id FROM alerts WHERE fired_ms >= 5 UNION ALL "
	    "SELECT id FROM alerts WHERE resolved_ms >= 5) "
	    "ORDER BY +fired_ms DESC, id DESC LIMIT 10");
	ck_assert_msg(strstr(p, "alerts_fired (fired_ms>?)") &&
	    strstr(p, "alerts_resolved (resolved_ms>?)"), "%s", p);
	free(p);
	p = plan("EXPLAIN QUERY PLAN SELECT * FROM alerts WHERE "
	    "resolved_ms IS NULL ORDER BY +fired_ms DESC, id DESC LIMIT 10");
	ck_assert_msg(strstr(p, "alerts_firing") != NULL, "%s", p);
	free(p);
	p = plan("EXPLAIN QUERY PLAN SELECT * FROM alert_events WHERE "
	    "done IS NULL ORDER BY id");
	ck_assert_msg(strstr(p, "alert_events_pending") != NULL, "%s", p);
	free(p);
	p = plan("EXPLAIN QUERY PLAN SELECT * FROM notifications WHERE "
	    "state = 'pending' ORDER BY id");
	ck_assert_msg(strstr(p, "notifications_pending") != NULL, "%s", p);
	free(p);
}
END_TEST

static Suite *
store_alerts_suite(void)
{
	Suite *s = suite_create("store-alerts");
	TCase *tc = tcase_create("store-alerts");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_alerts_filters);
	tcase_add_test(tc, test_alert_update);
	tcase_add_test(tc, test_unique_firing);
	tcase_add_test(tc, test_events);
	tcase_add_test(tc, test_notifications);
	tcase_add_test(tc, test_silences);
	tcase_add_test(tc, test_tx_rollback);
	tcase_add_test(tc, test_tx_nested);
	tcase_add_test(tc, test_tx_takes_write_lock);
	tcase_add_test(tc, test_tx_in_batch);
	tcase_add_test(tc, test_tx_commit_fails);
	tcase_add_test(tc, test_close_with_tx_open);
	tcase_add_test(tc, test_reader_sees_alerts);
	tcase_add_test(tc, test_migrate_from_3);
	tcase_add_test(tc, test_indexes_used);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_alerts_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>	/* only to craft databases of other versions */

#include "engine.h"
#include "msg.h"
#include "store.h"
#include "xmalloc.h"

static char tmpdir[64];
static char dbpath[128];

static void
setup(void)
{
	strcpy(tmpdir, "/tmp/check-store.XXXXXX");
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
open_ok(const char *path)
{
	char *err = NULL;
	struct store *st = store_open(path, STORE_CREATE, &err);

	if (st == NULL)
		ck_abort_msg("store_open: %s", err);
	return st;
}

/* A message with fixed platform/account; times in seconds from 0. */
static struct msg
mk(const char *id, const char *conv, enum msg_kind kind,
    enum msg_direction dir, int64_t t, const char *author,
    const char *reply_to)
{
	struct msg m = {
		.platform = (char *)"x", .account = (char *)"acme",
		.id = (char *)id, .conversation = (char *)conv, .kind = kind,
		.direction = dir, .created_ms = 1700000000000LL + t * 1000,
		.author = (char *)author, .in_reply_to = (char *)reply_to,
		.text = (char *)"hello", .complaint = MSG_COMPLAINT_UNKNOWN,
	};
	return m;
}

static void
put_all(struct store *st, const struct msg *msgs, const size_t *order,
    size_t n, size_t batch)
{
	char *err = NULL;
	size_t i;
	int added;

	for (i = 0; i < n; i++) {
		if (i % batch == 0)
			ck_assert_int_eq(store_begin(st, &err), 0);
		if (store_put_message(st, &msgs[order ? order[i] : i], &added,
		    &err) != 0)
			ck_abort_msg("put: %s", err);
		if (i % batch == batch - 1 || i == n - 1)
			if (store_commit(st, &err) != 0)
				ck_abort_msg("commit: %s", err);
	}
}

/* A canonical text dump of the waits and first responses. */
struct dump {
	char	*s;
};

static void
dump_append(struct dump *d, const char *line)
{
	char *n;

	xasprintf(&n, "%s%s\n", d->s ? d->s : "", line);
	free(d->s);
	d->s = n;
}

static void
dump_wait(const struct stats_wait *w, void *arg)
{
	char line[256];

	snprintf(line, sizeof line, "W %s %s %d %lld %lld %lld", w->platform,
	    w->account, w->kind, (long long)w->opened_ms,
	    (long long)w->closed_ms, (long long)w->complaint_ms);
	dump_append(arg, line);
}

static void
dump_conv(const struct stats_conversation *c, void *arg)
{
	char line[256];

	snprintf(line, sizeof line, "C %s %d %lld %lld %lld", c->account,
	    c->kind, (long long)c->first_ms, (long long)c->first_response_ms,
	    (long long)c->first_complaint_ms);
	dump_append(arg, line);
}

static void
dump_pending(const struct store_pending *p, void *arg)
{
	char line[512];

	snprintf(line, sizeof line, "P %s %s %s %lld %d %s", p->account,
	    p->conversation, p->author ? p->author : "-",
	    (long long)p->opened_ms, p->inbound, p->first_id);
	dump_append(arg, line);
}

static int
cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every wait, conversation and open wait, lines sorted. */
static char *
dump_store(struct store *st)
{
	struct store_filter f = { .since_ms = 0, .until_ms = INT64_MAX,
	    .at_ms = INT64_MAX - 1, .kind = -1 };
	struct dump d = { NULL };
	char *err = NULL, *lines[4096], *p, *out;
	size_t n = 0, i, len = 0;

	ck_assert_int_eq(store_each_wait(st, &f, dump_wait, &d, &err), 0);
	ck_assert_int_eq(store_each_conversation(st, &f, dump_conv, &d, &err), 0);
	ck_assert_int_eq(store_each_pending(st, &f, dump_pending, &d, &err), 0);
	if (d.s == NULL)
		return xstrdup("");
	for (p = strtok(d.s, "\n"); p != NULL && n < 4096; p = strtok(NULL, "\n"))
		lines[n++] = p;
	qsort(lines, n, sizeof *lines, cmp_lines);
	for (i = 0; i < n; i++)
		len += strlen(lines[i]) + 1;
	out = xcalloc(1, len + 1);
	for (i = 0; i < n; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
	}
	free(d.s);
	return out;
}

START_TEST(test_schema_created)
{
	struct store *st = open_ok(dbpath);
	sqlite3 *db;
	sqlite3_stmt *s;

	ck_assert_int_eq(store_schema_version(st), store_schema_latest());
	store_close(st);
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
	struct store *st = open_ok(dbpath);
	char *err = NULL;
	sqlite3 *db;

	store_close(st);
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	st = store_open(dbpath, 0, &err);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(err, "schema version 99 is newer"));
	free(err);
}
END_TEST

START_TEST(test_old_schema_migrated)
{
	struct store *st;
	sqlite3 *db;

	/* a database from before the first migration: empty, version 0,
	 * with an unrelated table the migration must leave alone */
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE keep (x); "
	    "INSERT INTO keep VALUES (42)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = open_ok(dbpath);
	ck_assert_int_eq(store_schema_version(st), store_schema_latest());
	store_close(st);
}
END_TEST

START_TEST(test_missing_database)
{
	char *err = NULL, path[256];

	snprintf(path, sizeof path, "%s/nope/none.db", tmpdir);
	ck_assert_ptr_null(store_open(path, 0, &err));
	ck_assert_ptr_nonnull(strstr(err, "cannot open database"));
	free(err);
}
END_TEST

/* The spec's reference example. */
static const struct {
	const char *id, *conv, *author, *reply;
	enum msg_kind kind;
	enum msg_direction dir;
	int t;
} reference[] = {
	{ "d1", "D1", "A", NULL, MSG_DIRECT, MSG_INBOUND, 0 },
	{ "d2", "D1", "A", NULL, MSG_DIRECT, MSG_INBOUND, 300 },
	{ "d3", "D1", "acme", NULL, MSG_DIRECT, MSG_OUTBOUND, 720 },
	{ "m1", "P1", "B", NULL, MSG_BROADCAST, MSG_INBOUND, 1200 },
	{ "m2", "P1", "C", NULL, MSG_BROADCAST, MSG_INBOUND, 1260 },
	{ "r2", "P1", "acme", "m2", MSG_BROADCAST, MSG_OUTBOUND, 1800 },
	{ "r1", "P1", "acme", "m1", MSG_BROADCAST, MSG_OUTBOUND, 1860 },
};
#define NREF (sizeof reference / sizeof reference[0])

static void
reference_msgs(struct msg *out)
{
	size_t i;

	for (i = 0; i < NREF; i++)
		out[i] = mk(reference[i].id, reference[i].conv,
		    reference[i].kind, reference[i].dir, reference[i].t,
		    reference[i].author, reference[i].reply);
}

START_TEST(test_reference_example)
{
	struct store *st = open_ok(dbpath);
	struct msg msgs[NREF];
	char *d;

	reference_msgs(msgs);
	put_all(st, msgs, NULL, NREF, 100);
	d = dump_store(st);
	ck_assert_str_eq(d,
	    "C acme 0 1700000000000 1700000720000 -1\n"
	    "C acme 1 1700001200000 1700001800000 -1\n"
	    "W x acme 0 1700000000000 1700000720000 -1\n"
	    "W x acme 1 1700001200000 1700001860000 -1\n"
	    "W x acme 1 1700001260000 1700001800000 -1\n");
	free(d);
	store_close(st);
}
END_TEST

/* Every order of arrival, in batches of one, gives the same store. */
START_TEST(test_incremental_any_order)
{
	struct msg msgs[NREF];
	size_t order[NREF], i, j, round;
	char *want, *got;
	struct store *st;
	unsigned seed = 1;

	reference_msgs(msgs);
	st = open_ok(dbpath);
	put_all(st, msgs, NULL, NREF, 100);
	want = dump_store(st);
	store_close(st);

	for (round = 0; round < 60; round++) {
		char path[256];

		for (i = 0; i < NREF; i++)
			order[i] = i;
		for (i = NREF - 1; i > 0; i--) {
			size_t tmp;

			j = (size_t)rand_r(&seed) % (i + 1);
			tmp = order[i];
			order[i] = order[j];
			order[j] = tmp;
		}
		snprintf(path, sizeof path, "%s/r%zu.db", tmpdir, round);
		st = open_ok(path);
		put_all(st, msgs, order, NREF, 1 + round % 3);
		/* and the same messages once more */
		put_all(st, msgs, order, NREF, 2);
		got = dump_store(st);
		ck_assert_str_eq(got, want);
		free(got);
		store_close(st);
	}
	free(want);
}
END_TEST

/* A reply stored in another conversation than the message it answers,
 * stored before it. */
START_TEST(test_cross_conversation_reply)
{
	struct store *st = open_ok(dbpath);
	struct msg a[] = {
		mk("r", "OTHER", MSG_BROADCAST, MSG_OUTBOUND, 100, "acme", "q"),
		mk("q", "P", MSG_BROADCAST, MSG_INBOUND, 10, "B", NULL),
	};
	char *d;

	put_all(st, a, NULL, 1, 1);
	put_all(st, a + 1, NULL, 1, 1);
	d = dump_store(st);
	ck_assert_ptr_nonnull(strstr(d, "W x acme 1 1700000010000 1700000100000 -1\n"));
	free(d);
	store_close(st);
}
END_TEST

/* The same, when the answered message arrives in order in a conversation
 * that already has messages: the batch cannot simply be appended. */
START_TEST(test_cross_conversation_reply_later)
{
	struct store *st = open_ok(dbpath);
	struct msg a[] = {
		mk("p0", "P", MSG_BROADCAST, MSG_INBOUND, 1, "A", NULL),
		mk("r", "OTHER", MSG_BROADCAST, MSG_OUTBOUND, 100, "acme", "q"),
		mk("q", "P", MSG_BROADCAST, MSG_INBOUND, 10, "B", NULL),
	};
	char *d;

	put_all(st, a, NULL, 1, 1);
	put_all(st, a + 1, NULL, 1, 1);
	put_all(st, a + 2, NULL, 1, 1);
	d = dump_store(st);
	ck_assert_ptr_nonnull(strstr(d, "W x acme 1 1700000010000 1700000100000 -1\n"));
	ck_assert_ptr_nonnull(strstr(d, "W x acme 1 1700000001000 -1 -1\n"));
	free(d);
	store_close(st);
}
END_TEST

/*
 * Public threads whose replies cross threads: a brand reply may answer a
 * message of another thread, or one that never arrives. Stored in any
 * order and any batches, the waits equal those computed by the engine
 * from all the messages at once.
 */
#define XN 14

static void
cross_messages(unsigned *seed, struct msg *m, char ids[][8], char irt[][8])
{
	static const char *const convs[] = { "P", "Q", "R" };
	static const char *const authors[] = { "A", "B", "C" };
	size_t i;

	for (i = 0; i < XN; i++) {
		/* one draw a statement: the order of draws is fixed */
		int out = i > 2 && rand_r(seed) % 3 == 0;
		const char *conv = convs[rand_r(seed) % 3];
		int64_t t = 10 * (int64_t)i + rand_r(seed) % 15;
		const char *author = out ? "acme" : authors[rand_r(seed) % 3];

		snprintf(ids[i], 8, "m%02zu", i);
		m[i] = mk(ids[i], conv, MSG_BROADCAST,
		    out ? MSG_OUTBOUND : MSG_INBOUND, t, author, NULL);
		if (out) {
			/* an earlier message, or one never stored */
			if (rand_r(seed) % 6 == 0)
				snprintf(irt[i], 8, "zz");
			else
				snprintf(irt[i], 8, "m%02u",
				    (unsigned)(rand_r(seed) % i));
			m[i].in_reply_to = irt[i];
		}
	}
}

/* The expected waits: the engine over each thread's messages and the
 * replies from other threads to them. */
static char *
cross_expected(const struct msg *m)
{
	static const char *const convs[] = { "P", "Q", "R" };
	struct dump d = { NULL };
	char *lines[256], *p, *out;
	size_t c, i, j, n, nl = 0, len = 0;

	for (c = 0; c < 3; c++) {
		struct engine_msg em[XN];
		struct engine_result res;

		n = 0;
		for (i = 0; i < XN; i++) {
			int own = strcmp(m[i].conversation, convs[c]) == 0;
			int foreign = 0;

			if (!own && m[i].direction == MSG_OUTBOUND)
				for (j = 0; j < XN; j++)
					if (strcmp(m[j].id, m[i].in_reply_to) == 0 &&
					    strcmp(m[j].conversation, convs[c]) == 0)
						foreign = 1;
			if (!own && !foreign)
				continue;
			memset(&em[n], 0, sizeof em[n]);
			em[n].ref = (int64_t)i;
			em[n].id = m[i].id;
			em[n].author = m[i].author;
			em[n].in_reply_to = m[i].in_reply_to;
			em[n].created_ms = m[i].created_ms;
			em[n].direction = m[i].direction;
			em[n].foreign = foreign;
			n++;
		}
		engine_compute(MSG_BROADCAST, em, n, &res);
		for (i = 0; i < res.nwaits; i++) {
			char line[128];

			snprintf(line, sizeof line, "W x acme 1 %lld %lld -1",
			    (long long)res.waits[i].opened_ms,
			    (long long)res.waits[i].closed_ms);
			dump_append(&d, line);
		}
		engine_result_clear(&res);
	}
	if (d.s == NULL)
		return xstrdup("");
	for (p = strtok(d.s, "\n"); p != NULL; p = strtok(NULL, "\n"))
		lines[nl++] = p;
	qsort(lines, nl, sizeof *lines, cmp_lines);
	for (i = 0; i < nl; i++)
		len += strlen(lines[i]) + 1;
	out = xcalloc(1, len + 1);
	for (i = 0; i < nl; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
	}
	free(d.s);
	return out;
}

/* Only the W lines of a dump. */
static char *
waits_only(const char *dump)
{
	char *out = xcalloc(1, strlen(dump) + 1), *o = out;
	const char *p = dump;

	while (*p != '\0') {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) + 1 : strlen(p);

		if (p[0] == 'W') {
			memcpy(o, p, n);
			o += n;
		}
		p += n;
	}
	return out;
}

START_TEST(test_cross_replies_any_order)
{
	unsigned seed = 7 + (unsigned)_i;
	char ids[XN][8], irt[XN][8], path[256], *want, *got, *w;
	struct msg m[XN];
	size_t order[XN], i, j, round;
	struct store *st;

	cross_messages(&seed, m, ids, irt);
	want = cross_expected(m);
	for (round = 0; round < 6; round++) {
		for (i = 0; i < XN; i++)
			order[i] = i;
		for (i = XN - 1; i > 0 && round > 0; i--) {
			size_t tmp;

			j = (size_t)rand_r(&seed) % (i + 1);
			tmp = order[i];
			order[i] = order[j];
			order[j] = tmp;
		}
		snprintf(path, sizeof path, "%s/x%d-%zu.db", tmpdir, _i, round);
		st = open_ok(path);
		put_all(st, m, order, XN, 1 + round % 4);
		put_all(st, m, order, XN, 3);	/* again: changes nothing */
		got = dump_store(st);
		w = waits_only(got);
		if (strcmp(w, want) != 0)
			ck_abort_msg("seed %d round %zu:\nwant\n%sgot\n%s", _i,
			    round, want, w);
		free(w);
		free(got);
		store_close(st);
	}
	free(want);
}
END_TEST

static void
count_msg(const struct msg *m, void *arg)
{
	char **ids = arg;
	char *n;

	xasprintf(&n, "%s%s ", *ids ? *ids : "", m->id);
	free(*ids);
	*ids = n;
}

/* The log's window finds its messages whatever order and batches they
 * came in: hours apart, the later hour stored first. */
START_TEST(test_message_window)
{
	struct store *st = open_ok(dbpath);
	struct msg a[] = {
		mk("late", "D", MSG_DIRECT, MSG_INBOUND, 7200, "A", NULL),
		mk("early", "E", MSG_DIRECT, MSG_INBOUND, 10, "B", NULL),
		mk("mid", "F", MSG_DIRECT, MSG_INBOUND, 3700, "C", NULL),
		mk("late2", "D", MSG_DIRECT, MSG_OUTBOUND, 7300, "acme", NULL),
	};
	struct store_filter f = { .kind = -1, .at_ms = INT64_MAX };
	char *err = NULL, *ids = NULL;

	put_all(st, a, NULL, 1, 1);
	put_all(st, a + 1, NULL, 3, 2);
	f.since_ms = 1700000000000LL;
	f.until_ms = 1700000000000LL + 3700 * 1000;
	ck_assert_int_eq(store_each_message(st, &f, count_msg, &ids, &err), 0);
	ck_assert_str_eq(ids, "early ");
	free(ids);
	ids = NULL;
	f.until_ms = 1700000000000LL + 8000 * 1000;
	ck_assert_int_eq(store_each_message(st, &f, count_msg, &ids, &err), 0);
	ck_assert_str_eq(ids, "early mid late late2 ");
	free(ids);
	ids = NULL;
	f.since_ms = 1700000000000LL + 3700 * 1000;
	ck_assert_int_eq(store_each_message(st, &f, count_msg, &ids, &err), 0);
	ck_assert_str_eq(ids, "mid late late2 ");
	free(ids);
	store_close(st);
}
END_TEST

START_TEST(test_mutable_fields)
{
	struct store *st = open_ok(dbpath);
	struct msg m = mk("a", "D", MSG_DIRECT, MSG_INBOUND, 0, "A", NULL);
	char *err = NULL, *before, *after;
	int added;

	put_all(st, &m, NULL, 1, 1);
	before = dump_store(st);
	ck_assert_ptr_nonnull(strstr(before, "W x acme 0 1700000000000 -1 -1\n"));
	/* new text, and a different created_at which must be ignored */
	m.text = (char *)"edited";
	m.created_ms += 5000;
	ck_assert_int_eq(store_begin(st, &err), 0);
	ck_assert_int_eq(store_put_message(st, &m, &added, &err), 0);
	ck_assert_int_eq(added, 0);
	ck_assert_int_eq(store_commit(st, &err), 0);
	after = dump_store(st);
	ck_assert_str_eq(after, before);
	free(after);
	/* flagged as a complaint: the wait becomes a complaint wait */
	m.complaint = MSG_COMPLAINT_YES;
	put_all(st, &m, NULL, 1, 1);
	after = dump_store(st);
	ck_assert_ptr_nonnull(strstr(after,
	    "W x acme 0 1700000000000 -1 1700000000000\n"));
	free(after);
	free(before);
	store_close(st);
}
END_TEST

START_TEST(test_rollback)
{
	struct store *st = open_ok(dbpath);
	struct msg m = mk("a", "D", MSG_DIRECT, MSG_INBOUND, 0, "A", NULL);
	char *err = NULL, *d;
	int added;

	ck_assert_int_eq(store_begin(st, &err), 0);
	ck_assert_int_eq(store_put_message(st, &m, &added, &err), 0);
	store_rollback(st);
	d = dump_store(st);
	ck_assert_str_eq(d, "");
	free(d);
	/* the account cache forgot the rolled-back account */
	put_all(st, &m, NULL, 1, 1);
	d = dump_store(st);
	ck_assert_ptr_nonnull(strstr(d, "W x acme 0"));
	free(d);
	store_close(st);
}
END_TEST

START_TEST(test_window_uses_index)
{
	struct store *st = open_ok(dbpath);
	struct store_filter f = { .since_ms = 1000, .until_ms = 86401000,
	    .at_ms = 86401000, .kind = -1 };
	char *plan = store_explain_wait_query(st, &f);

	ck_assert_ptr_nonnull(strstr(plan, "USING COVERING INDEX waits_opened"));
	ck_assert_ptr_null(strstr(plan, "SCAN waits"));
	free(plan);
	store_close(st);
}
END_TEST

START_TEST(test_concurrent_reader)
{
	struct store *w = open_ok(dbpath), *r;
	struct msg m = mk("a", "D", MSG_DIRECT, MSG_INBOUND, 0, "A", NULL);
	char *err = NULL, *d;
	int added;

	/* a reader works while a writer holds an open batch */
	ck_assert_int_eq(store_begin(w, &err), 0);
	ck_assert_int_eq(store_put_message(w, &m, &added, &err), 0);
	r = open_ok(dbpath);
	d = dump_store(r);
	ck_assert_str_eq(d, "");
	free(d);
	ck_assert_int_eq(store_commit(w, &err), 0);
	d = dump_store(r);
	ck_assert_ptr_nonnull(strstr(d, "W x acme 0"));
	free(d);
	store_close(r);
	store_close(w);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_schema_created);
	tcase_add_test(tc, test_newer_schema_refused);
	tcase_add_test(tc, test_old_schema_migrated);
	tcase_add_test(tc, test_missing_database);
	tcase_add_test(tc, test_reference_example);
	tcase_add_test(tc, test_incremental_any_order);
	tcase_add_test(tc, test_cross_conversation_reply);
	tcase_add_test(tc, test_cross_conversation_reply_later);
	tcase_add_test(tc, test_mutable_fields);
	tcase_add_test(tc, test_message_window);
	tcase_add_loop_test(tc, test_cross_replies_any_order, 0, 25);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_rollback);
	tcase_add_test(tc, test_window_uses_index);
	tcase_add_test(tc, test_concurrent_reader);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

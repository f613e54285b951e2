/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alert-notice.h"
#include "store.h"

#define SEC	INT64_C(1000)
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)

/* 2026-11-25T12:00:00Z */
#define NOV25	INT64_C(1795608000000)

static const char overdue_details[] =
    "{\"kind\":\"direct\",\"conversation\":\"c-1\",\"message_id\":\"m-1\","
    "\"author\":\"@bob\",\"opened_at\":\"2026-11-25T11:18:00Z\","
    "\"deadline\":\"2026-11-25T11:48:00Z\",\"target_seconds\":1800,"
    "\"complaint\":false,\"url\":\"https://x.example/m-1\","
    "\"excerpt\":\"where is my parcel\"}";

static struct store_alert
overdue(const char *severity, int64_t resolved_ms, const char *details)
{
	struct store_alert a;

	memset(&a, 0, sizeof a);
	a.id = 17;
	a.rule = "overdue";
	a.account = "acme-x";
	a.subject = "direct:c-1:m-1";
	a.severity = severity;
	a.summary = "overdue: direct reply for acme-x to @bob (target 30 min)";
	a.details = details;
	a.fired_ms = NOV25 - 12 * MIN;
	a.resolved_ms = resolved_ms;
	a.notified_ms = -1;
	return a;
}

START_TEST(duration_words)
{
	char b[NOTICE_DURATION_LEN];

	notice_duration(45 * SEC, b);
	ck_assert_str_eq(b, "45 s");
	notice_duration(42 * MIN + 59 * SEC, b);
	ck_assert_str_eq(b, "42 min");
	notice_duration(2 * HOUR, b);
	ck_assert_str_eq(b, "2 h");
	notice_duration(HOUR + 5 * MIN, b);
	ck_assert_str_eq(b, "1 h 5 min");
	notice_duration(76 * HOUR, b);
	ck_assert_str_eq(b, "3 d 4 h");
	notice_duration(48 * HOUR, b);
	ck_assert_str_eq(b, "2 d");
	notice_duration(-5, b);
	ck_assert_str_eq(b, "0 s");
}
END_TEST

START_TEST(overdue_firing)
{
	struct store_alert a = overdue("critical", -1, overdue_details);
	const struct store_alert *v[] = { &a };
	struct notice n;
	cJSON *j, *al, *d;

	ck_assert_int_eq(notice_build("firing", "rw1-1-2-hook", v, 1, NOV25,
	    &n), 0);
	/* opened 11:18, now 12:00: waiting 42 min */
	ck_assert_str_eq(n.subject,
	    "[replywatch] overdue: direct reply for acme-x, waiting 42 min");
	ck_assert_ptr_nonnull(strstr(n.text, "From: @bob"));
	ck_assert_ptr_nonnull(strstr(n.text, "https://x.example/m-1"));
	ck_assert_ptr_nonnull(strstr(n.text, "waiting 42 min (target 30 min)"));
	ck_assert_ptr_nonnull(strstr(n.text, "replywatch silence add "
	    "--account acme-x --rule overdue"));

	j = cJSON_Parse(n.json);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(cJSON_GetObjectItem(j, "version")->valueint, 1);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "key")->valuestring,
	    "rw1-1-2-hook");
	ck_assert_str_eq(cJSON_GetObjectItem(j, "event")->valuestring,
	    "firing");
	ck_assert_str_eq(cJSON_GetObjectItem(j, "summary")->valuestring,
	    "overdue: direct reply for acme-x, waiting 42 min");
	al = cJSON_GetObjectItem(j, "alerts");
	ck_assert_int_eq(cJSON_GetArraySize(al), 1);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(al, 0),
	    "state")->valuestring, "firing");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(al, 0),
	    "resolved_at")));
	d = cJSON_GetObjectItem(cJSON_GetArrayItem(al, 0), "details");
	ck_assert_str_eq(cJSON_GetObjectItem(d, "author")->valuestring,
	    "@bob");
	cJSON_Delete(j);
	notice_clear(&n);
}
END_TEST

START_TEST(overdue_warning_and_repeat)
{
	struct store_alert a = overdue("warning", -1, overdue_details);
	const struct store_alert *v[] = { &a };
	struct notice n;

	notice_build("firing", "k", v, 1, NOV25 - 18 * MIN, &n);
	ck_assert_str_eq(n.subject, "[replywatch] due soon: direct reply "
	    "for acme-x, waiting 24 min of 30 min");
	notice_clear(&n);
	a.severity = "critical";
	notice_build("repeat", "k", v, 1, NOV25 + HOUR, &n);
	ck_assert_str_eq(n.subject, "[replywatch] still overdue: direct "
	    "reply for acme-x, waiting 1 h 42 min");
	notice_clear(&n);
}
END_TEST

START_TEST(overdue_resolved)
{
	static const char replied[] =
	    "{\"kind\":\"broadcast\",\"opened_at\":\"2026-11-25T11:00:00Z\","
	    "\"deadline\":\"2026-11-25T11:30:00Z\",\"target_seconds\":1800,"
	    "\"complaint\":true,\"replied_at\":\"2026-11-25T12:05:00Z\","
	    "\"reply_id\":\"r-9\"}";
	struct store_alert a = overdue("critical", NOV25 + 6 * MIN, replied);
	const struct store_alert *v[] = { &a };
	struct notice n;

	notice_build("resolved", "k", v, 1, NOV25 + 6 * MIN, &n);
	ck_assert_str_eq(n.subject, "[replywatch] resolved: overdue broadcast "
	    "reply to a complaint for acme-x, answered after 1 h 5 min");
	ck_assert_ptr_null(strstr(n.text, "silence add"));
	ck_assert_ptr_nonnull(strstr(n.json, "\"state\":\"resolved\""));
	notice_clear(&n);
}
END_TEST

START_TEST(overdue_group)
{
	static const char older[] =
	    "{\"kind\":\"direct\",\"opened_at\":\"2026-11-25T10:00:00Z\","
	    "\"target_seconds\":1800}";
	struct store_alert a = overdue("critical", -1, overdue_details);
	struct store_alert b = overdue("critical", -1, older);
	const struct store_alert *v[] = { &a, &b };
	struct notice n;
	cJSON *j;

	b.id = 18;
	notice_build("firing", "k", v, 2, NOV25, &n);
	ck_assert_str_eq(n.subject, "[replywatch] overdue: 2 replies for "
	    "acme-x, oldest waiting 2 h");
	j = cJSON_Parse(n.json);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "alerts")),
	    2);
	cJSON_Delete(j);
	notice_clear(&n);
}
END_TEST

START_TEST(other_rules_and_bad_details)
{
	struct store_alert a = overdue("critical", -1, "{not json");
	const struct store_alert *v[] = { &a };
	struct notice n;
	cJSON *j;

	/* details that do not parse still give a notice */
	ck_assert_int_eq(notice_build("firing", "k", v, 1, NOV25, &n), 0);
	j = cJSON_Parse(n.json);
	ck_assert_ptr_nonnull(j);
	cJSON_Delete(j);
	notice_clear(&n);

	a.rule = "backlog";
	a.subject = "";
	a.severity = "warning";
	a.summary = "backlog: acme-x, 250 waits open (limit 200)";
	a.details = "{\"open\":250,\"limit\":200}";
	notice_build("firing", "k", v, 1, NOV25, &n);
	ck_assert_str_eq(n.subject,
	    "[replywatch] backlog: acme-x, 250 waits open (limit 200)");
	notice_clear(&n);
	a.resolved_ms = NOV25;
	notice_build("resolved", "k", v, 1, NOV25, &n);
	ck_assert_str_eq(n.subject, "[replywatch] resolved: backlog: acme-x, "
	    "250 waits open (limit 200)");
	notice_clear(&n);
	ck_assert_int_eq(notice_build("firing", "k", v, 0, NOV25, &n), -1);
}
END_TEST

START_TEST(long_group_text_is_cut)
{
	struct store_alert a[30];
	const struct store_alert *v[30];
	struct notice n;
	cJSON *j;
	size_t i;

	for (i = 0; i < 30; i++) {
		a[i] = overdue("critical", -1, overdue_details);
		a[i].id = (int64_t)i + 1;
		v[i] = &a[i];
	}
	notice_build("firing", "k", v, 30, NOV25, &n);
	ck_assert_ptr_nonnull(strstr(n.text, "... and 5 more"));
	j = cJSON_Parse(n.json);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "alerts")),
	    30);
	cJSON_Delete(j);
	notice_clear(&n);
}
END_TEST

static Suite *
notice_suite(void)
{
	Suite *s = suite_create("alert-notice");
	TCase *tc = tcase_create("notice");

	tcase_add_test(tc, duration_words);
	tcase_add_test(tc, overdue_firing);
	tcase_add_test(tc, overdue_warning_and_repeat);
	tcase_add_test(tc, overdue_resolved);
	tcase_add_test(tc, overdue_group);
	tcase_add_test(tc, other_rules_and_bad_details);
	tcase_add_test(tc, long_group_text_is_cut);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(notice_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "msg.h"
#include "xmalloc.h"

/*
 * The normalized message of doc/reply-time.md §1: what is accepted, what
 * is refused and why (the reason names the field, except for what is
 * wrong with the line as a whole: invalid UTF-8, invalid JSON, a NUL
 * character), and the way back to JSON.
 */

#define SEC	INT64_C(1000)

/* 2026-11-25T12:00:00Z */
#define NOV25	INT64_C(1795608000000)

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A valid message with only the required fields. */
#define REQUIRED_FIELDS \
	"\"platform\":\"x\",\"account\":\"acme\",\"id\":\"m1\"," \
	"\"conversation\":\"c1\",\"kind\":\"direct\"," \
	"\"direction\":\"inbound\",\"created_at\":\"2026-11-25T12:00:00Z\""

static const char *const required[] = {
	"platform", "account", "id", "conversation", "kind", "direction",
	"created_at",
};

static const char *const string_fields[] = {
	"platform", "account", "id", "conversation", "kind", "direction",
	"created_at", "author", "in_reply_to", "text", "url",
};

/* ---- helpers --------------------------------------------------------------- */

/* Parse len bytes of s from a copy of exactly that size, with no NUL
 * after it: under valgrind, reading past len is an error. */
static int
parse_buf(const char *s, size_t len, struct msg *m, char **err)
{
	char *copy = xmalloc(len);
	int rc;

	memcpy(copy, s, len);
	*err = NULL;
	rc = msg_parse_json(copy, len, m, err);
	free(copy);
	return rc;
}

static int
parse_str(const char *s, struct msg *m, char **err)
{
	return parse_buf(s, strlen(s), m, err);
}

/* The base message as a cJSON object, to be altered by a test. */
static cJSON *
base_obj(void)
{
	cJSON *o = cJSON_Parse("{" REQUIRED_FIELDS "}");

	ck_assert_msg(o != NULL, "base message: invalid JSON near \"%s\"",
	    cJSON_GetErrorPtr() != NULL ? cJSON_GetErrorPtr() : "");
	return o;
}

/* Set member key of o to v (consumed): in its place when o has it, at the
 * end otherwise. */
static void
set_item(cJSON *o, const char *key, cJSON *v)
{
	ck_assert_ptr_nonnull(v);
	if (cJSON_GetObjectItemCaseSensitive(o, key) != NULL)
		ck_assert(cJSON_ReplaceItemInObjectCaseSensitive(o, key, v));
	else
		ck_assert(cJSON_AddItemToObject(o, key, v));
}

static void
set_string(cJSON *o, const char *key, const char *s)
{
	set_item(o, key, cJSON_CreateString(s));
}

/* The JSON text of o, on one line; free with cJSON_free. */
static char *
print_obj(const cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(strchr(s, '\n'));
	return s;
}

/* Parse the JSON text of o (consumed). */
static int
parse_obj(cJSON *o, struct msg *m, char **err)
{
	char *s = print_obj(o);
	int rc;

	cJSON_Delete(o);
	rc = parse_str(s, m, err);
	cJSON_free(s);
	return rc;
}

/* After a refusal: nothing to free, nothing left, and a reason naming
 * what is wrong. The reason is read through errp after the call that
 * set it (arguments are evaluated in no particular order). */
static void
check_refused(int rc, struct msg *m, char **errp, const char *what,
    const char *why)
{
	char reason[1024];
	int had_reason = *errp != NULL, left_over;

	/* copy and free everything first, so that a failed assertion
	 * leaks nothing under CK_FORK=no */
	snprintf(reason, sizeof reason, "%s", had_reason ? *errp : "");
	free(*errp);
	*errp = NULL;
	left_over = m->platform != NULL || m->account != NULL ||
	    m->id != NULL || m->conversation != NULL || m->author != NULL ||
	    m->in_reply_to != NULL || m->text != NULL || m->url != NULL;
	/* msg_clear on a refused message is harmless */
	msg_clear(m);

	ck_assert_int_eq(rc, -1);
	ck_assert_msg(had_reason, "no reason given");
	ck_assert_msg(!left_over, "refused message still holds strings");
	if (what != NULL)
		ck_assert_msg(strstr(reason, what) != NULL,
		    "reason \"%s\" does not name %s", reason, what);
	if (why != NULL)
		ck_assert_msg(strstr(reason, why) != NULL,
		    "reason \"%s\" does not say \"%s\"", reason, why);
}

/* After a refusal, as check_refused, and the reason is exactly this. */
static void
check_refused_as(int rc, struct msg *m, char **errp, const char *want)
{
	char reason[1024];

	snprintf(reason, sizeof reason, "%s", *errp != NULL ? *errp : "");
	check_refused(rc, m, errp, NULL, NULL);
	ck_assert_str_eq(reason, want);
}

/* After a refusal, as check_refused, and the reason starts with want,
 * which ends in a number: the reason does not go on with a digit. */
static void
check_refused_starting(int rc, struct msg *m, char **errp, const char *want)
{
	char reason[1024];
	size_t n = strlen(want);

	snprintf(reason, sizeof reason, "%s", *errp != NULL ? *errp : "");
	check_refused(rc, m, errp, NULL, NULL);
	ck_assert_msg(strncmp(reason, want, n) == 0 &&
	    (reason[n] < '0' || reason[n] > '9'),
	    "reason \"%s\" does not start with \"%s\"", reason, want);
}

/* "field", with its quotes, as a reason names it. */
#define QUOTED(buf, field) snprintf((buf), sizeof(buf), "\"%s\"", (field))

static char *
repeat(const char *unit, size_t times, const char *tail)
{
	size_t ul = strlen(unit), tl = strlen(tail), i;
	char *s = xmalloc(ul * times + tl + 1);

	for (i = 0; i < times; i++)
		memcpy(s + i * ul, unit, ul);
	memcpy(s + ul * times, tail, tl + 1);
	return s;
}

/* ---- accepted lines ---------------------------------------------------------- */

START_TEST(good_all_fields)
{
	static const char line[] = "{\"platform\":\"mastodon\","
	    "\"account\":\"acme-support\",\"id\":\"110234\","
	    "\"conversation\":\"110200\",\"kind\":\"broadcast\","
	    "\"direction\":\"outbound\","
	    "\"created_at\":\"2026-11-25T14:00:00.250+02:00\","
	    "\"author\":\"@acme\",\"in_reply_to\":\"110233\","
	    "\"text\":\"Sorry to hear that \\u00e9\\ud83d\\ude00\","
	    "\"url\":\"https://social.example/@acme/110234\","
	    "\"complaint\":true}";
	struct msg m;
	char *err = NULL;

	ck_assert_int_eq(parse_str(line, &m, &err), 0);
	ck_assert_ptr_null(err);
	ck_assert_str_eq(m.platform, "mastodon");
	ck_assert_str_eq(m.account, "acme-support");
	ck_assert_str_eq(m.id, "110234");
	ck_assert_str_eq(m.conversation, "110200");
	ck_assert_int_eq(m.kind, MSG_BROADCAST);
	ck_assert_int_eq(m.direction, MSG_OUTBOUND);
	ck_assert_int_eq(m.created_ms, NOV25 + 250);
	ck_assert_str_eq(m.author, "@acme");
	ck_assert_str_eq(m.in_reply_to, "110233");
	ck_assert_str_eq(m.text, "Sorry to hear that \xc3\xa9\xf0\x9f\x98\x80");
	ck_assert_str_eq(m.url, "https://social.example/@acme/110234");
	ck_assert_int_eq(m.complaint, MSG_COMPLAINT_YES);
	msg_clear(&m);
	ck_assert_ptr_null(m.platform);
	ck_assert_ptr_null(m.text);
}
END_TEST

START_TEST(good_required_only)
{
	struct msg m;
	char *err = NULL;

	ck_assert_int_eq(parse_str("{" REQUIRED_FIELDS "}", &m, &err), 0);
	ck_assert_str_eq(m.platform, "x");
	ck_assert_str_eq(m.account, "acme");
	ck_assert_str_eq(m.id, "m1");
	ck_assert_str_eq(m.conversation, "c1");
	ck_assert_int_eq(m.kind, MSG_DIRECT);
	ck_assert_int_eq(m.direction, MSG_INBOUND);
	ck_assert_int_eq(m.created_ms, NOV25);
	ck_assert_ptr_null(m.author);
	ck_assert_ptr_null(m.in_reply_to);
	ck_assert_ptr_null(m.text);
	ck_assert_ptr_null(m.url);
	ck_assert_int_eq(m.complaint, MSG_COMPLAINT_UNKNOWN);
	msg_clear(&m);
}
END_TEST

START_TEST(good_optional_null)
{
	struct msg m;
	char *err = NULL;

	ck_assert_int_eq(parse_str("{" REQUIRED_FIELDS ",\"author\":null,"
	    "\"in_reply_to\":null,\"text\":null,\"url\":null,"
	    "\"complaint\":null}", &m, &err), 0);
	ck_assert_ptr_null(m.author);
	ck_assert_ptr_null(m.in_reply_to);
	ck_assert_ptr_null(m.text);
	ck_assert_ptr_null(m.url);
	ck_assert_int_eq(m.complaint, MSG_COMPLAINT_UNKNOWN);
	msg_clear(&m);
}
END_TEST

/* Whitespace around the object, fields in any order, and a buffer that is
 * not NUL-terminated: only len bytes are read. */
START_TEST(good_layout)
{
	static const char buf[] = " \t{ \"created_at\" : \"2026-11-25T12:00:00Z\","
	    " \"direction\":\"outbound\", \"kind\":\"broadcast\","
	    " \"conversation\":\"c\", \"id\":\"i\", \"account\":\"a\","
	    " \"platform\":\"p\" }\r\n}}} garbage";
	size_t len = strlen(buf) - strlen("}}} garbage");
	struct msg m;
	char *err = NULL;

	ck_assert_int_eq(msg_parse_json(buf, len, &m, &err), 0);
	ck_assert_ptr_null(err);
	ck_assert_str_eq(m.platform, "p");
	ck_assert_int_eq(m.kind, MSG_BROADCAST);
	ck_assert_int_eq(m.direction, MSG_OUTBOUND);
	msg_clear(&m);

	/* the same bytes from an exact copy */
	ck_assert_int_eq(parse_buf(buf, len, &m, &err), 0);
	ck_assert_ptr_null(err);
	ck_assert_str_eq(m.platform, "p");
	msg_clear(&m);

	/* the same bytes with the garbage: refused */
	ck_assert_int_eq(msg_parse_json(buf, strlen(buf), &m, &err), -1);
	check_refused(-1, &m, &err, NULL, "invalid JSON");
}
END_TEST

static const struct {
	const char	*s;
	int64_t		 ms;
} times_good[] = {
	{ "2026-11-25T12:00:00Z", NOV25 },
	{ "2026-11-25T14:00:00+02:00", NOV25 },
	{ "2026-11-25T06:30:00-05:30", NOV25 },
	{ "2026-11-26T01:45:00+13:45", NOV25 },
	{ "2026-11-25T12:00:00+00:00", NOV25 },
	{ "2026-11-25T12:00:00-00:00", NOV25 },
	{ "2026-11-25t12:00:00z", NOV25 },
	{ "2026-11-25T12:00:00.5Z", NOV25 + 500 },
	{ "2026-11-25T12:00:00.123Z", NOV25 + 123 },
	{ "2026-11-25T12:00:00.123999Z", NOV25 + 123 },
	{ "2026-11-25T13:00:00.007+01:00", NOV25 + 7 },
	{ "2026-11-25T11:59:59.999-00:00", NOV25 - 1 },
	{ "2026-11-26T00:00:00+12:00", NOV25 },
};

START_TEST(good_timestamps)
{
	cJSON *o = base_obj();
	struct msg m;
	char *err = NULL;

	set_string(o, "created_at", times_good[_i].s);
	ck_assert_msg(parse_obj(o, &m, &err) == 0, "\"%s\": %s",
	    times_good[_i].s, err);
	ck_assert_int_eq(m.created_ms, times_good[_i].ms);
	msg_clear(&m);
}
END_TEST

START_TEST(good_kinds_directions)
{
	static const char *const kinds[] = { "direct", "broadcast" };
	static const char *const dirs[] = { "inbound", "outbound" };
	size_t k, d;

	for (k = 0; k < 2; k++) {
		for (d = 0; d < 2; d++) {
			cJSON *o = base_obj();
			struct msg m;
			char *err = NULL;

			set_string(o, "kind", kinds[k]);
			set_string(o, "direction", dirs[d]);
			ck_assert_int_eq(parse_obj(o, &m, &err), 0);
			ck_assert_int_eq(m.kind, k == 0 ? MSG_DIRECT :
			    MSG_BROADCAST);
			ck_assert_int_eq(m.direction, d == 0 ? MSG_INBOUND :
			    MSG_OUTBOUND);
			msg_clear(&m);
		}
	}
}
END_TEST

START_TEST(good_complaint)
{
	static const struct {
		const char	*json;
		enum msg_complaint want;
	} c[] = {
		{ ",\"complaint\":true", MSG_COMPLAINT_YES },
		{ ",\"complaint\":false", MSG_COMPLAINT_NO },
		{ ",\"complaint\":null", MSG_COMPLAINT_UNKNOWN },
		{ "", MSG_COMPLAINT_UNKNOWN },
	};
	size_t i;

	for (i = 0; i < NELEM(c); i++) {
		char *line, *err = NULL;
		struct msg m;

		xasprintf(&line, "{" REQUIRED_FIELDS "%s}", c[i].json);
		ck_assert_int_eq(parse_str(line, &m, &err), 0);
		ck_assert_int_eq(m.complaint, c[i].want);
		msg_clear(&m);
		free(line);
	}
}
END_TEST

static const struct {
	const char	*field;
	size_t		 max;
} limits[] = {
	{ "platform", MSG_MAX_NAME },
	{ "account", MSG_MAX_NAME },
	{ "id", MSG_MAX_ID },
	{ "conversation", MSG_MAX_ID },
	{ "author", MSG_MAX_ID },
	{ "in_reply_to", MSG_MAX_ID },
	{ "text", MSG_MAX_TEXT },
	{ "url", MSG_MAX_URL },
};

/* Exactly at the limit: accepted. One byte more: refused, naming the
 * field. Limits are in bytes of UTF-8. */
START_TEST(limit_per_field)
{
	const char *f = limits[_i].field;
	size_t max = limits[_i].max;
	char *v, q[64], *err = NULL;
	cJSON *o;
	struct msg m;

	QUOTED(q, f);
	v = repeat("a", max, "");
	o = base_obj();
	set_string(o, f, v);
	ck_assert_msg(parse_obj(o, &m, &err) == 0, "%s at %zu: %s", f, max,
	    err);
	msg_clear(&m);
	free(v);

	v = repeat("a", max, "b");
	o = base_obj();
	set_string(o, f, v);
	free(v);
	check_refused(parse_obj(o, &m, &err), &m, &err, q, "longer");

	/* two-byte characters: max / 2 of them fit, one more byte does not */
	v = repeat("\xc3\xa9", max / 2, "");
	o = base_obj();
	set_string(o, f, v);
	ck_assert_int_eq(parse_obj(o, &m, &err), 0);
	msg_clear(&m);
	free(v);
	v = repeat("\xc3\xa9", max / 2, "x");
	o = base_obj();
	set_string(o, f, v);
	free(v);
	check_refused(parse_obj(o, &m, &err), &m, &err, q, "longer");
}
END_TEST

/* ---- refused lines --------------------------------------------------------- */

static const char *const not_json[] = {
	"",
	"   ",
	"{",
	"}",
	"{\"platform\":}",
	"{\"platform\":\"x\",}",
	"{'platform':'x'}",
	"platform=x",
	"{" REQUIRED_FIELDS "} {}",
	"{" REQUIRED_FIELDS "} x",
	"{" REQUIRED_FIELDS ",\"text\":\"\\ud800\"}",
	"{" REQUIRED_FIELDS ",\"text\":\"tab\there\"}",
	"{" REQUIRED_FIELDS ",\"x\":[1,]}",
	"{" REQUIRED_FIELDS ",\"complaint\":tru}",
	"{" REQUIRED_FIELDS " \"text\":\"a\"}",
	/* invalid UTF-8 is refused before the JSON is read: see
	 * refuse_bad_utf8 */
};

START_TEST(refuse_not_json)
{
	struct msg m;
	char *err = NULL;
	int rc;

	rc = parse_str(not_json[_i], &m, &err);
	check_refused(rc, &m, &err, NULL, "invalid JSON near column ");
}
END_TEST

/* "invalid JSON near column N": N is the 1-based byte column at which the
 * JSON goes wrong (the line is before + at + after; N is the first byte of
 * at). */
static const struct {
	const char	*before, *at, *after;
} not_json_at[] = {
	{ "", "platform=x", "" },
	{ "{\"platform\":", "}", "" },
	{ "{\"platform\":\"x\",", "}", "" },
	{ "{" REQUIRED_FIELDS "} ", "x", "" },
	{ "{" REQUIRED_FIELDS "} ", "{}", "" },
	{ " \t{" REQUIRED_FIELDS " }\r\n", "}", "" },
	{ "{" REQUIRED_FIELDS ",\"complaint\":", "tru", "}" },
	{ "{" REQUIRED_FIELDS ",\"x\":[1,", "]", "}" },
	{ "{" REQUIRED_FIELDS ",\"text\":\"ab", "\\x", "\"}" },
	{ "{" REQUIRED_FIELDS ",\"text\":\"ab", "\\ud800", "\"}" },
};

START_TEST(refuse_not_json_column)
{
	char *line, *err = NULL, want[64];
	struct msg m;
	int rc;

	xasprintf(&line, "%s%s%s", not_json_at[_i].before, not_json_at[_i].at,
	    not_json_at[_i].after);
	snprintf(want, sizeof want, "invalid JSON near column %zu",
	    strlen(not_json_at[_i].before) + 1);
	rc = parse_str(line, &m, &err);
	free(line);
	check_refused_starting(rc, &m, &err, want);
}
END_TEST

/* Backslash escapes that JSON does not have, in the middle of an id: the
 * line is refused, never read as a shorter or different id. */
static const char *const bad_escapes[] = {
	"\\x",
	"\\a",
	"\\U0041",
	"\\u12",
	"\\u00zz",
	"\\uzzzz",
	"\\u0g00",
	"\\ud800",		/* lone high surrogate */
	"\\udbff",
	"\\udc00",		/* lone low surrogate */
	"\\udfff",
	"\\ud800\\u0041",	/* high surrogate, then no low one */
	"\\ud800\\ud800",
	"\\ud800x",
	"\\udc00\\ud800",	/* a pair the wrong way round */
};

START_TEST(refuse_bad_escape)
{
	char *line, *err = NULL, id[64];
	struct msg m;
	int rc;

	xasprintf(&line, "{\"platform\":\"x\",\"account\":\"acme\","
	    "\"id\":\"m1%sevil\",\"conversation\":\"c1\",\"kind\":\"direct\","
	    "\"direction\":\"inbound\","
	    "\"created_at\":\"2026-11-25T12:00:00Z\"}", bad_escapes[_i]);
	rc = parse_str(line, &m, &err);
	free(line);
	/* free everything before asserting (CK_FORK=no) */
	snprintf(id, sizeof id, "%s", rc == 0 ? m.id : "");
	if (rc == 0)
		msg_clear(&m);
	ck_assert_msg(rc == -1, "\"m1%sevil\" accepted as id \"%s\"",
	    bad_escapes[_i], id);
	check_refused(rc, &m, &err, NULL, "invalid JSON near column ");
}
END_TEST

/* Raw control characters: JSON allows them neither in strings nor between
 * tokens (only space, tab, CR and LF there). A NUL byte may be reported as
 * such. */
#define LINE(s) { (s), sizeof(s) - 1 }
static const struct {
	const char	*s;
	size_t		 len;
} raw_control[] = {
	LINE("{" REQUIRED_FIELDS ",\"text\":\"a\x01" "z\"}"),
	LINE("{" REQUIRED_FIELDS ",\"text\":\"a\x1f" "z\"}"),
	LINE("{" REQUIRED_FIELDS ",\"text\":\"a\n" "z\"}"),
	LINE("{" REQUIRED_FIELDS ",\"text\":\"a\0" "z\"}"),
	LINE("{\"platform\":\"x\",\"account\":\"acme\",\"id\":\"m1\0" "evil\","
	    "\"conversation\":\"c1\",\"kind\":\"direct\","
	    "\"direction\":\"inbound\","
	    "\"created_at\":\"2026-11-25T12:00:00Z\"}"),
	LINE("\x01{" REQUIRED_FIELDS "}"),
	LINE("\x0b{" REQUIRED_FIELDS "}"),
	LINE("\x0c{" REQUIRED_FIELDS "}"),
	LINE("\0{" REQUIRED_FIELDS "}"),
	LINE("{\x01" REQUIRED_FIELDS "}"),
	LINE("{" REQUIRED_FIELDS "}\x01"),
	LINE("{" REQUIRED_FIELDS "}\0"),
	LINE("{" REQUIRED_FIELDS "} \0\0"),
};

START_TEST(refuse_raw_control)
{
	char reason[1024], id[64], text[64], *err = NULL;
	struct msg m;
	int rc, has_nul;

	has_nul = memchr(raw_control[_i].s, '\0', raw_control[_i].len) != NULL;
	rc = parse_buf(raw_control[_i].s, raw_control[_i].len, &m, &err);
	/* free everything before asserting (CK_FORK=no) */
	snprintf(id, sizeof id, "%s", rc == 0 ? m.id : "");
	snprintf(text, sizeof text, "%s", rc == 0 && m.text != NULL ?
	    m.text : "");
	if (rc == 0)
		msg_clear(&m);
	ck_assert_msg(rc == -1, "line %d: accepted, id \"%s\", text \"%s\"",
	    _i, id, text);
	snprintf(reason, sizeof reason, "%s", err != NULL ? err : "");
	check_refused(rc, &m, &err, NULL, NULL);
	ck_assert_msg(strstr(reason, "invalid JSON near column ") != NULL ||
	    (has_nul && strstr(reason, "NUL character") != NULL),
	    "line %d: reason \"%s\"", _i, reason);
}
END_TEST

/* Bytes that are not UTF-8, anywhere in the line: "invalid UTF-8 at column
 * N", N the 1-based byte column of the first byte that is wrong (the line
 * is before + bad + after; N is the first byte of bad). */
static const struct {
	const char	*before, *bad, *after;
} bad_utf8[] = {
	/* a lead byte without its continuation byte */
	{ "{" REQUIRED_FIELDS ",\"text\":\"", "\xc3\x28", "\"}" },
	/* "/" in two bytes (overlong) */
	{ "{" REQUIRED_FIELDS ",\"text\":\"", "\xc0\xaf", "\"}" },
	/* U+D800, a UTF-16 surrogate */
	{ "{" REQUIRED_FIELDS ",\"text\":\"", "\xed\xa0\x80", "\"}" },
	/* U+DFFF */
	{ "{" REQUIRED_FIELDS ",\"text\":\"", "\xed\xbf\xbf", "\"}" },
	/* "/" in three bytes (overlong) */
	{ "{" REQUIRED_FIELDS ",\"text\":\"", "\xe0\x80\xaf", "\"}" },
	/* above U+10FFFF */
	{ "{" REQUIRED_FIELDS ",\"text\":\"", "\xf4\x90\x80\x80", "\"}" },
	/* a continuation byte alone */
	{ "{" REQUIRED_FIELDS ",\"text\":\"", "\x80", "\"}" },
	/* a three-byte sequence cut short */
	{ "{" REQUIRED_FIELDS ",\"text\":\"", "\xe2\x82", "\"}" },
	{ "{" REQUIRED_FIELDS ",\"text\":\"", "\xff\xfe", "\"}" },
	/* columns count bytes, not characters */
	{ "{" REQUIRED_FIELDS ",\"text\":\"\xc3\xa9\xe2\x82\xac", "\xc3\x28",
	    "\"}" },
	/* in a required field, in a key, outside any string */
	{ "{\"platform\":\"", "\xc0\xaf", "\",\"account\":\"acme\","
	    "\"id\":\"m1\",\"conversation\":\"c1\",\"kind\":\"direct\","
	    "\"direction\":\"inbound\","
	    "\"created_at\":\"2026-11-25T12:00:00Z\"}" },
	{ "{" REQUIRED_FIELDS ",\"k", "\xed\xa0\x80", "\":1}" },
	{ "", "\xed\xa0\x80", "{" REQUIRED_FIELDS "}" },
	{ "{" REQUIRED_FIELDS "}", "\xff", "" },
	/* and it comes before the JSON is read */
	{ "{\"platform\":", "\xc3\x28", "" },
};

START_TEST(refuse_bad_utf8)
{
	char *line, *err = NULL, want[64];
	struct msg m;
	int rc;

	xasprintf(&line, "%s%s%s", bad_utf8[_i].before, bad_utf8[_i].bad,
	    bad_utf8[_i].after);
	snprintf(want, sizeof want, "invalid UTF-8 at column %zu",
	    strlen(bad_utf8[_i].before) + 1);
	rc = parse_str(line, &m, &err);
	free(line);
	check_refused_as(rc, &m, &err, want);
}
END_TEST

static const char *const not_object[] = {
	"[]",
	"[{" REQUIRED_FIELDS "}]",
	"\"direct\"",
	"42",
	"null",
	"true",
};

START_TEST(refuse_not_object)
{
	struct msg m;
	char *err = NULL;
	int rc;

	rc = parse_str(not_object[_i], &m, &err);
	check_refused(rc, &m, &err, NULL, NULL);
	/* the reason says what was expected */
	rc = parse_str(not_object[_i], &m, &err);
	check_refused(rc, &m, &err, NULL, "object");
}
END_TEST

START_TEST(refuse_missing)
{
	const char *f = required[_i];
	char q[64], *err = NULL;
	cJSON *o = base_obj();
	struct msg m;

	QUOTED(q, f);
	ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(o, f));
	cJSON_DeleteItemFromObjectCaseSensitive(o, f);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(o, f));
	check_refused(parse_obj(o, &m, &err), &m, &err, q, "missing");

	o = base_obj();
	set_item(o, f, cJSON_CreateNull());
	check_refused(parse_obj(o, &m, &err), &m, &err, q, "missing");
}
END_TEST

/* A value of each JSON type but string and null. */
static cJSON *
not_a_string(size_t k)
{
	cJSON *v;

	switch (k) {
	case 0:
		return cJSON_CreateNumber(5);
	case 1:
		return cJSON_CreateTrue();
	case 2:
		return cJSON_CreateArray();
	default:
		v = cJSON_CreateObject();
		ck_assert_ptr_nonnull(v);
		ck_assert_ptr_nonnull(cJSON_AddStringToObject(v, "a", "b"));
		return v;
	}
}

/* Every string field (required or not) refuses numbers, booleans, arrays
 * and objects. */
START_TEST(refuse_wrong_type)
{
	const char *f = string_fields[_i];
	char q[64], *err = NULL;
	size_t k;

	QUOTED(q, f);
	for (k = 0; k < 4; k++) {
		cJSON *o = base_obj();
		struct msg m;

		set_item(o, f, not_a_string(k));
		check_refused(parse_obj(o, &m, &err), &m, &err, q, "string");
	}
}
END_TEST

START_TEST(refuse_empty)
{
	const char *f = required[_i];
	char q[64], *err = NULL;
	cJSON *o = base_obj();
	struct msg m;

	QUOTED(q, f);
	set_string(o, f, "");
	check_refused(parse_obj(o, &m, &err), &m, &err, q, NULL);
	/* "empty", or for kind/direction/created_at a bad value */
}
END_TEST

/* Required name-like fields: the reason says the value is empty. */
START_TEST(refuse_empty_says_empty)
{
	static const char *const f[] = {
		"platform", "account", "id", "conversation",
	};
	size_t i;

	for (i = 0; i < NELEM(f); i++) {
		char q[64], *err = NULL;
		cJSON *o = base_obj();
		struct msg m;

		QUOTED(q, f[i]);
		set_string(o, f[i], "");
		check_refused(parse_obj(o, &m, &err), &m, &err, q, "empty");
	}
}
END_TEST

static const struct {
	const char	*field;
	const char	*value;
} bad_values[] = {
	{ "kind", "dm" },
	{ "kind", "Direct" },
	{ "kind", "DIRECT" },
	{ "kind", "public" },
	{ "kind", " direct" },
	{ "kind", "direct " },
	{ "kind", "inbound" },
	{ "kind", "directbroadcastdirectbroadcastdirect" },
	{ "direction", "in" },
	{ "direction", "Inbound" },
	{ "direction", "both" },
	{ "direction", "direct" },
	{ "direction", "outbound\n" },
	{ "created_at", "2026-11-25" },
	{ "created_at", "2026-11-25T12:00:00" },
	{ "created_at", "2026-11-25T12:00Z" },
	{ "created_at", "2026-11-25T12:00:00+0200" },
	{ "created_at", "2026-02-30T00:00:00Z" },
	{ "created_at", "2026-11-25T24:00:00Z" },
	{ "created_at", "1795608000" },
	{ "created_at", "yesterday" },
	{ "created_at", "now" },
	{ "created_at", "Wed, 25 Nov 2026 12:00:00 GMT" },
	{ "created_at", " 2026-11-25T12:00:00Z" },
	{ "created_at", "1969-12-31T23:59:59Z" },
	{ "created_at", "2026-11-25T12:00:00.Z" },
};

START_TEST(refuse_bad_value)
{
	const char *f = bad_values[_i].field;
	char q[64], *err = NULL;
	cJSON *o = base_obj();
	struct msg m;

	QUOTED(q, f);
	set_string(o, f, bad_values[_i].value);
	check_refused(parse_obj(o, &m, &err), &m, &err, q, NULL);
}
END_TEST

/* The reasons for kind, direction and created_at say what is expected. */
START_TEST(refuse_bad_value_reasons)
{
	static const struct {
		const char *field, *value, *why;
	} r[] = {
		{ "kind", "dm", "\"direct\" or \"broadcast\"" },
		{ "direction", "in", "\"inbound\" or \"outbound\"" },
		{ "created_at", "2026-11-25", "RFC 3339" },
	};
	size_t i;

	for (i = 0; i < NELEM(r); i++) {
		char q[64], *err = NULL;
		cJSON *o = base_obj();
		struct msg m;

		QUOTED(q, r[i].field);
		set_string(o, r[i].field, r[i].value);
		check_refused(parse_obj(o, &m, &err), &m, &err, q, r[i].why);
	}
}
END_TEST

/* The reason for a "\u0000" escape anywhere in the line. It cannot name
 * the field: the JSON is refused before it is read. */
#define NUL_REASON	"NUL character"

/* "\u0000" inside a string: refused. */
START_TEST(refuse_nul)
{
	const char *f = string_fields[_i];
	char *err = NULL, *line, *s;
	cJSON *o = base_obj();
	struct msg m;
	int rc;

	cJSON_DeleteItemFromObjectCaseSensitive(o, f);	/* if it is there */
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(o, f));
	s = print_obj(o);
	cJSON_Delete(o);
	/* replace the closing brace: ,"field":"ab\u0000cd"} */
	ck_assert_int_eq(s[strlen(s) - 1], '}');
	s[strlen(s) - 1] = '\0';
	xasprintf(&line, "%s,\"%s\":\"ab\\u0000cd\"}", s, f);
	cJSON_free(s);
	rc = parse_str(line, &m, &err);
	free(line);
	check_refused(rc, &m, &err, NULL, NUL_REASON);
}
END_TEST

/* "\u0000" alone, at the start or at the end, in a required field. */
START_TEST(refuse_nul_positions)
{
	static const char *const v[] = {
		"\\u0000", "\\u0000id", "id\\u0000",
	};
	size_t i;

	for (i = 0; i < NELEM(v); i++) {
		char *line, *err = NULL;
		struct msg m;
		int rc;

		xasprintf(&line, "{\"platform\":\"x\",\"account\":\"acme\","
		    "\"id\":\"%s\",\"conversation\":\"c1\",\"kind\":\"direct\","
		    "\"direction\":\"inbound\","
		    "\"created_at\":\"2026-11-25T12:00:00Z\"}", v[i]);
		rc = parse_str(line, &m, &err);
		free(line);
		check_refused(rc, &m, &err, NULL, NUL_REASON);
	}
}
END_TEST

/* "\u0000" anywhere else in the line: in a member that is not ours, in a
 * key, deep inside a value, after an escaped backslash. */
static const char *const nul_elsewhere[] = {
	"{" REQUIRED_FIELDS ",\"extra\":\"\\u0000\"}",
	"{" REQUIRED_FIELDS ",\"ex\\u0000tra\":1}",
	"{\"\\u0000\":1," REQUIRED_FIELDS "}",
	"{" REQUIRED_FIELDS ",\"extra\":[1,{\"a\":[\"b\\u0000\"]}]}",
	"{" REQUIRED_FIELDS ",\"text\":\"a\\\\\\u0000\"}",
	"{" REQUIRED_FIELDS ",\"text\":\"\\u00e9\\u0000\\u00e9\"}",
};

START_TEST(refuse_nul_elsewhere)
{
	char *err = NULL;
	struct msg m;
	int rc;

	rc = parse_str(nul_elsewhere[_i], &m, &err);
	check_refused(rc, &m, &err, NULL, NUL_REASON);
}
END_TEST

/* What only looks like "\u0000" is no NUL: accepted, read as written. */
START_TEST(good_not_nul)
{
	static const struct {
		const char *json, *text;
	} t[] = {
		{ "a\\\\u0000b", "a\\u0000b" },
		{ "\\\\\\\\u0000", "\\\\u0000" },
		{ "u0000", "u0000" },
		{ "\\u0001\\u0020", "\x01 " },
		{ "\\u0100", "\xc4\x80" },
		{ "\\/u0000", "/u0000" },
	};
	size_t i;

	for (i = 0; i < NELEM(t); i++) {
		char *line, *err = NULL;
		struct msg m;

		xasprintf(&line, "{" REQUIRED_FIELDS ",\"text\":\"%s\"}",
		    t[i].json);
		ck_assert_msg(parse_str(line, &m, &err) == 0, "%s: %s", line,
		    err);
		free(line);
		ck_assert_str_eq(m.text, t[i].text);
		msg_clear(&m);
	}
}
END_TEST

/* A text with a backslash before "u0000", as cJSON prints it. */
START_TEST(good_not_nul_printed)
{
	cJSON *o = base_obj();
	struct msg m;
	char *err = NULL;

	set_string(o, "text", "\\u0000 \\\\u0000");
	set_string(o, "author", "\\");
	ck_assert_msg(parse_obj(o, &m, &err) == 0, "%s", err);
	ck_assert_str_eq(m.text, "\\u0000 \\\\u0000");
	ck_assert_str_eq(m.author, "\\");
	msg_clear(&m);
}
END_TEST

/* Valid UTF-8 at the edges of its ranges, raw in the line: accepted. */
START_TEST(good_utf8)
{
	static const char *const t[] = {
		"\x7f",
		"\xc2\x80",
		"\xdf\xbf",
		"\xe0\xa0\x80",
		"\xed\x9f\xbf",		/* U+D7FF, below the surrogates */
		"\xee\x80\x80",		/* U+E000, above them */
		"\xef\xbf\xbf",
		"\xf0\x90\x80\x80",
		"\xf4\x8f\xbf\xbf",	/* U+10FFFF */
	};
	size_t i;

	for (i = 0; i < NELEM(t); i++) {
		char *line, *err = NULL;
		struct msg m;

		xasprintf(&line, "{" REQUIRED_FIELDS ",\"text\":\"%s\","
		    "\"%s\":\"%s\"}", t[i], t[i], t[i]);
		ck_assert_msg(parse_str(line, &m, &err) == 0, "%zu: %s", i,
		    err);
		free(line);
		ck_assert_str_eq(m.text, t[i]);
		msg_clear(&m);
	}
}
END_TEST

static const char *const dup_keys[] = {
	"id", "platform", "kind", "created_at", "text", "complaint",
};

/* A key given twice: refused, whichever value would win. */
START_TEST(refuse_duplicate_key)
{
	const char *k = dup_keys[_i];
	char *line, *err = NULL, q[64];
	struct msg m;
	const char *extra;
	int rc;

	QUOTED(q, k);
	if (strcmp(k, "complaint") == 0)
		extra = ",\"complaint\":true,\"complaint\":true";
	else if (strcmp(k, "text") == 0)
		extra = ",\"text\":\"a\",\"text\":\"a\"";
	else
		extra = NULL;
	if (extra != NULL)
		xasprintf(&line, "{" REQUIRED_FIELDS "%s}", extra);
	else if (strcmp(k, "kind") == 0)
		xasprintf(&line, "{" REQUIRED_FIELDS ",\"kind\":\"direct\"}");
	else if (strcmp(k, "created_at") == 0)
		xasprintf(&line, "{" REQUIRED_FIELDS
		    ",\"created_at\":\"2026-11-25T13:00:00Z\"}");
	else
		xasprintf(&line, "{\"%s\":\"other\"," REQUIRED_FIELDS "}", k);
	rc = parse_str(line, &m, &err);
	free(line);
	check_refused(rc, &m, &err, q, "duplicate");
}
END_TEST


/* Each of our fields, given twice with the same valid value: refused, and
 * the reason names it. */
static const struct {
	const char	*field;
	const char	*value;		/* NULL: true */
} own_fields[] = {
	{ "platform", "x" },
	{ "account", "acme" },
	{ "id", "m1" },
	{ "conversation", "c1" },
	{ "kind", "direct" },
	{ "direction", "inbound" },
	{ "created_at", "2026-11-25T12:00:00Z" },
	{ "author", "bob" },
	{ "in_reply_to", "m0" },
	{ "text", "hi" },
	{ "url", "https://x.example/m1" },
	{ "complaint", NULL },
};

static cJSON *
own_value(size_t i)
{
	return own_fields[i].value != NULL ?
	    cJSON_CreateString(own_fields[i].value) : cJSON_CreateTrue();
}

START_TEST(refuse_duplicate_field)
{
	const char *f = own_fields[_i].field;
	char want[64], *err = NULL;
	cJSON *o = base_obj();
	struct msg m;

	snprintf(want, sizeof want, "duplicate field \"%s\"", f);
	/* once, or in place of the base value */
	set_item(o, f, own_value(_i));
	/* and once more at the end (cJSON does not check) */
	ck_assert(cJSON_AddItemToObject(o, f, own_value(_i)));
	check_refused_as(parse_obj(o, &m, &err), &m, &err, want);
}
END_TEST

/* Keys that are not ours may come more than once: ignored like any key
 * that is not ours, whatever their values. Case matters: "Text" and "ID"
 * are not ours; neither are keys of nested objects. */
START_TEST(good_duplicate_unknown)
{
	static const char *const extra[] = {
		",\"extra\":1,\"extra\":\"two\"",
		",\"extra\":null,\"extra\":{\"a\":[]},\"extra\":true",
		",\"Text\":\"a\",\"Text\":\"b\",\"text\":\"c\"",
		",\"ID\":\"a\",\"ID\":\"b\",\"Platform\":\"p\",\"Platform\":\"p\"",
		",\"meta\":{\"id\":\"a\",\"id\":\"b\",\"text\":1,\"text\":2}",
		",\"\":1,\"\":2",
	};
	size_t i;

	for (i = 0; i < NELEM(extra); i++) {
		char *line, *err = NULL;
		struct msg m;

		xasprintf(&line, "{" REQUIRED_FIELDS "%s}", extra[i]);
		ck_assert_msg(parse_str(line, &m, &err) == 0, "%s: %s", line,
		    err);
		free(line);
		ck_assert_ptr_null(err);
		ck_assert_str_eq(m.platform, "x");
		ck_assert_str_eq(m.id, "m1");
		if (i == 2)
			ck_assert_str_eq(m.text, "c");
		else
			ck_assert_ptr_null(m.text);
		msg_clear(&m);
	}

	/* the same with the unknown keys first */
	{
		char *err = NULL;
		struct msg m;

		ck_assert_int_eq(parse_str("{\"x\":1,\"x\":2,\"x\":3,"
		    REQUIRED_FIELDS ",\"x\":4}", &m, &err), 0);
		ck_assert_str_eq(m.account, "acme");
		msg_clear(&m);
	}
}
END_TEST

static const char *const complaint_bad[] = {
	"\"yes\"", "\"true\"", "\"false\"", "1", "0", "[]", "{}", "\"\"",
};

START_TEST(refuse_complaint)
{
	char *line, *err = NULL;
	struct msg m;
	int rc;

	xasprintf(&line, "{" REQUIRED_FIELDS ",\"complaint\":%s}",
	    complaint_bad[_i]);
	rc = parse_str(line, &m, &err);
	free(line);
	check_refused(rc, &m, &err, "\"complaint\"", "true or false");
}
END_TEST

/* The first problem is reported even when a later field is fine, and an
 * error in an optional field refuses the whole line. */
START_TEST(refuse_optional_field)
{
	char *err = NULL;
	struct msg m;

	check_refused(parse_str("{" REQUIRED_FIELDS ",\"author\":\"bob\","
	    "\"url\":42,\"text\":\"fine\"}", &m, &err), &m, &err, "\"url\"",
	    NULL);
}
END_TEST

/* ---- back to JSON ------------------------------------------------------------ */

static void
check_same(const struct msg *a, const struct msg *b)
{
#define SAME_STR(f) do {						\
	if (a->f == NULL)						\
		ck_assert_ptr_null(b->f);				\
	else {								\
		ck_assert_ptr_nonnull(b->f);				\
		ck_assert_str_eq(a->f, b->f);				\
	}								\
} while (0)
	SAME_STR(platform);
	SAME_STR(account);
	SAME_STR(id);
	SAME_STR(conversation);
	SAME_STR(author);
	SAME_STR(in_reply_to);
	SAME_STR(text);
	SAME_STR(url);
#undef SAME_STR
	ck_assert_int_eq(a->kind, b->kind);
	ck_assert_int_eq(a->direction, b->direction);
	ck_assert_int_eq(a->created_ms, b->created_ms);
	ck_assert_int_eq(a->complaint, b->complaint);
}

/* msg_to_json, parsed back, gives the same message. */
static void
roundtrip(const struct msg *m)
{
	struct msg back;
	char *s = msg_to_json(m), *err = NULL, *again;

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(strchr(s, '\n'));
	ck_assert_msg(parse_str(s, &back, &err) == 0, "%s: %s", s, err);
	check_same(m, &back);
	/* and printing it again gives the same text */
	again = msg_to_json(&back);
	ck_assert_str_eq(again, s);
	free(again);
	msg_clear(&back);
	free(s);
}

START_TEST(json_roundtrip_full)
{
	struct msg m;
	char *s;

	memset(&m, 0, sizeof m);
	m.platform = xstrdup("bluesky");
	m.account = xstrdup("acme");
	m.id = xstrdup("at://did:plc:abc/app.bsky.feed.post/3k");
	m.conversation = xstrdup("at://did:plc:abc/app.bsky.feed.post/3j");
	m.kind = MSG_BROADCAST;
	m.direction = MSG_INBOUND;
	m.created_ms = NOV25 + 250;
	m.author = xstrdup("carol.bsky.social");
	m.in_reply_to = xstrdup("at://did:plc:abc/app.bsky.feed.post/3j");
	m.text = xstrdup("quote \" backslash \\ newline \n tab \t ctrl \x01 "
	    "\xc3\xa9 \xf0\x9f\x98\x80 </script>");
	m.url = xstrdup("https://bsky.app/profile/carol/post/3k?a=1&b=2");
	m.complaint = MSG_COMPLAINT_YES;
	roundtrip(&m);

	s = msg_to_json(&m);
	ck_assert_ptr_nonnull(strstr(s,
	    "\"created_at\":\"2026-11-25T12:00:00.250Z\""));
	ck_assert_ptr_nonnull(strstr(s, "\"kind\":\"broadcast\""));
	ck_assert_ptr_nonnull(strstr(s, "\"direction\":\"inbound\""));
	ck_assert_ptr_nonnull(strstr(s, "\"complaint\":true"));
	free(s);

	m.complaint = MSG_COMPLAINT_NO;
	m.kind = MSG_DIRECT;
	m.direction = MSG_OUTBOUND;
	m.created_ms = NOV25;
	roundtrip(&m);
	s = msg_to_json(&m);
	ck_assert_ptr_nonnull(strstr(s, "\"complaint\":false"));
	ck_assert_ptr_nonnull(strstr(s,
	    "\"created_at\":\"2026-11-25T12:00:00Z\""));
	free(s);
	msg_clear(&m);
}
END_TEST

START_TEST(json_roundtrip_minimal)
{
	struct msg m;
	char *s;

	memset(&m, 0, sizeof m);
	m.platform = xstrdup("x");
	m.account = xstrdup("acme");
	m.id = xstrdup("1");
	m.conversation = xstrdup("1");
	m.kind = MSG_DIRECT;
	m.direction = MSG_INBOUND;
	m.created_ms = 0;
	m.complaint = MSG_COMPLAINT_UNKNOWN;
	roundtrip(&m);
	s = msg_to_json(&m);
	/* absent fields are left out, not null */
	ck_assert_ptr_null(strstr(s, "author"));
	ck_assert_ptr_null(strstr(s, "in_reply_to"));
	ck_assert_ptr_null(strstr(s, "text"));
	ck_assert_ptr_null(strstr(s, "url"));
	ck_assert_ptr_null(strstr(s, "complaint"));
	ck_assert_ptr_null(strstr(s, "null"));
	ck_assert_ptr_nonnull(strstr(s,
	    "\"created_at\":\"1970-01-01T00:00:00Z\""));
	free(s);
	msg_clear(&m);
}
END_TEST

/* A parsed line, printed: times in UTC, the same message once parsed. */
START_TEST(json_roundtrip_from_line)
{
	static const char line[] = "{\"url\":\"u\",\"text\":\"t\","
	    "\"in_reply_to\":\"r\",\"author\":\"a\","
	    "\"created_at\":\"2026-11-25T09:00:00.5-03:00\","
	    "\"direction\":\"outbound\",\"kind\":\"direct\","
	    "\"conversation\":\"c\",\"id\":\"i\",\"account\":\"acme\","
	    "\"platform\":\"x\",\"complaint\":false}";
	struct msg m;
	char *err = NULL, *s;

	ck_assert_int_eq(parse_str(line, &m, &err), 0);
	ck_assert_int_eq(m.created_ms, NOV25 + 500);
	roundtrip(&m);
	s = msg_to_json(&m);
	ck_assert_ptr_nonnull(strstr(s,
	    "\"created_at\":\"2026-11-25T12:00:00.500Z\""));
	free(s);
	msg_clear(&m);
}
END_TEST

/* Each field at its length limit survives the way back. */
START_TEST(json_roundtrip_limits)
{
	struct msg m;

	memset(&m, 0, sizeof m);
	m.platform = repeat("p", MSG_MAX_NAME, "");
	m.account = repeat("a", MSG_MAX_NAME, "");
	m.id = repeat("i", MSG_MAX_ID, "");
	m.conversation = repeat("c", MSG_MAX_ID, "");
	m.author = repeat("\xc3\xa9", MSG_MAX_ID / 2, "");
	m.in_reply_to = repeat("r", MSG_MAX_ID, "");
	m.text = repeat("\"", MSG_MAX_TEXT, "");
	m.url = repeat("u", MSG_MAX_URL, "");
	m.created_ms = INT64_C(253402300799999);
	m.complaint = MSG_COMPLAINT_NO;
	roundtrip(&m);
	msg_clear(&m);
}
END_TEST

START_TEST(names)
{
	enum msg_kind k = MSG_BROADCAST;

	ck_assert_str_eq(msg_kind_name(MSG_DIRECT), "direct");
	ck_assert_str_eq(msg_kind_name(MSG_BROADCAST), "broadcast");
	ck_assert_str_eq(msg_direction_name(MSG_INBOUND), "inbound");
	ck_assert_str_eq(msg_direction_name(MSG_OUTBOUND), "outbound");
	ck_assert_int_eq(msg_kind_parse("direct", &k), 0);
	ck_assert_int_eq(k, MSG_DIRECT);
	ck_assert_int_eq(msg_kind_parse("broadcast", &k), 0);
	ck_assert_int_eq(k, MSG_BROADCAST);
	ck_assert_int_eq(msg_kind_parse("dm", &k), -1);
	ck_assert_int_eq(msg_kind_parse("", &k), -1);
	ck_assert_int_eq(msg_kind_parse("Direct", &k), -1);
	ck_assert_int_eq(k, MSG_BROADCAST);
}
END_TEST

static Suite *
msg_suite(void)
{
	Suite *s = suite_create("msg");
	TCase *tc;

	tc = tcase_create("accepted");
	tcase_add_test(tc, good_all_fields);
	tcase_add_test(tc, good_required_only);
	tcase_add_test(tc, good_optional_null);
	tcase_add_test(tc, good_layout);
	tcase_add_loop_test(tc, good_timestamps, 0, (int)NELEM(times_good));
	tcase_add_test(tc, good_kinds_directions);
	tcase_add_test(tc, good_complaint);
	tcase_add_loop_test(tc, limit_per_field, 0, (int)NELEM(limits));
	tcase_add_test(tc, good_not_nul);
	tcase_add_test(tc, good_not_nul_printed);
	tcase_add_test(tc, good_utf8);
	tcase_add_test(tc, good_duplicate_unknown);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_add_loop_test(tc, refuse_not_json, 0, (int)NELEM(not_json));
	tcase_add_loop_test(tc, refuse_not_json_column, 0,
	    (int)NELEM(not_json_at));
	tcase_add_loop_test(tc, refuse_bad_escape, 0, (int)NELEM(bad_escapes));
	tcase_add_loop_test(tc, refuse_raw_control, 0, (int)NELEM(raw_control));
	tcase_add_loop_test(tc, refuse_bad_utf8, 0, (int)NELEM(bad_utf8));
	tcase_add_loop_test(tc, refuse_not_object, 0, (int)NELEM(not_object));
	tcase_add_loop_test(tc, refuse_missing, 0, (int)NELEM(required));
	tcase_add_loop_test(tc, refuse_wrong_type, 0,
	    (int)NELEM(string_fields));
	tcase_add_loop_test(tc, refuse_empty, 0, (int)NELEM(required));
	tcase_add_test(tc, refuse_empty_says_empty);
	tcase_add_loop_test(tc, refuse_bad_value, 0, (int)NELEM(bad_values));
	tcase_add_test(tc, refuse_bad_value_reasons);
	tcase_add_loop_test(tc, refuse_nul, 0, (int)NELEM(string_fields));
	tcase_add_test(tc, refuse_nul_positions);
	tcase_add_loop_test(tc, refuse_nul_elsewhere, 0,
	    (int)NELEM(nul_elsewhere));
	tcase_add_loop_test(tc, refuse_duplicate_key, 0, (int)NELEM(dup_keys));
	tcase_add_loop_test(tc, refuse_duplicate_field, 0,
	    (int)NELEM(own_fields));
	tcase_add_loop_test(tc, refuse_complaint, 0, (int)NELEM(complaint_bad));
	tcase_add_test(tc, refuse_optional_field);
	suite_add_tcase(s, tc);

	tc = tcase_create("to json");
	tcase_add_test(tc, json_roundtrip_full);
	tcase_add_test(tc, json_roundtrip_minimal);
	tcase_add_test(tc, json_roundtrip_from_line);
	tcase_add_test(tc, json_roundtrip_limits);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(msg_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

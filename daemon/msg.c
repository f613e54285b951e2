/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "msg.h"
#include "timefmt.h"
#include "xmalloc.h"

const char *
msg_kind_name(enum msg_kind k)
{
	return k == MSG_DIRECT ? "direct" : "broadcast";
}

const char *
msg_direction_name(enum msg_direction d)
{
	return d == MSG_INBOUND ? "inbound" : "outbound";
}

int
msg_kind_parse(const char *s, enum msg_kind *out)
{
	if (strcmp(s, "direct") == 0)
		*out = MSG_DIRECT;
	else if (strcmp(s, "broadcast") == 0)
		*out = MSG_BROADCAST;
	else
		return -1;
	return 0;
}

void
msg_clear(struct msg *m)
{
	free(m->platform);
	free(m->account);
	free(m->id);
	free(m->conversation);
	free(m->author);
	free(m->in_reply_to);
	free(m->text);
	free(m->url);
	memset(m, 0, sizeof *m);
}

/*
 * A string member. Returns 0 and sets *out (NULL when absent and optional),
 * or -1 with *errstr.
 */
static int
get_string(json_t *obj, const char *key, int required, size_t max,
    char **out, char **errstr)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	size_t len;

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		xasprintf(errstr, "missing required field \"%s\"", key);
		return -1;
	}
	if (!json_is_string(v)) {
		xasprintf(errstr, "field \"%s\" must be a string", key);
		return -1;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (len != strlen(s)) {
		xasprintf(errstr, "field \"%s\" contains a NUL character", key);
		return -1;
	}
	if (required && len == 0) {
		xasprintf(errstr, "field \"%s\" is empty", key);
		return -1;
	}
	if (len > max) {
		xasprintf(errstr, "field \"%s\" is longer than %zu bytes", key, max);
		return -1;
	}
	*out = xstrndup(s, len);
	return 0;
}

static int
get_enum(json_t *obj, const char *key, const char *a, const char *b,
    int *out, char **errstr)
{
	char *s;

	if (get_string(obj, key, 1, 32, &s, errstr) == -1)
		return -1;
	if (strcmp(s, a) == 0)
		*out = 0;
	else if (strcmp(s, b) == 0)
		*out = 1;
	else {
		xasprintf(errstr, "field \"%s\" must be \"%s\" or \"%s\"", key, a, b);
		free(s);
		return -1;
	}
	free(s);
	return 0;
}

static int
get_time(json_t *obj, const char *key, int64_t *out, char **errstr)
{
	char *s;
	int rc;

	if (get_string(obj, key, 1, 64, &s, errstr) == -1)
		return -1;
	rc = timefmt_parse_rfc3339(s, out);
	if (rc == -1)
		xasprintf(errstr, "field \"%s\" is not an RFC 3339 timestamp", key);
	free(s);
	return rc;
}

static int
get_complaint(json_t *obj, enum msg_complaint *out, char **errstr)
{
	json_t *v = json_object_get(obj, "complaint");

	*out = MSG_COMPLAINT_UNKNOWN;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		xasprintf(errstr, "field \"complaint\" must be true or false");
		return -1;
	}
	*out = json_is_true(v) ? MSG_COMPLAINT_YES : MSG_COMPLAINT_NO;
	return 0;
}

static int
msg_from_object(json_t *obj, struct msg *m, char **errstr)
{
	int kind, dir;

	if (get_string(obj, "platform", 1, MSG_MAX_NAME, &m->platform, errstr) ||
	    get_string(obj, "account", 1, MSG_MAX_NAME, &m->account, errstr) ||
	    get_string(obj, "id", 1, MSG_MAX_ID, &m->id, errstr) ||
	    get_string(obj, "conversation", 1, MSG_MAX_ID, &m->conversation, errstr) ||
	    get_enum(obj, "kind", "direct", "broadcast", &kind, errstr) ||
	    get_enum(obj, "direction", "inbound", "outbound", &dir, errstr) ||
	    get_time(obj, "created_at", &m->created_ms, errstr) ||
	    get_string(obj, "author", 0, MSG_MAX_ID, &m->author, errstr) ||
	    get_string(obj, "in_reply_to", 0, MSG_MAX_ID, &m->in_reply_to, errstr) ||
	    get_string(obj, "text", 0, MSG_MAX_TEXT, &m->text, errstr) ||
	    get_string(obj, "url", 0, MSG_MAX_URL, &m->url, errstr) ||
	    get_complaint(obj, &m->complaint, errstr))
		return -1;
	m->kind = kind;
	m->direction = dir;
	return 0;
}

int
msg_parse_json(const char *buf, size_t len, struct msg *out, char **errstr)
{
	json_error_t jerr;
	json_t *obj;
	int rc;

	memset(out, 0, sizeof *out);
	/* NUL inside strings is allowed here so that the error names the field */
	obj = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (obj == NULL) {
		xasprintf(errstr, "invalid JSON at column %d: %s", jerr.column,
		    jerr.text);
		return -1;
	}
	if (!json_is_object(obj)) {
		xasprintf(errstr, "not a JSON object");
		json_decref(obj);
		return -1;
	}
	rc = msg_from_object(obj, out, errstr);
	json_decref(obj);
	if (rc == -1)
		msg_clear(out);
	return rc;
}

static void
set_opt(json_t *obj, const char *key, const char *val)
{
	if (val != NULL)
		json_object_set_new(obj, key, json_string(val));
}

char *
msg_to_json(const struct msg *m)
{
	char when[TIMEFMT_RFC3339_LEN];
	json_t *obj = json_object();
	char *s;

	timefmt_format_rfc3339(m->created_ms, when, sizeof when);
	set_opt(obj, "platform", m->platform);
	set_opt(obj, "account", m->account);
	set_opt(obj, "id", m->id);
	set_opt(obj, "conversation", m->conversation);
	set_opt(obj, "kind", msg_kind_name(m->kind));
	set_opt(obj, "direction", msg_direction_name(m->direction));
	set_opt(obj, "created_at", when);
	set_opt(obj, "author", m->author);
	set_opt(obj, "in_reply_to", m->in_reply_to);
	set_opt(obj, "text", m->text);
	set_opt(obj, "url", m->url);
	if (m->complaint != MSG_COMPLAINT_UNKNOWN)
		json_object_set_new(obj, "complaint",
		    json_boolean(m->complaint == MSG_COMPLAINT_YES));
	s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (s == NULL)
		abort();
	return s;
}

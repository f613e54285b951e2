/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <unistr.h>

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
	/* cues are the message's own, whoever owns the other strings */
	free(m->cues);
	if (m->owner != NULL)
		cJSON_Delete(m->owner);
	else {
		free(m->platform);
		free(m->account);
		free(m->id);
		free(m->conversation);
		free(m->author);
		free(m->in_reply_to);
		free(m->text);
		free(m->url);
	}
	memset(m, 0, sizeof *m);
}

/* The members of a normalized message. */
enum field {
	F_PLATFORM, F_ACCOUNT, F_ID, F_CONVERSATION, F_KIND, F_DIRECTION,
	F_CREATED_AT, F_AUTHOR, F_IN_REPLY_TO, F_TEXT, F_URL, F_COMPLAINT,
	NFIELDS
};

static const char *const field_names[NFIELDS] = {
	"platform", "account", "id", "conversation", "kind", "direction",
	"created_at", "author", "in_reply_to", "text", "url", "complaint",
};

/*
 * One pass over the object's members: each of ours by its field, a
 * duplicate refused (which value is meant is unclear), others ignored.
 */
static int
collect_fields(const cJSON *obj, const cJSON *val[NFIELDS], char **errstr)
{
	const cJSON *c;
	int f;

	for (f = 0; f < NFIELDS; f++)
		val[f] = NULL;
	for (c = obj->child; c != NULL; c = c->next) {
		if (c->string == NULL)
			continue;
		for (f = 0; f < NFIELDS; f++)
			if (c->string[0] == field_names[f][0] &&
			    strcmp(c->string, field_names[f]) == 0)
				break;
		if (f == NFIELDS)
			continue;
		if (val[f] != NULL) {
			xasprintf(errstr, "duplicate field \"%s\"", field_names[f]);
			return -1;
		}
		val[f] = c;
	}
	return 0;
}

/*
 * A string member. Returns 0 and sets *out to the document's string
 * (NULL when absent and optional), or -1 with *errstr.
 */
static int
get_string(const cJSON *const val[NFIELDS], enum field f, int required,
    size_t max, char **out, char **errstr)
{
	const cJSON *v = val[f];
	const char *key = field_names[f];
	size_t len;

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v)) {
		if (!required)
			return 0;
		xasprintf(errstr, "missing required field \"%s\"", key);
		return -1;
	}
	if (!cJSON_IsString(v) || v->valuestring == NULL) {
		xasprintf(errstr, "field \"%s\" must be a string", key);
		return -1;
	}
	len = strlen(v->valuestring);
	if (required && len == 0) {
		xasprintf(errstr, "field \"%s\" is empty", key);
		return -1;
	}
	if (len > max) {
		xasprintf(errstr, "field \"%s\" is longer than %zu bytes", key, max);
		return -1;
	}
	*out = v->valuestring;
	return 0;
}

static int
get_enum(const cJSON *const val[NFIELDS], enum field f, const char *a,
    const char *b, int *out, char **errstr)
{
	char *s;

	if (get_string(val, f, 1, 32, &s, errstr) == -1)
		return -1;
	if (strcmp(s, a) == 0)
		*out = 0;
	else if (strcmp(s, b) == 0)
		*out = 1;
	else {
		xasprintf(errstr, "field \"%s\" must be \"%s\" or \"%s\"",
		    field_names[f], a, b);
		return -1;
	}
	return 0;
}

static int
get_time(const cJSON *const val[NFIELDS], enum field f, int64_t *out,
    char **errstr)
{
	char *s;

	if (get_string(val, f, 1, 64, &s, errstr) == -1)
		return -1;
	if (timefmt_parse_rfc3339(s, out) == -1) {
		xasprintf(errstr, "field \"%s\" is not an RFC 3339 timestamp",
		    field_names[f]);
		return -1;
	}
	return 0;
}

static int
get_complaint(const cJSON *const val[NFIELDS], enum msg_complaint *out,
    char **errstr)
{
	const cJSON *v = val[F_COMPLAINT];

	*out = MSG_COMPLAINT_UNKNOWN;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v)) {
		xasprintf(errstr, "field \"complaint\" must be true or false");
		return -1;
	}
	*out = cJSON_IsTrue(v) ? MSG_COMPLAINT_YES : MSG_COMPLAINT_NO;
	return 0;
}

static int
msg_from_object(const cJSON *obj, struct msg *m, char **errstr)
{
	const cJSON *val[NFIELDS];
	int kind, dir;

	if (collect_fields(obj, val, errstr) ||
	    get_string(val, F_PLATFORM, 1, MSG_MAX_NAME, &m->platform, errstr) ||
	    get_string(val, F_ACCOUNT, 1, MSG_MAX_NAME, &m->account, errstr) ||
	    get_string(val, F_ID, 1, MSG_MAX_ID, &m->id, errstr) ||
	    get_string(val, F_CONVERSATION, 1, MSG_MAX_ID, &m->conversation,
	    errstr) ||
	    get_enum(val, F_KIND, "direct", "broadcast", &kind, errstr) ||
	    get_enum(val, F_DIRECTION, "inbound", "outbound", &dir, errstr) ||
	    get_time(val, F_CREATED_AT, &m->created_ms, errstr) ||
	    get_string(val, F_AUTHOR, 0, MSG_MAX_ID, &m->author, errstr) ||
	    get_string(val, F_IN_REPLY_TO, 0, MSG_MAX_ID, &m->in_reply_to,
	    errstr) ||
	    get_string(val, F_TEXT, 0, MSG_MAX_TEXT, &m->text, errstr) ||
	    get_string(val, F_URL, 0, MSG_MAX_URL, &m->url, errstr) ||
	    get_complaint(val, &m->complaint, errstr))
		return -1;
	m->kind = kind;
	m->direction = dir;
	return 0;
}

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/*
 * What cJSON lets through but JSON forbids, and what would cut a string
 * without a word: control bytes inside strings or between tokens, \u not
 * followed by four hex digits (cJSON reads them as 0), and \u0000. Returns
 * the offset of the offending byte and sets *why, or returns len.
 */
static size_t
lex_check(const char *buf, size_t len, const char **why)
{
	size_t i;
	int in_string = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (!in_string) {
			if (c == '"')
				in_string = 1;
			else if (c < 0x20 && c != '\t' && c != '\r' && c != '\n') {
				*why = "control character";
				return i;
			}
			continue;
		}
		if (c == '"')
			in_string = 0;
		else if (c < 0x20) {
			*why = "control character in a string";
			return i;
		} else if (c == '\\' && i + 1 < len && buf[i + 1] == 'u') {
			if (i + 5 >= len || !is_hex(buf[i + 2]) ||
			    !is_hex(buf[i + 3]) || !is_hex(buf[i + 4]) ||
			    !is_hex(buf[i + 5])) {
				*why = "\\u without four hex digits";
				return i;
			}
			if (memcmp(buf + i + 2, "0000", 4) == 0) {
				*why = "a string contains a NUL character (\\u0000)";
				return i;
			}
			i += 5;
		} else if (c == '\\')
			i++;	/* the escaped character: cJSON checks it */
	}
	return len;
}

static int
json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
msg_parse_json(const char *buf, size_t len, struct msg *out, char **errstr)
{
	const char *end = NULL, *why = NULL;
	const uint8_t *bad;
	size_t at;
	cJSON *obj;
	int rc;

	memset(out, 0, sizeof *out);
	if ((bad = u8_check((const uint8_t *)buf, len)) != NULL) {
		xasprintf(errstr, "invalid UTF-8 at column %zu",
		    (size_t)(bad - (const uint8_t *)buf) + 1);
		return -1;
	}
	if ((at = lex_check(buf, len, &why)) < len) {
		if (strstr(why, "NUL") != NULL)
			xasprintf(errstr, "%s", why);
		else
			xasprintf(errstr, "invalid JSON near column %zu: %s",
			    at + 1, why);
		return -1;
	}
	obj = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (obj == NULL) {
		end = cJSON_GetErrorPtr();
		xasprintf(errstr, "invalid JSON near column %zu",
		    end != NULL && end >= buf && end <= buf + len ?
		    (size_t)(end - buf) + 1 : 1);
		return -1;
	}
	while (end < buf + len && json_space(*end))
		end++;
	if (end < buf + len) {
		xasprintf(errstr, "invalid JSON near column %zu: text after the "
		    "object", (size_t)(end - buf) + 1);
		cJSON_Delete(obj);
		return -1;
	}
	if (!cJSON_IsObject(obj)) {
		xasprintf(errstr, "not a JSON object");
		cJSON_Delete(obj);
		return -1;
	}
	/* the message borrows its strings from the document */
	out->owner = obj;
	rc = msg_from_object(obj, out, errstr);
	if (rc == -1)
		msg_clear(out);
	return rc;
}

static void
set_opt(cJSON *obj, const char *key, const char *val)
{
	if (val != NULL)
		cJSON_AddItemToObject(obj, key, cJSON_CreateString(val));
}

char *
msg_to_json(const struct msg *m)
{
	char when[TIMEFMT_RFC3339_LEN];
	cJSON *obj = cJSON_CreateObject();
	char *s;

	if (obj == NULL)
		abort();
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
		cJSON_AddItemToObject(obj, "complaint",
		    cJSON_CreateBool(m->complaint == MSG_COMPLAINT_YES));
	if (m->scored) {
		cJSON *cues = m->cues != NULL ? cJSON_Parse(m->cues) : NULL;

		/* three decimals are all a score has to say */
		cJSON_AddItemToObject(obj, "complaint_score",
		    cJSON_CreateNumber((double)(int)(m->complaint_score * 1000 +
		    0.5) / 1000));
		if (m->lang[0] != '\0')
			set_opt(obj, "lang", m->lang);
		cJSON_AddItemToObject(obj, "cues", cJSON_IsArray(cues) ? cues :
		    cJSON_CreateArray());
		if (cues != NULL && !cJSON_IsArray(cues))
			cJSON_Delete(cues);
	}
	s = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (s == NULL)
		abort();
	return s;
}

/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <unistr.h>

#include "jsonget.h"
#include "log.h"
#include "timefmt.h"
#include "xmalloc.h"

const char *
jget_type(const cJSON *v)
{
	if (v == NULL || cJSON_IsNull(v))
		return "null";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "an invalid value";
}

static void __attribute__((format(printf, 4, 5)))
jget_error(char **errstr, const char *path, const char *name,
    const char *fmt, ...)
{
	va_list ap;
	char *why;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) == -1)
		fatal("out of memory");
	va_end(ap);
	if (path != NULL && *path != '\0')
		xasprintf(errstr, "%s.%s: %s", path, name, why);
	else
		xasprintf(errstr, "%s: %s", name, why);
	free(why);
}

cJSON *
jget_parse(const char *body, size_t len, char **errstr)
{
	cJSON *doc;
	const char *end = NULL;

	doc = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (doc != NULL)
		return doc;
	/* cJSON stops at the last byte of a body cut short */
	while (len > 0 && (body[len - 1] == ' ' || body[len - 1] == '\n' ||
	    body[len - 1] == '\r' || body[len - 1] == '\t'))
		len--;
	if (len == 0)
		xasprintf(errstr, "the response body is empty");
	else if (end != NULL && end >= body + len - 1 &&
	    body[len - 1] != '}' && body[len - 1] != ']')
		xasprintf(errstr, "the JSON response ends early (truncated "
		    "after %zu bytes)", len);
	else
		xasprintf(errstr, "the response is not valid JSON (at byte "
		    "%zu of %zu)", end != NULL ? (size_t)(end - body) : 0,
		    len);
	return NULL;
}

/* The field, NULL if absent or null; *missing set then. */
static const cJSON *
field(const cJSON *o, const char *path, const char *name, int required,
    int *bad, char **errstr)
{
	const cJSON *v;

	*bad = 0;
	if (!cJSON_IsObject(o)) {
		*bad = 1;
		xasprintf(errstr, "%s: expected an object, got %s",
		    path != NULL && *path != '\0' ? path : "response",
		    jget_type(o));
		return NULL;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (v != NULL && !cJSON_IsNull(v))
		return v;
	if (required) {
		*bad = 1;
		jget_error(errstr, path, name, "is missing");
	}
	return NULL;
}

static const cJSON *
typed(const cJSON *o, const char *path, const char *name, int required,
    cJSON_bool (*is)(const cJSON *), const char *want, char **errstr)
{
	const cJSON *v;
	int bad;

	if ((v = field(o, path, name, required, &bad, errstr)) == NULL)
		return NULL;
	if (!is(v)) {
		jget_error(errstr, path, name, "expected %s, got %s", want,
		    jget_type(v));
		return NULL;
	}
	return v;
}

const cJSON *
jget_object(const cJSON *o, const char *path, const char *name, int required,
    char **errstr)
{
	return typed(o, path, name, required, cJSON_IsObject, "an object",
	    errstr);
}

const cJSON *
jget_array(const cJSON *o, const char *path, const char *name, int required,
    char **errstr)
{
	return typed(o, path, name, required, cJSON_IsArray, "an array",
	    errstr);
}

const char *
jget_string(const cJSON *o, const char *path, const char *name, int required,
    size_t maxlen, char **errstr)
{
	const cJSON *v;
	size_t len;
	int bad;

	if ((v = field(o, path, name, required, &bad, errstr)) == NULL)
		return NULL;
	if (!cJSON_IsString(v) || v->valuestring == NULL) {
		jget_error(errstr, path, name, "expected a string, got %s",
		    jget_type(v));
		return NULL;
	}
	len = strlen(v->valuestring);
	if (required && len == 0) {
		jget_error(errstr, path, name, "is empty");
		return NULL;
	}
	if (maxlen != 0 && len > maxlen) {
		jget_error(errstr, path, name, "is %zu bytes long, more than "
		    "%zu", len, maxlen);
		return NULL;
	}
	return v->valuestring;
}

const char *
jget_text(const cJSON *o, const char *path, const char *name, int required,
    size_t maxlen, char **errstr)
{
	const char *s;

	s = jget_string(o, path, name, required, maxlen, errstr);
	if (s != NULL && u8_check((const uint8_t *)s, strlen(s)) != NULL) {
		jget_error(errstr, path, name, "invalid UTF-8");
		return NULL;
	}
	return s;
}

int
jget_int(const cJSON *o, const char *path, const char *name, int required,
    int64_t min, int64_t max, int64_t *out, char **errstr)
{
	const cJSON *v;
	double d;
	int bad;

	if ((v = field(o, path, name, required, &bad, errstr)) == NULL)
		return bad ? -1 : 0;
	if (!cJSON_IsNumber(v)) {
		jget_error(errstr, path, name, "expected a number, got %s",
		    jget_type(v));
		return -1;
	}
	d = v->valuedouble;
	/* (double)INT64_MAX rounds up to 2^63, which no int64 holds */
	if (!isfinite(d) || d != floor(d) || d < (double)min ||
	    d > (double)max || d >= 9223372036854775808.0) {
		jget_error(errstr, path, name, "%g is not an integer in "
		    "%lld..%lld", d, (long long)min, (long long)max);
		return -1;
	}
	*out = (int64_t)d;
	return 1;
}

int
jget_time(const cJSON *o, const char *path, const char *name, int required,
    int64_t *ms, char **errstr)
{
	const char *s;
	int bad;

	if (field(o, path, name, required, &bad, errstr) == NULL)
		return bad ? -1 : 0;
	if ((s = jget_string(o, path, name, 1, 64, errstr)) == NULL)
		return -1;
	if (timefmt_parse_rfc3339(s, ms) == -1) {
		jget_error(errstr, path, name, "\"%s\" is not an RFC 3339 "
		    "time", s);
		return -1;
	}
	return 1;
}

int
jget_bool(const cJSON *o, const char *path, const char *name, int required,
    int *out, char **errstr)
{
	const cJSON *v;
	int bad;

	if ((v = field(o, path, name, required, &bad, errstr)) == NULL)
		return bad ? -1 : 0;
	if (!cJSON_IsBool(v)) {
		jget_error(errstr, path, name, "expected a boolean, got %s",
		    jget_type(v));
		return -1;
	}
	*out = cJSON_IsTrue(v);
	return 1;
}

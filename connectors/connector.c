/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "connector.h"
#include "jsonget.h"
#include "xmalloc.h"

/*
 * What every connector does the same way: the checks of its account's
 * token, and what it makes of a response that is not a 2xx or whose body
 * is no JSON, so that the same failure has the same outcome on every
 * platform.
 */

void
connector_copy_text(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < len && src[i] != '\0'; i++)
		dst[i] = (unsigned char)src[i] < ' ' || src[i] == 0x7f ?
		    ' ' : src[i];
	if (len > 0)
		dst[i] = '\0';
}

void
connector_result_init(struct poll_result *res, enum poll_status status)
{
	memset(res, 0, sizeof *res);
	res->status = status;
	res->retry_at_ms = -1;
	res->rl.limit = res->rl.remaining = res->rl.reset_ms = -1;
}

int
connector_token_check(const char *token, char **errstr)
{
	const char *s;

	if (token == NULL || *token == '\0') {
		xasprintf(errstr, "an access token is required (token_file)");
		return -1;
	}
	for (s = token; *s != '\0'; s++) {
		if ((unsigned char)*s <= ' ' || *s == 0x7f) {
			xasprintf(errstr, "the access token contains spaces "
			    "or control characters");
			return -1;
		}
	}
	return 0;
}

char *
connector_base_url(const char *url)
{
	size_t len = strlen(url);

	while (len > 0 && url[len - 1] == '/')
		len--;
	return xstrndup(url, len);
}

/*
 * The platform's own words: "error" and "message" of a JSON body (Mastodon
 * has "error", Bluesky "error" and "message", Graph "error.message"), or
 * the start of a short plain-text body.
 */
static void
platform_text(const struct http_response *r, char *buf, size_t len)
{
	const cJSON *err, *msg;
	cJSON *doc;

	buf[0] = '\0';
	if (r->len == 0)
		return;
	if ((doc = cJSON_ParseWithLength(r->body, r->len)) == NULL) {
		if (r->len <= 200 && r->body[0] != '<')
			connector_copy_text(buf, len, r->body);
		return;
	}
	err = cJSON_GetObjectItemCaseSensitive(doc, "error");
	msg = cJSON_GetObjectItemCaseSensitive(doc, "message");
	if (cJSON_IsObject(err)) {
		msg = cJSON_GetObjectItemCaseSensitive(err, "message");
		err = NULL;
	}
	if (cJSON_IsString(err) && cJSON_IsString(msg)) {
		char both[512];

		snprintf(both, sizeof both, "%s: %s", err->valuestring,
		    msg->valuestring);
		connector_copy_text(buf, len, both);
	} else if (cJSON_IsString(err))
		connector_copy_text(buf, len, err->valuestring);
	else if (cJSON_IsString(msg))
		connector_copy_text(buf, len, msg->valuestring);
	cJSON_Delete(doc);
}

enum poll_status
connector_http_status(const struct http_response *r, int64_t now_ms,
    char *buf, size_t len, struct poll_result *out)
{
	char text[300];

	connector_result_init(out, POLL_OK);
	out->error = buf;
	if (r->error != HTTP_OK) {
		snprintf(buf, len, "%s", r->errstr != NULL ? r->errstr :
		    "request failed");
		out->status = POLL_RETRY;
		return out->status;
	}
	if (r->status >= 200 && r->status <= 299) {
		buf[0] = '\0';
		out->error = NULL;
		out->status = POLL_OK;
		return out->status;
	}
	platform_text(r, text, sizeof text);
	if (text[0] != '\0')
		snprintf(buf, len, "HTTP %ld: %s", r->status, text);
	else
		snprintf(buf, len, "HTTP %ld", r->status);
	if (r->status == 401 || r->status == 403)
		out->status = POLL_AUTH;
	else if (r->status == 429) {
		out->status = POLL_RATE_LIMITED;
		out->retry_at_ms = http_retry_after(r, now_ms);
	} else if (r->status >= 500 || r->status == 408)
		out->status = POLL_RETRY;
	else
		out->status = POLL_BAD_DATA;
	/* a 503 may say when to come back too */
	if (out->status == POLL_RETRY)
		out->retry_at_ms = http_retry_after(r, now_ms);
	return out->status;
}

/*
 * Whether a body that did not parse is the start of a JSON document that
 * was cut off (a truncated transfer, worth a retry) rather than something
 * else (an HTML error page: bad data). It is when it opens an array or an
 * object and ends inside a string or with brackets still open.
 */
static int
json_cut_off(const char *body, size_t len)
{
	size_t i = 0;
	long depth = 0;
	int in_string = 0;

	while (i < len && strchr(" \t\r\n", body[i]) != NULL)
		i++;
	if (i == len || (body[i] != '[' && body[i] != '{'))
		return 0;
	for (; i < len; i++) {
		if (in_string) {
			if (body[i] == '\\')
				i++;
			else if (body[i] == '"')
				in_string = 0;
		} else if (body[i] == '"')
			in_string = 1;
		else if (body[i] == '[' || body[i] == '{')
			depth++;
		else if (body[i] == ']' || body[i] == '}')
			depth--;
	}
	return in_string || depth > 0;
}

struct cJSON *
connector_json_body(const struct http_response *r, enum poll_status *status,
    char **errstr)
{
	cJSON *doc;

	if ((doc = jget_parse(r->body, r->len, errstr)) != NULL)
		return doc;
	if (json_cut_off(r->body, r->len)) {
		free(*errstr);
		xasprintf(errstr, "the JSON response ends early (truncated "
		    "after %zu bytes)", r->len);
		*status = POLL_RETRY;
	} else
		*status = POLL_BAD_DATA;
	return NULL;
}

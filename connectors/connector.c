/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "connector.h"

/*
 * What every connector does with a response that is not a 2xx: the same
 * outcome for the same failure on every platform.
 */

/* Printable, one line, at most len-1 bytes. */
static void
copy_clean(char *buf, size_t len, const char *s)
{
	size_t i, o = 0;

	for (i = 0; s[i] != '\0' && o + 1 < len; i++)
		buf[o++] = (unsigned char)s[i] < ' ' || s[i] == 0x7f ? ' ' :
		    s[i];
	buf[o] = '\0';
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
			copy_clean(buf, len, r->body);
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
		copy_clean(buf, len, both);
	} else if (cJSON_IsString(err))
		copy_clean(buf, len, err->valuestring);
	else if (cJSON_IsString(msg))
		copy_clean(buf, len, msg->valuestring);
	cJSON_Delete(doc);
}

enum poll_status
connector_http_status(const struct http_response *r, int64_t now_ms,
    char *buf, size_t len, struct poll_result *out)
{
	char text[300];

	memset(out, 0, sizeof *out);
	out->retry_at_ms = -1;
	out->rl.limit = out->rl.remaining = out->rl.reset_ms = -1;
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

/* SPDX-License-Identifier: ISC */
#ifndef RW_JSONGET_H
#define RW_JSONGET_H

#include <stdint.h>

#include <cjson/cJSON.h>

/*
 * Typed access to fields of untrusted JSON, for connectors. `path` names
 * the object in errors ("notifications[3].status"); on failure *errstr
 * (caller frees) reads "PATH.FIELD: why", e.g.
 * "notifications[3].status.created_at: expected a string, got a number".
 * A field that is absent or null is an error only when required; it then
 * reads "… is missing". *errstr must be NULL on entry: functions that
 * return a pointer return NULL both for "absent" (errstr still NULL) and
 * for an error (errstr set).
 */

/* A document parsed from a body; NULL with *errstr if it is not JSON. */
cJSON	*jget_parse(const char *body, size_t len, char **errstr);

const cJSON *jget_object(const cJSON *o, const char *path, const char *name,
	    int required, char **errstr);
const cJSON *jget_array(const cJSON *o, const char *path, const char *name,
	    int required, char **errstr);
/* A string, at most maxlen bytes (0: no limit), or NULL if absent and not
 * required. A required string must not be empty. */
const char *jget_string(const cJSON *o, const char *path, const char *name,
	    int required, size_t maxlen, char **errstr);
/* The same, and valid UTF-8 ("… invalid UTF-8" if not). */
const char *jget_text(const cJSON *o, const char *path, const char *name,
	    int required, size_t maxlen, char **errstr);
/* An integer in [min, max]; 1 found, 0 absent (not required), -1 error. */
int	 jget_int(const cJSON *o, const char *path, const char *name,
	    int required, int64_t min, int64_t max, int64_t *out,
	    char **errstr);
/* An RFC 3339 time; 1 found, 0 absent (not required), -1 error. */
int	 jget_time(const cJSON *o, const char *path, const char *name,
	    int required, int64_t *ms, char **errstr);
/* A boolean; 1 found, 0 absent (not required), -1 error. */
int	 jget_bool(const cJSON *o, const char *path, const char *name,
	    int required, int *out, char **errstr);
/* The type of a JSON value in words ("a string", "null", …). */
const char *jget_type(const cJSON *);

#endif

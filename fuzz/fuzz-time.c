/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bizhours.h"
#include "fuzz.h"
#include "log.h"
#include "timefmt.h"

/*
 * Times, durations and business hours as the configuration file and the
 * command line give them. The input is lines:
 *
 *	RFC 3339 time
 *	duration
 *	a "when" of the command line
 *	time zone
 *	business_hours
 *	closed
 *
 * What parses must format and read back to itself, and bizhours_add must
 * be the inverse of bizhours_between, as bizhours.h promises.
 */

#define NOW_MS		INT64_C(1786701600000)	/* 2026-08-14T10:00:00Z */
#define DAY_MS		(INT64_C(86400) * 1000)
#define MAX_AMOUNT	(400 * DAY_MS)

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz-time", LOG_LEVEL_ERR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	const uint8_t *p;
	char *line[6] = { NULL }, buf[TIMEFMT_RFC3339_LEN];
	char dbuf[TIMEFMT_DURATION_LEN], *err = NULL;
	int64_t t = -1, d = -1, w, t2, end, got;
	struct bizhours *bh;
	size_t i, n;

	for (i = 0; i < 6; i++) {
		if ((p = fuzz_next(&in, "\n", 1, &n)) == NULL)
			break;
		line[i] = fuzz_strndup(p, n);
	}
	if (line[0] != NULL && timefmt_parse_rfc3339(line[0], &t) == 0) {
		timefmt_format_rfc3339(t, buf, sizeof buf);
		if (timefmt_parse_rfc3339(buf, &t2) == -1 || t2 != t) {
			fprintf(stderr, "fuzz-time: \"%s\" gives %s, which "
			    "does not read back\n", line[0], buf);
			abort();
		}
	} else
		t = -1;
	if (line[1] != NULL && timefmt_parse_duration(line[1], &d) == 0) {
		if (d < 0)
			abort();
		timefmt_format_duration(d, dbuf, sizeof dbuf);
		if (strlen(dbuf) >= sizeof dbuf - 1)
			abort();
	} else
		d = -1;
	if (line[2] != NULL && timefmt_parse_when(line[2], NOW_MS, &w) == 0) {
		timefmt_format_rfc3339(w, buf, sizeof buf);
		timefmt_format_duration(w > NOW_MS ? w - NOW_MS : NOW_MS - w,
		    dbuf, sizeof dbuf);
	}
	if (line[4] != NULL) {
		bh = bizhours_new(line[3], line[4], line[5], &err);
		if (bh == NULL) {
			if (err == NULL)
				abort();
			free(err);
		} else {
			if (t < 0)
				t = NOW_MS;
			if (d < 0 || d > MAX_AMOUNT)
				d = d < 0 ? 8 * 3600 * 1000 : MAX_AMOUNT;
			got = bizhours_between(bh, t, t + d);
			if (got < 0 || got > d)
				abort();
			end = bizhours_add(bh, t, d);
			if (end < t)
				abort();
			if (end != INT64_MAX &&
			    (got = bizhours_between(bh, t, end)) != d) {
				fprintf(stderr, "fuzz-time: add(%lld, %lld) = "
				    "%lld, but between gives %lld\n",
				    (long long)t, (long long)d,
				    (long long)end, (long long)got);
				abort();
			}
			bizhours_free(bh);
		}
	}
	for (i = 0; i < 6; i++)
		free(line[i]);
	return 0;
}

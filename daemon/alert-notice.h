/* SPDX-License-Identifier: ISC */
#ifndef RW_ALERT_NOTICE_H
#define RW_ALERT_NOTICE_H

#include <stddef.h>
#include <stdint.h>

struct store_alert;

/*
 * What one notification says: the email subject, the plain text (email
 * body, Slack text) and the versioned JSON body of a webhook, for a group
 * of alerts of one account and rule, all with the same event ("firing",
 * "repeat" or "resolved"). doc/alerts.md documents the JSON.
 */
#define NOTICE_VERSION	1

struct notice {
	char	*subject;
	char	*text;
	char	*json;
};

/* alerts[0..n-1]: n >= 1, their details as stored (JSON objects or NULL).
 * key: the idempotency key, also in the JSON. 0, or -1 if n is 0. */
int	 notice_build(const char *event, const char *key,
	    const struct store_alert *const *alerts, size_t n, int64_t now_ms,
	    struct notice *out);
void	 notice_clear(struct notice *);

/* A duration for people: "45 s", "42 min", "1 h 5 min", "3 d 4 h". */
#define NOTICE_DURATION_LEN	32
void	 notice_duration(int64_t ms, char buf[NOTICE_DURATION_LEN]);

#endif

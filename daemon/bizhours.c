/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bizhours.h"
#include "timefmt.h"
#include "tz.h"
#include "xmalloc.h"

/*
 * Each local date has its opening intervals, turned into UTC instants with
 * tz_from_local(); a direct-mapped cache keeps them per local date (days
 * since 1970-01-01). Both the between and the add walk those dates.
 */

#define BIZ_MAX_IV	16		/* opening intervals a day */
#define BIZ_CACHE_SLOTS	256		/* local dates cached */
#define BIZ_IDLE_DAYS	3660		/* 10 years without opening */
#define BIZ_QUOTE_MAX	64
#define MIN_PER_DAY	1440

/* Local dates outside 1900-01-01 .. 9999-12-31 count as closed. */
#define BIZ_FIRST_DAY	INT64_C(-25567)
#define BIZ_LAST_DAY	INT64_C(2932896)

static const char *const day_names[7] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"
};
static const char *const day_long_names[7] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday",
	"saturday"
};

struct biz_span {
	int	 start, end;		/* minutes after midnight */
};

struct biz_day {
	int	 valid;
	int	 n;
	int64_t	 day;
	int64_t	 iv[BIZ_MAX_IV][2];	/* [start, end) in UTC ms */
};

struct bizhours {
	struct tz	*tz;
	struct biz_span	 week[7][BIZ_MAX_IV];	/* 0 = Sunday */
	int		 nweek[7];
	int64_t		*closed;		/* sorted local days */
	size_t		 nclosed;
	struct biz_day	*cache;		/* made on first use */
};

static int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A copy of s[0..len) fit for an error message: printable, at most
 * BIZ_QUOTE_MAX characters. */
static char *
quote(const char *s, size_t len)
{
	char *q;
	size_t i, n = len > BIZ_QUOTE_MAX ? BIZ_QUOTE_MAX : len;

	q = xmalloc(n + 4);
	for (i = 0; i < n; i++)
		q[i] = (s[i] >= ' ' && s[i] <= '~' && s[i] != '"') ? s[i] : '?';
	q[n] = '\0';
	if (n < len)
		memcpy(q + n, "...", 4);
	return q;
}

static void
set_err(char **errstr, const char *key, const char *s, size_t len,
    const char *why)
{
	char *q;

	if (errstr == NULL)
		return;
	q = quote(s, len);
	xasprintf(errstr, "%s: \"%s\": %s", key, q, why);
	free(q);
}

/* ---- parsing hours ------------------------------------------------------- */

struct group {
	const char	*s;		/* the group, for error messages */
	size_t		 len;
	char		**errstr;
};

static int
group_err(struct group *g, const char *why)
{
	set_err(g->errstr, "business_hours", g->s, g->len, why);
	return -1;
}

/* A day name at *p (letters up to '-', ',' or a space); its wday. */
static int
parse_day(struct group *g, const char **p, const char *end, int *wday)
{
	const char *s = *p;
	size_t n = 0;
	char why[64];
	int i;

	while (s + n < end && ((s[n] >= 'a' && s[n] <= 'z') ||
	    (s[n] >= 'A' && s[n] <= 'Z')))
		n++;
	for (i = 0; n > 0 && i < 7; i++) {
		if ((n == 3 && strncasecmp(s, day_names[i], 3) == 0) ||
		    (n == strlen(day_long_names[i]) &&
		    strncasecmp(s, day_long_names[i], n) == 0)) {
			*wday = i;
			*p = s + n;
			return 0;
		}
	}
	if (n == 0)
		return group_err(g, "expected a day name");
	snprintf(why, sizeof(why), "unknown day \"%.*s\"", n > 16 ? 16 :
	    (int)n, s);
	return group_err(g, why);
}

/* "mon-fri,sun": sets days[wday]; *p moves past the list. */
static int
parse_days(struct group *g, const char **p, const char *end, int days[7])
{
	int from, to;

	for (;;) {
		if (parse_day(g, p, end, &from) == -1)
			return -1;
		to = from;
		if (*p < end && **p == '-') {
			(*p)++;
			if (parse_day(g, p, end, &to) == -1)
				return -1;
		}
		/* Ranges run Monday to Sunday and may wrap: "fri-mon". */
		for (;;) {
			days[from] = 1;
			if (from == to)
				break;
			from = (from + 1) % 7;
		}
		if (*p >= end || **p != ',')
			return 0;
		(*p)++;
	}
}

/* "9:00", "09:00", "24:00": minutes after midnight. */
static int
parse_time(struct group *g, const char **p, const char *end, int *min)
{
	const char *s = *p;
	int h = 0, m = 0, nd = 0;

	while (s < end && *s >= '0' && *s <= '9' && nd < 3) {
		h = h * 10 + (*s++ - '0');
		nd++;
	}
	if (nd == 0 || nd > 2 || s >= end || *s != ':')
		return group_err(g, "expected a time HH:MM");
	s++;
	if (end - s < 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' ||
	    s[1] > '9' || (end - s > 2 && s[2] >= '0' && s[2] <= '9'))
		return group_err(g, "expected a time HH:MM");
	m = (s[0] - '0') * 10 + (s[1] - '0');
	if (h > 24)
		return group_err(g, "hour out of range");
	if (m > 59)
		return group_err(g, "minute out of range");
	if (h == 24 && m != 0)
		return group_err(g, "hour out of range");
	*min = h * 60 + m;
	*p = s + 2;
	return 0;
}

static int
parse_span(struct group *g, const char **p, const char *end,
    struct biz_span *sp)
{
	if (parse_time(g, p, end, &sp->start) == -1)
		return -1;
	if (*p >= end || **p != '-')
		return group_err(g, "expected an interval HH:MM-HH:MM");
	(*p)++;
	if (parse_time(g, p, end, &sp->end) == -1)
		return -1;
	if (*p < end && !is_space(**p) && **p != ',')
		return group_err(g, "expected an interval HH:MM-HH:MM");
	if (sp->start == MIN_PER_DAY)
		return group_err(g, "24:00 can only end an interval");
	if (sp->start >= sp->end)
		return group_err(g, "interval does not end after it starts");
	return 0;
}

/* Adds sp to a day's sorted intervals; refuses overlaps. */
static int
add_span(struct bizhours *bh, struct group *g, int wday,
    const struct biz_span *sp)
{
	struct biz_span *w = bh->week[wday];
	char why[64];
	int i, n = bh->nweek[wday];

	for (i = 0; i < n; i++) {
		if (sp->start < w[i].end && w[i].start < sp->end) {
			snprintf(why, sizeof(why),
			    "overlapping intervals on %s", day_names[wday]);
			return group_err(g, why);
		}
	}
	if (n == BIZ_MAX_IV) {
		snprintf(why, sizeof(why), "more than %d intervals on %s",
		    BIZ_MAX_IV, day_names[wday]);
		return group_err(g, why);
	}
	for (i = n; i > 0 && w[i - 1].start > sp->start; i--)
		w[i] = w[i - 1];
	w[i] = *sp;
	bh->nweek[wday]++;
	return 0;
}

static int
parse_group(struct bizhours *bh, struct group *g)
{
	const char *p = g->s, *end = g->s + g->len;
	struct biz_span sp;
	int days[7] = { 0 }, nspan = 0, i;

	if (parse_days(g, &p, end, days) == -1)
		return -1;
	if (p < end && !is_space(*p))
		return group_err(g, "expected a space after the days");
	for (;;) {
		while (p < end && is_space(*p))
			p++;
		if (nspan > 0 && p < end && *p == ',') {
			p++;
			while (p < end && is_space(*p))
				p++;
			if (p >= end)
				return group_err(g, "expected an interval "
				    "after ','");
		}
		if (p >= end)
			break;
		if (parse_span(g, &p, end, &sp) == -1)
			return -1;
		nspan++;
		for (i = 0; i < 7; i++) {
			if (days[i] && add_span(bh, g, i, &sp) == -1)
				return -1;
		}
	}
	if (nspan == 0)
		return group_err(g, "no opening interval");
	return 0;
}

/* Joins intervals that touch ("09:00-12:00 12:00-13:00"). */
static void
merge_week(struct bizhours *bh)
{
	struct biz_span *w;
	int d, i, n;

	for (d = 0; d < 7; d++) {
		w = bh->week[d];
		for (i = 1, n = bh->nweek[d] > 0; i < bh->nweek[d]; i++) {
			if (w[i].start == w[n - 1].end)
				w[n - 1].end = w[i].end;
			else
				w[n++] = w[i];
		}
		bh->nweek[d] = n;
	}
}

static int
parse_hours(struct bizhours *bh, const char *hours, char **errstr)
{
	struct group g;
	const char *p = hours, *semi, *end;
	int ngroups = 0;

	g.errstr = errstr;
	for (;;) {
		semi = strchr(p, ';');
		end = semi != NULL ? semi : p + strlen(p);
		while (p < end && is_space(*p))
			p++;
		while (end > p && is_space(end[-1]))
			end--;
		g.s = p;
		g.len = (size_t)(end - p);
		if (g.len == 0) {
			/* Only a trailing ';' may leave an empty group. */
			if (semi != NULL || ngroups == 0) {
				set_err(errstr, "business_hours", hours,
				    strlen(hours), ngroups == 0 &&
				    semi == NULL ? "no opening hours" :
				    "empty group");
				return -1;
			}
			break;
		}
		if (parse_group(bh, &g) == -1)
			return -1;
		ngroups++;
		if (semi == NULL)
			break;
		p = semi + 1;
	}
	merge_week(bh);
	return 0;
}

/* ---- closed dates -------------------------------------------------------- */

static int
cmp_day(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* n decimal digits, or -1. */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (; n > 0; n--, s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* Exactly "YYYY-MM-DD", a real date: its day since 1970-01-01. */
static int
parse_date(const char *s, size_t len, int64_t *day)
{
	int y, m, d, yy, mm, dd;

	if (len != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	if ((y = digits(s, 4)) == -1 || (m = digits(s + 5, 2)) == -1 ||
	    (d = digits(s + 8, 2)) == -1)
		return -1;
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	*day = timefmt_days_from_civil(y, m, d);
	timefmt_civil_from_days(*day, &yy, &mm, &dd);
	if (yy != y || mm != m || dd != d)
		return -1;	/* 2026-02-30 */
	return 0;
}

static int
parse_closed(struct bizhours *bh, const char *closed, char **errstr)
{
	const char *p = closed, *tok;
	size_t len, cap = 0, n = 0, i;
	int64_t day;

	for (;;) {
		while (*p != '\0' && (is_space(*p) || *p == ','))
			p++;
		if (*p == '\0')
			break;
		tok = p;
		while (*p != '\0' && !is_space(*p) && *p != ',')
			p++;
		len = (size_t)(p - tok);
		if (parse_date(tok, len, &day) == -1) {
			set_err(errstr, "closed", tok, len,
			    "not a date YYYY-MM-DD");
			return -1;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			bh->closed = xreallocarray(bh->closed, cap,
			    sizeof(*bh->closed));
		}
		bh->closed[n++] = day;
	}
	if (n > 0)
		qsort(bh->closed, n, sizeof(*bh->closed), cmp_day);
	bh->nclosed = 0;
	for (i = 0; i < n; i++) {
		if (bh->nclosed == 0 ||
		    bh->closed[bh->nclosed - 1] != bh->closed[i])
			bh->closed[bh->nclosed++] = bh->closed[i];
	}
	return 0;
}

struct bizhours *
bizhours_new(const char *zone, const char *hours, const char *closed,
    char **errstr)
{
	struct bizhours *bh;
	char *why = NULL;

	if (errstr != NULL)
		*errstr = NULL;
	if (hours == NULL) {
		if (errstr != NULL)
			*errstr = xstrdup("business_hours: missing");
		return NULL;
	}
	bh = xcalloc(1, sizeof(*bh));
	if ((bh->tz = tz_new(zone != NULL ? zone : "UTC", &why)) == NULL) {
		if (errstr != NULL)
			xasprintf(errstr, "timezone: %s", why);
		free(why);
		bizhours_free(bh);
		return NULL;
	}
	if (parse_hours(bh, hours, errstr) == -1 ||
	    (closed != NULL && parse_closed(bh, closed, errstr) == -1)) {
		bizhours_free(bh);
		return NULL;
	}
	return bh;
}

void
bizhours_free(struct bizhours *bh)
{
	if (bh == NULL)
		return;
	tz_free(bh->tz);
	free(bh->closed);
	free(bh->cache);
	free(bh);
}

/* ---- arithmetic ---------------------------------------------------------- */

static int
is_closed(const struct bizhours *bh, int64_t day)
{
	if (bh->nclosed == 0)
		return 0;
	return bsearch(&day, bh->closed, bh->nclosed, sizeof(*bh->closed),
	    cmp_day) != NULL;
}

/* The local date of an instant, as days since 1970-01-01. */
static int64_t
local_day(struct bizhours *bh, int64_t ms)
{
	struct tz_local lt;

	tz_to_local(bh->tz, ms, &lt);
	return timefmt_days_from_civil(lt.year, lt.month, lt.day);
}

static void
fill_day(struct bizhours *bh, struct biz_day *c, int64_t day)
{
	const struct biz_span *sp;
	int64_t a, b;
	int y, m, d, wday, i;

	c->day = day;
	c->valid = 1;
	c->n = 0;
	if (day < BIZ_FIRST_DAY || day > BIZ_LAST_DAY || is_closed(bh, day))
		return;
	timefmt_civil_from_days(day, &y, &m, &d);
	wday = (int)(day - floordiv(day + 4, 7) * 7 + 4);
	for (i = 0; i < bh->nweek[wday]; i++) {
		sp = &bh->week[wday][i];
		/* 24:00 is the next day's 00:00: tz_from_local carries. */
		a = tz_from_local(bh->tz, y, m, d, sp->start / 60,
		    sp->start % 60, 0);
		b = tz_from_local(bh->tz, y, m, d, sp->end / 60,
		    sp->end % 60, 0);
		if (b <= a)
			continue;	/* inside a daylight-saving gap */
		if (c->n > 0 && c->iv[c->n - 1][1] >= a) {
			c->iv[c->n - 1][1] = b;
			continue;
		}
		c->iv[c->n][0] = a;
		c->iv[c->n][1] = b;
		c->n++;
	}
}

static const struct biz_day *
day_hours(struct bizhours *bh, int64_t day)
{
	struct biz_day *c;

	if (bh->cache == NULL)
		bh->cache = xcalloc(BIZ_CACHE_SLOTS, sizeof(*bh->cache));
	c = &bh->cache[day - floordiv(day, BIZ_CACHE_SLOTS) * BIZ_CACHE_SLOTS];
	if (!c->valid || c->day != day)
		fill_day(bh, c, day);
	return c;
}

int64_t
bizhours_between(struct bizhours *bh, int64_t from_ms, int64_t to_ms)
{
	const struct biz_day *c;
	int64_t day, last, sum = 0, a, b;
	int i;

	if (to_ms <= from_ms)
		return 0;
	/*
	 * A local date's openings lie between its midnight and the next, so
	 * the dates of from and of to, give or take one for the odd zone
	 * whose clocks go back across midnight, hold all of them.
	 */
	day = local_day(bh, from_ms) - 1;
	last = local_day(bh, to_ms - 1) + 1;
	if (day < BIZ_FIRST_DAY)
		day = BIZ_FIRST_DAY;
	if (last > BIZ_LAST_DAY)
		last = BIZ_LAST_DAY;
	for (; day <= last; day++) {
		c = day_hours(bh, day);
		for (i = 0; i < c->n; i++) {
			a = c->iv[i][0] > from_ms ? c->iv[i][0] : from_ms;
			b = c->iv[i][1] < to_ms ? c->iv[i][1] : to_ms;
			if (b > a)
				sum += b - a;
		}
	}
	return sum;
}

int64_t
bizhours_add(struct bizhours *bh, int64_t from_ms, int64_t amount_ms)
{
	const struct biz_day *c;
	int64_t day, left = amount_ms, a, len;
	int i, idle = 0;

	if (amount_ms <= 0)
		return from_ms;
	day = local_day(bh, from_ms) - 1;
	if (day < BIZ_FIRST_DAY)
		day = BIZ_FIRST_DAY;
	for (; day <= BIZ_LAST_DAY; day++) {
		c = day_hours(bh, day);
		for (i = 0; i < c->n; i++) {
			if (c->iv[i][1] <= from_ms)
				continue;
			a = c->iv[i][0] > from_ms ? c->iv[i][0] : from_ms;
			len = c->iv[i][1] - a;
			/* ">=": used up at closing time gives closing time. */
			if (len >= left)
				return a + left;
			left -= len;
		}
		if (c->n > 0)
			idle = 0;
		else if (++idle > BIZ_IDLE_DAYS)
			break;
	}
	return INT64_MAX;
}

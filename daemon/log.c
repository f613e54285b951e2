/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

/*
 * The logger's settings are written once at start-up (and on reload) by the
 * program's main; everything else only reads them.
 */
static struct {
	const char	*progname;
	enum log_level	 max;
	int		 journal;
} log_state = { "replywatch", LOG_LEVEL_INFO, 0 };

void
log_init(const char *progname, enum log_level max)
{
	log_state.progname = progname;
	log_state.max = max;
	log_state.journal = getenv("JOURNAL_STREAM") != NULL;
}

void
log_set_level(enum log_level max)
{
	log_state.max = max;
}

enum log_level
log_get_level(void)
{
	return log_state.max;
}

int
log_parse_level(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{ "error", LOG_LEVEL_ERR }, { "warning", LOG_LEVEL_WARN },
		{ "notice", LOG_LEVEL_NOTICE }, { "info", LOG_LEVEL_INFO },
		{ "debug", LOG_LEVEL_DEBUG },
	};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].level;
			return 0;
		}
	}
	return -1;
}

static void
log_vemit(enum log_level level, const char *fmt, va_list ap)
{
	static const char *tags[] = {
		[LOG_LEVEL_ERR] = "error: ", [LOG_LEVEL_WARN] = "warning: ",
		[LOG_LEVEL_NOTICE] = "", [LOG_LEVEL_INFO] = "",
		[LOG_LEVEL_DEBUG] = "debug: ",
	};

	if (level > log_state.max)
		return;
	if (log_state.journal)
		fprintf(stderr, "<%d>%s", (int)level, tags[level]);
	else
		fprintf(stderr, "%s: %s", log_state.progname, tags[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

#define LOG_FN(name, level)				\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
							\
	va_start(ap, fmt);				\
	log_vemit(level, fmt, ap);			\
	va_end(ap);					\
}
LOG_FN(log_err, LOG_LEVEL_ERR)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_notice, LOG_LEVEL_NOTICE)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

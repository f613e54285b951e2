/* SPDX-License-Identifier: ISC */
#ifndef RW_LOG_H
#define RW_LOG_H

/*
 * Logging to stderr. Levels follow syslog's numbers; when $JOURNAL_STREAM is
 * set, each line starts with "<N>" so the journal keeps the priority.
 * Secrets are never passed to these functions.
 */
enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARN = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

void	log_init(const char *progname, enum log_level max);
void	log_set_level(enum log_level max);
int	log_parse_level(const char *, enum log_level *);
enum log_level log_get_level(void);

void	log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif

/* SPDX-License-Identifier: ISC */
#ifndef RW_CMD_H
#define RW_CMD_H

#include <stdint.h>
#include <stdio.h>

struct conf;

/* Exit codes of the replywatch CLI (documented in replywatch(1)). */
#define EXIT_OK		0
#define EXIT_FAIL	1	/* the command could not do its job */
#define EXIT_USAGE	2	/* bad command line */
#define EXIT_PARTIAL	3	/* import: some input lines were rejected */

/* What every command gets from the global options. */
struct cmd_ctx {
	struct conf	*conf;		/* never NULL */
	const char	*dbpath;	/* the database to open */
	int64_t		 now_ms;	/* "now" for relative times */
};

struct cmd_entry {
	const char	*name;
	const char	*args;		/* synopsis after the name */
	const char	*summary;	/* one line */
	int		(*exec)(struct cmd_ctx *, int argc, char **argv);
};

/* One function per command, in cmd-NAME.c. argv[0] is the command name. */
int	cmd_import(struct cmd_ctx *, int, char **);
int	cmd_stats(struct cmd_ctx *, int, char **);
int	cmd_pending(struct cmd_ctx *, int, char **);
int	cmd_messages(struct cmd_ctx *, int, char **);
int	cmd_explain(struct cmd_ctx *, int, char **);
int	cmd_status(struct cmd_ctx *, int, char **);
int	cmd_reclassify(struct cmd_ctx *, int, char **);
int	cmd_check_account(struct cmd_ctx *, int, char **);
int	cmd_classify(struct cmd_ctx *, int, char **);
int	cmd_train(struct cmd_ctx *, int, char **);
int	cmd_alerts(struct cmd_ctx *, int, char **);
int	cmd_silence(struct cmd_ctx *, int, char **);

/* Helpers shared by the commands (replywatch.c). */
const struct cmd_entry *cmd_find(const char *name);
/* Print "usage: replywatch NAME ARGS" and the option help to fp. */
void	cmd_usage(FILE *fp, const char *name, const char *options_help);
/* Parse a time option (RFC 3339, date, "now", or a duration before now). */
int	cmd_parse_time(const struct cmd_ctx *, const char *opt, const char *arg,
	    int64_t *out);
/* The rules of alerts (store.h), for --rule: 0 if name is one. */
#define CMD_ALERT_RULES	"overdue, complaint_spike, connector_down or backlog"
int	cmd_alert_rule_valid(const char *name);
/* Report a usage error and return EXIT_USAGE. */
int	cmd_usage_error(const char *name, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif

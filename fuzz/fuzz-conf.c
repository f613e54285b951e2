/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"
#include "log.h"

/*
 * The configuration file: conf_load_partial on the input as a file (one
 * temporary file, written anew for each input), then what the daemon asks
 * of a configuration. Business hours, closed dates and time zones are
 * checked by conf.c itself (bizhours_new, tz_new) when it validates a
 * policy.
 */

static char	*path;
static int	 fd = -1;

static void
cleanup(void)
{
	if (path != NULL)
		unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	log_init("fuzz-conf", LOG_LEVEL_ERR);
	xasprintf(&path, "%s/fuzz-conf.XXXXXX", tmp != NULL && *tmp == '/' ?
	    tmp : "/tmp");
	if ((fd = mkstemp(path)) == -1) {
		fprintf(stderr, "fuzz-conf: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errors errs;
	struct conf *conf;
	const struct conf_account *a;
	const struct conf_policy *p;
	struct conf_keyinfo ki;
	size_t i, j;

	if (fd == -1)
		LLVMFuzzerInitialize(NULL, NULL);
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size) {
		fprintf(stderr, "fuzz-conf: %s: %s\n", path, strerror(errno));
		abort();
	}
	conf = conf_load_partial(path, &errs);
	for (i = 0; i < errs.n; i++)
		if (errs.msgs[i] == NULL ||
		    strncmp(errs.msgs[i], path, strlen(path)) != 0)
			abort();	/* every error names the file */
	if (conf == NULL) {
		conf_errors_clear(&errs);
		return 0;
	}
	for (i = 0; i < conf->naccounts; i++) {
		a = &conf->accounts[i];
		if (a->name == NULL || conf_find_account(conf, a->name) == NULL)
			abort();
		p = conf_policy_for(conf, a->name);
		if (p == NULL)
			abort();
		for (j = 0; conf_key_info(j, &ki) == 0; j++)
			(void)conf_account_key_line(a, ki.name);
	}
	(void)conf_policy_for(conf, "no such account");
	conf_free(conf);
	conf_errors_clear(&errs);
	/* the same through conf_load: NULL exactly when there were errors */
	conf = conf_load(path, &errs);
	if ((conf == NULL) != (errs.n > 0))
		abort();
	conf_free(conf);
	conf_errors_clear(&errs);
	return 0;
}

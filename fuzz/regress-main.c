/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "xmalloc.h"

/*
 * A fuzz target without libFuzzer: every file named on the command line
 * (or in a directory named there) goes to LLVMFuzzerTestOneInput once.
 * Without arguments, as a test of make check: fuzz/corpus/NAME and
 * fuzz/regress/NAME under $top_srcdir, so that every crasher saved there
 * stays a regression test.
 */

#ifndef FUZZ_NAME
#error "FUZZ_NAME: the target's name, as a string"
#endif

int	LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

static size_t	ninputs;

static int
run_file(const char *path)
{
	FILE *fp;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap != 0 ? cap * 2 : 8192;
			buf = xreallocarray(buf, cap, 1);
		}
		if ((n = fread(buf + len, 1, cap - len, fp)) == 0)
			break;
		len += n;
	}
	if (ferror(fp)) {
		fprintf(stderr, "%s: read error\n", path);
		fclose(fp);
		free(buf);
		return -1;
	}
	fclose(fp);
	/* an exact copy, so that ASan sees a read past its end */
	{
		uint8_t *in = xmalloc(len != 0 ? len : 1);

		memcpy(in, buf, len);
		free(buf);
		if (getenv("FUZZ_VERBOSE") != NULL)
			fprintf(stderr, "%s\n", path);
		LLVMFuzzerTestOneInput(in, len);
		free(in);
	}
	ninputs++;
	return 0;
}

static int
namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_path(const char *path, int missing_ok)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	char **names = NULL, *p;
	size_t n = 0, i;
	int rc = 0;

	if (stat(path, &st) == -1) {
		if (missing_ok && errno == ENOENT)
			return 0;
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;	/* README-less: dot files are not inputs */
		names = xreallocarray(names, n + 1, sizeof *names);
		xasprintf(&names[n++], "%s/%s", path, de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, namecmp);
	for (i = 0; i < n; i++) {
		p = names[i];
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
		    run_file(p) == -1)
			rc = -1;
		free(p);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *top = getenv("top_srcdir");
	char *corpus, *regress;
	int i, rc = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (run_path(argv[i], 0) == -1)
				rc = 1;
	} else {
		if (top == NULL)
			top = ".";
		xasprintf(&corpus, "%s/fuzz/corpus/%s", top, FUZZ_NAME);
		xasprintf(&regress, "%s/fuzz/regress/%s", top, FUZZ_NAME);
		if (run_path(corpus, 0) == -1 || run_path(regress, 1) == -1)
			rc = 1;
		free(corpus);
		free(regress);
		if (ninputs == 0) {
			fprintf(stderr, "fuzz-%s: no inputs\n", FUZZ_NAME);
			rc = 1;
		}
	}
	printf("fuzz-%s: %zu inputs\n", FUZZ_NAME, ninputs);
	return rc;
}

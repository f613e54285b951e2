/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"
#include "xmalloc.h"

/*
 * Secrets from files and systemd credentials: the content without its
 * newline; files others may read, empty files, several lines and bare
 * names without $CREDENTIALS_DIRECTORY refused, with the file named and
 * the secret never quoted.
 */

static char dir[] = "/tmp/rw-check-secret.XXXXXX";

/* Write a file in dir with a mode; returns its path (caller frees). */
static char *
put(const char *name, const char *content, mode_t mode)
{
	char *path;
	FILE *fp;

	xasprintf(&path, "%s/%s", dir, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(content, fp);
	fclose(fp);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	unsetenv("CREDENTIALS_DIRECTORY");
}

static void
teardown(void)
{
	char *cmd;

	xasprintf(&cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	strcpy(dir, "/tmp/rw-check-secret.XXXXXX");
}

/* The secret must be refused with an error that has want and not the
 * secret itself. */
static void
refused(const char *file, const char *want, const char *secret)
{
	char *err = NULL, *s;

	s = secret_load(file, &err);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, want) != NULL, "\"%s\" lacks \"%s\"", err,
	    want);
	if (secret != NULL)
		ck_assert_msg(strstr(err, secret) == NULL, "secret in \"%s\"",
		    err);
	free(err);
}

START_TEST(test_file)
{
	char *path = put("t", "s3cr3t-token\n", 0600), *err = NULL, *s;

	s = secret_load(path, &err);
	ck_assert_ptr_null(err);
	ck_assert_str_eq(s, "s3cr3t-token");
	secret_free(s);
	free(path);
	/* CRLF and no newline at all */
	path = put("u", "abc\r\n", 0400);
	s = secret_load(path, &err);
	ck_assert_str_eq(s, "abc");
	secret_free(s);
	free(path);
	path = put("v", "xyz", 0600);
	s = secret_load(path, &err);
	ck_assert_str_eq(s, "xyz");
	secret_free(s);
	free(path);
}
END_TEST

START_TEST(test_mode)
{
	char *path = put("t", "s3cr3t-token\n", 0644);

	refused(path, "mode 0644", "s3cr3t");
	free(path);
	path = put("g", "s3cr3t-token\n", 0640);
	refused(path, "chmod 600", "s3cr3t");
	free(path);
	path = put("w", "s3cr3t-token\n", 0602);
	refused(path, "group or others", "s3cr3t");
	free(path);
}
END_TEST

START_TEST(test_content)
{
	char *path;

	path = put("empty", "\n", 0600);
	refused(path, "is empty", NULL);
	free(path);
	path = put("two", "line-one\nline-two\n", 0600);
	refused(path, "one line expected", "line-one");
	free(path);
	path = put("nul", "", 0600);
	refused(path, "is empty", NULL);
	free(path);
}
END_TEST

START_TEST(test_missing)
{
	char *path;

	xasprintf(&path, "%s/none", dir);
	refused(path, "No such file", NULL);
	refused(dir, "not a regular file", NULL);
	free(path);
}
END_TEST

START_TEST(test_credentials)
{
	char *path = put("acme.token", "cred-token\n", 0400), *err = NULL;
	char *s;

	refused("acme.token", "$CREDENTIALS_DIRECTORY is not set", NULL);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	s = secret_load("acme.token", &err);
	ck_assert_ptr_null(err);
	ck_assert_str_eq(s, "cred-token");
	secret_free(s);
	refused("other.token", "other.token", NULL);
	unsetenv("CREDENTIALS_DIRECTORY");
	free(path);
}
END_TEST

static Suite *
secret_suite(void)
{
	Suite *s = suite_create("secret");
	TCase *tc = tcase_create("secret");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_file);
	tcase_add_test(tc, test_mode);
	tcase_add_test(tc, test_content);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_credentials);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(secret_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "deliver.h"
#include "routes.h"
#include "xmalloc.h"

/*
 * The [route "NAME"] sections as delivery channels: every field of struct
 * route from the configuration, the secrets read from their files (and a
 * file others may read refused, with the file named and the secret never
 * quoted), the recipients split and trimmed.
 */

static char dir[] = "/tmp/rw-check-routes.XXXXXX";

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
	strcpy(dir, "/tmp/rw-check-routes.XXXXXX");
}

/* The configuration in text, which must be valid. */
static struct conf *
load(const char *text)
{
	struct conf_errors errs;
	struct conf *conf;
	char *path;

	path = put("replywatch.conf", text, 0644);
	conf = conf_load(path, &errs);
	ck_assert_msg(conf != NULL, "%zu errors, first: %s", errs.n,
	    errs.n > 0 ? errs.msgs[0] : "none");
	free(path);
	return conf;
}

/* A webhook with a secret and an email route with two recipients. */
static struct conf *
load_two(mode_t secret_mode)
{
	struct conf *conf;
	char *hook, *mail, *text;

	hook = put("hook.secret", "hmac-k3y\n", secret_mode);
	mail = put("mail.password", "smtp-passw0rd", 0600);
	xasprintf(&text,
	    "[daemon]\n"
	    "alert_routes = ops-hook\n"
	    "\n"
	    "[route \"ops-hook\"]\n"
	    "type = webhook\n"
	    "url = https://hooks.example.com/replywatch\n"
	    "secret_file = %s\n"
	    "format = slack\n"
	    "\n"
	    "[route \"ops-mail\"]\n"
	    "type = email\n"
	    "url = smtp://127.0.0.1:2525\n"
	    "starttls = no\n"
	    "from = replywatch@example.com\n"
	    "to =  leads@example.com ,oncall@example.org  \n"
	    "username = replywatch\n"
	    "password_file = %s\n"
	    "ca_file = /etc/replywatch/ca.pem\n", hook, mail);
	conf = load(text);
	free(text);
	free(hook);
	free(mail);
	return conf;
}

START_TEST(test_routes)
{
	const struct route *r;
	struct routeset *rs;
	struct conf *conf;
	char *err = NULL;

	conf = load_two(0600);
	rs = routeset_new(conf, &err);
	ck_assert_msg(rs != NULL, "routeset_new: %s", err);
	ck_assert_ptr_null(err);
	ck_assert_uint_eq(rs->n, 2);

	r = routeset_find(rs, "ops-hook");
	ck_assert_ptr_eq(r, &rs->routes[0]);
	ck_assert_str_eq(r->name, "ops-hook");
	ck_assert_int_eq(r->type, ROUTE_WEBHOOK);
	ck_assert_str_eq(r->url, "https://hooks.example.com/replywatch");
	ck_assert_str_eq(r->secret, "hmac-k3y");
	ck_assert_int_eq(r->slack, 1);
	ck_assert_ptr_null(r->from);
	ck_assert_ptr_null(r->to);
	ck_assert_ptr_null(r->username);
	ck_assert_ptr_null(r->password);
	ck_assert_ptr_null(r->ca_file);
	ck_assert_int_eq(r->timeout_ms, 0);

	r = routeset_find(rs, "ops-mail");
	ck_assert_ptr_eq(r, &rs->routes[1]);
	ck_assert_str_eq(r->name, "ops-mail");
	ck_assert_int_eq(r->type, ROUTE_EMAIL);
	ck_assert_str_eq(r->url, "smtp://127.0.0.1:2525");
	ck_assert_ptr_null(r->secret);
	ck_assert_int_eq(r->slack, 0);
	ck_assert_str_eq(r->from, "replywatch@example.com");
	ck_assert_ptr_nonnull(r->to);
	ck_assert_str_eq(r->to[0], "leads@example.com");
	ck_assert_str_eq(r->to[1], "oncall@example.org");
	ck_assert_ptr_null(r->to[2]);
	ck_assert_str_eq(r->username, "replywatch");
	ck_assert_str_eq(r->password, "smtp-passw0rd");
	ck_assert_int_eq(r->starttls, 0);
	ck_assert_str_eq(r->ca_file, "/etc/replywatch/ca.pem");
	ck_assert_int_eq(r->timeout_ms, 0);

	ck_assert_ptr_null(routeset_find(rs, "ops"));
	ck_assert_ptr_null(routeset_find(rs, NULL));
	routeset_free(rs);
	conf_free(conf);
	routeset_free(NULL);
}
END_TEST

START_TEST(test_defaults)
{
	const struct route *r;
	struct routeset *rs;
	struct conf *conf;
	char *err = NULL;

	/* no route: an empty set */
	conf = load("[daemon]\n");
	rs = routeset_new(conf, &err);
	ck_assert_ptr_nonnull(rs);
	ck_assert_uint_eq(rs->n, 0);
	ck_assert_ptr_null(routeset_find(rs, "x"));
	routeset_free(rs);
	conf_free(conf);

	/* unsigned json webhook; email over smtps without AUTH */
	conf = load("[route \"h\"]\ntype = webhook\nurl = https://h.example\n"
	    "[route \"m\"]\ntype = email\nurl = smtps://m.example\n"
	    "from = a@example.com\nto = b@example.com\n");
	rs = routeset_new(conf, &err);
	ck_assert_msg(rs != NULL, "routeset_new: %s", err);
	r = routeset_find(rs, "h");
	ck_assert_ptr_null(r->secret);
	ck_assert_int_eq(r->slack, 0);
	r = routeset_find(rs, "m");
	ck_assert_str_eq(r->to[0], "b@example.com");
	ck_assert_ptr_null(r->to[1]);
	ck_assert_ptr_null(r->username);
	ck_assert_ptr_null(r->password);
	ck_assert_int_eq(r->starttls, 1);
	routeset_free(rs);
	conf_free(conf);
}
END_TEST

START_TEST(test_secret_refused)
{
	struct routeset *rs;
	struct conf *conf;
	char *err = NULL, *want;

	/* a secret file its group and others may read */
	conf = load_two(0644);
	rs = routeset_new(conf, &err);
	ck_assert_ptr_null(rs);
	ck_assert_ptr_nonnull(err);
	xasprintf(&want, "%s:4: route \"ops-hook\": %s/hook.secret: ",
	    conf->path, dir);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "\"%s\" does not start with \"%s\"", err, want);
	ck_assert_msg(strstr(err, "(mode 0644)") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "hmac-k3y") == NULL, "secret in \"%s\"",
	    err);
	ck_assert_ptr_null(strchr(err, '\n'));
	free(want);
	free(err);
	conf_free(conf);

	/* both missing: both reported, one per line */
	conf = load("[route \"h\"]\ntype = webhook\nurl = https://h.example\n"
	    "secret_file = /nonexistent/h.secret\n"
	    "[route \"m\"]\ntype = email\nurl = smtps://m.example\n"
	    "from = a@example.com\nto = b@example.com\nusername = u\n"
	    "password_file = /nonexistent/m.password\n");
	err = NULL;
	ck_assert_ptr_null(routeset_new(conf, &err));
	ck_assert_ptr_nonnull(err);
	xasprintf(&want, "%s:1: route \"h\": /nonexistent/h.secret: No such "
	    "file or directory\n%s:5: route \"m\": /nonexistent/m.password: "
	    "No such file or directory", conf->path, conf->path);
	ck_assert_str_eq(err, want);
	free(want);
	free(err);
	conf_free(conf);
}
END_TEST

static Suite *
routes_suite(void)
{
	Suite *s = suite_create("routes");
	TCase *tc = tcase_create("routes");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_routes);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_secret_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(routes_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

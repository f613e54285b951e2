/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <uv.h>

#include "connector.h"
#include "log.h"
#include "msg.h"
#include "xmalloc.h"

/*
 * The exec connector against a real libuv loop and real /bin/sh children:
 * the JSON Lines protocol, the environment, exit statuses, timeouts and
 * the kill sequence, output limits, cancelling, and the ways a program
 * can hold its pipes open. The poll job is a fake defined here that
 * records what the connector hands over.
 *
 * Each test starts with fx_init() and ends with fx_fini(), which frees
 * the connector and requires the loop to close with no handle left.
 */

/* connectors/exec.c */
extern const struct connector_def connector_exec;
void	exec_test_tune(size_t max_line, size_t max_output,
	    const char *shell);

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* 2026-11-25T12:00:00Z */
#define NOV25	INT64_C(1795608000000)
#define DAY	INT64_C(86400000)

#define SECRET	"s3cr3t-Zq9-value"

/* A message of account acme as a shell word (single-quoted). */
#define MSG(id) \
	"'{\"platform\":\"x\",\"account\":\"acme\",\"id\":\"" id "\"," \
	"\"conversation\":\"c1\",\"kind\":\"direct\"," \
	"\"direction\":\"inbound\"," \
	"\"created_at\":\"2026-11-25T12:00:00Z\"}'"
/* The same as msg_to_json prints it. */
#define MSG_JSON(id) \
	"{\"platform\":\"x\",\"account\":\"acme\",\"id\":\"" id "\"," \
	"\"conversation\":\"c1\",\"kind\":\"direct\"," \
	"\"direction\":\"inbound\"," \
	"\"created_at\":\"2026-11-25T12:00:00Z\"}"

/* ---- the fake poll job --------------------------------------------------- */

struct strs {
	char	**v;
	size_t	  n;
};

struct poll_job {
	int		 stream;
	const char	*cursor_in;
	int64_t		 since;
	int64_t		 now;
	const char	*refuse_id;	/* poll_job_add refuses this id */

	struct strs	 pending;	/* handed over, not yet committed */
	struct strs	 stored;	/* committed by poll_job_done(OK) */
	int		 discards;
	int		 done;
	enum poll_status status;
	char		*error;
	char		*cursor;
};

static void
strs_add(struct strs *s, char *str)
{
	s->v = xreallocarray(s->v, s->n + 1, sizeof *s->v);
	s->v[s->n++] = str;
}

static void
strs_clear(struct strs *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

int
poll_job_stream(const struct poll_job *job)
{
	return job->stream;
}

const char *
poll_job_cursor(const struct poll_job *job)
{
	return job->cursor_in;
}

int64_t
poll_job_backfill_since(const struct poll_job *job)
{
	return job->since;
}

int64_t
poll_job_now(const struct poll_job *job)
{
	return job->now;
}

int
poll_job_add(struct poll_job *job, struct msg *m, char **errstr)
{
	ck_assert_msg(!job->done, "poll_job_add after poll_job_done");
	ck_assert_ptr_nonnull(m->platform);
	ck_assert_ptr_nonnull(m->account);
	if (job->refuse_id != NULL && strcmp(m->id, job->refuse_id) == 0) {
		xasprintf(errstr, "message \"%s\" refused by the job", m->id);
		return -1;
	}
	strs_add(&job->pending, msg_to_json(m));
	msg_clear(m);
	return 0;
}

void
poll_job_discard(struct poll_job *job)
{
	ck_assert_msg(!job->done, "poll_job_discard after poll_job_done");
	job->discards++;
	strs_clear(&job->pending);
}

void
poll_job_done(struct poll_job *job, const struct poll_result *res)
{
	size_t i;

	ck_assert_msg(!job->done, "poll_job_done called twice");
	job->done = 1;
	job->status = res->status;
	job->error = xstrdup_or_null(res->error);
	job->cursor = xstrdup_or_null(res->cursor);
	if (res->status == POLL_OK) {
		ck_assert_ptr_null(res->error);
		for (i = 0; i < job->pending.n; i++)
			strs_add(&job->stored, job->pending.v[i]);
		free(job->pending.v);
		job->pending.v = NULL;
		job->pending.n = 0;
	} else {
		ck_assert_ptr_nonnull(res->error);
		ck_assert_ptr_null(res->cursor);
		strs_clear(&job->pending);
	}
}

static void
job_clear(struct poll_job *job)
{
	strs_clear(&job->pending);
	strs_clear(&job->stored);
	free(job->error);
	free(job->cursor);
	memset(job, 0, sizeof *job);
}

/* ---- the fixture --------------------------------------------------------- */

static char tmpdir[1024];

static struct {
	uv_loop_t	 loop;
	uv_timer_t	 guard;
	uv_timer_t	 canceller;
	struct conf_account acct;
	struct connector_env env;
	void		*conn;
	struct poll_job	 job;
	char		*token_file;
	uint64_t	 t0;
	uint64_t	 elapsed_ms;
} fx;

static void
tmpdir_setup(void)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || *base == '\0')
		base = "/tmp";
	snprintf(tmpdir, sizeof tmpdir, "%s/check-exec.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL)
		ck_abort_msg("mkdtemp %s: %s", tmpdir, strerror(errno));
	setenv("RW_TEST_DIR", tmpdir, 1);
}

static void
tmpdir_teardown(void)
{
	struct dirent *de;
	char *path;
	DIR *d;

	exec_test_tune(0, 0, NULL);
	unsetenv("RW_TEST_DIR");
	if ((d = opendir(tmpdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		xasprintf(&path, "%s/%s", tmpdir, de->d_name);
		unlink(path);
		free(path);
	}
	closedir(d);
	rmdir(tmpdir);
}

/* A loop, account acme running command, its connector, a first poll. */
static void
fx_init(const char *command)
{
	char *err = NULL;

	memset(&fx, 0, sizeof fx);
	ck_assert_int_eq(uv_loop_init(&fx.loop), 0);
	ck_assert_int_eq(uv_timer_init(&fx.loop, &fx.guard), 0);
	ck_assert_int_eq(uv_timer_init(&fx.loop, &fx.canceller), 0);
	fx.acct.name = xstrdup("acme");
	fx.acct.connector = xstrdup("exec");
	fx.acct.command = xstrdup(command);
	fx.acct.command_timeout_ms = 10000;
	fx.env.account = &fx.acct;
	fx.env.secret = NULL;
	fx.env.loop = &fx.loop;
	fx.conn = connector_exec.new(&fx.env, &err);
	ck_assert_msg(fx.conn != NULL, "new: %s", err != NULL ? err : "?");
	fx.job.stream = 0;
	fx.job.cursor_in = NULL;
	fx.job.since = NOV25 - DAY;
	fx.job.now = NOV25;
}

static void
on_guard(uv_timer_t *t)
{
	ck_abort_msg("the poll did not end within 10 s");
}

/* Run the loop until the job is done. */
static void
wait_done(struct poll_job *job)
{
	uv_timer_start(&fx.guard, on_guard, 10000, 0);
	while (!job->done)
		uv_run(&fx.loop, UV_RUN_ONCE);
	fx.elapsed_ms = (uv_hrtime() - fx.t0) / 1000000;
	uv_timer_stop(&fx.guard);
}

static void
run_poll(void)
{
	fx.t0 = uv_hrtime();
	connector_exec.poll(fx.conn, &fx.job);
	wait_done(&fx.job);
}

static void
fx_fini(void)
{
	connector_exec.free(fx.conn);
	uv_close((uv_handle_t *)&fx.guard, NULL);
	uv_close((uv_handle_t *)&fx.canceller, NULL);
	ck_assert_int_eq(uv_run(&fx.loop, UV_RUN_DEFAULT), 0);
	ck_assert_int_eq(uv_loop_close(&fx.loop), 0);
	job_clear(&fx.job);
	free(fx.acct.name);
	free(fx.acct.connector);
	free(fx.acct.command);
	free(fx.acct.url);
	free(fx.acct.token_file);
	free(fx.acct.password_file);
	free(fx.token_file);
}

static void
assert_failed(enum poll_status st, const char *error_has)
{
	ck_assert_int_eq(fx.job.done, 1);
	ck_assert_msg(fx.job.status == st, "status %d, expected %d (%s)",
	    (int)fx.job.status, (int)st,
	    fx.job.error != NULL ? fx.job.error : "no error");
	ck_assert_ptr_nonnull(fx.job.error);
	ck_assert_msg(strstr(fx.job.error, error_has) != NULL,
	    "error \"%s\" lacks \"%s\"", fx.job.error, error_has);
	ck_assert_uint_eq(fx.job.stored.n, 0);
	ck_assert_uint_eq(fx.job.pending.n, 0);
	ck_assert_ptr_null(fx.job.cursor);
}

static void
assert_ok(size_t nstored, const char *cursor)
{
	ck_assert_msg(fx.job.status == POLL_OK, "status %d: %s",
	    (int)fx.job.status, fx.job.error != NULL ? fx.job.error : "");
	ck_assert_ptr_null(fx.job.error);
	ck_assert_uint_eq(fx.job.stored.n, nstored);
	if (cursor == NULL)
		ck_assert_ptr_null(fx.job.cursor);
	else {
		ck_assert_ptr_nonnull(fx.job.cursor);
		ck_assert_str_eq(fx.job.cursor, cursor);
	}
}

/* The pid written by the command into file name of the test directory. */
static pid_t
read_pid(const char *name)
{
	char *path, buf[32];
	ssize_t n;
	int fd;

	xasprintf(&path, "%s/%s", tmpdir, name);
	fd = open(path, O_RDONLY);
	ck_assert_msg(fd != -1, "%s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	free(path);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	return (pid_t)strtol(buf, NULL, 10);
}

/* Running, and not a zombie waiting for someone to reap it. */
static int
alive(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	if (kill(pid, 0) == -1)
		return 0;
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return errno != ENOENT;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] == '\0')
		return 1;
	return p[2] != 'Z' && p[2] != 'X';
}

/* Gone now or within a second (the kernel may still be tearing it down). */
static void
assert_gone(pid_t pid)
{
	int i;

	for (i = 0; i < 100 && alive(pid); i++)
		usleep(10000);
	ck_assert_msg(!alive(pid), "process %ld is still running", (long)pid);
}

/* ---- the connector's definition ------------------------------------------ */

START_TEST(definition)
{
	ck_assert_str_eq(connector_exec.name, "exec");
	ck_assert_ptr_nonnull(connector_exec.streams);
	ck_assert_str_eq(connector_exec.streams[0], "messages");
	ck_assert_ptr_null(connector_exec.streams[1]);
	ck_assert_int_eq(connector_exec.needs_secret, 0);
	ck_assert_ptr_null(connector_exec.default_url);
	ck_assert_ptr_null(connector_exec.platform);
}
END_TEST

START_TEST(new_needs_command)
{
	static const char *const commands[] = { NULL, "" };
	struct conf_account acct;
	struct connector_env env;
	char *err = NULL;
	size_t i;

	for (i = 0; i < NELEM(commands); i++) {
		memset(&acct, 0, sizeof acct);
		memset(&env, 0, sizeof env);
		acct.name = (char *)"acme";
		acct.command = (char *)commands[i];
		env.account = &acct;
		ck_assert_ptr_null(connector_exec.new(&env, &err));
		ck_assert_ptr_nonnull(err);
		ck_assert_str_eq(err,
		    "connector exec needs command =");
		free(err);
		err = NULL;
	}
}
END_TEST

START_TEST(new_and_free)
{
	fx_init("true");
	fx_fini();
}
END_TEST

/* ---- the protocol -------------------------------------------------------- */

START_TEST(messages_and_cursor)
{
	/* a time with an offset, CRLF, blank lines, cursor lines before and
	 * after, and a last line without its newline */
	fx_init("printf '%s\\n' "
	    "'{\"platform\":\"x\",\"account\":\"acme\",\"id\":\"m1\","
	    "\"conversation\":\"c1\",\"kind\":\"direct\","
	    "\"direction\":\"inbound\","
	    "\"created_at\":\"2026-11-25T14:00:00+02:00\",\"text\":\"hello\"}' "
	    "'' '{\"cursor\": \"c1\"}' '   '; "
	    "printf '%s\\r\\n' '{\"cursor\":\"c2\"}' " MSG("m2") "; "
	    "printf '\\n\\n{\"cursor\":\"c3\"}'");
	run_poll();
	assert_ok(2, "c3");
	ck_assert_str_eq(fx.job.stored.v[0],
	    "{\"platform\":\"x\",\"account\":\"acme\",\"id\":\"m1\","
	    "\"conversation\":\"c1\",\"kind\":\"direct\","
	    "\"direction\":\"inbound\",\"created_at\":\"2026-11-25T12:00:00Z\","
	    "\"text\":\"hello\"}");
	ck_assert_str_eq(fx.job.stored.v[1], MSG_JSON("m2"));
	ck_assert_int_eq(fx.job.discards, 0);
	fx_fini();
}
END_TEST

START_TEST(platform_from_message)
{
	/* the program names any platform: the connector keeps it */
	fx_init("printf '%s\\n' '{\"platform\":\"intranet-forum\","
	    "\"account\":\"acme\",\"id\":\"p1\",\"conversation\":\"t1\","
	    "\"kind\":\"broadcast\",\"direction\":\"outbound\","
	    "\"created_at\":\"2026-11-25T12:00:00Z\",\"in_reply_to\":\"p0\","
	    "\"complaint\":false}'");
	run_poll();
	assert_ok(1, NULL);
	ck_assert_str_eq(fx.job.stored.v[0],
	    "{\"platform\":\"intranet-forum\",\"account\":\"acme\","
	    "\"id\":\"p1\",\"conversation\":\"t1\",\"kind\":\"broadcast\","
	    "\"direction\":\"outbound\","
	    "\"created_at\":\"2026-11-25T12:00:00Z\","
	    "\"in_reply_to\":\"p0\",\"complaint\":false}");
	fx_fini();
}
END_TEST

START_TEST(no_output)
{
	/* nothing new: OK, the cursor stays */
	fx_init("exit 0");
	run_poll();
	assert_ok(0, NULL);
	fx_fini();
}
END_TEST

START_TEST(cursor_max_length)
{
	char want[4097];

	memset(want, 'k', 4096);
	want[4096] = '\0';
	fx_init("printf '{\"cursor\":\"%s\"}\\n' "
	    "\"$(head -c 4096 /dev/zero | tr '\\000' k)\"");
	run_poll();
	assert_ok(0, want);
	fx_fini();
}
END_TEST

START_TEST(many_lines)
{
	/* 3000 messages: lines cross read boundaries, order is kept */
	char want[64];
	size_t i;

	fx_init("i=0; while [ $i -lt 3000 ]; do "
	    "printf '{\"platform\":\"x\",\"account\":\"acme\",\"id\":\"m%d\","
	    "\"conversation\":\"c%d\",\"kind\":\"broadcast\","
	    "\"direction\":\"inbound\",\"created_at\":\"2026-11-25T12:00:00Z\","
	    "\"text\":\"%0200d\"}\\n' $i $i $i; i=$((i+1)); done; "
	    "echo '{\"cursor\":\"end\"}'");
	run_poll();
	assert_ok(3000, "end");
	for (i = 0; i < 3000; i++) {
		snprintf(want, sizeof want, "\"id\":\"m%zu\",", i);
		ck_assert_msg(strstr(fx.job.stored.v[i], want) != NULL,
		    "message %zu: %s", i, fx.job.stored.v[i]);
	}
	fx_fini();
}
END_TEST

/* ---- the environment ----------------------------------------------------- */

/* The command prints what it sees as its cursor, after checks that end
 * it with a distinct status. */
#define ENV_COMMAND \
	"env | grep -q '" SECRET "' && " \
	"{ echo 'secret in env' >&2; exit 9; }; " \
	"read -r line && { echo 'stdin not at EOF' >&2; exit 8; }; " \
	"[ -z \"$REPLYWATCH_TOKEN_FILE\" ] || " \
	"[ \"$(cat \"$REPLYWATCH_TOKEN_FILE\")\" = '" SECRET "' ] || " \
	"{ echo 'token file unreadable' >&2; exit 7; }; " \
	"printf '{\"cursor\":\"%s|%s|%s|%s|%s|%s|%s|%s|%s\"}\\n' " \
	"\"$REPLYWATCH_ACCOUNT\" \"$REPLYWATCH_STREAM\" " \
	"\"${REPLYWATCH_CURSOR-unset}\" \"${REPLYWATCH_SINCE-unset}\" " \
	"\"$REPLYWATCH_NOW\" \"${REPLYWATCH_URL-unset}\" " \
	"\"${REPLYWATCH_TOKEN_FILE-unset}\" " \
	"\"${REPLYWATCH_PASSWORD_FILE-unset}\" \"${RW_TEST_INHERITED-unset}\""

static void
write_token(void)
{
	FILE *f;

	xasprintf(&fx.token_file, "%s/token", tmpdir);
	ck_assert_ptr_nonnull(f = fopen(fx.token_file, "w"));
	fputs(SECRET "\n", f);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(env_first_poll)
{
	char *want;

	/* inherited variables pass; stale REPLYWATCH_* ones do not */
	setenv("RW_TEST_INHERITED", "yes", 1);
	setenv("REPLYWATCH_CURSOR", "stale", 1);
	setenv("REPLYWATCH_PASSWORD_FILE", "/stale", 1);
	fx_init(ENV_COMMAND);
	write_token();
	fx.acct.url = xstrdup("https://example.test/api");
	fx.acct.token_file = xstrdup(fx.token_file);
	fx.env.secret = SECRET;
	run_poll();
	xasprintf(&want, "acme|messages||2026-11-24T12:00:00Z|"
	    "2026-11-25T12:00:00Z|https://example.test/api|%s|unset|yes",
	    fx.token_file);
	assert_ok(0, want);
	free(want);
	unsetenv("RW_TEST_INHERITED");
	unsetenv("REPLYWATCH_CURSOR");
	unsetenv("REPLYWATCH_PASSWORD_FILE");
	fx_fini();
}
END_TEST

START_TEST(env_later_poll)
{
	fx_init(ENV_COMMAND);
	fx.acct.password_file = xstrdup("/etc/replywatch/acme.password");
	fx.job.cursor_in = "c-41 with spaces";
	fx.job.since = -1;
	fx.job.now = NOV25 + 1500;
	run_poll();
	assert_ok(0, "acme|messages|c-41 with spaces||2026-11-25T12:00:01.500Z|"
	    "unset|unset|/etc/replywatch/acme.password|unset");
	fx_fini();
}
END_TEST

START_TEST(env_check_sees_leak)
{
	/* the check of env_first_poll, shown to fail when the secret is in
	 * the environment (the daemon's own environment is passed on) */
	setenv("RW_TEST_LEAK", SECRET, 1);
	fx_init(ENV_COMMAND);
	run_poll();
	assert_failed(POLL_RETRY, "status 9: secret in env");
	unsetenv("RW_TEST_LEAK");
	fx_fini();
}
END_TEST

/* ---- refused output ------------------------------------------------------ */

struct refused {
	const char	*command;
	const char	*error;
};

/* Each ends with a sleep that the connector must cut short. */
static const struct refused refused[] = {
	{ "printf '%s\\n' " MSG("m1") " '' '{\"platform\":' " MSG("m3"),
	    "command output line 3: invalid JSON near column" },
	{ "printf '%s\\n' " MSG("m1")
	    " '{\"platform\":\"x\",\"account\":\"acme\"}'",
	    "command output line 2: missing required field \"id\"" },
	{ "printf '%s\\n' '{\"platform\":\"x\",\"account\":\"other\","
	    "\"id\":\"m1\",\"conversation\":\"c1\",\"kind\":\"direct\","
	    "\"direction\":\"inbound\","
	    "\"created_at\":\"2026-11-25T12:00:00Z\"}'",
	    "command output line 1: account \"other\" is not this account "
	    "(\"acme\")" },
	{ "printf '%s\\n' " MSG("m1") " '{\"cursor\":5}'",
	    "command output line 2: field \"cursor\" must be a string" },
	{ "printf '{\"cursor\":\"%s\"}\\n' "
	    "\"$(head -c 4097 /dev/zero | tr '\\000' k)\"",
	    "command output line 1: field \"cursor\" is longer than 4096 "
	    "bytes" },
	{ "printf '%s\\n' '{\"cursor\":\"a\\u0000b\"}'",
	    "command output line 1: field \"cursor\" contains a NUL" },
	{ "printf '%s\\n' '{\"cursor\":\"a\\nb\"}'",
	    "command output line 1: field \"cursor\" contains a control" },
	{ "printf '%s\\n' '{\"cursor\":\"a\",\"more\":1}'",
	    "command output line 1: missing required field \"platform\"" },
	{ "printf '%s\\n' '[\"cursor\"]'",
	    "command output line 1: not a JSON object" },
	{ "printf 'ok\\377\\n'",
	    "command output line 1: invalid UTF-8 at column 3" },
	{ "printf '%s\\n' " MSG("m1") " " MSG("m2") " " MSG("m3"),
	    "command output line 2: message \"m2\" refused by the job" },
};

START_TEST(refuse_output)
{
	const struct refused *t = &refused[_i];
	char *cmd;

	xasprintf(&cmd, "%s; sleep 30", t->command);
	fx_init(cmd);
	free(cmd);
	fx.job.refuse_id = "m2";
	run_poll();
	assert_failed(POLL_BAD_DATA, t->error);
	ck_assert_int_ge(fx.job.discards, 1);
	/* the program was terminated, not waited for */
	ck_assert_uint_lt(fx.elapsed_ms, 5000);
	fx_fini();
}
END_TEST

START_TEST(refuse_even_if_exit_0)
{
	fx_init("printf '%s\\n' " MSG("m1") " 'garbage'; exit 0");
	run_poll();
	assert_failed(POLL_BAD_DATA, "command output line 2: invalid JSON");
	fx_fini();
}
END_TEST

START_TEST(line_too_long)
{
	/* the default limit, 1 MiB, on a line that never ends */
	fx_init("head -c 2000000 /dev/zero | tr '\\000' a; sleep 30");
	run_poll();
	assert_failed(POLL_BAD_DATA,
	    "command output line 1 is longer than 1048576 bytes");
	ck_assert_uint_lt(fx.elapsed_ms, 5000);
	fx_fini();
}
END_TEST

START_TEST(line_too_long_complete)
{
	/* a lower limit, on a complete line after a good one */
	exec_test_tune(1024, 0, NULL);
	fx_init("printf '%s\\n' " MSG("m1")
	    " \"$(head -c 2000 /dev/zero | tr '\\000' a)\"");
	run_poll();
	assert_failed(POLL_BAD_DATA,
	    "command output line 2 is longer than 1024 bytes");
	fx_fini();
}
END_TEST

START_TEST(output_too_large)
{
	/* endless blank lines: over the total, the program is killed */
	exec_test_tune(0, 65536, NULL);
	fx_init("yes ''");
	run_poll();
	assert_failed(POLL_BAD_DATA,
	    "command output is larger than 65536 bytes");
	ck_assert_uint_lt(fx.elapsed_ms, 5000);
	fx_fini();
}
END_TEST

/* ---- exit statuses and stderr -------------------------------------------- */

START_TEST(exit_tempfail)
{
	/* the messages printed before the failure are not stored */
	fx_init("printf '%s\\n' " MSG("m1") " '{\"cursor\":\"c1\"}'; "
	    "echo 'first line' >&2; echo 'upstream said: slow down' >&2; "
	    "printf '\\n  \\n' >&2; exit 75");
	run_poll();
	assert_failed(POLL_RETRY, "command exited with status 75 (temporary "
	    "failure): upstream said: slow down");
	ck_assert_str_eq(fx.job.error, "command exited with status 75 "
	    "(temporary failure): upstream said: slow down");
	fx_fini();
}
END_TEST

START_TEST(exit_other)
{
	fx_init("exit 3");
	run_poll();
	assert_failed(POLL_RETRY, "");
	ck_assert_str_eq(fx.job.error, "command exited with status 3");
	fx_fini();
}
END_TEST

START_TEST(exit_noperm)
{
	fx_init("printf '%s\\n' " MSG("m1") "; "
	    "echo 'token expired' >&2; exit 77");
	run_poll();
	assert_failed(POLL_AUTH, "");
	ck_assert_str_eq(fx.job.error, "command exited with status 77 "
	    "(permission denied): token expired");
	fx_fini();
}
END_TEST

START_TEST(killed_by_signal)
{
	fx_init("echo 'about to die' >&2; kill -KILL $$");
	run_poll();
	assert_failed(POLL_RETRY, "command killed by signal 9 (");
	ck_assert_msg(strstr(fx.job.error, "): about to die") != NULL,
	    "%s", fx.job.error);
	fx_fini();
}
END_TEST

START_TEST(stderr_sanitized)
{
	/* control characters stripped, tabs made spaces, bad UTF-8 '?' */
	fx_init("printf 'r\\303\\251sum\\303\\251\\tfailed\\033[0m \\377\\r\\n"
	    "\\n' >&2; exit 1");
	run_poll();
	assert_failed(POLL_RETRY, "");
	ck_assert_str_eq(fx.job.error,
	    "command exited with status 1: r\xc3\xa9sum\xc3\xa9 failed[0m ?");
	fx_fini();
}
END_TEST

START_TEST(stderr_tail)
{
	/* only the last 4 KiB of stderr are kept: a long last line is
	 * quoted by its end */
	char want[64 + 4096];
	int n;

	fx_init("i=0; while [ $i -lt 200 ]; do echo \"noise $i\" >&2; "
	    "i=$((i+1)); done; head -c 6000 /dev/zero | tr '\\000' y >&2; "
	    "exit 1");
	run_poll();
	n = snprintf(want, sizeof want, "command exited with status 1: ");
	memset(want + n, 'y', 4096);
	want[n + 4096] = '\0';
	assert_failed(POLL_RETRY, "");
	ck_assert_str_eq(fx.job.error, want);
	fx_fini();
}
END_TEST

/* Capture what the connector logs (log.c writes to stderr). */
static int saved_stderr = -1;

static void
capture_start(const char *path)
{
	int fd;

	fflush(stderr);
	saved_stderr = dup(2);
	ck_assert_int_ne(saved_stderr, -1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(dup2(fd, 2), 2);
	close(fd);
}

static char *
capture_end(const char *path)
{
	char *buf = xmalloc(65536);
	ssize_t n;
	int fd;

	fflush(stderr);
	ck_assert_int_eq(dup2(saved_stderr, 2), 2);
	close(saved_stderr);
	fd = open(path, O_RDONLY);
	ck_assert_int_ne(fd, -1);
	n = read(fd, buf, 65535);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

START_TEST(stderr_logged)
{
	char *path, *log, want[400];
	int n;

	xasprintf(&path, "%s/log", tmpdir);
	log_set_level(LOG_LEVEL_INFO);
	capture_start(path);
	fx_init("printf 'hello\\tworld\\033[1m\\n' >&2; "
	    "head -c 1000 /dev/zero | tr '\\000' z >&2; echo >&2; "
	    "printf 'no newline' >&2; printf '%s\\n' " MSG("m1"));
	run_poll();
	log = capture_end(path);
	log_set_level(LOG_LEVEL_ERR);
	assert_ok(1, NULL);
	ck_assert_msg(strstr(log, "account acme: command: hello world[1m\n")
	    != NULL, "log: %s", log);
	n = snprintf(want, sizeof want, "account acme: command: ");
	memset(want + n, 'z', 300);
	want[n + 300] = '\n';
	want[n + 301] = '\0';
	ck_assert_msg(strstr(log, want) != NULL, "log: %s", log);
	ck_assert_msg(strstr(log, "account acme: command: no newline\n")
	    != NULL, "log: %s", log);
	free(log);
	free(path);
	fx_fini();
}
END_TEST

/* ---- timeouts, cancelling, pipes held open ------------------------------- */

START_TEST(timeout)
{
	pid_t pid;

	fx_init("echo $$ > \"$RW_TEST_DIR/pid\"; printf '%s\\n' " MSG("m1")
	    "; sleep 30");
	fx.acct.command_timeout_ms = 1000;
	run_poll();
	assert_failed(POLL_RETRY, "");
	ck_assert_str_eq(fx.job.error, "command timed out after 1s");
	ck_assert_uint_ge(fx.elapsed_ms, 900);
	ck_assert_uint_lt(fx.elapsed_ms, 2900);
	pid = read_pid("pid");
	assert_gone(pid);
	fx_fini();
}
END_TEST

START_TEST(timeout_ignores_term)
{
	pid_t pid, child;

	/* the shell and its child ignore SIGTERM: SIGKILL 2 s later */
	fx_init("trap '' TERM; echo $$ > \"$RW_TEST_DIR/pid\"; "
	    "sleep 30 & echo $! > \"$RW_TEST_DIR/child\"; wait");
	fx.acct.command_timeout_ms = 1000;
	run_poll();
	assert_failed(POLL_RETRY, "command timed out after 1s");
	ck_assert_uint_ge(fx.elapsed_ms, 2900);
	ck_assert_uint_lt(fx.elapsed_ms, 6000);
	pid = read_pid("pid");
	child = read_pid("child");
	assert_gone(pid);
	assert_gone(child);
	fx_fini();
}
END_TEST

static void
on_cancel(uv_timer_t *t)
{
	connector_exec.cancel(fx.conn, &fx.job);
}

START_TEST(cancel_running)
{
	pid_t pid;

	fx_init("echo $$ > \"$RW_TEST_DIR/pid\"; printf '%s\\n' " MSG("m1")
	    "; sleep 30");
	fx.t0 = uv_hrtime();
	connector_exec.poll(fx.conn, &fx.job);
	uv_timer_start(&fx.canceller, on_cancel, 300, 0);
	wait_done(&fx.job);
	assert_failed(POLL_CANCELLED, "");
	ck_assert_uint_lt(fx.elapsed_ms, 2000);
	pid = read_pid("pid");
	assert_gone(pid);
	fx_fini();
}
END_TEST

START_TEST(cancel_ignores_term)
{
	pid_t pid;

	fx_init("trap '' TERM; echo $$ > \"$RW_TEST_DIR/pid\"; sleep 30");
	fx.t0 = uv_hrtime();
	connector_exec.poll(fx.conn, &fx.job);
	uv_timer_start(&fx.canceller, on_cancel, 300, 0);
	wait_done(&fx.job);
	assert_failed(POLL_CANCELLED, "");
	ck_assert_uint_ge(fx.elapsed_ms, 2200);
	ck_assert_uint_lt(fx.elapsed_ms, 5000);
	pid = read_pid("pid");
	assert_gone(pid);
	fx_fini();
}
END_TEST

START_TEST(cancel_then_poll_again)
{
	/* after a cancelled poll the connector polls again */
	fx_init("sleep 30");
	fx.t0 = uv_hrtime();
	connector_exec.poll(fx.conn, &fx.job);
	uv_timer_start(&fx.canceller, on_cancel, 100, 0);
	wait_done(&fx.job);
	assert_failed(POLL_CANCELLED, "");
	job_clear(&fx.job);
	fx.job.now = NOV25;
	fx.job.since = -1;
	free(fx.acct.command);
	fx.acct.command = xstrdup("printf '%s\\n' " MSG("m9"));
	run_poll();
	assert_ok(1, NULL);
	ck_assert_str_eq(fx.job.stored.v[0], MSG_JSON("m9"));
	fx_fini();
}
END_TEST

START_TEST(poll_while_busy)
{
	struct poll_job second;

	memset(&second, 0, sizeof second);
	second.since = -1;
	fx_init("sleep 0.3; printf '%s\\n' " MSG("m1"));
	fx.t0 = uv_hrtime();
	connector_exec.poll(fx.conn, &fx.job);
	connector_exec.poll(fx.conn, &second);
	ck_assert_int_eq(second.done, 1);
	ck_assert_int_eq(second.status, POLL_RETRY);
	ck_assert_str_eq(second.error,
	    "the previous run of the command is still going");
	wait_done(&fx.job);
	assert_ok(1, NULL);
	job_clear(&second);
	fx_fini();
}
END_TEST

START_TEST(stdout_closed_early)
{
	/* EOF on stdout does not end the run: the exit status decides */
	fx_init("printf '%s\\n' " MSG("m1") "; exec >&-; sleep 1; "
	    "echo 'failed after all' >&2; exit 75");
	run_poll();
	assert_failed(POLL_RETRY, "status 75 (temporary failure): failed "
	    "after all");
	ck_assert_uint_ge(fx.elapsed_ms, 900);
	fx_fini();
}
END_TEST

START_TEST(stdout_closed_early_ok)
{
	fx_init("printf '%s\\n' " MSG("m1") " '{\"cursor\":\"c1\"}'; "
	    "exec >&-; sleep 1");
	run_poll();
	assert_ok(1, "c1");
	ck_assert_uint_ge(fx.elapsed_ms, 900);
	fx_fini();
}
END_TEST

START_TEST(grandchild_holds_stdout)
{
	/* the shell exits 0 at once; a background child keeps stdout
	 * open. The run ends at exit + EOF, so here at the timeout,
	 * which terminates the command's process group */
	pid_t pid;

	fx_init("printf '%s\\n' " MSG("m1") "; sleep 30 & "
	    "echo $! > \"$RW_TEST_DIR/child\"; exit 0");
	fx.acct.command_timeout_ms = 1000;
	run_poll();
	assert_failed(POLL_RETRY, "");
	ck_assert_str_eq(fx.job.error, "command timed out after 1s (it exited "
	    "with status 0, but a process it started kept its output open)");
	ck_assert_uint_ge(fx.elapsed_ms, 900);
	ck_assert_uint_lt(fx.elapsed_ms, 2900);
	pid = read_pid("child");
	assert_gone(pid);
	fx_fini();
}
END_TEST

START_TEST(grandchild_escapes)
{
	/* a child in a session of its own outlives SIGTERM and SIGKILL of
	 * the group: 2 s after SIGKILL the connector stops waiting for
	 * EOF and closes its ends of the pipes */
	pid_t pid;

	fx_init("setsid sleep 30 & echo $! > \"$RW_TEST_DIR/child\"; exit 0");
	fx.acct.command_timeout_ms = 1000;
	run_poll();
	assert_failed(POLL_RETRY, "command timed out after 1s");
	ck_assert_uint_ge(fx.elapsed_ms, 4900);
	ck_assert_uint_lt(fx.elapsed_ms, 8000);
	pid = read_pid("child");
	ck_assert_msg(alive(pid), "the escaped child should still run");
	kill(pid, SIGKILL);
	assert_gone(pid);
	fx_fini();
}
END_TEST

START_TEST(spawn_fails)
{
	exec_test_tune(0, 0, "/nonexistent/sh");
	fx_init("true");
	run_poll();
	assert_failed(POLL_RETRY, "");
	ck_assert_str_eq(fx.job.error,
	    "cannot run /nonexistent/sh: no such file or directory");
	fx_fini();
}
END_TEST

static Suite *
exec_suite(void)
{
	Suite *s = suite_create("exec");
	TCase *tc;

	tc = tcase_create("definition");
	tcase_add_test(tc, definition);
	tcase_add_test(tc, new_needs_command);
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, new_and_free);
	suite_add_tcase(s, tc);

	tc = tcase_create("protocol");
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, messages_and_cursor);
	tcase_add_test(tc, platform_from_message);
	tcase_add_test(tc, no_output);
	tcase_add_test(tc, cursor_max_length);
	tcase_add_test(tc, many_lines);
	tcase_add_test(tc, env_first_poll);
	tcase_add_test(tc, env_later_poll);
	tcase_add_test(tc, env_check_sees_leak);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, refuse_output, 0, (int)NELEM(refused));
	tcase_add_test(tc, refuse_even_if_exit_0);
	tcase_add_test(tc, line_too_long);
	tcase_add_test(tc, line_too_long_complete);
	tcase_add_test(tc, output_too_large);
	suite_add_tcase(s, tc);

	tc = tcase_create("exit");
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, exit_tempfail);
	tcase_add_test(tc, exit_other);
	tcase_add_test(tc, exit_noperm);
	tcase_add_test(tc, killed_by_signal);
	tcase_add_test(tc, stderr_sanitized);
	tcase_add_test(tc, stderr_tail);
	tcase_add_test(tc, stderr_logged);
	tcase_add_test(tc, spawn_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("lifetime");
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, timeout);
	tcase_add_test(tc, timeout_ignores_term);
	tcase_add_test(tc, cancel_running);
	tcase_add_test(tc, cancel_ignores_term);
	tcase_add_test(tc, cancel_then_poll_again);
	tcase_add_test(tc, poll_while_busy);
	tcase_add_test(tc, stdout_closed_early);
	tcase_add_test(tc, stdout_closed_early_ok);
	tcase_add_test(tc, grandchild_holds_stdout);
	tcase_add_test(tc, grandchild_escapes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	/* the commands' stderr is logged at info: only stderr_logged
	 * wants to see it */
	log_init("check-exec", LOG_LEVEL_ERR);
	sr = srunner_create(exec_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

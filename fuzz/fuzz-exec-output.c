/* SPDX-License-Identifier: ISC */
/*
 * The exec connector's reading of its program's output: JSON Lines on
 * stdout (messages and cursor lines), any text on stderr. The parser is
 * static in exec.c and no process may be started here, so exec.c is
 * included and a run is set up as exec_poll sets it up, without the
 * process: its output arrives through the connector's own read callbacks
 * (on_out_alloc/on_out_read, on_err_alloc/on_err_read), in pieces, then
 * EOF on both, then the exit (as on_proc_exit, without a process handle
 * to close). The poll must end exactly once with every handle closed.
 *
 * The input: one byte of flags, stdout, "\0\0", stderr.
 *	flags & 3	exit status 0, 75, 77, or killed by signal 9
 *	flags & 4	the exit comes before the end of the output
 *	flags & 8	tiny limits (exec_test_tune): lines 64, output 1024
 *	flags >> 4	the size of the pieces: 1 << (flags >> 4) bytes
 */
#include "exec.c"

#include "fake-job.h"
#include "fuzz.h"

#define NOW_MS		INT64_C(1786701600000)	/* 2026-08-14T10:00:00Z */

static uv_loop_t		 loop;
static struct conf_account	 account;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz-exec-output", LOG_LEVEL_ERR);
	uv_loop_init(&loop);
	account.name = (char *)"acme";
	account.connector = (char *)"exec";
	account.command = (char *)"never run";
	account.command_timeout_ms = 60000;
	return 0;
}

static void
feed_out(struct run *r, const uint8_t *p, size_t n, size_t piece)
{
	uv_buf_t b;
	size_t k;

	while (n > 0 && !r->out_done) {
		on_out_alloc((uv_handle_t *)&r->out, READ_CHUNK, &b);
		k = n < piece ? n : piece;
		if (k > b.len)
			k = b.len;
		memcpy(b.base, p, k);
		on_out_read((uv_stream_t *)&r->out, (ssize_t)k, &b);
		p += k;
		n -= k;
	}
	if (!r->out_done) {
		on_out_alloc((uv_handle_t *)&r->out, READ_CHUNK, &b);
		on_out_read((uv_stream_t *)&r->out, UV_EOF, &b);
	}
}

static void
feed_err(struct run *r, const uint8_t *p, size_t n, size_t piece)
{
	uv_buf_t b;
	size_t k;

	while (n > 0 && !r->err_done) {
		on_err_alloc((uv_handle_t *)&r->err, READ_CHUNK, &b);
		k = n < piece ? n : piece;
		if (k > b.len)
			k = b.len;
		memcpy(b.base, p, k);
		on_err_read((uv_stream_t *)&r->err, (ssize_t)k, &b);
		p += k;
		n -= k;
	}
	if (!r->err_done) {
		on_err_alloc((uv_handle_t *)&r->err, READ_CHUNK, &b);
		on_err_read((uv_stream_t *)&r->err, UV_EOF, &b);
	}
}

static void
exit_now(struct run *r, int how)
{
	static const int64_t status[] = { 0, 75, 77, 0 };

	r->exited = 1;
	r->exit_status = status[how];
	r->term_signal = how == 3 ? 9 : 0;
	maybe_end(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	struct connector_env env;
	struct poll_job job;
	struct exec *x;
	struct run *r;
	const uint8_t *out, *err;
	size_t nout, nerr, piece;
	char *errstr = NULL;
	int flags;

	if (account.name == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size == 0)
		return 0;
	flags = data[0];
	in.p = data + 1;
	in.len = size - 1;
	out = fuzz_next(&in, "\0\0", 2, &nout);
	if (out == NULL) {
		out = data + 1;
		nout = 0;
	}
	err = in.p;	/* the rest */
	nerr = in.len;
	piece = (size_t)1 << (flags >> 4);
	if (flags & 8)
		exec_test_tune(64, 1024, NULL);
	else
		exec_test_tune(0, 0, NULL);

	memset(&env, 0, sizeof env);
	env.account = &account;
	env.loop = &loop;
	if ((x = connector_exec.new(&env, &errstr)) == NULL)
		abort();
	fake_job_init(&job, &connector_exec, account.name, 0, NULL, NOW_MS);

	/* exec_poll, up to the spawn */
	r = xcalloc(1, sizeof *r);
	r->x = x;
	r->job = &job;
	r->started = uv_now(&loop);
	x->run = r;
	r->proc.data = r->out.data = r->err.data = r->timer.data = r;
	uv_timer_init(&loop, &r->timer);
	uv_pipe_init(&loop, &r->out, 0);
	uv_pipe_init(&loop, &r->err, 0);
	r->nopen = 3;		/* no process handle */
	r->pid = 0;		/* run_signal: nobody to signal */
	uv_timer_start(&r->timer, on_timer, 60000, 0);

	if (flags & 4)
		exit_now(r, flags & 3);
	feed_out(r, out, nout, piece);
	feed_err(r, err != NULL ? err : data, nerr, piece);
	if (!(flags & 4))
		exit_now(r, flags & 3);
	/* the close callbacks end the poll */
	uv_run(&loop, UV_RUN_NOWAIT);
	if (job.ndone != 1 || x->run != NULL) {
		fprintf(stderr, "fuzz-exec-output: the poll did not end\n");
		abort();
	}
	if (job.status == POLL_OK && (flags & 3) != 0)
		abort();	/* a failed program cannot succeed */
	fake_job_clear(&job);
	connector_exec.free(x);
	return 0;
}

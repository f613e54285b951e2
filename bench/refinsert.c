/* SPDX-License-Identifier: ISC */
/*
 * rw-refinsert: the raw SQLite ceiling for `replywatch import`.
 *
 *	rw-refinsert [-n messages] [-c conversations] [-s seed] [-o db]
 *
 * Builds in memory the very rows rw-gen writes for the same parameters (no
 * JSON involved), then, on the clock: creates a fresh database file with an
 * equivalent table, sets the pragmas the daemon uses (WAL, synchronous
 * NORMAL, a 16 MiB page cache), inserts every row with one prepared statement in one transaction,
 * commits and closes. Prints one machine-readable line:
 *
 *	rows=1000000 seconds=6.320 rows_per_s=158221 gen_seconds=2.329 ...
 *
 * seconds covers open to close; insert_seconds, commit_seconds and
 * close_seconds (the WAL checkpoint) split it.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "genrows.h"

#define CHUNK		(64 * 1024 * 1024)

static const char schema[] =
    "CREATE TABLE messages("
    "id INTEGER PRIMARY KEY, "
    "platform TEXT NOT NULL, "
    "account TEXT NOT NULL, "
    "msg_id TEXT NOT NULL, "
    "conversation TEXT NOT NULL, "
    "kind INTEGER NOT NULL, "
    "direction INTEGER NOT NULL, "
    "created_ms INTEGER NOT NULL, "
    "author TEXT, "
    "in_reply_to TEXT, "
    "text TEXT, "
    "url TEXT, "
    "UNIQUE(platform, account, msg_id))";

/* The connection settings of daemon/store-sqlite.c. */
static const char pragmas[] =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = NORMAL;"
    "PRAGMA foreign_keys = OFF;"
    "PRAGMA temp_store = MEMORY;"
    "PRAGMA cache_size = -16384;";

static const char insert_sql[] =
    "INSERT INTO messages(platform, account, msg_id, conversation, kind, "
    "direction, created_ms, author, in_reply_to, text, url) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* Text columns of a row, in statement order from platform to url with the
 * three integers left out. */
enum {
	C_PLATFORM, C_ACCOUNT, C_ID, C_CONVERSATION, C_AUTHOR, C_IN_REPLY_TO,
	C_TEXT, C_URL, NCOLS
};
static const int param_of[NCOLS] = { 1, 2, 3, 4, 8, 9, 10, 11 };

struct row {
	const char	*s[NCOLS];	/* NULL: SQL NULL */
	uint16_t	 len[NCOLS];
	int64_t		 created_ms;
	uint8_t		 kind;
	uint8_t		 direction;
};

/* Strings live in big chunks, each starting with a link to the previous. */
struct arena {
	char		*chunk;
	char		*cur;
	size_t		 left;
};

static void
usage(void)
{
	fprintf(stderr, "usage: rw-refinsert [-n messages] [-c conversations] "
	    "[-s seed] [-o db]\n");
	exit(2);
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Copy s into the arena. */
static const char *
keep(struct arena *a, const char *s, uint16_t *len)
{
	size_t		 n;
	char		*p;

	if (s == NULL) {
		*len = 0;
		return NULL;
	}
	n = strlen(s);
	if (n + 1 > a->left) {
		if ((p = malloc(CHUNK)) == NULL) {
			perror("rw-refinsert");
			exit(1);
		}
		memcpy(p, &a->chunk, sizeof a->chunk);
		a->chunk = p;
		a->cur = p + sizeof a->chunk;
		a->left = CHUNK - sizeof a->chunk;
	}
	p = a->cur;
	memcpy(p, s, n + 1);
	a->cur += n + 1;
	a->left -= n + 1;
	*len = (uint16_t)n;
	return p;
}

static void
arena_free(struct arena *a)
{
	char		*prev;

	while (a->chunk != NULL) {
		memcpy(&prev, a->chunk, sizeof prev);
		free(a->chunk);
		a->chunk = prev;
	}
}

static void
die_db(sqlite3 *db, const char *what)
{
	fprintf(stderr, "rw-refinsert: %s: %s\n", what, sqlite3_errmsg(db));
	exit(1);
}

static void
exec(sqlite3 *db, const char *sql)
{
	char		*err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "rw-refinsert: %s: %s\n", sql,
		    err != NULL ? err : "?");
		exit(1);
	}
}

static void
remove_db(const char *path)
{
	char		 p[4096];

	if (unlink(path) == -1 && errno != ENOENT) {
		perror(path);
		exit(1);
	}
	snprintf(p, sizeof p, "%s-wal", path);
	(void)unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	(void)unlink(p);
	snprintf(p, sizeof p, "%s-journal", path);
	(void)unlink(p);
}

int
main(int argc, char *argv[])
{
	struct genrows	*g;
	struct genrow	 gr;
	struct row	*rows, *r;
	struct arena	 arena = { NULL, NULL, 0 };
	sqlite3		*db;
	sqlite3_stmt	*st;
	const char	*path = "bench/out/ref.db";
	uint64_t	 n = 1000000, convs = 100000, seed = 42, i;
	double		 t0, t1, ti, tc, t2;
	char		 err[128];
	int		 ch, c;

	while ((ch = getopt(argc, argv, "c:n:o:s:")) != -1) {
		switch (ch) {
		case 'c':
			convs = genrows_number("rw-refinsert", optarg, "conversation count");
			break;
		case 'n':
			n = genrows_number("rw-refinsert", optarg, "message count");
			break;
		case 'o':
			path = optarg;
			break;
		case 's':
			seed = genrows_number("rw-refinsert", optarg, "seed");
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	/* Off the clock: the rows, in memory. */
	t0 = now();
	if ((g = genrows_new(n, convs, seed, err, sizeof err)) == NULL) {
		fprintf(stderr, "rw-refinsert: %s\n", err);
		return 2;
	}
	if ((rows = calloc(n, sizeof *rows)) == NULL) {
		perror("rw-refinsert");
		return 1;
	}
	for (i = 0; genrows_next(g, &gr); i++) {
		r = &rows[i];
		r->s[C_PLATFORM] = keep(&arena, gr.platform,
		    &r->len[C_PLATFORM]);
		r->s[C_ACCOUNT] = keep(&arena, gr.account, &r->len[C_ACCOUNT]);
		r->s[C_ID] = keep(&arena, gr.id, &r->len[C_ID]);
		r->s[C_CONVERSATION] = keep(&arena, gr.conversation,
		    &r->len[C_CONVERSATION]);
		r->s[C_AUTHOR] = keep(&arena, gr.author, &r->len[C_AUTHOR]);
		r->s[C_IN_REPLY_TO] = keep(&arena, gr.in_reply_to,
		    &r->len[C_IN_REPLY_TO]);
		r->s[C_TEXT] = keep(&arena, gr.text, &r->len[C_TEXT]);
		r->s[C_URL] = keep(&arena, gr.url, &r->len[C_URL]);
		r->created_ms = gr.created_ms;
		r->kind = (uint8_t)gr.kind;
		r->direction = (uint8_t)gr.direction;
	}
	genrows_free(g);
	remove_db(path);

	/* On the clock: a fresh database, filled, durable, closed. */
	t1 = now();
	if (sqlite3_open_v2(path, &db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		die_db(db, path);
	exec(db, pragmas);
	exec(db, schema);
	exec(db, "BEGIN");
	if (sqlite3_prepare_v2(db, insert_sql, -1, &st, NULL) != SQLITE_OK)
		die_db(db, "prepare");
	for (i = 0; i < n; i++) {
		r = &rows[i];
		for (c = 0; c < NCOLS; c++) {
			if (r->s[c] == NULL)
				sqlite3_bind_null(st, param_of[c]);
			else
				sqlite3_bind_text(st, param_of[c], r->s[c],
				    r->len[c], SQLITE_STATIC);
		}
		sqlite3_bind_int(st, 5, r->kind);
		sqlite3_bind_int(st, 6, r->direction);
		sqlite3_bind_int64(st, 7, r->created_ms);
		if (sqlite3_step(st) != SQLITE_DONE)
			die_db(db, "insert");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	ti = now();
	exec(db, "COMMIT");
	tc = now();
	if (sqlite3_close(db) != SQLITE_OK)
		die_db(db, "close");
	t2 = now();

	printf("rows=%llu seconds=%.3f rows_per_s=%.0f gen_seconds=%.3f "
	    "insert_seconds=%.3f commit_seconds=%.3f close_seconds=%.3f "
	    "sqlite=%s\n", (unsigned long long)n, t2 - t1,
	    (double)n / (t2 - t1), t1 - t0, ti - t1, tc - ti, t2 - tc,
	    sqlite3_libversion());
	free(rows);
	arena_free(&arena);
	return 0;
}

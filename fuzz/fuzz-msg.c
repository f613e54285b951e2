/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "msg.h"

/*
 * The JSON Lines import parser: one line as `replywatch import` and the
 * exec connector read it. A message it accepts must come back from
 * msg_to_json as the same message, and that text must read back to
 * itself.
 */

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
same_msg(const struct msg *a, const struct msg *b)
{
	return same_str(a->platform, b->platform) &&
	    same_str(a->account, b->account) && same_str(a->id, b->id) &&
	    same_str(a->conversation, b->conversation) &&
	    a->kind == b->kind && a->direction == b->direction &&
	    a->created_ms == b->created_ms &&
	    same_str(a->author, b->author) &&
	    same_str(a->in_reply_to, b->in_reply_to) &&
	    same_str(a->text, b->text) && same_str(a->url, b->url) &&
	    a->complaint == b->complaint;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz-msg", LOG_LEVEL_ERR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg m, m2;
	char *err = NULL, *s, *s2;

	if (msg_parse_json((const char *)data, size, &m, &err) == -1) {
		if (err == NULL)
			abort();	/* refused without a reason */
		free(err);
		return 0;
	}
	if (err != NULL)
		abort();
	s = msg_to_json(&m);
	if (msg_parse_json(s, strlen(s), &m2, &err) == -1) {
		fprintf(stderr, "fuzz-msg: its own JSON is refused: %s\n%s\n",
		    err, s);
		abort();
	}
	if (!same_msg(&m, &m2)) {
		fprintf(stderr, "fuzz-msg: round trip changed it:\n%s\n", s);
		abort();
	}
	s2 = msg_to_json(&m2);
	if (strcmp(s, s2) != 0) {
		fprintf(stderr, "fuzz-msg: not stable:\n%s\n%s\n", s, s2);
		abort();
	}
	free(s);
	free(s2);
	msg_clear(&m);
	msg_clear(&m2);
	return 0;
}

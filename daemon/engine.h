/* SPDX-License-Identifier: ISC */
#ifndef RW_ENGINE_H
#define RW_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

/*
 * The reply-time engine: from the messages of one conversation to its waits.
 * Pure computation, no I/O: the store hands it the messages, it hands back
 * the waits, and the same set of messages always gives the same waits,
 * whatever order they come in.
 *
 * Rules (doc/reply-time.md):
 * - messages are taken in the order (created_at, inbound before outbound, id);
 * - direct: an inbound message opens a wait unless one is open, then it
 *   joins it; the next outbound message closes the open wait;
 * - broadcast: waits are per author; an outbound message closes a wait only
 *   when it replies (in_reply_to) to an inbound message of the conversation:
 *   the open wait of that message's author.
 */

#define ENGINE_OPEN	(-1)	/* closed_ms of a wait still open */
#define ENGINE_NONE	(-1)	/* "no such time" for complaint_ms, first_response_ms */

/* One message as the engine sees it. The strings are borrowed. */
struct engine_msg {
	int64_t		 ref;		/* the caller's handle (the store's row id) */
	const char	*id;
	const char	*author;	/* NULL: anonymous */
	const char	*in_reply_to;	/* NULL: replies to nothing */
	int64_t		 created_ms;
	enum msg_direction direction;
	int		 complaint;	/* flagged as a complaint */
	int		 foreign;	/* not of this conversation: an outbound reply
					   from elsewhere to one of its messages */
};

enum engine_action {
	ENGINE_ACT_NONE = 0,	/* changed no wait */
	ENGINE_ACT_OPEN,	/* opened a wait */
	ENGINE_ACT_JOIN,	/* joined an open wait */
	ENGINE_ACT_CLOSE,	/* closed a wait */
};

struct engine_wait {
	const char	*author;	/* broadcast: whose wait; direct: NULL */
	int64_t		 opened_ms;
	int64_t		 closed_ms;	/* ENGINE_OPEN while open */
	int64_t		 complaint_ms;	/* first complaint in it, or ENGINE_NONE */
	int64_t		 open_ref;	/* message that opened it */
	int64_t		 close_ref;	/* message that closed it, or -1 */
	int		 inbound;	/* inbound messages in it */
	int64_t		 store_id;	/* the caller's id of a resumed wait, or -1 */
	int		 changed;	/* resumed, then joined or closed */
};

struct engine_result {
	struct engine_wait *waits;	/* in order of opening */
	size_t		 nwaits;
	/* per message, in the engine's order (msgs is sorted in place) */
	enum engine_action *actions;
	size_t		*wait_of;	/* index into waits, or SIZE_MAX */
	/* the conversation */
	int64_t		 first_ms;		/* ENGINE_NONE if no own message */
	int		 first_inbound;		/* begins with an inbound message */
	int64_t		 first_response_ms;	/* ENGINE_NONE: none yet */
	/* own outbound replies whose in_reply_to is not among msgs: the
	 * caller may have to recompute the conversation it belongs to */
	size_t		*unresolved;	/* indices into msgs */
	size_t		 nunresolved;
};

/*
 * Incremental use: the state of a conversation is its first message and
 * its open waits. A caller that stored them can resume from there and feed
 * only messages that come after everything already processed; the waits
 * are then the same as from a computation over all the messages.
 */
struct engine;

/* Where a message that an outbound reply answers is, if it is not among the
 * messages fed: 1 with *author and *direction set when it is a message of
 * this conversation, 0 when it is elsewhere or unknown. */
typedef int engine_lookup_fn(void *arg, const char *id, const char **author,
	    enum msg_direction *direction);

struct engine *engine_new(enum msg_kind);
void	engine_free(struct engine *);
/* The conversation's first message (ENGINE_NONE if it has none yet). */
void	engine_resume(struct engine *, int64_t first_ms, int first_inbound,
	    int64_t first_response_ms);
/* An open wait of the conversation (author and strings borrowed). */
void	engine_resume_wait(struct engine *, const struct engine_wait *);
/* Messages, sorted in the engine's order and all after what came before;
 * lookup may be NULL. Strings are borrowed until engine_free. */
void	engine_feed(struct engine *, struct engine_msg *msgs, size_t n,
	    engine_lookup_fn *lookup, void *arg);
/* The result so far; actions and wait_of are those of the last feed. */
const struct engine_result *engine_result(const struct engine *);

/* Sorts msgs in place into the engine's order and computes. Free the
 * result with engine_result_clear. */
void	engine_compute(enum msg_kind, struct engine_msg *msgs, size_t n,
	    struct engine_result *out);
void	engine_result_clear(struct engine_result *);

/* The engine's order: (created_at, inbound first, id). qsort-compatible. */
int	engine_msg_cmp(const void *, const void *);

const char *engine_action_name(enum engine_action);

#endif

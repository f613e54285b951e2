/* SPDX-License-Identifier: ISC */
#ifndef RW_MSG_H
#define RW_MSG_H

#include <stddef.h>
#include <stdint.h>

/*
 * The normalized message: what every connector produces and what
 * `replywatch import` reads, one JSON object per line.
 */
enum msg_kind {
	MSG_DIRECT = 0,		/* private conversation */
	MSG_BROADCAST = 1,	/* public mention, comment, reply */
};

enum msg_direction {
	MSG_INBOUND = 0,	/* written by someone else */
	MSG_OUTBOUND = 1,	/* written by the brand account */
};

enum msg_complaint {
	MSG_COMPLAINT_UNKNOWN = -1,	/* not classified */
	MSG_COMPLAINT_NO = 0,
	MSG_COMPLAINT_YES = 1,
};

/* Limits on untrusted input. */
#define MSG_MAX_NAME	256		/* platform, account */
#define MSG_MAX_ID	512		/* id, conversation, author, in_reply_to */
#define MSG_MAX_TEXT	(64 * 1024)	/* text */
#define MSG_MAX_URL	4096

struct msg {
	char		*platform;
	char		*account;
	char		*id;
	char		*conversation;
	enum msg_kind	 kind;
	enum msg_direction direction;
	int64_t		 created_ms;
	char		*author;	/* NULL if absent */
	char		*in_reply_to;	/* NULL if absent */
	char		*text;		/* NULL if absent */
	char		*url;		/* NULL if absent */
	enum msg_complaint complaint;
	/* how the classifier saw it (inbound messages), when scored */
	int		 scored;
	double		 complaint_score;	/* 0..1 */
	char		 lang[4];		/* "en", "de" */
	char		*cues;		/* JSON array of the cues that decided,
					   NULL if none; always the message's
					   own (msg_clear frees it even with an
					   owner) */
	void		*owner;		/* when set, the strings point into it
					   (a parsed document) and msg_clear
					   frees it instead of each string */
};

/* Parse one JSON object (not NUL-terminated: buf, len). 0 on success, with
 * *out filled (free with msg_clear); -1 with *errstr (caller frees) naming
 * the field and what is wrong with it. */
int	 msg_parse_json(const char *buf, size_t len, struct msg *out, char **errstr);

/* One JSON object, no newline, caller frees. */
char	*msg_to_json(const struct msg *);

void	 msg_clear(struct msg *);

const char *msg_kind_name(enum msg_kind);
const char *msg_direction_name(enum msg_direction);
int	 msg_kind_parse(const char *, enum msg_kind *);

#endif

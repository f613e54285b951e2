/* SPDX-License-Identifier: ISC */
#ifndef RW_CLASSIFY_MSG_H
#define RW_CLASSIFY_MSG_H

struct classify;
struct msg;

/*
 * Classify a message as it is stored: an inbound message with a text gets
 * complaint yes/no, the score, the language and the cues (as a JSON
 * array). Returns 1 if it was classified, 0 if it is not one to classify
 * (outbound, or no text).
 */
int	classify_msg(struct classify *, struct msg *);

/*
 * The classifiers of a configuration, one per account (its policy's
 * complaint settings), made when first asked for.
 */
struct conf;
struct classify_set;
struct classify_set *classify_set_new(const struct conf *);
/* The account's classifier; NULL with *errstr if its settings or model
 * are bad (asked again, it tries again). */
struct classify *classify_set_get(struct classify_set *, const char *account,
	    char **errstr);
void	classify_set_free(struct classify_set *);

#endif

/* SPDX-License-Identifier: ISC */
#ifndef RW_SECRET_H
#define RW_SECRET_H

/*
 * Secrets (API tokens, passwords) come from files, never from the
 * configuration itself. A name without '/' is a systemd credential, read
 * from $CREDENTIALS_DIRECTORY. A file its group or others may read is
 * refused. The secret is the file's content without the trailing newline.
 *
 * Error messages name the file and the problem, never the content.
 */

/* The secret, caller frees with secret_free; NULL with *errstr. */
char	*secret_load(const char *file, char **errstr);
/* Overwrites the secret before freeing it. */
void	 secret_free(char *);

#endif

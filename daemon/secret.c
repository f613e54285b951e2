/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"
#include "xmalloc.h"

#define SECRET_MAX	(64 * 1024)

static char *
secret_path(const char *file, char **errstr)
{
	const char *dir;
	char *path;

	if (strchr(file, '/') != NULL)
		return xstrdup(file);
	if ((dir = getenv("CREDENTIALS_DIRECTORY")) == NULL || *dir == '\0') {
		xasprintf(errstr, "%s: a name without '/' is a systemd "
		    "credential, but $CREDENTIALS_DIRECTORY is not set (give "
		    "the file's full path)", file);
		return NULL;
	}
	xasprintf(&path, "%s/%s", dir, file);
	return path;
}

static int
check_file(int fd, const char *path, char **errstr)
{
	struct stat sb;

	if (fstat(fd, &sb) == -1) {
		xasprintf(errstr, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		xasprintf(errstr, "%s: not a regular file", path);
		return -1;
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		xasprintf(errstr, "%s: the secret file may be read or written "
		    "by its group or others (mode %04o): make it readable by "
		    "its owner only (chmod 600)", path,
		    (unsigned)(sb.st_mode & 07777));
		return -1;
	}
	if (sb.st_size > SECRET_MAX) {
		xasprintf(errstr, "%s: the secret file is larger than %d "
		    "bytes", path, SECRET_MAX);
		return -1;
	}
	return 0;
}

/* The content up to the end, without trailing CR/LF; one line only. */
static void
wipe(char *buf)
{
	explicit_bzero(buf, SECRET_MAX + 1);
	free(buf);
}

static char *
read_secret(int fd, const char *path, char **errstr)
{
	char *buf = xmalloc(SECRET_MAX + 1), *out;
	size_t len = 0, i;
	ssize_t n;

	while (len < SECRET_MAX &&
	    (n = read(fd, buf + len, SECRET_MAX - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			xasprintf(errstr, "%s: %s", path, strerror(errno));
			wipe(buf);
			return NULL;
		}
		len += (size_t)n;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (len == 0) {
		xasprintf(errstr, "%s: the secret file is empty", path);
		wipe(buf);
		return NULL;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)buf[i] < ' ' || buf[i] == 0x7f) {
			xasprintf(errstr, "%s: the secret contains a line "
			    "break or control character at byte %zu (one line "
			    "expected)", path, i + 1);
			wipe(buf);
			return NULL;
		}
	}
	out = xstrdup(buf);
	wipe(buf);
	return out;
}

char *
secret_load(const char *file, char **errstr)
{
	char *path, *secret = NULL;
	int fd;

	if ((path = secret_path(file, errstr)) == NULL)
		return NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		xasprintf(errstr, "%s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	if (check_file(fd, path, errstr) == 0)
		secret = read_secret(fd, path, errstr);
	close(fd);
	free(path);
	return secret;
}

void
secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

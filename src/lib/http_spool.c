/* http_spool.c - request bodies written to a spool file as they arrive,
 * bounded and hashed on the way; the file is removed unless a handler took
 * it (renamed it) before the request ended. */
#include "http_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int http_spool_open(struct http_spool *sp, const char *dir, unsigned long long max)
{
	memset(sp, 0, sizeof(*sp));
	sp->fd = -1;
	sp->max = max;
	if (asprintf(&sp->path, "%s/.upload-XXXXXX", dir) < 0) {
		sp->path = NULL;
		errno = ENOMEM;
		return -1;
	}
	mode_t old = umask(077);
	sp->fd = mkostemp(sp->path, O_CLOEXEC);
	umask(old);
	struct stat st;
	if (sp->fd < 0 || fchmod(sp->fd, 0600) < 0 || fstat(sp->fd, &st) < 0) {
		int saved = errno;
		if (sp->fd >= 0) {
			unlink(sp->path);
			close(sp->fd);
			sp->fd = -1;
		}
		free(sp->path);
		sp->path = NULL;
		errno = saved;
		return -1;
	}
	sp->dev = st.st_dev;
	sp->ino = st.st_ino;
	crypto_hash_sha256_init(&sp->sha);
	return 0;
}

/* Removes the file if the name still holds the file we made. */
static void remove_ours(struct http_spool *sp)
{
	struct stat st;
	if (sp->path && lstat(sp->path, &st) == 0 && st.st_dev == sp->dev && st.st_ino == sp->ino)
		unlink(sp->path);
	free(sp->path);
	sp->path = NULL;
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = -1;
}

int http_spool_write(struct http_spool *sp, const char *data, size_t len)
{
	if (sp->over || sp->err || sp->fd < 0)
		return -1;
	if (len > sp->max - sp->size) {
		sp->over = 1;
		remove_ours(sp);
		return -1;
	}
	crypto_hash_sha256_update(&sp->sha, (const unsigned char *)data, len);
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(sp->fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			sp->err = n < 0 ? errno : EIO;
			remove_ours(sp);
			return -1;
		}
		off += (size_t)n;
	}
	sp->size += len;
	return 0;
}

void http_spool_finish(struct http_spool *sp)
{
	unsigned char md[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&sp->sha, md);
	sodium_bin2hex(sp->hex, sizeof(sp->hex), md, sizeof(md));
}

void http_spool_discard(struct http_spool *sp) { remove_ours(sp); }

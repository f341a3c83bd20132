/* http_spool.h - a request body streamed to a file as it arrives, with its
 * size bounded and its SHA-256 computed on the way (image uploads of many
 * GiB never sit in memory). Used by http.c for routes with upload_max. */
#ifndef VDC_HTTP_SPOOL_H
#define VDC_HTTP_SPOOL_H

#include <sodium.h>
#include <stddef.h>
#include <sys/types.h>

struct http_spool {
	int fd;                    /* -1 once closed or removed */
	char *path;                /* spool_dir/.upload-XXXXXX; NULL once removed */
	dev_t dev;                 /* the file we made, to remove only it */
	ino_t ino;
	unsigned long long size;   /* bytes written */
	unsigned long long max;
	crypto_hash_sha256_state sha;
	char hex[65];              /* set by http_spool_finish */
	int over;                  /* grew past max: file removed */
	int err;                   /* errno of a failed write: file removed */
};

/* Creates spool_dir/.upload-XXXXXX (mode 0600). Returns 0, or -1 with errno
 * set and nothing left on disk. */
int http_spool_open(struct http_spool *sp, const char *dir, unsigned long long max);

/* Appends len bytes. Returns 0; -1 when the body grew past max (sp->over)
 * or the write failed (sp->err); on -1 the file is already removed and
 * further calls do nothing and return -1. */
int http_spool_write(struct http_spool *sp, const char *data, size_t len);

/* Flushes nothing (the caller reads the file by path); fills sp->hex with
 * the lowercase hex SHA-256 of what was written. */
void http_spool_finish(struct http_spool *sp);

/* Closes the file and removes it if it is still at its path (a handler
 * may have renamed it away). Safe to call twice. */
void http_spool_discard(struct http_spool *sp);

#endif

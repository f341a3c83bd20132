/* strbuf.h - a growable byte buffer, always NUL-terminated: what replies,
 * request bodies and query results are gathered in. */
#ifndef VDC_STRBUF_H
#define VDC_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *p;    /* NULL until something is added; then p[len] == '\0' */
	size_t len;
	size_t cap; /* bytes allocated (len + 1 at least once p is set) */
};

/* Makes room for n more bytes (and the NUL). 0, or -1 on allocation
 * failure with b unchanged. */
int strbuf_reserve(struct strbuf *b, size_t n);
/* Appends n bytes of data (may hold NULs). 0, or -1 on allocation failure
 * with b unchanged. */
int strbuf_add(struct strbuf *b, const void *data, size_t n);
/* Hands the bytes to the caller (NULL when nothing was added) and leaves
 * b empty. */
char *strbuf_take(struct strbuf *b);
/* Frees the bytes and leaves b empty. */
void strbuf_free(struct strbuf *b);

#endif

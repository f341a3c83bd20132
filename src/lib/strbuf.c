/* strbuf.c - a growable byte buffer: capacity doubles from 4 KiB, so adding
 * n bytes in small pieces costs O(n). */
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

int strbuf_reserve(struct strbuf *b, size_t n)
{
	if (n > (size_t)-1 / 2 - b->len)
		return -1;
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return -1;
	if (!b->p)
		p[0] = '\0';
	b->p = p;
	b->cap = cap;
	return 0;
}

int strbuf_add(struct strbuf *b, const void *data, size_t n)
{
	if (strbuf_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

char *strbuf_take(struct strbuf *b)
{
	char *p = b->p;
	*b = (struct strbuf){0};
	return p;
}

void strbuf_free(struct strbuf *b)
{
	free(b->p);
	*b = (struct strbuf){0};
}

/* text_put.c - see text_put.h. */
#include "text_put.h"

#include <stdarg.h>
#include <stdio.h>

void text_put(struct text *t, const char *fmt, ...)
{
	if (t->at + 1 >= t->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->buf + t->at, t->len - t->at, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->at = t->at + (size_t)n < t->len ? t->at + (size_t)n : t->len - 1;
}

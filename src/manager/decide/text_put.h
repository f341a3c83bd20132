/* text_put.h - a sentence built piece by piece into a fixed buffer (a
 * decision's reason): each piece is appended with printf's formats, and
 * what does not fit is cut, the buffer always NUL-terminated. */
#ifndef VDC_TEXT_PUT_H
#define VDC_TEXT_PUT_H

#include <stddef.h>

struct text {
	char *buf;
	size_t len, at; /* the buffer's size; where the next piece goes */
};

__attribute__((format(printf, 2, 3))) void text_put(struct text *t, const char *fmt, ...);

#endif

/* table.c - column layout for 'vdc ... list'. Widths are computed from UTF-8
 * by hand, not wcwidth(), so they do not depend on the user's locale. */
#include "table.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GAP 3

struct table {
	size_t ncols, nrows, cap;
	char **cells; /* (nrows + 1) * ncols, row 0 the headers */
	int *max_width;
};

/* Decodes one UTF-8 character at s; returns its length (1 for an invalid
 * byte, with *cp = 0xFFFD). */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	size_t len;
	uint32_t c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xE0) == 0xC0) {
		len = 2;
		c &= 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3;
		c &= 0x0F;
	} else if ((c & 0xF8) == 0xF0) {
		len = 4;
		c &= 0x07;
	} else {
		*cp = 0xFFFD;
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*cp = 0xFFFD;
			return 1;
		}
		c = (c << 6) | (s[i] & 0x3F);
	}
	*cp = c;
	return len;
}

static int char_width(uint32_t c)
{
	if ((c >= 0x0300 && c <= 0x036F) || (c >= 0x1AB0 && c <= 0x1AFF) ||
	    (c >= 0x20D0 && c <= 0x20FF) || (c >= 0xFE20 && c <= 0xFE2F) || c == 0x200B ||
	    c == 0x200D || (c >= 0xFE00 && c <= 0xFE0F))
		return 0;
	if ((c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF && c != 0x303F) ||
	    (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
	    (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
	    (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
	    (c >= 0x1F900 && c <= 0x1F9FF) || (c >= 0x20000 && c <= 0x3FFFD))
		return 2;
	return 1;
}

size_t text_width(const char *s)
{
	size_t w = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t c;
		p += utf8_next(p, &c);
		w += (size_t)char_width(c);
	}
	return w;
}

char *text_truncate(const char *s, size_t width)
{
	if (text_width(s) <= width)
		return strdup(s);
	size_t keep = width > 3 ? width - 3 : 0, w = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t c;
		size_t len = utf8_next(p, &c);
		int cw = char_width(c);
		if (w + (size_t)cw > keep)
			break;
		w += (size_t)cw;
		p += len;
	}
	size_t bytes = (size_t)(p - (const unsigned char *)s);
	size_t dots = width < 3 ? width : 3;
	char *out = malloc(bytes + dots + 1);
	if (!out)
		return NULL;
	memcpy(out, s, bytes);
	memcpy(out + bytes, "...", dots);
	out[bytes + dots] = '\0';
	return out;
}

/* Terminal escapes in a VM name or task message must not reach the terminal:
 * C0 and C1 controls and stray bytes (which some terminals read as C1) go. */
char *text_sanitize(const char *s)
{
	char *out = malloc(strlen(s) + 1);
	if (!out)
		return NULL;
	const unsigned char *p = (const unsigned char *)s;
	char *o = out;
	while (*p) {
		uint32_t c;
		size_t len = utf8_next(p, &c);
		if (c == '\t' || c == '\n' || c == '\r')
			*o++ = ' ';
		else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || (len == 1 && *p >= 0x80))
			*o++ = '?';
		else {
			memcpy(o, p, len);
			o += len;
		}
		p += len;
	}
	*o = '\0';
	return out;
}

struct table *table_new(size_t ncols, const char *const headers[], const int max_width[])
{
	struct table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ncols = ncols;
	t->max_width = calloc(ncols, sizeof(int));
	t->cap = 16;
	t->cells = calloc(t->cap * ncols, sizeof(char *));
	if (!t->max_width || !t->cells) {
		table_free(t);
		return NULL;
	}
	if (max_width)
		memcpy(t->max_width, max_width, ncols * sizeof(int));
	for (size_t i = 0; i < ncols; i++)
		if (!(t->cells[i] = strdup(headers[i]))) {
			table_free(t);
			return NULL;
		}
	return t;
}

void table_free(struct table *t)
{
	if (!t)
		return;
	if (t->cells)
		for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
			free(t->cells[i]);
	free(t->cells);
	free(t->max_width);
	free(t);
}

int table_add_row(struct table *t, const char *const cells[])
{
	if (t->nrows + 2 > t->cap) {
		size_t cap = t->cap * 2;
		char **c = realloc(t->cells, cap * t->ncols * sizeof(char *));
		if (!c)
			return -1;
		t->cells = c;
		t->cap = cap;
	}
	char **row = t->cells + (t->nrows + 1) * t->ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		char *clean = text_sanitize(cells[i] ? cells[i] : "-");
		row[i] = clean && t->max_width[i] > 0 ? text_truncate(clean, (size_t)t->max_width[i])
		                                      : clean;
		if (row[i] != clean)
			free(clean);
		if (!row[i]) {
			while (i--)
				free(row[i]);
			return -1;
		}
	}
	t->nrows++;
	return 0;
}

char *table_render(const struct table *t)
{
	size_t *w = calloc(t->ncols, sizeof(size_t));
	if (!w)
		return NULL;
	for (size_t r = 0; r <= t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t cw = text_width(t->cells[r * t->ncols + c]);
			if (cw > w[c])
				w[c] = cw;
		}
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		free(w);
		return NULL;
	}
	for (size_t r = 0; r <= t->nrows; r++) {
		const char *const *row = (const char *const *)t->cells + r * t->ncols;
		/* The last non-empty column is not padded: no trailing spaces. */
		size_t last = t->ncols;
		while (last > 1 && !*row[last - 1])
			last--;
		for (size_t c = 0; c < last; c++) {
			fputs(row[c], f);
			if (c + 1 < last)
				fprintf(f, "%*s", (int)(w[c] - text_width(row[c]) + GAP), "");
		}
		fputc('\n', f);
	}
	free(w);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

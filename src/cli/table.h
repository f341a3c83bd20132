/* table.h - aligned text columns for terminals: display width of UTF-8 text,
 * truncation with "...", and control characters from the server made harmless. */
#ifndef VDC_CLI_TABLE_H
#define VDC_CLI_TABLE_H

#include <stddef.h>

struct table;

/* A table of ncols columns. max_width[i] bounds column i's cells (0: no
 * bound); max_width may be NULL. Returns NULL when out of memory. */
struct table *table_new(size_t ncols, const char *const headers[], const int max_width[]);
void table_free(struct table *t);

/* Appends a row of ncols cells (NULL shows as "-"). Cells are copied with
 * control characters replaced (tab and line breaks by spaces, others by
 * '?'), then cut to their column's bound. Returns 0, or -1 (no memory). */
int table_add_row(struct table *t, const char *const cells[]);

/* The whole table, header first, columns left-aligned and three spaces
 * apart, no trailing spaces, each line ending in '\n'. The caller frees it. */
char *table_render(const struct table *t);

/* Columns a string takes on a terminal: UTF-8 decoded, combining marks 0,
 * East Asian wide characters 2; each invalid byte counts 1. */
size_t text_width(const char *s);

/* A malloc'd copy of s that takes at most width columns, ending in "..."
 * when it had to be cut (never splitting a character). */
char *text_truncate(const char *s, size_t width);

/* A malloc'd copy of s with control characters replaced as table cells are. */
char *text_sanitize(const char *s);

#endif

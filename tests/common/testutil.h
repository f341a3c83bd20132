/* testutil.h - helpers shared by the cmocka unit tests: cmocka's include
 * order, JSON written with single quotes, and scratch directories. */
#ifndef VDC_TESTUTIL_H
#define VDC_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Parses text as JSON after turning every ' into ", so tables of specs stay
 * readable in C. Fails the running test when the text is not JSON (a broken
 * fixture must never pass as "rejected"). */
static inline json_t *tu_json(const char *text)
{
	char *s = strdup(text);
	assert_non_null(s);
	for (char *c = s; *c; c++)
		if (*c == '\'')
			*c = '"';
	json_error_t e;
	json_t *v = json_loads(s, JSON_REJECT_DUPLICATES, &e);
	if (!v)
		fail_msg("fixture is not JSON: %s: %s", e.text, s);
	free(s);
	return v;
}

/* A fresh directory under $TMPDIR (or /tmp); the caller removes it. */
static inline char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[512];
	snprintf(tmpl, sizeof(tmpl), "%s/vdc-unit-XXXXXX", base && *base ? base : "/tmp");
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static inline void tu_write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

#endif

/* clitest.h - what the CLI's cmocka tests share: cmocka's include order, a
 * command line split into argv, and scratch files. */
#ifndef VDC_CLITEST_H
#define VDC_CLITEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Splits line at spaces into argv (argv[0] = "vdc"); the words live in
 * buf, which must outlive their use. Returns argc. */
static inline int ct_argv(const char *line, char *buf, size_t bufsize, char **argv, int max)
{
	snprintf(buf, bufsize, "vdc %s", line);
	int argc = 0;
	for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && argc < max - 1;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	return argc;
}

/* A fresh directory under $TMPDIR (or /tmp); the caller removes it. */
static inline char *ct_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[512];
	snprintf(tmpl, sizeof(tmpl), "%s/vdc-cli-test-XXXXXX", base && *base ? base : "/tmp");
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static inline void ct_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

#endif

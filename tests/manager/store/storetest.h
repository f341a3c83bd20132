/* storetest.h - helpers shared by the store tests (storetest.c): cmocka's
 * include order, the per-test context and short ways to make, read and check. */
#ifndef VDC_STORETEST_H
#define VDC_STORETEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_impl.h"

#include <jansson.h>
#include <stdbool.h>

/* One test's database: a SQLite file in dir, or the PostgreSQL at url. */
struct ctx {
	bool pg;
	char url[1024];
	char dir[256];
	char path[512];
};

extern bool suite_pg;      /* the backend of the suite being run */
extern const char *pg_url; /* VDC_TEST_PG_URL */
extern struct errinfo E;   /* the error of the last call made through a helper */

/* Runs call with a cleared E; fails the test, showing E, unless it returns 0. */
#define OK(call)                                                                                  \
	do {                                                                                      \
		ereset();                                                                         \
		if ((call) != 0)                                                                  \
			fail_msg("%s: %u %s: %s", #call, E.status, E.code, E.message);            \
	} while (0)

/* Fixtures: a fresh database per test (cmocka setup and teardown). */
int st_setup(void **state);
int st_teardown(void **state);

/* Raw SQL beside the store: the test's own PostgreSQL connection, or the
 * SQLite file; what the store API cannot do (kill connections, fake a newer
 * schema). Fails the test on error. */
void pg_sql(const char *url, const char *sql);
void pg_allow_connections(const char *url, const char *dbname, bool allow);
void pg_dbname(const char *url, char *out, size_t n);
void sqlite_sql(const char *path, const char *sql);
void raw_sql(const struct ctx *c, const char *sql);

void ereset(void);
/* Fails unless E holds this status and code. */
void expect_err(unsigned status, const char *code);

/* These fail the test on any error. */
struct store *open_store(const struct ctx *c);
json_t *mkdoc(const char *id, const char *name); /* name NULL: none */
json_t *with(json_t *d, const char *key, const char *value); /* sets key unless NULL */
void create(struct store *st, enum store_kind k, json_t *d);  /* consumes d */
char *get_text(struct store *st, enum store_kind k, const char *id);
json_t *get(struct store *st, enum store_kind k, const char *id);
void expect_absent(struct store *st, enum store_kind k, const char *id); /* 404 */
/* The values of key in a JSON array text, comma-separated (a static buffer). */
const char *field_list(const char *text, const char *key);
/* One page's names (tasks: ids), comma-separated; *next as listed. */
const char *page(struct store *st, enum store_kind k, const struct store_filter *f, int nf,
                 const char *after, int limit, char **next);
int64_t count(struct store *st, enum store_kind k, const struct store_filter *f, int nf);

double now_s(void);

/* A store test program's main: runs run_suite("sqlite", false) and, with
 * VDC_TEST_PG_URL set, run_suite("postgresql", true); arguments "sqlite"
 * and/or "postgresql" pick (asking for postgresql without the URL fails).
 * Returns the exit status. */
int storetest_main(int argc, char **argv, const char *prog, int (*run_suite)(const char *backend, bool pg));
/* A made-up SHA-256 hex text, different for each n. */
void hash_of(int n, char out[65]);

#endif

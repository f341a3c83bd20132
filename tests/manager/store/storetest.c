/* storetest.c - what the store tests share: errors kept in E, documents
 * made short, lists read as names, raw SQL beside the store, and the per-test
 * fixture (a fresh SQLite file, or an emptied PostgreSQL schema). */
#include "storetest.h"

#include "fsutil.h"
#include "log.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool suite_pg;
const char *pg_url;
struct errinfo E;

/* ---- helpers ---- */

static void quiet(void *arg, const char *msg)
{
}

/* Runs SQL on the test's own PostgreSQL connection (not the store's). */
void pg_sql(const char *url, const char *sql)
{
	PGconn *c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("cannot connect to %s: %s", url, PQerrorMessage(c));
	PQsetNoticeProcessor(c, quiet, NULL);
	PGresult *r = PQexec(c, sql);
	ExecStatusType rs = PQresultStatus(r);
	if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

/* Lets connections into the test database, or not (as if the server were
 * down), from the "postgres" database of the same server. */
void pg_allow_connections(const char *url, const char *dbname, bool allow)
{
	const char *keys[] = {"dbname", "dbname", NULL};
	const char *vals[] = {url, "postgres", NULL};
	char sql[512];
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("cannot connect to the postgres database: %s", PQerrorMessage(c));
	char *quoted = PQescapeIdentifier(c, dbname, strlen(dbname));
	snprintf(sql, sizeof(sql), "ALTER DATABASE %s WITH ALLOW_CONNECTIONS %s", quoted,
	         allow ? "true" : "false");
	PQfreemem(quoted);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

void pg_dbname(const char *url, char *out, size_t n)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	snprintf(out, n, "%s", "postgres");
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (!strcmp(o->keyword, "dbname") && o->val && *o->val)
			snprintf(out, n, "%s", o->val);
	PQconninfoFree(opts);
}

void sqlite_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

void raw_sql(const struct ctx *c, const char *sql)
{
	if (c->pg)
		pg_sql(c->url, sql);
	else
		sqlite_sql(c->path, sql);
}

void ereset(void)
{
	memset(&E, 0, sizeof(E));
}

void expect_err(unsigned status, const char *code)
{
	if (E.status != status || strcmp(E.code, code))
		fail_msg("expected %u %s, got %u %s: %s", status, code, E.status, E.code, E.message);
}


struct store *open_store(const struct ctx *c)
{
	ereset();
	struct store *st = store_open(c->url, &E);
	if (!st)
		fail_msg("store_open: %u %s: %s", E.status, E.code, E.message);
	return st;
}

json_t *mkdoc(const char *id, const char *name)
{
	json_t *d = json_object();
	json_object_set_new(d, "id", json_string(id));
	if (name)
		json_object_set_new(d, "name", json_string(name));
	return d;
}

/* Sets key to value (NULL: leaves it out) and returns d. */
json_t *with(json_t *d, const char *key, const char *value)
{
	if (value)
		json_object_set_new(d, key, json_string(value));
	return d;
}

/* Creates d (consumed); fails the test on error. */
void create(struct store *st, enum store_kind k, json_t *d)
{
	ereset();
	json_t *out = NULL;
	if (store_create(st, k, d, &out, &E))
		fail_msg("store_create: %u %s: %s", E.status, E.code, E.message);
	json_decref(out);
	json_decref(d);
}

char *get_text(struct store *st, enum store_kind k, const char *id)
{
	ereset();
	char *t = store_get_text(st, k, id, &E);
	if (!t)
		fail_msg("store_get_text %s: %u %s: %s", id, E.status, E.code, E.message);
	return t;
}

json_t *get(struct store *st, enum store_kind k, const char *id)
{
	ereset();
	json_t *d = store_get(st, k, id, &E);
	if (!d)
		fail_msg("store_get %s: %u %s: %s", id, E.status, E.code, E.message);
	return d;
}

void expect_absent(struct store *st, enum store_kind k, const char *id)
{
	ereset();
	char *t = store_get_text(st, k, id, &E);
	if (t)
		fail_msg("%s is still there: %s", id, t);
	expect_err(404, "not_found");
}

/* The values of key in a JSON array text, comma-separated (static). */
const char *field_list(const char *text, const char *key)
{
	static char out[8192];
	json_error_t je;
	json_t *a = json_loads(text, JSON_ALLOW_NUL, &je);
	if (!json_is_array(a))
		fail_msg("not a JSON array: %s", text);
	out[0] = '\0';
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		const char *s = json_string_value(json_object_get(v, key));
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i ? "," : "",
		         s ? s : "?");
	}
	json_decref(a);
	return out;
}

/* Lists and returns the names (ids for tasks) of one page; *next as listed. */
const char *page(struct store *st, enum store_kind k, const struct store_filter *f, int nf,
                        const char *after, int limit, char **next)
{
	ereset();
	char *text = store_list_text(st, k, f, nf, after, limit, next, &E);
	if (!text)
		fail_msg("store_list_text: %u %s: %s", E.status, E.code, E.message);
	const char *names = field_list(text, k == STORE_TASK ? "id" : "name");
	free(text);
	return names;
}

int64_t count(struct store *st, enum store_kind k, const struct store_filter *f, int nf)
{
	ereset();
	int64_t n = store_count(st, k, f, nf, &E);
	if (n < 0)
		fail_msg("store_count: %u %s: %s", E.status, E.code, E.message);
	return n;
}

double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- fixtures ---- */

int st_setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->pg = suite_pg;
	if (c->pg) {
		char db[256];
		snprintf(c->url, sizeof(c->url), "%s", pg_url);
		pg_dbname(c->url, db, sizeof(db));
		pg_allow_connections(c->url, db, true);
		pg_sql(c->url, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;");
	} else {
		const char *base = getenv("TMPDIR");
		snprintf(c->dir, sizeof(c->dir), "%s/vdc-store-XXXXXX", base && *base ? base : "/tmp");
		assert_non_null(mkdtemp(c->dir));
		snprintf(c->path, sizeof(c->path), "%s/vdc.db", c->dir);
		snprintf(c->url, sizeof(c->url), "sqlite:%s", c->path);
	}
	*state = c;
	return 0;
}

int st_teardown(void **state)
{
	struct ctx *c = *state;
	if (!c->pg)
		fs_remove_tree(c->dir);
	free(c);
	return 0;
}

void hash_of(int n, char out[65])
{
	for (int i = 0; i < 64; i++)
		out[i] = "0123456789abcdef"[(n * 7 + i * 13 + (n >> 4)) & 15];
	snprintf(out + 56, 9, "%08x", (unsigned)n);
}

int storetest_main(int argc, char **argv, const char *prog, int (*run_suite)(const char *backend, bool pg))
{
	bool want_sqlite = argc < 2, want_pg = argc < 2;
	for (int i = 1; i < argc; i++) {
		want_sqlite |= !strcmp(argv[i], "sqlite");
		want_pg |= !strcmp(argv[i], "postgresql");
	}
	log_set_level(LOG_WARN);
	pg_url = getenv("VDC_TEST_PG_URL");
	if (pg_url && !*pg_url)
		pg_url = NULL;
	int failed = 0;
	if (want_sqlite)
		failed += run_suite("sqlite", false);
	if (want_pg && pg_url)
		failed += run_suite("postgresql", true);
	else if (want_pg && argc >= 2) {
		fprintf(stderr, "%s: set VDC_TEST_PG_URL to run on PostgreSQL\n", prog);
		failed++;
	}
	return failed ? 1 : 0;
}

/* store_sqlite.c - the SQLite backend: one connection per handle, in WAL mode
 * so that readers never wait for the writer, with each statement prepared
 * once per handle (SQLITE_PREPARE_PERSISTENT) and reused. */
#include "store_impl.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000

struct sqlite_store {
	struct store base;
	sqlite3 *db;
	char path[512];
	sqlite3_stmt *stmts[STORE_NSLOTS];
	struct timespec busy_since; /* when the current wait for a lock began */
};

static struct sqlite_store *sq(struct store *st)
{
	return (struct sqlite_store *)st;
}

/* Maps an SQLite result code (extended) to the API's error. */
static int sq_fail(struct sqlite_store *s, int rc, const char *msg, struct errinfo *e)
{
	if (!msg)
		msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return errinfo_set(e, 503, "store_busy", NULL,
		                   "the database %s stayed locked by another writer for %d ms (%s): "
		                   "retry", s->path, BUSY_TIMEOUT_MS, msg);
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return errinfo_set(e, 409, "conflict", NULL, "%s", msg);
		return errinfo_set(e, 500, "store_error", NULL, "SQLite: %s", msg);
	case SQLITE_FULL:
		return errinfo_set(e, 507, "store_full", NULL,
		                   "the disk holding %s is full (%s): free some space", s->path, msg);
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return errinfo_set(e, 503, "store_unavailable", NULL,
		                   "cannot use the database %s (%s): check that its directory exists "
		                   "and that vdcd may write there", s->path, msg);
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return errinfo_set(e, 500, "store_corrupt", NULL,
		                   "the database %s is damaged or not an SQLite database (%s): restore "
		                   "it from a backup", s->path, msg);
	default:
		return errinfo_set(e, 500, "store_error", NULL, "SQLite: %s", msg);
	}
}

static int sq_exec(struct store *st, const char *sql, struct errinfo *e)
{
	struct sqlite_store *s = sq(st);
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		sq_fail(s, sqlite3_extended_errcode(s->db), msg, e);
	sqlite3_free(msg);
	return rc == SQLITE_OK ? 0 : -1;
}

static int sq_prepare(struct sqlite_store *s, int slot, struct errinfo *e)
{
	char sql[4096];
	if (store_sql_text(slot, sql, sizeof(sql)) < 0)
		return errinfo_set(e, 500, "internal", NULL, "no statement %d", slot);
	for (char *c = sql; *c; c++) /* $1 -> ?1: the same numbered parameter */
		if (*c == '$')
			*c = '?';
	int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[slot], NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, sqlite3_extended_errcode(s->db), NULL, e);
	return 0;
}

static int sq_query(struct store *st, int slot, const struct store_param *p, int np, int flags,
                    struct store_rows *rows, struct errinfo *e)
{
	struct sqlite_store *s = sq(st);
	if (slot < 0 || slot >= STORE_NSLOTS)
		return errinfo_set(e, 500, "internal", NULL, "no statement %d", slot);
	if (!s->stmts[slot] && sq_prepare(s, slot, e))
		return -1;
	sqlite3_stmt *stmt = s->stmts[slot];
	if (sqlite3_bind_parameter_count(stmt) != np)
		return errinfo_set(e, 500, "internal", NULL, "statement %d takes %d parameters, not %d",
		                   slot, sqlite3_bind_parameter_count(stmt), np);
	for (int i = 0; i < np; i++) {
		int rc = p[i].is_int ? sqlite3_bind_int64(stmt, i + 1, p[i].i)
		         : p[i].s    ? sqlite3_bind_text(stmt, i + 1, p[i].s, -1, SQLITE_STATIC)
		                     : sqlite3_bind_null(stmt, i + 1);
		if (rc != SQLITE_OK) {
			sqlite3_clear_bindings(stmt);
			return sq_fail(s, rc, NULL, e);
		}
	}
	*rows = (struct store_rows){.st = st, .h = stmt};
	return 0;
}

static int sq_next(struct store_rows *rows, struct errinfo *e)
{
	int rc = sqlite3_step(rows->h);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return sq_fail(sq(rows->st), sqlite3_extended_errcode(sq(rows->st)->db), NULL, e);
}

static const char *sq_text(struct store_rows *rows, int col, size_t *len)
{
	if (sqlite3_column_type(rows->h, col) == SQLITE_NULL)
		return NULL;
	const char *s = (const char *)sqlite3_column_text(rows->h, col);
	*len = (size_t)sqlite3_column_bytes(rows->h, col);
	return s;
}

static void sq_done(struct store_rows *rows)
{
	/* Reset at once: a statement left mid-way would hold its read snapshot
	 * (and stall WAL checkpoints). Bindings pointed into the caller's data. */
	sqlite3_reset(rows->h);
	sqlite3_clear_bindings(rows->h);
}

static void sq_close(struct store *st)
{
	struct sqlite_store *s = sq(st);
	for (int i = 0; i < STORE_NSLOTS; i++)
		sqlite3_finalize(s->stmts[i]);
	sqlite3_close_v2(s->db);
	free(s);
}

static const struct store_backend sqlite_backend = {
	.dialect = &store_dialect_sqlite,
	.exec = sq_exec,
	.query = sq_query,
	.next = sq_next,
	.text = sq_text,
	.done = sq_done,
	.close = sq_close,
};

/* WAL needs a mode change that a fresh file takes once; report if the file
 * system refused it (e.g. no shared memory): the store still works. */
static int sq_setup(struct sqlite_store *s, struct errinfo *e)
{
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(stmt, 0);
		if (!mode || strcmp(mode, "wal"))
			log_warn("store_no_wal", "journal_mode=%s", mode ? mode : "none");
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		sq_fail(s, sqlite3_extended_errcode(s->db), NULL, e);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_OK)
		return -1;
	return sq_exec(&s->base, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY", e);
}

/* Waits for another writer of this database (most often another thread of
 * vdcd, whose transactions take well under a millisecond) in steps from 20 µs
 * up to 1 ms, until BUSY_TIMEOUT_MS. SQLite's own handler sleeps 1, 2, 5,
 * 10 ... ms: an API call then waits milliseconds for a lock freed in
 * microseconds (creates while task workers commit). */
static int sq_busy(void *ctx, int count)
{
	struct sqlite_store *s = ctx;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (count == 0)
		s->busy_since = now;
	long long waited_ms = (long long)(now.tv_sec - s->busy_since.tv_sec) * 1000 +
	                      (now.tv_nsec - s->busy_since.tv_nsec) / 1000000;
	if (waited_ms >= BUSY_TIMEOUT_MS)
		return 0;
	long us = count < 6 ? 20L << count : 1000;
	struct timespec nap = {0, (us > 1000 ? 1000 : us) * 1000};
	nanosleep(&nap, NULL);
	return 1;
}

struct store *store_sqlite_connect(const char *path, struct errinfo *e)
{
	struct sqlite_store *s = calloc(1, sizeof(*s));
	if (!s) {
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	s->base.be = &sqlite_backend;
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (!*path) {
		errinfo_set(e, 400, "invalid_url", "store", "sqlite: needs a file path");
		goto cleanup;
	}
	/* Created 0600 here: documents and token hashes are nobody else's. */
	int fd = strcmp(path, ":memory:") ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -2;
	if (fd == -1) {
		errinfo_set(e, 503, "store_unavailable", NULL,
		            "cannot open the database %s: %s: check that its directory exists and that "
		            "vdcd may write there", path, strerror(errno));
		goto cleanup;
	}
	if (fd >= 0)
		close(fd);
	/* NOMUTEX: a handle belongs to one thread at a time (see store.h). */
	int rc = sqlite3_open_v2(path, &s->db,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                         NULL);
	if (rc != SQLITE_OK) {
		sq_fail(s, rc, NULL, e);
		goto cleanup;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_handler(s->db, sq_busy, s);
	if (sq_setup(s, e))
		goto cleanup;
	return &s->base;
cleanup:
	sqlite3_close_v2(s->db);
	free(s);
	return NULL;
}

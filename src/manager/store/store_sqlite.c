/* store_sqlite.c - the SQLite backend: a connection in WAL mode, with each
 * statement prepared once (SQLITE_PREPARE_PERSISTENT) and reused.
 *
 * vdcd's threads (the API's, each task worker's) share one connection
 * (store_open_sibling): its page cache then stays warm. With a connection
 * per thread, each one's commit made SQLite drop the others' whole cache
 * (a WAL written by another connection), so every create re-read its index
 * pages: 131 preads and 51 lock calls per create at 100,000 VMs, and system
 * calls cost most on a virtualized host. One thread at a time uses the
 * connection: for one statement, or from BEGIN to COMMIT. Transactions are
 * short (no agent call is made inside one), and SQLite has one writer at a
 * time anyway. */
#include "store_impl.h"

#include "log.h"
#include "store_sqlite_checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000

/* Page cache per connection (negative: KiB), taken as pages are read.
 * At 100,000 VMs a create then reads about 25 pages from the file (29 with
 * SQLite's 2 MiB, 20 with 64 MiB, whose bigger hash SQLite walks at times
 * and that cost more CPU than the reads saved). */
#define CACHE_KIB 16384

/* What the handles of one connection share. */
struct sqlite_conn {
	pthread_mutex_t lock; /* recursive: held by the handle using the connection */
	int refs;             /* handles */
	sqlite3 *db;
	char path[512];
	sqlite3_stmt *stmts[STORE_NSLOTS];
	struct timespec busy_since; /* when the current wait for another process began */
	struct sq_checkpointer *ckpt; /* NULL: SQLite's own checkpoints (no WAL) */
};

struct sqlite_store {
	struct store base;
	struct sqlite_conn *c;
	sqlite3 *db;      /* c->db */
	const char *path; /* c->path */
	int open_rows;    /* statements of this handle not yet done */
	bool held;        /* this handle holds c->lock */
};

static const struct store_backend sqlite_backend;

static struct sqlite_store *sq(struct store *st)
{
	return (struct sqlite_store *)st;
}

static void hold(struct sqlite_store *s)
{
	if (!s->held) {
		pthread_mutex_lock(&s->c->lock);
		s->held = true;
	}
}

/* Lets the connection go when this handle has no statement open and no
 * transaction (SQLite's autocommit: also after a failed statement ended
 * one). */
static void release_if_idle(struct sqlite_store *s)
{
	if (s->held && s->open_rows == 0 && sqlite3_get_autocommit(s->db)) {
		s->held = false;
		pthread_mutex_unlock(&s->c->lock);
	}
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
	hold(s);
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		sq_fail(s, sqlite3_extended_errcode(s->db), msg, e);
	sqlite3_free(msg);
	release_if_idle(s);
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
	int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->c->stmts[slot], NULL);
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
	hold(s);
	int rc = 0;
	if (!s->c->stmts[slot] && (rc = sq_prepare(s, slot, e)))
		goto out;
	sqlite3_stmt *stmt = s->c->stmts[slot];
	/* A statement runs once at a time: another handle of this thread
	 * (the lock is recursive) may not reuse one left open. */
	if (sqlite3_stmt_busy(stmt)) {
		rc = errinfo_set(e, 500, "internal", NULL, "statement %d is already running", slot);
		goto out;
	}
	if (sqlite3_bind_parameter_count(stmt) != np) {
		rc = errinfo_set(e, 500, "internal", NULL, "statement %d takes %d parameters, not %d",
		                 slot, sqlite3_bind_parameter_count(stmt), np);
		goto out;
	}
	for (int i = 0; i < np; i++) {
		int brc = p[i].is_int ? sqlite3_bind_int64(stmt, i + 1, p[i].i)
		          : p[i].s    ? sqlite3_bind_text(stmt, i + 1, p[i].s, -1, SQLITE_STATIC)
		                      : sqlite3_bind_null(stmt, i + 1);
		if (brc != SQLITE_OK) {
			sqlite3_clear_bindings(stmt);
			rc = sq_fail(s, brc, NULL, e);
			goto out;
		}
	}
	*rows = (struct store_rows){.st = st, .h = stmt};
	s->open_rows++;
out:
	release_if_idle(s);
	return rc;
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
	struct sqlite_store *s = sq(rows->st);
	sqlite3_reset(rows->h);
	sqlite3_clear_bindings(rows->h);
	s->open_rows--;
	release_if_idle(s);
}

static void conn_free(struct sqlite_conn *c)
{
	sq_checkpointer_free(c->ckpt);
	for (int i = 0; i < STORE_NSLOTS; i++)
		sqlite3_finalize(c->stmts[i]);
	sqlite3_close_v2(c->db);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void sq_close(struct store *st)
{
	struct sqlite_store *s = sq(st);
	struct sqlite_conn *c = s->c;
	hold(s); /* store.c rolled back what was open: this is the last use */
	bool last = --c->refs == 0;
	s->held = false;
	pthread_mutex_unlock(&c->lock);
	free(s);
	if (last)
		conn_free(c);
}

static struct sqlite_store *handle_new(struct sqlite_conn *c)
{
	struct sqlite_store *s = calloc(1, sizeof(*s));
	if (s) {
		s->base.be = &sqlite_backend;
		s->c = c;
		s->db = c->db;
		s->path = c->path;
	}
	return s;
}

static struct store *sq_sibling(struct store *st, struct errinfo *e)
{
	struct sqlite_store *s = sq(st);
	struct sqlite_store *n = handle_new(s->c);
	if (!n) {
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	pthread_mutex_lock(&s->c->lock);
	s->c->refs++;
	pthread_mutex_unlock(&s->c->lock);
	return &n->base;
}

static const struct store_backend sqlite_backend = {
	.dialect = &store_dialect_sqlite,
	.exec = sq_exec,
	.query = sq_query,
	.next = sq_next,
	.text = sq_text,
	.done = sq_done,
	.close = sq_close,
	.sibling = sq_sibling,
};

/* WAL needs a mode change that a fresh file takes once; report if the file
 * system refused it (e.g. no shared memory): the store still works. */
static int sq_setup(struct sqlite_store *s, struct errinfo *e)
{
	sqlite3_stmt *stmt = NULL;
	bool wal = false;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(stmt, 0);
		wal = mode && !strcmp(mode, "wal");
		if (!wal)
			log_warn("store_no_wal", "journal_mode=%s", mode ? mode : "none");
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		sq_fail(s, sqlite3_extended_errcode(s->db), NULL, e);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_OK)
		return -1;
	char sql[160];
	snprintf(sql, sizeof(sql), "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
	         "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-%d", CACHE_KIB);
	if (sq_exec(&s->base, sql, e))
		return -1;
	if (rc == SQLITE_OK && wal && (s->c->ckpt = sq_checkpointer_new(s->path, &s->c->lock)))
		sq_checkpointer_attach(s->c->ckpt, s->db);
	return 0;
}

/* Waits for another process writing this database (vdcd's own threads
 * share a connection and never wait here) in steps from 20 µs up to 1 ms,
 * until BUSY_TIMEOUT_MS. SQLite's own handler sleeps 1, 2, 5, 10 ... ms:
 * a call would wait milliseconds for a lock freed in microseconds. */
static int sq_busy(void *ctx, int count)
{
	struct sqlite_conn *c = ctx;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (count == 0)
		c->busy_since = now;
	long long waited_ms = (long long)(now.tv_sec - c->busy_since.tv_sec) * 1000 +
	                      (now.tv_nsec - c->busy_since.tv_nsec) / 1000000;
	if (waited_ms >= BUSY_TIMEOUT_MS)
		return 0;
	long us = count < 6 ? 20L << count : 1000;
	struct timespec nap = {0, (us > 1000 ? 1000 : us) * 1000};
	nanosleep(&nap, NULL);
	return 1;
}

static struct sqlite_conn *conn_new(const char *path)
{
	struct sqlite_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	/* Recursive: a commit observer may read through another handle on the
	 * committing thread (the connection is then idle, or its own). */
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	int rc = pthread_mutex_init(&c->lock, &a);
	pthread_mutexattr_destroy(&a);
	if (rc) {
		free(c);
		return NULL;
	}
	c->refs = 1;
	snprintf(c->path, sizeof(c->path), "%s", path);
	return c;
}

struct store *store_sqlite_connect(const char *path, struct errinfo *e)
{
	struct sqlite_conn *c = conn_new(path);
	struct sqlite_store *s = c ? handle_new(c) : NULL;
	if (!s) {
		if (c)
			conn_free(c);
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		return NULL;
	}
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
	/* NOMUTEX: one thread at a time uses the connection (c->lock). */
	int rc = sqlite3_open_v2(path, &c->db,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                         NULL);
	s->db = c->db;
	if (rc != SQLITE_OK) {
		sq_fail(s, rc, NULL, e);
		goto cleanup;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_handler(c->db, sq_busy, c);
	if (sq_setup(s, e))
		goto cleanup;
	return &s->base;
cleanup:
	free(s);
	conn_free(c);
	return NULL;
}

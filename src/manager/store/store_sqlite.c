/* store_sqlite.c - the SQLite backend: every handle of a database file uses
 * the process's one connection to it (store_sqlite_conn.c), in WAL mode,
 * with each statement prepared once per handle (SQLITE_PREPARE_PERSISTENT)
 * and reused. A handle holds the connection for each statement, and for the
 * whole of a transaction. */
#include "store_impl.h"
#include "store_sqlite_conn.h"

#include "log.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sqlite_store {
	struct store base;
	struct sq_conn *conn;
	sqlite3 *db; /* the connection's, usable while held */
	char path[512];
	sqlite3_stmt *stmts[STORE_NSLOTS];
	int held;      /* how many holds (statements, the transaction) this handle has */
	bool txn_held; /* one of them is for an open transaction */
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
		                   "retry", s->path, SQ_BUSY_TIMEOUT_MS, msg);
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

static int hold(struct sqlite_store *s, struct errinfo *e)
{
	if (s->held == 0 && sq_conn_lock(s->conn, e) < 0)
		return -1;
	s->held++;
	return 0;
}

static void release(struct sqlite_store *s)
{
	if (--s->held == 0)
		sq_conn_unlock(s->conn);
}

/* Keeps one hold for as long as a transaction is open on the connection:
 * begun by BEGIN, ended by COMMIT, ROLLBACK or an error that made SQLite
 * roll back by itself. Called while held. */
static void settle(struct sqlite_store *s)
{
	bool open = !sqlite3_get_autocommit(s->db);
	if (open && !s->txn_held) {
		s->txn_held = true;
		s->held++;
	} else if (!open && s->txn_held) {
		s->txn_held = false;
		release(s);
	}
}

static int sq_exec(struct store *st, const char *sql, struct errinfo *e)
{
	struct sqlite_store *s = sq(st);
	if (hold(s, e) < 0)
		return -1;
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		sq_fail(s, sqlite3_extended_errcode(s->db), msg, e);
	sqlite3_free(msg);
	settle(s);
	release(s);
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
	if (hold(s, e) < 0)
		return -1;
	if (!s->stmts[slot] && sq_prepare(s, slot, e))
		goto fail;
	sqlite3_stmt *stmt = s->stmts[slot];
	if (sqlite3_bind_parameter_count(stmt) != np) {
		errinfo_set(e, 500, "internal", NULL, "statement %d takes %d parameters, not %d", slot,
		            sqlite3_bind_parameter_count(stmt), np);
		goto fail;
	}
	for (int i = 0; i < np; i++) {
		int rc = p[i].is_int ? sqlite3_bind_int64(stmt, i + 1, p[i].i)
		         : p[i].s    ? sqlite3_bind_text(stmt, i + 1, p[i].s, -1, SQLITE_STATIC)
		                     : sqlite3_bind_null(stmt, i + 1);
		if (rc != SQLITE_OK) {
			sqlite3_clear_bindings(stmt);
			sq_fail(s, rc, NULL, e);
			goto fail;
		}
	}
	/* Held until sq_done. */
	*rows = (struct store_rows){.st = st, .h = stmt};
	return 0;
fail:
	release(s);
	return -1;
}

static int sq_next(struct store_rows *rows, struct errinfo *e)
{
	struct sqlite_store *s = sq(rows->st);
	int rc = sqlite3_step(rows->h);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	sq_fail(s, sqlite3_extended_errcode(s->db), NULL, e);
	settle(s); /* a failure may have rolled the transaction back */
	return -1;
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
	settle(s);
	release(s);
}

static void sq_close(struct store *st)
{
	struct sqlite_store *s = sq(st);
	if (s->txn_held) /* a transaction left open: not one to keep */
		sq_exec(st, "ROLLBACK", NULL);
	/* Statements belong to the shared connection: finalized while held. */
	if (hold(s, NULL) == 0) {
		for (int i = 0; i < STORE_NSLOTS; i++)
			sqlite3_finalize(s->stmts[i]);
		release(s);
	}
	sq_conn_put(s->conn);
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

struct store *store_sqlite_connect(const char *path, struct errinfo *e)
{
	if (!*path) {
		errinfo_set(e, 400, "invalid_url", "store", "sqlite: needs a file path");
		return NULL;
	}
	struct sqlite_store *s = calloc(1, sizeof(*s));
	if (!s) {
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	s->base.be = &sqlite_backend;
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (!(s->conn = sq_conn_get(path, e))) {
		free(s);
		return NULL;
	}
	s->db = sq_conn_db(s->conn);
	return &s->base;
}

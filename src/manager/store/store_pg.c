/* store_pg.c - the PostgreSQL backend: one libpq connection per handle, each
 * statement PQprepare'd once per connection and run with PQexecPrepared. A
 * dropped connection is a 503 saying what to do; the next call reconnects. */
#include "store_impl.h"

#include "log.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The widest statement: a batch of history rows (5 parameters each). */
#define PG_MAX_PARAMS (5 * STORE_HIST_BATCH)

struct pg_store {
	struct store base;
	PGconn *conn;
	bool prepared[STORE_NSLOTS];
};

static struct pg_store *pg(struct store *st)
{
	return (struct pg_store *)st;
}

/* libpq's messages span lines, tabs and double spaces: one plain line. */
static void pg_message(const char *in, char *out, size_t n)
{
	size_t o = 0;
	for (const char *c = in && *in ? in : "no message"; *c && o + 1 < n; c++) {
		char ch = (*c == '\n' || *c == '\r' || *c == '\t') ? ' ' : *c;
		if (ch != ' ' || (o > 0 && out[o - 1] != ' '))
			out[o++] = ch;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/* Where the server is, for messages (never the URL: it may hold a password). */
static void pg_where(PGconn *conn, char *out, size_t n)
{
	const char *host = PQhost(conn), *port = PQport(conn), *db = PQdb(conn);
	snprintf(out, n, "%s%s%s, database %s", host && *host ? host : "localhost",
	         host && *host == '/' ? " port " : ":", port && *port ? port : "5432",
	         db && *db ? db : "(default)");
}

/* A 503 naming the server and what to do; "opening" when vdcd starts (it
 * stops then), else the handle retries on its next call. */
static int pg_unavailable(struct pg_store *s, const char *what, bool opening, struct errinfo *e)
{
	char where[600], msg[800];
	pg_where(s->conn, where, sizeof(where));
	pg_message(PQerrorMessage(s->conn), msg, sizeof(msg));
	log_warn("store_unavailable", "backend=postgresql problem=\"%s\"", what);
	return errinfo_set(e, 503, "store_unavailable", NULL,
	                   "%s PostgreSQL at %s (%s). Check that the server is running and accepts "
	                   "connections, or fix the store URL%s",
	                   what, where, msg, opening ? "" : "; vdcd reconnects on the next request");
}

/* Maps a failed result (or a failed call, res NULL) to the API's error. */
static int pg_fail(struct pg_store *s, const PGresult *res, struct errinfo *e)
{
	if (PQstatus(s->conn) != CONNECTION_OK)
		return pg_unavailable(s,
		                      s->base.depth ? "lost the connection (and the open transaction) to"
		                                    : "lost the connection to",
		                      false, e);
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char msg[800];
	pg_message(res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn), msg, sizeof(msg));
	if (!state)
		state = "";
	if (!strcmp(state, "23505"))
		return errinfo_set(e, 409, "conflict", NULL, "%s", msg);
	if (!strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") ||
	    !strcmp(state, "57P03") || !strcmp(state, "53300"))
		return pg_unavailable(s, "cannot use", false, e);
	if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03"))
		return errinfo_set(e, 503, "store_busy", NULL, "PostgreSQL: %s: retry", msg);
	if (!strcmp(state, "53100"))
		return errinfo_set(e, 507, "store_full", NULL, "PostgreSQL: %s: free some space", msg);
	if (!strcmp(state, "25P02"))
		return errinfo_set(e, 500, "transaction_aborted", NULL, "PostgreSQL: %s", msg);
	return errinfo_set(e, 500, "store_error", NULL, "PostgreSQL: %s", msg);
}

/* Reconnects a dropped connection, but never inside a transaction: the
 * transaction died with it and must be rolled back by its owner. Between
 * transactions, a non-blocking look at the socket first notices a connection
 * the server closed while idle (restart, pg_terminate_backend, idle timeout),
 * so the call goes to a new connection instead of failing. */
static int pg_ensure(struct pg_store *s, struct errinfo *e)
{
	/* An idle connection has nothing to read unless the server wrote (a
	 * notice, or its goodbye and then EOF): read that, a few times at most. */
	struct pollfd p = {.fd = PQsocket(s->conn), .events = POLLIN};
	for (int i = 0; i < 4 && s->base.depth == 0 && PQstatus(s->conn) == CONNECTION_OK &&
	                poll(&p, 1, 0) == 1;
	     i++)
		if (!PQconsumeInput(s->conn))
			break;
	if (PQstatus(s->conn) == CONNECTION_OK)
		return 0;
	if (s->base.depth > 0)
		return pg_unavailable(s, "lost the connection (and the open transaction) to", false, e);
	PQreset(s->conn);
	memset(s->prepared, 0, sizeof(s->prepared));
	if (PQstatus(s->conn) != CONNECTION_OK)
		return pg_unavailable(s, "cannot reach", false, e);
	log_info("store_reconnected", "backend=postgresql");
	return 0;
}

static int pg_exec(struct store *st, const char *sql, struct errinfo *e)
{
	struct pg_store *s = pg(st);
	if (pg_ensure(s, e))
		return -1;
	PGresult *res = PQexec(s->conn, sql);
	ExecStatusType rs = PQresultStatus(res);
	int rc = 0;
	if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK)
		rc = pg_fail(s, res, e);
	else if (!strcmp(sql, "COMMIT") && strcmp(PQcmdStatus(res), "COMMIT"))
		/* The server answers ROLLBACK to a COMMIT of a failed transaction. */
		rc = errinfo_set(e, 500, "transaction_aborted", NULL,
		                 "PostgreSQL rolled the transaction back instead of committing it");
	PQclear(res);
	return rc;
}

/* Prepares (once per connection) and runs slot. NULL result on failure. */
static PGresult *pg_run(struct pg_store *s, int slot, const char *const *vals, int np,
                        struct errinfo *e)
{
	char name[16];
	snprintf(name, sizeof(name), "vdc%d", slot);
	if (!s->prepared[slot]) {
		char sql[4096];
		if (store_sql_text(slot, sql, sizeof(sql)) < 0) {
			errinfo_set(e, 500, "internal", NULL, "no statement %d", slot);
			return NULL;
		}
		PGresult *res = PQprepare(s->conn, name, sql, 0, NULL);
		bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!ok)
			pg_fail(s, res, e);
		PQclear(res);
		if (!ok)
			return NULL;
		s->prepared[slot] = true;
	}
	PGresult *res = PQexecPrepared(s->conn, name, np, vals, NULL, NULL, 0);
	ExecStatusType rs = PQresultStatus(res);
	if (rs == PGRES_TUPLES_OK || rs == PGRES_COMMAND_OK)
		return res;
	pg_fail(s, res, e);
	PQclear(res);
	return NULL;
}

static int pg_query(struct store *st, int slot, const struct store_param *p, int np, int flags,
                    struct store_rows *rows, struct errinfo *e)
{
	struct pg_store *s = pg(st);
	const char *vals[PG_MAX_PARAMS];
	char ints[PG_MAX_PARAMS][24];
	if (slot < 0 || slot >= STORE_NSLOTS || np > PG_MAX_PARAMS)
		return errinfo_set(e, 500, "internal", NULL, "bad statement %d", slot);
	for (int i = 0; i < np; i++) {
		vals[i] = p[i].s;
		if (p[i].is_int) {
			snprintf(ints[i], sizeof(ints[i]), "%lld", (long long)p[i].i);
			vals[i] = ints[i];
		}
	}
	struct errinfo mine = {0};
	if (pg_ensure(s, e))
		return -1;
	PGresult *res = pg_run(s, slot, vals, np, &mine);
	/* A read on a connection that died while idle (server restarted,
	 * connection killed) runs again on a new one; a write might have been
	 * applied, so its caller hears of it instead. */
	if (!res && (flags & STORE_Q_READ) && st->depth == 0 &&
	    PQstatus(s->conn) != CONNECTION_OK && pg_ensure(s, NULL) == 0) {
		mine = (struct errinfo){0};
		res = pg_run(s, slot, vals, np, &mine);
	}
	if (!res) {
		if (e && !e->status)
			*e = mine;
		return -1;
	}
	*rows = (struct store_rows){.st = st, .h = res, .row = -1, .nrows = PQntuples(res)};
	return 0;
}

static int pg_next(struct store_rows *rows, struct errinfo *e)
{
	return ++rows->row < rows->nrows ? 1 : 0;
}

static const char *pg_text(struct store_rows *rows, int col, size_t *len)
{
	if (PQgetisnull(rows->h, rows->row, col))
		return NULL;
	*len = (size_t)PQgetlength(rows->h, rows->row, col);
	return PQgetvalue(rows->h, rows->row, col);
}

static void pg_done(struct store_rows *rows)
{
	PQclear(rows->h);
}

static void pg_close(struct store *st)
{
	PQfinish(pg(st)->conn);
	free(st);
}

static const struct store_backend pg_backend = {
	.dialect = &store_dialect_pg,
	.exec = pg_exec,
	.query = pg_query,
	.next = pg_next,
	.text = pg_text,
	.done = pg_done,
	.close = pg_close,
};

/* Server notices (e.g. "relation already exists, skipping") are not news. */
static void pg_quiet(void *arg, const char *message)
{
}

struct store *store_pg_connect(const char *url, struct errinfo *e)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &err);
	if (!opts) {
		char msg[600];
		pg_message(err, msg, sizeof(msg));
		errinfo_set(e, 400, "invalid_url", "store", "the PostgreSQL URL is malformed: %s", msg);
		PQfreemem(err);
		return NULL;
	}
	PQconninfoFree(opts);
	struct pg_store *s = calloc(1, sizeof(*s));
	if (!s) {
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	s->base.be = &pg_backend;
	/* Defaults first (the URL overrides them), then what vdc relies on. */
	const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname",
	                      "client_encoding", NULL};
	const char *vals[] = {"10", "vdcd", url, "UTF8", NULL};
	s->conn = PQconnectdbParams(keys, vals, 1);
	if (!s->conn) {
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		goto cleanup;
	}
	PQsetNoticeProcessor(s->conn, pg_quiet, NULL);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		pg_unavailable(s, "cannot reach", true, e);
		goto cleanup;
	}
	if (PQserverVersion(s->conn) < 100000) {
		errinfo_set(e, 500, "store_error", NULL,
		            "PostgreSQL %d is too old: vdc needs version 10 or newer",
		            PQserverVersion(s->conn));
		goto cleanup;
	}
	return &s->base;
cleanup:
	PQfinish(s->conn);
	free(s);
	return NULL;
}

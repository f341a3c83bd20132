/* store_impl.h - what store.c shares with its two backends (store_sqlite.c,
 * store_pg.c) and with store_schema.c: the backend operations, the table of
 * kinds, the numbered statements and the migrations. Not for other modules. */
#ifndef VDC_STORE_IMPL_H
#define VDC_STORE_IMPL_H

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- kinds ---- */

#define STORE_MAX_COLS 5

/* A kind: its table and the fields of its documents mirrored into indexed
 * columns (a missing or null field is NULL; any other non-string is refused). */
struct store_kind_info {
	const char *name;   /* "host" */
	const char *plural; /* "hosts": the table and the REST collection */
	const char *cols[STORE_MAX_COLS];
	int ncols;
	bool by_time; /* listed by (created_at, id) instead of by name: tasks */
	bool shared;  /* an object of no project is visible to every user */
	/* Names are unique per project (schema v5: VMs, templates), not per
	 * kind: a name may be several objects; lists go by (name, id) and page
	 * after an id. */
	bool per_project;
};


extern const struct store_kind_info store_kinds[STORE_NKINDS];

/* ---- statements ----
 * Every statement has a slot number; a backend prepares a slot's SQL (built by
 * store_sql_text) the first time a handle uses it and keeps it for the life of
 * the handle. Placeholders are written $1, $2, ... (the SQLite backend turns
 * them into ?1, ?2, ...). */

enum store_global_stmt {
	SQ_MIG_VERSION, /* -> max(version) */
	SQ_MIG_RECORD,  /* version, applied_at */
	SQ_EV_ADD,      /* at, actor, action, target_kind, target_id, outcome, detail */
	SQ_EV_LIST,     /* before, limit -> id, at, actor, ..., detail */
	SQ_EV_LIST_ASC, /* after, limit -> the same, oldest first */
	SQ_EV_LIST_ACTION,     /* before, action LIKE pattern, limit -> the same */
	SQ_EV_LIST_ACTION_ASC, /* after, action LIKE pattern, limit -> the same, oldest first */
	SQ_SEC_ADD,     /* kind, hash, expires_at, doc -> kind (none on a duplicate) */
	SQ_SEC_GET,     /* kind, hash, now -> doc */
	SQ_SEC_TAKE,    /* kind, hash, now -> doc (deleted) */
	SQ_HIST_PUT,    /* kind, id, tier, t, doc (insert or replace) */
	SQ_HIST_PUT_MANY, /* STORE_HIST_BATCH times kind, id, tier, t, doc */
	SQ_HIST_GET,    /* kind, id, tier, since -> t, doc (oldest first) */
	SQ_HIST_LAST,   /* kind, id, tier -> t, doc (the newest) */
	SQ_HIST_DROP,   /* kind, id */
	SQ_HIST_TRIM,   /* tier, before */
	SQ_NGLOBAL,
};

enum store_kind_stmt {
	SK_GET_ID,   /* id -> doc */
	SK_GET_NAME, /* name -> doc */
	SK_INSERT,   /* id, name, doc, created_at, cols... -> id (none on a duplicate) */
	SK_CHECK,    /* id, name -> created_at, version, id of another object named name,
	              * then the current name and cols... */
	SK_DELETE,   /* id -> id */
	SK_CURSOR,   /* name -> created_at, id (the paging cursor of by_time kinds);
	              * per_project kinds: id -> name, id */
	SK_GET_ID_OWNER,   /* id -> doc, project_id (kinds with projects) */
	SK_GET_NAME_OWNER, /* name -> doc, project_id */
	/* Kinds with projects: every object of a name, ordered by project
	 * (COALESCE(project_id, '')), at most limit. */
	SK_NAME_ALL,       /* name, limit -> doc, project_id */
	SK_NAME_MEMBER,    /* name, user id, limit -> doc, project_id (the user's projects, shared) */
	SK_NAME_PROJECT,   /* name, project id ('' for none), limit -> doc, project_id */
	SK_NFIXED,
};

/* Lists and counts come in one statement per shape of filters: each mirrored
 * column is unfiltered (0), "= $n" (1) or "IS NULL" (2); shape = sum of
 * state * 3^column, plus 3^STORE_MAX_COLS when scoped to a user's projects
 * (STORE_FILTER_MEMBER). Parameters: the "=" values in column order, the
 * member's user id, then the cursor (name; created_at and id for by_time
 * kinds; name and id for per_project kinds), then the limit. */
enum store_list_op {
	SL_LIST,       /* -> name, doc, id */
	SL_LIST_AFTER, /* -> name, doc, id */
	SL_COUNT,      /* -> count */
	/* by_time kinds (tasks) only: newest first, the cursor bounding above */
	SL_LIST_DESC,       /* -> name, doc, id */
	SL_LIST_AFTER_DESC, /* -> name, doc, id */
	/* Kinds listed by name only: names from $a up to (not including) $b,
	 * the parameters after the filters' (a name prefix and its bound). */
	SL_LIST_PREFIX, /* -> name, doc, id */
	SL_NOPS,
};
#define STORE_COL_SHAPES 243 /* 3^STORE_MAX_COLS */
#define STORE_SHAPES (2 * STORE_COL_SHAPES)
/* Updates come in one statement per set of mirrored columns that change
 * (bit 0: name, bit 1 + c: cols[c]). SQLite and PostgreSQL rewrite an index
 * entry whenever an UPDATE assigns its column, even to the value it holds: a
 * task's claim assigned all of a task's indexed columns and wrote seven index
 * pages where one entry (its state) moves. Parameters: id, expected version,
 * doc, updated_at, then the changed columns' new values in bit order; -> id. */
#define STORE_UPDATE_SHAPES (1 << (1 + STORE_MAX_COLS))
#define STORE_KIND_SLOTS (SK_NFIXED + STORE_UPDATE_SHAPES + SL_NOPS * STORE_SHAPES)
#define STORE_NSLOTS (SQ_NGLOBAL + STORE_NKINDS * STORE_KIND_SLOTS)

static inline int store_slot_fixed(enum store_kind k, enum store_kind_stmt s)
{
	return SQ_NGLOBAL + (int)k * STORE_KIND_SLOTS + (int)s;
}

static inline int store_slot_update(enum store_kind k, unsigned changed)
{
	return SQ_NGLOBAL + (int)k * STORE_KIND_SLOTS + SK_NFIXED + (int)changed;
}

static inline int store_slot_list(enum store_kind k, enum store_list_op op, int shape)
{
	return SQ_NGLOBAL + (int)k * STORE_KIND_SLOTS + SK_NFIXED + STORE_UPDATE_SHAPES +
	       (int)op * STORE_SHAPES + shape;
}

/* Writes the SQL of a slot into buf. Returns 0, or -1 when the slot does
 * not exist (a shape using columns the kind does not have) or buf is short. */
int store_sql_text(int slot, char *buf, size_t n);

/* ---- migrations ---- */

struct store_migration {
	int version;     /* 1, 2, ... in order, without gaps */
	const char *sql; /* one or more statements; never edit a released one */
};

struct store_dialect {
	const char *name;             /* "sqlite", "postgresql" */
	const char *begin_sql;        /* starts a write transaction */
	const char *migrate_lock_sql; /* serializes concurrent migrators, or NULL */
	const char *bootstrap_sql;    /* creates schema_migrations if missing */
	const struct store_migration *migrations;
	int nmigrations;
};

extern const struct store_dialect store_dialect_sqlite;
extern const struct store_dialect store_dialect_pg;

/* ---- backends ---- */

/* A statement parameter: text (s), an integer (is_int), or NULL (neither). */
struct store_param {
	const char *s;
	int64_t i;
	bool is_int;
};

/* The rows of one executed statement, read in order, valid until done. */
struct store_rows {
	struct store *st;
	void *h; /* sqlite3_stmt * or PGresult * */
	int row, nrows;
};

enum store_query_flags {
	STORE_Q_READ = 1, /* has no effect: safe to run again after a reconnect */
};

struct store_backend {
	const struct store_dialect *dialect;
	/* Runs constant SQL (DDL, transaction control) that returns no rows.
	 * Never pass text derived from input: use query. 0 or -1 with e. */
	int (*exec)(struct store *st, const char *sql, struct errinfo *e);
	/* Runs the prepared statement of slot with params; on success the rows
	 * are read with next/text/done (done must be called, also when no row
	 * is wanted). -1 with e on failure (rows need no done then). */
	int (*query)(struct store *st, int slot, const struct store_param *p, int np, int flags,
	             struct store_rows *rows, struct errinfo *e);
	/* 1 when positioned on a row, 0 after the last, -1 with e. */
	int (*next)(struct store_rows *rows, struct errinfo *e);
	/* Column col of the current row: text (NULL for SQL NULL) and its length. */
	const char *(*text)(struct store_rows *rows, int col, size_t *len);
	void (*done)(struct store_rows *rows);
	void (*close)(struct store *st);
	/* Optional: another handle on the same connection (store_open_sibling);
	 * without it, a sibling is a new connection to the same URL. */
	struct store *(*sibling)(struct store *st, struct errinfo *e);
};

/* The part of a handle shared by both backends; each backend embeds it first
 * in its own struct. */
struct store {
	const struct store_backend *be;
	int depth;    /* transaction nesting; 0: autocommit */
	bool doomed;  /* an inner level rolled back or a statement failed */
	int version;  /* schema version after migrations */
	char *url;    /* as opened: for a sibling on a new connection */
	/* Changes of observed kinds written in the open transaction, told to
	 * the observer when it commits (store_observe). */
	struct store_pending *pending;
	int npending, pending_cap;
};

/* Backend constructors: connect, set up the session, run no migrations.
 * NULL with e (503 store_unavailable when the database cannot be reached). */
struct store *store_sqlite_connect(const char *path, struct errinfo *e);
struct store *store_pg_connect(const char *url, struct errinfo *e);

/* store_open, migrating only up to target_version (tests use it to make a
 * database of an older version); target_version < 0 means the latest. */
struct store *store_open_version(const char *url, int target_version, struct errinfo *e);

/* store_observe.c: the changes of the open transaction. add records one
 * (doc NULL: deleted, gone what it was or NULL; increfs doc, takes gone)
 * and, outside a transaction, tells it at once; flush tells them all (after a commit); discard drops them. */
bool store_observed(enum store_kind k);
/* Keeps a change for the observers; -1 (the transaction doomed) when out
 * of memory in a transaction. */
/* Keeps a change for the observers (told at the commit). The document is
 * copied or referenced; *text (the document as stored, or NULL), if given,
 * is taken over: observers reuse it instead of printing the document again. */
int store_pending_add(struct store *st, enum store_kind k, const char *id, json_t *doc, json_t *gone,
                      char **text);
void store_pending_flush(struct store *st);
void store_pending_discard(struct store *st);
void store_pending_free(struct store *st);

/* store.c's statement runner for the other files of the store: runs slot
 * (the fault site, a doomed transaction and its marking as store.c's own
 * calls do), and the next row of its result. */
int store_run(struct store *st, int slot, const struct store_param *p, int np, int flags,
              struct store_rows *rows, struct errinfo *e);
int store_next_row(struct store_rows *r, struct errinfo *e);

/* Microseconds since the epoch, and their ISO 8601 UTC text (seconds). */
int64_t store_now_us(void);
void store_iso_time(int64_t us, char out[32]);

#endif

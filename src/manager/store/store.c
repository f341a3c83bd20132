/* store.c - the store's logic, the same on both backends: open and migrate,
 * transactions nested by counting, documents with optimistic versions, lists,
 * the audit log and hashed secrets (SQL in store_schema.c, I/O in backends). */
#include "store_impl.h"

#include "fault.h"
#include "isotime.h"
#include "log.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_MAX 255    /* bytes of an id or a name */
/* Largest page: the API asks at most 1,000 whole documents, and up to
 * 10,000 when it keeps a few fields of each (?fields, a table of VMs). */
#define LIST_MAX 10000

/* ---- time ---- */

int64_t store_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void store_iso_time(int64_t us, char out[32])
{
	iso_time(us / 1000000, out);
}


/* ---- small helpers ---- */

static int oom(struct errinfo *e)
{
	return errinfo_set(e, 500, "internal", NULL, "out of memory");
}

/* Copies a private error into the caller's (which keeps its first error). */
static void err_pass(struct errinfo *e, const struct errinfo *mine)
{
	if (e && !e->status)
		*e = *mine;
}

/* True when s is valid UTF-8. PostgreSQL refuses anything else where SQLite
 * would take it: checked here so that both backends answer alike. */
static bool utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t c = *p++, min;
		int n;
		if (c < 0x80)
			continue;
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1, min = 0x80, c &= 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2, min = 0x800, c &= 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3, min = 0x10000, c &= 0x07;
		} else {
			return false;
		}
		for (int i = 0; i < n; i++, p++) {
			if ((*p & 0xC0) != 0x80) /* also stops at the terminating NUL */
				return false;
			c = (c << 6) | (*p & 0x3F);
		}
		if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return false;
	}
	return true;
}

static int check_kind(enum store_kind k, struct errinfo *e)
{
	if ((unsigned)k >= STORE_NKINDS)
		return errinfo_set(e, 500, "internal", NULL, "unknown store kind %d", (int)k);
	return 0;
}

static int check_limit(int limit, struct errinfo *e)
{
	if (limit < 1 || limit > LIST_MAX)
		return errinfo_set(e, 400, "invalid_argument", "limit",
		                   "limit must be between 1 and %d, not %d", LIST_MAX, limit);
	return 0;
}

/* ---- running statements ---- */

/* In a transaction that an inner level rolled back, or where a statement
 * failed, nothing more runs: the same rule on both backends (PostgreSQL
 * refuses statements after an error anyway). */
static int txn_usable(struct store *st, struct errinfo *e)
{
	if (st->depth > 0 && st->doomed)
		return errinfo_set(e, 500, "transaction_aborted", NULL,
		                   "an earlier step of this transaction failed or was rolled back: "
		                   "roll the transaction back and start again");
	return 0;
}

/* The fault site of every store call (tests arm it): the error a store
 * that went away gives, so callers take their real error paths. */
static int injected(struct errinfo *e)
{
	if (!fault_hit(FAULT_STORE))
		return 0;
	return errinfo_set(e, 503, "store_unavailable", NULL, "the store did not answer: injected fault");
}

static int run(struct store *st, int slot, const struct store_param *p, int np, int flags,
               struct store_rows *rows, struct errinfo *e)
{
	if (txn_usable(st, e))
		return -1;
	if (injected(e) == 0 && st->be->query(st, slot, p, np, flags, rows, e) == 0)
		return 0;
	if (st->depth)
		st->doomed = true;
	return -1;
}

static int next_row(struct store_rows *r, struct errinfo *e)
{
	int rc = r->st->be->next(r, e);
	if (rc < 0 && r->st->depth)
		r->st->doomed = true;
	return rc;
}

int store_run(struct store *st, int slot, const struct store_param *p, int np, int flags,
              struct store_rows *rows, struct errinfo *e)
{
	return run(st, slot, p, np, flags, rows, e);
}

int store_next_row(struct store_rows *r, struct errinfo *e) { return next_row(r, e); }

/* Runs slot and copies the first ncols columns of its first row into cols
 * (malloc'd; NULL for SQL NULL). Reads a write to its end so that its outcome
 * (its commit, outside a transaction) is known; a read stops at one row.
 * Returns 1 (a row), 0 (no row) or -1 with e. */
static int query_row(struct store *st, int slot, const struct store_param *p, int np, int flags,
                     int ncols, char **cols, struct errinfo *e)
{
	struct store_rows r;
	for (int c = 0; c < ncols; c++)
		cols[c] = NULL;
	if (run(st, slot, p, np, flags, &r, e))
		return -1;
	int rc = next_row(&r, e);
	int found = rc;
	for (int c = 0; rc == 1 && c < ncols; c++) {
		size_t len = 0;
		const char *s = st->be->text(&r, c, &len);
		if (s && !(cols[c] = strndup(s, len)))
			rc = oom(e);
	}
	while (rc == 1 && !(flags & STORE_Q_READ))
		rc = next_row(&r, e);
	st->be->done(&r);
	if (rc < 0) {
		for (int c = 0; c < ncols; c++) {
			free(cols[c]);
			cols[c] = NULL;
		}
		return -1;
	}
	return found;
}

/* ---- open, close, migrations ---- */

static int migrate(struct store *st, int target, struct errinfo *e)
{
	const struct store_dialect *d = st->be->dialect;
	int latest = d->nmigrations, current = 0, rc = -1;
	char *v = NULL;
	if (target < 0 || target > latest)
		target = latest;
	if (st->be->exec(st, d->begin_sql, e))
		return -1;
	if (d->migrate_lock_sql && st->be->exec(st, d->migrate_lock_sql, e))
		goto cleanup;
	if (st->be->exec(st, d->bootstrap_sql, e))
		goto cleanup;
	if (query_row(st, SQ_MIG_VERSION, NULL, 0, 0, 1, &v, e) < 0)
		goto cleanup;
	current = v ? atoi(v) : 0;
	if (current > latest) {
		errinfo_set(e, 500, "schema_too_new", NULL,
		            "the %s database has schema version %d but this vdcd knows only up to %d: "
		            "run a newer vdcd", d->name, current, latest);
		goto cleanup;
	}
	for (int i = current; i < target; i++) {
		const struct store_migration *m = &d->migrations[i];
		char at[32];
		store_iso_time(store_now_us(), at);
		struct store_param p[2] = {{.i = m->version, .is_int = true}, {.s = at}};
		char *none = NULL;
		if (st->be->exec(st, m->sql, e) ||
		    query_row(st, SQ_MIG_RECORD, p, 2, 0, 1, &none, e) < 0)
			goto cleanup;
	}
	if (st->be->exec(st, "COMMIT", e))
		goto cleanup;
	st->version = current > target ? current : target;
	if (target > current)
		log_info("store_migrated", "backend=%s from=%d to=%d", d->name, current, target);
	rc = 0;
cleanup:
	if (rc)
		st->be->exec(st, "ROLLBACK", NULL);
	free(v);
	return rc;
}

static struct store *open_once(const char *url, int target_version, struct errinfo *e)
{
	struct store *st = NULL;
	if (!strncmp(url, "sqlite://", 9))
		st = store_sqlite_connect(url + 9, e);
	else if (!strncmp(url, "sqlite:", 7))
		st = store_sqlite_connect(url + 7, e);
	else if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11))
		st = store_pg_connect(url, e);
	else
		errinfo_set(e, 400, "invalid_url", "store",
		            "unsupported store URL: use sqlite:/path/to/vdc.db or "
		            "postgresql://user@host:port/database");
	if (st && (!(st->url = strdup(url)) || migrate(st, target_version, e) < 0)) {
		if (!st->url)
			errinfo_set(e, 500, "internal", NULL, "out of memory");
		store_close(st);
		st = NULL;
	}
	return st;
}

/* How long a first open keeps trying when SQLite answers busy at once. */
#define OPEN_RETRY_US 5000000

struct store *store_open_version(const char *url, int target_version, struct errinfo *e)
{
	if (!url)
		url = "";
	/* A fresh SQLite file opened by several connections at once: one
	 * switching it to WAL while another reads its header can get
	 * SQLITE_BUSY at once, without its busy handler ever being called
	 * (SQLite's deadlock avoidance). The whole open is tried again, for as
	 * long as the busy timeout would have waited. */
	int64_t start = store_now_us();
	for (int attempt = 0;; attempt++) {
		struct errinfo oe = {0};
		struct store *st = open_once(url, target_version, &oe);
		if (st || oe.status != 503 || strcmp(oe.code, "store_busy") || strncmp(url, "sqlite:", 7) ||
		    store_now_us() - start > OPEN_RETRY_US) {
			if (!st)
				*e = oe;
			return st;
		}
		log_info("store_open_retry", "attempt=%d error=%s", attempt + 1, log_quote(oe.message));
		struct timespec nap = {0, (attempt < 5 ? 10L << attempt : 100) * 1000000L};
		nanosleep(&nap, NULL);
	}
}

struct store *store_open_sibling(struct store *st, struct errinfo *e)
{
	if (!st->be->sibling)
		return store_open(st->url, e);
	struct store *n = st->be->sibling(st, e);
	if (n && !(n->url = strdup(st->url))) {
		store_close(n);
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	if (n)
		n->version = st->version;
	return n;
}

struct store *store_open(const char *url, struct errinfo *e)
{
	return store_open_version(url, -1, e);
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->depth)
		st->be->exec(st, "ROLLBACK", NULL);
	store_pending_free(st);
	free(st->url);
	st->be->close(st);
}

const char *store_backend(const struct store *st)
{
	return st->be->dialect->name;
}

int store_schema_version(struct store *st)
{
	return st->version;
}

/* ---- transactions ----
 * Levels nest by counting. A commit ends its level whether or not it
 * succeeds; an inner rollback dooms the whole transaction: the outermost
 * commit then rolls back and fails, so nothing is half-written. */

int store_begin(struct store *st, struct errinfo *e)
{
	if (st->depth == 0) {
		if (injected(e) || st->be->exec(st, st->be->dialect->begin_sql, e))
			return -1;
		st->doomed = false;
	} else if (txn_usable(st, e)) {
		return -1;
	}
	st->depth++;
	return 0;
}

int store_commit(struct store *st, struct errinfo *e)
{
	if (st->depth == 0)
		return errinfo_set(e, 500, "internal", NULL, "store_commit without store_begin");
	if (st->depth > 1) {
		st->depth--;
		return txn_usable(st, e);
	}
	int rc = 0;
	if (st->doomed) {
		rc = errinfo_set(e, 500, "transaction_aborted", NULL,
		                 "the transaction was rolled back because a step of it failed or was "
		                 "rolled back: nothing of it was kept");
		st->be->exec(st, "ROLLBACK", NULL);
	} else if (injected(e) || st->be->exec(st, "COMMIT", e)) {
		/* Still depth 1 here: a lost PostgreSQL connection is reported, not
		 * silently replaced by a new one where COMMIT would be a no-op. */
		st->be->exec(st, "ROLLBACK", NULL);
		rc = -1;
	}
	st->depth = 0;
	st->doomed = false;
	if (rc == 0)
		store_pending_flush(st);
	else
		store_pending_discard(st);
	return rc;
}

void store_rollback(struct store *st)
{
	if (st->depth == 0)
		return;
	if (--st->depth > 0) {
		st->doomed = true;
		return;
	}
	st->doomed = false;
	st->be->exec(st, "ROLLBACK", NULL);
	store_pending_discard(st);
}

/* ---- documents ---- */

/* 409 name_taken; for kinds named per project, within the object's own
 * project (and nothing is said of others). */
static int name_taken(const struct store_kind_info *ki, const char *name, struct errinfo *e)
{
	return errinfo_set(e, 409, "name_taken", "name", "a %s named '%.200s' already exists%s", ki->name, name,
	                   ki->per_project ? " in this project; pick another name" : "");
}

/* What the store reads from a document: its key columns and mirrored fields. */
struct doc_keys {
	const char *id, *name;
	const char *cols[STORE_MAX_COLS];
};

static int doc_string(const json_t *doc, const char *key, bool required, const char **out,
                      struct errinfo *e)
{
	const json_t *v = json_object_get(doc, key);
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return errinfo_set(e, 400, "invalid_document", key, "%s is required", key);
		return 0;
	}
	const char *s = json_string_value(v);
	if (!s)
		return errinfo_set(e, 400, "invalid_document", key, "%s must be a string", key);
	if (strlen(s) != json_string_length(v))
		return errinfo_set(e, 400, "invalid_document", key, "%s must not contain NUL", key);
	*out = s;
	return 0;
}

static int check_key(const char *s, const char *field, struct errinfo *e)
{
	size_t n = strlen(s);
	if (n == 0 || n > KEY_MAX)
		return errinfo_set(e, 400, "invalid_document", field, "%s must be 1 to %d bytes long",
		                   field, KEY_MAX);
	return 0;
}

static int doc_keys(enum store_kind k, const json_t *doc, struct doc_keys *dk, struct errinfo *e)
{
	const struct store_kind_info *ki = &store_kinds[k];
	if (!json_is_object(doc))
		return errinfo_set(e, 400, "invalid_document", NULL, "a %s must be a JSON object",
		                   ki->name);
	if (doc_string(doc, "id", true, &dk->id, e) || check_key(dk->id, "id", e))
		return -1;
	/* Tasks are named by what they do, so many look alike: one without a
	 * name is filed under its id. */
	if (doc_string(doc, "name", k != STORE_TASK, &dk->name, e))
		return -1;
	if (!dk->name)
		dk->name = dk->id;
	if (check_key(dk->name, "name", e))
		return -1;
	/* Mirrored values are capped like keys: an index entry has a size limit
	 * on PostgreSQL (about 2.7 kB) that SQLite does not have. */
	for (int c = 0; c < ki->ncols; c++) {
		if (doc_string(doc, ki->cols[c], false, &dk->cols[c], e))
			return -1;
		if (dk->cols[c] && strlen(dk->cols[c]) > KEY_MAX)
			return errinfo_set(e, 400, "invalid_document", ki->cols[c],
			                   "%s must be at most %d bytes long", ki->cols[c], KEY_MAX);
	}
	return 0;
}

/* The document as kept: a shallow copy of doc with version and times set.
 * Not json_copy: jansson's shallow copy ignores a key it could not insert
 * (out of memory) and returns the rest, and a VM kept without its
 * project_id is one the quota no longer counts (t_faults caught it). */
static json_t *doc_kept(json_t *doc, int64_t version, const char *created, const char *updated)
{
	json_t *d = json_object();
	const char *key;
	json_t *value;
	json_object_foreach(doc, key, value) {
		if (d && json_object_set(d, key, value)) {
			json_decref(d);
			d = NULL;
		}
	}
	if (!d || json_object_set_new(d, "version", json_integer(version)) ||
	    json_object_set_new(d, "created_at", json_string(created)) ||
	    json_object_set_new(d, "updated_at", json_string(updated))) {
		json_decref(d);
		return NULL;
	}
	return d;
}

int store_create(struct store *st, enum store_kind k, json_t *doc, json_t **out,
                 struct errinfo *e)
{
	int rc = -1;
	json_t *kept = NULL;
	char *text = NULL, *got = NULL, *check[3] = {0};
	struct doc_keys dk;
	if (out)
		*out = NULL;
	if (check_kind(k, e) || doc_keys(k, doc, &dk, e))
		return -1;
	const struct store_kind_info *ki = &store_kinds[k];
	int64_t now = store_now_us();
	char iso[32];
	store_iso_time(now, iso);
	if (!(kept = doc_kept(doc, 1, iso, iso)) || !(text = json_dumps(kept, JSON_COMPACT))) {
		oom(e);
		goto cleanup;
	}
	struct store_param p[4 + STORE_MAX_COLS] = {
		{.s = dk.id}, {.s = dk.name}, {.s = text}, {.i = now, .is_int = true}};
	for (int c = 0; c < ki->ncols; c++)
		p[4 + c].s = dk.cols[c];
	int found = query_row(st, store_slot_fixed(k, SK_INSERT), p, 4 + ki->ncols, 0, 1, &got, e);
	if (found < 0)
		goto cleanup;
	if (found == 0) {
		/* ON CONFLICT DO NOTHING: a duplicate is an answer, not an error that
		 * would abort a PostgreSQL transaction. Which key was it? */
		found = query_row(st, store_slot_fixed(k, SK_CHECK), p, 2, STORE_Q_READ, 3, check, e);
		if (found > 0)
			errinfo_set(e, 409, "id_taken", "id", "a %s with id '%.200s' already exists",
			            ki->name, dk.id);
		else if (found == 0)
			name_taken(ki, dk.name, e);
		goto cleanup;
	}
	if (store_pending_add(st, k, dk.id, kept, NULL, &text) < 0) {
		oom(e);
		goto cleanup;
	}
	if (out) {
		*out = kept;
		kept = NULL;
	}
	rc = 0;
cleanup:
	json_decref(kept);
	free(text);
	free(got);
	for (int c = 0; c < 3; c++)
		free(check[c]);
	return rc;
}

/* A get by id, then by name: the first column of the row into *doc and,
 * when owner is not NULL, the second into *owner. */
static char *get_text(struct store *st, enum store_kind k, const char *id_or_name, char **owner,
                      struct errinfo *e)
{
	char *cols[2] = {0};
	if (owner)
		*owner = NULL;
	if (check_kind(k, e))
		return NULL;
	if (!id_or_name) {
		errinfo_set(e, 400, "invalid_argument", "id", "an id or a name is required");
		return NULL;
	}
	if (owner && !store_kind_scoped(k)) {
		errinfo_set(e, 500, "internal", NULL, "%s objects belong to no project", store_kinds[k].name);
		return NULL;
	}
	struct store_param p = {.s = id_or_name};
	int ncols = owner ? 2 : 1;
	enum store_kind_stmt by_id = owner ? SK_GET_ID_OWNER : SK_GET_ID;
	enum store_kind_stmt by_name = owner ? SK_GET_NAME_OWNER : SK_GET_NAME;
	/* Not UTF-8: no document can have it (and PostgreSQL would refuse it). */
	int found = utf8_ok(id_or_name)
	                ? query_row(st, store_slot_fixed(k, by_id), &p, 1, STORE_Q_READ, ncols, cols, e)
	                : -2;
	if (found == 0 && store_kinds[k].per_project) {
		/* A name may be several objects: one is an answer, two are not. */
		char *docs[2], *owners[2];
		found = store_find_name(st, k, id_or_name, STORE_NAME_ALL, NULL, 2, docs, owners, e);
		if (found == 2) {
			errinfo_set(e, 409, "ambiguous_name", NULL,
			            "more than one %s is named '%.200s' (in different projects): use the id",
			            store_kinds[k].name, id_or_name);
			for (int i = 0; i < 2; i++) {
				free(docs[i]);
				free(owners[i]);
			}
			return NULL;
		}
		if (found == 1) {
			cols[0] = docs[0];
			cols[1] = owners[0];
			if (!owner) {
				free(cols[1]);
				cols[1] = NULL;
			}
		}
	} else if (found == 0) {
		found = query_row(st, store_slot_fixed(k, by_name), &p, 1, STORE_Q_READ, ncols, cols, e);
	}
	if (found == 0 || found == -2)
		errinfo_set(e, 404, "not_found", NULL, "no %s has the id or name '%.200s'",
		            store_kinds[k].name, id_or_name);
	if (found == 1 && !cols[0])
		errinfo_set(e, 500, "store_corrupt", NULL, "a %s has no document", store_kinds[k].name);
	if (found != 1 || !cols[0]) {
		free(cols[0]);
		free(cols[1]);
		return NULL;
	}
	if (owner)
		*owner = cols[1];
	return cols[0];
}

int store_find_name(struct store *st, enum store_kind k, const char *name, enum store_name_scope scope,
                    const char *value, int max, char **docs, char **projects, struct errinfo *e)
{
	if (check_kind(k, e))
		return -1;
	if (!store_kind_scoped(k))
		return errinfo_set(e, 500, "internal", NULL, "%s objects belong to no project", store_kinds[k].name);
	if (!name || max < 1 || max > LIST_MAX || (scope == STORE_NAME_MEMBER && !value))
		return errinfo_set(e, 400, "invalid_argument", "name", "a name, a scope and a limit of 1 to %d are required",
		                   LIST_MAX);
	for (int i = 0; i < max; i++)
		docs[i] = projects[i] = NULL;
	if (!utf8_ok(name) || (value && !utf8_ok(value)))
		return 0; /* no object has such a name or project */
	struct store_param p[3] = {{.s = name}};
	int np = 1;
	enum store_kind_stmt stmt = SK_NAME_ALL;
	if (scope == STORE_NAME_MEMBER) {
		stmt = SK_NAME_MEMBER;
		p[np++] = (struct store_param){.s = value};
	} else if (scope == STORE_NAME_PROJECT) {
		stmt = SK_NAME_PROJECT;
		p[np++] = (struct store_param){.s = value ? value : ""};
	}
	p[np++] = (struct store_param){.i = max, .is_int = true};
	struct store_rows r;
	if (run(st, store_slot_fixed(k, stmt), p, np, STORE_Q_READ, &r, e))
		return -1;
	int n = 0, rc;
	while ((rc = next_row(&r, e)) == 1 && n < max) {
		size_t dlen = 0, plen = 0;
		const char *d = st->be->text(&r, 0, &dlen);
		const char *o = st->be->text(&r, 1, &plen);
		if (!d) {
			rc = errinfo_set(e, 500, "store_corrupt", NULL, "a %s has no document", store_kinds[k].name);
			break;
		}
		docs[n] = strndup(d, dlen);
		projects[n] = o ? strndup(o, plen) : NULL;
		if (!docs[n] || (o && !projects[n])) {
			n++;
			rc = oom(e);
			break;
		}
		n++;
	}
	st->be->done(&r);
	if (rc < 0) {
		for (int i = 0; i < n; i++) {
			free(docs[i]);
			free(projects[i]);
			docs[i] = projects[i] = NULL;
		}
		return -1;
	}
	return n;
}

char *store_get_text_owner(struct store *st, enum store_kind k, const char *id_or_name,
                           char **project_id, struct errinfo *e)
{
	return get_text(st, k, id_or_name, project_id, e);
}

char *store_get_text_id_owner(struct store *st, enum store_kind k, const char *id, char **project_id,
                              struct errinfo *e)
{
	char *cols[2] = {0};
	*project_id = NULL;
	if (check_kind(k, e))
		return NULL;
	if (!store_kind_scoped(k)) {
		errinfo_set(e, 500, "internal", NULL, "%s objects belong to no project", store_kinds[k].name);
		return NULL;
	}
	struct store_param p = {.s = id ? id : ""};
	int found = id && utf8_ok(id)
	                ? query_row(st, store_slot_fixed(k, SK_GET_ID_OWNER), &p, 1, STORE_Q_READ, 2, cols, e)
	                : 0;
	if (found == 0)
		errinfo_set(e, 404, "not_found", NULL, "no %s has the id '%.200s'", store_kinds[k].name, id ? id : "");
	if (found == 1 && !cols[0])
		errinfo_set(e, 500, "store_corrupt", NULL, "a %s has no document", store_kinds[k].name);
	if (found != 1 || !cols[0]) {
		free(cols[0]);
		free(cols[1]);
		return NULL;
	}
	*project_id = cols[1];
	return cols[0];
}

char *store_get_text(struct store *st, enum store_kind k, const char *id_or_name,
                     struct errinfo *e)
{
	return get_text(st, k, id_or_name, NULL, e);
}

json_t *store_get(struct store *st, enum store_kind k, const char *id_or_name, struct errinfo *e)
{
	char *text = store_get_text(st, k, id_or_name, e);
	if (!text)
		return NULL;
	json_error_t je = {0};
	json_t *doc = json_loads(text, JSON_ALLOW_NUL, &je);
	/* Memory that ran out is not a corrupt store (jansson may say nothing). */
	if (!doc && (json_error_code(&je) == json_error_out_of_memory || !je.text[0]))
		oom(e);
	else if (!doc)
		errinfo_set(e, 500, "store_corrupt", NULL, "the stored %s '%.200s' is not JSON: %s",
		            store_kinds[k].name, id_or_name, je.text);
	free(text);
	return doc;
}

/* Reads created_at and version of id and whether another object has name.
 * 1 when id exists, 0 when not, -1 with e. */
static bool same_text(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Reads the row an update is about to replace: when it was created, its
 * version, whether another object holds the new name, and which mirrored
 * columns the update changes (*changed: the bits of STORE_UPDATE_SHAPES). */
static int update_check(struct store *st, enum store_kind k, const struct doc_keys *dk,
                        int64_t *created, int64_t *version, bool *name_taken, unsigned *changed,
                        struct errinfo *e)
{
	const struct store_kind_info *ki = &store_kinds[k];
	char *c[4 + STORE_MAX_COLS];
	int nc = 4 + ki->ncols;
	struct store_param p[2] = {{.s = dk->id}, {.s = dk->name}};
	int found = query_row(st, store_slot_fixed(k, SK_CHECK), p, 2, STORE_Q_READ, nc, c, e);
	if (found == 1) {
		*created = c[0] ? strtoll(c[0], NULL, 10) : 0;
		*version = c[1] ? strtoll(c[1], NULL, 10) : 0;
		*name_taken = c[2] != NULL;
		*changed = !same_text(c[3], dk->name);
		for (int i = 0; i < ki->ncols; i++)
			if (!same_text(c[4 + i], dk->cols[i]))
				*changed |= 2u << i;
	}
	for (int i = 0; found == 1 && i < nc; i++)
		free(c[i]);
	return found;
}

static int version_conflict(const struct store_kind_info *ki, const char *id, int64_t version,
                            int64_t expected, struct errinfo *e)
{
	return errinfo_set(e, 409, "version_conflict", "version",
	                   "%s '%.200s' is at version %lld, not %lld: read it again and reapply "
	                   "the change", ki->name, id, (long long)version, (long long)expected);
}

int store_update(struct store *st, enum store_kind k, json_t *doc, int64_t expected_version,
                 json_t **out, struct errinfo *e)
{
	int rc = -1;
	json_t *kept = NULL;
	char *text = NULL, *got = NULL;
	struct doc_keys dk;
	struct errinfo mine = {0};
	int64_t created = 0, version = 0;
	bool taken = false;
	unsigned changed = 0;
	if (out)
		*out = NULL;
	if (check_kind(k, e) || doc_keys(k, doc, &dk, e))
		return -1;
	const struct store_kind_info *ki = &store_kinds[k];
	if (expected_version < 1)
		return errinfo_set(e, 400, "invalid_argument", "version",
		                   "the expected version must be 1 or more");
	int found = update_check(st, k, &dk, &created, &version, &taken, &changed, e);
	if (found < 0)
		return -1;
	if (found == 0)
		return errinfo_set(e, 404, "not_found", NULL, "no %s has the id '%.200s'", ki->name,
		                   dk.id);
	if (version != expected_version)
		return version_conflict(ki, dk.id, version, expected_version, e);
	if (taken)
		return name_taken(ki, dk.name, e);
	int64_t now = store_now_us();
	char created_iso[32], now_iso[32];
	store_iso_time(created, created_iso);
	store_iso_time(now, now_iso);
	if (!(kept = doc_kept(doc, expected_version + 1, created_iso, now_iso)) ||
	    !(text = json_dumps(kept, JSON_COMPACT))) {
		oom(e);
		goto cleanup;
	}
	struct store_param p[5 + STORE_MAX_COLS] = {{.s = dk.id},
	                                            {.i = expected_version, .is_int = true},
	                                            {.s = text},
	                                            {.i = now, .is_int = true}};
	int np = 4;
	if (changed & 1)
		p[np++].s = dk.name;
	for (int c = 0; c < ki->ncols; c++)
		if (changed & (2u << c))
			p[np++].s = dk.cols[c];
	found = query_row(st, store_slot_update(k, changed), p, np, 0, 1, &got, &mine);
	if (found < 0 && mine.status == 409) {
		/* The name was taken between the check and the update. */
		name_taken(ki, dk.name, e);
		goto cleanup;
	}
	if (found < 0) {
		err_pass(e, &mine);
		goto cleanup;
	}
	if (found == 0) {
		/* Changed or deleted since the check. */
		found = update_check(st, k, &dk, &created, &version, &taken, &changed, e);
		if (found == 0)
			errinfo_set(e, 404, "not_found", NULL, "no %s has the id '%.200s'", ki->name,
			            dk.id);
		if (found > 0)
			version_conflict(ki, dk.id, version, expected_version, e);
		goto cleanup;
	}
	if (store_pending_add(st, k, dk.id, kept, NULL, &text) < 0) {
		oom(e);
		goto cleanup;
	}
	if (out) {
		*out = kept;
		kept = NULL;
	}
	rc = 0;
cleanup:
	json_decref(kept);
	free(text);
	free(got);
	return rc;
}

int store_delete(struct store *st, enum store_kind k, const char *id, struct errinfo *e)
{
	char *got = NULL;
	if (check_kind(k, e))
		return -1;
	if (!id)
		return errinfo_set(e, 400, "invalid_argument", "id", "an id is required");
	struct store_param p = {.s = id};
	int found = utf8_ok(id) ? query_row(st, store_slot_fixed(k, SK_DELETE), &p, 1, 0, 1, &got, e)
	                        : 0;
	if (found == 0)
		return errinfo_set(e, 404, "not_found", NULL, "no %s has the id '%.200s'",
		                   store_kinds[k].name, id);
	/* The deleted document (RETURNING doc) tells observers whose it was. */
	if (found > 0 && store_pending_add(st, k, id, NULL, store_observed(k) && got ? json_loads(got, 0, NULL) : NULL, NULL) < 0)
		found = oom(e);
	free(got);
	return found < 0 ? -1 : 0;
}

/* ---- lists ---- */

/* Checks filters against the kind's mirrored columns; sets the statement
 * shape and appends the "=" values to p. */
static int filter_params(enum store_kind k, const struct store_filter *f, int nf,
                         struct store_param *p, int *np, int *shape, struct errinfo *e)
{
	const struct store_kind_info *ki = &store_kinds[k];
	int states[STORE_MAX_COLS] = {0};
	const char *vals[STORE_MAX_COLS] = {0};
	const char *member = NULL;
	if (nf < 0 || (nf > 0 && !f))
		return errinfo_set(e, 400, "invalid_filter", "filter", "the filter list is malformed");
	for (int i = 0; i < nf; i++) {
		int c = 0;
		if (!f[i].field)
			return errinfo_set(e, 400, "invalid_filter", "filter", "a filter has no field");
		if (!strcmp(f[i].field, STORE_FILTER_MEMBER) && store_kind_scoped(k)) {
			if (member || !f[i].value || !utf8_ok(f[i].value))
				return errinfo_set(e, 400, "invalid_filter", f[i].field,
				                   "the %s filter needs one user id", f[i].field);
			member = f[i].value;
			continue;
		}
		while (c < ki->ncols && strcmp(ki->cols[c], f[i].field))
			c++;
		if (c == ki->ncols) {
			char known[128] = "";
			for (int j = 0; j < ki->ncols; j++)
				snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
				         j ? ", " : "", ki->cols[j]);
			return errinfo_set(e, 400, "invalid_filter", f[i].field,
			                   "%s cannot be filtered by '%.100s'%s%s", ki->plural, f[i].field,
			                   ki->ncols ? ": use one of " : ": they have no filters", known);
		}
		if (states[c])
			return errinfo_set(e, 400, "invalid_filter", f[i].field,
			                   "the filter on %s is given twice", f[i].field);
		if (f[i].value && !utf8_ok(f[i].value))
			return errinfo_set(e, 400, "invalid_filter", f[i].field,
			                   "the value of the filter on %s is not UTF-8", f[i].field);
		states[c] = f[i].value ? 1 : 2; /* a NULL value matches a missing field */
		vals[c] = f[i].value;
	}
	*shape = member ? 1 : 0;
	for (int c = STORE_MAX_COLS - 1; c >= 0; c--)
		*shape = *shape * 3 + states[c];
	for (int c = 0; c < ki->ncols; c++)
		if (states[c] == 1)
			p[(*np)++] = (struct store_param){.s = vals[c]};
	if (member)
		p[(*np)++] = (struct store_param){.s = member};
	return 0;
}

char *store_list_text(struct store *st, enum store_kind k, const struct store_filter *filters,
                      int nfilters, const char *after, int limit, char **next, struct errinfo *e)
{
	return store_list_text_order(st, k, filters, nfilters, after, limit, false, next, e);
}

char *store_list_text_order(struct store *st, enum store_kind k, const struct store_filter *filters,
                            int nfilters, const char *after, int limit, bool newest_first, char **next,
                            struct errinfo *e)
{
	struct store_param p[STORE_MAX_COLS + 4] = {{0}};
	int np = 0, shape = 0, rows_read = 0, rc;
	char *cursor[2] = {0};
	struct strbuf out = {0}, last = {0};
	struct store_rows r;
	bool more = false, ok = false;
	if (next)
		*next = NULL;
	if (check_kind(k, e) || check_limit(limit, e) ||
	    filter_params(k, filters, nfilters, p, &np, &shape, e))
		return NULL;
	const struct store_kind_info *ki = &store_kinds[k];
	bool has_after = after && *after;
	if (newest_first && !ki->by_time) {
		errinfo_set(e, 400, "invalid_query", "order", "%s are listed by name, A to Z; order=desc is for tasks",
		            ki->plural);
		goto cleanup;
	}
	if (has_after && !utf8_ok(after)) {
		errinfo_set(e, 400, "invalid_argument", "after", "after must be UTF-8 text");
		goto cleanup;
	}
	if (has_after && ki->by_time) {
		/* Tasks page by (created_at, id): find where the named one stands. */
		struct store_param cp = {.s = after};
		rc = query_row(st, store_slot_fixed(k, SK_CURSOR), &cp, 1, STORE_Q_READ, 2, cursor, e);
		if (rc == 0)
			errinfo_set(e, 400, "invalid_argument", "after",
			            "no %s '%.200s' to continue after (deleted?): list from the start",
			            ki->name, after);
		if (rc <= 0)
			goto cleanup;
		p[np++] = (struct store_param){.i = strtoll(cursor[0], NULL, 10), .is_int = true};
		p[np++] = (struct store_param){.s = cursor[1]};
	} else if (has_after && ki->per_project) {
		/* Names repeat: page by (name, id) after the id `next` gave. A
		 * name instead (an older client, or an id since deleted) goes
		 * past every object of that name: "~" sorts after any uuid. */
		struct store_param cp = {.s = after};
		rc = query_row(st, store_slot_fixed(k, SK_CURSOR), &cp, 1, STORE_Q_READ, 2, cursor, e);
		if (rc < 0)
			goto cleanup;
		p[np++] = (struct store_param){.s = rc ? cursor[0] : after};
		p[np++] = (struct store_param){.s = rc ? cursor[1] : "~"};
	} else if (has_after) {
		p[np++] = (struct store_param){.s = after};
	}
	p[np++] = (struct store_param){.i = limit + 1, .is_int = true};
	enum store_list_op op = newest_first ? (has_after ? SL_LIST_AFTER_DESC : SL_LIST_DESC)
	                                     : (has_after ? SL_LIST_AFTER : SL_LIST);
	if (run(st, store_slot_list(k, op, shape), p, np,
	        STORE_Q_READ, &r, e))
		goto cleanup;
	rc = strbuf_add(&out, "[", 1) ? oom(e) : 0;
	while (rc == 0 && (rc = next_row(&r, e)) == 1) {
		rc = 0;
		if (rows_read == limit) {
			more = true; /* the extra row: read on to the end, see query_row */
			continue;
		}
		size_t nlen = 0, dlen = 0;
		/* The cursor: the name, or for per_project kinds the id. */
		const char *name = st->be->text(&r, ki->per_project ? 2 : 0, &nlen);
		const char *doc = st->be->text(&r, 1, &dlen);
		if (!doc || !name) {
			rc = errinfo_set(e, 500, "store_corrupt", NULL, "a %s has no name or document",
			                 ki->name);
			break;
		}
		last.len = 0;
		if ((rows_read && strbuf_add(&out, ",", 1)) || strbuf_add(&out, doc, dlen) ||
		    strbuf_add(&last, name, nlen))
			rc = oom(e);
		rows_read++;
	}
	st->be->done(&r);
	if (rc < 0)
		goto cleanup;
	if (strbuf_add(&out, "]", 1)) {
		oom(e);
		goto cleanup;
	}
	if (more && next && !(*next = strdup(last.p))) {
		oom(e);
		goto cleanup;
	}
	ok = true;
cleanup:
	free(cursor[0]);
	free(cursor[1]);
	free(last.p);
	if (!ok) {
		free(out.p);
		out.p = NULL;
	}
	return out.p;
}

/* Every name that starts with prefix sorts from prefix itself up to prefix
 * followed by U+10FFFF (F4 8F BF BF, the largest UTF-8 sequence; a
 * noncharacter no name ends with): one index range in both backends,
 * whose names compare as bytes. */
#define PREFIX_BOUND "\xf4\x8f\xbf\xbf"

char *store_list_prefix_text(struct store *st, enum store_kind k, const struct store_filter *filters,
                             int nfilters, const char *prefix, int limit, bool *more, struct errinfo *e)
{
	struct store_param p[STORE_MAX_COLS + 4] = {{0}};
	int np = 0, shape = 0, rows_read = 0, rc;
	struct strbuf out = {0};
	struct store_rows r;
	char *bound = NULL;
	if (more)
		*more = false;
	if (check_kind(k, e) || check_limit(limit, e) ||
	    filter_params(k, filters, nfilters, p, &np, &shape, e))
		return NULL;
	const struct store_kind_info *ki = &store_kinds[k];
	if (ki->by_time) {
		errinfo_set(e, 400, "invalid_query", "q", "%s are found by time, not by name", ki->plural);
		return NULL;
	}
	if (!prefix || !utf8_ok(prefix)) {
		errinfo_set(e, 400, "invalid_query", "q", "q must be UTF-8 text");
		return NULL;
	}
	if (asprintf(&bound, "%s" PREFIX_BOUND, prefix) < 0) {
		oom(e);
		return NULL;
	}
	p[np++] = (struct store_param){.s = prefix};
	p[np++] = (struct store_param){.s = bound};
	p[np++] = (struct store_param){.i = limit + 1, .is_int = true};
	if (run(st, store_slot_list(k, SL_LIST_PREFIX, shape), p, np, STORE_Q_READ, &r, e)) {
		free(bound);
		return NULL;
	}
	rc = strbuf_add(&out, "[", 1) ? oom(e) : 0;
	while (rc == 0 && (rc = next_row(&r, e)) == 1) {
		rc = 0;
		if (rows_read == limit) {
			if (more)
				*more = true;
			continue; /* read on to the end, see query_row */
		}
		size_t dlen = 0;
		const char *doc = st->be->text(&r, 1, &dlen);
		if (!doc) {
			rc = errinfo_set(e, 500, "store_corrupt", NULL, "a %s has no document", ki->name);
			break;
		}
		if ((rows_read && strbuf_add(&out, ",", 1)) || strbuf_add(&out, doc, dlen))
			rc = oom(e);
		rows_read++;
	}
	st->be->done(&r);
	free(bound);
	if (rc == 0 && strbuf_add(&out, "]", 1))
		rc = oom(e);
	if (rc < 0) {
		free(out.p);
		return NULL;
	}
	return out.p;
}

int64_t store_count(struct store *st, enum store_kind k, const struct store_filter *filters,
                    int nfilters, struct errinfo *e)
{
	struct store_param p[STORE_MAX_COLS + 1] = {{0}};
	int np = 0, shape = 0;
	char *n = NULL;
	if (check_kind(k, e) || filter_params(k, filters, nfilters, p, &np, &shape, e))
		return -1;
	if (query_row(st, store_slot_list(k, SL_COUNT, shape), p, np, STORE_Q_READ, 1, &n, e) < 0)
		return -1;
	int64_t count = n ? strtoll(n, NULL, 10) : 0;
	free(n);
	return count;
}

/* ---- events ---- */

static int check_utf8(const char *s, const char *field, struct errinfo *e)
{
	if (s && !utf8_ok(s))
		return errinfo_set(e, 400, "invalid_argument", field, "%s must be UTF-8 text", field);
	return 0;
}

int store_event_add(struct store *st, const char *actor, const char *action,
                    const char *target_kind, const char *target_id, const char *outcome,
                    const char *detail, struct errinfo *e)
{
	char *none = NULL;
	if (!action || !*action)
		return errinfo_set(e, 400, "invalid_argument", "action", "an event needs an action");
	if (check_utf8(actor, "actor", e) || check_utf8(action, "action", e) ||
	    check_utf8(target_kind, "target_kind", e) || check_utf8(target_id, "target_id", e) ||
	    check_utf8(outcome, "outcome", e) || check_utf8(detail, "detail", e))
		return -1;
	/* To the millisecond: an incident's timeline orders and times its
	 * steps by them. */
	char at[32];
	iso_time_ms(store_now_us() / 1000, at);
	struct store_param p[7] = {{.s = at},          {.s = actor},     {.s = action},
	                           {.s = target_kind}, {.s = target_id}, {.s = outcome},
	                           {.s = detail}};
	int rc = query_row(st, SQ_EV_ADD, p, 7, 0, 1, &none, e);
	if (rc > 0 && none && store_observed(STORE_EVENTS)) {
		/* As the events list shows it (nulls for what was not given). */
		json_t *ev = json_pack("{s:I, s:s, s:s?, s:s, s:s?, s:s?, s:s?, s:s?}", "id",
		                       (json_int_t)strtoll(none, NULL, 10), "at", at, "actor", actor, "action",
		                       action, "target_kind", target_kind, "target_id", target_id, "outcome",
		                       outcome, "detail", detail);
		/* Out of memory in a transaction: it fails (nothing commits, so no
		 * observer misses the event); an event of its own has committed
		 * and goes untold (the audit log still has it). */
		if (!ev && st->depth) {
			st->doomed = true;
			rc = oom(e);
		} else if (ev && store_pending_add(st, STORE_EVENTS, none, ev, NULL, NULL) < 0) {
			rc = oom(e);
		}
		json_decref(ev);
	}
	free(none);
	return rc < 0 ? -1 : 0;
}

char *store_events_text(struct store *st, int64_t before, int limit, struct errinfo *e)
{
	return store_events_text_order(st, before, false, limit, e);
}

char *store_events_text_order(struct store *st, int64_t cursor, bool oldest_first, int limit,
                              struct errinfo *e)
{
	return store_events_text_action(st, cursor, oldest_first, NULL, limit, e);
}

char *store_events_text_action(struct store *st, int64_t cursor, bool oldest_first, const char *action_prefix,
                               int limit, struct errinfo *e)
{
	int64_t before = cursor;
	static const char *const keys[] = {"id",        "at",        "actor",   "action",
	                                   "target_kind", "target_id", "outcome", "detail"};
	char *text = NULL;
	json_t *arr = NULL;
	struct store_rows r;
	int rc;
	if (check_limit(limit, e))
		return NULL;
	if (before < 0) {
		errinfo_set(e, 400, "invalid_argument", "before", "before must be an event id or 0");
		return NULL;
	}
	/* The prefix as a LIKE pattern, its "%", "_" and "!" escaped by "!". */
	char like[2 * 64 + 2];
	size_t n = 0;
	for (const char *c = action_prefix ? action_prefix : ""; *c; c++) {
		if (n + 3 >= sizeof(like)) {
			errinfo_set(e, 400, "invalid_argument", "action", "an action prefix is at most 64 characters");
			return NULL;
		}
		if (*c == '%' || *c == '_' || *c == '!')
			like[n++] = '!';
		like[n++] = *c;
	}
	like[n++] = '%';
	like[n] = '\0';
	bool by_action = action_prefix && *action_prefix;
	struct store_param p[3] = {{.i = oldest_first ? before : before ? before : INT64_MAX, .is_int = true},
	                           {.i = limit, .is_int = true}};
	if (by_action) {
		p[1] = (struct store_param){.s = like};
		p[2] = (struct store_param){.i = limit, .is_int = true};
	}
	if (!(arr = json_array())) {
		oom(e);
		return NULL;
	}
	enum store_global_stmt q = by_action ? (oldest_first ? SQ_EV_LIST_ACTION_ASC : SQ_EV_LIST_ACTION)
	                                     : (oldest_first ? SQ_EV_LIST_ASC : SQ_EV_LIST);
	if (run(st, q, p, by_action ? 3 : 2, STORE_Q_READ, &r, e))
		goto cleanup;
	while ((rc = next_row(&r, e)) == 1) {
		json_t *ev = json_object();
		for (int c = 0; ev && c < 8; c++) {
			size_t len;
			const char *s = st->be->text(&r, c, &len);
			json_t *v = !s ? json_null()
			            : c == 0 ? json_integer(strtoll(s, NULL, 10))
			                     : json_stringn(s, len);
			if (json_object_set_new(ev, keys[c], v)) {
				json_decref(ev);
				ev = NULL;
			}
		}
		if (json_array_append_new(arr, ev)) {
			rc = oom(e);
			break;
		}
	}
	st->be->done(&r);
	if (rc == 0 && !(text = json_dumps(arr, JSON_COMPACT)))
		oom(e);
cleanup:
	json_decref(arr);
	return text;
}

/* ---- secrets ---- */

static int secret_args(const char *kind, const char *hash, struct errinfo *e)
{
	/* store.h names "join" and "api"; vdcd also keeps "host" and "agent"
	 * credentials. Any short lowercase word will do. */
	size_t n = kind ? strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_") : 0;
	if (n == 0 || n > 32 || kind[n])
		return errinfo_set(e, 400, "invalid_argument", "kind",
		                   "a secret's kind is a lowercase word such as \"join\" or \"api\"");
	n = hash ? strspn(hash, "0123456789abcdef") : 0;
	if (n != 64 || hash[n])
		return errinfo_set(e, 400, "invalid_argument", "hash",
		                   "a secret is stored as its SHA-256: 64 lowercase hex digits");
	return 0;
}

int store_secret_add(struct store *st, const char *kind, const char *hash_hex, int64_t expires_at,
                     const char *doc, struct errinfo *e)
{
	char *got = NULL;
	if (secret_args(kind, hash_hex, e))
		return -1;
	if (expires_at < 0)
		return errinfo_set(e, 400, "invalid_argument", "expires_at",
		                   "expires_at is a time in epoch seconds, or 0 for never");
	json_t *j = doc ? json_loads(doc, 0, NULL) : NULL;
	json_decref(j);
	if (!j)
		return errinfo_set(e, 400, "invalid_argument", "doc", "a secret's doc must be JSON");
	struct store_param p[4] = {
		{.s = kind}, {.s = hash_hex}, {.i = expires_at, .is_int = true}, {.s = doc}};
	int found = query_row(st, SQ_SEC_ADD, p, 4, 0, 1, &got, e);
	free(got);
	if (found == 0)
		return errinfo_set(e, 409, "id_taken", "hash", "this %s secret is already stored", kind);
	return found < 0 ? -1 : 0;
}

char *store_secret_take(struct store *st, const char *kind, const char *hash_hex, bool consume,
                        int64_t now, struct errinfo *e)
{
	char *doc = NULL;
	if (secret_args(kind, hash_hex, e))
		return NULL;
	struct store_param p[3] = {{.s = kind}, {.s = hash_hex}, {.i = now, .is_int = true}};
	/* DELETE ... RETURNING: of two racing consumers, one deletes the row
	 * and gets it; the other finds nothing. */
	int found = consume ? query_row(st, SQ_SEC_TAKE, p, 3, 0, 1, &doc, e)
	                    : query_row(st, SQ_SEC_GET, p, 3, STORE_Q_READ, 1, &doc, e);
	if (found == 0)
		errinfo_set(e, 404, "not_found", NULL, "no such %s secret, or it has expired", kind);
	return found == 1 ? doc : NULL;
}

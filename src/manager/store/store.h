/* store.h - vdcd's persistent inventory: SQLite (WAL, a file in the data
 * directory) by default, PostgreSQL (libpq) when given a connection string.
 * Both backends implement this one interface with the same schema, applied
 * by versioned migrations; every statement is prepared (never built from
 * user input).
 *
 * Objects are JSON documents of a kind (cluster, host, vm, ...) with an id
 * (uuid text), a name (unique per kind; for VMs and templates, per project)
 * and a version. The store mirrors a few fields of
 * each document into indexed columns (see store_kinds in store_schema.c) so
 * that lists can be filtered; the document itself is the truth. Reads return
 * the document exactly as stored, so a GET can be served without re-encoding.
 *
 * A store handle is used by one thread at a time; give each thread its own
 * (store_open_sibling). */
#ifndef VDC_STORE_H
#define VDC_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "errinfo.h"

struct store;

enum store_kind {
	STORE_CLUSTER,
	STORE_HOST,
	STORE_DATASTORE,
	STORE_NETWORK,
	STORE_TEMPLATE,
	STORE_VM,
	STORE_TASK,
	STORE_PROJECT,
	STORE_USER,
	STORE_MEMBER, /* a user's role in a project; name "<project_id>:<user_id>" */
	STORE_TOKEN,  /* an API token's metadata and the SHA-256 of its secret */
	STORE_IMAGE,  /* a disk image, kernel or initrd of the image library */
	STORE_POOL,   /* a resource pool of a cluster: shares, reservations, limits */
	STORE_NKINDS,
};

/* "cluster", "host", ... and the table/collection name "clusters", ... */
const char *store_kind_name(enum store_kind k);
const char *store_kind_plural(enum store_kind k);
/* The kind has a project_id: networks, templates, images, VMs, tasks. */
bool store_kind_scoped(enum store_kind k);
/* Its objects of no project are shared with everyone: networks, templates,
 * images. */
bool store_kind_shared(enum store_kind k);

/* Opens (creating and migrating as needed). url is "sqlite:/path/to/file.db"
 * or "postgresql://..." / "postgres://...". NULL with e on failure (the
 * message says what to do: e.g. the server is not reachable). */
struct store *store_open(const char *url, struct errinfo *e);
/* Another handle on st's database for another thread, without migrating
 * again. SQLite: the same connection (one page cache, kept warm), used by
 * one thread at a time for a statement or a whole transaction, so keep
 * transactions short; PostgreSQL: a new connection. NULL with e. */
struct store *store_open_sibling(struct store *st, struct errinfo *e);
void store_close(struct store *st);
/* "sqlite" or "postgresql". */
const char *store_backend(const struct store *st);
/* Schema version after migrations. */
int store_schema_version(struct store *st);

/* Commit observers (a few per process: the inventory index, live
 * streams), each told of every document of the kinds it watches that a
 * commit changed, on any handle, on the committing thread, right after the
 * commit succeeded (a write outside a transaction is its own commit).
 * Nothing is told of a rollback. doc is the document as stored (with its
 * new "version"), NULL when deleted, and then gone is the document as it
 * was; all are valid during the call only. Two threads' commits may be
 * told in the other order than they committed: an observer keeps the
 * highest version of a document, and remembers recent deletions (ids are
 * never reused). vdcd's inventory index is fed this way (ops/inventory.c).
 * The audit log is watched as the pseudo-kind STORE_EVENTS: id is the
 * event's id as text, doc the event as GET /api/v1/events shows it. */
#define STORE_EVENTS STORE_NKINDS
struct store_change {
	enum store_kind kind; /* or STORE_EVENTS */
	const char *id;
	const json_t *doc;  /* NULL: deleted */
	const json_t *gone; /* deleted: the document as it was (NULL otherwise) */
	const char *text;   /* doc as stored, compact JSON, when known (else NULL) */
};
typedef void (*store_observer_fn)(void *ctx, const struct store_change *changes, int n);
/* Adds fn (or changes what it watches): kinds is a mask of (1u << kind),
 * (1u << STORE_EVENTS) included; kinds 0 removes fn; fn NULL removes
 * every observer. Set them before any other thread opens a handle; at most
 * STORE_MAX_OBSERVERS (a programming error past it: abort). */
#define STORE_MAX_OBSERVERS 4
void store_observe(unsigned kinds, store_observer_fn fn, void *ctx);

/* Transactions; they nest by counting (only the outermost commits). */
int store_begin(struct store *st, struct errinfo *e);
int store_commit(struct store *st, struct errinfo *e);
void store_rollback(struct store *st);

/* Creates an object. doc must hold "id" and "name" (strings); the store sets
 * "version" (1), "created_at" and "updated_at" in the document it keeps and
 * returns that document (new reference) in *out if out is not NULL.
 * 409 name_taken / id_taken on a duplicate. */
int store_create(struct store *st, enum store_kind k, json_t *doc, json_t **out,
                 struct errinfo *e);

/* The stored document by id or, failing that, by name: a malloc'd JSON text
 * (for serving as is) or NULL with e (404 not_found). */
char *store_get_text(struct store *st, enum store_kind k, const char *id_or_name,
                     struct errinfo *e);
/* The same, parsed. */
json_t *store_get(struct store *st, enum store_kind k, const char *id_or_name, struct errinfo *e);
/* store_get_text that also gives the object's project (*project_id,
 * malloc'd, NULL for an object of no project), for the caller to decide
 * who may see it. Only for kinds with a project_id. */
char *store_get_text_owner(struct store *st, enum store_kind k, const char *id_or_name,
                           char **project_id, struct errinfo *e);

/* Kinds with projects only: by id alone (404 otherwise), with its project
 * (*project_id malloc'd, NULL for none). */
char *store_get_text_id_owner(struct store *st, enum store_kind k, const char *id, char **project_id,
                              struct errinfo *e);

/* Names of VMs and templates are unique per project (and among objects of
 * no project), so one name may be several objects; other kinds with
 * projects keep one name per kind. Whose objects a name lookup sees: */
enum store_name_scope {
	STORE_NAME_ALL,     /* everyone's (an administrator) */
	STORE_NAME_MEMBER,  /* value: a user id; that user's projects', and for
	                     * shared kinds those of no project */
	STORE_NAME_PROJECT, /* value: a project id; NULL for no project */
};
/* Every object of kind k (a kind with projects) named name within scope,
 * ordered by project id, at most max (1..1000): their documents and
 * projects into docs[] and projects[] (malloc'd; NULL for no project).
 * Returns how many (0..max), or -1 with e. store_get and store_get_text
 * of such a name answer 409 ambiguous_name when it is several objects. */
int store_find_name(struct store *st, enum store_kind k, const char *name, enum store_name_scope scope,
                    const char *value, int max, char **docs, char **projects, struct errinfo *e);

/* Replaces the document of doc["id"] if its stored version equals
 * expected_version (optimistic concurrency; 409 version_conflict otherwise);
 * bumps "version" and "updated_at". Returns the stored document in *out. */
int store_update(struct store *st, enum store_kind k, json_t *doc, int64_t expected_version,
                 json_t **out, struct errinfo *e);

/* Deletes by id. 404 when absent. */
int store_delete(struct store *st, enum store_kind k, const char *id, struct errinfo *e);

struct store_filter {
	const char *field; /* one of the kind's mirrored fields, e.g. "host_id", "state" */
	const char *value;
};

/* The filter field that scopes a list to what a user may see: value is a
 * user id, and only objects whose project_id is one of that user's
 * projects (through STORE_MEMBER) match, plus, for kinds that can be
 * shared (templates, networks), objects of no project. (A single object is
 * read with store_get_text_owner and judged by the caller's memberships.) */
#define STORE_FILTER_MEMBER "member_of"


/* A page of documents ordered by name (tasks: by created_at then id; VMs
 * and templates: by name then id), starting after the name `after` (VMs
 * and templates: the id `next` gave, or a name; NULL: from the start), at
 * most limit (1..1000). Filters are ANDed; an unknown field is 400 naming
 * it. Returns a JSON array text (malloc'd) of the documents as stored, and
 * sets *next to the last name (VMs, templates: id) returned when more may
 * follow (malloc'd, or NULL). */
char *store_list_text(struct store *st, enum store_kind k, const struct store_filter *filters,
                      int nfilters, const char *after, int limit, char **next, struct errinfo *e);
/* The same, newest first when newest_first (kinds ordered by time only:
 * tasks; others are 400 invalid_query naming "order"); `after` then pages
 * on to older ones. */
char *store_list_text_order(struct store *st, enum store_kind k, const struct store_filter *filters,
                            int nfilters, const char *after, int limit, bool newest_first, char **next,
                            struct errinfo *e);
/* The objects whose name starts with prefix (bytes; "" matches all), in
 * name order, at most limit (1..1000), with the same filters as
 * store_list_text; *more (may be NULL) tells whether more matched. One
 * index range: for a search box among many. Tasks (listed by time) are a
 * 400. Returns a JSON array text (malloc'd), or NULL with e. */
char *store_list_prefix_text(struct store *st, enum store_kind k, const struct store_filter *filters,
                             int nfilters, const char *prefix, int limit, bool *more, struct errinfo *e);
/* Reads every page of a list (store_list_text with the same filters) into
 * one JSON array (new reference), or NULL with e. For what must see all of
 * a kind: a first page alone is a bug once there are more than 1,000. */
json_t *store_list_all(struct store *st, enum store_kind k, const struct store_filter *filters,
                       int nfilters, struct errinfo *e);
/* The same a page at a time, for what would not hold all at once: fn gets
 * each page (a JSON array, borrowed) and returns 0 to go on or -1 to stop
 * (store_list_each then returns -1; fn sets e if it wants). */
int store_list_each(struct store *st, enum store_kind k, const struct store_filter *filters,
                    int nfilters, int (*fn)(void *ctx, json_t *page), void *ctx, struct errinfo *e);
/* The same with each page's JSON text (borrowed), for a reader that parses
 * only what it needs. */
int store_list_each_text(struct store *st, enum store_kind k, const struct store_filter *filters,
                         int nfilters, int (*fn)(void *ctx, const char *page), void *ctx,
                         struct errinfo *e);

/* The number of objects matching the filters. */
int64_t store_count(struct store *st, enum store_kind k, const struct store_filter *filters,
                    int nfilters, struct errinfo *e);

/* Events: the audit log. Appends one; at is set by the store. */
int store_event_add(struct store *st, const char *actor, const char *action,
                    const char *target_kind, const char *target_id, const char *outcome,
                    const char *detail, struct errinfo *e);
/* The newest events first, before event id `before` (0: newest), at most
 * limit; a JSON array text of {"id","at","actor","action","target_kind",
 * "target_id","outcome","detail"}. */
char *store_events_text(struct store *st, int64_t before, int limit, struct errinfo *e);
/* The same either way: newest first before id cursor (0: the newest), or
 * with oldest_first, oldest first after id cursor (0: the oldest). */
char *store_events_text_order(struct store *st, int64_t cursor, bool oldest_first, int limit,
                              struct errinfo *e);
/* The same, only events whose action starts with action_prefix (NULL or
 * "": all). */
char *store_events_text_action(struct store *st, int64_t cursor, bool oldest_first, const char *action_prefix,
                               int limit, struct errinfo *e);

/* Secrets (join tokens, API tokens) are stored as SHA-256 hashes only.
 * kind: "join" or "api". Adds a hash with an expiry (0: never) and a JSON
 * doc of what it grants. */
int store_secret_add(struct store *st, const char *kind, const char *hash_hex, int64_t expires_at,
                     const char *doc, struct errinfo *e);
/* Looks a hash up: the doc (malloc'd) when present and not expired, else
 * NULL. With consume, deletes it in the same transaction (one-time tokens):
 * of two concurrent consumers exactly one gets the doc. */
char *store_secret_take(struct store *st, const char *kind, const char *hash_hex, bool consume,
                        int64_t now, struct errinfo *e);

/* ---- history (store_history.c) ----
 * The consolidated demand history of VMs and hosts (ops/history.c): one
 * row per object (kind "vm" or "host", its id), tier and bucket start
 * t_ms, holding doc (a JSON text the caller writes and reads). */
/* Writes (inserts or replaces) one bucket. 0 or -1 with e. */
int store_history_put(struct store *st, const char *kind, const char *id, int tier, int64_t t_ms,
                      const char *doc, struct errinfo *e);
/* Writes n buckets (a flush's), STORE_HIST_BATCH a statement (a flush's
 * round trips divided by that). A batch must not name one bucket twice
 * (PostgreSQL refuses it). 0 or -1 with e. */
#define STORE_HIST_BATCH 32
struct store_history_row {
	const char *kind, *id;
	int tier;
	int64_t t_ms;
	const char *doc;
};
int store_history_put_many(struct store *st, const struct store_history_row *rows, size_t n, struct errinfo *e);
/* Calls fn with each bucket of the object's tier from since_ms on, oldest
 * first (doc valid during the call); fn returns 0 to go on, -1 to stop
 * (and then so does this). 0 or -1 with e. */
int store_history_each(struct store *st, const char *kind, const char *id, int tier, int64_t since_ms,
                       int (*fn)(void *ctx, int64_t t_ms, const char *doc), void *ctx, struct errinfo *e);
/* The newest bucket of the object's tier: 1 with *t_ms and *doc
 * (malloc'd), 0 when there is none, -1 with e. */
int store_history_last(struct store *st, const char *kind, const char *id, int tier, int64_t *t_ms,
                       char **doc, struct errinfo *e);
/* Deletes every bucket of the object (it was deleted). 0 or -1 with e. */
int store_history_drop(struct store *st, const char *kind, const char *id, struct errinfo *e);
/* Deletes the tier's buckets that start before before_ms. 0 or -1 with e. */
int store_history_trim(struct store *st, int tier, int64_t before_ms, struct errinfo *e);

#endif

/* store_schema.c - the store's schema in one place: the kinds and their
 * mirrored columns, the versioned migrations of each backend (the same
 * logical schema in two dialects), and the SQL of every numbered statement. */
#include "store_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const struct store_kind_info store_kinds[STORE_NKINDS] = {
	[STORE_CLUSTER] = {"cluster", "clusters", {0}, 0, false, false},
	[STORE_HOST] = {"host", "hosts", {"cluster_id", "state"}, 2, false, false},
	[STORE_DATASTORE] = {"datastore", "datastores", {0}, 0, false, false},
	[STORE_NETWORK] = {"network", "networks", {"project_id"}, 1, false, true},
	[STORE_TEMPLATE] = {"template", "templates", {"project_id"}, 1, false, true, true},
	[STORE_VM] = {"vm", "vms", {"host_id", "cluster_id", "power_state", "template_id", "project_id"},
	              5, false, false, true},
	[STORE_TASK] = {"task", "tasks", {"state", "target_id", "op", "project_id"}, 4, true, false},
	[STORE_PROJECT] = {"project", "projects", {0}, 0, false, false},
	[STORE_USER] = {"user", "users", {0}, 0, false, false},
	[STORE_MEMBER] = {"member", "members", {"user_id", "project_id"}, 2, false, false},
	[STORE_TOKEN] = {"token", "tokens", {"user_id", "secret_hash"}, 2, false, false},
	[STORE_IMAGE] = {"image", "images", {"project_id", "state"}, 2, false, true, true},
	[STORE_POOL] = {"pool", "pools", {"cluster_id", "parent_id"}, 2, false, false},
};

bool store_kind_shared(enum store_kind k)
{
	return (unsigned)k < STORE_NKINDS && store_kinds[k].shared;
}

bool store_kind_scoped(enum store_kind k)
{
	if ((unsigned)k >= STORE_NKINDS)
		return false;
	for (int c = 0; c < store_kinds[k].ncols; c++)
		if (!strcmp(store_kinds[k].cols[c], "project_id"))
			return true;
	return false;
}

const char *store_kind_name(enum store_kind k)
{
	return (unsigned)k < STORE_NKINDS ? store_kinds[k].name : "unknown";
}

const char *store_kind_plural(enum store_kind k)
{
	return (unsigned)k < STORE_NKINDS ? store_kinds[k].plural : "unknown";
}

/* ---- migrations ----
 * A released migration is never edited: a change is a new step. Both lists
 * keep the same versions and the same logical schema:
 *   <kind table>: id, name (unique), version, doc (the JSON text served as
 *     is), created_at and updated_at (microseconds since the epoch, UTC),
 *     then the mirrored columns, each indexed together with the list order.
 *     Tasks without a "name" in their document get name = id.
 *   events: the audit log, newest first by id.
 *   secrets: SHA-256 hashes of tokens by kind, expires_at in epoch seconds
 *     (0: never), doc the JSON grant.
 *   v4, tenants: projects, users, members (a user's role in a project) and
 *     tokens (API token metadata; the secret only as its SHA-256), and a
 *     project_id on networks, templates, VMs and tasks. Objects made before
 *     v4 have none: VMs and tasks of no project are the admins' alone.
 *   v5, names per project: a VM's or a template's name is unique within
 *     its project (objects of no project: among themselves), so that a
 *     taken name tells nothing of other projects. The unique index is on
 *     (name, COALESCE(project_id, '')); lists of these kinds go by (name,
 *     id), so their indexes end in id. SQLite cannot drop a column's
 *     UNIQUE: its two tables are rebuilt.
 *   v6, images: the image library (disks, kernels, initrds) that templates
 *     name by id, with a project_id (none: shared) and a state; named
 *     per project as VMs and templates are.
 *   v7, pools: resource pools, each of one cluster and under a parent
 *     pool (none: under the cluster's root), named uniquely as clusters.
 *   v8, history: the measured demand of VMs and hosts, consolidated
 *     (ops/history.c): one row per object (kind "vm" or "host", id), tier
 *     (0 minutes, 1 half hours, 2 days) and bucket start t (epoch ms), doc
 *     {"n", "avg", "max"} arrays by series; trimmed by (tier, t).
 * SQLite tables are STRICT; PostgreSQL text keys use the "C" collation so
 * that both order names by bytes, the same way. */

#define SQLITE_OBJ(t, extra)                                                                      \
	"CREATE TABLE " t " (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL UNIQUE,"            \
	" version INTEGER NOT NULL, doc TEXT NOT NULL, created_at INTEGER NOT NULL,"               \
	" updated_at INTEGER NOT NULL" extra ") STRICT;\n"

#define PG_OBJ(t, extra)                                                                          \
	"CREATE TABLE " t " (id TEXT COLLATE \"C\" PRIMARY KEY,"                                  \
	" name TEXT COLLATE \"C\" NOT NULL UNIQUE, version BIGINT NOT NULL, doc TEXT NOT NULL,"  \
	" created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL" extra ");\n"

/* The indexes are the same text in both dialects. */
#define OBJ_INDEXES                                                                               \
	"CREATE INDEX hosts_cluster_id ON hosts (cluster_id, name);\n"                            \
	"CREATE INDEX hosts_state ON hosts (state, name);\n"                                      \
	"CREATE INDEX vms_host_id ON vms (host_id, name);\n"                                      \
	"CREATE INDEX vms_cluster_id ON vms (cluster_id, name);\n"                                \
	"CREATE INDEX vms_power_state ON vms (power_state, name);\n"                              \
	"CREATE INDEX vms_template_id ON vms (template_id, name);\n"                              \
	"CREATE INDEX tasks_created ON tasks (created_at, id);\n"                                 \
	"CREATE INDEX tasks_state ON tasks (state, created_at, id);\n"                            \
	"CREATE INDEX tasks_target_id ON tasks (target_id, created_at, id);\n"                    \
	"CREATE INDEX tasks_op ON tasks (op, created_at, id);\n"

/* v8 in both dialects: T the text type, I the integer type. */
#define HISTORY_TABLE(T, I)                                                                       \
	"CREATE TABLE history (kind " T " NOT NULL, id " T " NOT NULL, tier " I " NOT NULL,"        \
	" t " I " NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, id, tier, t))"
#define HISTORY_INDEXES "CREATE INDEX history_trim ON history (tier, t);\n"

#define POOL_INDEXES                                                                              \
	"CREATE INDEX pools_cluster_id ON pools (cluster_id, name);\n"                           \
	"CREATE INDEX pools_parent_id ON pools (parent_id, name);\n"

/* v4 in both dialects: T is the text column type. */
#define TENANT_INDEXES                                                                            \
	"CREATE INDEX members_user_id ON members (user_id, name);\n"                              \
	"CREATE INDEX members_project_id ON members (project_id, name);\n"                        \
	"CREATE INDEX tokens_user_id ON tokens (user_id, name);\n"                                \
	"CREATE INDEX tokens_secret_hash ON tokens (secret_hash, name);\n"                        \
	"CREATE INDEX networks_project_id ON networks (project_id, name);\n"                      \
	"CREATE INDEX templates_project_id ON templates (project_id, name);\n"                    \
	"CREATE INDEX vms_project_id ON vms (project_id, name);\n"                                \
	"CREATE INDEX tasks_project_id ON tasks (project_id, created_at, id);\n"
/* v6: images, named per project from the start (as VMs and templates
 * since v5): no UNIQUE name, a unique (name, project) index instead. */
#define IMAGE_TABLE(id_t, int_t, extra)                                                           \
	"CREATE TABLE images (id " id_t " PRIMARY KEY NOT NULL, name " id_t " NOT NULL,"             \
	" version " int_t " NOT NULL, doc TEXT NOT NULL, created_at " int_t " NOT NULL,"             \
	" updated_at " int_t " NOT NULL" extra ")"
#define IMAGE_INDEXES(X)                                                                          \
	"CREATE UNIQUE INDEX images_name_project ON images (name, " X ");\n"                   \
	"CREATE INDEX images_name ON images (name, id);\n"                                       \
	"CREATE INDEX images_project_id ON images (project_id, name, id);\n"                     \
	"CREATE INDEX images_state ON images (state, name, id);\n"

#define TENANT_COLUMNS(T)                                                                         \
	"ALTER TABLE networks ADD COLUMN project_id " T ";\n"                                     \
	"ALTER TABLE templates ADD COLUMN project_id " T ";\n"                                    \
	"ALTER TABLE vms ADD COLUMN project_id " T ";\n"                                          \
	"ALTER TABLE tasks ADD COLUMN project_id " T ";\n"

/* v5: the indexes of the two kinds named per project, in both dialects
 * (PG: after their old ones are dropped; SQLite: on the rebuilt tables). */
#define PER_PROJECT_INDEXES(X)                                                                    \
	"CREATE UNIQUE INDEX vms_name_project ON vms (name, " X ");\n"                          \
	"CREATE INDEX vms_name ON vms (name, id);\n"                                              \
	"CREATE INDEX vms_host_id ON vms (host_id, name, id);\n"                                  \
	"CREATE INDEX vms_cluster_id ON vms (cluster_id, name, id);\n"                            \
	"CREATE INDEX vms_power_state ON vms (power_state, name, id);\n"                          \
	"CREATE INDEX vms_template_id ON vms (template_id, name, id);\n"                          \
	"CREATE INDEX vms_project_id ON vms (project_id, name, id);\n"                            \
	"CREATE UNIQUE INDEX templates_name_project ON templates (name, " X ");\n"              \
	"CREATE INDEX templates_name ON templates (name, id);\n"                                  \
	"CREATE INDEX templates_project_id ON templates (project_id, name, id);\n"
#define SQLITE_REBUILD(t, cols)                                                                   \
	"CREATE TABLE " t "_v5 (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,"                \
	" version INTEGER NOT NULL, doc TEXT NOT NULL, created_at INTEGER NOT NULL,"               \
	" updated_at INTEGER NOT NULL" cols ") STRICT;\n"                                          \
	"INSERT INTO " t "_v5 SELECT * FROM " t ";\n"                                              \
	"DROP TABLE " t ";\n"                                                                      \
	"ALTER TABLE " t "_v5 RENAME TO " t ";\n"

static const struct store_migration sqlite_migrations[] = {
	{1, SQLITE_OBJ("clusters", "") SQLITE_OBJ("hosts", ", cluster_id TEXT, state TEXT")
	        SQLITE_OBJ("datastores", "") SQLITE_OBJ("networks", "") SQLITE_OBJ("templates", "")
	            SQLITE_OBJ("vms", ", host_id TEXT, cluster_id TEXT, power_state TEXT,"
	                              " template_id TEXT")
	                SQLITE_OBJ("tasks", ", state TEXT, target_id TEXT, op TEXT") OBJ_INDEXES},
	{2, "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,"
	    " actor TEXT, action TEXT NOT NULL, target_kind TEXT, target_id TEXT, outcome TEXT,"
	    " detail TEXT) STRICT;\n"
	    "CREATE INDEX events_target ON events (target_id, id);\n"},
	{3, "CREATE TABLE secrets (kind TEXT NOT NULL, hash TEXT NOT NULL,"
	    " expires_at INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, hash)) STRICT;\n"
	    "CREATE INDEX secrets_expires_at ON secrets (expires_at);\n"},
	{4, SQLITE_OBJ("projects", "") SQLITE_OBJ("users", "")
	        SQLITE_OBJ("members", ", user_id TEXT, project_id TEXT")
	            SQLITE_OBJ("tokens", ", user_id TEXT, secret_hash TEXT")
	                TENANT_COLUMNS("TEXT") TENANT_INDEXES},
	/* v4 added project_id last, so SELECT * keeps the columns' order. */
	{5, SQLITE_REBUILD("vms", ", host_id TEXT, cluster_id TEXT, power_state TEXT, template_id TEXT,"
	                          " project_id TEXT")
	        SQLITE_REBUILD("templates", ", project_id TEXT")
	            PER_PROJECT_INDEXES("COALESCE(project_id, '')")},
	{6, IMAGE_TABLE("TEXT", "INTEGER", ", project_id TEXT, state TEXT") " STRICT;\n"
	        IMAGE_INDEXES("COALESCE(project_id, '')")},
	{7, SQLITE_OBJ("pools", ", cluster_id TEXT, parent_id TEXT") POOL_INDEXES},
	{8, HISTORY_TABLE("TEXT", "INTEGER") " STRICT;\n" HISTORY_INDEXES},
};

static const struct store_migration pg_migrations[] = {
	{1, PG_OBJ("clusters", "") PG_OBJ("hosts", ", cluster_id TEXT COLLATE \"C\","
	                                           " state TEXT COLLATE \"C\"")
	        PG_OBJ("datastores", "") PG_OBJ("networks", "") PG_OBJ("templates", "")
	            PG_OBJ("vms", ", host_id TEXT COLLATE \"C\", cluster_id TEXT COLLATE \"C\","
	                          " power_state TEXT COLLATE \"C\", template_id TEXT COLLATE \"C\"")
	                PG_OBJ("tasks", ", state TEXT COLLATE \"C\", target_id TEXT COLLATE \"C\","
	                                " op TEXT COLLATE \"C\"") OBJ_INDEXES},
	{2, "CREATE TABLE events (id BIGSERIAL PRIMARY KEY, at TEXT NOT NULL, actor TEXT,"
	    " action TEXT NOT NULL, target_kind TEXT, target_id TEXT, outcome TEXT, detail TEXT);\n"
	    "CREATE INDEX events_target ON events (target_id, id);\n"},
	{3, "CREATE TABLE secrets (kind TEXT COLLATE \"C\" NOT NULL, hash TEXT COLLATE \"C\" NOT NULL,"
	    " expires_at BIGINT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, hash));\n"
	    "CREATE INDEX secrets_expires_at ON secrets (expires_at);\n"},
	{4, PG_OBJ("projects", "") PG_OBJ("users", "")
	        PG_OBJ("members", ", user_id TEXT COLLATE \"C\", project_id TEXT COLLATE \"C\"")
	            PG_OBJ("tokens", ", user_id TEXT COLLATE \"C\", secret_hash TEXT COLLATE \"C\"")
	                TENANT_COLUMNS("TEXT COLLATE \"C\"") TENANT_INDEXES},
	{5, "ALTER TABLE vms DROP CONSTRAINT vms_name_key;\n"
	    "ALTER TABLE templates DROP CONSTRAINT templates_name_key;\n"
	    "DROP INDEX vms_host_id, vms_cluster_id, vms_power_state, vms_template_id, vms_project_id,"
	    " templates_project_id;\n" PER_PROJECT_INDEXES("(COALESCE(project_id, ''))")},
	{6, IMAGE_TABLE("TEXT COLLATE \"C\"", "BIGINT", ", project_id TEXT COLLATE \"C\", state TEXT COLLATE \"C\"") ";\n"
	        IMAGE_INDEXES("(COALESCE(project_id, ''))")},
	{7, PG_OBJ("pools", ", cluster_id TEXT COLLATE \"C\", parent_id TEXT COLLATE \"C\"") POOL_INDEXES},
	{8, HISTORY_TABLE("TEXT COLLATE \"C\"", "BIGINT") ";\n" HISTORY_INDEXES},
};

#define BOOTSTRAP_SQL                                                                             \
	"CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"              \
	" applied_at TEXT NOT NULL)"

const struct store_dialect store_dialect_sqlite = {
	.name = "sqlite",
	/* IMMEDIATE takes the write lock at once: a deferred transaction that
	 * later writes can fail with SQLITE_BUSY without waiting. */
	.begin_sql = "BEGIN IMMEDIATE",
	.migrate_lock_sql = NULL,
	.bootstrap_sql = BOOTSTRAP_SQL,
	.migrations = sqlite_migrations,
	.nmigrations = sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0]),
};

const struct store_dialect store_dialect_pg = {
	.name = "postgresql",
	.begin_sql = "BEGIN",
	/* Held to the end of the transaction: two vdcd starting at once
	 * migrate one after the other. The key is "vdc" in ASCII. */
	.migrate_lock_sql = "SELECT pg_advisory_xact_lock(7759971)",
	.bootstrap_sql = BOOTSTRAP_SQL,
	.migrations = pg_migrations,
	.nmigrations = sizeof(pg_migrations) / sizeof(pg_migrations[0]),
};

/* ---- statements ---- */

struct sqlbuf {
	char *p;
	size_t n, len;
	bool overflow;
};

static void sb_add(struct sqlbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sqlbuf *b, const char *fmt, ...)
{
	if (b->overflow)
		return;
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(b->p + b->len, b->n - b->len, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= b->n - b->len)
		b->overflow = true;
	else
		b->len += (size_t)m;
}

static const char *const global_sql[SQ_NGLOBAL] = {
	[SQ_MIG_VERSION] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
	[SQ_MIG_RECORD] = "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
	[SQ_EV_ADD] = "INSERT INTO events (at, actor, action, target_kind, target_id, outcome, detail)"
	              " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
	[SQ_EV_LIST] = "SELECT id, at, actor, action, target_kind, target_id, outcome, detail"
	               " FROM events WHERE id < $1 ORDER BY id DESC LIMIT $2",
	[SQ_EV_LIST_ASC] = "SELECT id, at, actor, action, target_kind, target_id, outcome, detail"
	                   " FROM events WHERE id > $1 ORDER BY id LIMIT $2",
	/* An action's prefix: LIKE with its own escape character, so that the
	 * "_" of "host.ha_" is a "_", not any character. */
	[SQ_EV_LIST_ACTION] = "SELECT id, at, actor, action, target_kind, target_id, outcome, detail"
	                      " FROM events WHERE id < $1 AND action LIKE $2 ESCAPE '!' ORDER BY id DESC LIMIT $3",
	[SQ_EV_LIST_ACTION_ASC] = "SELECT id, at, actor, action, target_kind, target_id, outcome, detail"
	                          " FROM events WHERE id > $1 AND action LIKE $2 ESCAPE '!' ORDER BY id LIMIT $3",
	[SQ_SEC_ADD] = "INSERT INTO secrets (kind, hash, expires_at, doc) VALUES ($1, $2, $3, $4)"
	               " ON CONFLICT DO NOTHING RETURNING kind",
	[SQ_SEC_GET] = "SELECT doc FROM secrets WHERE kind = $1 AND hash = $2"
	               " AND (expires_at = 0 OR expires_at > $3)",
	[SQ_SEC_TAKE] = "DELETE FROM secrets WHERE kind = $1 AND hash = $2"
	                " AND (expires_at = 0 OR expires_at > $3) RETURNING doc",
	[SQ_HIST_PUT] = "INSERT INTO history (kind, id, tier, t, doc) VALUES ($1, $2, $3, $4, $5)"
	                " ON CONFLICT (kind, id, tier, t) DO UPDATE SET doc = excluded.doc",
	[SQ_HIST_GET] = "SELECT t, doc FROM history WHERE kind = $1 AND id = $2 AND tier = $3 AND t >= $4"
	                " ORDER BY t",
	[SQ_HIST_LAST] = "SELECT t, doc FROM history WHERE kind = $1 AND id = $2 AND tier = $3"
	                 " ORDER BY t DESC LIMIT 1",
	[SQ_HIST_DROP] = "DELETE FROM history WHERE kind = $1 AND id = $2",
	[SQ_HIST_TRIM] = "DELETE FROM history WHERE tier = $1 AND t < $2",
};

/* "the object is in one of user $param's projects" (or shared). */
static void member_sql(struct sqlbuf *b, const struct store_kind_info *ki, int param)
{
	sb_add(b, "(project_id IN (SELECT project_id FROM members WHERE user_id = $%d)%s)", param,
	       ki->shared ? " OR project_id IS NULL" : "");
}

static void fixed_sql(struct sqlbuf *b, const struct store_kind_info *ki, enum store_kind_stmt s)
{
	const char *t = ki->plural;
	switch (s) {
	case SK_GET_ID:
		sb_add(b, "SELECT doc FROM %s WHERE id = $1", t);
		break;
	case SK_GET_NAME:
		sb_add(b, "SELECT doc FROM %s WHERE name = $1", t);
		break;
	case SK_INSERT:
		sb_add(b, "INSERT INTO %s (id, name, version, doc, created_at, updated_at", t);
		for (int c = 0; c < ki->ncols; c++)
			sb_add(b, ", %s", ki->cols[c]);
		sb_add(b, ") VALUES ($1, $2, 1, $3, $4, $4");
		for (int c = 0; c < ki->ncols; c++)
			sb_add(b, ", $%d", 5 + c);
		sb_add(b, ") ON CONFLICT DO NOTHING RETURNING id");
		break;
	case SK_CHECK:
		sb_add(b, "SELECT cur.created_at, cur.version, (SELECT o.id FROM %s o WHERE o.name = $2"
		          " AND o.id <> $1%s), cur.name", t,
		       ki->per_project ? " AND COALESCE(o.project_id, '') = COALESCE(cur.project_id, '')" : "");
		for (int c = 0; c < ki->ncols; c++)
			sb_add(b, ", cur.%s", ki->cols[c]);
		sb_add(b, " FROM %s cur WHERE cur.id = $1", t);
		break;
	case SK_DELETE:
		sb_add(b, "DELETE FROM %s WHERE id = $1 RETURNING doc", t);
		break;
	case SK_CURSOR:
		if (ki->per_project)
			sb_add(b, "SELECT name, id FROM %s WHERE id = $1", t);
		else
			sb_add(b, "SELECT created_at, id FROM %s WHERE name = $1", t);
		break;
	case SK_NAME_ALL:
	case SK_NAME_MEMBER:
	case SK_NAME_PROJECT:
		if (!store_kind_scoped((enum store_kind)(ki - store_kinds))) {
			b->overflow = true;
			break;
		}
		sb_add(b, "SELECT doc, project_id FROM %s WHERE name = $1", t);
		if (s == SK_NAME_MEMBER) {
			sb_add(b, " AND ");
			member_sql(b, ki, 2);
		} else if (s == SK_NAME_PROJECT) {
			sb_add(b, " AND COALESCE(project_id, '') = $2");
		}
		sb_add(b, " ORDER BY COALESCE(project_id, '') LIMIT $%d", s == SK_NAME_ALL ? 2 : 3);
		break;
	case SK_GET_ID_OWNER:
	case SK_GET_NAME_OWNER:
		if (!store_kind_scoped((enum store_kind)(ki - store_kinds))) {
			b->overflow = true;
			break;
		}
		sb_add(b, "SELECT doc, project_id FROM %s WHERE %s = $1", t, s == SK_GET_ID_OWNER ? "id" : "name");
		break;
	default:
		b->overflow = true;
	}
}

static int list_sql(struct sqlbuf *b, const struct store_kind_info *ki, enum store_list_op op,
                    int shape)
{
	int states[STORE_MAX_COLS];
	for (int c = 0; c < STORE_MAX_COLS; c++, shape /= 3) {
		states[c] = shape % 3;
		if (states[c] && c >= ki->ncols)
			return -1;
	}
	bool member = shape == 1; /* what is left above the column states */
	if (member && !store_kind_scoped((enum store_kind)(ki - store_kinds)))
		return -1;
	bool desc = op == SL_LIST_DESC || op == SL_LIST_AFTER_DESC;
	if (desc && !ki->by_time)
		return -1; /* names are listed A to Z only */
	if (op == SL_LIST_PREFIX && ki->by_time)
		return -1; /* tasks are found by time, not by name */
	if (desc)
		op = op == SL_LIST_DESC ? SL_LIST : SL_LIST_AFTER;
	if (op == SL_COUNT)
		sb_add(b, "SELECT count(*) FROM %s", ki->plural);
	else
		sb_add(b, "SELECT name, doc, id FROM %s", ki->plural);
	int param = 1;
	const char *glue = " WHERE ";
	for (int c = 0; c < ki->ncols; c++) {
		if (states[c] == 1)
			sb_add(b, "%s%s = $%d", glue, ki->cols[c], param++);
		else if (states[c] == 2)
			sb_add(b, "%s%s IS NULL", glue, ki->cols[c]);
		if (states[c])
			glue = " AND ";
	}
	if (member) {
		sb_add(b, "%s", glue);
		member_sql(b, ki, param++);
		glue = " AND ";
	}
	if (op == SL_COUNT)
		return 0;
	if (op == SL_LIST_AFTER && (ki->by_time || ki->per_project)) {
		sb_add(b, "%s(%s, id) %s ($%d, $%d)", glue, ki->by_time ? "created_at" : "name", desc ? "<" : ">",
		       param, param + 1);
		param += 2;
	} else if (op == SL_LIST_AFTER) {
		sb_add(b, "%sname > $%d", glue, param++);
	} else if (op == SL_LIST_PREFIX) {
		sb_add(b, "%sname >= $%d AND name < $%d", glue, param, param + 1);
		param += 2;
	}
	sb_add(b, " ORDER BY %s LIMIT $%d",
	       desc ? "created_at DESC, id DESC" : ki->by_time ? "created_at, id" : ki->per_project ? "name, id" : "name",
	       param);
	return 0;
}

/* The update assigning the columns in changed (see STORE_UPDATE_SHAPES);
 * -1 for a column the kind does not have. */
static int update_sql(struct sqlbuf *b, const struct store_kind_info *ki, unsigned changed)
{
	if (changed >> (1 + ki->ncols))
		return -1;
	sb_add(b, "UPDATE %s SET version = version + 1, doc = $3, updated_at = $4", ki->plural);
	int n = 5;
	if (changed & 1)
		sb_add(b, ", name = $%d", n++);
	for (int c = 0; c < ki->ncols; c++)
		if (changed & (2u << c))
			sb_add(b, ", %s = $%d", ki->cols[c], n++);
	sb_add(b, " WHERE id = $1 AND version = $2 RETURNING id");
	return 0;
}

int store_sql_text(int slot, char *buf, size_t n)
{
	struct sqlbuf b = {buf, n, 0, n == 0};
	if (slot < 0 || slot >= STORE_NSLOTS)
		return -1;
	if (slot == SQ_HIST_PUT_MANY) {
		sb_add(&b, "INSERT INTO history (kind, id, tier, t, doc) VALUES ");
		for (int r = 0; r < STORE_HIST_BATCH; r++)
			sb_add(&b, "%s($%d, $%d, $%d, $%d, $%d)", r ? ", " : "", 5 * r + 1, 5 * r + 2, 5 * r + 3,
			       5 * r + 4, 5 * r + 5);
		sb_add(&b, " ON CONFLICT (kind, id, tier, t) DO UPDATE SET doc = excluded.doc");
		return b.overflow ? -1 : 0;
	}
	if (slot < SQ_NGLOBAL) {
		sb_add(&b, "%s", global_sql[slot]);
		return b.overflow ? -1 : 0;
	}
	int k = (slot - SQ_NGLOBAL) / STORE_KIND_SLOTS;
	int s = (slot - SQ_NGLOBAL) % STORE_KIND_SLOTS;
	const struct store_kind_info *ki = &store_kinds[k];
	if (s < SK_NFIXED)
		fixed_sql(&b, ki, (enum store_kind_stmt)s);
	else if (s < SK_NFIXED + STORE_UPDATE_SHAPES) {
		if (update_sql(&b, ki, (unsigned)(s - SK_NFIXED)) < 0)
			return -1;
	} else {
		s -= SK_NFIXED + STORE_UPDATE_SHAPES;
		if (list_sql(&b, ki, (enum store_list_op)(s / STORE_SHAPES), s % STORE_SHAPES) < 0)
			return -1;
	}
	return b.overflow ? -1 : 0;
}

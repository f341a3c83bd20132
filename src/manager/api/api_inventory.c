/* api_inventory.c - list/get/create/delete for the simple kinds: clusters,
 * datastores, networks, templates (and list/get of hosts and VMs). Reads
 * serve the stored document text without re-encoding it. */
#include "api.h"

#include "inv_slim.h"

#include "auth.h"
#include "library.h"
#include "resources.h"

#include <stdlib.h>
#include <string.h>

enum store_kind api_kind_of(struct http_req *req)
{
	const char *p = http_route_pattern(req) + strlen("/api/v1/");
	for (int k = 0; k < STORE_NKINDS; k++) {
		const char *pl = store_kind_plural((enum store_kind)k);
		size_t n = strlen(pl);
		if (!strncmp(p, pl, n) && (p[n] == '\0' || p[n] == '/'))
			return (enum store_kind)k;
	}
	return STORE_NKINDS;
}

/* Filters a list may use, per kind, from the query string. */
static int read_filters(struct http_req *req, enum store_kind k, struct store_filter *f, int max)
{
	static const struct { enum store_kind kind; const char *field; } allowed[] = {
		{STORE_HOST, "cluster_id"}, {STORE_HOST, "state"},   {STORE_VM, "host_id"},
		{STORE_VM, "cluster_id"},   {STORE_VM, "power_state"}, {STORE_VM, "template_id"},
		{STORE_TASK, "state"},      {STORE_TASK, "target_id"}, {STORE_TASK, "op"},
		{STORE_POOL, "cluster_id"}, {STORE_POOL, "parent_id"},
	};
	int n = 0;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && n < max; i++) {
		if (allowed[i].kind != k)
			continue;
		const char *v = http_query(req, allowed[i].field);
		if (v)
			f[n++] = (struct store_filter){allowed[i].field, v};
	}
	/* A non-administrator sees their projects' objects (and shared ones). */
	if (store_kind_scoped(k) && mgr_scope(req) && n < max)
		f[n++] = (struct store_filter){STORE_FILTER_MEMBER, mgr_scope(req)};
	return n;
}

/* A datastore as users see it: its document plus, from the hosts'
 * heartbeats, which hosts reach it and with what capacity and free space. */
static void datastore_view(struct mgr *m, json_t *ds, json_t *hosts)
{
	const char *name = json_string_value(json_object_get(ds, "name"));
	json_t *reach = json_array();
	json_int_t total = 0, avail = -1;
	size_t i, k;
	json_t *h, *d;
	json_array_foreach(hosts, i, h) {
		json_array_foreach(json_object_get(h, "datastores"), k, d) {
			if (strcmp(json_string_value(json_object_get(d, "name")) ?: "", name))
				continue;
			json_int_t t = json_integer_value(json_object_get(d, "total_bytes"));
			json_int_t f = json_integer_value(json_object_get(d, "free_bytes"));
			json_array_append_new(reach, json_pack("{s:O, s:O, s:I, s:I}", "host", json_object_get(h, "name"),
			                                       "state", json_object_get(h, "state"), "total_bytes", t,
			                                       "free_bytes", f));
			if (t > total)
				total = t;
			if (avail < 0 || f < avail)
				avail = f; /* the tightest host bounds what a new disk may use */
		}
	}
	json_object_set_new(ds, "hosts", reach);
	json_object_set_new(ds, "capacity_bytes", json_integer(total));
	json_object_set_new(ds, "free_bytes", json_integer(avail < 0 ? 0 : avail));
	(void)m;
}

static json_t *all_hosts(struct mgr *m)
{
	struct errinfo e = {0};
	json_t *h = store_list_all(m->st, STORE_HOST, NULL, 0, &e);
	return h ? h : json_array();
}

/* Replaces a stored text with its enriched view where a kind has one. */
static char *view_text(struct mgr *m, enum store_kind k, char *text, int is_list)
{
	if (k != STORE_DATASTORE)
		return text;
	json_t *j = json_loads(text, 0, NULL);
	free(text);
	json_t *hosts = all_hosts(m);
	if (is_list) {
		size_t i;
		json_t *ds;
		json_array_foreach(j, i, ds)
			datastore_view(m, ds, hosts);
	} else {
		datastore_view(m, j, hosts);
	}
	json_decref(hosts);
	char *out = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return out;
}

/* ?fields=name,power_state,placement.host: a spec for inv_slim_loads
 * (a field, or one field of an object field; id and name always), so that
 * a list of 10,000 VMs for a table is its columns, not every document
 * whole. NULL with no ?fields; -1 in *bad after a 400 naming the field. */
static json_t *fields_spec(struct http_req *req, int *bad)
{
	*bad = 0;
	const char *q = http_query(req, "fields");
	if (!q)
		return NULL;
	json_t *spec = json_pack("{s:b, s:b}", "id", 1, "name", 1);
	int n = 0;
	for (const char *p = q; spec;) {
		size_t len = strcspn(p, ",");
		const char *dot = memchr(p, '.', len);
		bool ok = len > 0 && len < 64 && strspn(p, "abcdefghijklmnopqrstuvwxyz_.") >= len && ++n <= 32 &&
		          (!dot || (dot > p && dot < p + len - 1 && !memchr(dot + 1, '.', len - (size_t)(dot + 1 - p))));
		if (!ok) {
			http_reply_error(req, 400, "invalid_query", "fields",
			                 "fields: a comma-separated list of at most 32 field names (a-z, _), each "
			                 "optionally with one .subfield: '%.*s' is not one", (int)(len < 64 ? len : 64), p);
			json_decref(spec);
			*bad = -1;
			return NULL;
		}
		if (!dot) {
			json_object_setn_new(spec, p, len, json_true());
		} else {
			json_t *sub = json_object_getn(spec, p, (size_t)(dot - p));
			if (!json_is_object(sub)) {
				sub = json_object();
				json_object_setn_new(spec, p, (size_t)(dot - p), sub);
			}
			json_object_setn_new(sub, dot + 1, len - (size_t)(dot + 1 - p), json_true());
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	return spec;
}

/* The items' text with only spec's fields (spec NULL: as it is). */
static char *fields_text(char *items, const json_t *spec)
{
	if (!spec || !items)
		return items;
	json_t *slim = inv_slim_loads(items, strlen(items), spec);
	if (!slim)
		return items; /* not what the store writes: left whole rather than lost */
	free(items);
	char *out = json_dumps(slim, JSON_COMPACT);
	json_decref(slim);
	return out;
}

/* ?q=PREFIX: the first `limit` objects whose name starts with it, for a
 * search box (one index range however many objects there are); "more"
 * tells that a longer prefix would narrow it. Not paged. */
static void search_reply(struct http_req *req, struct mgr *m, enum store_kind k,
                         const struct store_filter *f, int nf, const char *q, const char *after,
                         int limit, const json_t *spec)
{
	if (after) {
		http_reply_error(req, 400, "invalid_query", "after",
		                 "a search (q) is not paged: give a longer q instead of after");
		return;
	}
	struct errinfo e = {0};
	bool more = false;
	char *items = store_list_prefix_text(m->st, k, f, nf, q, limit, &more, &e);
	if (!items) {
		mgr_reply_err(req, &e);
		return;
	}
	items = fields_text(view_text(m, k, items, 1), spec);
	if (!items) {
		http_reply_error(req, 500, "internal", NULL, "out of memory");
		return;
	}
	size_t len = strlen(items) + 48;
	char *out = malloc(len);
	int w = out ? snprintf(out, len, "{\"items\":%s,\"next\":null,\"more\":%s}\n", items,
	                       more ? "true" : "false")
	            : 0;
	free(items);
	if (!out) {
		http_reply_error(req, 500, "internal", NULL, "out of memory");
		return;
	}
	http_reply_text(req, 200, "application/json", out, (size_t)w);
}

void api_inventory_list(struct http_req *req)
{
	struct mgr *m = http_app(req);
	enum store_kind k = api_kind_of(req);
	int limit;
	const char *after;
	/* With ?fields a row is a few dozen bytes: a table of 10,000 comes in
	 * one answer rather than ten. */
	int bad;
	json_t *spec = fields_spec(req, &bad);
	if (bad)
		return;
	if (mgr_page_args_max(req, spec ? 10000 : 1000, &limit, &after) < 0) {
		json_decref(spec);
		return;
	}
	/* ?order=desc: tasks newest first (the CLI's default); asc, the
	 * default, keeps older clients' pages as they were. */
	const char *order = http_query(req, "order");
	if (order && strcmp(order, "asc") && strcmp(order, "desc")) {
		json_decref(spec);
		http_reply_error(req, 400, "invalid_query", "order", "order must be asc or desc, not '%s'", order);
		return;
	}
	bool desc = order && !strcmp(order, "desc");
	struct store_filter f[6];
	int nf = read_filters(req, k, f, 5);
	char pid[37];
	if (store_kind_scoped(k) && mgr_project_filter(req, pid))
		f[nf++] = (struct store_filter){"project_id", pid};
	struct errinfo e = {0};
	const char *q = http_query(req, "q");
	if (q) {
		search_reply(req, m, k, f, nf, q, after, limit, spec);
		json_decref(spec);
		return;
	}
	char *next = NULL;
	char *items = store_list_text_order(m->st, k, f, nf, after, limit, desc, &next, &e);
	if (!items) {
		json_decref(spec);
		mgr_reply_err(req, &e);
		return;
	}
	items = fields_text(view_text(m, k, items, 1), spec);
	json_decref(spec);
	if (!items) {
		free(next);
		http_reply_error(req, 500, "internal", NULL, "out of memory");
		return;
	}
	mgr_reply_page(req, items, next);
}

void api_inventory_get(struct http_req *req)
{
	struct mgr *m = http_app(req);
	struct errinfo e = {0};
	enum store_kind k = api_kind_of(req);
	if (store_kind_scoped(k)) {
		/* The hot path of a member's GET: one indexed read, the project
		 * judged against the caller's cached memberships. */
		char *text = mgr_get_visible_text(req, k, http_param(req, "id"), NULL);
		if (text)
			mgr_reply_stored(req, 200, text);
		return;
	}
	char *text = store_get_text(m->st, k, http_param(req, "id"), &e);
	if (!text)
		mgr_reply_err(req, &e);
	else
		mgr_reply_stored(req, 200, view_text(m, k, text, 0));
}

void api_inventory_create(struct http_req *req)
{
	struct mgr *m = http_app(req);
	enum store_kind k = api_kind_of(req);
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	json_t *project = NULL;
	if (store_kind_scoped(k) && mgr_create_project(req, body, true, &project) < 0) {
		mgr_event(m, mgr_actor(req), "create", store_kind_name(k),
		          json_string_value(json_object_get(body, "name")) ?: "?", "refused", "no project to create in");
		json_decref(body);
		return;
	}
	struct jv_err jerr = {0};
	json_t *doc = resource_parse_create(k, body, &jerr);
	if (!doc) {
		json_decref(project);
		mgr_refuse_jv(req, "create", store_kind_name(k), json_string_value(json_object_get(body, "name")), &jerr);
		json_decref(body);
		return;
	}
	json_decref(body);
	char id[37];
	mgr_uuid(id);
	json_object_set_new(doc, "id", json_string(id));
	if (project)
		json_object_set(doc, "project_id", json_object_get(project, "id"));
	json_decref(project);
	struct errinfo e = {0};
	json_t *stored = NULL;
	if (k == STORE_TEMPLATE && template_bind_images(m->st, doc, &e) < 0) {
		mgr_event(m, mgr_actor(req), "create", store_kind_name(k), json_string_value(json_object_get(doc, "name")),
		          "failed", e.message);
		json_decref(doc);
		mgr_reply_err(req, &e);
		return;
	}
	if (store_create(m->st, k, doc, &stored, &e) < 0) {
		mgr_refuse(req, "create", store_kind_name(k), json_string_value(json_object_get(doc, "name")), &e);
		json_decref(doc);
		return;
	}
	json_decref(doc);
	mgr_event(m, mgr_actor(req), "create", store_kind_name(k), id, "succeeded",
	          json_string_value(json_object_get(stored, "name")));
	char loc[128];
	snprintf(loc, sizeof(loc), "/api/v1/%s/%s", store_kind_plural(k), id);
	http_add_header(req, "Location", loc);
	http_reply_json(req, 201, stored);
}

int template_bind_images(struct store *st, json_t *doc, struct errinfo *e)
{
	static const struct { const char *key, *kind, *id_key; } refs[] = {
		{"image", "disk", "image_id"}, {"kernel", "kernel", "kernel_id"}, {"initrd", "initrd", "initrd_id"},
	};
	const char *pid = json_string_value(json_object_get(doc, "project_id"));
	for (int i = 0; i < 3; i++) {
		const char *ref = json_string_value(json_object_get(doc, refs[i].key));
		if (!ref)
			continue;
		json_t *img = library_resolve(st, ref, refs[i].kind, pid, refs[i].key, e);
		if (!img)
			return -1;
		json_object_set(doc, refs[i].id_key, json_object_get(img, "id"));
		json_object_set(doc, refs[i].key, json_object_get(img, "name"));
		if (i == 0) /* a VM's disk is at least its image */
			json_object_set(doc, "image_virtual_bytes", json_object_get(img, "virtual_bytes"));
		json_decref(img);
	}
	return 0;
}

/* What still refers to an object of kind k with this id (409 if anything). */
static int in_use(struct mgr *m, enum store_kind k, json_t *doc, struct errinfo *e)
{
	const char *id = json_string_value(json_object_get(doc, "id"));
	struct store_filter f;
	enum store_kind by;
	if (k == STORE_CLUSTER) {
		f = (struct store_filter){"cluster_id", id};
		by = STORE_HOST;
	} else if (k == STORE_TEMPLATE) {
		f = (struct store_filter){"template_id", id};
		by = STORE_VM; /* linked clones need their template's image */
	} else {
		return 0;
	}
	int64_t n = store_count(m->st, by, &f, 1, e);
	if (n < 0)
		return -1;
	if (n > 0)
		return errinfo_set(e, 409, "in_use", NULL, "%s '%s' is used by %lld %s; remove them first",
		                   store_kind_name(k), json_string_value(json_object_get(doc, "name")),
		                   (long long)n, store_kind_plural(by));
	return 0;
}

void api_inventory_delete(struct http_req *req)
{
	struct mgr *m = http_app(req);
	enum store_kind k = api_kind_of(req);
	struct errinfo e = {0};
	bool scoped = store_kind_scoped(k);
	json_t *doc = scoped ? mgr_get_visible(req, k, http_param(req, "id"))
	                     : store_get(m->st, k, http_param(req, "id"), &e);
	if (!doc) {
		if (!scoped)
			mgr_reply_err(req, &e);
		return;
	}
	if (scoped && mgr_require_role(req, json_string_value(json_object_get(doc, "project_id")), NULL,
	                               ROLE_OPERATOR) < 0) {
		json_decref(doc);
		return;
	}
	const char *id = json_string_value(json_object_get(doc, "id"));
	if (in_use(m, k, doc, &e) < 0 || store_delete(m->st, k, id, &e) < 0) {
		mgr_event(m, mgr_actor(req), "delete", store_kind_name(k), id, "failed", e.message);
		json_decref(doc);
		mgr_reply_err(req, &e);
		return;
	}
	mgr_event(m, mgr_actor(req), "delete", store_kind_name(k), id, "succeeded", NULL);
	json_decref(doc);
	http_reply_text(req, 204, "text/plain", strdup(""), 0);
}

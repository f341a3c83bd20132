/* api_common.c - what every vdcd route shares: error replies, the audit
 * log, list pages, and the project a create goes to. */
#include "api.h"

#include "auth.h"
#include "http.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void mgr_reply_err(struct http_req *req, const struct errinfo *e)
{
	http_reply_error(req, e->status ? e->status : 500, e->code[0] ? e->code : "internal",
	                 e->field[0] ? e->field : NULL, "%s", e->message);
}

void mgr_reply_jv(struct http_req *req, const struct jv_err *jerr)
{
	http_reply_error(req, 400, "invalid_request", jerr->field, "%s: %s", jerr->field, jerr->message);
}

void mgr_refuse(struct http_req *req, const char *action, const char *kind, const char *target,
                const struct errinfo *e)
{
	mgr_event(http_app(req), mgr_actor(req), action, kind, target && *target ? target : "?",
	          e->status && e->status < 500 ? "refused" : "failed", e->message);
	mgr_reply_err(req, e);
}

void mgr_refuse_jv(struct http_req *req, const char *action, const char *kind, const char *target,
                   const struct jv_err *jerr)
{
	struct errinfo e = {0};
	errinfo_set(&e, 400, "invalid_request", jerr->field, "%s: %s", jerr->field, jerr->message);
	mgr_refuse(req, action, kind, target, &e);
}

void mgr_event(struct mgr *m, const char *actor, const char *action, const char *kind,
               const char *id, const char *outcome, const char *detail)
{
	struct errinfo e = {0};
	if (store_event_add(m->st, actor, action, kind, id, outcome, detail ? detail : "", &e) < 0)
		log_warn("event_write_failed", "action=%s error=%s", action, log_quote(e.message));
	log_info("audit", "actor=%s action=%s target=%s/%s outcome=%s", actor, action, kind, id, outcome);
}

int mgr_page_args_max(struct http_req *req, int max, int *limit, const char **after)
{
	*limit = 100;
	*after = http_query(req, "after");
	const char *l = http_query(req, "limit");
	if (l) {
		char *end;
		long n = strtol(l, &end, 10);
		if (*end || n < 1 || n > max) {
			http_reply_error(req, 400, "invalid_query", "limit", "limit must be a number from 1 to %d%s", max,
			                 max == 1000 ? " (10000 with ?fields)" : "");
			return -1;
		}
		*limit = (int)n;
	}
	return 0;
}

int mgr_page_args(struct http_req *req, int *limit, const char **after)
{
	return mgr_page_args_max(req, 1000, limit, after);
}

void mgr_reply_page(struct http_req *req, char *items_text, char *next)
{
	json_t *n = next ? json_string(next) : json_null();
	char *ntext = json_dumps(n, JSON_ENCODE_ANY);
	json_decref(n);
	size_t len = strlen(items_text) + strlen(ntext) + 32;
	char *out = malloc(len);
	int w = snprintf(out, len, "{\"items\":%s,\"next\":%s}\n", items_text, ntext);
	free(items_text);
	free(ntext);
	free(next);
	http_reply_text(req, 200, "application/json", out, (size_t)w);
}

void mgr_reply_stored(struct http_req *req, unsigned status, char *text)
{
	size_t len = strlen(text);
	http_reply_text(req, status, "application/json", text, len);
}

/* Projects the caller may create in: operator or better. */
static int writable_projects(const struct auth_ctx *c, const char **ids, int max)
{
	int n = 0;
	for (int i = 0; i < c->nmembers; i++)
		if (c->members[i].role >= ROLE_OPERATOR && n < max)
			ids[n++] = c->members[i].project_id;
	return n;
}

int mgr_create_project(struct http_req *req, json_t *body, bool shareable, json_t **project)
{
	struct mgr *m = http_app(req);
	const struct auth_ctx *c = mgr_caller(req);
	struct errinfo e = {0};
	*project = NULL;
	json_t *given = json_incref(json_object_get(body, "project"));
	json_object_del(body, "project");
	if (given && !json_is_string(given)) {
		json_decref(given);
		http_reply_error(req, 400, "invalid_request", "project", "project must be a project's name or id");
		return -1;
	}
	if (given) {
		json_t *p = store_get(m->st, STORE_PROJECT, json_string_value(given), &e);
		if (!p || auth_role_in(c, json_string_value(json_object_get(p, "id"))) == ROLE_NONE) {
			http_reply_error(req, 400, "invalid_request", "project", "project: you belong to no project '%s'",
			                 json_string_value(given));
			json_decref(p);
			json_decref(given);
			return -1;
		}
		json_decref(given);
		if (mgr_require_role(req, json_string_value(json_object_get(p, "id")),
		                     json_string_value(json_object_get(p, "name")), ROLE_OPERATOR) < 0) {
			json_decref(p);
			return -1;
		}
		*project = p;
		return 0;
	}
	if (c->admin) {
		/* An administrator's template or network is shared; a VM goes to
		 * the default project when there is one. */
		if (!shareable)
			*project = store_get(m->st, STORE_PROJECT, "default", &e);
		return 0;
	}
	const char *ids[8];
	int n = writable_projects(c, ids, 8);
	if (n == 1) {
		*project = store_get(m->st, STORE_PROJECT, ids[0], &e);
		if (*project)
			return 0;
		mgr_reply_err(req, &e);
		return -1;
	}
	if (n == 0)
		http_reply_error(req, 403, "forbidden", "project", "'%s' is not an operator or admin in any project", c->user);
	else
		http_reply_error(req, 400, "invalid_request", "project",
		                 "project: '%s' can create in %d projects; say which with \"project\"", c->user, n);
	return -1;
}

const char *mgr_project_filter(struct http_req *req, char id[37])
{
	struct mgr *m = http_app(req);
	const char *want = http_query(req, "project");
	if (!want)
		return NULL;
	struct errinfo e = {0};
	json_t *p = store_get(m->st, STORE_PROJECT, want, &e);
	/* An unknown project, or one the caller is not in, lists nothing. */
	snprintf(id, 37, "%s", p && auth_role_in(mgr_caller(req), json_string_value(json_object_get(p, "id"))) != ROLE_NONE
	                           ? json_string_value(json_object_get(p, "id"))
	                           : "-");
	json_decref(p);
	return id;
}

#define NAMED_MAX 16 /* objects of one name shown in an ambiguity */

/* 409 ambiguous_name: the name is several objects the caller sees; names
 * their projects (only ones the caller sees) and says how to pick one. */
static void reply_ambiguous(struct http_req *req, enum store_kind k, const char *name, char **projects, int n)
{
	struct mgr *m = http_app(req);
	char list[512] = "";
	for (int i = 0; i < n; i++) {
		json_t *p = projects[i] ? store_get(m->st, STORE_PROJECT, projects[i], &(struct errinfo){0}) : NULL;
		const char *pn = projects[i] ? json_string_value(json_object_get(p, "name")) : NULL;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
		         pn ? pn : projects[i] ? projects[i] : "(shared)");
		json_decref(p);
	}
	http_reply_error(req, 409, "ambiguous_name", "id",
	                 "%s%d %s are named '%s', in projects %s: use the id, or add ?project=NAME",
	                 n == NAMED_MAX ? "at least " : "", n, store_kind_plural(k), name, list);
}

char *mgr_get_visible_text(struct http_req *req, enum store_kind k, const char *id_or_name,
                           char **project_id)
{
	struct mgr *m = http_app(req);
	struct errinfo e = {0};
	char *owner = NULL;
	const struct auth_ctx *c = mgr_caller(req);
	char *text = store_get_text_id_owner(m->st, k, id_or_name, &owner, &e);
	if (text) {
		bool visible = c->admin || (owner ? auth_role_in(c, owner) != ROLE_NONE : store_kind_shared(k));
		if (!visible) {
			free(text);
			free(owner);
			http_reply_error(req, 404, "not_found", NULL, "no %s has the id or name '%s'", store_kind_name(k),
			                 id_or_name); /* as if it did not exist */
			return NULL;
		}
	} else if (e.status != 404) {
		mgr_reply_err(req, &e);
		return NULL;
	} else {
		/* A name: among what the caller sees, or in ?project= only. Names
		 * of VMs and templates repeat across projects. */
		char pid[37], *docs[NAMED_MAX], *owners[NAMED_MAX];
		const char *want = mgr_project_filter(req, pid);
		e = (struct errinfo){0};
		int n = want ? store_find_name(m->st, k, id_or_name, STORE_NAME_PROJECT, want, NAMED_MAX, docs, owners, &e)
		        : c->admin ? store_find_name(m->st, k, id_or_name, STORE_NAME_ALL, NULL, NAMED_MAX, docs, owners, &e)
		                   : store_find_name(m->st, k, id_or_name, STORE_NAME_MEMBER, c->user_id, NAMED_MAX, docs,
		                                     owners, &e);
		if (n < 0) {
			mgr_reply_err(req, &e);
			return NULL;
		}
		if (n == 0)
			http_reply_error(req, 404, "not_found", NULL, "no %s has the id or name '%s'%s", store_kind_name(k),
			                 id_or_name, want ? " in that project" : "");
		else if (n > 1)
			reply_ambiguous(req, k, id_or_name, owners, n);
		for (int i = n == 1 ? 1 : 0; i < n; i++) {
			free(docs[i]);
			free(owners[i]);
		}
		if (n != 1)
			return NULL;
		text = docs[0];
		owner = owners[0];
	}
	if (project_id)
		*project_id = owner;
	else
		free(owner);
	return text;
}

json_t *mgr_get_visible(struct http_req *req, enum store_kind k, const char *id_or_name)
{
	char *text = mgr_get_visible_text(req, k, id_or_name, NULL);
	if (!text)
		return NULL;
	json_t *doc = json_loads(text, 0, NULL);
	free(text);
	if (!doc)
		http_reply_error(req, 500, "store_corrupt", NULL, "the stored %s '%s' is not JSON", store_kind_name(k),
		                 id_or_name);
	return doc;
}

int mgr_delete_where(struct store *st, enum store_kind k, const char *field, const char *value,
                     struct errinfo *e)
{
	struct store_filter f = {field, value};
	for (;;) {
		/* Always the first page: what it held is deleted before the next. */
		char *text = store_list_text(st, k, &f, 1, NULL, 1000, NULL, e);
		json_t *arr = text ? json_loads(text, 0, NULL) : NULL;
		free(text);
		if (!arr)
			return -1;
		size_t i, n = json_array_size(arr);
		json_t *d;
		int rc = 0;
		json_array_foreach(arr, i, d)
			if (rc == 0)
				rc = store_delete(st, k, json_string_value(json_object_get(d, "id")), e);
		json_decref(arr);
		if (rc < 0 || n == 0)
			return rc;
	}
}

json_t *mgr_find_for_project(struct store *st, enum store_kind k, const char *name, const char *project_id,
                             struct errinfo *e)
{
	struct errinfo ge = {0};
	json_t *d = NULL;
	char *owner = NULL, *text = store_get_text_id_owner(st, k, name, &owner, &ge);
	if (text && (!owner || (project_id && !strcmp(owner, project_id))))
		d = json_loads(text, 0, NULL);
	else if (text) /* another project's: as if it did not exist */
		ge = (struct errinfo){.status = 404};
	free(text);
	free(owner);
	/* By name: the project's, then a shared one. */
	const char *scopes[2] = {project_id, NULL};
	for (int i = project_id ? 0 : 1; !d && ge.status == 404 && i < 2; i++) {
		char *docs[1], *owners[1];
		ge = (struct errinfo){0};
		int n = store_find_name(st, k, name, STORE_NAME_PROJECT, scopes[i], 1, docs, owners, &ge);
		if (n == 1)
			d = json_loads(docs[0], 0, NULL);
		for (int j = 0; j < n; j++) {
			free(docs[j]);
			free(owners[j]);
		}
		if (n == 0)
			ge.status = 404;
	}
	if (!d)
		*e = ge;
	return d;
}

json_t *mgr_update_object(struct http_req *req, const struct mgr_update *u)
{
	struct mgr *m = http_app(req);
	json_t *body = http_body_json(req, 0);
	if (!body)
		return NULL;
	struct errinfo e = {0};
	json_t *was = NULL, *doc = NULL, *stored = NULL;
	const char *ref = http_param(req, "id");
	struct jv_err jerr = {0};
	if (store_begin(m->st, &e) < 0)
		goto fail;
	if (!(was = store_get(m->st, u->kind, ref, &e)) || !(doc = json_deep_copy(was)) ||
	    u->parse(body, doc, &jerr) < 0 || (u->check && u->check(m, was, doc, &e) < 0)) {
		store_rollback(m->st);
		if (was && !doc)
			errinfo_set(&e, 500, "internal", NULL, "out of memory");
		else if (jerr.field[0] || jerr.message[0])
			errinfo_set(&e, 400, "invalid_request", jerr.field, "%s: %s", jerr.field, jerr.message);
		goto fail;
	}
	char detail[512];
	u->describe(was, doc, detail, sizeof(detail));
	const char *id = json_string_value(json_object_get(was, "id"));
	if (store_update(m->st, u->kind, doc, json_integer_value(json_object_get(was, "version")), &stored, &e) < 0 ||
	    store_event_add(m->st, mgr_actor(req), u->action, u->type, id, "succeeded", detail, &e) < 0 ||
	    store_commit(m->st, &e) < 0) {
		store_rollback(m->st);
		json_decref(stored);
		stored = NULL;
		goto fail;
	}
	log_info("audit", "actor=%s action=%s target=%s/%s outcome=succeeded", mgr_actor(req), u->action, u->type, id);
	goto out;
fail:
	mgr_refuse(req, u->action, u->type, was ? json_string_value(json_object_get(was, "id")) : ref, &e);
out:
	json_decref(body);
	json_decref(was);
	json_decref(doc);
	return stored;
}

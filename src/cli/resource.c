/* resource.c - list, get, create and delete, the same for every kind: the
 * family files only say which columns and flags a kind has. */
#include "cli.h"

#include "client.h"
#include "fsutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BODY_FILE_MAX (4 * 1024 * 1024)

int res_check_list(const struct args *a, char *err, size_t errlen)
{
	const struct opt_value *l = args_value(a, "limit");
	if (l && l->i < 1) {
		snprintf(err, errlen, "flag --limit expects a number of at least 1, not '%s'", l->str);
		return CLI_USAGE;
	}
	return 0;
}

/* The filters given as query arguments; names of other objects become ids. */
static int list_query(struct cli *c, const struct args *a, const char *page_arg, char *q,
                      size_t n)
{
	size_t o = 0;
	q[0] = '\0';
	for (size_t i = 0; i < a->nopts; i++) {
		const struct opt *opt = a->opt[i];
		if (!opt->key || !a->val[i].set || !strcmp(opt->key, page_arg))
			continue;
		const char *v = a->val[i].str;
		char id[128], esc[512], kind[32];
		if (opt->resolve && !strcmp(opt->resolve, "targets")) {
			int rc = cli_resolve_target(c, v, id, sizeof(id));
			if (rc)
				return rc;
			v = id;
		} else if (opt->resolve) {
			snprintf(kind, sizeof(kind), "%.*s", (int)strlen(opt->resolve) - 1, opt->resolve);
			int rc = cli_resolve_id(c, opt->resolve, kind, v, id, sizeof(id));
			if (rc)
				return rc;
			v = id;
		}
		o += (size_t)snprintf(q + o, o < n ? n - o : 0, "&%s=%s", opt->key,
		                      client_escape(v, esc, sizeof(esc)));
	}
	return o < n ? 0 : CLI_USAGE;
}

int res_list(struct cli *c, const struct args *a)
{
	const struct resource *r = c->cmd->data;
	return res_list_columns(c, a, r->columns);
}

int res_list_columns(struct cli *c, const struct args *a, const struct column *cols)
{
	const struct resource *r = c->cmd->data;
	int reverse = r->by_time && args_flag(a, "reverse");
	/* Oldest first pages forward, with "after" (events page newest first
	 * with "before"). */
	const char *page_arg = reverse ? "after" : r->page_arg ? r->page_arg : "after";
	char query[2048];
	int rc = list_query(c, a, page_arg, query, sizeof(query));
	if (rc)
		return rc;
	if (r->by_time) {
		size_t ql = strlen(query);
		snprintf(query + ql, sizeof(query) - ql, "&order=%s", reverse ? "asc" : "desc");
	}
	const struct opt_value *lim = args_value(a, "limit");
	struct list_req q = {r->coll, query, lim ? (long)lim->i : 0, page_arg, args_str(a, page_arg)};
	json_t *items = NULL;
	char *next = NULL;
	if ((rc = cli_list(c, &q, &items, &next)))
		return rc;
	if (c->output == OUT_JSON) {
		json_t *doc = json_pack("{s:O, s:s?}", "items", items, "next", next);
		out_json(c, doc);
		json_decref(doc);
	} else {
		rc = out_table(c, cols, items, r->coll);
		if (next)
			fprintf(c->err, "(more: add --%s %s)\n", page_arg, next);
	}
	json_decref(items);
	free(next);
	return rc;
}

static void res_path(char *buf, size_t n, const struct resource *r, const char *name)
{
	char esc[512];
	snprintf(buf, n, "/api/v1/%s/%s", r->coll, client_escape(name, esc, sizeof(esc)));
}

int res_get(struct cli *c, const struct args *a)
{
	const struct resource *r = c->cmd->data;
	char path[1024];
	res_path(path, sizeof(path), r, a->pos[0]);
	json_t *doc = NULL;
	int rc = cli_call(c, "GET", path, NULL, r->kind, &doc);
	if (rc)
		return rc;
	rc = out_doc(c, doc);
	json_decref(doc);
	return rc;
}

int res_patch(struct cli *c, const struct args *a,
              int (*make_body)(const struct args *a, json_t **body, char *err, size_t errlen), json_t **doc)
{
	const struct resource *r = c->cmd->data;
	char err[512], path[1024];
	json_t *body = NULL;
	*doc = NULL;
	int rc = make_body(a, &body, err, sizeof(err));
	if (rc) {
		cli_error(c, "%s", err);
		return rc;
	}
	res_path(path, sizeof(path), r, a->pos[0]);
	rc = cli_call(c, "PATCH", path, body, r->kind, doc);
	json_decref(body);
	if (!rc && c->output == OUT_JSON) {
		out_json(c, *doc);
		json_decref(*doc);
		*doc = NULL;
	}
	return rc;
}

int res_create_body(const struct args *a, const char *name, json_t **body, char *err,
                    size_t errlen)
{
	*body = NULL;
	const char *file = args_str(a, "file");
	json_t *b;
	if (file) {
		const char *path = strcmp(file, "-") ? file : "/dev/stdin";
		size_t len = 0;
		char *text = fs_read_all(path, BODY_FILE_MAX, &len);
		if (!text) {
			snprintf(err, errlen, "cannot read -f %s: %s", file,
			         errno == EFBIG ? "larger than 4 MiB" : strerror(errno));
			return CLI_USAGE;
		}
		json_error_t je;
		b = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
		free(text);
		if (!b) {
			snprintf(err, errlen, "-f %s is not JSON: line %d column %d: %s", file, je.line,
			         je.column, je.text);
			return CLI_USAGE;
		}
		if (!json_is_object(b)) {
			json_decref(b);
			snprintf(err, errlen, "-f %s must hold a JSON object", file);
			return CLI_USAGE;
		}
	} else {
		b = json_object();
	}
	if (name)
		json_object_set_new(b, "name", json_string(name));
	if (!json_object_get(b, "name")) {
		json_decref(b);
		snprintf(err, errlen, "give a NAME (or \"name\" in the -f file)");
		return CLI_USAGE;
	}
	int rc = args_fill_body(a, b, err, errlen);
	if (rc) {
		json_decref(b);
		return rc;
	}
	*body = b;
	return 0;
}

int res_create(struct cli *c, const struct args *a)
{
	const struct resource *r = c->cmd->data;
	char err[512], path[256];
	json_t *body = NULL, *doc = NULL;
	int rc = res_create_body(a, a->npos ? a->pos[0] : NULL, &body, err, sizeof(err));
	if (rc) {
		cli_error(c, "%s", err);
		return rc;
	}
	snprintf(path, sizeof(path), "/api/v1/%s", r->coll);
	rc = cli_call(c, "POST", path, body, r->kind, &doc);
	if (!rc) {
		if (c->output == OUT_JSON)
			out_json(c, doc);
		else
			fprintf(c->out, "%s %s created\n", r->kind,
			        json_string_value(json_object_get(doc, "name")) ?:
			        json_string_value(json_object_get(body, "name")) ?: "?");
	}
	json_decref(body);
	json_decref(doc);
	return rc;
}

int res_delete(struct cli *c, const struct args *a)
{
	const struct resource *r = c->cmd->data;
	char path[1024], done[256];
	res_path(path, sizeof(path), r, a->pos[0]);
	json_t *reply = NULL;
	int rc = cli_call(c, "DELETE", path, NULL, r->kind, &reply);
	if (rc)
		return rc;
	snprintf(done, sizeof(done), "%s %s deleted", r->kind, a->pos[0]);
	if (json_object_get(reply, "task"))
		rc = task_finish(c, a, reply, done);
	else if (c->output == OUT_TABLE)
		fprintf(c->out, "%s\n", done);
	json_decref(reply);
	return rc;
}

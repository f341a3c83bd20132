/* call.c - every request the commands make goes through here, so every
 * failure is reported the same way: what went wrong, what to do, exit code. */
#include "cli.h"

#include "client.h"
#include "progress.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_SIZE 500

void cli_error(struct cli *c, const char *fmt, ...)
{
	if (c->quiet)
		return;
	if (c->bar)
		progress_end(c->bar);
	va_list ap;
	va_start(ap, fmt);
	fputs("error: ", c->err);
	vfprintf(c->err, fmt, ap);
	fputc('\n', c->err);
	va_end(ap);
	fflush(c->err);
}

/* A file to stream as a request's body. */
struct upload_src {
	int fd;
	uint64_t size;
};

static void upload_progress(void *ctx, uint64_t sent, uint64_t total)
{
	struct cli *c = ctx;
	char msg[64];
	if (!c->bar || !total)
		return;
	snprintf(msg, sizeof(msg), "uploading: %llu of %llu MiB", (unsigned long long)(sent >> 20),
	         (unsigned long long)(total >> 20));
	progress_update(c->bar, (int)(sent * 100 / total), msg);
}

struct stream_src {
	const char *last_event_id;
	client_chunk_fn fn;
	void *ctx;
};

/* The reply of one request (an upload's or a stream's), or an exit code
 * with the error printed. */
static int request_any(struct cli *c, const char *method, const char *path, const json_t *body,
                       const struct upload_src *up, const struct stream_src *st, const char *kind,
                       struct client_resp *r)
{
	json_decref(c->last_error);
	c->last_error = NULL;
	if (!c->http && !(c->http = client_new(&c->cfg))) {
		cli_error(c, "cannot start the HTTP client (libcurl)");
		return CLI_FAIL;
	}
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int rc = up   ? client_upload(c->http, path, up->fd, up->size, upload_progress, c, r)
	         : st ? client_stream(c->http, path, st->last_event_id, st->fn, st->ctx, r)
	              : client_request(c->http, method, path, text, r);
	if (text) /* it may hold a password */
		explicit_bzero(text, strlen(text));
	free(text);
	c->last_status = r->status;
	struct apierr_ctx x = {c->cfg.server, kind, c->args, c->cfg.token_from, c->cfg.ca_file};
	char msg[8192];
	if (rc < 0) {
		int code = apierr_unreachable(&x, r->error, msg, sizeof(msg));
		if (!c->quiet_unreachable)
			cli_error(c, "%s", msg);
		return code;
	}
	if (r->status >= 200 && r->status < 300)
		return 0;
	int code = apierr_describe(&x, r->status, r->body, msg, sizeof(msg));
	if (r->status != c->quiet_status)
		cli_error(c, "%s", msg);
	c->last_error = json_loads(r->body, 0, NULL);
	client_resp_free(r);
	return code;
}

static int request_body(struct cli *c, const char *method, const char *path, const json_t *body,
                        const struct upload_src *up, const char *kind, struct client_resp *r)
{
	return request_any(c, method, path, body, up, NULL, kind, r);
}

int cli_stream(struct cli *c, const char *path, const char *last_event_id,
               int (*fn)(void *ctx, const char *data, size_t len), void *ctx)
{
	struct stream_src st = {last_event_id, fn, ctx};
	struct client_resp r;
	int rc = request_any(c, "GET", path, NULL, NULL, &st, NULL, &r);
	if (rc == 0)
		client_resp_free(&r);
	return rc;
}

static int request(struct cli *c, const char *method, const char *path, const json_t *body,
                   const char *kind, struct client_resp *r)
{
	return request_body(c, method, path, body, NULL, kind, r);
}

int cli_upload(struct cli *c, const char *path, int fd, uint64_t size, const char *kind, json_t **reply)
{
	struct progress bar;
	progress_init(&bar, c->err, c->err_tty, progress_term_cols(2));
	c->bar = &bar;
	struct client_resp r;
	struct upload_src up = {fd, size};
	*reply = NULL;
	int rc = request_body(c, "PUT", path, NULL, &up, kind, &r);
	if (!rc)
		progress_update(&bar, 100, "uploaded");
	progress_end(&bar);
	c->bar = NULL;
	if (rc)
		return rc;
	if (r.len)
		*reply = json_loads(r.body, 0, NULL);
	client_resp_free(&r);
	return 0;
}

int cli_call(struct cli *c, const char *method, const char *path, const json_t *body,
             const char *kind, json_t **reply)
{
	if (reply)
		*reply = NULL;
	struct client_resp r;
	int rc = request(c, method, path, body, kind, &r);
	if (rc)
		return rc;
	if (reply && r.len)
		*reply = json_loads(r.body, 0, NULL);
	client_resp_free(&r);
	return 0;
}

int cli_call_text(struct cli *c, const char *path, const char *kind, char **text, size_t *len,
                  long long *offset)
{
	struct client_resp r;
	*text = NULL;
	*len = 0;
	int rc = request(c, "GET", path, NULL, kind, &r);
	if (rc)
		return rc;
	if (offset)
		*offset = r.console_offset[0] ? strtoll(r.console_offset, NULL, 10) : -1;
	*text = r.body;
	*len = r.len;
	return 0;
}

static char *cursor_of(const json_t *next)
{
	char buf[64];
	if (json_is_string(next) && *json_string_value(next))
		return strdup(json_string_value(next));
	if (json_is_integer(next)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(next));
		return strdup(buf);
	}
	return NULL;
}

int cli_list(struct cli *c, const struct list_req *q, json_t **items, char **next)
{
	json_t *all = json_array();
	char *cursor = q->start ? strdup(q->start) : NULL;
	long limit = q->limit;
	int rc = 0;
	*items = NULL;
	*next = NULL;
	for (;;) {
		long want = limit > 0 ? limit - (long)json_array_size(all) : PAGE_SIZE;
		if (want > 1000)
			want = 1000;
		char path[4096], esc[512];
		int n = snprintf(path, sizeof(path), "/api/v1/%s?limit=%ld%s", q->coll, want, q->query);
		if (cursor)
			snprintf(path + n, sizeof(path) - (size_t)n, "&%s=%s", q->page_arg,
			         client_escape(cursor, esc, sizeof(esc)));
		json_t *reply = NULL;
		if ((rc = cli_call(c, "GET", path, NULL, NULL, &reply)))
			break;
		json_t *page = json_object_get(reply, "items");
		if (!json_is_array(page)) {
			cli_error(c, "vdcd's reply to GET %s has no \"items\" list", path);
			json_decref(reply);
			rc = CLI_FAIL;
			break;
		}
		json_array_extend(all, page);
		char *nc = cursor_of(json_object_get(reply, "next"));
		int stuck = nc && cursor && !strcmp(nc, cursor);
		free(cursor);
		cursor = nc;
		size_t got = json_array_size(page);
		json_decref(reply);
		if (stuck) {
			cli_error(c, "vdcd gave the same 'next' twice for %s; stopping", q->coll);
			rc = CLI_FAIL;
			break;
		}
		if (!cursor || got == 0 || (limit > 0 && (long)json_array_size(all) >= limit))
			break;
	}
	if (rc) {
		json_decref(all);
		free(cursor);
		return rc;
	}
	*items = all;
	*next = cursor;
	return 0;
}

void json_scrub(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v), json_string_length(v));
}

const char *cli_ref_name(struct cli *c, const char *coll, const char *id)
{
	if (!id)
		return "-";
	if (!c->refs)
		c->refs = json_object();
	json_t *map = json_object_get(c->refs, coll);
	if (!map) {
		map = json_object();
		json_object_set_new(c->refs, coll, map);
		json_t *items = NULL;
		char *next = NULL;
		int was_quiet = c->quiet;
		c->quiet = 1; /* without names the ids still do */
		struct list_req q = {coll, "", 0, "after", NULL};
		if (cli_list(c, &q, &items, &next) == 0) {
			size_t i;
			json_t *it;
			json_array_foreach(items, i, it) {
				const char *iid = json_string_value(json_object_get(it, "id"));
				json_t *name = json_object_get(it, "name");
				if (iid && json_is_string(name))
					json_object_set(map, iid, name);
			}
		}
		c->quiet = was_quiet;
		json_decref(items);
		free(next);
	}
	const char *name = json_string_value(json_object_get(map, id));
	return name ? name : id;
}

int cli_looks_like_id(const char *s)
{
	/* 8-4-4-4-12 hex digits */
	static const int groups[] = {8, 4, 4, 4, 12};
	for (int g = 0; g < 5; g++) {
		for (int i = 0; i < groups[g]; i++, s++)
			if (!isxdigit((unsigned char)*s))
				return 0;
		if (*s != (g < 4 ? '-' : '\0'))
			return 0;
		s++;
	}
	return 1;
}

int cli_resolve_target(struct cli *c, const char *target, char *id, size_t n)
{
	static const char *const kinds[] = {"cluster", "host", "datastore", "network", "template",
	                                    "vm", "image", "project", "user", NULL};
	if (cli_looks_like_id(target)) {
		snprintf(id, n, "%s", target); /* tasks outlive their targets: no lookup */
		return 0;
	}
	const char *slash = strchr(target, '/');
	char kind[32] = "vm", coll[40];
	const char *name = target;
	if (slash) {
		snprintf(kind, sizeof(kind), "%.*s", (int)(slash - target), target);
		name = slash + 1;
		int known = 0;
		for (int i = 0; kinds[i]; i++)
			known |= !strcmp(kinds[i], kind);
		if (!known || !*name) {
			cli_error(c, "'%s' is no target: give an id, a VM's name, or KIND/NAME with KIND one of "
			             "cluster, host, datastore, network, template, vm, image, project, user", target);
			return CLI_USAGE;
		}
		if (cli_looks_like_id(name)) {
			snprintf(id, n, "%s", name);
			return 0;
		}
	}
	snprintf(coll, sizeof(coll), "%ss", kind);
	return cli_resolve_id(c, coll, kind, name, id, n);
}

int cli_resolve_id(struct cli *c, const char *coll, const char *kind, const char *name_or_id,
                   char *id, size_t n)
{
	char path[1024], esc[512];
	snprintf(path, sizeof(path), "/api/v1/%s/%s", coll, client_escape(name_or_id, esc, sizeof(esc)));
	json_t *doc = NULL;
	int rc = cli_call(c, "GET", path, NULL, kind, &doc);
	if (rc)
		return rc;
	const char *v = json_string_value(json_object_get(doc, "id"));
	if (!v) {
		cli_error(c, "vdcd's %s '%s' has no id", kind, name_or_id);
		json_decref(doc);
		return CLI_FAIL;
	}
	snprintf(id, n, "%s", v);
	json_decref(doc);
	return 0;
}

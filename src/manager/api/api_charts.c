/* api_charts.c - GET /api/v1/vms/{id}/metrics and GET /api/v1/hosts/{id}/metrics:
 * the charts' series that vdcd keeps from heartbeats (ops/charts.c), for
 * whoever may GET the VM or host itself. */
#include "api.h"

#include "charts.h"

#include <stdlib.h>
#include <string.h>

/* Reads ?since and ?metric; replies 400 naming the parameter itself. */
static int query_args(struct http_req *req, const struct metric_schema *s, int64_t *since_ms, unsigned *mask)
{
	const char *since = http_query(req, "since");
	*since_ms = INT64_MIN;
	if (since && metric_parse_since(since, mgr_now_ms(), since_ms) < 0) {
		http_reply_error(req, 400, "invalid_query", "since",
		                 "since must be epoch seconds (1765000000) or a duration ago (90s, 15m, 1h; a "
		                 "week at most), not '%.40s'", since);
		return -1;
	}
	char bad[64];
	if (charts_metric_mask(s, http_query(req, "metric"), mask, bad) < 0) {
		char names[256] = "";
		for (int k = 0; k < s->nseries; k++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", k ? ", " : "",
			         s->series[k].name);
		http_reply_error(req, 400, "invalid_query", "metric",
		                 "no %s metric '%s'; give one or more of %s, separated by commas", s->kind, bad,
		                 names);
		return -1;
	}
	return 0;
}

static void reply(struct http_req *req, const struct metric_table *t, const char *id)
{
	int64_t since;
	unsigned mask;
	if (query_args(req, t->schema, &since, &mask) < 0)
		return;
	char *text = charts_render(t, id, since, mask);
	if (!text)
		http_reply_error(req, 500, "internal", NULL, "out of memory");
	else
		mgr_reply_stored(req, 200, text);
}

void api_vms_metrics(struct http_req *req)
{
	struct mgr *m = http_app(req);
	/* Visible as the VM's own GET is (another project's: 404). */
	json_t *vm = mgr_get_visible(req, STORE_VM, http_param(req, "id"));
	if (!vm)
		return;
	reply(req, &m->charts->vms, json_string_value(json_object_get(vm, "id")) ?: "");
	json_decref(vm);
}

void api_hosts_metrics(struct http_req *req)
{
	struct mgr *m = http_app(req);
	struct errinfo e = {0};
	json_t *host = store_get(m->st, STORE_HOST, http_param(req, "id"), &e);
	if (!host) {
		mgr_reply_err(req, &e);
		return;
	}
	reply(req, &m->charts->hosts, json_string_value(json_object_get(host, "id")) ?: "");
	json_decref(host);
}

/* api_charts.c - GET /api/v1/vms/{id}/metrics and GET /api/v1/hosts/{id}/metrics:
 * the charts' series that vdcd keeps from heartbeats: the raw points of the
 * last hour (ops/charts.c) or a tier of the consolidated history
 * (ops/history.c), as ?since and ?resolution pick it, for whoever may GET
 * the VM or host itself. */
#include "api.h"

#include "charts.h"
#include "history.h"

#include <stdlib.h>
#include <string.h>

#define SINCE_MAX_MS (2 * 366 * 24 * 3600000ll)

struct chart_query {
	int64_t since_ms; /* INT64_MIN: from the first point */
	int tier;         /* -1: the raw points of the last hour, else a history tier */
	unsigned mask;
};

/* Reads ?since, ?resolution and ?metric; replies 400 naming the parameter
 * itself. */
static int query_args(struct http_req *req, struct mgr *m, const struct metric_schema *s, struct chart_query *q)
{
	const char *since = http_query(req, "since"), *res = http_query(req, "resolution");
	int64_t now = mgr_now_ms(), dur = 0;
	struct hist_query hq = {0, 0};
	q->since_ms = INT64_MIN;
	if (since && hist_parse_duration(since, &dur) == 0 && dur <= SINCE_MAX_MS) {
		q->since_ms = now - dur;
	} else if (since && (hist_parse_duration(since, &dur) == 0 || metric_parse_since(since, now, &q->since_ms) < 0)) {
		http_reply_error(req, 400, "invalid_query", "since",
		                 "since must be epoch seconds (1765000000) or a duration ago (90s, 15m, 1h, 7d, 2w, "
		                 "1y; two years at most), not '%.40s'", since);
		return -1;
	}
	if (since)
		hq.range_ms = now > q->since_ms ? now - q->since_ms : 0;
	const struct hist_tier *tiers = history_tiers(m);
	if (res && hist_parse_resolution(tiers, HIST_NTIERS, res, &hq.resolution_ms) < 0) {
		http_reply_error(req, 400, "invalid_query", "resolution",
		                 "resolution must be raw (every heartbeat, for an hour), %s (a day), %s (a month) "
		                 "or %s (a year), not '%.40s'", tiers[0].name, tiers[1].name, tiers[2].name, res);
		return -1;
	}
	char why[160];
	if (hist_pick(tiers, HIST_NTIERS, CHARTS_RETENTION_S * 1000ll, &hq, &q->tier, why, sizeof(why)) < 0) {
		http_reply_error(req, 400, "invalid_query", "resolution", "%s", why);
		return -1;
	}
	char bad[64];
	if (charts_metric_mask(s, http_query(req, "metric"), &q->mask, bad) < 0) {
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

static void reply(struct http_req *req, enum history_kind kind, const char *id)
{
	struct mgr *m = http_app(req);
	const struct metric_table *t = kind == HISTORY_VM ? &m->charts->vms : &m->charts->hosts;
	struct chart_query q;
	if (query_args(req, m, t->schema, &q) < 0)
		return;
	struct errinfo e = {0};
	char *text = q.tier < 0 ? charts_render(t, id, q.since_ms, q.mask)
	                        : history_render(m, kind, id, t->schema, q.tier, q.since_ms, q.mask, &e);
	if (!text && e.status)
		mgr_reply_err(req, &e);
	else if (!text)
		http_reply_error(req, 500, "internal", NULL, "out of memory");
	else
		mgr_reply_stored(req, 200, text);
}

void api_vms_metrics(struct http_req *req)
{
	/* Visible as the VM's own GET is (another project's: 404). */
	json_t *vm = mgr_get_visible(req, STORE_VM, http_param(req, "id"));
	if (!vm)
		return;
	reply(req, HISTORY_VM, json_string_value(json_object_get(vm, "id")) ?: "");
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
	reply(req, HISTORY_HOST, json_string_value(json_object_get(host, "id")) ?: "");
	json_decref(host);
}

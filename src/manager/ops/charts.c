/* charts.c - see charts.h. */
#include "charts.h"

#include "history.h"
#include "log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_EVERY_MS 60000

int charts_init(struct mgr *m, int step_s)
{
	struct charts *c = calloc(1, sizeof(*c));
	if (!c)
		return -1;
	metric_table_init(&c->vms, &metric_vm_schema, (int64_t)step_s * 1000, CHARTS_RETENTION_S * 1000ll);
	metric_table_init(&c->hosts, &metric_host_schema, (int64_t)step_s * 1000, CHARTS_RETENTION_S * 1000ll);
	m->charts = c;
	return 0;
}

void charts_free(struct mgr *m)
{
	if (!m->charts)
		return;
	metric_table_free(&m->charts->vms);
	metric_table_free(&m->charts->hosts);
	free(m->charts);
	m->charts = NULL;
}

/* One sample object: the schema's keys, and at_ms (host) or run (VM). */
static int check_sample(const json_t *o, const char *path, const struct metric_schema *s, bool host,
                        struct metric_sample *out, struct jv_err *err)
{
	const char *keys[METRIC_MAX_RAW + 2];
	int n = 0;
	keys[n++] = host ? "at_ms" : "run";
	for (int i = 0; i < s->nraw; i++)
		keys[n++] = s->raw_names[i];
	keys[n] = NULL;
	if (jv_only_keys(o, path, keys, err) < 0)
		return -1;
	struct metric_sample x = {.run = 0};
	if (jv_int(o, path, keys[0], host, 0, INT64_MAX, host ? &x.at_ms : &x.run, err) < 0)
		return -1;
	for (int i = 0; i < s->nraw; i++) {
		x.raw[i] = -1;
		if (jv_int(o, path, s->raw_names[i], false, -1, INT64_MAX, &x.raw[i], err) < 0)
			return -1;
	}
	if (out)
		*out = x;
	return 0;
}

int charts_check_beat(const json_t *body, struct jv_err *err)
{
	json_t *hs = json_object_get(body, "sample");
	if (hs && !json_is_object(hs))
		return jv_fail(err, "sample", "must be an object");
	if (hs && check_sample(hs, "sample", &metric_host_schema, true, NULL, err) < 0)
		return -1;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(body, "vms"), i, v) {
		json_t *vs = json_object_get(v, "sample");
		if (!vs)
			continue;
		char item[32], path[64];
		jv_path_index(item, sizeof(item), "vms", i);
		jv_path(path, sizeof(path), item, "sample");
		if (!json_is_object(vs))
			return jv_fail(err, path, "must be an object");
		if (!hs)
			return jv_fail(err, path, "a VM's sample needs the heartbeat's own sample (its at_ms)");
		if (check_sample(vs, path, &metric_vm_schema, false, NULL, err) < 0)
			return -1;
	}
	return 0;
}

/* The table's object for a VM that host_id reports, if vdcd placed it
 * there: checked in the store the first time, and again when the host
 * changes (a move), so one host never writes another's VM. */
static struct metric_obj *vm_obj(struct mgr *m, const char *vm_id, const char *host_id)
{
	struct metric_obj *o = metric_table_get(&m->charts->vms, vm_id);
	if (o && !strcmp(o->owner, host_id))
		return o;
	struct errinfo e = {0};
	json_t *doc = store_get(m->st, STORE_VM, vm_id, &e);
	const char *id = json_string_value(json_object_get(doc, "id"));
	const char *placed = json_string_value(json_object_get(doc, "host_id"));
	bool ours = id && !strcmp(id, vm_id) && placed && !strcmp(placed, host_id);
	json_decref(doc);
	if (!ours)
		return NULL;
	if (!o && !(o = metric_table_add(&m->charts->vms, vm_id)))
		return NULL;
	snprintf(o->owner, sizeof(o->owner), "%s", host_id);
	o->has_last = false; /* another host's counters: no rate across */
	return o;
}

/* A point for the chart's hour, and the same values for the history. */
static void take(struct mgr *m, enum history_kind kind, struct metric_obj *o, int64_t now_ms,
                 const struct metric_sample *s)
{
	struct charts *c = m->charts;
	const struct metric_table *t = kind == HISTORY_VM ? &c->vms : &c->hosts;
	int rc = metric_table_take(t, o, now_ms, s);
	if (rc > 0) {
		c->points_taken++;
		const struct metric_ring *r = &o->ring;
		float v[METRIC_MAX_SERIES];
		for (int k = 0; k < t->schema->nseries; k++)
			v[k] = metric_ring_value(r, metric_ring_count(r) - 1, k);
		history_take(m, kind, o->id, metric_ring_last_time(r), t->schema->nseries, v);
	} else if (rc < 0)
		log_warn("charts_out_of_memory", "id=%s", o->id);
}

void charts_take_beat(struct mgr *m, const char *host_id, const json_t *body, int64_t now_ms)
{
	struct charts *c = m->charts;
	json_t *hs = json_object_get(body, "sample");
	if (!c || !hs)
		return;
	struct jv_err err = {0};
	struct metric_sample s;
	if (check_sample(hs, "sample", &metric_host_schema, true, &s, &err) < 0)
		return;
	struct metric_obj *h = metric_table_get(&c->hosts, host_id);
	if (!h && (h = metric_table_add(&c->hosts, host_id)))
		snprintf(h->owner, sizeof(h->owner), "%s", host_id);
	if (h)
		take(m, HISTORY_HOST, h, now_ms, &s);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(body, "vms"), i, v) {
		json_t *vs = json_object_get(v, "sample");
		const char *uuid = json_string_value(json_object_get(v, "uuid"));
		struct metric_sample x;
		if (!vs || !uuid || check_sample(vs, "", &metric_vm_schema, false, &x, &err) < 0)
			continue;
		struct metric_obj *o = vm_obj(m, uuid, host_id);
		if (!o) {
			c->samples_refused++; /* not a VM vdcd placed on this host */
			continue;
		}
		x.at_ms = s.at_ms;
		take(m, HISTORY_VM, o, now_ms, &x);
	}
	if (now_ms >= c->next_sweep_ms) {
		metric_table_drop_idle(&c->vms, now_ms);
		metric_table_drop_idle(&c->hosts, now_ms);
		c->next_sweep_ms = now_ms + SWEEP_EVERY_MS;
	}
}

int charts_metric_mask(const struct metric_schema *s, const char *list, unsigned *mask, char bad[64])
{
	*mask = 0;
	if (!list) {
		*mask = (1u << s->nseries) - 1;
		return 0;
	}
	const char *p = list;
	for (;;) {
		size_t n = strcspn(p, ",");
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)(n < 63 ? n : 63), p);
		int k = n < 63 ? metric_series_index(s, name) : -1;
		if (k < 0) {
			snprintf(bad, 64, "%s", name);
			return -1;
		}
		*mask |= 1u << k;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

char *charts_render(const struct metric_table *t, const char *id, int64_t since_ms, unsigned mask)
{
	const struct metric_schema *s = t->schema;
	const struct metric_obj *o = metric_table_get(t, id);
	const struct metric_ring *r = o ? &o->ring : NULL;
	uint32_t first = r ? metric_ring_first_since(r, since_ms) : 0, n = r ? metric_ring_count(r) : 0;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	/* ids are UUIDs or safe names: nothing to escape */
	fprintf(f, "{\"id\":\"%s\",\"kind\":\"%s\",\"resolution\":\"raw\",\"interval_s\":%g,\"retention_s\":%d,\"timestamps\":[", id,
	        s->kind, (double)t->step_ms / 1000.0, CHARTS_RETENTION_S);
	for (uint32_t i = first; i < n; i++)
		fprintf(f, "%s%.3f", i > first ? "," : "", (double)metric_ring_time(r, i) / 1000.0);
	fputs("],\"series\":[", f);
	int out = 0;
	for (int k = 0; k < s->nseries; k++) {
		if (!(mask & (1u << k)))
			continue;
		fprintf(f, "%s{\"name\":\"%s\",\"unit\":\"%s\",\"values\":[", out++ ? "," : "", s->series[k].name,
		        s->series[k].unit);
		for (uint32_t i = first; i < n; i++) {
			float v = metric_ring_value(r, i, k);
			if (isnan(v) || isinf(v))
				fprintf(f, "%snull", i > first ? "," : "");
			else
				fprintf(f, "%s%.7g", i > first ? "," : "", (double)v);
		}
		fputs("]}", f);
	}
	fputs("]}", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* history.c - see history.h. */
#include "history.h"

#include "charts.h"
#include "history_doc.h"
#include "inv_map.h"
#include "log.h"
#include "loop.h"
#include "store.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Closed minute buckets wait at most this for their write: with the open
 * one, a kill -9 loses about a minute. */
#define FLUSH_EVERY_MS 30000

struct hist_obj {
	char id[40];
	struct hist_acc acc[HIST_NTIERS]; /* the open bucket of each tier */
	int nseries;
	bool loaded; /* the open buckets were read back from the store */
};

struct hist_closed {
	enum history_kind kind;
	char id[40];
	int tier, nseries;
	struct hist_acc acc;
};

struct hist_gone {
	enum history_kind kind;
	char id[40];
};

struct history {
	struct hist_tier tiers[HIST_NTIERS];
	struct inv_map objs[2]; /* by enum history_kind */
	struct hist_closed *closed; /* closed buckets not yet written */
	size_t nclosed, closed_cap;
	int64_t flush_every_ms;
	struct loop_timer *timer;
	pthread_mutex_t gone_lock; /* the observer runs on committing threads */
	struct hist_gone *gone;
	size_t ngone, gone_cap;
	uint64_t buckets_written, flushes, flush_failures, objects_dropped;
	double last_flush_ms;
	/* A flush's rows on their way, STORE_HIST_BATCH to a statement. */
	struct store_history_row batch[STORE_HIST_BATCH];
	char batch_docs[STORE_HIST_BATCH][1024];
	size_t nbatch;
};

static const char *const kind_name[] = {"vm", "host"};

/* Queues a deleted object (gone_lock held). */
static void gone_push(struct history *h, enum history_kind kind, const char *id)
{
	if (h->ngone == h->gone_cap) {
		size_t cap = h->gone_cap ? h->gone_cap * 2 : 16;
		struct hist_gone *g = realloc(h->gone, cap * sizeof(*g));
		if (!g) {
			log_warn("history_out_of_memory", "dropped_id=%s", id);
			return;
		}
		h->gone = g;
		h->gone_cap = cap;
	}
	struct hist_gone *g = &h->gone[h->ngone++];
	g->kind = kind;
	snprintf(g->id, sizeof(g->id), "%s", id);
}

static void on_commit(void *ctx, const struct store_change *c, int n)
{
	struct history *h = ctx;
	pthread_mutex_lock(&h->gone_lock);
	for (int i = 0; i < n; i++)
		if (!c[i].doc && c[i].id && strlen(c[i].id) < sizeof(h->gone->id))
			gone_push(h, c[i].kind == STORE_VM ? HISTORY_VM : HISTORY_HOST, c[i].id);
	pthread_mutex_unlock(&h->gone_lock);
}

int history_init(struct mgr *m, int speedup)
{
	struct history *h = calloc(1, sizeof(*h));
	if (!h)
		return -1;
	hist_tiers_default(h->tiers, speedup);
	h->flush_every_ms = FLUSH_EVERY_MS / (speedup > 1 ? speedup : 1);
	if (h->flush_every_ms < 100)
		h->flush_every_ms = 100;
	pthread_mutex_init(&h->gone_lock, NULL);
	m->history = h;
	store_observe(1u << STORE_VM | 1u << STORE_HOST, on_commit, h);
	return 0;
}

static int flush(struct mgr *m, bool open, struct errinfo *e);

static void on_timer(void *ctx)
{
	struct mgr *m = ctx;
	struct history *h = m->history;
	h->timer = NULL;
	struct errinfo e = {0};
	if (history_flush(m, &e) < 0)
		log_warn("history_flush_failed", "error=%s", log_quote(e.message));
	h->timer = loop_timer_after(m->loop, (uint64_t)h->flush_every_ms, on_timer, m);
}

void history_start(struct mgr *m)
{
	struct history *h = m->history;
	if (h && !h->timer)
		h->timer = loop_timer_after(m->loop, (uint64_t)h->flush_every_ms, on_timer, m);
}

static void free_obj(void *val, void *ctx)
{
	(void)ctx;
	free(val);
}

void history_free(struct mgr *m)
{
	struct history *h = m->history;
	if (!h)
		return;
	store_observe(0, on_commit, h);
	struct errinfo e = {0};
	if (m->st && flush(m, true, &e) < 0)
		log_warn("history_flush_failed", "when=stop error=%s", log_quote(e.message));
	if (h->timer && m->loop)
		loop_timer_cancel(m->loop, h->timer);
	for (int k = 0; k < 2; k++) {
		inv_map_each(&h->objs[k], free_obj, NULL);
		inv_map_free(&h->objs[k]);
	}
	free(h->closed);
	free(h->gone);
	pthread_mutex_destroy(&h->gone_lock);
	free(h);
	m->history = NULL;
}

const struct hist_tier *history_tiers(const struct mgr *m) { return m->history->tiers; }

/* ---- taking points ---- */

struct rebuild {
	struct hist_acc *into;
	int64_t before; /* rows from here on are in memory already */
};

static int merge_row(void *ctx, int64_t t_ms, const char *doc)
{
	struct rebuild *r = ctx;
	struct hist_acc b;
	if (t_ms < r->before && history_doc_parse(doc, t_ms, &b) == 0)
		hist_acc_merge(r->into, &b);
	return 0;
}

/* After a restart, the open buckets go on from what the store has: the
 * bucket itself when a clean stop wrote it, else (a kill) a coarse one is
 * made again from the finer tier's buckets since its start. */
static void load_open(struct mgr *m, enum history_kind kind, struct hist_obj *o, int64_t t_ms)
{
	struct history *h = m->history;
	o->loaded = true;
	for (int i = 0; i < HIST_NTIERS; i++) {
		int64_t start = hist_bucket_start(t_ms, h->tiers[i].step_ms), at = 0;
		char *doc = NULL;
		struct errinfo e = {0};
		int rc = store_history_last(m->st, kind_name[kind], o->id, i, &at, &doc, &e);
		if (rc == 1 && at == start && history_doc_parse(doc, at, &o->acc[i]) == 0) {
			free(doc);
			continue;
		}
		free(doc);
		if (rc < 0 || i == 0) {
			if (rc < 0)
				log_warn("history_read_failed", "id=%s error=%s", o->id, log_quote(e.message));
			continue;
		}
		const struct hist_acc *finer = &o->acc[i - 1];
		hist_acc_reset(&o->acc[i], start);
		struct rebuild r = {&o->acc[i], finer->start_ms != INT64_MIN ? finer->start_ms : INT64_MAX};
		if (store_history_each(m->st, kind_name[kind], o->id, i - 1, start, merge_row, &r, &e) < 0)
			log_warn("history_read_failed", "id=%s error=%s", o->id, log_quote(e.message));
		if (finer->start_ms != INT64_MIN && finer->start_ms >= start)
			hist_acc_merge(&o->acc[i], finer);
	}
}

static void keep_closed(struct history *h, enum history_kind kind, const struct hist_obj *o, int tier,
                        const struct hist_acc *acc)
{
	if (h->nclosed == h->closed_cap) {
		size_t cap = h->closed_cap ? h->closed_cap * 2 : 256;
		struct hist_closed *c = realloc(h->closed, cap * sizeof(*c));
		if (!c) {
			log_warn("history_out_of_memory", "id=%s", o->id);
			return;
		}
		h->closed = c;
		h->closed_cap = cap;
	}
	struct hist_closed *c = &h->closed[h->nclosed++];
	c->kind = kind;
	memcpy(c->id, o->id, sizeof(c->id));
	c->tier = tier;
	c->nseries = o->nseries;
	c->acc = *acc;
}

void history_take(struct mgr *m, enum history_kind kind, const char *id, int64_t t_ms, int nseries,
                  const float *v)
{
	struct history *h = m->history;
	if (!h || strlen(id) >= sizeof(((struct hist_obj *)0)->id))
		return;
	struct hist_obj *o = inv_map_get(&h->objs[kind], id);
	if (!o) {
		if (!(o = calloc(1, sizeof(*o))))
			return;
		strcpy(o->id, id);
		for (int i = 0; i < HIST_NTIERS; i++)
			hist_acc_reset(&o->acc[i], INT64_MIN);
		if (inv_map_put(&h->objs[kind], o->id, o) < 0) {
			free(o);
			return;
		}
	}
	if (!o->loaded)
		load_open(m, kind, o, t_ms);
	o->nseries = nseries < HIST_MAX_SERIES ? nseries : HIST_MAX_SERIES;
	for (int i = 0; i < HIST_NTIERS; i++) {
		struct hist_acc closed;
		if (hist_acc_take(&o->acc[i], h->tiers[i].step_ms, t_ms, o->nseries, v, &closed) == 1)
			keep_closed(h, kind, o, i, &closed);
	}
}

/* ---- flushing ---- */

/* Writes what the batch holds. */
static int put_batch(struct mgr *m, struct errinfo *e)
{
	struct history *h = m->history;
	int rc = store_history_put_many(m->st, h->batch, h->nbatch, e);
	h->nbatch = 0;
	return rc;
}

/* Adds a bucket to the batch (id must outlive the batch), writing it when
 * full. */
static int put(struct mgr *m, enum history_kind kind, const char *id, int tier, const struct hist_acc *a,
               int nseries, struct errinfo *e)
{
	struct history *h = m->history;
	history_doc_format(a, nseries, h->batch_docs[h->nbatch], sizeof(h->batch_docs[0]));
	h->batch[h->nbatch] = (struct store_history_row){kind_name[kind], id, tier, a->start_ms, h->batch_docs[h->nbatch]};
	return ++h->nbatch == STORE_HIST_BATCH ? put_batch(m, e) : 0;
}

struct open_pass {
	struct mgr *m;
	enum history_kind kind;
	struct errinfo *e;
	int rc;
	uint64_t written;
};

static void put_open(void *val, void *ctx)
{
	struct hist_obj *o = val;
	struct open_pass *p = ctx;
	for (int i = 0; i < HIST_NTIERS && p->rc == 0; i++) {
		if (o->acc[i].start_ms == INT64_MIN)
			continue;
		p->rc = put(p->m, p->kind, o->id, i, &o->acc[i], o->nseries, p->e);
		p->written++;
	}
}

/* Deleted objects: out of memory (the charts' too) and their rows out of
 * the store, in the flush's transaction. */
static int drop_gone(struct mgr *m, struct errinfo *e)
{
	struct history *h = m->history;
	pthread_mutex_lock(&h->gone_lock);
	struct hist_gone *gone = h->gone;
	size_t n = h->ngone;
	h->gone = NULL;
	h->ngone = h->gone_cap = 0;
	pthread_mutex_unlock(&h->gone_lock);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		free(inv_map_del(&h->objs[gone[i].kind], gone[i].id));
		if (m->charts)
			metric_table_remove(gone[i].kind == HISTORY_VM ? &m->charts->vms : &m->charts->hosts, gone[i].id);
		size_t keep = 0;
		for (size_t c = 0; c < h->nclosed; c++)
			if (h->closed[c].kind != gone[i].kind || strcmp(h->closed[c].id, gone[i].id))
				h->closed[keep++] = h->closed[c];
		h->nclosed = keep;
		rc = store_history_drop(m->st, kind_name[gone[i].kind], gone[i].id, e);
		h->objects_dropped++;
	}
	if (rc < 0) { /* again at the next flush */
		pthread_mutex_lock(&h->gone_lock);
		for (size_t i = 0; i < n; i++)
			gone_push(h, gone[i].kind, gone[i].id);
		pthread_mutex_unlock(&h->gone_lock);
	}
	free(gone);
	return rc;
}

/* The flush; with open, the buckets still open too (a clean stop). */
static int flush(struct mgr *m, bool open, struct errinfo *e)
{
	struct history *h = m->history;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (store_begin(m->st, e) < 0)
		return -1;
	int rc = drop_gone(m, e);
	uint64_t written = 0;
	for (size_t c = 0; rc == 0 && c < h->nclosed; c++, written++)
		rc = put(m, h->closed[c].kind, h->closed[c].id, h->closed[c].tier, &h->closed[c].acc,
		         h->closed[c].nseries, e);
	for (int k = 0; open && rc == 0 && k < 2; k++) {
		struct open_pass p = {m, (enum history_kind)k, e, 0, 0};
		inv_map_each(&h->objs[k], put_open, &p);
		rc = p.rc;
		written += p.written;
	}
	if (rc == 0)
		rc = put_batch(m, e);
	h->nbatch = 0;
	int64_t now = mgr_now_ms();
	for (int i = 0; rc == 0 && i < HIST_NTIERS; i++)
		rc = store_history_trim(m->st, i, now - h->tiers[i].span_ms, e);
	if (rc == 0)
		rc = store_commit(m->st, e);
	else
		store_rollback(m->st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	h->last_flush_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (rc < 0) {
		h->flush_failures++;
		return -1;
	}
	h->flushes++;
	h->buckets_written += written;
	h->nclosed = 0;
	return 0;
}

int history_flush(struct mgr *m, struct errinfo *e) { return flush(m, false, e); }

/* ---- reading ---- */

struct render {
	FILE *ts, *vals[METRIC_MAX_SERIES], *maxs[METRIC_MAX_SERIES];
	const struct metric_schema *s;
	unsigned mask;
	int n;
	int64_t last_t;
};

static void out_num(FILE *f, bool first, float v)
{
	if (isnan(v) || isinf(v))
		fprintf(f, "%snull", first ? "" : ",");
	else
		fprintf(f, "%s%.7g", first ? "" : ",", (double)v);
}

static void render_bucket(struct render *r, const struct hist_acc *a)
{
	fprintf(r->ts, "%s%.3f", r->n ? "," : "", (double)a->start_ms / 1000.0);
	for (int k = 0; k < r->s->nseries; k++) {
		if (!(r->mask & (1u << k)))
			continue;
		out_num(r->vals[k], r->n == 0, hist_acc_avg(a, k));
		out_num(r->maxs[k], r->n == 0, hist_acc_max(a, k));
	}
	r->n++;
	r->last_t = a->start_ms;
}

struct render_pass {
	struct render *r;
	/* From here on buckets come from memory: closed ones not yet flushed,
	 * then the open one (each replaces a stored copy of itself). */
	int64_t memory_from;
};

static int render_row(void *ctx, int64_t t_ms, const char *doc)
{
	struct render_pass *p = ctx;
	struct hist_acc a;
	if (t_ms >= p->memory_from || history_doc_parse(doc, t_ms, &a) < 0)
		return 0;
	render_bucket(p->r, &a);
	return 0;
}

static char *closed_stream(FILE *f, char **buf)
{
	if (f && fclose(f) == 0)
		return *buf;
	return NULL;
}

char *history_render(struct mgr *m, enum history_kind kind, const char *id, const struct metric_schema *s,
                     int tier, int64_t since_ms, unsigned mask, struct errinfo *e)
{
	struct history *h = m->history;
	const struct hist_tier *t = &h->tiers[tier];
	int64_t oldest = mgr_now_ms() - t->span_ms;
	if (since_ms < oldest)
		since_ms = oldest;
	char *tsb = NULL, *vb[METRIC_MAX_SERIES] = {0}, *mb[METRIC_MAX_SERIES] = {0};
	size_t tsl = 0, vl[METRIC_MAX_SERIES] = {0}, ml[METRIC_MAX_SERIES] = {0};
	struct render r = {.s = s, .mask = mask, .last_t = INT64_MIN};
	r.ts = open_memstream(&tsb, &tsl);
	bool ok = r.ts != NULL;
	for (int k = 0; k < s->nseries; k++) {
		r.vals[k] = open_memstream(&vb[k], &vl[k]);
		r.maxs[k] = open_memstream(&mb[k], &ml[k]);
		ok = ok && r.vals[k] && r.maxs[k];
	}
	const struct hist_obj *o = inv_map_get(&h->objs[kind], id);
	const struct hist_acc *open = o && o->acc[tier].start_ms != INT64_MIN ? &o->acc[tier] : NULL;
	struct render_pass p = {&r, open ? open->start_ms : INT64_MAX};
	for (size_t c = 0; c < h->nclosed; c++) {
		const struct hist_closed *cl = &h->closed[c];
		if (cl->kind == kind && cl->tier == tier && !strcmp(cl->id, id) && cl->acc.start_ms < p.memory_from)
			p.memory_from = cl->acc.start_ms;
	}
	/* The bucket since_ms falls in is shown whole. */
	int64_t from = hist_bucket_start(since_ms, t->step_ms);
	if (ok && store_history_each(m->st, kind_name[kind], id, tier, from, render_row, &p, e) < 0)
		ok = false;
	for (size_t c = 0; ok && c < h->nclosed; c++) { /* in the order they closed */
		const struct hist_closed *cl = &h->closed[c];
		if (cl->kind == kind && cl->tier == tier && !strcmp(cl->id, id) && cl->acc.start_ms >= from)
			render_bucket(&r, &cl->acc);
	}
	if (ok && open && open->start_ms >= from)
		render_bucket(&r, open);
	char *out = NULL;
	size_t outl = 0;
	FILE *f = ok ? open_memstream(&out, &outl) : NULL;
	char *ts = closed_stream(r.ts, &tsb);
	if (f && ts) {
		fprintf(f,
		        "{\"id\":\"%s\",\"kind\":\"%s\",\"resolution\":\"%s\",\"interval_s\":%g,\"retention_s\":%g,"
		        "\"consolidation\":[\"avg\",\"max\"],\"timestamps\":[%s],\"series\":[",
		        id, s->kind, t->name, (double)t->step_ms / 1000.0, (double)t->span_ms / 1000.0, ts);
	}
	int nout = 0;
	for (int k = 0; k < s->nseries; k++) {
		char *v = closed_stream(r.vals[k], &vb[k]), *x = closed_stream(r.maxs[k], &mb[k]);
		if (f && (mask & (1u << k)))
			fprintf(f, "%s{\"name\":\"%s\",\"unit\":\"%s\",\"values\":[%s],\"max\":[%s]}", nout++ ? "," : "",
			        s->series[k].name, s->series[k].unit, v ? v : "", x ? x : "");
		free(vb[k]);
		free(mb[k]);
	}
	free(tsb);
	if (f)
		fputs("]}", f);
	if (!f || fclose(f) != 0 || !ts) {
		free(out);
		if (!e->status)
			errinfo_set(e, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	return out;
}

static void count_obj(void *val, void *ctx)
{
	(void)val;
	(*(size_t *)ctx)++;
}

void history_prometheus(const struct mgr *m, FILE *f)
{
	const struct history *h = m->history;
	if (!h)
		return;
	size_t n[2] = {0, 0};
	for (int k = 0; k < 2; k++)
		inv_map_each(&h->objs[k], count_obj, &n[k]);
	fprintf(f,
	        "# HELP vdcd_history_objects VMs and hosts whose demand history vdcd consolidates.\n"
	        "# TYPE vdcd_history_objects gauge\n"
	        "vdcd_history_objects{kind=\"vm\"} %zu\nvdcd_history_objects{kind=\"host\"} %zu\n"
	        "# HELP vdcd_history_buckets_written_total History buckets written to the store.\n"
	        "# TYPE vdcd_history_buckets_written_total counter\nvdcd_history_buckets_written_total %llu\n"
	        "# HELP vdcd_history_flushes_total History flushes written (one transaction each).\n"
	        "# TYPE vdcd_history_flushes_total counter\nvdcd_history_flushes_total %llu\n"
	        "# HELP vdcd_history_flush_failures_total History flushes the store refused (kept for the next).\n"
	        "# TYPE vdcd_history_flush_failures_total counter\nvdcd_history_flush_failures_total %llu\n"
	        "# HELP vdcd_history_dropped_total Histories dropped because their VM or host was deleted.\n"
	        "# TYPE vdcd_history_dropped_total counter\nvdcd_history_dropped_total %llu\n"
	        "# HELP vdcd_history_last_flush_ms How long the last flush took.\n"
	        "# TYPE vdcd_history_last_flush_ms gauge\nvdcd_history_last_flush_ms %.3f\n",
	        n[0], n[1], (unsigned long long)h->buckets_written, (unsigned long long)h->flushes,
	        (unsigned long long)h->flush_failures, (unsigned long long)h->objects_dropped, h->last_flush_ms);
}

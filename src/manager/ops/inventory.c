/* inventory.c - feeds the inventory index from the store: a rebuild at start
 * and every commit after it, told by the store's observer on the thread
 * that committed. Placement reads the index under the same lock. */
#include "inventory.h"

#include "log.h"

#include "inv_slim.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct inv *index_;

static enum inv_kind kind_of(enum store_kind k)
{
	return k == STORE_CLUSTER ? INV_CLUSTER : k == STORE_HOST ? INV_HOST : INV_VM;
}

static void on_commit(void *ctx, const struct store_change *c, int n)
{
	(void)ctx;
	pthread_mutex_lock(&lock);
	for (int i = 0; index_ && i < n; i++)
		inv_apply(index_, kind_of(c[i].kind), c[i].id, c[i].doc);
	pthread_mutex_unlock(&lock);
}

struct load {
	struct inv *iv;
	enum inv_kind kind;
	bool locked; /* the live index: take the lock per page */
};

/* A page as text: only the fields the index reads are parsed. */
static int load_page(void *ctx, const char *text)
{
	struct load *l = ctx;
	json_t *page = inv_slim_loads(text, strlen(text), inv_slim_spec(l->kind));
	if (!page)
		page = json_loads(text, 0, NULL); /* what the scanner refused: all of it */
	if (!page)
		return -1;
	size_t i;
	json_t *doc;
	if (l->locked)
		pthread_mutex_lock(&lock);
	json_array_foreach(page, i, doc)
		inv_apply(l->iv, l->kind, json_string_value(json_object_get(doc, "id")), doc);
	if (l->locked)
		pthread_mutex_unlock(&lock);
	json_decref(page);
	return 0;
}

/* Reads clusters, hosts, then VMs (so that VMs find their hosts) into iv. */
static int load(struct store *st, struct inv *iv, bool locked, struct errinfo *e)
{
	static const enum store_kind kinds[] = {STORE_CLUSTER, STORE_HOST, STORE_VM};
	for (int k = 0; k < 3; k++) {
		struct load l = {iv, kind_of(kinds[k]), locked};
		if (store_list_each_text(st, kinds[k], NULL, 0, load_page, &l, e) < 0)
			return -1;
	}
	return 0;
}

int inventory_start(struct store *st, struct errinfo *e)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&lock);
	index_ = inv_new();
	pthread_mutex_unlock(&lock);
	/* Observe first: a commit during the read is applied either way, and
	 * the older of two copies of a document is ignored by its version. */
	store_observe(1u << STORE_CLUSTER | 1u << STORE_HOST | 1u << STORE_VM, on_commit, NULL);
	if (load(st, index_, true, e) < 0) {
		inventory_stop();
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("inventory_index_built", "clusters=%d hosts=%d vms=%d ms=%.0f",
	         inv_count(index_, INV_CLUSTER), inv_count(index_, INV_HOST),
	         inv_count(index_, INV_VM),
	         (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;
}

void inventory_stop(void)
{
	store_observe(0, on_commit, NULL);
	pthread_mutex_lock(&lock);
	inv_free(index_);
	index_ = NULL;
	pthread_mutex_unlock(&lock);
}

enum inv_place_outcome inventory_place(const struct inv_request *q, struct inv_report_limits lim,
                                       json_t **report, char **host_id, char *err, size_t errlen)
{
	pthread_mutex_lock(&lock);
	enum inv_place_outcome out =
		index_ ? inv_place(index_, q, lim, report, host_id, err, errlen) : INV_NO_HOSTS;
	pthread_mutex_unlock(&lock);
	return out;
}

json_t *inventory_evacuate(const char *host_id, const struct inv_request *vms, int nvms, char *err, size_t errlen)
{
	pthread_mutex_lock(&lock);
	json_t *plan = NULL;
	if (index_)
		plan = inv_evacuate(index_, host_id, vms, nvms, err, errlen);
	else
		snprintf(err, errlen, "the inventory is not loaded");
	pthread_mutex_unlock(&lock);
	return plan;
}

json_t *inventory_ha_plan(const char *host_id, const struct inv_ha_request *vms, int nvms, char *err, size_t errlen)
{
	pthread_mutex_lock(&lock);
	json_t *plan = NULL;
	if (index_)
		plan = inv_ha_plan(index_, host_id, vms, nvms, err, errlen);
	else
		snprintf(err, errlen, "the inventory is not loaded");
	pthread_mutex_unlock(&lock);
	return plan;
}

json_t *inventory_compare(struct store *st, struct errinfo *e)
{
	struct inv *fresh = inv_new();
	if (load(st, fresh, false, e) < 0) {
		inv_free(fresh);
		return NULL;
	}
	json_t *rebuilt = inv_dump(fresh);
	inv_free(fresh);
	pthread_mutex_lock(&lock);
	json_t *live = index_ ? inv_dump(index_) : json_null();
	pthread_mutex_unlock(&lock);
	return json_pack("{s:b, s:o, s:o}", "equal", json_equal(live, rebuilt), "index", live, "store",
	                 rebuilt);
}

int inventory_connected_hosts(struct inv_beat **out, size_t *n)
{
	pthread_mutex_lock(&lock);
	int rc = index_ ? inv_connected_hosts(index_, out, n) : -1;
	pthread_mutex_unlock(&lock);
	return rc;
}

/* env_vdcd.c - the controllers' environment in vdcd (env_vdcd.h). */
#include "env_vdcd.h"

#include "controllers.h"
#include "inventory.h"
#include "last_exit.h"
#include "log.h"
#include "loop.h"
#include "task_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The liveness check runs this often; a host is disconnected within
 * heartbeat_timeout_s plus this. */
#define LIVENESS_INTERVAL_MS 2000

struct vdcd_ctx {
	struct ctl_env env;
	struct mgr *m;
	struct errinfo err;
	struct ctl_liveness liveness;
};

static struct vdcd_ctx the_ctx;

static int64_t env_now(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL);
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int vdcd_host_view(json_t *doc, struct vdcd_host *v)
{
	memset(v, 0, sizeof(*v));
	json_t *fl = json_object_get(doc, "foreign_vms");
	size_t n = json_array_size(fl);
	if (n && !(v->foreign = calloc(n, sizeof(*v->foreign))))
		return -1;
	size_t i;
	json_t *f;
	json_array_foreach(fl, i, f)
		v->foreign[i] = (struct foreign_vm){.name = str(f, "name") ?: "", .state = str(f, "state"),
		                                    .first_seen = str(f, "first_seen"),
		                                    .beats = json_integer_value(json_object_get(f, "beats"))};
	v->h = (struct ctl_host){.id = str(doc, "id") ?: "", .name = str(doc, "name") ?: "",
	                         .state = str(doc, "state"),
	                         .maintenance = json_is_true(json_object_get(doc, "maintenance")),
	                         .last_heartbeat = json_integer_value(json_object_get(doc, "last_heartbeat_epoch")),
	                         .foreign = v->foreign, .nforeign = n, .ref = doc};
	return 0;
}

void vdcd_host_view_free(struct vdcd_host *v)
{
	free(v->foreign);
	v->foreign = NULL;
}

/* A walk over pages of documents for a controller's callback: stopped
 * says the callback asked to stop (not an error). */
struct walk {
	int (*host_fn)(void *arg, const struct ctl_host *h);
	int (*vm_fn)(void *arg, const struct ctl_vm *vm);
	void *arg;
	bool stopped;
};

static int walk_hosts_page(void *ctx, json_t *page)
{
	struct walk *w = ctx;
	size_t i;
	json_t *doc;
	json_array_foreach(page, i, doc) {
		struct vdcd_host v;
		if (vdcd_host_view(doc, &v) < 0)
			continue;
		int stop = w->host_fn(w->arg, &v.h);
		vdcd_host_view_free(&v);
		if (stop < 0) {
			w->stopped = true;
			return -1;
		}
	}
	return 0;
}

/* Pages through the host documents of state connected: the way when the
 * inventory index is not there (it always is once vdcd serves). */
static int each_connected_host_stored(void *ctx, int (*fn)(void *arg, const struct ctl_host *h), void *arg)
{
	struct vdcd_ctx *c = ctx;
	struct store_filter f = {"state", "connected"};
	struct walk w = {.host_fn = fn, .arg = arg};
	struct errinfo e = {0};
	return store_list_each(c->m->st, STORE_HOST, &f, 1, walk_hosts_page, &w, &e) < 0 && !w.stopped ? -1 : 0;
}

/* The connected hosts as the inventory index has them: a walk in memory
 * where a read of every host document was (at 10,000 hosts, every two
 * seconds, on the API's thread). */
static int each_connected_host(void *ctx, int (*fn)(void *arg, const struct ctl_host *h), void *arg)
{
	struct inv_beat *b;
	size_t n;
	if (inventory_connected_hosts(&b, &n) < 0)
		return each_connected_host_stored(ctx, fn, arg);
	for (size_t i = 0; i < n; i++) {
		struct ctl_host h = {.id = b[i].id, .name = b[i].name, .state = "connected",
		                     .last_heartbeat = b[i].last_heartbeat};
		if (fn(arg, &h) < 0)
			break;
	}
	inv_beats_free(b, n);
	return 0;
}

static int walk_vms_page(void *ctx, json_t *page)
{
	struct walk *w = ctx;
	size_t i;
	json_t *doc;
	json_array_foreach(page, i, doc) {
		struct ctl_vm vm = {.id = str(doc, "id"),
		                    .view = {.name = vm_agent_name(doc), .power_state = str(doc, "power_state"),
		                             .desired_state = str(doc, "desired_state"),
		                             .state_seq = json_integer_value(json_object_get(doc, "state_seq")),
		                             .last_exit_at = json_string_value(
		                                 json_object_get(json_object_get(doc, "last_exit"), "at")),
		                             .migrating = json_is_object(json_object_get(doc, "migration"))},
		                    .ref = doc};
		if (w->vm_fn(w->arg, &vm) < 0) {
			w->stopped = true;
			return -1;
		}
	}
	return 0;
}

static int each_vm_on_host(void *ctx, const struct ctl_host *h, int (*fn)(void *arg, const struct ctl_vm *vm),
                           void *arg)
{
	struct vdcd_ctx *c = ctx;
	struct store_filter f = {"host_id", h->id};
	struct walk w = {.vm_fn = fn, .arg = arg};
	struct errinfo e = {0};
	return store_list_each(c->m->st, STORE_VM, &f, 1, walk_vms_page, &w, &e) < 0 && !w.stopped ? -1 : 0;
}

static int64_t version_of(const json_t *doc)
{
	return json_integer_value(json_object_get(doc, "version"));
}

static int host_disconnect(void *ctx, const struct ctl_host *h)
{
	struct vdcd_ctx *c = ctx;
	struct errinfo e = {0};
	json_t *doc = h->ref ? json_incref(h->ref) : store_get(c->m->st, STORE_HOST, h->id, &e);
	if (!doc)
		return -1;
	/* Read from the index: the document must still be the one it saw (a
	 * heartbeat since then moved last_heartbeat_epoch on). */
	if (!h->ref && (strcmp(str(doc, "state") ?: "", "connected") ||
	                json_integer_value(json_object_get(doc, "last_heartbeat_epoch")) != h->last_heartbeat)) {
		json_decref(doc);
		return -1;
	}
	json_t *upd = json_deep_copy(doc);
	json_object_set_new(upd, "state", json_string("disconnected"));
	int rc = store_update(c->m->st, STORE_HOST, upd, version_of(doc), NULL, &e);
	json_decref(upd);
	json_decref(doc);
	return rc < 0 ? -1 : 0;
}

static json_t *foreign_json(const struct foreign_vm *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s, s:s, s:I}", "name", v[i].name, "first_seen",
		                      v[i].first_seen ? v[i].first_seen : "", "beats", (json_int_t)v[i].beats);
		json_object_set_new(o, "state", v[i].state ? json_string(v[i].state) : json_null());
		json_array_append_new(a, o);
	}
	return a;
}

/* facts: a JSON object of the fields the heartbeat sets on the host. */
static int host_beat(void *ctx, const struct ctl_host *h, const struct ctl_host_write *w)
{
	struct vdcd_ctx *c = ctx;
	json_t *doc = h->ref;
	json_t *upd = json_deep_copy(doc);
	json_object_set_new(upd, "state", json_string(w->state));
	char at[32];
	mgr_iso_time(w->heartbeat_at, at);
	json_object_set_new(upd, "last_heartbeat", json_string(at));
	json_object_set_new(upd, "last_heartbeat_epoch", json_integer((json_int_t)w->heartbeat_at));
	if (w->facts)
		json_object_update(upd, (json_t *)w->facts);
	if (w->has_foreign) {
		json_object_set_new(upd, "foreign_vms", foreign_json(w->foreign, w->nforeign));
		json_object_set_new(upd, "foreign_vm_count", json_integer((json_int_t)w->foreign_confirmed));
	}
	c->err = (struct errinfo){0};
	int rc = store_update(c->m->st, STORE_HOST, upd, version_of(doc), NULL, &c->err);
	json_decref(upd);
	return rc < 0 ? -1 : 0;
}

static int vm_observe(void *ctx, const struct ctl_vm *vm, const struct reconcile_decision *d)
{
	struct vdcd_ctx *c = ctx;
	json_t *doc = vm->ref;
	json_t *upd = json_deep_copy(doc);
	json_object_set_new(upd, "power_state", json_string(d->power_state));
	if (d->state_seq)
		json_object_set_new(upd, "state_seq", json_integer((json_int_t)d->state_seq));
	if (d->in_sync >= 0)
		json_object_set_new(upd, "in_sync", json_boolean(d->in_sync));
	if (d->last_exit)
		json_object_set_new(upd, "last_exit", last_exit_doc(d->last_exit));
	struct errinfo e = {0};
	int rc = store_update(c->m->st, STORE_VM, upd, version_of(doc), NULL, &e);
	json_decref(upd);
	if (rc < 0)
		return -1;
	/* Each exit is new once (reconcile: newer than the one recorded). */
	if (d->last_exit && !strcmp(json_string_value(json_object_get(d->last_exit, "cause")) ?: "", "watchdog")) {
		pthread_mutex_lock(&c->m->lock);
		c->m->watchdog_fired++;
		pthread_mutex_unlock(&c->m->lock);
	}
	log_info("vm_observed", "vm=%s from=%s to=%s", vm->view.name, vm->view.power_state, d->power_state);
	return 0;
}

static void decision(void *ctx, enum ctl_level level, const char *controller, const char *subject,
                     const char *verdict, const char *reason)
{
	(void)ctx;
	enum log_level l = level == CTL_WARN ? LOG_WARN : level == CTL_INFO ? LOG_INFO : LOG_DEBUG;
	char q[256]; /* log_quote has one buffer */
	snprintf(q, sizeof(q), "%s", log_quote(subject));
	log_event(l, "decision", "controller=%s subject=%s verdict=%s reason=%s", controller, q, verdict,
	          log_quote(reason));
}

static void event(void *ctx, const char *actor, const char *action, const char *kind, const char *id,
                  const char *outcome, const char *detail)
{
	struct vdcd_ctx *c = ctx;
	mgr_event(c->m, actor, action, kind, id, outcome, detail);
}

/* A controller's callback is a loop_timer_fn already: no wrapper to free. */
static void timer(void *ctx, int64_t after_ms, void (*fn)(void *arg), void *arg)
{
	struct vdcd_ctx *c = ctx;
	if (!loop_timer_after(c->m->loop, after_ms < 0 ? 0 : (uint64_t)after_ms, fn, arg))
		log_error("controller_timer", "reason=%s", log_quote("out of memory: a controller stops"));
}

const struct ctl_env *vdcd_env(struct mgr *m)
{
	struct vdcd_ctx *c = &the_ctx;
	if (!c->m) {
		c->m = m;
		c->env = (struct ctl_env){.ctx = c, .heartbeat_timeout_s = m->cfg.heartbeat_timeout_s,
		                          .now = env_now, .each_connected_host = each_connected_host,
		                          .each_vm_on_host = each_vm_on_host, .host_disconnect = host_disconnect,
		                          .host_beat = host_beat, .vm_observe = vm_observe,
		                          .decision = decision, .event = event, .timer = timer};
	}
	return &c->env;
}

const struct errinfo *vdcd_env_error(const struct ctl_env *env)
{
	return &((struct vdcd_ctx *)env->ctx)->err;
}

void vdcd_controllers_start(struct mgr *m)
{
	ctl_liveness_start(&the_ctx.liveness, vdcd_env(m), LIVENESS_INTERVAL_MS);
}

/* ha.c - see ha.h. */
#include "ha.h"

#include "agent_async.h"
#include "ha_ctl.h"
#include "ha_detect.h"
#include "ha_monitor.h"
#include "host_power.h"
#include "loop_jobs.h"
#include "inv_map.h"
#include "isotime.h"
#include "log.h"
#include "loop.h"
#include "manager.h"
#include "migrations.h"
#include "place.h"
#include "inventory.h"
#include "ha_peers.h"
#include "ha_plan.h"
#include "resources.h"
#include "task_ops.h"
#include "url.h"
#include "vm_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>

#define TICK_MS 500
/* What agents are told: how often to say they are alive. */
#define PING_MS 1000
#define PING_OFF_MS 10000
/* A host's protected VMs, as its alive answer names them, are kept this
 * long (a report each second would list its VMs each time). A VM newly
 * protected is named that much later; HA restarts only what a host
 * confirmed, so nothing unsafe comes of it. */
#define PROTECTED_TTL_MS 2000
/* A host's copies of VMs HA moved away are looked for when its list of
 * defined VMs changes, when a VM of it was restarted elsewhere, and at
 * least this often. */
#define STALE_CHECK_MS 30000

struct ha_host {
	char id[40];
	int64_t last_word_ms;        /* monotonic; when vdcd first knew of it until it speaks */
	json_t *leases;              /* what it sees of its peers' leases */
	int64_t seq_at_word;         /* its lease's sequence number at its last word; -1: not known
	                              * (it never said, or vdcd restarted): the first one seen instead */
	enum ha_host_state state;
	int64_t since_ms;
	char reason[HA_REASON_MAX];
	bool cleaning;               /* a stale copy's delete is in flight */
	bool bmc_busy;               /* a power-off through its BMC is under way */
	int64_t next_bmc_ms;         /* when a failed power-off may be tried again */
	int64_t bmc_off_ms;          /* its BMC confirmed it off (monotonic); 0: never */
	json_t *said;                /* VM id -> the refusal said in an event since its last verdict */
	json_t *protected_cache;     /* its alive answer's "protected", until protected_until_ms */
	int64_t protected_until_ms;
	json_int_t protected_cluster_version; /* of the cluster it was made with */
	json_t *defined_checked;     /* its defined VMs when its stale copies were last looked for */
	bool stale_hint;             /* a VM of it was restarted elsewhere since */
	int64_t next_stale_check_ms;
};

struct ha {
	struct inv_map hosts;
	struct loop_timer *timer;
	struct ctl_env env;          /* the controller's view of vdcd (below) */
	struct ctl_ha ctl;
	const json_t *hosts_now;     /* while the controller judges a cluster: its hosts, */
	const json_t *cluster_now;   /* and it */
	json_t *plan;                /* the last restart plan (its hosts, for env_restart) */
	json_t *vms_now;             /* the VMs the controller was last given (their refs) */
	json_t *ready_said;          /* VM id -> its restart's task whose readiness wait timed out (said once) */
	struct ha_peers *peers;      /* isolation addresses per cluster (ha_peers.c) */
};

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static int64_t now_ms(void) { return (int64_t)loop_now_ms(); }

static struct ha_host *host_of(struct ha *ha, const char *id)
{
	struct ha_host *h = inv_map_get(&ha->hosts, id);
	if (h || strlen(id) >= sizeof(h->id))
		return h;
	if (!(h = calloc(1, sizeof(*h))))
		return NULL;
	snprintf(h->id, sizeof(h->id), "%s", id);
	/* Its silence counts from when vdcd first knew of it (its start, or
	 * the host's join), never from before. */
	h->last_word_ms = now_ms();
	h->seq_at_word = -1;
	h->state = HA_CONNECTED;
	h->stale_hint = true; /* vdcd (re)started: nothing known of its copies */
	if (inv_map_put(&ha->hosts, h->id, h) < 0) {
		free(h);
		return NULL;
	}
	return h;
}

static void ha_times_of(const json_t *cluster, struct ha_times *t)
{
	const json_t *p = json_object_get(cluster, "ha");
	t->net_timeout_ms = json_integer_value(json_object_get(p, "net_timeout_ms")) ?: HA_DEFAULT_NET_TIMEOUT_MS;
	t->lease_ms = json_integer_value(json_object_get(p, "lease_ms")) ?: HA_DEFAULT_LEASE_MS;
	t->margin_ms = json_object_get(p, "margin_ms") ? json_integer_value(json_object_get(p, "margin_ms"))
	                                                : HA_DEFAULT_MARGIN_MS;
}

/* The agent kills its protected VMs this long after its last renewal:
 * a third of the lease (at least a second) before it runs out. */
static int64_t fence_ms_of(int64_t lease_ms)
{
	int64_t slack = lease_ms / 3 > 1000 ? lease_ms / 3 : 1000;
	return lease_ms - slack;
}

static bool ha_enabled(const json_t *cluster)
{
	return json_is_true(json_object_get(json_object_get(cluster, "ha"), "enabled"));
}

const char *ha_vm_priority(const json_t *vm, const json_t *cluster)
{
	return str(json_object_get(vm, "ha"), "priority") ?: str(json_object_get(cluster, "ha"), "default_priority")
	                                                  ?: "medium";
}

/* What a VM's isolated host does with it: its own, else its cluster's,
 * else "leave" (running: vSphere's default too). */
static const char *vm_isolation_response(const json_t *vm, const json_t *cluster)
{
	return str(json_object_get(vm, "ha"), "isolation_response")
	           ?: str(json_object_get(cluster, "ha"), "isolation_response") ?: "leave";
}

/* ---- what agents say ---------------------------------------------------------- */

static void on_stale_deleted(struct mgr *m, void *ctx, struct agent_reply *r)
{
	char *id = ctx;
	struct ha_host *h = m->ha ? inv_map_get(&((struct ha *)m->ha)->hosts, id) : NULL;
	if (h)
		h->cleaning = false;
	if (r->status == 204 || r->status == 404)
		log_info("ha_stale_copy_removed", "host=%s", id);
	else
		log_warn("ha_stale_copy_not_removed", "host=%s status=%ld error=%s", id, r->status,
		         log_quote(r->status ? "the agent refused" : r->e.message));
	free(id);
}

/* The highest sequence number a host wrote on its leases (an alive
 * report's own "seq"s), -1 without one. */
static int64_t own_seq(const json_t *leases)
{
	int64_t best = -1;
	const char *ds;
	json_t *seen;
	json_object_foreach((json_t *)leases, ds, seen) {
		const json_t *seq = json_object_get(seen, "seq");
		if (json_is_integer(seq) && json_integer_value(seq) > best)
			best = json_integer_value(seq);
	}
	return best;
}

/* A returning host still has VM vm_name that HA moved away from it: its
 * copy goes, disks left (they are the VM's, on the shared datastore; a
 * running copy, which fencing should have made impossible, is killed). */
static bool remove_stale_copies(struct mgr *m, struct ha_host *h, const json_t *host, const json_t *defined)
{
	size_t i;
	json_t *n;
	json_array_foreach(defined, i, n) {
		if (h->cleaning || !json_is_string(n))
			return false; /* one delete at a time: the rest at a later report */
		json_t *vm = store_get(m->st, STORE_VM, json_string_value(n), &(struct errinfo){0});
		const json_t *last = json_object_get(vm, "ha_last");
		if (vm && strcmp(str(vm, "host_id") ?: "", h->id) && !strcmp(str(last, "from_host_id") ?: "", h->id)) {
			char path[256], detail[300];
			snprintf(path, sizeof(path), "/api/v1/vms/%s?force=true&leave_disks=true", json_string_value(n));
			snprintf(detail, sizeof(detail), "host %s came back with a copy of it; HA restarted it elsewhere, so that "
			         "copy is removed (its disks stay)", str(host, "name") ?: h->id);
			char *ctx = strdup(h->id);
			struct errinfo e = {0};
			if (ctx && agent_async_call(m, h->id, "DELETE", path, NULL, 60, NULL, on_stale_deleted, ctx, &e) == 0) {
				h->cleaning = true;
				mgr_event(m, "vdcd", "vm.ha_stale_copy", "vm", str(vm, "id"), "accepted", detail);
			} else {
				free(ctx);
			}
		}
		json_decref(vm);
	}
	return !h->cleaning;
}

/* The protected VMs of host h, as its alive answer names them (kept for
 * PROTECTED_TTL_MS, or until its cluster or one of its VMs' HA settings
 * changes): agent name -> {priority, isolation}. Borrowed. */
static const json_t *protected_of(struct mgr *m, struct ha_host *h, const json_t *cluster, int64_t now)
{
	json_int_t cv = json_integer_value(json_object_get(cluster, "version"));
	if (h->protected_cache && now < h->protected_until_ms && cv == h->protected_cluster_version)
		return h->protected_cache;
	h->protected_cluster_version = cv;
	json_t *prot = json_object();
	if (ha_enabled(cluster)) {
		struct store_filter f = {"host_id", h->id};
		json_t *vms = store_list_all(m->st, STORE_VM, &f, 1, &(struct errinfo){0});
		size_t i;
		json_t *vm;
		json_array_foreach(vms, i, vm) {
			const char *p = ha_vm_priority(vm, cluster);
			const char *name = str(json_object_get(vm, "config"), "agent_name") ?: str(vm, "name");
			if (strcmp(p, "disabled") && name)
				json_object_set_new(prot, name, json_pack("{s:s, s:s}", "priority", p, "isolation",
				                                          vm_isolation_response(vm, cluster)));
		}
		json_decref(vms);
	}
	json_decref(h->protected_cache);
	h->protected_cache = prot;
	h->protected_until_ms = now + PROTECTED_TTL_MS;
	return prot;
}

void ha_vm_settings_changed(struct mgr *m, const char *host_id)
{
	struct ha_host *h = m->ha && host_id ? inv_map_get(&((struct ha *)m->ha)->hosts, host_id) : NULL;
	if (h)
		h->protected_until_ms = 0;
}

json_t *ha_word(struct mgr *m, const json_t *host, const json_t *body, struct errinfo *e)
{
	struct ha *ha = m->ha;
	const json_t *leases = json_object_get(body, "leases"), *defined = json_object_get(body, "defined");
	static const char *const keys[] = {"leases", "vms", "fenced", "defined", "protected"};
	void *it = json_object_iter((json_t *)body);
	for (; it; it = json_object_iter_next((json_t *)body, it)) {
		const char *k = json_object_iter_key(it);
		bool known = false;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			known |= !strcmp(k, keys[i]);
		if (!known) {
			errinfo_set(e, 400, "invalid_body", k, "%s: not a field of an alive report", k);
			return NULL;
		}
	}
	const json_t *acked = json_object_get(body, "protected");
	if ((leases && !json_is_object(leases)) || (defined && !json_is_array(defined)) || (acked && !json_is_array(acked))) {
		errinfo_set(e, 400, "invalid_body", leases && !json_is_object(leases) ? "leases" : defined && !json_is_array(defined) ? "defined" : "protected",
		            "leases must be an object, defined and protected arrays");
		return NULL;
	}
	struct ha_host *h = ha ? host_of(ha, str(host, "id") ?: "") : NULL;
	if (!h) {
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	h->last_word_ms = now_ms();
	json_decref(h->leases);
	h->leases = leases ? json_deep_copy(leases) : NULL;
	h->seq_at_word = own_seq(leases);
	json_t *cluster = store_get(m->st, STORE_CLUSTER, str(host, "cluster_id") ?: "", &(struct errinfo){0});
	struct ha_times t;
	ha_times_of(cluster, &t);
	int64_t now = now_ms();
	json_t *prot = json_deep_copy(protected_of(m, h, cluster, now));
	/* Its isolation addresses: other hosts' agents. */
	json_t *peers = ha_peers_for(ha->peers, m->st, str(host, "cluster_id") ?: "", h->id, now);
	if (defined && (h->stale_hint || now >= h->next_stale_check_ms || !json_equal(defined, h->defined_checked)) &&
	    remove_stale_copies(m, h, host, defined)) {
		h->stale_hint = false;
		json_decref(h->defined_checked);
		h->defined_checked = json_deep_copy(defined);
		h->next_stale_check_ms = now + STALE_CHECK_MS;
	}
	/* What the host will fence, kept with it (a write only when it
	 * changes): HA restarts elsewhere only VMs its host agreed to fence,
	 * also after a restart of vdcd. */
	const json_t *had = json_object_get(host, "ha_protected");
	if (acked && !json_equal(acked, had) && (had || json_array_size(acked))) {
		json_t *doc = json_deep_copy(host);
		json_object_set(doc, "ha_protected", (json_t *)acked);
		store_update(m->st, STORE_HOST, doc, json_integer_value(json_object_get(host, "version")), NULL,
		             &(struct errinfo){0});
		json_decref(doc);
	}
	/* Without HA a host says it is alive rarely: nothing judges it. */
	bool on = ha_enabled(cluster);
	json_decref(cluster);
	return json_pack("{s:{s:b, s:o, s:o, s:I, s:I, s:I, s:i}}", "ha", "enabled", on, "protected", prot, "peers",
	                 peers, "lease_ms", (json_int_t)t.lease_ms, "fence_ms", (json_int_t)fence_ms_of(t.lease_ms),
	                 "net_timeout_ms", (json_int_t)t.net_timeout_ms, "ping_ms", on ? PING_MS : PING_OFF_MS);
}

/* ---- judging hosts ---------------------------------------------------------------- */

/* How the hosts of a cluster that answer see h's lease: how many of them
 * see it, and its freshest age (their report's age counted). */
static void lease_view(struct ha *ha, const json_t *hosts, const struct ha_host *h, int64_t now,
                       const struct ha_times *t, struct ha_host_view *v, const json_t **record, int64_t *seen_seq)
{
	const char *id = h->id;
	*record = NULL;
	*seen_seq = -1;
	v->observers = 0;
	v->lease_age_ms = 0;
	size_t i;
	json_t *other;
	json_array_foreach(hosts, i, other) {
		struct ha_host *o = inv_map_get(&ha->hosts, str(other, "id") ?: "");
		if (!o || !strcmp(o->id, id) || !o->leases || now - o->last_word_ms >= t->net_timeout_ms)
			continue;
		bool sees = false;
		int64_t best = INT64_MAX;
		const json_t *best_rec = NULL;
		const char *ds;
		json_t *seen;
		json_object_foreach(o->leases, ds, seen) {
			const json_t *p = json_object_get(json_object_get(seen, "peers"), id);
			if (!p)
				continue;
			int64_t age = json_integer_value(json_object_get(p, "unchanged_ms")) + (now - o->last_word_ms);
			int64_t seq = json_integer_value(json_object_get(p, "seq"));
			if (seq > *seen_seq)
				*seen_seq = seq;
			sees = true;
			if (age < best) {
				best = age;
				best_rec = p;
			}
		}
		if (!sees)
			continue;
		if (v->observers++ == 0 || best < v->lease_age_ms) {
			v->lease_age_ms = best;
			*record = best_rec;
		}
	}
}

/* Whether a host that answers sees h's lease on datastore ds: the VM's
 * disks there are reachable from elsewhere. */
static bool datastore_shared(struct ha *ha, const json_t *hosts, const char *id, const char *ds, int64_t now,
                             const struct ha_times *t)
{
	size_t i;
	json_t *other;
	json_array_foreach(hosts, i, other) {
		struct ha_host *o = inv_map_get(&ha->hosts, str(other, "id") ?: "");
		if (o && strcmp(o->id, id) && now - o->last_word_ms < t->net_timeout_ms &&
		    json_object_get(json_object_get(json_object_get(o->leases, ds), "peers"), id))
			return true;
	}
	return false;
}

/* Writes the verdict on the host's document (and, failed, marks it
 * disconnected: placement keeps off it). Tried twice: a heartbeat may
 * write the document in between. */
static void record_verdict(struct mgr *m, struct ha_host *h)
{
	char since[ISO_TIME_LEN];
	iso_time_now(since);
	for (int attempt = 0; attempt < 2; attempt++) {
		struct errinfo e = {0};
		json_t *doc = store_get(m->st, STORE_HOST, h->id, &e);
		if (!doc)
			return;
		json_int_t version = json_integer_value(json_object_get(doc, "version"));
		json_object_set_new(doc, "ha", json_pack("{s:s, s:s, s:s}", "state", ha_state_name(h->state), "since", since,
		                                         "reason", h->reason));
		if (h->state == HA_FAILED)
			json_object_set_new(doc, "state", json_string("disconnected"));
		int rc = store_update(m->st, STORE_HOST, doc, version, NULL, &e);
		json_decref(doc);
		if (rc == 0)
			return;
	}
}

/* Queues one restart: the task and the VM's move to its new host commit
 * together, so placement counts it there from now on. */
static int queue_restart(struct mgr *m, json_t *vm, const json_t *to, const char *reason, const json_t *monitor,
                         bool say, struct errinfo *e)
{
	/* A VM that runs but whose readiness probe stopped answering is
	 * powered off first (task_ha.c), then started. */
	bool cycle = !strcmp(str(vm, "power_state") ?: "", "running");
	const char *id = str(vm, "id");
	const char *summary = reason;
	char at[ISO_TIME_LEN];
	iso_time_now_ms(at); /* to the ms: a wave waits for readiness from it */
	if (store_begin(m->st, e) < 0)
		return -1;
	json_t *args = json_pack("{s:O, s:O, s:O, s:s}", "from_host_id", json_object_get(vm, "host_id"), "to_host_id",
	                         json_object_get(to, "id"), "to_host", json_object_get(to, "name"), "reason", reason);
	if (args && cycle)
		json_object_set_new(args, "power_cycle", json_true());
	json_t *task = task_new(m->st, "vm.ha_restart", "vm", id, str(vm, "name"), str(vm, "project_id"), "vdcd", args, e);
	json_t *upd = task ? json_deep_copy(vm) : NULL;
	int rc = -1;
	if (upd) {
		json_t *last = json_pack("{s:O, s:O, s:s, s:O, s:s}", "from_host_id", json_object_get(vm, "host_id"),
		                         "to_host_id", json_object_get(to, "id"), "at", at, "task_id",
		                         json_object_get(task, "id"), "reason", reason);
		json_object_set_new(upd, "host_id", json_string(str(to, "id")));
		json_object_set(upd, "cluster_id", json_object_get(to, "cluster_id"));
		json_object_set_new(upd, "power_state", json_string("restarting"));
		json_object_set(upd, "ha_restart", last);
		json_object_set_new(upd, "ha_last", last);
		json_object_del(upd, "readiness"); /* a new run: its host says anew (ops/ha_ready.c) */
		json_object_set_new(upd, "placement", json_pack("{s:O, s:s}", "host", json_object_get(to, "name"), "summary",
		                                               summary));
		if (monitor)
			json_object_set(upd, "ha_monitor", (json_t *)monitor);
		rc = store_update(m->st, STORE_VM, upd, json_integer_value(json_object_get(vm, "version")), NULL, e);
	}
	if (rc < 0 || store_commit(m->st, e) < 0) {
		store_rollback(m->st);
		json_decref(upd);
		json_decref(task);
		return -1;
	}
	json_decref(upd);
	json_decref(task);
	struct ha_host *from = host_of(m->ha, str(vm, "host_id") ?: "");
	if (from) /* when it answers, its copy of vm is stale */
		from->stale_hint = true;
	if (say) { /* else the controller says it (ctl/ha_ctl.c) */
		mgr_event(m, "vdcd", "vm.ha_restart", "vm", id, "accepted", reason);
		log_info("decision", "controller=ha subject=%s verdict=restart reason=%s", id, log_quote(reason));
	}
	return 0;
}

/* An event refusing vm's restart, once per verdict on its host and reason. */
static void refuse_once(struct mgr *m, struct ha_host *h, const char *vm_id, const char *why)
{
	if (!h->said)
		h->said = json_object();
	if (!vm_id || (h->said && !strcmp(json_string_value(json_object_get(h->said, vm_id)) ?: "", why)))
		return;
	json_object_set_new(h->said, vm_id, json_string(why));
	mgr_event(m, "vdcd", "vm.ha_restart", "vm", vm_id, "refused", why);
}

static bool listed_in(const json_t *names, const char *name)
{
	size_t i;
	json_t *n;
	json_array_foreach(names, i, n)
		if (name && json_is_string(n) && !strcmp(json_string_value(n), name))
			return true;
	return false;
}

/* Whether HA restarts vm (one of host h's) elsewhere now: protected, meant
 * to run, not moving already, confirmed by its host as one it fences (a
 * failed host) or stopped by its isolation response (an isolated one:
 * gone from still_running, its lease record), and with its disks on a
 * datastore another host shares. Says why not in an event when it
 * matters. */
static bool eligible(struct mgr *m, struct ha_host *h, const json_t *host, const json_t *cluster, const json_t *hosts,
                     const json_t *vm, const json_t *still_running, int64_t now, const struct ha_times *t)
{
	if (!strcmp(ha_vm_priority(vm, cluster), "disabled") || strcmp(str(vm, "desired_state") ?: "", "running") ||
	    json_object_get(vm, "migration") || json_object_get(vm, "ha_restart"))
		return false;
	/* Its disk was in use when HA tried it elsewhere (task_ha.c): it runs
	 * on there, unseen, until its host answers. */
	if (json_object_get(vm, "ha_hold"))
		return false;
	const char *name = str(json_object_get(vm, "config"), "agent_name") ?: str(vm, "name");
	if (!still_running && !listed_in(json_object_get(host, "ha_protected"), name)) {
		refuse_once(m, h, str(vm, "id"),
		            "not restarted: its host had not confirmed protecting it (it fences only what it confirmed) "
		            "before it went silent");
		return false;
	}
	if (still_running && (listed_in(still_running, name) || !strcmp(vm_isolation_response(vm, cluster), "leave")))
		return false;
	const char *ds = str(json_object_get(vm, "config"), "datastore") ?: "local";
	if (!datastore_shared(m->ha, hosts, h->id, ds, now, t)) {
		char why[400];
		snprintf(why, sizeof(why), "not restarted: its disks are on datastore %s, which no host that answers "
		         "shares with %s", ds, str(host, "name") ?: h->id);
		refuse_once(m, h, str(vm, "id"), why);
		return false;
	}
	return true;
}

/* ---- fencing through the BMC --------------------------------------------------- */

#define BMC_RETRY_MS 10000

struct bmc_fence {
	struct mgr *m;
	char host_id[40], name[64];
	struct host_power_driver d;
	struct host_power_result r;
	int rc;
};

static void fence_work(void *arg)
{
	struct bmc_fence *f = arg;
	f->rc = host_power_run(&f->d, HOST_POWER_OFF, &f->r);
}

static void fence_done(void *arg)
{
	struct bmc_fence *f = arg;
	host_power_driver_wipe(&f->d);
	struct ha_host *h = f->m->ha ? inv_map_get(&((struct ha *)f->m->ha)->hosts, f->host_id) : NULL;
	bool off = f->rc == 0 && f->r.state == HOST_POWER_IS_OFF;
	if (h) {
		h->bmc_busy = false;
		if (off)
			h->bmc_off_ms = now_ms();
	}
	struct errinfo e = {0};
	host_power_record(f->m->st, f->host_id, &f->r, &e);
	char detail[700];
	if (off)
		snprintf(detail, sizeof(detail), "fenced: powered off through its BMC (%lld ms)", (long long)f->r.elapsed_ms);
	else
		snprintf(detail, sizeof(detail), "not fenced: its BMC did not power it off: %s", f->r.message);
	mgr_event(f->m, "vdcd", "host.ha_bmc_fence", "host", f->host_id, off ? "succeeded" : "failed", detail);
	free(f);
}

/* Powers h off through its BMC, off the loop: a host HA cannot judge from
 * its leases (nobody shares a datastore with it), or whose lease ran out,
 * is fenced for sure once its BMC says it is off. */
static void fence_by_bmc(struct mgr *m, struct ha_host *h, const json_t *host, int64_t now)
{
	if (h->bmc_busy || now < h->next_bmc_ms || !json_is_object(json_object_get(host, "power")))
		return;
	struct bmc_fence *f = calloc(1, sizeof(*f));
	struct errinfo e = {0};
	if (!f)
		return;
	f->m = m;
	snprintf(f->host_id, sizeof(f->host_id), "%s", h->id);
	snprintf(f->name, sizeof(f->name), "%s", str(host, "name") ?: h->id);
	if (host_power_driver_load(m->st, host, &f->d, &e) < 0 || loop_jobs_start(m->jobs, fence_work, fence_done, f) < 0) {
		host_power_driver_wipe(&f->d);
		free(f);
		h->next_bmc_ms = now + BMC_RETRY_MS;
		return;
	}
	h->bmc_busy = true;
	h->next_bmc_ms = now + BMC_RETRY_MS;
	log_info("decision", "controller=ha subject=%s verdict=bmc_fence reason=%s", str(host, "name") ?: h->id,
	         log_quote("silent, and its lease cannot prove it stopped its VMs: powering it off through its BMC"));
}

/* Whether h is off: its BMC said so since its last word (a fence of ours,
 * or a power-off recorded on it, e.g. POST /hosts/{id}/power). */
static bool powered_off(const struct ha_host *h, const json_t *host, int64_t now)
{
	if (h->bmc_off_ms && h->bmc_off_ms >= h->last_word_ms)
		return true;
	const json_t *pw = json_object_get(host, "power");
	int64_t checked_ms;
	if (strcmp(str(pw, "state") ?: "", "off") || iso_time_parse_ms(str(pw, "checked_at"), &checked_ms))
		return false;
	int64_t silent_since_ms = (int64_t)time(NULL) * 1000 - (now - h->last_word_ms);
	return checked_ms + 1000 >= silent_since_ms; /* the record has whole seconds */
}

#define WAVE_POLL_MS 500

/* "2026-12-07T18:31:05.527Z" or "...:05Z" as epoch ms; 0 when not a time. */
static int64_t time_ms(const char *s)
{
	struct tm tm = {0};
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!end)
		return 0;
	int64_t ms = (int64_t)timegm(&tm) * 1000;
	if (*end == '.') {
		int scale = 100;
		for (end++; *end >= '0' && *end <= '9' && scale; end++, scale /= 10)
			ms += (*end - '0') * scale;
	}
	return ms;
}

/* The VM named name in project (NULL: none), or NULL. */
static json_t *vm_named(struct store *st, const char *name, const char *project)
{
	char *docs[1] = {NULL}, *projects[1] = {NULL};
	int n = store_find_name(st, STORE_VM, name, STORE_NAME_PROJECT, project, 1, docs, projects, &(struct errinfo){0});
	json_t *vm = n == 1 ? json_loads(docs[0], 0, NULL) : NULL;
	for (int i = 0; i < n; i++) {
		free(docs[i]);
		free(projects[i]);
	}
	return vm;
}

/* VM monitoring: protected VMs of the cluster whose QEMU crashed on a host
 * that is connected start again there, within the cluster's budget. */
static void monitor_vms(struct mgr *m, const json_t *cluster, const json_t *hosts)
{
	struct store_filter f[2] = {{"power_state", "crashed"}, {"cluster_id", str(cluster, "id")}};
	json_t *vms = store_list_all(m->st, STORE_VM, f, 2, &(struct errinfo){0});
	/* And those that run but whose readiness probe stopped answering
	 * (ops/ha_ready.c): restarted under the same budget. */
	f[0].value = "running";
	json_t *running = store_list_all(m->st, STORE_VM, f, 2, &(struct errinfo){0});
	size_t ri;
	json_t *rv;
	json_array_foreach(running, ri, rv)
		if (json_is_true(json_object_get(json_object_get(rv, "readiness"), "lost")) &&
		    json_is_object(json_object_get(json_object_get(rv, "config"), "ready_probe")) && json_is_array(vms))
			json_array_append(vms, rv);
	json_decref(running);
	const json_t *p = json_object_get(cluster, "ha");
	int max = json_object_get(p, "max_restarts") ? (int)json_integer_value(json_object_get(p, "max_restarts"))
	                                              : HA_DEFAULT_MAX_RESTARTS;
	int64_t window = json_integer_value(json_object_get(p, "restart_window_s")) ?: HA_DEFAULT_RESTART_WINDOW_S;
	size_t i;
	json_t *vm;
	json_array_foreach(vms, i, vm) {
		const json_t *host = NULL, *hv;
		size_t j;
		json_array_foreach(hosts, j, hv)
			if (!strcmp(str(hv, "id") ?: "", str(vm, "host_id") ?: ""))
				host = hv;
		struct ha_host *h = host ? inv_map_get(&((struct ha *)m->ha)->hosts, str(host, "id")) : NULL;
		const json_t *mon = json_object_get(vm, "ha_monitor");
		if (!host || !h || h->state != HA_CONNECTED || strcmp(str(host, "state") ?: "", "connected") ||
		    !strcmp(ha_vm_priority(vm, cluster), "disabled") || strcmp(str(vm, "desired_state") ?: "", "running") ||
		    json_object_get(vm, "migration") || json_object_get(vm, "ha_restart"))
			continue;
		int64_t times[128];
		int n = 0;
		size_t k;
		json_t *t;
		json_array_foreach(json_object_get(mon, "restarts"), k, t)
			if (n < 128)
				times[n++] = json_integer_value(t);
		int64_t now = (int64_t)time(NULL);
		struct ha_monitor_decision d;
		ha_monitor_decide(now, times, n, max, window, &d);
		if (!d.restart && json_is_true(json_object_get(mon, "gave_up")))
			continue; /* said once */
		/* The budget kept: this restart and those still in the window. */
		json_t *keep = json_array();
		for (int r = 0; r < n; r++)
			if (times[r] > now - window)
				json_array_append_new(keep, json_integer(times[r]));
		bool probe = !strcmp(str(vm, "power_state") ?: "", "running");
		const char *why = probe ? str(json_object_get(vm, "readiness"), "reason") ?: "no answer"
		                        : str(json_object_get(json_object_get(vm, "runtime"), "last_exit"), "reason")
		                              ?: str(json_object_get(vm, "last_exit"), "reason") ?: "QEMU ended unexpectedly";
		const char *what = probe ? "its readiness probe stopped answering" : "its QEMU crashed";
		if (probe && !d.restart && !strncmp(d.reason, "left stopped", 12)) { /* it runs: left running */
			char r[sizeof(d.reason)];
			char *tail = strstr(d.reason, "; start it");
			if (tail)
				*tail = '\0';
			snprintf(r, sizeof(r), "left running, not ready%s; restart it once its cause is found", d.reason + 12);
			snprintf(d.reason, sizeof(d.reason), "%s", r);
		}
		char reason[600];
		struct errinfo e = {0};
		if (d.restart) {
			json_array_append_new(keep, json_integer(now));
			json_t *newmon = json_pack("{s:o}", "restarts", keep);
			snprintf(reason, sizeof(reason), "%s on %s (%s); restarted there (%s)", what, str(host, "name"), why,
			         d.reason);
			if (queue_restart(m, vm, host, reason, newmon, true, &e) == 0)
				tasks_wake(m);
			json_decref(newmon);
		} else {
			snprintf(reason, sizeof(reason), "%s on %s (%s); %s", what, str(host, "name"), why, d.reason);
			json_t *upd = json_deep_copy(vm);
			json_object_set_new(upd, "ha_monitor", json_pack("{s:o, s:b}", "restarts", keep, "gave_up", 1));
			if (store_update(m->st, STORE_VM, upd, json_integer_value(json_object_get(vm, "version")), NULL, &e) == 0)
				mgr_event(m, "vdcd", "vm.ha_monitor", "vm", str(vm, "id"), "refused", reason);
			json_decref(upd);
		}
	}
	json_decref(vms);
}

/* ---- the HA controller's env (ctl/ha_ctl.c judges and restarts) ------------------ */

/* What a ctl_ha_host points at while the controller looks at it. */
struct host_ref {
	struct ha_host *h;
	const json_t *host;
};

static int64_t env_now_ms(void *ctx)
{
	(void)ctx;
	return now_ms();
}

static void env_decision(void *ctx, enum ctl_level level, const char *controller, const char *subject,
                         const char *verdict, const char *reason)
{
	(void)ctx;
	enum log_level l = level == CTL_WARN ? LOG_WARN : level == CTL_INFO ? LOG_INFO : LOG_DEBUG;
	log_event(l, "decision", "controller=%s subject=%s verdict=%s reason=%s", controller, subject, verdict,
	          log_quote(reason));
}

static void env_event(void *ctx, const char *actor, const char *action, const char *kind, const char *id,
                      const char *outcome, const char *detail)
{
	mgr_event(ctx, actor, action, kind, id, outcome, detail);
}

static void env_timer(void *ctx, int64_t after_ms, void (*fn)(void *arg), void *arg)
{
	(void)ctx;
	(void)after_ms;
	(void)fn;
	(void)arg; /* vdcd ticks the controller from its own timer (tick) */
}

static int env_each_cluster(void *ctx, int (*fn)(void *arg, const struct ctl_ha_cluster *c), void *arg)
{
	struct mgr *m = ctx;
	json_t *clusters = store_list_all(m->st, STORE_CLUSTER, NULL, 0, &(struct errinfo){0});
	size_t i;
	json_t *c;
	json_array_foreach(clusters, i, c) {
		if (!ha_enabled(c))
			continue;
		struct ctl_ha_cluster v = {.id = str(c, "id") ?: "", .ref = c};
		ha_times_of(c, &v.t);
		if (fn(arg, &v) < 0)
			break;
	}
	json_decref(clusters);
	return 0;
}

/* Each host of the cluster, judged by the controller; then what only
 * vdcd does: power off through its BMC a host HA cannot judge or that is
 * fencing; and, once all are judged, the cluster's VM monitoring. */
static int env_each_host(void *ctx, const struct ctl_ha_cluster *c, int (*fn)(void *arg, const struct ctl_ha_host *h),
                         void *arg)
{
	struct mgr *m = ctx;
	struct ha *ha = m->ha;
	const json_t *cluster = c->ref;
	struct store_filter f = {"cluster_id", c->id};
	json_t *hosts = store_list_all(m->st, STORE_HOST, &f, 1, &(struct errinfo){0});
	int64_t now = now_ms();
	ha->hosts_now = hosts;
	ha->cluster_now = cluster;
	size_t j;
	json_t *host;
	json_array_foreach(hosts, j, host) {
		struct ha_host *h = host_of(ha, str(host, "id") ?: "");
		if (!h)
			continue;
		struct host_ref ref = {h, host};
		struct ctl_ha_host v = {.id = h->id, .name = str(host, "name") ?: h->id, .last_word_ms = h->last_word_ms,
		                        .seq_at_word = h->seq_at_word, .ref = &ref};
		v.powered_off = now - h->last_word_ms >= c->t.net_timeout_ms && powered_off(h, host, now);
		fn(arg, &v);
		if (h->state == HA_UNKNOWN || h->state == HA_FENCING)
			fence_by_bmc(m, h, host, now);
	}
	monitor_vms(m, cluster, hosts);
	ha->hosts_now = NULL;
	ha->cluster_now = NULL;
	json_decref(hosts);
	return 0;
}

static int env_each_lease_seen(void *ctx, const struct ctl_ha_cluster *c, const struct ctl_ha_host *hv,
                               int (*fn)(void *arg, const struct ctl_ha_lease_seen *l), void *arg)
{
	struct mgr *m = ctx;
	struct ha *ha = m->ha;
	(void)c;
	size_t i;
	json_t *other;
	json_array_foreach(ha->hosts_now, i, other) {
		struct ha_host *o = inv_map_get(&ha->hosts, str(other, "id") ?: "");
		if (!o || !strcmp(o->id, hv->id) || !o->leases)
			continue;
		const char *ds;
		json_t *seen;
		json_object_foreach(o->leases, ds, seen) {
			const json_t *p = json_object_get(json_object_get(seen, "peers"), hv->id);
			if (!p)
				continue;
			struct ctl_ha_lease_seen l = {.peer = o->id, .peer_word_ms = o->last_word_ms,
			                              .unchanged_ms = json_integer_value(json_object_get(p, "unchanged_ms")),
			                              .seq = json_integer_value(json_object_get(p, "seq")),
			                              .agent_down = !strcmp(str(p, "state") ?: "", "agent-down")};
			if (fn(arg, &l) < 0)
				return -1;
		}
	}
	return 0;
}

static enum ha_priority priority_of(const char *p)
{
	return !strcmp(p, "high") ? HA_PRIO_HIGH : !strcmp(p, "medium") ? HA_PRIO_MEDIUM
	       : !strcmp(p, "low") ? HA_PRIO_LOW : HA_PRIO_DISABLED;
}

/* A failed host's VMs: those eligible() refuses it has said why of. */
static int env_each_vm(void *ctx, const struct ctl_ha_host *hv, int (*fn)(void *arg, const struct ctl_ha_vm *vm),
                       void *arg)
{
	struct mgr *m = ctx;
	struct ha *ha = m->ha;
	const struct host_ref *ref = hv->ref;
	struct store_filter f = {"host_id", ref->h->id};
	/* Kept until the next call: the controller plans with their refs. */
	json_decref(ha->vms_now);
	json_t *vms = ha->vms_now = store_list_all(m->st, STORE_VM, &f, 1, &(struct errinfo){0});
	struct ha_times t;
	ha_times_of(ha->cluster_now, &t);
	int64_t now = now_ms();
	/* An isolated host: only what its isolation response stopped (gone
	 * from the lease record it writes as isolated). One whose record says
	 * otherwise (agent-down: its lease keeper writes it) restarts nothing. */
	const json_t *still_running = NULL;
	bool none = false;
	if (hv->judged == HA_ISOLATED) {
		struct ha_host_view view = {0};
		const json_t *record = NULL;
		int64_t seen_seq;
		lease_view(ha, ha->hosts_now, ref->h, now, &t, &view, &record, &seen_seq);
		still_running = record && !strcmp(str(record, "state") ?: "", "isolated") ? json_object_get(record, "vms")
		                                                                           : NULL;
		none = !json_is_array(still_running);
	}
	size_t i;
	json_t *vm;
	json_array_foreach(vms, i, vm) {
		const char *after[VM_NAMES_MAX];
		int nafter = 0;
		size_t a;
		json_t *an;
		json_array_foreach(json_object_get(json_object_get(vm, "ha"), "restart_after"), a, an)
			if (nafter < VM_NAMES_MAX && json_is_string(an))
				after[nafter++] = json_string_value(an);
		const json_t *config = json_object_get(vm, "config");
		bool ok = !none && eligible(m, ref->h, ref->host, ha->cluster_now, ha->hosts_now, vm, still_running, now, &t);
		struct ctl_ha_vm v = {.id = str(vm, "id") ?: "", .name = str(vm, "name") ?: "",
		                      .priority = priority_of(ha_vm_priority(vm, ha->cluster_now)),
		                      .vcpus = (int)json_integer_value(json_object_get(config, "vcpus")),
		                      .memory_mib = json_integer_value(json_object_get(config, "memory_mib")),
		                      .after = after, .nafter = nafter, .not_eligible = ok ? NULL : "", .ref = vm};
		if (fn(arg, &v) < 0)
			break;
	}
	return 0;
}

/* It waits while a VM it starts after is being restarted (moved off its
 * host, not running yet). */
static bool env_vm_restarting(void *ctx, const struct ctl_ha_vm *vm, const char *name)
{
	struct mgr *m = ctx;
	const json_t *doc = vm->ref;
	json_t *dep = vm_named(m->st, name, str(doc, "project_id"));
	if (!dep || !strcmp(str(dep, "host_id") ?: "", str(doc, "host_id") ?: "")) {
		json_decref(dep);
		return false;
	}
	/* "Start B after A is ready": while A restarts, and then while its
	 * readiness probe has not answered since, within ready_timeout_s of
	 * its restart (decide/ha_monitor.c). */
	const json_t *last = json_object_get(dep, "ha_last");
	int64_t restarted_ms = time_ms(str(last, "at"));
	const json_t *rd = json_object_get(dep, "readiness");
	int ready = !rd || time_ms(str(rd, "at")) < restarted_ms || json_is_null(json_object_get(rd, "ready"))
	                ? -1 : json_is_true(json_object_get(rd, "ready"));
	int64_t timeout_s = json_integer_value(json_object_get(json_object_get(((struct ha *)m->ha)->cluster_now, "ha"),
	                                                       "ready_timeout_s")) ?: HA_DEFAULT_READY_TIMEOUT_S;
	char why[300];
	enum ha_ready_wait w = ha_ready_wait(
	        str(dep, "name") ?: name,
	        json_object_get(dep, "ha_restart") || !strcmp(str(dep, "power_state") ?: "", "restarting"),
	        json_is_object(json_object_get(json_object_get(dep, "config"), "ready_probe")), ready, restarted_ms,
	        (int64_t)time(NULL) * 1000, timeout_s * 1000, why, sizeof(why));
	struct ha *ha = m->ha;
	const char *task = str(last, "task_id") ?: "";
	if (w == HA_READY_TIMED_OUT && ha && strcmp(str(ha->ready_said, str(dep, "id")) ?: "", task)) {
		if (!ha->ready_said)
			ha->ready_said = json_object();
		json_object_set_new(ha->ready_said, str(dep, "id"), json_string(task));
		char detail[400];
		snprintf(detail, sizeof(detail), "%s (the VMs that start after it start now)", why);
		mgr_event(m, "vdcd", "vm.ha_wave", "vm", str(dep, "id"), "failed", detail);
		log_warn("ha_ready_timeout", "vm=%s reason=%s", str(dep, "id"), log_quote(why));
	}
	json_decref(dep);
	return w == HA_READY_WAIT;
}

/* decide/ha_plan over the index (inv_ha.c: its rules, datastores and
 * networks); the hosts it names are kept for env_host_name and
 * env_restart until the next plan. */
static int env_plan(void *ctx, const struct ctl_ha_host *hv, const struct ctl_ha_vm *vms, const int *const *after,
                    const int *nafter, int n, struct ha_restart *restarts, struct ha_skip *skipped,
                    struct ha_plan *out)
{
	struct mgr *m = ctx;
	struct ha *ha = m->ha;
	struct inv_ha_request *req = calloc((size_t)n + 1, sizeof(*req));
	struct vm_names *names = calloc((size_t)n + 1, sizeof(*names));
	int rc = -1;
	json_decref(ha->plan);
	ha->plan = NULL;
	if (!req || !names) {
		snprintf(out->reason, sizeof(out->reason), "out of memory");
		goto done;
	}
	for (int k = 0; k < n; k++)
		req[k] = (struct inv_ha_request){.q = vm_placement_request(vms[k].ref, &names[k]),
		                                 .priority = vms[k].priority, .after = after[k], .nafter = nafter[k]};
	ha->plan = inventory_ha_plan(hv->id, req, n, out->reason, sizeof(out->reason));
	if (!ha->plan) {
		log_warn("ha_plan_failed", "host=%s error=%s", hv->id, log_quote(out->reason));
		goto done;
	}
	*out = (struct ha_plan){.nwaves = (int)json_integer_value(json_object_get(ha->plan, "waves"))};
	snprintf(out->reason, sizeof(out->reason), "%s", str(ha->plan, "reason") ?: "");
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(ha->plan, "restarts"), i, r) {
		restarts[out->nrestarts] = (struct ha_restart){.vm = (int)json_integer_value(json_object_get(r, "i")),
		                                               .host = (int)i,
		                                               .wave = (int)json_integer_value(json_object_get(r, "wave"))};
		snprintf(restarts[out->nrestarts].reason, sizeof(restarts[0].reason), "%s", str(r, "reason") ?: "");
		out->nrestarts++;
	}
	json_array_foreach(json_object_get(ha->plan, "skipped"), i, r) {
		const char *why = str(r, "why") ?: "";
		skipped[out->nskipped] = (struct ha_skip){.vm = (int)json_integer_value(json_object_get(r, "i")),
		                                          .why = !strcmp(why, "no_host") ? HA_SKIP_NO_HOST
		                                                 : !strcmp(why, "cycle") ? HA_SKIP_CYCLE : HA_SKIP_DISABLED};
		snprintf(skipped[out->nskipped].reason, sizeof(skipped[0].reason), "%s", str(r, "reason") ?: "");
		out->nskipped++;
	}
	rc = 0;
done:
	free(names);
	free(req);
	return rc;
}

static const char *env_host_name(void *ctx, int to)
{
	struct mgr *m = ctx;
	struct ha *ha = m->ha;
	return str(json_array_get(json_object_get(ha->plan, "restarts"), (size_t)to), "to") ?: "?";
}

/* Queues the restart (the task and the VM's move commit together, so
 * placement counts it there from now on). */
static int env_restart(void *ctx, const struct ctl_ha_vm *vm, int to, const char *reason)
{
	struct mgr *m = ctx;
	struct ha *ha = m->ha;
	const char *to_id = str(json_array_get(json_object_get(ha->plan, "restarts"), (size_t)to), "to_id") ?: "";
	json_t *host = store_get(m->st, STORE_HOST, to_id, &(struct errinfo){0});
	struct errinfo e = {0};
	int rc = host ? queue_restart(m, vm->ref, host, reason, NULL, false, &e) : -1;
	if (rc < 0)
		log_warn("ha_restart_not_queued", "vm=%s error=%s", vm->id, log_quote(e.message));
	else
		tasks_wake(m);
	json_decref(host);
	return rc;
}

/* The host answers again: what HA held on it (its disk was in use when
 * tried elsewhere) is the host's to report now, and HA's again. */
static void release_holds(struct mgr *m, const char *host_id)
{
	struct store_filter f = {"host_id", host_id};
	json_t *vms = store_list_all(m->st, STORE_VM, &f, 1, &(struct errinfo){0});
	size_t i;
	json_t *vm;
	json_array_foreach(vms, i, vm) {
		if (!json_object_get(vm, "ha_hold"))
			continue;
		struct errinfo e = {0};
		if (task_vm_patch(m->st, str(vm, "id"), json_pack("{s:n}", "ha_hold"), &e) < 0) {
			log_warn("ha_hold_release_failed", "vm=%s error=%s", str(vm, "id") ?: "?", log_quote(e.message));
			continue;
		}
		mgr_event(m, "vdcd", "vm.ha_hold", "vm", str(vm, "id"), "succeeded",
		          "released: its host answers again and reports it");
	}
	json_decref(vms);
}

static void env_verdict(void *ctx, const struct ctl_ha_host *hv, enum ha_host_state s, const char *reason)
{
	struct mgr *m = ctx;
	const struct host_ref *ref = hv->ref;
	/* A new verdict: refusals are said again. */
	json_decref(ref->h->said);
	ref->h->said = NULL;
	ref->h->state = s;
	ref->h->since_ms = now_ms();
	snprintf(ref->h->reason, sizeof(ref->h->reason), "%s", reason);
	record_verdict(m, ref->h);
	if (s == HA_CONNECTED)
		release_holds(m, ref->h->id);
}

static void tick(void *arg)
{
	struct mgr *m = arg;
	struct ha *ha = m->ha;
	ha->timer = loop_timer_after(m->loop, TICK_MS, tick, m);
	ctl_ha_tick(&ha->ctl);
}

json_t *ha_host_status(struct mgr *m, const char *host_id)
{
	struct ha *ha = m->ha;
	struct ha_host *h = ha ? inv_map_get(&ha->hosts, host_id) : NULL;
	if (!h)
		return NULL;
	return json_pack("{s:s, s:s, s:I}", "state", ha_state_name(h->state), "reason", h->reason, "silent_ms",
	                 (json_int_t)(now_ms() - h->last_word_ms));
}

int ha_init(struct mgr *m)
{
	struct ha *ha = calloc(1, sizeof(*ha));
	if (!ha)
		return -1;
	m->ha = ha;
	ha->env = (struct ctl_env){.ctx = m, .decision = env_decision, .event = env_event, .timer = env_timer,
	                           .now_ms = env_now_ms, .each_ha_cluster = env_each_cluster,
	                           .each_ha_host = env_each_host, .each_lease_seen = env_each_lease_seen,
	                           .each_ha_vm = env_each_vm, .ha_vm_restarting = env_vm_restarting,
	                           .ha_plan = env_plan, .ha_host_name = env_host_name, .ha_restart = env_restart,
	                           .ha_verdict = env_verdict};
	ha->ctl.env = &ha->env; /* ticked by tick, not by env timers */
	if (!(ha->peers = ha_peers_new()) || !(ha->timer = loop_timer_after(m->loop, TICK_MS, tick, m))) {
		ha_peers_free(ha->peers);
		free(ha);
		m->ha = NULL;
		return -1;
	}
	return 0;
}

static void free_host(void *val, void *ctx)
{
	(void)ctx;
	struct ha_host *h = val;
	json_decref(h->leases);
	json_decref(h->said);
	json_decref(h->protected_cache);
	json_decref(h->defined_checked);
	free(h);
}

void ha_free(struct mgr *m)
{
	struct ha *ha = m->ha;
	if (!ha)
		return;
	if (ha->timer)
		loop_timer_cancel(m->loop, ha->timer);
	inv_map_each(&ha->hosts, free_host, NULL);
	json_decref(ha->ready_said);
	inv_map_free(&ha->hosts);
	ha_peers_free(ha->peers);
	ctl_ha_free(&ha->ctl);
	json_decref(ha->plan);
	json_decref(ha->vms_now);
	free(ha);
	m->ha = NULL;
}

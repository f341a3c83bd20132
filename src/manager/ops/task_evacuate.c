/* task_evacuate.c - host.evacuate: a host entering maintenance is emptied
 * by live migration (evacuation.h). Each VM moves as a vm.migrate task of
 * its own (every crash point of a migration is recovered there), started
 * by this one up to the cluster's limit of migrations per host, first to
 * the plan's host, then, after a failure, to placement's best host it has
 * not failed on, until its attempts are spent; then, when the cluster's
 * policy allows it (migration.cold_fallback), once cold: shut down, moved,
 * started again.
 *
 * The task keeps no state of its own: each round reads the host's VMs and
 * the migrations it started (vm.migrate tasks whose args name it as
 * parent), so a vdcd that crashed runs it again from where the store says
 * it is. It ends when every VM that moves live has moved (succeeded), or
 * when what is left cannot move (failed: evacuation_incomplete, naming each
 * VM and why), or on a cancel or an exit from maintenance once the
 * migrations under way have ended. */
#include "evacuation.h"

#include "crashpoint.h"
#include "log.h"
#include "migrations.h"
#include "place.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ROUND_US 300000 /* between two looks at the host's VMs */
#define ATTEMPTS_DEFAULT 3

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* What became of one VM's moves so far (the vm.migrate tasks of this
 * evacuation for it). */
struct vm_moves {
	bool in_flight;       /* one is queued or running */
	int failed;           /* ended failed or cancelled */
	int cold;             /* cold migrations tried (the fallback) */
	json_t *tried;        /* hosts (ids) it failed to move to */
	char last_error[400]; /* the last failure's message */
	const char *to;       /* the host of the one in flight (borrowed from tasks) */
};

/* Reads the vm.migrate tasks of this evacuation for vm_id into mv; the
 * tasks are kept in *keep (mv's strings point into them). */
static void read_moves(struct store *st, const char *my_id, const char *vm_id, struct vm_moves *mv, json_t **keep)
{
	memset(mv, 0, sizeof(*mv));
	mv->tried = json_array();
	struct store_filter f[] = {{"op", "vm.migrate"}, {"target_id", vm_id}};
	*keep = store_list_all(st, STORE_TASK, f, 2, &(struct errinfo){0});
	size_t i;
	json_t *t;
	json_array_foreach(*keep, i, t) {
		const json_t *args = json_object_get(t, "args");
		if (strcmp(str(args, "parent_id") ?: "", my_id))
			continue;
		const char *state = str(t, "state") ?: "";
		if (!strcmp(state, "queued") || !strcmp(state, "running")) {
			mv->in_flight = true;
			mv->to = str(args, "to_host");
		} else if (!strcmp(state, "failed") || !strcmp(state, "cancelled")) {
			mv->failed++;
			mv->cold += json_is_true(json_object_get(args, "cold"));
			json_array_append(mv->tried, json_object_get(args, "to_host_id"));
			snprintf(mv->last_error, sizeof(mv->last_error), "%s",
			         str(json_object_get(t, "error"), "message") ?: state);
		}
	}
}

static bool tried(const struct vm_moves *mv, const char *host_id)
{
	size_t i;
	json_t *h;
	json_array_foreach(mv->tried, i, h)
		if (!strcmp(json_string_value(h) ?: "", host_id ?: ""))
			return true;
	return false;
}

/* The plan's host for vm_id, or NULL. */
static const char *planned_host(const json_t *plan, const char *vm_id)
{
	size_t i;
	json_t *mv;
	json_array_foreach(json_object_get(plan, "moves"), i, mv)
		if (!strcmp(str(mv, "vm_id") ?: "", vm_id))
			return str(mv, "to_id");
	return NULL;
}

/* Where the VM goes next: the plan's host on a first attempt when it still
 * passes every filter, else placement's best among the hosts it has not
 * failed on. 0 with *host (document) and *summary, or -1 with why (no host
 * takes it). */
static int destination(struct store *st, const json_t *vm, const char *planned, const struct vm_moves *mv,
                       json_t **host, char *summary, size_t n, char *why, size_t whylen)
{
	*host = NULL;
	json_t *report = NULL;
	struct errinfo e = {0};
	if (planned && !mv->failed) {
		json_t *q = migration_placement_request(vm, planned);
		int rc = place_vm(st, q, host, &report, &e);
		json_decref(q);
		if (rc == 0) {
			snprintf(summary, n, "%s", str(report, "summary") ?: "");
			json_decref(report);
			return 0;
		}
		json_decref(report);
		report = NULL;
	}
	/* Placement's best first, then the other eligible hosts it ranked. */
	json_t *q = migration_placement_request(vm, NULL);
	int rc = place_vm(st, q, host, &report, &e);
	if (rc == 0 && tried(mv, str(*host, "id"))) {
		json_decref(*host);
		*host = NULL;
		rc = -1;
		size_t i;
		json_t *h;
		json_array_foreach(json_object_get(report, "hosts"), i, h) {
			if (!json_is_true(json_object_get(h, "eligible")))
				continue;
			json_t *doc = store_get(st, STORE_HOST, str(h, "host") ?: "", &(struct errinfo){0});
			if (doc && !tried(mv, str(doc, "id"))) {
				*host = doc;
				rc = 0;
				break;
			}
			json_decref(doc);
		}
		if (rc < 0)
			snprintf(why, whylen, "it failed on every host that could take it (last: %s)", mv->last_error);
	} else if (rc < 0) {
		snprintf(why, whylen, "%s", e.message);
	}
	if (rc == 0)
		snprintf(summary, n, "%s", str(report, "summary") ?: "");
	json_decref(report);
	json_decref(q);
	return rc;
}

/* One look at the host: starts what may start; fills live. Returns
 * whether anything is still under way or may start. */
struct round {
	int moved_total; /* the plan's VMs no longer on the host */
	int in_flight, waiting;
	json_t *moving, *left, *stays;
};

static bool look(struct task_ctx *t, const json_t *host, const json_t *plan, int attempts, bool launch,
                 bool cold_ok, struct round *r)
{
	const char *my_id = str(t->doc, "id"), *host_id = str(host, "id");
	struct store_filter f = {"host_id", host_id};
	json_t *vms = store_list_all(t->st, STORE_VM, &f, 1, &(struct errinfo){0});
	if (!vms)
		return true; /* the store failed this once: look again */
	int limit = migration_limit_per_host(t->st, str(host, "cluster_id"));
	int busy = migrations_on_host(t->st, host_id);
	size_t i;
	json_t *vm;
	json_array_foreach(vms, i, vm) {
		const char *ps = str(vm, "power_state") ?: "unknown", *name = str(vm, "name") ?: "?";
		if (!evacuation_moves_live(ps)) {
			char why[160];
			snprintf(why, sizeof(why), "%s: only a running VM moves live", ps);
			json_array_append_new(r->stays, json_pack("{s:s, s:s}", "vm", name, "why", why));
			continue;
		}
		json_t *keep = NULL;
		struct vm_moves mv;
		read_moves(t->st, my_id, str(vm, "id") ?: "", &mv, &keep);
		if (mv.in_flight || migration_under_way(t->st, vm)) {
			r->in_flight++;
			json_array_append_new(r->moving, json_pack("{s:s, s:s?}", "vm", name, "to", mv.to));
		} else if (mv.failed >= attempts && !(cold_ok && !mv.cold)) {
			char why[600];
			snprintf(why, sizeof(why), "%d attempt%s failed; the last: %s", mv.failed, mv.failed == 1 ? "" : "s",
			         mv.last_error);
			json_array_append_new(r->left, json_pack("{s:s, s:s}", "vm", name, "why", why));
		} else if (!launch || busy >= limit) {
			r->waiting++;
		} else {
			json_t *to = NULL;
			char summary[1024], why[600] = "";
			/* Live attempts spent, or no host left to try live, and the
			 * policy allows it: cold, to placement's best (a host live
			 * failed on may take it cold). */
			bool cold = mv.failed >= attempts;
			struct vm_moves fresh = {0}; /* no host excluded */
			int drc = -1;
			if (!cold)
				drc = destination(t->st, vm, planned_host(plan, str(vm, "id") ?: ""), &mv, &to, summary,
				                  sizeof(summary), why, sizeof(why));
			if (drc < 0 && (cold || (cold_ok && !mv.cold))) {
				cold = true;
				drc = destination(t->st, vm, NULL, &fresh, &to, summary, sizeof(summary), why, sizeof(why));
			}
			if (drc < 0) {
				json_array_append_new(r->left, json_pack("{s:s, s:s}", "vm", name, "why", why));
			} else if (migrations_on_host(t->st, str(to, "id") ?: "") >= limit ||
			           migrations_in_cluster(t->st, str(to, "cluster_id")) >=
			               migration_limit_per_cluster(t->st, str(to, "cluster_id"))) {
				r->waiting++; /* its destination or the cluster is busy: next round */
			} else {
				struct errinfo e = {0};
				json_t *task = migration_enqueue(t->st, vm, to, summary, str(t->doc, "actor") ?: "vdcd", my_id,
				                                 cold, &e);
				if (task) {
					busy++;
					r->in_flight++;
					json_array_append_new(r->moving, json_pack("{s:s, s:s?}", "vm", name, "to", str(to, "name")));
					log_info("evacuation_move", "host=%s vm=%s to=%s task=%s attempt=%d cold=%d", str(host, "name"),
					         name, str(to, "name"), str(task, "id"), mv.failed + 1, cold);
					tasks_wake(t->m);
					crash_point("task:host.evacuate:after_launch");
				} else {
					r->waiting++; /* the VM changed meanwhile: next round */
				}
				json_decref(task);
			}
			json_decref(to);
		}
		json_decref(mv.tried);
		json_decref(keep);
	}
	/* Its migrations still under way whose VM has left the host already
	 * (handed over; the sender's copy going, the receiver starting it):
	 * the host is empty once they end. */
	json_t *mine = tasks_under_way(t->st, "vm.migrate");
	json_t *tk;
	json_array_foreach(mine, i, tk) {
		if (strcmp(str(json_object_get(tk, "args"), "parent_id") ?: "", my_id))
			continue;
		bool here = false;
		size_t j;
		json_array_foreach(vms, j, vm)
			here |= !strcmp(str(vm, "id") ?: "", str(tk, "target_id") ?: "");
		if (!here)
			r->in_flight++;
	}
	json_decref(mine);
	/* The plan's VMs that have left the host. */
	r->moved_total = 0;
	json_t *p;
	json_array_foreach(json_object_get(plan, "moves"), i, p) {
		bool here = false;
		size_t j;
		json_array_foreach(vms, j, vm)
			here |= !strcmp(str(vm, "id") ?: "", str(p, "vm_id") ?: "");
		r->moved_total += !here;
	}
	json_decref(vms);
	return r->in_flight > 0 || r->waiting > 0;
}

/* The drain's phase on the host's document (and what is left, when
 * given), retried when a heartbeat wrote the host first. */
static void drain_write(struct store *st, const char *host_id, const char *phase, const json_t *left)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		struct errinfo e = {0};
		json_t *host = store_get(st, STORE_HOST, host_id, &e);
		if (!host)
			return;
		json_t *upd = json_deep_copy(host);
		json_t *drain = json_object_get(upd, "drain");
		if (!json_is_object(drain)) {
			drain = json_object();
			json_object_set_new(upd, "drain", drain);
		}
		json_object_set_new(drain, "phase", json_string(phase));
		if (left)
			json_object_set(drain, "left", (json_t *)left);
		int rc = store_update(st, STORE_HOST, upd, json_integer_value(json_object_get(host, "version")), NULL, &e);
		json_decref(upd);
		json_decref(host);
		if (rc == 0 || e.status != 409)
			return;
	}
}

int task_op_evacuate(struct task_ctx *t, json_t *unused, const char *op, json_t *args, json_t **result,
                     struct errinfo *e)
{
	(void)unused;
	(void)op;
	char host_id[64];
	snprintf(host_id, sizeof(host_id), "%s", str(t->doc, "target_id") ?: "");
	const json_t *plan = json_object_get(args, "plan");
	json_int_t attempts = json_integer_value(json_object_get(args, "attempts"));
	if (attempts <= 0)
		attempts = ATTEMPTS_DEFAULT;
	int total = (int)json_array_size(json_object_get(plan, "moves"));
	bool stopping = false;
	char stop_why[200] = "";
	struct round r;
	for (;;) {
		json_t *host = store_get(t->st, STORE_HOST, host_id, e);
		if (!host)
			return -1;
		if (!stopping && !json_is_true(json_object_get(host, "maintenance"))) {
			stopping = true;
			snprintf(stop_why, sizeof(stop_why), "the host left maintenance");
		}
		struct errinfo ce = {0};
		if (!stopping && task_checkpoint(t, &ce) < 0) {
			stopping = true;
			snprintf(stop_why, sizeof(stop_why), "cancelled on request");
		}
		r = (struct round){.moving = json_array(), .left = json_array(), .stays = json_array()};
		json_t *c = store_get(t->st, STORE_CLUSTER, str(host, "cluster_id") ?: "", &(struct errinfo){0});
		bool cold_ok = json_is_true(json_object_get(json_object_get(c, "migration"), "cold_fallback"));
		json_decref(c);
		bool more = look(t, host, plan, (int)attempts, !stopping, cold_ok, &r);
		json_decref(host);
		char msg[400];
		snprintf(msg, sizeof(msg), "%d of %d VM%s moved; %d moving, %d waiting%s%s", r.moved_total, total,
		         total == 1 ? "" : "s", r.in_flight, stopping ? 0 : r.waiting,
		         json_array_size(r.left) ? ", some cannot move" : "", stopping ? " (stopping: waiting for the "
		                                                                         "migrations under way)" : "");
		json_t *live = json_pack("{s:i, s:i, s:i, s:O, s:O, s:O}", "total", total, "moved", r.moved_total,
		                         "waiting", stopping ? 0 : r.waiting, "moving", r.moving, "left", r.left,
		                         "stays", r.stays);
		task_update_live(t, total ? 100 * r.moved_total / total : 100, msg, live);
		if (!more || (stopping && r.in_flight == 0))
			break;
		json_decref(r.moving);
		json_decref(r.left);
		json_decref(r.stays);
		usleep(ROUND_US);
	}
	json_t *left = json_deep_copy(r.left);
	*result = json_pack("{s:i, s:i, s:o, s:o}", "total", total, "moved", r.moved_total, "left", r.left,
	                    "stays", r.stays);
	json_decref(r.moving);
	int rc = 0;
	if (stopping) {
		drain_write(t->st, host_id, "stopped", left);
		rc = errinfo_set(e, 409, "cancelled", NULL, "%s: %d of %d VMs moved, the rest stay", stop_why,
		                 r.moved_total, total);
	} else if (json_array_size(left)) {
		char names[1200] = "";
		size_t i;
		json_t *l;
		json_array_foreach(left, i, l) {
			size_t at = strlen(names);
			snprintf(names + at, sizeof(names) - at, "%s'%s': %s", i ? "; " : "", str(l, "vm"), str(l, "why"));
		}
		drain_write(t->st, host_id, "incomplete", left);
		rc = errinfo_set(e, 409, "evacuation_incomplete", NULL,
		                 "%zu VM%s cannot leave the host (%d of %d moved): %s. The host stays in maintenance; "
		                 "move or stop %s, then enter maintenance again", json_array_size(left),
		                 json_array_size(left) == 1 ? "" : "s", r.moved_total, total, names,
		                 json_array_size(left) == 1 ? "it" : "them");
	} else {
		drain_write(t->st, host_id, "done", left);
	}
	json_decref(left);
	return rc;
}

void task_evacuate_unqueue(struct store *st, const char *host_id, json_t *args)
{
	(void)args;
	drain_write(st, host_id, "stopped", NULL);
}

/* task_migrate.c - vm.migrate: a running VM moves to another host of its
 * cluster, live. Its disks stay where they are when the receiving host
 * shares their datastore; the others move with it (the receiver serves
 * blank copies over NBD, the sender's QEMU mirrors onto them before the
 * memory goes: vm_migrate_disks.c of the agent). vdcd sequences; the two
 * agents and their QEMUs do the work (guest memory and disk blocks never
 * pass through vdcd).
 *
 * Who owns the guest is QEMU's answer, not vdcd's guess: until the
 * sender's QEMU says "completed" (its copy then sits in "postmigrate",
 * the agent's "migrated") the sender runs it; after, the receiver. The
 * hand-over is one store write (host_id and migration.phase together),
 * and every step before and after it can run again: a vdcd that dies at
 * any point finds, on the re-run, where the guest is by asking the two
 * agents, and finishes or rolls back from there. */
#include "task_ops.h"

#include "agent_client.h"
#include "crashpoint.h"
#include "isotime.h"
#include "log.h"
#include "migrate_plan.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 250
/* A migration whose sender stops answering is followed through the
 * receiver for this long before it is called failed. */
#define SENDER_SILENCE_MS 60000
/* After the hand-over, the sender's paused copy is asked to go this many
 * times, a second apart. */
#define SENDER_CLEANUP_TRIES 60
/* After a failure, the receiver's copy likewise. */
#define RECEIVER_CLEANUP_TRIES 30
/* After the hand-over, how many looks (POLL_MS apart) the receiver gets to
 * say it runs the guest. */
#define RECEIVER_SETTLE_TRIES 120

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct mig {
	struct task_ctx *t;
	const char *id;      /* the VM's */
	const char *name;    /* the agents' name for it */
	const char *from;    /* host ids */
	const char *to;
	char to_address[64]; /* where the receiver's QEMU listens */
	json_t *opts;        /* the options both agents get */
	struct migrate_policy policy;
	struct migrate_plan plan;
	int64_t memory_bytes;
	json_t *last;        /* the sender's last word on it (total and downtime when completed) */
	json_t *copied;      /* names of the disks copied to the receiver (not shared), or NULL */
	int64_t copied_bytes;
	int nbd_port;        /* where the receiver serves their copies */
	const char *summary; /* placement's, when the destination was chosen */
	bool copy_local;     /* the policy lets disks the receiver does not share move with it */
	bool link_set;       /* the policy gives the link's speed (else it is measured) */
	int64_t cap_bytes_s; /* the policy's cap per migration, 0: none */
	int64_t link_bytes_s;   /* measured, when it was */
	bool link_learned;      /* the plan took QEMU's rate of last time instead (learned_rate) */
	int64_t qemu_rate;      /* bytes/s QEMU moved in this migration, last heard */
};

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* The agent's error code of a reply ("" when none). */
static const char *reply_code(const json_t *reply)
{
	return str(json_object_get(reply, "error"), "code") ?: "";
}

static int agent(struct mig *g, const char *host, const char *method, const char *path, json_t *body,
                 long *status, json_t **reply, struct errinfo *e)
{
	*reply = NULL;
	return agent_call(g->t->st, host, method, path, body, 60, status, reply, NULL, e);
}

/* The VM as a host has it: its state ("missing" on 404), or -1 when the
 * host did not answer. */
static int host_state(struct mig *g, const char *host, char *state, size_t n, json_t **vm_out)
{
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/vms/%s", g->name);
	long status = 0;
	json_t *reply = NULL;
	struct errinfo e = {0};
	if (agent(g, host, "GET", path, NULL, &status, &reply, &e) < 0)
		return -1;
	snprintf(state, n, "%s", status == 404 ? "missing" : status == 200 ? str(reply, "state") ?: "unknown" : "unknown");
	if (vm_out)
		*vm_out = reply;
	else
		json_decref(reply);
	return 0;
}

/* Writes fields into the VM document (null deletes a field). */
static int patch(struct mig *g, json_t *fields, struct errinfo *e)
{
	return task_vm_patch(g->t->st, g->id, fields, e);
}

static void set_phase(struct mig *g, const char *phase)
{
	struct errinfo e = {0};
	json_t *m = json_pack("{s:s, s:s, s:s, s:s}", "from_host_id", g->from, "to_host_id", g->to, "phase", phase,
	                      "task_id", str(g->t->doc, "id") ?: "");
	/* Recorded before the send: after the hand-over the sender's files of
	 * these go (finish), whichever run of the task gets there. */
	if (g->copied) {
		json_object_set(m, "copied_disks", g->copied);
		json_object_set_new(m, "copied_bytes", json_integer(g->copied_bytes));
	}
	patch(g, json_pack("{s:o}", "migration", m), &e);
}

/* The receiver lets go of its copy (the disks are the sender's): after a
 * failure, or a re-run that found a stale one. A receiver that does not
 * answer (it crashed, and comes back) is asked again for a while; its
 * copy never ran the guest (the sender still does), so one left behind
 * is a stopped definition, not a second VM. */
static void drop_receiver(struct mig *g)
{
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/vms/%s?force=true&leave_disks=true", g->name);
	for (int attempt = 0; attempt < RECEIVER_CLEANUP_TRIES; attempt++) {
		long status = 0;
		json_t *reply = NULL;
		struct errinfo e = {0};
		int rc = agent(g, g->to, "DELETE", path, NULL, &status, &reply, &e);
		if (rc == 0 && (status == 204 || status == 404)) {
			json_decref(reply);
			return;
		}
		if (attempt + 1 == RECEIVER_CLEANUP_TRIES || rc == 0)
			log_warn("migrate_receiver_left", "vm=%s host=%s status=%ld error=%s", g->id, g->to, status,
			         log_quote(e.message[0] ? e.message : agent_error_message(reply)));
		json_decref(reply);
		if (rc == 0) /* it answered, and refused: asking again changes nothing */
			return;
		sleep(1);
	}
}

/* Ends a migration that did not happen: the guest runs on the sender,
 * the receiver has nothing, the document says so. */
static int roll_back(struct mig *g, struct errinfo *e)
{
	drop_receiver(g);
	struct errinfo pe = {0};
	patch(g, json_pack("{s:n}", "migration"), &pe);
	log_info("migrate_rolled_back", "vm=%s from=%s to=%s why=%s", g->id, g->from, g->to, log_quote(e->message));
	return -1;
}

/* The hand-over: from this write on the VM is the receiver's. */
static int hand_over(struct mig *g, struct errinfo *e)
{
	crash_point("task:vm.migrate:before_handover");
	json_t *to_host = store_get(g->t->st, STORE_HOST, g->to, e);
	if (!to_host)
		return -1;
	json_t *m = json_pack("{s:s, s:s, s:s, s:s}", "from_host_id", g->from, "to_host_id", g->to, "phase",
	                      "handed_over", "task_id", str(g->t->doc, "id") ?: "");
	if (g->copied) {
		json_object_set(m, "copied_disks", g->copied);
		json_object_set_new(m, "copied_bytes", json_integer(g->copied_bytes));
	}
	/* Where it runs and why: placement's reasons for the new host. */
	json_t *placement = json_pack("{s:O, s:s}", "host", json_object_get(to_host, "name"), "summary",
	                              g->summary ? g->summary : "migrated here");
	int rc = patch(g, json_pack("{s:s, s:O, s:o, s:o}", "host_id", g->to, "cluster_id",
	                            json_object_get(to_host, "cluster_id"), "migration", m, "placement", placement),
	               e);
	json_decref(to_host);
	if (rc == 0)
		log_info("migrate_handed_over", "vm=%s from=%s to=%s", g->id, g->from, g->to);
	crash_point("task:vm.migrate:after_handover");
	return rc;
}

/* After the hand-over: the sender's paused copy goes (its shared disks
 * stay: they are the receiver's now; its copied ones go), and the
 * document reads the receiver's state. Runs again harmlessly. */
static int finish(struct mig *g, json_t **result, struct errinfo *e)
{
	char path[512];
	int n = snprintf(path, sizeof(path), "/api/v1/vms/%s?force=true&leave_disks=true", g->name);
	/* The disks that were copied: the sender's files of them go too. */
	for (size_t k = 0; k < json_array_size(g->copied) && n > 0 && (size_t)n < sizeof(path); k++)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "%s%s", k ? "," : "&remove_disks=",
		              json_string_value(json_array_get(g->copied, k)) ?: "");
	/* The sender's agent may be down (it restarts, and finds its paused
	 * QEMU again): asked again for a while. Its copy never runs the guest
	 * again (QEMU's postmigrate), so one left behind costs memory, not
	 * safety; the result says so. */
	bool gone = false;
	char left[256] = "";
	for (int attempt = 0; attempt < SENDER_CLEANUP_TRIES && !gone; attempt++) {
		long status = 0;
		json_t *reply = NULL;
		struct errinfo de = {0};
		if (agent(g, g->from, "DELETE", path, NULL, &status, &reply, &de) == 0 && (status == 204 || status == 404))
			gone = true;
		else
			snprintf(left, sizeof(left), "%s", de.message[0] ? de.message : agent_error_message(reply));
		json_decref(reply);
		if (!gone)
			sleep(1);
	}
	if (!gone)
		log_warn("migrate_sender_left", "vm=%s host=%s error=%s", g->id, g->from, log_quote(left));
	crash_point("task:vm.migrate:after_sender_gone");
	/* The sender's QEMU says "completed" a moment before the receiver's
	 * has loaded the last pages and resumed: its agent may still say
	 * "incoming". Its word once it has one is what is recorded. */
	char state[32] = "unknown";
	json_t *vm = NULL;
	for (int i = 0; i < RECEIVER_SETTLE_TRIES; i++) {
		json_decref(vm);
		vm = NULL;
		if (host_state(g, g->to, state, sizeof(state), &vm) == 0 && strcmp(state, "incoming"))
			break;
		usleep(POLL_MS * 1000);
	}
	json_t *fields = json_pack("{s:s, s:n}", "power_state", state, "migration");
	if (json_is_integer(json_object_get(vm, "state_seq")))
		json_object_set(fields, "state_seq", json_object_get(vm, "state_seq"));
	json_decref(vm);
	if (patch(g, fields, e) < 0)
		return -1;
	*result = json_pack("{s:s, s:s, s:s, s:s}", "vm_id", g->id, "from_host_id", g->from, "to_host_id", g->to,
	                    "power_state", state);
	/* QEMU's own figures of the move, when this run saw it end. */
	static const char *const figures[] = {"total_ms", "downtime_ms", "setup_ms"};
	for (int i = 0; i < 3 && g->last; i++)
		if (json_object_get(g->last, figures[i]))
			json_object_set(*result, figures[i], json_object_get(g->last, figures[i]));
	if (g->plan.predicted_total_ms)
		json_object_set_new(*result, "predicted_total_ms", json_integer(g->plan.predicted_total_ms));
	if (g->link_bytes_s > 0) /* the link as measured before the start */
		json_object_set_new(*result, "link_measured_mib_s", json_integer(g->link_bytes_s >> 20));
	if (g->qemu_rate > 0) /* and what QEMU moved over it */
		json_object_set_new(*result, "qemu_mib_s", json_integer(g->qemu_rate >> 20));
	if (g->link_learned)
		json_object_set_new(*result, "planned_with", json_string("qemu_rate"));
	if (g->plan.reason[0])
		json_object_set_new(*result, "strategy", json_string(migrate_strategy_name(g->plan.strategy)));
	if (g->copied) {
		json_object_set(*result, "copied_disks", g->copied);
		json_object_set_new(*result, "copied_bytes", json_integer(g->copied_bytes));
	}
	if (!gone)
		json_object_set_new(*result, "warnings", json_pack("[s]", "the sending host did not let go of its paused "
		                                                     "copy (it never runs the guest again); delete it "
		                                                     "there once the host answers"));
	return 0;
}

/* ---- before: plan, receiver, send ------------------------------------------ */

/* The guest's dirty rate, measured by its QEMU over one second; -1 with
 * why set when it could not be read. */
static int64_t dirty_rate(struct store *st, const char *host, const char *name, char *why, size_t n)
{
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/vms/%s/dirty-rate", name);
	long status = 0;
	json_t *reply = NULL, *body = json_pack("{s:i}", "seconds", 1);
	struct errinfo e = {0};
	int64_t rate = -1;
	if (agent_call(st, host, "POST", path, body, 60, &status, &reply, NULL, &e) < 0)
		snprintf(why, n, "%s", e.message);
	else if (status != 200 || !json_is_integer(json_object_get(reply, "dirty_rate_mib_s")))
		snprintf(why, n, "the sending host answered %ld: %s", status,
		         json_string_value(json_object_get(json_object_get(reply, "error"), "message")) ?: "no rate");
	else
		rate = json_integer_value(json_object_get(reply, "dirty_rate_mib_s")) << 20;
	json_decref(body);
	json_decref(reply);
	return rate;
}

/* The dirty rate is read on a thread of its own while the receiving QEMU
 * starts: the second QEMU measures for is then off the migration's path
 * (it was most of what a small VM's migration cost beyond libvirt's). The
 * thread has a store handle of its own (agent_call reads the host's
 * address and credentials). */
struct rate_reader {
	struct store *st;
	const char *host, *name, *vm;
	int64_t rate; /* bytes/s, or -1 */
	char why[256];
	pthread_t thread;
	bool threaded;
};

static void *read_rate(void *arg)
{
	struct rate_reader *r = arg;
	/* A rate that could not be read is not taken as zero: planned blind,
	 * a guest that dirties fast would loop until the overdue stop. One
	 * more reading, then the plan refuses saying what failed. */
	r->rate = dirty_rate(r->st, r->host, r->name, r->why, sizeof(r->why));
	if (r->rate < 0) {
		log_warn("migrate_dirty_rate_unread", "vm=%s why=%s", r->vm, log_quote(r->why));
		r->rate = dirty_rate(r->st, r->host, r->name, r->why, sizeof(r->why));
	}
	return NULL;
}

static void rate_start(struct mig *g, struct rate_reader *r)
{
	*r = (struct rate_reader){.host = g->from, .name = g->name, .vm = g->id, .rate = -1};
	struct errinfo e = {0};
	r->st = store_open_sibling(g->t->st, &e);
	if (r->st && pthread_create(&r->thread, NULL, read_rate, r) == 0) {
		r->threaded = true;
		return;
	}
	if (r->st) /* no thread: read it here, before the receiver starts */
		store_close(r->st);
	r->st = g->t->st;
	read_rate(r);
}

static int64_t rate_join(struct mig *g, struct rate_reader *r)
{
	if (r->threaded) {
		pthread_join(r->thread, NULL);
		store_close(r->st);
		r->threaded = false;
	}
	return r->rate;
}

/* The migration network's speed from the sending host to the receiving
 * one, measured (the agents' link probe: a sink on the receiver, 250 ms of
 * writes from the sender, timed until the sink has read them all) on a
 * thread of its own while the receiving QEMU starts, as the dirty rate is.
 * -1 (why says why) when it could not be measured. */
struct link_reader {
	struct store *st;
	const char *from, *to, *vm;
	char to_address[64];
	int64_t rate; /* bytes/s, or -1 */
	char why[256];
	pthread_t thread;
	bool threaded;
};

static void *read_link(void *arg)
{
	struct link_reader *r = arg;
	long status = 0;
	json_t *reply = NULL, *body = json_pack("{s:s}", "address", r->to_address);
	struct errinfo e = {0};
	int port = 0;
	if (agent_call(r->st, r->to, "POST", "/api/v1/link/sink", body, 30, &status, &reply, NULL, &e) < 0)
		snprintf(r->why, sizeof(r->why), "the receiving host: %s", e.message);
	else if (status != 201)
		snprintf(r->why, sizeof(r->why), "the receiving host answered %ld: %s", status, agent_error_message(reply));
	else
		port = (int)json_integer_value(json_object_get(reply, "port"));
	json_decref(body);
	json_decref(reply);
	reply = NULL;
	if (port > 0) {
		body = json_pack("{s:s, s:i, s:i}", "host", r->to_address, "port", port, "ms", 250);
		if (agent_call(r->st, r->from, "POST", "/api/v1/link/probe", body, 30, &status, &reply, NULL, &e) < 0)
			snprintf(r->why, sizeof(r->why), "the sending host: %s", e.message);
		else if (status != 200)
			snprintf(r->why, sizeof(r->why), "the sending host answered %ld: %s", status, agent_error_message(reply));
		else
			r->rate = json_integer_value(json_object_get(reply, "bytes_per_s"));
		json_decref(body);
		json_decref(reply);
	}
	if (r->rate <= 0) {
		r->rate = -1;
		log_warn("migrate_link_unmeasured", "vm=%s why=%s", r->vm, log_quote(r->why));
	}
	return NULL;
}

static void link_start(struct mig *g, struct link_reader *r)
{
	*r = (struct link_reader){.from = g->from, .to = g->to, .vm = g->id, .rate = -1};
	snprintf(r->to_address, sizeof(r->to_address), "%s", g->to_address);
	struct errinfo e = {0};
	r->st = store_open_sibling(g->t->st, &e);
	if (r->st && pthread_create(&r->thread, NULL, read_link, r) == 0) {
		r->threaded = true;
		return;
	}
	if (r->st)
		store_close(r->st);
	r->st = g->t->st;
	read_link(r);
}

static int64_t link_join(struct link_reader *r)
{
	if (r->threaded) {
		pthread_join(r->thread, NULL);
		store_close(r->st);
		r->threaded = false;
	}
	return r->rate;
}

/* QEMU's own rate over the link from -> to in the last migration that
 * completed over it (0: none known). */
static int64_t learned_rate(struct mgr *m, const char *from, const char *to)
{
	int64_t rate = 0;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < sizeof(m->link_rates) / sizeof(m->link_rates[0]); i++)
		if (!strcmp(m->link_rates[i].from, from) && !strcmp(m->link_rates[i].to, to))
			rate = m->link_rates[i].bytes_s;
	pthread_mutex_unlock(&m->lock);
	return rate;
}

static void learn_rate(struct mgr *m, const char *from, const char *to, int64_t rate)
{
	if (rate <= 0)
		return;
	pthread_mutex_lock(&m->lock);
	size_t n = sizeof(m->link_rates) / sizeof(m->link_rates[0]), slot = n;
	for (size_t i = 0; i < n && slot == n; i++)
		if (!strcmp(m->link_rates[i].from, from) && !strcmp(m->link_rates[i].to, to))
			slot = i;
	if (slot == n)
		slot = (size_t)m->link_rates_next++ % n;
	snprintf(m->link_rates[slot].from, sizeof(m->link_rates[slot].from), "%s", from);
	snprintf(m->link_rates[slot].to, sizeof(m->link_rates[slot].to), "%s", to);
	m->link_rates[slot].bytes_s = rate;
	pthread_mutex_unlock(&m->lock);
}

/* The options the receiver takes before the plan exists: the policy's.
 * The plan never asks for more (auto-converge only where it is allowed). */
static void policy_opts(struct mig *g)
{
	json_object_set_new(g->opts, "auto_converge", json_boolean(g->policy.allow_auto_converge));
	json_object_set_new(g->opts, "postcopy", json_boolean(g->policy.allow_postcopy));
}

/* Plans the migration from the guest's measured dirty rate (rate: bytes/s,
 * -1 when unread, why then says why) and the link, under the cluster's
 * policy; 0, or -1 with e naming the numbers. */
static int plan(struct mig *g, int64_t bandwidth_bytes_s, int64_t rate, const char *why, struct errinfo *e)
{
	if (rate < 0)
		return errinfo_set(e, 503, "dirty_rate_unmeasured", NULL,
		                   "the guest's dirty rate could not be measured (%s), so whether the migration "
		                   "converges is unknown; retry", why);
	struct migrate_inputs in = {g->memory_bytes, rate, bandwidth_bytes_s};
	migrate_plan_decide(&in, &g->policy, &g->plan);
	const char *src = g->link_learned ? " (QEMU's rate on this link last time, below its measure)"
	                  : g->link_bytes_s > 0 && bandwidth_bytes_s == g->cap_bytes_s ? " (the policy's cap, below the link's measure)"
	                  : g->link_bytes_s > 0 ? " (link measured)" : "";
	if (strlen(g->plan.reason) + strlen(src) < sizeof(g->plan.reason))
		strcat(g->plan.reason, src);
	log_info("migrate_planned", "vm=%s strategy=%s dirty_bytes_s=%lld bandwidth_bytes_s=%lld predicted_ms=%lld "
	         "reason=%s", g->id, migrate_strategy_name(g->plan.strategy), (long long)in.dirty_bytes_s,
	         (long long)bandwidth_bytes_s, (long long)g->plan.predicted_total_ms, log_quote(g->plan.reason));
	if (g->plan.strategy == MIGRATE_REFUSED)
		return errinfo_set(e, 409, "will_not_converge", NULL, "%s", g->plan.reason);
	/* Auto-converge whenever the policy allows it, not only when the plan
	 * needs it: QEMU throttles only a migration that does not converge,
	 * and the measured rate misses memory the guest dirties outside its
	 * RAM (page sampling reads guest RAM only; a VGA framebuffer under
	 * TCG was seen dirtying 8 MiB/s in a guest measured idle). */
	json_object_set_new(g->opts, "auto_converge",
	                    json_boolean(g->plan.strategy == MIGRATE_AUTO_CONVERGE || g->policy.allow_auto_converge));
	json_object_set_new(g->opts, "postcopy", json_boolean(g->policy.allow_postcopy));
	return 0;
}

/* The sender's probe of the VM's disk folders and their sizes (the
 * receiver finds which it shares, and makes copies of the others). */
static int sender_storage(struct mig *g, json_t **storage, struct errinfo *e)
{
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/vms/%s/migration/storage", g->name);
	long status = 0;
	json_t *reply = NULL;
	if (agent(g, g->from, "POST", path, NULL, &status, &reply, e) < 0)
		return -1;
	if (status != 200) {
		errinfo_set(e, (unsigned)status, reply_code(reply)[0] ? reply_code(reply) : "agent_error", NULL,
		            "the sending host could not say where the VM's disks are: %s", agent_error_message(reply));
		json_decref(reply);
		return -1;
	}
	*storage = reply;
	return 0;
}

/* The bytes the copied disks hold (their virtual sizes: a mirror reads
 * them whole), for the prediction. */
static void copied_size(struct mig *g, const json_t *storage)
{
	size_t i, k;
	json_t *name, *d;
	g->copied_bytes = 0;
	json_array_foreach(g->copied, i, name)
		json_array_foreach(json_object_get(storage, "disks"), k, d)
			if (json_equal(json_object_get(d, "name"), name))
				g->copied_bytes += json_integer_value(json_object_get(d, "size_bytes"));
}

/* The receiver's QEMU, listening: its uri into uri. A copy left by an
 * earlier run is dropped first (it never ran the guest: the sender does). */
static int prepare_receiver(struct mig *g, const json_t *spec, const json_t *storage, bool resume, char *uri,
                            size_t n, struct errinfo *e)
{
	json_t *body = json_pack("{s:O, s:s, s:b}", "spec", spec, "address", g->to_address, "resume", resume);
	json_object_update(body, g->opts);
	if (storage)
		json_object_set_new(body, "storage", json_deep_copy(storage));
	for (int attempt = 0; attempt < 2; attempt++) {
		long status = 0;
		json_t *reply = NULL;
		if (agent(g, g->to, "POST", "/api/v1/migrations/incoming", body, &status, &reply, e) < 0) {
			json_decref(body);
			return -1;
		}
		if (status == 201) {
			snprintf(uri, n, "%s", str(json_object_get(reply, "migration"), "uri") ?: "");
			/* The disks it does not share: their copies, served over NBD. */
			const json_t *nbd = json_object_get(json_object_get(reply, "migration"), "nbd");
			const json_t *names = json_object_get(nbd, "disks");
			if (json_array_size(names) > 0) {
				g->copied = json_deep_copy(names);
				g->nbd_port = (int)json_integer_value(json_object_get(nbd, "port"));
			}
			json_decref(reply);
			json_decref(body);
			return uri[0] ? 0 : errinfo_set(e, 502, "agent_error", NULL, "the receiving host named no address");
		}
		bool stale = status == 409 && !strcmp(reply_code(reply), "name_taken") && attempt == 0;
		if (!stale) {
			errinfo_set(e, (unsigned)status, reply_code(reply)[0] ? reply_code(reply) : "agent_error", NULL,
			            "the receiving host refused the VM: %s", agent_error_message(reply));
			json_decref(reply);
			json_decref(body);
			return -1;
		}
		json_decref(reply);
		drop_receiver(g);
	}
	json_decref(body);
	return errinfo_set(e, 409, "name_taken", NULL, "the receiving host keeps a VM of this name");
}

static int send_vm(struct mig *g, const char *uri, struct errinfo *e)
{
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/vms/%s/migrate", g->name);
	json_t *body = json_pack("{s:s}", "uri", uri);
	json_object_update(body, g->opts);
	if (g->copied)
		json_object_set_new(body, "nbd", json_pack("{s:s, s:i, s:O}", "host", g->to_address, "port", g->nbd_port,
		                                           "disks", g->copied));
	long status = 0;
	json_t *reply = NULL;
	int rc = agent(g, g->from, "POST", path, body, &status, &reply, e);
	json_decref(body);
	if (rc == 0 && status != 202)
		rc = errinfo_set(e, (unsigned)status, reply_code(reply)[0] ? reply_code(reply) : "agent_error", NULL,
		                 "the sending host did not start the migration: %s", agent_error_message(reply));
	json_decref(reply);
	return rc;
}

/* ---- while it runs --------------------------------------------------------- */

enum outcome { OUT_COMPLETED, OUT_FAILED, OUT_UNKNOWN };

/* "1.2 GiB" */
static void fmt_bytes(char *out, size_t n, int64_t b)
{
	if (b >= (int64_t)1 << 30)
		snprintf(out, n, "%.1f GiB", (double)b / (1 << 30));
	else
		snprintf(out, n, "%.0f MiB", (double)b / (1 << 20));
}

/* One look at the sender's progress: the task's progress and live figures,
 * and the overdue check. */
/* The disks' copy, before the memory goes. */
static void show_disk_progress(struct mig *g, const json_t *st, int64_t elapsed_ms)
{
	const json_t *d = json_object_get(st, "disks");
	int64_t total = json_integer_value(json_object_get(d, "total_bytes"));
	int64_t copied = json_integer_value(json_object_get(d, "copied_bytes"));
	char c[32], t[32], msg[256];
	fmt_bytes(c, sizeof(c), copied);
	fmt_bytes(t, sizeof(t), total);
	snprintf(msg, sizeof(msg), "copying %lld disk%s to the receiving host: %s of %s",
	         (long long)json_integer_value(json_object_get(d, "count")),
	         json_integer_value(json_object_get(d, "count")) == 1 ? "" : "s", c, t);
	int pct = total > 0 ? (int)(10 + 40 * copied / total) : 10;
	json_t *live = json_pack("{s:s, s:I, s:I, s:I, s:I}", "status", "copying-disks", "elapsed_ms",
	                         (json_int_t)elapsed_ms, "disk_total_bytes", (json_int_t)total, "disk_copied_bytes",
	                         (json_int_t)copied, "predicted_total_ms", (json_int_t)g->plan.predicted_total_ms);
	task_update_live(g->t, pct, msg, live);
}

static void show_progress(struct mig *g, const json_t *st, int64_t elapsed_ms)
{
	const json_t *ram = json_object_get(st, "ram");
	int64_t total = json_integer_value(json_object_get(ram, "total_bytes"));
	int64_t left = json_integer_value(json_object_get(ram, "remaining_bytes"));
	int64_t dirty = json_integer_value(json_object_get(ram, "dirty_bytes_per_s"));
	/* With disks copied first, memory is the second half. */
	int from = g->copied ? 50 : 10, span = g->copied ? 45 : 85;
	int pct = total > 0 ? (int)(from + span * (total - left) / total) : from;
	char l[32], d[32], msg[256];
	fmt_bytes(l, sizeof(l), left);
	fmt_bytes(d, sizeof(d), dirty);
	snprintf(msg, sizeof(msg), "%s: %s left, dirtying %s/s, expected pause %lld ms%s",
	         str(st, "status") ?: "sending", l, d,
	         (long long)json_integer_value(json_object_get(st, "expected_downtime_ms")),
	         json_integer_value(json_object_get(st, "throttle_pct")) > 0 ? ", guest throttled" : "");
	json_t *live = json_pack("{s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I}", "status", str(st, "status"),
	                         "elapsed_ms", (json_int_t)elapsed_ms, "total_bytes", (json_int_t)total,
	                         "remaining_bytes", (json_int_t)left, "dirty_bytes_per_s", (json_int_t)dirty,
	                         "expected_downtime_ms",
	                         json_integer_value(json_object_get(st, "expected_downtime_ms")), "throttle_pct",
	                         json_integer_value(json_object_get(st, "throttle_pct")), "mbps",
	                         json_number_value(json_object_get(ram, "mbps")), "predicted_total_ms",
	                         (json_int_t)g->plan.predicted_total_ms);
	task_update_live(g->t, pct, msg, live);
}

/* Follows the sender until QEMU ends the migration: completed (the
 * receiver runs it), failed (the sender still does; e says why), or
 * unknown (neither host answers: e says so). Cancels on a cancel asked,
 * and when it overstays its plan (switching to post-copy first when the
 * policy allows). */
static enum outcome follow(struct mig *g, struct errinfo *e)
{
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/vms/%s/migration", g->name);
	int64_t start = mono_ms(), silent_since = 0;
	bool cancelled = false, switched = false;
	char why[MIGRATE_REASON_MAX] = "";
	for (;;) {
		long status = 0;
		json_t *st = NULL;
		struct errinfo ce = {0};
		int64_t now = mono_ms();
		if (agent(g, g->from, "GET", path, NULL, &status, &st, &ce) < 0 || status != 200) {
			json_decref(st);
			/* The sender is silent: the receiver says whether the guest
			 * arrived (a QEMU that received it runs it). */
			char rs[32] = "";
			if (host_state(g, g->to, rs, sizeof(rs), NULL) == 0 &&
			    (!strcmp(rs, "running") || !strcmp(rs, "paused")))
				return OUT_COMPLETED;
			if (host_state(g, g->to, rs, sizeof(rs), NULL) == 0 && strcmp(rs, "incoming")) {
				errinfo_set(e, 502, "migration_failed", NULL,
				            "the sending host stopped answering (%s) and the receiving host has no running "
				            "copy (%s): the guest stays on the sending host", ce.message[0] ? ce.message : "no answer", rs);
				return OUT_FAILED;
			}
			if (!silent_since)
				silent_since = now;
			if (now - silent_since > SENDER_SILENCE_MS) {
				errinfo_set(e, 504, "migration_unknown", NULL,
				            "neither host has said for %d s how the migration ended: %s",
				            SENDER_SILENCE_MS / 1000, ce.message);
				return OUT_UNKNOWN;
			}
			usleep(POLL_MS * 1000);
			continue;
		}
		silent_since = 0;
		const char *s = str(st, "status") ?: "";
		if (!strcmp(s, "completed")) {
			/* QEMU's rate over the whole migration, for the next plan
			 * over this link (learned_rate). */
			const json_t *ram = json_object_get(st, "ram");
			double mbps = json_number_value(json_object_get(ram, "mbps"));
			int64_t total_ms = json_integer_value(json_object_get(st, "total_ms"));
			int64_t moved = json_integer_value(json_object_get(ram, "transferred_bytes"));
			g->qemu_rate = mbps > 0 ? (int64_t)(mbps * 1e6 / 8) : total_ms > 0 ? moved * 1000 / total_ms : 0;
			json_decref(g->last);
			g->last = st;
			return OUT_COMPLETED;
		}
		if (!strcmp(s, "none")) {
			/* The sender has no migration under way after it began one:
			 * its agent restarted while the disks were copied (it drops
			 * the mirrors), or QEMU was restarted. The guest is there. */
			errinfo_set(e, 502, "migration_failed", NULL, "the sending host has no migration of the VM under "
			            "way any more (its agent restarted?): the guest stays on the sending host");
			json_decref(st);
			return OUT_FAILED;
		}
		if (!strcmp(s, "failed") || !strcmp(s, "cancelled")) {
			if (cancelled && why[0])
				errinfo_set(e, 409, "will_not_converge", NULL, "%s", why);
			else if (cancelled)
				errinfo_set(e, 409, "cancelled", NULL, "cancelled on request; the VM stays on its host");
			else
				errinfo_set(e, 502, "migration_failed", NULL, "QEMU ended the migration: %s",
				            str(st, "error") ?: s);
			json_decref(st);
			return OUT_FAILED;
		}
		bool copying = !strcmp(s, "copying-disks");
		if (copying)
			show_disk_progress(g, st, now - start);
		else
			show_progress(g, st, now - start);
		struct migrate_progress p = {now - start, json_integer_value(json_object_get(json_object_get(st, "ram"), "remaining_bytes")),
		                             json_integer_value(json_object_get(json_object_get(st, "ram"), "dirty_bytes_per_s")),
		                             (int64_t)(json_number_value(json_object_get(json_object_get(st, "ram"), "mbps")) * 1e6 / 8),
		                             !strcmp(s, "postcopy-active")};
		json_decref(st);
		/* A re-run that found the migration under way has no plan of
		 * its own: it follows QEMU to the end. */
		/* The disks' copy is not judged by the memory's plan: its own
		 * end (and a cancel) ends it. */
		enum migrate_verdict v = cancelled || copying || g->plan.predicted_total_ms <= 0
		                             ? MIGRATE_GO_ON
		                             : migrate_progress_check(&g->plan, &g->policy, &p, why);
		struct errinfo ke = {0};
		bool asked = !cancelled && task_checkpoint(g->t, &ke) < 0;
		const char *act = NULL;
		if (v == MIGRATE_SWITCH_POSTCOPY && !switched) {
			switched = true;
			act = "postcopy";
			log_info("migrate_postcopy", "vm=%s why=%s", g->id, log_quote(why));
			why[0] = '\0';
		} else if (asked || v == MIGRATE_ABORT) {
			cancelled = true;
			act = "cancel";
			if (asked)
				why[0] = '\0';
		}
		if (act) {
			char apath[256];
			snprintf(apath, sizeof(apath), "/api/v1/vms/%s/migration/%s", g->name, act);
			json_t *r = NULL;
			long rs = 0;
			struct errinfo ae = {0};
			agent(g, g->from, "POST", apath, NULL, &rs, &r, &ae);
			json_decref(r);
		}
		usleep(POLL_MS * 1000);
	}
}

/* ---- the operation --------------------------------------------------------- */

/* The cluster's migration policy (its "migration" object; defaults
 * otherwise), and the options both agents get. */
static void read_policy(struct mig *g, const json_t *cluster, int64_t *bandwidth)
{
	const json_t *mp = json_object_get(cluster, "migration");
	const json_t *ac = json_object_get(mp, "auto_converge"), *pc = json_object_get(mp, "postcopy");
	g->policy = (struct migrate_policy){
		.allow_auto_converge = !ac || json_is_true(ac), /* on unless turned off: it never loses the VM */
		.allow_postcopy = json_is_true(pc),            /* off unless turned on: a link failure then loses it */
		.downtime_limit_ms = json_integer_value(json_object_get(mp, "downtime_limit_ms")) ?: 300,
		.max_throttle_pct = 99,
	};
	g->copy_local = !json_is_false(json_object_get(mp, "copy_local_disks"));
	int64_t cap = json_integer_value(json_object_get(mp, "max_bandwidth_mib_s"));
	/* The migration network's speed as the administrator gave it
	 * (link_mib_s), under the cap; 100 MiB/s (1 GbE) otherwise. Too low a
	 * figure only makes predictions long; too high a one would stop a
	 * sound migration as overdue. */
	int64_t link = json_integer_value(json_object_get(mp, "link_mib_s"));
	/* Given, it is the administrator's word; else it is measured before
	 * each migration (link_reader), 100 MiB/s when that fails. */
	g->link_set = link > 0;
	if (link <= 0)
		link = 100;
	g->cap_bytes_s = cap > 0 ? cap << 20 : 0;
	*bandwidth = (cap > 0 && cap < link ? cap : link) << 20;
	json_object_set_new(g->opts, "downtime_limit_ms", json_integer(g->policy.downtime_limit_ms));
	if (cap > 0)
		json_object_set_new(g->opts, "max_bandwidth_mib_s", json_integer(cap));
}

/* "https://10.0.0.5:7441" -> "10.0.0.5"; "https://[fd00::5]:7441" -> "fd00::5". */
static void url_host(const char *url, char *out, size_t n)
{
	const char *p = strstr(url ? url : "", "://");
	p = p ? p + 3 : "";
	size_t len;
	if (*p == '[') {
		p++;
		len = strcspn(p, "]");
	} else {
		len = strcspn(p, ":/");
	}
	snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), p);
}

/* ---- cold: the guest stops here and starts there ------------------------------ */

/* One call to an agent that must answer 200/201/204 (or, with ok404, 404). */
static int agent_ok(struct mig *g, const char *host, const char *method, const char *path, json_t *body,
                    bool ok404, const char *what, struct errinfo *e)
{
	long status = 0;
	json_t *reply = NULL;
	int rc = agent(g, host, method, path, body, &status, &reply, e);
	if (rc == 0 && !(status == 200 || status == 201 || status == 204 || (ok404 && status == 404)))
		rc = errinfo_set(e, (unsigned)status, reply_code(reply)[0] ? reply_code(reply) : "agent_error", NULL,
		                 "%s: %s", what, agent_error_message(reply));
	json_decref(reply);
	return rc;
}

/* A cold migration that did not happen: the receiver's copy goes, and the
 * VM runs again where it was when it ran before. */
static int cold_roll_back(struct mig *g, bool was_running, struct errinfo *e)
{
	drop_receiver(g);
	if (was_running) {
		char path[256];
		snprintf(path, sizeof(path), "/api/v1/vms/%s/start", g->name);
		struct errinfo se = {0};
		if (agent_ok(g, g->from, "POST", path, NULL, false, "starting it again where it was", &se) < 0)
			log_warn("migrate_cold_restart_failed", "vm=%s host=%s error=%s", g->id, g->from,
			         log_quote(se.message));
	}
	char state[32] = "unknown";
	host_state(g, g->from, state, sizeof(state), NULL);
	struct errinfo pe = {0};
	patch(g, json_pack("{s:n, s:s}", "migration", "power_state", state), &pe);
	log_info("migrate_rolled_back", "vm=%s from=%s to=%s cold=1 why=%s", g->id, g->from, g->to,
	         log_quote(e->message));
	return -1;
}

/* A cold migration (shared storage): the guest is shut down on its host
 * (45 s, then powered off: one agent call), the receiving host defines it from the same
 * spec and disks, the hand-over is the same one write as a live one, and
 * it starts there when it should run. Never on both: the sender's QEMU has
 * exited before the receiver has a copy. Every step runs again after a
 * crash and finds from the two agents where it stands. */
static int migrate_cold(struct mig *g, json_t *vm, json_t **result, struct errinfo *e)
{
	bool run = !strcmp(str(vm, "desired_state") ?: "", "running");
	const json_t *mig = json_object_get(vm, "migration");
	char path[256], sst[32] = "", rst[32] = "";
	json_t *src = NULL;
	int rc = -1;
	if (strcmp(str(mig, "phase") ?: "", "handed_over") && strcmp(str(vm, "host_id") ?: "", g->to)) {
		if (host_state(g, g->from, sst, sizeof(sst), &src) < 0 || !strcmp(sst, "missing")) {
			errinfo_set(e, 502, "host_unreachable", NULL, "the VM's host %s; it stays there",
			            !strcmp(sst, "missing") ? "has no such VM" : "does not answer");
			struct errinfo pe = {0};
			patch(g, json_pack("{s:n}", "migration"), &pe);
			goto out;
		}
		if (strcmp(sst, "stopped") && strcmp(sst, "running") && strcmp(sst, "paused") && strcmp(sst, "crashed")) {
			errinfo_set(e, 409, "invalid_state", NULL, "VM is %s on its host; a cold migration moves a running, "
			            "paused or stopped VM", sst);
			cold_roll_back(g, false, e);
			goto out;
		}
		bool was_running = strcmp(sst, "stopped") && strcmp(sst, "crashed");
		/* Boot images (and the ISO) first: nothing stops before the
		 * receiver can take it. */
		if (task_vm_push_boot_images(g->t, vm, g->to, 8, e) < 0) {
			cold_roll_back(g, false, e);
			goto out;
		}
		if (task_point_of_no_return(g->t, e) < 0) {
			cold_roll_back(g, false, e);
			goto out;
		}
		if (was_running) {
			set_phase(g, "cold_stopping");
			task_update(g->t, NULL, 20, "shutting the guest down (45 s, then powered off)");
			snprintf(path, sizeof(path), "/api/v1/vms/%s/stop", g->name);
			json_t *body = json_pack("{s:i}", "timeout_s", 45);
			int src_rc = agent_ok(g, g->from, "POST", path, body, false, "stopping it on its host", e);
			json_decref(body);
			if (src_rc < 0) {
				cold_roll_back(g, run, e);
				goto out;
			}
		}
		crash_point("task:vm.migrate:cold_stopped");
		set_phase(g, "cold_defining");
		task_update(g->t, NULL, 60, "defining it on the receiving host");
		if (host_state(g, g->to, rst, sizeof(rst), NULL) == 0 && strcmp(rst, "stopped"))
			drop_receiver(g); /* a stale copy (an earlier attempt), not this one's */
		if (strcmp(rst, "stopped")) {
			json_t *body = json_pack("{s:O, s:b}", "spec", json_object_get(src, "spec"), "cold", 1);
			int drc = agent_ok(g, g->to, "POST", "/api/v1/migrations/incoming", body, false,
			                   "the receiving host refused the VM", e);
			json_decref(body);
			if (drc < 0) {
				/* Running again where it was if it should run (a re-run
				 * after a crash finds it stopped by the first run). */
				cold_roll_back(g, run, e);
				goto out;
			}
		}
		if (hand_over(g, e) < 0)
			goto out;
	}
	/* The receiver's now: it starts there when it should run. */
	if (run) {
		task_update(g->t, NULL, 80, "starting it on the receiving host");
		if (host_state(g, g->to, rst, sizeof(rst), NULL) == 0 && strcmp(rst, "running")) {
			snprintf(path, sizeof(path), "/api/v1/vms/%s/start", g->name);
			if (agent_ok(g, g->to, "POST", path, NULL, false, "starting it on the receiving host", e) < 0)
				goto out;
		}
	}
	rc = finish(g, result, e);
	if (rc == 0)
		json_object_set_new(*result, "strategy", json_string("cold"));
out:
	json_decref(src);
	return rc;
}

int task_op_migrate(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                    struct errinfo *e)
{
	struct mig g = {.t = t, .id = str(vm, "id"), .name = vm_agent_name(vm), .opts = json_object()};
	const json_t *mig = json_object_get(vm, "migration");
	g.to = str(args, "to_host_id");
	g.summary = str(args, "placement_summary");
	g.from = str(mig, "from_host_id") ?: str(vm, "host_id");
	g.memory_bytes = json_integer_value(json_object_get(json_object_get(vm, "config"), "memory_mib")) << 20;
	if (json_array_size(json_object_get(mig, "copied_disks")) > 0) { /* a re-run: what the first run copied */
		g.copied = json_deep_copy(json_object_get(mig, "copied_disks"));
		g.copied_bytes = json_integer_value(json_object_get(mig, "copied_bytes"));
	}
	int rc = -1;
	json_t *to_host = NULL, *cluster = NULL, *src = NULL;
	if (!g.to || !g.from || !g.opts) {
		errinfo_set(e, 500, "internal", NULL, "the migration's task names no hosts");
		goto out;
	}
	if (json_is_true(json_object_get(args, "cold"))) {
		rc = migrate_cold(&g, vm, result, e);
		goto out;
	}
	/* A re-run after the hand-over: only the sender's copy is left to go. */
	if (!strcmp(str(mig, "phase") ?: "", "handed_over") || !strcmp(str(vm, "host_id") ?: "", g.to)) {
		task_point_of_no_return(t, &(struct errinfo){0});
		rc = finish(&g, result, e);
		goto out;
	}
	if (!(to_host = store_get(t->st, STORE_HOST, g.to, e)))
		goto out;
	url_host(str(to_host, "agent_url"), g.to_address, sizeof(g.to_address));
	cluster = store_get(t->st, STORE_CLUSTER, str(to_host, "cluster_id") ?: "", &(struct errinfo){0});
	int64_t bandwidth = 0;
	read_policy(&g, cluster, &bandwidth);

	/* Where is the guest now? A re-run may find it moved already. */
	char sst[32] = "", rst[32] = "";
	if (host_state(&g, g.from, sst, sizeof(sst), &src) < 0) {
		char why[256];
		snprintf(why, sizeof(why), "the VM's host does not answer; it stays there");
		errinfo_set(e, 502, "host_unreachable", NULL, "%s", why);
		struct errinfo pe = {0};
		patch(&g, json_pack("{s:n}", "migration"), &pe);
		goto out;
	}
	if (!strcmp(sst, "migrated") ||
	    (!strcmp(sst, "missing") && host_state(&g, g.to, rst, sizeof(rst), NULL) == 0 &&
	     (!strcmp(rst, "running") || !strcmp(rst, "paused")))) {
		/* QEMU finished it before vdcd recorded it. */
		task_point_of_no_return(t, &(struct errinfo){0});
		if (hand_over(&g, e) == 0)
			rc = finish(&g, result, e);
		goto out;
	}
	if (strcmp(sst, "running") && strcmp(sst, "paused")) {
		errinfo_set(e, 409, "invalid_state", NULL, "VM is %s on its host; only a running or paused VM migrates live", sst);
		roll_back(&g, e);
		goto out;
	}
	/* A re-run while the sender still sends: follow it. */
	const json_t *sm = json_object_get(src, "migration");
	bool sending = !strcmp(str(sm, "role") ?: "", "out") &&
	               (!strcmp(str(sm, "status") ?: "", "active") || !strcmp(str(sm, "status") ?: "", "setup") ||
	                !strcmp(str(sm, "status") ?: "", "device") || !strcmp(str(sm, "status") ?: "", "postcopy-active") ||
	                !strcmp(str(sm, "status") ?: "", "copying-disks") ||
	                !strcmp(str(sm, "status") ?: "", "pre-switchover"));
	if (!sending) {
		set_phase(&g, "preparing");
		if (task_checkpoint(t, e) < 0) {
			roll_back(&g, e);
			goto out;
		}
		task_update(t, NULL, 5, "measuring the guest's dirty rate while the receiving QEMU starts");
		struct rate_reader rr;
		rate_start(&g, &rr);
		struct link_reader lr;
		if (!g.link_set)
			link_start(&g, &lr);
		policy_opts(&g);
		/* The receiver needs the VM's boot images (and its ISO) of its
		 * own: its QEMU opens the same image ids as the sender's. */
		int prc = task_vm_push_boot_images(t, vm, g.to, 8, e);
		char uri[160];
		json_t *storage = NULL;
		/* Which disks the receiver shares is its to find (the sender's
		 * probe files); the others are copied, when the policy allows. */
		if (prc == 0 && g.copy_local)
			prc = sender_storage(&g, &storage, e);
		if (prc == 0) {
			task_update(t, NULL, 9, "starting the receiving QEMU");
			prc = task_checkpoint(t, e) < 0 ||
			      prepare_receiver(&g, json_object_get(src, "spec"), storage, !strcmp(sst, "running"), uri,
			                       sizeof(uri), e) < 0;
		}
		copied_size(&g, storage);
		json_decref(storage);
		int64_t rate = rate_join(&g, &rr); /* joined on every path: the thread reads g's names */
		if (!g.link_set && (g.link_bytes_s = link_join(&lr)) > 0) {
			bandwidth = g.cap_bytes_s > 0 && g.cap_bytes_s < g.link_bytes_s ? g.cap_bytes_s : g.link_bytes_s;
			/* QEMU may not fill the link (its CPU): what it did last time. */
			int64_t seen = learned_rate(t->m, g.from, g.to);
			if (seen > 0 && seen < bandwidth) {
				bandwidth = seen;
				g.link_learned = true;
			}
		}
		if (g.copied) /* post-copy would run the guest there before its disks are whole */
			g.policy.allow_postcopy = false;
		if (prc || plan(&g, bandwidth, rate, rr.why, e) < 0) {
			roll_back(&g, e);
			goto out;
		}
		if (g.copied && bandwidth > 0) /* the disks go first, at the link's speed */
			g.plan.predicted_total_ms += g.copied_bytes * 1000 / bandwidth;
		task_update(t, NULL, 10, g.plan.reason);
		crash_point("task:vm.migrate:after_receiver");
		set_phase(&g, "sending");
		if (task_checkpoint(t, e) < 0 || send_vm(&g, uri, e) < 0) {
			roll_back(&g, e);
			goto out;
		}
		crash_point("task:vm.migrate:after_send");
	}
	switch (follow(&g, e)) {
	case OUT_COMPLETED:
		learn_rate(t->m, g.from, g.to, g.qemu_rate);
		task_point_of_no_return(t, &(struct errinfo){0});
		if (hand_over(&g, e) == 0)
			rc = finish(&g, result, e);
		break;
	case OUT_FAILED:
		roll_back(&g, e);
		break;
	case OUT_UNKNOWN:
		/* Left as it is: the document keeps the migration, and a re-run
		 * (a vdcd restart, or the next attempt) asks the hosts again. */
		break;
	}
out:
	json_decref(g.last);
	json_decref(g.copied);
	json_decref(g.opts);
	json_decref(to_host);
	json_decref(cluster);
	json_decref(src);
	return rc;
}

/* vm_migrate_disks.c - a live migration whose disks move with it, as
 * libvirt's --copy-storage-all does it: the receiving QEMU serves blank
 * copies of the disks it does not share with the sender over NBD; the
 * sending QEMU mirrors each disk onto them (blockdev-mirror sync=full,
 * copy-mode write-blocking: once ready, every guest write reaches both
 * sides before the guest hears of it, so the copy never falls behind),
 * then sends the memory. With pause-before-switchover the sender stops in
 * "pre-switchover" with the guest paused and every write flushed; the
 * mirrors end there (block-job-cancel without force: a ready mirror first
 * copies what is left), whole, and only then does the device state go.
 * The receiver, told not to start by itself (QMP stop while incoming) and
 * to open its disks only when it runs (late-block-activate), ends its NBD
 * exports before the guest runs.
 *
 * Which disks are shared is not guessed from a file's name: the sender
 * writes a token into a probe file in each disk's folder, and a receiver
 * that reads it there shares the folder (OpenStack's check). */
#include "vm_internal.h"

#include "crashpoint.h"
#include "fsutil.h"
#include "linkprobe.h"
#include "log.h"
#include "loop.h"
#include "qmp_cmds.h"
#include "url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* How often the mirrors are read while they copy, and while they end in
 * pre-switchover (the guest is paused then: every millisecond counts). */
#define MIRROR_POLL_MS 100
#define SWITCHOVER_POLL_MS 2
/* Ending the mirrors in pre-switchover may take this long before the
 * migration is cancelled (the guest then runs on here). */
#define SWITCHOVER_MAX_POLLS 5000

struct vm_mig_mirror {
	struct vm *vm;
	char uri[128];
	struct vm_migrate_opts opts;
	char host[64];
	int port;
	int ndisks;
	int disk[VM_MAX_DISKS];   /* indices into spec.disks */
	char prefix[32];          /* of this migration's node and job names: "mig123-" */
	int step;                 /* setup: the next disk to add, then to mirror */
	bool swept;               /* an earlier attempt's mirrors and nodes are gone */
	bool memory_sent;         /* the mirrors were ready and the memory goes */
	bool cancel;              /* asked to stop */
	bool ending;              /* pre-switchover: the mirrors are being ended */
	int polls;
	int64_t done_bytes, total_bytes;
	vm_done_fn done;          /* the send's caller, until the mirrors run */
	void *ctx;
	struct loop_timer *timer;
};

/* ---- which disks are shared: the probe -------------------------------------- */

int vm_migrate_storage_probe(struct vm *vm, json_t **out, struct errinfo *e)
{
	if ((vm->state != VM_RUNNING && vm->state != VM_PAUSED) || !vm->qmp)
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s; only a running or paused VM "
		                   "migrates live", vm->spec.name, vm_state_name(vm->state));
	unsigned char raw[16];
	char token[33];
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return errinfo_set(e, 500, "internal", NULL, "no random bytes for the probe: %s", strerror(errno));
	for (int i = 0; i < 16; i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	struct vm_access va;
	vm_id_access(vm->agent, &vm->spec, 0, &va);
	json_t *disks = json_array();
	for (int i = 0; i < vm->spec.ndisks; i++) {
		const struct vm_disk *d = &vm->spec.disks[i];
		char dir[1100], probe[1200];
		uint64_t bytes = 0;
		vm_store_disk_dir(vm->agent, d->datastore, vm->spec.name, dir, sizeof(dir));
		snprintf(probe, sizeof(probe), "%s/%s", dir, VM_SHARED_PROBE);
		int rc = fs_write_atomic(probe, token, strlen(token), 0644);
		if (rc < 0) {
			json_decref(disks);
			return errinfo_set(e, 500, "datastore", NULL, "cannot write %s: %s", probe, strerror(-rc));
		}
		if (disk_info(&va.as, d->path, "qcow2", &bytes, "disks", e) < 0) {
			json_decref(disks);
			return -1;
		}
		json_array_append_new(disks, json_pack("{s:s, s:s, s:I}", "name", d->name, "datastore", d->datastore,
		                                       "size_bytes", (json_int_t)bytes));
	}
	*out = json_pack("{s:s, s:s, s:o}", "vm", vm->spec.name, "token", token, "disks", disks);
	return 0;
}

/* ---- the receiving side: NBD exports of the copies ----------------------------- */

/* In the VM's folder of the agent's store while a copy-receiving VM must
 * run once it has arrived (it ran on the sender): an agent restarted in
 * between still knows. */
#define COPY_RESUME_MARKER "copy-resume"

/* A free TCP port on address, as the kernel gives one: QEMU 7.2's NBD
 * server cannot say which port it took itself. Another process could take
 * it before QEMU does: the caller tries again then. 0 when none. */
static int free_port(const char *address)
{
	int port = 0, fd = linkprobe_listen(address, &port);
	if (fd < 0)
		return 0;
	close(fd);
	return port;
}

struct nbd_op {
	struct vm *vm;
	char address[64];
	int tries;
	int next; /* the next copy to export */
	vm_nbd_served_fn served;
	void *ctx;
};

static void nbd_end(struct nbd_op *op, const char *err)
{
	struct vm *vm = op->vm;
	vm_nbd_served_fn served = op->served;
	void *ctx = op->ctx;
	free(op);
	served(vm, ctx, err);
	vm_release(vm);
}

static void export_next(struct nbd_op *op);

static void on_exported(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct nbd_op *op = ctx;
	if (st != QMP_OK || !op->vm->qmp) {
		char why[400];
		snprintf(why, sizeof(why), "QEMU did not export the disk's copy: %s", err ? err : "QEMU exited");
		nbd_end(op, why);
		return;
	}
	op->next++;
	export_next(op);
}

static void export_next(struct nbd_op *op)
{
	struct vm *vm = op->vm;
	while (op->next < vm->spec.ndisks && !vm->spec.disks[op->next].copy_in)
		op->next++;
	if (op->next == vm->spec.ndisks) {
		log_info("vm_migration_nbd_serving", "vm=%s port=%d", vm->spec.name, vm->mig.nbd_port);
		nbd_end(op, NULL);
		return;
	}
	const char *name = vm->spec.disks[op->next].name;
	char id[80], node[80];
	snprintf(id, sizeof(id), "mig-%s", name);
	snprintf(node, sizeof(node), "vdc-%s", name);
	qmp_block_export_add_nbd(vm->qmp, id, node, name, on_exported, op);
}

static void start_server(struct nbd_op *op);

static void on_server(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct nbd_op *op = ctx;
	if (st == QMP_OK && op->vm->qmp) {
		export_next(op);
		return;
	}
	/* The port was taken meanwhile: another. */
	if (op->vm->qmp && op->tries < 5 && err && strstr(err, "in use")) {
		start_server(op);
		return;
	}
	char why[400];
	snprintf(why, sizeof(why), "QEMU could not serve the disks' copies over NBD: %s", err ? err : "QEMU exited");
	nbd_end(op, why);
}

static void start_server(struct nbd_op *op)
{
	op->tries++;
	op->vm->mig.nbd_port = free_port(op->address);
	if (!op->vm->mig.nbd_port) {
		nbd_end(op, "no free TCP port for the disks' copies on this host's address");
		return;
	}
	qmp_nbd_server_start(op->vm->qmp, op->address, op->vm->mig.nbd_port, on_server, op);
}

void vm_nbd_serve(struct vm *vm, const char *address, vm_nbd_served_fn served, void *ctx)
{
	struct nbd_op *op = calloc(1, sizeof(*op));
	if (!op)
		abort();
	*op = (struct nbd_op){.vm = vm, .served = served, .ctx = ctx};
	snprintf(op->address, sizeof(op->address), "%s", address);
	vm_hold(vm);
	start_server(op);
}

static void on_incoming_resumed(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct vm *vm = ctx;
	if (st != QMP_OK) {
		/* The guest stays paused here (the sender's copy never runs
		 * again): someone must look, and a resume may still work. */
		log_error("vm_migration_resume_failed", "vm=%s error=%s", vm->spec.name, log_quote(err ? err : "QEMU exited"));
		if (vm->state == VM_INCOMING)
			vm_set_state(vm, VM_PAUSED);
		vm_store_write_state(vm, false);
	}
	vm_release(vm);
}

static void on_exports_gone(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct vm *vm = ctx;
	if (st != QMP_OK)
		log_warn("vm_migration_nbd_stop_failed", "vm=%s error=%s", vm->spec.name, log_quote(err ? err : "QEMU exited"));
	/* The copies are the VM's disks now: a delete that keeps disks keeps
	 * them. */
	for (int i = 0; i < vm->spec.ndisks; i++)
		vm->spec.disks[i].copy_in = false;
	struct errinfo e = {0};
	if (vm_store_write_spec(vm, "spec.json", &e) < 0)
		log_error("vm_migration_spec_unsaved", "vm=%s error=%s", vm->spec.name, log_quote(e.message));
	char marker[1200];
	vm_store_path(vm, COPY_RESUME_MARKER, marker, sizeof(marker));
	unlink(marker);
	vm->mig.copy_disks = false;
	vm->mig.releasing = false;
	vm->mig.nbd_port = 0;
	if (vm->mig.resume && vm->qmp) {
		log_info("vm_migration_resume", "vm=%s", vm->spec.name);
		qmp_cont(vm->qmp, on_incoming_resumed, vm); /* RESUME: running */
		return;
	}
	if (vm->state == VM_INCOMING)
		vm_set_state(vm, VM_PAUSED);
	vm_store_write_state(vm, false);
	vm_release(vm);
}

void vm_nbd_incoming_done(struct vm *vm)
{
	if (!vm->qmp || vm->mig.releasing)
		return;
	crash_point("migrate:incoming_arrived");
	vm->mig.releasing = true;
	vm_hold(vm);
	qmp_nbd_server_stop(vm->qmp, on_exports_gone, vm);
}

int vm_incoming_set_resume(struct vm *vm, bool resume, struct errinfo *e)
{
	vm->mig.resume = resume;
	if (!resume || !vm->mig.copy_disks)
		return 0;
	char marker[1200];
	vm_store_path(vm, COPY_RESUME_MARKER, marker, sizeof(marker));
	int rc = fs_write_atomic(marker, "1", 1, 0600);
	return rc < 0 ? errinfo_set(e, 500, "store", NULL, "cannot write %s: %s", marker, strerror(-rc)) : 0;
}

void vm_nbd_recover(struct vm *vm)
{
	bool copies = false;
	for (int i = 0; i < vm->spec.ndisks; i++)
		copies |= vm->spec.disks[i].copy_in;
	if (!copies || !vm->qmp)
		return;
	char marker[1200];
	vm_store_path(vm, COPY_RESUME_MARKER, marker, sizeof(marker));
	vm->mig.copy_disks = true;
	vm->mig.resume = fs_exists(marker);
	log_info("vm_migration_incoming_recover", "vm=%s state=%s resume=%d", vm->spec.name, vm_state_name(vm->state),
	         vm->mig.resume);
	/* The state arrived while this agent was down: QEMU waits (paused,
	 * its autostart off) for the exports to go. Still incoming: the
	 * MIGRATION event will say when. */
	if (vm->state != VM_INCOMING)
		vm_nbd_incoming_done(vm);
}

/* ---- the sending side: the mirrors ------------------------------------------- */

/* The names of every job and NBD node this file makes: "mig<N>-<disk>". */
static bool is_ours(const char *id) { return !strncmp(id, "mig", 3) && strchr(id, '-'); }

static void ignore_reply(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd) {}

static void name_of(const struct vm_mig_mirror *m, int k, char *out, size_t n)
{
	snprintf(out, n, "%s%s", m->prefix, m->vm->spec.disks[m->disk[k]].name);
}

/* The mirrors stop (forced: the copies are dropped with the receiver) and
 * their NBD nodes go; the disks stay the sender's. */
static void drop_mirrors(struct vm_mig_mirror *m)
{
	struct vm *vm = m->vm;
	for (int k = 0; k < m->ndisks && vm->qmp; k++) {
		char name[96];
		name_of(m, k, name, sizeof(name));
		qmp_block_job_cancel(vm->qmp, name, true, ignore_reply, NULL);
		qmp_job_dismiss(vm->qmp, name, ignore_reply, NULL);
		qmp_blockdev_del(vm->qmp, name, ignore_reply, NULL);
	}
}

static void mirror_free(struct vm_mig_mirror *m)
{
	struct vm *vm = m->vm;
	if (m->timer)
		loop_timer_cancel(vm->agent->loop, m->timer);
	if (vm->mig.mirror == m)
		vm->mig.mirror = NULL;
	free(m);
	vm_release(vm);
}

/* The migration ends before the memory went: the guest runs on here. */
static void mirror_fail(struct vm_mig_mirror *m, const char *status, const char *why)
{
	struct vm *vm = m->vm;
	log_warn("vm_migration_disks_failed", "vm=%s status=%s why=%s", vm->spec.name, status, log_quote(why));
	snprintf(vm->mig.status, sizeof(vm->mig.status), "%s", status);
	snprintf(vm->mig.error, sizeof(vm->mig.error), "%s", why);
	drop_mirrors(m);
	if (m->done) { /* the caller still waits: it hears why */
		struct errinfo e = {0};
		errinfo_set(&e, 502, "disk_copy_failed", NULL, "%s", why);
		vm_done_fn done = m->done;
		m->done = NULL;
		done(m->ctx, 0, NULL, &e);
	}
	vm_store_write_state(vm, false);
	mirror_free(m);
}

static void mirror_poll(void *ctx);

static void schedule(struct vm_mig_mirror *m, uint64_t ms)
{
	m->timer = loop_timer_after(m->vm->agent->loop, ms, mirror_poll, m);
}

/* The memory's send began (or could not): from here QEMU's MIGRATION
 * events and vm_migrate_event carry it. */
static void on_memory_sending(void *ctx, int status, json_t *result, const struct errinfo *e)
{
	struct vm_mig_mirror *m = ctx;
	json_decref(result);
	if (e) {
		mirror_fail(m, "failed", e->message);
		return;
	}
	log_info("vm_migration_disks_ready", "vm=%s disks=%d bytes=%lld", m->vm->spec.name, m->ndisks,
	         (long long)m->total_bytes);
}

static void on_jobs(void *ctx, enum qmp_status st, json_t *jobs, const char *err, const char *cmd)
{
	struct vm_mig_mirror *m = ctx;
	struct vm *vm = m->vm;
	if (st != QMP_OK || !vm->qmp) {
		mirror_fail(m, "failed", err ? err : "QEMU exited while the disks were copied");
		return;
	}
	int ready = 0;
	int64_t done = 0, total = 0;
	for (int k = 0; k < m->ndisks; k++) {
		char name[96];
		name_of(m, k, name, sizeof(name));
		const json_t *j = qmp_job_find(jobs, name);
		const char *s = json_string_value(json_object_get(j, "status")) ?: "";
		const char *jerr = json_string_value(json_object_get(j, "error"));
		if (!j || jerr || !strcmp(s, "concluded") || !strcmp(s, "aborting") || !strcmp(s, "null")) {
			char why[400];
			snprintf(why, sizeof(why), "copying disk '%s' to the receiving host failed: %s",
			         vm->spec.disks[m->disk[k]].name, jerr ? jerr : j ? s : "its mirror is gone");
			mirror_fail(m, "failed", why);
			return;
		}
		ready += !strcmp(s, "ready");
		done += json_integer_value(json_object_get(j, "current-progress"));
		total += json_integer_value(json_object_get(j, "total-progress"));
	}
	m->done_bytes = done;
	m->total_bytes = total;
	if (m->cancel) {
		mirror_fail(m, "cancelled", "cancelled on request while the disks were copied");
		return;
	}
	if (ready < m->ndisks) {
		schedule(m, MIRROR_POLL_MS);
		return;
	}
	/* Every copy is whole and kept so: the memory goes now. */
	m->memory_sent = true;
	vm_migrate_begin(vm, m->uri, &m->opts, on_memory_sending, m);
}

static void mirror_poll(void *ctx)
{
	struct vm_mig_mirror *m = ctx;
	m->timer = NULL;
	if (!m->vm->qmp) {
		mirror_fail(m, "failed", "QEMU exited while the disks were copied");
		return;
	}
	qmp_query_jobs(m->vm->qmp, on_jobs, m);
}

static void setup_next(struct vm_mig_mirror *m);

/* Before a copy starts: what an earlier attempt left in this QEMU (its
 * agent was killed while it copied, or its cancel is still concluding)
 * goes first: its mirror would hold the disk (a second mirror of it is
 * refused), and a failed job of its would fail the next switchover. */
static void on_sweep_nodes(void *ctx, enum qmp_status st, json_t *nodes, const char *err, const char *cmd)
{
	struct vm_mig_mirror *m = ctx;
	size_t i;
	json_t *n;
	json_array_foreach(st == QMP_OK ? nodes : NULL, i, n) {
		const char *name = json_string_value(json_object_get(n, "node-name")) ?: "";
		if (is_ours(name) && m->vm->qmp)
			qmp_blockdev_del(m->vm->qmp, name, ignore_reply, NULL);
	}
	m->swept = true;
	setup_next(m);
}

/* One look (query-jobs' answer) at the jobs of this file whose ids start
 * with prefix: concluded ones are dismissed and their NBD nodes deleted;
 * the others are cancelled when cancel is set (force: dropped at once;
 * else a ready mirror first copies what is left). Whether any still runs;
 * *failed (may be NULL) gets the error of a concluded one that failed. */
static bool settle_jobs(struct vm *vm, const json_t *jobs, const char *prefix, bool cancel, bool force,
                        const char **failed)
{
	bool left = false;
	size_t i;
	json_t *j;
	json_array_foreach(jobs, i, j) {
		const char *id = json_string_value(json_object_get(j, "id")) ?: "";
		if (!is_ours(id) || strncmp(id, prefix, strlen(prefix)))
			continue;
		if (!strcmp(json_string_value(json_object_get(j, "status")) ?: "", "concluded")) {
			const char *jerr = json_string_value(json_object_get(j, "error"));
			if (jerr && failed)
				*failed = jerr;
			qmp_job_dismiss(vm->qmp, id, ignore_reply, NULL);
			qmp_blockdev_del(vm->qmp, id, ignore_reply, NULL);
			continue;
		}
		left = true;
		if (cancel) {
			log_info("vm_migration_mirror_cancel", "vm=%s job=%s force=%d", vm->spec.name, id, force);
			qmp_block_job_cancel(vm->qmp, id, force, ignore_reply, NULL);
		}
	}
	return left;
}

static void sweep_poll(void *ctx);

static void on_sweep_jobs(void *ctx, enum qmp_status st, json_t *jobs, const char *err, const char *cmd)
{
	struct vm_mig_mirror *m = ctx;
	struct vm *vm = m->vm;
	if (st != QMP_OK || !vm->qmp) {
		mirror_fail(m, "failed", err ? err : "QEMU exited");
		return;
	}
	if (!settle_jobs(vm, jobs, "mig", m->polls == 0, true, NULL)) {
		qmp_query_named_block_nodes(vm->qmp, on_sweep_nodes, m);
		return;
	}
	if (++m->polls > 250) {
		mirror_fail(m, "failed", "an earlier migration's disk mirror did not end; try again");
		return;
	}
	m->timer = loop_timer_after(vm->agent->loop, 20, sweep_poll, m);
}

static void sweep_poll(void *ctx)
{
	struct vm_mig_mirror *m = ctx;
	m->timer = NULL;
	if (!m->vm->qmp) {
		mirror_fail(m, "failed", "QEMU exited");
		return;
	}
	qmp_query_jobs(m->vm->qmp, on_sweep_jobs, m);
}

static void on_setup_step(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct vm_mig_mirror *m = ctx;
	if (st != QMP_OK || !m->vm->qmp) {
		char why[400];
		snprintf(why, sizeof(why), "the disks' copy could not start (%s): %s", cmd,
		         err ? err : "QEMU exited");
		mirror_fail(m, "failed", why);
		return;
	}
	m->step++;
	setup_next(m);
}

/* Steps 0..n-1 open the receiver's exports, n..2n-1 start the mirrors. */
static void setup_next(struct vm_mig_mirror *m)
{
	struct vm *vm = m->vm;
	if (!m->swept) {
		qmp_query_jobs(vm->qmp, on_sweep_jobs, m);
		return;
	}
	if (m->step == 2 * m->ndisks) {
		snprintf(vm->mig.status, sizeof(vm->mig.status), "copying-disks");
		vm_store_write_state(vm, false);
		log_info("vm_migration_disks_copying", "vm=%s disks=%d to=%s:%d", vm->spec.name, m->ndisks, m->host,
		         m->port);
		vm_done_fn done = m->done;
		m->done = NULL;
		done(m->ctx, 202, vm_to_json(vm), NULL);
		schedule(m, MIRROR_POLL_MS);
		return;
	}
	int k = m->step % m->ndisks;
	const char *disk = vm->spec.disks[m->disk[k]].name;
	char name[96], device[80];
	name_of(m, k, name, sizeof(name));
	if (m->step < m->ndisks) {
		qmp_blockdev_add_nbd(vm->qmp, name, m->host, m->port, disk, on_setup_step, m);
		return;
	}
	snprintf(device, sizeof(device), "drive-%s", disk);
	qmp_blockdev_mirror(vm->qmp, name, device, name, true, m->opts.max_bandwidth_bps, on_setup_step, m);
}

int vm_migrate_send_with_disks(struct vm *vm, const char *uri, const struct vm_migrate_opts *o,
                               const char *host, int port, const json_t *disks, vm_done_fn done,
                               void *ctx, struct errinfo *e)
{
	if (!url_host_is_ip(host))
		return errinfo_set(e, 400, "invalid_body", "nbd.host", "nbd.host: '%s' is not an IP address",
		                   host ? host : "");
	if (port < 1 || port > 65535)
		return errinfo_set(e, 400, "invalid_body", "nbd.port", "nbd.port: must be 1 to 65535");
	if (!json_is_array(disks) || json_array_size(disks) == 0 || json_array_size(disks) > VM_MAX_DISKS)
		return errinfo_set(e, 400, "invalid_body", "nbd.disks", "nbd.disks: give 1 to %d of the VM's disk names",
		                   VM_MAX_DISKS);
	if (vm_migrate_can_send(vm, uri, e) < 0)
		return -1;
	if (o->postcopy)
		return errinfo_set(e, 400, "invalid_body", "postcopy", "postcopy: not with disks copied (the "
		                   "receiver's disks must be whole before the guest runs there)");
	struct vm_mig_mirror *m = calloc(1, sizeof(*m));
	if (!m)
		abort();
	size_t i;
	json_t *d;
	json_array_foreach(disks, i, d) {
		const char *name = json_string_value(d);
		int idx = -1;
		for (int k = 0; name && k < vm->spec.ndisks; k++)
			if (!strcmp(vm->spec.disks[k].name, name))
				idx = k;
		for (int k = 0; k < m->ndisks && idx >= 0; k++)
			if (m->disk[k] == idx)
				idx = -1;
		if (idx < 0) {
			free(m);
			return errinfo_set(e, 400, "invalid_body", "nbd.disks",
			                   "nbd.disks[%zu]: '%s' is not a disk of VM '%s' (or is named twice)", i,
			                   name ? name : "", vm->spec.name);
		}
		m->disk[m->ndisks++] = idx;
	}
	m->vm = vm;
	snprintf(m->uri, sizeof(m->uri), "%s", uri);
	m->opts = *o;
	snprintf(m->host, sizeof(m->host), "%s", host);
	m->port = port;
	/* Names of this attempt's own: a mirror an earlier attempt left (its
	 * agent restarted) never stands in the way. */
	static unsigned seq;
	snprintf(m->prefix, sizeof(m->prefix), "mig%u-", (unsigned)(time(NULL) % 100000) * 100 + seq++ % 100);
	m->done = done;
	m->ctx = ctx;
	vm_hold(vm);
	vm->mig.mirror = m;
	vm->mig.role = VM_MIG_OUT;
	vm->mig.qemu_sending = false;
	vm->mig.error[0] = '\0';
	snprintf(vm->mig.uri, sizeof(vm->mig.uri), "%s", uri);
	snprintf(vm->mig.status, sizeof(vm->mig.status), "copying-disks");
	setup_next(m);
	return 0;
}

bool vm_mirror_copying(const struct vm *vm)
{
	return vm->mig.mirror && !vm->mig.mirror->memory_sent;
}

json_t *vm_mirror_json(const struct vm *vm)
{
	const struct vm_mig_mirror *m = vm->mig.mirror;
	if (!m)
		return NULL;
	return json_pack("{s:i, s:I, s:I, s:b}", "count", m->ndisks, "total_bytes", (json_int_t)m->total_bytes,
	                 "copied_bytes", (json_int_t)m->done_bytes, "ready", m->memory_sent);
}

int vm_mirror_cancel(struct vm *vm)
{
	if (!vm_mirror_copying(vm))
		return -1;
	vm->mig.mirror->cancel = true;
	return 0;
}

/* ---- pre-switchover: the mirrors end, whole, then the device state goes ------- */

/* Stateless on purpose: an agent that restarted while QEMU waits in
 * pre-switchover knows no mirror, and ends them all the same (every job
 * this file starts is "mig<N>-<disk>"). */
struct switchover {
	struct vm *vm;
	char prefix[32]; /* this migration's jobs' ("mig" when the agent restarted: all of its kind) */
	int polls;
	bool asked; /* block-job-cancel sent to each */
};

static void switchover_end(struct switchover *s, const char *err)
{
	struct vm *vm = s->vm;
	if (err) {
		/* The guest stays here: the memory's send is cancelled, and
		 * QEMU runs the guest again. */
		log_warn("vm_migration_switchover_failed", "vm=%s error=%s", vm->spec.name, log_quote(err));
		snprintf(vm->mig.error, sizeof(vm->mig.error), "ending the disks' mirrors failed: %s", err);
		if (vm->qmp)
			qmp_migrate_cancel(vm->qmp, ignore_reply, NULL);
	} else if (vm->qmp) {
		qmp_migrate_continue(vm->qmp, ignore_reply, NULL);
		log_info("vm_migration_switchover", "vm=%s polls=%d", vm->spec.name, s->polls);
	}
	vm->mig.switching = false;
	free(s);
	vm_release(vm);
}

static void switchover_poll(void *ctx);

static void on_switch_jobs(void *ctx, enum qmp_status st, json_t *jobs, const char *err, const char *cmd)
{
	struct switchover *s = ctx;
	struct vm *vm = s->vm;
	if (st != QMP_OK || !vm->qmp) {
		switchover_end(s, err ? err : "QEMU exited");
		return;
	}
	const char *failed = NULL;
	bool left = settle_jobs(vm, jobs, s->prefix, !s->asked, false, s->asked ? NULL : &failed);
	if (failed) { /* it failed before it was asked to end: the copy is not whole */
		switchover_end(s, failed);
		return;
	}
	s->asked = true;
	if (!left) {
		switchover_end(s, NULL);
		return;
	}
	if (++s->polls > SWITCHOVER_MAX_POLLS) {
		switchover_end(s, "the mirrors did not end");
		return;
	}
	loop_timer_after(vm->agent->loop, SWITCHOVER_POLL_MS, switchover_poll, s);
}

static void switchover_poll(void *ctx)
{
	struct switchover *s = ctx;
	if (!s->vm->qmp) {
		switchover_end(s, "QEMU exited");
		return;
	}
	qmp_query_jobs(s->vm->qmp, on_switch_jobs, s);
}

void vm_mirror_switchover(struct vm *vm)
{
	if (vm->mig.switching || !vm->qmp)
		return;
	vm->mig.switching = true;
	struct switchover *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->vm = vm;
	snprintf(s->prefix, sizeof(s->prefix), "%s", vm->mig.mirror ? vm->mig.mirror->prefix : "mig");
	vm_hold(vm);
	qmp_query_jobs(vm->qmp, on_switch_jobs, s);
}

void vm_mirror_migration_ended(struct vm *vm, bool failed)
{
	struct vm_mig_mirror *m = vm->mig.mirror;
	if (!m || !m->memory_sent)
		return;
	if (failed)
		drop_mirrors(m);
	mirror_free(m);
}

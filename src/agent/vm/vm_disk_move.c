/* vm_disk_move.c - storage migration: a VM's disk moved to another
 * datastore of this host, while the guest runs or not. Stopped, the file
 * is copied as it is (sparse, on a thread of its own) and then is the
 * disk. Running, it moves while the guest runs. A new image is made there
 * (the same template under it), QEMU mirrors the disk onto it
 * (blockdev-mirror, copy-mode write-blocking: once ready, every guest
 * write lands on both before the guest hears it, so the copy always
 * catches up), then switches the disk to it and the old file goes.
 *
 * The intent file disk-move.json says what is under way and how far, so
 * that whatever dies (the agent, QEMU, both) the VM is left with one disk
 * that holds all its writes:
 *   copying:    the source is the disk; the new file is only a copy.
 *   completing: the mirror was ready (both sides equal, writes to both),
 *               the guest was paused (QMP stop, which flushes every
 *               node: QEMU's mirror flushes only its source when the
 *               guest flushes) and the switch was asked: the new file
 *               holds every write whether or not QEMU switched, so it
 *               is the disk. The guest runs again once QEMU says which
 *               file its disk is ("resume" in the intent).
 * With QEMU still running after an agent restart, QEMU says which file
 * the disk is (query-block). */
#include "vm_internal.h"

#include "crashpoint.h"
#include "firmware.h"
#include "fsutil.h"
#include "log.h"
#include "loop.h"
#include "loop_jobs.h"
#include "qmp_cmds.h"
#include "seed.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MOVE_POLL_MS 100
#define MOVE_INTENT "disk-move.json"
/* Room left on the datastore beyond the disk's allocated size: qcow2
 * metadata, and the guest's writes while it moves. */
#define MOVE_HEADROOM_BYTES (64ll << 20)

struct vm_disk_move {
	struct vm *vm;
	int disk; /* index in spec.disks */
	char to[64];
	char from_path[1200], to_path[1200];
	char job[64], node[64];
	uint64_t speed_bps; /* the copy's cap; 0: none */
	bool completing; /* job-complete sent: the intent says so first */
	bool pausing;    /* QMP stop sent before the switch */
	bool resume;     /* the guest ran: it runs again after the switch */
	bool cancelling;
	bool node_added;
	/* QMP commands sent with this move as their context: after QEMU exits
	 * their callbacks still come (QMP_CLOSED, from the loop), so the move
	 * is freed by the last of them, not by the exit. */
	int inflight;
	int64_t done_bytes, total_bytes; /* a stopped VM's copy: written by its thread (atomics) */
	struct loop_timer *timer;
	/* A stopped VM's copy: its thread, and how it ended (0 or -errno). */
	struct loop_jobs *copier;
	int copy_rc;
};

static void intent_path(const struct vm *vm, char *out, size_t n) { vm_store_path(vm, MOVE_INTENT, out, n); }

static int write_intent(struct vm_disk_move *m, struct errinfo *e)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "disk", m->vm->spec.disks[m->disk].name,
	                      "to", m->to, "from_path", m->from_path, "to_path", m->to_path, "node", m->node,
	                      "job", m->job, "phase", m->completing ? "completing" : "copying", "resume", m->resume);
	char *s = json_dumps(j, JSON_SORT_KEYS);
	json_decref(j);
	char path[1200];
	intent_path(m->vm, path, sizeof(path));
	int rc = s ? fs_write_atomic(path, s, strlen(s), 0600) : -ENOMEM;
	free(s);
	if (rc < 0)
		return errinfo_set(e, rc == -ENOSPC ? 507 : 500, "store", NULL, "cannot write %s: %s", path,
		                   strerror(-rc));
	return 0;
}

static void drop_intent(struct vm *vm)
{
	char path[1200];
	intent_path(vm, path, sizeof(path));
	unlink(path);
}

/* The UEFI variable store follows the first disk: copied to its new folder
 * (a running QEMU keeps writing the old one it has open until it stops: a
 * variable it sets after the copy is lost), the old one removed. */
static void move_vars(struct vm *vm, const char *old_vars)
{
	char vars[1200];
	struct errinfo e = {0};
	vm_vars_path(vm, vars, sizeof(vars));
	if (!strcmp(vars, old_vars))
		return;
	unlink(vars); /* one left by an earlier move that stopped halfway */
	int fd = -1;
	if (vm_id_create_file(vm, vars, 0640, "firmware", &e) < 0 ||
	    (fd = open(vars, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    firmware_uefi_vars_copy(&(struct uefi_files){.vars = old_vars}, fd, vars, &e) < 0) {
		log_error("disk_move_vars_failed", "vm=%s error=%s", vm->spec.name,
		          log_quote(e.message[0] ? e.message : strerror(errno)));
		if (fd >= 0)
			close(fd);
		unlink(vars); /* the next start makes a fresh one */
		return;
	}
	close(fd);
	unlink(old_vars);
}

/* The disk is the file at to_path on datastore to from now on: the spec
 * says so (durably, before the old file goes), the seed follows the first
 * disk's folder, and the files are the VM's. */
static void adopt(struct vm *vm, int disk, const char *to, const char *to_path, const char *from_path)
{
	struct vm_disk *d = &vm->spec.disks[disk];
	char old_seed[1200] = "", old_vars[1200] = "";
	if (vm->spec.has_cloud_init && disk == 0)
		vm_seed_path(vm, old_seed, sizeof(old_seed));
	if (disk == 0)
		vm_vars_path(vm, old_vars, sizeof(old_vars));
	snprintf(d->datastore, sizeof(d->datastore), "%s", to);
	free(d->path);
	d->path = strdup(to_path);
	struct errinfo e = {0};
	if (vm_store_write_spec(vm, "spec.json", &e) < 0) {
		/* The stored spec still names the old file: it stays, and so does
		 * the intent (its phase says the copy is the disk), so the next
		 * start of the agent or of the VM finishes this. */
		log_error("disk_move_spec_failed", "vm=%s error=%s", vm->spec.name, log_quote(e.message));
		return;
	}
	if (old_seed[0]) {
		/* The seed is made again where the first disk now lives (it is
		 * built from the spec alone); a running QEMU keeps reading the
		 * old one it has open. */
		char iso[1200];
		vm_seed_path(vm, iso, sizeof(iso));
		if (seed_build(vm->dir, iso, &vm->spec, &e) < 0)
			log_error("disk_move_seed_failed", "vm=%s error=%s", vm->spec.name, log_quote(e.message));
		else if (strcmp(old_seed, iso))
			unlink(old_seed);
	}
	if (old_vars[0] && fs_exists(old_vars))
		move_vars(vm, old_vars);
	if (vm_id_own_files(vm, &e) < 0)
		log_warn("disk_move_own_failed", "vm=%s error=%s", vm->spec.name, log_quote(e.message));
	if (strcmp(from_path, to_path))
		unlink(from_path);
	/* The old folder goes when nothing of the VM is left in it. */
	char dir[1200];
	snprintf(dir, sizeof(dir), "%s", from_path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		rmdir(dir);
	}
	drop_intent(vm);
	log_info("disk_moved", "vm=%s disk=%s datastore=%s path=%s", vm->spec.name, d->name, to, to_path);
}

/* The file QEMU has under disk `disk` (its -drive id "drive-NAME"), from a
 * query-block answer; NULL when it lists none. */
static const char *disk_file(const json_t *blocks, const char *disk)
{
	char dev[80];
	snprintf(dev, sizeof(dev), "drive-%s", disk);
	size_t i;
	json_t *b;
	json_array_foreach(blocks, i, b)
		if (!strcmp(json_string_value(json_object_get(b, "device")) ?: "", dev))
			return json_string_value(json_object_get(json_object_get(b, "inserted"), "file"));
	return NULL;
}

static void ignore_reply(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd) {}

/* The move is over, the disk where `adopted` says; error: why it failed. */
static void move_end(struct vm_disk_move *m, bool adopted, const char *error)
{
	struct vm *vm = m->vm;
	if (m->timer)
		loop_timer_cancel(vm->agent->loop, m->timer);
	if (m->copier)
		loop_jobs_free(m->copier); /* its one job is over: this is its done */
	if (!adopted) {
		/* The source stays the disk: the copy, and QEMU's node of it, go. */
		if (vm->qmp && m->node_added)
			qmp_blockdev_del(vm->qmp, m->node, ignore_reply, NULL);
		unlink(m->to_path);
		drop_intent(vm);
		snprintf(vm->move_error, sizeof(vm->move_error), "moving disk '%s' to datastore '%s' %s",
		         vm->spec.disks[m->disk].name, m->to, error ? error : "was cancelled");
		log_warn("disk_move_failed", "vm=%s disk=%s datastore=%s error=%s", vm->spec.name,
		         vm->spec.disks[m->disk].name, m->to, log_quote(vm->move_error));
	}
	if (m->resume && vm->qmp) /* paused for the switch: runs again, whatever became of it */
		qmp_cont(vm->qmp, ignore_reply, NULL);
	vm->move = NULL;
	free(m);
	vm_release(vm);
}

/* QEMU is gone: the phase decides (see the top of this file). */
static void settle_gone(struct vm_disk_move *m)
{
	if (m->completing) {
		adopt(m->vm, m->disk, m->to, m->to_path, m->from_path);
		move_end(m, true, NULL);
	} else {
		m->node_added = false; /* gone with QEMU */
		move_end(m, false, m->cancelling ? NULL : "failed: QEMU exited during the move");
	}
}

/* A reply to this move's command: false when the move was settled (QEMU
 * went away) and m is gone. */
static bool replied(struct vm_disk_move *m)
{
	m->inflight--;
	if (m->vm->qmp)
		return true;
	settle_gone(m);
	return false;
}

static void poll_job(void *ctx);

/* While the switch is under way the guest is paused for it: QEMU is asked
 * every SWITCH_POLL_MS whether it is done (a mirror's switch takes a few
 * ms; polling at MOVE_POLL_MS made it a 100 ms pause). */
#define SWITCH_POLL_MS 2

static void schedule_poll(struct vm_disk_move *m)
{
	m->timer = loop_timer_after(m->vm->agent->loop, m->completing ? SWITCH_POLL_MS : MOVE_POLL_MS, poll_job, m);
}

static void on_dismissed(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd) {}

/* After the job concluded without error: which file the disk is now. */
static void on_block(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct vm_disk_move *m = ctx;
	if (!replied(m))
		return;
	struct vm *vm = m->vm;
	const char *file = st == QMP_OK ? disk_file(ret, vm->spec.disks[m->disk].name) : NULL;
	if (st != QMP_OK) {
		/* Not answered (a timeout): ask again. */
		m->inflight++;
		qmp_query_block(vm->qmp, on_block, m);
		return;
	}
	if (file && !strcmp(file, m->to_path)) {
		/* Switched: the guest may run on at once (its flushes reach the
		 * new file now), before the spec is written. */
		if (m->resume)
			qmp_cont(vm->qmp, ignore_reply, NULL);
		m->resume = false;
		adopt(vm, m->disk, m->to, m->to_path, m->from_path);
		move_end(m, true, NULL);
	} else {
		move_end(m, false, m->cancelling ? NULL : "ended with the disk still on its source");
	}
}

static void on_paused(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd);
static void on_complete_asked(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd);

static void on_jobs(void *ctx, enum qmp_status st, json_t *jobs, const char *err, const char *cmd)
{
	struct vm_disk_move *m = ctx;
	if (!replied(m))
		return;
	struct vm *vm = m->vm;
	if (st != QMP_OK) {
		schedule_poll(m);
		return;
	}
	const json_t *job = qmp_job_find(jobs, m->job);
	if (!job) {
		move_end(m, false, "failed: QEMU's mirror job vanished");
		return;
	}
	const char *status = json_string_value(json_object_get(job, "status")) ?: "";
	m->done_bytes = json_integer_value(json_object_get(job, "current-progress"));
	m->total_bytes = json_integer_value(json_object_get(job, "total-progress"));
	if (!strcmp(status, "concluded")) {
		const char *jerr = json_string_value(json_object_get(job, "error"));
		qmp_job_dismiss(vm->qmp, m->job, on_dismissed, NULL);
		if (jerr) {
			char why[400];
			snprintf(why, sizeof(why), "failed: %s", jerr);
			if (m->completing) {
				/* Failed after the switch was asked: QEMU says where the
				 * disk is. */
				m->inflight++;
				qmp_query_block(vm->qmp, on_block, m);
				return;
			}
			move_end(m, false, why);
			return;
		}
		m->inflight++;
		qmp_query_block(vm->qmp, on_block, m);
		return;
	}
	if (!strcmp(status, "ready") && !m->completing && !m->cancelling && !m->pausing) {
		/* Both sides equal, every write lands on both. The guest pauses
		 * for the switch: QMP stop flushes every node, the copy's too. */
		m->pausing = true;
		m->resume = vm->state == VM_RUNNING;
		m->inflight++;
		qmp_stop(vm->qmp, on_paused, m);
		return;
	}
	schedule_poll(m);
}

/* The guest paused, both files flushed: from here on the new file is the
 * disk, whatever happens (intent first), and QEMU is asked to switch. */
static void on_paused(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct vm_disk_move *m = ctx;
	if (!replied(m))
		return;
	struct vm *vm = m->vm;
	struct errinfo e = {0};
	if (st != QMP_OK || m->cancelling) {
		/* Not paused (no switch without it), or cancelled meanwhile: the
		 * mirror stops. */
		if (st != QMP_OK)
			m->resume = false;
		m->cancelling = true;
		log_warn("disk_move_pause_failed", "vm=%s error=%s", vm->spec.name, log_quote(err ? err : "?"));
		qmp_job_cancel(vm->qmp, m->job, ignore_reply, NULL);
	} else {
		m->completing = true;
		if (write_intent(m, &e) < 0) {
			m->completing = false;
			m->cancelling = true;
			log_warn("disk_move_intent_failed", "vm=%s error=%s", vm->spec.name, log_quote(e.message));
			qmp_job_cancel(vm->qmp, m->job, ignore_reply, NULL);
		} else {
			crash_point("disk_move:completing");
			m->inflight++;
			qmp_job_complete(vm->qmp, m->job, on_complete_asked, m);
			return;
		}
	}
	schedule_poll(m);
}

/* QEMU refused the switch (the job not ready after all): it stops, the
 * disk stays where it is; the intent goes back to copying first, as the
 * guest will run on from the source. */
static void on_complete_asked(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct vm_disk_move *m = ctx;
	if (!replied(m))
		return;
	if (st != QMP_OK) {
		struct errinfo e = {0};
		log_warn("disk_move_switch_refused", "vm=%s error=%s", m->vm->spec.name, log_quote(err ? err : "?"));
		m->completing = false;
		m->cancelling = true;
		if (write_intent(m, &e) < 0)
			log_warn("disk_move_intent_failed", "vm=%s error=%s", m->vm->spec.name, log_quote(e.message));
		qmp_job_cancel(m->vm->qmp, m->job, ignore_reply, NULL);
	}
	schedule_poll(m);
}

static void poll_job(void *ctx)
{
	struct vm_disk_move *m = ctx;
	m->timer = NULL;
	if (!m->vm->qmp) {
		settle_gone(m);
		return;
	}
	m->inflight++;
	qmp_query_jobs(m->vm->qmp, on_jobs, m);
}

static void on_mirror(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct vm_disk_move *m = ctx;
	if (!replied(m))
		return;
	if (st != QMP_OK) {
		char why[400];
		snprintf(why, sizeof(why), "failed: QEMU refused the mirror: %s", err ? err : "QEMU exited");
		move_end(m, false, why);
		return;
	}
	log_info("disk_move_started", "vm=%s disk=%s datastore=%s job=%s", m->vm->spec.name,
	         m->vm->spec.disks[m->disk].name, m->to, m->job);
	if (m->cancelling) /* asked while the mirror was being set up */
		qmp_job_cancel(m->vm->qmp, m->job, ignore_reply, NULL);
	crash_point("disk_move:copying");
	schedule_poll(m);
}

static void on_added(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct vm_disk_move *m = ctx;
	if (!replied(m))
		return;
	if (st != QMP_OK) {
		char why[400];
		snprintf(why, sizeof(why), "failed: QEMU could not open the new image: %s",
		         err ? err : "QEMU exited");
		move_end(m, false, why);
		return;
	}
	m->node_added = true;
	if (m->cancelling) { /* asked before there was a job to cancel */
		move_end(m, false, NULL);
		return;
	}
	char source[80];
	snprintf(source, sizeof(source), "drive-%s", m->vm->spec.disks[m->disk].name);
	m->inflight++;
	qmp_blockdev_mirror(m->vm->qmp, m->job, source, m->node, false, m->speed_bps, on_mirror, m);
}

/* The image the disk moves onto: the same template under it as the source
 * has, or none when the disk is a copy of its own, and the same size. The
 * template is the spec's; a VM that arrived by live migration has none
 * recorded here, and then the header's backing file is taken only if it
 * passes the checks every template passes (in a datastore or image root,
 * root's, written by nobody else, no chain beyond it): the header is in a
 * file the VM's QEMU can write. */
static int make_target(struct vm *vm, struct vm_disk_move *m, struct errinfo *e)
{
	struct vm_disk *d = &vm->spec.disks[m->disk];
	struct vm_access va;
	vm_id_access(vm->agent, &vm->spec, 0, &va);
	uint64_t vbytes = 0, tbytes = 0;
	if (disk_info(&va.as, d->path, "qcow2", &vbytes, "datastore", e) < 0)
		return -1;
	char backing[1200] = "", bfmt[16] = "";
	if (disk_backing(&va.as, d->path, backing, sizeof(backing), bfmt, sizeof(bfmt), e) < 0)
		return -1;
	const char *tmpl = d->template_path, *tfmt = d->template_format;
	if (backing[0] && (!tmpl || strcmp(backing, tmpl))) {
		if (strcmp(bfmt, "qcow2") && strcmp(bfmt, "raw"))
			return errinfo_set(e, 409, "unsafe_image", "disk", "disk '%s' names '%s' as its backing file "
			                   "without a format qcow2 or raw; it is not moved", d->name, backing);
		uint64_t ignored = 0;
		if (disk_check_chain(&va.da, backing, bfmt, true, &ignored, "disk", e) < 0)
			return -1;
		tmpl = backing;
		tfmt = bfmt;
	}
	if (vm_id_create_file(vm, m->to_path, 0640, "datastore", e) < 0)
		return -1;
	uint64_t mib = vbytes % (1 << 20) ? 0 : vbytes >> 20;
	int rc = backing[0] ? disk_create_clone(&va.as, m->to_path, tmpl, tfmt, mib, "datastore", e)
	                    : disk_create_blank(&va.as, m->to_path, vbytes >> 20, "datastore", e);
	if (rc == 0 && disk_info(&va.as, m->to_path, "qcow2", &tbytes, "datastore", e) == 0 && tbytes != vbytes)
		rc = errinfo_set(e, 409, "invalid_state", "disk",
		                 "disk '%s' is %llu bytes, not a whole number of MiB; a new image of that size "
		                 "cannot be made", d->name, (unsigned long long)vbytes);
	if (rc < 0 || tbytes != vbytes) {
		unlink(m->to_path);
		return -1;
	}
	return 0;
}

static void copy_work(void *arg);
static void copy_done(void *arg);

int vm_disk_move(struct vm *vm, const char *disk, const char *to, uint64_t speed_bps, struct errinfo *e)
{
	struct agent *a = vm->agent;
	int idx = -1;
	for (int i = 0; i < vm->spec.ndisks; i++)
		if (!strcmp(vm->spec.disks[i].name, disk))
			idx = i;
	if (idx < 0)
		return errinfo_set(e, 404, "not_found", NULL, "VM '%s' has no disk '%s'", vm->spec.name, disk);
	const struct datastore *ds = config_datastore(&a->cfg, to);
	if (!ds) {
		char names[512] = "";
		for (int i = 0; i < a->cfg.ndatastores; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
			         a->cfg.datastores[i].name);
		return errinfo_set(e, 400, "invalid_body", "datastore", "datastore: this host has no datastore "
		                   "'%s' (it has: %s)", to, names);
	}
	struct vm_disk *d = &vm->spec.disks[idx];
	if (vm->move) {
		if (vm->move->disk == idx && !strcmp(vm->move->to, to))
			return 0; /* the same move, asked again (a re-run after a crash) */
		return errinfo_set(e, 409, "busy", NULL, "VM '%s' is moving disk '%s' to '%s'; try again when it "
		                   "is done", vm->spec.name, vm->spec.disks[vm->move->disk].name, vm->move->to);
	}
	if (!strcmp(d->datastore, to))
		return 1;
	char ipath[1200];
	intent_path(vm, ipath, sizeof(ipath));
	if (fs_exists(ipath))
		return errinfo_set(e, 409, "busy", NULL, "an earlier move of VM '%s''s disk is not settled yet (it is "
		                   "when the VM next starts, or the agent restarts); try again then", vm->spec.name);
	bool live = vm->qmp && (vm->state == VM_RUNNING || vm->state == VM_PAUSED);
	/* A QEMU this agent could not re-attach to still has the disk open. */
	if (!live && (vm->pid > 0 || (vm->state != VM_STOPPED && vm->state != VM_CRASHED)))
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s%s; move its disk once it runs or is "
		                   "stopped", vm->spec.name, vm_state_name(vm->state),
		                   vm->pid > 0 ? " (its QEMU runs without a monitor this agent reaches)" : "");
	if (live) {
		/* A mirror copies what the guest sees, not the image's internal
		 * snapshots: a live move would lose them. A stopped VM's file is
		 * copied whole, snapshots included. */
		struct vm_access va;
		vm_id_access(a, &vm->spec, 0, &va);
		json_t *snaps = disk_snapshot_list(&va.as, d->path, e);
		if (!snaps)
			return -1;
		size_t nsnaps = json_array_size(snaps);
		json_decref(snaps);
		if (nsnaps)
			return errinfo_set(e, 409, "has_snapshots", NULL, "disk '%s' has %zu snapshot%s, which a live move "
			                   "would not carry; stop the VM to move its disk with them, or delete them",
			                   d->name, nsnaps, nsnaps == 1 ? "" : "s");
	}
	if (vm->job_active)
		return errinfo_set(e, 409, "busy", NULL, "VM '%s' is taking a snapshot; try again when it is done",
		                   vm->spec.name);
	bool migrating = vm_migrating(vm);
	if (migrating)
		return errinfo_set(e, 409, "busy", NULL, "VM '%s' is migrating; move its disk once it is done",
		                   vm->spec.name);
	struct stat st;
	if (stat(d->path, &st) < 0)
		return errinfo_set(e, 500, "datastore", NULL, "cannot read %s: %s", d->path, strerror(errno));
	int64_t need = (int64_t)st.st_blocks * 512 + MOVE_HEADROOM_BYTES, avail = fs_free_bytes(ds->path);
	if (avail >= 0 && avail < need)
		return errinfo_set(e, 507, "datastore_full", "datastore",
		                   "datastore '%s' has %lld MiB free; disk '%s' needs %lld MiB there (its %lld MiB "
		                   "in use and %lld MiB of room)", to, (long long)(avail >> 20), d->name,
		                   (long long)(need >> 20), (long long)((st.st_blocks * 512) >> 20),
		                   (long long)(MOVE_HEADROOM_BYTES >> 20));

	/* Names QEMU has not seen, across agent restarts too: a QEMU outlives
	 * its agent, and may still hold an earlier move's job or node. */
	static unsigned long seq;
	if (!seq)
		seq = (unsigned long)time(NULL) * 1000;
	struct vm_disk_move *m = calloc(1, sizeof(*m));
	if (!m)
		return errinfo_set(e, 500, "internal", NULL, "out of memory");
	m->vm = vm;
	m->disk = idx;
	m->speed_bps = speed_bps;
	snprintf(m->to, sizeof(m->to), "%s", to);
	snprintf(m->from_path, sizeof(m->from_path), "%s", d->path);
	char dir[1100];
	vm_store_disk_dir(a, to, vm->spec.name, dir, sizeof(dir));
	snprintf(m->to_path, sizeof(m->to_path), "%s/%s.qcow2", dir, d->name);
	++seq;
	snprintf(m->job, sizeof(m->job), "vdc-move-%lu", seq);
	snprintf(m->node, sizeof(m->node), "vdcm%lu", seq); /* QEMU: at most 31 characters */
	if (fs_exists(m->to_path)) {
		errinfo_set(e, 409, "disk_exists", "datastore", "%s already exists (a disk kept from a deleted VM?); "
		            "remove it, or move the disk to another datastore", m->to_path);
		free(m);
		return -1;
	}
	/* Intent first: a crash from here on finds the copy and removes it. */
	if (vm_give_dir(vm, dir, "datastore", e) < 0 || write_intent(m, e) < 0 || make_target(vm, m, e) < 0) {
		drop_intent(vm);
		free(m);
		return -1;
	}
	vm->move = m;
	vm->move_error[0] = '\0';
	vm_hold(vm);
	if (!live) {
		m->total_bytes = (int64_t)st.st_size;
		if (!(m->copier = loop_jobs_new(a->loop, 1)) || loop_jobs_start(m->copier, copy_work, copy_done, m) < 0) {
			move_end(m, false, "failed: no thread for the copy");
			return errinfo_set(e, 500, "internal", NULL, "cannot start the copy of disk '%s' (out of threads or "
			                   "memory)", d->name);
		}
		log_info("disk_move_started", "vm=%s disk=%s datastore=%s stopped=1", vm->spec.name, d->name, to);
		return 0;
	}
	m->inflight++;
	qmp_blockdev_add_qcow2(vm->qmp, m->node, m->to_path, on_added, m);
	return 0;
}

int vm_disk_move_cancel(struct vm *vm, struct errinfo *e)
{
	struct vm_disk_move *m = vm->move;
	if (!m)
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is moving no disk", vm->spec.name);
	if (m->completing)
		return errinfo_set(e, 409, "invalid_state", NULL, "disk '%s' is switching to datastore '%s' "
		                   "already; it cannot be cancelled now", vm->spec.disks[m->disk].name, m->to);
	if (m->copier)
		return errinfo_set(e, 409, "invalid_state", NULL, "a stopped VM's disk is copied as one file; it "
		                   "cannot be cancelled (move it back once it is done)");
	m->cancelling = true;
	if (vm->qmp)
		qmp_job_cancel(vm->qmp, m->job, ignore_reply, NULL);
	return 0;
}

json_t *vm_disk_move_json(const struct vm *vm)
{
	const struct vm_disk_move *m = vm->move;
	if (!m && vm->move_recovering[0]) /* followers wait for its outcome */
		return json_pack("{s:s, s:s, s:s, s:i, s:i}", "disk", vm->spec.ndisks ? vm->spec.disks[0].name : "",
		                 "to", vm->move_recovering, "phase", "recovering", "done_bytes", 0, "total_bytes", 0);
	if (!m)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:I, s:I}", "disk", vm->spec.disks[m->disk].name, "to", m->to, "phase",
	                 m->cancelling ? "cancelling" : m->completing ? "completing" : "copying", "done_bytes",
	                 (json_int_t)__atomic_load_n(&m->done_bytes, __ATOMIC_RELAXED), "total_bytes",
	                 (json_int_t)m->total_bytes);
}

/* ---- a stopped VM: the file copied as it is ---------------------------------- */

/* Copies src onto dst (an empty file) keeping holes, then fsyncs it: a
 * qcow2 file copied byte for byte is the same disk, its template named
 * by the same absolute path. The copy's progress and its end in m. */
static void copy_work(void *arg)
{
	struct vm_disk_move *m = arg;
	int in = open(m->from_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	/* Truncated first: what the source has as holes must read as zeros. */
	int out = open(m->to_path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	int rc = in < 0 || out < 0 ? -errno : 0;
	struct stat st;
	if (rc == 0 && fstat(in, &st) < 0)
		rc = -errno;
	off_t pos = 0;
	while (rc == 0 && pos < st.st_size) {
		off_t data = lseek(in, pos, SEEK_DATA);
		if (data < 0) { /* ENXIO: only a hole is left */
			rc = errno == ENXIO ? 0 : -errno;
			break;
		}
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0) {
			rc = -errno;
			break;
		}
		off_t at = data;
		static __thread char buf[1 << 20]; /* each copy on its own thread */
		bool plain = false; /* copy_file_range refused (another file system): read and write */
		while (at < hole) {
			ssize_t n;
			if (!plain) {
				n = copy_file_range(in, &at, out, &(off_t){at}, (size_t)(hole - at), 0);
				if (n < 0 && (errno == EXDEV || errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)) {
					plain = true;
					continue;
				}
			} else {
				size_t want = (size_t)(hole - at) < sizeof(buf) ? (size_t)(hole - at) : sizeof(buf);
				n = pread(in, buf, want, at);
				if (n > 0 && pwrite(out, buf, (size_t)n, at) != n)
					n = -1;
				if (n > 0)
					at += n;
			}
			if (n <= 0) {
				rc = n < 0 ? -errno : -EIO;
				break;
			}
			__atomic_store_n(&m->done_bytes, (int64_t)at, __ATOMIC_RELAXED);
		}
		pos = hole;
	}
	if (rc == 0 && (ftruncate(out, st.st_size) < 0 || fsync(out) < 0))
		rc = -errno;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	m->copy_rc = rc;
}

static void copy_done(void *arg)
{
	struct vm_disk_move *m = arg;
	struct vm *vm = m->vm;
	if (m->copy_rc < 0) {
		char why[300];
		snprintf(why, sizeof(why), "failed: copying %s: %s", m->from_path, strerror(-m->copy_rc));
		move_end(m, false, why);
		return;
	}
	/* The copy is whole and on disk: from here on it is the disk. */
	struct errinfo e = {0};
	m->completing = true;
	if (write_intent(m, &e) < 0) {
		char why[400];
		snprintf(why, sizeof(why), "failed: %s", e.message);
		move_end(m, false, why);
		return;
	}
	crash_point("disk_move:copied");
	adopt(vm, m->disk, m->to, m->to_path, m->from_path);
	move_end(m, true, NULL);
}

void vm_disk_move_qemu_gone(struct vm *vm)
{
	struct vm_disk_move *m = vm->move;
	/* With a command in flight, its reply (QMP_CLOSED) settles it; a
	 * stopped VM's copy, its thread's end. */
	if (m && m->inflight == 0 && !m->copier)
		settle_gone(m);
}

/* ---- after an agent restart ------------------------------------------------ */

#define RECOVER_POLLS 200 /* query-jobs every MOVE_POLL_MS: 20 s for the job to conclude */

struct recovery {
	struct vm *vm;
	int disk, polls;
	bool completing, resume;
	char to[64], to_path[1200], from_path[1200], job[64], node[64];
};

/* The guest paused for the switch runs again (also when the job did not
 * settle in time: QEMU keeps the truth, and the intent stays). */
static void recovery_end(struct recovery *r)
{
	struct vm *vm = r->vm;
	vm->move_recovering[0] = '\0';
	if (r->resume && vm->qmp)
		qmp_cont(vm->qmp, ignore_reply, NULL);
	free(r);
	vm_release(vm);
}

/* The job is over: which file the disk is decides. */
static void recovered_block(void *ctx, enum qmp_status st, json_t *ret, const char *err, const char *cmd)
{
	struct recovery *r = ctx;
	struct vm *vm = r->vm;
	const char *file = st == QMP_OK ? disk_file(ret, vm->spec.disks[r->disk].name) : NULL;
	if (st != QMP_OK || !vm->qmp) {
		/* QEMU went away meanwhile: the intent stays for the next look
		 * (a start, or the next agent). */
		r->resume = false;
		recovery_end(r);
		return;
	}
	if (file && !strcmp(file, r->to_path)) {
		log_info("vm_recover", "vm=%s action=finish_disk_move disk=%s", vm->spec.name,
		         vm->spec.disks[r->disk].name);
		adopt(vm, r->disk, r->to, r->to_path, r->from_path);
	} else {
		/* Still on its source: the copy, and QEMU's node of it, go. */
		log_info("vm_recover", "vm=%s action=drop_disk_move disk=%s", vm->spec.name,
		         vm->spec.disks[r->disk].name);
		qmp_blockdev_del(vm->qmp, r->node, ignore_reply, NULL);
		unlink(r->to_path);
		drop_intent(vm);
		snprintf(vm->move_error, sizeof(vm->move_error), "moving disk '%s' to datastore '%s' was interrupted "
		         "by an agent restart; the disk stays where it was", vm->spec.disks[r->disk].name, r->to);
	}
	recovery_end(r);
}

static void recover_poll(void *ctx);

/* First the job is brought to its end: switched when the intent says the
 * switch was asked (asked again if QEMU has it still ready: an asked
 * switch may or may not have reached it), else cancelled. Only a
 * concluded (or gone) job leaves the disk's file settled. */
static void recover_jobs(void *ctx, enum qmp_status st, json_t *jobs, const char *err, const char *cmd)
{
	struct recovery *r = ctx;
	struct vm *vm = r->vm;
	if (st != QMP_OK || !vm->qmp) {
		r->resume = false;
		recovery_end(r);
		return;
	}
	const json_t *job = qmp_job_find(jobs, r->job);
	const char *status = job ? json_string_value(json_object_get(job, "status")) ?: "" : NULL;
	if (status && strcmp(status, "concluded")) {
		if (++r->polls >= RECOVER_POLLS) {
			log_warn("disk_move_unsettled", "vm=%s job=%s status=%s", vm->spec.name, r->job, status);
			recovery_end(r);
			return;
		}
		if (r->polls == 1 || !strcmp(status, "ready")) {
			if (r->completing)
				qmp_job_complete(vm->qmp, r->job, ignore_reply, NULL);
			else
				qmp_job_cancel(vm->qmp, r->job, ignore_reply, NULL);
		}
		loop_timer_after(vm->agent->loop, MOVE_POLL_MS, recover_poll, r);
		return;
	}
	if (status)
		qmp_job_dismiss(vm->qmp, r->job, ignore_reply, NULL);
	qmp_query_block(vm->qmp, recovered_block, r);
}

static void recover_poll(void *ctx)
{
	struct recovery *r = ctx;
	if (!r->vm->qmp) {
		r->resume = false;
		recovery_end(r);
		return;
	}
	qmp_query_jobs(r->vm->qmp, recover_jobs, r);
}

void vm_disk_move_recover(struct vm *vm)
{
	char path[1200];
	intent_path(vm, path, sizeof(path));
	if (!fs_exists(path))
		return;
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	struct recovery *r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->vm = vm;
	r->disk = -1;
	char disk[64];
	snprintf(disk, sizeof(disk), "%s", json_string_value(json_object_get(j, "disk")) ?: "");
	for (int i = 0; i < vm->spec.ndisks; i++)
		if (!strcmp(vm->spec.disks[i].name, disk))
			r->disk = i;
	static const struct { const char *key; size_t off, n; } fields[] = {
		{"to", offsetof(struct recovery, to), sizeof(r->to)},
		{"to_path", offsetof(struct recovery, to_path), sizeof(r->to_path)},
		{"from_path", offsetof(struct recovery, from_path), sizeof(r->from_path)},
		{"job", offsetof(struct recovery, job), sizeof(r->job)},
		{"node", offsetof(struct recovery, node), sizeof(r->node)},
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		snprintf((char *)r + fields[i].off, fields[i].n, "%s",
		         json_string_value(json_object_get(j, fields[i].key)) ?: "");
	bool completing = !strcmp(json_string_value(json_object_get(j, "phase")) ?: "", "completing");
	r->completing = completing;
	r->resume = json_is_true(json_object_get(j, "resume"));
	json_decref(j);
	/* Only files of this VM's own disk folders are touched: the intent is
	 * the agent's, but its paths are checked against the spec all the same. */
	char want_dir[1100] = "", want_to[1300] = "";
	if (r->disk >= 0) {
		vm_store_disk_dir(vm->agent, r->to, vm->spec.name, want_dir, sizeof(want_dir));
		snprintf(want_to, sizeof(want_to), "%s/%s.qcow2", want_dir, disk);
	}
	if (r->disk >= 0 && !strcmp(want_to, r->to_path) && !strcmp(vm->spec.disks[r->disk].path ?: "", r->to_path)) {
		/* The spec names the copy already (a crash as the move ended):
		 * only the old file is left to go. */
		log_info("vm_recover", "vm=%s action=finish_disk_move disk=%s", vm->spec.name, disk);
		adopt(vm, r->disk, r->to, r->to_path, r->from_path);
		free(r);
		return;
	}
	if (r->disk < 0 || !config_datastore(&vm->agent->cfg, r->to) ||
	    strcmp(vm->spec.disks[r->disk].path ?: "", r->from_path) || strcmp(want_to, r->to_path)) {
		log_warn("disk_move_intent_stray", "vm=%s path=%s", vm->spec.name, path);
		unlink(path);
		free(r);
		return;
	}
	if (vm->qmp) {
		vm_hold(vm);
		snprintf(vm->move_recovering, sizeof(vm->move_recovering), "%s", r->to);
		qmp_query_jobs(vm->qmp, recover_jobs, r);
		return;
	}
	/* QEMU is gone too: the phase decides (see the top of this file). */
	log_info("vm_recover", "vm=%s action=%s disk=%s", vm->spec.name,
	         completing ? "finish_disk_move" : "drop_disk_move", disk);
	if (completing) {
		adopt(vm, r->disk, r->to, r->to_path, r->from_path);
	} else {
		unlink(r->to_path);
		drop_intent(vm);
	}
	free(r);
}

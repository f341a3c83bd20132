/* vm.c - a VM's lifecycle on this host: define, start, stop, destroy,
 * delete, and the handling of QEMU's exit. State changes come from QMP
 * (events and query-status) and from the process itself (pidfd), never from
 * what we expect to happen. */
#include "agent.h"

#include "crashpoint.h"

#include "disk.h"
#include "fsutil.h"
#include "http.h"
#include "images.h"
#include "isotime.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "qemu_cmdline.h"
#include "qmp.h"
#include "seed.h"
#include "snap_hw.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uuid/uuid.h>

#define QMP_TIMEOUT_MS 30000
#define HARD_STOP_GRACE_MS 5000

static const char *const state_names[] = {"stopped", "starting", "running",
                                          "paused",  "stopping", "crashed"};

const char *vm_state_name(enum vm_state s) { return state_names[s]; }

/* One counter for the agent, started at the wall clock in µs: every
 * change gets a value larger than any this agent (or an earlier run of it,
 * clock permitting) handed out before. */
static uint64_t state_seq;

uint64_t vm_state_seq_now(void)
{
	if (!state_seq) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		state_seq = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	}
	return state_seq;
}

void vm_set_state(struct vm *vm, enum vm_state s)
{
	vm_state_seq_now();
	vm->state = s;
	vm->state_seq = ++state_seq;
}

struct vm *vm_find(struct agent *a, const char *name)
{
	for (struct vm *vm = a->vms; vm; vm = vm->next)
		if (!strcmp(vm->spec.name, name))
			return vm;
	return NULL;
}

static struct vm *vm_alloc(struct agent *a, const char *name)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	vm->agent = a;
	vm->pidfd = -1;
	vm->console.sock = vm->console.logfd = -1;
	vm_set_state(vm, VM_STOPPED); /* a seq from the start: every report is ordered */
	snprintf(vm->dir, sizeof(vm->dir), "%s/vms/%s", a->cfg.state_dir, name);
	snprintf(vm->rundir, sizeof(vm->rundir), "%s/vms/%s", a->cfg.run_dir, name);
	return vm;
}

static void vm_free(struct vm *vm)
{
	vm_spec_free(&vm->spec);
	json_decref(vm->last_exit);
	free(vm);
}

static void vm_link(struct agent *a, struct vm *vm)
{
	struct vm **pp = &a->vms;
	while (*pp && strcmp((*pp)->spec.name, vm->spec.name) < 0)
		pp = &(*pp)->next;
	vm->next = *pp;
	*pp = vm;
}

static void vm_unlink(struct agent *a, struct vm *vm)
{
	for (struct vm **pp = &a->vms; *pp; pp = &(*pp)->next)
		if (*pp == vm) {
			*pp = vm->next;
			return;
		}
}

/* ---- watches on a running QEMU ---------------------------------------- */

static void on_qmp_event(void *ctx, const char *event, json_t *data)
{
	struct vm *vm = ctx;
	log_info("qmp_event", "vm=%s qmp_event=%s", vm->spec.name, event);
	if (!strcmp(event, "SHUTDOWN")) {
		const char *reason = json_string_value(json_object_get(data, "reason"));
		snprintf(vm->shutdown_reason, sizeof(vm->shutdown_reason), "%s", reason ? reason : "none");
	} else if (!strcmp(event, "STOP")) {
		if (vm->state == VM_RUNNING)
			vm_set_state(vm, VM_PAUSED);
	} else if (!strcmp(event, "RESUME")) {
		if (vm->state == VM_PAUSED || vm->state == VM_STARTING)
			vm_set_state(vm, VM_RUNNING);
	} else if (!strcmp(event, "GUEST_PANICKED")) {
		snprintf(vm->shutdown_reason, sizeof(vm->shutdown_reason), "guest-panic");
	}
}

static void drop_qmp(struct vm *vm)
{
	if (vm->qmp_watch)
		loop_unwatch(vm->agent->loop, vm->qmp_watch);
	vm->qmp_watch = NULL;
	qmp_free(vm->qmp);
	vm->qmp = NULL;
}

static void on_qmp_readable(void *ctx, uint32_t events)
{
	struct vm *vm = ctx;
	if (qmp_poll_events(vm->qmp) < 0)
		drop_qmp(vm); /* QEMU is going away; the pidfd reports the exit */
}

static void on_console_readable(void *ctx, uint32_t events)
{
	struct vm *vm = ctx;
	if (console_pump(&vm->console) < 0) {
		loop_unwatch(vm->agent->loop, vm->console_watch);
		vm->console_watch = NULL;
		close(vm->console.sock);
		vm->console.sock = -1;
	}
}

static void vm_handle_exit(struct vm *vm);
static void job_reply(struct vm *vm, unsigned status, const char *error);

static void on_pidfd_readable(void *ctx, uint32_t events)
{
	vm_handle_exit(ctx);
}

/* Connects the console and QMP of a QEMU whose sockets exist, and watches
 * its pid. Returns 0 or -1 with e. */
static int attach(struct vm *vm, struct errinfo *e)
{
	struct agent *a = vm->agent;
	char path[1100], err[512];
	vm->pidfd = pidfd_open(vm->pid, 0);
	if (vm->pidfd < 0)
		return errinfo_set(e, 500, "attach", NULL, "pidfd_open(%d): %s", (int)vm->pid,
		                   strerror(errno));
	fcntl(vm->pidfd, F_SETFD, FD_CLOEXEC);
	vm->pid_watch = loop_watch_fd(a->loop, vm->pidfd, EPOLLIN, on_pidfd_readable, vm);

	vm_run_path(vm, "serial.sock", path, sizeof(path));
	if (vm->console.logfd < 0) {
		char logp[1100];
		vm_store_path(vm, "console.log", logp, sizeof(logp));
		console_open(&vm->console, logp, a->cfg.console_log_bytes);
	}
	vm->console.sock = vm_proc_connect_unix(path);
	if (vm->console.sock >= 0) {
		fcntl(vm->console.sock, F_SETFL, O_NONBLOCK);
		vm->console_watch = loop_watch_fd(a->loop, vm->console.sock, EPOLLIN, on_console_readable, vm);
	}

	vm_run_path(vm, "qmp.sock", path, sizeof(path));
	int fd = vm_proc_connect_unix(path);
	if (fd < 0)
		return errinfo_set(e, 500, "qmp", NULL, "cannot connect to QEMU's monitor %s: %s", path,
		                   strerror(errno));
	vm->qmp = qmp_new(fd, on_qmp_event, vm);
	if (qmp_handshake(vm->qmp, QMP_TIMEOUT_MS, err, sizeof(err)) < 0)
		return errinfo_set(e, 500, "qmp", NULL, "%s", err);
	json_t *st = qmp_call(vm->qmp, "query-status", NULL, QMP_TIMEOUT_MS, err, sizeof(err));
	if (!st)
		return errinfo_set(e, 500, "qmp", NULL, "query-status: %s", err);
	vm_set_state(vm, json_is_true(json_object_get(st, "running")) ? VM_RUNNING : VM_PAUSED);
	json_decref(st);
	vm->qmp_watch = loop_watch_fd(a->loop, qmp_fd(vm->qmp), EPOLLIN, on_qmp_readable, vm);
	/* Events that came in with the replies above are already buffered. */
	qmp_poll_events(vm->qmp);
	return 0;
}

static void release_runtime(struct vm *vm)
{
	struct agent *a = vm->agent;
	if (vm->pid_watch)
		loop_unwatch(a->loop, vm->pid_watch);
	vm->pid_watch = NULL;
	if (vm->pidfd >= 0)
		close(vm->pidfd);
	vm->pidfd = -1;
	drop_qmp(vm);
	if (vm->console_watch) {
		/* Keep what QEMU wrote last before it went away. */
		console_pump(&vm->console);
		loop_unwatch(a->loop, vm->console_watch);
	}
	vm->console_watch = NULL;
	console_close(&vm->console);
	if (vm->stop_timer)
		loop_timer_cancel(a->loop, vm->stop_timer);
	vm->stop_timer = NULL;
	if (vm->job_req)
		job_reply(vm, 409, "the VM stopped while the snapshot job ran");
	int rc = cgroup_remove(&a->cg, vm->spec.name);
	if (rc < 0)
		log_warn("cgroup_remove_failed", "vm=%s error=%s", vm->spec.name, log_quote(strerror(-rc)));
	fs_remove_tree(vm->rundir);
	char vnc[1200];
	vm_id_vnc_dir(vm, vnc, sizeof(vnc));
	fs_remove_tree(vnc);
	vm->pid = 0;
}

/* The last non-empty line QEMU wrote to its log: its own error message. */
static void qemu_log_last_line(struct vm *vm, char *out, size_t n)
{
	char path[1100];
	vm_store_path(vm, "qemu.log", path, sizeof(path));
	out[0] = '\0';
	char *s = fs_read_all(path, 1 << 20, NULL);
	if (!s)
		return;
	char *end = s + strlen(s);
	while (end > s && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\r'))
		*--end = '\0';
	char *line = strrchr(s, '\n');
	line = line ? line + 1 : s;
	/* Drop QEMU's "-msg timestamp=on" prefix. */
	if (line[0] >= '0' && line[0] <= '9' && strchr(line, ' '))
		line = strchr(line, ' ') + 1;
	snprintf(out, n, "%s", line);
	free(s);
}

static void finish_waiters(struct vm *vm)
{
	while (vm->exit_waiters) {
		struct vm_waiter *w = vm->exit_waiters;
		vm->exit_waiters = w->next;
		http_reply_json(w->req, 200, vm_to_json(vm));
		free(w);
	}
}

static void vm_handle_exit(struct vm *vm)
{
	int status = 0, have_status = 0;
	if (vm->our_child) {
		pid_t r = waitpid(vm->pid, &status, WNOHANG);
		if (r == 0)
			return; /* spurious: still alive */
		have_status = r == vm->pid;
	}
	char reason[768], logline[512];
	qemu_log_last_line(vm, logline, sizeof(logline));
	bool clean = vm->expect_exit || !strcmp(vm->shutdown_reason, "guest-shutdown");
	if (!strcmp(vm->shutdown_reason, "guest-shutdown"))
		snprintf(reason, sizeof(reason), "the guest powered off");
	else if (vm->expect_exit && vm->forced && vm->stop_timed_out)
		snprintf(reason, sizeof(reason),
		         "the guest did not power off in time; QEMU was stopped hard (%s)", vm->forced_why);
	else if (vm->expect_exit && vm->forced)
		snprintf(reason, sizeof(reason), "QEMU was stopped hard: %s", vm->forced_why);
	else if (vm->expect_exit)
		snprintf(reason, sizeof(reason), "powered off by the agent");
	else if (have_status && WIFSIGNALED(status))
		snprintf(reason, sizeof(reason), "QEMU was killed by signal %d (%s)", WTERMSIG(status),
		         strsignal(WTERMSIG(status)));
	else if (have_status)
		snprintf(reason, sizeof(reason), "QEMU exited with status %d%s%s", WEXITSTATUS(status),
		         logline[0] ? ": " : "", logline);
	else if (vm->shutdown_reason[0])
		snprintf(reason, sizeof(reason), "QEMU shut down (%s)%s%s", vm->shutdown_reason,
		         logline[0] ? ": " : "", logline);
	else
		snprintf(reason, sizeof(reason),
		         "QEMU (pid %d) exited without a shutdown event; it was started before the "
		         "agent restarted, so its exit status is unknown%s%s",
		         (int)vm->pid, logline[0] ? "; its log ends: " : "", logline);
	char at[32];
	iso_time(time(NULL), at);
	json_decref(vm->last_exit);
	vm->last_exit = json_pack("{s:s, s:s, s:b, s:i}", "at", at, "reason", reason, "clean", clean,
	                          "pid", (int)vm->pid);
	if (vm->shutdown_reason[0])
		json_object_set_new(vm->last_exit, "shutdown_event", json_string(vm->shutdown_reason));
	/* A power-off the guest did not do itself is not a clean stop to
	 * whoever asked for a stop: say so, and why, for vdcd and users. */
	if (vm->expect_exit && vm->forced && strcmp(vm->shutdown_reason, "guest-shutdown"))
		json_object_update_new(vm->last_exit, json_pack("{s:b, s:s}", "forced", 1, "forced_reason",
		                                                vm->forced_why));
	if (have_status && WIFSIGNALED(status))
		json_object_set_new(vm->last_exit, "signal", json_integer(WTERMSIG(status)));
	else if (have_status)
		json_object_set_new(vm->last_exit, "exit_status", json_integer(WEXITSTATUS(status)));
	vm_set_state(vm, clean ? VM_STOPPED : VM_CRASHED);
	log_event(clean ? LOG_INFO : LOG_WARN, clean ? "vm_stopped" : "vm_crashed",
	          "vm=%s pid=%d reason=%s", vm->spec.name, (int)vm->pid, log_quote(reason));
	release_runtime(vm);
	vm->expect_exit = vm->forced = vm->stop_timed_out = false;
	vm->forced_why[0] = '\0';
	vm->shutdown_reason[0] = '\0';
	vm_store_write_state(vm, true);
	finish_waiters(vm);
}

/* ---- define ------------------------------------------------------------ */

/* The source of a disk that copies another VM's disk on this host: that
 * VM must exist and be stopped (its disk must not change while copied). */
static int resolve_source_vm(struct agent *a, struct vm_disk *d, int i, struct errinfo *e)
{
	char field[64];
	snprintf(field, sizeof(field), "disks[%d].source_vm", i);
	struct vm *src = vm_find(a, d->source_vm);
	if (!src)
		return errinfo_set(e, 400, "invalid_spec", field, "%s: no VM named '%s' on this host", field,
		                   d->source_vm);
	if (src->state != VM_STOPPED && src->state != VM_CRASHED)
		return errinfo_set(e, 409, "invalid_state", field,
		                   "VM '%s' is %s; stop it first: its disk must not change while it is copied",
		                   d->source_vm, vm_state_name(src->state));
	for (int k = 0; k < src->spec.ndisks; k++) {
		const struct vm_disk *sd = &src->spec.disks[k];
		if (strcmp(sd->name, d->source_disk) || !sd->path)
			continue;
		d->template_path = strdup(sd->path);
		snprintf(d->template_format, sizeof(d->template_format), "qcow2");
		return 0;
	}
	return errinfo_set(e, 400, "invalid_spec", field, "VM '%s' has no disk named '%s'", d->source_vm,
	                   d->source_disk);
}

/* Turns the images a spec names (by id) into this host's files. Nothing a
 * caller sends is a path: the agent finds its own copies. */
static int resolve_images(struct agent *a, struct vm_spec *s, struct errinfo *e)
{
	char path[1200];
	struct image_meta m;
	if (s->kernel_image[0]) {
		if (images_find(a, s->kernel_image, "kernel", "boot.kernel_image", path, sizeof(path), &m, e) < 0)
			return -1;
		free(s->kernel);
		s->kernel = strdup(path);
	}
	if (s->initrd_image[0]) {
		if (images_find(a, s->initrd_image, "initrd", "boot.initrd_image", path, sizeof(path), &m, e) < 0)
			return -1;
		free(s->initrd);
		s->initrd = strdup(path);
	}
	return 0;
}

/* What a disk is made from, and who reads it: a VM's own disk (the source
 * of a clone: qcow2, read with that VM's group added) or a shared image
 * (its format from its header unless given; every VM reads it). */
static int template_source(struct agent *a, const struct vm_spec *s, struct vm_disk *d,
                           gid_t *extra, bool *shared, const char *field, struct errinfo *e)
{
	struct stat st;
	*extra = 0;
	*shared = true;
	if (stat(d->template_path, &st) < 0)
		return errinfo_set(e, 400, "invalid_spec", field, "cannot read '%s': %s", d->template_path,
		                   strerror(errno));
	if (d->copy && st.st_uid >= a->cfg.vm_id_lo && st.st_uid <= a->cfg.vm_id_hi &&
	    st.st_gid != s->gid) {
		*shared = false;
		*extra = st.st_gid;
		snprintf(d->template_format, sizeof(d->template_format), "qcow2");
		return 0;
	}
	if (d->template_format[0])
		return 0;
	struct vm_access va;
	vm_id_access(a, s, 0, &va);
	return disk_shared_format(&va.da, d->template_path, d->template_format,
	                          sizeof(d->template_format), field, e);
}

/* Checks the spec against this host: images, datastores, bridges. */
static int check_host(struct agent *a, struct vm_spec *s, struct errinfo *e)
{
	if (resolve_images(a, s, e) < 0)
		return -1;
	for (int i = 0; i < s->ndisks; i++) {
		struct vm_disk *d = &s->disks[i];
		char field[64];
		snprintf(field, sizeof(field), "disks[%d].datastore", i);
		if (!config_datastore(&a->cfg, d->datastore)) {
			char known[512] = "";
			for (int k = 0; k < a->cfg.ndatastores; k++)
				snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", k ? ", " : "",
				         a->cfg.datastores[k].name);
			return errinfo_set(e, 400, "invalid_spec", field,
			                   "no datastore '%s' on this host (known: %s)", d->datastore, known);
		}
		uint64_t vbytes = 0;
		if (d->image[0]) {
			char path[1200];
			struct image_meta m;
			snprintf(field, sizeof(field), "disks[%d].image", i);
			if (images_find(a, d->image, "disk", field, path, sizeof(path), &m, e) < 0)
				return -1;
			d->template_path = strdup(path);
			snprintf(d->template_format, sizeof(d->template_format), "%s", m.format);
		} else if (d->source_vm[0] && resolve_source_vm(a, d, i, e) < 0) {
			return -1;
		}
		if (d->template_path) {
			/* The image (or the source VM's disk) and its chain, read as
			 * this VM's identity, inside the roots. */
			struct vm_access va;
			gid_t extra = 0;
			bool shared = true;
			if (template_source(a, s, d, &extra, &shared, field, e) < 0)
				return -1;
			vm_id_access(a, s, extra, &va);
			if (disk_check_chain(&va.da, d->template_path, d->template_format, shared, &vbytes,
			                     field, e) < 0)
				return -1;
		}
		if (d->template_path && d->size_mib && (d->size_mib << 20) < vbytes) {
			snprintf(field, sizeof(field), "disks[%d].size_mib", i);
			return errinfo_set(e, 400, "invalid_spec", field,
			                   "is %llu MiB, smaller than the image's %llu MiB; a disk made from an "
			                   "image can only grow", (unsigned long long)d->size_mib,
			                   (unsigned long long)((vbytes + (1 << 20) - 1) >> 20));
		}
		char dir[1100], path[1200];
		vm_store_disk_dir(a, d->datastore, s->name, dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s/%s.qcow2", dir, d->name);
		if (fs_exists(path)) {
			snprintf(field, sizeof(field), "disks[%d].name", i);
			return errinfo_set(e, 409, "disk_exists", field,
			                   "%s already exists (a disk kept from a deleted VM?); remove it or "
			                   "choose another VM or disk name", path);
		}
		d->path = strdup(path);
	}
	for (int i = 0; i < s->nnics; i++) {
		const struct vm_nic *n = &s->nics[i];
		if (n->nat ? a->cfg.nat.enabled : (n->user_mode || net_bridge_exists(n->bridge)))
			continue;
		char field[64];
		snprintf(field, sizeof(field), "nics[%d].%s", i, n->nat ? "mode" : "bridge");
		if (n->nat)
			return errinfo_set(e, 400, "invalid_spec", field,
			                   "this host has no NAT network (its agent runs with --nat-network "
			                   "off); use a bridge");
		return errinfo_set(e, 400, "invalid_spec", field,
		                   "no bridge '%s' on this host; create it (ip link add %s type bridge) "
		                   "or use mode 'nat'", n->bridge, n->bridge);
	}
	return 0;
}

static void seed_path(struct vm *vm, char *out, size_t n)
{
	char dir[1100];
	const char *ds = vm->spec.ndisks ? vm->spec.disks[0].datastore : vm->agent->cfg.datastores[0].name;
	vm_store_disk_dir(vm->agent, ds, vm->spec.name, dir, sizeof(dir));
	snprintf(out, n, "%s/cidata.iso", dir);
}

/* A directory of the VM's on a datastore: root's, group the VM's, 0750. */
static int give_dir(struct vm *vm, const char *dir, const char *field, struct errinfo *e)
{
	if (fs_mkdir_p(dir, 0750) < 0 || chown(dir, 0, vm->spec.gid) < 0 || chmod(dir, 0750) < 0)
		return errinfo_set(e, errno == ENOSPC ? 507 : 500, "datastore", field,
		                   "cannot create %s: %s", dir, strerror(errno));
	return 0;
}

/* Each disk: the agent creates the file (the VM's, no link followed), and
 * qemu-img writes it as the VM. */
static int make_disks(struct vm *vm, struct errinfo *e)
{
	struct agent *a = vm->agent;
	for (int i = 0; i < vm->spec.ndisks; i++) {
		struct vm_disk *d = &vm->spec.disks[i];
		char dir[1100], field[64];
		snprintf(field, sizeof(field), "disks[%d]", i);
		vm_store_disk_dir(a, d->datastore, vm->spec.name, dir, sizeof(dir));
		if (give_dir(vm, dir, field, e) < 0)
			return -1;
		struct vm_access va;
		gid_t extra = 0;
		bool shared = true;
		uint64_t src_bytes = 0;
		if (d->template_path && template_source(a, &vm->spec, d, &extra, &shared, field, e) < 0)
			return -1;
		vm_id_access(a, &vm->spec, extra, &va);
		if (vm_id_create_file(vm, d->path, 0640, field, e) < 0)
			return -1;
		/* Checked again right before the copy: the source may have changed
		 * since check_host. */
		int rc = d->copy ? (disk_check_chain(&va.da, d->template_path, d->template_format, shared,
		                                     &src_bytes, field, e) < 0
		                        ? -1
		                        : disk_create_copy(&va.as, d->path, d->template_path,
		                                           d->template_format, d->size_mib, src_bytes,
		                                           field, e))
		         : d->template_path
		             ? disk_create_clone(&va.as, d->path, d->template_path, d->template_format,
		                                 d->size_mib, field, e)
		             : disk_create_blank(&va.as, d->path, d->size_mib, field, e);
		if (rc < 0) {
			unlink(d->path); /* ours (O_EXCL), maybe half written */
			return -1;
		}
	}
	if (vm->spec.has_cloud_init) {
		char iso[1200], dir[1100];
		seed_path(vm, iso, sizeof(iso));
		snprintf(dir, sizeof(dir), "%s", iso);
		*strrchr(dir, '/') = '\0';
		if (give_dir(vm, dir, "cloud_init", e) < 0)
			return -1;
		if (seed_build(vm->dir, iso, &vm->spec, e) < 0)
			return -1;
	}
	return vm_id_own_files(vm, e);
}

static void remove_seed(struct vm *vm)
{
	char iso[1200];
	seed_path(vm, iso, sizeof(iso));
	unlink(iso);
	*strrchr(iso, '/') = '\0';
	rmdir(iso);
}

int vm_define(struct agent *a, const json_t *spec_json, struct vm **out, struct errinfo *e)
{
	struct jv_err jerr = {0};
	struct vm_spec spec;
	if (vm_spec_parse(spec_json, VM_SPEC_FROM_USER, &spec, &jerr) < 0) {
		vm_spec_free(&spec);
		return errinfo_set(e, 400, "invalid_spec", jerr.field, "%s: %s", jerr.field, jerr.message);
	}
	if (vm_find(a, spec.name)) {
		errinfo_set(e, 409, "name_taken", "name", "a VM named '%s' already exists on this host",
		            spec.name);
		vm_spec_free(&spec);
		return -1;
	}
	if (!spec.uuid[0]) {
		uuid_t u;
		uuid_generate_random(u);
		uuid_unparse_lower(u, spec.uuid);
	}
	for (struct vm *o = a->vms; o; o = o->next)
		if (!strcmp(o->spec.uuid, spec.uuid)) {
			errinfo_set(e, 409, "uuid_taken", "uuid", "VM '%s' already has uuid %s", o->spec.name,
			            spec.uuid);
			vm_spec_free(&spec);
			return -1;
		}
	vm_spec_fill_defaults(&spec, a->cfg.datastores[0].name);
	unsigned id = 0;
	if (vm_id_alloc(a, &id, e) < 0) {
		vm_spec_free(&spec);
		return -1;
	}
	spec.uid = spec.gid = id;
	if (check_host(a, &spec, e) < 0) {
		vm_spec_free(&spec);
		return -1;
	}
	struct vm *vm = vm_alloc(a, spec.name);
	if (!vm) {
		vm_spec_free(&spec);
		return errinfo_set(e, 500, "internal", NULL, "out of memory");
	}
	vm->spec = spec;
	if (strlen(vm->rundir) + sizeof("/serial.sock") > sizeof(((struct sockaddr_un *)0)->sun_path)) {
		errinfo_set(e, 400, "invalid_spec", "name",
		            "'%s' is too long for this host's run-dir %s (unix socket paths are limited "
		            "to 107 bytes); use a shorter name", spec.name, a->cfg.run_dir);
		vm_free(vm);
		return -1;
	}
	if (fs_exists(vm->dir)) {
		errinfo_set(e, 409, "name_taken", "name",
		            "%s exists but holds no VM the agent knows; remove it or choose another name",
		            vm->dir);
		vm_free(vm);
		return -1;
	}
	/* define.json records the intent: if we crash before it becomes
	 * spec.json, the next start removes what this define made. */
	if (fs_mkdir_p(vm->dir, 0700) < 0) {
		errinfo_set(e, errno == ENOSPC ? 507 : 500, "store", NULL, "cannot create %s: %s", vm->dir,
		            strerror(errno));
		vm_free(vm);
		return -1;
	}
	char from[1100], to[1100];
	if (vm_store_write_spec(vm, "define.json", e) < 0)
		goto rollback;
	crash_point("define:after_intent");
	if (make_disks(vm, e) < 0)
		goto rollback;
	crash_point("define:after_disks");
	if (vm_store_write_spec(vm, "spec.json", e) < 0)
		goto rollback;
	crash_point("define:after_commit");
	vm_store_path(vm, "define.json", from, sizeof(from));
	unlink(from);
	vm_set_state(vm, VM_STOPPED);
	vm_store_write_state(vm, true);
	vm_link(a, vm);
	log_info("vm_defined", "vm=%s uuid=%s uid=%u", vm->spec.name, vm->spec.uuid, vm->spec.uid);
	*out = vm;
	return 0;
rollback:
	log_warn("vm_define_failed", "vm=%s error=%s", vm->spec.name, log_quote(e->message));
	remove_seed(vm);
	vm_store_remove(vm, false, NULL);
	(void)to;
	vm_free(vm);
	return -1;
}

/* ---- start ------------------------------------------------------------- */

static int qemu_start_failed(struct vm *vm, const char *why, struct errinfo *e)
{
	char logline[512];
	/* Make sure it is gone, then say what QEMU itself said. */
	if (vm->pid > 0) {
		kill(vm->pid, SIGKILL);
		waitpid(vm->pid, NULL, 0);
	}
	qemu_log_last_line(vm, logline, sizeof(logline));
	errinfo_set(e, 500, "qemu_failed", NULL, "QEMU did not start: %s",
	            logline[0] ? logline : why);
	log_warn("vm_start_failed", "vm=%s error=%s", vm->spec.name, log_quote(e->message));
	release_runtime(vm);
	vm_set_state(vm, VM_STOPPED);
	return -1;
}

int vm_start(struct vm *vm, struct errinfo *e)
{
	struct agent *a = vm->agent;
	if (vm->state != VM_STOPPED && vm->state != VM_CRASHED)
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s; only a stopped VM can start",
		                   vm->spec.name, vm_state_name(vm->state));
	for (int i = 0; i < vm->spec.ndisks; i++)
		if (!fs_exists(vm->spec.disks[i].path))
			return errinfo_set(e, 409, "disk_missing", NULL,
			                   "disk '%s' (%s) is missing; restore it or delete the VM",
			                   vm->spec.disks[i].name, vm->spec.disks[i].path);
	/* The VM's files are its own (again: a VM from before identities, or
	 * files restored by hand), and nothing QEMU opens may lead out of the
	 * roots, whatever was written into a disk's header since it was made. */
	if (vm_id_own_files(vm, e) < 0)
		return -1;
	struct vm_access va;
	vm_id_access(a, &vm->spec, 0, &va);
	for (int i = 0; i < vm->spec.ndisks; i++) {
		char field[64];
		snprintf(field, sizeof(field), "disks[%d]", i);
		if (disk_check_chain(&va.da, vm->spec.disks[i].path, "qcow2", false, NULL, field, e) < 0) {
			log_warn("vm_start_refused", "vm=%s error=%s", vm->spec.name, log_quote(e->message));
			return -1;
		}
	}
	int fds[2 + VM_MAX_NICS];
	int nfds = 0;
	struct qemu_launch launch = {.binary = a->cfg.qemu_binary, .accel = a->accel,
	                             .sandbox = a->cfg.sandbox != 0};
	char path[1100], iso[1200], vnc[1300];
	struct strv argv = {0};
	for (int i = 0; i < VM_MAX_NICS; i++)
		launch.tap_fds[i] = -1;
	if (fs_mkdir_p(vm->rundir, 0700) < 0)
		return errinfo_set(e, 500, "store", NULL, "cannot create %s: %s", vm->rundir, strerror(errno));
	vm_set_state(vm, VM_STARTING);
	vm_run_path(vm, "qmp.sock", path, sizeof(path));
	if ((fds[nfds] = vm_proc_listen_unix(path, e)) < 0)
		goto fail;
	launch.qmp_fd = 3 + nfds++;
	vm_run_path(vm, "serial.sock", path, sizeof(path));
	if ((fds[nfds] = vm_proc_listen_unix(path, e)) < 0)
		goto fail;
	launch.serial_fd = 3 + nfds++;
	for (int i = 0; i < vm->spec.nnics; i++) {
		if (vm->spec.nics[i].user_mode)
			continue;
		char tap[16], field[32];
		vm_spec_tap_name(&vm->spec, i, tap);
		snprintf(field, sizeof(field), "nics[%d].bridge", i);
		if ((fds[nfds] = net_tap_open(tap, vm->spec.nics[i].bridge, field, e)) < 0)
			goto fail;
		launch.tap_fds[i] = 3 + nfds++;
	}
	if (vm->spec.has_cloud_init) {
		seed_path(vm, iso, sizeof(iso));
		launch.seed_path = iso;
	}
	if (vm->spec.vnc) {
		if (vm_id_make_vnc_dir(vm, e) < 0)
			goto fail;
		vm_id_vnc_dir(vm, path, sizeof(path));
		snprintf(vnc, sizeof(vnc), "%s/vnc.sock", path);
		launch.vnc_path = vnc;
	}
	struct cg_limits lim = {vm->spec.cpu_weight, vm->spec.cpu_limit_pct, vm->spec.memory_limit_mib};
	if (cgroup_create(&a->cg, vm->spec.name, &lim, e) < 0)
		goto fail;
	if (qemu_cmdline_build(&vm->spec, &launch, &argv) < 0) {
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		goto fail;
	}
	vm_store_path(vm, "console.log", path, sizeof(path));
	console_open(&vm->console, path, a->cfg.console_log_bytes);
	vm->shutdown_reason[0] = '\0';
	vm->expect_exit = vm->forced = vm->stop_timed_out = false;
	vm->forced_why[0] = '\0';
	if (vm_proc_spawn(vm, argv.v, fds, nfds, e) < 0)
		goto fail;
	strv_free(&argv);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	nfds = 0;
	crash_point("start:after_spawn");
	struct errinfo attach_err = {0};
	if (attach(vm, &attach_err) < 0)
		return qemu_start_failed(vm, attach_err.message, e);
	vm->started_at = time(NULL);
	vm_store_write_state(vm, false);
	log_info("vm_started", "vm=%s pid=%d accel=%s", vm->spec.name, (int)vm->pid, a->accel);
	return 0;
fail:
	strv_free(&argv);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	release_runtime(vm);
	vm_set_state(vm, VM_STOPPED);
	log_warn("vm_start_failed", "vm=%s error=%s", vm->spec.name, log_quote(e->message));
	return -1;
}

/* ---- stop, destroy, simple QMP commands --------------------------------- */

static void add_waiter(struct vm *vm, struct http_req *req)
{
	if (!req)
		return;
	struct vm_waiter *w = calloc(1, sizeof(*w));
	if (!w) {
		http_reply_error(req, 500, "internal", NULL, "out of memory");
		return;
	}
	w->req = req;
	w->next = vm->exit_waiters;
	vm->exit_waiters = w;
	http_defer(req);
}

static void on_kill_timeout(void *ctx)
{
	struct vm *vm = ctx;
	vm->stop_timer = NULL;
	if (vm->pid > 0) {
		log_warn("vm_kill", "vm=%s pid=%d reason=\"QEMU did not exit after quit\"", vm->spec.name,
		         (int)vm->pid);
		kill(vm->pid, SIGKILL);
	}
}

/* Asks QEMU to quit (no guest shutdown); SIGKILL if it cannot be asked or
 * has not gone within the grace period. */
static void hard_stop(struct vm *vm)
{
	char err[256];
	vm->expect_exit = true;
	json_t *r = vm->qmp ? qmp_call(vm->qmp, "quit", NULL, 2000, err, sizeof(err)) : NULL;
	if (r)
		json_decref(r);
	else if (vm->pid > 0)
		kill(vm->pid, SIGKILL);
	if (vm->stop_timer)
		loop_timer_cancel(vm->agent->loop, vm->stop_timer);
	vm->stop_timer = loop_timer_after(vm->agent->loop, HARD_STOP_GRACE_MS, on_kill_timeout, vm);
}

static void on_stop_timeout(void *ctx)
{
	struct vm *vm = ctx;
	vm->stop_timer = NULL;
	log_warn("vm_stop_timeout", "vm=%s reason=\"the guest did not power off; stopping hard\"",
	         vm->spec.name);
	vm->forced = vm->stop_timed_out = true;
	snprintf(vm->forced_why, sizeof(vm->forced_why), "the guest did not shut down within %d s",
	         vm->stop_timeout_s);
	hard_stop(vm);
}

static bool is_up(const struct vm *vm)
{
	return vm->state == VM_RUNNING || vm->state == VM_PAUSED || vm->state == VM_STOPPING;
}

int vm_stop(struct vm *vm, int timeout_s, struct http_req *req, struct errinfo *e)
{
	if (!is_up(vm))
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s, not running",
		                   vm->spec.name, vm_state_name(vm->state));
	if (vm->state == VM_STOPPING) { /* already on its way: wait with the others */
		add_waiter(vm, req);
		return 0;
	}
	bool paused = vm->state == VM_PAUSED;
	vm_set_state(vm, VM_STOPPING);
	vm->expect_exit = true;
	add_waiter(vm, req);
	char err[256];
	json_t *r = (!paused && vm->qmp)
	                ? qmp_call(vm->qmp, "system_powerdown", NULL, QMP_TIMEOUT_MS, err, sizeof(err))
	                : NULL;
	if (!r) {
		/* A paused guest cannot see the power button: stop it hard. */
		vm->forced = true;
		snprintf(vm->forced_why, sizeof(vm->forced_why), "%s",
		         paused ? "the VM was paused, and a paused guest cannot see the power button"
		                : "QEMU did not take the power button");
		hard_stop(vm);
		return 0;
	}
	json_decref(r);
	vm->stop_timeout_s = timeout_s;
	vm->stop_timer = loop_timer_after(vm->agent->loop, (uint64_t)timeout_s * 1000, on_stop_timeout, vm);
	log_info("vm_stopping", "vm=%s timeout_s=%d", vm->spec.name, timeout_s);
	return 0;
}

int vm_destroy(struct vm *vm, struct http_req *req, struct errinfo *e)
{
	if (!is_up(vm))
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s, not running",
		                   vm->spec.name, vm_state_name(vm->state));
	vm_set_state(vm, VM_STOPPING);
	add_waiter(vm, req);
	hard_stop(vm);
	return 0;
}

static int refresh_status(struct vm *vm, struct errinfo *e)
{
	char err[256];
	json_t *st = qmp_call(vm->qmp, "query-status", NULL, QMP_TIMEOUT_MS, err, sizeof(err));
	if (!st)
		return errinfo_set(e, 500, "qmp", NULL, "query-status: %s", err);
	if (vm->state != VM_STOPPING)
		vm_set_state(vm, json_is_true(json_object_get(st, "running")) ? VM_RUNNING : VM_PAUSED);
	json_decref(st);
	return 0;
}

int vm_qmp_simple(struct vm *vm, const char *cmd, struct errinfo *e)
{
	enum vm_state need = !strcmp(cmd, "cont") ? VM_PAUSED : VM_RUNNING;
	const char *verb = !strcmp(cmd, "cont") ? "resume" : !strcmp(cmd, "stop") ? "pause"
	                   : !strcmp(cmd, "system_reset") ? "reset" : cmd;
	/* A reset of a stopped VM would do nothing: refused like a pause. */
	if (vm->state != need || !vm->qmp)
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s; %s needs it %s",
		                   vm->spec.name, vm_state_name(vm->state), verb, vm_state_name(need));
	char err[256];
	json_t *r = qmp_call(vm->qmp, cmd, NULL, QMP_TIMEOUT_MS, err, sizeof(err));
	if (!r)
		return errinfo_set(e, 500, "qmp", NULL, "%s: %s", cmd, err);
	json_decref(r);
	log_info("vm_qmp", "vm=%s command=%s", vm->spec.name, cmd);
	return refresh_status(vm, e);
}

json_t *vm_qmp_call(struct vm *vm, const char *cmd, json_t *args, struct errinfo *e)
{
	if (!vm->qmp) {
		json_decref(args);
		errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s", vm->spec.name,
		            vm_state_name(vm->state));
		return NULL;
	}
	char err[512];
	json_t *r = qmp_call(vm->qmp, cmd, args, QMP_TIMEOUT_MS, err, sizeof(err));
	if (!r)
		errinfo_set(e, 500, "qmp", NULL, "%s: %s", cmd, err);
	return r;
}

int vm_kill_now(struct vm *vm, struct errinfo *e)
{
	vm->expect_exit = true;
	kill(vm->pid, SIGKILL);
	for (int i = 0; i < 1000 && vm->pid > 0; i++) {
		struct pollfd p = {.fd = vm->pidfd, .events = POLLIN};
		if (vm->pidfd < 0)
			usleep(10000);
		if (vm->pidfd < 0 || poll(&p, 1, 10) > 0)
			vm_handle_exit(vm);
	}
	if (vm->pid > 0)
		return errinfo_set(e, 500, "kill", NULL, "QEMU (pid %d) did not exit after SIGKILL",
		                   (int)vm->pid);
	return 0;
}

/* ---- live snapshots ------------------------------------------------------- */

#define SNAPSHOT_JOB_POLL_MS 50
#define SNAPSHOT_JOB_TIMEOUT_MS (10 * 60 * 1000)

static void job_reply(struct vm *vm, unsigned status, const char *error)
{
	struct http_req *req = vm->job_req;
	vm->job_req = NULL;
	if (vm->job_timer)
		loop_timer_cancel(vm->agent->loop, vm->job_timer);
	vm->job_timer = NULL;
	if (!error && !strcmp(vm->job_op, "save"))
		snap_hw_record(vm, vm->job_tag); /* what its RAM can be loaded into */
	else if (!error && !strcmp(vm->job_op, "delete"))
		snap_hw_forget(vm, vm->job_tag);
	if (!req)
		return;
	if (error && !strcmp(vm->job_op, "load") && vm->state == VM_PAUSED) {
		/* QEMU stops the guest for the load and leaves it stopped when
		 * the load fails: its state may be half loaded, so it is not
		 * resumed behind the user's back, but nobody is left guessing. */
		http_reply_error(req, status, "qemu_failed", NULL,
		                 "snapshot load of '%s' failed: %s; the VM is left paused (its RAM may be "
		                 "partly loaded): revert to another snapshot, or stop it", vm->job_tag, error);
		log_warn("snapshot_failed", "vm=%s op=%s snapshot=%s state=paused error=%s", vm->spec.name,
		         vm->job_op, vm->job_tag, log_quote(error));
	} else if (error) {
		http_reply_error(req, status, status == 409 ? "invalid_state" : "qemu_failed", NULL,
		                 "snapshot %s of '%s' failed: %s (the VM is %s)", vm->job_op, vm->job_tag, error,
		                 vm_state_name(vm->state));
		log_warn("snapshot_failed", "vm=%s op=%s snapshot=%s error=%s", vm->spec.name, vm->job_op,
		         vm->job_tag, log_quote(error));
	} else if (!strcmp(vm->job_op, "save")) {
		http_reply_json(req, 201, json_pack("{s:s, s:s, s:b}", "vm", vm->spec.name, "name",
		                                    vm->job_tag, "live", 1));
	} else if (!strcmp(vm->job_op, "load")) {
		http_reply_json(req, 200, vm_to_json(vm));
	} else {
		http_reply_text(req, 204, "text/plain", strdup(""), 0);
	}
	if (!error)
		log_info("snapshot_done", "vm=%s op=%s snapshot=%s live=1", vm->spec.name, vm->job_op, vm->job_tag);
}

static void on_job_poll(void *ctx)
{
	struct vm *vm = ctx;
	vm->job_timer = NULL;
	struct errinfo e = {0};
	json_t *jobs = vm_qmp_call(vm, "query-jobs", NULL, &e);
	if (!jobs) {
		job_reply(vm, 500, e.message);
		return;
	}
	json_t *job = NULL;
	size_t i;
	json_t *j;
	json_array_foreach(jobs, i, j)
		if (!strcmp(json_string_value(json_object_get(j, "id")) ?: "", vm->job_id))
			job = j;
	const char *status = json_string_value(json_object_get(job, "status"));
	if (job && status && !strcmp(status, "concluded")) {
		const char *err = json_string_value(json_object_get(job, "error"));
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", err ? err : "");
		json_decref(jobs);
		json_t *r = vm_qmp_call(vm, "job-dismiss", json_pack("{s:s}", "id", vm->job_id), &e);
		json_decref(r);
		refresh_status(vm, &e);
		job_reply(vm, 500, err ? msg : NULL);
		return;
	}
	json_decref(jobs);
	if (!job) { /* dismissed already: QEMU found nothing to report */
		job_reply(vm, 500, "QEMU's snapshot job vanished before it concluded");
		return;
	}
	if (loop_now_ms() > vm->job_deadline_ms) {
		job_reply(vm, 500, "the snapshot job did not finish within 10 minutes");
		return;
	}
	vm->job_timer = loop_timer_after(vm->agent->loop, SNAPSHOT_JOB_POLL_MS, on_job_poll, vm);
}

int vm_snapshot_live(struct vm *vm, const char *op, const char *tag, struct http_req *req,
                     struct errinfo *e)
{
	static unsigned long seq;
	if (!vm->qmp || (vm->state != VM_RUNNING && vm->state != VM_PAUSED))
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s", vm->spec.name,
		                   vm_state_name(vm->state));
	if (vm->job_req)
		return errinfo_set(e, 409, "busy", NULL, "VM '%s' is already taking a snapshot (%s %s); try "
		                   "again when it is done", vm->spec.name, vm->job_op, vm->job_tag);
	if (vm->spec.ndisks == 0)
		return errinfo_set(e, 409, "no_disks", NULL, "VM '%s' has no disk to keep a snapshot on",
		                   vm->spec.name);
	json_t *devices = json_array();
	for (int i = 0; i < vm->spec.ndisks; i++) {
		char node[80];
		snprintf(node, sizeof(node), "vdc-%s", vm->spec.disks[i].name);
		json_array_append_new(devices, json_string(node));
	}
	snprintf(vm->job_id, sizeof(vm->job_id), "vdc-snapshot-%lu", ++seq);
	json_t *args = json_pack("{s:s, s:s, s:o}", "job-id", vm->job_id, "tag", tag, "devices", devices);
	if (strcmp(op, "delete") != 0) /* RAM and device state live on the first disk */
		json_object_set(args, "vmstate", json_array_get(devices, 0));
	char cmd[32];
	snprintf(cmd, sizeof(cmd), "snapshot-%s", op);
	json_t *r = vm_qmp_call(vm, cmd, args, e);
	if (!r)
		return -1;
	json_decref(r);
	snprintf(vm->job_op, sizeof(vm->job_op), "%s", op);
	snprintf(vm->job_tag, sizeof(vm->job_tag), "%s", tag);
	vm->job_req = req;
	vm->job_deadline_ms = loop_now_ms() + SNAPSHOT_JOB_TIMEOUT_MS;
	http_defer(req);
	vm->job_timer = loop_timer_after(vm->agent->loop, SNAPSHOT_JOB_POLL_MS, on_job_poll, vm);
	log_info("snapshot_started", "vm=%s op=%s snapshot=%s live=1", vm->spec.name, op, tag);
	return 0;
}

/* ---- delete ------------------------------------------------------------ */

int vm_delete(struct vm *vm, bool keep_disks, struct errinfo *e)
{
	struct agent *a = vm->agent;
	if (vm->state != VM_STOPPED && vm->state != VM_CRASHED)
		return errinfo_set(e, 409, "invalid_state", NULL,
		                   "VM '%s' is %s; stop it first (or delete with ?force=true)",
		                   vm->spec.name, vm_state_name(vm->state));
	char from[1100], to[1100];
	vm_store_path(vm, "spec.json", from, sizeof(from));
	vm_store_path(vm, "delete.json", to, sizeof(to));
	if (rename(from, to) < 0)
		return errinfo_set(e, 500, "store", NULL, "cannot mark %s for deletion: %s", from,
		                   strerror(errno));
	crash_point("delete:after_intent");
	if (!keep_disks)
		remove_seed(vm);
	else
		vm_id_disown_files(vm);
	cgroup_remove(&a->cg, vm->spec.name);
	int rc = vm_store_remove(vm, keep_disks, e);
	vm_unlink(a, vm);
	log_info("vm_deleted", "vm=%s keep_disks=%d", vm->spec.name, keep_disks);
	vm_free(vm);
	return rc;
}

/* ---- JSON view ----------------------------------------------------------- */

json_t *vm_to_json(struct vm *vm)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:o}", "name", vm->spec.name, "uuid", vm->spec.uuid,
	                      "state", vm_state_name(vm->state), "state_seq", (json_int_t)vm->state_seq,
	                      "spec", vm_spec_to_json(&vm->spec, false));
	json_t *disks = json_object_get(json_object_get(o, "spec"), "disks");
	for (int i = 0; i < vm->spec.ndisks; i++)
		json_object_set_new(json_array_get(disks, (size_t)i), "path",
		                    json_string(vm->spec.disks[i].path));
	if (vm->pid > 0) {
		char at[32];
		iso_time(vm->started_at, at);
		json_t *rt = json_pack("{s:i, s:s, s:s}", "pid", (int)vm->pid, "started_at", at, "accel",
		                       vm->agent->accel);
		if (vm->spec.vnc) {
			/* Only that there is one: the socket is reached through the
			 * agent, never by a port. */
			char vnc[1300];
			vm_id_vnc_dir(vm, vnc, sizeof(vnc));
			strncat(vnc, "/vnc.sock", sizeof(vnc) - strlen(vnc) - 1);
			json_object_set_new(rt, "vnc", json_pack("{s:b}", "socket", fs_exists(vnc)));
		}
		json_t *taps = json_array();
		for (int i = 0; i < vm->spec.nnics; i++) {
			char tap[16];
			vm_spec_tap_name(&vm->spec, i, tap);
			json_array_append_new(taps, vm->spec.nics[i].user_mode ? json_null() : json_string(tap));
		}
		json_object_set_new(rt, "taps", taps);
		json_object_set_new(o, "runtime", rt);
	}
	if (vm->last_exit)
		json_object_set(o, "last_exit", vm->last_exit);
	if (vm->spec.uid)
		json_object_set_new(o, "identity", json_pack("{s:I, s:I}", "uid", (json_int_t)vm->spec.uid,
		                                              "gid", (json_int_t)vm->spec.gid));
	return o;
}

void vm_detach_all(struct agent *a)
{
	while (a->vms) {
		struct vm *vm = a->vms;
		a->vms = vm->next;
		/* Let go of QEMU's sockets and pidfd; QEMU itself keeps running. */
		drop_qmp(vm);
		if (vm->console_watch)
			loop_unwatch(a->loop, vm->console_watch);
		console_close(&vm->console);
		if (vm->pid_watch)
			loop_unwatch(a->loop, vm->pid_watch);
		if (vm->pidfd >= 0)
			close(vm->pidfd);
		if (vm->stop_timer)
			loop_timer_cancel(a->loop, vm->stop_timer);
		if (vm->job_timer)
			loop_timer_cancel(a->loop, vm->job_timer);
		while (vm->exit_waiters) {
			struct vm_waiter *w = vm->exit_waiters;
			vm->exit_waiters = w->next;
			free(w);
		}
		vm_free(vm);
	}
}

/* ---- start-up: re-attach and finish interrupted work -------------------- */

/* Finds a QEMU started for uuid whose pid file was never written (the agent
 * died between fork and the write). Returns its pid or 0. */
static pid_t find_qemu_by_uuid(const char *uuid)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	pid_t found = 0;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		size_t len = 0;
		char *s = fs_read_all(path, 1 << 16, &len);
		if (!s)
			continue;
		for (size_t off = 0; off < len; off += strlen(s + off) + 1)
			if (!strcmp(s + off, "-uuid") && off + 6 < len && !strcmp(s + off + 6, uuid)) {
				found = atoi(de->d_name);
				break;
			}
		free(s);
	}
	closedir(d);
	return found;
}

static struct vm *load_spec(struct agent *a, const char *name, const char *file)
{
	struct vm *vm = vm_alloc(a, name);
	char path[1100];
	vm_store_path(vm, file, path, sizeof(path));
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	struct jv_err jerr = {0};
	if (!j || vm_spec_parse(j, VM_SPEC_FROM_STORE, &vm->spec, &jerr) < 0) {
		log_error("vm_load_failed", "path=%s error=%s", path,
		          log_quote(j ? jerr.message : je.text));
		json_decref(j);
		vm_free(vm);
		return NULL;
	}
	json_decref(j);
	return vm;
}

static void load_one(struct agent *a, const char *name)
{
	struct vm *vm;
	char base[1100];
	snprintf(base, sizeof(base), "%s/vms/%s", a->cfg.state_dir, name);
	char p_spec[1200], p_def[1200], p_del[1200];
	snprintf(p_spec, sizeof(p_spec), "%s/spec.json", base);
	snprintf(p_def, sizeof(p_def), "%s/define.json", base);
	snprintf(p_del, sizeof(p_del), "%s/delete.json", base);
	if (!fs_exists(p_spec)) {
		const char *intent = fs_exists(p_del) ? "delete.json" : fs_exists(p_def) ? "define.json" : NULL;
		if (!intent || !(vm = load_spec(a, name, intent))) {
			log_warn("vm_dir_stray", "path=%s", base);
			return;
		}
		/* An interrupted define is rolled back; an interrupted delete is
		 * finished. Either way nothing half-made remains. */
		log_info("vm_recover", "vm=%s action=%s", name,
		         !strcmp(intent, "delete.json") ? "finish_delete" : "rollback_define");
		remove_seed(vm);
		cgroup_remove(&a->cg, name);
		vm_store_remove(vm, false, NULL);
		vm_free(vm);
		return;
	}
	if (!(vm = load_spec(a, name, "spec.json")))
		return;
	vm_set_state(vm, VM_STOPPED);
	vm_store_read_state(vm);
	unsigned long long start = 0;
	pid_t pid = vm_proc_read_pidfile(vm, &start);
	if (!pid && (pid = find_qemu_by_uuid(vm->spec.uuid)))
		start = vm_proc_starttime(pid);
	if (pid) {
		vm->pid = pid;
		vm->pid_start = start;
		vm->our_child = false;
		vm->started_at = time(NULL);
		struct stat st;
		char pf[1200];
		vm_run_path(vm, "qemu.pid", pf, sizeof(pf));
		if (stat(pf, &st) == 0)
			vm->started_at = st.st_mtime;
		else
			vm_proc_write_pidfile(vm);
		struct errinfo e = {0};
		if (attach(vm, &e) < 0)
			log_error("vm_reattach_failed", "vm=%s pid=%d error=%s", name, (int)pid,
			          log_quote(e.message));
		else
			log_info("vm_reattached", "vm=%s pid=%d state=%s", name, (int)pid,
			         vm_state_name(vm->state));
	} else if (fs_exists(vm->rundir)) {
		/* It was running when the agent went away, and is gone now. */
		char at[32];
		iso_time(time(NULL), at);
		json_decref(vm->last_exit);
		vm->last_exit = json_pack("{s:s, s:s, s:b}", "at", at, "reason",
		                          "QEMU exited while the agent was not running; its exit status "
		                          "is unknown", "clean", 0);
		vm_set_state(vm, VM_CRASHED);
		release_runtime(vm);
		vm_store_write_state(vm, true);
		log_warn("vm_crashed", "vm=%s reason=\"QEMU gone while the agent was down\"", name);
	}
	vm_link(a, vm);
}

void vm_load_all(struct agent *a)
{
	char dir[1100];
	snprintf(dir, sizeof(dir), "%s/vms", a->cfg.state_dir);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !jv_is_safe_name(de->d_name))
			continue;
		load_one(a, de->d_name);
	}
	closedir(d);
	/* VMs defined before identities existed get one now, once every
	 * stored id is known; their files follow at their next start. */
	for (struct vm *vm = a->vms; vm; vm = vm->next) {
		struct errinfo e = {0};
		unsigned id = 0;
		if (vm->spec.uid)
			continue;
		if (vm_id_alloc(a, &id, &e) < 0) {
			log_error("vm_identity_failed", "vm=%s error=%s", vm->spec.name, log_quote(e.message));
			continue;
		}
		vm->spec.uid = vm->spec.gid = id;
		if (vm_store_write_spec(vm, "spec.json", &e) < 0)
			log_error("vm_identity_failed", "vm=%s error=%s", vm->spec.name, log_quote(e.message));
		else
			log_info("vm_identity_given", "vm=%s uid=%u", vm->spec.name, id);
	}
}

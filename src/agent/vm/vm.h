/* vm.h - one VM on this host and what can be done with it. Operations that
 * talk to QEMU end through a completion callback (vm_done_fn), called from
 * the agent's loop once QEMU has answered (or not, within the QMP timeout):
 * the caller may be an HTTP handler, a controller, or a test; nothing here
 * knows HTTP. */
#ifndef VDC_VM_H
#define VDC_VM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"
#include "console.h"
#include "cpu_demand.h"
#include "disk.h"
#include "errinfo.h"
#include "run.h"
#include "vm_spec.h"

struct agent;
struct loop_watch;
struct loop_timer;
struct qmp;

enum vm_state {
	VM_STOPPED,
	VM_STARTING,
	VM_RUNNING,
	VM_PAUSED,
	VM_STOPPING,
	VM_CRASHED,
	VM_INCOMING, /* QEMU waits for (or receives) a live migration's state */
	VM_MIGRATED, /* the guest runs on another host now; QEMU lingers, paused, until deleted */
};

const char *vm_state_name(enum vm_state s);
/* Sets vm->state and moves vm->state_seq past every seq reported before. */
struct vm;
void vm_set_state(struct vm *vm, enum vm_state s);
/* The largest state_seq handed out so far: a heartbeat carries it, so vdcd
 * knows the beat's list is older than any state with a larger seq. */
uint64_t vm_state_seq_now(void);

/* The end of an operation: on success e is NULL, status says what became
 * of it (200, 201 created, 202 accepted, 204 gone) and result (owned by the
 * callee, may be NULL) is the VM or what was asked for; on failure e says
 * why (e->status, e->code, e->message) and result is NULL. */
typedef void (*vm_done_fn)(void *ctx, int status, json_t *result, const struct errinfo *e);

/* Someone waiting for the VM's QEMU to exit (stop, destroy). */
struct vm_waiter {
	vm_done_fn done;
	void *ctx;
	struct vm_waiter *next;
};

/* A readiness probe (vm_ready.c): vdcd names it in its heartbeat replies;
 * the agent connects to the guest's TCP port every period_s and says
 * whether it answers. */
struct vm_ready {
	int port, period_s, timeout_s, failures; /* port 0: no probe */
	int state;          /* -1 unknown (no probe or not running), 0 not ready, 1 ready */
	bool lost;          /* it was ready in this run, then failed `failures` times in a row */
	int fails;          /* failures in a row */
	time_t run;         /* the run (started_at) these are about */
	char since[32];     /* when state last changed (ISO) */
	char reason[200];   /* the last failure, "" after an answer */
	char ip[48];        /* where the guest was last found */
	int fd;             /* a connect in flight, or -1 */
	struct loop_watch *watch;
	uint64_t deadline_ms, next_ms;
};

struct vm {
	struct agent *agent;
	struct vm_spec spec;
	enum vm_state state; /* set through vm_set_state only */
	/* Orders this VM's state reports: it grows with every change of state,
	 * and across agent restarts (it starts from the clock), so vdcd can
	 * tell a heartbeat listed before an operation ended from one after. */
	uint64_t state_seq;
	char dir[1024];     /* state: spec.json, state.json, console.log, seed */
	char rundir[1024];  /* runtime: qmp.sock, serial.sock, qemu.pid */

	/* Operations in flight hold the VM: a delete meanwhile unlinks it, and
	 * the last of them frees it. */
	int holds;
	bool deleted;

	pid_t pid;
	unsigned long long pid_start; /* /proc/PID/stat starttime: guards pid reuse */
	struct cpu_demand demand;     /* its throttled time, shares of pools' too (daemon/samples.c) */
	bool our_child;               /* started by this agent process: waitpid works */
	int pidfd;
	struct loop_watch *pid_watch;
	struct qmp *qmp;
	struct console console;
	struct loop_watch *console_watch;
	struct console_viewer *viewers; /* live serial viewers (vm_console.c) */
	int nviewers;
	time_t started_at;
	/* A start waiting for QEMU's monitor: its end is the start's, not an exit. */
	bool start_pending;

	/* Exit bookkeeping: why QEMU is going away. */
	char shutdown_reason[32]; /* from the SHUTDOWN event */
	bool expect_exit;         /* we asked it to go (stop/destroy) */
	bool forced;              /* powered off without the guest's shutdown */
	char forced_why[160];     /* why (the stop timed out, the VM was paused...) */
	bool stop_timed_out;      /* forced because the stop's timeout passed */
	bool watchdog_fired;      /* the guest's watchdog fired; the agent ended QEMU */
	int stop_timeout_s;       /* the running stop's timeout */
	char stop_via[16];        /* how the stop asked the guest: "guest_agent" or "acpi" */
	json_t *last_exit;        /* {"at","reason","clean",...} */

	struct vm_waiter *exit_waiters;
	struct loop_timer *stop_timer;
	struct loop_timer *press_timer; /* the power button pressed again (vm_stop) */

	/* A live snapshot job (QMP snapshot-save/load/delete) under way. */
	bool job_active;
	vm_done_fn job_done;
	void *job_ctx;
	char job_id[48];
	char job_op[24];
	char job_tag[64];
	struct loop_timer *job_timer;
	uint64_t job_deadline_ms;

	/* A live migration in or out (vm_migrate.c): QEMU's word on it is
	 * the truth; this is what the agent asked for and last heard. */
	struct {
		enum { VM_MIG_NONE, VM_MIG_OUT, VM_MIG_IN } role;
		char status[24]; /* QEMU's MigrationStatus, as last reported */
		char uri[128];   /* incoming: where QEMU listens; outgoing: where it sends */
		char error[256]; /* a failed migration's reason, as QEMU gave it */
		/* Local disks that move with it (vm_migrate_disks.c). In: this
		 * QEMU serves its blank copies over NBD (on nbd_port) and, once the
		 * state has arrived, lets them go before the guest runs (resume:
		 * it runs, as it did on the sender). Out: the mirrors onto the
		 * receiver's copies, while they exist. */
		bool copy_disks;
		bool resume;
		bool releasing; /* in: the exports are being stopped */
		int nbd_port;
		struct vm_mig_mirror *mirror;
		bool switching; /* out: the mirrors are being ended in pre-switchover */
		/* out: QEMU was told to send (migrate): its query-migrate is this
		 * migration's word. Before that (disks copying, or their copy
		 * failed) its status is an earlier migration's, if any. */
		bool qemu_sending;
	} mig;
	/* A disk moving to another datastore of this host (vm_disk_move.c),
	 * and the last move's failure until the next starts. */
	struct vm_disk_move *move;
	char move_error[400];
	char move_recovering[64]; /* an interrupted move being settled after a restart: its datastore */
	struct vm_ready ready;
	struct vm_guest *guest; /* its guest agent's word (vm_guest.c), NULL until polled */
	/* A disk or NIC being added or removed (vm_hotplug.c), and a removal
	 * whose caller was told the guest did not let go, watched still. */
	struct vm_plug *plug, *plug_late;
	struct vm *next;
};

/* vm_console.c: live serial viewers. Each gets everything the guest prints
 * from now on; what any of them types goes to the guest. */
#define VM_CONSOLE_MAX_VIEWERS 16
/* Called once when a viewer goes: its connection is then end's to close. */
typedef void (*vm_viewer_end_fn)(void *ctx);
/* Sends to a viewer without waiting, as http_upgraded_send (ctx is end's):
 * bytes taken, -EAGAIN (then again with the same bytes first once hup_fd
 * is writable) or -errno. */
typedef ssize_t (*vm_viewer_send_fn)(void *ctx, const void *buf, size_t n);
/* Adds the connected fd as a viewer (extra: bytes it already sent, as
 * typed); hup_fd (-1: none) is polled for POLLRDHUP and ends the viewer
 * when its peer goes. What the guest prints goes out through send (NULL:
 * written to fd). 0, or -1 when the VM has no console now or too many
 * viewers (end is then called at once). */
int vm_console_attach(struct vm *vm, int fd, int hup_fd, const char *extra, size_t n, vm_viewer_send_fn send,
                      vm_viewer_end_fn end, void *end_ctx);
/* Closes every viewer (QEMU went away, or the agent stops). */
void vm_console_detach_all(struct vm *vm);

/* vm_core.c */
struct vm *vm_find(struct agent *a, const char *name);
json_t *vm_to_json(struct vm *vm);

/* vm_ready.c: readiness probes. Starts the agent's probe tick (every
 * 250 ms, on its loop). 0, or -1. */
int vm_ready_start(struct agent *a);
/* Takes the probes of a heartbeat reply: {"AGENT_NAME": {"tcp_port",
 * "period_s", "timeout_s", "failures"}}; a VM not named has none. */
void vm_ready_set_probes(struct agent *a, const json_t *probes);
/* The VM's readiness for its listing and heartbeat ({"ready": true, false
 * or null, "since", "reason", "ip", "lost", "probe"}), or NULL without a
 * probe. */
json_t *vm_ready_json(const struct vm *vm);
/* Drops a probe in flight (the VM goes). */
void vm_ready_drop(struct vm *vm);
/* vm_guest.c: the guest agent (qemu-ga over virtio-serial). Starts the
 * agent's poll tick: each running VM's guest agent is asked for its host
 * name, OS and interfaces at start until it answers, then every 30 s,
 * never blocking the loop. 0, or -1. */
int vm_guest_start(struct agent *a);
/* {"agent": true|false, "hostname", "os": {...}, "interfaces": [{"name",
 * "mac", "ips": ["ADDR/PREFIX"]}], "updated_at", "error"}: a new reference. */
json_t *vm_guest_json(const struct vm *vm);
/* Whether its guest agent answered the last poll. */
bool vm_guest_answers(const struct vm *vm);
/* Asks the guest agent for a clean power-off (or reboot): -1 when it did
 * not answer the last poll (nothing asked), else 0 and done is called once
 * from the loop: err NULL when the guest agent took it. */
typedef void (*vm_guest_done_fn)(struct vm *vm, void *ctx, const char *err);
int vm_guest_shutdown(struct vm *vm, bool reboot, vm_guest_done_fn done, void *ctx);
/* Frees the VM's guest agent state (the VM goes). */
void vm_guest_drop(struct vm *vm);
/* Keeps vm allocated across an operation in flight (see holds). */
void vm_hold(struct vm *vm);
void vm_release(struct vm *vm);

/* vm_lifecycle.c. Each returns -1 with e when refused at once (done is then
 * never called), or 0: done is called exactly once, later, from the loop. */
int vm_define(struct agent *a, const json_t *spec_json, struct vm **out, struct errinfo *e);
/* A VM that arrives by live migration: the spec is the sending host's
 * (uuid, MACs kept), its disks must already be here on a shared datastore
 * (409 disk_not_shared otherwise); they become this host's identity's.
 * Nothing is made that a rollback would remove. */
/* With storage ({"token", "disks": [{"name", "size_bytes"}]}: what the
 * sender's vm_migrate_storage_probe said), a disk whose folder this host
 * does not share (no probe file with the token there) is made here blank
 * instead (copy_in) for the sender to mirror onto; 409 disk_conflict when
 * a file of its name is in the way. */
int vm_define_incoming(struct agent *a, const json_t *spec_json, const json_t *storage, struct vm **out,
                       struct errinfo *e);
/* Ends with 200 and the VM once QEMU runs and answers on its monitor. */
int vm_start(struct vm *vm, vm_done_fn done, void *ctx, struct errinfo *e);
/* Asks the guest to power off; after timeout_s, stops QEMU hard. done (may
 * be NULL: nobody waits) gets 200 and the VM when QEMU has exited. */
int vm_stop(struct vm *vm, int timeout_s, vm_done_fn done, void *ctx, struct errinfo *e);
int vm_destroy(struct vm *vm, vm_done_fn done, void *ctx, struct errinfo *e);
/* Pause, resume, reset: 200 and the VM as QEMU then reports it. */
enum vm_power_op { VM_PAUSE, VM_RESUME, VM_RESET };
int vm_power(struct vm *vm, enum vm_power_op op, vm_done_fn done, void *ctx, struct errinfo *e);
/* Grows a running (or paused) VM's disk to size_mib through QEMU: 200, no
 * result (the caller records the new size). */
int vm_disk_resize_live(struct vm *vm, const struct vm_disk *d, uint64_t size_mib, vm_done_fn done,
                        void *ctx, struct errinfo *e);
/* vm_cdrom.c: the CD-ROM drive becomes drive (false: none) holding image
 * (an ISO id of this host's images; NULL or "": empty). Running or paused,
 * QEMU changes or ejects the medium (the drive itself changes only while
 * stopped); stopped, only the spec changes. Kept in spec.json either way.
 * done gets 200 and the VM; -1 with e when refused at once (an unknown
 * image or one of another kind: 400 naming "image"; 409 for a state). */
int vm_cdrom_set(struct vm *vm, bool drive, const char *image, vm_done_fn done, void *ctx, struct errinfo *e);
/* QEMU's block statistics (its query-blockstats array) as the result. */
int vm_blockstats(struct vm *vm, vm_done_fn done, void *ctx, struct errinfo *e);
/* What a delete does with the VM's disks: removes them; keeps them (as
 * root's: the VM's id may be given again); or leaves them as they are,
 * for another host's VM uses them (a VM migrated away, or an incoming
 * one whose migration failed). */
enum vm_disks_fate { VM_DISKS_REMOVE, VM_DISKS_KEEP, VM_DISKS_LEAVE };
int vm_delete(struct vm *vm, enum vm_disks_fate fate, struct errinfo *e);
/* SIGKILLs QEMU and waits (bounded) until its exit is handled. */
int vm_kill_now(struct vm *vm, struct errinfo *e);

/* vm_snapshot.c: snapshots of a running (or paused) VM, RAM included: op is
 * "save", "load" or "delete". Ends when QEMU's job concludes: 201 with
 * {"vm","name","live"} for a save, 200 with the VM for a load, 204 for a
 * delete; one job per VM at a time (409 otherwise). */
int vm_snapshot_live(struct vm *vm, const char *op, const char *tag, vm_done_fn done, void *ctx,
                     struct errinfo *e);

/* vm_disk_move.c: storage migration. Moves disk to datastore `to` of this
 * host while the VM runs (or is paused), copying at most speed_bps bytes
 * a second (0: as fast as the disks go; guest writes are never held): 0 when started (or already under
 * way to there: a retry), 1 when the disk is there already, -1 with e.
 * The VM's JSON shows it ("disk_move") until it ends, then the disk's new
 * datastore, or "disk_move_error". */
int vm_disk_move(struct vm *vm, const char *disk, const char *to, uint64_t speed_bps, struct errinfo *e);
/* Stops a move before its switch: the disk stays where it was. */
int vm_disk_move_cancel(struct vm *vm, struct errinfo *e);
/* {"disk","to","phase","done_bytes","total_bytes"}, or NULL when none. */
json_t *vm_disk_move_json(const struct vm *vm);

/* vm_hotplug.c: disks and NICs added and removed, live or stopped. Each
 * ends through done: 201 done (live, or in a stopped VM's spec), 202 kept
 * as pending for the next start (the result's "change" says why), 200 for
 * a removal done; the result is the VM with "change": {"kind", "name",
 * "op", "pending", "reason"?}. -1 with e when refused at once: 400/404
 * naming the field, 409 busy, limit, disk_exists, boot_disk. A removal
 * that the guest does not release within 30 s ends with 409 not_released
 * (the device stays attached). */
struct vm_disk_req {
	char name[64];
	char datastore[64];   /* "": the VM's first disk's */
	uint64_t size_mib;    /* 0: only to attach an unused disk again */
};
int vm_disk_add(struct vm *vm, const struct vm_disk_req *r, vm_done_fn done, void *ctx, struct errinfo *e);
/* delete_file: the disk's file goes too; else it stays as an unused disk. */
int vm_disk_remove(struct vm *vm, const char *name, bool delete_file, vm_done_fn done, void *ctx, struct errinfo *e);
/* The NIC's bridge, mode and MAC ("": generated) as vm_spec_parse_nic gives them. */
int vm_nic_add(struct vm *vm, const struct vm_nic *r, vm_done_fn done, void *ctx, struct errinfo *e);
int vm_nic_remove(struct vm *vm, int id, vm_done_fn done, void *ctx, struct errinfo *e);
/* Whether a change waits for the next start (what: which, for a refusal). */
bool vm_hotplug_pending(const struct vm *vm, char *what, size_t n);

/* vm_migrate.c: live migration between hosts. Each ends through done as
 * the others do. */
struct vm_migrate_opts {
	bool auto_converge;
	bool postcopy;                /* allowed: start it later with vm_migrate_postcopy */
	uint64_t downtime_limit_ms;   /* 0: QEMU's default (300 ms) */
	uint64_t max_bandwidth_bps;   /* 0: QEMU's default */
};
/* Starts QEMU for an incoming VM (defined by vm_define_incoming), waiting
 * on address (an IP literal of this host; the port is the kernel's): 201
 * with the VM, whose migration.uri says where to send it. */
int vm_migrate_listen(struct vm *vm, const char *address, const struct vm_migrate_opts *o,
                      vm_done_fn done, void *ctx, struct errinfo *e);
/* Sends a running or paused VM to uri ("tcp:IP:PORT"): 202 with the VM
 * once QEMU has begun; vm_migrate_status follows it. */
int vm_migrate_send(struct vm *vm, const char *uri, const struct vm_migrate_opts *o,
                    vm_done_fn done, void *ctx, struct errinfo *e);
/* vm_migrate_disks.c. The probe file a sending host writes into each of a
 * VM's disk folders, with a token: a receiving host that reads the token
 * there shares the folder. */
#define VM_SHARED_PROBE ".vdc-shared-probe"
/* Receiver of copies (vm_define_incoming made some): whether the guest
 * runs once it has arrived (it ran on the sender), kept in the agent's
 * store too, for an agent restarted before then. */
int vm_incoming_set_resume(struct vm *vm, bool resume, struct errinfo *e);
/* Sender: writes the probe files and answers {"token", "disks": [{"name",
 * "datastore", "size_bytes"}]} (the sizes the receiver's copies take). */
int vm_migrate_storage_probe(struct vm *vm, json_t **out, struct errinfo *e);
/* Sender: mirrors disks (names) onto the receiver's NBD exports at
 * host:port (every write reaches both once ready: copy-mode write-blocking),
 * then sends the VM to uri as vm_migrate_send does; the mirrors end in
 * "pre-switchover", while the guest is paused, whole. 202 once the mirrors
 * run; the status says "copying-disks" until the memory goes. */
int vm_migrate_send_with_disks(struct vm *vm, const char *uri, const struct vm_migrate_opts *o,
                               const char *host, int port, const json_t *disks, vm_done_fn done,
                               void *ctx, struct errinfo *e);

/* 200 {"status", "role", "ram": {...}, "expected_downtime_ms", "throttle_pct", ...}:
 * QEMU's query-migrate, in the API's words. */
int vm_migrate_status(struct vm *vm, vm_done_fn done, void *ctx, struct errinfo *e);
/* Cancels an outgoing migration: the guest keeps running here. */
int vm_migrate_cancel(struct vm *vm, vm_done_fn done, void *ctx, struct errinfo *e);
/* Switches a running pre-copy to post-copy (allowed when it started). */
int vm_migrate_postcopy(struct vm *vm, vm_done_fn done, void *ctx, struct errinfo *e);
/* Measures the guest's dirty rate over seconds: 200 {"dirty_rate_mib_s"}. */
int vm_migrate_dirty_rate(struct vm *vm, int seconds, vm_done_fn done, void *ctx, struct errinfo *e);
/* A MIGRATION event's status (vm_watch.c). */
void vm_migrate_event(struct vm *vm, const char *status);
/* The VM's state from QEMU's query-status answer. */
enum vm_state vm_state_from_qemu(const json_t *status);

/* vm_pool.c: the VM's cgroup, under one level per resource pool. */
/* The VM's cgroup relative to the cgroup base (cgroup_rel_name): what every
 * cgroup_* call about the VM takes. n: CG_REL_MAX. */
void vm_cgroup_name(const struct vm *vm, char *out, size_t n);
/* Creates the pool levels (with the spec's settings) and the VM's own
 * cgroup with its limits. 0, or -1 with e. */
int vm_cgroup_create(struct vm *vm, struct errinfo *e);
/* Removes the VM's cgroup and the pool levels it leaves empty (logged). */
void vm_cgroup_remove(struct vm *vm);
/* Puts the VM in pool (root first; n == 0: in none) and stores its spec.
 * A running QEMU moves, every thread, to the new cgroup, whose levels get
 * pool's settings; the old cgroup and the levels it leaves empty go. 0, or
 * -1 with e: 400 (a level's memory limit below the VM's memory), 409 busy
 * (migrating, moving a disk) or invalid_state (starting, stopping), 500;
 * the VM is then where it was. */
int vm_set_pool(struct vm *vm, const struct pool_chain *pool, struct errinfo *e);
/* vdcd's settings for a chain of pools: writes every level's knobs
 * (creating the levels) and stores them in the specs of this host's VMs in
 * those pools. 0, or -1 with e (the levels may be set then; a retry is
 * safe). */
int vm_pool_settings(struct agent *a, const struct pool_chain *pool, struct errinfo *e);
/* After a restart: a QEMU found in another cgroup than its spec names (the
 * agent died during a pool change, or the cgroup was lost) is moved in. */
void vm_cgroup_settle(struct vm *vm);
/* After a restart: removes the VM cgroups under the base that no running
 * VM names (a pool change or an exit cut short); levels left empty go too. */
void vm_cgroup_sweep(struct agent *a);

/* vm_recovery.c */
/* Re-attaches to running QEMUs and finishes interrupted defines/deletes. */
void vm_load_all(struct agent *a);
/* At agent exit: closes every VM's sockets and frees it; QEMUs keep running. */
void vm_detach_all(struct agent *a);

/* vm_store.c: files under the state directory. */
int vm_store_write_spec(struct vm *vm, const char *suffix, struct errinfo *e);
/* durable: fsync (exits, whose reason must survive a crash); a start's
 * state is re-derived from QMP, so it skips the fsync. */
void vm_store_write_state(struct vm *vm, bool durable);
void vm_store_read_state(struct vm *vm);
void vm_store_path(const struct vm *vm, const char *file, char *out, size_t n);
void vm_run_path(const struct vm *vm, const char *file, char *out, size_t n);
/* Removes the VM's disks (unless keep_disks), its state and run dirs. */
int vm_store_remove(struct vm *vm, bool keep_disks, struct errinfo *e);
/* Datastore directory holding this VM's disks. */
void vm_store_disk_dir(struct agent *a, const char *datastore, const char *vm, char *out, size_t n);

/* vm_proc.c: the QEMU process. */
int vm_proc_spawn(struct vm *vm, char *const argv[], const int *fds, int nfds, struct errinfo *e);
int vm_proc_write_pidfile(struct vm *vm);
/* Reads the pidfile; returns the pid when that process is still the one we
 * started, else 0. */
pid_t vm_proc_read_pidfile(struct vm *vm, unsigned long long *start);
int vm_proc_listen_unix(const char *path, struct errinfo *e);
int vm_proc_connect_unix(const char *path);

/* vm_id.c: the VM's own identity (spec.uid, spec.gid). */
/* An id of the range that no VM here and no user or group of the host has:
 * the first free one from a place in the range the VM's uuid picks, so
 * that a VM has the same id on every host of a cluster unless another VM
 * there took it (a live migration needs it: the sending QEMU reopens its
 * disks as it hands them over, after the receiver took them). 0, or -1
 * with e (507 when the range is used up). */
int vm_id_alloc(struct agent *a, const char *uuid, unsigned *id, struct errinfo *e);
/* Whether id is in the agent's range and free here. */
bool vm_id_free(struct agent *a, unsigned id);
/* What qemu-img on this VM's images runs as (its identity, plus
 * extra_group when not 0: a source VM's group, for a copy) and where those
 * images may lie. va must outlive the use of va->da. */
struct vm_access {
	struct run_as as;
	gid_t groups[1];
	const char *roots[MAX_DATASTORES + MAX_IMAGE_ROOTS];
	struct disk_access da;
};
void vm_id_access(const struct agent *a, const struct vm_spec *spec, gid_t extra_group,
                  struct vm_access *va);
/* Creates path (in a datastore, no link followed: fs_open_beneath) new,
 * owned by the VM, with mode. 409 disk_exists when it is there already. */
int vm_id_create_file(struct vm *vm, const char *path, mode_t mode, const char *field,
                      struct errinfo *e);
/* Gives the VM its files: disk dirs root:gid 0750, disks uid:gid 0640,
 * seed uid:gid 0400. Idempotent; links are never followed. */
int vm_id_own_files(struct vm *vm, struct errinfo *e);
/* Kept disks of a deleted VM become root's (its id may be given again). */
void vm_id_disown_files(struct vm *vm);
/* RUN/vnc/NAME: the VM's own directory (0700) for QEMU's VNC socket. */
void vm_id_vnc_dir(const struct vm *vm, char *out, size_t n);
int vm_id_make_vnc_dir(struct vm *vm, struct errinfo *e);

#endif

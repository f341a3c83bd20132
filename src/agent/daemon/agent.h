/* agent.h - the agent's state: its config, event loop, HTTP server, and the
 * VMs it owns. Each VM is owned by the loop: handlers and QMP/pidfd callbacks
 * all run on the one thread, so a VM needs no lock. */
#ifndef VDC_AGENT_H
#define VDC_AGENT_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "cgroup.h"
#include "config.h"
#include "console.h"
#include "disk.h"
#include "errinfo.h"
#include "run.h"
#include "vm_spec.h"

struct loop;
struct loop_watch;
struct loop_timer;
struct http_server;
struct http_req;
struct qmp;

enum vm_state {
	VM_STOPPED,
	VM_STARTING,
	VM_RUNNING,
	VM_PAUSED,
	VM_STOPPING,
	VM_CRASHED,
};

const char *vm_state_name(enum vm_state s);
/* Sets vm->state and moves vm->state_seq past every seq reported before. */
struct vm;
void vm_set_state(struct vm *vm, enum vm_state s);
/* The largest state_seq handed out so far: a heartbeat carries it, so vdcd
 * knows the beat's list is older than any state with a larger seq. */
uint64_t vm_state_seq_now(void);

/* A request waiting for the VM's QEMU to exit (stop, destroy). */
struct vm_waiter {
	struct http_req *req;
	struct vm_waiter *next;
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

	pid_t pid;
	unsigned long long pid_start; /* /proc/PID/stat starttime: guards pid reuse */
	bool our_child;               /* started by this agent process: waitpid works */
	int pidfd;
	struct loop_watch *pid_watch;
	struct qmp *qmp;
	struct loop_watch *qmp_watch;
	struct console console;
	struct loop_watch *console_watch;
	time_t started_at;

	/* Exit bookkeeping: why QEMU is going away. */
	char shutdown_reason[32]; /* from the SHUTDOWN event */
	bool expect_exit;         /* we asked it to go (stop/destroy) */
	bool forced;              /* powered off without the guest's shutdown */
	char forced_why[160];     /* why (the stop timed out, the VM was paused...) */
	bool stop_timed_out;      /* forced because the stop's timeout passed */
	int stop_timeout_s;       /* the running stop's timeout */
	json_t *last_exit;        /* {"at","reason","clean",...} */

	struct vm_waiter *exit_waiters;
	struct loop_timer *stop_timer;

	/* A live snapshot job (QMP snapshot-save/load/delete) under way. */
	struct http_req *job_req;
	char job_id[48];
	char job_op[24];
	char job_tag[64];
	struct loop_timer *job_timer;
	uint64_t job_deadline_ms;
	struct vm *next;
};

/* The agent's certificate from its join (PEM, all NULL before it): key and
 * certificate, the CA that signs vdcd's client certificate (ca) and the CA
 * pinned at the join that vdcd's server certificate chains to (manager_ca;
 * the same CA unless the operator gave vdcd a certificate of their own). */
struct agent_tls {
	char *cert, *key, *ca, *manager_ca;
};

struct agent {
	struct agent_config cfg;
	struct loop *loop;
	struct http_server *http;
	struct agent_tls tls;
	char *token;        /* the bearer token vdcd and local tools use */
	bool awaiting_join; /* joining over https: the API starts after it */
	int exit_code;
	struct cgroups cg;
	char accel[8];
	char qemu_version[64];
	gid_t kvm_gid;      /* QEMU's one supplementary group (/dev/kvm); 0: none */
	struct vm *vms;
	time_t started_at;
};

/* vm.c: lifecycle. Every operation fills e on failure. */
struct vm *vm_find(struct agent *a, const char *name);
int vm_define(struct agent *a, const json_t *spec_json, struct vm **out, struct errinfo *e);
int vm_start(struct vm *vm, struct errinfo *e);
/* Asks the guest to power off; after timeout_s, stops QEMU hard. The reply
 * to req (if any) is sent when QEMU has exited. */
int vm_stop(struct vm *vm, int timeout_s, struct http_req *req, struct errinfo *e);
int vm_destroy(struct vm *vm, struct http_req *req, struct errinfo *e);
int vm_qmp_simple(struct vm *vm, const char *cmd, struct errinfo *e);
int vm_delete(struct vm *vm, bool keep_disks, struct errinfo *e);
json_t *vm_to_json(struct vm *vm);
/* Re-attaches to running QEMUs and finishes interrupted defines/deletes. */
void vm_load_all(struct agent *a);
/* At agent exit: closes every VM's sockets and frees it; QEMUs keep running. */
void vm_detach_all(struct agent *a);
/* One QMP command (args consumed, may be NULL); the "return" value or NULL
 * with e (409 when QEMU is not running). */
json_t *vm_qmp_call(struct vm *vm, const char *cmd, json_t *args, struct errinfo *e);
/* Snapshots of a running (or paused) VM, RAM included: op is "save",
 * "load" or "delete". The reply to req (201/200/204, or QEMU's error) is
 * sent when QEMU's job concludes; one job per VM at a time (409 otherwise). */
int vm_snapshot_live(struct vm *vm, const char *op, const char *tag, struct http_req *req,
                     struct errinfo *e);

/* SIGKILLs QEMU and waits (bounded) until its exit is handled. */
int vm_kill_now(struct vm *vm, struct errinfo *e);

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
unsigned long long vm_proc_starttime(pid_t pid);
int vm_proc_write_pidfile(struct vm *vm);
/* Reads the pidfile; returns the pid when that process is still the one we
 * started, else 0. */
pid_t vm_proc_read_pidfile(struct vm *vm, unsigned long long *start);
int vm_proc_listen_unix(const char *path, struct errinfo *e);
int vm_proc_connect_unix(const char *path);

/* vm_id.c: the VM's own identity (spec.uid, spec.gid). */
/* The lowest id of the range that no VM here and no user or group of the
 * host has. 0, or -1 with e (507 when the range is used up). */
int vm_id_alloc(struct agent *a, unsigned *id, struct errinfo *e);
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

/* main.c: starts the API server, HTTPS when the agent has a certificate
 * (then only vdcd's client certificate may use it), plain HTTP only on a
 * loopback address. Returns 0 or -1 (logged). */
int agent_serve(struct agent *a);

/* agent_tls.c: the files under STATE/tls. */
/* Loads what is there; a missing set leaves a->tls empty. Returns 0, or -1
 * when the files are there but unusable (logged, with what to do). */
int agent_tls_load(struct agent *a);
/* Saves a new set (key 0600) and keeps it in a->tls (takes ownership of
 * the strings). Returns 0, or -1 with err. */
int agent_tls_save(struct agent *a, char *key, char *cert, char *ca, char *manager_ca, char *err,
                   size_t errlen);
void agent_tls_free(struct agent *a);

/* api_*.c */
#include "http.h"
extern const struct http_route agent_routes[];
extern const size_t agent_nroutes;
void api_reply_err(struct http_req *req, const struct errinfo *e);
void api_metrics(struct http_req *req);
/* api_images.c */
void api_image_put(struct http_req *req);
void api_image_list(struct http_req *req);
void api_image_get(struct http_req *req);
void api_image_delete(struct http_req *req);

#endif

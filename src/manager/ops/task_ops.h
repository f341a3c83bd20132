/* task_ops.h - what each task operation does, run by a worker thread. */
#ifndef VDC_TASK_OPS_H
#define VDC_TASK_OPS_H

#include <jansson.h>

#include "errinfo.h"
#include "manager.h"

struct task_ctx {
	struct mgr *m;
	struct store *st; /* the worker's own handle */
	json_t *doc;      /* the task as last stored */
	int slot;         /* its worker's entry in m->running */
};

struct task_ctx;

/* Cancel points of a running task (tasks.c). task_checkpoint: -1 with e
 * (409 cancelled) when a cancel was asked: the op cleans up what it made
 * and returns -1. task_point_of_no_return: from here on the op cannot be
 * cancelled (a cancel asked after is refused); -1 with e when one was asked
 * before. */
int task_checkpoint(struct task_ctx *t, struct errinfo *e);
int task_point_of_no_return(struct task_ctx *t, struct errinfo *e);

/* Why a running op cannot be cancelled (a sentence), or NULL when it can
 * (until its point of no return). */
const char *task_op_not_cancellable(const char *op);
/* After a queued task was marked cancelled: gives back what its request
 * did before it ran (a create's VM and quota, a delete's or a power
 * operation's states, a resize's sizes, an import's image). */
void task_op_undo_queued(struct store *st, const json_t *task);

/* Updates state/progress/message (NULL/-1 leave them) of the task. */
int task_update(struct task_ctx *t, const char *state, int progress, const char *message);
/* The same with the task's "live" figures (a migration's bytes left,
 * dirty rate...), which readers chart; live is consumed. */
int task_update_live(struct task_ctx *t, int progress, const char *message, json_t *live);

/* Sets fields of the VM document (a null value removes the field),
 * retrying when a heartbeat wrote it first. A new power_state also
 * refreshes in_sync (observed == desired). fields is consumed. */
int task_vm_patch(struct store *st, const char *id, json_t *fields, struct errinfo *e);

/* task_migrate.c: vm.migrate (args: to_host_id). */
int task_op_migrate(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                    struct errinfo *e);

/* task_ha.c: vm.ha_restart (args: from_host_id, to_host_id): a VM of a
 * failed host defined and started on the host its record names now. */
int task_op_ha_restart(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                       struct errinfo *e);

/* task_hotplug.c: vm.disk_add (args: name, size_mib, datastore),
 * vm.disk_remove (name, delete, state_before), vm.nic_add (network,
 * bridge), vm.nic_remove (name, state_before). */
int task_op_disk_add(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                     struct errinfo *e);
int task_op_disk_remove(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                        struct errinfo *e);
int task_op_nic_add(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                    struct errinfo *e);
int task_op_nic_remove(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                       struct errinfo *e);
/* A hot-plug task cancelled while queued: its request's charge and entry go back. */
void task_hotplug_unqueue(struct store *st, const char *id, json_t *args);
/* After a start: the VM's pending hardware changes were made; its record follows. */
void task_hotplug_after_start(struct task_ctx *t, const json_t *vm);

/* task_disk_move.c: vm.disk_move (args: disk, datastore). */
/* vm.pool_move (task_pool.c): the host moves the VM's QEMU into the
 * cgroup of the pool its record names; refused, the record goes back. */
int task_op_pool_move(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                      struct errinfo *e);
void task_pool_unqueue(struct store *st, const char *id, json_t *args);
/* Tells the VM's host the chain of pools its record names (PUT
 * /api/v1/vms/{name}/pool): before a start, so that it runs under its
 * pools' current settings. 0, or -1 with e. */
int task_pool_push(struct task_ctx *t, const json_t *vm, struct errinfo *e);
int task_op_disk_move(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                      struct errinfo *e);

/* task_host_power.c: host.power (target: the host; args: {"action": on |
 * off | cycle | status, "force"}), through the host's power driver. */
int task_op_host_power(struct task_ctx *t, json_t *unused, const char *op, json_t *args, json_t **result,
                       struct errinfo *e);

/* Runs op ("vm.create", "vm.start", ...). Returns 0 with an optional result,
 * or -1 with e. Every op is idempotent: running it again after a crash
 * converges to the same end. */
int task_run_op(struct task_ctx *t, const char *op, json_t **result, struct errinfo *e);

/* task_image.c: imports an image into the library (op image.import). */
int task_image_import(struct task_ctx *t, json_t *args, json_t **result, struct errinfo *e);
/* Makes sure host has its own copy of image_id (on datastore), uploading
 * it from the library when it has not; progress is the task's meanwhile.
 * 0, or -1 with e. */
int task_image_push(struct task_ctx *t, const char *host, const char *image_id, const char *datastore,
                    int progress, struct errinfo *e);
/* The name the VM's host knows it by: config.agent_name (vdcd's VM id for
 * VMs made since names became unique per project, as two projects' VMs
 * may share a name on one host), else the VM's name (VMs made before). */
const char *vm_agent_name(const json_t *vm);

/* task_cdrom.c: vm.cdrom (args: {"to": the config's new "cdrom": {"image",
 * "image_id"} with an ISO, {} empty, null no drive}). */
int task_op_cdrom(struct task_ctx *t, json_t *vm, const char *op, json_t *args, json_t **result,
                  struct errinfo *e);
/* The library images a VM's host needs besides its disks: the template's
 * kernel and initrd, and the ISO in its CD-ROM drive. Pointers into vm;
 * returns how many (at most 3). */
int vm_boot_images(const json_t *vm, const char *out[3]);
/* Gives host its own copy of each of vm_boot_images (task_image_push),
 * with a cancel point before each. 0, or -1 with e. */
int task_vm_push_boot_images(struct task_ctx *t, const json_t *vm, const char *host, int progress,
                             struct errinfo *e);
/* Sets config.key of VM id to value (null: removes it) on the config as
 * it is now (read again: it may have changed meanwhile). value is
 * consumed. 0, or -1 with e. */
int task_vm_patch_config(struct store *st, const char *id, const char *key, json_t *value, struct errinfo *e);

/* Pure: the agent's VM spec for a vdcd VM document (see api_vms.c for the
 * document's "config"). */
json_t *vm_agent_spec(const json_t *vm);

#endif

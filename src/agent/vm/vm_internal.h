/* vm_internal.h - what the files of vm/ share and nobody else calls. */
#ifndef VDC_VM_INTERNAL_H
#define VDC_VM_INTERNAL_H

#include "agent.h"
#include "qmp.h"

/* vm_core.c */
struct vm *vm_alloc(struct agent *a, const char *name);
void vm_free(struct vm *vm);
void vm_link(struct agent *a, struct vm *vm);
void vm_unlink(struct agent *a, struct vm *vm);
/* The last non-empty line QEMU wrote to its log: its own error message. */
void vm_qemu_log_last_line(struct vm *vm, char *out, size_t n);
/* Fills e for a failed QMP command of vm: 504 qmp_timeout (naming the VM,
 * the command and what to do) or 500 qmp with QEMU's words. */
void vm_qmp_error(struct vm *vm, const char *cmd, enum qmp_status st, const char *err,
                  struct errinfo *e);
/* The cloud-init seed of the VM; vm_remove_seed removes it and the UEFI
 * variable store (the VM's files beside its disks), and their folder if
 * then empty. */
void vm_seed_path(struct vm *vm, char *out, size_t n);
void vm_remove_seed(struct vm *vm);
/* The UEFI variable store of the VM: uefi-vars.fd in its first disk's
 * folder (the seed's), so it moves with the disks. */
void vm_vars_path(struct vm *vm, char *out, size_t n);
/* vm_lifecycle.c: a UEFI VM's store, copied from the host's OVMF_VARS when
 * it has none yet (defined as UEFI, or changed to it while stopped), owned
 * by the VM; code (may be NULL) gets the host's OVMF code. A BIOS VM: 0. */
int vm_ensure_vars(struct vm *vm, const char **code, struct errinfo *e);

/* vm_lifecycle.c: vm_start, or with incoming the QEMU of a VM arriving by
 * live migration (-incoming defer). */
int vm_start_qemu(struct vm *vm, bool incoming, vm_done_fn done, void *ctx, struct errinfo *e);

/* A directory of the VM's on a datastore: root's, group the VM's, 0750. */
int vm_give_dir(struct vm *vm, const char *dir, const char *field, struct errinfo *e);

/* vm_disk_move.c: a QEMU exit ends a move under way (its phase decides
 * which file the disk is); an agent restart finishes or drops one that
 * its intent file records. */
void vm_disk_move_qemu_gone(struct vm *vm);
void vm_disk_move_recover(struct vm *vm);

/* vm_watch.c */
/* Connects the console and QMP of a QEMU whose sockets exist, watches its
 * pid, and asks QEMU its state: then attached(vm, ctx, NULL), or with why
 * not (the caller cleans up). */
typedef void (*vm_attached_fn)(struct vm *vm, void *ctx, const char *err);
void vm_attach(struct vm *vm, vm_attached_fn attached, void *ctx);
void vm_release_runtime(struct vm *vm);
void vm_handle_exit(struct vm *vm);
void vm_drop_qmp(struct vm *vm);
/* Asks QEMU its run state and sets the VM's from it (not while stopping),
 * then done(ctx, 200, the VM) or the error. */
void vm_refresh_status(struct vm *vm, vm_done_fn done, void *ctx);

/* vm_migrate.c: whether a live migration of vm is under way (in or out,
 * QEMU's last word not completed, failed or cancelled). */
bool vm_migrating(const struct vm *vm);
/* vm_migrate.c: the sending side's checks, and the memory's send itself
 * (capabilities, parameters, migrate) without them. */
int vm_migrate_can_send(struct vm *vm, const char *uri, struct errinfo *e);
void vm_migrate_begin(struct vm *vm, const char *uri, const struct vm_migrate_opts *o, vm_done_fn done,
                      void *ctx);

/* vm_migrate_disks.c. Receiver: serves the VM's copy_in disks over NBD on
 * address (mig.nbd_port), then served(vm, ctx, NULL or why not). */
typedef void (*vm_nbd_served_fn)(struct vm *vm, void *ctx, const char *err);
void vm_nbd_serve(struct vm *vm, const char *address, vm_nbd_served_fn served, void *ctx);
/* Receiver, the state arrived: the exports go, the copies become the VM's
 * disks, and the guest runs when it ran on the sender. */
void vm_nbd_incoming_done(struct vm *vm);
/* At an agent's restart: finishes a copy receiver's arrival that the agent
 * was down for. */
void vm_nbd_recover(struct vm *vm);
/* Sender: the mirrors still copy (the memory has not begun to go). */
bool vm_mirror_copying(const struct vm *vm);
/* {"count", "total_bytes", "copied_bytes", "ready"} while mirrors exist, else NULL. */
json_t *vm_mirror_json(const struct vm *vm);
/* Stops a copy before the memory goes: -1 when none is under way. */
int vm_mirror_cancel(struct vm *vm);
/* QEMU waits in pre-switchover: the mirrors end whole, then migrate-continue. */
void vm_mirror_switchover(struct vm *vm);
/* The memory's send ended: a failed one drops the mirrors. */
void vm_mirror_migration_ended(struct vm *vm, bool failed);

/* vm_hotplug.c. A start first makes the pending changes (and sets how
 * many free hot-plug ports QEMU gets): 0, or -1 with e. */
int vm_hotplug_apply_pending(struct vm *vm, struct errinfo *e);
/* QEMU's DEVICE_DELETED for device (its id). */
void vm_hotplug_device_deleted(struct vm *vm, const char *device);
/* QEMU exited: a guest's late release can no longer come. */
void vm_hotplug_qemu_gone(struct vm *vm);
/* At agent exit: drops what waits, answering nobody. */
void vm_hotplug_detach(struct vm *vm);
/* vm_lifecycle.c: makes disk i of the spec (its file, as the VM's). */
int vm_make_disk(struct vm *vm, int i, struct errinfo *e);

/* vm_snapshot.c: ends the job under way (the VM stopped meanwhile...). */
void vm_job_end(struct vm *vm, unsigned status, const char *error);

#endif

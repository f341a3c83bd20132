/* vm_spec.h - a VM's desired configuration: parsed strictly from JSON (every
 * error names its field), validated, and written back for persistence. Pure:
 * no file system or network is touched here. */
#ifndef VDC_VM_SPEC_H
#define VDC_VM_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "jsonv.h"
#include "pool.h"

#define VM_MAX_DISKS 16
#define VM_MAX_NICS 8
#define VM_MAX_VCPUS 255
#define VM_MIN_MEMORY_MIB 16
#define VM_MAX_MEMORY_MIB (4u * 1024 * 1024)
#define VM_MAX_DISK_MIB (64ull * 1024 * 1024)
#define VM_MAX_USER_DATA (64 * 1024)
/* Hot-plug (vm_hotplug.c): a start gives QEMU this many free PCIe root
 * ports beyond the highest one a device uses, at most VM_HOTPLUG_MAX_PORTS. */
#define VM_HOTPLUG_SPARE 4
#define VM_HOTPLUG_MAX_PORTS (VM_MAX_DISKS + VM_MAX_NICS)

/* Where a disk or NIC stands between the spec and the running QEMU: a
 * change that could not be made live waits for the next start
 * (pending), as does a removal; a removed disk whose file was kept is
 * "unused" (Proxmox's word): the VM's still, attached to nothing. */
enum vm_hw_state { VM_HW_ATTACHED, VM_HW_ADD_PENDING, VM_HW_REMOVE_PENDING, VM_HW_UNUSED };
const char *vm_hw_state_name(enum vm_hw_state s);

struct vm_disk {
	char name[64];
	char datastore[64];
	char image[64];            /* id of the image (on this host) the disk starts from */
	char source_vm[64];        /* or: a stopped VM of this host whose disk is copied */
	char source_disk[64];      /* that VM's disk (default: this disk's name) */
	char *template_path;       /* resolved at define: the image's or source disk's file */
	bool copy;                 /* a full, independent copy of template_path, not a linked clone */
	char template_format[16];  /* "qcow2"/"raw", filled at define */
	uint64_t size_mib;         /* 0: the template's size */
	char *path;                /* resolved file, filled at define */
	/* A blank copy this host made for a live migration (the sender's disk
	 * is on a datastore this host does not share): it is this host's to
	 * remove until the migration completes, whatever else a delete keeps. */
	bool copy_in;
	/* The PCIe root port (1..) the disk is plugged into, so it can be
	 * unplugged live; 0: the machine's root bus, as at create (no unplug). */
	int slot;
	enum vm_hw_state hw;
	bool delete_pending; /* a pending removal also deletes the file */
};

struct vm_nic {
	bool user_mode;   /* QEMU user-mode networking, no bridge, host unreachable */
	bool nat;         /* the host's NAT network: bridge is NAT_BRIDGE */
	char bridge[16];
	char mac[18];     /* "52:54:00:xx:xx:xx", generated if not given */
	/* Stable across removals of others: QEMU's ids (netN, nicN) and the
	 * tap's name come from it. Its index when not given. */
	int id;
	int slot;         /* as a disk's */
	enum vm_hw_state hw;
};

/* The firmware a VM boots through (QEMU's -bios is SeaBIOS by default). */
enum vm_firmware { VM_FW_BIOS, VM_FW_UEFI };
/* What a VM boots from, in boot_order (QEMU's bootindex). */
#include "boot_order.h"

/* The agent's names for lib/boot_order.h's devices. */
enum vm_boot_dev { VM_BOOT_DISK = BOOT_DISK, VM_BOOT_CDROM = BOOT_CDROM, VM_BOOT_NET = BOOT_NET };
#define VM_MAX_BOOT BOOT_MAX

struct vm_spec {
	char name[64];
	char uuid[37];
	int vcpus;
	uint64_t memory_mib;
	char kernel_image[64], initrd_image[64]; /* image ids for a direct kernel boot */
	char *kernel, *initrd, *cmdline; /* their files, resolved at define; kernel boot when set */
	struct vm_disk disks[VM_MAX_DISKS];
	int ndisks;
	struct vm_nic nics[VM_MAX_NICS];
	int nnics;
	bool has_cloud_init;
	char *user_data;
	json_t *meta_data;      /* object, extra NoCloud meta-data keys */
	char *network_config;
	int cpu_weight;         /* 1..10000, 100 = normal share */
	int cpu_limit_pct;      /* 0 = none; 100 = one full CPU */
	uint64_t memory_limit_mib; /* 0 = none */
	/* The resource pools the VM is in, root first (vdcd's choice): its
	 * cgroup sits under one level per pool (cgroup.h). */
	struct pool_chain pool;
	bool vnc;
	/* QEMU's -cpu: a model of QEMU's list (the cluster's baseline, so the
	 * VM can move to any host of it); "" for the agent's default (host's
	 * CPU under KVM, QEMU's qemu64 under TCG). */
	char cpu_model[64];
	/* The guest's hardware watchdog: "i6300esb" (QEMU's PCI watchdog;
	 * Linux's driver of that name), or "" for none. QEMU only
	 * reports it firing; the agent ends the VM as crashed (vm_watch.c). */
	char watchdog[16];
	/* Firmware and boot order (used when the VM boots no kernel file).
	 * UEFI is the host's OVMF, chosen by the agent, with a variable store
	 * of the VM's own next to its first disk (vm_vars_path). nboot 0: the
	 * default order, the first disk. "cdrom" is the CD-ROM drive's
	 * bootindex (none without a drive). */
	enum vm_firmware firmware;
	unsigned char boot_order[VM_MAX_BOOT];
	int nboot;
	/* The CD-ROM drive (read-only, on the q35 AHCI bus): none, empty
	 * (cdrom_image ""), or holding an ISO of this host's images, named by
	 * id; its file (cdrom_path) is the agent's to find (images_find). */
	bool cdrom;
	char cdrom_image[64];
	char *cdrom_path;
	/* The VM's own identity on this host (agent-owned, from the store only):
	 * its QEMU and qemu-img runs and its files' owner. 0: none given yet. */
	unsigned uid, gid;
	/* The free PCIe root ports the running QEMU was started with (set by
	 * each start; an incoming VM's QEMU gets the sender's number). */
	int hotplug_ports;
};

enum vm_spec_source {
	VM_SPEC_FROM_USER,  /* an API request: agent-owned fields (paths) are refused */
	VM_SPEC_FROM_STORE, /* the agent's own persisted copy */
};

/* Parses and validates obj into spec (zeroed first). Returns 0, or -1 with
 * err naming the first bad field. spec must be freed with vm_spec_free in
 * both cases. */
int vm_spec_parse(const json_t *obj, enum vm_spec_source src, struct vm_spec *spec,
                  struct jv_err *err);
void vm_spec_free(struct vm_spec *spec);

/* What one NIC connects to, from n (at path: "nics[2]", or "" for a body
 * of its own): "bridge", "mode" (bridge, nat, user) and "mac", into nic.
 * Other keys are the caller's to check. 0, or -1 with err naming the field. */
int vm_spec_parse_nic(const json_t *n, const char *path, struct vm_nic *nic, struct jv_err *err);

/* obj's "watchdog": "i6300esb" into out, or "" when null or absent (none).
 * One model, named, so that more can come without a new field. 0, or -1
 * with err naming "watchdog". */
int vm_spec_parse_watchdog(const json_t *obj, char out[16], struct jv_err *err);

/* obj's "firmware" ("bios" or "uefi"; null or absent: bios) and
 * "boot_order" (a list of "disk", "cdrom", "net", each at most once; null
 * or absent: the first disk) into spec; a key absent from obj leaves that
 * field of spec unchanged when keep is set (a resize), else sets its
 * default. 0, or -1 with err naming the field ("boot_order[1]"). */
int vm_spec_parse_firmware(const json_t *obj, bool keep, struct vm_spec *spec, struct jv_err *err);
const char *vm_spec_firmware_name(enum vm_firmware fw);
const char *vm_spec_boot_dev_name(int dev);

/* obj's "cdrom" into spec: absent or null, no drive; {} or {"image":
 * null}, an empty drive; {"image": ID}, a drive holding image ID (an ISO
 * of this host's). From the store, "path" is its resolved file too; from a
 * user, a "path" is refused (images are named by id). 0, or -1 with err
 * naming "cdrom" or "cdrom.image". */
int vm_spec_parse_cdrom(const json_t *obj, enum vm_spec_source src, struct vm_spec *spec, struct jv_err *err);
/* spec's CD-ROM drive as JSON ("cdrom" of vm_spec_to_json); NULL for none. */
json_t *vm_spec_cdrom_json(const struct vm_spec *spec, bool with_paths);

/* Whether the VM fits under every level of pool: a level's memory limit
 * below the VM's memory would get the guest killed. 0, or -1 with err
 * naming the level's field ("pool[1].memory_limit_mib"). */
int vm_spec_check_pool(const struct vm_spec *spec, const struct pool_chain *pool, struct jv_err *err);

/* Fills generated values: MACs derived from the uuid (stable across
 * restarts), default datastore. uuid must be set. */
void vm_spec_fill_defaults(struct vm_spec *spec, const char *default_datastore);

/* The JSON form; with_paths includes agent-owned fields (disk paths, the
 * identity). */
json_t *vm_spec_to_json(const struct vm_spec *spec, bool with_paths);

/* The tap device name of the NIC of id i: "vt" + 8 hex of the uuid + "n" + i. */
void vm_spec_tap_name(const struct vm_spec *spec, int i, char out[16]);

bool vm_spec_valid_uuid(const char *s);
bool vm_spec_valid_mac(const char *s);
bool vm_spec_valid_ifname(const char *s);

/* The disks of spec that list names, comma-separated (vdcd's remove_disks
 * of a delete): marks[i] is set for each. 0 (an empty list marks none), or
 * -1 with bad (cut to n) the first name that is no disk of spec. */
int vm_spec_disk_list(const struct vm_spec *spec, const char *list, bool marks[VM_MAX_DISKS], char *bad,
                      size_t n);

#endif

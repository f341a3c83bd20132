/* disk.h - qcow2 disk files through qemu-img: blank disks, linked clones of a
 * template (backing file), copies, resize, and internal snapshots. qemu-img
 * always runs as the identity it is given (the VM's own, never root), is
 * always told the format (it never probes), and an image is only handed to
 * it after its backing chain was checked to stay in the allowed roots. Every
 * error carries qemu-img's own message. */
#ifndef VDC_DISK_H
#define VDC_DISK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errinfo.h"
#include "run.h"

#define DISK_MAX_CHAIN 16

/* Who reads images, and where they may be: as runs qemu-img; roots are the
 * directories (datastores, image roots) every image and backing file must
 * lie in, compared after resolving symlinks (realpath) on both sides. */
struct disk_access {
	const struct run_as *as;
	const char *const *roots;
	int nroots;
};

/* Checks the image at path (format given: "qcow2" or "raw") and each file of
 * its backing chain, walking it one image at a time with `qemu-img info -U
 * -f FMT` as da->as (which never opens a backing file), and refuses (400,
 * code unsafe_image, naming the file) when a file: lies outside da->roots
 * after realpath; is not a regular file; names its backing file with a
 * protocol (json:, nbd:, file:, ...) or without its format; is a qcow2 with
 * an external data file; is of a format other than the one named; or when
 * the chain is deeper than DISK_MAX_CHAIN. With shared, the image itself is
 * a shared read-only image (a template); backing files always are: each
 * must be owned by root, writable by nobody else and readable by all. virtual_bytes (may be
 * NULL) gets the image's virtual size. */
int disk_check_chain(const struct disk_access *da, const char *path, const char *format,
                     bool shared, uint64_t *virtual_bytes, const char *field, struct errinfo *e);

/* The format of a shared read-only image (in da->roots, root's, writable by
 * nobody else: all checked here first, refused as disk_check_chain does):
 * "qcow2" when it starts with qcow2's magic, else "raw". Only ever used on
 * files no VM can write, so a guest can never make its raw disk read as
 * qcow2. */
int disk_shared_format(const struct disk_access *da, const char *path, char *format, size_t flen,
                       const char *field, struct errinfo *e);

/* Virtual size of an image of the given format. */
int disk_info(const struct run_as *as, const char *path, const char *format,
              uint64_t *virtual_bytes, const char *field, struct errinfo *e);

/* The backing file a qcow2 image's header names ("" when none) and its
 * format ("" when not named), as qemu-img reads it (-U: the image may be
 * in use). Nothing is checked: see disk_check_chain. */
int disk_backing(const struct run_as *as, const char *path, char *backing, size_t n, char *format, size_t fn,
                 struct errinfo *e);

/* The creators write into path, which must exist already (made by the
 * agent, owned by as: see fs_open_beneath); qemu-img, running as as, could
 * not create it in the root-owned directory. */
int disk_create_blank(const struct run_as *as, const char *path, uint64_t size_mib,
                      const char *field, struct errinfo *e);
/* A qcow2 overlay on template; size_mib 0 keeps the template's size. */
int disk_create_clone(const struct run_as *as, const char *path, const char *template_path,
                      const char *template_format, uint64_t size_mib, const char *field,
                      struct errinfo *e);
/* A full qcow2 copy of source (its backing chain flattened), grown to
 * size_mib when that is larger. Fails while a running QEMU writes source
 * (QEMU's image locking), so only a stopped VM's disk is copied. */
int disk_create_copy(const struct run_as *as, const char *path, const char *source,
                     const char *source_format, uint64_t size_mib, uint64_t source_bytes,
                     const char *field, struct errinfo *e);
int disk_resize(const struct run_as *as, const char *path, uint64_t size_mib, struct errinfo *e);

/* Internal snapshots of a stopped VM's qcow2 disk. */
int disk_snapshot_create(const struct run_as *as, const char *path, const char *name,
                         struct errinfo *e);
int disk_snapshot_apply(const struct run_as *as, const char *path, const char *name,
                        struct errinfo *e);
int disk_snapshot_delete(const struct run_as *as, const char *path, const char *name,
                         struct errinfo *e);
/* Array of {"name","vm_state_bytes","date_sec"} or NULL with e. */
json_t *disk_snapshot_list(const struct run_as *as, const char *path, struct errinfo *e);

#endif

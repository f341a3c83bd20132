/* disk.h - qcow2 disk files through qemu-img: blank disks, linked clones of a
 * template (backing file), resize, and internal snapshots. Every error carries
 * qemu-img's own message. */
#ifndef VDC_DISK_H
#define VDC_DISK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "errinfo.h"

/* Format and virtual size of an image whose format is known (qemu-img is
 * told it with -f and never probes: a raw file whose bytes look like another
 * format, e.g. a vmdk descriptor naming /etc/shadow, stays raw). */
int disk_info(const char *path, const char *known_format, char *format, size_t flen,
              uint64_t *virtual_bytes, const char *field, struct errinfo *e);

int disk_create_blank(const char *path, uint64_t size_mib, const char *field, struct errinfo *e);
/* A qcow2 overlay on template; size_mib 0 keeps the template's size. */
int disk_create_clone(const char *path, const char *template_path, const char *template_format,
                      uint64_t size_mib, const char *field, struct errinfo *e);
/* A full qcow2 copy of source, read as source_format (never probed; its
 * backing chain flattened), grown to size_mib when that is larger. Fails
 * while a running QEMU writes source (QEMU's image locking), so only a
 * stopped VM's disk is copied. */
int disk_create_copy(const char *path, const char *source, const char *source_format,
                     uint64_t size_mib, uint64_t source_bytes, const char *field, struct errinfo *e);
int disk_resize(const char *path, uint64_t size_mib, struct errinfo *e);

/* Internal snapshots of a stopped VM's disk. */
int disk_snapshot_create(const char *path, const char *name, struct errinfo *e);
int disk_snapshot_apply(const char *path, const char *name, struct errinfo *e);
int disk_snapshot_delete(const char *path, const char *name, struct errinfo *e);
/* Array of {"name","vm_state_mib","date"} or NULL with e. */
json_t *disk_snapshot_list(const char *path, struct errinfo *e);

#endif

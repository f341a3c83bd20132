/* firmware.h - the host's UEFI firmware (OVMF): its code, read-only, and
 * the pristine variable store each UEFI VM gets a copy of. Paths are the
 * agent's own choice, never a user's. */
#ifndef VDC_FIRMWARE_H
#define VDC_FIRMWARE_H

#include "errinfo.h"

struct uefi_files {
	const char *code; /* OVMF_CODE*.fd: the firmware, mapped read-only */
	const char *vars; /* OVMF_VARS*.fd of the same build: the template store */
};

/* The first OVMF pair installed on this host (Debian's ovmf: the 4 MiB
 * build, else the 2 MiB one). 0, or -1 with e (409 uefi_unavailable, field
 * "firmware") naming the package to install. */
int firmware_uefi_find(struct uefi_files *out, struct errinfo *e);

/* Copies the template store to path, which the caller created (empty,
 * owned by the VM); fd is open on it for writing. 0, or -1 with e. */
int firmware_uefi_vars_copy(const struct uefi_files *f, int fd, const char *path, struct errinfo *e);

#endif

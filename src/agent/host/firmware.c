/* firmware.c - finds the host's OVMF and copies its variable store for a
 * VM: UEFI keeps boot entries and Secure Boot keys there, so each VM has its
 * own, next to its disks. */
#include "firmware.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

static const struct uefi_files candidates[] = {
	{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"},
	{"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"},
};

int firmware_uefi_find(struct uefi_files *out, struct errinfo *e)
{
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (fs_exists(candidates[i].code) && fs_exists(candidates[i].vars)) {
			*out = candidates[i];
			return 0;
		}
	return errinfo_set(e, 409, "uefi_unavailable", "firmware",
	                   "this host has no UEFI firmware (%s): install Debian's ovmf package, or use "
	                   "firmware 'bios'", candidates[0].code);
}

int firmware_uefi_vars_copy(const struct uefi_files *f, int fd, const char *path, struct errinfo *e)
{
	size_t len = 0;
	char *data = fs_read_all(f->vars, 64u << 20, &len);
	if (!data)
		return errinfo_set(e, 500, "firmware", "firmware", "cannot read %s: %s", f->vars, strerror(errno));
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int err = w < 0 ? errno : EIO;
			free(data);
			return errinfo_set(e, err == ENOSPC ? 507 : 500, "datastore", "firmware",
			                   "cannot write %s: %s", path, strerror(err));
		}
		off += (size_t)w;
	}
	free(data);
	if (fsync(fd) < 0)
		return errinfo_set(e, 500, "datastore", "firmware", "cannot sync %s: %s", path, strerror(errno));
	return 0;
}

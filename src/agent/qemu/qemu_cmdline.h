/* qemu_cmdline.h - the QEMU command line for a VM spec. Pure: the caller
 * supplies every file descriptor number and path the line refers to. */
#ifndef VDC_QEMU_CMDLINE_H
#define VDC_QEMU_CMDLINE_H

#include "vm_spec.h"

struct qemu_launch {
	const char *binary;      /* "qemu-system-x86_64" */
	const char *accel;       /* "kvm" or "tcg" */
	int qmp_fd;              /* listening unix socket for QMP */
	int serial_fd;           /* listening unix socket for the serial console */
	int qga_fd;              /* listening unix socket for the guest agent (0: none) */
	int tap_fds[VM_MAX_NICS];/* bridge NICs: an open tap; -1 for user mode */
	const char *seed_path;   /* NoCloud seed ISO, or NULL */
	const char *vnc_path;    /* unix socket QEMU makes for VNC (spec->vnc) */
	/* UEFI (spec->firmware): the host's OVMF code, read-only, and the
	 * VM's own variable store, both chosen by the agent. */
	const char *uefi_code, *uefi_vars;
	bool sandbox;            /* -sandbox on (seccomp) */
	bool incoming;           /* -incoming defer: waits for a live migration's state */
};

struct strv {
	char **v;
	int n, cap;
};

void strv_free(struct strv *sv);

/* Builds argv (NULL-terminated in out->v). Returns 0, -ENOMEM, or -EINVAL
 * for a UEFI spec without launch->uefi_code and uefi_vars. */
int qemu_cmdline_build(const struct vm_spec *spec, const struct qemu_launch *launch,
                       struct strv *out);

/* Whether QEMU has the disk (attached, or its removal waits for the next
 * start): what a start for an incoming migration must give it. */
bool qemu_disk_present(const struct vm_disk *d);

/* QEMU option values escape ',' by doubling it. */
char *qemu_opt_escape(const char *s);

#endif

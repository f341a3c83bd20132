/* qemu_cmdline.c - one function turns a spec into QEMU's argv. Options are
 * spelled the modern way (-blockdev-free -drive with if=none + -device) so
 * the same line works under KVM on real hosts and TCG in CI. */
#include "qemu_cmdline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strv_free(struct strv *sv)
{
	for (int i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

static int strv_addf(struct strv *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int strv_addf(struct strv *sv, const char *fmt, ...)
{
	if (sv->n + 2 > sv->cap) {
		int cap = sv->cap ? sv->cap * 2 : 64;
		char **nv = realloc(sv->v, (size_t)cap * sizeof(char *));
		if (!nv)
			return -ENOMEM;
		sv->v = nv;
		sv->cap = cap;
	}
	va_list ap;
	va_start(ap, fmt);
	int rc = vasprintf(&sv->v[sv->n], fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -ENOMEM;
	sv->n++;
	sv->v[sv->n] = NULL;
	return 0;
}

char *qemu_opt_escape(const char *s)
{
	size_t n = strlen(s), commas = 0;
	for (size_t i = 0; i < n; i++)
		commas += s[i] == ',';
	char *out = malloc(n + commas + 1);
	if (!out)
		return NULL;
	char *o = out;
	for (size_t i = 0; i < n; i++) {
		*o++ = s[i];
		if (s[i] == ',')
			*o++ = ',';
	}
	*o = '\0';
	return out;
}

bool qemu_disk_present(const struct vm_disk *d)
{
	return d->hw == VM_HW_ATTACHED || d->hw == VM_HW_REMOVE_PENDING;
}

/* The bootindex of dev under spec's boot order: 1 for the first entry, 0
 * for none (a kernel file boots the VM, or dev is not in the order). */
static int boot_index(const struct vm_spec *spec, int dev)
{
	if (spec->kernel)
		return 0;
	if (!spec->nboot)
		return dev == VM_BOOT_DISK ? 1 : 0;
	for (int i = 0; i < spec->nboot; i++)
		if (spec->boot_order[i] == dev)
			return i + 1;
	return 0;
}

int qemu_cmdline_build(const struct vm_spec *spec, const struct qemu_launch *l, struct strv *sv)
{
	int rc = 0;
	char *esc = NULL;
	memset(sv, 0, sizeof(*sv));
#define ADD(...) do { if ((rc = strv_addf(sv, __VA_ARGS__)) < 0) goto cleanup; } while (0)
	ADD("%s", l->binary);
	ADD("-name");
	ADD("guest=%s,debug-threads=on", spec->name);
	ADD("-uuid");
	ADD("%s", spec->uuid);
	ADD("-machine");
	ADD("q35,accel=%s", l->accel);
	if (spec->cpu_model[0]) { /* the cluster's baseline: the same CPU on every host */
		ADD("-cpu");
		ADD("%s", spec->cpu_model);
	} else if (!strcmp(l->accel, "kvm")) {
		ADD("-cpu");
		ADD("host");
	}
	ADD("-m");
	ADD("%llu", (unsigned long long)spec->memory_mib);
	ADD("-smp");
	ADD("%d", spec->vcpus);
	ADD("-nodefaults");
	ADD("-no-user-config");
	ADD("-msg");
	ADD("timestamp=on");
	/* Monitor and serial use sockets the agent created and listens on, so
	 * the agent can connect before QEMU even starts and after it restarts. */
	ADD("-chardev");
	ADD("socket,id=qmp,fd=%d,server=on,wait=off", l->qmp_fd);
	ADD("-mon");
	ADD("chardev=qmp,mode=control");
	ADD("-chardev");
	ADD("socket,id=serial0,fd=%d,server=on,wait=off", l->serial_fd);
	ADD("-serial");
	ADD("chardev:serial0");
	/* The guest agent's channel: a virtio-serial port the guest's qemu-ga
	 * opens by its name; the agent talks to it through its own socket. */
	if (l->qga_fd > 0) {
		ADD("-chardev");
		ADD("socket,id=qga0,fd=%d,server=on,wait=off", l->qga_fd);
		ADD("-device");
		ADD("virtio-serial-pci,id=vser0");
		ADD("-device");
		ADD("virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0");
	}
	if (spec->vnc && l->vnc_path) {
		ADD("-vga");
		ADD("std");
		/* A unix socket in the VM's own directory, never TCP: only the
		 * agent (root) and the VM's identity can reach it. */
		if (!(esc = qemu_opt_escape(l->vnc_path))) {
			rc = -ENOMEM;
			goto cleanup;
		}
		/* force-shared: every viewer sees the one screen, and none can
		 * take it from the others by asking for an exclusive session. */
		ADD("-vnc");
		ADD("unix:%s,share=force-shared", esc);
		free(esc);
		esc = NULL;
	} else {
		ADD("-display");
		ADD("none");
	}
	if (spec->firmware == VM_FW_UEFI) {
		if (!l->uefi_code || !l->uefi_vars) {
			rc = -EINVAL;
			goto cleanup;
		}
		if (!(esc = qemu_opt_escape(l->uefi_code))) {
			rc = -ENOMEM;
			goto cleanup;
		}
		ADD("-drive");
		ADD("if=pflash,format=raw,unit=0,readonly=on,file=%s", esc);
		free(esc);
		if (!(esc = qemu_opt_escape(l->uefi_vars))) {
			rc = -ENOMEM;
			goto cleanup;
		}
		ADD("-drive");
		ADD("if=pflash,format=raw,unit=1,file=%s", esc);
		free(esc);
		esc = NULL;
	}
	int disk_boot = boot_index(spec, VM_BOOT_DISK), net_boot = boot_index(spec, VM_BOOT_NET);
	if (spec->kernel) {
		ADD("-kernel");
		ADD("%s", spec->kernel);
		if (spec->initrd) {
			ADD("-initrd");
			ADD("%s", spec->initrd);
		}
		if (spec->cmdline) {
			ADD("-append");
			ADD("%s", spec->cmdline);
		}
	}
	/* Devices on the root bus first, in the spec's order, as before
	 * hot-plug existed (their PCI addresses stay what the guest knew);
	 * those on hot-plug root ports after the ports. */
	int boot_disk = -1;
	for (int i = 0; i < spec->ndisks && boot_disk < 0; i++)
		if (qemu_disk_present(&spec->disks[i]))
			boot_disk = i;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			for (int p = 1; p <= spec->hotplug_ports; p++) {
				ADD("-device");
				ADD("pcie-root-port,id=hp%d,chassis=%d", p, p);
			}
		for (int i = 0; i < spec->ndisks; i++) {
			const struct vm_disk *d = &spec->disks[i];
			if (!qemu_disk_present(d) || (d->slot > 0) != (pass == 1))
				continue;
			if (!(esc = qemu_opt_escape(d->path ? d->path : ""))) {
				rc = -ENOMEM;
				goto cleanup;
			}
			char bus[32] = "";
			if (d->slot)
				snprintf(bus, sizeof(bus), ",bus=hp%d", d->slot);
			ADD("-drive");
			/* node-name: QMP's snapshot commands address block nodes by it. */
			ADD("file=%s,format=qcow2,if=none,id=drive-%s,node-name=vdc-%s,discard=unmap", esc, d->name,
			    d->name);
			ADD("-device");
			if (i == boot_disk && disk_boot)
				ADD("virtio-blk-pci,drive=drive-%s,id=disk-%s%s,bootindex=%d", d->name, d->name, bus,
				    disk_boot);
			else
				ADD("virtio-blk-pci,drive=drive-%s,id=disk-%s%s", d->name, d->name, bus);
			free(esc);
			esc = NULL;
		}
		if (pass == 0 && spec->cdrom) {
			/* q35's own AHCI controller (ide.0): SeaBIOS and OVMF both
			 * boot from a CD on it, and every guest has its driver.
			 * Read-only, and empty until an ISO is inserted (QMP
			 * blockdev-change-medium on device cdrom0). */
			int cd_boot = boot_index(spec, VM_BOOT_CDROM);
			bool medium = spec->cdrom_image[0] && spec->cdrom_path;
			if (medium && !(esc = qemu_opt_escape(spec->cdrom_path))) {
				rc = -ENOMEM;
				goto cleanup;
			}
			ADD("-drive");
			if (medium)
				ADD("file=%s,format=raw,if=none,id=drive-cdrom0,media=cdrom,readonly=on", esc);
			else
				ADD("if=none,id=drive-cdrom0,media=cdrom,readonly=on");
			ADD("-device");
			if (cd_boot)
				ADD("ide-cd,drive=drive-cdrom0,bus=ide.0,id=cdrom0,bootindex=%d", cd_boot);
			else
				ADD("ide-cd,drive=drive-cdrom0,bus=ide.0,id=cdrom0");
			free(esc);
			esc = NULL;
		}
		if (pass == 0 && l->seed_path) {
			if (!(esc = qemu_opt_escape(l->seed_path))) {
				rc = -ENOMEM;
				goto cleanup;
			}
			ADD("-drive");
			ADD("file=%s,format=raw,if=none,id=drive-cidata,readonly=on", esc);
			ADD("-device");
			ADD("virtio-blk-pci,drive=drive-cidata,id=disk-cidata");
			free(esc);
			esc = NULL;
		}
		int boot_nic = -1;
		for (int i = 0; i < spec->nnics && boot_nic < 0; i++)
			if (spec->nics[i].hw != VM_HW_ADD_PENDING)
				boot_nic = i;
		for (int i = 0; i < spec->nnics; i++) {
			const struct vm_nic *n = &spec->nics[i];
			if (n->hw == VM_HW_ADD_PENDING || (n->slot > 0) != (pass == 1))
				continue;
			char bus[32] = "";
			if (n->slot)
				snprintf(bus, sizeof(bus), ",bus=hp%d", n->slot);
			ADD("-netdev");
			if (n->user_mode)
				/* restrict=on: the guest gets DHCP and nothing else, never the
				 * host (10.0.2.2 is the host's loopback) nor the outside. */
				ADD("user,id=net%d,restrict=on", n->id);
			else
				/* vhost-net needs its own fd handed over; left for later. */
				ADD("tap,id=net%d,fd=%d,vhost=off", n->id, l->tap_fds[i]);
			ADD("-device");
			if (i == boot_nic && net_boot)
				ADD("virtio-net-pci,netdev=net%d,id=nic%d,mac=%s%s,bootindex=%d", n->id, n->id, n->mac, bus,
				    net_boot);
			else
				ADD("virtio-net-pci,netdev=net%d,id=nic%d,mac=%s%s", n->id, n->id, n->mac, bus);
		}
		if (pass == 0 && spec->watchdog[0]) {
			ADD("-device");
			ADD("%s,id=watchdog0", spec->watchdog);
			/* QEMU itself does nothing when it fires but send the WATCHDOG
			 * event: the agent ends the VM and says why, and vdcd's HA
			 * decides on a restart (a reset inside QEMU would be invisible
			 * to both, and count against no restart budget). */
			ADD("-action");
			ADD("watchdog=none");
		}
	}
	if (l->incoming) {
		/* The listening address comes later (migrate-incoming), once
		 * capabilities are set as on the sending side. */
		ADD("-incoming");
		ADD("defer");
	}
	if (l->sandbox) {
		ADD("-sandbox");
		ADD("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
	}
#undef ADD
cleanup:
	free(esc);
	if (rc < 0)
		strv_free(sv);
	return rc;
}

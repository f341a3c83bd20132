/* variant.c - what vm-start boots, in one place for every peer: the VM spec
 * (the JSON the vdc peer sends), the raw peer's QEMU command line made from
 * that same spec by the agent's own qemu_cmdline_build, and the check that
 * this line is the agent's, argument for argument. */
#include "peers.h"

#include "qemu_cmdline.h"
#include "vm_spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *variant_name(enum variant v)
{
	return v == VARIANT_DEFAULT ? "default" : "minimal";
}

char *variant_spec_json(const struct guest *g, enum variant v, const char *name, int memory_mib)
{
	json_t *spec = json_pack("{s:s, s:i, s:i, s:{s:s, s:s, s:s}}", "name", name, "vcpus", 1,
	                         "memory_mib", memory_mib, "boot", "kernel_image", KERNEL_IMAGE,
	                         "initrd_image", INITRD_IMAGE, "cmdline", g->cmdline);
	if (v == VARIANT_DEFAULT) {
		/* What vdcd's vm_agent_spec() sends for a template with a kernel:
		 * VNC display, a root disk cloned from an image, one NIC. vdcd's NIC
		 * is mode nat (a tap on the host's NAT bridge); here it is mode
		 * user: the same virtio-net-pci device, with a backend the bench
		 * can start and stop without leaving a bridge and dnsmasq behind. */
		json_object_set_new(spec, "display", json_string("vnc"));
		json_object_set_new(spec, "disks", json_pack("[{s:s, s:s}]", "name", "root", "image",
		                                             DISK_IMAGE));
		json_object_set_new(spec, "nics", json_pack("[{s:s}]", "mode", "user"));
	} else {
		json_object_set_new(spec, "display", json_string("none"));
		json_object_set_new(spec, "disks", json_array());
		json_object_set_new(spec, "nics", json_array());
	}
	char *s = json_dumps(spec, JSON_COMPACT);
	json_decref(spec);
	return s;
}

int variant_raw_argv(const struct guest *g, enum variant v, const char *name, const char *uuid,
                     const struct raw_paths *paths, struct strv *argv)
{
	char *js = variant_spec_json(g, v, name, g->memory_mib);
	json_t *obj = js ? json_loads(js, 0, NULL) : NULL;
	free(js);
	struct vm_spec spec;
	struct jv_err err = {0};
	int rc = vm_spec_parse(obj, VM_SPEC_FROM_USER, &spec, &err);
	json_decref(obj);
	if (rc < 0) {
		say("the bench's own spec does not parse: %s: %s", err.field, err.message);
		vm_spec_free(&spec);
		return -1;
	}
	/* What the agent fills at define: the uuid (MACs derive from it) and
	 * the files; here the raw peer's own. */
	snprintf(spec.uuid, sizeof(spec.uuid), "%s", uuid);
	vm_spec_fill_defaults(&spec, "local");
	spec.kernel = strdup(g->kernel);
	spec.initrd = strdup(g->initrd);
	for (int i = 0; i < spec.ndisks; i++)
		spec.disks[i].path = strdup(paths->disk);
	struct qemu_launch l = {.binary = "qemu-system-x86_64", .accel = g->accel, .qmp_fd = 3,
	                        .serial_fd = 4, .vnc_path = paths->vnc, .sandbox = true};
	for (int i = 0; i < VM_MAX_NICS; i++)
		l.tap_fds[i] = -1;
	rc = qemu_cmdline_build(&spec, &l, argv);
	vm_spec_free(&spec);
	if (rc < 0)
		say("qemu_cmdline_build: out of memory");
	return rc < 0 ? -1 : 0;
}

/* Appends arg to out with what differs per VM by construction written as a
 * placeholder: absolute paths (after the start, '=', ':' or ','), uuids and
 * MAC addresses. Everything else (devices, options, values) stays. */
static void shape_arg(const char *a, char *out, size_t cap)
{
	size_t o = strlen(out);
	for (const char *p = a; *p && o + 8 < cap;) {
		bool at_start = p == a || strchr("=:,", p[-1]);
		if (*p == '/' && at_start) {
			o += (size_t)snprintf(out + o, cap - o, "PATH");
			while (*p && *p != ',')
				p++;
			continue;
		}
		size_t n = strspn(p, "0123456789abcdef-");
		if (at_start && n == 36 && p[8] == '-' && p[13] == '-' && p[18] == '-' && p[23] == '-') {
			o += (size_t)snprintf(out + o, cap - o, "UUID");
			p += 36;
			continue;
		}
		n = strspn(p, "0123456789abcdef:");
		if (at_start && n == 17 && p[2] == ':' && p[14] == ':') {
			o += (size_t)snprintf(out + o, cap - o, "MAC");
			p += 17;
			continue;
		}
		out[o++] = *p++;
	}
	if (o + 1 < cap)
		out[o++] = ' ';
	out[o] = '\0';
}

int variant_check_cmdline(const char *s, size_t len, char *const raw_argv[])
{
	if (!s || !len) {
		say("no command line of the agent's QEMU to compare with");
		return -1;
	}
	size_t cap = 1 << 16;
	char *a = calloc(1, cap), *b = calloc(1, cap);
	int nb = 0;
	/* The binary by its name: the agent may have resolved it to a path. */
	const char *base = strrchr(s, '/');
	shape_arg(base ? base + 1 : s, a, cap);
	for (size_t off = strlen(s) + 1; off < len; off += strlen(s + off) + 1)
		shape_arg(s + off, a, cap);
	base = strrchr(raw_argv[0], '/');
	shape_arg(base ? base + 1 : raw_argv[0], b, cap);
	for (nb = 1; raw_argv[nb]; nb++)
		shape_arg(raw_argv[nb], b, cap);
	int rc = strcmp(a, b) ? -1 : 0;
	if (rc < 0)
		say("the raw QEMU line differs from the agent's:\n  agent: %s\n  raw:   %s", a, b);
	else
		say("raw QEMU line = the agent's, argument for argument (%d args; paths, uuid, MAC aside)",
		    nb);
	free(a);
	free(b);
	return rc;
}

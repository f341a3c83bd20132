/* fuzz_vm_spec.c - libFuzzer harness for the VM spec parser. Beyond "no
 * crash" it checks properties: every refusal names a field, and every
 * accepted spec survives the trip to its stored form and back unchanged
 * (the agent re-reads that form on every restart) and yields a QEMU argv. */
#include "qemu_cmdline.h"
#include "vm_spec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXED_UUID "5f0e7c1a-3b2d-4e8f-9a6b-0c1d2e3f4a5b"

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "property violated: %s\n", what);
		abort();
	}
}

static void check_refusal(const struct jv_err *err)
{
	check(err->field[0] != '\0', "a refusal names a field");
	check(err->message[0] != '\0', "a refusal says why");
}

static void argv_for(const struct vm_spec *spec)
{
	struct qemu_launch l = {.binary = "qemu-system-x86_64", .accel = "tcg", .qmp_fd = 3,
	                        .serial_fd = 4, .seed_path = "/run/s,eed.iso", .sandbox = true,
	                        /* a UEFI VM's files: the agent's choice, as at a start */
	                        .uefi_code = "/usr/share/OVMF/OVMF_CODE_4M.fd", .uefi_vars = "/ds/v,m/uefi-vars.fd"};
	for (int i = 0; i < VM_MAX_NICS; i++)
		l.tap_fds[i] = spec->nics[i].user_mode ? -1 : 10 + i;
	struct strv sv;
	check(qemu_cmdline_build(spec, &l, &sv) == 0, "an accepted spec has an argv");
	check(sv.n > 0 && sv.v[sv.n] == NULL, "argv is NULL-terminated");
	strv_free(&sv);
}

/* The stored form of an accepted spec parses back to the same document.
 * A user's spec also survives as its public form; a stored one need not (it
 * may hold only resolved files, which the public form leaves out). */
static void round_trip(struct vm_spec *spec, int from_user)
{
	if (!spec->uuid[0])
		snprintf(spec->uuid, sizeof(spec->uuid), "%s", FIXED_UUID);
	vm_spec_fill_defaults(spec, "local");
	for (int i = 0; i < spec->nnics; i++)
		check(vm_spec_valid_mac(spec->nics[i].mac), "generated MACs are valid");
	char tap[16];
	vm_spec_tap_name(spec, VM_MAX_NICS - 1, tap);
	check(strlen(tap) <= 15, "tap names fit IFNAMSIZ");

	json_t *stored = vm_spec_to_json(spec, true);
	check(stored != NULL, "to_json gives a document");
	struct vm_spec back;
	struct jv_err err = {0};
	if (vm_spec_parse(stored, VM_SPEC_FROM_STORE, &back, &err) != 0) {
		char *s = json_dumps(stored, JSON_SORT_KEYS);
		fprintf(stderr, "stored form refused at %s: %s\n%s\n", err.field, err.message, s);
		free(s);
		abort();
	}
	json_t *again = vm_spec_to_json(&back, true);
	check(json_equal(stored, again), "the stored form is a fixed point");
	vm_spec_free(&back);
	json_decref(again);

	/* The public form (no agent-owned fields, no host path) is a valid
	 * user request. */
	json_t *pub = vm_spec_to_json(spec, false);
	json_t *boot = json_object_get(pub, "boot");
	check(!json_object_get(boot, "kernel") && !json_object_get(boot, "initrd"),
	      "the public form names no kernel or initrd file");
	for (size_t i = 0; i < json_array_size(json_object_get(pub, "disks")); i++)
		check(!json_object_get(json_array_get(json_object_get(pub, "disks"), i), "template"),
		      "the public form names no template file");
	if (from_user) {
		memset(&err, 0, sizeof(err));
		check(vm_spec_parse(pub, VM_SPEC_FROM_USER, &back, &err) == 0,
		      "the public form is a valid request");
		vm_spec_free(&back);
	}
	json_decref(pub);
	json_decref(stored);
	argv_for(spec);
}

/* A delete's remove_disks list against the spec: the input itself (as
 * text) and the spec's own names joined are both tried. A list is
 * accepted only when every name in it is a disk's, and then marks exactly
 * those; a refusal names a part of the list that is no disk's. */
static void disk_list(const struct vm_spec *spec, const uint8_t *data, size_t size)
{
	char text[512];
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = '\0';
	char names[VM_MAX_DISKS * 65] = "";
	for (int i = 0; i < spec->ndisks; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? "," : "", spec->disks[i].name);
	const char *lists[] = {text, names};
	for (int k = 0; k < 2; k++) {
		bool marks[VM_MAX_DISKS] = {0};
		char bad[300] = "";
		int rc = vm_spec_disk_list(spec, lists[k], marks, bad, sizeof(bad));
		if (k == 1)
			check(rc == 0, "the spec's own disk names are a valid list");
		if (rc == 0) {
			for (int i = 0; i < spec->ndisks; i++)
				check(!marks[i] || strstr(lists[k], spec->disks[i].name), "a marked disk is named in the list");
			if (k == 1)
				for (int i = 0; i < spec->ndisks; i++)
					check(marks[i], "every disk named is marked");
		} else {
			for (int i = 0; i < spec->ndisks; i++)
				check(strcmp(bad, spec->disks[i].name) != 0, "a refused name is no disk's");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
	if (!j)
		return 0;
	static const enum vm_spec_source srcs[] = {VM_SPEC_FROM_USER, VM_SPEC_FROM_STORE};
	int user_ok = 0;
	for (size_t k = 0; k < 2; k++) {
		struct vm_spec spec;
		struct jv_err err = {0};
		if (vm_spec_parse(j, srcs[k], &spec, &err) == 0) {
			check(err.field[0] == '\0', "success leaves no error");
			if (k == 0)
				user_ok = 1;
			round_trip(&spec, k == 0);
			disk_list(&spec, data, size);
		} else {
			check_refusal(&err);
			/* What a user may send, the store may hold. */
			check(!(k == 1 && user_ok), "USER-valid implies STORE-valid");
		}
		vm_spec_free(&spec);
	}
	json_decref(j);
	return 0;
}

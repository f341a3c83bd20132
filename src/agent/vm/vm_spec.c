/* vm_spec.c - strict parsing and validation of a VM spec. Every check that
 * needs no I/O lives here, so the fuzzer and the unit tests reach all of it. */
#include "vm_spec.h"

#include "nat_rules.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PATH_LEN 1024
#define MAX_CMDLINE 4096

bool vm_spec_valid_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

bool vm_spec_valid_mac(const char *s)
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2) {
			if (s[i] != ':')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	/* The first octet must name a unicast address. */
	unsigned first = (unsigned)strtoul(s, NULL, 16);
	return (first & 1u) == 0;
}

bool vm_spec_valid_ifname(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!isalnum((unsigned char)c) && c != '-' && c != '_' && c != '.')
			return false;
	}
	return true;
}

static int copy_name(char *dst, size_t n, const char *src, const char *field, struct jv_err *err)
{
	if (!jv_is_safe_name(src))
		return jv_fail(err, field,
		               "'%s' is not a valid name: use 1-63 letters, digits, '-', '_' or '.', "
		               "starting with a letter or digit", src);
	snprintf(dst, n, "%s", src);
	return 0;
}

static int dup_abs_path(char **dst, const char *src, const char *field, struct jv_err *err)
{
	if (src[0] != '/')
		return jv_fail(err, field, "must be an absolute path, not '%s'", src);
	if (strstr(src, "/../") || (strlen(src) >= 3 && !strcmp(src + strlen(src) - 3, "/..")))
		return jv_fail(err, field, "must not contain '..' components");
	*dst = strdup(src);
	return *dst ? 0 : jv_fail(err, field, "out of memory");
}

/* An image id: a safe name (images are never named by a host path). */
static int copy_image_id(char *dst, size_t n, const char *id, const char *field, struct jv_err *err)
{
	if (!jv_is_safe_name(id))
		return jv_fail(err, field, "'%s' is not an image id: images are uploaded to the host "
		               "(PUT /api/v1/images/{id}) and named by id, never by a host path", id);
	snprintf(dst, n, "%s", id);
	return 0;
}

/* A caller who still sends a host path is told what replaced it. */
static int refuse_path_key(const json_t *obj, const char *path, const char *key, const char *instead,
                           struct jv_err *err)
{
	if (!json_object_get(obj, key))
		return 0;
	char f[96];
	jv_path(f, sizeof(f), path, key);
	return jv_fail(err, f, "host paths are not accepted: upload the file as an image "
	               "(PUT /api/v1/images/{id}) and give %s", instead);
}

static int parse_boot(const json_t *root, enum vm_spec_source src, struct vm_spec *spec,
                      struct jv_err *err)
{
	json_t *boot = NULL;
	if (jv_member(root, "", "boot", false, JSON_OBJECT, &boot, err) < 0)
		return -1;
	if (!boot)
		return 0;
	static const char *const user_keys[] = {"kernel_image", "initrd_image", "cmdline", NULL};
	static const char *const store_keys[] = {"kernel_image", "initrd_image", "cmdline", "kernel",
	                                         "initrd", NULL};
	if (src == VM_SPEC_FROM_USER &&
	    (refuse_path_key(boot, "boot", "kernel", "boot.kernel_image", err) < 0 ||
	     refuse_path_key(boot, "boot", "initrd", "boot.initrd_image", err) < 0))
		return -1;
	if (jv_only_keys(boot, "boot", src == VM_SPEC_FROM_USER ? user_keys : store_keys, err) < 0)
		return -1;
	const char *kimg = NULL, *iimg = NULL, *kernel = NULL, *initrd = NULL, *cmdline = NULL;
	if (jv_string(boot, "boot", "kernel_image", false, 63, &kimg, err) < 0 ||
	    jv_string(boot, "boot", "initrd_image", false, 63, &iimg, err) < 0 ||
	    jv_string(boot, "boot", "kernel", false, MAX_PATH_LEN, &kernel, err) < 0 ||
	    jv_string(boot, "boot", "initrd", false, MAX_PATH_LEN, &initrd, err) < 0 ||
	    jv_string(boot, "boot", "cmdline", false, MAX_CMDLINE, &cmdline, err) < 0)
		return -1;
	if (!kimg && !kernel && (iimg || initrd || cmdline))
		return jv_fail(err, "boot.kernel_image",
		               "is required when boot.initrd_image or boot.cmdline is given");
	if (kimg && copy_image_id(spec->kernel_image, sizeof(spec->kernel_image), kimg,
	                          "boot.kernel_image", err) < 0)
		return -1;
	if (iimg && copy_image_id(spec->initrd_image, sizeof(spec->initrd_image), iimg,
	                          "boot.initrd_image", err) < 0)
		return -1;
	if (kernel && dup_abs_path(&spec->kernel, kernel, "boot.kernel", err) < 0)
		return -1;
	if (initrd && dup_abs_path(&spec->initrd, initrd, "boot.initrd", err) < 0)
		return -1;
	if (cmdline) {
		for (const char *c = cmdline; *c; c++)
			if ((unsigned char)*c < 0x20)
				return jv_fail(err, "boot.cmdline", "must not contain control characters");
		if (!(spec->cmdline = strdup(cmdline)))
			return jv_fail(err, "boot.cmdline", "out of memory");
	}
	return 0;
}

int vm_spec_parse_cdrom(const json_t *obj, enum vm_spec_source src, struct vm_spec *spec, struct jv_err *err)
{
	const json_t *c = json_object_get(obj, "cdrom");
	free(spec->cdrom_path);
	spec->cdrom_path = NULL;
	spec->cdrom_image[0] = '\0';
	spec->cdrom = false;
	if (!c || json_is_null(c))
		return 0;
	if (!json_is_object(c))
		return jv_fail(err, "cdrom", "must be an object ({} for an empty drive, {\"image\": ID} with an ISO) "
		               "or null (no drive)");
	static const char *const user_keys[] = {"image", NULL};
	static const char *const store_keys[] = {"image", "path", NULL};
	if (src == VM_SPEC_FROM_USER && refuse_path_key(c, "cdrom", "path", "cdrom.image", err) < 0)
		return -1;
	if (jv_only_keys(c, "cdrom", src == VM_SPEC_FROM_USER ? user_keys : store_keys, err) < 0)
		return -1;
	const json_t *img = json_object_get(c, "image");
	const char *id = NULL, *path = NULL;
	if (img && !json_is_null(img) && jv_string(c, "cdrom", "image", true, 63, &id, err) < 0)
		return -1;
	if (jv_string(c, "cdrom", "path", false, MAX_PATH_LEN, &path, err) < 0)
		return -1;
	if (id && copy_image_id(spec->cdrom_image, sizeof(spec->cdrom_image), id, "cdrom.image", err) < 0)
		return -1;
	if (id && path && dup_abs_path(&spec->cdrom_path, path, "cdrom.path", err) < 0)
		return -1;
	spec->cdrom = true;
	return 0;
}

json_t *vm_spec_cdrom_json(const struct vm_spec *spec, bool with_paths)
{
	if (!spec->cdrom)
		return NULL;
	json_t *c = json_object();
	if (spec->cdrom_image[0])
		json_object_set_new(c, "image", json_string(spec->cdrom_image));
	if (with_paths && spec->cdrom_image[0] && spec->cdrom_path)
		json_object_set_new(c, "path", json_string(spec->cdrom_path));
	return c;
}

static const char *const hw_names[] = {"attached", "pending_add", "pending_remove", "unused"};

const char *vm_hw_state_name(enum vm_hw_state s) { return hw_names[s]; }

/* obj's "slot" (0..VM_HOTPLUG_MAX_PORTS) and "state" (absent: attached;
 * "unused" only for a disk). */
static int parse_hw(const json_t *obj, const char *path, bool disk, int *slot, enum vm_hw_state *hw,
                    struct jv_err *err)
{
	int64_t sl = 0;
	const char *st = NULL;
	char field[96];
	if (jv_int(obj, path, "slot", false, 0, VM_HOTPLUG_MAX_PORTS, &sl, err) < 0 ||
	    jv_string(obj, path, "state", false, 15, &st, err) < 0)
		return -1;
	*slot = (int)sl;
	*hw = VM_HW_ATTACHED;
	if (!st)
		return 0;
	for (int k = 0; k < (disk ? 4 : 3); k++)
		if (!strcmp(st, hw_names[k])) {
			*hw = (enum vm_hw_state)k;
			return 0;
		}
	jv_path(field, sizeof(field), path, "state");
	return jv_fail(err, field, "must be 'attached', 'pending_add', 'pending_remove'%s, not '%s'",
	               disk ? " or 'unused'" : "", st);
}

static int parse_disk(const json_t *d, const char *path, enum vm_spec_source src,
                      struct vm_disk *disk, struct jv_err *err)
{
	static const char *const user_keys[] = {"name", "size_mib", "image", "copy", "datastore",
	                                        "source_vm", "source_disk", "slot", "state",
	                                        "delete_on_remove", NULL};
	static const char *const store_keys[] = {"name", "size_mib", "image", "copy", "datastore",
	                                         "source_vm", "source_disk", "template",
	                                         "template_format", "path", "copy_in", "slot", "state",
	                                         "delete_on_remove", NULL};
	if (src == VM_SPEC_FROM_USER &&
	    refuse_path_key(d, path, "template", "the image's id in image", err) < 0)
		return -1;
	if (jv_only_keys(d, path, src == VM_SPEC_FROM_USER ? user_keys : store_keys, err) < 0)
		return -1;
	const char *name = NULL, *img = NULL, *svm = NULL, *sdisk = NULL, *tmpl = NULL, *ds = NULL,
	           *fmt = NULL, *p = NULL;
	int64_t size = 0;
	char field[128];
	if (jv_string(d, path, "name", true, 63, &name, err) < 0)
		return -1;
	jv_path(field, sizeof(field), path, "name");
	if (copy_name(disk->name, sizeof(disk->name), name, field, err) < 0)
		return -1;
	if (jv_int(d, path, "size_mib", false, 1, (int64_t)VM_MAX_DISK_MIB, &size, err) < 0 ||
	    jv_string(d, path, "image", false, 63, &img, err) < 0 ||
	    jv_string(d, path, "source_vm", false, 63, &svm, err) < 0 ||
	    jv_string(d, path, "source_disk", false, 63, &sdisk, err) < 0 ||
	    jv_string(d, path, "template", false, MAX_PATH_LEN, &tmpl, err) < 0 ||
	    jv_string(d, path, "datastore", false, 63, &ds, err) < 0 ||
	    jv_string(d, path, "template_format", false, 15, &fmt, err) < 0 ||
	    jv_string(d, path, "path", false, MAX_PATH_LEN, &p, err) < 0)
		return -1;
	disk->size_mib = (uint64_t)size;
	if (parse_hw(d, path, true, &disk->slot, &disk->hw, err) < 0 ||
	    jv_bool(d, path, "delete_on_remove", false, &disk->delete_pending, err) < 0 ||
	    jv_bool(d, path, "copy", false, &disk->copy, err) < 0 ||
	    (src != VM_SPEC_FROM_USER && jv_bool(d, path, "copy_in", false, &disk->copy_in, err) < 0))
		return -1;
	jv_path(field, sizeof(field), path, "image");
	if (img && copy_image_id(disk->image, sizeof(disk->image), img, field, err) < 0)
		return -1;
	jv_path(field, sizeof(field), path, "source_vm");
	if (svm && copy_name(disk->source_vm, sizeof(disk->source_vm), svm, field, err) < 0)
		return -1;
	if (img && svm)
		return jv_fail(err, field, "is a second source for the disk: give image or source_vm, not both");
	jv_path(field, sizeof(field), path, "source_disk");
	if (sdisk && !svm)
		return jv_fail(err, field, "needs source_vm: the VM whose disk it names");
	if (svm) {
		if (copy_name(disk->source_disk, sizeof(disk->source_disk), sdisk ? sdisk : disk->name, field,
		              err) < 0)
			return -1;
		disk->copy = true; /* another VM's disk is only ever copied, never shared */
	}
	bool has_source = img || svm || tmpl;
	if (disk->copy && !has_source) {
		jv_path(field, sizeof(field), path, "copy");
		return jv_fail(err, field, "needs an image (or source_vm): what to copy");
	}
	if (!has_source && size == 0) {
		jv_path(field, sizeof(field), path, "size_mib");
		return jv_fail(err, field, "is required for a blank disk (or give an image)");
	}
	jv_path(field, sizeof(field), path, "template");
	if (tmpl && dup_abs_path(&disk->template_path, tmpl, field, err) < 0)
		return -1;
	jv_path(field, sizeof(field), path, "datastore");
	if (ds && copy_name(disk->datastore, sizeof(disk->datastore), ds, field, err) < 0)
		return -1;
	if (fmt)
		snprintf(disk->template_format, sizeof(disk->template_format), "%s", fmt);
	jv_path(field, sizeof(field), path, "path");
	if (p && dup_abs_path(&disk->path, p, field, err) < 0)
		return -1;
	return 0;
}

static int parse_disks(const json_t *root, enum vm_spec_source src, struct vm_spec *spec,
                       struct jv_err *err)
{
	json_t *arr = NULL;
	if (jv_member(root, "", "disks", false, JSON_ARRAY, &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	if (json_array_size(arr) > VM_MAX_DISKS)
		return jv_fail(err, "disks", "has %zu entries; at most %d disks are allowed",
		               json_array_size(arr), VM_MAX_DISKS);
	size_t i;
	json_t *d;
	json_array_foreach(arr, i, d) {
		char path[64];
		jv_path_index(path, sizeof(path), "disks", i);
		if (!json_is_object(d))
			return jv_fail(err, path, "must be an object");
		if (parse_disk(d, path, src, &spec->disks[i], err) < 0) {
			spec->ndisks = (int)i + 1; /* so vm_spec_free sees it */
			return -1;
		}
		spec->ndisks = (int)i + 1;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(spec->disks[k].name, spec->disks[i].name)) {
				char f[96];
				jv_path(f, sizeof(f), path, "name");
				return jv_fail(err, f, "'%s' is used by disks[%zu] already", spec->disks[i].name, k);
			}
	}
	return 0;
}

int vm_spec_parse_nic(const json_t *n, const char *path, struct vm_nic *nic, struct jv_err *err)
{
	const char *bridge = NULL, *mode = NULL, *mac = NULL;
	char field[96];
	if (jv_string(n, path, "bridge", false, 15, &bridge, err) < 0 ||
	    jv_string(n, path, "mode", false, 15, &mode, err) < 0 ||
	    jv_string(n, path, "mac", false, 17, &mac, err) < 0)
		return -1;
	if (!mode)
		mode = bridge ? "bridge" : "";
	jv_path(field, sizeof(field), path, "mode");
	if (!strcmp(mode, "user")) {
		if (bridge)
			return jv_fail(err, field, "is 'user', which takes no bridge");
		nic->user_mode = true;
	} else if (!strcmp(mode, "nat")) {
		if (bridge)
			return jv_fail(err, field, "is 'nat', which takes no bridge (the host's NAT "
			                           "network has its own)");
		nic->nat = true;
		snprintf(nic->bridge, sizeof(nic->bridge), "%s", NAT_BRIDGE);
	} else if (!strcmp(mode, "bridge")) {
		jv_path(field, sizeof(field), path, "bridge");
		if (!bridge)
			return jv_fail(err, field, "is required (or set mode to 'nat')");
		if (!vm_spec_valid_ifname(bridge))
			return jv_fail(err, field, "'%s' is not a valid interface name", bridge);
		snprintf(nic->bridge, sizeof(nic->bridge), "%s", bridge);
	} else {
		return jv_fail(err, field, "must be 'bridge', 'nat' or 'user', not '%s'", mode);
	}
	if (mac) {
		jv_path(field, sizeof(field), path, "mac");
		if (!vm_spec_valid_mac(mac))
			return jv_fail(err, field, "'%s' is not a unicast MAC address like 52:54:00:12:34:56", mac);
		snprintf(nic->mac, sizeof(nic->mac), "%s", mac);
	}
	return 0;
}

static int parse_nics(const json_t *root, struct vm_spec *spec, struct jv_err *err)
{
	json_t *arr = NULL;
	if (jv_member(root, "", "nics", false, JSON_ARRAY, &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	if (json_array_size(arr) > VM_MAX_NICS)
		return jv_fail(err, "nics", "has %zu entries; at most %d NICs are allowed",
		               json_array_size(arr), VM_MAX_NICS);
	static const char *const keys[] = {"bridge", "mode", "mac", "id", "slot", "state", NULL};
	size_t i;
	json_t *n;
	json_array_foreach(arr, i, n) {
		char path[64], field[96];
		jv_path_index(path, sizeof(path), "nics", i);
		if (!json_is_object(n))
			return jv_fail(err, path, "must be an object");
		if (jv_only_keys(n, path, keys, err) < 0)
			return -1;
		struct vm_nic *nic = &spec->nics[i];
		int64_t id = (int64_t)i;
		if (vm_spec_parse_nic(n, path, nic, err) < 0 || jv_int(n, path, "id", false, 0, 63, &id, err) < 0 ||
		    parse_hw(n, path, false, &nic->slot, &nic->hw, err) < 0)
			return -1;
		nic->id = (int)id;
		for (size_t k = 0; k < i; k++) {
			if (spec->nics[k].id == nic->id) {
				jv_path(field, sizeof(field), path, "id");
				return jv_fail(err, field, "%d is used by nics[%zu] already", nic->id, k);
			}
			if (nic->mac[0] && !strcasecmp(spec->nics[k].mac, nic->mac)) {
				jv_path(field, sizeof(field), path, "mac");
				return jv_fail(err, field, "'%s' is used by nics[%zu] already", nic->mac, k);
			}
		}
		spec->nnics = (int)i + 1;
	}
	return 0;
}

static int parse_cloud_init(const json_t *root, struct vm_spec *spec, struct jv_err *err)
{
	json_t *ci = NULL;
	if (jv_member(root, "", "cloud_init", false, JSON_OBJECT, &ci, err) < 0)
		return -1;
	if (!ci)
		return 0;
	static const char *const keys[] = {"user_data", "meta_data", "network_config", NULL};
	if (jv_only_keys(ci, "cloud_init", keys, err) < 0)
		return -1;
	const char *ud = NULL, *nc = NULL;
	json_t *md = NULL;
	if (jv_string(ci, "cloud_init", "user_data", false, VM_MAX_USER_DATA, &ud, err) < 0 ||
	    jv_string(ci, "cloud_init", "network_config", false, VM_MAX_USER_DATA, &nc, err) < 0 ||
	    jv_member(ci, "cloud_init", "meta_data", false, JSON_OBJECT, &md, err) < 0)
		return -1;
	if (md) {
		const char *k;
		json_t *v;
		json_object_foreach(md, k, v) {
			char f[128];
			jv_path(f, sizeof(f), "cloud_init.meta_data", k);
			if (!json_is_string(v) && !json_is_integer(v) && !json_is_boolean(v))
				return jv_fail(err, f, "must be a string, integer or boolean");
			/* An empty key would write a line ': value' that YAML cannot read. */
			if (!*k)
				return jv_fail(err, f, "meta-data keys use letters, digits, '-' and '_'");
			for (const char *c = k; *c; c++)
				if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
					return jv_fail(err, f, "meta-data keys use letters, digits, '-' and '_'");
			if (json_is_string(v))
				for (const char *c = json_string_value(v); *c; c++)
					if ((unsigned char)*c < 0x20)
						return jv_fail(err, f, "must not contain control characters");
		}
		spec->meta_data = json_deep_copy(md);
	}
	spec->has_cloud_init = true;
	if (ud && !(spec->user_data = strdup(ud)))
		return jv_fail(err, "cloud_init.user_data", "out of memory");
	if (nc && !(spec->network_config = strdup(nc)))
		return jv_fail(err, "cloud_init.network_config", "out of memory");
	return 0;
}

static int parse_resources(const json_t *root, struct vm_spec *spec, struct jv_err *err)
{
	json_t *res = NULL;
	spec->cpu_weight = 100;
	if (jv_member(root, "", "resources", false, JSON_OBJECT, &res, err) < 0)
		return -1;
	if (!res)
		return 0;
	static const char *const keys[] = {"cpu_weight", "cpu_limit_pct", "memory_limit_mib", NULL};
	if (jv_only_keys(res, "resources", keys, err) < 0)
		return -1;
	int64_t w = 100, lim = 0, mem = 0;
	if (jv_int(res, "resources", "cpu_weight", false, 1, 10000, &w, err) < 0 ||
	    jv_int(res, "resources", "cpu_limit_pct", false, 0, 100 * VM_MAX_VCPUS, &lim, err) < 0 ||
	    jv_int(res, "resources", "memory_limit_mib", false, 0, (int64_t)VM_MAX_MEMORY_MIB * 2,
	           &mem, err) < 0)
		return -1;
	if (mem > 0 && (uint64_t)mem < spec->memory_mib)
		return jv_fail(err, "resources.memory_limit_mib",
		               "is %lld MiB, below the VM's memory of %llu MiB: the guest would be "
		               "killed; give at least memory_mib plus QEMU's overhead, or 0 for no limit",
		               (long long)mem, (unsigned long long)spec->memory_mib);
	spec->cpu_weight = (int)w;
	spec->cpu_limit_pct = (int)lim;
	spec->memory_limit_mib = (uint64_t)mem;
	return 0;
}

int vm_spec_check_pool(const struct vm_spec *spec, const struct pool_chain *pool, struct jv_err *err)
{
	for (int i = 0; i < pool->n; i++) {
		uint64_t lim = pool->level[i].memory_limit_mib;
		if (lim && lim < spec->memory_mib) {
			char f[64];
			snprintf(f, sizeof(f), "pool[%d].memory_limit_mib", i);
			return jv_fail(err, f, "is %llu MiB, below the VM's memory of %llu MiB: the guest would be "
			               "killed; choose a pool with room for it, or raise the pool's limit",
			               (unsigned long long)lim, (unsigned long long)spec->memory_mib);
		}
	}
	return 0;
}

/* "pool": the chain of resource pools, root first; absent or [] for none. */
static int parse_pool(const json_t *root, struct vm_spec *spec, struct jv_err *err)
{
	json_t *arr = NULL;
	if (jv_member(root, "", "pool", false, JSON_ARRAY, &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	if (pool_chain_parse(arr, "pool", &spec->pool, err) < 0)
		return -1;
	return vm_spec_check_pool(spec, &spec->pool, err);
}

/* The agent's record of which uid and gid the VM runs as. */
static int parse_identity(const json_t *root, struct vm_spec *spec, struct jv_err *err)
{
	json_t *id = NULL;
	if (jv_member(root, "", "identity", false, JSON_OBJECT, &id, err) < 0)
		return -1;
	if (!id)
		return 0;
	static const char *const keys[] = {"uid", "gid", NULL};
	int64_t uid = 0, gid = 0;
	if (jv_only_keys(id, "identity", keys, err) < 0 ||
	    jv_int(id, "identity", "uid", true, 1, INT32_MAX, &uid, err) < 0 ||
	    jv_int(id, "identity", "gid", true, 1, INT32_MAX, &gid, err) < 0)
		return -1;
	spec->uid = (unsigned)uid;
	spec->gid = (unsigned)gid;
	return 0;
}

int vm_spec_parse_watchdog(const json_t *obj, char out[16], struct jv_err *err)
{
	const json_t *w = json_object_get(obj, "watchdog");
	out[0] = '\0';
	if (!w || json_is_null(w))
		return 0;
	if (!json_is_string(w) || strcmp(json_string_value(w), "i6300esb") != 0)
		return jv_fail(err, "watchdog", "must be \"i6300esb\" or null (no watchdog)");
	snprintf(out, 16, "i6300esb");
	return 0;
}

const char *vm_spec_firmware_name(enum vm_firmware fw)
{
	return fw == VM_FW_UEFI ? "uefi" : "bios";
}

const char *vm_spec_boot_dev_name(int dev)
{
	return boot_dev_name(dev);
}

int vm_spec_parse_firmware(const json_t *obj, bool keep, struct vm_spec *spec, struct jv_err *err)
{
	const json_t *f = json_object_get(obj, "firmware");
	if (f || !keep) {
		if (!f || json_is_null(f) || (json_is_string(f) && !strcmp(json_string_value(f), "bios")))
			spec->firmware = VM_FW_BIOS;
		else if (json_is_string(f) && !strcmp(json_string_value(f), "uefi"))
			spec->firmware = VM_FW_UEFI;
		else
			return jv_fail(err, "firmware", "must be \"bios\" (SeaBIOS) or \"uefi\" (OVMF)");
	}
	const json_t *b = json_object_get(obj, "boot_order");
	if (!b && keep)
		return 0;
	unsigned char order[VM_MAX_BOOT];
	int n = 0;
	if (b && !json_is_null(b) && boot_order_parse(b, order, &n, err) < 0)
		return -1;
	memcpy(spec->boot_order, order, (size_t)n);
	spec->nboot = n;
	return 0;
}

/* Two devices on one root port would make QEMU refuse to start. */
static int check_slots(const struct vm_spec *spec, struct jv_err *err)
{
	int owner[VM_HOTPLUG_MAX_PORTS + 1] = {0}; /* 1 + disk index, or -(1 + NIC index) */
	char field[64];
	for (int i = 0; i < spec->ndisks + spec->nnics; i++) {
		bool disk = i < spec->ndisks;
		int k = disk ? i : i - spec->ndisks;
		int slot = disk ? spec->disks[k].slot : spec->nics[k].slot;
		if (!slot || (disk && spec->disks[k].hw == VM_HW_UNUSED))
			continue;
		if (owner[slot]) {
			snprintf(field, sizeof(field), "%s[%d].slot", disk ? "disks" : "nics", k);
			return jv_fail(err, field, "%d is used by %s[%d] already", slot, owner[slot] > 0 ? "disks" : "nics",
			               owner[slot] > 0 ? owner[slot] - 1 : -owner[slot] - 1);
		}
		owner[slot] = disk ? 1 + k : -(1 + k);
	}
	return 0;
}

int vm_spec_parse(const json_t *obj, enum vm_spec_source src, struct vm_spec *spec,
                  struct jv_err *err)
{
	memset(spec, 0, sizeof(*spec));
	if (!json_is_object(obj))
		return jv_fail(err, "body", "the VM spec must be a JSON object");
	static const char *const keys[] = {"name", "uuid", "vcpus", "memory_mib", "boot", "disks",
	                                   "nics", "cloud_init", "resources", "display", "cpu_model", "pool", "watchdog",
	                                   "firmware", "boot_order", "cdrom", "hotplug_ports", NULL};
	static const char *const store_keys[] = {"name", "uuid", "vcpus", "memory_mib", "boot",
	                                         "disks", "nics", "cloud_init", "resources", "display",
	                                         "cpu_model", "pool", "identity", "watchdog",
	                                         "firmware", "boot_order", "cdrom", "hotplug_ports", NULL};
	if (jv_only_keys(obj, "", src == VM_SPEC_FROM_USER ? keys : store_keys, err) < 0)
		return -1;
	if (src == VM_SPEC_FROM_STORE && parse_identity(obj, spec, err) < 0)
		return -1;
	const char *name = NULL, *uuid = NULL, *display = NULL;
	int64_t vcpus = 1, mem = 512;
	if (jv_string(obj, "", "name", true, 63, &name, err) < 0 ||
	    copy_name(spec->name, sizeof(spec->name), name, "name", err) < 0)
		return -1;
	if (jv_string(obj, "", "uuid", false, 36, &uuid, err) < 0)
		return -1;
	if (uuid) {
		if (!vm_spec_valid_uuid(uuid))
			return jv_fail(err, "uuid", "'%s' is not a UUID like 0b9c3c1e-0a8e-4c5e-9f4e-1d2c3b4a5f60", uuid);
		snprintf(spec->uuid, sizeof(spec->uuid), "%s", uuid);
		for (char *c = spec->uuid; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	}
	if (jv_int(obj, "", "vcpus", false, 1, VM_MAX_VCPUS, &vcpus, err) < 0 ||
	    jv_int(obj, "", "memory_mib", false, VM_MIN_MEMORY_MIB, VM_MAX_MEMORY_MIB, &mem, err) < 0)
		return -1;
	spec->vcpus = (int)vcpus;
	spec->memory_mib = (uint64_t)mem;
	spec->vnc = true;
	if (jv_string(obj, "", "display", false, 8, &display, err) < 0)
		return -1;
	if (display) {
		if (!strcmp(display, "none"))
			spec->vnc = false;
		else if (strcmp(display, "vnc") != 0)
			return jv_fail(err, "display", "must be 'vnc' or 'none', not '%s'", display);
	}
	const char *cpu = NULL;
	if (jv_string(obj, "", "cpu_model", false, 63, &cpu, err) < 0)
		return -1;
	if (cpu) {
		/* A name of QEMU's list: letters, digits, '-', '_', '.'; never an
		 * option string ("host,+vmx" would pass features through). */
		if (!cpu[0] || strspn(cpu, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(cpu))
			return jv_fail(err, "cpu_model", "'%s' is not a CPU model name (letters, digits, '-', '_', '.': "
			               "one of GET /api/v1/host's cpu_models)", cpu);
		snprintf(spec->cpu_model, sizeof(spec->cpu_model), "%s", cpu);
	}
	if (vm_spec_parse_watchdog(obj, spec->watchdog, err) < 0 ||
	    vm_spec_parse_firmware(obj, false, spec, err) < 0 || vm_spec_parse_cdrom(obj, src, spec, err) < 0)
		return -1;
	if (parse_boot(obj, src, spec, err) < 0 || parse_disks(obj, src, spec, err) < 0 ||
	    parse_nics(obj, spec, err) < 0 || parse_cloud_init(obj, spec, err) < 0 ||
	    parse_resources(obj, spec, err) < 0 || parse_pool(obj, spec, err) < 0)
		return -1;
	int64_t ports = 0;
	if (jv_int(obj, "", "hotplug_ports", false, 0, VM_HOTPLUG_MAX_PORTS, &ports, err) < 0 ||
	    check_slots(spec, err) < 0)
		return -1;
	spec->hotplug_ports = (int)ports;
	if (!spec->kernel && !spec->kernel_image[0] && spec->ndisks == 0 && !spec->cdrom)
		return jv_fail(err, "boot",
		               "the VM has nothing to boot: give boot.kernel_image, a disk or a CD-ROM drive");
	/* The variable store lives in the first disk's folder: it moves with
	 * the VM's disks. */
	if (spec->firmware == VM_FW_UEFI && spec->ndisks == 0)
		return jv_fail(err, "firmware", "a UEFI VM needs a disk (its UEFI variable store is kept with "
		               "the VM's first disk)");
	return 0;
}

void vm_spec_free(struct vm_spec *spec)
{
	free(spec->kernel);
	free(spec->initrd);
	free(spec->cmdline);
	free(spec->cdrom_path);
	for (int i = 0; i < spec->ndisks; i++) {
		free(spec->disks[i].template_path);
		free(spec->disks[i].path);
	}
	free(spec->user_data);
	free(spec->network_config);
	json_decref(spec->meta_data);
	memset(spec, 0, sizeof(*spec));
}

static unsigned hexval(char c)
{
	return (unsigned)(isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10);
}

static bool mac_used_by_other(const struct vm_spec *spec, int self, const char *mac)
{
	for (int k = 0; k < spec->nnics; k++)
		if (k != self && !strcasecmp(spec->nics[k].mac, mac))
			return true;
	return false;
}

void vm_spec_fill_defaults(struct vm_spec *spec, const char *default_datastore)
{
	/* MAC 52:54:00:XX:YY:ZZ from the uuid's last bytes (random in a v4 uuid,
	 * unlike the version nibble in the middle), mixed with the NIC index, so
	 * it is stable for the VM's life and unlikely to collide. */
	unsigned b[16] = {0};
	for (int i = 0, k = 0; spec->uuid[i] && k < 32; i++) {
		if (spec->uuid[i] == '-')
			continue;
		b[k / 2] = (b[k / 2] << 4) | hexval(spec->uuid[i]);
		k++;
	}
	for (int i = 0; i < spec->nnics; i++) {
		if (spec->nics[i].mac[0])
			continue;
		/* Step past a MAC another NIC was given: two NICs with one address
		 * would break the guest's network and the stored spec's parse. At
		 * most VM_MAX_NICS - 1 values are taken, so a free one is near. */
		for (unsigned step = 0; step < 256; step++) {
			snprintf(spec->nics[i].mac, sizeof(spec->nics[i].mac), "52:54:00:%02x:%02x:%02x",
			         b[13] & 0xff, b[14] & 0xff, (b[15] + (unsigned)i * 37u + step) & 0xff);
			if (!mac_used_by_other(spec, i, spec->nics[i].mac))
				break;
		}
	}
	for (int i = 0; i < spec->ndisks; i++)
		if (!spec->disks[i].datastore[0])
			snprintf(spec->disks[i].datastore, sizeof(spec->disks[i].datastore), "%s",
			         default_datastore);
}

void vm_spec_tap_name(const struct vm_spec *spec, int i, char out[16])
{
	char hex[9] = {0};
	for (int k = 0, o = 0; spec->uuid[k] && o < 8; k++)
		if (spec->uuid[k] != '-')
			hex[o++] = spec->uuid[k];
	snprintf(out, 16, "vt%sn%d", hex, i);
}

json_t *vm_spec_to_json(const struct vm_spec *spec, bool with_paths)
{
	json_t *o = json_pack("{s:s, s:s, s:i, s:I, s:s}", "name", spec->name, "uuid", spec->uuid,
	                      "vcpus", spec->vcpus, "memory_mib", (json_int_t)spec->memory_mib,
	                      "display", spec->vnc ? "vnc" : "none");
	if (spec->cpu_model[0])
		json_object_set_new(o, "cpu_model", json_string(spec->cpu_model));
	if (spec->watchdog[0])
		json_object_set_new(o, "watchdog", json_string(spec->watchdog));
	json_object_set_new(o, "firmware", json_string(vm_spec_firmware_name(spec->firmware)));
	if (spec->nboot) {
		json_t *b = json_array();
		for (int i = 0; i < spec->nboot; i++)
			json_array_append_new(b, json_string(vm_spec_boot_dev_name(spec->boot_order[i])));
		json_object_set_new(o, "boot_order", b);
	}
	if (spec->cdrom)
		json_object_set_new(o, "cdrom", vm_spec_cdrom_json(spec, with_paths));
	if (spec->kernel || spec->kernel_image[0]) {
		json_t *b = json_object();
		if (spec->kernel_image[0])
			json_object_set_new(b, "kernel_image", json_string(spec->kernel_image));
		if (spec->initrd_image[0])
			json_object_set_new(b, "initrd_image", json_string(spec->initrd_image));
		/* Resolved files are the agent's own business (and its store's). */
		if (with_paths && spec->kernel)
			json_object_set_new(b, "kernel", json_string(spec->kernel));
		if (with_paths && spec->initrd)
			json_object_set_new(b, "initrd", json_string(spec->initrd));
		if (spec->cmdline)
			json_object_set_new(b, "cmdline", json_string(spec->cmdline));
		json_object_set_new(o, "boot", b);
	}
	json_t *disks = json_array();
	for (int i = 0; i < spec->ndisks; i++) {
		const struct vm_disk *d = &spec->disks[i];
		json_t *dj = json_pack("{s:s, s:s}", "name", d->name, "datastore", d->datastore);
		if (d->size_mib)
			json_object_set_new(dj, "size_mib", json_integer((json_int_t)d->size_mib));
		if (d->image[0])
			json_object_set_new(dj, "image", json_string(d->image));
		if (d->source_vm[0]) {
			json_object_set_new(dj, "source_vm", json_string(d->source_vm));
			json_object_set_new(dj, "source_disk", json_string(d->source_disk));
		}
		if (with_paths && d->template_path)
			json_object_set_new(dj, "template", json_string(d->template_path));
		if (d->copy)
			json_object_set_new(dj, "copy", json_true());
		if (with_paths && d->template_format[0])
			json_object_set_new(dj, "template_format", json_string(d->template_format));
		if (with_paths && d->path)
			json_object_set_new(dj, "path", json_string(d->path));
		if (with_paths && d->copy_in)
			json_object_set_new(dj, "copy_in", json_true());
		if (d->slot)
			json_object_set_new(dj, "slot", json_integer(d->slot));
		if (d->hw != VM_HW_ATTACHED)
			json_object_set_new(dj, "state", json_string(vm_hw_state_name(d->hw)));
		if (d->delete_pending)
			json_object_set_new(dj, "delete_on_remove", json_true());
		json_array_append_new(disks, dj);
	}
	json_object_set_new(o, "disks", disks);
	json_t *nics = json_array();
	for (int i = 0; i < spec->nnics; i++) {
		const struct vm_nic *n = &spec->nics[i];
		json_t *nj = n->user_mode ? json_pack("{s:s}", "mode", "user")
		             : n->nat     ? json_pack("{s:s}", "mode", "nat")
		                          : json_pack("{s:s}", "bridge", n->bridge);
		json_object_set_new(nj, "mac", json_string(n->mac));
		json_object_set_new(nj, "id", json_integer(n->id));
		if (n->slot)
			json_object_set_new(nj, "slot", json_integer(n->slot));
		if (n->hw != VM_HW_ATTACHED)
			json_object_set_new(nj, "state", json_string(vm_hw_state_name(n->hw)));
		json_array_append_new(nics, nj);
	}
	json_object_set_new(o, "nics", nics);
	if (spec->has_cloud_init) {
		json_t *ci = json_object();
		if (spec->user_data)
			json_object_set_new(ci, "user_data", json_string(spec->user_data));
		if (spec->meta_data)
			json_object_set(ci, "meta_data", spec->meta_data);
		if (spec->network_config)
			json_object_set_new(ci, "network_config", json_string(spec->network_config));
		json_object_set_new(o, "cloud_init", ci);
	}
	if (with_paths && spec->uid)
		json_object_set_new(o, "identity", json_pack("{s:I, s:I}", "uid", (json_int_t)spec->uid,
		                                              "gid", (json_int_t)spec->gid));
	json_object_set_new(o, "resources",
	                    json_pack("{s:i, s:i, s:I}", "cpu_weight", spec->cpu_weight, "cpu_limit_pct",
	                              spec->cpu_limit_pct, "memory_limit_mib",
	                              (json_int_t)spec->memory_limit_mib));
	if (spec->pool.n)
		json_object_set_new(o, "pool", pool_chain_to_json(&spec->pool));
	if (spec->hotplug_ports)
		json_object_set_new(o, "hotplug_ports", json_integer(spec->hotplug_ports));
	return o;
}

int vm_spec_disk_list(const struct vm_spec *spec, const char *list, bool marks[VM_MAX_DISKS], char *bad,
                      size_t n)
{
	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ",");
		int idx = -1;
		for (int i = 0; i < spec->ndisks; i++)
			if (strlen(spec->disks[i].name) == len && !strncmp(spec->disks[i].name, p, len))
				idx = i;
		if (idx < 0) {
			snprintf(bad, n, "%.*s", (int)(len < 256 ? len : 256), p);
			return -1;
		}
		marks[idx] = true;
		p += len + (p[len] == ',');
	}
	return 0;
}

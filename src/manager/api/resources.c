/* resources.c - strict parsers for inventory bodies. Each kind lists its
 * fields once; anything else is "unknown field", named. */
#include "resources.h"

#include "boot_order.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_PATH 1024

static int name_field(const json_t *b, json_t *doc, struct jv_err *err)
{
	const char *name = NULL;
	if (jv_string(b, "", "name", true, 63, &name, err) < 0)
		return -1;
	if (!jv_is_safe_name(name))
		return jv_fail(err, "name",
		               "'%s' is not a valid name: use 1-63 letters, digits, '-', '_' or '.', "
		               "starting with a letter or digit", name);
	json_object_set_new(doc, "name", json_string(name));
	return 0;
}

static int opt_string(const json_t *b, json_t *doc, const char *key, size_t max, struct jv_err *err)
{
	const char *v = NULL;
	if (jv_string(b, "", key, false, max, &v, err) < 0)
		return -1;
	if (v)
		json_object_set_new(doc, key, json_string(v));
	return 0;
}

static int abs_path(const json_t *b, json_t *doc, const char *key, bool required, struct jv_err *err)
{
	const char *v = NULL;
	if (jv_string(b, "", key, required, MAX_PATH, &v, err) < 0)
		return -1;
	if (!v)
		return 0;
	if (v[0] != '/' || strstr(v, "/../") || strstr(v, "/./"))
		return jv_fail(err, key, "must be an absolute path without '..', not '%s'", v);
	json_object_set_new(doc, key, json_string(v));
	return 0;
}

/* An image named by its name or id; never a host path (the attack that
 * made templates of /etc/shadow is answered here, by name). */
static int image_ref(const json_t *b, json_t *doc, const char *key, bool required, struct jv_err *err)
{
	const char *v = NULL;
	if (jv_string(b, "", key, required, MAX_PATH, &v, err) < 0)
		return -1;
	if (!v)
		return 0;
	if (strchr(v, '/'))
		return jv_fail(err, key, "'%s' looks like a host path; templates name images of the image "
		               "library by name or id (POST /api/v1/images to add one)", v);
	if (!jv_is_safe_name(v))
		return jv_fail(err, key, "'%s' is not an image name or id", v);
	json_object_set_new(doc, key, json_string(v));
	return 0;
}

static int ratio(const json_t *b, json_t *doc, const char *key, double dflt, double min, double max,
                 struct jv_err *err)
{
	json_t *v = json_object_get(b, key);
	double d = dflt;
	if (v && !json_is_null(v)) {
		if (!json_is_number(v))
			return jv_fail(err, key, "must be a number");
		d = json_number_value(v);
		if (!(d >= min && d <= max) || isnan(d))
			return jv_fail(err, key, "is %g; it must be between %g and %g", d, min, max);
	}
	json_object_set_new(doc, key, json_real(d));
	return 0;
}

/* A cluster's settings (all but its name) from b onto doc; an absent
 * ratio or policy takes the given default (a create's, or for an update
 * the cluster's current value). One place for the bounds of both. */
static int cluster_settings(const json_t *b, json_t *doc, double cpu, double mem, const char *policy,
                            struct jv_err *err)
{
	if (opt_string(b, doc, "description", 1024, err) < 0 ||
	    ratio(b, doc, "cpu_overcommit", cpu, 0.1, 64, err) < 0 ||
	    ratio(b, doc, "mem_overcommit", mem, 0.1, 4, err) < 0 ||
	    jv_string(b, "", "policy", false, 16, &policy, err) < 0)
		return -1;
	if (strcmp(policy, "pack") && strcmp(policy, "spread"))
		return jv_fail(err, "policy", "must be 'pack' or 'spread', not '%s'", policy);
	json_object_set_new(doc, "policy", json_string(policy));
	return 0;
}

/* The cluster's live migration policy: given fields replace the current
 * ones (absent keeps them); vm.migrate reads it (ops/task_migrate.c). */
static int migration_policy(const json_t *b, json_t *doc, struct jv_err *err)
{
	json_t *in = json_object_get(b, "migration");
	if (!in)
		return 0;
	if (!json_is_object(in))
		return jv_fail(err, "migration", "must be an object");
	static const char *const keys[] = {"auto_converge", "postcopy", "downtime_limit_ms", "max_bandwidth_mib_s",
	                                   "max_per_host", "link_mib_s", "max_per_cluster", "cold_fallback",
	                                   "copy_local_disks", NULL};
	if (jv_only_keys(in, "migration", keys, err) < 0)
		return -1;
	json_t *pol = json_object_get(doc, "migration");
	pol = json_is_object(pol) ? json_deep_copy(pol) : json_object();
	bool ac = true, pc = false, cf = false, cl = true;
	int64_t dl = 300, bw = 0, per_host = 2, link = 100, per_cluster = 8;
	static const struct {
		const char *key;
		int64_t min, max;
	} ints[] = {{"downtime_limit_ms", 1, 60000}, {"max_bandwidth_mib_s", 0, 1 << 20}, {"max_per_host", 1, 64},
	            {"link_mib_s", 0, 1 << 20}, {"max_per_cluster", 1, 1024}};
	int64_t *outs[] = {&dl, &bw, &per_host, &link, &per_cluster};
	int rc = jv_bool(in, "migration", "auto_converge", false, &ac, err) < 0 ||
	         jv_bool(in, "migration", "postcopy", false, &pc, err) < 0 ||
	         jv_bool(in, "migration", "cold_fallback", false, &cf, err) < 0 ||
	         jv_bool(in, "migration", "copy_local_disks", false, &cl, err) < 0;
	for (size_t i = 0; i < 5 && !rc; i++)
		rc = jv_int(in, "migration", ints[i].key, false, ints[i].min, ints[i].max, outs[i], err) < 0;
	if (rc) {
		json_decref(pol);
		return -1;
	}
	const char *bools[] = {"auto_converge", "postcopy", "cold_fallback", "copy_local_disks"};
	bool bv[] = {ac, pc, cf, cl};
	for (int i = 0; i < 4; i++)
		if (json_object_get(in, bools[i]))
			json_object_set_new(pol, bools[i], json_boolean(bv[i]));
	for (size_t i = 0; i < 5; i++)
		if (json_object_get(in, ints[i].key))
			json_object_set_new(pol, ints[i].key, json_integer(*outs[i]));
	/* A link speed of 0: none given, each migration measures it. */
	if (json_object_get(in, "link_mib_s") && link == 0)
		json_object_del(pol, "link_mib_s");
	json_object_set_new(doc, "migration", pol);
	return 0;
}

/* The cluster's CPU baseline (like vSphere's EVC): a QEMU CPU model every
 * host of the cluster offers (the hosts report theirs), which its VMs are
 * made with so that each can move to any host of it. "" removes it (VMs
 * made since get the hosts' default CPU). */
static int cpu_baseline(const json_t *b, json_t *doc, struct jv_err *err)
{
	const char *v = NULL;
	if (jv_string(b, "", "cpu_baseline", false, 63, &v, err) < 0)
		return -1;
	if (!v)
		return 0;
	if (!*v) {
		json_object_del(doc, "cpu_baseline");
		return 0;
	}
	if (strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(v))
		return jv_fail(err, "cpu_baseline", "'%s' is not a CPU model name (letters, digits, '-', '_', '.'; a "
		               "model every host lists in cpu_models, e.g. Nehalem)", v);
	json_object_set_new(doc, "cpu_baseline", json_string(v));
	return 0;
}

static json_t *parse_cluster(const json_t *b, json_t *doc, struct jv_err *err)
{
	static const char *const keys[] = {"name", "description", "cpu_overcommit", "mem_overcommit",
	                                   "policy", "migration", "cpu_baseline", "ha", NULL};
	if (jv_only_keys(b, "", keys, err) < 0 || name_field(b, doc, err) < 0 ||
	    cluster_settings(b, doc, 4.0, 1.0, "pack", err) < 0 || migration_policy(b, doc, err) < 0 ||
	    cpu_baseline(b, doc, err) < 0 || resource_parse_cluster_ha(b, doc, err) < 0)
		return NULL;
	return doc;
}

int resource_parse_cluster_update(const json_t *b, json_t *doc, struct jv_err *err)
{
	static const char *const keys[] = {"description", "cpu_overcommit", "mem_overcommit", "policy", "migration",
	                                   "cpu_baseline", "ha", NULL};
	if (!json_is_object(b))
		return jv_fail(err, "body", "must be a JSON object");
	if (json_object_get(b, "name"))
		return jv_fail(err, "name", "a cluster's name cannot be changed (VMs and tools refer to it); "
		               "create a new cluster and move its hosts instead");
	if (jv_only_keys(b, "", keys, err) < 0)
		return -1;
	if (json_object_size(b) == 0)
		return jv_fail(err, "body", "give at least one of description, cpu_overcommit, mem_overcommit, "
		               "policy, migration, cpu_baseline, ha");
	/* null would read as "the default" in a create; here it is refused
	 * rather than guessed (keep: omit the key; no description: ""). */
	for (int i = 0; keys[i]; i++)
		if (json_is_null(json_object_get(b, keys[i])))
			return jv_fail(err, keys[i], "must not be null; omit it to keep the current value");
	const char *policy = json_string_value(json_object_get(doc, "policy"));
	if (cluster_settings(b, doc, json_number_value(json_object_get(doc, "cpu_overcommit")),
	                     json_number_value(json_object_get(doc, "mem_overcommit")),
	                     policy ? policy : "pack", err) < 0 ||
	    migration_policy(b, doc, err) < 0 || cpu_baseline(b, doc, err) < 0 ||
	    resource_parse_cluster_ha(b, doc, err) < 0)
		return -1;
	/* An empty description is none. */
	const char *d = json_string_value(json_object_get(doc, "description"));
	if (d && !*d)
		json_object_del(doc, "description");
	return 0;
}

static json_t *parse_datastore(const json_t *b, json_t *doc, struct jv_err *err)
{
	static const char *const keys[] = {"name", "description", "path", NULL};
	if (jv_only_keys(b, "", keys, err) < 0 || name_field(b, doc, err) < 0 ||
	    opt_string(b, doc, "description", 1024, err) < 0 || abs_path(b, doc, "path", true, err) < 0)
		return NULL;
	return doc;
}

static json_t *parse_network(const json_t *b, json_t *doc, struct jv_err *err)
{
	static const char *const keys[] = {"name", "description", "bridge", "vlan", NULL};
	const char *bridge = NULL;
	int64_t vlan = 0;
	if (jv_only_keys(b, "", keys, err) < 0 || name_field(b, doc, err) < 0 ||
	    opt_string(b, doc, "description", 1024, err) < 0 ||
	    jv_string(b, "", "bridge", true, 15, &bridge, err) < 0 ||
	    jv_int(b, "", "vlan", false, 0, 4094, &vlan, err) < 0)
		return NULL;
	for (const char *c = bridge; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '-' || *c == '_' || *c == '.')) {
			jv_fail(err, "bridge", "'%s' is not a valid interface name", bridge);
			return NULL;
		}
	if (!*bridge) {
		jv_fail(err, "bridge", "must not be empty");
		return NULL;
	}
	json_object_set_new(doc, "bridge", json_string(bridge));
	json_object_set_new(doc, "vlan", json_integer(vlan));
	return doc;
}

static json_t *parse_template(const json_t *b, json_t *doc, struct jv_err *err)
{
	static const char *const keys[] = {"name", "description", "image", "kernel", "initrd",
	                                   "cmdline", "vcpus", "memory_mib", "disk_size_mib",
	                                   "user_data", "firmware", "boot_order", NULL};
	int64_t vcpus = 1, mem = 512, disk = 0;
	if (jv_only_keys(b, "", keys, err) < 0 || name_field(b, doc, err) < 0 ||
	    opt_string(b, doc, "description", 1024, err) < 0 ||
	    image_ref(b, doc, "image", true, err) < 0 || image_ref(b, doc, "kernel", false, err) < 0 ||
	    image_ref(b, doc, "initrd", false, err) < 0 || opt_string(b, doc, "cmdline", 4096, err) < 0 ||
	    opt_string(b, doc, "user_data", 65536, err) < 0 ||
	    jv_int(b, "", "vcpus", false, 1, 255, &vcpus, err) < 0 ||
	    jv_int(b, "", "memory_mib", false, 16, 4 * 1024 * 1024, &mem, err) < 0 ||
	    jv_int(b, "", "disk_size_mib", false, 0, 64ll * 1024 * 1024, &disk, err) < 0 ||
	    resource_parse_vm_firmware(b, doc, err) < 0) /* its VMs' unless they say otherwise */
		return NULL;
	if (json_object_get(doc, "initrd") && !json_object_get(doc, "kernel")) {
		jv_fail(err, "kernel", "is required when initrd is given");
		return NULL;
	}
	json_object_set_new(doc, "vcpus", json_integer(vcpus));
	json_object_set_new(doc, "memory_mib", json_integer(mem));
	json_object_set_new(doc, "disk_size_mib", json_integer(disk));
	return doc;
}

json_t *resource_parse_create(enum store_kind k, const json_t *body, struct jv_err *err)
{
	if (!json_is_object(body)) {
		jv_fail(err, "body", "must be a JSON object");
		return NULL;
	}
	json_t *doc = json_object();
	json_t *r = NULL;
	switch (k) {
	case STORE_CLUSTER: r = parse_cluster(body, doc, err); break;
	case STORE_DATASTORE: r = parse_datastore(body, doc, err); break;
	case STORE_NETWORK: r = parse_network(body, doc, err); break;
	case STORE_TEMPLATE: r = parse_template(body, doc, err); break;
	default: jv_fail(err, "body", "this kind is not created this way"); break;
	}
	if (!r)
		json_decref(doc);
	return r;
}

static int name_list(const json_t *b, const char *path, const char *key, json_t *out_obj,
                     struct jv_err *err)
{
	json_t *arr = NULL;
	if (jv_member(b, path, key, false, JSON_ARRAY, &arr, err) < 0)
		return -1;
	json_t *copy = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		char f[128];
		char p[96];
		jv_path(p, sizeof(p), path, key);
		jv_path_index(f, sizeof(f), p, i);
		if (i >= 16) {
			json_decref(copy);
			return jv_fail(err, p, "has more than 16 entries");
		}
		if (!json_is_string(v) || !jv_is_safe_name(json_string_value(v))) {
			json_decref(copy);
			return jv_fail(err, f, "must be a name (letters, digits, '-', '_', '.')");
		}
		json_array_append(copy, v);
	}
	json_object_set_new(out_obj, key, copy);
	return 0;
}

int resource_parse_vm_watchdog(const json_t *body, json_t *doc, struct jv_err *err)
{
	const json_t *w = json_object_get(body, "watchdog");
	if (!w || json_is_null(w))
		return 0;
	/* QEMU's PCI watchdog (the guest needs a driver: Linux's i6300esb);
	 * a name, so that another model can come without a new field. */
	if (!json_is_string(w) || strcmp(json_string_value(w), "i6300esb") != 0)
		return jv_fail(err, "watchdog", "must be \"i6300esb\" (an emulated Intel 6300ESB the guest arms and "
		               "pets; if it stops, the VM is ended as crashed and HA restarts it) or null for none");
	json_object_set_new(doc, "watchdog", json_string("i6300esb"));
	return 0;
}

int resource_parse_vm_ready_probe(const json_t *body, json_t *doc, struct jv_err *err)
{
	const json_t *p = json_object_get(body, "ready_probe");
	if (!p)
		return 0;
	if (json_is_null(p)) {
		json_object_set_new(doc, "ready_probe", json_null());
		return 0;
	}
	if (!json_is_object(p))
		return jv_fail(err, "ready_probe", "must be an object {\"tcp_port\": 1..65535, \"period_s\", "
		               "\"timeout_s\", \"failures\"} (a TCP connect to the VM's own address) or null for none");
	static const char *const keys[] = {"tcp_port", "period_s", "timeout_s", "failures", NULL};
	int64_t port = 0, period = 2, timeout = 1, failures = 3;
	/* The port only: the address is always the VM's own (its MAC's, as
	 * its host sees it), so a probe cannot be aimed anywhere else. */
	if (jv_only_keys(p, "ready_probe", keys, err) < 0 ||
	    jv_int(p, "ready_probe", "tcp_port", true, 1, 65535, &port, err) < 0 ||
	    jv_int(p, "ready_probe", "period_s", false, 1, 3600, &period, err) < 0 ||
	    jv_int(p, "ready_probe", "timeout_s", false, 1, 60, &timeout, err) < 0 ||
	    jv_int(p, "ready_probe", "failures", false, 1, 100, &failures, err) < 0)
		return -1;
	if (timeout > period)
		return jv_fail(err, "ready_probe.timeout_s", "must be at most period_s (%lld): one try at a time",
		               (long long)period);
	json_object_set_new(doc, "ready_probe", json_pack("{s:I, s:I, s:I, s:I}", "tcp_port", (json_int_t)port,
	                                                  "period_s", (json_int_t)period, "timeout_s",
	                                                  (json_int_t)timeout, "failures", (json_int_t)failures));
	return 0;
}

int resource_parse_vm_firmware(const json_t *body, json_t *doc, struct jv_err *err)
{
	const json_t *f = json_object_get(body, "firmware"), *b = json_object_get(body, "boot_order");
	if (f && !json_is_null(f)) {
		const char *s = json_is_string(f) ? json_string_value(f) : "";
		if (strcmp(s, "bios") && strcmp(s, "uefi"))
			return jv_fail(err, "firmware", "must be \"bios\" (SeaBIOS, the default) or \"uefi\" (OVMF, with "
			               "a UEFI variable store of the VM's own)");
		json_object_set_new(doc, "firmware", json_string(s));
	}
	if (!b || json_is_null(b))
		return 0;
	unsigned char order[BOOT_MAX];
	int n = 0;
	if (boot_order_parse(b, order, &n, err) < 0)
		return -1;
	json_t *out = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(out, json_string(boot_dev_name(order[i])));
	json_object_set_new(doc, "boot_order", out);
	return 0;
}

int resource_parse_vm_cdrom(const json_t *body, json_t *doc, struct jv_err *err)
{
	const json_t *c = json_object_get(body, "cdrom");
	if (!c)
		return 0;
	if (json_is_null(c)) {
		json_object_set_new(doc, "cdrom", json_null());
		return 0;
	}
	if (!json_is_object(c))
		return jv_fail(err, "cdrom", "must be an object: {\"image\": NAME} with an ISO of the image library, "
		               "{} for an empty drive, or null for none");
	static const char *const keys[] = {"image", NULL};
	if (jv_only_keys(c, "cdrom", keys, err) < 0)
		return -1;
	const json_t *img = json_object_get(c, "image");
	const char *ref = NULL;
	if (img && !json_is_null(img) && jv_string(c, "cdrom", "image", true, 63, &ref, err) < 0)
		return -1;
	if (ref && !jv_is_safe_name(ref))
		return jv_fail(err, "cdrom.image", "'%s' is not an image's name or id: a CD-ROM holds an ISO of the "
		               "image library (POST /api/v1/images with kind iso), never a host path", ref);
	json_object_set_new(doc, "cdrom", ref ? json_pack("{s:s}", "image", ref) : json_object());
	return 0;
}

json_t *resource_parse_vm_create(const json_t *body, struct jv_err *err)
{
	if (!json_is_object(body)) {
		jv_fail(err, "body", "must be a JSON object");
		return NULL;
	}
	static const char *const keys[] = {"name", "template", "cluster", "vcpus", "memory_mib",
	                                   "disk_size_mib", "networks", "datastore", "user_data",
	                                   "start", "placement", "pool", "cpu_reservation_pct", "mem_reservation_mib",
	                                   "ha", "watchdog", "ready_probe", "firmware", "boot_order", "cdrom", NULL};
	json_t *doc = json_object();
	const char *tmpl = NULL, *cluster = NULL, *ds = NULL;
	int64_t vcpus = 0, mem = 0, disk = 0;
	bool start = true;
	json_t *pl = NULL;
	if (jv_only_keys(body, "", keys, err) < 0 || name_field(body, doc, err) < 0 ||
	    jv_string(body, "", "template", true, 63, &tmpl, err) < 0 ||
	    jv_string(body, "", "cluster", false, 63, &cluster, err) < 0 ||
	    jv_string(body, "", "datastore", false, 63, &ds, err) < 0 ||
	    opt_string(body, doc, "user_data", 65536, err) < 0 ||
	    jv_int(body, "", "vcpus", false, 1, 255, &vcpus, err) < 0 ||
	    jv_int(body, "", "memory_mib", false, 16, 4 * 1024 * 1024, &mem, err) < 0 ||
	    jv_int(body, "", "disk_size_mib", false, 1, 64ll * 1024 * 1024, &disk, err) < 0 ||
	    jv_bool(body, "", "start", false, &start, err) < 0 ||
	    name_list(body, "", "networks", doc, err) < 0 ||
	    jv_member(body, "", "placement", false, JSON_OBJECT, &pl, err) < 0 ||
	    resource_parse_vm_watchdog(body, doc, err) < 0 || resource_parse_vm_ready_probe(body, doc, err) < 0 ||
	    resource_parse_vm_firmware(body, doc, err) < 0 || resource_parse_vm_cdrom(body, doc, err) < 0)
		goto fail;
	/* Its resource pool and reservations, checked as a move into a pool is. */
	static const char *const pool_keys[] = {"pool", "cpu_reservation_pct", "mem_reservation_mib"};
	json_t *pb = json_object();
	for (int i = 0; i < 3; i++)
		if (json_object_get(body, pool_keys[i]))
			json_object_set(pb, pool_keys[i], json_object_get(body, pool_keys[i]));
	int prc = json_object_size(pb) ? resource_parse_vm_pool(pb, doc, err) : 0;
	json_decref(pb);
	if (prc < 0)
		goto fail;
	json_object_set_new(doc, "template", json_string(tmpl));
	if (cluster)
		json_object_set_new(doc, "cluster", json_string(cluster));
	if (ds)
		json_object_set_new(doc, "datastore", json_string(ds));
	if (vcpus)
		json_object_set_new(doc, "vcpus", json_integer(vcpus));
	if (mem)
		json_object_set_new(doc, "memory_mib", json_integer(mem));
	if (disk)
		json_object_set_new(doc, "disk_size_mib", json_integer(disk));
	json_object_set_new(doc, "start", json_boolean(start));
	if (json_object_get(body, "ha")) {
		json_t *ha = json_object();
		json_object_set_new(doc, "ha", ha);
		if (resource_parse_vm_ha(json_object_get(body, "ha"), ha, err) < 0)
			goto fail;
	}
	json_t *plo = json_object();
	json_object_set_new(doc, "placement", plo);
	if (pl) {
		static const char *const pkeys[] = {"affinity", "anti_affinity", NULL};
		if (jv_only_keys(pl, "placement", pkeys, err) < 0 ||
		    name_list(pl, "placement", "affinity", plo, err) < 0 ||
		    name_list(pl, "placement", "anti_affinity", plo, err) < 0)
			goto fail;
	} else {
		json_object_set_new(plo, "affinity", json_array());
		json_object_set_new(plo, "anti_affinity", json_array());
	}
	return doc;
fail:
	json_decref(doc);
	return NULL;
}

int resource_check_cpu_models(const json_t *body, struct jv_err *err)
{
	json_t *m = json_object_get(body, "cpu_models");
	if (!m)
		return 0;
	if (!json_is_array(m) || json_array_size(m) > 1024)
		return jv_fail(err, "cpu_models", "must be an array of at most 1024 CPU model names");
	size_t i;
	json_t *v;
	json_array_foreach(m, i, v) {
		const char *s = json_string_value(v);
		if (!s || !*s || strlen(s) > 63)
			return jv_fail(err, "cpu_models", "item %zu must be a CPU model name of 1 to 63 characters", i);
	}
	return 0;
}

json_t *resource_parse_join(const json_t *body, struct jv_err *err)
{
	if (!json_is_object(body)) {
		jv_fail(err, "body", "must be a JSON object");
		return NULL;
	}
	static const char *const keys[] = {"token", "name", "agent_url", "agent_token", "csr", "cpu_models", NULL};
	const char *tok = NULL, *url = NULL, *atok = NULL, *csr = NULL;
	json_t *doc = json_object();
	if (jv_only_keys(body, "", keys, err) < 0 || jv_string(body, "", "token", true, 128, &tok, err) < 0 ||
	    name_field(body, doc, err) < 0 || jv_string(body, "", "agent_url", true, 256, &url, err) < 0 ||
	    jv_string(body, "", "agent_token", true, 256, &atok, err) < 0 ||
	    jv_string(body, "", "csr", false, 8192, &csr, err) < 0 || resource_check_cpu_models(body, err) < 0) {
		json_decref(doc);
		return NULL;
	}
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
		jv_fail(err, "agent_url", "must start with http:// or https://");
		json_decref(doc);
		return NULL;
	}
	json_object_set_new(doc, "token", json_string(tok));
	json_object_set_new(doc, "agent_url", json_string(url));
	json_object_set_new(doc, "agent_token", json_string(atok));
	if (csr)
		json_object_set_new(doc, "csr", json_string(csr));
	if (json_object_get(body, "cpu_models"))
		json_object_set(doc, "cpu_models", json_object_get(body, "cpu_models"));
	return doc;
}

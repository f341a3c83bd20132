/* resources_pool.c - a resource pool's request bodies (resources.h), parsed
 * strictly. Units are those of vdc's VMs: CPU in percent of one CPU (100
 * is one full CPU, as cpu_limit_pct), memory in MiB; shares on cgroup v2's
 * scale (1..10000, 100 normal), as a VM's cpu_weight. A limit is absent
 * when there is none; in an update, null removes it. */
#include "resources.h"

#include <string.h>

#define POOL_MAX_CPU_PCT 10000000ll /* 100,000 CPUs: past any cluster */
#define POOL_MAX_MEM_MIB (1ll << 40)

static const struct {
	const char *key;
	int64_t min, max;
	bool nullable; /* a limit: null (in an update) removes it */
} pool_numbers[] = {
	{"cpu_shares", 1, 10000, false},
	{"cpu_reservation_pct", 0, POOL_MAX_CPU_PCT, false},
	{"cpu_limit_pct", 1, POOL_MAX_CPU_PCT, true},
	{"mem_reservation_mib", 0, POOL_MAX_MEM_MIB, false},
	{"mem_limit_mib", 1, POOL_MAX_MEM_MIB, true},
};
#define NNUM (sizeof(pool_numbers) / sizeof(pool_numbers[0]))

/* An object named by name or id: a safe name, or a UUID (also safe). */
static int ref_field(const json_t *b, json_t *doc, const char *key, bool required, struct jv_err *err)
{
	const char *v = NULL;
	if (jv_string(b, "", key, required, 63, &v, err) < 0)
		return -1;
	if (!v)
		return 0;
	if (!jv_is_safe_name(v))
		return jv_fail(err, key, "'%s' is not a name or id of a %s", v, key);
	json_object_set_new(doc, key, json_string(v));
	return 0;
}

static int settings(const json_t *b, json_t *doc, bool update, struct jv_err *err)
{
	for (size_t i = 0; i < NNUM; i++) {
		json_t *v = json_object_get(b, pool_numbers[i].key);
		if (json_is_null(v)) {
			if (!update || !pool_numbers[i].nullable)
				return jv_fail(err, pool_numbers[i].key, "must not be null%s",
				               pool_numbers[i].nullable ? "; omit it for no limit" : "; omit it to keep the current value");
			json_object_del(doc, pool_numbers[i].key);
			continue;
		}
		int64_t x = 0;
		if (jv_int(b, "", pool_numbers[i].key, false, pool_numbers[i].min, pool_numbers[i].max, &x, err) < 0)
			return -1;
		if (v)
			json_object_set_new(doc, pool_numbers[i].key, json_integer(x));
	}
	bool expandable = true;
	if (jv_bool(b, "", "expandable", false, &expandable, err) < 0)
		return -1;
	if (json_object_get(b, "expandable") || !update)
		json_object_set_new(doc, "expandable", json_boolean(expandable));
	const char *d = NULL;
	if (jv_string(b, "", "description", false, 1024, &d, err) < 0)
		return -1;
	if (d && *d)
		json_object_set_new(doc, "description", json_string(d));
	else if (d)
		json_object_del(doc, "description");
	if (!update) { /* the defaults, written so every pool says them */
		if (!json_object_get(doc, "cpu_shares"))
			json_object_set_new(doc, "cpu_shares", json_integer(100));
		if (!json_object_get(doc, "cpu_reservation_pct"))
			json_object_set_new(doc, "cpu_reservation_pct", json_integer(0));
		if (!json_object_get(doc, "mem_reservation_mib"))
			json_object_set_new(doc, "mem_reservation_mib", json_integer(0));
	}
	return 0;
}

json_t *resource_parse_pool(const json_t *b, struct jv_err *err)
{
	static const char *const keys[] = {"name", "description", "cluster", "parent", "cpu_shares",
	                                   "cpu_reservation_pct", "cpu_limit_pct", "mem_reservation_mib",
	                                   "mem_limit_mib", "expandable", NULL};
	if (!json_is_object(b)) {
		jv_fail(err, "body", "must be a JSON object");
		return NULL;
	}
	json_t *doc = json_object();
	const char *name = NULL;
	if (!doc || jv_only_keys(b, "", keys, err) < 0 || jv_string(b, "", "name", true, 63, &name, err) < 0)
		goto bad;
	if (!jv_is_safe_name(name)) {
		jv_fail(err, "name", "'%s' is not a valid name: use 1-63 letters, digits, '-', '_' or '.', starting with "
		        "a letter or digit", name);
		goto bad;
	}
	json_object_set_new(doc, "name", json_string(name));
	if (ref_field(b, doc, "cluster", true, err) < 0 || ref_field(b, doc, "parent", false, err) < 0 ||
	    settings(b, doc, false, err) < 0)
		goto bad;
	return doc;
bad:
	json_decref(doc);
	return NULL;
}

int resource_parse_pool_update(const json_t *b, json_t *doc, struct jv_err *err)
{
	static const char *const keys[] = {"description", "cpu_shares", "cpu_reservation_pct", "cpu_limit_pct",
	                                   "mem_reservation_mib", "mem_limit_mib", "expandable", NULL};
	if (!json_is_object(b))
		return jv_fail(err, "body", "must be a JSON object");
	if (json_object_get(b, "name"))
		return jv_fail(err, "name", "a pool's name cannot be changed; create a new pool and move its VMs");
	if (json_object_get(b, "cluster"))
		return jv_fail(err, "cluster", "a pool stays in its cluster; create one in the other cluster");
	/* A pool's place is its VMs' cgroup path on every host: moving it
	 * would move every QEMU under it at once. */
	if (json_object_get(b, "parent"))
		return jv_fail(err, "parent", "a pool stays under its parent; create a pool under the new parent and "
		               "move the VMs into it");
	if (jv_only_keys(b, "", keys, err) < 0)
		return -1;
	if (json_object_size(b) == 0)
		return jv_fail(err, "body", "give at least one of description, cpu_shares, cpu_reservation_pct, "
		               "cpu_limit_pct, mem_reservation_mib, mem_limit_mib, expandable");
	if (json_is_null(json_object_get(b, "expandable")) || json_is_null(json_object_get(b, "description")))
		return jv_fail(err, json_is_null(json_object_get(b, "expandable")) ? "expandable" : "description",
		               "must not be null; omit it to keep the current value");
	return settings(b, doc, true, err);
}

int resource_parse_vm_pool(const json_t *b, json_t *out, struct jv_err *err)
{
	static const char *const keys[] = {"pool", "cpu_reservation_pct", "mem_reservation_mib", NULL};
	if (!json_is_object(b))
		return jv_fail(err, "body", "must be a JSON object");
	if (jv_only_keys(b, "", keys, err) < 0)
		return -1;
	if (json_object_size(b) == 0)
		return jv_fail(err, "body", "give at least one of pool, cpu_reservation_pct, mem_reservation_mib");
	json_t *p = json_object_get(b, "pool");
	if (json_is_null(p))
		json_object_set_new(out, "pool", json_null());
	else if (ref_field(b, out, "pool", false, err) < 0)
		return -1;
	for (size_t i = 0; i < NNUM; i++) {
		const char *k = pool_numbers[i].key;
		if (strcmp(k, "cpu_reservation_pct") && strcmp(k, "mem_reservation_mib"))
			continue;
		int64_t x = 0;
		if (jv_int(b, "", k, false, pool_numbers[i].min, pool_numbers[i].max, &x, err) < 0)
			return -1;
		if (json_object_get(b, k))
			json_object_set_new(out, k, json_integer(x));
	}
	return 0;
}

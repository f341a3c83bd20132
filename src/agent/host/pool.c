/* pool.c - strict parsing of a resource pool chain, its JSON form, and how
 * changed pool settings reach the chains that name the same levels. */
#include "pool.h"

#include <stdio.h>
#include <string.h>

static int parse_level(const json_t *o, const char *path, struct pool_level *l, struct jv_err *err)
{
	static const char *const keys[] = {"name", "cpu_weight", "cpu_limit_pct", "memory_limit_mib",
	                                   "memory_reservation_mib", NULL};
	if (!json_is_object(o))
		return jv_fail(err, path, "must be an object like {\"name\": \"prod\", \"cpu_weight\": 100}");
	if (jv_only_keys(o, path, keys, err) < 0)
		return -1;
	const char *name = NULL;
	int64_t w = 100, lim = 0, mem = 0, res = 0;
	char f[128];
	if (jv_string(o, path, "name", true, 63, &name, err) < 0)
		return -1;
	jv_path(f, sizeof(f), path, "name");
	if (!jv_is_safe_name(name))
		return jv_fail(err, f, "'%s' is not a valid pool name: use 1-63 letters, digits, '-', '_' "
		               "or '.', starting with a letter or digit", name);
	if (jv_int(o, path, "cpu_weight", false, 1, 10000, &w, err) < 0 ||
	    jv_int(o, path, "cpu_limit_pct", false, 0, POOL_MAX_CPU_PCT, &lim, err) < 0 ||
	    jv_int(o, path, "memory_limit_mib", false, 0, (int64_t)POOL_MAX_MEMORY_MIB, &mem, err) < 0 ||
	    jv_int(o, path, "memory_reservation_mib", false, 0, (int64_t)POOL_MAX_MEMORY_MIB, &res, err) < 0)
		return -1;
	if (mem > 0 && res > mem) {
		jv_path(f, sizeof(f), path, "memory_reservation_mib");
		return jv_fail(err, f, "is %lld MiB, above the pool's memory_limit_mib of %lld MiB: a pool "
		               "cannot be promised more than it may use; lower it or raise the limit",
		               (long long)res, (long long)mem);
	}
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->cpu_weight = (int)w;
	l->cpu_limit_pct = (int)lim;
	l->memory_limit_mib = (uint64_t)mem;
	l->memory_reservation_mib = (uint64_t)res;
	return 0;
}

int pool_chain_parse(const json_t *arr, const char *field, struct pool_chain *chain,
                     struct jv_err *err)
{
	memset(chain, 0, sizeof(*chain));
	if (!json_is_array(arr))
		return jv_fail(err, field, "must be an array of pool levels, root first");
	if (json_array_size(arr) > POOL_MAX_DEPTH)
		return jv_fail(err, field, "has %zu levels; pools nest at most %d deep",
		               json_array_size(arr), POOL_MAX_DEPTH);
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) {
		char path[96];
		jv_path_index(path, sizeof(path), field, i);
		if (parse_level(o, path, &chain->level[i], err) < 0)
			return -1;
		chain->n = (int)i + 1;
	}
	return 0;
}

json_t *pool_chain_to_json(const struct pool_chain *chain)
{
	json_t *arr = json_array();
	for (int i = 0; i < chain->n; i++) {
		const struct pool_level *l = &chain->level[i];
		json_array_append_new(arr, json_pack("{s:s, s:i, s:i, s:I, s:I}", "name", l->name, "cpu_weight",
		                                     l->cpu_weight, "cpu_limit_pct", l->cpu_limit_pct,
		                                     "memory_limit_mib", (json_int_t)l->memory_limit_mib,
		                                     "memory_reservation_mib",
		                                     (json_int_t)l->memory_reservation_mib));
	}
	return arr;
}

bool pool_chain_adopt(struct pool_chain *dst, const struct pool_chain *src)
{
	bool changed = false;
	for (int i = 0; i < dst->n && i < src->n; i++) {
		struct pool_level *d = &dst->level[i];
		const struct pool_level *s = &src->level[i];
		/* A level is its path from the root: one name differing above
		 * makes every level below another pool. */
		if (strcmp(d->name, s->name) != 0)
			break;
		if (d->cpu_weight != s->cpu_weight || d->cpu_limit_pct != s->cpu_limit_pct ||
		    d->memory_limit_mib != s->memory_limit_mib ||
		    d->memory_reservation_mib != s->memory_reservation_mib)
			changed = true;
		*d = *s;
	}
	return changed;
}

/* pool.h - a resource pool chain: the levels, root first, that a VM's cgroup
 * sits under, each with a CPU weight, a CPU limit, a memory limit and a
 * memory reservation. vdcd decides what the pools are and who may join
 * them; the agent only parses a chain (strictly: every error names its
 * field) and makes it cgroup levels (cgroup.h). Pure. */
#ifndef VDC_POOL_H
#define VDC_POOL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "jsonv.h"

#define POOL_MAX_DEPTH 6
/* A pool holds many VMs: up to 64 of the largest (255 vCPUs, 4 TiB). */
#define POOL_MAX_CPU_PCT (100 * 255 * 64)
#define POOL_MAX_MEMORY_MIB (64ull * 4 * 1024 * 1024)

struct pool_level {
	char name[64];
	int cpu_weight;                  /* 1..10000, 100 = normal share (as a VM's) */
	int cpu_limit_pct;               /* 0 = none; 100 = one full CPU */
	uint64_t memory_limit_mib;       /* 0 = none */
	uint64_t memory_reservation_mib; /* 0 = none */
};

struct pool_chain {
	struct pool_level level[POOL_MAX_DEPTH];
	int n; /* 0: in no pool */
};

/* Parses arr (a JSON array of level objects, root first) into chain, which
 * is zeroed first; field names arr in errors ("pool" gives
 * "pool[1].cpu_weight"). Returns 0, or -1 with err naming the field. */
int pool_chain_parse(const json_t *arr, const char *field, struct pool_chain *chain,
                     struct jv_err *err);

/* The chain as a JSON array, every key given (what pool_chain_parse reads). */
json_t *pool_chain_to_json(const struct pool_chain *chain);

/* Takes the settings of src's levels into dst's where both chains name the
 * same levels (the same names from the root down): a pool's settings
 * changed by vdcd reach every VM that is in it or under it. Names and
 * depth of dst never change. Returns true when a setting of dst changed. */
bool pool_chain_adopt(struct pool_chain *dst, const struct pool_chain *src);

#endif

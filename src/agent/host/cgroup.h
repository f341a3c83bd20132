/* cgroup.h - one cgroup per VM with CPU weight, CPU limit and memory limit,
 * on cgroup v1 (separate controller hierarchies) or v2 (unified), detected. */
#ifndef VDC_CGROUP_H
#define VDC_CGROUP_H

#include <stddef.h>
#include <stdint.h>

#include "errinfo.h"

#define CG_MAX_HIER 6

struct cgroups {
	int version;                   /* 1 or 2; 0 when unavailable */
	char base[64];                 /* our subtree name, "vdc" */
	int nhier;
	char hier[CG_MAX_HIER][256];   /* v1: one mount per controller; v2: one */
	char cpu_dir[256], cpuacct_dir[256], memory_dir[256];
};

struct cg_limits {
	int cpu_weight;          /* 1..10000, 100 = default share */
	int cpu_limit_pct;       /* 0: none */
	uint64_t memory_limit_mib; /* 0: none */
};

/* Finds the hierarchies and creates our base. Returns 0 or -1 with e. */
int cgroup_init(struct cgroups *cg, const char *base, struct errinfo *e);

/* Creates the VM's cgroup(s) and applies the limits. */
int cgroup_create(const struct cgroups *cg, const char *vm, const struct cg_limits *lim,
                  struct errinfo *e);

/* Writes the paths of every cgroup.procs file of the VM into paths (n at most).
 * Returns the count. Used by the child before exec, which writes "0". */
int cgroup_procs_paths(const struct cgroups *cg, const char *vm, char paths[][300], int n);

/* Removes the VM's cgroups; a missing one is fine. Returns 0 or -errno. */
int cgroup_remove(const struct cgroups *cg, const char *vm);
/* True when any of the VM's cgroup directories exists. */
int cgroup_exists(const struct cgroups *cg, const char *vm);

/* CPU time (ns) and memory in use (bytes); -1 where unknown. */
void cgroup_stats(const struct cgroups *cg, const char *vm, int64_t *cpu_ns, int64_t *mem_bytes);

/* Pure: the v1 and v2 values for the limits (unit-tested). */
unsigned cgroup_v1_shares(int weight);
void cgroup_cpu_max(int limit_pct, char *out, size_t n); /* v2 "quota period" */
int64_t cgroup_v1_quota_us(int limit_pct);

#endif

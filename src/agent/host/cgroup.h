/* cgroup.h - one cgroup per VM with CPU weight, CPU limit and memory limit,
 * on cgroup v1 (separate controller hierarchies) or v2 (unified), detected.
 * A VM in resource pools has its cgroup under one level per pool:
 * <hierarchy>/<base>/pool:<root>/pool:<child>/<vm>. Every function that
 * names a VM's cgroup takes its name relative to the base (cgroup_rel_name). */
#ifndef VDC_CGROUP_H
#define VDC_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cpu_demand.h"
#include "errinfo.h"
#include "pool.h"

#define CG_MAX_HIER 6
/* "pool:" + a name + "/" per level, then the VM's name. */
#define CG_REL_MAX 512
/* A hierarchy's mount, the base, a relative name and a knob. */
#define CG_PATH_MAX 1024

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

/* Pure: the VM's cgroup relative to the base, "pool:a/pool:b/vm" ("vm" in
 * no pool). ':' is never in a VM's name, so a level never collides with a
 * VM. Returns 0, or -1 when it does not fit in n bytes (out is then ""). */
int cgroup_rel_name(const struct pool_chain *pool, const char *vm, char *out, size_t n);

/* Creates the chain's levels, root first, in every hierarchy and writes
 * each level's knobs (an existing level gets the chain's settings). On v1,
 * which refuses a CPU limit above an ancestor's, a level's limit is capped
 * at those above, and the limits inside a level are brought down to its
 * own first (v2 applies the smallest by itself). Returns 0, or -1 with e
 * naming the level ("pool[1]"): 409 when the kernel refuses a value (a
 * memory limit below what is in use), 500 otherwise. */
int cgroup_pool_apply(const struct cgroups *cg, const struct pool_chain *pool, struct errinfo *e);

/* Creates the VM's cgroup(s) rel and applies the limits; its pool levels
 * must exist (cgroup_pool_apply). An existing one gets the limits. */
int cgroup_create(const struct cgroups *cg, const char *rel, const struct cg_limits *lim,
                  struct errinfo *e);

/* Writes the paths of every cgroup.procs file of the VM's cgroup rel into
 * paths (n at most). Returns the count. Used by the child before exec,
 * which writes "0". */
int cgroup_procs_paths(const struct cgroups *cg, const char *rel, char paths[][CG_PATH_MAX], int n);

/* Moves process pid, all its threads, into the cgroup rel in every
 * hierarchy. Returns 0, or -1 with e (some hierarchies may have it then:
 * the caller moves it back). */
int cgroup_move_pid(const struct cgroups *cg, const char *rel, pid_t pid, struct errinfo *e);

/* Removes the VM's cgroup rel, then the pool levels above it that are left
 * empty, bottom-up (a level another VM or pool still uses stays). A missing
 * one is fine. Returns 0 or -errno (for the VM's own cgroup). */
int cgroup_remove(const struct cgroups *cg, const char *rel);
/* True when any of the VM's cgroup directories exists. */
int cgroup_exists(const struct cgroups *cg, const char *rel);

/* CPU time (ns) and memory in use (bytes) of the cgroup rel; -1 where unknown. */
void cgroup_stats(const struct cgroups *cg, const char *rel, int64_t *cpu_ns, int64_t *mem_bytes);

/* What the VM wanted beyond what it got, and the memory it touches: the
 * time its threads waited throttled by its own CPU limit (ns; v1 cpu.stat
 * throttled_time, v2 throttled_usec) and its active memory (bytes;
 * memory.stat active_anon + active_file); -1 where unknown. */
void cgroup_demand(const struct cgroups *cg, const char *rel, int64_t *throttled_ns, int64_t *active_bytes);
/* The throttled and CPU time of each pool level above the VM's cgroup rel,
 * deepest first, at most max: how many (cpu_demand.h shares them out). */
int cgroup_levels_use(const struct cgroups *cg, const char *rel, struct cg_level_use *out, int max);
/* Pure: the value of "key N" lines in a stat file's text (cpu.stat,
 * memory.stat), or -1 when there is no such line (unit-tested). */
int64_t cgroup_stat_value(const char *text, const char *key);

/* The cgroup (relative to the base) that process pid is in, from
 * /proc/PID/cgroup: 0 with out ("" when outside the base), or -1. */
int cgroup_rel_of_pid(const struct cgroups *cg, pid_t pid, char *out, size_t n);
/* Pure: the same from the text of a /proc/PID/cgroup file (unit-tested). */
int cgroup_parse_proc(const char *text, int version, const char *base, char *out, size_t n);

/* Calls fn with the relative name of every VM cgroup under the base (each
 * directory that is not a pool level), so a restarted agent can find the
 * ones no VM of its own names any more. */
void cgroup_each_vm(const struct cgroups *cg, void (*fn)(const char *rel, void *ctx), void *ctx);

/* Pure: the v1 and v2 values for the limits (unit-tested). */
unsigned cgroup_v1_shares(int weight);
void cgroup_cpu_max(int limit_pct, char *out, size_t n); /* v2 "quota period" */
int64_t cgroup_v1_quota_us(int limit_pct);

#endif

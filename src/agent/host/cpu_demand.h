/* cpu_demand.h - a VM's throttled time as a counter that only grows, for
 * its cpu_demand (its CPU time plus what CPU limits held back). Its own
 * cgroup's limit counts whole; a pool's limit throttles the pool's level,
 * shared by the pool's VMs, so each sample the VM takes the part of each
 * level's new throttled time that its part of the level's new CPU time
 * gives (all of it as the pool's only busy VM). Pure: the cgroup's numbers
 * come in as arguments. */
#ifndef VDC_CPU_DEMAND_H
#define VDC_CPU_DEMAND_H

#include <stdbool.h>
#include <stdint.h>

#define CPU_DEMAND_LEVELS 8

/* One pool level above the VM: its throttled and CPU time (ns; -1 unknown). */
struct cg_level_use {
	int64_t throttled_ns, cpu_ns;
};

struct cpu_demand {
	bool has;         /* a sample was taken */
	int64_t run;      /* the QEMU it was for: another starts over */
	int64_t vm_cpu_ns;
	int nlevels;
	struct cg_level_use levels[CPU_DEMAND_LEVELS];
	int64_t shared_ns; /* the pools' throttled time taken so far */
};

/* Takes a sample: the VM's run, CPU time and own throttled time (ns, -1
 * unknown) and its pool levels' use (deepest first). Returns the VM's
 * throttled time so far (own plus its shares), or -1 when its CPU time is
 * unknown. A new run, or pool levels that changed (the VM moved), start
 * the shares over. */
int64_t cpu_demand_step(struct cpu_demand *d, int64_t run, int64_t vm_cpu_ns, int64_t own_throttled_ns,
                        const struct cg_level_use *levels, int nlevels);

#endif

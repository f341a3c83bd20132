/* cpu_demand.c - see cpu_demand.h. */
#include "cpu_demand.h"

#include <string.h>

int64_t cpu_demand_step(struct cpu_demand *d, int64_t run, int64_t vm_cpu_ns, int64_t own_throttled_ns,
                        const struct cg_level_use *levels, int nlevels)
{
	if (vm_cpu_ns < 0)
		return -1;
	if (nlevels > CPU_DEMAND_LEVELS)
		nlevels = CPU_DEMAND_LEVELS;
	if (!d->has || d->run != run || d->nlevels != nlevels || vm_cpu_ns < d->vm_cpu_ns) {
		memset(d, 0, sizeof(*d));
	} else {
		int64_t dvm = vm_cpu_ns - d->vm_cpu_ns;
		for (int i = 0; i < nlevels; i++) {
			const struct cg_level_use *was = &d->levels[i], *now = &levels[i];
			if (was->throttled_ns < 0 || now->throttled_ns < was->throttled_ns || was->cpu_ns < 0 ||
			    now->cpu_ns <= was->cpu_ns)
				continue;
			int64_t dthr = now->throttled_ns - was->throttled_ns, dlevel = now->cpu_ns - was->cpu_ns;
			double part = (double)dvm / (double)dlevel;
			d->shared_ns += (int64_t)((double)dthr * (part < 1 ? part : 1));
		}
	}
	d->has = true;
	d->run = run;
	d->vm_cpu_ns = vm_cpu_ns;
	d->nlevels = nlevels;
	if (nlevels > 0)
		memcpy(d->levels, levels, sizeof(*levels) * (size_t)nlevels);
	return (own_throttled_ns > 0 ? own_throttled_ns : 0) + d->shared_ns;
}

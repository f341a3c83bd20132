/* samples.c - see samples.h. Keys match what vdcd's charts read
 * (src/manager/metrics/metric_rate.c): a VM's cpu_ns, memory_bytes,
 * disk_read_bytes, disk_write_bytes, net_rx_bytes, net_tx_bytes, and its
 * demand: cpu_demand_ns (its CPU time plus the time its CPU limit
 * throttled it) and memory_active_bytes; the host's cpu_busy_ms,
 * cpu_total_ms, memory_used_bytes, memory_total_bytes, its disk and
 * network bytes and cpu_demand_ms (busy plus its VMs' throttled time);
 * -1 where unknown. */
#include "samples.h"

#include "agent.h"
#include "fsutil.h"
#include "hostinfo.h"
#include "loop.h"
#include "net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* QEMU answers query-blockstats in microseconds; one that has not within
 * this has its disks left out, so a hung monitor (QMP waits 30 s) never
 * delays the heartbeat past vdcd's timeout. */
#define GATHER_MAX_MS 1000

struct samples_gather {
	struct agent *a;
	samples_done_fn done;
	void *ctx;
	int waiting;        /* blockstats answers to come */
	bool reported;      /* done was called (or is not to be: cancelled) */
	struct loop_timer *deadline;
	json_t *blockstats; /* each VM's query-blockstats answer, by name */
};

struct gather_slot {
	struct samples_gather *g;
	char vm[64];
};

/* QEMU's own CPU time and resident memory, when its cgroup gives none
 * (no cgroup controllers on this host). */
static void proc_stats(pid_t pid, int64_t *cpu_ns, int64_t *mem_bytes)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	char *s = fs_read_all(path, 4096, NULL);
	const char *p = s ? strrchr(s, ')') : NULL; /* the name may hold spaces */
	unsigned long long ut, st;
	if (*cpu_ns < 0 && p &&
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
		*cpu_ns = (int64_t)((ut + st) * (1000000000ull / (unsigned long long)sysconf(_SC_CLK_TCK)));
	free(s);
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	s = fs_read_all(path, 4096, NULL);
	long long size, rss;
	if (*mem_bytes < 0 && s && sscanf(s, "%lld %lld", &size, &rss) == 2)
		*mem_bytes = rss * sysconf(_SC_PAGESIZE);
	free(s);
}

static void disk_bytes(json_t *blockstats, int64_t *rd, int64_t *wr)
{
	*rd = *wr = -1;
	size_t i;
	json_t *dev;
	json_array_foreach(blockstats, i, dev) {
		json_t *st = json_object_get(dev, "stats");
		if (!st)
			continue;
		*rd = (*rd < 0 ? 0 : *rd) + json_integer_value(json_object_get(st, "rd_bytes"));
		*wr = (*wr < 0 ? 0 : *wr) + json_integer_value(json_object_get(st, "wr_bytes"));
	}
}

/* *throttled_ns grows by the VM's throttled time (when known). */
static json_t *vm_sample(struct agent *a, struct vm *vm, json_t *blockstats, int64_t *throttled_ns)
{
	int64_t cpu_ns, mem, rd, wr, rx = -1, tx = -1, throttled, active;
	char rel[CG_REL_MAX];
	vm_cgroup_name(vm, rel, sizeof(rel));
	cgroup_stats(&a->cg, rel, &cpu_ns, &mem);
	cgroup_demand(&a->cg, rel, &throttled, &active);
	if (cpu_ns < 0 || mem < 0)
		proc_stats(vm->pid, &cpu_ns, &mem);
	/* The process start time tells a restarted QEMU from the same one. */
	json_int_t run = vm->pid_start ? (json_int_t)vm->pid_start : (json_int_t)vm->pid;
	struct cg_level_use levels[CPU_DEMAND_LEVELS];
	int nlevels = cgroup_levels_use(&a->cg, rel, levels, CPU_DEMAND_LEVELS);
	/* Without throttling counters (no cgroup) it got what it wanted. */
	throttled = cpu_demand_step(&vm->demand, run, cpu_ns, throttled, levels, nlevels);
	int64_t demand = cpu_ns < 0 ? -1 : cpu_ns + (throttled > 0 ? throttled : 0);
	if (throttled > 0)
		*throttled_ns += throttled;
	disk_bytes(blockstats, &rd, &wr);
	for (int i = 0; i < vm->spec.nnics; i++) {
		if (vm->spec.nics[i].user_mode)
			continue; /* inside QEMU: no tap to count on */
		char tap[16];
		int64_t r, t, rp, tp;
		vm_spec_tap_name(&vm->spec, vm->spec.nics[i].id, tap);
		net_tap_stats(tap, &r, &t, &rp, &tp);
		if (r < 0)
			continue;
		rx = (rx < 0 ? 0 : rx) + r; /* the guest's view (net.h) */
		tx = (tx < 0 ? 0 : tx) + t;
	}
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "run", run, "cpu_ns", (json_int_t)cpu_ns,
	                 "memory_bytes", (json_int_t)mem, "disk_read_bytes", (json_int_t)rd,
	                 "disk_write_bytes", (json_int_t)wr, "net_rx_bytes", (json_int_t)rx, "net_tx_bytes",
	                 (json_int_t)tx, "cpu_demand_ns", (json_int_t)demand, "memory_active_bytes",
	                 (json_int_t)active);
}

/* throttled_ns: what the host's VMs were held back, summed. */
static json_t *host_sample(int64_t throttled_ns)
{
	struct host_counters hc;
	host_counters_read(&hc);
	int64_t busy = hc.cpu_total_ms - hc.cpu_idle_ms - hc.cpu_iowait_ms;
	int64_t demand = hc.cpu_total_ms > 0 ? busy + throttled_ns / 1000000 : -1;
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "at_ms", (json_int_t)loop_now_ms(),
	                 "cpu_busy_ms", (json_int_t)(hc.cpu_total_ms > 0 ? busy : -1), "cpu_total_ms",
	                 (json_int_t)(hc.cpu_total_ms > 0 ? hc.cpu_total_ms : -1), "memory_used_bytes",
	                 (json_int_t)(hc.mem_total > 0 ? hc.mem_total - hc.mem_available : -1),
	                 "memory_total_bytes", (json_int_t)(hc.mem_total > 0 ? hc.mem_total : -1),
	                 "disk_read_bytes", (json_int_t)hc.disk_read_bytes, "disk_write_bytes",
	                 (json_int_t)hc.disk_write_bytes, "net_rx_bytes", (json_int_t)hc.net_rx_bytes,
	                 "net_tx_bytes", (json_int_t)hc.net_tx_bytes, "cpu_demand_ms", (json_int_t)demand);
}

/* Calls done with what is there, once. */
static void report(struct samples_gather *g)
{
	if (g->deadline) {
		loop_timer_cancel(g->a->loop, g->deadline);
		g->deadline = NULL;
	}
	if (!g->reported) {
		g->reported = true;
		json_t *vms = json_object();
		int64_t throttled = 0;
		for (struct vm *vm = g->a->vms; vm; vm = vm->next)
			if (vm->pid > 0)
				json_object_set_new(vms, vm->spec.name,
				                    vm_sample(g->a, vm, json_object_get(g->blockstats, vm->spec.name), &throttled));
		json_t *s = json_pack("{s:o, s:o}", "host", host_sample(throttled), "vms", vms);
		g->done(g->ctx, s);
	}
}

/* Frees g once it reported and no answer is to come. */
static void settle(struct samples_gather *g)
{
	if (g->waiting == 0)
		report(g);
	if (g->waiting == 0 && g->reported) {
		json_decref(g->blockstats);
		free(g);
	}
}

static void on_deadline(void *ctx)
{
	struct samples_gather *g = ctx;
	g->deadline = NULL;
	report(g);
}

static void on_blockstats(void *ctx, int status, json_t *result, const struct errinfo *e)
{
	(void)status;
	(void)e; /* a QEMU that failed to answer: its disks are unknown this time */
	struct gather_slot *slot = ctx;
	struct samples_gather *g = slot->g;
	if (result && !g->reported)
		json_object_set_new(g->blockstats, slot->vm, result);
	else
		json_decref(result);
	free(slot);
	g->waiting--;
	settle(g);
}

struct samples_gather *samples_gather(struct agent *a, samples_done_fn done, void *ctx)
{
	struct samples_gather *g = calloc(1, sizeof(*g));
	if (!g) {
		done(ctx, NULL);
		return NULL;
	}
	*g = (struct samples_gather){.a = a, .done = done, .ctx = ctx, .waiting = 1, .blockstats = json_object()};
	for (struct vm *vm = a->vms; vm; vm = vm->next) {
		if (!vm->qmp || vm->pid <= 0)
			continue;
		struct gather_slot *slot = calloc(1, sizeof(*slot));
		if (!slot)
			break;
		slot->g = g;
		snprintf(slot->vm, sizeof(slot->vm), "%s", vm->spec.name);
		g->waiting++;
		struct errinfo e = {0};
		if (vm_blockstats(vm, on_blockstats, slot, &e) < 0) {
			free(slot);
			g->waiting--;
		}
	}
	if (--g->waiting == 0) {
		settle(g);
		return NULL;
	}
	g->deadline = loop_timer_after(a->loop, GATHER_MAX_MS, on_deadline, g);
	return g;
}

void samples_cancel(struct samples_gather *g)
{
	if (!g)
		return;
	if (g->deadline) {
		loop_timer_cancel(g->a->loop, g->deadline);
		g->deadline = NULL;
	}
	g->reported = true; /* freed when the last answer comes */
}

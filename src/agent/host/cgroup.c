/* cgroup.c - per-VM cgroups. vdc's weight scale is cgroup v2's (1..10000,
 * default 100); on v1 it maps onto cpu.shares (default 1024). */
#include "cgroup.h"

#include "fsutil.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFS_PERIOD_US 100000

unsigned cgroup_v1_shares(int weight)
{
	unsigned long s = (unsigned long)weight * 1024ul / 100ul;
	return s < 2 ? 2 : (unsigned)(s > 262144 ? 262144 : s);
}

int64_t cgroup_v1_quota_us(int limit_pct)
{
	return limit_pct <= 0 ? -1 : (int64_t)limit_pct * CFS_PERIOD_US / 100;
}

void cgroup_cpu_max(int limit_pct, char *out, size_t n)
{
	if (limit_pct <= 0)
		snprintf(out, n, "max %d", CFS_PERIOD_US);
	else
		snprintf(out, n, "%lld %d", (long long)cgroup_v1_quota_us(limit_pct), CFS_PERIOD_US);
}

/* Finds the v1 mount point holding controller ctl, from /proc/self/mounts. */
static int find_v1_mount(const char *ctl, char *out, size_t n)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	if (!f)
		return -1;
	char dev[256], dir[256], type[64], opts[512];
	int found = -1;
	while (fscanf(f, "%255s %255s %63s %511s %*d %*d", dev, dir, type, opts) == 4) {
		if (strcmp(type, "cgroup") != 0)
			continue;
		char *save = NULL;
		for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
			if (!strcmp(o, ctl)) {
				snprintf(out, n, "%s", dir);
				found = 0;
			}
		if (!found)
			break;
	}
	fclose(f);
	return found;
}

static void add_hier(struct cgroups *cg, const char *dir)
{
	for (int i = 0; i < cg->nhier; i++)
		if (!strcmp(cg->hier[i], dir))
			return;
	if (cg->nhier < CG_MAX_HIER)
		snprintf(cg->hier[cg->nhier++], sizeof(cg->hier[0]), "%s", dir);
}

int cgroup_init(struct cgroups *cg, const char *base, struct errinfo *e)
{
	memset(cg, 0, sizeof(*cg));
	snprintf(cg->base, sizeof(cg->base), "%s", base);
	char path[512];
	if (fs_exists("/sys/fs/cgroup/cgroup.controllers")) {
		cg->version = 2;
		add_hier(cg, "/sys/fs/cgroup");
		snprintf(cg->cpu_dir, sizeof(cg->cpu_dir), "/sys/fs/cgroup");
		snprintf(cg->cpuacct_dir, sizeof(cg->cpuacct_dir), "/sys/fs/cgroup");
		snprintf(cg->memory_dir, sizeof(cg->memory_dir), "/sys/fs/cgroup");
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", base);
		if (fs_mkdir_p(path, 0755) < 0)
			return errinfo_set(e, 500, "cgroup", NULL, "cannot create %s: %s", path, strerror(errno));
		/* Delegate the controllers down to our subtree and its children. */
		fs_write_string("/sys/fs/cgroup/cgroup.subtree_control", "+cpu +memory +pids +io");
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/cgroup.subtree_control", base);
		int rc = fs_write_string(path, "+cpu +memory +pids +io");
		if (rc < 0)
			log_warn("cgroup_delegate_failed", "path=%s error=%s", path, log_quote(strerror(-rc)));
		return 0;
	}
	static const char *const ctls[] = {"cpu", "cpuacct", "memory", "pids", "blkio"};
	for (size_t i = 0; i < sizeof(ctls) / sizeof(ctls[0]); i++) {
		char dir[256];
		if (find_v1_mount(ctls[i], dir, sizeof(dir)) < 0) {
			if (!strcmp(ctls[i], "cpu") || !strcmp(ctls[i], "memory"))
				return errinfo_set(e, 500, "cgroup", NULL,
				                   "the cgroup v1 '%s' controller is not mounted", ctls[i]);
			continue;
		}
		add_hier(cg, dir);
		if (!strcmp(ctls[i], "cpu"))
			snprintf(cg->cpu_dir, sizeof(cg->cpu_dir), "%s", dir);
		if (!strcmp(ctls[i], "cpuacct"))
			snprintf(cg->cpuacct_dir, sizeof(cg->cpuacct_dir), "%s", dir);
		if (!strcmp(ctls[i], "memory"))
			snprintf(cg->memory_dir, sizeof(cg->memory_dir), "%s", dir);
	}
	cg->version = 1;
	for (int i = 0; i < cg->nhier; i++) {
		snprintf(path, sizeof(path), "%s/%s", cg->hier[i], base);
		if (fs_mkdir_p(path, 0755) < 0)
			return errinfo_set(e, 500, "cgroup", NULL, "cannot create %s: %s", path, strerror(errno));
	}
	return 0;
}

static int write_knob(const char *dir, const char *base, const char *vm, const char *knob,
                      const char *value, struct errinfo *e)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s/%s/%s", dir, base, vm, knob);
	int rc = fs_write_string(path, value);
	if (rc < 0)
		return errinfo_set(e, 500, "cgroup", NULL, "cannot set %s to '%s': %s", path, value,
		                   strerror(-rc));
	return 0;
}

int cgroup_create(const struct cgroups *cg, const char *vm, const struct cg_limits *lim,
                  struct errinfo *e)
{
	char path[512], val[64];
	for (int i = 0; i < cg->nhier; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", cg->hier[i], cg->base, vm);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return errinfo_set(e, 500, "cgroup", NULL, "cannot create %s: %s", path, strerror(errno));
	}
	if (cg->version == 2) {
		snprintf(val, sizeof(val), "%d", lim->cpu_weight);
		if (write_knob(cg->cpu_dir, cg->base, vm, "cpu.weight", val, e) < 0)
			return -1;
		cgroup_cpu_max(lim->cpu_limit_pct, val, sizeof(val));
		if (write_knob(cg->cpu_dir, cg->base, vm, "cpu.max", val, e) < 0)
			return -1;
		if (lim->memory_limit_mib)
			snprintf(val, sizeof(val), "%llu", (unsigned long long)lim->memory_limit_mib << 20);
		else
			snprintf(val, sizeof(val), "max");
		return write_knob(cg->memory_dir, cg->base, vm, "memory.max", val, e);
	}
	snprintf(val, sizeof(val), "%u", cgroup_v1_shares(lim->cpu_weight));
	if (write_knob(cg->cpu_dir, cg->base, vm, "cpu.shares", val, e) < 0)
		return -1;
	snprintf(val, sizeof(val), "%d", CFS_PERIOD_US);
	if (write_knob(cg->cpu_dir, cg->base, vm, "cpu.cfs_period_us", val, e) < 0)
		return -1;
	snprintf(val, sizeof(val), "%lld", (long long)cgroup_v1_quota_us(lim->cpu_limit_pct));
	if (write_knob(cg->cpu_dir, cg->base, vm, "cpu.cfs_quota_us", val, e) < 0)
		return -1;
	if (lim->memory_limit_mib)
		snprintf(val, sizeof(val), "%llu", (unsigned long long)lim->memory_limit_mib << 20);
	else
		snprintf(val, sizeof(val), "-1");
	return write_knob(cg->memory_dir, cg->base, vm, "memory.limit_in_bytes", val, e);
}

int cgroup_procs_paths(const struct cgroups *cg, const char *vm, char paths[][300], int n)
{
	int k = 0;
	for (int i = 0; i < cg->nhier && k < n; i++)
		snprintf(paths[k++], 300, "%s/%s/%s/cgroup.procs", cg->hier[i], cg->base, vm);
	return k;
}

int cgroup_remove(const struct cgroups *cg, const char *vm)
{
	int rc = 0;
	char path[512];
	for (int i = 0; i < cg->nhier; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", cg->hier[i], cg->base, vm);
		/* The kernel may still be tearing the last task down: retry briefly. */
		for (int attempt = 0; attempt < 50; attempt++) {
			if (rmdir(path) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY) {
				rc = -errno;
				break;
			}
			usleep(2000);
			if (attempt == 49)
				rc = -EBUSY;
		}
	}
	return rc;
}

int cgroup_exists(const struct cgroups *cg, const char *vm)
{
	char path[512];
	for (int i = 0; i < cg->nhier; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", cg->hier[i], cg->base, vm);
		if (fs_exists(path))
			return 1;
	}
	return 0;
}

static int64_t read_i64(const char *path)
{
	char *s = fs_read_all(path, 4096, NULL);
	if (!s)
		return -1;
	int64_t v = strtoll(s, NULL, 10);
	free(s);
	return v;
}

void cgroup_stats(const struct cgroups *cg, const char *vm, int64_t *cpu_ns, int64_t *mem_bytes)
{
	char path[512];
	*cpu_ns = *mem_bytes = -1;
	if (cg->version == 2) {
		snprintf(path, sizeof(path), "%s/%s/%s/cpu.stat", cg->cpu_dir, cg->base, vm);
		char *s = fs_read_all(path, 8192, NULL);
		const char *u = s ? strstr(s, "usage_usec ") : NULL;
		if (u)
			*cpu_ns = strtoll(u + 11, NULL, 10) * 1000;
		free(s);
		snprintf(path, sizeof(path), "%s/%s/%s/memory.current", cg->memory_dir, cg->base, vm);
		*mem_bytes = read_i64(path);
		return;
	}
	if (cg->cpuacct_dir[0]) {
		snprintf(path, sizeof(path), "%s/%s/%s/cpuacct.usage", cg->cpuacct_dir, cg->base, vm);
		*cpu_ns = read_i64(path);
	}
	snprintf(path, sizeof(path), "%s/%s/%s/memory.usage_in_bytes", cg->memory_dir, cg->base, vm);
	*mem_bytes = read_i64(path);
}

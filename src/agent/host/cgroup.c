/* cgroup.c - per-VM cgroups, under one level per resource pool. vdc's
 * weight scale is cgroup v2's (1..10000, default 100); on v1 it maps onto
 * cpu.shares (default 1024). */
#include "cgroup.h"

#include "fsutil.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFS_PERIOD_US 100000
#define LEVEL_PREFIX "pool:"

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

int cgroup_rel_name(const struct pool_chain *pool, const char *vm, char *out, size_t n)
{
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; i < pool->n; i++) {
		int k = snprintf(out + len, n - len, LEVEL_PREFIX "%s/", pool->level[i].name);
		if (k < 0 || (size_t)k >= n - len)
			goto too_long;
		len += (size_t)k;
	}
	int k = snprintf(out + len, n - len, "%s", vm);
	if (k < 0 || (size_t)k >= n - len)
		goto too_long;
	return 0;
too_long:
	if (n)
		out[0] = '\0';
	return -1;
}

static void cg_path(char *out, size_t n, const struct cgroups *cg, const char *hier, const char *rel,
                    const char *knob)
{
	snprintf(out, n, "%s/%s%s%s%s%s", hier, cg->base, rel[0] ? "/" : "", rel, knob ? "/" : "",
	         knob ? knob : "");
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

/* What to tell the caller when the kernel refuses a value it parsed. */
static const char *refusal_hint(const char *knob, int err)
{
	if (err == EINVAL && !strcmp(knob, "cpu.cfs_quota_us"))
		return "; cgroup v1 takes no CPU limit above one of the levels above";
	if (err == EBUSY && strstr(knob, "memory"))
		return "; more memory than that is in use there: free some (or move VMs out) first";
	return "";
}

static int write_knob(const struct cgroups *cg, const char *dir, const char *rel, const char *knob,
                      const char *value, const char *field, struct errinfo *e)
{
	char path[CG_PATH_MAX];
	cg_path(path, sizeof(path), cg, dir, rel, knob);
	int rc = fs_write_string(path, value);
	if (rc == 0)
		return 0;
	/* The value was well-formed: the kernel says no to it in this place. */
	bool refused = rc == -EINVAL || rc == -EBUSY;
	return errinfo_set(e, refused ? 409 : 500, refused ? "cgroup_refused" : "cgroup", field,
	                   "cannot set %s to '%s': %s%s", path, value, strerror(-rc),
	                   refusal_hint(knob, -rc));
}

static int make_dirs(const struct cgroups *cg, const char *rel, const char *field, struct errinfo *e)
{
	char path[CG_PATH_MAX];
	for (int i = 0; i < cg->nhier; i++) {
		cg_path(path, sizeof(path), cg, cg->hier[i], rel, NULL);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return errinfo_set(e, 500, "cgroup", field, "cannot create %s: %s", path, strerror(errno));
	}
	return 0;
}

/* The knobs of one cgroup: a VM's own, or a pool level's. */
struct knobs {
	struct cg_limits lim;
	bool level;              /* a pool level: it has a reservation */
	uint64_t memory_min_mib; /* the reservation */
	const char *field;       /* what the values came from ("pool[1]"), or NULL */
};

static void mib_or(uint64_t mib, const char *none, char *out, size_t n)
{
	if (mib)
		snprintf(out, n, "%llu", (unsigned long long)mib << 20);
	else
		snprintf(out, n, "%s", none);
}

static int v2_knobs(const struct cgroups *cg, const char *rel, const struct knobs *k, struct errinfo *e)
{
	char val[64];
	snprintf(val, sizeof(val), "%d", k->lim.cpu_weight);
	if (write_knob(cg, cg->cpu_dir, rel, "cpu.weight", val, k->field, e) < 0)
		return -1;
	cgroup_cpu_max(k->lim.cpu_limit_pct, val, sizeof(val));
	if (write_knob(cg, cg->cpu_dir, rel, "cpu.max", val, k->field, e) < 0)
		return -1;
	mib_or(k->lim.memory_limit_mib, "max", val, sizeof(val));
	if (write_knob(cg, cg->memory_dir, rel, "memory.max", val, k->field, e) < 0)
		return -1;
	if (!k->level)
		return 0;
	mib_or(k->memory_min_mib, "0", val, sizeof(val));
	return write_knob(cg, cg->memory_dir, rel, "memory.min", val, k->field, e);
}

/* v1 refuses a CFS quota above an ancestor's (v2 takes the smaller one):
 * the smallest quota set on the levels above rel, or -1 for none. */
static int64_t v1_quota_cap(const struct cgroups *cg, const char *rel)
{
	char up[CG_REL_MAX], path[CG_PATH_MAX];
	snprintf(up, sizeof(up), "%s", rel);
	int64_t cap = -1;
	for (char *slash; (slash = strrchr(up, '/'));) {
		*slash = '\0';
		cg_path(path, sizeof(path), cg, cg->cpu_dir, up, "cpu.cfs_quota_us");
		int64_t q = read_i64(path);
		if (q > 0 && (cap < 0 || q < cap))
			cap = q;
	}
	return cap;
}

static int v1_knobs(const struct cgroups *cg, const char *rel, const struct knobs *k, struct errinfo *e)
{
	char val[64];
	snprintf(val, sizeof(val), "%u", cgroup_v1_shares(k->lim.cpu_weight));
	if (write_knob(cg, cg->cpu_dir, rel, "cpu.shares", val, k->field, e) < 0)
		return -1;
	snprintf(val, sizeof(val), "%d", CFS_PERIOD_US);
	if (write_knob(cg, cg->cpu_dir, rel, "cpu.cfs_period_us", val, k->field, e) < 0)
		return -1;
	int64_t quota = cgroup_v1_quota_us(k->lim.cpu_limit_pct), cap = v1_quota_cap(cg, rel);
	if (cap > 0 && quota > cap)
		quota = cap; /* what v2 does: the pool's limit binds anyway */
	snprintf(val, sizeof(val), "%lld", (long long)quota);
	if (write_knob(cg, cg->cpu_dir, rel, "cpu.cfs_quota_us", val, k->field, e) < 0)
		return -1;
	/* No reservation on v1: memory.soft_limit_in_bytes is a ceiling the
	 * kernel pushes a group back to under pressure, not a floor it keeps;
	 * only v2's memory.min promises memory. vdcd's admission still counts
	 * reservations, whatever the host. */
	mib_or(k->lim.memory_limit_mib, "-1", val, sizeof(val));
	return write_knob(cg, cg->memory_dir, rel, "memory.limit_in_bytes", val, k->field, e);
}

static int write_knobs(const struct cgroups *cg, const char *rel, const struct knobs *k, struct errinfo *e)
{
	return cg->version == 2 ? v2_knobs(cg, rel, k, e) : v1_knobs(cg, rel, k, e);
}

/* v2's no-internal-process rule: a level holds only child cgroups, which
 * get the controllers the level has. */
static void v2_delegate(const struct cgroups *cg, const char *rel)
{
	char path[CG_PATH_MAX], want[64] = "";
	cg_path(path, sizeof(path), cg, cg->hier[0], rel, "cgroup.controllers");
	char *have = fs_read_all(path, 4096, NULL);
	static const char *const ctls[] = {"cpu", "memory", "pids", "io"};
	for (size_t i = 0; have && i < sizeof(ctls) / sizeof(ctls[0]); i++) {
		char *save = NULL, *copy = strdup(have);
		for (char *t = copy ? strtok_r(copy, " \n", &save) : NULL; t; t = strtok_r(NULL, " \n", &save))
			if (!strcmp(t, ctls[i])) {
				strcat(want, want[0] ? " +" : "+");
				strcat(want, ctls[i]);
				break;
			}
		free(copy);
	}
	free(have);
	cg_path(path, sizeof(path), cg, cg->hier[0], rel, "cgroup.subtree_control");
	int rc = want[0] ? fs_write_string(path, want) : -ENOENT;
	if (rc < 0)
		log_warn("cgroup_delegate_failed", "path=%s error=%s", path, log_quote(strerror(-rc)));
}

/* v2 hands memory protection down only as far as every ancestor has it:
 * the base gets the sum of its top-level pools' reservations, so theirs
 * take effect (and reach the VMs inside, whose own memory.min is 0, through
 * the memory_recursiveprot mount option that systemd sets). */
static void v2_protect_base(const struct cgroups *cg)
{
	char path[CG_PATH_MAX];
	cg_path(path, sizeof(path), cg, cg->memory_dir, "", NULL);
	DIR *d = opendir(path);
	if (!d)
		return;
	unsigned long long sum = 0;
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_type != DT_DIR || strncmp(de->d_name, LEVEL_PREFIX, strlen(LEVEL_PREFIX)) != 0)
			continue;
		char knob[CG_REL_MAX + 16];
		snprintf(knob, sizeof(knob), "%s/memory.min", de->d_name);
		cg_path(path, sizeof(path), cg, cg->memory_dir, "", knob);
		int64_t v = read_i64(path);
		if (v > 0)
			sum += (unsigned long long)v;
	}
	closedir(d);
	char val[32];
	snprintf(val, sizeof(val), "%llu", sum);
	cg_path(path, sizeof(path), cg, cg->memory_dir, "", "memory.min");
	int rc = fs_write_string(path, val);
	if (rc < 0)
		log_warn("cgroup_protect_failed", "path=%s error=%s", path, log_quote(strerror(-rc)));
}

/* The relative name of the chain's level i, "pool:a/pool:b". */
static void level_rel(const struct pool_chain *pool, int i, char *out, size_t n)
{
	size_t len = 0;
	out[0] = '\0';
	for (int k = 0; k <= i && len < n; k++)
		len += (size_t)snprintf(out + len, n - len, "%s" LEVEL_PREFIX "%s", k ? "/" : "",
		                        pool->level[k].name);
}

/* v1 checks a quota against the levels above as it is written (v2 just
 * takes the smaller): before a level's limit goes down to cap, everything
 * inside it above cap is brought down to it, deepest first. A VM's own
 * limit, cut so, comes back with vm_cgroup_create once the pool allows. */
static int v1_clamp_inside(const struct cgroups *cg, const char *rel, int64_t cap, int depth,
                           struct errinfo *e)
{
	char path[CG_PATH_MAX];
	cg_path(path, sizeof(path), cg, cg->cpu_dir, rel, NULL);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int rc = 0;
	for (struct dirent *de; rc == 0 && (de = readdir(d));) {
		char child[CG_REL_MAX], val[32];
		if (de->d_type != DT_DIR || de->d_name[0] == '.' ||
		    (size_t)snprintf(child, sizeof(child), "%s/%s", rel, de->d_name) >= sizeof(child))
			continue;
		if (depth < POOL_MAX_DEPTH)
			rc = v1_clamp_inside(cg, child, cap, depth + 1, e);
		cg_path(path, sizeof(path), cg, cg->cpu_dir, child, "cpu.cfs_quota_us");
		if (rc == 0 && read_i64(path) > cap) {
			snprintf(val, sizeof(val), "%lld", (long long)cap);
			rc = write_knob(cg, cg->cpu_dir, child, "cpu.cfs_quota_us", val, NULL, e);
		}
	}
	closedir(d);
	return rc;
}

int cgroup_pool_apply(const struct cgroups *cg, const struct pool_chain *pool, struct errinfo *e)
{
	int64_t cap = -1; /* v1: the smallest quota of the levels so far */
	for (int i = 0; i < pool->n; i++) {
		const struct pool_level *l = &pool->level[i];
		char rel[CG_REL_MAX], field[32];
		level_rel(pool, i, rel, sizeof(rel));
		snprintf(field, sizeof(field), "pool[%d]", i);
		struct knobs k = {{l->cpu_weight, l->cpu_limit_pct, l->memory_limit_mib}, true,
		                  l->memory_reservation_mib, field};
		int64_t q = cgroup_v1_quota_us(l->cpu_limit_pct);
		if (q > 0 && (cap < 0 || q < cap))
			cap = q;
		if (make_dirs(cg, rel, field, e) < 0 ||
		    (cg->version == 1 && cap > 0 && v1_clamp_inside(cg, rel, cap, i + 1, e) < 0) ||
		    write_knobs(cg, rel, &k, e) < 0)
			return -1;
		if (cg->version == 2)
			v2_delegate(cg, rel);
	}
	if (cg->version == 2 && pool->n)
		v2_protect_base(cg);
	return 0;
}

int cgroup_create(const struct cgroups *cg, const char *rel, const struct cg_limits *lim,
                  struct errinfo *e)
{
	struct knobs k = {*lim, false, 0, NULL};
	if (make_dirs(cg, rel, NULL, e) < 0)
		return -1;
	return write_knobs(cg, rel, &k, e);
}

int cgroup_procs_paths(const struct cgroups *cg, const char *rel, char paths[][CG_PATH_MAX], int n)
{
	int k = 0;
	for (int i = 0; i < cg->nhier && k < n; i++)
		cg_path(paths[k++], CG_PATH_MAX, cg, cg->hier[i], rel, "cgroup.procs");
	return k;
}

int cgroup_move_pid(const struct cgroups *cg, const char *rel, pid_t pid, struct errinfo *e)
{
	char paths[CG_MAX_HIER][CG_PATH_MAX], val[32];
	int n = cgroup_procs_paths(cg, rel, paths, CG_MAX_HIER);
	snprintf(val, sizeof(val), "%d", (int)pid);
	/* A process id written to cgroup.procs takes every thread with it
	 * (v1 and v2). Memory already charged stays where it was until freed:
	 * v2 never moves charges, and v1's move_charge_at_immigrate is gone
	 * from new kernels. */
	for (int i = 0; i < n; i++) {
		int rc = fs_write_string(paths[i], val);
		if (rc < 0)
			return errinfo_set(e, 500, "cgroup", NULL, "cannot move QEMU (pid %d) into %s: %s", (int)pid,
			                   paths[i], strerror(-rc));
	}
	return 0;
}

/* rmdir of one directory: 0 when gone, 1 when still in use (EBUSY,
 * ENOTEMPTY), else -errno. A VM's own cgroup may still be tearing its last
 * task down: retry_busy waits briefly for that (and gives -EBUSY). */
static int rmdir_one(const char *path, bool retry_busy)
{
	for (int attempt = 0;; attempt++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY && errno != ENOTEMPTY && errno != EEXIST)
			return -errno;
		if (!retry_busy)
			return 1;
		if (attempt == 49)
			return -EBUSY;
		usleep(2000);
	}
}

/* rmdir of rel in every hierarchy, as rmdir_one; the first in use stops it. */
static int remove_dirs(const struct cgroups *cg, const char *rel, bool retry_busy)
{
	int rc = 0;
	char path[CG_PATH_MAX];
	for (int i = 0; i < cg->nhier; i++) {
		cg_path(path, sizeof(path), cg, cg->hier[i], rel, NULL);
		int r = rmdir_one(path, retry_busy);
		if (r == 1)
			return 1;
		if (r < 0)
			rc = r;
	}
	return rc;
}

int cgroup_remove(const struct cgroups *cg, const char *rel)
{
	int rc = remove_dirs(cg, rel, true);
	if (rc != 0)
		return rc;
	/* The levels above, bottom-up, while each is left empty. */
	char up[CG_REL_MAX];
	snprintf(up, sizeof(up), "%s", rel);
	bool removed = false;
	for (char *slash; (slash = strrchr(up, '/'));) {
		*slash = '\0';
		const char *last = strrchr(up, '/') ? strrchr(up, '/') + 1 : up;
		if (strncmp(last, LEVEL_PREFIX, strlen(LEVEL_PREFIX)) != 0 || remove_dirs(cg, up, false) != 0)
			break;
		removed = true;
	}
	if (removed && cg->version == 2)
		v2_protect_base(cg);
	return 0;
}

int cgroup_exists(const struct cgroups *cg, const char *rel)
{
	char path[CG_PATH_MAX];
	for (int i = 0; i < cg->nhier; i++) {
		cg_path(path, sizeof(path), cg, cg->hier[i], rel, NULL);
		if (fs_exists(path))
			return 1;
	}
	return 0;
}

void cgroup_stats(const struct cgroups *cg, const char *rel, int64_t *cpu_ns, int64_t *mem_bytes)
{
	char path[CG_PATH_MAX];
	*cpu_ns = *mem_bytes = -1;
	if (cg->version == 2) {
		cg_path(path, sizeof(path), cg, cg->cpu_dir, rel, "cpu.stat");
		char *s = fs_read_all(path, 8192, NULL);
		const char *u = s ? strstr(s, "usage_usec ") : NULL;
		if (u)
			*cpu_ns = strtoll(u + 11, NULL, 10) * 1000;
		free(s);
		cg_path(path, sizeof(path), cg, cg->memory_dir, rel, "memory.current");
		*mem_bytes = read_i64(path);
		return;
	}
	if (cg->cpuacct_dir[0]) {
		cg_path(path, sizeof(path), cg, cg->cpuacct_dir, rel, "cpuacct.usage");
		*cpu_ns = read_i64(path);
	}
	cg_path(path, sizeof(path), cg, cg->memory_dir, rel, "memory.usage_in_bytes");
	*mem_bytes = read_i64(path);
}

int64_t cgroup_stat_value(const char *text, const char *key)
{
	size_t n = strlen(key);
	for (const char *line = text; line && *line;) {
		if (!strncmp(line, key, n) && line[n] == ' ') {
			char *end;
			long long v = strtoll(line + n + 1, &end, 10);
			return end > line + n + 1 && v >= 0 ? (int64_t)v : -1;
		}
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return -1;
}

/* The throttled time (ns) of the cgroup rel itself, or -1. */
static int64_t throttled_of(const struct cgroups *cg, const char *rel)
{
	char path[CG_PATH_MAX];
	cg_path(path, sizeof(path), cg, cg->cpu_dir, rel, "cpu.stat");
	char *s = fs_read_all(path, 8192, NULL);
	int64_t v = !s ? -1 : cg->version == 2 ? cgroup_stat_value(s, "throttled_usec") : cgroup_stat_value(s, "throttled_time");
	free(s);
	return v < 0 ? -1 : cg->version == 2 ? v * 1000 : v;
}

void cgroup_demand(const struct cgroups *cg, const char *rel, int64_t *throttled_ns, int64_t *active_bytes)
{
	char path[CG_PATH_MAX];
	*throttled_ns = *active_bytes = -1;
	if (!cg->version)
		return;
	*throttled_ns = throttled_of(cg, rel);
	cg_path(path, sizeof(path), cg, cg->memory_dir, rel, "memory.stat");
	char *s = fs_read_all(path, 65536, NULL);
	int64_t anon = s ? cgroup_stat_value(s, "active_anon") : -1, file = s ? cgroup_stat_value(s, "active_file") : -1;
	if (anon >= 0 && file >= 0)
		*active_bytes = anon + file;
	free(s);
}

int cgroup_levels_use(const struct cgroups *cg, const char *rel, struct cg_level_use *out, int max)
{
	int n = 0;
	char up[CG_REL_MAX];
	snprintf(up, sizeof(up), "%s", rel);
	for (char *slash; cg->version && n < max && (slash = strrchr(up, '/'));) {
		*slash = '\0';
		int64_t mem;
		out[n].throttled_ns = throttled_of(cg, up);
		cgroup_stats(cg, up, &out[n].cpu_ns, &mem);
		n++;
	}
	return n;
}

/* Whether a /proc/PID/cgroup line's controller list names the one the
 * v1 lookup goes by (cpu: a VM always has a cgroup there). */
static bool lists_cpu(const char *ctls, size_t len)
{
	for (const char *p = ctls; p < ctls + len;) {
		const char *end = memchr(p, ',', (size_t)(ctls + len - p));
		size_t n = end ? (size_t)(end - p) : (size_t)(ctls + len - p);
		if (n == 3 && !strncmp(p, "cpu", 3))
			return true;
		p += n + 1;
	}
	return false;
}

int cgroup_parse_proc(const char *text, int version, const char *base, char *out, size_t n)
{
	char prefix[80];
	snprintf(prefix, sizeof(prefix), "/%s/", base);
	for (const char *line = text; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		/* "ID:controllers:path"; v2's line is "0::path". */
		const char *c1 = memchr(line, ':', len);
		const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
		bool match = c2 && (version == 2 ? c1 == line + 1 && line[0] == '0' && c2 == c1 + 1
		                                 : lists_cpu(c1 + 1, (size_t)(c2 - c1 - 1)));
		if (match) {
			const char *path = c2 + 1;
			size_t plen = len - (size_t)(path - line), pre = strlen(prefix);
			if (plen > pre && !strncmp(path, prefix, pre) && plen - pre < n)
				snprintf(out, n, "%.*s", (int)(plen - pre), path + pre);
			else if (n)
				out[0] = '\0';
			return 0;
		}
		line = eol ? eol + 1 : NULL;
	}
	return -1;
}

int cgroup_rel_of_pid(const struct cgroups *cg, pid_t pid, char *out, size_t n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	char *s = fs_read_all(path, 65536, NULL);
	int rc = s ? cgroup_parse_proc(s, cg->version, cg->base, out, n) : -1;
	free(s);
	return rc;
}

static void each_vm_under(const struct cgroups *cg, const char *rel, int depth,
                          void (*fn)(const char *rel, void *ctx), void *ctx)
{
	char path[CG_PATH_MAX];
	cg_path(path, sizeof(path), cg, cg->hier[0], rel, NULL);
	DIR *d = opendir(path);
	if (!d)
		return;
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		char child[CG_REL_MAX];
		if ((size_t)snprintf(child, sizeof(child), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) >=
		    sizeof(child))
			continue;
		if (strncmp(de->d_name, LEVEL_PREFIX, strlen(LEVEL_PREFIX)) != 0)
			fn(child, ctx);
		else if (depth < POOL_MAX_DEPTH)
			each_vm_under(cg, child, depth + 1, fn, ctx);
	}
	closedir(d);
}

void cgroup_each_vm(const struct cgroups *cg, void (*fn)(const char *rel, void *ctx), void *ctx)
{
	if (cg->nhier > 0)
		each_vm_under(cg, "", 0, fn, ctx);
}

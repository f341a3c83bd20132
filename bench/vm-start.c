/* vm-start.c - how long from the API call until a VM's QEMU runs, and until
 * its guest is ready, for vdc against the same QEMU run bare (the floor) and
 * against libvirt, in the same runs; and the agent's memory. */
#include "peers.h"

#include "fsutil.h"
#include "cgroup.h"
#include "hostinfo.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_RUNS 100

static const char usage[] =
    "usage: vm-start --agent PATH --guest DIR [--vdcd PATH] [--runs N] [--variant minimal|default|both]\n"
    "                [--accel auto|kvm|tcg] [--no-libvirt] [--libvirt-stock]\n"
    "                [--cmdline ARGS] [--timeout S] [--keep-tmp] [--experiment E]...\n"
    "  --agent PATH     the vdc-agent binary to measure\n"
    "  --guest DIR      holds vmlinuz and initrd.img of the test guest\n"
    "  --vdcd PATH      also start the default variant the user's way: a private vdcd\n"
    "                   the agent joins, VMs made from a template, started through it\n"
    "  --runs N         timed runs per peer, median reported (default 7, at least 5)\n"
    "  --variant V      minimal (no display, disk, NIC), default (what vdcd asks for:\n"
    "                   VNC, a root disk from an image, a NIC) or both (default)\n"
    "  --accel A        the accelerator for every peer; auto (default) detects it as\n"
    "                   the agent does (KVM when it works)\n"
    "  --no-libvirt     leave libvirt out (its figures print as nan)\n"
    "  --libvirt-stock  start libvirtd with the host's qemu.conf as is (see README)\n"
    "  --cmdline ARGS   guest kernel command line (default 'console=ttyS0 quiet panic=-1')\n"
    "  --timeout S      give up and clean up after S seconds (default 900)\n"
    "  --keep-tmp       keep the temporary directory (agent and QEMU logs)\n"
    "  --experiment E   to find where a difference comes from: raw-cgroup (raw QEMU in\n"
    "                   a per-VM cgroup made by the agent's cgroup code) or\n"
    "                   vdc-root-cgroup (the agent's QEMU moved to the root cgroups\n"
    "                   once it runs), vdc-poll (vdc's ready by polling GET\n"
    "                   .../console every 5 ms), vdc-first (vdc always started first\n"
    "                   instead of taking turns with raw); repeatable\n"
    "Figures on stdout as 'figure NAME VALUE UNIT'; progress on stderr.\n";

struct series {
	double v[MAX_RUNS];
	int n;
};

static void add(struct series *s, double v) { s->v[s->n++] = v; }

/* The median, leaving the series in run order. */
static double med(const struct series *s)
{
	struct series c = *s;
	return median(c.v, c.n);
}

/* Median of the per-run differences a - b. */
static double med_diff(const struct series *a, const struct series *b)
{
	struct series d = {.n = a->n < b->n ? a->n : b->n};
	for (int i = 0; i < d.n; i++)
		d.v[i] = a->v[i] - b->v[i];
	return median(d.v, d.n);
}

static void print_range(const char *what, const struct series *s)
{
	if (!s->n)
		return;
	struct series c = *s;
	median(c.v, c.n);
	say("%-22s median %8.1f  min %8.1f  max %8.1f  (n=%d)", what, med(s), c.v[0],
	    c.v[c.n - 1], c.n);
}

/* Other load skews every figure here (TCG boots are CPU-bound): say it. */
static void say_load(const char *when)
{
	char *s = fs_read_all("/proc/loadavg", 256, NULL);
	double l1 = s ? atof(s) : 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	say("load average %s: %.2f on %ld CPUs%s", when, l1, ncpu,
	    l1 > (double)ncpu / 2 ? " (busy host: expect noisy figures)" : "");
	free(s);
}

/* The per-run series of one variant. */
struct results {
	struct series vr, vy, rr, ry, lr, ly, vcpu, rcpu, vwait, rwait, lag;
	struct series dr, dy; /* vdcd (default variant only) */
};

/* One timed start of each peer for variant v; vdc and raw take turns
 * going first, so a drift in host load does not favour either. */
static bool always_vdc_first; /* experiment: the order before runs took turns */

static int run_once(struct vdc_peer *vdc, struct raw_peer *raw, struct lv_peer *lv, bool *use_lv,
                    struct vdcd_peer *vdcd, enum variant v, const char *name, int i, int runs,
                    struct results *r)
{
	struct start_times tv = {0}, tr = {0}, tl = {0}, td = {0};
	bool vdc_first = always_vdc_first || i % 2;
	/* vdcd (default variant) goes first or last, in turns too. */
	bool use_vdcd = vdcd->pid > 0 && v == VARIANT_DEFAULT;
	if (use_vdcd && vdc_first && vdcd_run(vdcd, name, &td) < 0)
		return -1;
	if (vdc_first && vdc_run(vdc, v, name, &tv) < 0)
		return -1;
	if (raw_run(raw, v, name, NULL, 0, &tr) < 0)
		return -1;
	if (!vdc_first && vdc_run(vdc, v, name, &tv) < 0)
		return -1;
	if (use_vdcd && !vdc_first && vdcd_run(vdcd, name, &td) < 0)
		return -1;
	char vds[64] = "";
	if (use_vdcd) {
		add(&r->dr, td.running_ms);
		add(&r->dy, td.ready_ms);
		snprintf(vds, sizeof(vds), "  vdcd %.1f / %.1f", td.running_ms, td.ready_ms);
	}
	add(&r->vr, tv.running_ms);
	add(&r->vy, tv.ready_ms);
	add(&r->vcpu, tv.qemu_cpu_ms);
	add(&r->vwait, tv.qemu_wait_ms);
	add(&r->lag, tv.api_lag_ms);
	add(&r->rr, tr.running_ms);
	add(&r->ry, tr.ready_ms);
	add(&r->rcpu, tr.qemu_cpu_ms);
	add(&r->rwait, tr.qemu_wait_ms);
	char lvs[64] = "";
	if (*use_lv && v == VARIANT_MINIMAL) {
		if (lv_run(lv, i, &tl) < 0) {
			if (bench_stop)
				return -1;
			say("libvirt left out: %s", lv->why_not);
			*use_lv = false;
			r->lr.n = r->ly.n = 0;
		} else {
			add(&r->lr, tl.running_ms);
			add(&r->ly, tl.ready_ms);
			snprintf(lvs, sizeof(lvs), "  libvirt %.1f / %.1f", tl.running_ms, tl.ready_ms);
		}
	}
	say("%s run %d/%d (running / ready ms [QEMU ran / waited ms]): vdc %.1f / %.1f [%.0f / %.0f]"
	    "  raw %.1f / %.1f [%.0f / %.0f]%s%s",
	    variant_name(v), i, runs, tv.running_ms, tv.ready_ms, tv.qemu_cpu_ms, tv.qemu_wait_ms,
	    tr.running_ms, tr.ready_ms, tr.qemu_cpu_ms, tr.qemu_wait_ms, lvs, vds);
	return 0;
}

/* The user's path against the floor: vdcd's figures and their per-run
 * differences from the raw peer of the same device set. */
static void print_vdcd(const struct results *r, const struct vdcd_peer *d)
{
	struct series poll = {.n = d->npoll};
	memcpy(poll.v, d->poll_ms, sizeof(double) * (size_t)(poll.n < MAX_RUNS ? poll.n : MAX_RUNS));
	poll.n = poll.n < MAX_RUNS ? poll.n : MAX_RUNS;
	print_range("vdcd running ms", &r->dr);
	print_range("vdcd ready ms", &r->dy);
	print_range("vdcd task poll ms", &poll);
	figure("vdcd_start_running_ms", r->dr.n ? med(&r->dr) : NAN, "ms");
	figure("vdcd_start_ready_ms", r->dy.n ? med(&r->dy) : NAN, "ms");
	figure("vdcd_overhead_ms", r->dr.n ? med_diff(&r->dr, &r->rr) : NAN, "ms");
	figure("vdcd_ready_overhead_ms", r->dy.n ? med_diff(&r->dy, &r->ry) : NAN, "ms");
	figure("vdcd_task_poll_ms", poll.n ? med(&poll) : NAN, "ms");
}

static void print_variant(enum variant v, const struct results *r, bool use_lv)
{
	const char *n = variant_name(v);
	char what[64];
#define RANGE(label, s) (snprintf(what, sizeof(what), "%s %s", n, label), print_range(what, s))
	RANGE("vdc running ms", &r->vr);
	RANGE("raw running ms", &r->rr);
	RANGE("libvirt running ms", &r->lr);
	RANGE("vdc ready ms", &r->vy);
	RANGE("raw ready ms", &r->ry);
	RANGE("libvirt ready ms", &r->ly);
	RANGE("vdc QEMU ran ms", &r->vcpu);
	RANGE("raw QEMU ran ms", &r->rcpu);
	RANGE("vdc QEMU waited ms", &r->vwait);
	RANGE("raw QEMU waited ms", &r->rwait);
	RANGE("vdc API lag ms", &r->lag);
#undef RANGE
	/* The minimal variant keeps the figure names from before variants. */
	const char *pre = v == VARIANT_MINIMAL ? "" : "default_";
	char fig[64];
#define FIG(fmt, val, unit) (snprintf(fig, sizeof(fig), fmt, pre), figure(fig, val, unit))
	FIG("vdc_%sstart_running_ms", med(&r->vr), "ms");
	FIG("raw_%sstart_running_ms", med(&r->rr), "ms");
	if (v == VARIANT_MINIMAL)
		FIG("libvirt_%sstart_running_ms", use_lv ? med(&r->lr) : NAN, "ms");
	FIG("vdc_%sstart_ready_ms", med(&r->vy), "ms");
	FIG("raw_%sstart_ready_ms", med(&r->ry), "ms");
	if (v == VARIANT_MINIMAL)
		FIG("libvirt_%sstart_ready_ms", use_lv ? med(&r->ly) : NAN, "ms");
	FIG("vdc_%soverhead_ms", med_diff(&r->vr, &r->rr), "ms");
	FIG("vdc_%sready_overhead_ms", med_diff(&r->vy, &r->ry), "ms");
	FIG("vdc_%sready_cpu_overhead_ms", med_diff(&r->vcpu, &r->rcpu), "ms");
	FIG("vdc_%sready_wait_overhead_ms", med_diff(&r->vwait, &r->rwait), "ms");
	if (v == VARIANT_MINIMAL)
		FIG("vdc_%svs_libvirt_ratio", use_lv ? med(&r->vr) / med(&r->lr) : NAN, "x");
#undef FIG
}

int main(int argc, char **argv)
{
	const char *agent = NULL, *guest_dir = NULL, *vdcd_bin = NULL, *accel_pref = "auto";
	struct guest g = {.cmdline = "console=ttyS0 quiet panic=-1", .memory_mib = 256};
	int runs = 7, no_libvirt = 0, lv_stock = 0, keep = 0;
	bool raw_cgroup = false, vdc_root_cgroup = false, vdc_poll = false;
	bool want[NVARIANTS] = {true, true};
	unsigned timeout_s = 900;
	static const struct option opts[] = {
	    {"agent", required_argument, NULL, 'a'},  {"guest", required_argument, NULL, 'g'},
	    {"runs", required_argument, NULL, 'r'},   {"no-libvirt", no_argument, NULL, 'L'},
	    {"libvirt-stock", no_argument, NULL, 'S'}, {"cmdline", required_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 't'}, {"keep-tmp", no_argument, NULL, 'k'},
	    {"variant", required_argument, NULL, 'v'}, {"accel", required_argument, NULL, 'A'},
	    {"experiment", required_argument, NULL, 'x'}, {"vdcd", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},          {0}};
	for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
		switch (c) {
		case 'a': agent = optarg; break;
		case 'g': guest_dir = optarg; break;
		case 'D': vdcd_bin = optarg; break;
		case 'r': runs = atoi(optarg); break;
		case 'L': no_libvirt = 1; break;
		case 'S': lv_stock = 1; break;
		case 'c': g.cmdline = optarg; break;
		case 't': timeout_s = (unsigned)atoi(optarg); break;
		case 'k': keep = 1; break;
		case 'A': accel_pref = optarg; break;
		case 'x':
			if (!strcmp(optarg, "raw-cgroup")) {
				raw_cgroup = true;
			} else if (!strcmp(optarg, "vdc-root-cgroup")) {
				vdc_root_cgroup = true;
			} else if (!strcmp(optarg, "vdc-poll")) {
				vdc_poll = true;
			} else if (!strcmp(optarg, "vdc-first")) {
				always_vdc_first = true;
			} else {
				say("--experiment must be raw-cgroup, vdc-root-cgroup, vdc-poll or vdc-first, "
				    "not '%s'", optarg);
				return 2;
			}
			break;
		case 'v':
			want[VARIANT_MINIMAL] = !strcmp(optarg, "minimal") || !strcmp(optarg, "both");
			want[VARIANT_DEFAULT] = !strcmp(optarg, "default") || !strcmp(optarg, "both");
			if (!want[0] && !want[1]) {
				say("--variant must be minimal, default or both, not '%s'", optarg);
				return 2;
			}
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!agent || !guest_dir || optind != argc || runs < 5 || runs > MAX_RUNS || !timeout_s) {
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(accel_pref, "auto") && strcmp(accel_pref, "kvm") && strcmp(accel_pref, "tcg")) {
		say("--accel must be auto, kvm or tcg, not '%s'", accel_pref);
		return 2;
	}
	if (geteuid() != 0) {
		say("must run as root (the agent, cgroups, libvirtd)");
		return 2;
	}
	/* Detected once, the agent's way, and pinned for every peer: the agent
	 * gets --accel, raw QEMU the same accel=, libvirt the matching type. */
	char accel[8];
	struct errinfo ae = {0};
	if (accel_detect(accel_pref, accel, &ae) < 0) {
		say("%s", ae.message);
		return 2;
	}
	g.accel = accel;
	printf("accel %s\n", accel);
	fflush(stdout);
	say("accelerator for every peer: %s (--accel %s)", accel, accel_pref);
	char kernel[512], initrd[512], disk[512];
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", guest_dir);
	snprintf(initrd, sizeof(initrd), "%s/initrd.img", guest_dir);
	snprintf(disk, sizeof(disk), "%s/data-template.qcow2", guest_dir);
	if (!fs_exists(kernel) || !fs_exists(initrd) || !fs_exists(disk) || access(agent, X_OK) < 0) {
		say("need %s, %s, %s and an executable %s", kernel, initrd, disk, agent);
		return 2;
	}
	if (vdcd_bin && access(vdcd_bin, X_OK) < 0) {
		say("--vdcd %s: not an executable", vdcd_bin);
		return 2;
	}
	/* Absolute: the agent and libvirt check them from their own cwd. */
	char *kabs = realpath(kernel, NULL), *iabs = realpath(initrd, NULL),
	     *dabs = realpath(disk, NULL);
	g.kernel = kabs;
	g.initrd = iabs;
	g.disk_template = dabs;

	double t_start = now_ms();
	bench_signals(timeout_s);
	char tmp[] = "/tmp/vdc-bench.XXXXXX";
	if (!mkdtemp(tmp)) {
		say("mkdtemp: %s", strerror(errno));
		return 1;
	}
	struct qemu_user user;
	struct vdc_peer vdc = {0};
	struct vdcd_peer vdcd = {0};
	struct raw_peer raw = {.user = &user, .g = &g};
	struct lv_peer lv = {.g = &g, .stock = lv_stock};
	static struct results res[NVARIANTS];
	long rss0 = -1, rss10 = -1, rss_after = -1;
	bool use_lv = !no_libvirt && want[VARIANT_MINIMAL], ok = false;
	char dir[300], name[64];
	struct start_times st;
	struct cgroups cg;

	say_load("at start");
	if (qemu_user_get("vdc-qemu", true, &user) < 0)
		goto cleanup;
	snprintf(dir, sizeof(dir), "%s/vdc", tmp);
	snprintf(raw.dir, sizeof(raw.dir), "%s/raw", tmp);
	snprintf(lv.dir, sizeof(lv.dir), "%s/libvirt", tmp);
	/* The QEMUs (as vdc-qemu or the VM's identity) open files below: the
	 * way there is traversable, not listable. */
	if (chmod(tmp, 0711) < 0 || fs_mkdir_p(dir, 0711) < 0 || fs_mkdir_p(raw.dir, 0711) < 0 ||
	    fs_mkdir_p(lv.dir, 0700) < 0)
		goto cleanup;
	/* vdcd first: the agent joins it at start-up. */
	const char *const *join = NULL;
	if (vdcd_bin && want[VARIANT_DEFAULT]) {
		char ddir[300], *gabs = realpath(guest_dir, NULL);
		snprintf(ddir, sizeof(ddir), "%s/vdcd", tmp);
		int rc = gabs ? vdcd_start(&vdcd, vdcd_bin, ddir, gabs, &g) : -1;
		free(gabs);
		if (rc < 0)
			goto cleanup;
		join = vdcd_join_args(&vdcd);
	}
	if (vdc_start(&vdc, agent, dir, &g, join) < 0 || (join && vdcd_wait_host(&vdcd, &vdc) < 0))
		goto cleanup;
	vdc.root_cgroup = vdc_root_cgroup;
	vdc.poll_console = vdc_poll;
	if (raw_cgroup) {
		struct errinfo ce = {0};
		if (cgroup_init(&cg, "vdcbench", &ce) < 0) {
			say("%s", ce.message);
			goto cleanup;
		}
		raw.cg = &cg;
	}
	if (raw_cgroup || vdc_root_cgroup || vdc_poll || always_vdc_first)
		say("experiment:%s%s%s%s", raw_cgroup ? " raw QEMU in a per-VM cgroup;" : "",
		    vdc_root_cgroup ? " the agent's QEMU moved to the root cgroups;" : "",
		    vdc_poll ? " vdc ready by polling GET console every 5 ms;" : "",
		    always_vdc_first ? " vdc always started first;" : "");
	if (use_lv && lv_setup(&lv) < 0) {
		say("libvirt left out: %s", lv.why_not);
		use_lv = false;
	}

	/* One untimed run each: page cache, libvirt's capabilities, the
	 * agent's first allocations; and the proof that the raw peer's QEMU
	 * line is the agent's for each variant. */
	say("warm-up run");
	for (int v = 0; v < NVARIANTS; v++) {
		if (!want[v])
			continue;
		snprintf(name, sizeof(name), "%sw%d", vdc.prefix, v);
		if (vdc_run(&vdc, v, name, &st) < 0 ||
		    raw_run(&raw, v, name, vdc.cmdline, vdc.cmdline_len, &st) < 0)
			goto cleanup;
		if (v != VARIANT_DEFAULT || vdcd.pid <= 0)
			continue;
		/* The VM made through vdcd must be the raw default's machine. */
		snprintf(name, sizeof(name), "%sw%dd", vdc.prefix, v);
		if (vdcd_run(&vdcd, name, &st) < 0)
			goto cleanup;
		vdcd_cmdline_as_raw(&vdc);
		/* Named as the agent knows it: by the VM's id. */
		if (raw_run(&raw, v, vdcd.last_id, vdc.cmdline, vdc.cmdline_len, &st) < 0)
			goto cleanup;
		vdcd.npoll = 0; /* only the timed runs' polls count */
	}
	if (use_lv) {
		double t = now_ms();
		if (lv_run(&lv, 0, &st) < 0) {
			if (bench_stop)
				goto cleanup;
			say("libvirt left out: %s", lv.why_not);
			use_lv = false;
		} else if (now_ms() - t > 20000) {
			say("libvirt: warm-up create took %.0f ms", st.running_ms);
		}
	}
	rss0 = vdc_rss(&vdc, "with no VM");

	for (int i = 1; i <= runs; i++)
		for (int v = 0; v < NVARIANTS; v++) {
			if (!want[v])
				continue;
			snprintf(name, sizeof(name), "%s%d-%d", vdc.prefix, v, i);
			if (run_once(&vdc, &raw, &lv, &use_lv, &vdcd, v, name, i, runs, &res[v]) < 0)
				goto cleanup;
		}

	if (vdc_rss_with_vms(&vdc, 10, 128, 1000, &rss10) < 0)
		goto cleanup;
	rss_after = vdc_rss(&vdc, "after deleting them");
	ok = true;

cleanup:
	bench_begin_cleanup(300);
	if (bench_stop)
		say("%s: cleaning up", bench_stop == SIGALRM ? "timed out" : "interrupted");
	if (!ok && vdc.pid > 0)
		vdc_log_tail(&vdc, 15);
	bool had_vdcd = vdcd.pid > 0;
	vdcd_teardown(&vdcd); /* first: it deletes its VMs through the agent */
	vdc_teardown(&vdc);
	raw_teardown(&raw);
	lv_teardown(&lv);
	if (keep)
		say("kept %s", tmp);
	else
		fs_remove_tree(tmp);
	if (ok) {
		for (int v = 0; v < NVARIANTS; v++)
			if (want[v])
				print_variant(v, &res[v], use_lv);
		if (had_vdcd)
			print_vdcd(&res[VARIANT_DEFAULT], &vdcd);
		else if (want[VARIANT_DEFAULT])
			say("vdcd figures left out: no --vdcd");
		figure("agent_rss_kib_0vms", (double)rss0, "KiB");
		figure("agent_rss_kib_10vms", (double)rss10, "KiB");
		figure("agent_rss_kib_after_10vms", (double)rss_after, "KiB");
		if (!use_lv)
			say("libvirt figures are nan: %s",
			    no_libvirt ? "--no-libvirt" : !want[VARIANT_MINIMAL] ? "no minimal variant"
			                                                         : lv.why_not);
	}
	say_load("at end");
	say("%s in %.1f s", ok ? "done" : "FAILED", (now_ms() - t_start) / 1e3);
	free(kabs);
	free(iabs);
	free(dabs);
	return ok ? 0 : bench_stop ? 130 : 1;
}

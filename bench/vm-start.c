/* vm-start.c - how long from the API call until a VM's QEMU runs, and until
 * its guest is ready, for vdc against the same QEMU run bare (the floor) and
 * against libvirt, in the same runs; and the agent's memory. */
#include "peers.h"

#include "fsutil.h"

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
    "usage: vm-start --agent PATH --guest DIR [--runs N] [--no-libvirt] [--libvirt-stock]\n"
    "                [--cmdline ARGS] [--timeout S] [--keep-tmp]\n"
    "  --agent PATH     the vdc-agent binary to measure\n"
    "  --guest DIR      holds vmlinuz and initrd.img of the test guest\n"
    "  --runs N         timed runs per peer, median reported (default 7, at least 5)\n"
    "  --no-libvirt     leave libvirt out (its figures print as nan)\n"
    "  --libvirt-stock  start libvirtd with the host's qemu.conf as is (see README)\n"
    "  --cmdline ARGS   guest kernel command line (default 'console=ttyS0 quiet panic=-1')\n"
    "  --timeout S      give up and clean up after S seconds (default 900)\n"
    "  --keep-tmp       keep the temporary directory (agent and QEMU logs)\n"
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

int main(int argc, char **argv)
{
	const char *agent = NULL, *guest_dir = NULL;
	struct guest g = {.cmdline = "console=ttyS0 quiet panic=-1", .memory_mib = 256};
	int runs = 7, no_libvirt = 0, lv_stock = 0, keep = 0;
	unsigned timeout_s = 900;
	static const struct option opts[] = {
	    {"agent", required_argument, NULL, 'a'},  {"guest", required_argument, NULL, 'g'},
	    {"runs", required_argument, NULL, 'r'},   {"no-libvirt", no_argument, NULL, 'L'},
	    {"libvirt-stock", no_argument, NULL, 'S'}, {"cmdline", required_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 't'}, {"keep-tmp", no_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},          {0}};
	for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
		switch (c) {
		case 'a': agent = optarg; break;
		case 'g': guest_dir = optarg; break;
		case 'r': runs = atoi(optarg); break;
		case 'L': no_libvirt = 1; break;
		case 'S': lv_stock = 1; break;
		case 'c': g.cmdline = optarg; break;
		case 't': timeout_s = (unsigned)atoi(optarg); break;
		case 'k': keep = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!agent || !guest_dir || optind != argc || runs < 5 || runs > MAX_RUNS || !timeout_s) {
		fputs(usage, stderr);
		return 2;
	}
	if (geteuid() != 0) {
		say("must run as root (the agent, cgroups, libvirtd)");
		return 2;
	}
	char kernel[512], initrd[512];
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", guest_dir);
	snprintf(initrd, sizeof(initrd), "%s/initrd.img", guest_dir);
	if (!fs_exists(kernel) || !fs_exists(initrd) || access(agent, X_OK) < 0) {
		say("need %s, %s and an executable %s", kernel, initrd, agent);
		return 2;
	}
	/* Absolute: the agent and libvirt check them from their own cwd. */
	char *kabs = realpath(kernel, NULL), *iabs = realpath(initrd, NULL);
	g.kernel = kabs;
	g.initrd = iabs;

	double t_start = now_ms();
	bench_signals(timeout_s);
	char tmp[] = "/tmp/vdc-bench.XXXXXX";
	if (!mkdtemp(tmp)) {
		say("mkdtemp: %s", strerror(errno));
		return 1;
	}
	struct qemu_user user;
	struct vdc_peer vdc = {0};
	struct raw_peer raw = {.user = &user, .g = &g};
	struct lv_peer lv = {.g = &g, .stock = lv_stock};
	struct series vr = {0}, vy = {0}, rr = {0}, ry = {0}, lr = {0}, ly = {0};
	long rss0 = -1, rss10 = -1, rss_after = -1;
	bool use_lv = !no_libvirt, ok = false;
	char dir[300], name[64];
	double a, b;

	say_load("at start");
	if (qemu_user_get("vdc-qemu", true, &user) < 0)
		goto cleanup;
	snprintf(dir, sizeof(dir), "%s/vdc", tmp);
	snprintf(raw.dir, sizeof(raw.dir), "%s/raw", tmp);
	snprintf(lv.dir, sizeof(lv.dir), "%s/libvirt", tmp);
	/* The agent's QEMUs (as vdc-qemu) open its images in dir/ds/images:
	 * the way there is traversable, not listable. */
	if (chmod(tmp, 0711) < 0 || fs_mkdir_p(dir, 0711) < 0 || fs_mkdir_p(raw.dir, 0700) < 0 ||
	    fs_mkdir_p(lv.dir, 0700) < 0)
		goto cleanup;
	if (vdc_start(&vdc, agent, dir, &g) < 0)
		goto cleanup;
	if (use_lv && lv_setup(&lv) < 0) {
		say("libvirt left out: %s", lv.why_not);
		use_lv = false;
	}

	/* One untimed run each: page cache, libvirt's capabilities, the
	 * agent's first allocations. */
	say("warm-up run");
	snprintf(name, sizeof(name), "%sw", vdc.prefix);
	if (vdc_run(&vdc, name, &a, &b) < 0 || raw_run(&raw, name, &a, &b) < 0)
		goto cleanup;
	if (use_lv) {
		double t = now_ms();
		if (lv_run(&lv, 0, &a, &b) < 0) {
			if (bench_stop)
				goto cleanup;
			say("libvirt left out: %s", lv.why_not);
			use_lv = false;
		} else if (now_ms() - t > 20000) {
			say("libvirt: warm-up create took %.0f ms", a);
		}
	}
	rss0 = vdc_rss(&vdc, "with no VM");

	for (int i = 1; i <= runs; i++) {
		snprintf(name, sizeof(name), "%s%d", vdc.prefix, i);
		if (vdc_run(&vdc, name, &a, &b) < 0)
			goto cleanup;
		add(&vr, a);
		add(&vy, b);
		if (raw_run(&raw, name, &a, &b) < 0)
			goto cleanup;
		add(&rr, a);
		add(&ry, b);
		char lvs[64] = "";
		if (use_lv) {
			if (lv_run(&lv, i, &a, &b) < 0) {
				if (bench_stop)
					goto cleanup;
				say("libvirt left out: %s", lv.why_not);
				use_lv = false;
				lr.n = ly.n = 0;
			} else {
				add(&lr, a);
				add(&ly, b);
				snprintf(lvs, sizeof(lvs), "  libvirt %.1f / %.1f", a, b);
			}
		}
		say("run %d/%d (running / ready ms): vdc %.1f / %.1f  raw %.1f / %.1f%s", i, runs,
		    vr.v[i - 1], vy.v[i - 1], rr.v[i - 1], ry.v[i - 1], lvs);
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
	vdc_teardown(&vdc);
	raw_teardown(&raw);
	lv_teardown(&lv);
	if (keep)
		say("kept %s", tmp);
	else
		fs_remove_tree(tmp);
	if (ok) {
		print_range("vdc running ms", &vr);
		print_range("raw running ms", &rr);
		print_range("libvirt running ms", &lr);
		print_range("vdc ready ms", &vy);
		print_range("raw ready ms", &ry);
		print_range("libvirt ready ms", &ly);
		figure("vdc_start_running_ms", med(&vr), "ms");
		figure("raw_start_running_ms", med(&rr), "ms");
		figure("libvirt_start_running_ms", use_lv ? med(&lr) : NAN, "ms");
		figure("vdc_start_ready_ms", med(&vy), "ms");
		figure("raw_start_ready_ms", med(&ry), "ms");
		figure("libvirt_start_ready_ms", use_lv ? med(&ly) : NAN, "ms");
		figure("vdc_overhead_ms", med_diff(&vr, &rr), "ms");
		figure("vdc_ready_overhead_ms", med_diff(&vy, &ry), "ms");
		figure("vdc_vs_libvirt_ratio", use_lv ? med(&vr) / med(&lr) : NAN, "x");
		figure("agent_rss_kib_0vms", (double)rss0, "KiB");
		figure("agent_rss_kib_10vms", (double)rss10, "KiB");
		figure("agent_rss_kib_after_10vms", (double)rss_after, "KiB");
		if (!use_lv)
			say("libvirt figures are nan: %s", no_libvirt ? "--no-libvirt" : lv.why_not);
	}
	say_load("at end");
	say("%s in %.1f s", ok ? "done" : "FAILED", (now_ms() - t_start) / 1e3);
	free(kabs);
	free(iabs);
	return ok ? 0 : bench_stop ? 130 : 1;
}

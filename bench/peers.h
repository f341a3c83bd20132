/* peers.h - the three ways vm-start starts the same guest: through the vdc
 * agent's API, as a bare QEMU (the floor), and through libvirt. Each run
 * function leaves no QEMU behind when it returns, success or not. */
#ifndef VDC_BENCH_PEERS_H
#define VDC_BENCH_PEERS_H
#include "bench.h"

#include <curl/curl.h>

#define READY_MARK "VDC-GUEST-READY"

/* The guest every peer boots. */
struct guest {
	const char *kernel, *initrd, *cmdline;
	int memory_mib;
};

/* ---- vdc: an agent of our own on a loopback port ---- */
struct vdc_peer {
	pid_t pid;
	char dir[256], log[300], base[64], token[48];
	char prefix[24];     /* every VM name starts with it */
	char names[16][48];  /* defined and not deleted yet */
	int nnames;
	CURL *h;
	struct curl_slist *hdrs;
	const struct guest *g;
};
/* Starts agent_bin with its state under dir, waits until it answers us, and
 * uploads the guest's kernel and initrd to it as images (specs name them).
 * Returns 0 or -1 (reason on stderr). */
int vdc_start(struct vdc_peer *p, const char *agent_bin, const char *dir, const struct guest *g);
/* Defines name (untimed), times start until its 200 (running_ms) and, when
 * ready_ms is set, until the console shows READY_MARK; then destroys and
 * deletes it. Returns 0 or -1. */
int vdc_run(struct vdc_peer *p, const char *name, double *running_ms, double *ready_ms);
/* The agent's VmRSS in KiB (-1 if unknown); says its parts on stderr. */
long vdc_rss(const struct vdc_peer *p, const char *when);
/* Defines and starts n VMs of memory_mib, waits settle_ms, reads the agent's
 * VmRSS into *rss_kib, then destroys and deletes them. Returns 0 or -1. */
int vdc_rss_with_vms(struct vdc_peer *p, int n, int memory_mib, int settle_ms, long *rss_kib);
/* Prints the last lines of the agent's log on stderr. */
void vdc_log_tail(const struct vdc_peer *p, int lines);
/* Deletes our VMs, stops the agent, kills any QEMU of ours it left, removes
 * our cgroups. Safe to call at any point, also twice. */
void vdc_teardown(struct vdc_peer *p);

/* ---- raw: the same QEMU command line, run by us ---- */
struct raw_peer {
	pid_t pid;
	char dir[256];
	const struct qemu_user *user;
	const struct guest *g;
};
int raw_run(struct raw_peer *p, const char *name, double *running_ms, double *ready_ms);
void raw_teardown(struct raw_peer *p);

/* ---- libvirt: virsh create against qemu:///system ---- */
struct lv_peer {
	char dir[256], name[64], why_not[512];
	bool stock;                   /* no workaround for the capabilities cache */
	bool started_libvirtd, started_virtlogd, maybe_running;
	pid_t libvirtd_pid, virtlogd_pid;
	char new_cgroups[16][128];    /* cgroup dirs libvirtd may make for us */
	int nnew_cgroups;
	const struct guest *g;
};
/* Makes sure libvirtd (and virtlogd) run, starting them if needed. Returns
 * 0, or -1 with why_not set: libvirt is then left out, not fatal. */
int lv_setup(struct lv_peer *p);
/* Times virsh create until it returns (running_ms) and until READY_MARK is
 * in the serial file (ready_ms), then virsh destroy. -1 sets why_not. */
int lv_run(struct lv_peer *p, int run, double *running_ms, double *ready_ms);
/* Destroys our domain, stops the daemons we started, removes what they left
 * for us (domain log, empty cgroup dirs). */
void lv_teardown(struct lv_peer *p);

#endif

/* peers.h - the three ways vm-start starts the same guest: through the vdc
 * agent's API, as a bare QEMU (the floor), and through libvirt. Each run
 * function leaves no QEMU behind when it returns, success or not. */
#ifndef VDC_BENCH_PEERS_H
#define VDC_BENCH_PEERS_H
#include "bench.h"

#include <curl/curl.h>

#define READY_MARK "VDC-GUEST-READY"
/* The ids the guest's kernel, initrd and disk are uploaded under. */
#define KERNEL_IMAGE "bench-kernel"
#define INITRD_IMAGE "bench-initrd"
#define DISK_IMAGE "bench-disk"

struct strv;

/* The guest every peer boots. */
struct guest {
	const char *kernel, *initrd, *cmdline;
	const char *disk_template; /* qcow2 the default variant's root disk is cloned from */
	const char *accel;         /* "kvm" or "tcg", the same for every peer */
	int memory_mib;
};

/* The two machines measured: what vdcd asks an agent for by default
 * (VNC display with its VGA, a root disk cloned from an image, a NIC),
 * and the least the agent can start (no display, disk or NIC). */
enum variant { VARIANT_MINIMAL, VARIANT_DEFAULT };
#define NVARIANTS 2
const char *variant_name(enum variant v);
/* The spec JSON the vdc peer sends for variant v (to free). */
char *variant_spec_json(const struct guest *g, enum variant v, const char *name, int memory_mib);
/* The raw peer's files for the agent-owned parts of the line. */
struct raw_paths {
	const char *disk, *vnc;
};
/* The raw peer's argv: that same spec through the agent's own
 * vm_spec_parse and qemu_cmdline_build, QMP on fd 3, serial on fd 4, the
 * agent's default -sandbox. Returns 0 or -1. */
int variant_raw_argv(const struct guest *g, enum variant v, const char *name, const char *uuid,
                     const struct raw_paths *paths, struct strv *argv);
/* Compares the agent QEMU's command line (/proc/PID/cmdline: NUL-separated,
 * len bytes) with raw_argv, paths, uuids and MACs aside; says the result.
 * Returns 0 when they are the same. */
int variant_check_cmdline(const char *agent_cmdline, size_t len, char *const raw_argv[]);

/* One timed start of one peer. */
struct start_times {
	double running_ms, ready_ms;
	double qemu_cpu_ms;  /* time QEMU's threads ran until ready (schedstat) */
	double qemu_wait_ms; /* time they were runnable but waited for a CPU */
	double api_lag_ms;  /* vdc: from seeing the mark until GET .../console showed it */
	pid_t qemu_pid;
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
	bool root_cgroup;    /* experiment: move its QEMUs back to the root cgroups */
	bool poll_console;   /* experiment: ready by GET .../console every 5 ms, as before */
	char *cmdline;       /* the last started QEMU's /proc cmdline */
	size_t cmdline_len;
};
/* Starts agent_bin with its state under dir (and the extra arguments join,
 * NULL-terminated, when not NULL: joining a vdcd), waits until it answers
 * us, and uploads the guest's kernel and initrd to it as images (specs name
 * them). Returns 0 or -1 (reason on stderr). */
int vdc_start(struct vdc_peer *p, const char *agent_bin, const char *dir, const struct guest *g,
              const char *const *join);
/* GET path of the agent's API; 200 or -1 (said). *resp to free. */
int vdc_get(struct vdc_peer *p, const char *path, char **resp);
/* Keeps QEMU pid's /proc cmdline in p->cmdline (for the raw comparison). */
void vdc_keep_cmdline(struct vdc_peer *p, pid_t pid);
/* Defines name as variant v (untimed), times start until its 200 (running)
 * and until the console shows READY_MARK (ready); then destroys and
 * deletes it. Returns 0 or -1. */
int vdc_run(struct vdc_peer *p, enum variant v, const char *name, struct start_times *t);
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

/* ---- vdcd: the user's path, a private vdcd the agent above joins ---- */
struct vdcd_peer {
	pid_t pid, dnsmasq_pid;
	char dir[256], log[300], base[64], token[128], join_token[128], host[48], bridge[16];
	bool bridge_made;
	char ids[16][40];    /* VMs created in vdcd and not deleted yet */
	char last_id[40];    /* the last run's VM id: its name on the agent and QEMU's */
	int nids;
	CURL *h;
	struct curl_slist *hdrs;
	const struct guest *g;
	struct vdc_peer *agent;
	double poll_ms[128]; /* round trips of the task polls (granularity cost) */
	int npoll;
};
/* Starts vdcd_bin (plain HTTP on loopback, data under dir, importing from
 * guest_dir), makes a cluster, a join token (p->join_token, for the agent's
 * --join-token), a bridge of our own with a DHCP server (dnsmasq) and a
 * network on it, imports the
 * guest's kernel, initrd and disk as images and makes a template of them.
 * Returns 0 or -1 (said). */
int vdcd_start(struct vdcd_peer *p, const char *vdcd_bin, const char *dir, const char *guest_dir,
               const struct guest *g);
/* The agent's arguments to join it (NULL-terminated, in p). */
const char *const *vdcd_join_args(struct vdcd_peer *p);
/* Waits until the agent has joined and its first heartbeat is in. */
int vdcd_wait_host(struct vdcd_peer *p, struct vdc_peer *agent);
/* Creates name from the template (not started, untimed), times POST
 * .../start until its task succeeded (running) and the agent's console
 * log showing READY_MARK (ready); then deletes it (forced). The QEMU's
 * line lands in agent->cmdline. 0 or -1. */
int vdcd_run(struct vdcd_peer *p, const char *name, struct start_times *t);
/* Makes the agent QEMU's line (agent->cmdline) comparable with the raw
 * default variant's: its NIC backend (tap on our bridge, which vdcd's
 * networks need) is written as the raw peer's (user). Says so. */
void vdcd_cmdline_as_raw(struct vdc_peer *agent);
/* Deletes our VMs through vdcd, kills what is left of them, stops vdcd,
 * removes our bridge. Safe at any point, also twice. */
void vdcd_teardown(struct vdcd_peer *p);

/* ---- raw: the same QEMU command line, run by us ---- */
struct cgroups;
struct raw_peer {
	pid_t pid;
	char dir[256];
	/* Experiment: run QEMU in a cgroup of its own made by the agent's
	 * cgroup code (base vdcbench, the agent's default limits), or NULL. */
	const struct cgroups *cg;
	const struct qemu_user *user;
	const struct guest *g;
};
/* Times variant v of the guest started by us. When agent_cmdline is set,
 * first checks that our line is the agent's (see variant_check_cmdline). */
int raw_run(struct raw_peer *p, enum variant v, const char *name, const char *agent_cmdline,
            size_t agent_cmdline_len, struct start_times *t);
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
int lv_run(struct lv_peer *p, int run, struct start_times *t);
/* Destroys our domain, stops the daemons we started, removes what they left
 * for us (domain log, empty cgroup dirs). */
void lv_teardown(struct lv_peer *p);

#endif

/* peer_libvirt.c - vm-start's libvirt peer: `virsh create` of a domain as
 * close to the agent's QEMU as libvirt allows (TCG, q35, direct kernel boot,
 * serial to a file, no USB, balloon, NIC or disk). Starts virtlogd and
 * libvirtd when they are not running, and stops only what it started. */
#include "peers.h"

#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define URI "qemu:///system"
#define QEMU_CONF "/etc/libvirt/qemu.conf"

static int virsh(const char *cmd, const char *arg, int timeout_ms, char *out, size_t outlen)
{
	const char *argv[] = {"virsh", "-q", "-c", URI, cmd, arg, NULL};
	return run_cmd(argv, timeout_ms, out, outlen);
}

/* The pid in pidfile when that process is alive and is comm. */
static pid_t live_pid(const char *pidfile, const char *comm)
{
	char *s = fs_read_all(pidfile, 64, NULL);
	pid_t pid = s ? atoi(s) : 0;
	free(s);
	if (pid <= 1)
		return 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	s = fs_read_all(path, 64, NULL);
	bool ok = s && !strncmp(s, comm, strlen(comm));
	free(s);
	return ok ? pid : 0;
}

static pid_t wait_pidfile(const char *pidfile, const char *comm, int timeout_ms)
{
	double deadline = now_ms() + timeout_ms;
	pid_t pid;
	while (!(pid = live_pid(pidfile, comm)) && now_ms() < deadline && bench_sleep_ms(20) == 0)
		;
	return pid;
}

/* libvirt probes QEMU with CAP_DAC_OVERRIDE, so it records KVM whenever
 * /dev/kvm exists, then checks whether its QEMU user can open it. When the
 * user cannot (a root-only /dev/kvm, as on hosts without udev) the cached
 * capabilities never validate and every lookup probes QEMU again: ~4 s each,
 * about a dozen per `virsh create`. */
static bool caps_cache_thrashes(void)
{
	struct stat st;
	struct passwd *pw = getpwnam("libvirt-qemu");
	if (stat("/dev/kvm", &st) < 0 || !pw || (st.st_mode & 06) == 06)
		return false;
	if (pw->pw_uid == st.st_uid && (st.st_mode & 0600) == 0600)
		return false;
	gid_t groups[64];
	int n = 64;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		n = 0;
	for (int i = 0; i < n; i++)
		if (groups[i] == st.st_gid && (st.st_mode & 060) == 060)
			return false;
	return true;
}

/* Notes the cgroup dirs named "machine" (where libvirt puts domains when
 * there is no systemd) that do not exist yet, to remove them at the end. */
static void note_new_cgroups(struct lv_peer *p)
{
	DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *de;
	char path[128];
	if (!fs_exists("/sys/fs/cgroup/machine"))
		snprintf(p->new_cgroups[p->nnew_cgroups++], sizeof(path), "/sys/fs/cgroup/machine");
	while (d && (de = readdir(d)) && p->nnew_cgroups < 16) {
		if (de->d_name[0] == '.' || strlen(de->d_name) > 64)
			continue;
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/machine", de->d_name);
		if (!fs_exists(path))
			snprintf(p->new_cgroups[p->nnew_cgroups++], sizeof(path), "%s", path);
	}
	if (d)
		closedir(d);
}

/* libvirtd -d, in a mount namespace of its own with a qemu.conf that runs
 * QEMU as root when overlay is set (see caps_cache_thrashes). */
static int start_libvirtd(struct lv_peer *p, bool overlay)
{
	char conf[300], log[300];
	snprintf(conf, sizeof(conf), "%s/qemu.conf", p->dir);
	snprintf(log, sizeof(log), "%s/libvirtd.out", p->dir);
	if (overlay) {
		size_t len = 0;
		char *orig = fs_read_all(QEMU_CONF, 1 << 20, &len);
		FILE *f = fopen(conf, "w");
		if (!f) {
			free(orig);
			return -1;
		}
		fprintf(f, "%s\n# vdc bench: keeps the capabilities cache valid\nuser = \"root\"\n"
		        "group = \"root\"\n", orig ? orig : "");
		fclose(f);
		free(orig);
	}
	note_new_cgroups(p);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setpgid(0, 0);
		FILE *out = freopen(log, "w", stderr);
		(void)out;
		/* Slave: the bind mount never propagates back to the host. */
		if (overlay && (unshare(CLONE_NEWNS) < 0 ||
		                mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
		                mount(conf, QEMU_CONF, NULL, MS_BIND, NULL) < 0)) {
			fprintf(stderr, "mount namespace for libvirtd: %s\n", strerror(errno));
			_exit(126);
		}
		execlp("libvirtd", "libvirtd", "-d", (char *)NULL);
		fprintf(stderr, "cannot run libvirtd: %s\n", strerror(errno));
		_exit(127);
	}
	/* -d returns once the daemon has initialised (or failed to). */
	int status = wait_child(pid, 60000, true);
	p->libvirtd_pid = wait_pidfile("/run/libvirtd.pid", "libvirtd", 10000);
	p->started_libvirtd = p->libvirtd_pid > 0;
	if (status != 0 || !p->started_libvirtd) {
		char *why = fs_read_all(log, 4096, NULL);
		snprintf(p->why_not, sizeof(p->why_not), "libvirtd -d failed: %s", why && *why ? why : "?");
		free(why);
		return -1;
	}
	return 0;
}

int lv_setup(struct lv_peer *p)
{
	char out[1024];
	snprintf(p->name, sizeof(p->name), "vdcbench-%d", (int)getpid());
	if (virsh("version", NULL, 10000, out, sizeof(out)) == 0) {
		say("libvirt: libvirtd already runs; measuring it as found");
		if (caps_cache_thrashes())
			say("libvirt: warning: /dev/kvm is not usable by libvirt-qemu; this libvirtd may "
			    "re-probe QEMU on every create (tens of seconds)");
		return 0;
	}
	if (!live_pid("/run/virtlogd.pid", "virtlogd")) {
		const char *argv[] = {"virtlogd", "-d", NULL};
		int rc = run_cmd(argv, 30000, out, sizeof(out));
		p->virtlogd_pid = wait_pidfile("/run/virtlogd.pid", "virtlogd", 10000);
		p->started_virtlogd = p->virtlogd_pid > 0;
		if (rc != 0 || !p->started_virtlogd) {
			snprintf(p->why_not, sizeof(p->why_not), "virtlogd -d failed: %s", out);
			return -1;
		}
	}
	bool overlay = !p->stock && caps_cache_thrashes();
	if (overlay)
		say("libvirt: /dev/kvm exists but libvirt-qemu cannot open it, which makes libvirt "
		    "re-probe QEMU on every lookup; running libvirtd with user=root in its qemu.conf "
		    "(bind-mounted in a private mount namespace) so its cache holds; --libvirt-stock "
		    "to measure without this");
	say("libvirt: starting virtlogd%s and libvirtd", p->started_virtlogd ? "" : " (already up)");
	if (start_libvirtd(p, overlay) < 0)
		return -1;
	double deadline = now_ms() + 60000;
	while (virsh("version", NULL, 10000, out, sizeof(out)) != 0) {
		if (now_ms() > deadline || bench_sleep_ms(50) < 0) {
			snprintf(p->why_not, sizeof(p->why_not), "libvirtd does not answer: %s", out);
			return -1;
		}
	}
	return 0;
}

static void xml_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static int write_xml(struct lv_peer *p, const char *path, const char *serial)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	/* The same accelerator as the other peers: type kvm or qemu (TCG). */
	fprintf(f, "<domain type='%s'>\n  <name>%s</name>\n  <memory unit='MiB'>%d</memory>\n"
	        "  <vcpu>1</vcpu>\n  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n"
	        "    <kernel>", strcmp(p->g->accel, "kvm") ? "qemu" : "kvm", p->name, p->g->memory_mib);
	xml_escaped(f, p->g->kernel);
	fputs("</kernel>\n    <initrd>", f);
	xml_escaped(f, p->g->initrd);
	fputs("</initrd>\n    <cmdline>", f);
	xml_escaped(f, p->g->cmdline);
	fputs("</cmdline>\n  </os>\n  <features><acpi/></features>\n"
	      "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>destroy</on_reboot>\n"
	      "  <on_crash>destroy</on_crash>\n  <devices>\n    <serial type='file'><source path='", f);
	xml_escaped(f, serial);
	fputs("'/><target port='0'/></serial>\n    <controller type='usb' model='none'/>\n"
	      "    <memballoon model='none'/>\n  </devices>\n</domain>\n", f);
	return fclose(f) == 0 ? 0 : -1;
}

int lv_run(struct lv_peer *p, int run, struct start_times *t)
{
	char xml[300], serial[300], out[1024];
	snprintf(xml, sizeof(xml), "%s/dom-%d.xml", p->dir, run);
	snprintf(serial, sizeof(serial), "%s/serial-%d.log", p->dir, run);
	if (write_xml(p, xml, serial) < 0) {
		snprintf(p->why_not, sizeof(p->why_not), "cannot write %s", xml);
		return -1;
	}
	p->maybe_running = true;
	double t0 = now_ms();
	int rc = virsh("create", xml, 180000, out, sizeof(out));
	double t1 = now_ms();
	if (rc != 0) {
		snprintf(p->why_not, sizeof(p->why_not), "virsh create %s: %s",
		         rc < 0 ? "timed out or interrupted" : "failed", out);
		return -1;
	}
	t->running_ms = t1 - t0;
	char pidfile[200];
	snprintf(pidfile, sizeof(pidfile), "/run/libvirt/qemu/%s.pid", p->name);
	char *ps = fs_read_all(pidfile, 64, NULL);
	t->qemu_pid = ps ? atoi(ps) : 0;
	free(ps);
	/* inotify on the serial file, as for the vdc peer's console log. */
	double t2;
	if (wait_file_mark(serial, READY_MARK, t1 + 60000, &t2) < 0) {
		snprintf(p->why_not, sizeof(p->why_not), "no '%s' in %s", READY_MARK, serial);
		return -1;
	}
	t->ready_ms = t2 - t0;
	t->qemu_cpu_ms = t->qemu_wait_ms = NAN;
	if (t->qemu_pid > 0)
		proc_sched_ms(t->qemu_pid, &t->qemu_cpu_ms, &t->qemu_wait_ms);
	if (virsh("destroy", p->name, 60000, out, sizeof(out)) != 0) {
		snprintf(p->why_not, sizeof(p->why_not), "virsh destroy failed: %s", out);
		return -1;
	}
	p->maybe_running = false;
	return 0;
}

void lv_teardown(struct lv_peer *p)
{
	if (!p->name[0])
		return;
	if (p->maybe_running) {
		char out[512];
		virsh("destroy", p->name, 60000, out, sizeof(out));
		p->maybe_running = false;
	}
	char log[200];
	snprintf(log, sizeof(log), "/var/log/libvirt/qemu/%s.log", p->name);
	unlink(log);
	if (p->started_libvirtd && stop_process(p->libvirtd_pid, 15000) < 0)
		say("libvirt: libvirtd (pid %d) did not stop", (int)p->libvirtd_pid);
	if (p->started_libvirtd)
		for (int i = 0; i < p->nnew_cgroups; i++)
			rmdir(p->new_cgroups[i]);
	if (p->started_virtlogd && stop_process(p->virtlogd_pid, 5000) < 0)
		say("libvirt: virtlogd (pid %d) did not stop", (int)p->virtlogd_pid);
	p->started_libvirtd = p->started_virtlogd = false;
}

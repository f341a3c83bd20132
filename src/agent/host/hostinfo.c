/* hostinfo.c - reads /proc and /dev/kvm. KVM is used only when it can run a
 * guest: a /dev/kvm without vmx/svm (nested setups like CI) hangs stock
 * kernels, so there we fall back to TCG. */
#include "hostinfo.h"

#include "fsutil.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int accel_cpuinfo_has_virt(const char *cpuinfo)
{
	for (const char *p = cpuinfo; (p = strstr(p, "flags")); p++) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[8192];
		snprintf(line, sizeof(line), " %.*s ", (int)(len < sizeof(line) - 3 ? len : sizeof(line) - 3), p);
		for (char *c = line; *c; c++)
			if (*c == '\t' || *c == ':')
				*c = ' ';
		if (strstr(line, " vmx ") || strstr(line, " svm "))
			return 1;
		if (!eol)
			break;
	}
	return 0;
}

static int kvm_usable(char *why, size_t n)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, n, "/dev/kvm: %s", strerror(errno));
		return 0;
	}
	int v = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (v != KVM_API_VERSION) {
		snprintf(why, n, "/dev/kvm answers API version %d", v);
		return 0;
	}
	char *ci = fs_read_all("/proc/cpuinfo", 8 << 20, NULL);
	int ok = ci && accel_cpuinfo_has_virt(ci);
	free(ci);
	if (!ok)
		snprintf(why, n, "the CPU shows no vmx/svm flag (nested or disabled virtualization)");
	return ok;
}

int accel_detect(const char *pref, char out[8], struct errinfo *e)
{
	char why[256] = "";
	if (!strcmp(pref, "tcg")) {
		snprintf(out, 8, "tcg");
		return 0;
	}
	if (kvm_usable(why, sizeof(why))) {
		snprintf(out, 8, "kvm");
		return 0;
	}
	if (!strcmp(pref, "kvm"))
		return errinfo_set(e, 500, "accel", NULL, "KVM was asked for but cannot be used: %s", why);
	snprintf(out, 8, "tcg");
	return 0;
}

int qemu_version(const char *binary, char *out, size_t n, struct errinfo *e)
{
	char buf[1024];
	const char *argv[] = {binary, "--version", NULL};
	int rc = run_capture(argv, buf, sizeof(buf));
	if (rc != 0)
		return errinfo_set(e, 500, "qemu", NULL, "cannot run %s: %s (install qemu-system-x86)",
		                   binary, rc < 0 ? strerror(-rc) : buf);
	const char *v = strstr(buf, "version ");
	if (!v)
		return errinfo_set(e, 500, "qemu", NULL, "%s --version said: %s", binary, buf);
	v += 8;
	size_t len = strcspn(v, " \n(");
	snprintf(out, n, "%.*s", (int)len, v);
	return 0;
}

void host_counters_read(struct host_counters *c)
{
	memset(c, 0, sizeof(*c));
	long hz = sysconf(_SC_CLK_TCK);
	char *s = fs_read_all("/proc/stat", 1 << 20, NULL);
	if (s) {
		unsigned long long u, ni, sy, id, io, irq = 0, sirq = 0, steal = 0;
		if (sscanf(s, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &u, &ni, &sy, &id, &io, &irq,
		           &sirq, &steal) >= 5) {
			c->cpu_user_ms = (int64_t)((u + ni) * 1000 / (unsigned long long)hz);
			c->cpu_system_ms = (int64_t)(sy * 1000 / (unsigned long long)hz);
			c->cpu_idle_ms = (int64_t)(id * 1000 / (unsigned long long)hz);
			c->cpu_iowait_ms = (int64_t)(io * 1000 / (unsigned long long)hz);
			/* guest time is already in user: not added again */
			c->cpu_total_ms = (int64_t)((u + ni + sy + id + io + irq + sirq + steal) * 1000 /
			                            (unsigned long long)hz);
		}
		free(s);
	}
	s = fs_read_all("/proc/meminfo", 1 << 20, NULL);
	if (s) {
		const char *t = strstr(s, "MemTotal:"), *a = strstr(s, "MemAvailable:");
		if (t)
			c->mem_total = strtoll(t + 9, NULL, 10) * 1024;
		if (a)
			c->mem_available = strtoll(a + 13, NULL, 10) * 1024;
		free(s);
	}
	s = fs_read_all("/proc/diskstats", 1 << 20, NULL);
	if (s) {
		char *save = NULL;
		for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			unsigned maj, min;
			char name[64];
			unsigned long long rd, rdm, rds, rdt, wr, wrm, wrs;
			if (sscanf(line, "%u %u %63s %llu %llu %llu %llu %llu %llu %llu", &maj, &min, name, &rd,
			           &rdm, &rds, &rdt, &wr, &wrm, &wrs) != 10)
				continue;
			/* Whole devices only (partitions would count twice); skip virtual ones. */
			char path[128];
			snprintf(path, sizeof(path), "/sys/block/%s/device", name);
			if (!fs_exists(path))
				continue;
			c->disk_read_bytes += (int64_t)rds * 512;
			c->disk_write_bytes += (int64_t)wrs * 512;
		}
		free(s);
	}
	s = fs_read_all("/proc/net/dev", 1 << 20, NULL);
	if (s) {
		char *save = NULL;
		for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *colon = strchr(line, ':');
			if (!colon)
				continue;
			*colon = '\0';
			char *name = line;
			while (*name == ' ')
				name++;
			if (!strcmp(name, "lo"))
				continue;
			unsigned long long rx, rxp, rxe, rxd, rxf, rxfr, rxc, rxm, tx;
			if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &rx, &rxp, &rxe,
			           &rxd, &rxf, &rxfr, &rxc, &rxm, &tx) == 9) {
				c->net_rx_bytes += (int64_t)rx;
				c->net_tx_bytes += (int64_t)tx;
			}
		}
		free(s);
	}
}

json_t *qemu_cpu_models(const char *binary, const char *accel, struct errinfo *e)
{
	enum { OUT_MAX = 256 * 1024 };
	char machine[32];
	snprintf(machine, sizeof(machine), "none,accel=%s", accel);
	const char *argv[] = {binary, "-machine", machine, "-nodefaults", "-nographic", "-qmp", "stdio", NULL};
	static const char script[] = "{\"execute\":\"qmp_capabilities\"}\n"
	                             "{\"execute\":\"query-cpu-definitions\"}\n"
	                             "{\"execute\":\"quit\"}\n";
	char *out = malloc(OUT_MAX);
	if (!out)
		return errinfo_set(e, 500, "qemu", NULL, "out of memory"), NULL;
	signal(SIGPIPE, SIG_IGN); /* a QEMU that dies before reading its input */
	int rc = run_capture_input(argv, script, out, OUT_MAX);
	json_t *models = NULL;
	for (char *line = out, *next; rc == 0 && line && *line && !models; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		json_t *msg = json_loads(line, 0, NULL);
		json_t *list = json_object_get(msg, "return");
		if (json_is_array(list)) {
			models = json_array();
			size_t i;
			json_t *d;
			json_array_foreach(list, i, d) {
				const char *name = json_string_value(json_object_get(d, "name"));
				json_t *missing = json_object_get(d, "unavailable-features");
				if (name && (!missing || json_array_size(missing) == 0))
					json_array_append_new(models, json_string(name));
			}
		}
		json_decref(msg);
	}
	if (!models)
		errinfo_set(e, 500, "qemu", NULL, "cannot list QEMU's CPU models under %s (%s): %s", accel, binary,
		            rc < 0 ? strerror(-rc) : run_trim(out));
	free(out);
	return models;
}

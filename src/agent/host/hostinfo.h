/* hostinfo.h - facts about this host: accelerator, QEMU version, CPUs,
 * memory, and the counters behind the host metrics. */
#ifndef VDC_HOSTINFO_H
#define VDC_HOSTINFO_H

#include <stddef.h>
#include <stdint.h>

#include "errinfo.h"

#include <jansson.h>

/* "kvm" when /dev/kvm works and the CPU has vmx/svm, else "tcg". With pref
 * "kvm" and no working KVM, fails with e. */
int accel_detect(const char *pref, char out[8], struct errinfo *e);
/* Pure: does a /proc/cpuinfo text show hardware virtualization? */
int accel_cpuinfo_has_virt(const char *cpuinfo);

/* "7.2.22" from `QEMU --version`; fails with e when QEMU cannot run. */
int qemu_version(const char *binary, char *out, size_t n, struct errinfo *e);

/* The CPU models QEMU offers whole under accel ("kvm" or "tcg"): QMP's
 * query-cpu-definitions on a QEMU with no machine, the models that list
 * no unavailable feature (a cluster's CPU baseline must be one of them on
 * every host). A JSON array of names (new reference), or NULL with e. */
json_t *qemu_cpu_models(const char *binary, const char *accel, struct errinfo *e);

struct host_counters {
	int64_t cpu_user_ms, cpu_system_ms, cpu_idle_ms, cpu_iowait_ms;
	int64_t cpu_total_ms; /* all modes, irq and steal included */
	int64_t mem_total, mem_available;
	int64_t disk_read_bytes, disk_write_bytes;
	int64_t net_rx_bytes, net_tx_bytes;
};
void host_counters_read(struct host_counters *c);

#endif

/* api_host.c - GET /api/v1/host (what this host is and has) and GET /metrics
 * (Prometheus text: per-VM and per-host CPU, memory, disk and network). */
#include "api.h"

#include "fsutil.h"
#include "hostinfo.h"
#include "log.h"
#include "net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

void api_host_info(struct http_req *req)
{
	struct agent *a = http_app(req);
	struct host_counters hc;
	host_counters_read(&hc);
	char hostname[256] = "";
	gethostname(hostname, sizeof(hostname) - 1);
	struct utsname un;
	uname(&un);
	json_t *ds = json_array();
	for (int i = 0; i < a->cfg.ndatastores; i++) {
		struct statvfs sv;
		json_int_t total = -1, free_b = -1;
		if (statvfs(a->cfg.datastores[i].path, &sv) == 0) {
			total = (json_int_t)sv.f_blocks * (json_int_t)sv.f_frsize;
			free_b = (json_int_t)sv.f_bavail * (json_int_t)sv.f_frsize;
		}
		json_array_append_new(ds, json_pack("{s:s, s:s, s:I, s:I}", "name", a->cfg.datastores[i].name,
		                                    "path", a->cfg.datastores[i].path, "total_bytes", total,
		                                    "free_bytes", free_b));
	}
	int total = 0, running = 0;
	for (struct vm *vm = a->vms; vm; vm = vm->next) {
		total++;
		running += vm->pid > 0;
	}
	json_t *o = json_pack(
	    "{s:s, s:s, s:i, s:I, s:I, s:s, s:s, s:s, s:i, s:o, s:{s:i, s:i}, s:I}", "hostname", hostname,
	    "agent_version", "0.1.0", "cpus", (int)sysconf(_SC_NPROCESSORS_ONLN), "memory_bytes",
	    (json_int_t)hc.mem_total, "memory_available_bytes", (json_int_t)hc.mem_available, "accel",
	    a->accel, "qemu_version", a->qemu_version, "kernel", un.release, "cgroup_version",
	    a->cg.version, "datastores", ds, "vms", "total", total, "running", running, "uptime_s",
	    (json_int_t)(time(NULL) - a->started_at));
	json_object_set(o, "cpu_models", a->cpu_models);
	http_reply_json(req, 200, o);
}

/* blockstats: each VM's query-blockstats answer by name, as gathered. */
static void vm_metrics(struct agent *a, json_t *blockstats, FILE *f)
{
	fputs("# HELP vdc_agent_vm_state 1 for the state each VM is in.\n"
	      "# TYPE vdc_agent_vm_state gauge\n", f);
	for (struct vm *vm = a->vms; vm; vm = vm->next)
		fprintf(f, "vdc_agent_vm_state{vm=\"%s\",state=\"%s\"} 1\n", vm->spec.name,
		        vm_state_name(vm->state));
	fputs("# HELP vdc_agent_vm_cpu_seconds_total CPU time used by the VM's QEMU (cgroup).\n"
	      "# TYPE vdc_agent_vm_cpu_seconds_total counter\n"
	      "# HELP vdc_agent_vm_memory_bytes Memory charged to the VM's cgroup.\n"
	      "# TYPE vdc_agent_vm_memory_bytes gauge\n"
	      "# HELP vdc_agent_vm_vcpus Configured vCPUs.\n"
	      "# TYPE vdc_agent_vm_vcpus gauge\n", f);
	for (struct vm *vm = a->vms; vm; vm = vm->next) {
		fprintf(f, "vdc_agent_vm_vcpus{vm=\"%s\"} %d\n", vm->spec.name, vm->spec.vcpus);
		if (vm->pid <= 0)
			continue;
		int64_t cpu_ns, mem;
		char rel[CG_REL_MAX];
		vm_cgroup_name(vm, rel, sizeof(rel));
		cgroup_stats(&a->cg, rel, &cpu_ns, &mem);
		if (cpu_ns >= 0)
			fprintf(f, "vdc_agent_vm_cpu_seconds_total{vm=\"%s\"} %.3f\n", vm->spec.name,
			        (double)cpu_ns / 1e9);
		if (mem >= 0)
			fprintf(f, "vdc_agent_vm_memory_bytes{vm=\"%s\"} %lld\n", vm->spec.name, (long long)mem);
	}
	fputs("# HELP vdc_agent_vm_disk_bytes_total Bytes read and written by the guest, per disk.\n"
	      "# TYPE vdc_agent_vm_disk_bytes_total counter\n"
	      "# HELP vdc_agent_vm_disk_ops_total Read and write operations by the guest, per disk.\n"
	      "# TYPE vdc_agent_vm_disk_ops_total counter\n", f);
	for (struct vm *vm = a->vms; vm; vm = vm->next) {
		json_t *bs = json_object_get(blockstats, vm->spec.name);
		size_t i;
		json_t *dev;
		json_array_foreach(bs, i, dev) {
			const char *name = json_string_value(json_object_get(dev, "device"));
			json_t *st = json_object_get(dev, "stats");
			if (!name || !st)
				continue;
			if (!strncmp(name, "drive-", 6))
				name += 6;
			fprintf(f, "vdc_agent_vm_disk_bytes_total{vm=\"%s\",disk=\"%s\",op=\"read\"} %lld\n"
			           "vdc_agent_vm_disk_bytes_total{vm=\"%s\",disk=\"%s\",op=\"write\"} %lld\n"
			           "vdc_agent_vm_disk_ops_total{vm=\"%s\",disk=\"%s\",op=\"read\"} %lld\n"
			           "vdc_agent_vm_disk_ops_total{vm=\"%s\",disk=\"%s\",op=\"write\"} %lld\n",
			        vm->spec.name, name, json_integer_value(json_object_get(st, "rd_bytes")),
			        vm->spec.name, name, json_integer_value(json_object_get(st, "wr_bytes")),
			        vm->spec.name, name, json_integer_value(json_object_get(st, "rd_operations")),
			        vm->spec.name, name, json_integer_value(json_object_get(st, "wr_operations")));
		}
	}
	fputs("# HELP vdc_agent_vm_net_bytes_total Bytes the guest received and sent, per bridged NIC.\n"
	      "# TYPE vdc_agent_vm_net_bytes_total counter\n"
	      "# HELP vdc_agent_vm_net_packets_total Packets the guest received and sent, per bridged NIC.\n"
	      "# TYPE vdc_agent_vm_net_packets_total counter\n", f);
	for (struct vm *vm = a->vms; vm; vm = vm->next) {
		if (vm->pid <= 0)
			continue;
		for (int i = 0; i < vm->spec.nnics; i++) {
			if (vm->spec.nics[i].user_mode)
				continue;
			char tap[16];
			vm_spec_tap_name(&vm->spec, vm->spec.nics[i].id, tap);
			int64_t rx, tx, rxp, txp;
			net_tap_stats(tap, &rx, &tx, &rxp, &txp);
			if (rx < 0)
				continue;
			fprintf(f, "vdc_agent_vm_net_bytes_total{vm=\"%s\",nic=\"%d\",dir=\"rx\"} %lld\n"
			           "vdc_agent_vm_net_bytes_total{vm=\"%s\",nic=\"%d\",dir=\"tx\"} %lld\n"
			           "vdc_agent_vm_net_packets_total{vm=\"%s\",nic=\"%d\",dir=\"rx\"} %lld\n"
			           "vdc_agent_vm_net_packets_total{vm=\"%s\",nic=\"%d\",dir=\"tx\"} %lld\n",
			        vm->spec.name, i, (long long)rx, vm->spec.name, i, (long long)tx, vm->spec.name,
			        i, (long long)rxp, vm->spec.name, i, (long long)txp);
		}
	}
}

static void host_metrics(struct agent *a, FILE *f)
{
	struct host_counters hc;
	host_counters_read(&hc);
	fprintf(f,
	        "# HELP vdc_agent_host_cpu_seconds_total Host CPU time by mode.\n"
	        "# TYPE vdc_agent_host_cpu_seconds_total counter\n"
	        "vdc_agent_host_cpu_seconds_total{mode=\"user\"} %.2f\n"
	        "vdc_agent_host_cpu_seconds_total{mode=\"system\"} %.2f\n"
	        "vdc_agent_host_cpu_seconds_total{mode=\"idle\"} %.2f\n"
	        "vdc_agent_host_cpu_seconds_total{mode=\"iowait\"} %.2f\n"
	        "# HELP vdc_agent_host_memory_bytes Host memory.\n"
	        "# TYPE vdc_agent_host_memory_bytes gauge\n"
	        "vdc_agent_host_memory_bytes{kind=\"total\"} %lld\n"
	        "vdc_agent_host_memory_bytes{kind=\"available\"} %lld\n"
	        "# HELP vdc_agent_host_disk_bytes_total Bytes read and written by the host's disks.\n"
	        "# TYPE vdc_agent_host_disk_bytes_total counter\n"
	        "vdc_agent_host_disk_bytes_total{op=\"read\"} %lld\n"
	        "vdc_agent_host_disk_bytes_total{op=\"write\"} %lld\n"
	        "# HELP vdc_agent_host_net_bytes_total Bytes on the host's interfaces except lo.\n"
	        "# TYPE vdc_agent_host_net_bytes_total counter\n"
	        "vdc_agent_host_net_bytes_total{dir=\"rx\"} %lld\n"
	        "vdc_agent_host_net_bytes_total{dir=\"tx\"} %lld\n"
	        "# HELP vdc_agent_host_cpus Online CPUs.\n"
	        "# TYPE vdc_agent_host_cpus gauge\n"
	        "vdc_agent_host_cpus %ld\n",
	        hc.cpu_user_ms / 1000.0, hc.cpu_system_ms / 1000.0, hc.cpu_idle_ms / 1000.0,
	        hc.cpu_iowait_ms / 1000.0, (long long)hc.mem_total, (long long)hc.mem_available,
	        (long long)hc.disk_read_bytes, (long long)hc.disk_write_bytes,
	        (long long)hc.net_rx_bytes, (long long)hc.net_tx_bytes, sysconf(_SC_NPROCESSORS_ONLN));
	fputs("# HELP vdc_agent_datastore_free_bytes Free space per datastore.\n"
	      "# TYPE vdc_agent_datastore_free_bytes gauge\n", f);
	for (int i = 0; i < a->cfg.ndatastores; i++)
		fprintf(f, "vdc_agent_datastore_free_bytes{datastore=\"%s\"} %lld\n",
		        a->cfg.datastores[i].name, (long long)fs_free_bytes(a->cfg.datastores[i].path));
}

/* The disk counters come from each running QEMU: asked all at once, the
 * reply written when the last has answered (or failed, or timed out: a
 * hung QEMU's disks are left out, never the loop held). */
struct metrics_gather {
	struct http_req *req;
	int waiting;
	json_t *blockstats;
};

struct metrics_slot {
	struct metrics_gather *g;
	char vm[64];
};

static void metrics_reply(struct metrics_gather *g)
{
	struct http_req *req = g->req;
	struct agent *a = http_app(req);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		json_decref(g->blockstats);
		free(g);
		http_reply_error(req, 500, "internal", NULL, "out of memory");
		return;
	}
	fputs("# HELP vdc_agent_up The agent is serving.\n# TYPE vdc_agent_up gauge\nvdc_agent_up 1\n", f);
	vm_metrics(a, g->blockstats, f);
	host_metrics(a, f);
	http_server_metrics(a->http, f, "vdc_agent");
	fclose(f);
	json_decref(g->blockstats);
	free(g);
	http_reply_text(req, 200, "text/plain; version=0.0.4", buf, len);
}

static void on_blockstats(void *ctx, int status, json_t *result, const struct errinfo *e)
{
	struct metrics_slot *slot = ctx;
	struct metrics_gather *g = slot->g;
	if (result)
		json_object_set_new(g->blockstats, slot->vm, result);
	else
		log_warn("metrics_blockstats_failed", "vm=%s error=%s", slot->vm, log_quote(e->message));
	free(slot);
	if (--g->waiting == 0)
		metrics_reply(g);
}

void api_metrics(struct http_req *req)
{
	struct agent *a = http_app(req);
	struct metrics_gather *g = calloc(1, sizeof(*g));
	if (!g) {
		http_reply_error(req, 500, "internal", NULL, "out of memory");
		return;
	}
	g->req = req;
	g->blockstats = json_object();
	g->waiting = 1; /* this function's own, dropped at its end */
	http_defer(req);
	for (struct vm *vm = a->vms; vm; vm = vm->next) {
		if (!vm->qmp)
			continue;
		struct metrics_slot *slot = calloc(1, sizeof(*slot));
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
	if (--g->waiting == 0)
		metrics_reply(g);
}

/* api_metrics.c - GET /metrics: vdcd's Prometheus metrics. */
#include "api.h"

#include "agent_async.h"
#include "charts.h"
#include "history.h"
#include "live_hub.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void count_by(struct mgr *m, FILE *f, enum store_kind k, const char *field,
                     const char *const *values, const char *metric)
{
	for (int i = 0; values[i]; i++) {
		struct store_filter flt = {field, values[i]};
		struct errinfo e = {0};
		int64_t n = store_count(m->st, k, &flt, 1, &e);
		if (n >= 0)
			fprintf(f, "%s{%s=\"%s\"} %lld\n", metric, !strcmp(field, "power_state") ? "state" : field,
			        values[i], (long long)n);
	}
}

static int foreign_vms_page(void *ctx, json_t *hosts)
{
	FILE *f = ctx;
	size_t i, k;
	json_t *h, *v;
	json_array_foreach(hosts, i, h) {
		int n = 0;
		json_array_foreach(json_object_get(h, "foreign_vms"), k, v)
			n += json_integer_value(json_object_get(v, "beats")) >= 2;
		fprintf(f, "vdcd_foreign_vms{host=\"%s\"} %d\n",
		        json_string_value(json_object_get(h, "name")) ?: "", n);
	}
	return 0;
}

/* Per host, the VMs its agent runs that vdcd does not manage (confirmed in
 * two heartbeats, see api_hosts.c). */
static void foreign_vms(struct mgr *m, FILE *f)
{
	fputs("# HELP vdcd_foreign_vms VMs a host's agent runs that are not in vdcd's inventory.\n"
	      "# TYPE vdcd_foreign_vms gauge\n", f);
	struct errinfo e = {0};
	store_list_each(m->st, STORE_HOST, NULL, 0, foreign_vms_page, f, &e);
}

/* What the charts' history holds: objects tracked, its memory, its points. */
static void charts_metrics(struct mgr *m, FILE *f)
{
	const struct charts *c = m->charts;
	fprintf(f,
	        "# HELP vdcd_chart_objects VMs and hosts whose samples vdcd keeps for charts.\n"
	        "# TYPE vdcd_chart_objects gauge\n"
	        "vdcd_chart_objects{kind=\"vm\"} %zu\nvdcd_chart_objects{kind=\"host\"} %zu\n"
	        "# HELP vdcd_chart_bytes Memory the charts' history holds.\n"
	        "# TYPE vdcd_chart_bytes gauge\nvdcd_chart_bytes %zu\n"
	        "# HELP vdcd_chart_points_total Points taken from heartbeat samples since start.\n"
	        "# TYPE vdcd_chart_points_total counter\nvdcd_chart_points_total %llu\n"
	        "# HELP vdcd_chart_samples_refused_total VM samples from a host vdcd did not place the VM on.\n"
	        "# TYPE vdcd_chart_samples_refused_total counter\nvdcd_chart_samples_refused_total %llu\n",
	        metric_table_count(&c->vms), metric_table_count(&c->hosts),
	        metric_table_bytes(&c->vms) + metric_table_bytes(&c->hosts),
	        (unsigned long long)c->points_taken, (unsigned long long)c->samples_refused);
	history_prometheus(m, f);
}

void api_metrics(struct http_req *req)
{
	struct mgr *m = http_app(req);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fprintf(f, "# HELP vdcd_up vdcd is serving.\n# TYPE vdcd_up gauge\nvdcd_up 1\n");
	static const char *const host_states[] = {"connected", "disconnected", "maintenance", NULL};
	static const char *const vm_states[] = {"creating", "running", "paused", "stopped", "crashed",
	                                        "deleting", "error", "unknown", "missing", NULL};
	static const char *const task_states[] = {"queued", "running", "succeeded", "failed", NULL};
	static const char *const image_states[] = {"queued", "importing", "active", NULL};
	fputs("# HELP vdcd_hosts Hosts by state.\n# TYPE vdcd_hosts gauge\n", f);
	count_by(m, f, STORE_HOST, "state", host_states, "vdcd_hosts");
	fputs("# HELP vdcd_vms VMs by power state.\n# TYPE vdcd_vms gauge\n", f);
	count_by(m, f, STORE_VM, "power_state", vm_states, "vdcd_vms");
	fputs("# HELP vdcd_images Images of the library by state.\n# TYPE vdcd_images gauge\n", f);
	count_by(m, f, STORE_IMAGE, "state", image_states, "vdcd_images");
	fputs("# HELP vdcd_tasks Tasks by state.\n# TYPE vdcd_tasks gauge\n", f);
	count_by(m, f, STORE_TASK, "state", task_states, "vdcd_tasks");
	foreign_vms(m, f);
	live_hub_metrics(m->live, f);
	pthread_mutex_lock(&m->lock);
	fprintf(f, "# HELP vdcd_tasks_finished_total Tasks finished since start.\n"
	           "# TYPE vdcd_tasks_finished_total counter\n"
	           "vdcd_tasks_finished_total{outcome=\"succeeded\"} %llu\n"
	           "vdcd_tasks_finished_total{outcome=\"failed\"} %llu\n",
	        (unsigned long long)m->tasks_done, (unsigned long long)m->tasks_failed);
	fprintf(f, "# HELP vdcd_migrations_total Live migrations ended since start.\n"
	           "# TYPE vdcd_migrations_total counter\n"
	           "vdcd_migrations_total{outcome=\"succeeded\"} %llu\n"
	           "vdcd_migrations_total{outcome=\"failed\"} %llu\n"
	           "vdcd_migrations_total{outcome=\"cancelled\"} %llu\n"
	           "# HELP vdcd_migration_last_total_ms QEMU's total time of the last live migration that succeeded.\n"
	           "# TYPE vdcd_migration_last_total_ms gauge\nvdcd_migration_last_total_ms %lld\n"
	           "# HELP vdcd_migration_last_downtime_ms The guest's pause in the last live migration that succeeded.\n"
	           "# TYPE vdcd_migration_last_downtime_ms gauge\nvdcd_migration_last_downtime_ms %lld\n"
	           "# HELP vdcd_migration_disk_bytes_total Bytes of disks (not shared by the receiving host) copied "
	           "by live migrations that succeeded.\n"
	           "# TYPE vdcd_migration_disk_bytes_total counter\nvdcd_migration_disk_bytes_total %llu\n",
	        (unsigned long long)m->migrations[0], (unsigned long long)m->migrations[1],
	        (unsigned long long)m->migrations[2], (long long)m->migration_last_total_ms,
	        (long long)m->migration_last_downtime_ms, (unsigned long long)m->migration_disk_bytes);
	fprintf(f, "# HELP vdcd_evacuations_total Hosts' evacuations (maintenance enter) ended since start.\n"
	           "# TYPE vdcd_evacuations_total counter\n"
	           "vdcd_evacuations_total{outcome=\"succeeded\"} %llu\n"
	           "vdcd_evacuations_total{outcome=\"failed\"} %llu\n"
	           "vdcd_evacuations_total{outcome=\"cancelled\"} %llu\n",
	        (unsigned long long)m->evacuations[0], (unsigned long long)m->evacuations[1],
	        (unsigned long long)m->evacuations[2]);
	fprintf(f, "# HELP vdcd_admission_refused_total Power-ons, pool moves and migrations refused by admission "
	           "control since start, by whose reservations could not be kept.\n"
	           "# TYPE vdcd_admission_refused_total counter\n"
	           "vdcd_admission_refused_total{by=\"pool\"} %llu\nvdcd_admission_refused_total{by=\"host\"} %llu\n"
	           "vdcd_admission_refused_total{by=\"ha\"} %llu\n",
	        (unsigned long long)m->admission_refused[0], (unsigned long long)m->admission_refused[1],
	        (unsigned long long)m->admission_refused[2]);
	fputs("# HELP vdcd_host_power_total Hosts' power orders and status reads through their BMC (host.power "
	      "tasks) ended since start.\n# TYPE vdcd_host_power_total counter\n", f);
	static const char *const power_actions[] = {"status", "on", "off", "cycle"};
	for (int a = 0; a < 4; a++)
		fprintf(f, "vdcd_host_power_total{action=\"%s\",outcome=\"succeeded\"} %llu\n"
		           "vdcd_host_power_total{action=\"%s\",outcome=\"failed\"} %llu\n",
		        power_actions[a], (unsigned long long)m->host_power[a][0], power_actions[a],
		        (unsigned long long)m->host_power[a][1]);
	fprintf(f, "# HELP vdcd_vm_watchdog_fired_total VMs whose guest watchdog fired (the guest stopped petting "
	           "it; QEMU ended for it) since start, as their hosts reported.\n"
	           "# TYPE vdcd_vm_watchdog_fired_total counter\nvdcd_vm_watchdog_fired_total %llu\n",
	        (unsigned long long)m->watchdog_fired);
	pthread_mutex_unlock(&m->lock);
	struct errinfo pe = {0};
	int64_t npools = store_count(m->st, STORE_POOL, NULL, 0, &pe);
	if (npools >= 0)
		fprintf(f, "# HELP vdcd_pools Resource pools.\n# TYPE vdcd_pools gauge\nvdcd_pools %lld\n", (long long)npools);
	fprintf(f, "# HELP vdcd_agent_calls_in_flight Calls to hosts' agents that API requests wait on.\n"
	           "# TYPE vdcd_agent_calls_in_flight gauge\nvdcd_agent_calls_in_flight %d\n",
	        agent_async_in_flight(m));
	charts_metrics(m, f);
	http_server_metrics(m->http, f, "vdcd");
	fclose(f);
	http_reply_text(req, 200, "text/plain; version=0.0.4", buf, len);
}

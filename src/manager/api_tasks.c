/* api_tasks.c - tasks (the state of every long operation), the audit log,
 * and Prometheus metrics for vdcd. */
#include "api.h"
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void api_tasks_list(struct http_req *req) { api_inventory_list(req); }
void api_tasks_get(struct http_req *req) { api_inventory_get(req); }

void api_events_list(struct http_req *req)
{
	struct mgr *m = http_app(req);
	int limit;
	const char *after;
	if (mgr_page_args(req, &limit, &after) < 0)
		return;
	/* Newest first by default, paged with ?before=ID; ?order=asc gives the
	 * oldest first, paged with ?after=ID. */
	const char *order = http_query(req, "order");
	if (order && strcmp(order, "asc") && strcmp(order, "desc")) {
		http_reply_error(req, 400, "invalid_query", "order", "order must be asc or desc, not '%s'", order);
		return;
	}
	bool asc = order && !strcmp(order, "asc");
	const char *cname = asc ? "after" : "before";
	if (!asc && after) {
		http_reply_error(req, 400, "invalid_query", "after", "newest first, events page with before=ID; "
		                 "after=ID goes with order=asc");
		return;
	}
	int64_t cursor = 0;
	const char *b = asc ? after : http_query(req, "before");
	if (b) {
		char *end;
		cursor = strtoll(b, &end, 10);
		if (!*b || *end || cursor < 0) {
			http_reply_error(req, 400, "invalid_query", cname, "%s must be an event id", cname);
			return;
		}
	}
	struct errinfo e = {0};
	char *text = store_events_text_order(m->st, cursor, asc, limit, &e);
	if (!text) {
		mgr_reply_err(req, &e);
		return;
	}
	json_t *arr = json_loads(text, 0, NULL);
	json_t *last = json_array_get(arr, json_array_size(arr) - 1);
	char next[32] = "";
	if (json_array_size(arr) == (size_t)limit && last)
		snprintf(next, sizeof(next), "%lld", (long long)json_integer_value(json_object_get(last, "id")));
	json_decref(arr);
	mgr_reply_page(req, text, next[0] ? strdup(next) : NULL);
}

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

/* Per host, the VMs its agent runs that vdcd does not manage (confirmed in
 * two heartbeats, see api_hosts.c). */
static void foreign_vms(struct mgr *m, FILE *f)
{
	fputs("# HELP vdcd_foreign_vms VMs a host's agent runs that are not in vdcd's inventory.\n"
	      "# TYPE vdcd_foreign_vms gauge\n", f);
	char *next = NULL, *after = NULL;
	do {
		struct errinfo e = {0};
		char *text = store_list_text(m->st, STORE_HOST, NULL, 0, after, 1000, &next, &e);
		free(after);
		after = next;
		next = NULL;
		json_t *hosts = text ? json_loads(text, 0, NULL) : NULL;
		free(text);
		size_t i, k;
		json_t *h, *v;
		json_array_foreach(hosts, i, h) {
			int n = 0;
			json_array_foreach(json_object_get(h, "foreign_vms"), k, v)
				n += json_integer_value(json_object_get(v, "beats")) >= 2;
			fprintf(f, "vdcd_foreign_vms{host=\"%s\"} %d\n",
			        json_string_value(json_object_get(h, "name")) ?: "", n);
		}
		json_decref(hosts);
	} while (after);
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
	pthread_mutex_lock(&m->lock);
	fprintf(f, "# HELP vdcd_tasks_finished_total Tasks finished since start.\n"
	           "# TYPE vdcd_tasks_finished_total counter\n"
	           "vdcd_tasks_finished_total{outcome=\"succeeded\"} %llu\n"
	           "vdcd_tasks_finished_total{outcome=\"failed\"} %llu\n",
	        (unsigned long long)m->tasks_done, (unsigned long long)m->tasks_failed);
	pthread_mutex_unlock(&m->lock);
	http_server_metrics(m->http, f, "vdcd");
	fclose(f);
	http_reply_text(req, 200, "text/plain; version=0.0.4", buf, len);
}

static void healthz(struct http_req *req)
{
	http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

/* Collections of objects, read by every user: infrastructure (clusters,
 * datastores) changed by system administrators, project objects (networks,
 * templates) by their projects' operators, scoped to the caller's projects. */
#define INFRA(coll) \
	{"GET", "/api/v1/" coll, api_inventory_list, 0, ACC_ANY}, \
	{"POST", "/api/v1/" coll, api_inventory_create, 0, ACC_ADMIN}, \
	{"GET", "/api/v1/" coll "/{id}", api_inventory_get, 0, ACC_ANY}, \
	{"DELETE", "/api/v1/" coll "/{id}", api_inventory_delete, 0, ACC_ADMIN}
#define PROJECT_OBJECTS(coll) \
	{"GET", "/api/v1/" coll, api_inventory_list, 0, ACC_ANY}, \
	{"POST", "/api/v1/" coll, api_inventory_create, 0, ACC_WRITE}, \
	{"GET", "/api/v1/" coll "/{id}", api_inventory_get, 0, ACC_ANY}, \
	{"DELETE", "/api/v1/" coll "/{id}", api_inventory_delete, 0, ACC_WRITE}

const struct http_route mgr_routes[] = {
	{"GET", "/healthz", healthz, 1, ACC_ANY},
	{"GET", "/api/v1/ca", api_ca_get, 1, ACC_ANY},
	{"GET", "/metrics", api_metrics, 0, ACC_ADMIN},
	{"POST", "/api/v1/auth/login", api_auth_login, 1, ACC_ANY},
	{"GET", "/api/v1/auth/whoami", api_auth_whoami, 0, ACC_ANY},
	{"GET", "/api/v1/tokens", api_tokens_list, 0, ACC_ANY},
	{"POST", "/api/v1/tokens", api_tokens_create, 0, ACC_SELF},
	{"DELETE", "/api/v1/tokens/{id}", api_tokens_delete, 0, ACC_SELF},
	{"GET", "/api/v1/users", api_users_list, 0, ACC_ADMIN},
	{"POST", "/api/v1/users", api_users_create, 0, ACC_ADMIN},
	{"GET", "/api/v1/users/{id}", api_users_get, 0, ACC_ANY},
	{"DELETE", "/api/v1/users/{id}", api_users_delete, 0, ACC_ADMIN},
	{"POST", "/api/v1/users/{id}/password", api_users_password, 0, ACC_SELF},
	{"GET", "/api/v1/projects", api_projects_list, 0, ACC_ANY},
	{"POST", "/api/v1/projects", api_projects_create, 0, ACC_ADMIN},
	{"GET", "/api/v1/projects/{id}", api_projects_get, 0, ACC_ANY},
	{"DELETE", "/api/v1/projects/{id}", api_projects_delete, 0, ACC_ADMIN},
	{"GET", "/api/v1/projects/{id}/members", api_projects_members, 0, ACC_ANY},
	{"POST", "/api/v1/projects/{id}/members", api_projects_member_set, 0, ACC_WRITE},
	{"DELETE", "/api/v1/projects/{id}/members/{user}", api_projects_member_remove, 0, ACC_WRITE},
	{"GET", "/api/v1/projects/{id}/quota", api_projects_quota_get, 0, ACC_ANY},
	{"PUT", "/api/v1/projects/{id}/quota", api_projects_quota_set, 0, ACC_ADMIN},
	INFRA("clusters"),
	INFRA("datastores"),
	PROJECT_OBJECTS("networks"),
	PROJECT_OBJECTS("templates"),
	{"GET", "/api/v1/images", api_inventory_list, 0, ACC_ANY},
	{"POST", "/api/v1/images", api_images_create, 0, ACC_WRITE},
	{"GET", "/api/v1/images/{id}", api_inventory_get, 0, ACC_ANY},
	{"DELETE", "/api/v1/images/{id}", api_images_delete, 0, ACC_WRITE},
	/* Streamed to the spool; main.c sets the limit from --image-max-bytes. */
	{"PUT", "/api/v1/images/{id}/file", api_images_upload, 0, ACC_WRITE, 1},
	{"GET", "/api/v1/hosts", api_inventory_list, 0, ACC_ADMIN},
	{"POST", "/api/v1/hosts/join-tokens", api_hosts_join_token, 0, ACC_ADMIN},
	{"POST", "/api/v1/hosts/join", api_hosts_join, 1, ACC_ANY},
	{"GET", "/api/v1/hosts/{id}", api_inventory_get, 0, ACC_ADMIN},
	{"DELETE", "/api/v1/hosts/{id}", api_hosts_delete, 0, ACC_ADMIN},
	{"POST", "/api/v1/hosts/{id}/heartbeat", api_hosts_heartbeat, 1, ACC_ANY},
	{"POST", "/api/v1/hosts/{id}/maintenance", api_hosts_maintenance, 0, ACC_ADMIN},
	{"GET", "/api/v1/vms", api_inventory_list, 0, ACC_ANY},
	{"POST", "/api/v1/vms", api_vms_create, 0, ACC_WRITE},
	{"GET", "/api/v1/vms/{id}", api_inventory_get, 0, ACC_ANY},
	{"DELETE", "/api/v1/vms/{id}", api_vms_delete, 0, ACC_WRITE},
	{"POST", "/api/v1/vms/{id}/start", api_vms_power, 0, ACC_WRITE},
	{"POST", "/api/v1/vms/{id}/stop", api_vms_power, 0, ACC_WRITE},
	{"POST", "/api/v1/vms/{id}/destroy", api_vms_power, 0, ACC_WRITE},
	{"POST", "/api/v1/vms/{id}/reset", api_vms_power, 0, ACC_WRITE},
	{"POST", "/api/v1/vms/{id}/pause", api_vms_power, 0, ACC_WRITE},
	{"POST", "/api/v1/vms/{id}/resume", api_vms_power, 0, ACC_WRITE},
	{"POST", "/api/v1/vms/{id}/resize", api_vms_resize, 0, ACC_WRITE},
	{"POST", "/api/v1/vms/{id}/clone", api_vms_clone, 0, ACC_WRITE},
	{"GET", "/api/v1/vms/{id}/snapshots", api_vms_snapshots_list, 0, ACC_ANY},
	{"POST", "/api/v1/vms/{id}/snapshots", api_vms_snapshot, 0, ACC_WRITE},
	{"POST", "/api/v1/vms/{id}/snapshots/{snap}/revert", api_vms_snapshot_op, 0, ACC_WRITE},
	{"DELETE", "/api/v1/vms/{id}/snapshots/{snap}", api_vms_snapshot_op, 0, ACC_WRITE},
	{"GET", "/api/v1/vms/{id}/console", api_vms_console, 0, ACC_ANY},
	{"GET", "/api/v1/tasks", api_tasks_list, 0, ACC_ANY},
	{"GET", "/api/v1/tasks/{id}", api_tasks_get, 0, ACC_ANY},
	{"GET", "/api/v1/events", api_events_list, 0, ACC_ADMIN},
};
const size_t mgr_nroutes = sizeof(mgr_routes) / sizeof(mgr_routes[0]);

/* Agents' own listener (--agent-listen): only what agents call, so that a
 * flood of the API's listener leaves heartbeats served. */
const struct http_route mgr_agent_routes[] = {
	{"GET", "/healthz", healthz, 1, ACC_ANY},
	{"GET", "/api/v1/ca", api_ca_get, 1, ACC_ANY},
	{"POST", "/api/v1/hosts/join", api_hosts_join, 1, ACC_ANY},
	{"POST", "/api/v1/hosts/{id}/heartbeat", api_hosts_heartbeat, 1, ACC_ANY},
};
const size_t mgr_agent_nroutes = sizeof(mgr_agent_routes) / sizeof(mgr_agent_routes[0]);

/* routes.c - vdcd's API: every route in one table, so the whole surface
 * (and what each route needs of its caller) reads in one place, and
 * tests/integration/t_openapi_vdcd.sh checks it against docs/openapi.yaml. */
#include "api.h"
#include "auth.h"

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
	/* The web UI (api_ui.c); its other paths come through the fallback
	 * route main.c sets, for every GET no route matches outside /api/. */
	{"GET", "/", api_ui_get, 1, ACC_ANY},
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
	{"PATCH", "/api/v1/clusters/{id}", api_clusters_update, 0, ACC_ADMIN},
	INFRA("datastores"),
	{"GET", "/api/v1/clusters/{id}/pools", api_clusters_pools, 0, ACC_ADMIN},
	{"GET", "/api/v1/pools", api_inventory_list, 0, ACC_ADMIN},
	{"POST", "/api/v1/pools", api_pools_create, 0, ACC_ADMIN},
	{"GET", "/api/v1/pools/{id}", api_inventory_get, 0, ACC_ADMIN},
	{"PATCH", "/api/v1/pools/{id}", api_pools_update, 0, ACC_ADMIN},
	{"DELETE", "/api/v1/pools/{id}", api_pools_delete, 0, ACC_ADMIN},
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
	{"POST", "/api/v1/hosts/{id}/alive", api_hosts_alive, 1, ACC_ANY},
	{"POST", "/api/v1/hosts/{id}/maintenance", api_hosts_maintenance, 0, ACC_ADMIN},
	{"GET", "/api/v1/hosts/{id}/metrics", api_hosts_metrics, 0, ACC_ADMIN},
	{"PUT", "/api/v1/hosts/{id}/power-driver", api_hosts_power_driver_set, 0, ACC_ADMIN},
	{"DELETE", "/api/v1/hosts/{id}/power-driver", api_hosts_power_driver_clear, 0, ACC_ADMIN},
	{"POST", "/api/v1/hosts/{id}/power", api_hosts_power, 0, ACC_ADMIN},
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
	{"POST", "/api/v1/vms/{id}/cdrom", api_vms_cdrom, 0, ACC_WRITE},
	{"POST", "/api/v1/vms/{id}/clone", api_vms_clone, 0, ACC_WRITE},
	{"POST", "/api/v1/vms/{id}/migrate", api_vms_migrate, 0, ACC_WRITE},
	{"POST", "/api/v1/vms/{id}/disks/{disk}/move", api_vms_disk_move, 0, ACC_WRITE},
	{"POST", "/api/v1/vms/{id}/disks", api_vms_disk_add, 0, ACC_WRITE},
	{"DELETE", "/api/v1/vms/{id}/disks/{disk}", api_vms_disk_remove, 0, ACC_WRITE},
	{"POST", "/api/v1/vms/{id}/nics", api_vms_nic_add, 0, ACC_WRITE},
	{"DELETE", "/api/v1/vms/{id}/nics/{nic}", api_vms_nic_remove, 0, ACC_WRITE},
	{"POST", "/api/v1/vms/{id}/pool", api_vms_pool, 0, ACC_WRITE},
	{"POST", "/api/v1/vms/{id}/ha", api_vms_ha, 0, ACC_WRITE},
	{"GET", "/api/v1/clusters/{id}/ha", api_clusters_ha, 0, ACC_ADMIN},
	{"GET", "/api/v1/clusters/{id}/ha/incidents", api_clusters_ha_incidents, 0, ACC_ADMIN},
	{"GET", "/api/v1/vms/{id}/snapshots", api_vms_snapshots_list, 0, ACC_ANY},
	{"POST", "/api/v1/vms/{id}/snapshots", api_vms_snapshot, 0, ACC_WRITE},
	{"POST", "/api/v1/vms/{id}/snapshots/{snap}/revert", api_vms_snapshot_op, 0, ACC_WRITE},
	{"DELETE", "/api/v1/vms/{id}/snapshots/{snap}", api_vms_snapshot_op, 0, ACC_WRITE},
	{"GET", "/api/v1/vms/{id}/console", api_vms_console, 0, ACC_ANY},
	{"GET", "/api/v1/vms/{id}/metrics", api_vms_metrics, 0, ACC_ANY},
	{"POST", "/api/v1/vms/{id}/console/ticket", api_console_ticket, 0, ACC_WRITE},
	{"GET", "/api/v1/vms/{id}/console/serial", api_console_stream, 0, ACC_ANY},
	{"GET", "/api/v1/vms/{id}/console/vnc", api_console_stream, 0, ACC_ANY},
	{"GET", "/api/v1/tasks", api_tasks_list, 0, ACC_ANY},
	{"GET", "/api/v1/tasks/{id}", api_tasks_get, 0, ACC_ANY},
	{"POST", "/api/v1/tasks/{id}/cancel", api_tasks_cancel, 0, ACC_WRITE},
	{"GET", "/api/v1/stream", api_stream, 0, ACC_ANY},
	{"GET", "/api/v1/events", api_events_list, 0, ACC_ADMIN},
	{"GET", "/api/v1/debug/inventory-index", api_debug_inventory_index, 0, ACC_ADMIN},
	/* Tests only: 404 to all unless vdcd runs with --fault-injection (the
	 * handler checks the caller, so that without it the route looks absent
	 * to everyone). */
	{"GET", "/api/v1/debug/faults", api_debug_faults_get, 0, ACC_ANY},
	{"POST", "/api/v1/debug/faults", api_debug_faults_arm, 0, ACC_ANY},
};
const size_t mgr_nroutes = sizeof(mgr_routes) / sizeof(mgr_routes[0]);

/* Agents' own listener (--agent-listen): only what agents call, so that a
 * flood of the API's listener leaves heartbeats served. */
const struct http_route mgr_agent_routes[] = {
	{"GET", "/healthz", healthz, 1, ACC_ANY},
	{"GET", "/api/v1/ca", api_ca_get, 1, ACC_ANY},
	{"POST", "/api/v1/hosts/join", api_hosts_join, 1, ACC_ANY},
	{"POST", "/api/v1/hosts/{id}/heartbeat", api_hosts_heartbeat, 1, ACC_ANY},
	{"POST", "/api/v1/hosts/{id}/alive", api_hosts_alive, 1, ACC_ANY},
};
const size_t mgr_agent_nroutes = sizeof(mgr_agent_routes) / sizeof(mgr_agent_routes[0]);

/* api.h - helpers shared by vdcd's route files (one file per resource). */
#ifndef VDC_MGR_API_H
#define VDC_MGR_API_H

#include "http.h"
#include "jsonv.h"
#include "manager.h"

/* The project a create goes to: the body's "project" (removed from it) if
 * the caller may create there; without one, the caller's only writable
 * project, or for an administrator nothing (a shareable kind: shared by
 * all) or the "default" project. 0 with *project (a document or NULL), or
 * -1 after replying. */
int mgr_create_project(struct http_req *req, json_t *body, bool shareable, json_t **project);
/* A project object (VM, task, template, network) if the caller may see
 * it: administrators all, members their projects', everyone the shared
 * templates and networks. Otherwise NULL after replying 404, exactly as
 * for an object that does not exist. The text form also gives the
 * object's project (malloc'd; NULL for none) when project_id is not NULL. */
char *mgr_get_visible_text(struct http_req *req, enum store_kind k, const char *id_or_name,
                           char **project_id);
json_t *mgr_get_visible(struct http_req *req, enum store_kind k, const char *id_or_name);
/* An object of kind k (a kind with projects) that an object of project_id
 * may use, by id or name: shared, or of that project (by name: the
 * project's first, then a shared one). Another project's is reported as
 * missing. NULL with e (404 when none). */
json_t *mgr_find_for_project(struct store *st, enum store_kind k, const char *name, const char *project_id,
                             struct errinfo *e);
/* Deletes every object of kind k whose mirrored field equals value (in the
 * caller's transaction, if any). 0, or -1 with e. */
int mgr_delete_where(struct store *st, enum store_kind k, const char *field, const char *value,
                     struct errinfo *e);
/* ?project=NAME|ID as a project id to filter a list by, in id (a
 * project the caller is not in becomes an id matching nothing); NULL
 * when not asked. */
const char *mgr_project_filter(struct http_req *req, char id[37]);
void mgr_reply_jv(struct http_req *req, const struct jv_err *jerr);
/* A create refused (bad input, a taken name, no right): writes the audit
 * event (action, kind, target: the name asked for, outcome "refused", the
 * reason as detail) and replies the error. The _jv form replies 400. */
void mgr_refuse(struct http_req *req, const char *action, const char *kind, const char *target,
                const struct errinfo *e);
void mgr_refuse_jv(struct http_req *req, const char *action, const char *kind, const char *target,
                   const struct jv_err *jerr);
/* One PATCH of a stored object (the route's {id}), in one transaction with
 * its audit event: read it, change a copy (parse: the body's fields; 400
 * naming a bad one), check (may be NULL; may refuse with e), write with
 * the version read (two edits cannot both win), record the event
 * (detail: describe's words for the change), commit. The stored object
 * (the caller replies), or NULL after replying the refusal. */
struct mgr_update {
	enum store_kind kind;
	const char *action, *type; /* "pool.update", "pool" */
	int (*parse)(const json_t *body, json_t *doc, struct jv_err *err);
	int (*check)(struct mgr *m, const json_t *was, json_t *doc, struct errinfo *e);
	void (*describe)(const json_t *was, const json_t *doc, char *out, size_t n);
};
json_t *mgr_update_object(struct http_req *req, const struct mgr_update *u);
/* Reads ?limit (1..1000, default 100) and ?after; replies 400 itself. */
int mgr_page_args(struct http_req *req, int *limit, const char **after);
/* The same with another largest limit (lists of a few fields a row). */
int mgr_page_args_max(struct http_req *req, int max, int *limit, const char **after);
/* {"items": <items_text>, "next": next}; takes ownership of both. */
void mgr_reply_page(struct http_req *req, char *items_text, char *next);
/* Replies a stored document text as is (takes ownership). */
void mgr_reply_stored(struct http_req *req, unsigned status, char *text);

/* A template's image, kernel and initrd (names or ids, as given) bound to
 * the library's active images its project may use: adds image_id,
 * kernel_id, initrd_id and the image's virtual size. 0, or -1 with e. */
int template_bind_images(struct store *st, json_t *doc, struct errinfo *e);

/* Route handlers, by file. */
void api_images_create(struct http_req *req);
void api_images_upload(struct http_req *req);
/* Before an upload's body: 0 when the caller may upload the route's image
 * now, else -1 after replying (404, 403, 409 not queued). */
int api_images_upload_allowed(struct http_req *req);
void api_images_delete(struct http_req *req);
void api_inventory_list(struct http_req *req);
void api_inventory_get(struct http_req *req);
void api_inventory_create(struct http_req *req);
void api_inventory_delete(struct http_req *req);
/* api_clusters.c: PATCH a cluster's ratios, policy or description. */
void api_clusters_update(struct http_req *req);
/* api_pools.c: resource pools, a cluster's tree, a VM's pool. */
void api_pools_create(struct http_req *req);
void api_pools_update(struct http_req *req);
void api_pools_delete(struct http_req *req);
void api_clusters_pools(struct http_req *req);
void api_vms_pool(struct http_req *req);
/* Counts e when it is an admission refusal (pool_reservation,
 * host_reservation) for /metrics. */
void pools_count_refusal(struct mgr *m, const struct errinfo *e);
void api_ca_get(struct http_req *req);
void api_hosts_join_token(struct http_req *req);
void api_hosts_join(struct http_req *req);
void api_hosts_heartbeat(struct http_req *req);
void api_hosts_alive(struct http_req *req);
/* api_ha.c */
void api_vms_ha(struct http_req *req);
void api_clusters_ha(struct http_req *req);
void api_clusters_ha_incidents(struct http_req *req);
void api_hosts_maintenance(struct http_req *req);
/* api_clusters.c: whether models (a host's cpu_models) has model; 0 when
 * every host of the cluster offers model, else -1 with e (409
 * cpu_baseline_unsupported naming the hosts). */
bool cpu_models_offer(const json_t *models, const char *model);
int cpu_baseline_check_hosts(struct store *st, const char *cluster_id, const char *model, struct errinfo *e);
void api_hosts_delete(struct http_req *req);
/* api_host_power.c: a host's power driver and power through its BMC. */
void api_hosts_power_driver_set(struct http_req *req);
void api_hosts_power_driver_clear(struct http_req *req);
void api_hosts_power(struct http_req *req);
void api_hosts_metrics(struct http_req *req);
void api_vms_metrics(struct http_req *req);
void api_vms_create(struct http_req *req);
void api_vms_power(struct http_req *req);
void api_vms_delete(struct http_req *req);
void api_vms_console(struct http_req *req);
/* api_console.c: live console streams (WebSocket) and their tickets. */
void api_console_ticket(struct http_req *req);
void api_console_stream(struct http_req *req);
/* For mgr_auth, on a request without a bearer token: 1 when it is a console
 * stream's handshake carrying a valid ticket (the ticket's caller is then
 * the request's); 0 otherwise (after replying 401/403 for a bad ticket). */
int console_ticket_auth(struct mgr *m, struct http_req *req);
void api_vms_snapshot(struct http_req *req);
void api_vms_resize(struct http_req *req);
void api_vms_clone(struct http_req *req);
/* api_migrate.c */
void api_vms_migrate(struct http_req *req);
/* api_vms.c: the route's VM if the caller may act on it (an operator of
 * its project) and it is not being made or deleted; NULL after replying. */
json_t *api_vm_for_action(struct http_req *req);
/* Queues op on vm as a task (args consumed), with its audit event; 202
 * with the task, or the error. new_state (or NULL) is the VM's power_state
 * meanwhile. */
void api_vm_queue(struct http_req *req, json_t *vm, const char *op, json_t *args, const char *new_state);
/* api_vm_cdrom.c: a VM's CD-ROM drive (POST /api/v1/vms/{id}/cdrom). */
void api_vms_cdrom(struct http_req *req);
/* The config's "cdrom" for want ({"image": ref} or {}): {"image": name,
 * "image_id": id} of the library's ISO ref names, as project_id may use it,
 * or {}. A new reference, or NULL with e (400 naming field). */
json_t *vm_cdrom_config(struct store *st, const json_t *want, const char *project_id, const char *field,
                        struct errinfo *e);
/* api_vms.c: storage migration (a disk to another datastore of its host). */
void api_vms_disk_move(struct http_req *req);
/* api_vms_hotplug.c: disks and NICs added to and removed from a VM. */
void api_vms_disk_add(struct http_req *req);
void api_vms_disk_remove(struct http_req *req);
void api_vms_nic_add(struct http_req *req);
void api_vms_nic_remove(struct http_req *req);
struct quota_refusal;
/* 409 quota_exceeded with the numbers (limit, would_be), for clients to act on. */
void api_reply_quota_refusal(struct http_req *req, const struct quota_refusal *r, const struct errinfo *e);
/* api_ui.c: the web UI's files. */
void api_ui_get(struct http_req *req);
extern const struct http_route mgr_ui_fallback;
extern const char *const mgr_security_headers[];
int mgr_ui_path_ok(const char *path);
void mgr_ui_default_dir(char *out, size_t n);
void api_vms_snapshot_op(struct http_req *req);
void api_vms_snapshots_list(struct http_req *req);
void api_tasks_list(struct http_req *req);
void api_tasks_get(struct http_req *req);
void api_events_list(struct http_req *req);
void api_tasks_cancel(struct http_req *req);
void api_stream(struct http_req *req);
/* api_debug.c: fault injection, with --fault-injection only. */
void api_debug_faults_get(struct http_req *req);
void api_debug_faults_arm(struct http_req *req);
/* Makes the VM operations' routes (POST, DELETE under /api/v1/vms) in
 * routes (a copy of mgr_routes) count as an armed operation's scope. */
void api_debug_wrap_routes(struct http_route *routes, size_t n);
void api_auth_login(struct http_req *req);
void api_auth_whoami(struct http_req *req);
void api_tokens_list(struct http_req *req);
void api_tokens_create(struct http_req *req);
void api_tokens_delete(struct http_req *req);
void api_users_list(struct http_req *req);
void api_users_get(struct http_req *req);
void api_users_create(struct http_req *req);
void api_users_delete(struct http_req *req);
void api_users_password(struct http_req *req);
void api_projects_list(struct http_req *req);
void api_projects_get(struct http_req *req);
void api_projects_create(struct http_req *req);
void api_projects_delete(struct http_req *req);
void api_projects_members(struct http_req *req);
void api_projects_member_set(struct http_req *req);
void api_projects_member_remove(struct http_req *req);
void api_projects_quota_get(struct http_req *req);
void api_projects_quota_set(struct http_req *req);
void api_metrics(struct http_req *req);
/* api_debug.c */
void api_debug_inventory_index(struct http_req *req);

/* The kind a route's collection names ("/api/v1/clusters/..." -> CLUSTER). */
enum store_kind api_kind_of(struct http_req *req);

#endif

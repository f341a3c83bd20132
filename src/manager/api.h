/* api.h - helpers shared by vdcd's route files (one file per resource). */
#ifndef VDC_MGR_API_H
#define VDC_MGR_API_H

#include "http.h"
#include "jsonv.h"
#include "manager.h"

int mgr_auth(void *app, const char *bearer, struct http_req *req);
void mgr_reply_jv(struct http_req *req, const struct jv_err *jerr);
/* Reads ?limit (1..1000, default 100) and ?after; replies 400 itself. */
int mgr_page_args(struct http_req *req, int *limit, const char **after);
/* {"items": <items_text>, "next": next}; takes ownership of both. */
void mgr_reply_page(struct http_req *req, char *items_text, char *next);
/* Replies a stored document text as is (takes ownership). */
void mgr_reply_stored(struct http_req *req, unsigned status, char *text);

/* Route handlers, by file. */
void api_inventory_list(struct http_req *req);
void api_inventory_get(struct http_req *req);
void api_inventory_create(struct http_req *req);
void api_inventory_delete(struct http_req *req);
void api_ca_get(struct http_req *req);
void api_hosts_join_token(struct http_req *req);
void api_hosts_join(struct http_req *req);
void api_hosts_heartbeat(struct http_req *req);
void api_hosts_maintenance(struct http_req *req);
void api_hosts_delete(struct http_req *req);
void api_vms_create(struct http_req *req);
void api_vms_power(struct http_req *req);
void api_vms_delete(struct http_req *req);
void api_vms_console(struct http_req *req);
void api_vms_snapshot(struct http_req *req);
void api_vms_snapshot_op(struct http_req *req);
void api_vms_snapshots_list(struct http_req *req);
void api_tasks_list(struct http_req *req);
void api_tasks_get(struct http_req *req);
void api_events_list(struct http_req *req);
void api_metrics(struct http_req *req);

/* The kind a route's collection names ("/api/v1/clusters/..." -> CLUSTER). */
enum store_kind api_kind_of(struct http_req *req);

#endif

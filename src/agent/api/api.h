/* api.h - the agent's HTTP API: routes and handlers. Only this folder (and
 * the daemon that serves it) knows HTTP. */
#ifndef VDC_AGENT_API_H
#define VDC_AGENT_API_H

#include "agent.h"
#include "http.h"
#include "jsonv.h"

extern const struct http_route agent_routes[];
extern const size_t agent_nroutes;
void api_reply_err(struct http_req *req, const struct errinfo *e);
/* 400 invalid_body naming the field a body's check refused. */
void api_reply_bad(struct http_req *req, const struct jv_err *jerr);
/* A vm_done_fn whose ctx is the (deferred) request: replies with the end. */
void api_reply_done(void *ctx, int status, json_t *result, const struct errinfo *e);
/* The VM of the route's {name}, or NULL after a 404 reply. */
struct vm *api_vm_or_404(struct http_req *req);
void api_metrics(struct http_req *req);
void api_host_info(struct http_req *req);
/* api_console.c: live console streams (HTTP upgrade to raw bytes). */
void api_console_serial(struct http_req *req);
void api_console_vnc(struct http_req *req);
/* Closes every console stream; before the HTTP server stops. */
void api_console_stop(struct agent *a);
/* api_migrate.c: live migration (receiving side, sending side, progress). */
void api_migrate_incoming(struct http_req *req);
void api_migrate_send(struct http_req *req);
void api_migration_status(struct http_req *req);
void api_migration_cancel(struct http_req *req);
void api_migration_postcopy(struct http_req *req);
void api_migration_storage(struct http_req *req);
void api_dirty_rate(struct http_req *req);
/* api_link.c: the migration network's speed (a sink here, a probe from here). */
void api_link_sink(struct http_req *req);
void api_link_probe(struct http_req *req);
/* Waits for the probes still running (bounded); before the loop stops. */
void api_link_stop(struct agent *a);
void api_disk_move(struct http_req *req);
void api_disk_move_cancel(struct http_req *req);
/* api_hotplug.c: disks and NICs added and removed. */
void api_vm_disk_add(struct http_req *req);
void api_vm_disk_remove(struct http_req *req);
void api_vm_nic_add(struct http_req *req);
void api_vm_nic_remove(struct http_req *req);
/* api_pools.c: resource pools (their settings; a VM's pool). */
void api_pools_put(struct http_req *req);
void api_vm_pool_put(struct http_req *req);
/* api_cdrom.c: a VM's CD-ROM drive and its medium. */
void api_vm_cdrom_put(struct http_req *req);
/* api_images.c */
void api_image_put(struct http_req *req);
void api_image_list(struct http_req *req);
void api_image_get(struct http_req *req);
void api_image_delete(struct http_req *req);

#endif

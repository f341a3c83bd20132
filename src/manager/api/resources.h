/* resources.h - the request bodies of vdcd's inventory, parsed strictly into
 * the documents the store keeps. Pure: errors name the field; no I/O. */
#ifndef VDC_RESOURCES_H
#define VDC_RESOURCES_H

#include <jansson.h>

#include "jsonv.h"
#include "store.h"

/* Validates a create body of kind k (cluster, datastore, network, template)
 * and returns the new document (without id/version; the caller adds them),
 * or NULL with err. */
json_t *resource_parse_create(enum store_kind k, const json_t *body, struct jv_err *err);

/* A cluster update (PATCH): any of "description", "cpu_overcommit",
 * "mem_overcommit", "policy" with a create's bounds, applied onto doc (the
 * cluster as stored; its other fields untouched). "name" and unknown keys
 * are refused, naming them, and so are an empty body and nulls. 0, or -1
 * with err (doc may then be partly changed: the caller drops it). */
int resource_parse_cluster_update(const json_t *body, json_t *doc, struct jv_err *err);

/* HA (resources_ha.c). The cluster's times when it sets none. */
#define HA_DEFAULT_NET_TIMEOUT_MS 3000
#define HA_DEFAULT_LEASE_MS 4000
#define HA_DEFAULT_MARGIN_MS 500
#define HA_DEFAULT_MAX_RESTARTS 3
#define HA_DEFAULT_RESTART_WINDOW_S 3600
/* How long a wave waits for a restarted VM's readiness probe to answer. */
#define HA_DEFAULT_READY_TIMEOUT_S 120
extern const char *const ha_priorities[];
extern const char *const ha_isolation_responses[];
/* A cluster's "ha" in a create or update body ({"enabled", "default_priority",
 * "net_timeout_ms", "lease_ms", "margin_ms"}), merged into doc's. 0 or -1. */
int resource_parse_cluster_ha(const json_t *body, json_t *doc, struct jv_err *err);
/* A VM's "ha" object ({"priority": "high"|"medium"|"low"|"disabled",
 * "isolation_response": "leave"|"shutdown"|"poweroff"}, either or both)
 * into out. 0 or -1. */
int resource_parse_vm_ha(const json_t *in, json_t *out, struct jv_err *err);

/* A VM create request: {"name", "template", "cluster"?, "vcpus"?,
 * "memory_mib"?, "disk_size_mib"?, "networks"?: [names], "datastore"?,
 * "user_data"?, "start"?: bool, "placement"?: {"affinity": [groups],
 * "anti_affinity": [groups]}}. Returns a normalized copy or NULL with err. */
json_t *resource_parse_vm_create(const json_t *body, struct jv_err *err);
/* body's "watchdog" ("i6300esb", or null/absent for none) into doc's: 0,
 * or -1 with err naming the field. */
int resource_parse_vm_watchdog(const json_t *body, json_t *doc, struct jv_err *err);
/* body's "firmware" ("bios" or "uefi"; null/absent: bios) and "boot_order"
 * (1 to 3 of "disk", "cdrom", "net", each once; null/absent: the disk) into
 * doc's (absent keys stay absent): 0, or -1 with err naming the field
 * ("boot_order[1]"). Never a path: the host picks its firmware files. */
int resource_parse_vm_firmware(const json_t *body, json_t *doc, struct jv_err *err);
/* body's "cdrom": {"image": NAME-OR-ID} (an ISO of the image library; a
 * name, never a path), {} or {"image": null} (an empty drive), null (no
 * drive) into doc's ({"image": ref}, {} or null); absent: nothing. 0, or
 * -1 with err naming "cdrom" or "cdrom.image". */
int resource_parse_vm_cdrom(const json_t *body, json_t *doc, struct jv_err *err);
/* body's "ready_probe" ({"tcp_port": 1..65535, "period_s" 1..3600 (2),
 * "timeout_s" 1..60 and at most period_s (1), "failures" 1..100 (3)}, or
 * null for none) into doc's, normalized with its defaults (null kept: the
 * caller removes it); absent: nothing. 0, or -1 with err naming the
 * field ("ready_probe.tcp_port"). */
int resource_parse_vm_ready_probe(const json_t *body, json_t *doc, struct jv_err *err);

/* A host's cpu_models (join, heartbeat): absent, or an array of at most
 * 1,024 names of 1 to 63 characters. 0, or -1 with err. */
int resource_check_cpu_models(const json_t *body, struct jv_err *err);

/* A host join request: {"token", "name", "agent_url", "agent_token",
 * "csr" (PEM; the agent's key, for its certificate, when vdcd uses TLS),
 * "cpu_models" (what its QEMU offers: a cluster's CPU baseline must be
 * among them)}. */
json_t *resource_parse_join(const json_t *body, struct jv_err *err);

/* A resource pool create: {"name", "cluster" (name or id), "parent"?
 * (a pool's name or id; none: under the cluster's root), "cpu_shares"?
 * (1..10000, 100), "cpu_reservation_pct"?, "cpu_limit_pct"?,
 * "mem_reservation_mib"?, "mem_limit_mib"?, "expandable"? (true),
 * "description"?}. The document keeps "cluster" and "parent" as given:
 * the caller resolves them to cluster_id and parent_id. */
json_t *resource_parse_pool(const json_t *body, struct jv_err *err);

/* A pool update (PATCH) onto doc: any of the create's settings but name,
 * cluster and parent; a limit null removes it. 0, or -1 with err. */
int resource_parse_pool_update(const json_t *body, json_t *doc, struct jv_err *err);

/* A VM's pool and reservations: {"pool"?: name or id or null (the
 * cluster's root), "cpu_reservation_pct"?, "mem_reservation_mib"?} into
 * out. 0, or -1 with err. */
int resource_parse_vm_pool(const json_t *body, json_t *out, struct jv_err *err);

/* A host's power driver (PUT /api/v1/hosts/{id}/power-driver):
 * {"driver": "ipmi", "address" (an IP literal or a host name), "port"?
 * (1..65535, 623), "username" (1..16 printable), "password"? (1..20
 * printable), "cipher_suite"? (0..17, 3), "timeout_s"? (2..60, 10)}; no
 * value ipmitool gets as an argument may start with '-'. Sets *power to
 * the document the host keeps (every field but the password, defaults
 * filled in) and *password to the body's (borrowed; NULL when not given).
 * 0, or -1 with err naming the field (resources_power.c). */
int resource_parse_power_driver(const json_t *body, json_t **power, const char **password, struct jv_err *err);

#endif

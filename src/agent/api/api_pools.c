/* api_pools.c - resource pools on this host: vdcd pushes a pool's settings
 * (PUT /api/v1/pools) and moves a VM between pools (PUT
 * /api/v1/vms/{name}/pool). Each handler parses, runs one VM operation
 * (vm_pool.c) and replies. */
#include "api.h"

#include "jsonv.h"

/* Reads {"pool": [levels, root first]} strictly; non_empty: at least one
 * level. 0, or -1 after a 400 naming the field. */
static int parse_body(struct http_req *req, bool non_empty, struct pool_chain *pool)
{
	json_t *body = http_body_json(req, 0);
	if (!body)
		return -1;
	static const char *const keys[] = {"pool", NULL};
	struct jv_err jerr = {0};
	json_t *arr = NULL;
	int rc = 0;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_member(body, "", "pool", true, JSON_ARRAY, &arr, &jerr) < 0 ||
	    pool_chain_parse(arr, "pool", pool, &jerr) < 0)
		rc = -1;
	else if (non_empty && pool->n == 0)
		rc = jv_fail(&jerr, "pool", "names no pool: give the pool and the pools above it, root first");
	json_decref(body);
	if (rc < 0)
		api_reply_bad(req, &jerr);
	return rc;
}

/* PUT /api/v1/pools {"pool": [chain]}: 200 {"pool", "cgroup_version"}. */
void api_pools_put(struct http_req *req)
{
	struct agent *a = http_app(req);
	struct pool_chain pool;
	if (parse_body(req, true, &pool) < 0)
		return;
	struct errinfo e = {0};
	if (vm_pool_settings(a, &pool, &e) < 0) {
		api_reply_err(req, &e);
		return;
	}
	http_reply_json(req, 200, json_pack("{s:o, s:i}", "pool", pool_chain_to_json(&pool), "cgroup_version",
	                                    a->cg.version));
}

/* PUT /api/v1/vms/{name}/pool {"pool": [chain]}: 200 and the VM. */
void api_vm_pool_put(struct http_req *req)
{
	struct vm *vm = api_vm_or_404(req);
	if (!vm)
		return;
	struct pool_chain pool;
	if (parse_body(req, false, &pool) < 0)
		return;
	struct errinfo e = {0};
	if (vm_set_pool(vm, &pool, &e) < 0)
		api_reply_err(req, &e);
	else
		http_reply_json(req, 200, vm_to_json(vm));
}

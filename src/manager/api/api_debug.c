/* api_debug.c - views for tests and operators of vdcd's own state, for
 * system administrators only. */
#include "api.h"
#include "inventory.h"

/* GET /api/v1/debug/inventory-index: the inventory index placement reads,
 * beside one rebuilt from the store now (see inventory_compare). */
void api_debug_inventory_index(struct http_req *req)
{
	struct mgr *m = http_app(req);
	struct errinfo e = {0};
	json_t *out = inventory_compare(m->st, &e);
	if (!out) {
		mgr_reply_err(req, &e);
		return;
	}
	http_reply_json(req, 200, out);
}

/* api_debug_faults.c - fault injection for tests (see fault_scope.h). The routes
 * answer only when vdcd was started with --fault-injection; otherwise they
 * are 404 to everyone, exactly as a route that does not exist. */
#include "api.h"
#include "auth.h"
#include "fault_scope.h"

#include <string.h>

/* Replies 404 (as for an unknown route) without --fault-injection, 403 to
 * anyone but a system administrator; 0 when the caller may go on. */
static int debug_allowed(struct http_req *req)
{
	if (!fault_scope_enabled()) {
		http_reply_error(req, 404, "not_found", NULL, "no such route: %s %s", http_method(req),
		                 http_route_pattern(req));
		return -1;
	}
	if (mgr_scope(req)) {
		http_reply_error(req, 403, "forbidden", NULL, "only a system administrator may arm faults");
		return -1;
	}
	return 0;
}

void api_debug_faults_get(struct http_req *req)
{
	if (debug_allowed(req) == 0)
		http_reply_json(req, 200, fault_scope_status());
}

void api_debug_faults_arm(struct http_req *req)
{
	if (debug_allowed(req) < 0)
		return;
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	static const char *const keys[] = {"site", "nth", NULL};
	struct jv_err jerr = {0};
	const char *site = NULL;
	int64_t nth = 0;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "site", true, 16, &site, &jerr) < 0 ||
	    jv_int(body, "", "nth", true, 0, 1000000000, &nth, &jerr) < 0 ||
	    (fault_site_parse(site) < 0 &&
	     jv_fail(&jerr, "site", "site must be alloc, store, agent or qmp, not '%s'", site) < 0)) {
		json_decref(body);
		mgr_reply_jv(req, &jerr);
		return;
	}
	/* vdcd has no QMP of its own: a qmp arm belongs to an agent. */
	if (fault_site_parse(site) == FAULT_QMP) {
		json_decref(body);
		http_reply_error(req, 400, "invalid_request", "site",
		                 "vdcd makes no QMP calls: arm qmp on the agent (VDC_FAULT)");
		return;
	}
	fault_scope_arm((enum fault_site)fault_site_parse(site), nth);
	json_decref(body);
	http_reply_json(req, 200, fault_scope_status());
}

/* A VM operation's handler inside the armed operation's scope: the one
 * mgr_routes[] has for this method and pattern. */
static void scoped_handler(struct http_req *req)
{
	const char *method = http_method(req), *pattern = http_route_pattern(req);
	for (size_t i = 0; i < mgr_nroutes; i++) {
		if (strcmp(mgr_routes[i].method, method) || strcmp(mgr_routes[i].pattern, pattern))
			continue;
		fault_scope_request_begin();
		mgr_routes[i].fn(req);
		fault_scope_request_end();
		return;
	}
}

void api_debug_wrap_routes(struct http_route *routes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(routes[i].method, "GET") && !strncmp(routes[i].pattern, "/api/v1/vms", 11))
			routes[i].fn = scoped_handler;
}

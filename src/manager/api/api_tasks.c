/* api_tasks.c - tasks (the state of every long operation) and the audit log. */
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
	/* ?action=PREFIX: only events whose action starts so ("host.ha_":
	 * every HA verdict), as a filter of the store, not of a page. */
	const char *action = http_query(req, "action");
	if (action && (strlen(action) > 64 || strspn(action, "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(action))) {
		http_reply_error(req, 400, "invalid_query", "action",
		                 "action is an event action or its start (letters, digits, '.', '_', '-'; at most 64), "
		                 "such as host.ha_");
		return;
	}
	struct errinfo e = {0};
	char *text = store_events_text_action(m->st, cursor, asc, action, limit, &e);
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

/* POST /api/v1/tasks/{id}/cancel: a queued task is cancelled at once (200,
 * what its request did given back); a running one is asked to stop where
 * its operation allows (202: follow the task to its end, "cancelled"), or
 * refused with 409 saying why it cannot be. */
void api_tasks_cancel(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *task = mgr_get_visible(req, STORE_TASK, http_param(req, "id"));
	if (!task)
		return;
	if (mgr_require_role(req, json_string_value(json_object_get(task, "project_id")), NULL, ROLE_OPERATOR) < 0) {
		json_decref(task);
		return;
	}
	bool queued = !strcmp(json_string_value(json_object_get(task, "state")) ?: "", "queued");
	json_t *now = NULL;
	struct errinfo e = {0};
	int rc = tasks_cancel(m, task, mgr_actor(req), &now, &e);
	json_decref(task);
	if (rc < 0) {
		mgr_reply_err(req, &e);
		return;
	}
	queued = queued && !strcmp(json_string_value(json_object_get(now, "state")) ?: "", "cancelled");
	char loc[96];
	snprintf(loc, sizeof(loc), "/api/v1/tasks/%s", json_string_value(json_object_get(now, "id")));
	http_add_header(req, "Location", loc);
	if (queued)
		http_reply_json(req, 200, json_pack("{s:o}", "task", now));
	else
		http_reply_json(req, 202, json_pack("{s:o, s:s}", "task", now, "message",
		                                    "the task stops at its next cancel point and ends cancelled; "
		                                    "follow it"));
}

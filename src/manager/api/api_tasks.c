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

/* api_console.c - a VM's live consoles. POST /api/v1/vms/{id}/console/ticket
 * gives a ticket (console_ticket.h); GET /api/v1/vms/{id}/console/serial and
 * .../console/vnc are WebSocket handshakes, authenticated by a ticket sent
 * as the subprotocol "vdc-ticket.<ticket>" (browsers) or by an ordinary
 * bearer token (scripts, the CLI), never by anything in the URL. Who may:
 * operators and admins of the VM's project (what the guest shows may be
 * secret, and a console types into the guest: as the console log, viewers
 * may not). The stream itself is console_proxy's. */
#include "api.h"

#include "auth.h"
#include "console_proxy.h"
#include "console_ticket.h"
#include "log.h"
#include "ws_relay.h"

#include <string.h>
#include <strings.h>

/* The route's kind from its pattern ("/api/v1/vms/{id}/console/vnc"). */
static int route_kind(const struct http_req *req, enum console_kind *k)
{
	const char *p = http_route_pattern(req);
	const char *slash = p ? strrchr(p, '/') : NULL;
	return slash && !strncmp(p, "/api/v1/vms/{id}/console/", 25) ? console_kind_parse(slash + 1, k) : -1;
}

/* The ticket the handshake carries in Sec-WebSocket-Protocol, or "". */
static void ticket_of(const struct http_req *req, char out[CONSOLE_TICKET_LEN])
{
	if (ws_header_item(http_header(req, "Sec-WebSocket-Protocol"), CONSOLE_TICKET_PROTOCOL, out,
	                   CONSOLE_TICKET_LEN) < 0)
		out[0] = '\0';
}

int console_ticket_auth(struct mgr *m, struct http_req *req)
{
	enum console_kind route, kind;
	if (route_kind(req, &route) < 0 || strcmp(http_method(req), "GET") != 0)
		return 0;
	char ticket[CONSOLE_TICKET_LEN], vm_id[37];
	ticket_of(req, ticket);
	if (!ticket[0]) {
		http_reply_error(req, 401, "unauthorized", NULL,
		                 "a console stream needs a ticket (POST /api/v1/vms/{id}/console/ticket) sent "
		                 "as the WebSocket subprotocol '%s<ticket>', or 'Authorization: Bearer "
		                 "<token>'; never put either in the URL", CONSOLE_TICKET_PROTOCOL);
		return 0;
	}
	const struct auth_ctx *caller = console_ticket_peek(m, ticket, &kind, vm_id);
	if (!caller) {
		http_reply_error(req, 401, "ticket_invalid", NULL,
		                 "the console ticket is unknown, expired (it lasts %d s) or already used; ask "
		                 "for a new one", CONSOLE_TICKET_TTL_S);
		return 0;
	}
	if (kind != route) {
		http_reply_error(req, 403, "ticket_mismatch", NULL,
		                 "this ticket opens the %s console, not the %s one; ask for a ticket of kind "
		                 "'%s'", console_kind_name(kind), console_kind_name(route), console_kind_name(route));
		return 0;
	}
	((struct auth_ctx *)caller)->refs++;
	http_set_auth_data(req, (void *)caller, auth_ctx_unref);
	return 1;
}

/* The route's VM, if the caller may open its console; NULL after replying. */
static json_t *console_vm(struct http_req *req)
{
	json_t *vm = mgr_get_visible(req, STORE_VM, http_param(req, "id"));
	if (!vm)
		return NULL;
	json_t *cfg = json_object_get(vm, "config");
	if (mgr_require_role(req, json_string_value(json_object_get(vm, "project_id")),
	                     json_string_value(json_object_get(cfg, "project")), ROLE_OPERATOR) < 0) {
		json_decref(vm);
		return NULL;
	}
	return vm;
}

void api_console_ticket(struct http_req *req)
{
	struct mgr *m = http_app(req);
	/* The VM first: someone who may not see it is told 404, whatever the
	 * body. */
	json_t *vm = console_vm(req);
	if (!vm)
		return;
	json_t *body = http_body_json(req, 0);
	if (!body) {
		json_decref(vm);
		return;
	}
	enum console_kind kind;
	json_t *k = json_object_get(body, "kind");
	const char *unknown = NULL;
	json_t *v;
	json_object_foreach(body, unknown, v) {
		if (strcmp(unknown, "kind") != 0)
			break;
		unknown = NULL;
	}
	if (unknown) {
		http_reply_error(req, 400, "invalid_request", unknown, "%s: unknown field; a ticket takes only 'kind'",
		                 unknown);
		json_decref(body);
		json_decref(vm);
		return;
	}
	if (console_kind_parse(json_string_value(k), &kind) < 0) {
		http_reply_error(req, 400, "invalid_request", "kind", "kind: must be 'serial' or 'vnc'");
		json_decref(body);
		json_decref(vm);
		return;
	}
	json_decref(body);
	const char *id = json_string_value(json_object_get(vm, "id"));
	char ticket[CONSOLE_TICKET_LEN], at[32], path[128];
	int64_t expires_at;
	if (console_ticket_issue(m, mgr_caller(req), id, json_string_value(json_object_get(vm, "project_id")),
	                         kind, ticket, &expires_at) < 0) {
		http_reply_error(req, 503, "too_many_tickets", NULL,
		                 "too many console tickets are waiting to be used; try again in %d s",
		                 CONSOLE_TICKET_TTL_S);
		json_decref(vm);
		return;
	}
	mgr_iso_time(expires_at, at);
	snprintf(path, sizeof(path), "/api/v1/vms/%s/console/%s", id, console_kind_name(kind));
	/* The ticket is a secret: the log names the VM and kind only. */
	log_info("console_ticket", "user=%s vm=%s kind=%s", mgr_actor(req), id, console_kind_name(kind));
	http_reply_json(req, 201, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "ticket", ticket, "kind",
	                                    console_kind_name(kind), "expires_at", at, "path", path, "protocol",
	                                    CONSOLE_TICKET_PROTOCOL, "ttl_s", CONSOLE_TICKET_TTL_S));
	json_decref(vm);
}

/* The WebSocket handshake's own checks (RFC 6455 4.2.1); fills accept.
 * -1 after replying. */
static int handshake_ok(struct http_req *req, char accept[29])
{
	const char *up = http_header(req, "Upgrade"), *conn = http_header(req, "Connection");
	const char *ver = http_header(req, "Sec-WebSocket-Version");
	if (!up || strcasecmp(up, "websocket") != 0 || !ws_header_lists(conn, "upgrade", 1)) {
		http_add_header(req, "Upgrade", "websocket");
		http_reply_error(req, 426, "upgrade_required", NULL,
		                 "a console is a WebSocket: send 'Connection: Upgrade' and 'Upgrade: websocket'");
		return -1;
	}
	if (!ver || strcmp(ver, "13") != 0) {
		http_add_header(req, "Sec-WebSocket-Version", "13");
		http_reply_error(req, 426, "upgrade_required", NULL, "only WebSocket version 13 is spoken");
		return -1;
	}
	if (ws_accept_key(http_header(req, "Sec-WebSocket-Key"), accept) < 0) {
		http_reply_error(req, 400, "invalid_request", NULL,
		                 "Sec-WebSocket-Key must be 16 random bytes in base64 (24 characters)");
		return -1;
	}
	return 0;
}

void api_console_stream(struct http_req *req)
{
	struct mgr *m = http_app(req);
	enum console_kind kind;
	char accept[29], ticket[CONSOLE_TICKET_LEN];
	if (route_kind(req, &kind) < 0)
		return;
	/* Who may see the VM first: someone who may not is told 404 whatever
	 * they sent. */
	json_t *vm = console_vm(req);
	if (!vm)
		return;
	if (handshake_ok(req, accept) < 0) {
		json_decref(vm);
		return;
	}
	const char *protos = http_header(req, "Sec-WebSocket-Protocol");
	const char *answer = NULL;
	if (protos) {
		if (!ws_header_lists(protos, "binary", 0)) {
			http_reply_error(req, 400, "invalid_request", NULL,
			                 "offer the 'binary' WebSocket subprotocol (the stream is bytes), as noVNC does");
			json_decref(vm);
			return;
		}
		answer = "binary";
	}
	if (!http_bearer(req)) {
		/* Ticket-authenticated (console_ticket_auth checked it): bound to
		 * this VM, and used up now. */
		enum console_kind tk;
		char vm_id[37];
		ticket_of(req, ticket);
		if (!console_ticket_peek(m, ticket, &tk, vm_id) ||
		    strcmp(vm_id, json_string_value(json_object_get(vm, "id")) ?: "") != 0) {
			http_reply_error(req, 403, "ticket_mismatch", NULL,
			                 "this console ticket is for another VM; ask for one for '%s'",
			                 json_string_value(json_object_get(vm, "name")));
			json_decref(vm);
			return;
		}
		console_ticket_take(m, ticket);
	}
	log_info("console_open", "user=%s vm=%s kind=%s auth=%s", mgr_actor(req),
	         json_string_value(json_object_get(vm, "id")), console_kind_name(kind),
	         http_bearer(req) ? "token" : "ticket");
	console_proxy_open(req, vm, console_kind_name(kind), accept, answer);
	json_decref(vm);
}

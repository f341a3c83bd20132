/* api_stream.c - GET /api/v1/stream: the changes the caller may see, as
 * server-sent events, for as long as the caller stays (live/live_hub.c).
 * Authenticated like every route, by the Authorization header (a browser
 * reads it with fetch(), not EventSource, which cannot send one), never by
 * a token in the URL. */
#include "api.h"
#include "auth.h"
#include "live_hub.h"

void api_stream(struct http_req *req)
{
	struct mgr *m = http_app(req);
	const char *bearer = http_bearer(req);
	char hash[65];
	mgr_sha256_hex(bearer ? bearer : "", hash);
	live_hub_open(m->live, req, mgr_caller(req), hash, http_header(req, "Last-Event-ID"));
}

/* api_ca.c - GET /api/v1/ca: the CA that vdcd's server certificate chains
 * to, and its fingerprint, for anyone to fetch and compare with the one the
 * operator printed (trust comes from the comparison, not from this route). */
#include "api.h"

#include "pki.h"

void api_ca_get(struct http_req *req)
{
	struct mgr *m = http_app(req);
	if (!m->tls) {
		http_reply_error(req, 404, "not_found", NULL,
		                 "vdcd serves plain HTTP (--plain-http): it has no CA to show");
		return;
	}
	http_reply_json(req, 200, json_pack("{s:s, s:s}", "ca_certificate", m->tls->server_ca,
	                                    "fingerprint", m->tls->ca_fingerprint));
}

/* agent_xfer.h - one HTTP exchange with a host's agent as a libcurl easy
 * handle: whom to call (the host's URL and token, from the store), the
 * request, what came back, and what a failure means for the caller.
 * agent_client.c performs it blocking (task workers); agent_async.c runs it
 * in curl multi on the loop thread. */
#ifndef VDC_AGENT_XFER_H
#define VDC_AGENT_XFER_H

#include <curl/curl.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdint.h>

#include "errinfo.h"
#include "store.h"
#include "strbuf.h"

struct agent_xfer {
	CURL *curl;
	struct curl_slist *headers;
	char *payload;
	int upload_fd;
	struct strbuf body;
	const char *hdr_name; /* one reply header wanted, or NULL */
	char hdr_val[128];    /* its value, "" until it comes */
	char host[128];       /* the host's name (or id), for messages */
	char url[1024];       /* the agent's base URL */
	bool injected;        /* a fault test failed this call before it was made */
};

/* Sets x up for METHOD agent_url+path on host_id's agent: a JSON body (may
 * be NULL; not consumed), or with upload_fd >= 0 upload_size bytes read
 * from it. hdr_name (static or outliving x; may be NULL) names a reply
 * header to keep. Reads the host and its token from st (so: on the thread
 * that owns st). 0, or -1 with e (x then needs no agent_xfer_free). */
int agent_xfer_prepare(struct agent_xfer *x, struct store *st, const char *host_id, const char *method,
                       const char *path, const json_t *body, int upload_fd, uint64_t upload_size,
                       long timeout_s, const char *hdr_name, struct errinfo *e);

/* What the transfer ended with (cc): on an HTTP answer 0 with *status,
 * *reply (parsed JSON or NULL), *text (the body, moved out of x, when text
 * is not NULL) and *len (when not NULL). When the agent did not answer -1
 * with e: 504 host_timeout when it timed out, else 502 host_unreachable,
 * naming the host and what to check. */
int agent_xfer_result(struct agent_xfer *x, CURLcode cc, long *status, json_t **reply, char **text,
                      size_t *len, struct errinfo *e);

void agent_xfer_free(struct agent_xfer *x);

#endif

/* agent_client.c - vdcd's blocking calls to agents (task workers): one
 * agent_xfer performed with curl_easy_perform. */
#include "agent_client.h"

#include "agent_xfer.h"
#include "fault.h"

#include <stdint.h>
#include <stdio.h>

const char *agent_error_message(const json_t *reply)
{
	const char *m = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
	return m ? m : "the agent gave no error message";
}

/* One request: a JSON body, or (upload_fd >= 0) a file's bytes streamed;
 * hdr_name (may be NULL) names one reply header wanted in hdr_val,
 * text_len receives the text's length. */
static int agent_request(struct store *st, const char *host_id, const char *method, const char *path,
                         const json_t *body, int upload_fd, uint64_t upload_size, long timeout_s,
                         long *status, json_t **reply, char **text, struct errinfo *e,
                         const char *hdr_name, char *hdr_val, size_t hdr_len, size_t *text_len)
{
	struct agent_xfer x;
	*reply = NULL;
	if (agent_xfer_prepare(&x, st, host_id, method, path, body, upload_fd, upload_size, timeout_s,
	                       hdr_name, e) < 0)
		return -1;
	/* The fault site of calls to agents: a connection that failed, so
	 * nothing reached the host. */
	x.injected = fault_hit(FAULT_AGENT);
	CURLcode cc = x.injected ? CURLE_COULDNT_CONNECT : curl_easy_perform(x.curl);
	int rc = agent_xfer_result(&x, cc, status, reply, text, text_len, e);
	if (hdr_name)
		snprintf(hdr_val, hdr_len, "%s", x.hdr_val);
	agent_xfer_free(&x);
	return rc;
}

int agent_call(struct store *st, const char *host_id, const char *method, const char *path,
               const json_t *body, long timeout_s, long *status, json_t **reply, char **text,
               struct errinfo *e)
{
	return agent_request(st, host_id, method, path, body, -1, 0, timeout_s, status, reply, text, e, NULL,
	                     NULL, 0, NULL);
}

int agent_get_text(struct store *st, const char *host_id, const char *path, long timeout_s,
                   const char *hdr_name, char *hdr_val, size_t hdr_len, long *status, json_t **reply,
                   char **text, size_t *len, struct errinfo *e)
{
	*len = 0;
	hdr_val[0] = '\0';
	return agent_request(st, host_id, "GET", path, NULL, -1, 0, timeout_s, status, reply, text, e, hdr_name,
	                     hdr_val, hdr_len, len);
}

int agent_upload(struct store *st, const char *host_id, const char *path, int fd, uint64_t size,
                 long timeout_s, long *status, json_t **reply, struct errinfo *e)
{
	return agent_request(st, host_id, "PUT", path, NULL, fd, size, timeout_s, status, reply, NULL, e, NULL,
	                     NULL, 0, NULL);
}

/* console_proxy.h - a browser's console WebSocket joined to the VM's agent.
 * Opening one is two steps off the loop: a job connects to the agent (vdcd's
 * client certificate, as every call to agents) and asks it to upgrade
 * "GET /api/v1/vms/NAME/console/KIND" to a raw stream; only when the agent
 * said 101 does the browser get its 101, so a VM that is not running or a
 * host that does not answer is an ordinary HTTP error. Then a job per
 * stream relays WebSocket messages <-> raw bytes (ws_relay.h) until either
 * side closes. At most CONSOLE_MAX_STREAMS streams are open at once. */
#ifndef VDC_CONSOLE_PROXY_H
#define VDC_CONSOLE_PROXY_H

#include <jansson.h>

struct mgr;
struct http_req;

#define CONSOLE_MAX_STREAMS 64

/* Connects req (a checked WebSocket handshake whose caller may open the
 * console) to vm's agent for kind ("serial" or "vnc"); accept is the
 * Sec-WebSocket-Accept value, protocol the subprotocol to answer (NULL:
 * none). Replies to req itself, now (503 at the bound, 502/504 when the
 * host cannot be reached...) or later. */
void console_proxy_open(struct http_req *req, const json_t *vm, const char *kind, const char *accept,
                        const char *protocol);

/* Streams open or opening (for tests and metrics). */
int console_proxy_count(const struct mgr *m);

/* Ends every stream (each browser gets its connection closed) and waits
 * for their jobs; before the HTTP server stops. */
void console_proxy_stop(struct mgr *m);

#endif

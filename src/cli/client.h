/* client.h - the CLI's HTTP client of vdcd (libcurl, one connection kept
 * alive across the requests of a command). */
#ifndef VDC_CLI_CLIENT_H
#define VDC_CLI_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct cli_config;
struct client;

struct client_resp {
	long status;            /* HTTP status; 0 when no response came */
	char *body;             /* NUL-terminated (maybe empty); the caller frees it */
	size_t len;
	char content_type[96];
	char console_offset[32]; /* X-Console-Offset (a console's reply), or "" */
	char error[384];        /* why no response came, when status is 0 */
};

/* A client of cfg->server sending cfg->token as a bearer token. On https it
 * verifies the server with cfg->ca_file alone when set (else the system's
 * CAs), and pins cfg->tls_pin when set. Returns NULL when libcurl cannot
 * start. */
struct client *client_new(const struct cli_config *cfg);
/* Turns verification of the server's certificate off: only to fetch the CA
 * the user is then asked to trust, with a client that has no token. */
void client_trust_any(struct client *cl);
void client_free(struct client *cl);

/* Sends METHOD server+path (path starts with '/', query included) with body
 * (JSON text, or NULL) and waits for the reply. Returns 0 when a reply came,
 * whatever its status; -1 when the server could not be reached or the reply
 * was cut (r->error says why). r is filled in both cases. With $VDC_DEBUG
 * set, each request and status goes to stderr (never the token). */
int client_request(struct client *cl, const char *method, const char *path, const char *body,
                   struct client_resp *r);
void client_resp_free(struct client_resp *r);

/* Called as an upload's bytes go out. */
typedef void (*client_progress_fn)(void *ctx, uint64_t sent, uint64_t total);
/* PUTs size bytes read from fd to server+path, streamed (no overall
 * timeout; a minute without progress ends it); otherwise as
 * client_request. */
int client_upload(struct client *cl, const char *path, int fd, uint64_t size, client_progress_fn progress,
                  void *ctx, struct client_resp *r);

/* Called with each piece of a streamed body as it arrives; returns 0 to
 * go on, -1 to stop (client_stream then returns 0 as for an ended body). */
typedef int (*client_chunk_fn)(void *ctx, const char *data, size_t len);
/* GETs server+path and hands a 2xx body to fn as it arrives, with no
 * overall timeout (a minute without a byte ends it: vdcd's streams send a
 * comment every 15 s), sending Last-Event-ID when last_event_id is not
 * NULL. Returns 0 when the body ended (or fn stopped it), r->status the
 * reply's status (a non-2xx body is kept in r->body, as client_request);
 * -1 when the server could not be reached or the stream was cut
 * (r->error says why). */
int client_stream(struct client *cl, const char *path, const char *last_event_id, client_chunk_fn fn,
                  void *ctx, struct client_resp *r);

/* Percent-encodes s for a path segment or query value. Returns buf; an
 * over-long result is cut at a character boundary. */
char *client_escape(const char *s, char *buf, size_t n);

#endif

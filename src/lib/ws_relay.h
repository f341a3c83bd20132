/* ws_relay.h - the server side of a WebSocket carrying a byte stream (a
 * console): the handshake's checks and answer (RFC 6455 section 4.2), and a
 * blocking relay, for a thread of its own, between the WebSocket (framing
 * by wslay) and a peer that speaks raw bytes. Each binary or text message
 * from the browser goes to the peer as its bytes; what the peer sends goes
 * out as binary messages. */
#ifndef VDC_WS_RELAY_H
#define VDC_WS_RELAY_H

#include <stddef.h>
#include <sys/types.h>

/* The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key:
 * base64(SHA-1(key + the RFC's GUID)). out holds 29 bytes. 0, or -1 for a
 * key that is not 16 bytes in base64. */
int ws_accept_key(const char *client_key, char out[29]);

/* Whether a comma-separated header value (Connection, Sec-WebSocket-Protocol)
 * lists token (case-insensitive for Connection-like lists when nocase). */
int ws_header_lists(const char *value, const char *token, int nocase);

/* The value after prefix of the first item of a comma-separated list that
 * starts with it, copied to out (at most outlen - 1 bytes); 0 when found,
 * -1 when absent or longer than out. */
int ws_header_item(const char *value, const char *prefix, char *out, size_t outlen);

/* The raw side. recv/send return bytes moved, 0 at EOF (recv), -EAGAIN
 * when the fd is not ready, or another -errno. fd is what to poll. */
struct ws_peer {
	int fd;
	ssize_t (*recv)(void *ctx, void *buf, size_t n);
	ssize_t (*send)(void *ctx, const void *buf, size_t n);
	void *ctx;
};

/* How the relay writes to the WebSocket, when not with write(2) on its fd:
 * write_all(ctx, ...) writes all of buf or fails (-errno), giving up when
 * stop_fd is readable; http_upgraded_write_all is one. */
struct ws_sink {
	int (*write_all)(void *ctx, const void *buf, size_t len, int stop_fd);
	void *ctx;
};

/* Relays between the upgraded connection ws_fd (written through sink when
 * not NULL) (extra: bytes already read
 * from it) and peer until either closes, a protocol error, stop_fd (-1:
 * none) becomes readable, or hup_fd (-1: none; polled for POLLRDHUP only,
 * see http_upgraded_peer_fd) says the browser went away. A closing peer is told to the browser with a
 * close frame (1000). Closes neither fd. 0 at a normal end, -errno or -1. */
int ws_relay_run(int ws_fd, const struct ws_sink *sink, const char *extra, size_t extra_len,
                 const struct ws_peer *peer, int stop_fd, int hup_fd);

#endif

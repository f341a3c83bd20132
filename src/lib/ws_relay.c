/* ws_relay.c - handshake helpers and the relay. The relay is one poll()
 * loop over the WebSocket fd, the peer's fd and the stop fd, wslay's event
 * API doing the framing (masks, fragments, pings, the close handshake).
 * What the peer sends is only read while wslay has little queued, so a
 * browser that does not read slows the console down instead of growing
 * vdcd's memory. */
#include "ws_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <poll.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <wslay/wslay.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define PEER_BUF (16 * 1024)
#define MAX_QUEUED_MSGS 64
#define MAX_MSG (1u << 20)

int ws_accept_key(const char *client_key, char out[29])
{
	unsigned char raw[32];
	size_t rawlen = 0;
	if (!client_key || strlen(client_key) != 24 ||
	    sodium_base642bin(raw, sizeof(raw), client_key, 24, NULL, &rawlen, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    rawlen != 16)
		return -1;
	char cat[64];
	int n = snprintf(cat, sizeof(cat), "%s%s", client_key, WS_GUID);
	unsigned char sha[20];
	if (gnutls_hash_fast(GNUTLS_DIG_SHA1, cat, (size_t)n, sha) < 0)
		return -1;
	sodium_bin2base64(out, 29, sha, sizeof(sha), sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

/* Walks the items of a comma-separated list, trimmed; fn returns 1 to stop. */
static int each_item(const char *value, int (*fn)(const char *item, size_t len, void *arg), void *arg)
{
	const char *p = value;
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *s = p;
		while (len && (*s == ' ' || *s == '\t'))
			s++, len--;
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (fn(s, len, arg))
			return 1;
		p = end ? end + 1 : NULL;
	}
	return 0;
}

struct find {
	const char *token;
	int nocase;
	char *out;
	size_t outlen;
	int found;
};

static int is_token(const char *item, size_t len, void *arg)
{
	struct find *f = arg;
	size_t tl = strlen(f->token);
	return len == tl && (f->nocase ? !strncasecmp(item, f->token, tl) : !strncmp(item, f->token, tl));
}

int ws_header_lists(const char *value, const char *token, int nocase)
{
	struct find f = {.token = token, .nocase = nocase};
	return each_item(value, is_token, &f);
}

static int has_prefix(const char *item, size_t len, void *arg)
{
	struct find *f = arg;
	size_t pl = strlen(f->token);
	if (len < pl || strncmp(item, f->token, pl) != 0)
		return 0;
	if (len - pl >= f->outlen)
		return 1; /* found, too long: refused */
	memcpy(f->out, item + pl, len - pl);
	f->out[len - pl] = '\0';
	f->found = 1;
	return 1;
}

int ws_header_item(const char *value, const char *prefix, char *out, size_t outlen)
{
	struct find f = {.token = prefix, .out = out, .outlen = outlen};
	each_item(value, has_prefix, &f);
	return f.found ? 0 : -1;
}

/* ---- the relay ---- */

struct relay {
	int fd;
	const struct ws_sink *sink;
	const char *extra;
	size_t extra_len;
	const struct ws_peer *peer;
	int stop_fd;
	int failed; /* the peer refused a write: end */
};

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
	struct relay *r = user;
	if (r->extra_len) {
		size_t n = r->extra_len < len ? r->extra_len : len;
		memcpy(buf, r->extra, n);
		r->extra += n;
		r->extra_len -= n;
		return (ssize_t)n;
	}
	ssize_t n;
	while ((n = read(r->fd, buf, len)) < 0 && errno == EINTR)
		;
	if (n < 0 && errno == EAGAIN) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return n;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
	struct relay *r = user;
	if (r->sink) {
		if (r->sink->write_all(r->sink->ctx, data, len, r->stop_fd) < 0) {
			wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
			return -1;
		}
		return (ssize_t)len;
	}
	ssize_t n;
	while ((n = write(r->fd, data, len)) < 0 && errno == EINTR)
		;
	if (n < 0) {
		wslay_event_set_error(ctx, errno == EAGAIN ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return n;
}

/* Writes all of buf to the peer, waiting for it (or the stop fd). */
static int peer_send_all(struct relay *r, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = r->peer->send(r->peer->ctx, buf, len);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n != -EAGAIN)
			return -1;
		struct pollfd pf[2] = {{.fd = r->peer->fd, .events = POLLOUT}, {.fd = r->stop_fd, .events = POLLIN}};
		if (poll(pf, r->stop_fd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			return -1;
		if (r->stop_fd >= 0 && (pf[1].revents & POLLIN))
			return -1;
	}
	return 0;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
	struct relay *r = user;
	if (wslay_is_ctrl_frame(arg->opcode))
		return; /* pings are answered and closes handled by wslay */
	if (!r->failed && peer_send_all(r, arg->msg, arg->msg_length) < 0)
		r->failed = 1;
}

/* Reads what the peer has into binary messages: 1 when it has no more for
 * now, 2 when it may have more (stopped at the queue's bound), 0 at EOF. */
static int from_peer(struct relay *r, wslay_event_context_ptr ctx)
{
	static __thread uint8_t buf[PEER_BUF];
	while (wslay_event_get_queued_msg_count(ctx) < MAX_QUEUED_MSGS) {
		ssize_t n = r->peer->recv(r->peer->ctx, buf, sizeof(buf));
		if (n == -EAGAIN)
			return 1;
		if (n <= 0)
			return 0;
		struct wslay_event_msg m = {WSLAY_BINARY_FRAME, buf, (size_t)n};
		if (wslay_event_queue_msg(ctx, &m) != 0) /* wslay copies the bytes */
			return 0;
	}
	return 2;
}

int ws_relay_run(int ws_fd, const struct ws_sink *sink, const char *extra, size_t extra_len,
                 const struct ws_peer *peer, int stop_fd, int hup_fd)
{
	struct relay r = {.fd = ws_fd, .sink = sink, .extra = extra, .extra_len = extra_len, .peer = peer, .stop_fd = stop_fd};
	struct wslay_event_callbacks cb = {.recv_callback = on_recv, .send_callback = on_send,
	                                   .on_msg_recv_callback = on_msg};
	wslay_event_context_ptr ctx;
	if (wslay_event_context_server_init(&ctx, &cb, &r) != 0)
		return -ENOMEM;
	wslay_event_config_set_max_recv_msg_length(ctx, MAX_MSG);
	fcntl(ws_fd, F_SETFL, fcntl(ws_fd, F_GETFL) | O_NONBLOCK);
	int rc = 0, peer_open = 1;
	/* The peer's side may hold bytes already (read with its answer, or
	 * kept by its TLS layer where poll() does not see them): it is read
	 * again without waiting while it may have more. */
	int peer_more = 1;
	if (extra_len && wslay_event_recv(ctx) != 0)
		rc = -1;
	while (rc == 0 && !r.failed && (wslay_event_want_read(ctx) || wslay_event_want_write(ctx))) {
		int reading_peer = peer_open && wslay_event_get_queued_msg_count(ctx) < MAX_QUEUED_MSGS;
		struct pollfd pf[4] = {
		    {.fd = ws_fd, .events = (short)((wslay_event_want_read(ctx) ? POLLIN : 0) |
		                                    (wslay_event_want_write(ctx) ? POLLOUT : 0))},
		    {.fd = reading_peer ? peer->fd : -1, .events = POLLIN},
		    {.fd = stop_fd, .events = POLLIN},
		    {.fd = hup_fd, .events = POLLRDHUP}};
		if (poll(pf, 4, reading_peer && peer_more ? 0 : -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (pf[2].revents || pf[3].revents)
			break;
		if ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) && wslay_event_recv(ctx) != 0)
			break; /* the browser went away or broke the protocol */
		if (reading_peer && (peer_more || pf[1].revents)) {
			int got = from_peer(&r, ctx);
			peer_more = got == 2;
			if (!got) {
				peer_open = 0;
				wslay_event_queue_close(ctx, WSLAY_CODE_NORMAL_CLOSURE, (const uint8_t *)"console closed",
				                        14);
			}
		}
		if (wslay_event_want_write(ctx) && wslay_event_send(ctx) != 0)
			break;
	}
	wslay_event_context_free(ctx);
	return rc;
}

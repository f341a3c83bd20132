/* ws-console - a small WebSocket client for vdcd's console streams, for the
 * integration test (tests/integration/t_console.sh) and the serial echo
 * benchmark. It connects over HTTPS (libcurl, CONNECT_ONLY), sends the
 * handshake itself, checks Sec-WebSocket-Accept, and speaks the framing
 * with wslay, as a browser would.
 *
 *   ws-console URL [options] MODE
 *     --cacert FILE       the CA vdcd's certificate chains to
 *     --token T           Authorization: Bearer T (scripts)
 *     --ticket T          the ticket as subprotocol "vdc-ticket.T" (browsers)
 *     --protocols LIST    Sec-WebSocket-Protocol as given (overrides the above's)
 *     --timeout S         for the whole run (default 20)
 *   MODE:
 *     handshake           prints "status N" (and the error body); exit 0 on 101
 *     serial SEND EXPECT  types SEND (\n, \r escapes), prints what came until
 *                         EXPECT was seen (exit 0), or exit 1 at the timeout
 *     watch EXPECT        prints what comes until EXPECT (exit 0) or timeout
 *     vnc [WxH]           RFB handshake as a shared client, one (full-screen)
 *                         raw update: prints "rfb VERSION", "screen WxH",
 *                         "colors N" (distinct pixel values seen)
 *     echo N              N single keys, each timed from send to its echo;
 *                         prints "figure serial_echo_ms MEDIAN ms" and more
 */
#include "ws_relay.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wslay/wslay.h>

static CURL *curl;
static curl_socket_t sock;
static wslay_event_context_ptr ws;
static char *pending; /* bytes read with the answer head */
static size_t pending_len;
static unsigned char *rx; /* everything received, as bytes */
static size_t rx_len, rx_cap;
static double deadline;
static int closed;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *msg)
{
	fprintf(stderr, "ws-console: %s\n", msg);
	exit(2);
}

static int wait_sock(short ev, double until)
{
	double left = until - now_s();
	if (left <= 0)
		return -1;
	struct pollfd pf = {.fd = sock, .events = ev};
	return poll(&pf, 1, (int)(left * 1000) + 1) > 0 ? 0 : -1;
}

static void send_all(const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		size_t n = 0;
		CURLcode cc = curl_easy_send(curl, p, len, &n);
		if (cc == CURLE_AGAIN) {
			if (wait_sock(POLLOUT, deadline) < 0)
				die("timed out sending");
			continue;
		}
		if (cc != CURLE_OK)
			die(curl_easy_strerror(cc));
		p += n;
		len -= n;
	}
}

static ssize_t on_recv(wslay_event_context_ptr c, uint8_t *buf, size_t len, int flags, void *u)
{
	if (pending_len) {
		size_t n = pending_len < len ? pending_len : len;
		memcpy(buf, pending, n);
		memmove(pending, pending + n, pending_len - n);
		pending_len -= n;
		return (ssize_t)n;
	}
	size_t n = 0;
	CURLcode cc = curl_easy_recv(curl, buf, len, &n);
	if (cc == CURLE_AGAIN) {
		wslay_event_set_error(c, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (cc != CURLE_OK || n == 0) {
		wslay_event_set_error(c, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)n;
}

static ssize_t on_send(wslay_event_context_ptr c, const uint8_t *data, size_t len, int flags, void *u)
{
	size_t n = 0;
	CURLcode cc = curl_easy_send(curl, data, len, &n);
	if (cc == CURLE_AGAIN) {
		wslay_event_set_error(c, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (cc != CURLE_OK) {
		wslay_event_set_error(c, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)n;
}

static int on_mask(wslay_event_context_ptr c, uint8_t *buf, size_t len, void *u)
{
	randombytes_buf(buf, len);
	return 0;
}

static void on_msg(wslay_event_context_ptr c, const struct wslay_event_on_msg_recv_arg *arg, void *u)
{
	if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
		closed = 1;
		return;
	}
	if (wslay_is_ctrl_frame(arg->opcode))
		return;
	if (rx_len + arg->msg_length + 1 > rx_cap) {
		rx_cap = (rx_len + arg->msg_length + 1) * 2;
		if (!(rx = realloc(rx, rx_cap)))
			die("out of memory");
	}
	memcpy(rx + rx_len, arg->msg, arg->msg_length);
	rx_len += arg->msg_length;
	rx[rx_len] = 0;
}

/* Reads frames until something new came (or until). 0, or -1 at the
 * deadline or a closed stream. */
static int pump(double until)
{
	size_t before = rx_len;
	while (rx_len == before) {
		if (closed)
			return -1;
		if (wslay_event_want_write(ws) && wslay_event_send(ws) != 0)
			return -1;
		/* Read before waiting: the TLS layer may hold bytes that poll()
		 * cannot see (a record larger than wslay's read). */
		if (wslay_event_recv(ws) != 0)
			return -1;
		if (rx_len != before || closed)
			break;
		if (wait_sock(POLLIN, until) < 0)
			return -1;
	}
	return 0;
}

static void ws_write(const void *buf, size_t len)
{
	struct wslay_event_msg m = {WSLAY_BINARY_FRAME, buf, len};
	if (wslay_event_queue_msg(ws, &m) != 0)
		die("cannot queue a message");
	while (wslay_event_want_write(ws)) {
		if (wslay_event_send(ws) != 0)
			die("send failed");
		if (wslay_event_want_write(ws) && wait_sock(POLLOUT, deadline) < 0)
			die("timed out sending");
	}
}

/* Waits until rx holds n bytes from offset off. */
static const unsigned char *need(size_t off, size_t n)
{
	while (rx_len < off + n)
		if (pump(deadline) < 0)
		{
			fprintf(stderr, "ws-console: had %zu bytes, wanted %zu\n", rx_len, off + n);
			die("the stream ended or timed out before the bytes expected");
		}
	return rx + off;
}

static const char *unescape(const char *s)
{
	char *o = malloc(strlen(s) + 1), *p = o;
	for (; *s; s++) {
		if (*s == '\\' && s[1] == 'n')
			*p++ = '\n', s++;
		else if (*s == '\\' && s[1] == 'r')
			*p++ = '\r', s++;
		else
			*p++ = *s;
	}
	*p = 0;
	return o;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int mode_vnc(unsigned want_w, unsigned want_h)
{
	const unsigned char *v = need(0, 12);
	printf("rfb %.11s\n", (const char *)v);
	if (memcmp(v, "RFB 003.", 8) != 0)
		return 1;
	ws_write("RFB 003.008\n", 12);
	size_t off = 12;
	unsigned nsec = need(off, 1)[0];
	off++;
	if (nsec == 0)
		die("the server refused the RFB session");
	const unsigned char *types = need(off, nsec);
	int none = 0;
	for (unsigned i = 0; i < nsec; i++)
		none |= types[i] == 1;
	off += nsec;
	if (!none)
		die("the server offers no 'None' security");
	ws_write("\x01", 1);
	const unsigned char *res = need(off, 4);
	off += 4;
	if (res[0] | res[1] | res[2] | res[3])
		die("security handshake failed");
	ws_write("\x01", 1); /* ClientInit: shared */
	const unsigned char *si = need(off, 24);
	unsigned w = (unsigned)(si[0] << 8 | si[1]), h = (unsigned)(si[2] << 8 | si[3]);
	unsigned bpp = si[4];
	uint32_t nlen = (uint32_t)si[20] << 24 | (uint32_t)si[21] << 16 | (uint32_t)si[22] << 8 | si[23];
	off += 24;
	need(off, nlen);
	printf("screen %ux%u bpp=%u name=%.*s\n", w, h, bpp, (int)nlen, (const char *)rx + off);
	off += nlen;
	/* 8 bits a pixel (BGR233), so that a whole raw screen is a quarter of
	 * the server's 32, then Raw only, then a non-incremental update. */
	unsigned char pf[20] = {0, 0, 0, 0, 8, 8, 0, 1, 0, 7, 0, 7, 0, 3, 0, 3, 6, 0, 0, 0};
	ws_write(pf, sizeof(pf));
	bpp = 8;
	unsigned char enc[] = {2, 0, 0, 1, 0, 0, 0, 0};
	ws_write(enc, sizeof(enc));
	if (want_w && want_w < w)
		w = want_w;
	if (want_h && want_h < h)
		h = want_h;
	unsigned char fur[] = {3, 0, 0, 0, 0, 0, (unsigned char)(w >> 8), (unsigned char)w, (unsigned char)(h >> 8),
	                       (unsigned char)h};
	ws_write(fur, sizeof(fur));
	const unsigned char *hd = need(off, 4);
	if (hd[0] != 0)
		die("expected a FramebufferUpdate");
	unsigned nrect = (unsigned)(hd[2] << 8 | hd[3]);
	off += 4;
	unsigned bytespp = bpp / 8;
	uint32_t seen[64];
	unsigned nseen = 0;
	size_t pixels = 0;
	for (unsigned r = 0; r < nrect; r++) {
		const unsigned char *rh = need(off, 12);
		unsigned rw = (unsigned)(rh[4] << 8 | rh[5]), rhh = (unsigned)(rh[6] << 8 | rh[7]);
		int32_t e = (int32_t)((uint32_t)rh[8] << 24 | (uint32_t)rh[9] << 16 | (uint32_t)rh[10] << 8 | rh[11]);
		off += 12;
		if (e != 0)
			die("the server sent an encoding other than Raw");
		size_t n = (size_t)rw * rhh * bytespp;
		const unsigned char *px = need(off, n);
		for (size_t i = 0; i < (size_t)rw * rhh; i++) {
			uint32_t val = 0;
			memcpy(&val, px + i * bytespp, bytespp < 4 ? bytespp : 4);
			unsigned k;
			for (k = 0; k < nseen && seen[k] != val; k++)
				;
			if (k == nseen && nseen < 64)
				seen[nseen++] = val;
		}
		pixels += (size_t)rw * rhh;
		off += n;
	}
	printf("rects %u pixels %zu colors %u\n", nrect, pixels, nseen);
	return 0;
}

static int mode_echo(int n)
{
	double *t = calloc((size_t)n, sizeof(double));
	/* Settle: a fresh line first, and let the prompt come. */
	ws_write("\n", 1);
	pump(now_s() + 1.0);
	while (pump(now_s() + 0.3) == 0)
		;
	for (int i = 0; i < n; i++) {
		size_t before = rx_len;
		double t0 = now_s();
		ws_write("x", 1);
		while (!memchr(rx + before, 'x', rx_len - before))
			if (pump(deadline) < 0)
				die("no echo came back");
		t[i] = (now_s() - t0) * 1000.0;
	}
	ws_write("\025\n", 2); /* kill the line of x's, then a fresh prompt */
	qsort(t, (size_t)n, sizeof(double), cmp_double);
	printf("figure serial_echo_ms %.2f ms\n", t[n / 2]);
	printf("figure serial_echo_p95_ms %.2f ms\n", t[(n * 95) / 100 < n ? (n * 95) / 100 : n - 1]);
	printf("figure serial_echo_max_ms %.2f ms\n", t[n - 1]);
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	const char *url = NULL, *cacert = NULL, *token = NULL, *ticket = NULL, *protocols = NULL, *mode = NULL;
	double timeout = 20;
	int i;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cacert") && i + 1 < argc)
			cacert = argv[++i];
		else if (!strcmp(argv[i], "--token") && i + 1 < argc)
			token = argv[++i];
		else if (!strcmp(argv[i], "--ticket") && i + 1 < argc)
			ticket = argv[++i];
		else if (!strcmp(argv[i], "--protocols") && i + 1 < argc)
			protocols = argv[++i];
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout = atof(argv[++i]);
		else if (!url)
			url = argv[i];
		else {
			mode = argv[i++];
			break;
		}
	}
	if (!url || !mode)
		die("usage: ws-console URL [--cacert F] [--token T] [--ticket T] [--protocols P] [--timeout S] "
		    "handshake|serial SEND EXPECT|watch EXPECT|vnc|echo N");
	if (sodium_init() < 0)
		die("libsodium");
	deadline = now_s() + timeout;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Where to connect: scheme://host:port, then the path. */
	const char *p = strstr(url, "://");
	const char *path = p ? strchr(p + 3, '/') : NULL;
	if (!path)
		die("the URL needs a path");
	char base[512];
	snprintf(base, sizeof(base), "%.*s", (int)(path - url), url);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();
	curl_easy_setopt(curl, CURLOPT_URL, base);
	curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
	if (cacert)
		curl_easy_setopt(curl, CURLOPT_CAINFO, cacert);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
	CURLcode cc = curl_easy_perform(curl);
	if (cc != CURLE_OK)
		die(curl_easy_strerror(cc));
	curl_easy_getinfo(curl, CURLINFO_ACTIVESOCKET, &sock);
	/* The handshake. */
	unsigned char raw[16];
	char key[25], want[29], proto[600] = "", auth[600] = "", req[2048];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(key, sizeof(key), raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	ws_accept_key(key, want);
	if (protocols)
		snprintf(proto, sizeof(proto), "Sec-WebSocket-Protocol: %s\r\n", protocols);
	else if (ticket)
		snprintf(proto, sizeof(proto), "Sec-WebSocket-Protocol: binary, vdc-ticket.%s\r\n", ticket);
	if (token)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
	int rl = snprintf(req, sizeof(req),
	                  "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	                  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s%s\r\n",
	                  path, base + (p - url) + 3, key, proto, auth);
	send_all(req, (size_t)rl);
	char head[16384];
	size_t hl = 0;
	char *end = NULL;
	while (!end) {
		size_t n = 0;
		cc = curl_easy_recv(curl, head + hl, sizeof(head) - 1 - hl, &n);
		if (cc == CURLE_AGAIN) {
			if (wait_sock(POLLIN, deadline) < 0)
				die("no answer to the handshake");
			continue;
		}
		if (cc != CURLE_OK || n == 0)
			die("the connection closed during the handshake");
		hl += n;
		head[hl] = 0;
		end = strstr(head, "\r\n\r\n");
		if (!end && hl >= sizeof(head) - 1)
			die("answer head too large");
	}
	int status = 0;
	sscanf(head, "HTTP/1.%*d %d", &status);
	printf("status %d\n", status);
	if (status != 101) {
		/* The error body, for the test to read (it may come after). */
		char *body = end + 4;
		while (!strchr(body, '}') && wait_sock(POLLIN, now_s() + 1) == 0) {
			size_t n = 0;
			if (curl_easy_recv(curl, head + hl, sizeof(head) - 1 - hl, &n) != CURLE_OK || !n)
				break;
			hl += n;
			head[hl] = 0;
		}
		printf("%s\n", body);
		return 1;
	}
	*end = 0;
	char acc[64] = "";
	const char *a = strcasestr(head, "\r\nSec-WebSocket-Accept:");
	if (a)
		sscanf(a + 23, " %63[^\r\n]", acc);
	if (strcmp(acc, want) != 0)
		die("Sec-WebSocket-Accept does not match the key");
	const char *sp = strcasestr(head, "\r\nSec-WebSocket-Protocol:");
	if (sp) {
		char got[64] = "";
		sscanf(sp + 25, " %63[^\r\n]", got);
		printf("protocol %s\n", got);
	}
	pending_len = hl - (size_t)(end + 4 - head);
	pending = malloc(pending_len + 1);
	memcpy(pending, end + 4, pending_len);
	struct wslay_event_callbacks cb = {.recv_callback = on_recv, .send_callback = on_send,
	                                   .genmask_callback = on_mask, .on_msg_recv_callback = on_msg};
	wslay_event_context_client_init(&ws, &cb, NULL);
	int rc = 0;
	if (!strcmp(mode, "handshake")) {
		rc = 0;
	} else if (!strcmp(mode, "serial") && i + 1 < argc) {
		const char *send = unescape(argv[i]), *expect = argv[i + 1];
		ws_write(send, strlen(send));
		free((void *)send);
		while (!rx || !strstr((char *)rx, expect))
			if (pump(deadline) < 0)
				break;
		rc = rx && strstr((char *)rx, expect) ? 0 : 1;
		fwrite(rx ? (char *)rx : "", 1, rx_len, stdout);
		printf("\n");
	} else if (!strcmp(mode, "watch") && i < argc) {
		const char *expect = argv[i];
		printf("ready\n"); /* the test types elsewhere once it sees this */
		while (!rx || !strstr((char *)rx, expect))
			if (pump(deadline) < 0)
				break;
		rc = rx && strstr((char *)rx, expect) ? 0 : 1;
		fwrite(rx ? (char *)rx : "", 1, rx_len, stdout);
		printf("\n");
	} else if (!strcmp(mode, "vnc")) {
		unsigned rw = 0, rh = 0;
		if (i < argc)
			sscanf(argv[i], "%ux%u", &rw, &rh);
		rc = mode_vnc(rw, rh);
	} else if (!strcmp(mode, "echo") && i < argc) {
		rc = mode_echo(atoi(argv[i]) > 0 ? atoi(argv[i]) : 50);
	} else {
		die("unknown mode");
	}
	wslay_event_queue_close(ws, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
	wslay_event_send(ws);
	wslay_event_context_free(ws);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	free(pending);
	free(rx);
	return rc;
}

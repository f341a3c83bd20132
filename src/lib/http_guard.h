/* http_guard.h - decisions on a request's head made before it is routed:
 * message framing (RFC 9112 request smuggling), encoded separators in the
 * raw path, and UTF-8 in the decoded path. Pure functions; http.c applies
 * them to every request of both daemons. */
#ifndef VDC_HTTP_GUARD_H
#define VDC_HTTP_GUARD_H

#include <stddef.h>

/* What the head says about the body's framing. */
struct http_framing {
	int n_content_length;       /* Content-Length header lines */
	int n_transfer_encoding;    /* Transfer-Encoding header lines */
	char transfer_encoding[96]; /* their values joined with ", " (may be cut) */
};

/* Adds one header line to f (name case-insensitive). */
void http_framing_add(struct http_framing *f, const char *name, const char *value);

/* 0 when the framing is unambiguous; else the status to answer (400 for
 * Content-Length with Transfer-Encoding or two Content-Length lines, even
 * equal ones; 501 for a Transfer-Encoding other than "chunked"), with
 * *code and msg filled. Such a connection must be closed after the reply. */
unsigned http_guard_framing(const struct http_framing *f, const char **code, char *msg,
                            size_t msglen);

/* 0 when the raw (still encoded) request target's path is acceptable; else
 * 400 with msg naming what was found: "%2f"/"%2F" (a '/' inside a segment)
 * or "%00" (a NUL). The query string is not looked at. */
unsigned http_guard_raw_path(const char *raw_uri, char *msg, size_t msglen);

/* 1 when s is valid UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF), 0 otherwise. */
int http_utf8_valid(const char *s);

#endif

/* http_guard.c - checks on a request's head before routing: ambiguous body
 * framing (a smuggled second request rides on it), '/' and NUL hidden as
 * %2f and %00 in the path, invalid UTF-8 in the decoded path. */
#include "http_guard.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void http_framing_add(struct http_framing *f, const char *name, const char *value)
{
	if (!strcasecmp(name, "Content-Length")) {
		f->n_content_length++;
	} else if (!strcasecmp(name, "Transfer-Encoding")) {
		size_t used = strlen(f->transfer_encoding);
		snprintf(f->transfer_encoding + used, sizeof(f->transfer_encoding) - used, "%s%s",
		         f->n_transfer_encoding ? ", " : "", value ? value : "");
		f->n_transfer_encoding++;
	}
}

/* 1 when te is exactly the token "chunked" (case-insensitive, optional
 * surrounding spaces). */
static int only_chunked(const char *te)
{
	while (*te == ' ' || *te == '\t')
		te++;
	size_t n = strlen(te);
	while (n && (te[n - 1] == ' ' || te[n - 1] == '\t'))
		n--;
	return n == 7 && !strncasecmp(te, "chunked", 7);
}

unsigned http_guard_framing(const struct http_framing *f, const char **code, char *msg,
                            size_t msglen)
{
	if (f->n_content_length && f->n_transfer_encoding) {
		*code = "ambiguous_framing";
		snprintf(msg, msglen, "the request has both Content-Length and Transfer-Encoding; "
		                      "send only one of them (RFC 9112, section 6.1)");
		return 400;
	}
	if (f->n_content_length > 1) {
		*code = "ambiguous_framing";
		snprintf(msg, msglen, "the request has %d Content-Length headers; send exactly one",
		         f->n_content_length);
		return 400;
	}
	if (f->n_transfer_encoding && !only_chunked(f->transfer_encoding)) {
		*code = "unsupported_transfer_encoding";
		snprintf(msg, msglen, "Transfer-Encoding '%s' is not supported; send the body with "
		                      "Content-Length or 'Transfer-Encoding: chunked'",
		         f->transfer_encoding);
		return 501;
	}
	return 0;
}

unsigned http_guard_raw_path(const char *raw_uri, char *msg, size_t msglen)
{
	for (const char *p = raw_uri; *p && *p != '?' && *p != '#'; p++) {
		if (*p != '%')
			continue;
		if (p[1] == '2' && (p[2] == 'f' || p[2] == 'F')) {
			snprintf(msg, msglen, "the path holds an encoded '/' (%%%c%c): a path segment may "
			                      "not contain '/'", p[1], p[2]);
			return 400;
		}
		if (p[1] == '0' && p[2] == '0') {
			snprintf(msg, msglen, "the path holds an encoded NUL (%%00): names may not "
			                      "contain NUL bytes");
			return 400;
		}
	}
	return 0;
}

int http_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p, need;
		unsigned cp;
		if (c < 0x80) {
			p++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		for (unsigned i = 1; i <= need; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		p += need + 1;
	}
	return 1;
}

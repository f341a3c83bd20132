/* sse.c - lines ending in LF, CR or CRLF; "field: value" (one space after
 * the colon dropped); a line starting with ':' is a comment; a blank line
 * dispatches the event gathered, if it has data. */
#include "sse.h"

#include <stdio.h>
#include <string.h>

void sse_init(struct sse_parser *p, sse_event_fn fn, void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->fn = fn;
	p->ctx = ctx;
}

void sse_free(struct sse_parser *p)
{
	strbuf_free(&p->line);
	strbuf_free(&p->data);
}

static int dispatch(struct sse_parser *p)
{
	if (p->has_id)
		snprintf(p->id, sizeof(p->id), "%s", p->pending_id);
	p->has_id = 0;
	int rc = 0;
	if (p->has_data) {
		struct sse_event ev = {p->id, p->event[0] ? p->event : "message", p->data.p ? p->data.p : ""};
		rc = p->fn(p->ctx, &ev);
	}
	strbuf_free(&p->data);
	p->has_data = 0;
	p->event[0] = '\0';
	return rc;
}

static int field(struct sse_parser *p, const char *line, size_t len)
{
	if (len == 0)
		return dispatch(p);
	if (line[0] == ':')
		return 0;
	const char *colon = memchr(line, ':', len);
	size_t nlen = colon ? (size_t)(colon - line) : len;
	const char *v = colon ? colon + 1 : line + len;
	size_t vlen = len - nlen - (colon ? 1 : 0);
	if (vlen && *v == ' ')
		v++, vlen--;
	if (nlen == 5 && !memcmp(line, "event", 5)) {
		snprintf(p->event, sizeof(p->event), "%.*s", (int)vlen, v);
	} else if (nlen == 4 && !memcmp(line, "data", 4)) {
		if ((p->has_data && strbuf_add(&p->data, "\n", 1) < 0) || strbuf_add(&p->data, v, vlen) < 0 ||
		    strbuf_add(&p->data, "", 0) < 0)
			return -1;
		p->has_data = 1;
	} else if (nlen == 2 && !memcmp(line, "id", 2) && !memchr(v, '\0', vlen)) {
		snprintf(p->pending_id, sizeof(p->pending_id), "%.*s", (int)vlen, v);
		p->has_id = 1;
	}
	return 0; /* retry and unknown fields: nothing to do here */
}

int sse_feed(struct sse_parser *p, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char ch = data[i];
		if (p->skip_lf) {
			p->skip_lf = 0;
			if (ch == '\n')
				continue;
		}
		if (ch == '\r' || ch == '\n') {
			p->skip_lf = ch == '\r';
			int rc = field(p, p->line.p ? p->line.p : "", p->line.len);
			strbuf_free(&p->line);
			if (rc < 0)
				return -1;
			continue;
		}
		if (strbuf_add(&p->line, &ch, 1) < 0)
			return -1;
	}
	return 0;
}

/* sse.h - a parser of server-sent events (text/event-stream, as the HTML
 * standard defines it): bytes in, whole events out. Pure. */
#ifndef VDC_CLI_SSE_H
#define VDC_CLI_SSE_H

#include <stddef.h>

#include "strbuf.h"

struct sse_event {
	const char *id;    /* the last id seen on the stream ("" for none) */
	const char *event; /* "message" when the event named none */
	const char *data;  /* data lines joined by "\n" */
};

/* Called per event; returns 0 to go on, -1 to stop. */
typedef int (*sse_event_fn)(void *ctx, const struct sse_event *ev);

struct sse_parser {
	struct strbuf line;  /* the line being read */
	struct strbuf data;
	char event[64];
	char id[128];        /* as dispatched: sticks until another id line */
	char pending_id[128];
	int has_data, has_id;
	int skip_lf;         /* the last line ended with CR: a LF next is its end too */
	sse_event_fn fn;
	void *ctx;
};

void sse_init(struct sse_parser *p, sse_event_fn fn, void *ctx);
/* Feeds bytes. Returns 0, or -1 when fn stopped (or memory ran out). */
int sse_feed(struct sse_parser *p, const char *data, size_t len);
void sse_free(struct sse_parser *p);

#endif

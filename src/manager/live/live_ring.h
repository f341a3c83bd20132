/* live_ring.h - the recent changes live streams send, as ready-made
 * server-sent-event frames, each with an id and who may see it. Bounded
 * by count and bytes: the oldest go first, and a stream that wants one
 * already gone is told to reload. Not thread-safe: its owner locks. */
#ifndef VDC_LIVE_RING_H
#define VDC_LIVE_RING_H

#include <stddef.h>
#include <stdint.h>

#include "live_filter.h"

struct live_entry {
	uint64_t id;
	struct live_scope scope;
	char *frame; /* "id: EPOCH-ID\nevent: NAME\ndata: DATA\n\n" */
	size_t len;
};

struct live_ring;

/* epoch names this run of vdcd in every id (ids restart at 1 with it), so
 * an id of another run is never taken for one of this run. NULL when out
 * of memory. max_entries >= 1. */
struct live_ring *live_ring_new(const char *epoch, size_t max_entries, size_t max_bytes);
void live_ring_free(struct live_ring *r);

/* Appends the event named name with data (one line of JSON; a newline in
 * it would end the frame, so newlines are refused) for scope, dropping the
 * oldest past the bounds. Returns its id, or 0 (nothing added) when out of
 * memory or data has a newline. */
uint64_t live_ring_push(struct live_ring *r, const struct live_scope *scope, const char *name,
                        const char *data);
/* The oldest id still kept (the next id to come when none is). */
uint64_t live_ring_first(const struct live_ring *r);
/* The id the next push will get. */
uint64_t live_ring_next(const struct live_ring *r);
/* The entry of id, or NULL when it is gone or still to come. */
const struct live_entry *live_ring_get(const struct live_ring *r, uint64_t id);
/* Bytes held by frames. */
size_t live_ring_bytes(const struct live_ring *r);

/* Where a client resuming after last_event_id ("EPOCH-ID", as a frame's
 * id line) starts: 0 and *next (the first id to send) when every event
 * after it is still kept; -1 when it is of another run, malformed, or its
 * successors are gone (the client must reload what it shows). */
int live_ring_resume(const struct live_ring *r, const char *last_event_id, uint64_t *next);

#endif

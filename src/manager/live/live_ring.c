/* live_ring.c - a circular array of frames, indexed by id - first. */
#include "live_ring.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct live_ring {
	char epoch[40];
	struct live_entry *e; /* cap slots; entry id i lives at (i - 1) % cap */
	size_t cap, max_bytes, bytes;
	uint64_t first, next; /* kept: [first, next) */
};

struct live_ring *live_ring_new(const char *epoch, size_t max_entries, size_t max_bytes)
{
	struct live_ring *r = calloc(1, sizeof(*r));
	if (!r || !(r->e = calloc(max_entries ? max_entries : 1, sizeof(*r->e)))) {
		free(r);
		return NULL;
	}
	snprintf(r->epoch, sizeof(r->epoch), "%s", epoch);
	r->cap = max_entries ? max_entries : 1;
	r->max_bytes = max_bytes;
	r->first = r->next = 1;
	return r;
}

void live_ring_free(struct live_ring *r)
{
	if (!r)
		return;
	for (uint64_t i = r->first; i < r->next; i++)
		free(r->e[(i - 1) % r->cap].frame);
	free(r->e);
	free(r);
}

static void drop_oldest(struct live_ring *r)
{
	struct live_entry *old = &r->e[(r->first - 1) % r->cap];
	r->bytes -= old->len;
	free(old->frame);
	*old = (struct live_entry){0};
	r->first++;
}

uint64_t live_ring_push(struct live_ring *r, const struct live_scope *scope, const char *name,
                        const char *data)
{
	if (strchr(data, '\n') || strchr(data, '\r') || strchr(name, '\n'))
		return 0;
	uint64_t id = r->next;
	char *frame = NULL;
	int n = asprintf(&frame, "id: %s-%llu\nevent: %s\ndata: %s\n\n", r->epoch, (unsigned long long)id, name,
	                 data);
	if (n < 0)
		return 0;
	if (r->next - r->first == r->cap)
		drop_oldest(r);
	/* One frame larger than the whole bound still goes in, alone. */
	while (r->first < r->next && r->bytes + (size_t)n > r->max_bytes)
		drop_oldest(r);
	r->e[(id - 1) % r->cap] = (struct live_entry){id, *scope, frame, (size_t)n};
	r->bytes += (size_t)n;
	r->next++;
	return id;
}

uint64_t live_ring_first(const struct live_ring *r) { return r->first; }
uint64_t live_ring_next(const struct live_ring *r) { return r->next; }
size_t live_ring_bytes(const struct live_ring *r) { return r->bytes; }

const struct live_entry *live_ring_get(const struct live_ring *r, uint64_t id)
{
	if (id < r->first || id >= r->next)
		return NULL;
	return &r->e[(id - 1) % r->cap];
}

int live_ring_resume(const struct live_ring *r, const char *last_event_id, uint64_t *next)
{
	size_t el = strlen(r->epoch);
	if (!last_event_id || strncmp(last_event_id, r->epoch, el) || last_event_id[el] != '-')
		return -1;
	const char *num = last_event_id + el + 1;
	if (*num < '0' || *num > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long long last = strtoull(num, &end, 10);
	if (errno || *end || last >= r->next) /* malformed, or an id never given */
		return -1;
	if (last + 1 < r->first) /* what came after it is gone */
		return -1;
	*next = last + 1;
	return 0;
}

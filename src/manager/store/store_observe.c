/* store_observe.c - the commit observer: the changes of a transaction are
 * kept on its handle and told once it commits, dropped if it rolls back. */
#include "store_impl.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct store_pending {
	enum store_kind kind;
	char *id;
	json_t *doc; /* NULL: deleted */
};

static _Atomic unsigned observed_kinds;
static store_observer_fn observer;
static void *observer_ctx;

void store_observe(unsigned kinds, store_observer_fn fn, void *ctx)
{
	observer = fn;
	observer_ctx = ctx;
	atomic_store(&observed_kinds, fn ? kinds : 0);
}

bool store_observed(enum store_kind k)
{
	return (atomic_load(&observed_kinds) >> k) & 1;
}

void store_pending_discard(struct store *st)
{
	for (int i = 0; i < st->npending; i++) {
		free(st->pending[i].id);
		json_decref(st->pending[i].doc);
	}
	st->npending = 0;
}

void store_pending_flush(struct store *st)
{
	if (st->npending && observer) {
		struct store_change stack[8] = {{0}}, *c = st->npending <= 8 ? stack : calloc((size_t)st->npending, sizeof(*c));
		if (c) {
			for (int i = 0; i < st->npending; i++)
				c[i] = (struct store_change){st->pending[i].kind, st->pending[i].id, st->pending[i].doc};
			observer(observer_ctx, c, st->npending);
			if (c != stack)
				free(c);
		}
	}
	store_pending_discard(st);
}

void store_pending_add(struct store *st, enum store_kind k, const char *id, json_t *doc)
{
	if (!store_observed(k))
		return;
	if (st->npending == st->pending_cap) {
		int cap = st->pending_cap ? st->pending_cap * 2 : 8;
		struct store_pending *p = realloc(st->pending, (size_t)cap * sizeof(*p));
		if (!p)
			abort(); /* an observer that misses a commit is worse than a crash */
		st->pending = p;
		st->pending_cap = cap;
	}
	char *copy = strdup(id);
	if (!copy)
		abort();
	/* In a transaction the caller may still change the document it got
	 * back before committing: keep a copy of what was stored. */
	json_t *kept = !doc ? NULL : st->depth ? json_deep_copy(doc) : json_incref(doc);
	if (doc && !kept)
		abort();
	st->pending[st->npending++] = (struct store_pending){k, copy, kept};
	if (st->depth == 0) /* its own commit, already made */
		store_pending_flush(st);
}

void store_pending_free(struct store *st)
{
	store_pending_discard(st);
	free(st->pending);
	st->pending = NULL;
	st->pending_cap = 0;
}

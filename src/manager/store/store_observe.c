/* store_observe.c - the commit observers: the changes of a transaction are
 * kept on its handle and told once it commits, dropped if it rolls back.
 * Each observer is told only the kinds it watches. */
#include "store_impl.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct store_pending {
	enum store_kind kind;
	char *id;
	json_t *doc;  /* NULL: deleted */
	json_t *gone; /* deleted: what it was, when known */
	char *text;   /* doc as stored (compact JSON), when the writer had it */
};

struct observer {
	store_observer_fn fn;
	void *ctx;
	unsigned kinds;
};

static _Atomic unsigned observed_kinds; /* the union of every observer's */
static struct observer observers[STORE_MAX_OBSERVERS];

void store_observe(unsigned kinds, store_observer_fn fn, void *ctx)
{
	if (!fn) {
		memset(observers, 0, sizeof(observers));
	} else {
		int slot = -1, unused = -1;
		for (int i = 0; i < STORE_MAX_OBSERVERS; i++) {
			if (observers[i].fn == fn)
				slot = i;
			else if (!observers[i].fn && unused < 0)
				unused = i;
		}
		if (slot < 0 && kinds) {
			if (unused < 0)
				abort(); /* more than STORE_MAX_OBSERVERS: a programming error */
			slot = unused;
		}
		if (slot >= 0)
			observers[slot] = kinds ? (struct observer){fn, ctx, kinds} : (struct observer){0};
	}
	unsigned all = 0;
	for (int i = 0; i < STORE_MAX_OBSERVERS; i++)
		all |= observers[i].fn ? observers[i].kinds : 0;
	atomic_store(&observed_kinds, all);
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
		json_decref(st->pending[i].gone);
		free(st->pending[i].text);
	}
	st->npending = 0;
}

void store_pending_flush(struct store *st)
{
	if (st->npending) {
		struct store_change stack[8] = {{0}}, *c = st->npending <= 8 ? stack : calloc((size_t)st->npending, sizeof(*c));
		for (int o = 0; c && o < STORE_MAX_OBSERVERS; o++) {
			const struct observer ob = observers[o];
			if (!ob.fn)
				continue;
			int n = 0;
			for (int i = 0; i < st->npending; i++)
				if ((ob.kinds >> st->pending[i].kind) & 1)
					c[n++] = (struct store_change){st->pending[i].kind, st->pending[i].id,
					                               st->pending[i].doc, st->pending[i].gone,
					                               st->pending[i].text};
			if (n)
				ob.fn(ob.ctx, c, n);
		}
		if (c != stack)
			free(c);
	}
	store_pending_discard(st);
}

int store_pending_add(struct store *st, enum store_kind k, const char *id, json_t *doc, json_t *gone,
                      char **text)
{
	if (!store_observed(k)) {
		json_decref(gone);
		return 0;
	}
	/* Out of memory: in a transaction the write fails and dooms it (nothing
	 * commits, so no observer misses anything); outside one the write has
	 * committed already, and an observer that misses a commit is worse
	 * than a crash. */
	char *copy = NULL;
	json_t *kept = NULL;
	if (st->npending == st->pending_cap) {
		int cap = st->pending_cap ? st->pending_cap * 2 : 8;
		struct store_pending *p = realloc(st->pending, (size_t)cap * sizeof(*p));
		if (!p)
			goto oom;
		st->pending = p;
		st->pending_cap = cap;
	}
	if (!(copy = strdup(id)))
		goto oom;
	/* In a transaction the caller may still change the document it got
	 * back before committing: keep a copy of what was stored. */
	kept = !doc ? NULL : st->depth ? json_deep_copy(doc) : json_incref(doc);
	if (doc && !kept)
		goto oom;
	st->pending[st->npending++] = (struct store_pending){k, copy, kept, gone, text ? *text : NULL};
	if (text)
		*text = NULL; /* the change owns it now */
	if (st->depth == 0) /* its own commit, already made */
		store_pending_flush(st);
	return 0;
oom:
	free(copy);
	json_decref(gone);
	if (st->depth == 0)
		abort();
	st->doomed = true;
	return -1;
}

void store_pending_free(struct store *st)
{
	store_pending_discard(st);
	free(st->pending);
	st->pending = NULL;
	st->pending_cap = 0;
}

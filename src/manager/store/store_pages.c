/* store_pages.c - every page of a list: one loop for whoever must see all
 * of a kind (a first page alone is a bug past 1,000 objects). */
#include "store_impl.h"

#include <stdlib.h>

int store_list_each_text(struct store *st, enum store_kind k, const struct store_filter *filters,
                         int nfilters, int (*fn)(void *ctx, const char *page), void *ctx,
                         struct errinfo *e)
{
	char *after = NULL;
	do {
		char *next = NULL;
		char *text = store_list_text(st, k, filters, nfilters, after, 1000, &next, e);
		free(after);
		after = next;
		int rc = text ? fn(ctx, text) : -1;
		free(text);
		if (rc < 0) {
			free(after);
			if (e && !e->status)
				errinfo_set(e, 500, "internal", NULL, "could not read every page of %s",
				            store_kind_plural(k));
			return -1;
		}
	} while (after);
	return 0;
}

struct parsed {
	int (*fn)(void *ctx, json_t *page);
	void *ctx;
	enum store_kind k;
	struct errinfo *e;
};

static int parse_page(void *ctx, const char *text)
{
	struct parsed *p = ctx;
	json_t *page = json_loads(text, 0, NULL);
	if (!page)
		return errinfo_set(p->e, 500, "store_corrupt", NULL, "a page of %s is not JSON",
		                   store_kind_plural(p->k));
	int rc = p->fn(p->ctx, page);
	json_decref(page);
	return rc;
}

int store_list_each(struct store *st, enum store_kind k, const struct store_filter *filters,
                    int nfilters, int (*fn)(void *ctx, json_t *page), void *ctx, struct errinfo *e)
{
	struct parsed p = {fn, ctx, k, e};
	return store_list_each_text(st, k, filters, nfilters, parse_page, &p, e);
}

static int append_page(void *ctx, json_t *page)
{
	return json_array_extend(ctx, page);
}

json_t *store_list_all(struct store *st, enum store_kind k, const struct store_filter *filters,
                       int nfilters, struct errinfo *e)
{
	json_t *all = json_array();
	if (!all) {
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	if (store_list_each(st, k, filters, nfilters, append_page, all, e) < 0) {
		json_decref(all);
		return NULL;
	}
	return all;
}

/* store_history.c - the demand history's rows (see store.h): buckets of
 * consolidated series per object and tier, written in the caller's
 * transaction (vdcd batches a minute of them into one). */
#include "store_impl.h"

#include <stdlib.h>
#include <string.h>

static int drain(struct store_rows *r, struct errinfo *e)
{
	int rc;
	while ((rc = store_next_row(r, e)) == 1)
		;
	r->st->be->done(r);
	return rc < 0 ? -1 : 0;
}

int store_history_put(struct store *st, const char *kind, const char *id, int tier, int64_t t_ms,
                      const char *doc, struct errinfo *e)
{
	struct store_param p[5] = {{.s = kind}, {.s = id}, {.i = tier, .is_int = true}, {.i = t_ms, .is_int = true},
	                           {.s = doc}};
	struct store_rows r;
	if (store_run(st, SQ_HIST_PUT, p, 5, 0, &r, e))
		return -1;
	return drain(&r, e);
}

int store_history_put_many(struct store *st, const struct store_history_row *rows, size_t n, struct errinfo *e)
{
	struct store_param p[5 * STORE_HIST_BATCH];
	size_t i = 0;
	for (; i + STORE_HIST_BATCH <= n; i += STORE_HIST_BATCH) {
		for (int r = 0; r < STORE_HIST_BATCH; r++) {
			const struct store_history_row *w = &rows[i + (size_t)r];
			p[5 * r] = (struct store_param){.s = w->kind};
			p[5 * r + 1] = (struct store_param){.s = w->id};
			p[5 * r + 2] = (struct store_param){.i = w->tier, .is_int = true};
			p[5 * r + 3] = (struct store_param){.i = w->t_ms, .is_int = true};
			p[5 * r + 4] = (struct store_param){.s = w->doc};
		}
		struct store_rows res;
		if (store_run(st, SQ_HIST_PUT_MANY, p, 5 * STORE_HIST_BATCH, 0, &res, e) || drain(&res, e))
			return -1;
	}
	for (; i < n; i++)
		if (store_history_put(st, rows[i].kind, rows[i].id, rows[i].tier, rows[i].t_ms, rows[i].doc, e) < 0)
			return -1;
	return 0;
}

int store_history_each(struct store *st, const char *kind, const char *id, int tier, int64_t since_ms,
                       int (*fn)(void *ctx, int64_t t_ms, const char *doc), void *ctx, struct errinfo *e)
{
	struct store_param p[4] = {{.s = kind}, {.s = id}, {.i = tier, .is_int = true},
	                           {.i = since_ms, .is_int = true}};
	struct store_rows r;
	if (store_run(st, SQ_HIST_GET, p, 4, STORE_Q_READ, &r, e))
		return -1;
	int rc;
	while ((rc = store_next_row(&r, e)) == 1) {
		size_t tl = 0, dl = 0; /* both backends' texts end in a NUL */
		const char *t = st->be->text(&r, 0, &tl), *doc = st->be->text(&r, 1, &dl);
		if (!t || !doc)
			continue;
		if (fn(ctx, strtoll(t, NULL, 10), doc) < 0) {
			rc = -1;
			break;
		}
	}
	st->be->done(&r);
	return rc < 0 ? -1 : 0;
}

int store_history_last(struct store *st, const char *kind, const char *id, int tier, int64_t *t_ms,
                       char **doc, struct errinfo *e)
{
	struct store_param p[3] = {{.s = kind}, {.s = id}, {.i = tier, .is_int = true}};
	struct store_rows r;
	*doc = NULL;
	if (store_run(st, SQ_HIST_LAST, p, 3, STORE_Q_READ, &r, e))
		return -1;
	int rc = store_next_row(&r, e);
	if (rc == 1) {
		size_t tl = 0, len = 0;
		const char *t = st->be->text(&r, 0, &tl), *d = st->be->text(&r, 1, &len);
		*t_ms = t ? strtoll(t, NULL, 10) : 0;
		if (!d || !(*doc = strndup(d, len)))
			rc = errinfo_set(e, 500, "internal", NULL, "out of memory");
	}
	st->be->done(&r);
	return rc;
}

int store_history_drop(struct store *st, const char *kind, const char *id, struct errinfo *e)
{
	struct store_param p[2] = {{.s = kind}, {.s = id}};
	struct store_rows r;
	if (store_run(st, SQ_HIST_DROP, p, 2, 0, &r, e))
		return -1;
	return drain(&r, e);
}

int store_history_trim(struct store *st, int tier, int64_t before_ms, struct errinfo *e)
{
	struct store_param p[2] = {{.i = tier, .is_int = true}, {.i = before_ms, .is_int = true}};
	struct store_rows r;
	if (store_run(st, SQ_HIST_TRIM, p, 2, 0, &r, e))
		return -1;
	return drain(&r, e);
}

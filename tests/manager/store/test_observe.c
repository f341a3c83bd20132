/* test_observe.c - the store's commit observer: told once per commit, with
 * the documents as stored (their new versions) or NULL for a deletion;
 * never told of what a rollback undid; a write outside a transaction is
 * its own commit. SQLite in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct seen {
	int calls, n;
	char ids[16][64];
	long long versions[16]; /* -1: deleted */
	int kinds[16];
};

static void observer(void *ctx, const struct store_change *c, int n)
{
	struct seen *s = ctx;
	s->calls++;
	for (int i = 0; i < n && s->n < 16; i++, s->n++) {
		snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", c[i].id);
		s->versions[s->n] = c[i].doc ? json_integer_value(json_object_get(c[i].doc, "version")) : -1;
		s->kinds[s->n] = (int)c[i].kind;
	}
}

static struct store *open_tmp(char dir[64])
{
	snprintf(dir, 64, "/tmp/vdc-observe.XXXXXX");
	assert_non_null(mkdtemp(dir));
	char url[128];
	snprintf(url, sizeof(url), "sqlite:%s/t.db", dir);
	struct errinfo e = {0};
	struct store *st = store_open(url, &e);
	assert_non_null(st);
	return st;
}

static void close_tmp(struct store *st, const char *dir)
{
	char path[128];
	store_close(st);
	static const char *const files[] = {"t.db", "t.db-wal", "t.db-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static json_t *host(const char *id)
{
	return json_pack("{s:s, s:s}", "id", id, "name", id);
}

static void test_commits_told_rollbacks_not(void **state)
{
	(void)state;
	char dir[64];
	struct store *st = open_tmp(dir);
	struct seen s = {0};
	struct errinfo e = {0};
	store_observe(1u << STORE_HOST | 1u << STORE_VM, observer, &s);

	/* Outside a transaction: told at once. */
	json_t *d = host("h1"), *out = NULL;
	assert_int_equal(store_create(st, STORE_HOST, d, &out, &e), 0);
	assert_int_equal(s.calls, 1);
	assert_string_equal(s.ids[0], "h1");
	assert_int_equal(s.versions[0], 1);

	/* In a transaction: nothing until the commit, then all of it at once. */
	assert_int_equal(store_begin(st, &e), 0);
	json_object_set_new(out, "state", json_string("connected"));
	assert_int_equal(store_update(st, STORE_HOST, out, 1, NULL, &e), 0);
	json_t *d2 = host("h2");
	assert_int_equal(store_create(st, STORE_HOST, d2, NULL, &e), 0);
	/* A kind not observed is not told. */
	json_t *c = host("c1");
	assert_int_equal(store_create(st, STORE_CLUSTER, c, NULL, &e), 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(store_begin(st, &e), 0); /* nested: the inner commit tells nothing */
	assert_int_equal(store_delete(st, STORE_HOST, "h2", &e), 0);
	assert_int_equal(store_commit(st, &e), 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(store_commit(st, &e), 0);
	assert_int_equal(s.calls, 2);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.ids[1], "h1");
	assert_int_equal(s.versions[1], 2);
	assert_string_equal(s.ids[2], "h2");
	assert_int_equal(s.versions[2], 1);
	assert_string_equal(s.ids[3], "h2");
	assert_int_equal(s.versions[3], -1);

	/* Rolled back, or doomed by an inner rollback: never told. */
	assert_int_equal(store_begin(st, &e), 0);
	json_t *d3 = host("h3");
	assert_int_equal(store_create(st, STORE_HOST, d3, NULL, &e), 0);
	store_rollback(st);
	assert_int_equal(store_begin(st, &e), 0);
	assert_int_equal(store_create(st, STORE_HOST, d3, NULL, &e), 0);
	assert_int_equal(store_begin(st, &e), 0);
	store_rollback(st);
	e = (struct errinfo){0};
	assert_int_not_equal(store_commit(st, &e), 0);
	assert_int_equal(s.calls, 2);
	assert_int_equal(s.n, 4);

	/* A document changed by the caller after its write, before the
	 * commit, is told as it was stored. */
	e = (struct errinfo){0};
	json_t *d4 = host("h4"), *kept = NULL;
	assert_int_equal(store_begin(st, &e), 0);
	assert_int_equal(store_create(st, STORE_HOST, d4, &kept, &e), 0);
	json_object_set_new(kept, "version", json_integer(99));
	assert_int_equal(store_commit(st, &e), 0);
	assert_int_equal(s.versions[4], 1);

	store_observe(0, NULL, NULL);
	json_decref(d);
	json_decref(out);
	json_decref(d2);
	json_decref(c);
	json_decref(d3);
	json_decref(d4);
	json_decref(kept);
	close_tmp(st, dir);
}

/* Several observers, each told only its kinds; a deletion carries the
 * document as it was; the audit log is the pseudo-kind STORE_EVENTS. */
struct seen2 {
	int n;
	char what[8][96];
};

static void observer2(void *ctx, const struct store_change *c, int n)
{
	struct seen2 *s = ctx;
	for (int i = 0; i < n && s->n < 8; i++, s->n++)
		snprintf(s->what[s->n], sizeof(s->what[0]), "%d:%s:%s:%s", (int)c[i].kind, c[i].id,
		         c[i].doc ? json_string_value(json_object_get(c[i].doc, "name")) ?: json_string_value(json_object_get(c[i].doc, "action")) : "-",
		         c[i].gone ? json_string_value(json_object_get(c[i].gone, "name")) : "-");
}

static void test_two_observers_gone_and_events(void **state)
{
	(void)state;
	char dir[64];
	struct store *st = open_tmp(dir);
	struct seen s = {0};
	struct seen2 s2 = {0};
	struct errinfo e = {0};
	store_observe(1u << STORE_HOST, observer, &s);
	store_observe(1u << STORE_HOST | 1u << STORE_CLUSTER | 1u << STORE_EVENTS, observer2, &s2);
	json_t *h = host("h1"), *c = host("c1");
	assert_int_equal(store_create(st, STORE_HOST, h, NULL, &e), 0);
	assert_int_equal(store_create(st, STORE_CLUSTER, c, NULL, &e), 0);
	assert_int_equal(store_event_add(st, "admin", "vm.create", "vm", "v1", "accepted", NULL, &e), 0);
	assert_int_equal(store_delete(st, STORE_HOST, "h1", &e), 0);
	assert_int_equal(s.n, 2); /* the first: hosts only */
	assert_int_equal(s.versions[1], -1);
	assert_int_equal(s2.n, 4);
	char want[96];
	snprintf(want, sizeof(want), "%d:h1:h1:-", STORE_HOST);
	assert_string_equal(s2.what[0], want);
	snprintf(want, sizeof(want), "%d:c1:c1:-", STORE_CLUSTER);
	assert_string_equal(s2.what[1], want);
	snprintf(want, sizeof(want), "%d:1:vm.create:-", STORE_EVENTS); /* the event's id, as text */
	assert_string_equal(s2.what[2], want);
	snprintf(want, sizeof(want), "%d:h1:-:h1", STORE_HOST); /* deleted: no doc, what it was */
	assert_string_equal(s2.what[3], want);
	/* Removing one leaves the other. */
	store_observe(0, observer, NULL);
	assert_int_equal(store_create(st, STORE_HOST, h, NULL, &e), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s2.n, 5);
	store_observe(0, NULL, NULL);
	json_decref(h);
	json_decref(c);
	close_tmp(st, dir);
}

/* A write's change carries the document's text as stored: observers print
 * it instead of the document (the live stream). It is the stored text even
 * when the caller changes the document it got back before the commit, and
 * NULL for a deletion or an audit event. */
struct seen3 {
	int n;
	char *text[4];
	bool had_text[4];
};

static void observer3(void *ctx, const struct store_change *c, int n)
{
	struct seen3 *s = ctx;
	for (int i = 0; i < n && s->n < 4; i++, s->n++) {
		s->had_text[s->n] = c[i].text != NULL;
		s->text[s->n] = c[i].text ? strdup(c[i].text) : NULL;
		if (c[i].text) { /* the text is the document, as a reader would print it */
			json_t *back = json_loads(c[i].text, 0, NULL);
			assert_non_null(back);
			assert_true(json_equal(back, c[i].doc));
			json_decref(back);
		}
	}
}

static void test_change_text_is_stored_text(void **state)
{
	(void)state;
	char dir[64];
	struct store *st = open_tmp(dir);
	struct seen3 s = {0};
	struct errinfo e = {0};
	store_observe(1u << STORE_HOST | 1u << STORE_EVENTS, observer3, &s);
	json_t *h = host("h1"), *got = NULL;
	assert_int_equal(store_begin(st, &e), 0);
	assert_int_equal(store_create(st, STORE_HOST, h, &got, &e), 0);
	json_object_set_new(got, "name", json_string("changed after the write"));
	assert_int_equal(store_event_add(st, "admin", "host.add", "host", "h1", "ok", NULL, &e), 0);
	assert_int_equal(store_commit(st, &e), 0);
	assert_int_equal(store_delete(st, STORE_HOST, "h1", &e), 0);
	assert_int_equal(s.n, 3);
	assert_true(s.had_text[0]);
	json_t *stored = json_loads(s.text[0], 0, NULL);
	assert_string_equal(json_string_value(json_object_get(stored, "name")), "h1");
	assert_int_equal(json_integer_value(json_object_get(stored, "version")), 1);
	json_decref(stored);
	assert_false(s.had_text[1]); /* the event */
	assert_false(s.had_text[2]); /* the deletion */
	for (int i = 0; i < s.n; i++)
		free(s.text[i]);
	store_observe(0, NULL, NULL);
	json_decref(got);
	json_decref(h);
	close_tmp(st, dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commits_told_rollbacks_not),
		cmocka_unit_test(test_two_observers_gone_and_events),
		cmocka_unit_test(test_change_text_is_stored_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_sibling.c - store_open_sibling: handles for vdcd's threads. On
 * SQLite they share one connection (one warm page cache), taken by one
 * thread at a time for a statement or a whole transaction; on PostgreSQL
 * each is a connection of its own. Either way no transaction of one
 * thread is lost or mixed into another's. On SQLite the WAL is copied
 * back by a thread of its own, and stays bounded under steady writes.
 * Arguments: sqlite and/or postgresql (VDC_TEST_PG_URL). */
#include "storetest.h"

#include "log.h"
#include "store_sqlite_checkpoint.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define THREADS 4
#define ROUNDS 150

struct adder {
	struct store *st;
	int retries, failed;
	struct errinfo e;
};

/* Read-modify-write of one counter in a transaction, ROUNDS times; a
 * version conflict (PostgreSQL: another connection got in) is retried. */
static void *add_rounds(void *arg)
{
	struct adder *a = arg;
	for (int i = 0; i < ROUNDS; i++) {
		for (;;) {
			a->e = (struct errinfo){0};
			if (store_begin(a->st, &a->e) < 0) {
				a->failed++;
				break;
			}
			json_t *d = store_get(a->st, STORE_CLUSTER, "counter", &a->e);
			int rc = -1;
			if (d) {
				json_int_t n = json_integer_value(json_object_get(d, "n"));
				json_object_set_new(d, "n", json_integer(n + 1));
				rc = store_update(a->st, STORE_CLUSTER, d, json_integer_value(json_object_get(d, "version")),
				                  NULL, &a->e);
				json_decref(d);
			}
			if (rc == 0 && store_commit(a->st, &a->e) == 0)
				break;
			if (rc != 0)
				store_rollback(a->st);
			if (strcmp(a->e.code, "version_conflict")) {
				a->failed++;
				break;
			}
			a->retries++;
		}
	}
	return NULL;
}

static void t_siblings_lose_no_transaction(void **state)
{
	const struct ctx *c = *state;
	struct store *st = open_store(c);
	json_t *d = mkdoc("counter", "counter");
	json_object_set_new(d, "n", json_integer(0));
	create(st, STORE_CLUSTER, d);
	struct adder a[THREADS] = {0};
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++) {
		ereset();
		a[i].st = store_open_sibling(st, &E);
		if (!a[i].st)
			fail_msg("store_open_sibling: %s", E.message);
		assert_int_equal(pthread_create(&th[i], NULL, add_rounds, &a[i]), 0);
	}
	int retries = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		if (a[i].failed)
			fail_msg("thread %d: %d transactions failed: %s", i, a[i].failed, a[i].e.message);
		retries += a[i].retries;
		store_close(a[i].st);
	}
	json_t *got = get(st, STORE_CLUSTER, "counter");
	assert_int_equal(json_integer_value(json_object_get(got, "n")), THREADS * ROUNDS);
	json_decref(got);
	/* SQLite: one thread at a time from BEGIN to COMMIT, so nobody's read
	 * is ever stale. */
	if (!c->pg)
		assert_int_equal(retries, 0);
	store_close(st);
}

struct reader {
	struct store *st;
	double started, ended;
	int64_t version;
};

static void *read_counter(void *arg)
{
	struct reader *r = arg;
	struct errinfo e = {0};
	r->started = now_s();
	json_t *d = store_get(r->st, STORE_CLUSTER, "counter", &e);
	r->ended = now_s();
	r->version = d ? json_integer_value(json_object_get(d, "version")) : -1;
	json_decref(d);
	return NULL;
}

/* SQLite: a sibling's read waits for the open transaction of another
 * thread and then sees it committed (never the half of it, never a
 * statement run inside another thread's transaction). */
static void t_sqlite_read_waits_for_transaction(void **state)
{
	const struct ctx *c = *state;
	struct store *st = open_store(c);
	create(st, STORE_CLUSTER, mkdoc("counter", "counter"));
	ereset();
	struct reader r = {.st = store_open_sibling(st, &E)};
	assert_non_null(r.st);
	OK(store_begin(st, &E));
	json_t *d = get(st, STORE_CLUSTER, "counter");
	OK(store_update(st, STORE_CLUSTER, d, 1, NULL, &E));
	json_decref(d);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, read_counter, &r), 0);
	usleep(300 * 1000);
	double committed = now_s();
	OK(store_commit(st, &E));
	pthread_join(th, NULL);
	assert_int_equal(r.version, 2);
	if (r.ended < committed)
		fail_msg("the read ended %.3f s before the commit: it ran inside the transaction",
		         committed - r.ended);
	/* The parent may go first: the connection lives while a handle does. */
	store_close(st);
	r.version = 0;
	read_counter(&r);
	assert_int_equal(r.version, 2);
	store_close(r.st);
}

static long long file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

/* SQLite: steady commits from one thread, as the API makes them; the WAL
 * is copied back by the store's own thread and started over, so it stays
 * near the pages that wake that thread (SQ_CKPT_POKE_PAGES), far from what
 * the commits wrote (each rewrites a 6 KB document: two overflow pages). */
static void t_sqlite_wal_stays_bounded(void **state)
{
	const struct ctx *c = *state;
	struct store *st = open_store(c);
	char wal[600];
	snprintf(wal, sizeof(wal), "%s-wal", c->path);
	char big[6000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	json_t *d = mkdoc("blob", "blob");
	json_object_set_new(d, "pad", json_string(big));
	create(st, STORE_CLUSTER, d);
	long long most = 0;
	/* Four times the frames that wake the thread (about 3 a commit). */
	const int commits = 4 * SQ_CKPT_POKE_PAGES / 3;
	for (int i = 0; i < commits; i++) {
		json_t *cur = get(st, STORE_CLUSTER, "blob");
		json_object_set_new(cur, "i", json_integer(i));
		OK(store_update(st, STORE_CLUSTER, cur, json_integer_value(json_object_get(cur, "version")), NULL,
		                &E));
		json_decref(cur);
		long long n = file_size(wal);
		most = n > most ? n : most;
	}
	/* Without checkpoints: about 3 frames a commit, 12 KiB each way. */
	long long unbounded = (long long)commits * 3 * 4096;
	if (most > 2LL * SQ_CKPT_POKE_PAGES * 4096)
		fail_msg("the WAL reached %lld bytes (%lld without any checkpoint)", most, unbounded);
	json_t *got = get(st, STORE_CLUSTER, "blob");
	assert_int_equal(json_integer_value(json_object_get(got, "i")), commits - 1);
	json_decref(got);
	store_close(st);
	/* Reopened: every commit is there. */
	st = open_store(c);
	got = get(st, STORE_CLUSTER, "blob");
	assert_int_equal(json_integer_value(json_object_get(got, "version")), commits + 1);
	json_decref(got);
	store_close(st);
}

static int run_suite(const char *backend, bool pg)
{
	suite_pg = pg;
	char n1[128], n2[128], n3[128];
	snprintf(n1, sizeof(n1), "%s: %d sibling handles on %d threads lose no transaction", backend, THREADS,
	         THREADS);
	snprintf(n2, sizeof(n2), "%s: a sibling's read waits for another thread's transaction", backend);
	snprintf(n3, sizeof(n3), "%s: the WAL stays bounded under steady commits", backend);
	struct CMUnitTest t[] = {
		{n1, t_siblings_lose_no_transaction, st_setup, st_teardown, NULL},
		{n2, t_sqlite_read_waits_for_transaction, st_setup, st_teardown, NULL},
		{n3, t_sqlite_wal_stays_bounded, st_setup, st_teardown, NULL},
	};
	return _cmocka_run_group_tests(backend, t, pg ? 1 : 3, NULL, NULL);
}

int main(int argc, char **argv)
{
	return storetest_main(argc, argv, "test_sibling", run_suite);
}

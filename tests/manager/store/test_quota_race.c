/* test_quota_race.c - a quota charge (ops/quota.c) whose project document
 * another writer updates between the charge's read and its optimistic
 * update: on PostgreSQL the API charging a create while a task worker gives
 * back a failed create's quota. The charge must read again and succeed, not
 * refuse the user's create with 409 version_conflict. Run on SQLite too
 * (there the writers are serialized and it must pass as well).
 * Arguments: sqlite and/or postgresql (VDC_TEST_PG_URL). */
#include "storetest.h"

#include "log.h"
#include "quota.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PID "11111111-2222-3333-4444-555555555555"

struct charger {
	const struct ctx *c;
	int rc;
	struct errinfo e;
};

/* The API's side: one transaction that charges one small VM. */
static void *charge_one(void *arg)
{
	struct charger *ch = arg;
	struct store *st = store_open(ch->c->url, &ch->e);
	if (!st) {
		ch->rc = -1;
		return NULL;
	}
	int64_t vm[QUOTA_N] = {1, 1, 512, 1024};
	ch->rc = -1;
	if (store_begin(st, &ch->e) == 0) {
		if (quota_charge(st, PID, vm, NULL, &ch->e) == 0 && store_commit(st, &ch->e) == 0)
			ch->rc = 0;
		else
			store_rollback(st);
	}
	store_close(st);
	return NULL;
}

static void t_charge_survives_concurrent_update(void **state)
{
	const struct ctx *c = *state;
	struct store *other = open_store(c);
	json_t *p = mkdoc(PID, "p1");
	json_object_set_new(p, "quota", json_pack("{s:i, s:n, s:n, s:n}", "vms", 100, "vcpus", "memory_mib",
	                                          "disk_mib"));
	json_object_set_new(p, "usage", json_pack("{s:i, s:i, s:i, s:i}", "vms", 5, "vcpus", 5,
	                                          "memory_mib", 2560, "disk_mib", 5120));
	create(other, STORE_PROJECT, p);

	/* The worker's side: gives back one VM, its update not yet committed
	 * (on PostgreSQL it holds the project's row). */
	OK(store_begin(other, &E));
	json_t *cur = get(other, STORE_PROJECT, PID);
	json_object_set_new(cur, "usage", json_pack("{s:i, s:i, s:i, s:i}", "vms", 4, "vcpus", 4,
	                                            "memory_mib", 2048, "disk_mib", 4096));
	OK(store_update(other, STORE_PROJECT, cur, json_integer_value(json_object_get(cur, "version")), NULL,
	                &E));
	json_decref(cur);

	/* The charge reads the project (version 1, the give-back unseen) and
	 * waits on its row; the give-back commits under it. */
	struct charger ch = {.c = c};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, charge_one, &ch), 0);
	usleep(500 * 1000);
	OK(store_commit(other, &E));
	pthread_join(th, NULL);
	if (ch.rc != 0)
		fail_msg("the charge failed: %u %s: %s", ch.e.status, ch.e.code, ch.e.message);

	/* Both count: 5 - 1 + 1 VMs. */
	json_t *got = get(other, STORE_PROJECT, PID);
	json_t *u = json_object_get(got, "usage");
	assert_int_equal(json_integer_value(json_object_get(u, "vms")), 5);
	assert_int_equal(json_integer_value(json_object_get(u, "memory_mib")), 2560);
	assert_int_equal(json_integer_value(json_object_get(got, "version")), 3);
	json_decref(got);
	store_close(other);
}


static int run_suite(const char *backend, bool pg)
{
	suite_pg = pg;
	char name[128];
	snprintf(name, sizeof(name), "%s: a quota charge survives a concurrent update of its project", backend);
	struct CMUnitTest t[] = {{name, t_charge_survives_concurrent_update, st_setup, st_teardown, NULL}};
	return _cmocka_run_group_tests(backend, t, 1, NULL, NULL);
}

int main(int argc, char **argv)
{
	return storetest_main(argc, argv, "test_quota_race", run_suite);
}

/* test_ha_peers.c - the isolation addresses an alive answer names, over a
 * real SQLite store: at most HA_MAX_PEERS other agents of the host's
 * cluster, never itself nor a host whose agent URL names no IP, spread over
 * the cluster (hosts get different slices); the cluster's list is read once
 * per HA_PEERS_TTL_MS (a host deleted stays listed until then), except that
 * a host not in it (it just joined) has it read again at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ha_peers.h"
#include "store.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct store *st;
static char dir[] = "/tmp/test-ha-peers.XXXXXX";

static void add_host(const char *id, const char *cluster, const char *url)
{
	struct errinfo e = {0};
	json_t *h = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "name", id, "cluster_id", cluster, "agent_url", url,
	                      "state", "connected");
	if (store_create(st, STORE_HOST, h, NULL, &e) < 0)
		fail_msg("store_create %s: %s", id, e.message);
	json_decref(h);
}

static bool has(const json_t *list, const char *addr)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
		if (!strcmp(json_string_value(v), addr))
			return true;
	return false;
}

static void test_peers(void **state)
{
	(void)state;
	char id[32], url[64];
	for (int i = 1; i <= 12; i++) {
		snprintf(id, sizeof(id), "h%02d", i);
		snprintf(url, sizeof(url), "https://127.0.1.%d:7441", i);
		add_host(id, "c1", url);
	}
	add_host("named", "c1", "https://agent.example:7441");
	add_host("other", "c2", "https://127.0.2.1:7441");
	struct ha_peers *p = ha_peers_new();
	json_t *a = ha_peers_for(p, st, "c1", "h01", 0);
	assert_int_equal(json_array_size(a), HA_MAX_PEERS);
	assert_false(has(a, "127.0.1.1:7441"));  /* not itself */
	assert_false(has(a, "127.0.2.1:7441"));  /* not another cluster's */
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
		assert_non_null(strstr(json_string_value(v), "127.0.1.")); /* never the named one */
	/* Another host's slice differs: probes spread over the cluster. */
	bool differ = false;
	for (int k = 2; k <= 12 && !differ; k++) {
		snprintf(id, sizeof(id), "h%02d", k);
		json_t *b = ha_peers_for(p, st, "c1", id, 0);
		differ = !json_equal(a, b);
		json_decref(b);
	}
	assert_true(differ);
	/* A small cluster: every other host. */
	json_t *c2 = ha_peers_for(p, st, "c2", "other", 0);
	assert_int_equal(json_array_size(c2), 0);
	json_decref(c2);
	/* A host deleted: still named until the list is read again. */
	struct errinfo e = {0};
	json_array_foreach(a, i, v) {
		char gone[32];
		unsigned last = 0;
		sscanf(json_string_value(v), "127.0.1.%u", &last);
		snprintf(gone, sizeof(gone), "h%02u", last);
		assert_int_equal(store_delete(st, STORE_HOST, gone, &e), 0);
		json_t *b = ha_peers_for(p, st, "c1", "h01", HA_PEERS_TTL_MS - 1);
		assert_true(has(b, json_string_value(v)));
		json_decref(b);
		b = ha_peers_for(p, st, "c1", "h01", HA_PEERS_TTL_MS);
		assert_false(has(b, json_string_value(v)));
		json_decref(b);
		break;
	}
	/* A host that joins is read at its first report, and the others see it. */
	add_host("new", "c2", "https://127.0.2.2:7441");
	json_t *n = ha_peers_for(p, st, "c2", "new", 1);
	assert_true(has(n, "127.0.2.1:7441"));
	json_decref(n);
	n = ha_peers_for(p, st, "c2", "other", 2);
	assert_true(has(n, "127.0.2.2:7441"));
	json_decref(n);
	json_decref(a);
	ha_peers_free(p);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	char url[128];
	snprintf(url, sizeof(url), "sqlite:%s/t.db", dir);
	struct errinfo e = {0};
	st = store_open(url, &e);
	return st ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	store_close(st);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_peers)};
	return cmocka_run_group_tests(tests, setup, teardown);
}

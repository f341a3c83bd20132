/* test_inv.c - the inventory index: allocations follow VMs on and off
 * hosts; late or repeated updates (older versions, updates of deleted ids)
 * change nothing; a VM that names a host not yet known is counted once the
 * host comes; a host whose cluster goes is no candidate, nor one HA judges
 * other than connected (with HA on); the slim reader
 * builds the same index as full documents; placement reports stay bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include "inv.h"
#include "inv_slim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *cluster(const char *id, int version)
{
	return json_pack("{s:s, s:s, s:i, s:f, s:f, s:s}", "id", id, "name", id, "version", version,
	                 "cpu_overcommit", 2.0, "mem_overcommit", 1.0, "policy", "pack");
}

static json_t *host(const char *id, const char *cluster_id, int version, int cpus, int mem)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:s, s:{s:i, s:i}, s:[{s:s}], s:[s], s:s}", "id", id,
	                 "name", id, "cluster_id", cluster_id, "version", version, "state", "connected",
	                 "capacity", "cpus", cpus, "memory_mib", mem, "datastores", "name", "local",
	                 "bridges", "br0", "agent_url", "http://127.0.0.1:9");
}

static json_t *vm(const char *id, const char *host_id, int version, int vcpus, int mem, const char *anti)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:{s:i, s:i, s:s, s:[{s:s}]}, s:{s:[], s:[s*]}, s:s}",
	                 "id", id, "name", id, "host_id", host_id, "version", version, "config",
	                 "vcpus", vcpus, "memory_mib", mem, "user_data", "#cloud-config\n\"x\"",
	                 "networks", "name", "n{1}", "placement_groups", "affinity", "anti_affinity",
	                 anti, "power_state", "running");
}

static void put(struct inv *iv, enum inv_kind k, json_t *doc)
{
	assert_int_equal(inv_apply(iv, k, json_string_value(json_object_get(doc, "id")), doc), 0);
	json_decref(doc);
}

static json_int_t host_field(struct inv *iv, const char *id, const char *field)
{
	json_t *d = inv_dump(iv);
	json_t *h = json_object_get(json_object_get(d, "hosts"), id);
	assert_non_null(h);
	json_int_t v = json_integer_value(json_object_get(h, field));
	json_decref(d);
	return v;
}

static void test_allocations_and_order(void **state)
{
	(void)state;
	struct inv *iv = inv_new();
	put(iv, INV_CLUSTER, cluster("c1", 1));
	put(iv, INV_HOST, host("h1", "c1", 1, 8, 8192));
	put(iv, INV_HOST, host("h2", "c1", 1, 8, 8192));
	put(iv, INV_VM, vm("v1", "h1", 1, 2, 1024, "web"));
	put(iv, INV_VM, vm("v2", "h1", 1, 1, 512, NULL));
	assert_int_equal(host_field(iv, "h1", "alloc_vcpus"), 3);
	assert_int_equal(host_field(iv, "h1", "alloc_memory_mib"), 1536);
	/* Moved and resized: off h1, onto h2. */
	put(iv, INV_VM, vm("v1", "h2", 2, 4, 2048, "web"));
	assert_int_equal(host_field(iv, "h1", "alloc_vcpus"), 1);
	assert_int_equal(host_field(iv, "h2", "alloc_vcpus"), 4);
	/* An older version arriving late changes nothing. */
	put(iv, INV_VM, vm("v1", "h1", 1, 2, 1024, "web"));
	assert_int_equal(host_field(iv, "h2", "alloc_vcpus"), 4);
	assert_int_equal(host_field(iv, "h1", "nvms"), 1);
	/* Deleted, then a late update of it: it stays deleted. */
	assert_int_equal(inv_apply(iv, INV_VM, "v1", NULL), 0);
	put(iv, INV_VM, vm("v1", "h2", 3, 4, 2048, "web"));
	assert_int_equal(host_field(iv, "h2", "alloc_vcpus"), 0);
	assert_int_equal(inv_count(iv, INV_VM), 1);
	/* A VM on a host not known yet counts once the host comes. */
	put(iv, INV_VM, vm("v3", "h3", 1, 2, 256, NULL));
	put(iv, INV_HOST, host("h3", "c1", 1, 4, 4096));
	assert_int_equal(host_field(iv, "h3", "alloc_vcpus"), 2);
	/* A host deleted leaves its VMs waiting for it. */
	assert_int_equal(inv_apply(iv, INV_HOST, "h3", NULL), 0);
	json_t *d = inv_dump(iv);
	assert_int_equal(json_integer_value(json_object_get(d, "vms_on_unknown_hosts")), 1);
	json_decref(d);
	inv_free(iv);
}

static void test_cluster_gone(void **state)
{
	(void)state;
	struct inv *iv = inv_new();
	put(iv, INV_CLUSTER, cluster("c1", 1));
	put(iv, INV_CLUSTER, cluster("c2", 1));
	put(iv, INV_HOST, host("h1", "c1", 1, 8, 8192));
	put(iv, INV_HOST, host("h2", "c2", 1, 8, 8192));
	assert_int_equal(inv_apply(iv, INV_CLUSTER, "c1", NULL), 0);
	struct inv_request q = {.vm = "x", .vcpus = 1, .memory_mib = 64, .datastore = "local"};
	json_t *report = NULL;
	char *host_id = NULL, err[128];
	assert_int_equal(inv_place(iv, &q, (struct inv_report_limits){5, 3}, &report, &host_id, err,
	                           sizeof(err)), INV_PLACED);
	assert_string_equal(host_id, "h2"); /* h1's cluster is gone */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(report, "rejected"),
	                                                      "disconnected")), 1);
	free(host_id);
	json_decref(report);
	inv_free(iv);
}

/* A host HA judges other than connected (silent, isolated, failed...) is
 * no candidate while HA is on in its cluster, though its heartbeat's
 * liveness still says connected: a failed host's VMs must not go onto a
 * host going down with it. With HA off, its last verdict means nothing. */
static void test_ha_verdict(void **state)
{
	(void)state;
	struct inv *iv = inv_new();
	json_t *c1 = cluster("c1", 1);
	json_object_set_new(c1, "ha", json_pack("{s:b}", "enabled", 1));
	put(iv, INV_CLUSTER, c1);
	json_t *h1 = host("h1", "c1", 1, 8, 8192);
	json_object_set_new(h1, "ha", json_pack("{s:s}", "state", "silent"));
	put(iv, INV_HOST, h1);
	put(iv, INV_HOST, host("h2", "c1", 1, 8, 8192));
	put(iv, INV_VM, vm("on-h1", "h1", 1, 2, 2048, NULL)); /* the fuller: pack's first choice */
	struct inv_request q = {.vm = "x", .vcpus = 1, .memory_mib = 64, .datastore = "local"};
	static const struct {
		const char *h1_verdict; /* NULL: none */
		bool ha_on;
		const char *want;
	} rows[] = {
		{"silent", true, "h2"},   {"isolated", true, "h2"}, {"fencing", true, "h2"},
		{"failed", true, "h2"},   {"unknown", true, "h2"},  {"connected", true, NULL},
		{NULL, true, NULL},       {"isolated", false, NULL},
	};
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		json_t *c = cluster("c1", (int)r + 2);
		json_object_set_new(c, "ha", json_pack("{s:b}", "enabled", rows[r].ha_on));
		put(iv, INV_CLUSTER, c);
		json_t *h = host("h1", "c1", (int)r + 2, 8, 8192);
		if (rows[r].h1_verdict)
			json_object_set_new(h, "ha", json_pack("{s:s}", "state", rows[r].h1_verdict));
		put(iv, INV_HOST, h);
		json_t *report = NULL;
		char *host_id = NULL, err[128];
		assert_int_equal(inv_place(iv, &q, (struct inv_report_limits){5, 3}, &report, &host_id, err, sizeof(err)),
		                 INV_PLACED);
		/* pack: the fuller host, h1, unless HA's verdict leaves it out. */
		assert_string_equal(host_id, rows[r].want ? rows[r].want : "h1");
		free(host_id);
		json_decref(report);
	}
	inv_free(iv);
}

static void test_bounded_report(void **state)
{
	(void)state;
	struct inv *iv = inv_new();
	put(iv, INV_CLUSTER, cluster("c1", 1));
	char id[32];
	for (int i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "h%03d", i);
		/* A third too small, a third without the datastore. */
		json_t *h = host(id, "c1", 1, 8, i % 3 == 0 ? 256 : 8192);
		if (i % 3 == 1)
			json_object_set_new(h, "datastores", json_array());
		put(iv, INV_HOST, h);
	}
	put(iv, INV_VM, vm("v1", "h002", 1, 1, 4096, "web"));
	const char *anti[] = {"web"};
	struct inv_request q = {.vm = "x", .vcpus = 1, .memory_mib = 1024, .datastore = "local",
	                        .anti_affinity = anti, .nanti_affinity = 1};
	json_t *report = NULL;
	char *host_id = NULL, err[128];
	assert_int_equal(inv_place(iv, &q, (struct inv_report_limits){5, 3}, &report, &host_id, err,
	                           sizeof(err)), INV_PLACED);
	/* Pack: the most allocated host that fits, but not h002 (anti-affinity). */
	assert_string_not_equal(host_id, "h002");
	json_t *rej = json_object_get(report, "rejected");
	assert_int_equal(json_integer_value(json_object_get(rej, "memory")), 100);
	assert_int_equal(json_integer_value(json_object_get(rej, "datastore")), 100);
	assert_int_equal(json_integer_value(json_object_get(rej, "anti_affinity")), 1);
	assert_int_equal(json_integer_value(json_object_get(report, "eligible")), 99);
	/* 5 best + 3 + 3 + 1 examples. */
	assert_int_equal(json_array_size(json_object_get(report, "hosts")), 12);
	json_t *first = json_array_get(json_object_get(report, "hosts"), 0);
	assert_string_equal(json_string_value(json_object_get(first, "host")), host_id);
	assert_int_equal(json_integer_value(json_object_get(first, "rank")), 1);
	free(host_id);
	json_decref(report);
	inv_free(iv);
}

/* Rule groups are a project's: a VM of project pb in anti-affinity group
 * "web" keeps pb's next VM of that group off its host, and not pa's. */
static void test_groups_per_project(void **state)
{
	(void)state;
	struct inv *iv = inv_new();
	put(iv, INV_CLUSTER, cluster("c1", 1));
	put(iv, INV_HOST, host("h1", "c1", 1, 8, 8192));
	json_t *v = vm("v1", "h1", 1, 1, 1024, "web");
	json_object_set_new(v, "project_id", json_string("pb"));
	put(iv, INV_VM, v);
	const char *anti[] = {"web"};
	for (int i = 0; i < 3; i++) {
		const char *project = i == 0 ? "pb" : i == 1 ? "pa" : NULL;
		struct inv_request q = {.vm = "x", .vcpus = 1, .memory_mib = 512, .datastore = "local",
		                        .anti_affinity = anti, .nanti_affinity = 1, .project_id = project};
		json_t *report = NULL;
		char *host_id = NULL, err[128];
		enum inv_place_outcome o = inv_place(iv, &q, (struct inv_report_limits){5, 3}, &report, &host_id, err,
		                                     sizeof(err));
		/* pb's own group refuses h1; pa's and no project's "web" are other groups. */
		assert_int_equal(o, i == 0 ? INV_NO_FIT : INV_PLACED);
		free(host_id);
		json_decref(report);
	}
	json_t *d = inv_dump(iv);
	assert_non_null(json_object_get(json_object_get(d, "groups"), "anti_affinity:pb/web"));
	json_decref(d);
	inv_free(iv);
}

/* The slim reader and the full parse build the same index. */
static void test_slim_equals_full(void **state)
{
	(void)state;
	json_t *docs[3] = {json_array(), json_array(), json_array()};
	json_t *c1 = cluster("c1", 3);
	json_object_set_new(c1, "ha", json_pack("{s:b, s:i}", "enabled", 1, "lease_ms", 6000));
	json_array_append_new(docs[INV_CLUSTER], c1);
	json_array_append_new(docs[INV_HOST], host("h1", "c1", 2, 8, 8192));
	json_t *h2 = host("h\"2", "c1", 5, 4, 1024);
	json_object_set_new(h2, "ha", json_pack("{s:s, s:s}", "state", "isolated", "reason", "alive"));
	json_array_append_new(docs[INV_HOST], h2);
	json_t *v1 = vm("v1", "h1", 7, 2, 512, "web");
	json_object_set_new(v1, "project_id", json_string("p1")); /* its group is p1's */
	json_array_append_new(docs[INV_VM], v1);
	json_array_append_new(docs[INV_VM], vm("v\\2", "h\"2", 1, 1, 64, NULL));
	struct inv *full = inv_new(), *slim = inv_new();
	for (int k = 0; k < 3; k++) {
		char *text = json_dumps(docs[k], JSON_INDENT(1));
		json_t *page = inv_slim_loads(text, strlen(text), inv_slim_spec((enum inv_kind)k));
		assert_non_null(page);
		assert_int_equal(json_array_size(page), json_array_size(docs[k]));
		size_t i;
		json_t *d;
		json_array_foreach(page, i, d) {
			assert_null(json_object_get(d, "agent_url"));
			inv_apply(slim, (enum inv_kind)k, json_string_value(json_object_get(d, "id")), d);
		}
		json_array_foreach(docs[k], i, d)
			inv_apply(full, (enum inv_kind)k, json_string_value(json_object_get(d, "id")), d);
		json_decref(page);
		free(text);
		json_decref(docs[k]);
	}
	json_t *a = inv_dump(full), *b = inv_dump(slim);
	assert_true(json_equal(a, b));
	/* HA's verdict read by both: h"2 is no candidate. */
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(b, "hosts"), "h\"2"),
	                                                      "placement_state")), "disconnected");
	assert_int_equal(json_object_size(json_object_get(a, "vms")), 2);
	assert_non_null(json_object_get(json_object_get(b, "groups"), "anti_affinity:p1/web"));
	json_decref(a);
	json_decref(b);
	/* Not an array of objects: refused, for the caller to parse fully. */
	assert_null(inv_slim_loads("[1]", 3, inv_slim_spec(INV_VM)));
	assert_null(inv_slim_loads("[{\"id\":}]", 9, inv_slim_spec(INV_VM)));
	inv_free(full);
	inv_free(slim);
}

/* The evacuation plan over the index: the host's VMs go where they fit,
 * their anti-affinity group read from the index (two members of one group
 * land on two hosts), the moves name the hosts' ids and placement's
 * reasons; one VM too many is refused naming it; an unknown host is an
 * error. */
static void test_evacuate(void **state)
{
	(void)state;
	struct inv *iv = inv_new();
	put(iv, INV_CLUSTER, cluster("c1", 1));
	put(iv, INV_HOST, host("h0", "c1", 1, 4, 8192));
	put(iv, INV_HOST, host("h1", "c1", 1, 4, 8192));
	put(iv, INV_HOST, host("h2", "c1", 1, 4, 8192));
	put(iv, INV_VM, vm("a", "h0", 1, 2, 2048, "g"));
	put(iv, INV_VM, vm("b", "h0", 1, 2, 2048, "g"));
	static const char *const anti[] = {"g"};
	struct inv_request q[2] = {
		{.vm = "a", .vcpus = 2, .memory_mib = 2048, .datastore = "local", .cluster_id = "c1",
		 .anti_affinity = anti, .nanti_affinity = 1},
		{.vm = "b", .vcpus = 2, .memory_mib = 2048, .datastore = "local", .cluster_id = "c1",
		 .anti_affinity = anti, .nanti_affinity = 1},
	};
	char err[256];
	json_t *plan = inv_evacuate(iv, "h0", q, 2, err, sizeof(err));
	assert_non_null(plan);
	assert_false(json_is_true(json_object_get(plan, "refused")));
	json_t *moves = json_object_get(plan, "moves");
	assert_int_equal(json_array_size(moves), 2);
	const char *to0 = json_string_value(json_object_get(json_array_get(moves, 0), "to_id"));
	const char *to1 = json_string_value(json_object_get(json_array_get(moves, 1), "to_id"));
	assert_string_not_equal(to0, to1); /* anti-affine: two hosts */
	assert_string_not_equal(to0, "h0");
	assert_string_not_equal(to1, "h0");
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(moves, 0), "reason")), "chosen"));
	json_decref(plan);
	/* A third member of the group has no host left: refused, naming it. */
	put(iv, INV_VM, vm("c", "h0", 1, 1, 1024, "g"));
	struct inv_request q3[3] = {q[0], q[1],
	                            {.vm = "c", .vcpus = 1, .memory_mib = 1024, .datastore = "local",
	                             .cluster_id = "c1", .anti_affinity = anti, .nanti_affinity = 1}};
	plan = inv_evacuate(iv, "h0", q3, 3, err, sizeof(err));
	assert_non_null(plan);
	assert_true(json_is_true(json_object_get(plan, "refused")));
	assert_int_equal(json_integer_value(json_object_get(plan, "stuck")), 2);
	assert_non_null(strstr(json_string_value(json_object_get(plan, "reason")), "VM 'c'"));
	json_decref(plan);
	assert_null(inv_evacuate(iv, "nope", q, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "no host 'nope'"));
	inv_free(iv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allocations_and_order),
		cmocka_unit_test(test_cluster_gone),
		cmocka_unit_test(test_ha_verdict),
		cmocka_unit_test(test_bounded_report),
		cmocka_unit_test(test_groups_per_project),
		cmocka_unit_test(test_slim_equals_full),
		cmocka_unit_test(test_evacuate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

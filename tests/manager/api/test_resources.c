/* test_resources.c - vdcd's request parsers, as tables: each bad body must
 * be refused naming the right field; each good one gives the normalized
 * document (defaults filled). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "resources.h"

struct bad_case {
	enum store_kind kind; /* STORE_NKINDS: a VM create; STORE_HOST: a join */
	const char *body;
	const char *field;
};

static json_t *parse(enum store_kind k, const char *body, struct jv_err *err)
{
	json_t *j = json_loads(body, 0, NULL);
	assert_non_null(j);
	json_t *doc = k == STORE_NKINDS ? resource_parse_vm_create(j, err)
	              : k == STORE_HOST ? resource_parse_join(j, err)
	                                : resource_parse_create(k, j, err);
	json_decref(j);
	return doc;
}

static void refusals_name_their_field(void **state)
{
	static const struct bad_case cases[] = {
		{STORE_CLUSTER, "{}", "name"},
		{STORE_CLUSTER, "{\"name\":\"a b\"}", "name"},
		{STORE_CLUSTER, "{\"name\":\"c\",\"policy\":\"fast\"}", "policy"},
		{STORE_CLUSTER, "{\"name\":\"c\",\"cpu_overcommit\":0}", "cpu_overcommit"},
		{STORE_CLUSTER, "{\"name\":\"c\",\"mem_overcommit\":\"1\"}", "mem_overcommit"},
		{STORE_CLUSTER, "{\"name\":\"c\",\"drs\":true}", "drs"},
		{STORE_DATASTORE, "{\"name\":\"d\"}", "path"},
		{STORE_DATASTORE, "{\"name\":\"d\",\"path\":\"rel/x\"}", "path"},
		{STORE_DATASTORE, "{\"name\":\"d\",\"path\":\"/a/../b\"}", "path"},
		{STORE_NETWORK, "{\"name\":\"n\"}", "bridge"},
		{STORE_NETWORK, "{\"name\":\"n\",\"bridge\":\"br 0\"}", "bridge"},
		{STORE_NETWORK, "{\"name\":\"n\",\"bridge\":\"averyveryverylongbridge\"}", "bridge"},
		{STORE_NETWORK, "{\"name\":\"n\",\"bridge\":\"br0\",\"vlan\":4095}", "vlan"},
		{STORE_TEMPLATE, "{\"name\":\"t\"}", "image"},
		{STORE_TEMPLATE, "{\"name\":\"t\",\"image\":\"i\",\"initrd\":\"r\"}", "kernel"},
		{STORE_TEMPLATE, "{\"name\":\"t\",\"image\":\"i\",\"vcpus\":0}", "vcpus"},
		{STORE_TEMPLATE, "{\"name\":\"t\",\"image\":\"i\",\"memory_mib\":8}", "memory_mib"},
		/* Images are named, never host paths (issue 9: /etc/shadow as an image). */
		{STORE_TEMPLATE, "{\"name\":\"t\",\"image\":\"/var/lib/vdcd/admin.token\"}", "image"},
		{STORE_TEMPLATE, "{\"name\":\"t\",\"image\":\"i\",\"kernel\":\"/etc/shadow\"}", "kernel"},
		{STORE_TEMPLATE, "{\"name\":\"t\",\"image\":\"i\",\"kernel\":\"k\",\"initrd\":\"../x\"}", "initrd"},
		{STORE_TEMPLATE, "{\"name\":\"t\",\"image\":\"..\"}", "image"},
		/* HA (issue 14): each setting is refused naming itself. */
		{STORE_CLUSTER, "{\"name\":\"c\",\"ha\":true}", "ha"},
		{STORE_CLUSTER, "{\"name\":\"c\",\"ha\":{\"on\":true}}", "ha.on"},
		{STORE_CLUSTER, "{\"name\":\"c\",\"ha\":{\"default_priority\":\"urgent\"}}", "ha.default_priority"},
		{STORE_CLUSTER, "{\"name\":\"c\",\"ha\":{\"isolation_response\":\"reboot\"}}", "ha.isolation_response"},
		{STORE_CLUSTER, "{\"name\":\"c\",\"ha\":{\"lease_ms\":1999}}", "ha.lease_ms"},
		{STORE_CLUSTER, "{\"name\":\"c\",\"ha\":{\"net_timeout_ms\":5000,\"lease_ms\":5000}}", "ha.lease_ms"},
		{STORE_CLUSTER, "{\"name\":\"c\",\"ha\":{\"max_restarts\":101}}", "ha.max_restarts"},
		{STORE_CLUSTER, "{\"name\":\"c\",\"ha\":{\"restart_window_s\":59}}", "ha.restart_window_s"},
		{STORE_CLUSTER, "{\"name\":\"c\",\"ha\":{\"admission\":{\"policy\":\"some\"}}}", "ha.admission.policy"},
		{STORE_CLUSTER, "{\"name\":\"c\",\"ha\":{\"admission\":{\"host_failures\":1}}}", "ha.admission.policy"},
		{STORE_CLUSTER, "{\"name\":\"c\",\"ha\":{\"admission\":{\"policy\":\"percent\"}}}", "ha.admission"},
		{STORE_CLUSTER, "{\"name\":\"c\",\"ha\":{\"admission\":{\"policy\":\"percent\",\"cpu_pct\":101}}}", "ha.admission.cpu_pct"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"ha\":{}}", "ha"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"ha\":{\"priority\":\"top\"}}", "ha.priority"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"ha\":{\"restart_after\":[\"../x\"]}}", "ha.restart_after"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"ha\":{\"restart_after\":\"a\"}}", "ha.restart_after"},
		/* The guest watchdog: one model by name, never an option string. */
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"watchdog\":\"ib700\"}", "watchdog"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"watchdog\":\"i6300esb,id=x\"}", "watchdog"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"watchdog\":true}", "watchdog"},
		/* Firmware by name, never a file; boot order over known devices. */
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"firmware\":\"efi\"}", "firmware"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"firmware\":\"/tmp/OVMF.fd\"}", "firmware"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"boot_order\":[]}", "boot_order"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"boot_order\":\"disk\"}", "boot_order"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"boot_order\":[\"disk\",\"usb\"]}", "boot_order[1]"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"boot_order\":[\"net\",\"net\"]}", "boot_order[1]"},
		/* The CD-ROM: an ISO of the library by name, never a path. */
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"cdrom\":\"/tmp/x.iso\"}", "cdrom"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"cdrom\":{\"image\":\"/etc/shadow\"}}", "cdrom.image"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"cdrom\":{\"path\":\"/tmp/x.iso\"}}", "cdrom.path"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"cdrom\":{\"image\":1}}", "cdrom.image"},
		{STORE_NKINDS, "{\"name\":\"v\"}", "template"},
		{STORE_NKINDS, "{\"template\":\"t\"}", "name"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"vcpus\":256}", "vcpus"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"start\":1}", "start"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"networks\":[\"ok\",\"no way\"]}", "networks[1]"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"networks\":\"n\"}", "networks"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"placement\":{\"anti_affinity\":[1]}}", "placement.anti_affinity[0]"},
		{STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"placement\":{\"spread\":true}}", "placement.spread"},
		{STORE_HOST, "{\"name\":\"h\",\"agent_url\":\"http://x\",\"agent_token\":\"t\"}", "token"},
		{STORE_HOST, "{\"token\":\"j\",\"name\":\"h\",\"agent_url\":\"ftp://x\",\"agent_token\":\"t\"}", "agent_url"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jv_err err = {0};
		json_t *doc = parse(cases[i].kind, cases[i].body, &err);
		if (doc || strcmp(err.field, cases[i].field) != 0)
			fail_msg("case %zu (%s): expected a refusal naming '%s', got %s '%s'", i, cases[i].body,
			         cases[i].field, doc ? "acceptance" : "field", err.field);
	}
}

static void defaults_are_filled(void **state)
{
	struct jv_err err = {0};
	json_t *c = parse(STORE_CLUSTER, "{\"name\":\"c1\"}", &err);
	assert_non_null(c);
	assert_true(json_number_value(json_object_get(c, "cpu_overcommit")) == 4.0);
	assert_true(json_number_value(json_object_get(c, "mem_overcommit")) == 1.0);
	assert_string_equal(json_string_value(json_object_get(c, "policy")), "pack");
	json_decref(c);
	json_t *v = parse(STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\"}", &err);
	assert_non_null(v);
	assert_true(json_is_true(json_object_get(v, "start")));
	assert_int_equal(json_array_size(json_object_get(json_object_get(v, "placement"), "affinity")), 0);
	assert_int_equal(json_array_size(json_object_get(v, "networks")), 0);
	assert_null(json_object_get(v, "watchdog")); /* none unless asked */
	assert_null(json_object_get(v, "firmware"));   /* bios */
	assert_null(json_object_get(v, "boot_order")); /* the disk */
	json_decref(v);
	v = parse(STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"firmware\":\"uefi\",\"boot_order\":[\"disk\",\"net\"]}", &err);
	assert_string_equal(json_string_value(json_object_get(v, "firmware")), "uefi");
	assert_int_equal(json_array_size(json_object_get(v, "boot_order")), 2);
	json_decref(v);
	v = parse(STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"cdrom\":{\"image\":\"debian.iso\"}}", &err);
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "cdrom"), "image")), "debian.iso");
	json_decref(v);
	v = parse(STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"cdrom\":{}}", &err);
	assert_int_equal(json_object_size(json_object_get(v, "cdrom")), 0); /* an empty drive */
	assert_true(json_is_object(json_object_get(v, "cdrom")));
	json_decref(v);
	v = parse(STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"watchdog\":\"i6300esb\"}", &err);
	assert_string_equal(json_string_value(json_object_get(v, "watchdog")), "i6300esb");
	json_decref(v);
	v = parse(STORE_NKINDS, "{\"name\":\"v\",\"template\":\"t\",\"watchdog\":null}", &err);
	assert_non_null(v);
	assert_null(json_object_get(v, "watchdog"));
	json_decref(v);
	json_t *n = parse(STORE_NETWORK, "{\"name\":\"n\",\"bridge\":\"br0\"}", &err);
	assert_int_equal(json_integer_value(json_object_get(n, "vlan")), 0);
	json_decref(n);
}

/* A cluster update applies what it names onto the stored document and
 * keeps the rest; a refusal names its field, as a create's would. */
static void cluster_updates(void **state)
{
	static const struct { const char *body, *field; } bad[] = {
		{"{\"name\":\"c2\"}", "name"},
		{"{\"cpu_overcommit\":0.05}", "cpu_overcommit"},
		{"{\"cpu_overcommit\":64.5}", "cpu_overcommit"},
		{"{\"mem_overcommit\":5}", "mem_overcommit"},
		{"{\"mem_overcommit\":\"2\"}", "mem_overcommit"},
		{"{\"policy\":\"fast\"}", "policy"},
		{"{\"policy\":null}", "policy"},
		{"{\"cpu_overcommit\":null}", "cpu_overcommit"},
		{"{\"id\":\"x\"}", "id"},
		{"{\"version\":3}", "version"},
		{"{}", "body"},
		{"[]", "body"},
	};
	const char *stored = "{\"id\":\"i\",\"name\":\"c1\",\"cpu_overcommit\":4.0,\"mem_overcommit\":1,"
	                     "\"policy\":\"pack\",\"description\":\"old\",\"version\":2}";
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jv_err err = {0};
		json_t *doc = json_loads(stored, 0, NULL), *b = json_loads(bad[i].body, 0, NULL);
		assert_non_null(b);
		if (resource_parse_cluster_update(b, doc, &err) == 0 || strcmp(err.field, bad[i].field) != 0)
			fail_msg("update %zu (%s): expected a refusal naming '%s', got '%s'", i, bad[i].body, bad[i].field,
			         err.field);
		json_decref(b);
		json_decref(doc);
	}
	struct jv_err err = {0};
	json_t *doc = json_loads(stored, 0, NULL), *b = json_loads("{\"cpu_overcommit\":8,\"policy\":\"spread\"}", 0, NULL);
	assert_int_equal(resource_parse_cluster_update(b, doc, &err), 0);
	assert_true(json_number_value(json_object_get(doc, "cpu_overcommit")) == 8.0);
	assert_true(json_number_value(json_object_get(doc, "mem_overcommit")) == 1.0);
	assert_string_equal(json_string_value(json_object_get(doc, "policy")), "spread");
	assert_string_equal(json_string_value(json_object_get(doc, "description")), "old");
	assert_string_equal(json_string_value(json_object_get(doc, "name")), "c1");
	assert_int_equal(json_integer_value(json_object_get(doc, "version")), 2);
	json_decref(b);
	b = json_loads("{\"description\":\"\"}", 0, NULL);
	assert_int_equal(resource_parse_cluster_update(b, doc, &err), 0);
	assert_null(json_object_get(doc, "description")); /* empty: none */
	assert_string_equal(json_string_value(json_object_get(doc, "policy")), "spread");
	json_decref(b);
	json_decref(doc);
}

/* Resource pools: creates, updates (PATCH onto a stored pool) and a VM's
 * pool; each bad body refused naming its field, good ones normalized. */
static void pool_bodies(void **state)
{
	static const struct {
		int form; /* 0 create, 1 update, 2 a VM's pool */
		const char *body, *field; /* field NULL: accepted */
		const char *want;         /* a key=value the result has ("" none) */
	} cases[] = {
		{0, "{\"name\":\"p\",\"cluster\":\"c1\"}", NULL, "cpu_shares=100"},
		{0, "{\"name\":\"p\",\"cluster\":\"c1\"}", NULL, "expandable=true"},
		{0, "{\"name\":\"p\",\"cluster\":\"c1\",\"expandable\":false,\"mem_limit_mib\":4096}", NULL,
		 "mem_limit_mib=4096"},
		{0, "{\"name\":\"p\"}", "cluster", ""},
		{0, "{\"cluster\":\"c1\"}", "name", ""},
		{0, "{\"name\":\"p q\",\"cluster\":\"c1\"}", "name", ""},
		{0, "{\"name\":\"p\",\"cluster\":\"../c\"}", "cluster", ""},
		{0, "{\"name\":\"p\",\"cluster\":\"c1\",\"parent\":\"a/b\"}", "parent", ""},
		{0, "{\"name\":\"p\",\"cluster\":\"c1\",\"cpu_shares\":0}", "cpu_shares", ""},
		{0, "{\"name\":\"p\",\"cluster\":\"c1\",\"cpu_shares\":10001}", "cpu_shares", ""},
		{0, "{\"name\":\"p\",\"cluster\":\"c1\",\"cpu_reservation_pct\":-1}", "cpu_reservation_pct", ""},
		{0, "{\"name\":\"p\",\"cluster\":\"c1\",\"cpu_limit_pct\":0}", "cpu_limit_pct", ""},
		{0, "{\"name\":\"p\",\"cluster\":\"c1\",\"mem_limit_mib\":null}", "mem_limit_mib", ""},
		{0, "{\"name\":\"p\",\"cluster\":\"c1\",\"mem_reservation_mib\":\"1G\"}", "mem_reservation_mib", ""},
		{0, "{\"name\":\"p\",\"cluster\":\"c1\",\"expandable\":1}", "expandable", ""},
		{0, "{\"name\":\"p\",\"cluster\":\"c1\",\"mem_shares\":5}", "mem_shares", ""},
		{0, "[1]", "body", ""},
		{1, "{\"cpu_shares\":300}", NULL, "cpu_shares=300"},
		{1, "{\"mem_limit_mib\":null}", NULL, "mem_limit_mib=(none)"},
		{1, "{\"expandable\":false}", NULL, "expandable=false"},
		{1, "{}", "body", ""},
		{1, "{\"name\":\"q\"}", "name", ""},
		{1, "{\"cluster\":\"c2\"}", "cluster", ""},
		{1, "{\"parent\":\"other\"}", "parent", ""},
		{1, "{\"cpu_shares\":null}", "cpu_shares", ""},
		{1, "{\"expandable\":null}", "expandable", ""},
		{1, "{\"mem_reservation_mib\":-5}", "mem_reservation_mib", ""},
		{2, "{\"pool\":\"prod\"}", NULL, "pool=prod"},
		{2, "{\"pool\":null}", NULL, "pool=(null)"},
		{2, "{\"mem_reservation_mib\":512}", NULL, "mem_reservation_mib=512"},
		{2, "{}", "body", ""},
		{2, "{\"pool\":\"a b\"}", "pool", ""},
		{2, "{\"pool\":7}", "pool", ""},
		{2, "{\"cpu_limit_pct\":100}", "cpu_limit_pct", ""},
		{2, "{\"cpu_reservation_pct\":-1}", "cpu_reservation_pct", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *b = json_loads(cases[i].body, 0, NULL);
		assert_non_null(b);
		struct jv_err err = {0};
		json_t *doc = NULL;
		int ok;
		if (cases[i].form == 0) {
			doc = resource_parse_pool(b, &err);
			ok = doc != NULL;
		} else {
			doc = cases[i].form == 1 ? json_pack("{s:s, s:i, s:b, s:i}", "name", "p", "cpu_shares", 100,
			                                     "expandable", 1, "mem_limit_mib", 2048)
			                         : json_object();
			ok = (cases[i].form == 1 ? resource_parse_pool_update(b, doc, &err)
			                         : resource_parse_vm_pool(b, doc, &err)) == 0;
		}
		if (cases[i].field) {
			if (ok || strcmp(err.field, cases[i].field))
				fail_msg("case %zu %s: want a refusal naming %s, got %s (%s)", i, cases[i].body, cases[i].field,
				         ok ? "accepted" : err.field, err.message);
		} else if (!ok) {
			fail_msg("case %zu %s: refused: %s: %s", i, cases[i].body, err.field, err.message);
		} else if (cases[i].want[0]) {
			char key[64];
			const char *eq = strchr(cases[i].want, '=');
			snprintf(key, sizeof(key), "%.*s", (int)(eq - cases[i].want), cases[i].want);
			json_t *v = json_object_get(doc, key);
			char got[64];
			if (!v)
				snprintf(got, sizeof(got), "(none)");
			else if (json_is_null(v))
				snprintf(got, sizeof(got), "(null)");
			else if (json_is_boolean(v))
				snprintf(got, sizeof(got), "%s", json_is_true(v) ? "true" : "false");
			else if (json_is_integer(v))
				snprintf(got, sizeof(got), "%lld", (long long)json_integer_value(v));
			else
				snprintf(got, sizeof(got), "%s", json_string_value(v));
			if (strcmp(got, eq + 1))
				fail_msg("case %zu %s: %s is %s, want %s", i, cases[i].body, key, got, eq + 1);
		}
		json_decref(doc);
		json_decref(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(refusals_name_their_field),
		cmocka_unit_test(defaults_are_filled),
		cmocka_unit_test(cluster_updates),
		cmocka_unit_test(pool_bodies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* fuzz_resources.c - libFuzzer harness for vdcd's request parsers: the input
 * as the JSON body of every inventory create, of a VM create, of a host
 * join, of a resource pool's create and update and of a VM's pool. Properties: a refusal names a field; an accepted body yields a
 * document whose fields are within the parser's own rules. */
#include "jsonv.h"
#include "resources.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "property violated: %s\n", what);
		abort();
	}
}

static void check_name(const json_t *doc)
{
	const char *n = json_string_value(json_object_get(doc, "name"));
	check(n && jv_is_safe_name(n), "an accepted name is safe");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!body)
		return 0;
	static const enum store_kind kinds[] = {STORE_CLUSTER, STORE_DATASTORE, STORE_NETWORK,
	                                        STORE_TEMPLATE, STORE_HOST};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct jv_err err = {0};
		json_t *doc = resource_parse_create(kinds[i], body, &err);
		if (!doc) {
			check(err.field[0] && err.message[0], "a refusal names a field and a reason");
			continue;
		}
		check(kinds[i] != STORE_HOST, "hosts are never created from a body");
		check_name(doc);
		if (kinds[i] == STORE_CLUSTER) {
			double c = json_number_value(json_object_get(doc, "cpu_overcommit"));
			double m = json_number_value(json_object_get(doc, "mem_overcommit"));
			check(c >= 0.1 && c <= 64 && m >= 0.1 && m <= 4, "overcommit in range");
		}
		if (kinds[i] == STORE_NETWORK) {
			json_int_t v = json_integer_value(json_object_get(doc, "vlan"));
			check(v >= 0 && v <= 4094, "vlan in range");
		}
		json_decref(doc);
	}
	struct jv_err err = {0};
	json_t *vm = resource_parse_vm_create(body, &err);
	if (vm) {
		check_name(vm);
		check(json_is_array(json_object_get(json_object_get(vm, "placement"), "affinity")),
		      "placement groups are normalized");
		check(json_array_size(json_object_get(vm, "networks")) <= 16, "at most 16 networks");
		json_decref(vm);
	} else {
		check(err.field[0] != '\0', "a refused VM names a field");
	}
	/* Resource pools: bounds hold, a limit is never 0, refusals name a field. */
	struct jv_err perr = {0};
	json_t *pool = resource_parse_pool(body, &perr);
	if (pool) {
		check_name(pool);
		json_int_t sh = json_integer_value(json_object_get(pool, "cpu_shares"));
		check(sh >= 1 && sh <= 10000, "shares in range");
		check(json_integer_value(json_object_get(pool, "mem_reservation_mib")) >= 0 &&
		      json_integer_value(json_object_get(pool, "cpu_reservation_pct")) >= 0, "reservations not negative");
		json_t *lim = json_object_get(pool, "mem_limit_mib");
		check(!lim || json_integer_value(lim) >= 1, "a memory limit is at least 1 MiB");
		check(json_is_string(json_object_get(pool, "cluster")), "a pool names its cluster");
		json_decref(pool);
	} else {
		check(perr.field[0] && perr.message[0], "a refused pool names a field and a reason");
	}
	json_t *stored = json_pack("{s:s, s:i, s:b, s:i}", "name", "p", "cpu_shares", 100, "expandable", 1,
	                           "mem_limit_mib", 2048);
	struct jv_err uerr = {0};
	if (resource_parse_pool_update(body, stored, &uerr) == 0) {
		check(!strcmp(json_string_value(json_object_get(stored, "name")) ?: "", "p"), "an update keeps the name");
		check(!json_object_get(stored, "parent") && !json_object_get(stored, "cluster"),
		      "an update moves no pool");
	} else {
		check(uerr.field[0] != '\0', "a refused update names a field");
	}
	json_decref(stored);
	json_t *moved = json_object();
	struct jv_err verr = {0};
	if (resource_parse_vm_pool(body, moved, &verr) == 0) {
		const char *p = json_string_value(json_object_get(moved, "pool"));
		check(!p || jv_is_safe_name(p), "a VM's pool is a name");
		check(json_object_size(moved) >= 1, "a VM's pool change changes something");
	} else {
		check(verr.field[0] != '\0', "a refused pool change names a field");
	}
	json_decref(moved);
	struct jv_err jerr = {0};
	json_t *join = resource_parse_join(body, &jerr);
	if (join) {
		const char *url = json_string_value(json_object_get(join, "agent_url"));
		check(url && (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8)),
		      "an accepted agent URL is http(s)");
		json_decref(join);
	}
	json_decref(body);
	return 0;
}

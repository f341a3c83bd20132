/* place.c - placement for the API: the request in JSON → the inventory
 * index's decision (ops/inventory.c; never a read of the whole store) → the
 * chosen host's document and a bounded report. */
#include "place.h"

#include "inventory.h"

#include <stdlib.h>
#include <string.h>

/* What a report shows at most, whatever the size of the fleet. */
static const struct inv_report_limits report_limits = {.top = 5, .examples = 3};

int place_strings(const json_t *arr, const char **v, int max)
{
	int n = 0;
	size_t i;
	json_t *s;
	json_array_foreach(arr, i, s)
		if (n < max && json_string_value(s))
			v[n++] = json_string_value(s);
	return n;
}

int place_vm(struct store *st, const json_t *req, json_t **host_doc, json_t **report,
             struct errinfo *e)
{
	enum { MAX_NAMES = 256 };
	const char *nets[MAX_NAMES], *aff[MAX_NAMES], *anti[MAX_NAMES];
	*host_doc = *report = NULL;
	struct inv_request q = {
		.vm = json_string_value(json_object_get(req, "name")),
		.vcpus = (int)json_integer_value(json_object_get(req, "vcpus")),
		.memory_mib = json_integer_value(json_object_get(req, "memory_mib")),
		.reserve_cpu_pct = json_integer_value(json_object_get(req, "cpu_reservation_pct")),
		.reserve_memory_mib = json_integer_value(json_object_get(req, "mem_reservation_mib")),
		.datastore = json_string_value(json_object_get(req, "datastore")) ?: "local",
		.networks = nets,
		.nnetworks = place_strings(json_object_get(req, "bridges"), nets, MAX_NAMES),
		.cluster_id = json_string_value(json_object_get(req, "cluster_id")),
		.affinity = aff,
		.naffinity = place_strings(json_object_get(req, "affinity"), aff, MAX_NAMES),
		.anti_affinity = anti,
		.nanti_affinity = place_strings(json_object_get(req, "anti_affinity"), anti, MAX_NAMES),
		.project_id = json_string_value(json_object_get(req, "project_id")),
		.moving_from = json_string_value(json_object_get(req, "moving_from")),
		.only_host = json_string_value(json_object_get(req, "only_host")),
	};
	char err[256], *host_id = NULL;
	switch (inventory_place(&q, report_limits, report, &host_id, err, sizeof(err))) {
	case INV_NO_HOSTS:
		return errinfo_set(e, 409, "no_host", NULL, "no host has joined yet: make a join token "
		                   "(POST /api/v1/hosts/join-tokens) and start an agent with it");
	case INV_PLACE_ERROR:
		return errinfo_set(e, 500, "placement", NULL, "placement failed: %s", err);
	case INV_NO_FIT:
		return errinfo_set(e, 409, "no_host", NULL, "%s",
		                   json_string_value(json_object_get(*report, "summary")));
	case INV_PLACED:
		break;
	}
	*host_doc = store_get(st, STORE_HOST, host_id, e);
	free(host_id);
	if (!*host_doc) {
		json_decref(*report);
		*report = NULL;
		return -1;
	}
	return 0;
}

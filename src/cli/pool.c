/* pool.c - 'vdc pool list|get|create|update|delete|tree' (resource pools:
 * a cluster's CPU and memory shared out with shares, reservations and
 * limits; system administrators) and 'vdc vm set-pool'. */
#include "cli.h"

#include "client.h"

#include <string.h>

static const struct column cols[] = {
	{"NAME", "name", FMT_TEXT, 0, NULL},
	{"CLUSTER", "cluster_id", FMT_REF, 0, "clusters"},
	{"PARENT", "parent_id", FMT_REF, 0, "pools"},
	{"SHARES", "cpu_shares", FMT_TEXT, 0, NULL},
	{"CPU-RES", "cpu_reservation_pct", FMT_PERCENT, 0, NULL},
	{"CPU-LIMIT", "cpu_limit_pct", FMT_PERCENT, 0, NULL},
	{"MEM-RES", "mem_reservation_mib", FMT_MIB, 0, NULL},
	{"MEM-LIMIT", "mem_limit_mib", FMT_MIB, 0, NULL},
	{"EXPANDABLE", "expandable", FMT_TEXT, 0, NULL},
	{0},
};
static const struct resource res = {"pool", "pools", cols, NULL};

static const struct opt list_opts[] = {
	{"cluster", 0, OPT_STR, "CLUSTER", "only pools of this cluster", "cluster_id", 0, "clusters"},
	OPT_LIMIT,
	OPT_AFTER,
	OPT_END,
};

#define SETTINGS                                                                                               \
	{"cpu-shares", 0, OPT_INT, "N", "its share of CPU against its siblings under contention (1-10000; 100 "    \
	 "normal)", "cpu_shares", 0, NULL},                                                                         \
	{"cpu-reservation", 0, OPT_INT, "PCT", "CPU guaranteed to what runs in it, in percent of one CPU (200: two " \
	 "CPUs)", "cpu_reservation_pct", 0, NULL},                                                                  \
	{"cpu-limit", 0, OPT_INT, "PCT", "CPU its VMs may use at most together (percent of one CPU)",              \
	 "cpu_limit_pct", 0, NULL},                                                                                 \
	{"mem-reservation", 0, OPT_INT, "MIB", "memory guaranteed to what runs in it", "mem_reservation_mib", 0,    \
	 NULL},                                                                                                     \
	{"mem-limit", 0, OPT_INT, "MIB", "memory its VMs may use at most together", "mem_limit_mib", 0, NULL},     \
	{"no-expandable", 0, OPT_FLAG, NULL, "never borrow unreserved capacity from its parent (default: it may)",  \
	 "expandable", OPT_NEGATE, NULL}

static const struct opt create_opts[] = {
	{"cluster", 0, OPT_STR, "CLUSTER", "the cluster it divides (required)", "cluster", 0, NULL},
	{"parent", 0, OPT_STR, "POOL", "the pool it is part of (default: the cluster's root)", "parent", 0, NULL},
	SETTINGS,
	OPT_DESCRIPTION,
	OPT_BODY_FILE,
	OPT_END,
};

static const struct opt update_opts[] = {
	SETTINGS,
	{"expandable", 0, OPT_FLAG, NULL, "may borrow unreserved capacity from its parent", "expandable", 0, NULL},
	{"no-cpu-limit", 0, OPT_FLAG, NULL, "remove its CPU limit", NULL, 0, NULL},
	{"no-mem-limit", 0, OPT_FLAG, NULL, "remove its memory limit", NULL, 0, NULL},
	{"description", 0, OPT_STR, "TEXT", "a free-text description ('' removes it)", "description", 0, NULL},
	OPT_END,
};

static int check_create(const struct args *a, char *err, size_t errlen)
{
	if (!args_str(a, "cluster") && !args_str(a, "file")) {
		snprintf(err, errlen, "give --cluster CLUSTER: a pool divides one cluster's capacity");
		return CLI_USAGE;
	}
	return 0;
}

/* The PATCH body: the flags given, a limit removed as null. */
static int update_body(const struct args *a, json_t **body, char *err, size_t errlen)
{
	*body = json_object();
	int rc = args_fill_body(a, *body, err, errlen);
	static const char *const lims[][2] = {{"no-cpu-limit", "cpu_limit_pct"}, {"no-mem-limit", "mem_limit_mib"}};
	for (int i = 0; i < 2 && !rc; i++) {
		if (!args_flag(a, lims[i][0]))
			continue;
		if (json_object_get(*body, lims[i][1])) {
			snprintf(err, errlen, "--%s and a new limit contradict each other; give one", lims[i][0]);
			rc = CLI_USAGE;
		}
		json_object_set_new(*body, lims[i][1], json_null());
	}
	if (!rc && json_object_size(*body) == 0) {
		snprintf(err, errlen, "give at least one of --cpu-shares, --cpu-reservation, --cpu-limit, --mem-reservation, "
		                      "--mem-limit, --[no-]expandable, --no-cpu-limit, --no-mem-limit, --description");
		rc = CLI_USAGE;
	}
	if (rc) {
		json_decref(*body);
		*body = NULL;
	}
	return rc;
}

static int check_update(const struct args *a, char *err, size_t errlen)
{
	json_t *b = NULL;
	int rc = update_body(a, &b, err, errlen);
	json_decref(b);
	return rc;
}

static int update(struct cli *c, const struct args *a)
{
	json_t *doc = NULL;
	int rc = res_patch(c, a, update_body, &doc);
	if (doc)
		fprintf(c->out, "pool %s updated\n", json_string_value(json_object_get(doc, "name")) ?: a->pos[0]);
	json_decref(doc);
	return rc;
}

/* "250%" or "-" (none); memory as "1Gi". */
static void cell(const json_t *p, const char *key, enum col_fmt f, char *buf, size_t n)
{
	const json_t *v = json_object_get(p, key);
	if (!v || json_is_null(v))
		snprintf(buf, n, "-");
	else
		fmt_cell(v, f, 0, buf, n);
}

static void tree_level(struct cli *c, const json_t *pools, const char *parent, int depth)
{
	size_t i;
	json_t *p;
	json_array_foreach(pools, i, p) {
		const char *pid = json_string_value(json_object_get(p, "parent_id"));
		if (parent ? !pid || strcmp(pid, parent) : pid != NULL)
			continue;
		char cr[24], cl[24], mr[24], ml[24], ur[24], um[24];
		cell(p, "cpu_reservation_pct", FMT_PERCENT, cr, sizeof(cr));
		cell(p, "cpu_limit_pct", FMT_PERCENT, cl, sizeof(cl));
		cell(p, "mem_reservation_mib", FMT_MIB, mr, sizeof(mr));
		cell(p, "mem_limit_mib", FMT_MIB, ml, sizeof(ml));
		cell(p, "reserved_cpu_pct", FMT_PERCENT, ur, sizeof(ur));
		cell(p, "reserved_mem_mib", FMT_MIB, um, sizeof(um));
		fprintf(c->out, "%*s%-*s shares %-5lld cpu res %-6s limit %-6s mem res %-6s limit %-6s %s  in use: %s cpu, "
		        "%s mem reserved; %lld VMs (%lld running)\n", 2 * depth + 2, "", 20 - 2 * depth,
		        json_string_value(json_object_get(p, "name")) ?: "?",
		        (long long)json_integer_value(json_object_get(p, "cpu_shares")), cr, cl, mr, ml,
		        json_is_true(json_object_get(p, "expandable")) ? "expandable" : "fixed     ", ur, um,
		        (long long)json_integer_value(json_object_get(p, "vms")),
		        (long long)json_integer_value(json_object_get(p, "vms_running")));
		tree_level(c, pools, json_string_value(json_object_get(p, "id")), depth + 1);
	}
}

static int tree(struct cli *c, const struct args *a)
{
	char path[600], esc[512];
	snprintf(path, sizeof(path), "/api/v1/clusters/%s/pools", client_escape(a->pos[0], esc, sizeof(esc)));
	json_t *t = NULL;
	int rc = cli_call(c, "GET", path, NULL, "cluster", &t);
	if (rc)
		return rc;
	if (c->output == OUT_JSON) {
		out_json(c, t);
	} else {
		const json_t *cl = json_object_get(t, "cluster");
		char cc[24], cm[24], rc_[24], rm[24];
		cell(cl, "capacity_cpu_pct", FMT_PERCENT, cc, sizeof(cc));
		cell(cl, "capacity_mem_mib", FMT_MIB, cm, sizeof(cm));
		cell(cl, "reserved_cpu_pct", FMT_PERCENT, rc_, sizeof(rc_));
		cell(cl, "reserved_mem_mib", FMT_MIB, rm, sizeof(rm));
		fprintf(c->out, "cluster %s: capacity %s cpu, %s mem; reserved %s cpu, %s mem; %lld VMs outside pools "
		        "(%lld running)\n", json_string_value(json_object_get(cl, "name")) ?: "?", cc, cm, rc_, rm,
		        (long long)json_integer_value(json_object_get(cl, "vms")),
		        (long long)json_integer_value(json_object_get(cl, "vms_running")));
		tree_level(c, json_object_get(t, "pools"), NULL, 0);
	}
	json_decref(t);
	return 0;
}

static const struct cmd cmds[] = {
	RES_LIST(&res, list_opts),
	RES_GET(&res),
	{"create", "NAME", 1, 1, "create a resource pool in a cluster (admins)", create_opts, res_create, &res,
	 check_create,
	 "A pool guarantees its reservations to what runs in it and caps it at its limits; its\n"
	 "shares weigh it against its siblings when CPU is short. On each host it is a cgroup\n"
	 "level holding its VMs. CPU is in percent of one CPU, memory in MiB.\n"
	 "Example:\n  vdc pool create prod --cluster c1 --cpu-reservation 200 --mem-reservation 4096 --cpu-shares 200\n"
	 "  vdc pool create web --parent prod --cluster c1 --mem-limit 2048 --no-expandable\n"},
	{"update", "NAME", 1, 1, "change a pool's shares, reservations or limits (admins)", update_opts, update, &res,
	 check_update,
	 "Flags not given are left as they are. A change that the VMs running in it would\n"
	 "break (a reservation below what they reserve) is refused, naming the numbers.\n"
	 "Example:\n  vdc pool update prod --cpu-limit 400 --no-mem-limit\n"},
	RES_DELETE(&res),
	{"tree", "CLUSTER", 1, 1, "show a cluster's pools as a tree, with what is reserved in each", NULL, tree, NULL,
	 NULL, NULL},
	{0},
};

const struct family cli_pool = {"pool", "resource pools: shares, reservations and limits", cmds};

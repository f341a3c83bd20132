/* cluster.c - 'vdc cluster list|get|create|update|delete': groups of hosts
 * that share an overcommit ratio and a placement policy. */
#include "cli.h"

#include "client.h"
#include "table.h"

#include <stdlib.h>
#include <string.h>

static const struct column cols[] = {
	{"NAME", "name", FMT_TEXT, 0, NULL},
	{"POLICY", "policy", FMT_TEXT, 0, NULL},
	{"CPU-BASELINE", "cpu_baseline", FMT_TEXT, 0, NULL},
	{"CPU-OVERCOMMIT", "cpu_overcommit", FMT_TEXT, 0, NULL},
	{"MEM-OVERCOMMIT", "mem_overcommit", FMT_TEXT, 0, NULL},
	{"DESCRIPTION", "description", FMT_TEXT, 40, NULL},
	{"AGE", "created_at", FMT_AGE, 0, NULL},
	{0},
};
static const struct resource res = {"cluster", "clusters", cols, NULL};

/* The HA policy's flags, the same for create and update. */
#define HA_OPTS \
	{"ha", 0, OPT_FLAG, NULL, "turn high availability on: a failed host's protected VMs start on other hosts", \
	 "ha.enabled", 0, NULL}, \
	{"no-ha", 0, OPT_FLAG, NULL, "turn high availability off", "ha.enabled", OPT_NEGATE, NULL}, \
	{"ha-default-priority", 0, OPT_STR, "PRIORITY", "restart priority of VMs that set none: high, medium (the " \
	 "default), low or disabled", "ha.default_priority", 0, NULL}, \
	{"ha-isolation-response", 0, OPT_STR, "RESPONSE", "what an isolated host does with its protected VMs: leave " \
	 "(the default), shutdown or poweroff", "ha.isolation_response", 0, NULL}, \
	{"ha-admission", 0, OPT_STR, "POLICY", "admission control: host_failures (the default, with " \
	 "--ha-host-failures), percent (with --ha-cpu-pct/--ha-mem-pct) or none", "ha.admission.policy", 0, NULL}, \
	{"ha-host-failures", 0, OPT_INT, "N", "host failures the cluster keeps room for (default 1)", \
	 "ha.admission.host_failures", 0, NULL}, \
	{"ha-cpu-pct", 0, OPT_INT, "PCT", "CPU kept free for failover (percent policy)", "ha.admission.cpu_pct", 0, NULL}, \
	{"ha-mem-pct", 0, OPT_INT, "PCT", "memory kept free for failover (percent policy)", "ha.admission.mem_pct", 0, \
	 NULL}, \
	{"ha-lease-ms", 0, OPT_INT, "MS", "a host's datastore lease: its VMs start elsewhere once it ran out (default " \
	 "4000)", "ha.lease_ms", 0, NULL}, \
	{"ha-net-timeout-ms", 0, OPT_INT, "MS", "a host silent this long is judged by its lease (default 3000)", \
	 "ha.net_timeout_ms", 0, NULL}, \
	{"ha-max-restarts", 0, OPT_INT, "N", "VM monitoring: restarts of a crashed VM per window (default 3)", \
	 "ha.max_restarts", 0, NULL}, \
	{"ha-ready-timeout", 0, OPT_INT, "S", "how long a restart wave waits for a VM's readiness probe before the " \
	 "next goes on (default 120)", "ha.ready_timeout_s", 0, NULL}

static const struct opt list_opts[] = {OPT_LIMIT, OPT_AFTER, OPT_END};

static const struct opt create_opts[] = {
	{"cpu-overcommit", 0, OPT_NUM, "RATIO", "vCPUs per host CPU (default 4)", "cpu_overcommit", 0, NULL},
	{"mem-overcommit", 0, OPT_NUM, "RATIO", "guest memory per host memory (default 1)", "mem_overcommit", 0, NULL},
	{"policy", 0, OPT_STR, "POLICY", "pack (fill hosts one by one, the default) or spread", "policy", 0, NULL},
	{"cpu-baseline", 0, OPT_STR, "MODEL", "the CPU model every VM of the cluster runs with, one every host "
	 "offers (vdc host get H: cpu_models), so any VM can move to any host", "cpu_baseline", 0, NULL},
	OPT_DESCRIPTION,
	HA_OPTS,
	OPT_BODY_FILE,
	OPT_END,
};

static const struct opt update_opts[] = {
	{"cpu-overcommit", 0, OPT_NUM, "RATIO", "vCPUs per host CPU (0.1 to 64)", "cpu_overcommit", 0, NULL},
	{"mem-overcommit", 0, OPT_NUM, "RATIO", "guest memory per host memory (0.1 to 4)", "mem_overcommit", 0, NULL},
	{"policy", 0, OPT_STR, "POLICY", "pack or spread", "policy", 0, NULL},
	{"description", 0, OPT_STR, "TEXT", "a free-text description ('' removes it)", "description", 0, NULL},
	{"cpu-baseline", 0, OPT_STR, "MODEL", "the CPU model VMs made from now on run with; every host must offer "
	 "it ('' removes it)", "cpu_baseline", 0, NULL},
	{"migration-downtime-ms", 0, OPT_INT, "MS", "the longest pause a migrating guest may see (default 300)",
	 "migration.downtime_limit_ms", 0, NULL},
	{"migration-bandwidth-mib-s", 0, OPT_INT, "MIB", "cap each migration at MiB/s (0: none)",
	 "migration.max_bandwidth_mib_s", 0, NULL},
	{"migration-link-mib-s", 0, OPT_INT, "MIB", "the migration network's speed plans predict from (0: measure it "
	 "before each migration, the default)",
	 "migration.link_mib_s", 0, NULL},
	{"migration-max-per-host", 0, OPT_INT, "N", "migrations under way from or to one host (default 2)",
	 "migration.max_per_host", 0, NULL},
	{"migration-max-per-cluster", 0, OPT_INT, "N", "migrations under way in the whole cluster (default 8)",
	 "migration.max_per_cluster", 0, NULL},
	{"migration-postcopy", 0, OPT_FLAG, NULL, "allow an overdue migration to switch to post-copy",
	 "migration.postcopy", 0, NULL},
	{"no-migration-postcopy", 0, OPT_FLAG, NULL, "never switch to post-copy (the default)", "migration.postcopy",
	 OPT_NEGATE, NULL},
	{"migration-auto-converge", 0, OPT_FLAG, NULL, "allow throttling a guest that dirties faster than the link "
	 "(the default)", "migration.auto_converge", 0, NULL},
	{"no-migration-auto-converge", 0, OPT_FLAG, NULL, "never throttle a migrating guest",
	 "migration.auto_converge", OPT_NEGATE, NULL},
	{"migration-cold-fallback", 0, OPT_FLAG, NULL, "let an evacuation move a VM cold when live migration cannot",
	 "migration.cold_fallback", 0, NULL},
	{"no-migration-cold-fallback", 0, OPT_FLAG, NULL, "never move a VM cold in an evacuation (the default)",
	 "migration.cold_fallback", OPT_NEGATE, NULL},
	{"migration-copy-local-disks", 0, OPT_FLAG, NULL, "move disks on a host's own datastore with a live "
	 "migration, over NBD (the default)", "migration.copy_local_disks", 0, NULL},
	{"no-migration-copy-local-disks", 0, OPT_FLAG, NULL, "migrate live only VMs whose disks are on shared "
	 "datastores", "migration.copy_local_disks", OPT_NEGATE, NULL},
	HA_OPTS,
	OPT_END,
};

/* The PATCH body: only the flags given (vdcd keeps the rest). */
static int update_body(const struct args *a, json_t **body, char *err, size_t errlen)
{
	*body = json_object();
	int rc = args_fill_body(a, *body, err, errlen);
	if (!rc && json_object_size(*body) == 0) {
		snprintf(err, errlen, "give at least one of --cpu-overcommit, --mem-overcommit, --policy, --description, "
		                      "--cpu-baseline, --migration-..., --ha...");
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
		fprintf(c->out, "cluster %s updated: cpu-overcommit %g, mem-overcommit %g, policy %s\n",
		        json_string_value(json_object_get(doc, "name")) ?: a->pos[0],
		        json_number_value(json_object_get(doc, "cpu_overcommit")),
		        json_number_value(json_object_get(doc, "mem_overcommit")),
		        json_string_value(json_object_get(doc, "policy")) ?: "?");
	json_decref(doc);
	return rc;
}

/* Prints t and frees it. */
static void put_table(struct cli *c, struct table *t)
{
	char *text = t ? table_render(t) : NULL;
	if (text)
		fputs(text, c->out);
	free(text);
	table_free(t);
}

/* The path of the HA report of the cluster name_or_id names
 * ("/api/v1/clusters/ID/ha") into path. 0, or the CLI's exit code. */
static int ha_path(struct cli *c, const char *name_or_id, char *path, size_t n)
{
	char id[64];
	int rc = cli_resolve_id(c, "clusters", "cluster", name_or_id, id, sizeof(id));
	if (!rc)
		snprintf(path, n, "/api/v1/clusters/%s/ha", id);
	return rc;
}

/* GETs path into *r (a new reference); with -o json the reply is printed
 * as it came and *r left NULL: nothing is left to print. 0, or the CLI's
 * exit code. */
static int get_reply(struct cli *c, const char *path, json_t **r)
{
	*r = NULL;
	int rc = cli_call(c, "GET", path, NULL, "cluster", r);
	if (!rc && c->output == OUT_JSON) {
		out_json(c, *r);
		json_decref(*r);
		*r = NULL;
	}
	return rc;
}

/* vdc cluster ha NAME: failover capacity and each host's HA state. */
static int ha_report(struct cli *c, const struct args *a)
{
	char path[512];
	json_t *r;
	int rc = ha_path(c, a->pos[0], path, sizeof(path));
	if (rc || (rc = get_reply(c, path, &r)) || !r)
		return rc;
	fprintf(c->out, "%-12s%s\n", "ha", json_is_true(json_object_get(r, "enabled")) ? "on" : "off");
	fprintf(c->out, "%-12s%s\n", "admission", json_string_value(json_object_get(r, "admission")) ?: "?");
	char *sum = text_sanitize(json_string_value(json_path(r, "failover_capacity.summary")) ?: "");
	if (sum && *sum)
		fprintf(c->out, "%-12s%s\n", "capacity", sum);
	free(sum);
	static const char *const hdr[] = {"HOST", "STATE", "HA", "WHY"};
	static const int width[] = {20, 12, 10, 80};
	struct table *t = table_new(4, hdr, width);
	size_t i;
	json_t *h;
	json_array_foreach(json_object_get(r, "hosts"), i, h) {
		const char *row[] = {json_string_value(json_object_get(h, "name")) ?: "?",
		                     json_string_value(json_object_get(h, "state")) ?: "?",
		                     json_string_value(json_path(h, "ha.state")) ?: "-",
		                     json_string_value(json_path(h, "ha.reason")) ?: ""};
		table_add_row(t, row);
	}
	put_table(c, t);
	json_decref(r);
	return 0;
}

/* vdc cluster incidents NAME: its HA incidents, newest first, each a
 * timeline with times from when it was detected. */
static const struct opt incident_opts[] = {
	{"host", 0, OPT_STR, "HOST", "only this host's incidents", NULL, 0, NULL},
	{"limit", 0, OPT_INT, "N", "at most N incidents (default 10, at most 200)", NULL, 0, NULL},
	OPT_END,
};

static void print_incident(struct cli *c, const json_t *inc)
{
	int64_t t0 = 0, at;
	json_time_ms(json_object_get(inc, "opened_at"), &t0);
	const json_t *sum = json_object_get(inc, "summary");
	const char *who = json_string_value(json_path(inc, json_object_get(inc, "vm") ? "vm.name" : "host.name"));
	fprintf(c->out, "%s  %s %s  %s, opened %s", json_string_value(json_object_get(inc, "id")) ?: "?",
	        json_string_value(json_object_get(inc, "kind")) ?: "?", who ?: "?",
	        json_string_value(json_object_get(inc, "state")) ?: "?",
	        json_string_value(json_object_get(inc, "opened_at")) ?: "?");
	if (json_is_number(json_object_get(sum, "to_fenced_s")))
		fprintf(c->out, ", fenced +%.1f s", json_number_value(json_object_get(sum, "to_fenced_s")));
	if (json_is_number(json_object_get(sum, "to_all_started_s")))
		fprintf(c->out, ", all running again +%.1f s", json_number_value(json_object_get(sum, "to_all_started_s")));
	fprintf(c->out, "\n  VMs: %lld placed, %lld started, %lld failed, %lld refused\n",
	        (long long)json_integer_value(json_object_get(sum, "vms_placed")),
	        (long long)json_integer_value(json_object_get(sum, "vms_started")),
	        (long long)json_integer_value(json_object_get(sum, "vms_failed")),
	        (long long)json_integer_value(json_object_get(sum, "vms_refused")));
	static const char *const hdr[] = {"  AT", "PHASE", "VM", "WHAT"};
	static const int width[] = {10, 10, 16, 100};
	struct table *t = table_new(4, hdr, width);
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(inc, "steps"), i, s) {
		char rel[32];
		if (json_time_ms(json_object_get(s, "at"), &at) == 0)
			snprintf(rel, sizeof(rel), "  +%.1fs", (double)(at - t0) / 1000.0);
		else
			snprintf(rel, sizeof(rel), "  ?");
		const char *row[] = {rel, json_string_value(json_object_get(s, "phase")) ?: "?",
		                     json_string_value(json_path(s, "vm.name")) ?: "-",
		                     json_string_value(json_object_get(s, "detail")) ?: ""};
		table_add_row(t, row);
	}
	put_table(c, t);
}

static int incidents(struct cli *c, const struct args *a)
{
	char path[700], hid[64] = "";
	int rc = ha_path(c, a->pos[0], path, sizeof(path));
	if (!rc && args_str(a, "host"))
		rc = cli_resolve_id(c, "hosts", "host", args_str(a, "host"), hid, sizeof(hid));
	if (rc)
		return rc;
	const struct opt_value *lim = args_value(a, "limit");
	size_t len = strlen(path);
	snprintf(path + len, sizeof(path) - len, "/incidents?limit=%lld%s%s", lim ? lim->i : 10LL,
	         hid[0] ? "&host=" : "", hid);
	json_t *r;
	if ((rc = get_reply(c, path, &r)) || !r)
		return rc;
	size_t i;
	json_t *inc;
	json_array_foreach(json_object_get(r, "items"), i, inc) {
		if (i)
			fputc('\n', c->out);
		print_incident(c, inc);
	}
	if (!json_array_size(json_object_get(r, "items")))
		fprintf(c->out, "no HA incidents in cluster %s\n", a->pos[0]);
	json_decref(r);
	return 0;
}

static const struct cmd cmds[] = {
	RES_LIST(&res, list_opts),
	RES_GET(&res),
	{"create", "NAME", 1, 1, "create a cluster", create_opts, res_create, &res, NULL,
	 "Example:\n  vdc cluster create prod --cpu-overcommit 4 --mem-overcommit 1 --policy pack\n"},
	{"update", "NAME", 1, 1, "change a cluster's overcommit, policies or description (admins)", update_opts,
	 update, &res, check_update,
	 "Flags not given are left as they are; the name cannot be changed. Lowering an\n"
	 "overcommit below what is placed is allowed: those VMs stay, new ones must fit.\n"
	 "The --migration-... flags set its live migration policy (vdc vm migrate).\n"
	 "Example:\n  vdc cluster update prod --cpu-overcommit 8 --policy spread\n"
	 "  vdc cluster update prod --migration-bandwidth-mib-s 200 --no-migration-postcopy\n"},
	{"ha", "NAME", 1, 1, "its HA failover capacity and each host's HA state (admins)", NULL, ha_report, NULL, NULL,
	 "Example:\n  vdc cluster update prod --ha --ha-host-failures 1\n  vdc cluster ha prod\n"},
	{"incidents", "NAME", 1, 1, "its HA incidents, newest first: each a timeline (admins)", incident_opts, incidents,
	 NULL, NULL,
	 "Each failed, isolated or silent host's incident (and each VM monitoring restart)\n"
	 "from detection to fencing, each VM placed and started again, and recovery.\n"
	 "Example:\n  vdc cluster incidents prod --host h1 --limit 1\n"},
	RES_DELETE(&res),
	{0},
};

const struct family cli_cluster = {"cluster", "groups of hosts with a placement policy", cmds};

/* quota.c - 'vdc quota show|set': how much a project may take (VMs, vCPUs,
 * memory, disk) next to how much it takes now. vdcd enforces them; a create
 * over quota fails with a message that names the quota and the figures. */
#include "cli.h"

#include "client.h"
#include "table.h"
#include "units.h"

#include <stdlib.h>
#include <string.h>

/* The flags, their API keys, and whether they take sizes. */
static const struct {
	const char *flag, *key, *label;
	int size;
} limits[] = {
	{"vms", "vms", "vms", 0},
	{"vcpus", "vcpus", "vcpus", 0},
	{"memory", "memory_mib", "memory", 1},
	{"disk", "disk_mib", "disk", 1},
};
#define NLIMITS (sizeof(limits) / sizeof(limits[0]))

int quota_body(const struct args *a, json_t **body, char *err, size_t errlen)
{
	json_t *b = json_object();
	char why[256];
	*body = NULL;
	for (size_t i = 0; i < NLIMITS; i++) {
		const char *v = args_str(a, limits[i].flag);
		long long n;
		if (!v)
			continue;
		if (!strcmp(v, "unlimited")) {
			json_object_set_new(b, limits[i].key, json_null());
			continue;
		}
		int rc = limits[i].size ? units_parse_size_mib(v, &n, why, sizeof(why))
		                        : units_parse_count(v, &n, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errlen, "flag --%s: %s (or 'unlimited')", limits[i].flag, why);
			json_decref(b);
			return CLI_USAGE;
		}
		json_object_set_new(b, limits[i].key, json_integer(n));
	}
	if (!json_object_size(b)) {
		snprintf(err, errlen, "give at least one of --vms, --vcpus, --memory, --disk");
		json_decref(b);
		return CLI_USAGE;
	}
	*body = b;
	return 0;
}

static int check_set(const struct args *a, char *err, size_t errlen)
{
	json_t *b = NULL;
	int rc = quota_body(a, &b, err, errlen);
	json_decref(b);
	return rc;
}

/* A count, or a size in MiB as "64Gi" ("0" for none). */
static void fmt_amount(long long v, int size, char *buf, size_t n)
{
	if (!size || v == 0) {
		snprintf(buf, n, "%lld", v);
		return;
	}
	json_t *j = json_integer(v);
	fmt_cell(j, FMT_MIB, 0, buf, n);
	json_decref(j);
}

/* {quota, usage} as a table: one row per resource. */
static int print_quota(struct cli *c, const json_t *doc)
{
	static const char *const hdr[] = {"RESOURCE", "USED", "QUOTA", "AVAILABLE"};
	struct table *t = table_new(4, hdr, NULL);
	if (!t)
		return CLI_FAIL;
	const json_t *quota = json_object_get(doc, "quota"), *usage = json_object_get(doc, "usage");
	for (size_t i = 0; i < NLIMITS; i++) {
		char used[32], limit[32] = "unlimited", avail[48] = "-";
		const json_t *q = json_object_get(quota, limits[i].key);
		long long u = json_integer_value(json_object_get(usage, limits[i].key));
		fmt_amount(u, limits[i].size, used, sizeof(used));
		if (json_is_integer(q)) {
			long long l = json_integer_value(q);
			fmt_amount(l, limits[i].size, limit, sizeof(limit));
			if (u > l) {
				char over[32];
				fmt_amount(u - l, limits[i].size, over, sizeof(over));
				snprintf(avail, sizeof(avail), "0 (over by %s)", over);
			} else {
				fmt_amount(l - u, limits[i].size, avail, sizeof(avail));
			}
		}
		const char *row[] = {limits[i].label, used, limit, avail};
		table_add_row(t, row);
	}
	char *text = table_render(t);
	table_free(t);
	if (!text)
		return CLI_FAIL;
	fputs(text, c->out);
	free(text);
	return 0;
}

static void quota_path(char *buf, size_t n, const char *project)
{
	char esc[400];
	snprintf(buf, n, "/api/v1/projects/%s/quota", client_escape(project, esc, sizeof(esc)));
}

static int show(struct cli *c, const struct args *a)
{
	char path[600];
	quota_path(path, sizeof(path), a->pos[0]);
	json_t *doc = NULL;
	int rc = cli_call(c, "GET", path, NULL, "project", &doc);
	if (rc)
		return rc;
	if (c->output == OUT_JSON)
		out_json(c, doc);
	else
		rc = print_quota(c, doc);
	json_decref(doc);
	return rc;
}

static int set(struct cli *c, const struct args *a)
{
	char path[600], err[512];
	json_t *body = NULL, *doc = NULL;
	int rc = quota_body(a, &body, err, sizeof(err));
	if (rc) {
		cli_error(c, "%s", err);
		return rc;
	}
	quota_path(path, sizeof(path), a->pos[0]);
	rc = cli_call(c, "PUT", path, body, "project", &doc);
	json_decref(body);
	if (rc)
		return rc;
	if (c->output == OUT_JSON) {
		out_json(c, doc);
	} else {
		fprintf(c->out, "quota of project %s set:\n", a->pos[0]);
		rc = print_quota(c, doc);
	}
	json_decref(doc);
	return rc;
}

/* The keys name the flags in vdcd's errors; the body is quota_body's. */
#define LIMIT_OPT(name, mv, key, what) {name, 0, OPT_STR, mv, what " (or 'unlimited')", key, 0, NULL}

static const struct opt set_opts[] = {
	LIMIT_OPT("vms", "N", "vms", "how many VMs"),
	LIMIT_OPT("vcpus", "N", "vcpus", "how many vCPUs, all its VMs together"),
	LIMIT_OPT("memory", "SIZE", "memory_mib", "how much memory: 512M, 64G, 1T (a bare number is MiB)"),
	LIMIT_OPT("disk", "SIZE", "disk_mib", "how much disk: 500G, 2T"),
	OPT_END,
};

static const struct cmd cmds[] = {
	{"show", "PROJECT", 1, 1, "show a project's quotas next to what it uses", NULL, show, NULL,
	 NULL, NULL},
	{"set", "PROJECT", 1, 1, "set some of a project's quotas (system admins only)", set_opts, set,
	 NULL, check_set,
	 "Quotas not named are left as they are; 'unlimited' lifts one. vdcd refuses a\n"
	 "create, resize or clone that would go over a quota, naming it.\n"
	 "Examples:\n  vdc quota set dev --vms 20 --vcpus 64 --memory 256G --disk 4T\n"
	 "  vdc quota set dev --disk unlimited\n"},
	{0},
};

const struct family cli_quota = {"quota", "what a project may use, and what it uses", cmds};

/* cluster.c - 'vdc cluster list|get|create|delete': groups of hosts that
 * share an overcommit ratio and a placement policy. */
#include "cli.h"

static const struct column cols[] = {
	{"NAME", "name", FMT_TEXT, 0, NULL},
	{"POLICY", "policy", FMT_TEXT, 0, NULL},
	{"CPU-OVERCOMMIT", "cpu_overcommit", FMT_TEXT, 0, NULL},
	{"MEM-OVERCOMMIT", "mem_overcommit", FMT_TEXT, 0, NULL},
	{"DESCRIPTION", "description", FMT_TEXT, 40, NULL},
	{"AGE", "created_at", FMT_AGE, 0, NULL},
	{0},
};
static const struct resource res = {"cluster", "clusters", cols, NULL};

static const struct opt list_opts[] = {OPT_LIMIT, OPT_AFTER, OPT_END};

static const struct opt create_opts[] = {
	{"cpu-overcommit", 0, OPT_NUM, "RATIO", "vCPUs per host CPU (default 4)", "cpu_overcommit", 0, NULL},
	{"mem-overcommit", 0, OPT_NUM, "RATIO", "guest memory per host memory (default 1)", "mem_overcommit", 0, NULL},
	{"policy", 0, OPT_STR, "POLICY", "pack (fill hosts one by one, the default) or spread", "policy", 0, NULL},
	OPT_DESCRIPTION,
	OPT_BODY_FILE,
	OPT_END,
};

static const struct cmd cmds[] = {
	RES_LIST(&res, list_opts),
	RES_GET(&res),
	{"create", "NAME", 1, 1, "create a cluster", create_opts, res_create, &res, NULL,
	 "Example:\n  vdc cluster create prod --cpu-overcommit 4 --mem-overcommit 1 --policy pack\n"},
	RES_DELETE(&res),
	{0},
};

const struct family cli_cluster = {"cluster", "groups of hosts with a placement policy", cmds};

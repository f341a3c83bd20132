/* network.c - 'vdc network list|get|create|delete': named bridges (and
 * VLANs) that VM NICs attach to on every host. */
#include "cli.h"

static const struct column cols[] = {
	{"NAME", "name", FMT_TEXT, 0, NULL},
	{"BRIDGE", "bridge", FMT_TEXT, 0, NULL},
	{"VLAN", "vlan", FMT_TEXT, 0, NULL},
	{"DESCRIPTION", "description", FMT_TEXT, 40, NULL},
	{"AGE", "created_at", FMT_AGE, 0, NULL},
	{0},
};
static const struct resource res = {"network", "networks", cols, NULL};

static const struct opt list_opts[] = {OPT_LIMIT, OPT_AFTER, OPT_END};

static const struct opt create_opts[] = {
	{"bridge", 0, OPT_STR, "BRIDGE", "the host bridge NICs join", "bridge", OPT_REQUIRED, NULL},
	{"vlan", 0, OPT_INT, "ID", "VLAN id, 1-4094 (default: untagged)", "vlan", 0, NULL},
	OPT_PROJECT,
	OPT_DESCRIPTION,
	OPT_BODY_FILE,
	OPT_END,
};

static const struct cmd cmds[] = {
	RES_LIST(&res, list_opts),
	RES_GET(&res),
	{"create", "NAME", 1, 1, "create a network", create_opts, res_create, &res, NULL,
	 "Example:\n  vdc network create frontend --bridge br0 --vlan 10\n"},
	RES_DELETE(&res),
	{0},
};

const struct family cli_network = {"network", "bridges and VLANs for VM NICs", cmds};

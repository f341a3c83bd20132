/* datastore.c - 'vdc datastore list|get|create|delete': the directories
 * (local or shared) where VM disks live. */
#include "cli.h"

static const struct column cols[] = {
	{"NAME", "name", FMT_TEXT, 0, NULL},
	{"PATH", "path", FMT_TEXT, 60, NULL},
	{"DESCRIPTION", "description", FMT_TEXT, 40, NULL},
	{"AGE", "created_at", FMT_AGE, 0, NULL},
	{0},
};
static const struct resource res = {"datastore", "datastores", cols, NULL};

static const struct opt list_opts[] = {OPT_LIMIT, OPT_AFTER, OPT_END};

static const struct opt create_opts[] = {
	{"path", 0, OPT_STR, "DIR", "its directory, an absolute path on the hosts", "path", OPT_REQUIRED, NULL},
	OPT_DESCRIPTION,
	OPT_BODY_FILE,
	OPT_END,
};

static const struct cmd cmds[] = {
	RES_LIST(&res, list_opts),
	RES_GET(&res),
	{"create", "NAME", 1, 1, "create a datastore", create_opts, res_create, &res, NULL,
	 "Example:\n  vdc datastore create shared --path /srv/ds\n"},
	RES_DELETE(&res),
	{0},
};

const struct family cli_datastore = {"datastore", "where VM disks are stored", cmds};

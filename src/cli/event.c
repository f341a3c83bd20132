/* event.c - 'vdc event list': the audit log, newest first (who did what to
 * which object, and how it went). */
#include "cli.h"

static const struct column cols[] = {
	{"ID", "id", FMT_TEXT, 0, NULL},
	{"AT", "at", FMT_TEXT, 0, NULL},
	{"ACTOR", "actor", FMT_TEXT, 20, NULL},
	{"ACTION", "action", FMT_TEXT, 0, NULL},
	{"TARGET", "target_id", FMT_TARGET, 40, NULL},
	{"OUTCOME", "outcome", FMT_TEXT, 0, NULL},
	{"DETAIL", "detail", FMT_TEXT, 60, NULL},
	{0},
};
static const struct resource res = {"event", "events", cols, "before"};

static const struct opt list_opts[] = {
	OPT_LIMIT,
	{"before", 0, OPT_STR, "ID", "only events older than this id (a 'next' cursor)", "before", 0, NULL},
	OPT_END,
};

static const struct cmd cmds[] = {
	RES_LIST(&res, list_opts),
	{0},
};

const struct family cli_event = {"event", "the audit log", cmds};

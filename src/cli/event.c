/* event.c - 'vdc event list': the audit log, newest first or with
 * --reverse oldest first (who did what to which object, and how it went). */
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
static const struct resource res = {"event", "events", cols, "before", 1};

static const struct opt list_opts[] = {
	OPT_LIMIT,
	{"before", 0, OPT_STR, "ID", "only events older than this id (a 'next' cursor)", "before", 0, NULL},
	{"after", 0, OPT_STR, "ID", "with --reverse: only events newer than this id (a 'next' cursor)",
	 "after", 0, NULL},
	OPT_REVERSE,
	OPT_END,
};

static int check_list(const struct args *a, char *err, size_t errlen)
{
	if (args_flag(a, "reverse") && args_flag(a, "before")) {
		snprintf(err, errlen, "--before pages newest first; with --reverse, page with --after");
		return CLI_USAGE;
	}
	if (!args_flag(a, "reverse") && args_flag(a, "after")) {
		snprintf(err, errlen, "--after goes with --reverse (oldest first); newest first, page with --before");
		return CLI_USAGE;
	}
	return res_check_list(a, err, errlen);
}

static const struct cmd cmds[] = {
	{"list", "", 0, 0, "list them, newest first", list_opts, res_list, &res, check_list, NULL},
	{0},
};

const struct family cli_event = {"event", "the audit log", cmds};

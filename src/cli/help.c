/* help.c - 'vdc --help' (the command tree and the exit codes scripts test),
 * the help of each family and command, 'vdc help TOPIC' and 'vdc version'. */
#include "cli.h"

#include <string.h>

#ifndef VDC_VERSION
#define VDC_VERSION "dev"
#endif

static void put_opts(FILE *f, const struct opt *opts)
{
	for (const struct opt *o = opts; o && o->name; o++) {
		char left[64];
		const char *mv = o->metavar ? o->metavar : "";
		if (o->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name, *mv ? " " : "", mv);
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name, *mv ? " " : "", mv);
		fprintf(f, "  %-32s %s%s%s\n", left, o->help,
		        o->type == OPT_LIST ? " (repeatable)" : "",
		        (o->flags & OPT_REQUIRED) ? " (required)" : "");
	}
}

void help_top(FILE *f)
{
	fputs("vdc - the command line of vdcd, the vdc virtual datacenter manager\n\n"
	      "Usage: vdc [flags] COMMAND [VERB] [ARGS] [flags]\n\nCommands:\n", f);
	for (const struct family *const *fam = cli_families; *fam; fam++) {
		char verbs[160] = "";
		size_t o = 0;
		for (const struct cmd *c = (*fam)->cmds; c->name; c++)
			if (c->name[0])
				o += (size_t)snprintf(verbs + o, o < sizeof(verbs) ? sizeof(verbs) - o : 0, "%s%s",
				                      o ? "|" : "", c->name);
		fprintf(f, "  %-10s %s\n", (*fam)->name, (*fam)->summary);
		if (verbs[0])
			fprintf(f, "  %-10s   %s\n", "", verbs);
	}
	fputs("\nFlags for every command:\n", f);
	put_opts(f, cli_global_opts);
	fprintf(f, "  %-32s %s\n", "-h, --help", "show help (also: vdc COMMAND [VERB] --help)");
	fputs("\nSettings: the config file ($VDC_CONFIG, else $XDG_CONFIG_HOME/vdc/config, else\n"
	      "~/.config/vdc/config; written by 'vdc login'), overridden by $VDC_SERVER and\n"
	      "$VDC_TOKEN, overridden by --server and --token. $VDC_DEBUG=1 traces requests.\n"
	      "An https vdcd is verified with the CA trusted at 'vdc login' (kept beside the\n"
	      "config file as ca-HOST_PORT.pem), and only with it.\n"
	      "\nLong operations run as tasks: vdc waits for them and shows their progress on\n"
	      "stderr; --no-wait prints the task id instead ('vdc task watch ID' follows it).\n"
	      "\nExit codes:\n"
	      "  0  ok\n"
	      "  1  failure reported by the server (including a failed task)\n"
	      "  2  usage error (bad flags or arguments; a request the server found invalid)\n"
	      "  3  not found\n"
	      "  4  conflict (name taken, wrong state, no host fits)\n"
	      "  5  not authorized (run 'vdc login')\n"
	      "  6  cannot reach the server\n",
	      f);
}

void help_family(FILE *f, const struct family *fam)
{
	if (!fam->cmds[0].name[0]) {
		help_command(f, fam, &fam->cmds[0]);
		return;
	}
	fprintf(f, "vdc %s - %s\n\nUsage: vdc %s VERB [ARGS] [flags]\n\nVerbs:\n", fam->name,
	        fam->summary, fam->name);
	for (const struct cmd *c = fam->cmds; c->name; c++) {
		char left[64];
		snprintf(left, sizeof(left), "%s %s", c->name, c->usage);
		fprintf(f, "  %-26s %s\n", left, c->summary);
	}
	fprintf(f, "\nRun 'vdc %s VERB --help' for a verb's flags.\n", fam->name);
}

void help_command(FILE *f, const struct family *fam, const struct cmd *cmd)
{
	char path[64];
	snprintf(path, sizeof(path), "vdc %s%s%s", fam->name, cmd->name[0] ? " " : "", cmd->name);
	fprintf(f, "%s - %s\n\nUsage: %s%s%s%s\n", path, cmd->summary, path, cmd->usage[0] ? " " : "",
	        cmd->usage, cmd->opts ? " [flags]" : "");
	if (cmd->opts && cmd->opts->name) {
		fputs("\nFlags:\n", f);
		put_opts(f, cmd->opts);
	}
	if (cmd->help)
		fprintf(f, "\n%s", cmd->help);
	fputs("\nGlobal flags: --server URL, --token TOKEN, -o table|json (see 'vdc --help').\n", f);
}

/* 'vdc help [COMMAND [VERB]]' */
static int help_run(struct cli *c, const struct args *a)
{
	if (a->npos == 0) {
		help_top(c->out);
		return 0;
	}
	const struct family *fam = NULL;
	for (const struct family *const *f = cli_families; *f; f++)
		if (!strcmp((*f)->name, a->pos[0]))
			fam = *f;
	if (!fam) {
		cli_error(c, "no help for '%s': it is not a command (see 'vdc --help')", a->pos[0]);
		return CLI_USAGE;
	}
	if (a->npos == 1) {
		help_family(c->out, fam);
		return 0;
	}
	for (const struct cmd *cmd = fam->cmds; cmd->name; cmd++)
		if (!strcmp(cmd->name, a->pos[1])) {
			help_command(c->out, fam, cmd);
			return 0;
		}
	cli_error(c, "'vdc %s' has no verb '%s' (see 'vdc %s --help')", fam->name, a->pos[1], fam->name);
	return CLI_USAGE;
}

static const struct cmd help_cmds[] = {
	{"", "[COMMAND [VERB]]", 0, 2, "show help", NULL, help_run, NULL, NULL, NULL},
	{0},
};
const struct family cli_help = {"help", "show help on a command", help_cmds};

static int version_run(struct cli *c, const struct args *a)
{
	if (c->output == OUT_JSON) {
		json_t *v = json_pack("{s:s, s:s}", "client", VDC_VERSION, "api", "v1");
		out_json(c, v);
		json_decref(v);
	} else {
		fprintf(c->out, "vdc %s (API v1)\n", VDC_VERSION);
	}
	return 0;
}

static const struct cmd version_cmds[] = {
	{"", "", 0, 0, "print the version of this CLI", NULL, version_run, NULL, NULL, NULL},
	{0},
};
const struct family cli_version = {"version", "print the CLI's version", version_cmds};

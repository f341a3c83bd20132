/* dispatch.c - from argv to a command: which family and verb it names, its
 * flags, and every usage error worded before anything is sent to vdcd. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

const struct family *const cli_families[] = {
	&cli_login, &cli_whoami,  &cli_cluster, &cli_pool, &cli_host,  &cli_datastore, &cli_network,
	&cli_image, &cli_template, &cli_vm,   &cli_task,    &cli_event, &cli_watch, &cli_project,   &cli_quota,
	&cli_user,  &cli_token,   &cli_version, &cli_help,  NULL,
};

const struct opt cli_global_opts[] = {
	{"server", 0, OPT_STR, "URL", "vdcd's URL (else $VDC_SERVER, the config file, " CONFIG_DEFAULT_SERVER ")",
	 NULL, 0, NULL},
	{"token", 0, OPT_STR, "TOKEN", "API token (else $VDC_TOKEN, the config file)", NULL, 0, NULL},
	{"output", 'o', OPT_STR, "FORMAT", "table (default) or json", NULL, 0, NULL},
	OPT_END,
};

static const struct family *find_family(const char *name)
{
	for (const struct family *const *f = cli_families; *f; f++)
		if (!strcmp((*f)->name, name))
			return *f;
	return NULL;
}

static const struct cmd *find_cmd(const struct family *fam, const char *name)
{
	for (const struct cmd *c = fam->cmds; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

/* A global flag that takes its value from the next word? */
static int global_takes_next(const char *w)
{
	if (w[0] != '-' || strchr(w, '='))
		return 0;
	if (w[1] == '-') {
		for (const struct opt *o = cli_global_opts; o->name; o++)
			if (!strcmp(w + 2, o->name))
				return o->type != OPT_FLAG;
		return 0;
	}
	for (const struct opt *o = cli_global_opts; o->name; o++)
		if (o->short_name && w[1] == o->short_name && !w[2])
			return o->type != OPT_FLAG;
	return 0;
}

/* The index of the next word from i that is not a flag (skipping global
 * flags' values), or argc. Sets *help when -h/--help comes first. */
static int next_word(int argc, char *const argv[], int i, int *help)
{
	for (; i < argc; i++) {
		const char *w = argv[i];
		if (!strcmp(w, "-h") || !strcmp(w, "--help")) {
			*help = 1;
			continue;
		}
		if (!strcmp(w, "--"))
			return i + 1 < argc ? i + 1 : argc;
		if (w[0] != '-' || !w[1])
			return i;
		if (global_takes_next(w))
			i++;
	}
	return argc;
}

static int check_positionals(const struct parsed *p, char *err, size_t errlen)
{
	const struct cmd *cmd = p->cmd;
	/* A body from -f may carry what the positionals would (the name). */
	int min = args_flag(&p->args, "file") ? 0 : cmd->min_pos;
	if (p->args.npos < min) {
		snprintf(err, errlen, "'%s' needs %s", p->path, cmd->usage);
		return 2;
	}
	if (p->args.npos > cmd->max_pos) {
		snprintf(err, errlen, "unexpected argument '%s' ('%s' takes %s)", p->args.pos[cmd->max_pos],
		         p->path, cmd->max_pos ? cmd->usage : "no arguments");
		return 2;
	}
	return 0;
}

int cli_parse(int argc, char *const argv[], struct parsed *p, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->path, sizeof(p->path), "vdc");
	int help = 0;
	int fi = next_word(argc, argv, 1, &help);
	if (fi >= argc) {
		p->help = 1;
		if (help)
			return 0;
		/* Nothing named: there may still be a bad flag to report. */
		static const struct opt *const tables[] = {cli_global_opts, NULL};
		int rc = args_parse(&p->args, tables, argc - 1, argv + 1, err, errlen);
		if (rc)
			return rc;
		snprintf(err, errlen, "no command given");
		return 2;
	}
	p->fam = find_family(argv[fi]);
	if (!p->fam) {
		snprintf(err, errlen, "unknown command '%s'", argv[fi]);
		return 2;
	}
	snprintf(p->path, sizeof(p->path), "vdc %s", p->fam->name);
	int vi = -1;
	if (p->fam->cmds[0].name[0] == '\0') {
		p->cmd = &p->fam->cmds[0];
	} else {
		vi = next_word(argc, argv, fi + 1, &help);
		if (vi >= argc) {
			p->help = 1;
			if (help)
				return 0;
			size_t o = (size_t)snprintf(err, errlen, "'%s' needs a verb:", p->path);
			for (const struct cmd *c = p->fam->cmds; c->name && o < errlen; c++)
				o += (size_t)snprintf(err + o, errlen - o, " %s", c->name);
			return 2;
		}
		p->cmd = find_cmd(p->fam, argv[vi]);
		if (!p->cmd) {
			snprintf(err, errlen, "unknown command '%s' for '%s'", argv[vi], p->path);
			p->cmd = NULL;
			return 2;
		}
		snprintf(p->path, sizeof(p->path), "vdc %s %s", p->fam->name, p->cmd->name);
	}
	/* The words left, family and verb taken out, are the command's. */
	char *rest[256];
	int nrest = 0;
	for (int i = 1; i < argc && nrest < (int)(sizeof(rest) / sizeof(rest[0])); i++)
		if (i != fi && i != vi)
			rest[nrest++] = argv[i];
	const struct opt *const tables[] = {p->cmd->opts ? p->cmd->opts : cli_global_opts,
	                                    cli_global_opts, NULL};
	int rc = args_parse(&p->args, tables, nrest, rest, err, errlen);
	if (rc)
		return rc;
	if (p->args.help) {
		p->help = 1;
		return 0;
	}
	const char *o = args_str(&p->args, "output");
	if (o && !strcmp(o, "json")) {
		p->output = OUT_JSON;
	} else if (o && strcmp(o, "table")) {
		snprintf(err, errlen, "flag -o expects 'table' or 'json', not '%s'", o);
		return 2;
	}
	if ((rc = check_positionals(p, err, errlen)))
		return rc;
	if (!args_flag(&p->args, "file") && (rc = args_check_required(&p->args, err, errlen)))
		return rc;
	if (p->cmd->check && (rc = p->cmd->check(&p->args, err, errlen)))
		return rc;
	return 0;
}

void parsed_free(struct parsed *p)
{
	args_free(&p->args);
}

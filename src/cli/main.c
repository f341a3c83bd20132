/* main.c - vdc, the command line of vdcd: parse, settle the settings (flags
 * over environment over config file), run the command, exit with its code. */
#include "cli.h"

#include "client.h"
#include "trust.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void show_help(const struct parsed *p)
{
	if (!p->fam)
		help_top(stdout);
	else if (!p->cmd || !p->cmd->name[0])
		help_family(stdout, p->fam);
	else
		help_command(stdout, p->fam, p->cmd);
}

/* Help and version work with a broken config file or none. */
static int needs_server(const struct parsed *p)
{
	return p->fam != &cli_help && p->fam != &cli_version;
}

static int settle_config(struct cli *c, const struct parsed *p)
{
	struct cli_config file = {0};
	char err[1280];
	int loose = 0;
	if (config_path(c->config_file, sizeof(c->config_file)) < 0)
		c->config_file[0] = '\0';
	else if (config_read(c->config_file, &file, &loose, err, sizeof(err)) < 0) {
		/* login rewrites the file: a broken one must not stand in its way. */
		if (p->fam != &cli_login) {
			cli_error(c, "%s\nfix the file, or remove it and run 'vdc login'", err);
			return CLI_USAGE;
		}
		fprintf(c->err, "warning: %s (login will replace the file)\n", err);
	}
	if (loose)
		fprintf(c->err, "warning: %s can be read by other users; run 'chmod 600 %s'\n",
		        c->config_file, c->config_file);
	config_resolve(&c->cfg, &file, getenv("VDC_SERVER"), getenv("VDC_TOKEN"),
	               args_str(&p->args, "server"), args_str(&p->args, "token"));
	explicit_bzero(&file, sizeof(file));
	if (config_normalize_server(c->cfg.server, sizeof(c->cfg.server), err, sizeof(err)) < 0) {
		const char *from = c->cfg.server_from;
		cli_error(c, "%s (from %s)", err,
		          !strcmp(from, "flag") ? "--server" : !strcmp(from, "env") ? "VDC_SERVER"
		                                                                    : c->config_file);
		return CLI_USAGE;
	}
	trust_known_ca(c->config_file, &c->cfg);
	return 0;
}

int main(int argc, char **argv)
{
	struct parsed p;
	char err[512];
	int rc = cli_parse(argc, argv, &p, err, sizeof(err));
	if (rc) {
		if (argc < 2) {
			help_top(stderr);
		} else {
			fprintf(stderr, "error: %s\n", err);
			fprintf(stderr, "see '%s --help'\n", p.path);
		}
		parsed_free(&p);
		return CLI_USAGE;
	}
	if (p.help) {
		show_help(&p);
		parsed_free(&p);
		return 0;
	}
	struct cli c = {
		.output = p.output, .out = stdout, .err = stderr, .cmd = p.cmd, .args = &p.args,
		.err_tty = isatty(STDERR_FILENO),
	};
	snprintf(c.path, sizeof(c.path), "%s", p.path);
	rc = needs_server(&p) ? settle_config(&c, &p) : 0;
	if (!rc)
		rc = p.cmd->run(&c, &p.args);
	if (fflush(stdout) != 0 && !rc)
		rc = CLI_FAIL;
	client_free(c.http);
	json_decref(c.refs);
	json_decref(c.last_error);
	explicit_bzero(&c.cfg, sizeof(c.cfg));
	parsed_free(&p);
	return rc;
}

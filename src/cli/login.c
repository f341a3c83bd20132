/* login.c - 'vdc login': checks a token against vdcd and keeps it, with the
 * server's URL, in the config file (0600). The token is typed without echo. */
#include "cli.h"

#include <ctype.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved_tty;

/* Ctrl-C at the prompt must not leave the terminal without echo. */
static void restore_and_die(int sig)
{
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	signal(sig, SIG_DFL);
	raise(sig);
}

int login_read_token(FILE *f, char *buf, size_t n)
{
	if (!fgets(buf, (int)n, f))
		return -1;
	size_t len = strlen(buf);
	if (len == n - 1 && buf[len - 1] != '\n') {
		/* Longer than any token: refuse rather than keep half of it. */
		buf[0] = '\0';
		return -1;
	}
	while (len && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	size_t lead = strspn(buf, " \t");
	memmove(buf, buf + lead, len - lead + 1);
	return buf[0] ? 0 : -1;
}

static int prompt_token(struct cli *c, char *buf, size_t n)
{
	fprintf(c->err, "Token for %s: ", c->cfg.server);
	fflush(c->err);
	struct termios quiet;
	int tty = tcgetattr(STDIN_FILENO, &saved_tty) == 0;
	struct sigaction sa = {.sa_handler = restore_and_die}, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	if (tty) {
		quiet = saved_tty;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	int rc = login_read_token(stdin, buf, n);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
	return rc;
}

static int login(struct cli *c, const struct args *a)
{
	char token[sizeof(c->cfg.token)], err[512];
	/* A token from --token or $VDC_TOKEN; else typed, or piped in. */
	if (!strcmp(c->cfg.token_from, "flag") || !strcmp(c->cfg.token_from, "env")) {
		snprintf(token, sizeof(token), "%s", c->cfg.token);
	} else {
		int rc = isatty(STDIN_FILENO) ? prompt_token(c, token, sizeof(token))
		                              : login_read_token(stdin, token, sizeof(token));
		if (rc < 0) {
			cli_error(c, "no token given (type it at the prompt, pipe it in, or use --token)");
			return CLI_USAGE;
		}
		snprintf(c->cfg.token, sizeof(c->cfg.token), "%s", token);
		c->cfg.token_from = "input";
	}
	/* TLS fingerprint pinning (a later issue) goes here: on an https server,
	 * fetch its public key, show its fingerprint, ask to trust it and keep
	 * it as cfg.tls_pin, before the token is sent. */
	int rc = cli_call(c, "GET", "/api/v1/clusters?limit=1", NULL, NULL, NULL);
	if (rc)
		return rc;
	if (!c->config_file[0]) {
		cli_error(c, "no place for the config file: set VDC_CONFIG or HOME");
		return CLI_FAIL;
	}
	struct cli_config file, out = {0};
	if (config_read(c->config_file, &file, NULL, err, sizeof(err)) < 0)
		memset(&file, 0, sizeof(file)); /* a broken file is replaced */
	snprintf(out.server, sizeof(out.server), "%s", c->cfg.server);
	snprintf(out.token, sizeof(out.token), "%s", token);
	if (!strcmp(file.server, c->cfg.server))
		snprintf(out.tls_pin, sizeof(out.tls_pin), "%s", file.tls_pin);
	rc = config_write(c->config_file, &out, err, sizeof(err));
	explicit_bzero(token, sizeof(token));
	explicit_bzero(&file, sizeof(file));
	explicit_bzero(&out, sizeof(out));
	if (rc < 0) {
		cli_error(c, "%s", err);
		return CLI_FAIL;
	}
	fprintf(c->out, "Logged in to %s\n", c->cfg.server);
	return 0;
}

static const struct opt opts[] = {
	{"server", 0, OPT_STR, "URL", "vdcd's URL (else $VDC_SERVER, the config file, the default)", NULL,
	 0, NULL},
	{"token", 0, OPT_STR, "TOKEN", "the API token (else $VDC_TOKEN, else asked for)", NULL, 0, NULL},
	OPT_END,
};

static const struct cmd cmds[] = {
	{"", "", 0, 0, "check an API token with vdcd and save it, with the server's URL", opts, login,
	 NULL, NULL,
	 "Without --token or $VDC_TOKEN, the token is asked for without echo at a terminal,\n"
	 "or read as one line from stdin. The default server is " CONFIG_DEFAULT_SERVER ".\n"
	 "Examples:\n  vdc login --server http://10.0.0.5:7443\n"
	 "  vdc login --server http://10.0.0.5:7443 < token.txt\n"},
	{0},
};

const struct family cli_login = {"login", "save vdcd's URL and an API token", cmds};

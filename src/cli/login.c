/* login.c - 'vdc login': trusts an https vdcd's CA (trust.c), then gets a
 * token (for a user and password, or one given) and keeps it, with the
 * server's URL, in the config file (0600). Secrets are typed without echo,
 * never taken from the command line, and never printed. */
#include "cli.h"

#include "client.h"
#include "prompt.h"
#include "trust.h"
#include "units.h"

#include <string.h>
#include <unistd.h>

/* Where a password sent over plain http could be read by others. */
static int is_loopback(const char *server)
{
	const char *h = strstr(server, "://");
	h = h ? h + 3 : server;
	return !strncmp(h, "127.", 4) || !strncmp(h, "localhost", 9) || !strncmp(h, "[::1]", 5);
}

/* POST /auth/login with a password typed or piped in: sets c->cfg.token. */
static int password_login(struct cli *c, const struct args *a, const char *user)
{
	char pw[1024], label[700], host[256] = "?", name[300];
	if (!strncmp(c->cfg.server, "http://", 7) && !is_loopback(c->cfg.server))
		fprintf(c->err, "warning: %s is plain http: the password crosses the network "
		                "unencrypted\n", c->cfg.server);
	snprintf(label, sizeof(label), "Password for %s at %s: ", user, c->cfg.server);
	if (prompt_secret(c->err, label, pw, sizeof(pw), 0) < 0) {
		cli_error(c, "no password given (type it at the prompt, or pipe it in on stdin)");
		return CLI_USAGE;
	}
	gethostname(host, sizeof(host) - 1);
	snprintf(name, sizeof(name), "vdc-cli@%s", host);
	json_t *body = json_pack("{s:s, s:s, s:s}", "user", user, "password", pw, "token_name", name);
	explicit_bzero(pw, sizeof(pw));
	const struct opt_value *ttl = args_value(a, "ttl");
	if (ttl)
		json_object_set_new(body, "ttl_s", json_integer(ttl->i));
	/* No token goes with the password: not one from the file or $VDC_TOKEN. */
	c->cfg.token[0] = '\0';
	c->cfg.token_from = "password";
	json_t *reply = NULL;
	int rc = cli_call(c, "POST", "/api/v1/auth/login", body, NULL, &reply);
	json_scrub(body, "password");
	json_decref(body);
	if (rc)
		return rc;
	const char *token = json_string_value(json_object_get(reply, "token"));
	if (!token || strlen(token) >= sizeof(c->cfg.token)) {
		cli_error(c, "vdcd's reply to the login has no usable token");
		rc = CLI_FAIL;
	} else {
		snprintf(c->cfg.token, sizeof(c->cfg.token), "%s", token);
		c->cfg.token_from = "login";
		/* The client was made without a token: the next call makes one with it. */
		client_free(c->http);
		c->http = NULL;
	}
	json_scrub(reply, "token");
	json_decref(reply);
	return rc;
}

/* A token from --token or $VDC_TOKEN; else typed, or piped in. */
static int token_input(struct cli *c)
{
	if (!strcmp(c->cfg.token_from, "flag") || !strcmp(c->cfg.token_from, "env"))
		return 0;
	char label[600];
	snprintf(label, sizeof(label), "Token for %s: ", c->cfg.server);
	if (prompt_secret(c->err, label, c->cfg.token, sizeof(c->cfg.token), 1) < 0) {
		cli_error(c, "no token given (type it at the prompt, pipe it in, or use --token)");
		return CLI_USAGE;
	}
	c->cfg.token_from = "input";
	return 0;
}

/* Checks the token with vdcd; sets who to the user's name ("" when vdcd is
 * older than /auth/whoami: then any authenticated read does). */
static int check_token(struct cli *c, char *who, size_t n)
{
	json_t *me = NULL;
	who[0] = '\0';
	c->quiet_status = 404;
	int rc = cli_call(c, "GET", "/api/v1/auth/whoami", NULL, NULL, &me);
	c->quiet_status = 0;
	if (rc && c->last_status == 404)
		return cli_call(c, "GET", "/api/v1/clusters?limit=1", NULL, NULL, NULL);
	if (!rc)
		snprintf(who, n, "%s", json_string_value(json_object_get(json_object_get(me, "user"), "name")) ?: "");
	json_decref(me);
	return rc;
}

static int save(struct cli *c)
{
	char err[1280];
	struct cli_config file, out = {0};
	if (config_read(c->config_file, &file, NULL, err, sizeof(err)) < 0)
		memset(&file, 0, sizeof(file)); /* a broken file is replaced */
	snprintf(out.server, sizeof(out.server), "%s", c->cfg.server);
	snprintf(out.token, sizeof(out.token), "%s", c->cfg.token);
	snprintf(out.ca_file, sizeof(out.ca_file), "%s", c->cfg.ca_file);
	snprintf(out.ca_fingerprint, sizeof(out.ca_fingerprint), "%s", c->cfg.ca_fingerprint);
	if (!strcmp(file.server, c->cfg.server))
		snprintf(out.tls_pin, sizeof(out.tls_pin), "%s", file.tls_pin);
	int rc = config_write(c->config_file, &out, err, sizeof(err));
	explicit_bzero(&file, sizeof(file));
	explicit_bzero(&out, sizeof(out));
	if (rc < 0) {
		cli_error(c, "%s", err);
		return CLI_FAIL;
	}
	return 0;
}

static int login(struct cli *c, const struct args *a)
{
	const char *user = args_str(a, "user"), *pin = args_str(a, "ca-fingerprint");
	char want[TRUST_FP_SIZE], who[256];
	if (!c->config_file[0]) {
		cli_error(c, "no place for the config file: set VDC_CONFIG or HOME");
		return CLI_FAIL;
	}
	if (pin && strncmp(c->cfg.server, "https://", 8)) {
		cli_error(c, "--ca-fingerprint is for https servers; %s is plain http", c->cfg.server);
		return CLI_USAGE;
	}
	if (pin)
		trust_normalize_fingerprint(pin, want); /* checked by check_login */
	int rc = trust_server(c, pin ? want : NULL, args_flag(a, "yes"));
	if (!rc)
		rc = user ? password_login(c, a, user) : token_input(c);
	if (!rc)
		rc = check_token(c, who, sizeof(who));
	if (!rc)
		rc = save(c);
	if (rc)
		return rc;
	if (who[0])
		fprintf(c->out, "Logged in to %s as %s\n", c->cfg.server, who);
	else
		fprintf(c->out, "Logged in to %s\n", c->cfg.server);
	return 0;
}

static int check_login(const struct args *a, char *err, size_t errlen)
{
	const char *pin = args_str(a, "ca-fingerprint"), *ttl = args_str(a, "ttl");
	char fp[TRUST_FP_SIZE];
	if (args_flag(a, "user") && args_flag(a, "token")) {
		snprintf(err, errlen, "give --user (and type the password) or --token, not both");
		return CLI_USAGE;
	}
	if (pin && trust_normalize_fingerprint(pin, fp) < 0) {
		snprintf(err, errlen, "flag --ca-fingerprint expects sha256: and 64 hex digits, as vdcd "
		                      "prints it, not '%s'", pin);
		return CLI_USAGE;
	}
	if (ttl && !args_flag(a, "user")) {
		snprintf(err, errlen, "flag --ttl goes with --user (a token given is kept as it is)");
		return CLI_USAGE;
	}
	return 0;
}

static const struct opt opts[] = {
	{"server", 0, OPT_STR, "URL", "vdcd's URL (else $VDC_SERVER, the config file, the default)", NULL,
	 0, NULL},
	{"user", 'u', OPT_STR, "NAME", "log in as this user; the password is asked for", NULL, 0, NULL},
	{"token", 0, OPT_STR, "TOKEN", "use this API token (else $VDC_TOKEN, else asked for)", NULL, 0,
	 NULL},
	{"ttl", 0, OPT_DURATION, "DURATION", "with --user: how long the token lasts (90m, 12h, 30d; default: "
	 "vdcd's)", "ttl_s", 0, NULL},
	{"ca-fingerprint", 0, OPT_STR, "sha256:HEX", "trust vdcd's CA only if it has this fingerprint",
	 NULL, 0, NULL},
	{"yes", 'y', OPT_FLAG, NULL, "trust vdcd's CA without asking (not checked: prefer "
	 "--ca-fingerprint)", NULL, 0, NULL},
	OPT_END,
};

static const struct cmd cmds[] = {
	{"", "", 0, 0, "log in to vdcd and save the token, with the server's URL", opts, login, NULL,
	 check_login,
	 "With --user, the password is asked for without echo at a terminal, or read as one\n"
	 "line from stdin; vdcd answers with a token, which is saved (the config file is 0600)\n"
	 "and never printed. Without --user: the token from --token or $VDC_TOKEN, else asked\n"
	 "for without echo, or read as one line from stdin.\n\n"
	 "On an https server, vdc first shows the fingerprint of vdcd's CA, as ssh does for\n"
	 "host keys, and asks whether to trust it (compare it with the one vdcd printed at\n"
	 "its start). Without a terminal, give it with --ca-fingerprint (or --yes to trust\n"
	 "it unchecked). The CA is kept beside the config file and from then on every\n"
	 "command verifies vdcd with it alone. A later login that finds another CA is\n"
	 "refused (exit 5), as is a CA that is not the one --ca-fingerprint names.\n"
	 "The default server is " CONFIG_DEFAULT_SERVER ".\n\n"
	 "Examples:\n  vdc login --server https://vdcd.example:7443 --user alice\n"
	 "  vdc login --server https://10.0.0.5:7443 --ca-fingerprint sha256:5f1c... --user ci "
	 "< pw.txt\n"
	 "  vdc login --server http://127.0.0.1:7443 < token.txt\n"},
	{0},
};

const struct family cli_login = {"login", "log in to vdcd (a user's password, or a token)", cmds};

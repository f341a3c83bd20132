/* token.c - 'vdc token ...': named API tokens for scripts and robots. vdcd
 * keeps only their hashes, so a token's secret is shown once, at create. */
#include "cli.h"

#include "client.h"
#include "units.h"

#include <string.h>
#include <time.h>

static const struct column cols[] = {
	{"ID", "id", FMT_TEXT, 0, NULL},
	{"NAME", "name", FMT_TEXT, 0, NULL},
	{"USER", "user", FMT_TEXT, 0, NULL},
	{"EXPIRES", "expires_at", FMT_EXPIRES, 0, NULL},
	{"AGE", "created_at", FMT_AGE, 0, NULL},
	{0},
};
static const struct resource res = {"token", "tokens", cols, NULL};

static int create(struct cli *c, const struct args *a)
{
	json_t *body = json_pack("{s:s}", "name", a->pos[0]), *reply = NULL;
	const struct opt_value *ttl = args_value(a, "ttl");
	if (ttl)
		json_object_set_new(body, "ttl_s", json_integer(ttl->i));
	int rc = cli_call(c, "POST", "/api/v1/tokens", body, "token", &reply);
	json_decref(body);
	if (rc)
		return rc;
	const char *secret = json_string_value(json_object_get(reply, "token"));
	const char *id = json_string_value(json_object_get(reply, "id")) ?: "?";
	if (c->output == OUT_JSON) {
		out_json(c, reply);
	} else if (!secret) {
		cli_error(c, "vdcd answered without the token's secret");
		rc = CLI_FAIL;
	} else {
		char when[64] = "never";
		time_t exp = 0;
		json_time(json_object_get(reply, "expires_at"), &exp);
		struct tm tm;
		if (exp > 0 && gmtime_r(&exp, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		/* The secret on stdout; the advice on stderr. */
		fprintf(c->out, "Token %s created (id %s, %s%s%sexpires: %s):\n  %s\n", a->pos[0], id,
		        ttl ? "lasts " : "", ttl ? ttl->str : "", ttl ? ", " : "", when, secret);
		fflush(c->out);
		fprintf(c->err,
		        "Store it now: vdcd keeps only its hash, so it cannot be shown again.\n"
		        "Use it with 'vdc login --token' or $VDC_TOKEN; revoke it with 'vdc token revoke %s'.\n",
		        a->pos[0]);
	}
	json_scrub(reply, "token");
	json_decref(reply);
	return rc;
}

static int revoke(struct cli *c, const struct args *a)
{
	char path[600], esc[400];
	snprintf(path, sizeof(path), "/api/v1/tokens/%s", client_escape(a->pos[0], esc, sizeof(esc)));
	int rc = cli_call(c, "DELETE", path, NULL, "token", NULL);
	if (!rc && c->output == OUT_TABLE)
		fprintf(c->out, "token %s revoked\n", a->pos[0]);
	return rc;
}

static const struct opt list_opts[] = {
	{"user", 0, OPT_STR, "NAME", "this user's tokens (system admins only; default: yours)", "user",
	 0, NULL},
	OPT_LIMIT,
	OPT_AFTER,
	OPT_END,
};

static const struct opt create_opts[] = {
	/* The key names the flag in vdcd's errors; the body is made in create. */
	{"ttl", 0, OPT_DURATION, "DURATION", "how long it lasts: 90m, 12h, 30d... (default: vdcd's)", "ttl_s",
	 0, NULL},
	OPT_END,
};

static const struct cmd cmds[] = {
	{"list", "", 0, 0, "list your tokens (never their secrets)", list_opts, res_list, &res,
	 res_check_list, NULL},
	{"create", "NAME", 1, 1, "create a token of yours; its secret is shown this once", create_opts,
	 create, NULL, NULL,
	 "The token acts as you, with your roles. Durations: a number and s, m, h, d or w\n"
	 "(1h30m works too).\n"
	 "Examples:\n  vdc token create ci-deploy --ttl 30d\n"
	 "  vdc token create backup -o json | jq -r .token > backup.token\n"},
	{"revoke", "NAME", 1, 1, "revoke one of your tokens at once (by name or id: see 'vdc token list')", NULL, revoke,
	 NULL, NULL, NULL},
	{0},
};

const struct family cli_token = {"token", "API tokens for scripts (the secret is shown once)", cmds};

/* user.c - 'vdc user ...': the people (and robots) who may log in to vdcd,
 * and their passwords, which are asked twice without echo, or read as one
 * line from stdin; never taken from the command line. */
#include "cli.h"

#include "client.h"
#include "prompt.h"

#include <string.h>
#include <unistd.h>

static const struct column cols[] = {
	{"NAME", "name", FMT_TEXT, 0, NULL},
	{"ADMIN", "admin", FMT_TEXT, 0, NULL},
	{"ID", "id", FMT_TEXT, 0, NULL},
	{"AGE", "created_at", FMT_AGE, 0, NULL},
	{0},
};
static const struct resource res = {"user", "users", cols, NULL};

/* A new password for user: one line of stdin with --password-stdin or
 * when stdin is not a terminal (unless optional: then none), else typed
 * twice without echo. Returns 0 with buf set (empty: none, when optional),
 * or an exit code with the reason printed. */
static int new_password(struct cli *c, const struct args *a, const char *user, int optional,
                        char *buf, size_t n)
{
	buf[0] = '\0';
	if (args_flag(a, "password-stdin") || (!optional && !isatty(STDIN_FILENO))) {
		if (prompt_line(stdin, buf, n, 0) == 0)
			return 0;
		cli_error(c, "no password on stdin (one line is read, without its line break)");
		return CLI_USAGE;
	}
	if (!isatty(STDIN_FILENO))
		return 0;
	char label[400], again[1024];
	snprintf(label, sizeof(label), "New password for %s%s: ", user,
	         optional ? " (empty: none)" : "");
	if (prompt_secret(c->err, label, buf, n, 0) < 0) {
		if (optional)
			return 0;
		cli_error(c, "no password given; nothing changed");
		return CLI_USAGE;
	}
	int same = prompt_secret(c->err, "Retype it: ", again, sizeof(again), 0) == 0 &&
	           !strcmp(buf, again);
	explicit_bzero(again, sizeof(again));
	if (!same) {
		explicit_bzero(buf, n);
		cli_error(c, "the passwords typed differ; nothing changed");
		return CLI_USAGE;
	}
	return 0;
}

static int create(struct cli *c, const struct args *a)
{
	const char *name = a->pos[0];
	char pw[1024];
	int rc = new_password(c, a, name, 1, pw, sizeof(pw));
	if (rc)
		return rc;
	json_t *body = json_pack("{s:s}", "name", name), *user = NULL;
	if (args_flag(a, "admin"))
		json_object_set_new(body, "admin", json_true());
	if (pw[0])
		json_object_set_new(body, "password", json_string(pw));
	explicit_bzero(pw, sizeof(pw));
	rc = cli_call(c, "POST", "/api/v1/users", body, "user", &user);
	int has_pw = json_object_get(body, "password") != NULL;
	json_scrub(body, "password");
	json_decref(body);
	if (rc)
		return rc;
	if (c->output == OUT_JSON) {
		out_json(c, user);
	} else {
		fprintf(c->out, "user %s created%s\n", name, args_flag(a, "admin") ? " (system admin)" : "");
		if (!has_pw)
			fprintf(c->err, "note: %s has no password yet: set one with 'vdc user passwd %s'\n", name,
			        name);
	}
	json_decref(user);
	return 0;
}

static int passwd(struct cli *c, const struct args *a)
{
	char who[256], pw[1024], path[600], esc[400];
	if (a->npos) {
		snprintf(who, sizeof(who), "%s", a->pos[0]);
	} else {
		json_t *me = NULL;
		int rc = cli_call(c, "GET", "/api/v1/auth/whoami", NULL, NULL, &me);
		if (rc)
			return rc;
		snprintf(who, sizeof(who), "%s",
		         json_string_value(json_object_get(json_object_get(me, "user"), "name")) ?: "");
		json_decref(me);
		if (!who[0]) {
			cli_error(c, "vdcd did not say who the token in use belongs to: name the user");
			return CLI_FAIL;
		}
	}
	int rc = new_password(c, a, who, 0, pw, sizeof(pw));
	if (rc)
		return rc;
	json_t *body = json_pack("{s:s}", "password", pw);
	explicit_bzero(pw, sizeof(pw));
	snprintf(path, sizeof(path), "/api/v1/users/%s/password", client_escape(who, esc, sizeof(esc)));
	rc = cli_call(c, "POST", path, body, "user", NULL);
	json_scrub(body, "password");
	json_decref(body);
	if (!rc && c->output == OUT_TABLE)
		fprintf(c->out, "password of user %s changed\n", who);
	return rc;
}

static const struct opt list_opts[] = {OPT_LIMIT, OPT_AFTER, OPT_END};

#define OPT_PASSWORD_STDIN \
	{"password-stdin", 0, OPT_FLAG, NULL, "read the password as one line from stdin", NULL, 0, NULL}

static const struct opt create_opts[] = {
	{"admin", 0, OPT_FLAG, NULL, "a system admin: may do everything, in every project", NULL, 0,
	 NULL},
	OPT_PASSWORD_STDIN,
	OPT_END,
};

static const struct opt passwd_opts[] = {OPT_PASSWORD_STDIN, OPT_END};

static const struct cmd cmds[] = {
	RES_LIST(&res, list_opts),
	{"show", "NAME", 1, 1, "show one (by name or id)", NULL, res_get, &res, NULL, NULL},
	{"create", "NAME", 1, 1, "create a user (system admins only)", create_opts, create, NULL, NULL,
	 "At a terminal, the password is asked for twice without echo (empty: none yet);\n"
	 "with --password-stdin it is read as one line from stdin. Roles in projects are\n"
	 "given with 'vdc project add-member'.\n"
	 "Examples:\n  vdc user create alice\n"
	 "  vdc user create ci --password-stdin < ci-password.txt\n"},
	RES_DELETE(&res),
	{"passwd", "[NAME]", 0, 1, "change a password (yours, without NAME)", passwd_opts, passwd, NULL,
	 NULL,
	 "At a terminal, the new password is asked for twice without echo; else (or with\n"
	 "--password-stdin) it is read as one line from stdin. Changing another user's\n"
	 "password takes a system admin.\n"
	 "Examples:\n  vdc user passwd\n  vdc user passwd bob --password-stdin < pw.txt\n"},
	{0},
};

const struct family cli_user = {"user", "users who may log in (system admins manage them)", cmds};

/* whoami.c - 'vdc whoami': who the token in use belongs to, in which
 * projects with which role, when the token expires, and which CA vouches for
 * the server. */
#include "cli.h"

#include "table.h"

#include <stdlib.h>
#include <string.h>

static void line(struct cli *c, const char *key, const char *val)
{
	char *clean = text_sanitize(val);
	fprintf(c->out, "%-10s %s\n", key, clean ? clean : "?");
	free(clean);
}

static int whoami(struct cli *c, const struct args *a)
{
	json_t *me = NULL;
	int rc = cli_call(c, "GET", "/api/v1/auth/whoami", NULL, NULL, &me);
	if (rc)
		return rc;
	if (c->output == OUT_JSON) {
		out_json(c, me);
		json_decref(me);
		return 0;
	}
	char buf[1024], when[64];
	const json_t *user = json_object_get(me, "user"), *tok = json_object_get(me, "token");
	snprintf(buf, sizeof(buf), "%s%s", json_string_value(json_object_get(user, "name")) ?: "?",
	         json_is_true(json_object_get(user, "admin")) ? " (system admin)" : "");
	line(c, "user", buf);
	line(c, "server", c->cfg.server);
	if (c->cfg.ca_fingerprint[0])
		line(c, "ca", c->cfg.ca_fingerprint);
	if (tok) {
		time_t exp = 0;
		json_time(json_object_get(tok, "expires_at"), &exp);
		fmt_expiry((long long)exp, time(NULL), when, sizeof(when));
		snprintf(buf, sizeof(buf), "%s (expires: %s)",
		         json_string_value(json_object_get(tok, "name")) ?: "?", when);
		line(c, "token", buf);
	}
	size_t o = 0, i;
	json_t *p;
	buf[0] = '\0';
	json_array_foreach(json_object_get(me, "projects"), i, p) {
		o += (size_t)snprintf(buf + o, o < sizeof(buf) ? sizeof(buf) - o : 0, "%s%s (%s)",
		                      i ? ", " : "", json_string_value(json_object_get(p, "project")) ?: "?",
		                      json_string_value(json_object_get(p, "role")) ?: "?");
		if (o >= sizeof(buf))
			break;
	}
	line(c, "projects", buf[0] ? buf : "none");
	json_decref(me);
	return 0;
}

static const struct cmd cmds[] = {
	{"", "", 0, 0, "show who the token in use belongs to, and their projects and roles", NULL,
	 whoami, NULL, NULL, "Example:\n  vdc whoami -o json\n"},
	{0},
};

const struct family cli_whoami = {"whoami", "the user, projects and token in use", cmds};

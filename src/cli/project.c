/* project.c - 'vdc project ...': the tenants. VMs, templates and networks
 * belong to a project; users are its members with a role each (admin,
 * operator, viewer). Quotas are 'vdc quota'. */
#include "cli.h"

#include "client.h"

#include <stdlib.h>
#include <string.h>

static const struct column cols[] = {
	{"NAME", "name", FMT_TEXT, 0, NULL},
	{"VMS", "usage.vms", FMT_TEXT, 0, NULL},
	{"VCPUS", "usage.vcpus", FMT_TEXT, 0, NULL},
	{"MEMORY", "usage.memory_mib", FMT_MIB, 0, NULL},
	{"DESCRIPTION", "description", FMT_TEXT, 40, NULL},
	{"AGE", "created_at", FMT_AGE, 0, NULL},
	{0},
};
static const struct resource res = {"project", "projects", cols, NULL};

static const struct column member_cols[] = {
	{"USER", "user", FMT_TEXT, 0, NULL},
	{"ROLE", "role", FMT_TEXT, 0, NULL},
	{0},
};

static const char *const roles[] = {"admin", "operator", "viewer", NULL};

/* "/api/v1/projects/P/members[/U]" */
static void members_path(char *buf, size_t n, const char *project, const char *user)
{
	char p[400], u[400];
	snprintf(buf, n, "/api/v1/projects/%s/members%s%s", client_escape(project, p, sizeof(p)),
	         user ? "/" : "", user ? client_escape(user, u, sizeof(u)) : "");
}

static int members(struct cli *c, const struct args *a)
{
	char coll[600], p[400];
	snprintf(coll, sizeof(coll), "projects/%s/members", client_escape(a->pos[0], p, sizeof(p)));
	struct list_req q = {coll, "", 0, "after", NULL};
	json_t *items = NULL;
	char *next = NULL;
	int rc = cli_list(c, &q, &items, &next);
	if (rc)
		return rc;
	if (c->output == OUT_JSON) {
		json_t *doc = json_pack("{s:O, s:s?}", "items", items, "next", next);
		out_json(c, doc);
		json_decref(doc);
	} else {
		rc = out_table(c, member_cols, items, "members");
	}
	json_decref(items);
	free(next);
	return rc;
}

/* One project; in a table, a quota of null reads "unlimited". */
static int show(struct cli *c, const struct args *a)
{
	char path[600], esc[400];
	snprintf(path, sizeof(path), "/api/v1/projects/%s", client_escape(a->pos[0], esc, sizeof(esc)));
	json_t *doc = NULL;
	int rc = cli_call(c, "GET", path, NULL, "project", &doc);
	if (rc)
		return rc;
	json_t *quota = json_object_get(doc, "quota");
	for (void *it = json_object_iter(quota); it && c->output == OUT_TABLE;
	     it = json_object_iter_next(quota, it))
		if (json_is_null(json_object_iter_value(it)))
			json_object_iter_set_new(quota, it, json_string("unlimited"));
	rc = out_doc(c, doc);
	json_decref(doc);
	return rc;
}

static int check_role(const struct args *a, char *err, size_t errlen)
{
	const char *role = args_str(a, "role");
	for (int i = 0; role && roles[i]; i++)
		if (!strcmp(role, roles[i]))
			return 0;
	if (role)
		snprintf(err, errlen, "unknown role '%s': use admin, operator or viewer", role);
	return role ? CLI_USAGE : 0;
}

static int add_member(struct cli *c, const struct args *a)
{
	char path[1024];
	const char *role = args_str(a, "role");
	members_path(path, sizeof(path), a->pos[0], NULL);
	json_t *body = json_pack("{s:s, s:s}", "user", a->pos[1], "role", role), *reply = NULL;
	/* No kind: a 404 may be of the project or of the user; vdcd's message says which. */
	int rc = cli_call(c, "POST", path, body, NULL, &reply);
	json_decref(body);
	if (rc)
		return rc;
	if (c->output == OUT_JSON)
		out_json(c, reply);
	else if (c->last_status == 200) /* the membership was there: its role changed */
		fprintf(c->out, "user %s is now %s in project %s\n", a->pos[1], role, a->pos[0]);
	else
		fprintf(c->out, "user %s added to project %s as %s\n", a->pos[1], a->pos[0], role);
	json_decref(reply);
	return 0;
}

static int remove_member(struct cli *c, const struct args *a)
{
	char path[1024];
	members_path(path, sizeof(path), a->pos[0], a->pos[1]);
	int rc = cli_call(c, "DELETE", path, NULL, NULL, NULL);
	if (!rc && c->output == OUT_TABLE)
		fprintf(c->out, "user %s removed from project %s\n", a->pos[1], a->pos[0]);
	return rc;
}

static const struct opt list_opts[] = {OPT_LIMIT, OPT_AFTER, OPT_END};
static const struct opt create_opts[] = {OPT_DESCRIPTION, OPT_BODY_FILE, OPT_END};
static const struct opt member_opts[] = {
	{"role", 0, OPT_STR, "ROLE", "admin (everything in the project), operator (VMs, templates, "
	 "networks; power) or viewer (read only)", NULL, OPT_REQUIRED, NULL},
	OPT_END,
};

static const struct cmd cmds[] = {
	RES_LIST(&res, list_opts),
	{"show", "NAME", 1, 1, "show one, with its quota and usage", NULL, show, NULL, NULL, NULL},
	{"create", "NAME", 1, 1, "create a project (system admins only)", create_opts, res_create, &res,
	 NULL,
	 "Quotas are unlimited until set with 'vdc quota set'.\n"
	 "Example:\n  vdc project create dev --description \"the developers' VMs\"\n"},
	RES_DELETE(&res),
	{"members", "NAME", 1, 1, "list its members and their roles", NULL, members, NULL, NULL, NULL},
	{"add-member", "PROJECT USER", 2, 2, "make a user a member, or change their role", member_opts,
	 add_member, NULL, check_role,
	 "Example:\n  vdc project add-member dev alice --role operator\n"},
	{"remove-member", "PROJECT USER", 2, 2, "take a user out of a project", NULL, remove_member,
	 NULL, NULL, NULL},
	{0},
};

const struct family cli_project = {"project", "tenants: who may use which VMs, with which role",
                                   cmds};

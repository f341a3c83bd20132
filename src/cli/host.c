/* host.c - 'vdc host ...': the hosts that joined vdcd, the one-time tokens
 * that let a new one join, and maintenance mode (no new VMs placed there). */
#include "cli.h"

#include "client.h"

#include <string.h>
#include <time.h>

static const struct column cols[] = {
	{"NAME", "name", FMT_TEXT, 0, NULL},
	{"STATE", "state", FMT_TEXT, 0, NULL},
	{"CLUSTER", "cluster_id", FMT_REF, 0, "clusters"},
	{"CPUS", "capacity.cpus", FMT_TEXT, 0, NULL},
	{"MEMORY", "capacity.memory_mib", FMT_MIB, 0, NULL},
	{"VMS", "vms_reported", FMT_TEXT, 0, NULL},
	/* VMs the agent runs that vdcd does not manage (made on it directly). */
	{"FOREIGN", "foreign_vm_count", FMT_TEXT, 0, NULL},
	{"LAST-HEARTBEAT", "last_heartbeat", FMT_AGO, 0, NULL},
	{0},
};
static const struct resource res = {"host", "hosts", cols, NULL};

static int join_token(struct cli *c, const struct args *a)
{
	json_t *body = json_object(), *reply = NULL;
	char err[256];
	int rc = args_fill_body(a, body, err, sizeof(err));
	if (!rc)
		rc = cli_call(c, "POST", "/api/v1/hosts/join-tokens", body, "cluster", &reply);
	json_decref(body);
	if (rc)
		return rc;
	const char *token = json_string_value(json_object_get(reply, "token"));
	if (c->output == OUT_JSON) {
		out_json(c, reply);
	} else if (!token) {
		cli_error(c, "vdcd answered without a token");
		rc = CLI_FAIL;
	} else {
		char when[64] = "?";
		time_t exp = 0;
		json_time(json_object_get(reply, "expires_at"), &exp);
		struct tm tm;
		if (exp > 0 && gmtime_r(&exp, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		/* vdcd may say where agents reach it (behind NAT, a proxy...); else
		 * agents use the URL this CLI uses. */
		const char *url = json_string_value(json_object_get(reply, "manager_url"));
		fprintf(c->out,
		        "Join token for cluster %s (use once, before %s):\n  %s\n\n"
		        "On the new host, run:\n  vdc-agent --manager-url %s --join-token %s\n",
		        args_str(a, "cluster"), when, token, url ? url : c->cfg.server, token);
		const char *host = strstr(c->cfg.server, "://");
		host = host ? host + 3 : c->cfg.server;
		if (!url && (!strncmp(host, "127.", 4) || !strncmp(host, "localhost", 9) ||
		             !strncmp(host, "[::1]", 5)))
			fprintf(c->err, "note: %s is a loopback address: on another machine, use an address "
			                "of vdcd that host can reach\n", c->cfg.server);
	}
	json_decref(reply);
	return rc;
}

static int check_maintenance(const struct args *a, char *err, size_t errlen)
{
	if (a->npos == 2 && strcmp(a->pos[1], "on") && strcmp(a->pos[1], "off")) {
		snprintf(err, errlen, "maintenance takes 'on' or 'off', not '%s'", a->pos[1]);
		return CLI_USAGE;
	}
	return 0;
}

static int maintenance(struct cli *c, const struct args *a)
{
	char path[512], esc[256];
	snprintf(path, sizeof(path), "/api/v1/hosts/%s/maintenance",
	         client_escape(a->pos[0], esc, sizeof(esc)));
	json_t *body = json_pack("{s:b}", "enabled", !strcmp(a->pos[1], "on")), *host = NULL;
	int rc = cli_call(c, "POST", path, body, "host", &host);
	json_decref(body);
	if (rc)
		return rc;
	if (c->output == OUT_JSON)
		out_json(c, host);
	else
		fprintf(c->out, "host %s: maintenance %s (state %s)\n", a->pos[0], a->pos[1],
		        json_string_value(json_object_get(host, "state")) ?: "?");
	json_decref(host);
	return 0;
}

static const struct opt list_opts[] = {
	{"cluster", 0, OPT_STR, "CLUSTER", "only hosts of this cluster", "cluster_id", 0, "clusters"},
	{"state", 0, OPT_STR, "STATE", "only hosts in STATE (connected, disconnected, maintenance)",
	 "state", 0, NULL},
	OPT_LIMIT,
	OPT_AFTER,
	OPT_END,
};

static const struct opt token_opts[] = {
	{"cluster", 0, OPT_STR, "CLUSTER", "the cluster the new host joins", "cluster", OPT_REQUIRED, NULL},
	{"ttl", 0, OPT_DURATION, "DURATION", "how long the token is valid: 30m, 2h... (default 1h)", "ttl_s", 0,
	 NULL},
	OPT_END,
};

static int metrics(struct cli *c, const struct args *a) { return cli_metrics(c, "hosts", "host", a); }

static const struct cmd cmds[] = {
	RES_LIST(&res, list_opts),
	RES_GET(&res),
	RES_DELETE(&res),
	{"join-token", "", 0, 0, "make a one-time token for a new host to join", token_opts, join_token,
	 NULL, NULL,
	 "Prints the token and the vdc-agent command line to run on the new host.\n"},
	{"maintenance", "NAME on|off", 2, 2, "stop (on) or resume (off) placing VMs on a host", NULL,
	 maintenance, NULL, check_maintenance, NULL},
	{"metrics", "NAME", 1, 1, "its recent CPU, memory, disk and network (last, min, mean, max)",
	 cli_metrics_opts, metrics, NULL, NULL,
	 "vdcd keeps an hour of the host's samples, one per heartbeat.\n"
	 "Example:\n  vdc host metrics h1 --since 10m\n"},
	{0},
};

const struct family cli_host = {"host", "the hypervisor hosts", cmds};

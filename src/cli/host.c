/* host.c - 'vdc host ...': the hosts that joined vdcd, the one-time tokens
 * that let a new one join, and maintenance mode (no new VMs placed there). */
#include "cli.h"

#include "client.h"

#include <stdbool.h>
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
	/* As the BMC last said (hosts with a power driver). */
	{"POWER", "power.state", FMT_TEXT, 0, NULL},
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

/* "maintenance enter|exit NAME", or the older "maintenance NAME on|off". */
static int check_maintenance(const struct args *a, char *err, size_t errlen)
{
	if (a->npos != 2)
		return 0;
	bool verb = !strcmp(a->pos[0], "enter") || !strcmp(a->pos[0], "exit");
	bool old = !strcmp(a->pos[1], "on") || !strcmp(a->pos[1], "off");
	if (!verb && !old) {
		snprintf(err, errlen, "maintenance takes 'enter NAME' or 'exit NAME', not '%s %s'", a->pos[0], a->pos[1]);
		return CLI_USAGE;
	}
	return 0;
}

/* The plan, one line per VM: where it goes and placement's reason. */
static void print_plan(FILE *f, const json_t *plan)
{
	fprintf(f, "plan: %s\n", json_string_value(json_object_get(plan, "reason")) ?: "?");
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(plan, "moves"), i, m)
		fprintf(f, "  %-20s -> %-12s %s\n", json_string_value(json_object_get(m, "vm")) ?: "?",
		        json_string_value(json_object_get(m, "to")) ?: "?",
		        json_string_value(json_object_get(m, "reason")) ?: "");
	json_array_foreach(json_object_get(plan, "stays"), i, m)
		fprintf(f, "  %-20s stays: %s\n", json_string_value(json_object_get(m, "vm")) ?: "?",
		        json_string_value(json_object_get(m, "why")) ?: "");
}

static int maintenance(struct cli *c, const struct args *a)
{
	bool verb = !strcmp(a->pos[0], "enter") || !strcmp(a->pos[0], "exit");
	const char *name = verb ? a->pos[1] : a->pos[0];
	bool on = verb ? !strcmp(a->pos[0], "enter") : !strcmp(a->pos[1], "on");
	bool dry = args_flag(a, "dry-run");
	char path[512], esc[256];
	snprintf(path, sizeof(path), "/api/v1/hosts/%s/maintenance%s", client_escape(name, esc, sizeof(esc)),
	         dry && on ? "?dry_run=true" : "");
	json_t *body = json_pack("{s:b}", "enabled", on), *reply = NULL;
	int rc = cli_call(c, "POST", path, body, "host", &reply);
	json_decref(body);
	if (rc) {
		/* A refusal carries the plan that could not be made whole. */
		const json_t *plan = json_path(c->last_error, "error.plan");
		if (plan && c->output == OUT_JSON)
			out_json(c, c->last_error);
		else if (plan)
			print_plan(c->err, plan);
		return rc;
	}
	const json_t *plan = json_object_get(reply, "plan");
	if (c->output == OUT_JSON && (dry || !json_object_get(reply, "task"))) {
		out_json(c, reply);
	} else if (plan && c->output == OUT_TABLE) {
		print_plan(dry ? c->out : c->err, plan);
		fflush(c->err);
	}
	if (dry || !on) {
		if (!on && c->output == OUT_TABLE)
			fprintf(c->out, "host %s: out of maintenance (state %s)\n", name,
			        json_string_value(json_object_get(reply, "state")) ?: "?");
		json_decref(reply);
		return 0;
	}
	const char *task = json_string_value(json_path(reply, "task.id"));
	if (!task) {
		if (c->output == OUT_TABLE)
			fprintf(c->out, "host %s: in maintenance (state %s; no VM to move)\n", name,
			        json_string_value(json_object_get(reply, "state")) ?: "?");
		json_decref(reply);
		return 0;
	}
	if (args_flag(a, "no-wait")) {
		rc = task_finish(c, a, reply, NULL);
		json_decref(reply);
		return rc;
	}
	json_t *final = NULL;
	rc = task_wait(c, task, &final);
	if (c->output == OUT_JSON && final)
		out_json(c, final);
	else if (rc == 0 && final)
		fprintf(c->out, "host %s: in maintenance, emptied (%lld of %lld VM%s moved)\n", name,
		        (long long)json_integer_value(json_path(final, "result.moved")),
		        (long long)json_integer_value(json_path(final, "result.total")),
		        json_integer_value(json_path(final, "result.total")) == 1 ? "" : "s");
	json_decref(final);
	json_decref(reply);
	return rc;
}

static const struct opt maintenance_opts[] = {
	{"dry-run", 0, OPT_FLAG, NULL, "enter: show the plan (which VM goes where, and why) and change nothing", NULL,
	 0, NULL},
	OPT_NO_WAIT,
	OPT_END,
};

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
	{"maintenance", "enter|exit NAME", 2, 2, "empty a host for service (enter) or return it to the pool (exit)",
	 maintenance_opts, maintenance, NULL, check_maintenance,
	 "enter first shows the plan: each running VM, the host it moves to live and placement's reason.\n"
	 "It is refused as a whole, naming the VM that fits nowhere and why, when the rest of the cluster\n"
	 "cannot take them. Then the VMs move, up to the cluster's migration.max_per_host at once; a failed\n"
	 "move is tried on another host (3 attempts). New VMs are never placed on a host in maintenance.\n"
	 "exit stops an evacuation under way (the moves started end first).\n"
	 "Example:\n  vdc host maintenance enter h1 --dry-run\n  vdc host maintenance enter h1\n"
	 "  vdc host maintenance exit h1\n"},
	{"power-driver", "set|clear HOST", 2, 2, "set or clear how vdcd reaches the host's BMC (IPMI)",
	 host_power_driver_opts, host_power_driver_cmd, NULL, host_power_driver_check,
	 "The password is read from --password-file (its first line; - reads stdin), never from the\n"
	 "command line; vdcd keeps it as a secret that no GET shows. Without --password-file, set keeps\n"
	 "the password vdcd has. ipmitool runs on vdcd's machine (IPMI 2.0, lanplus).\n"
	 "Example:\n  vdc host power-driver set h1 --ipmi 10.0.9.11 --user admin --password-file bmc-h1.pw\n"
	 "  vdc host power-driver set h1 --ipmi bmc-h1.example:6230 --user admin --cipher-suite 17\n"
	 "  vdc host power-driver clear h1\n"},
	{"power", "HOST on|off|cycle|status", 2, 2, "power a host on, off or cycle it through its BMC, or read its state",
	 host_power_opts, host_power_cmd, NULL, host_power_check,
	 "off and cycle are a power cut for what runs on the host: a host that still runs VMs is refused\n"
	 "(empty it with 'vdc host maintenance enter HOST' first) unless --force. The state the BMC\n"
	 "reports is kept on the host (power.state, the POWER column of 'vdc host list').\n"
	 "Example:\n  vdc host power h1 status\n  vdc host power h1 off\n  vdc host power h1 on\n"},
	{"metrics", "NAME", 1, 1, "its recent CPU, memory, disk and network (last, min, mean, max)",
	 cli_metrics_opts, metrics, NULL, NULL,
	 "vdcd keeps an hour of the host's samples, one per heartbeat, and a year consolidated\n"
	 "(a minute for a day, half an hour for a month, a day for a year: average and max).\n"
	 "Example:\n  vdc host metrics h1 --since 10m\n  vdc host metrics h1 --since 1w --metric cpu,cpu_demand\n"},
	{0},
};

const struct family cli_host = {"host", "the hypervisor hosts", cmds};

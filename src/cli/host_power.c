/* host_power.c - 'vdc host power-driver set|clear HOST' and 'vdc host power
 * HOST on|off|cycle|status': a host's BMC and its power through vdcd. The
 * BMC password comes from a file (or stdin), never from the command line,
 * which every user of the machine can read. */
#include "cli.h"

#include "client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int host_power_parse_bmc(const char *s, char *addr, size_t n, long *port, char *err, size_t errlen)
{
	const char *host = s, *colon = NULL;
	size_t len;
	*port = 0;
	if (s[0] == '[') { /* [IPv6]:PORT */
		const char *end = strchr(s, ']');
		if (!end || (end[1] && end[1] != ':')) {
			snprintf(err, errlen, "flag --ipmi: '%s' is not ADDRESS, ADDRESS:PORT or [IPv6]:PORT", s);
			return CLI_USAGE;
		}
		host = s + 1;
		len = (size_t)(end - host);
		colon = end[1] ? end + 1 : NULL;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':')) /* a bare IPv6 address */
			colon = NULL;
		len = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (len == 0 || len >= n) {
		snprintf(err, errlen, "flag --ipmi: '%s' has no address", s);
		return CLI_USAGE;
	}
	memcpy(addr, host, len);
	addr[len] = '\0';
	if (colon) {
		char *end;
		errno = 0;
		long p = strtol(colon + 1, &end, 10);
		if (!colon[1] || *end || errno || p < 1 || p > 65535) {
			snprintf(err, errlen, "flag --ipmi: the port in '%s' must be a number from 1 to 65535", s);
			return CLI_USAGE;
		}
		*port = p;
	}
	return 0;
}

/* The first line of path ("-": stdin) into buf, without its line break.
 * 0, or an exit code with the reason printed. */
static int read_password(struct cli *c, const char *path, char *buf, size_t n)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) {
		cli_error(c, "cannot read --password-file %s: %s", path, strerror(errno));
		return CLI_USAGE;
	}
	char line[256];
	int got = fgets(line, sizeof(line), f) != NULL;
	if (f != stdin)
		fclose(f);
	size_t len = got ? strcspn(line, "\r\n") : 0;
	int rc = 0;
	if (!len) {
		cli_error(c, "--password-file %s: no password on its first line", path);
		rc = CLI_USAGE;
	} else if (len >= n) {
		cli_error(c, "--password-file %s: the password is too long (IPMI passwords have at most 20 characters)",
		          path);
		rc = CLI_USAGE;
	} else {
		memcpy(buf, line, len);
		buf[len] = '\0';
	}
	explicit_bzero(line, sizeof(line));
	return rc;
}

static void host_path(char *path, size_t n, const char *host, const char *suffix)
{
	char esc[256];
	snprintf(path, n, "/api/v1/hosts/%s/%s", client_escape(host, esc, sizeof(esc)), suffix);
}

static int driver_set(struct cli *c, const struct args *a, const char *host)
{
	char addr[256], err[300], pw[64] = "";
	long port = 0;
	int rc = host_power_parse_bmc(args_str(a, "ipmi"), addr, sizeof(addr), &port, err, sizeof(err));
	if (rc) {
		cli_error(c, "%s", err);
		return rc;
	}
	if (args_str(a, "password-file") && (rc = read_password(c, args_str(a, "password-file"), pw, sizeof(pw))))
		return rc;
	json_t *body = json_pack("{s:s, s:s, s:s}", "driver", "ipmi", "address", addr, "username", args_str(a, "user"));
	if (port)
		json_object_set_new(body, "port", json_integer(port));
	if (pw[0])
		json_object_set_new(body, "password", json_string(pw));
	explicit_bzero(pw, sizeof(pw));
	const struct opt_value *v;
	if ((v = args_value(a, "cipher-suite")))
		json_object_set_new(body, "cipher_suite", json_integer(v->i));
	if ((v = args_value(a, "timeout")))
		json_object_set_new(body, "timeout_s", json_integer(v->i));
	char path[512];
	host_path(path, sizeof(path), host, "power-driver");
	json_t *reply = NULL;
	rc = cli_call(c, "PUT", path, body, "host", &reply);
	json_scrub(body, "password");
	json_decref(body);
	if (rc)
		return rc;
	const json_t *p = json_object_get(reply, "power");
	if (c->output == OUT_JSON)
		out_json(c, reply);
	else
		fprintf(c->out, "host %s: power driver ipmi %s:%lld (user %s) set; try it: vdc host power %s status\n", host,
		        json_string_value(json_object_get(p, "address")) ?: addr,
		        (long long)json_integer_value(json_object_get(p, "port")),
		        json_string_value(json_object_get(p, "username")) ?: "?", host);
	json_decref(reply);
	return 0;
}

int host_power_driver_cmd(struct cli *c, const struct args *a)
{
	const char *host = a->pos[1];
	if (!strcmp(a->pos[0], "set"))
		return driver_set(c, a, host);
	char path[512];
	host_path(path, sizeof(path), host, "power-driver");
	json_t *reply = NULL;
	int rc = cli_call(c, "DELETE", path, NULL, "host", &reply);
	if (rc)
		return rc;
	if (c->output == OUT_JSON)
		out_json(c, reply);
	else
		fprintf(c->out, "host %s: power driver cleared (its BMC password deleted)\n", host);
	json_decref(reply);
	return 0;
}

int host_power_driver_check(const struct args *a, char *err, size_t errlen)
{
	if (a->npos != 2)
		return 0;
	bool set = !strcmp(a->pos[0], "set");
	if (!set && strcmp(a->pos[0], "clear")) {
		snprintf(err, errlen, "power-driver takes 'set HOST' or 'clear HOST', not '%s'", a->pos[0]);
		return CLI_USAGE;
	}
	if (set && (!args_str(a, "ipmi") || !args_str(a, "user"))) {
		snprintf(err, errlen, "power-driver set needs --ipmi ADDRESS[:PORT] and --user USER "
		                      "(and --password-file FILE, unless vdcd keeps its password already)");
		return CLI_USAGE;
	}
	if (!set && (args_str(a, "ipmi") || args_str(a, "user") || args_str(a, "password-file"))) {
		snprintf(err, errlen, "power-driver clear takes no --ipmi, --user or --password-file");
		return CLI_USAGE;
	}
	return 0;
}

int host_power_check(const struct args *a, char *err, size_t errlen)
{
	static const char *const actions[] = {"on", "off", "cycle", "status", NULL};
	if (a->npos != 2)
		return 0;
	for (int i = 0; actions[i]; i++)
		if (!strcmp(a->pos[1], actions[i]))
			return 0;
	snprintf(err, errlen, "power takes HOST on|off|cycle|status, not '%s'", a->pos[1]);
	return CLI_USAGE;
}

int host_power_cmd(struct cli *c, const struct args *a)
{
	const char *host = a->pos[0], *action = a->pos[1];
	char path[512];
	host_path(path, sizeof(path), host, "power");
	json_t *body = json_pack("{s:s}", "action", action), *reply = NULL;
	if (args_flag(a, "force"))
		json_object_set_new(body, "force", json_true());
	int rc = cli_call(c, "POST", path, body, "host", &reply);
	json_decref(body);
	if (rc)
		return rc;
	const char *id = json_string_value(json_path(reply, "task.id"));
	if (!id || args_flag(a, "no-wait")) {
		rc = task_finish(c, a, reply, NULL);
		json_decref(reply);
		return rc;
	}
	json_t *final = NULL;
	rc = task_wait(c, id, &final);
	if (c->output == OUT_JSON && final)
		out_json(c, final);
	else if (rc == 0 && final)
		fprintf(c->out, "host %s: %s\n", host, json_string_value(json_path(final, "result.message")) ?: "done");
	json_decref(final);
	json_decref(reply);
	return rc;
}

const struct opt host_power_driver_opts[] = {
	{"ipmi", 0, OPT_STR, "ADDRESS[:PORT]", "the BMC's IP address or host name, and its UDP port (623)", "address", 0,
	 NULL},
	{"user", 0, OPT_STR, "USER", "the BMC user (an administrator of the BMC)", "username", 0, NULL},
	{"password-file", 0, OPT_STR, "FILE", "the BMC password: the first line of FILE (- reads stdin)", "password", 0,
	 NULL},
	{"cipher-suite", 0, OPT_INT, "N", "the IPMI 2.0 cipher suite (3; 17 on many newer BMCs)", "cipher_suite", 0,
	 NULL},
	{"timeout", 0, OPT_DURATION, "DURATION", "how long one call to the BMC may take (10s)", "timeout_s", 0, NULL},
	OPT_END,
};

const struct opt host_power_opts[] = {
	{"force", 0, OPT_FLAG, NULL, "off or cycle a host that still runs VMs (they stop at once)", "force", 0, NULL},
	OPT_NO_WAIT,
	OPT_END,
};

/* vm.c - 'vdc vm ...': create (showing where placement put the VM and why),
 * power operations and snapshots as waited-for tasks, and the console tail. */
#include "cli.h"
#include "table.h"

#include "client.h"

#include <signal.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

static const struct column cols[] = {
	{"NAME", "name", FMT_TEXT, 0, NULL},
	{"STATE", "power_state", FMT_TEXT, 0, NULL},
	{"HOST", "placement.host", FMT_TEXT, 0, NULL},
	{"VCPUS", "config.vcpus", FMT_TEXT, 0, NULL},
	{"MEMORY", "config.memory_mib", FMT_MIB, 0, NULL},
	{"AGENT", "guest.agent", FMT_TEXT, 0, NULL},
	{0},
};
static const struct resource res = {"vm", "vms", cols, NULL, 0};

/* The same with the project of each VM, for callers who see several. */
static const struct column cols_project[] = {
	{"NAME", "name", FMT_TEXT, 0, NULL},
	{"PROJECT", "project_id", FMT_REF, 0, "projects"},
	{"STATE", "power_state", FMT_TEXT, 0, NULL},
	{"HOST", "placement.host", FMT_TEXT, 0, NULL},
	{"VCPUS", "config.vcpus", FMT_TEXT, 0, NULL},
	{"MEMORY", "config.memory_mib", FMT_MIB, 0, NULL},
	{"AGENT", "guest.agent", FMT_TEXT, 0, NULL},
	{0},
};

/* A PROJECT column for system admins (they see every project's VMs, and
 * those of none) and for users in more than one project, unless --project
 * picked one. */
static int list(struct cli *c, const struct args *a)
{
	int several = 0;
	if (c->output == OUT_TABLE && !args_flag(a, "project")) {
		json_t *me = NULL;
		int was_quiet = c->quiet;
		c->quiet = 1; /* without it the list still does */
		if (cli_call(c, "GET", "/api/v1/auth/whoami", NULL, NULL, &me) == 0)
			several = json_is_true(json_path(me, "user.admin")) ||
			          json_array_size(json_object_get(me, "projects")) > 1;
		c->quiet = was_quiet;
		json_decref(me);
	}
	return res_list_columns(c, a, several ? cols_project : cols);
}

static void vm_path(char *buf, size_t n, const char *name, const char *suffix)
{
	char esc[256];
	snprintf(buf, n, "/api/v1/vms/%s%s", client_escape(name, esc, sizeof(esc)), suffix);
}

/* --dry-run: placement's verdict and every check of a create, nothing
 * made. Prints where the VM would go and each reported host's verdict. */
static int create_dry(struct cli *c, json_t *reply)
{
	if (c->output == OUT_JSON) {
		out_json(c, reply);
		return 0;
	}
	if (json_is_true(json_path(reply, "placement.hosts_hidden")))
		/* vdcd names hosts to system administrators only */
		fprintf(c->out, "vm %s would be placed on a host that fits (dry run: nothing created; "
		        "host names are shown to administrators)\n",
		        json_string_value(json_path(reply, "vm.name")) ?: "?");
	else
		fprintf(c->out, "vm %s would be placed on %s (dry run: nothing created)\n",
		        json_string_value(json_path(reply, "vm.name")) ?: "?",
		        json_string_value(json_path(reply, "placement.host")) ?: "?");
	fprintf(c->out, "placement: %s\n", json_string_value(json_path(reply, "placement.summary")) ?: "");
	size_t i;
	json_t *h;
	json_array_foreach(json_path(reply, "placement.hosts"), i, h) {
		char *why = text_sanitize(json_string_value(json_object_get(h, "reason")) ?: "");
		fprintf(c->out, "  %-20s %-10s %s\n", json_string_value(json_object_get(h, "host")) ?: "?",
		        json_is_true(json_object_get(h, "eligible")) ? "eligible"
		                                                    : json_string_value(json_object_get(h, "filter")) ?: "?",
		        why ? why : "?");
		free(why);
	}
	return 0;
}

/* --boot-order disk,net is the API's list; "default" (resize) its null.
 * The words are the API's to judge: an empty one stays, and is refused
 * naming its place. */
static void boot_order_list(json_t *body)
{
	const char *s = json_string_value(json_object_get(body, "boot_order"));
	if (!s)
		return;
	if (!strcmp(s, "default")) {
		json_object_set_new(body, "boot_order", json_null());
		return;
	}
	json_t *list = json_array();
	for (const char *p = s;;) {
		size_t n = strcspn(p, ",");
		json_array_append_new(list, json_stringn(p, n));
		if (!p[n])
			break;
		p += n + 1;
	}
	json_object_set_new(body, "boot_order", list);
}

static int create(struct cli *c, const struct args *a)
{
	char err[512];
	json_t *body = NULL, *reply = NULL;
	int rc = res_create_body(a, a->npos ? a->pos[0] : NULL, &body, err, sizeof(err));
	if (rc) {
		cli_error(c, "%s", err);
		return rc;
	}
	boot_order_list(body);
	/* --cdrom-empty: a drive with no medium. */
	if (json_is_true(json_object_get(body, "cdrom")))
		json_object_set_new(body, "cdrom", json_object());
	int dry = args_flag(a, "dry-run");
	rc = cli_call(c, "POST", dry ? "/api/v1/vms?dry_run=true" : "/api/v1/vms", body, "template", &reply);
	json_decref(body);
	if (rc == 0 && dry) {
		rc = create_dry(c, reply);
		json_decref(reply);
		return rc;
	}
	if (rc) {
		/* No host fits: the per-host reasons, for scripts, on stdout. */
		const char *code = json_string_value(json_path(c->last_error, "error.code"));
		if (c->output == OUT_JSON && code && !strcmp(code, "no_host"))
			out_json(c, c->last_error);
		return rc;
	}
	const char *name = json_string_value(json_path(reply, "vm.name")) ?: "?";
	const char *id = json_string_value(json_path(reply, "vm.id"));
	const char *summary = json_string_value(json_path(reply, "placement.summary"));
	/* Chatter goes to stderr: stdout holds only what a script reads (the
	 * task id with --no-wait, the result line, or JSON). */
	if (c->output == OUT_TABLE && summary)
		fprintf(c->err, "placement: %s\n", summary);
	fflush(c->err);
	if (args_flag(a, "no-wait")) {
		rc = task_finish(c, a, reply, NULL);
		json_decref(reply);
		return rc;
	}
	json_t *task = NULL, *vm = NULL;
	const char *tid = json_string_value(json_path(reply, "task.id"));
	rc = tid ? task_wait(c, tid, &task) : CLI_FAIL;
	if (!tid)
		cli_error(c, "vdcd answered without a task id");
	char path[512];
	vm_path(path, sizeof(path), id ? id : name, "");
	if (rc == 0)
		rc = cli_call(c, "GET", path, NULL, "vm", &vm);
	if (c->output == OUT_JSON) {
		json_t *out = json_pack("{s:O, s:O?, s:O?}", "vm", vm ? vm : json_object_get(reply, "vm"),
		                        "task", task, "placement", json_object_get(reply, "placement"));
		out_json(c, out);
		json_decref(out);
	} else if (rc == 0) {
		fprintf(c->out, "vm %s created on %s (%s)\n", name,
		        json_string_value(json_path(vm, "placement.host")) ?: "?",
		        json_string_value(json_path(vm, "power_state")) ?: "?");
	}
	json_decref(task);
	json_decref(vm);
	json_decref(reply);
	return rc;
}

/* The last exit in words: its cause (with the signal), when, and why. */
static void print_last_exit(struct cli *c, const json_t *le)
{
	const char *cause = json_string_value(json_object_get(le, "cause"));
	const char *sig = json_string_value(json_object_get(le, "signal_name"));
	char *why = text_sanitize(json_string_value(json_object_get(le, "reason")) ?: "");
	fprintf(c->out, "%-12s%s%s%s at %s: %s\n", "last exit", cause ? cause : "unknown", sig ? " " : "",
	        sig ? sig : "", json_string_value(json_object_get(le, "at")) ?: "?", why ? why : "?");
	free(why);
}

/* One VM for people: state, host, size, where placement put it and why,
 * and why its QEMU last ended (-o json: the document). */
/* What its guest agent says: whether one answers, then its host name,
 * OS and addresses (the guest wrote them: sanitized for the terminal). */
static void show_guest(struct cli *c, const json_t *g)
{
	if (!json_is_object(g))
		return;
	bool agent = json_is_true(json_object_get(g, "agent"));
	char *err = text_sanitize(json_string_value(json_object_get(g, "error")) ?: "");
	fprintf(c->out, "%-12s%s%s%s\n", "guest agent", agent ? "yes" : "no", !agent && err && *err ? ": " : "",
	        !agent && err ? err : "");
	free(err);
	const char *lines[][2] = {{"  hostname", "hostname"}, {"  os", "os.pretty_name"}, {"  kernel", "os.kernel_release"}};
	for (int i = 0; i < 3; i++) {
		char *v = text_sanitize(json_string_value(json_path(g, lines[i][1])) ?: "");
		if (v && *v)
			fprintf(c->out, "%-12s%s\n", lines[i][0], v);
		free(v);
	}
	size_t i, j;
	json_t *ifc, *ip;
	json_array_foreach(json_object_get(g, "interfaces"), i, ifc) {
		char *name = text_sanitize(json_string_value(json_object_get(ifc, "name")) ?: "?");
		char *mac = text_sanitize(json_string_value(json_object_get(ifc, "mac")) ?: "");
		fprintf(c->out, "%-12s%s %s", "  interface", name ? name : "?", mac ? mac : "");
		json_array_foreach(json_object_get(ifc, "ips"), j, ip) {
			char *v = text_sanitize(json_string_value(ip) ?: "");
			fprintf(c->out, " %s", v ? v : "");
			free(v);
		}
		fputc('\n', c->out);
		free(name);
		free(mac);
	}
}

static int show(struct cli *c, const struct args *a)
{
	char path[512];
	vm_path(path, sizeof(path), a->pos[0], "");
	json_t *vm = NULL;
	int rc = cli_call(c, "GET", path, NULL, "vm", &vm);
	if (rc)
		return rc;
	if (c->output == OUT_JSON) {
		out_json(c, vm);
		json_decref(vm);
		return 0;
	}
	const char *ps = json_string_value(json_object_get(vm, "power_state")) ?: "?";
	const char *ds = json_string_value(json_object_get(vm, "desired_state"));
	fprintf(c->out, "%-12s%s\n", "name", json_string_value(json_object_get(vm, "name")) ?: "?");
	fprintf(c->out, "%-12s%s%s%s%s\n", "state", ps, ds && strcmp(ds, ps) ? " (desired " : "",
	        ds && strcmp(ds, ps) ? ds : "", ds && strcmp(ds, ps) ? ")" : "");
	fprintf(c->out, "%-12s%s\n", "host", json_string_value(json_path(vm, "placement.host")) ?: "?");
	fprintf(c->out, "%-12s%lld vCPU, %lld MiB\n", "size", (long long)json_integer_value(json_path(vm, "config.vcpus")),
	        (long long)json_integer_value(json_path(vm, "config.memory_mib")));
	char *wd = text_sanitize(json_string_value(json_path(vm, "config.watchdog")) ?: "");
	if (wd && *wd)
		fprintf(c->out, "%-12s%s\n", "watchdog", wd);
	free(wd);
	char *fw = text_sanitize(json_string_value(json_path(vm, "config.firmware")) ?: "bios");
	char order[64] = "";
	size_t bi;
	json_t *bd;
	json_array_foreach(json_path(vm, "config.boot_order"), bi, bd)
		snprintf(order + strlen(order), sizeof(order) - strlen(order), "%s%s", bi ? "," : "",
		         json_string_value(bd) ?: "?");
	char *ord = text_sanitize(order[0] ? order : "disk");
	fprintf(c->out, "%-12s%s, boot %s\n", "firmware", fw ? fw : "?", ord ? ord : "?");
	free(fw);
	free(ord);
	if (json_is_object(json_path(vm, "config.cdrom"))) {
		char *iso = text_sanitize(json_string_value(json_path(vm, "config.cdrom.image")) ?: "(empty)");
		fprintf(c->out, "%-12s%s\n", "cdrom", iso ? iso : "?");
		free(iso);
	}
	vm_hw_show(c, vm);
	const char *lines[][2] = {{"placement", "placement.summary"}, {"  why", "placement.reason"}};
	for (int i = 0; i < 2; i++) {
		char *v = text_sanitize(json_string_value(json_path(vm, lines[i][1])) ?: "");
		if (v && *v)
			fprintf(c->out, "%-12s%s\n", lines[i][0], v);
		free(v);
	}
	const json_t *rp = json_path(vm, "config.ready_probe");
	if (json_is_object(rp)) {
		const json_t *rd = json_object_get(vm, "readiness");
		const json_t *ready = json_object_get(rd, "ready");
		char *why = text_sanitize(json_string_value(json_object_get(rd, "reason")) ?: "");
		const char *since = json_string_value(json_object_get(rd, "since"));
		fprintf(c->out, "%-12sTCP %lld every %lld s: %s%s%s\n", "ready probe",
		        (long long)json_integer_value(json_object_get(rp, "tcp_port")),
		        (long long)json_integer_value(json_object_get(rp, "period_s")),
		        json_is_true(ready) ? "ready" : json_is_false(ready) ? "not ready" : "unknown",
		        since && !json_is_null(ready) ? " since " : "", since && !json_is_null(ready) ? since : "");
		if (!json_is_true(ready) && why && *why)
			fprintf(c->out, "%-12s%s\n", "  why", why);
		free(why);
	}
	show_guest(c, json_object_get(vm, "guest"));
	const char *prio = json_string_value(json_path(vm, "ha.priority"));
	if (prio)
		fprintf(c->out, "%-12s%s\n", "ha", prio);
	char *last = text_sanitize(json_string_value(json_path(vm, "ha_last.reason")) ?: "");
	if (last && *last)
		fprintf(c->out, "%-12s%s (%s)\n", "ha restart", last, json_string_value(json_path(vm, "ha_last.at")) ?: "?");
	free(last);
	char *hold = text_sanitize(json_string_value(json_path(vm, "ha_hold.reason")) ?: "");
	if (hold && *hold)
		fprintf(c->out, "%-12sheld since %s: %s\n", "ha hold", json_string_value(json_path(vm, "ha_hold.at")) ?: "?",
		        hold);
	free(hold);
	const json_t *le = json_object_get(vm, "last_exit");
	if (json_is_object(le))
		print_last_exit(c, le);
	else
		fprintf(c->out, "%-12s%s\n", "last exit", "none");
	fprintf(c->out, "%-12s%s\n", "id", json_string_value(json_object_get(vm, "id")) ?: "?");
	json_decref(vm);
	return 0;
}

/* Waits for the task of reply, keeping its end for what it says (a forced
 * power-off, a resize's warnings). With --no-wait, prints the task id as
 * task_finish does and leaves *final NULL; with -o json, prints the task. */
static int wait_final(struct cli *c, const struct args *a, const json_t *reply, json_t **final)
{
	*final = NULL;
	const char *id = json_string_value(json_path(reply, "task.id"));
	if (!id || args_flag(a, "no-wait"))
		return task_finish(c, a, reply, NULL);
	int rc = task_wait(c, id, final);
	if (c->output == OUT_JSON && *final)
		out_json(c, *final);
	return rc;
}

/* Prints done when the task succeeded and was waited for, as text. */
static void say_done(struct cli *c, int rc, const json_t *final, const char *done)
{
	if (rc == 0 && final && c->output != OUT_JSON)
		fprintf(c->out, "%s\n", done);
}

/* A power operation: its URL suffix and how its end is told. */
struct power {
	const char *action;
	const char *done;
};

static int power(struct cli *c, const struct args *a)
{
	const struct power *p = c->cmd->data;
	char path[512], suffix[32], done[256], err[256];
	snprintf(suffix, sizeof(suffix), "/%s", p->action);
	vm_path(path, sizeof(path), a->pos[0], suffix);
	json_t *body = json_object(), *reply = NULL;
	int rc = args_fill_body(a, body, err, sizeof(err));
	if (rc)
		cli_error(c, "%s", err);
	else
		rc = cli_call(c, "POST", path, body, "vm", &reply);
	json_decref(body);
	if (rc)
		return rc;
	json_t *final = NULL;
	rc = wait_final(c, a, reply, &final);
	const json_t *result = json_object_get(final, "result");
	const struct opt_value *timeout = args_value(a, "timeout");
	if (json_is_true(json_object_get(result, "forced")) && timeout && strpbrk(timeout->str, "smhd")) {
		/* The timeout as the user typed it ("5m"), not the host's seconds. */
		snprintf(done, sizeof(done), "vm %s powered off (forced: the guest did not shut down within %s)",
		         a->pos[0], timeout->str);
	} else if (json_is_true(json_object_get(result, "forced"))) {
		/* The guest did not shut down: it was powered off, not stopped. */
		char *why = text_sanitize(json_string_value(json_object_get(result, "reason")) ?: "no reason given");
		snprintf(done, sizeof(done), "vm %s powered off (forced: %s)", a->pos[0], why ? why : "?");
		free(why);
	} else {
		snprintf(done, sizeof(done), "vm %s %s", a->pos[0], p->done);
	}
	say_done(c, rc, final, done);
	json_decref(final);
	json_decref(reply);
	return rc;
}

/* Delete: a running VM only with --force (powered off first), as vdcd
 * and the host rule. */
static int vm_delete(struct cli *c, const struct args *a)
{
	char path[512], done[256];
	vm_path(path, sizeof(path), a->pos[0], args_flag(a, "force") ? "?force=true" : "");
	json_t *reply = NULL;
	int rc = cli_call(c, "DELETE", path, NULL, "vm", &reply);
	if (rc)
		return rc;
	snprintf(done, sizeof(done), "vm %s deleted", a->pos[0]);
	rc = task_finish(c, a, reply, done);
	json_decref(reply);
	return rc;
}

static int snapshot(struct cli *c, const struct args *a)
{
	char path[512], done[256];
	vm_path(path, sizeof(path), a->pos[0], "/snapshots");
	json_t *body = json_pack("{s:s}", "name", a->pos[1]), *reply = NULL;
	int rc = cli_call(c, "POST", path, body, "vm", &reply);
	json_decref(body);
	if (rc)
		return rc;
	snprintf(done, sizeof(done), "vm %s: snapshot %s taken", a->pos[0], a->pos[1]);
	rc = task_finish(c, a, reply, done);
	json_decref(reply);
	return rc;
}

/* vdc vm cdrom NAME insert ISO | eject | remove: the drive's medium (live
 * too), or the drive itself (stopped). */
static int cdrom(struct cli *c, const struct args *a)
{
	const char *verb = a->pos[1], *iso = a->npos > 2 ? a->pos[2] : NULL;
	json_t *body = !strcmp(verb, "insert") && iso   ? json_pack("{s:s}", "image", iso)
	               : !strcmp(verb, "eject") && !iso  ? json_pack("{s:n}", "image")
	               : !strcmp(verb, "remove") && !iso ? json_pack("{s:b}", "drive", 0)
	                                                 : NULL;
	if (!body) {
		cli_error(c, "usage: vdc vm cdrom NAME insert ISO | eject | remove");
		return 2;
	}
	char path[512], done[256];
	json_t *reply = NULL;
	vm_path(path, sizeof(path), a->pos[0], "/cdrom");
	int rc = cli_call(c, "POST", path, body, "image", &reply);
	json_decref(body);
	if (rc)
		return rc;
	if (iso)
		snprintf(done, sizeof(done), "vm %s: %s in its CD-ROM drive", a->pos[0], iso);
	else
		snprintf(done, sizeof(done), "vm %s: CD-ROM %s", a->pos[0], !strcmp(verb, "eject") ? "ejected" : "drive removed");
	rc = task_finish(c, a, reply, done);
	json_decref(reply);
	return rc;
}

/* Resize (NAME) and clone (NAME NEWNAME): a body from their flags, then a
 * waited-for task. */
static int reshape(struct cli *c, const struct args *a)
{
	int clone = a->npos == 2;
	char path[512], done[256], err[512];
	json_t *body = NULL, *reply = NULL;
	/* The flags make the body as for a create, whose "name" is the clone's
	 * new name; a resize names its VM in the path only. */
	int rc = res_create_body(a, clone ? a->pos[1] : a->pos[0], &body, err, sizeof(err));
	if (rc) {
		cli_error(c, "%s", err);
		return rc;
	}
	if (!clone)
		json_object_del(body, "name");
	boot_order_list(body);
	/* "none" on the command line is the API's null (no watchdog). */
	const char *wd = json_string_value(json_object_get(body, "watchdog"));
	if (!clone && wd && !strcmp(wd, "none"))
		json_object_set_new(body, "watchdog", json_null());
	/* --no-ready-probe is the API's null. */
	if (!clone && json_is_true(json_object_get(body, "ready_probe")))
		json_object_set_new(body, "ready_probe", json_null());
	vm_path(path, sizeof(path), a->pos[0], clone ? "/clone" : "/resize");
	rc = cli_call(c, "POST", path, body, "vm", &reply);
	json_decref(body);
	if (rc)
		return rc;
	if (!clone && !json_object_get(reply, "task")) { /* the probe alone: done at once (200, the VM) */
		if (c->output == OUT_JSON)
			out_json(c, reply);
		else
			fprintf(c->out, "vm %s: readiness probe %s\n", a->pos[0],
			        json_is_object(json_path(reply, "config.ready_probe")) ? "set" : "removed");
		json_decref(reply);
		return 0;
	}
	if (clone)
		snprintf(done, sizeof(done), "vm %s cloned to %s", a->pos[0], a->pos[1]);
	else
		snprintf(done, sizeof(done), "vm %s resized", a->pos[0]);
	json_t *final = NULL;
	rc = wait_final(c, a, reply, &final);
	say_done(c, rc, final, done);
	/* What the change cost (RAM snapshots it made unusable), on stderr. */
	size_t i;
	json_t *w;
	json_array_foreach(json_path(final, "result.warnings"), i, w) {
		char *clean = text_sanitize(json_string_value(w) ?: "");
		fprintf(c->err, "warning: %s\n", clean ? clean : "");
		free(clean);
	}
	json_decref(final);
	json_decref(reply);
	return rc;
}

/* Migrate: placement's choice (or --host), its reasons on stderr; the task
 * shows what is left to copy, the dirty rate and the expected pause. */
static int migrate(struct cli *c, const struct args *a)
{
	char path[512], done[512];
	int dry = args_flag(a, "dry-run");
	vm_path(path, sizeof(path), a->pos[0], dry ? "/migrate?dry_run=true" : "/migrate");
	json_t *body = json_object(), *reply = NULL, *final = NULL;
	const char *host = args_str(a, "host");
	if (host)
		json_object_set_new(body, "host", json_string(host));
	if (args_flag(a, "cold"))
		json_object_set_new(body, "cold", json_true());
	int rc = cli_call(c, "POST", path, body, "vm", &reply);
	json_decref(body);
	if (rc) {
		/* No host fits: the per-host reasons, for scripts, on stdout. */
		if (c->output == OUT_JSON && json_path(c->last_error, "error.placement"))
			out_json(c, c->last_error);
		return rc;
	}
	if (dry) {
		json_t *shaped = json_pack("{s:{s:s}, s:O}", "vm", "name", a->pos[0], "placement",
		                           json_object_get(reply, "placement"));
		if (c->output == OUT_JSON)
			out_json(c, reply);
		else
			create_dry(c, shaped);
		json_decref(shaped);
		json_decref(reply);
		return 0;
	}
	const char *summary = json_string_value(json_path(reply, "placement.summary"));
	if (c->output == OUT_TABLE && summary)
		fprintf(c->err, "placement: %s\n", summary);
	fflush(c->err);
	rc = wait_final(c, a, reply, &final);
	if (rc == 0 && final) {
		const json_t *r = json_object_get(final, "result");
		const char *strategy = json_string_value(json_object_get(r, "strategy")) ?: "pre-copy";
		if (!strcmp(strategy, "cold"))
			snprintf(done, sizeof(done), "vm %s moved cold to %s (%s there)", a->pos[0],
			         json_string_value(json_path(reply, "placement.host")) ?: "?",
			         json_string_value(json_object_get(r, "power_state")) ?: "?");
		else
			snprintf(done, sizeof(done), "vm %s migrated to %s in %lld ms (paused %lld ms; %s)", a->pos[0],
			         json_string_value(json_path(reply, "placement.host")) ?: "?",
			         (long long)json_integer_value(json_object_get(r, "total_ms")),
			         (long long)json_integer_value(json_object_get(r, "downtime_ms")), strategy);
		say_done(c, rc, final, done);
	}
	json_decref(final);
	json_decref(reply);
	return rc;
}

/* Storage migration: the disk moves to another datastore of the VM's host
 * while the guest runs; the task shows how much is copied. */
static int move_disk(struct cli *c, const struct args *a)
{
	char path[512], done[512], tail[128];
	snprintf(tail, sizeof(tail), "/disks/%s/move", args_str(a, "disk") ?: "root");
	vm_path(path, sizeof(path), a->pos[0], tail);
	json_t *body = json_pack("{s:s}", "datastore", a->pos[1]), *reply = NULL, *final = NULL;
	const struct opt_value *bw = args_value(a, "bandwidth");
	if (bw && bw->set)
		json_object_set_new(body, "bandwidth_mib_s", json_integer(bw->i));
	int rc = cli_call(c, "POST", path, body, "vm", &reply);
	json_decref(body);
	if (rc)
		return rc;
	rc = wait_final(c, a, reply, &final);
	if (rc == 0 && final) {
		snprintf(done, sizeof(done), "vm %s: disk %s moved from datastore %s to %s", a->pos[0],
		         json_string_value(json_path(final, "result.disk")) ?: "root",
		         json_string_value(json_path(final, "result.from_datastore")) ?: "?", a->pos[1]);
		say_done(c, rc, final, done);
	}
	json_decref(final);
	json_decref(reply);
	return rc;
}

static int check_set_pool(const struct args *a, char *err, size_t errlen)
{
	int pool = a->npos > 1, root = args_flag(a, "root");
	if (pool && root) {
		snprintf(err, errlen, "give a POOL or --root, not both");
		return CLI_USAGE;
	}
	const struct opt_value *cr = args_value(a, "cpu-reservation"), *mr = args_value(a, "mem-reservation");
	if (!pool && !root && !(cr && cr->set) && !(mr && mr->set)) {
		snprintf(err, errlen, "give a POOL, --root, --cpu-reservation or --mem-reservation");
		return CLI_USAGE;
	}
	return 0;
}

static int set_pool(struct cli *c, const struct args *a)
{
	char path[512], done[512];
	vm_path(path, sizeof(path), a->pos[0], "/pool");
	json_t *body = json_object(), *reply = NULL, *final = NULL;
	if (a->npos > 1)
		json_object_set_new(body, "pool", json_string(a->pos[1]));
	else if (args_flag(a, "root"))
		json_object_set_new(body, "pool", json_null());
	static const char *const keys[][2] = {{"cpu-reservation", "cpu_reservation_pct"},
	                                      {"mem-reservation", "mem_reservation_mib"}};
	for (int i = 0; i < 2; i++) {
		const struct opt_value *v = args_value(a, keys[i][0]);
		if (v && v->set)
			json_object_set_new(body, keys[i][1], json_integer(v->i));
	}
	int rc = cli_call(c, "POST", path, body, "vm", &reply);
	json_decref(body);
	if (rc)
		return rc;
	snprintf(done, sizeof(done), "vm %s is in %s%s", a->pos[0], a->npos > 1 ? "pool " : "",
	         a->npos > 1 ? a->pos[1] : "the cluster's root");
	if (!json_object_get(reply, "task")) { /* reservations only: no host work */
		if (c->output == OUT_JSON)
			out_json(c, reply);
		else
			fprintf(c->out, "vm %s: reservations %lld%% CPU, %lld MiB memory\n", a->pos[0],
			        (long long)json_integer_value(json_path(reply, "config.cpu_reservation_pct")),
			        (long long)json_integer_value(json_path(reply, "config.mem_reservation_mib")));
		json_decref(reply);
		return 0;
	}
	rc = wait_final(c, a, reply, &final);
	say_done(c, rc, final, done);
	json_decref(final);
	json_decref(reply);
	return rc;
}

/* vdc vm ha NAME [--priority P] [--isolation-response R] */
static const struct opt ha_opts[] = {
	{"priority", 0, OPT_STR, "PRIORITY", "restart priority after its host fails: high, medium, low or disabled",
	 "priority", 0, NULL},
	{"isolation-response", 0, OPT_STR, "RESPONSE", "what its host does with it when isolated: leave, shutdown or "
	 "poweroff", "isolation_response", 0, NULL},
	{"after", 0, OPT_LIST, "VM", "after a host failure, start it once this VM (of its project) runs again",
	 "restart_after", 0, NULL},
	OPT_END,
};

static int check_ha(const struct args *a, char *err, size_t errlen)
{
	const struct opt_value *p = args_value(a, "priority"), *r = args_value(a, "isolation-response"),
	                       *o = args_value(a, "after");
	if (!(p && p->set) && !(r && r->set) && !(o && o->set)) {
		snprintf(err, errlen, "give --priority, --isolation-response or --after");
		return CLI_USAGE;
	}
	return 0;
}

static int set_ha(struct cli *c, const struct args *a)
{
	char path[512], err[256] = "";
	vm_path(path, sizeof(path), a->pos[0], "/ha");
	json_t *body = json_object(), *reply = NULL;
	int rc = args_fill_body(a, body, err, sizeof(err));
	if (rc) {
		json_decref(body);
		return rc;
	}
	rc = cli_call(c, "POST", path, body, "vm", &reply);
	json_decref(body);
	if (rc)
		return rc;
	if (c->output == OUT_JSON)
		out_json(c, reply);
	else
		fprintf(c->out, "vm %s: HA priority %s, isolation response %s\n", a->pos[0],
		        json_string_value(json_path(reply, "ha.priority")) ?: "(the cluster's)",
		        json_string_value(json_path(reply, "ha.isolation_response")) ?: "(the cluster's)");
	json_decref(reply);
	return 0;
}

static int snapshots(struct cli *c, const struct args *a)
{
	char path[512];
	vm_path(path, sizeof(path), a->pos[0], "/snapshots");
	json_t *reply = NULL;
	int rc = cli_call(c, "GET", path, NULL, "vm", &reply);
	if (rc)
		return rc;
	if (c->output == OUT_JSON) {
		out_json(c, reply);
		json_decref(reply);
		return 0;
	}
	static const char *const hdr[] = {"NAME", "TAKEN"};
	static const int width[] = {40, 24};
	struct table *t = table_new(2, hdr, width);
	size_t i;
	json_t *snap;
	json_array_foreach(json_object_get(reply, "snapshots"), i, snap) {
		char when[32] = "-";
		time_t at = (time_t)json_integer_value(json_object_get(snap, "date_sec"));
		struct tm tm;
		if (at > 0 && gmtime_r(&at, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
		const char *cells[] = {json_string_value(json_object_get(snap, "name")) ?: "?", when};
		table_add_row(t, cells);
	}
	char *text = table_render(t);
	fputs(text, c->out);
	free(text);
	table_free(t);
	json_decref(reply);
	return 0;
}

/* Reverts to or deletes a snapshot: both are waited-for tasks. */
static int snapshot_op(struct cli *c, const struct args *a)
{
	int revert = !strcmp(c->cmd->name, "revert");
	char suffix[160], path[512], done[256];
	snprintf(suffix, sizeof(suffix), "/snapshots/%s%s", a->pos[1], revert ? "/revert" : "");
	vm_path(path, sizeof(path), a->pos[0], suffix);
	json_t *reply = NULL;
	int rc = cli_call(c, revert ? "POST" : "DELETE", path, NULL, NULL, &reply);
	if (rc == CLI_NOT_FOUND) /* there is no 'vdc snapshot list' */
		fprintf(c->err, "(see 'vdc vm snapshots %s')\n", a->pos[0]);
	if (rc)
		return rc;
	snprintf(done, sizeof(done), "vm %s: %s snapshot %s", a->pos[0], revert ? "reverted to" : "deleted",
	         a->pos[1]);
	rc = task_finish(c, a, reply, done);
	json_decref(reply);
	return rc;
}

static int check_console(const struct args *a, char *err, size_t errlen)
{
	const struct opt_value *b = args_value(a, "bytes");
	if (b && (b->i < 1 || b->i > 1024 * 1024)) {
		snprintf(err, errlen, "flag --bytes: '%s' is out of range: 1 to 1M", b->str);
		return CLI_USAGE;
	}
	if (args_flag(a, "follow") && args_str(a, "output") && !strcmp(args_str(a, "output"), "json")) {
		snprintf(err, errlen, "--follow prints the console as it comes; it has no JSON form");
		return CLI_USAGE;
	}
	return 0;
}

#define FOLLOW_POLL_MS 500
#define FOLLOW_CHUNK (256 * 1024) /* bytes asked for per poll */

static volatile sig_atomic_t follow_stop;
static void on_follow_signal(int sig)
{
	(void)sig;
	follow_stop = 1;
}

/* --follow: what the guest prints from the end shown on, polled with
 * ?offset= (X-Console-Offset said where each reply starts) until Ctrl-C,
 * as 'tail -f' does. A VM deleted or vdcd gone ends it with that error. */
static int console_follow(struct cli *c, const char *name, long long offset)
{
	struct sigaction sa = {.sa_handler = on_follow_signal}, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	int rc = 0;
	while (!follow_stop) {
		char path[512], q[80];
		snprintf(q, sizeof(q), "/console?bytes=%d&offset=%lld", FOLLOW_CHUNK, offset);
		vm_path(path, sizeof(path), name, q);
		char *text = NULL;
		size_t len = 0;
		long long start = -1;
		if ((rc = cli_call_text(c, path, "vm", &text, &len, &start)))
			break;
		if (start < 0) {
			free(text);
			cli_error(c, "vdcd did not say where the console's bytes start (X-Console-Offset): it "
			             "is older than this vdc; follow needs vdcd to take ?offset=");
			rc = CLI_FAIL;
			break;
		}
		if (start > offset)
			fprintf(c->err, "[vdc: %lld bytes of the console were lost (rotated away)]\n",
			        start - offset);
		else if (start < offset)
			fprintf(c->err, "[vdc: the console began again]\n");
		fwrite(text, 1, len, c->out);
		fflush(c->out);
		free(text);
		offset = start + (long long)len;
		if (len < FOLLOW_CHUNK) { /* caught up: wait for more */
			struct timespec ts = {0, FOLLOW_POLL_MS * 1000000L};
			nanosleep(&ts, NULL); /* a signal cuts it short */
		}
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return rc;
}

static int console(struct cli *c, const struct args *a)
{
	char path[512], q[48] = "/console";
	const struct opt_value *b = args_value(a, "bytes");
	if (b)
		snprintf(q, sizeof(q), "/console?bytes=%lld", b->i);
	vm_path(path, sizeof(path), a->pos[0], q);
	char *text = NULL;
	size_t len = 0;
	long long start = -1;
	int rc = cli_call_text(c, path, "vm", &text, &len, &start);
	if (rc)
		return rc;
	if (args_flag(a, "follow")) {
		fwrite(text, 1, len, c->out);
		fflush(c->out);
		free(text);
		if (start < 0) {
			cli_error(c, "vdcd did not say where the console's bytes start (X-Console-Offset): it "
			             "is older than this vdc; follow needs vdcd to take ?offset=");
			return CLI_FAIL;
		}
		return console_follow(c, a->pos[0], start + (long long)len);
	}
	if (c->output == OUT_JSON) {
		/* Not UTF-8 (a guest may print anything): null, not a broken document. */
		json_t *doc = json_pack("{s:s, s:o}", "vm", a->pos[0], "console",
		                        json_stringn(text, len) ?: json_null());
		out_json(c, doc);
		json_decref(doc);
	} else {
		/* The guest's own bytes, as a serial console shows them. */
		fwrite(text, 1, len, c->out);
		if (len && text[len - 1] != '\n')
			fputc('\n', c->out);
	}
	free(text);
	return 0;
}

static const struct opt list_opts[] = {
	{"host", 0, OPT_STR, "HOST", "only VMs on this host", "host_id", 0, "hosts"},
	{"cluster", 0, OPT_STR, "CLUSTER", "only VMs in this cluster", "cluster_id", 0, "clusters"},
	{"state", 0, OPT_STR, "STATE", "only VMs in this power state (running, stopped...)", "power_state",
	 0, NULL},
	{"template", 0, OPT_STR, "TEMPLATE", "only VMs made from this template", "template_id", 0,
	 "templates"},
	{"project", 0, OPT_STR, "PROJECT", "only VMs of this project (name or id)", "project", 0, "projects"},
	OPT_LIMIT,
	OPT_AFTER,
	OPT_END,
};

/* A readiness probe's times, on create and on resize. */
#define OPT_READY_TIMES \
	{"ready-period", 0, OPT_INT, "S", "seconds between the probe's tries (default 2)", "ready_probe.period_s", 0, NULL}, \
	{"ready-timeout", 0, OPT_INT, "S", "seconds a try may take (default 1)", "ready_probe.timeout_s", 0, NULL}, \
	{"ready-failures", 0, OPT_INT, "N", "failures in a row that make it not ready (default 3)", \
	 "ready_probe.failures", 0, NULL}

static const struct opt create_opts[] = {
	{"template", 0, OPT_STR, "TEMPLATE", "the template to make it from", "template", OPT_REQUIRED, NULL},
	{"project", 0, OPT_STR, "PROJECT", "the project it belongs to (its quota applies)", "project", 0,
	 NULL},
	{"cluster", 0, OPT_STR, "CLUSTER", "place it in this cluster (default: any)", "cluster", 0, NULL},
	{"vcpus", 0, OPT_INT, "N", "vCPUs (default: the template's)", "vcpus", 0, NULL},
	{"memory-mib", 0, OPT_SIZE, "SIZE", "memory: 512M, 2G (a bare number is MiB; default: the "
	 "template's)", "memory_mib", 0, NULL},
	{"disk-size-mib", 0, OPT_SIZE, "SIZE", "disk size: 20G (a bare number is MiB; default: the "
	 "template's)", "disk_size_mib", 0,
	 NULL},
	{"network", 0, OPT_LIST, "NETWORK", "attach a NIC to this network", "networks", 0, NULL},
	{"datastore", 0, OPT_STR, "DATASTORE", "where its disk goes (default: local)", "datastore", 0, NULL},
	{"user-data-file", 0, OPT_FILE, "FILE", "cloud-init user data", "user_data", 0, NULL},
	{"no-start", 0, OPT_FLAG, NULL, "create it stopped", "start", OPT_NEGATE, NULL},
	{"pool", 0, OPT_STR, "POOL", "run it in this resource pool (admins; its cluster is the VM's)", "pool", 0, NULL},
	{"cpu-reservation", 0, OPT_INT, "PCT", "CPU guaranteed to it, percent of one CPU (admins)",
	 "cpu_reservation_pct", 0, NULL},
	{"mem-reservation", 0, OPT_SIZE, "SIZE", "memory guaranteed to it: 512M, 2G (admins)", "mem_reservation_mib", 0,
	 NULL},
	{"ha-priority", 0, OPT_STR, "PRIORITY", "its restart priority after its host fails: high, medium, low or "
	 "disabled (admins; default: its cluster's)", "ha.priority", 0, NULL},
	{"watchdog", 0, OPT_STR, "MODEL", "a guest watchdog: i6300esb (a guest that arms it and stops petting it "
	 "is ended as crashed; HA restarts a protected VM)", "watchdog", 0, NULL},
	{"firmware", 0, OPT_STR, "FW", "bios (SeaBIOS, the default) or uefi (OVMF, with a UEFI variable store of "
	 "the VM's own); used when the template boots from its disk", "firmware", 0, NULL},
	{"boot-order", 0, OPT_STR, "LIST", "what it boots from, in order: disk, cdrom, net, comma-separated "
	 "(default: disk)", "boot_order", 0, NULL},
	{"cdrom", 0, OPT_STR, "ISO", "a CD-ROM drive holding this ISO of the image library (boot it with "
	 "--boot-order cdrom,disk)", "cdrom.image", 0, NULL},
	{"cdrom-empty", 0, OPT_FLAG, NULL, "a CD-ROM drive with no medium (vdc vm cdrom inserts one later)", "cdrom",
	 0, NULL},
	{"ready-port", 0, OPT_INT, "PORT", "a readiness probe: the guest's TCP port that answers when it is ready "
	 "(HA waits for it, and restarts a protected VM whose probe stops answering)", "ready_probe.tcp_port", 0, NULL},
	OPT_READY_TIMES,
	{"affinity", 0, OPT_LIST, "GROUP", "keep it on a host with the other VMs of GROUP",
	 "placement.affinity", 0, NULL},
	{"anti-affinity", 0, OPT_LIST, "GROUP", "keep it off hosts with other VMs of GROUP",
	 "placement.anti_affinity", 0, NULL},
	{"dry-run", 0, OPT_FLAG, NULL, "only ask placement and the checks (quota, access): create nothing", NULL,
	 0, NULL},
	OPT_BODY_FILE,
	OPT_NO_WAIT,
	OPT_END,
};

static const struct opt wait_opts[] = {OPT_NO_WAIT, OPT_END};

static const struct opt delete_opts[] = {
	{"force", 0, OPT_FLAG, NULL, "power a running VM off (no shutdown), then delete it", NULL, 0, NULL},
	OPT_NO_WAIT,
	OPT_END,
};

static const struct opt resize_opts[] = {
	{"vcpus", 0, OPT_INT, "N", "vCPUs (the VM must be stopped)", "vcpus", 0, NULL},
	{"memory-mib", 0, OPT_SIZE, "SIZE", "memory: 768M, 4G (a bare number is MiB; the VM must be "
	 "stopped)", "memory_mib", 0, NULL},
	{"disk-size-mib", 0, OPT_SIZE, "SIZE", "grow the disk to this size: 40G (a bare number is MiB; also "
	 "while running)", "disk_size_mib", 0,
	 NULL},
	{"watchdog", 0, OPT_STR, "MODEL", "the guest watchdog: i6300esb, or none to remove it (the VM must be "
	 "stopped)", "watchdog", 0, NULL},
	{"firmware", 0, OPT_STR, "FW", "bios or uefi (the VM must be stopped)", "firmware", 0, NULL},
	{"boot-order", 0, OPT_STR, "LIST", "disk, cdrom, net, comma-separated, or default (the VM must be stopped)",
	 "boot_order", 0, NULL},
	{"ready-port", 0, OPT_INT, "PORT", "the readiness probe (also while running): the guest's TCP port that answers when it is ready "
	 "(HA waits for it, and restarts a protected VM whose probe stops answering)", "ready_probe.tcp_port", 0, NULL},
	OPT_READY_TIMES,
	{"no-ready-probe", 0, OPT_FLAG, NULL, "remove the readiness probe (also while running)", "ready_probe", 0, NULL},
	OPT_NO_WAIT,
	OPT_END,
};

static const struct opt clone_opts[] = {
	{"start", 0, OPT_FLAG, NULL, "start the clone once made", "start", 0, NULL},
	OPT_NO_WAIT,
	OPT_END,
};

static const struct opt migrate_opts[] = {
	{"host", 0, OPT_STR, "HOST", "move it to this host (default: placement's choice in its cluster)", NULL, 0,
	 NULL},
	{"dry-run", 0, OPT_FLAG, NULL, "only ask placement where it would go and why: move nothing", NULL, 0, NULL},
	{"cold", 0, OPT_FLAG, NULL, "shut it down, move it and start it there (also moves a stopped VM)", NULL, 0,
	 NULL},
	OPT_NO_WAIT,
	OPT_END,
};

static const struct opt move_disk_opts[] = {
	{"disk", 0, OPT_STR, "DISK", "the disk to move (default: root)", NULL, 0, NULL},
	{"bandwidth", 0, OPT_INT, "MIB_S", "copy at most this many MiB/s (the guest's own writes are never held)",
	 NULL, 0, NULL},
	OPT_NO_WAIT,
	OPT_END,
};

static const struct opt set_pool_opts[] = {
	{"root", 0, OPT_FLAG, NULL, "out of every pool: the cluster's root", NULL, 0, NULL},
	{"cpu-reservation", 0, OPT_INT, "PCT", "CPU guaranteed to it, in percent of one CPU (0: none)", NULL, 0, NULL},
	{"mem-reservation", 0, OPT_INT, "MIB", "memory guaranteed to it (0: none)", NULL, 0, NULL},
	OPT_NO_WAIT,
	OPT_END,
};

static const struct opt stop_opts[] = {
	{"timeout", 0, OPT_DURATION, "DURATION", "wait this long for the guest to shut down, then power "
	 "off: 90s, 5m (a bare number is seconds; default 60s)", "timeout_s", OPT_ZERO, NULL},
	OPT_NO_WAIT,
	OPT_END,
};

static const struct opt console_opts[] = {
	{"bytes", 0, OPT_BYTES, "SIZE", "how much of the end of the console to show: 4K, 1M (default 16K)",
	 NULL, 0,
	 NULL},
	{"follow", 'f', OPT_FLAG, NULL, "then print what the guest prints, until Ctrl-C (as tail -f)", NULL, 0,
	 NULL},
	OPT_END,
};

static const struct power p_start = {"start", "started"}, p_stop = {"stop", "stopped"},
                          p_reset = {"reset", "reset"}, p_pause = {"pause", "paused"},
                          p_resume = {"resume", "resumed"}, p_destroy = {"destroy", "powered off"};

#define POWER(verb, p, what, opts) \
	{verb, "NAME", 1, 1, what, opts, power, &p, NULL, NULL}

static int metrics(struct cli *c, const struct args *a) { return cli_metrics(c, "vms", "vm", a); }

static const struct cmd cmds[] = {
	{"list", "", 0, 0, "list them (with their projects when you see several)", list_opts, list, &res,
	 res_check_list, NULL},
	RES_GET(&res),
	{"create", "NAME", 1, 1, "create a VM (placement picks its host) and start it", create_opts, create,
	 &res, NULL,
	 "Prints the placement decision; with -o json, every host's verdict and reason.\n"
	 "--dry-run prints where it would go and why, and creates nothing.\n"
	 "Example:\n  vdc vm create web1 --template debian12 --network frontend --network backend \\\n"
	 "      --anti-affinity web\n"
	 "  vdc vm create web2 --template debian12 --vcpus 8 --dry-run\n"},
	{"delete", "NAME", 1, 1, "delete a VM and its disk", delete_opts, vm_delete, &res, NULL,
	 "A running VM is refused: stop it first, or give --force to power it off.\n"},
	POWER("start", p_start, "power on", wait_opts),
	{"stop", "NAME", 1, 1, "shut down (ACPI), then power off after --timeout", stop_opts, power, &p_stop,
	 NULL, "Says 'powered off (forced: ...)' when the guest did not shut down in time.\n"},
	POWER("reset", p_reset, "hard reset (a running VM only)", wait_opts),
	POWER("pause", p_pause, "freeze its vCPUs", wait_opts),
	POWER("resume", p_resume, "unfreeze its vCPUs", wait_opts),
	POWER("destroy", p_destroy, "power off at once (no shutdown)", wait_opts),
	{"show", "NAME", 1, 1, "one VM for people: state, host, placement's reasons, its last exit", NULL, show,
	 NULL, NULL, "The last exit says why its QEMU last ended: guest_poweroff, guest_reset, guest_panic,\n"
	 "stopped (asked), stopped_forced, signal (with its name), exited, host_failure or unknown.\n"},
	{"console", "NAME", 1, 1, "print the end of its serial console (-f: and follow it)", console_opts,
	 console, NULL, check_console,
	 "Example:\n  vdc vm console web1 --follow      # Ctrl-C stops following (exit 0)\n"},
	{"snapshot", "NAME SNAPNAME", 2, 2, "take a snapshot (of a running VM: with its RAM)", wait_opts, snapshot,
	 NULL, NULL, NULL},
	{"snapshots", "NAME", 1, 1, "list its snapshots", NULL, snapshots, NULL, NULL, NULL},
	{"ha", "NAME", 1, 1, "set its HA restart priority and isolation response (admins)", ha_opts, set_ha, NULL, check_ha,
	 "Example:\n  vdc vm ha db1 --priority high --isolation-response poweroff\n"},
	{"metrics", "NAME", 1, 1, "its recent CPU, memory, disk and network (last, min, mean, max)",
	 cli_metrics_opts, metrics, NULL, NULL,
	 "vdcd keeps an hour of samples from the VM's host, one per heartbeat, and a year consolidated\n"
	 "(a minute for a day, half an hour for a month, a day for a year: average and max).\n"
	 "cpu_demand is what it wanted: its CPU time plus what its CPU limit held back.\n"
	 "Example:\n  vdc vm metrics web1 --since 15m --metric cpu,memory\n"
	 "  vdc vm metrics web1 --since 1y --metric cpu,cpu_demand\n"
	 "  vdc vm metrics web1 -o json      # every point, as the charts draw them\n"},
	{"resize", "NAME", 1, 1, "change vCPUs, memory, the watchdog, firmware or boot order (stopped), the readiness probe, or grow the disk", resize_opts, reshape, NULL,
	 NULL, "Counts against the project's quota.\nExample:\n  vdc vm resize web1 --vcpus 4 --memory-mib 8192\n"
	 "  vdc vm resize web1 --watchdog i6300esb\n"
	 "  vdc vm resize web1 --firmware uefi --boot-order disk,net\n"},
	{"clone", "NAME NEWNAME", 2, 2, "copy a stopped VM (disk and sizes) to a new VM", clone_opts, reshape, NULL,
	 NULL, "The clone is made on the same host, in the same project (its quota applies).\n"},
	{"migrate", "NAME", 1, 1, "move a running VM to another host, live (system administrators)", migrate_opts,
	 migrate, NULL, NULL,
	 "QEMU copies its memory while it runs, then pauses it for the last few pages; the disks stay\n"
	 "on the datastore both hosts share. The strategy (pre-copy or auto-converge) is chosen from the\n"
	 "guest's measured dirty rate; a migration that cannot converge is refused or stopped, naming\n"
	 "the numbers, and the VM keeps running where it was.\n"
	 "Example:\n  vdc vm migrate web1                 # placement picks the host\n"
	 "  vdc vm migrate web1 --host h2 --dry-run\n"},
	{"move-disk", "NAME DATASTORE", 2, 2, "move its disk to another datastore of its host (live when it runs)", move_disk_opts,
	 move_disk, NULL, NULL,
	 "Storage migration: QEMU copies the disk while the guest runs and writes to both copies once\n"
	 "they match, then switches to the new one; the old file is removed. The VM stays on its host.\n"
	 "Cancel the task to stop it before the switch (the disk then stays where it was).\n"
	 "Example:\n  vdc vm move-disk web1 fast-ssd\n"},
	{"disk-add", "NAME DISK", 2, 2, "add a blank disk (hot-plugged when it runs)", vm_disk_add_opts, vm_disk_add_run,
	 NULL, NULL,
	 "Counts against the project's disk quota. A running VM gets it at once, on a PCIe hot-plug port;\n"
	 "one started without a free port gets it at its next start (the change says 'pending').\n"
	 "Example:\n  vdc vm disk-add web1 data --size 10G\n  vdc vm disk-add web1 logs --size 2G --datastore fast-ssd\n"},
	{"disk-remove", "NAME DISK", 2, 2, "remove a disk added to it (the guest releases it first)", vm_disk_remove_opts,
	 vm_disk_remove_run, NULL, NULL,
	 "The guest is asked to release the disk and has 30 s; one that does not keeps it (nothing lost).\n"
	 "Without --delete the file stays as an unused disk: disk-add NAME DISK attaches it again.\n"
	 "Example:\n  vdc vm disk-remove web1 data --delete\n"},
	{"nic-add", "NAME", 1, 1, "add a NIC on a network (hot-plugged when it runs)", vm_nic_add_opts, vm_nic_add_run,
	 NULL, NULL, "Example:\n  vdc vm nic-add web1 --network backend\n"},
	{"nic-remove", "NAME NIC", 2, 2, "remove a NIC added to it (net1, net2...)", vm_nic_remove_opts,
	 vm_nic_remove_run, NULL, NULL, "Example:\n  vdc vm nic-remove web1 net1\n"},
	{"set-pool", "NAME [POOL]", 1, 2, "put it in a resource pool, or change its reservations (admins)",
	 set_pool_opts, set_pool, NULL, check_set_pool,
	 "A running VM is admitted first: its reservations must fit its new pool and its host,\n"
	 "else nothing changes and the refusal names the pool and the numbers. Its host then\n"
	 "moves its QEMU into the pool's cgroup.\n"
	 "Example:\n  vdc vm set-pool web1 prod --mem-reservation 512\n  vdc vm set-pool web1 --root\n"},
	{"cdrom", "NAME insert ISO|eject|remove", 2, 3, "change its CD-ROM: insert an ISO, eject it (also while "
	 "running), or remove the drive (stopped)", wait_opts, cdrom, NULL, NULL,
	 "The ISO is an image of kind iso in the image library (vdc image upload NAME FILE.iso --kind iso).\n"
	 "A stopped VM without a drive gets one when an ISO is inserted.\n"
	 "Example:\n  vdc vm cdrom web1 insert debian-12-netinst\n  vdc vm cdrom web1 eject\n"},
	{"revert", "NAME SNAPNAME", 2, 2, "revert to a snapshot", wait_opts,
	 snapshot_op, NULL, NULL, NULL},
	{"snapshot-delete", "NAME SNAPNAME", 2, 2, "delete a snapshot", wait_opts, snapshot_op, NULL, NULL,
	 NULL},
	{0},
};

const struct family cli_vm = {"vm", "virtual machines", cmds};

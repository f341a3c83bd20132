/* vm_hw.c - 'vdc vm disk-add/disk-remove/nic-add/nic-remove': a VM's
 * hardware edited as on vSphere and Proxmox, live when it runs (hot-plug)
 * or in a stopped VM's spec; a change that waits for the next start says
 * so ("pending"). Each is a task, waited for. */
#include "cli.h"

#include "client.h"
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sends the change and waits for its task; says what came of it. */
static int hw_change(struct cli *c, const struct args *a, const char *method, const char *tail, json_t *body,
                     const char *what)
{
	char path[512], esc[256];
	snprintf(path, sizeof(path), "/api/v1/vms/%s%s", client_escape(a->pos[0], esc, sizeof(esc)), tail);
	json_t *reply = NULL, *final = NULL;
	int rc = cli_call(c, method, path, body, "vm", &reply);
	if (rc)
		return rc;
	const char *id = json_string_value(json_path(reply, "task.id"));
	if (!id || args_flag(a, "no-wait")) {
		rc = task_finish(c, a, reply, NULL);
		json_decref(reply);
		return rc;
	}
	rc = task_wait(c, id, &final);
	if (c->output == OUT_JSON && final)
		out_json(c, final);
	else if (rc == 0 && final) {
		const char *reason = json_string_value(json_path(final, "result.reason"));
		const char *name = json_string_value(json_path(final, "result.nic")) ?: a->npos > 1 ? a->pos[1] : "?";
		if (json_is_true(json_path(final, "result.pending")))
			fprintf(c->out, "vm %s: %s %s pending until its next start%s%s\n", a->pos[0], what, name,
			        reason ? ": " : "", reason ? reason : "");
		else
			fprintf(c->out, "vm %s: %s %s\n", a->pos[0], what, name);
	}
	json_decref(final);
	json_decref(reply);
	return rc;
}

void vm_hw_show(struct cli *c, const json_t *vm)
{
	fprintf(c->out, "%-12sroot %lld MiB on %s\n", "disks", (long long)json_integer_value(json_path(vm, "config.disk_size_mib")),
	        json_string_value(json_path(vm, "config.datastore")) ?: "local");
	size_t i;
	json_t *d;
	json_array_foreach(json_path(vm, "config.extra_disks"), i, d) {
		char *name = text_sanitize(json_string_value(json_object_get(d, "name")) ?: "?");
		char *ds = text_sanitize(json_string_value(json_object_get(d, "datastore")) ?: "?");
		const char *st = json_string_value(json_object_get(d, "state")) ?: "attached";
		fprintf(c->out, "%-12s%s %lld MiB on %s%s%s%s\n", "", name ? name : "?",
		        (long long)json_integer_value(json_object_get(d, "size_mib")), ds ? ds : "?",
		        strcmp(st, "attached") ? " (" : "", strcmp(st, "attached") ? st : "", strcmp(st, "attached") ? ")" : "");
		free(name);
		free(ds);
	}
	json_array_foreach(json_path(vm, "config.extra_nics"), i, d) {
		char *name = text_sanitize(json_string_value(json_object_get(d, "name")) ?: "?");
		char *net = text_sanitize(json_string_value(json_object_get(d, "network")) ?: "?");
		const char *st = json_string_value(json_object_get(d, "state")) ?: "attached";
		fprintf(c->out, "%-12s%s on %s%s%s%s\n", i ? "" : "added nics", name ? name : "?", net ? net : "?",
		        strcmp(st, "attached") ? " (" : "", strcmp(st, "attached") ? st : "", strcmp(st, "attached") ? ")" : "");
		free(name);
		free(net);
	}
}

int vm_disk_add_run(struct cli *c, const struct args *a)
{
	json_t *body = json_pack("{s:s, s:I}", "name", a->pos[1], "size_mib", (json_int_t)args_value(a, "size")->i);
	if (args_str(a, "datastore"))
		json_object_set_new(body, "datastore", json_string(args_str(a, "datastore")));
	int rc = hw_change(c, a, "POST", "/disks", body, "added disk");
	json_decref(body);
	return rc;
}

int vm_disk_remove_run(struct cli *c, const struct args *a)
{
	char tail[256], esc[160];
	snprintf(tail, sizeof(tail), "/disks/%s%s", client_escape(a->pos[1], esc, sizeof(esc)),
	         args_flag(a, "delete") ? "?delete=true" : "");
	return hw_change(c, a, "DELETE", tail, NULL, args_flag(a, "delete") ? "removed and deleted disk"
	                                                                    : "removed (kept as unused) disk");
}

int vm_nic_add_run(struct cli *c, const struct args *a)
{
	json_t *body = json_pack("{s:s}", "network", args_str(a, "network"));
	int rc = hw_change(c, a, "POST", "/nics", body, "added NIC");
	json_decref(body);
	return rc;
}

int vm_nic_remove_run(struct cli *c, const struct args *a)
{
	char tail[256], esc[160];
	snprintf(tail, sizeof(tail), "/nics/%s", client_escape(a->pos[1], esc, sizeof(esc)));
	return hw_change(c, a, "DELETE", tail, NULL, "removed NIC");
}

const struct opt vm_disk_add_opts[] = {
	{"size", 0, OPT_SIZE, "SIZE", "its size: 10G, 512M (a bare number is MiB)", NULL, OPT_REQUIRED, NULL},
	{"datastore", 0, OPT_STR, "DATASTORE", "where its file goes, a datastore of the VM's host (default: the VM's)",
	 NULL, 0, NULL},
	OPT_NO_WAIT,
	OPT_END,
};

const struct opt vm_disk_remove_opts[] = {
	{"delete", 0, OPT_FLAG, NULL, "delete its file too (default: kept as an unused disk, still counted)", NULL, 0,
	 NULL},
	OPT_NO_WAIT,
	OPT_END,
};

const struct opt vm_nic_add_opts[] = {
	{"network", 0, OPT_STR, "NETWORK", "the network it joins (one of the VM's project)", NULL, OPT_REQUIRED, NULL},
	OPT_NO_WAIT,
	OPT_END,
};

const struct opt vm_nic_remove_opts[] = {
	OPT_NO_WAIT,
	OPT_END,
};

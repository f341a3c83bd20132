/* manager_link.c - join and heartbeats, on the agent's loop: a timer builds
 * the heartbeat from the VMs the loop owns and sends it with the loop's own
 * HTTP client, so there is no thread, no lock and no libcurl here. At most
 * one request is in flight; a slow vdcd just means fewer heartbeats. */
#include "manager_link.h"

#include "agent.h"
#include "fsutil.h"
#include "http_client.h"
#include "log.h"
#include "loop.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define HEARTBEAT_MS 5000
#define REQUEST_TIMEOUT_MS 10000

struct link {
	struct agent *a;
	char *agent_token;
	char host_id[64];
	char secret[128];
	int joined;
	struct hc *in_flight; /* the request under way, or NULL */
	struct loop_timer *timer;
	int interval_ms; /* as vdcd asks in its heartbeat replies */
};

static struct link *the_link;

static void on_tick(void *ctx);

static void identity_path(struct agent *a, char *out, size_t n)
{
	snprintf(out, n, "%s/manager.json", a->cfg.state_dir);
}

static void on_join_reply(void *ctx, int status, const char *body)
{
	struct link *l = ctx;
	struct agent *a = l->a;
	l->in_flight = NULL;
	json_t *reply = json_loads(body, 0, NULL);
	const char *hid = json_string_value(json_object_get(json_object_get(reply, "host"), "id"));
	const char *sec = json_string_value(json_object_get(reply, "host_secret"));
	if (status != 201 || !hid || !sec) {
		const char *msg = status ? json_string_value(json_object_get(json_object_get(reply, "error"), "message"))
		                         : body;
		log_error("join_failed", "manager=%s status=%d error=%s", a->cfg.manager_url, status,
		          log_quote(msg ? msg : "vdcd gave no reason"));
		json_decref(reply);
		return;
	}
	snprintf(l->host_id, sizeof(l->host_id), "%s", hid);
	snprintf(l->secret, sizeof(l->secret), "%s", sec);
	json_t *id = json_pack("{s:s, s:s, s:s}", "manager_url", a->cfg.manager_url, "host_id", hid,
	                       "host_secret", sec);
	char *ids = json_dumps(id, JSON_INDENT(2));
	char path[1100];
	identity_path(a, path, sizeof(path));
	if (fs_write_atomic(path, ids, strlen(ids), 0600) < 0)
		log_error("identity_write_failed", "path=%s", path);
	free(ids);
	json_decref(id);
	json_decref(reply);
	l->joined = 1;
	log_info("joined", "manager=%s host_id=%s", a->cfg.manager_url, l->host_id);
	/* Report capacity, datastores and bridges at once: until the first
	 * heartbeat placement knows nothing of this host. */
	if (l->timer)
		loop_timer_cancel(a->loop, l->timer);
	l->timer = loop_timer_after(a->loop, 0, on_tick, l);
}

static void on_heartbeat_reply(void *ctx, int status, const char *body)
{
	struct link *l = ctx;
	l->in_flight = NULL;
	if (status != 200) {
		log_warn("heartbeat_failed", "manager=%s status=%d error=%s", l->a->cfg.manager_url, status,
		         log_quote(status ? "" : body));
		return;
	}
	json_t *reply = json_loads(body, 0, NULL);
	json_int_t s = json_integer_value(json_object_get(reply, "heartbeat_interval_s"));
	if (s >= 1 && s <= 60)
		l->interval_ms = (int)s * 1000;
	json_decref(reply);
}

static json_t *bridges(void)
{
	json_t *arr = json_array();
	DIR *d = opendir("/sys/class/net");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char p[300];
		snprintf(p, sizeof(p), "/sys/class/net/%s/bridge", de->d_name);
		if (de->d_name[0] != '.' && fs_exists(p))
			json_array_append_new(arr, json_string(de->d_name));
	}
	if (d)
		closedir(d);
	return arr;
}

/* What this host observes, as the heartbeat body. */
static char *heartbeat_body(struct agent *a)
{
	json_t *ds = json_array();
	for (int i = 0; i < a->cfg.ndatastores; i++) {
		struct statvfs sv;
		json_int_t total = 0, avail = 0;
		if (statvfs(a->cfg.datastores[i].path, &sv) == 0) {
			total = (json_int_t)sv.f_blocks * (json_int_t)sv.f_frsize;
			avail = (json_int_t)sv.f_bavail * (json_int_t)sv.f_frsize;
		}
		json_array_append_new(ds, json_pack("{s:s, s:s, s:I, s:I}", "name", a->cfg.datastores[i].name,
		                                    "path", a->cfg.datastores[i].path, "total_bytes", total,
		                                    "free_bytes", avail));
	}
	json_t *vms = json_array();
	for (struct vm *vm = a->vms; vm; vm = vm->next)
		json_array_append_new(vms, json_pack("{s:s, s:s, s:s}", "name", vm->spec.name, "uuid",
		                                     vm->spec.uuid, "state", vm_state_name(vm->state)));
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	json_t *b = json_pack("{s:i, s:I, s:s, s:s, s:o, s:o, s:o}", "cpus",
	                      (int)sysconf(_SC_NPROCESSORS_ONLN), "memory_mib",
	                      (json_int_t)((int64_t)pages * psize >> 20), "accel", a->accel,
	                      "qemu_version", a->qemu_version, "datastores", ds, "bridges", bridges(),
	                      "vms", vms);
	char *s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

static void send_join(struct link *l)
{
	struct agent *a = l->a;
	char url[600], self[200];
	snprintf(url, sizeof(url), "%s/api/v1/hosts/join", a->cfg.manager_url);
	snprintf(self, sizeof(self), "http://%s", a->cfg.listen);
	json_t *body = json_pack("{s:s, s:s, s:s, s:s}", "token", a->cfg.join_token, "name",
	                         a->cfg.host_name, "agent_url",
	                         a->cfg.advertise_url[0] ? a->cfg.advertise_url : self, "agent_token",
	                         l->agent_token);
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	l->in_flight = hc_request(a->loop, "POST", url, NULL, s, REQUEST_TIMEOUT_MS, on_join_reply, l);
	if (!l->in_flight)
		log_error("manager_url_invalid", "manager=%s hint=\"use http://HOST:PORT\"", a->cfg.manager_url);
	free(s);
}

static void on_tick(void *ctx)
{
	struct link *l = ctx;
	l->timer = loop_timer_after(l->a->loop, (uint64_t)l->interval_ms, on_tick, l);
	if (l->in_flight)
		return; /* vdcd is slow: skip this beat rather than pile up */
	if (!l->joined) {
		if (l->a->cfg.join_token[0])
			send_join(l);
		return;
	}
	char url[700];
	snprintf(url, sizeof(url), "%s/api/v1/hosts/%s/heartbeat", l->a->cfg.manager_url, l->host_id);
	char *body = heartbeat_body(l->a);
	l->in_flight = hc_request(l->a->loop, "POST", url, l->secret, body, REQUEST_TIMEOUT_MS,
	                          on_heartbeat_reply, l);
	free(body);
}

int manager_link_start(struct agent *a, const char *agent_token)
{
	if (!a->cfg.manager_url[0])
		return 0;
	struct link *l = calloc(1, sizeof(*l));
	if (!l)
		return -1;
	l->a = a;
	l->agent_token = strdup(agent_token);
	l->interval_ms = HEARTBEAT_MS;
	char path[1100];
	identity_path(a, path, sizeof(path));
	json_t *id = json_load_file(path, 0, NULL);
	const char *hid = json_string_value(json_object_get(id, "host_id"));
	const char *sec = json_string_value(json_object_get(id, "host_secret"));
	if (hid && sec) {
		snprintf(l->host_id, sizeof(l->host_id), "%s", hid);
		snprintf(l->secret, sizeof(l->secret), "%s", sec);
		l->joined = 1;
	} else if (!a->cfg.join_token[0]) {
		log_error("join_token_missing", "hint=%s",
		          log_quote("make one on vdcd (POST /api/v1/hosts/join-tokens) and pass --join-token"));
	}
	json_decref(id);
	the_link = l;
	l->timer = loop_timer_after(a->loop, 0, on_tick, l);
	return 0;
}

void manager_link_stop(struct agent *a)
{
	struct link *l = the_link;
	if (!l)
		return;
	if (l->timer)
		loop_timer_cancel(a->loop, l->timer);
	hc_cancel(l->in_flight);
	free(l->agent_token);
	free(l);
	the_link = NULL;
}

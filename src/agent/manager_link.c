/* manager_link.c - join and heartbeats. The loop thread builds each
 * heartbeat (it owns the VMs) and hands the text to a sender thread through
 * a one-slot mailbox; the sender does the blocking HTTP with libcurl, so a
 * slow or absent vdcd never stalls the agent. */
#include "manager_link.h"

#include "agent.h"
#include "fsutil.h"
#include "log.h"
#include "loop.h"

#include <curl/curl.h>
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define HEARTBEAT_MS 5000

struct link {
	struct agent *a;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *mailbox;   /* the latest heartbeat body, or NULL */
	int stopping;
	char *agent_token;
	char host_id[64];
	char secret[128];
	int joined;
};

static struct link *the_link;

struct buf {
	char *p;
	size_t len;
};

static size_t on_data(char *d, size_t s, size_t n, void *ctx)
{
	struct buf *b = ctx;
	if (b->len + s * n > 65536)
		return 0;
	char *np = realloc(b->p, b->len + s * n + 1);
	if (!np)
		return 0;
	memcpy(np + b->len, d, s * n);
	b->p = np;
	b->len += s * n;
	b->p[b->len] = '\0';
	return s * n;
}

/* POSTs body to vdcd; returns the HTTP status (0 on transport failure). */
static long post(const char *url, const char *bearer, const char *body, json_t **reply)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char auth[256];
	if (bearer) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
		h = curl_slist_append(h, auth);
	}
	struct buf b = {0};
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	long status = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (reply)
		*reply = b.p ? json_loads(b.p, 0, NULL) : NULL;
	free(b.p);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

static void identity_path(struct agent *a, char *out, size_t n)
{
	snprintf(out, n, "%s/manager.json", a->cfg.state_dir);
}

static int join(struct link *l)
{
	struct agent *a = l->a;
	char url[600], self[200];
	snprintf(url, sizeof(url), "%s/api/v1/hosts/join", a->cfg.manager_url);
	snprintf(self, sizeof(self), "http://%s", a->cfg.listen);
	json_t *body = json_pack("{s:s, s:s, s:s, s:s}", "token", a->cfg.join_token, "name",
	                         a->cfg.host_name, "agent_url", a->cfg.advertise_url[0] ? a->cfg.advertise_url : self,
	                         "agent_token", l->agent_token);
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	json_t *reply = NULL;
	long st = post(url, NULL, s, &reply);
	free(s);
	const char *hid = json_string_value(json_object_get(json_object_get(reply, "host"), "id"));
	const char *sec = json_string_value(json_object_get(reply, "host_secret"));
	if (st != 201 || !hid || !sec) {
		log_error("join_failed", "manager=%s status=%ld error=%s", a->cfg.manager_url, st,
		          log_quote(json_string_value(json_object_get(json_object_get(reply, "error"), "message"))
		                        ?: "vdcd did not answer"));
		json_decref(reply);
		return -1;
	}
	snprintf(l->host_id, sizeof(l->host_id), "%s", hid);
	snprintf(l->secret, sizeof(l->secret), "%s", sec);
	json_t *id = json_pack("{s:s, s:s, s:s}", "manager_url", a->cfg.manager_url, "host_id", hid,
	                       "host_secret", sec);
	char *ids = json_dumps(id, JSON_INDENT(2));
	char path[1100];
	identity_path(a, path, sizeof(path));
	fs_write_atomic(path, ids, strlen(ids), 0600);
	free(ids);
	json_decref(id);
	json_decref(reply);
	l->joined = 1;
	log_info("joined", "manager=%s host_id=%s", a->cfg.manager_url, l->host_id);
	return 0;
}

static void *sender(void *arg)
{
	struct link *l = arg;
	for (;;) {
		pthread_mutex_lock(&l->lock);
		while (!l->mailbox && !l->stopping)
			pthread_cond_wait(&l->cond, &l->lock);
		char *body = l->mailbox;
		l->mailbox = NULL;
		int stop = l->stopping;
		pthread_mutex_unlock(&l->lock);
		if (stop) {
			free(body);
			break;
		}
		if (!l->joined && join(l) < 0) {
			free(body);
			continue; /* try again with the next heartbeat */
		}
		char url[700];
		snprintf(url, sizeof(url), "%s/api/v1/hosts/%s/heartbeat", l->a->cfg.manager_url, l->host_id);
		long st = post(url, l->secret, body, NULL);
		if (st != 200)
			log_warn("heartbeat_failed", "manager=%s status=%ld", l->a->cfg.manager_url, st);
		free(body);
	}
	return NULL;
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

/* On the loop thread: what this host observes, as the heartbeat body. */
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

static void on_tick(void *ctx);
static void schedule(struct link *l, uint64_t ms) { loop_timer_after(l->a->loop, ms, on_tick, l); }

static void on_tick(void *ctx)
{
	struct link *l = ctx;
	char *body = heartbeat_body(l->a);
	pthread_mutex_lock(&l->lock);
	free(l->mailbox); /* an unsent older heartbeat is stale: replace it */
	l->mailbox = body;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	schedule(l, HEARTBEAT_MS);
}

int manager_link_start(struct agent *a, const char *agent_token)
{
	if (!a->cfg.manager_url[0])
		return 0;
	struct link *l = calloc(1, sizeof(*l));
	l->a = a;
	l->agent_token = strdup(agent_token);
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
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
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (pthread_create(&l->thread, NULL, sender, l) != 0) {
		free(l->agent_token);
		free(l);
		return -1;
	}
	the_link = l;
	schedule(l, 0);
	return 0;
}

void manager_link_stop(struct agent *a)
{
	struct link *l = the_link;
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->stopping = 1;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	free(l->mailbox);
	free(l->agent_token);
	free(l);
	the_link = NULL;
	curl_global_cleanup();
}

/* manager_link.c - join and heartbeats, on the agent's loop: a timer builds
 * the heartbeat from the VMs the loop owns and sends it with the loop's own
 * HTTP client, so there is no thread, no lock and no libcurl here. At most
 * one request is in flight; a slow vdcd just means fewer heartbeats.
 *
 * Over https the join trusts vdcd only through the CA fingerprint the
 * operator passes (printed with the join token): the join POST, which
 * carries the token, is sent only after vdcd's chain checked out against
 * it. The join's reply brings this host's certificate; from then on every
 * heartbeat goes over mutual TLS with the pinned CA as the only anchor.
 *
 * A vdcd with an agents' listener (--agent-listen) names it in its join and
 * heartbeat replies (heartbeat_url); heartbeats then go there, and back to
 * the manager URL for a while whenever that listener fails.
 *
 * A vdcd that keeps charts says so in its heartbeat replies ("samples":
 * true); from then on each heartbeat carries a sample of the host and its
 * running VMs (samples.c), gathered just before it is sent. An older vdcd
 * is never sent a key it would refuse. */
#include "manager_link.h"

#include "agent.h"
#include "samples.h"
#include "fsutil.h"
#include "http_client.h"
#include "log.h"
#include "loop.h"
#include "tls.h"
#include "url.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define HEARTBEAT_MS 5000
#define REQUEST_TIMEOUT_MS 10000
#define FALLBACK_MS 60000 /* heartbeats to the manager URL after the agents' listener failed */

struct link {
	struct agent *a;
	struct tls_client *tc; /* NULL: plain HTTP to a vdcd on loopback */
	char *key_pem, *csr_pem; /* made for the join over https */
	char host_id[64];
	char secret[128];
	int joined;
	struct hc *in_flight; /* the request under way, or NULL */
	struct loop_timer *timer;
	bool beat_again; /* news came while a beat was under way */
	int interval_ms; /* as vdcd asks in its heartbeat replies */
	char hb_url[256]; /* vdcd's agents' listener, or "" */
	int beat_to_hb;   /* the request in flight went to hb_url */
	uint64_t fallback_until_ms;
	bool want_samples;  /* vdcd asked for samples in a heartbeat reply */
	bool gathering;     /* a sample is being gathered for the next beat */
	struct samples_gather *gather;
};

static struct link *the_link;

static void on_tick(void *ctx);
/* A beat asked for by news (a probe's verdict): soon, several coalesced. */
#define BEAT_SOON_MS 100

static void identity_path(struct agent *a, char *out, size_t n)
{
	snprintf(out, n, "%s/manager.json", a->cfg.state_dir);
}

/* Keeps the certificate of a join's reply, after checking it is for our
 * key, and switches the link to mutual TLS. Returns 0 or -1 (logged). */
static int save_certificate(struct link *l, json_t *reply)
{
	struct agent *a = l->a;
	const char *cert = json_string_value(json_object_get(reply, "certificate"));
	const char *ca = json_string_value(json_object_get(reply, "ca_certificate"));
	const char *anchor = tls_client_anchor(l->tc);
	char err[600];
	if (!cert || !ca || !anchor || tls_key_matches(cert, l->key_pem) != 1 ||
	    tls_cert_count(ca) < 1) {
		log_error("join_certificate_bad", "manager=%s hint=%s", a->cfg.manager_url,
		          log_quote("vdcd's reply had no usable certificate for this host's key; is vdcd "
		                    "older than this agent?"));
		return -1;
	}
	char *key = l->key_pem;
	l->key_pem = NULL;
	if (agent_tls_save(a, key, strdup(cert), strdup(ca), strdup(anchor), err, sizeof(err)) < 0) {
		log_error("tls_write_failed", "error=%s", log_quote(err));
		return -1;
	}
	struct tls_client *tc = tls_client_new(a->tls.cert, a->tls.key, a->tls.manager_ca, NULL, err,
	                                       sizeof(err));
	if (!tc) {
		log_error("tls_client_failed", "error=%s", log_quote(err));
		return -1;
	}
	tls_client_free(l->tc);
	l->tc = tc;
	char fp[TLS_FP_LEN] = "";
	tls_fingerprint_pem(a->tls.cert, fp);
	log_info("certificate_saved", "dir=%s/tls fingerprint=%s", a->cfg.state_dir, fp);
	return 0;
}

/* Keeps what identifies this host to vdcd (and where to beat) in
 * STATE/manager.json. */
static void save_identity(struct link *l)
{
	struct agent *a = l->a;
	json_t *id = json_pack("{s:s, s:s, s:s}", "manager_url", a->cfg.manager_url, "host_id",
	                       l->host_id, "host_secret", l->secret);
	if (l->hb_url[0])
		json_object_set_new(id, "heartbeat_url", json_string(l->hb_url));
	char *ids = json_dumps(id, JSON_INDENT(2));
	char path[1100];
	identity_path(a, path, sizeof(path));
	if (!ids || fs_write_atomic(path, ids, strlen(ids), 0600) < 0)
		log_error("identity_write_failed", "path=%s", path);
	if (ids)
		explicit_bzero(ids, strlen(ids));
	free(ids);
	json_decref(id);
}

/* Takes vdcd's heartbeat_url (NULL: none) when it is a URL this link may
 * use: https like the manager URL (the same pinned CA vouches for it), or
 * plain http only on loopback. Returns 1 when it changed. */
static int take_heartbeat_url(struct link *l, const char *url)
{
	struct url u;
	if (url && (url_parse(url, &u) < 0 || strlen(url) >= sizeof(l->hb_url) ||
	            (l->tc ? strcmp(u.scheme, "https") != 0
	                   : !url_host_is_loopback(u.host)))) {
		log_warn("heartbeat_url_ignored", "url=%s hint=%s", log_quote(url),
		         log_quote("vdcd named an agents' listener this agent cannot use; heartbeats "
		                   "stay on the manager URL"));
		url = NULL;
	}
	if (!strcmp(l->hb_url, url ? url : ""))
		return 0;
	snprintf(l->hb_url, sizeof(l->hb_url), "%s", url ? url : "");
	log_info("heartbeat_url", "url=%s", l->hb_url[0] ? l->hb_url : l->a->cfg.manager_url);
	return 1;
}

static void on_join_reply(void *ctx, int status, const char *body)
{
	struct link *l = ctx;
	struct agent *a = l->a;
	l->in_flight = NULL;
	json_t *reply = json_loads(body, 0, NULL);
	const char *hid = json_string_value(json_object_get(json_object_get(reply, "host"), "id"));
	const char *sec = json_string_value(json_object_get(reply, "host_secret"));
	const char *pin = NULL, *presented = l->tc ? tls_client_mismatch(l->tc, &pin) : NULL;
	if (status == 0 && presented) {
		/* Split out, so both fingerprints show in full. */
		log_error("join_refused", "reason=manager_ca_mismatch manager_ca=%s pinned=%s hint=%s",
		          presented, pin,
		          log_quote("the manager's CA does not match --manager-ca-fingerprint: check the "
		                    "fingerprint printed with the join token; the token was not sent"));
	} else if (status != 201 || !hid || !sec) {
		const char *msg = status ? json_string_value(json_object_get(json_object_get(reply, "error"), "message"))
		                         : body;
		log_error("join_failed", "manager=%s status=%d error=%s", a->cfg.manager_url, status,
		          log_quote(msg ? msg : "vdcd gave no reason"));
	}
	if (status != 201 || !hid || !sec) {
		json_decref(reply);
		return;
	}
	if (l->tc && save_certificate(l, reply) < 0) {
		json_decref(reply);
		return; /* logged; the host is in vdcd but must join again */
	}
	snprintf(l->host_id, sizeof(l->host_id), "%s", hid);
	snprintf(l->secret, sizeof(l->secret), "%s", sec);
	take_heartbeat_url(l, json_string_value(json_object_get(reply, "heartbeat_url")));
	save_identity(l);
	json_decref(reply);
	l->joined = 1;
	log_info("joined", "manager=%s host_id=%s tls=%s", a->cfg.manager_url, l->host_id,
	         l->tc ? "mutual" : "off");
	if (a->awaiting_join) {
		a->awaiting_join = false;
		if (agent_serve(a) < 0) {
			a->exit_code = 1;
			loop_stop(a->loop);
			return;
		}
	}
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
		json_t *r = status ? json_loads(body, 0, NULL) : NULL;
		const char *msg = status ? json_string_value(json_object_get(json_object_get(r, "error"), "message"))
		                         : body;
		log_warn("heartbeat_failed", "manager=%s status=%d error=%s",
		         l->beat_to_hb ? l->hb_url : l->a->cfg.manager_url, status,
		         log_quote(msg ? msg : ""));
		json_decref(r);
		if (l->beat_to_hb) /* the manager URL is still accepted: beat there a while */
			l->fallback_until_ms = loop_now_ms() + FALLBACK_MS;
		return;
	}
	json_t *reply = json_loads(body, 0, NULL);
	if (take_heartbeat_url(l, json_string_value(json_object_get(reply, "heartbeat_url"))))
		save_identity(l);
	l->want_samples = json_is_true(json_object_get(reply, "samples"));
	if (json_is_object(json_object_get(reply, "ready_probes")))
		vm_ready_set_probes(l->a, json_object_get(reply, "ready_probes"));
	if (l->beat_again) {
		l->beat_again = false;
		manager_link_beat_soon();
	}
	json_int_t s = json_integer_value(json_object_get(reply, "heartbeat_interval_s"));
	if (s >= 1 && s <= 60 && l->interval_ms != (int)s * 1000) {
		/* The next beat at the new pace, not after the old interval. */
		l->interval_ms = (int)s * 1000;
		if (l->timer)
			loop_timer_cancel(l->a->loop, l->timer);
		l->timer = loop_timer_after(l->a->loop, (uint64_t)l->interval_ms, on_tick, l);
	}
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

/* What this host observes, as the heartbeat body; sample (NULL: none) as
 * samples.c gathered it. */
static char *heartbeat_body(struct agent *a, json_t *sample)
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
	json_t *vm_samples = json_object_get(sample, "vms");
	for (struct vm *vm = a->vms; vm; vm = vm->next) {
		json_t *v = json_pack("{s:s, s:s, s:s, s:I}", "name", vm->spec.name, "uuid", vm->spec.uuid,
		                      "state", vm_state_name(vm->state), "state_seq", (json_int_t)vm->state_seq);
		json_t *vs = json_object_get(vm_samples, vm->spec.name);
		if (v && vs)
			json_object_set(v, "sample", vs);
		/* Why QEMU last ended: vdcd keeps the newest on the VM's page. */
		if (v && vm->last_exit)
			json_object_set(v, "last_exit", vm->last_exit);
		json_t *ready = v ? vm_ready_json(vm) : NULL;
		if (ready) /* its readiness probe's word (vm_ready.c) */
			json_object_set_new(v, "ready", ready);
		if (v) /* its guest agent's word (vm_guest.c) */
			json_object_set_new(v, "guest", vm_guest_json(vm));
		json_array_append_new(vms, v);
	}
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	json_t *b = json_pack("{s:i, s:I, s:s, s:s, s:o, s:o, s:o}", "cpus",
	                      (int)sysconf(_SC_NPROCESSORS_ONLN), "memory_mib",
	                      (json_int_t)((int64_t)pages * psize >> 20), "accel", a->accel,
	                      "qemu_version", a->qemu_version, "datastores", ds, "bridges", bridges(),
	                      "vms", vms);
	json_object_set_new(b, "state_seq", json_integer((json_int_t)vm_state_seq_now()));
	json_object_set(b, "cpu_models", a->cpu_models);
	if (json_object_get(sample, "host"))
		json_object_set(b, "sample", json_object_get(sample, "host"));
	char *s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

static void send_join(struct link *l)
{
	struct agent *a = l->a;
	char url[600], self[200];
	snprintf(url, sizeof(url), "%s/api/v1/hosts/join", a->cfg.manager_url);
	snprintf(self, sizeof(self), "%s://%s", l->tc ? "https" : "http", a->cfg.listen);
	json_t *body = json_pack("{s:s, s:s, s:s, s:s}", "token", a->cfg.join_token, "name",
	                         a->cfg.host_name, "agent_url",
	                         a->cfg.advertise_url[0] ? a->cfg.advertise_url : self, "agent_token",
	                         a->token);
	if (l->csr_pem)
		json_object_set_new(body, "csr", json_string(l->csr_pem));
	/* vdcd refuses a host that cannot offer its cluster's CPU baseline. */
	json_object_set(body, "cpu_models", a->cpu_models);
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	l->in_flight = hc_request(a->loop, "POST", url, l->tc, NULL, s, REQUEST_TIMEOUT_MS,
	                          on_join_reply, l);
	if (!l->in_flight)
		log_error("manager_unreachable", "manager=%s hint=%s", a->cfg.manager_url,
		          log_quote("use https://HOST:PORT with a numeric or resolvable host"));
	explicit_bzero(s, strlen(s)); /* it held the join token */
	free(s);
}

static void send_heartbeat(struct link *l, json_t *sample)
{
	char url[700];
	l->beat_to_hb = l->hb_url[0] && loop_now_ms() >= l->fallback_until_ms;
	snprintf(url, sizeof(url), "%s/api/v1/hosts/%s/heartbeat",
	         l->beat_to_hb ? l->hb_url : l->a->cfg.manager_url, l->host_id);
	char *body = heartbeat_body(l->a, sample);
	l->in_flight = hc_request(l->a->loop, "POST", url, l->tc, l->secret, body, REQUEST_TIMEOUT_MS,
	                          on_heartbeat_reply, l);
	free(body);
}

const char *manager_link_host_id(void)
{
	return the_link && the_link->joined && the_link->host_id[0] ? the_link->host_id : NULL;
}

struct hc *manager_link_post(const char *path, const char *body, int timeout_ms,
                             void (*done)(void *ctx, int status, const char *body), void *ctx)
{
	struct link *l = the_link;
	if (!manager_link_host_id())
		return NULL;
	char url[700];
	bool to_hb = l->hb_url[0] && loop_now_ms() >= l->fallback_until_ms;
	snprintf(url, sizeof(url), "%s/api/v1/hosts/%s/%s", to_hb ? l->hb_url : l->a->cfg.manager_url, l->host_id,
	         path);
	return hc_request(l->a->loop, "POST", url, l->tc, l->secret, body, timeout_ms, done, ctx);
}

static void on_samples(void *ctx, json_t *sample)
{
	struct link *l = ctx;
	l->gathering = false;
	l->gather = NULL;
	send_heartbeat(l, sample); /* without one when memory ran out: liveness first */
	json_decref(sample);
}

static void on_tick(void *ctx)
{
	struct link *l = ctx;
	l->timer = loop_timer_after(l->a->loop, (uint64_t)l->interval_ms, on_tick, l);
	if (l->in_flight || l->gathering)
		return; /* vdcd or a QEMU is slow: skip this beat rather than pile up */
	if (!l->joined) {
		if (l->a->cfg.join_token[0])
			send_join(l);
		return;
	}
	if (!l->want_samples) {
		send_heartbeat(l, NULL);
		return;
	}
	l->gathering = true;
	struct samples_gather *g = samples_gather(l->a, on_samples, l);
	if (l->gathering) /* not done at once */
		l->gather = g;
}

void manager_link_beat_soon(void)
{
	struct link *l = the_link;
	if (!l || !l->joined || !l->timer)
		return;
	if (l->in_flight || l->gathering) { /* that beat may be older than the news */
		l->beat_again = true;
		return;
	}
	loop_timer_cancel(l->a->loop, l->timer);
	l->timer = loop_timer_after(l->a->loop, BEAT_SOON_MS, on_tick, l);
}

/* Sets up how the link trusts vdcd: the saved CA once joined, the pinned
 * fingerprint for the join. Returns 0 or -1 (logged). */
static int link_tls(struct link *l, const struct url *u)
{
	struct agent *a = l->a;
	char err[600];
	if (strcmp(u->scheme, "https") != 0) {
		if (url_host_is_loopback(u->host))
			return 0;
		log_error("plain_http_refused", "manager=%s hint=%s", a->cfg.manager_url,
		          log_quote("vdcd is reached over https (with --manager-ca-fingerprint); plain "
		                    "http is only for a vdcd on this host's loopback"));
		return -1;
	}
	if (!strncmp(a->cfg.advertise_url, "http://", 7)) {
		log_error("advertise_url_plain", "advertise_url=%s hint=%s", a->cfg.advertise_url,
		          log_quote("an agent joined over https serves only HTTPS: give https://..."));
		return -1;
	}
	if (l->joined) {
		if (!a->tls.cert) {
			log_error("joined_without_certificate", "manager=%s hint=%s", a->cfg.manager_url,
			          log_quote("this host joined vdcd over plain http; to use https remove "
			                    "STATE/manager.json, delete the host in vdcd and join again"));
			return -1;
		}
		l->tc = tls_client_new(a->tls.cert, a->tls.key, a->tls.manager_ca, NULL, err, sizeof(err));
	} else {
		if (!a->cfg.manager_ca_fp[0]) {
			log_error("manager_ca_fingerprint_missing", "manager=%s hint=%s", a->cfg.manager_url,
			          log_quote("pass --manager-ca-fingerprint sha256:... as printed with the join "
			                    "token (GET /api/v1/ca on vdcd shows it too)"));
			return -1;
		}
		l->tc = tls_client_new(NULL, NULL, NULL, a->cfg.manager_ca_fp, err, sizeof(err));
		if (l->tc && tls_make_key_csr(a->cfg.host_name, &l->key_pem, &l->csr_pem, err,
		                              sizeof(err)) < 0) {
			log_error("tls_key_failed", "error=%s", log_quote(err));
			return -1;
		}
		a->awaiting_join = a->cfg.join_token[0] != '\0';
	}
	if (!l->tc) {
		log_error("tls_client_failed", "error=%s", log_quote(err));
		return -1;
	}
	return 0;
}

static void link_free(struct link *l)
{
	tls_client_free(l->tc);
	tls_free_secret(l->key_pem);
	free(l->csr_pem);
	explicit_bzero(l->secret, sizeof(l->secret));
	free(l);
}

int manager_link_start(struct agent *a)
{
	if (!a->cfg.manager_url[0])
		return 0;
	struct url u;
	if (url_parse(a->cfg.manager_url, &u) < 0) {
		log_error("manager_url_invalid", "manager=%s hint=%s", a->cfg.manager_url,
		          log_quote("give https://HOST:PORT"));
		return -1;
	}
	struct link *l = calloc(1, sizeof(*l));
	if (!l)
		return -1;
	l->a = a;
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
	char saved_hb[256];
	snprintf(saved_hb, sizeof(saved_hb), "%s",
	         json_string_value(json_object_get(id, "heartbeat_url")) ?: "");
	json_decref(id);
	if (link_tls(l, &u) < 0) {
		link_free(l);
		return -1;
	}
	if (l->joined && saved_hb[0])
		take_heartbeat_url(l, saved_hb);
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
	samples_cancel(l->gather);
	link_free(l);
	the_link = NULL;
}

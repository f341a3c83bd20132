/* api_hosts.c - how hosts enter and stay in the inventory: an admin makes a
 * one-time join token, the agent joins with it and gets a host secret (and,
 * when vdcd uses TLS, a certificate of vdcd's CA), then heartbeats with
 * what it observes over mutual TLS; the controllers in ctl/ reconcile VM
 * states from that and mark silent hosts disconnected.
 * Removing a host revokes its secret and its certificate. */
#include "api.h"
#include "ha_ready.h"
#include "heartbeat_vms.h"
#include "ha.h"

#include "charts.h"

#include "controllers.h"
#include "env_vdcd.h"
#include "evacuation.h"
#include "host_power.h"
#include "log.h"
#include "pki.h"
#include "resources.h"
#include "task_ops.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JOIN_TTL_DEFAULT_S 3600

void api_hosts_join_token(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *body = http_body_json(req, 1);
	if (!body)
		return;
	static const char *const keys[] = {"cluster", "ttl_s", NULL};
	struct jv_err jerr = {0};
	const char *cluster = NULL;
	int64_t ttl = JOIN_TTL_DEFAULT_S;
	if (jv_only_keys(body, "", keys, &jerr) < 0 ||
	    jv_string(body, "", "cluster", true, 63, &cluster, &jerr) < 0 ||
	    jv_int(body, "", "ttl_s", false, 60, 7 * 86400, &ttl, &jerr) < 0) {
		json_decref(body);
		mgr_reply_jv(req, &jerr);
		return;
	}
	struct errinfo e = {0};
	json_t *c = store_get(m->st, STORE_CLUSTER, cluster, &e);
	if (!c) {
		if (e.status == 404)
			http_reply_error(req, 400, "invalid_request", "cluster",
			                 "cluster: no cluster '%s'; create it first (POST /api/v1/clusters)", cluster);
		else
			mgr_reply_err(req, &e);
		json_decref(body); /* cluster points into it */
		return;
	}
	json_decref(body);
	char token[64], hash[65], doc[128];
	mgr_secret("vdcj_", token, sizeof(token));
	mgr_sha256_hex(token, hash);
	const char *cid = json_string_value(json_object_get(c, "id"));
	snprintf(doc, sizeof(doc), "{\"cluster_id\":\"%s\"}", cid);
	int64_t exp = (int64_t)time(NULL) + ttl;
	if (store_secret_add(m->st, "join", hash, exp, doc, &e) < 0) {
		json_decref(c);
		mgr_reply_err(req, &e);
		return;
	}
	mgr_event(m, mgr_actor(req), "join_token.create", "cluster", cid, "succeeded", NULL);
	/* The token is shown once: only its hash is kept. The CA fingerprint
	 * goes with it: the agent pins vdcd's CA by it before sending it. */
	char exp_at[32];
	mgr_iso_time(exp, exp_at);
	json_t *reply = json_pack("{s:s, s:s, s:s}", "token", token, "cluster_id", cid, "expires_at", exp_at);
	if (m->tls)
		json_object_set_new(reply, "ca_fingerprint", json_string(m->tls->ca_fingerprint));
	http_reply_json(req, 201, reply);
	explicit_bzero(token, sizeof(token));
	json_decref(c);
}

/* With TLS a joining agent sends a CSR and is reached over https; its
 * certificate names its host id (CN) and the host of its URL. */
static int join_certificate(struct mgr *m, const json_t *j, const char *id, char **cert,
                            char fp[TLS_FP_LEN], char serial[33], struct errinfo *e)
{
	const char *csr = json_string_value(json_object_get(j, "csr"));
	const char *url = json_string_value(json_object_get(j, "agent_url"));
	if (!csr)
		return errinfo_set(e, 400, "invalid_request", "csr",
		                   "csr: vdcd uses TLS, so the join must carry the agent's certificate "
		                   "request; run an agent of this version with --manager-ca-fingerprint");
	if (strncmp(url, "https://", 8) != 0)
		return errinfo_set(e, 400, "invalid_request", "agent_url",
		                   "agent_url: must be https:// (the agent serves HTTPS with the "
		                   "certificate of its join), not '%s'", url);
	return pki_issue_host(m, id, url, csr, cert, fp, serial, e);
}

/* A host joining a cluster with a CPU baseline must offer it: its VMs
 * would not start, and none could move to it. */
static int join_cpu_check(struct mgr *m, const char *cluster_id, const char *name, const json_t *models,
                          struct errinfo *e)
{
	json_t *c = store_get(m->st, STORE_CLUSTER, cluster_id ?: "", &(struct errinfo){0});
	const char *base = json_string_value(json_object_get(c, "cpu_baseline"));
	int rc = 0;
	if (base && !cpu_models_offer(models, base))
		rc = errinfo_set(e, 409, "cpu_baseline_unsupported", "cpu_models",
		                 "host %s cannot offer cluster %s's CPU baseline '%s' (its QEMU lists %zu models%s): "
		                 "join another cluster, or change the baseline to a model every host offers", name,
		                 json_string_value(json_object_get(c, "name")) ?: "?", base, json_array_size(models),
		                 models ? "" : "; an agent older than CPU baselines lists none");
	json_decref(c);
	return rc;
}

void api_hosts_join(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	struct jv_err jerr = {0};
	json_t *j = resource_parse_join(body, &jerr);
	json_decref(body);
	if (!j) {
		mgr_reply_jv(req, &jerr);
		return;
	}
	struct errinfo e = {0};
	const char *name = json_string_value(json_object_get(j, "name"));
	char hash[65], id[37], secret[64], shash[65], now[32];
	mgr_sha256_hex(json_string_value(json_object_get(j, "token")), hash);
	mgr_uuid(id);
	mgr_secret("vdch_", secret, sizeof(secret));
	mgr_sha256_hex(secret, shash);
	mgr_now_iso(now);
	json_t *host = NULL, *stored = NULL;
	char *grant = NULL, *cert = NULL;
	char fp[TLS_FP_LEN] = "", serial[33] = "";
	if (store_begin(m->st, &e) < 0)
		goto fail;
	/* Name first, so a taken name does not burn the one-time token. */
	json_t *exists = store_get(m->st, STORE_HOST, name, &(struct errinfo){0});
	if (exists) {
		json_decref(exists);
		errinfo_set(&e, 409, "name_taken", "name", "a host named '%s' is already joined", name);
		goto fail;
	}
	grant = store_secret_take(m->st, "join", hash, true, (int64_t)time(NULL), &e);
	if (!grant) {
		e = (struct errinfo){0};
		errinfo_set(&e, 401, "invalid_join_token", "token",
		            "the join token is unknown, used or expired; make a new one with "
		            "POST /api/v1/hosts/join-tokens");
		goto fail;
	}
	json_t *g = json_loads(grant, 0, NULL);
	/* A bad CSR, URL or CPU fails here, and the rollback gives the token back. */
	if (join_cpu_check(m, json_string_value(json_object_get(g, "cluster_id")), name,
	                   json_object_get(j, "cpu_models"), &e) < 0 ||
	    (m->tls && join_certificate(m, j, id, &cert, fp, serial, &e) < 0)) {
		json_decref(g);
		goto fail;
	}
	host = json_pack("{s:s, s:s, s:O, s:s, s:s, s:b, s:s, s:I}", "id", id, "name", name,
	                 "cluster_id", json_object_get(g, "cluster_id"), "state", "connected",
	                 "agent_url", json_string_value(json_object_get(j, "agent_url")), "maintenance",
	                 0, "last_heartbeat", now, "last_heartbeat_epoch", (json_int_t)time(NULL));
	json_decref(g);
	if (json_object_get(j, "cpu_models"))
		json_object_set(host, "cpu_models", json_object_get(j, "cpu_models"));
	if (cert) {
		json_object_set_new(host, "cert_fingerprint", json_string(fp));
		json_object_set_new(host, "cert_serial", json_string(serial));
	}
	char agent_doc[512];
	/* The host secret's hash rides along, so removing the host can revoke it. */
	json_t *ad = json_pack("{s:s, s:s}", "agent_token", json_string_value(json_object_get(j, "agent_token")),
	                       "host_secret_hash", shash);
	char *ads = json_dumps(ad, JSON_COMPACT);
	snprintf(agent_doc, sizeof(agent_doc), "%s", ads);
	free(ads);
	json_decref(ad);
	char hostdoc[128], agent_key[65];
	snprintf(hostdoc, sizeof(hostdoc), "{\"host_id\":\"%s\"}", id);
	mgr_sha256_hex(id, agent_key); /* the agent's credentials, keyed by its host */
	if (store_create(m->st, STORE_HOST, host, &stored, &e) < 0 ||
	    store_secret_add(m->st, "host", shash, 0, hostdoc, &e) < 0 ||
	    store_secret_add(m->st, "agent", agent_key, 0, agent_doc, &e) < 0 || store_commit(m->st, &e) < 0)
		goto fail;
	mgr_event(m, name, "host.join", "host", id, "succeeded", cert ? fp : NULL);
	json_t *reply = json_pack("{s:o, s:s}", "host", stored, "host_secret", secret);
	if (m->cfg.heartbeat_url[0]) /* --agent-listen: beat there */
		json_object_set_new(reply, "heartbeat_url", json_string(m->cfg.heartbeat_url));
	if (cert) {
		json_object_set_new(reply, "certificate", json_string(cert));
		json_object_set_new(reply, "ca_certificate", json_string(m->tls->ca));
	}
	http_reply_json(req, 201, reply);
	explicit_bzero(secret, sizeof(secret));
	json_decref(host);
	json_decref(j);
	free(grant);
	free(cert);
	return;
fail:
	store_rollback(m->st);
	mgr_event(m, name ? name : "?", "host.join", "host", id, "failed", e.message);
	mgr_reply_err(req, &e);
	json_decref(host);
	json_decref(stored);
	json_decref(j);
	free(grant);
	free(cert);
}

/* The host a heartbeat's bearer secret belongs to, if it is the one named. */
static json_t *heartbeat_host(struct mgr *m, struct http_req *req, struct errinfo *e)
{
	const char *auth = NULL;
	(void)auth;
	const char *bearer = http_bearer(req);
	if (!bearer) {
		errinfo_set(e, 401, "unauthorized", NULL, "send the host secret as a bearer token");
		return NULL;
	}
	char h[65];
	mgr_sha256_hex(bearer, h);
	char *grant = store_secret_take(m->st, "host", h, false, (int64_t)time(NULL), e);
	if (!grant) {
		*e = (struct errinfo){0};
		errinfo_set(e, 401, "unauthorized", NULL, "unknown host secret; join the host again");
		return NULL;
	}
	json_t *g = json_loads(grant, 0, NULL);
	free(grant);
	const char *hid = json_string_value(json_object_get(g, "host_id"));
	json_t *host = NULL;
	if (hid && !strcmp(hid, http_param(req, "id")))
		host = store_get(m->st, STORE_HOST, hid, e);
	else
		errinfo_set(e, 403, "forbidden", NULL, "this secret belongs to another host");
	json_decref(g);
	return host;
}

/* An audit event for a refused heartbeat, at most one a minute per
 * certificate: a refused agent keeps retrying every few seconds. Loop
 * thread only. */
static void heartbeat_refused(struct mgr *m, const char *cn, const char *fp, const char *id,
                              const char *why)
{
	static char last_fp[TLS_FP_LEN];
	static time_t last_at;
	time_t now = time(NULL);
	if (!strcmp(last_fp, fp) && now - last_at < 60)
		return;
	snprintf(last_fp, sizeof(last_fp), "%s", fp);
	last_at = now;
	char detail[256];
	snprintf(detail, sizeof(detail), "%s%s%s", why, fp[0] ? "; certificate " : "", fp);
	mgr_event(m, cn[0] ? cn : "unknown", "host.heartbeat", "host", id, "refused", detail);
}

/* With TLS a heartbeat comes over mutual TLS with the host's certificate:
 * it verifies against vdcd's CA, names the route's host id and is not
 * revoked. (Its fingerprint is matched to the host document after.) */
static int heartbeat_peer(struct mgr *m, struct http_req *req, char fp[TLS_FP_LEN],
                          struct errinfo *e)
{
	char cn[128] = "";
	const char *id = http_param(req, "id");
	if (!http_peer_cert(req, cn, sizeof(cn), fp)) {
		heartbeat_refused(m, "", "", id, "no valid client certificate");
		return errinfo_set(e, 401, "client_certificate_required", NULL,
		                   "heartbeats need the host's client certificate from its join (mutual "
		                   "TLS with vdcd's CA); a host that has none must join again");
	}
	struct errinfo te = {0};
	char *revoked = store_secret_take(m->st, "revoked", fp + 7, false, 0, &te);
	if (revoked) {
		free(revoked);
		heartbeat_refused(m, cn, fp, id, "certificate revoked");
		return errinfo_set(e, 403, "certificate_revoked", NULL,
		                   "this host's certificate %s was revoked (the host was removed); join "
		                   "the host again with a new join token", fp);
	}
	if (strcmp(cn, id) != 0) {
		heartbeat_refused(m, cn, fp, id, "certificate of another host");
		return errinfo_set(e, 403, "forbidden", NULL,
		                   "the client certificate is host %s's, not this host's", cn);
	}
	return 0;
}

/* The host a heartbeat or an alive report comes from, once its secret and
 * (over TLS) the certificate it joined with check out; NULL after
 * replying why not. */
static json_t *beat_host(struct mgr *m, struct http_req *req)
{
	struct errinfo e = {0};
	char fp[TLS_FP_LEN] = "";
	if (m->tls && heartbeat_peer(m, req, fp, &e) < 0) {
		mgr_reply_err(req, &e);
		return NULL;
	}
	json_t *host = heartbeat_host(m, req, &e);
	if (!host) {
		mgr_reply_err(req, &e);
		return NULL;
	}
	const char *want = json_string_value(json_object_get(host, "cert_fingerprint"));
	if (m->tls && (!want || strcmp(want, fp) != 0)) {
		heartbeat_refused(m, http_param(req, "id"), fp, http_param(req, "id"),
		                  "not the certificate the host joined with");
		json_decref(host);
		http_reply_error(req, 403, "certificate_mismatch", NULL,
		                 "this is not the certificate the host joined with%s; join the host again",
		                 want ? "" : " (it joined without TLS)");
		return NULL;
	}
	return host;
}

/* POST /api/v1/hosts/{id}/alive: an agent's word every second for HA
 * (ops/ha.c): alive, and what it sees of its peers' datastore leases. */
void api_hosts_alive(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *host = beat_host(m, req);
	if (!host)
		return;
	json_t *body = http_body_json(req, 0);
	if (body) {
		struct errinfo e = {0};
		json_t *reply = ha_word(m, host, body, &e);
		if (reply)
			http_reply_json(req, 200, reply);
		else
			mgr_reply_err(req, &e);
		json_decref(body);
	}
	json_decref(host);
}

void api_hosts_heartbeat(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *host = beat_host(m, req);
	if (!host)
		return;
	json_t *body = http_body_json(req, 0);
	if (!body) {
		json_decref(host);
		return;
	}
	static const char *const keys[] = {"cpus", "memory_mib", "accel", "qemu_version", "datastores",
	                                   "bridges", "vms", "state_seq", "sample", "cpu_models", NULL};
	struct jv_err jerr = {0};
	int64_t cpus = 0, mem = 0, beat_seq = 0;
	const char *accel = NULL, *qv = NULL;
	json_t *ds = NULL, *br = NULL, *vms = NULL;
	if (jv_only_keys(body, "", keys, &jerr) < 0 ||
	    jv_int(body, "", "cpus", true, 1, 65536, &cpus, &jerr) < 0 ||
	    jv_int(body, "", "memory_mib", true, 1, 1ll << 40, &mem, &jerr) < 0 ||
	    jv_string(body, "", "accel", false, 8, &accel, &jerr) < 0 ||
	    jv_string(body, "", "qemu_version", false, 32, &qv, &jerr) < 0 ||
	    jv_member(body, "", "datastores", false, JSON_ARRAY, &ds, &jerr) < 0 ||
	    jv_member(body, "", "bridges", false, JSON_ARRAY, &br, &jerr) < 0 ||
	    jv_member(body, "", "vms", false, JSON_ARRAY, &vms, &jerr) < 0 ||
	    jv_int(body, "", "state_seq", false, 0, INT64_MAX, &beat_seq, &jerr) < 0 ||
	    charts_check_beat(body, &jerr) < 0 || resource_check_cpu_models(body, &jerr) < 0) {
		mgr_reply_jv(req, &jerr);
		goto cleanup;
	}
	/* What the beat says of the host itself, written as it is; its VM
	 * list goes to the reconcile controller. */
	json_t *facts = json_pack("{s:{s:I, s:I}, s:o, s:o, s:I}", "capacity", "cpus", (json_int_t)cpus,
	                          "memory_mib", (json_int_t)mem, "datastores", ds ? json_incref(ds) : json_array(),
	                          "bridges", br ? json_incref(br) : json_array(), "vms_reported",
	                          (json_int_t)json_array_size(vms));
	if (accel)
		json_object_set_new(facts, "accel", json_string(accel));
	if (qv)
		json_object_set_new(facts, "qemu_version", json_string(qv));
	if (json_object_get(body, "cpu_models"))
		json_object_set(facts, "cpu_models", json_object_get(body, "cpu_models"));
	size_t n = json_array_size(vms);
	struct reconcile_report *reports = calloc(n + 1, sizeof(*reports));
	struct vdcd_host view;
	if (!reports || vdcd_host_view(host, &view) < 0) {
		free(reports);
		json_decref(facts);
		http_reply_error(req, 503, "out_of_memory", NULL, "vdcd is out of memory; retry the heartbeat");
		goto cleanup;
	}
	size_t i;
	json_t *r;
	json_array_foreach(vms, i, r)
		reports[i] = (struct reconcile_report){
			.name = json_string_value(json_object_get(r, "name")) ?: "",
			.state = json_string_value(json_object_get(r, "state")),
			.state_seq = json_integer_value(json_object_get(r, "state_seq")),
			.last_exit_at = json_string_value(json_object_get(json_object_get(r, "last_exit"), "at")),
			.last_exit = json_is_object(json_object_get(r, "last_exit")) ? json_object_get(r, "last_exit")
			                                                             : NULL};
	struct ctl_beat beat = {.beat_seq = beat_seq, .has_vms = vms != NULL, .vms = reports, .nvms = n,
	                        .facts = facts};
	const struct ctl_env *env = vdcd_env(m);
	int rc = ctl_heartbeat(env, &view.h, &beat);
	vdcd_host_view_free(&view);
	free(reports);
	json_decref(facts);
	if (rc < 0) {
		mgr_reply_err(req, vdcd_env_error(env));
		goto cleanup;
	}
	/* The agent beats at the pace vdcd asks for, with samples for the
	 * charts (ops/charts.c) once it knows vdcd takes them. */
	charts_take_beat(m, json_string_value(json_object_get(host, "id")), body, mgr_now_ms());
	/* What the host saw of each VM: readiness and its guest agent's word
	 * (ops/heartbeat_vms.c); then what it should probe (ops/ha_ready.c). */
	heartbeat_vms_take(m, json_string_value(json_object_get(host, "id")), vms);
	json_t *reply = json_pack("{s:i, s:b, s:o}", "heartbeat_interval_s", mgr_heartbeat_interval_s(&m->cfg),
	                          "samples", 1, "ready_probes",
	                          ha_ready_probes(m, json_string_value(json_object_get(host, "id"))));
	if (m->cfg.heartbeat_url[0]) /* hosts joined before --agent-listen learn it here */
		json_object_set_new(reply, "heartbeat_url", json_string(m->cfg.heartbeat_url));
	http_reply_json(req, 200, reply);
cleanup:
	json_decref(body);
	json_decref(host);
}

static const char *hstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* The host's evacuation task when it is queued or running, else NULL. */
static json_t *drain_under_way(struct mgr *m, const json_t *host)
{
	const char *id = hstr(json_object_get(host, "drain"), "task_id");
	json_t *task = id ? store_get(m->st, STORE_TASK, id, &(struct errinfo){0}) : NULL;
	const char *st = hstr(task, "state") ?: "";
	if (task && (!strcmp(st, "queued") || !strcmp(st, "running")))
		return task;
	json_decref(task);
	return NULL;
}

/* Evacuations queued or running: each holds a task worker while its
 * migrations run on others. */
static int evacuations_under_way(struct mgr *m)
{
	json_t *tasks = tasks_under_way(m->st, "host.evacuate");
	int n = (int)json_array_size(tasks);
	json_decref(tasks);
	return n;
}

/* The host document with maintenance on or off (and drain, when given:
 * consumed), written at the version read. */
static int write_maintenance(struct mgr *m, const json_t *host, bool on, json_t *drain, json_t **stored,
                             struct errinfo *e)
{
	json_t *upd = json_deep_copy(host);
	json_object_set_new(upd, "maintenance", json_boolean(on));
	const char *st = hstr(host, "state");
	if (on && (!st || strcmp(st, "disconnected")))
		json_object_set_new(upd, "state", json_string("maintenance"));
	else if (!on && st && !strcmp(st, "maintenance"))
		json_object_set_new(upd, "state", json_string("connected"));
	if (drain)
		json_object_set_new(upd, "drain", drain);
	int rc = store_update(m->st, STORE_HOST, upd, json_integer_value(json_object_get(host, "version")), stored, e);
	json_decref(upd);
	return rc;
}

/* Leaving maintenance: an evacuation under way stops (the migrations it
 * started end first), and placements may choose the host again. */
static void maintenance_exit(struct http_req *req, struct mgr *m, json_t *host)
{
	struct errinfo e = {0};
	json_t *stored = NULL, *drain = drain_under_way(m, host);
	const char *id = hstr(host, "id");
	if (write_maintenance(m, host, false, NULL, &stored, &e) < 0) {
		json_decref(drain);
		mgr_refuse(req, "host.maintenance_off", "host", id, &e);
		return;
	}
	if (drain) {
		json_t *out = NULL;
		struct errinfo ce = {0};
		if (tasks_cancel(m, drain, mgr_actor(req), &out, &ce) < 0)
			log_warn("drain_cancel_failed", "task=%s error=%s", hstr(drain, "id"), log_quote(ce.message));
		json_decref(out);
		json_decref(drain);
	}
	mgr_event(m, mgr_actor(req), "host.maintenance_off", "host", id, "succeeded", NULL);
	http_reply_json(req, 200, stored);
}

/* Entering maintenance: the plan first; refused as a whole (nothing
 * changes) when a VM fits nowhere else; ?dry_run=true answers the plan
 * alone. Else the host leaves placement at once and a host.evacuate task
 * moves its running VMs (202), or, with none to move, 200. */
static void maintenance_enter(struct http_req *req, struct mgr *m, json_t *host)
{
	struct errinfo e = {0};
	const char *id = hstr(host, "id"), *name = hstr(host, "name") ?: "?";
	json_t *plan = NULL, *task = NULL, *drain = drain_under_way(m, host);
	if (drain) {
		errinfo_set(&e, 409, "evacuation_running", NULL, "host %s is being emptied already (task %s); follow it, or "
		            "exit maintenance to stop it", name, hstr(drain, "id"));
		mgr_refuse(req, "host.maintenance_on", "host", id, &e);
		goto out;
	}
	bool connected = !strcmp(hstr(host, "state") ?: "", "connected") ||
	                 !strcmp(hstr(host, "state") ?: "", "maintenance");
	if (!(plan = evacuation_plan(m->st, host, &e))) {
		mgr_refuse(req, "host.maintenance_on", "host", id, &e);
		goto out;
	}
	size_t nmoves = json_array_size(json_object_get(plan, "moves"));
	if (!connected && (nmoves || json_is_true(json_object_get(plan, "refused")))) {
		errinfo_set(&e, 409, "host_disconnected", NULL,
		            "host %s is disconnected: its VMs cannot be moved live. Bring its agent back, or handle its "
		            "VMs first (HA restarts them elsewhere when the host is fenced)", name);
		mgr_refuse(req, "host.maintenance_on", "host", id, &e);
		goto out;
	}
	if (json_is_true(json_object_get(plan, "refused"))) {
		char msg[800];
		snprintf(msg, sizeof(msg), "%s. Nothing was changed: add capacity to the cluster, stop or move that VM, "
		         "or raise the cluster's overcommit", hstr(plan, "reason"));
		mgr_event(m, mgr_actor(req), "host.maintenance_on", "host", id, "refused", msg);
		http_reply_json(req, 409, json_pack("{s:{s:s, s:s, s:O}}", "error", "code", "evacuation_refused",
		                                    "message", msg, "plan", plan));
		goto out;
	}
	if (http_query_flag(req, "dry_run")) {
		http_reply_json(req, 200, json_pack("{s:b, s:O}", "dry_run", 1, "plan", plan));
		goto out;
	}
	json_t *stored = NULL;
	if (nmoves == 0) {
		if (write_maintenance(m, host, true, NULL, &stored, &e) < 0) {
			mgr_refuse(req, "host.maintenance_on", "host", id, &e);
			goto out;
		}
		mgr_event(m, mgr_actor(req), "host.maintenance_on", "host", id, "succeeded", hstr(plan, "reason"));
		json_object_set(stored, "plan", plan);
		http_reply_json(req, 200, stored);
		goto out;
	}
	int draining = evacuations_under_way(m);
	if (draining >= m->cfg.workers - 1) {
		errinfo_set(&e, 409, "too_many_evacuations", NULL,
		            "%d hosts are being emptied already, as many as vdcd's %d task workers allow (each holds one "
		            "while its migrations use the others); wait for one to end, or start vdcd with more --workers",
		            draining, m->cfg.workers);
		mgr_refuse(req, "host.maintenance_on", "host", id, &e);
		goto out;
	}
	/* The host leaves placement and its evacuation is queued in one commit. */
	if (store_begin(m->st, &e) < 0)
		goto fail;
	if (!(task = task_new(m->st, "host.evacuate", "host", id, name, NULL, mgr_actor(req),
	                      json_pack("{s:O, s:i}", "plan", plan, "attempts", 3), &e)))
		goto fail;
	if (write_maintenance(m, host, true, json_pack("{s:O, s:s, s:[]}", "task_id", json_object_get(task, "id"),
	                                               "phase", "draining", "left"),
	                      &stored, &e) < 0 ||
	    store_commit(m->st, &e) < 0) {
		json_decref(stored);
		goto fail;
	}
	mgr_event(m, mgr_actor(req), "host.maintenance_on", "host", id, "accepted", hstr(plan, "reason"));
	tasks_wake(m);
	char loc[96];
	snprintf(loc, sizeof(loc), "/api/v1/tasks/%s", hstr(task, "id"));
	http_add_header(req, "Location", loc);
	http_reply_json(req, 202, json_pack("{s:O, s:O, s:o}", "task", task, "plan", plan, "host", stored));
	goto out;
fail:
	store_rollback(m->st);
	mgr_refuse(req, "host.maintenance_on", "host", id, &e);
out:
	json_decref(task);
	json_decref(drain);
	json_decref(plan);
}

void api_hosts_maintenance(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	static const char *const keys[] = {"enabled", NULL};
	struct jv_err jerr = {0};
	bool on = false;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_bool(body, "", "enabled", true, &on, &jerr) < 0) {
		json_decref(body);
		mgr_reply_jv(req, &jerr);
		return;
	}
	json_decref(body);
	struct errinfo e = {0};
	json_t *host = store_get(m->st, STORE_HOST, http_param(req, "id"), &e);
	if (!host) {
		mgr_reply_err(req, &e);
		return;
	}
	if (on)
		maintenance_enter(req, m, host);
	else
		maintenance_exit(req, m, host);
	json_decref(host);
}

/* Deletes the host's secret (its heartbeats) and vdcd's credentials for
 * its agent, and marks its certificate revoked: a removed host must join
 * again to come back. */
static int revoke_host(struct mgr *m, const json_t *host, struct errinfo *e)
{
	const char *host_id = json_string_value(json_object_get(host, "id"));
	const char *fp = json_string_value(json_object_get(host, "cert_fingerprint"));
	if (fp && strlen(fp) > 7) {
		char doc[256];
		snprintf(doc, sizeof(doc), "{\"host_id\":\"%s\",\"serial\":\"%s\",\"revoked_at\":%lld}",
		         host_id, json_string_value(json_object_get(host, "cert_serial")) ?: "",
		         (long long)time(NULL));
		if (store_secret_add(m->st, "revoked", fp + 7, 0, doc, e) < 0)
			return -1;
	}
	char key[65];
	mgr_sha256_hex(host_id, key);
	struct errinfo te = {0};
	char *agent = store_secret_take(m->st, "agent", key, true, 0, &te);
	if (!agent)
		return te.status == 404 ? 0 : (*e = te, -1);
	json_t *a = json_loads(agent, 0, NULL);
	free(agent);
	const char *hh = json_string_value(json_object_get(a, "host_secret_hash"));
	if (hh) {
		te = (struct errinfo){0};
		char *gone = store_secret_take(m->st, "host", hh, true, 0, &te);
		free(gone);
		if (!gone && te.status != 404) {
			json_decref(a);
			*e = te;
			return -1;
		}
	}
	json_decref(a);
	return 0;
}

void api_hosts_delete(struct http_req *req)
{
	struct mgr *m = http_app(req);
	struct errinfo e = {0};
	json_t *host = store_get(m->st, STORE_HOST, http_param(req, "id"), &e);
	if (!host) {
		mgr_reply_err(req, &e);
		return;
	}
	const char *id = json_string_value(json_object_get(host, "id"));
	struct store_filter f = {"host_id", id};
	int64_t n = store_count(m->st, STORE_VM, &f, 1, &e);
	if (n > 0)
		errinfo_set(&e, 409, "in_use", NULL, "host '%s' still has %lld VMs; move or delete them first",
		            json_string_value(json_object_get(host, "name")), (long long)n);
	if (n != 0 || store_begin(m->st, &e) < 0 || store_delete(m->st, STORE_HOST, id, &e) < 0 ||
	    revoke_host(m, host, &e) < 0 || host_power_secret_delete(m->st, id, &e) < 0 ||
	    store_commit(m->st, &e) < 0) {
		store_rollback(m->st);
		mgr_reply_err(req, &e);
	} else {
		mgr_event(m, mgr_actor(req), "host.remove", "host", id, "succeeded", NULL);
		const char *fp = json_string_value(json_object_get(host, "cert_fingerprint"));
		if (fp)
			mgr_event(m, mgr_actor(req), "host.certificate_revoke", "host", id, "succeeded", fp);
		http_reply_text(req, 204, "text/plain", strdup(""), 0);
	}
	json_decref(host);
}

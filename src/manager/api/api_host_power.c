/* api_host_power.c - a host's power through its BMC (system
 * administrators). PUT /api/v1/hosts/{id}/power-driver sets the driver:
 * its settings go on the host document ("power"), its password into the
 * store's secrets, never shown again, logged or put on a command line.
 * DELETE clears both. POST /api/v1/hosts/{id}/power {"action": "on" | "off"
 * | "cycle" | "status", "force"?} queues a host.power task
 * (ops/task_host_power.c), which runs the driver off the loop and records
 * what the BMC said on the host (power.state, power.checked_at). */
#include "api.h"

#include "host_power.h"
#include "log.h"
#include "resources.h"

#include <stdlib.h>
#include <string.h>

static const char *hstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* Zeroes a string member of a JSON object in place (a password). */
static void scrub(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v), json_string_length(v));
}

/* A host.power task queued or running for host_id: its document, or NULL. */
static json_t *power_task_of(struct store *st, const char *host_id)
{
	json_t *tasks = tasks_under_way(st, "host.power"), *found = NULL;
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t)
		if (!found && !strcmp(hstr(t, "target_id") ?: "", host_id))
			found = json_incref(t);
	json_decref(tasks);
	return found;
}

static int refuse_busy(json_t *task, const char *name, struct errinfo *e)
{
	int rc = errinfo_set(e, 409, "power_task_running", NULL,
	                     "host %s has a power task under way (%s, %s); wait for it to end (vdc task watch %s)", name,
	                     hstr(task, "id"), hstr(json_object_get(task, "args"), "action") ?: "?", hstr(task, "id"));
	json_decref(task);
	return rc;
}

/* Writes host (as read) with power (consumed; NULL removes it) at the
 * version read, and its audit event, in the caller's transaction. */
static int write_power(struct mgr *m, struct http_req *req, const json_t *host, json_t *power, const char *action,
                       const char *detail, json_t **stored, struct errinfo *e)
{
	json_t *upd = json_deep_copy(host);
	if (!upd) {
		json_decref(power);
		return errinfo_set(e, 500, "internal", NULL, "out of memory");
	}
	if (power)
		json_object_set_new(upd, "power", power);
	else
		json_object_del(upd, "power");
	int rc = store_update(m->st, STORE_HOST, upd, json_integer_value(json_object_get(host, "version")), stored, e);
	json_decref(upd);
	if (rc == 0)
		rc = store_event_add(m->st, mgr_actor(req), action, "host", hstr(host, "id"), "succeeded", detail, e);
	return rc;
}

/* The password into the store's secrets (replacing one there); without
 * one, the one already kept stays (400 when there is none). */
static int keep_password(struct mgr *m, const char *host_id, const char *password, struct errinfo *e)
{
	if (!password) {
		char key[65];
		host_power_secret_key(host_id, key);
		struct errinfo te = {0};
		char *kept = store_secret_take(m->st, HOST_POWER_SECRET_KIND, key, false, 0, &te);
		if (kept) {
			explicit_bzero(kept, strlen(kept));
			free(kept);
			return 0;
		}
		if (te.status != 404)
			return (*e = te, -1);
		return errinfo_set(e, 400, "invalid_request", "password",
		                   "password: is required (the host has no BMC password stored yet)");
	}
	if (host_power_secret_delete(m->st, host_id, e) < 0)
		return -1;
	json_t *doc = json_pack("{s:s}", "password", password);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	scrub(doc, "password");
	json_decref(doc);
	if (!text)
		return errinfo_set(e, 500, "internal", NULL, "out of memory");
	char key[65];
	host_power_secret_key(host_id, key);
	int rc = store_secret_add(m->st, HOST_POWER_SECRET_KIND, key, 0, text, e);
	explicit_bzero(text, strlen(text));
	free(text);
	return rc;
}

void api_hosts_power_driver_set(struct http_req *req)
{
	struct mgr *m = http_app(req);
	const char *ref = http_param(req, "id");
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	struct errinfo e = {0};
	json_t *host = NULL, *power = NULL, *stored = NULL, *task = NULL;
	const char *password = NULL;
	struct jv_err jerr = {0};
	if (!(host = store_get(m->st, STORE_HOST, ref, &e))) {
		mgr_reply_err(req, &e);
		goto out;
	}
	const char *id = hstr(host, "id"), *name = hstr(host, "name") ?: id;
	if (resource_parse_power_driver(body, &power, &password, &jerr) < 0) {
		mgr_refuse_jv(req, "host.power_driver_set", "host", id, &jerr);
		goto out;
	}
	if ((task = power_task_of(m->st, id))) {
		refuse_busy(task, name, &e);
		mgr_refuse(req, "host.power_driver_set", "host", id, &e);
		goto out;
	}
	char detail[400];
	snprintf(detail, sizeof(detail), "%s %s:%lld user %s, cipher suite %lld, timeout %lld s; password %s",
	         hstr(power, "driver"), hstr(power, "address"), (long long)json_integer_value(json_object_get(power, "port")),
	         hstr(power, "username"), (long long)json_integer_value(json_object_get(power, "cipher_suite")),
	         (long long)json_integer_value(json_object_get(power, "timeout_s")), password ? "set" : "kept");
	/* The state read last stays while the BMC is the same one; a new BMC
	 * has not been asked anything yet. */
	const json_t *was = json_object_get(host, "power");
	bool same = was && json_equal(json_object_get(was, "driver"), json_object_get(power, "driver")) &&
	            json_equal(json_object_get(was, "address"), json_object_get(power, "address")) &&
	            json_equal(json_object_get(was, "port"), json_object_get(power, "port"));
	if (same && json_object_get(was, "state"))
		json_object_set(power, "state", json_object_get(was, "state"));
	else
		json_object_set_new(power, "state", json_string("unknown"));
	if (same && json_object_get(was, "checked_at"))
		json_object_set(power, "checked_at", json_object_get(was, "checked_at"));
	if (store_begin(m->st, &e) < 0 || keep_password(m, id, password, &e) < 0 ||
	    write_power(m, req, host, json_incref(power), "host.power_driver_set", detail, &stored, &e) < 0 ||
	    store_commit(m->st, &e) < 0) {
		store_rollback(m->st);
		json_decref(stored);
		stored = NULL;
		mgr_refuse(req, "host.power_driver_set", "host", id, &e);
		goto out;
	}
	log_info("audit", "actor=%s action=host.power_driver_set target=host/%s outcome=succeeded", mgr_actor(req), id);
	http_reply_json(req, 200, stored);
out:
	scrub(body, "password");
	json_decref(body);
	json_decref(power);
	json_decref(host);
}

void api_hosts_power_driver_clear(struct http_req *req)
{
	struct mgr *m = http_app(req);
	struct errinfo e = {0};
	json_t *host = store_get(m->st, STORE_HOST, http_param(req, "id"), &e), *stored = NULL, *task = NULL;
	if (!host) {
		mgr_reply_err(req, &e);
		return;
	}
	const char *id = hstr(host, "id"), *name = hstr(host, "name") ?: id;
	if ((task = power_task_of(m->st, id))) {
		refuse_busy(task, name, &e);
		mgr_refuse(req, "host.power_driver_clear", "host", id, &e);
		json_decref(host);
		return;
	}
	if (store_begin(m->st, &e) < 0 || host_power_secret_delete(m->st, id, &e) < 0)
		goto fail;
	if (write_power(m, req, host, NULL, "host.power_driver_clear", json_object_get(host, "power") ? "" : "had none",
	                &stored, &e) < 0 ||
	    store_commit(m->st, &e) < 0)
		goto fail;
	log_info("audit", "actor=%s action=host.power_driver_clear target=host/%s outcome=succeeded", mgr_actor(req), id);
	http_reply_json(req, 200, stored);
	goto out;
fail:
	store_rollback(m->st);
	mgr_refuse(req, "host.power_driver_clear", "host", id, &e);
out:
	json_decref(host);
}

void api_hosts_power(struct http_req *req)
{
	struct mgr *m = http_app(req);
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	static const char *const keys[] = {"action", "force", NULL};
	struct jv_err jerr = {0};
	const char *word = NULL;
	bool force = false;
	enum host_power_action action = HOST_POWER_STATUS;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "action", true, 16, &word, &jerr) < 0 ||
	    jv_bool(body, "", "force", false, &force, &jerr) < 0 ||
	    (host_power_action_parse(word, &action) < 0 &&
	     jv_fail(&jerr, "action", "'%s' is not a power action; give on, off, cycle or status", word) < 0)) {
		mgr_refuse_jv(req, "host.power", "host", http_param(req, "id"), &jerr);
		json_decref(body);
		return;
	}
	json_decref(body);
	struct errinfo e = {0};
	json_t *host = store_get(m->st, STORE_HOST, http_param(req, "id"), &e), *task = NULL, *busy = NULL;
	char what[40];
	snprintf(what, sizeof(what), "host.power_%s", host_power_action_name(action));
	if (!host) {
		mgr_reply_err(req, &e);
		return;
	}
	const char *id = hstr(host, "id"), *name = hstr(host, "name") ?: id;
	const json_t *p = json_object_get(host, "power");
	char names[200];
	int nvms = 0;
	if (!hstr(p, "driver")) {
		errinfo_set(&e, 409, "no_power_driver", NULL,
		            "host %s has no power driver; set one first (PUT /api/v1/hosts/%s/power-driver, or vdc host "
		            "power-driver set %s --ipmi ADDRESS --user USER --password-file FILE)", name, name, name);
	} else if ((busy = power_task_of(m->st, id))) {
		refuse_busy(busy, name, &e);
	} else if ((action == HOST_POWER_OFF || action == HOST_POWER_CYCLE) && !force &&
	           (nvms = host_power_vms_running(m->st, id, names, sizeof(names), &e)) != 0) {
		if (nvms > 0)
			host_power_refuse_vms(&e, name, host_power_action_name(action), nvms, names);
	}
	if (e.status) {
		mgr_refuse(req, what, "host", id, &e);
		goto out;
	}
	if (store_begin(m->st, &e) < 0 ||
	    !(task = task_new(m->st, "host.power", "host", id, name, NULL, mgr_actor(req),
	                      json_pack("{s:s, s:b}", "action", host_power_action_name(action), "force", force), &e)) ||
	    store_commit(m->st, &e) < 0) {
		store_rollback(m->st);
		mgr_refuse(req, what, "host", id, &e);
		goto out;
	}
	char detail[300];
	snprintf(detail, sizeof(detail), "through %s %s:%lld%s", hstr(p, "driver"), hstr(p, "address") ?: "?",
	         (long long)json_integer_value(json_object_get(p, "port")), force ? " (forced)" : "");
	mgr_event(m, mgr_actor(req), what, "host", id, "accepted", detail);
	tasks_wake(m);
	char loc[96];
	snprintf(loc, sizeof(loc), "/api/v1/tasks/%s", hstr(task, "id"));
	http_add_header(req, "Location", loc);
	http_reply_json(req, 202, json_pack("{s:O, s:O}", "task", task, "host", host));
out:
	json_decref(task);
	json_decref(host);
}

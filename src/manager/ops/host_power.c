/* host_power.c - a host's power through its BMC: the drivers' table, the
 * wait for the state an order leads to, and the driver's settings and
 * password read from the store (host_power.h). What each driver does is in
 * its own file (host_power_ipmi.c). */
#include "host_power.h"

#include "evacuation.h"

#include "log.h"
#include "manager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long an order's state is waited for: reads of the state, a second
 * apart (a BMC may take a moment; a cycle is off, then on). */
#define CONFIRM_READS 6

static const struct {
	const char *name;
	int (*run)(const struct host_power_driver *d, enum host_power_action a, struct host_power_result *r);
} drivers[] = {
	{"ipmi", host_power_ipmi},
};

static const char *const action_names[] = {"status", "on", "off", "cycle"};

const char *host_power_action_name(enum host_power_action a)
{
	return a <= HOST_POWER_CYCLE ? action_names[a] : "?";
}

int host_power_action_parse(const char *s, enum host_power_action *a)
{
	for (int i = 0; s && i <= HOST_POWER_CYCLE; i++)
		if (!strcmp(s, action_names[i])) {
			*a = (enum host_power_action)i;
			return 0;
		}
	return -1;
}

const char *host_power_state_name(enum host_power_state s)
{
	return s == HOST_POWER_IS_ON ? "on" : s == HOST_POWER_IS_OFF ? "off" : "unknown";
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* After an order: reads the state until it is want. 0, or -1 with r saying
 * what was seen last. */
static int confirm(int (*run)(const struct host_power_driver *, enum host_power_action, struct host_power_result *),
                   const struct host_power_driver *d, enum host_power_state want, const char *verb,
                   struct host_power_result *r)
{
	struct host_power_result s = {0};
	/* A BMC that stops answering holds a read up to the driver's timeout:
	 * the reads stop once this is past. */
	int64_t until = mono_ms() + (CONFIRM_READS - 1) * 1000 + (int64_t)d->timeout_s * 1000;
	for (int i = 0; i < CONFIRM_READS && (i == 0 || mono_ms() < until); i++) {
		if (i)
			sleep(1);
		if (run(d, HOST_POWER_STATUS, &s) == 0 && s.state == want) {
			r->state = s.state;
			return 0;
		}
	}
	r->state = s.state;
	snprintf(r->code, sizeof(r->code), "bmc_unconfirmed");
	if (s.code[0])
		snprintf(r->message, sizeof(r->message), "the BMC took power %s, but reading the state after failed: %s",
		         verb, s.message);
	else
		snprintf(r->message, sizeof(r->message), "the BMC took power %s, but still reports power %s after %d s",
		         verb, host_power_state_name(s.state), CONFIRM_READS - 1);
	return -1;
}

int host_power_run(const struct host_power_driver *d, enum host_power_action action, struct host_power_result *r)
{
	*r = (struct host_power_result){0};
	int64_t t0 = mono_ms();
	int (*run)(const struct host_power_driver *, enum host_power_action, struct host_power_result *) = NULL;
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (!strcmp(d->driver, drivers[i].name))
			run = drivers[i].run;
	int rc;
	if (!run) {
		snprintf(r->code, sizeof(r->code), "power_driver_unknown");
		snprintf(r->message, sizeof(r->message), "vdcd has no power driver '%s' (it has: ipmi)", d->driver);
		rc = -1;
	} else {
		rc = run(d, action, r);
		if (rc == 0 && action != HOST_POWER_STATUS) {
			char took[sizeof(r->message)];
			snprintf(took, sizeof(took), "%s", r->message);
			rc = confirm(run, d, action == HOST_POWER_OFF ? HOST_POWER_IS_OFF : HOST_POWER_IS_ON,
			             host_power_action_name(action), r);
			if (rc == 0)
				snprintf(r->message, sizeof(r->message), "%s; power is %s now", took,
				         host_power_state_name(r->state));
		}
	}
	r->elapsed_ms = mono_ms() - t0;
	log_event(rc == 0 ? LOG_INFO : LOG_WARN, "host_power", "driver=%s bmc=%s:%d action=%s state=%s code=%s ms=%lld",
	          d->driver, d->address, d->port, host_power_action_name(action), host_power_state_name(r->state),
	          r->code[0] ? r->code : "ok", (long long)r->elapsed_ms);
	return rc;
}

void host_power_secret_key(const char *host_id, char out[65])
{
	char in[128];
	snprintf(in, sizeof(in), "power:%s", host_id ? host_id : "");
	mgr_sha256_hex(in, out);
}

int host_power_secret_delete(struct store *st, const char *host_id, struct errinfo *e)
{
	char key[65];
	host_power_secret_key(host_id, key);
	struct errinfo te = {0};
	char *old = store_secret_take(st, HOST_POWER_SECRET_KIND, key, true, 0, &te);
	if (old) {
		explicit_bzero(old, strlen(old));
		free(old);
		return 0;
	}
	return te.status == 404 ? 0 : (*e = te, -1);
}

void host_power_driver_wipe(struct host_power_driver *d)
{
	explicit_bzero(d, sizeof(*d));
}

int host_power_driver_load(struct store *st, const json_t *host, struct host_power_driver *d, struct errinfo *e)
{
	*d = (struct host_power_driver){0};
	const json_t *p = json_object_get(host, "power");
	const char *id = json_string_value(json_object_get(host, "id")) ?: "";
	const char *name = json_string_value(json_object_get(host, "name")) ?: id;
	const char *drv = json_string_value(json_object_get(p, "driver"));
	if (!drv)
		return errinfo_set(e, 409, "no_power_driver", NULL,
		                   "host %s has no power driver; set one first (PUT /api/v1/hosts/%s/power-driver, "
		                   "or vdc host power-driver set %s --ipmi ADDRESS --user USER --password-file FILE)",
		                   name, name, name);
	snprintf(d->driver, sizeof(d->driver), "%s", drv);
	snprintf(d->address, sizeof(d->address), "%s", json_string_value(json_object_get(p, "address")) ?: "");
	snprintf(d->username, sizeof(d->username), "%s", json_string_value(json_object_get(p, "username")) ?: "");
	d->port = (int)(json_integer_value(json_object_get(p, "port")) ?: HOST_POWER_PORT_DEFAULT);
	json_t *cs = json_object_get(p, "cipher_suite");
	d->cipher_suite = json_is_integer(cs) ? (int)json_integer_value(cs) : HOST_POWER_CIPHER_DEFAULT;
	d->timeout_s = (int)(json_integer_value(json_object_get(p, "timeout_s")) ?: HOST_POWER_TIMEOUT_DEFAULT_S);
	char key[65];
	host_power_secret_key(id, key);
	struct errinfo se = {0};
	char *grant = store_secret_take(st, HOST_POWER_SECRET_KIND, key, false, 0, &se);
	json_t *g = grant ? json_loads(grant, 0, NULL) : NULL;
	const char *pw = json_string_value(json_object_get(g, "password"));
	int rc = 0;
	if (pw && strlen(pw) < sizeof(d->password))
		snprintf(d->password, sizeof(d->password), "%s", pw);
	else if (grant || se.status == 404)
		rc = errinfo_set(e, 409, "no_power_password", NULL,
		                 "host %s's power driver has no password stored; set the driver again with its password",
		                 name);
	else
		rc = (*e = se, -1);
	if (pw)
		explicit_bzero((char *)pw, strlen(pw));
	json_decref(g);
	if (grant) {
		explicit_bzero(grant, strlen(grant));
		free(grant);
	}
	if (rc < 0)
		host_power_driver_wipe(d);
	return rc;
}

int host_power_record(struct store *st, const char *host_id, const struct host_power_result *r, struct errinfo *e)
{
	char now[32];
	mgr_now_iso(now);
	for (int attempt = 0; attempt < 8; attempt++) {
		struct errinfo ge = {0};
		json_t *host = store_get(st, STORE_HOST, host_id, &ge);
		if (!host)
			return (*e = ge, -1);
		if (!json_is_object(json_object_get(host, "power"))) {
			json_decref(host);
			return 0;
		}
		json_t *upd = json_deep_copy(host);
		json_t *p = json_object_get(upd, "power");
		int bad = !upd;
		/* A failure that read no state leaves the last one known. */
		if (!bad && (!r->code[0] || r->state != HOST_POWER_UNKNOWN)) {
			bad |= json_object_set_new(p, "state", json_string(host_power_state_name(r->state)));
			bad |= json_object_set_new(p, "checked_at", json_string(now));
		}
		if (!bad && r->code[0])
			bad |= json_object_set_new(p, "error", json_pack("{s:s, s:s, s:s}", "code", r->code, "message",
			                                                 r->message, "at", now));
		else if (!bad)
			json_object_del(p, "error");
		struct errinfo ue = {0};
		int rc = bad ? errinfo_set(&ue, 500, "internal", NULL, "out of memory")
		             : store_update(st, STORE_HOST, upd, json_integer_value(json_object_get(host, "version")),
		                            NULL, &ue);
		json_decref(upd);
		json_decref(host);
		if (rc == 0)
			return 0;
		if (ue.status != 409)
			return (*e = ue, -1);
		usleep(2000);
	}
	return errinfo_set(e, 409, "version_conflict", NULL, "the host changed too often to record its power state");
}

int host_power_vms_running(struct store *st, const char *host_id, char *names, size_t n, struct errinfo *e)
{
	struct store_filter f = {"host_id", host_id};
	json_t *vms = store_list_all(st, STORE_VM, &f, 1, e);
	if (!vms)
		return -1;
	int count = 0;
	size_t i, o = 0;
	json_t *vm;
	names[0] = '\0';
	json_array_foreach(vms, i, vm) {
		if (!evacuation_moves_live(json_string_value(json_object_get(vm, "power_state"))))
			continue;
		if (count < 5 && o < n)
			o += (size_t)snprintf(names + o, n - o, "%s%s", count ? ", " : "",
			                      json_string_value(json_object_get(vm, "name")) ?: "?");
		else if (count == 5 && o < n)
			o += (size_t)snprintf(names + o, n - o, ", ...");
		count++;
	}
	json_decref(vms);
	return count;
}

int host_power_refuse_vms(struct errinfo *e, const char *host, const char *action, int nvms, const char *names)
{
	return errinfo_set(e, 409, "host_has_vms", "force",
	                   "host %s still runs %d VM%s (%s): power %s stops %s at once, as a power cut would. Empty "
	                   "it first (vdc host maintenance enter %s) or stop %s; or give \"force\": true to do it "
	                   "anyway (vdc host power %s %s --force)",
	                   host, nvms, nvms == 1 ? "" : "s", names, action, nvms == 1 ? "it" : "them", host,
	                   nvms == 1 ? "it" : "them", host, action);
}

/* ha_guard.c - see ha_guard.h. */
#include "ha_guard.h"

#include "agent.h"
#include "fsutil.h"
#include "ha_keeper_link.h"
#include "ha_lease.h"
#include "http_client.h"
#include "isotime.h"
#include "log.h"
#include "loop.h"
#include "manager_link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TICK_MS 250
#define LEASE_RENEW_MS 1000
/* Until vdcd says otherwise (its answers carry the cluster's times). */
#define DEFAULT_LEASE_MS 6000
#define DEFAULT_FENCE_MS 4000
#define DEFAULT_PING_MS 1000
#define DEFAULT_NET_TIMEOUT_MS 3000
/* Isolation addresses: other hosts' agents (as vSphere pings its
 * gateway); a round of connects each second while vdcd is silent. */
#define MAX_PEERS 8
#define PROBE_ROUND_MS 1000
/* A graceful shutdown (isolation response "shutdown") waits this long. */
#define SHUTDOWN_S 60

struct peer_probe {
	struct sockaddr_in addr;
	int fd;                   /* a connect under way, or -1 */
	struct loop_watch *w;
};

struct guard {
	struct agent *a;
	bool ping_failing;        /* the last alive report failed (logged once per spell) */
	struct loop_timer *timer;
	struct ha_lease *lease;
	struct hc *ping;          /* in flight, or NULL */
	uint64_t next_ping_ms;
	int lease_ms, fence_ms, ping_ms, net_timeout_ms;
	uint64_t last_ok_ms;      /* vdcd's last answer */
	struct peer_probe peers[MAX_PEERS];
	int npeers;
	uint64_t probe_at_ms;     /* the round under way began */
	uint64_t peer_ok_ms;      /* a peer answered */
	bool isolated;
	bool enabled;             /* its cluster has HA on (vdcd's answer; kept in ha.json) */
	json_t *protected_vms;    /* agent VM name -> {} (vdcd's answer, kept in ha.json) */
	json_t *fenced;           /* VM names this host fenced since it started */
	struct keeper_link *keeper; /* keeps the leases if this agent dies */
};

static struct guard *the_guard;

static void ha_path(struct agent *a, char *out, size_t n)
{
	snprintf(out, n, "%s/ha.json", a->cfg.state_dir);
}

static void load(struct guard *g)
{
	char path[1100];
	ha_path(g->a, path, sizeof(path));
	json_t *j = json_load_file(path, 0, NULL);
	if (json_is_object(json_object_get(j, "protected"))) {
		json_decref(g->protected_vms);
		g->protected_vms = json_incref(json_object_get(j, "protected"));
	}
	g->enabled = json_is_true(json_object_get(j, "enabled"));
	json_int_t v;
	if ((v = json_integer_value(json_object_get(j, "lease_ms"))) >= 1000)
		g->lease_ms = (int)v;
	if ((v = json_integer_value(json_object_get(j, "fence_ms"))) >= 500 && v < g->lease_ms)
		g->fence_ms = (int)v;
	if ((v = json_integer_value(json_object_get(j, "net_timeout_ms"))) >= 1000 && v <= 600000)
		g->net_timeout_ms = (int)v;
	json_decref(j);
}

static void save(struct guard *g)
{
	json_t *j = json_pack("{s:b, s:O, s:i, s:i, s:i}", "enabled", g->enabled, "protected", g->protected_vms,
	                      "lease_ms", g->lease_ms, "fence_ms", g->fence_ms, "net_timeout_ms", g->net_timeout_ms);
	char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	char path[1100];
	ha_path(g->a, path, sizeof(path));
	if (!s || fs_write_atomic(path, s, strlen(s), 0600) < 0)
		log_warn("ha_state_write_failed", "path=%s", path);
	free(s);
	json_decref(j);
}

static bool vm_live(const struct vm *vm)
{
	return vm->pid > 0 && vm->state != VM_MIGRATED && vm->state != VM_INCOMING;
}

static bool vm_uses(const struct vm *vm, const char *datastore)
{
	for (int i = 0; i < vm->spec.ndisks; i++)
		if (!strcmp(vm->spec.disks[i].datastore, datastore))
			return true;
	return false;
}

/* The VMs running here, protected or not, as the lease records them: a
 * VM missing from an isolated host's record has stopped. */
static json_t *running_vms(struct guard *g)
{
	json_t *arr = json_array();
	for (struct vm *vm = g->a->vms; vm; vm = vm->next)
		if (vm_live(vm))
			json_array_append_new(arr, json_string(vm->spec.name));
	return arr;
}

/* Kills every protected VM on datastore i: its lease has not been renewed
 * for fence_ms, and at lease_ms another host may start them. */
static void fence(struct guard *g, int i, int64_t ago_ms)
{
	const char *ds = g->a->cfg.datastores[i].name;
	for (struct vm *vm = g->a->vms; vm; vm = vm->next) {
		if (!vm_live(vm) || !json_object_get(g->protected_vms, vm->spec.name) || !vm_uses(vm, ds))
			continue;
		char why[300], at[32];
		snprintf(why, sizeof(why),
		         "fenced: this host could not renew its lease on datastore %s for %lld ms (fencing at %d ms, "
		         "the lease runs out at %d ms); another host may start it",
		         ds, (long long)ago_ms, g->fence_ms, g->lease_ms);
		log_warn("ha_fenced", "vm=%s datastore=%s renewed_ago_ms=%lld", vm->spec.name, ds, (long long)ago_ms);
		struct errinfo e = {0};
		if (vm_kill_now(vm, &e) < 0) {
			log_error("ha_fence_failed", "vm=%s error=%s", vm->spec.name, log_quote(e.message));
			continue;
		}
		iso_time_now_ms(at);
		json_decref(vm->last_exit);
		vm->last_exit = json_pack("{s:s, s:s, s:b, s:s}", "at", at, "reason", why, "clean", 0, "cause", "ha_fenced");
		vm_store_write_state(vm, true);
		if (json_array_size(g->fenced) >= 64) /* the newest are what vdcd needs */
			json_array_remove(g->fenced, 0);
		json_array_append_new(g->fenced, json_string(vm->spec.name));
	}
}

/* ---- isolation ---------------------------------------------------------------- */

static void probe_close(struct guard *g, struct peer_probe *p)
{
	if (p->w)
		loop_unwatch(g->a->loop, p->w);
	if (p->fd >= 0)
		close(p->fd);
	p->w = NULL;
	p->fd = -1;
}

/* The isolation addresses vdcd names: its other hosts' agents
 * ("IP:PORT"). A name that is no IPv4 literal is skipped. */
static void set_peers(struct guard *g, const json_t *list)
{
	if (!json_is_array(list))
		return;
	for (int i = 0; i < g->npeers; i++)
		probe_close(g, &g->peers[i]);
	g->npeers = 0;
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		const char *s = json_string_value(v), *colon = s ? strrchr(s, ':') : NULL;
		char ip[64];
		if (!colon || g->npeers >= MAX_PEERS || (size_t)(colon - s) >= sizeof(ip))
			continue;
		snprintf(ip, sizeof(ip), "%.*s", (int)(colon - s), s);
		struct peer_probe *p = &g->peers[g->npeers];
		memset(p, 0, sizeof(*p));
		p->fd = -1;
		p->addr.sin_family = AF_INET;
		int port = atoi(colon + 1);
		if (port < 1 || port > 65535 || inet_pton(AF_INET, ip, &p->addr.sin_addr) != 1)
			continue;
		p->addr.sin_port = htons((uint16_t)port);
		g->npeers++;
	}
}

static void on_peer_ready(void *ctx, uint32_t events)
{
	struct peer_probe *p = ctx;
	struct guard *g = the_guard;
	int err = 0;
	socklen_t len = sizeof(err);
	if (!(events & (EPOLLERR | EPOLLHUP)) && getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
		g->peer_ok_ms = loop_now_ms();
	probe_close(g, p);
}

/* A round of connects to every peer: any that completes says this host's
 * network works (vdcd may be down instead). */
static void probe_peers(struct guard *g, uint64_t now)
{
	g->probe_at_ms = now;
	for (int i = 0; i < g->npeers; i++) {
		struct peer_probe *p = &g->peers[i];
		probe_close(g, p); /* last round's: no answer within a second */
		p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (p->fd < 0)
			continue;
		if (connect(p->fd, (struct sockaddr *)&p->addr, sizeof(p->addr)) == 0) {
			g->peer_ok_ms = now;
			probe_close(g, p);
		} else if (errno != EINPROGRESS || !(p->w = loop_watch_fd(g->a->loop, p->fd, EPOLLOUT, on_peer_ready, p))) {
			probe_close(g, p);
		}
	}
}

static void responded(void *ctx, int status, json_t *result, const struct errinfo *e)
{
	(void)result;
	char *name = ctx;
	if (status != 200)
		log_warn("ha_isolation_response_failed", "vm=%s error=%s", name, log_quote(e ? e->message : ""));
	free(name);
}

/* This host is isolated: each protected VM gets its isolation response. */
static void isolation_respond(struct guard *g)
{
	for (struct vm *vm = g->a->vms; vm; vm = vm->next) {
		const json_t *p = json_object_get(g->protected_vms, vm->spec.name);
		const char *resp = json_string_value(json_object_get(p, "isolation")) ?: "leave";
		if (!p || !vm_live(vm) || !strcmp(resp, "leave"))
			continue;
		log_warn("ha_isolation_response", "vm=%s response=%s", vm->spec.name, resp);
		struct errinfo e = {0};
		char *name = strdup(vm->spec.name);
		int rc = !strcmp(resp, "shutdown") ? vm_stop(vm, SHUTDOWN_S, responded, name, &e)
		                                   : vm_destroy(vm, responded, name, &e);
		if (rc < 0) {
			log_warn("ha_isolation_response_failed", "vm=%s error=%s", vm->spec.name, log_quote(e.message));
			free(name);
		}
	}
}

/* Isolated: vdcd silent for its network timeout, and no peer answered a
 * connect for as long. A host whose cluster has no other host cannot
 * tell, and is never isolated. */
static void isolation(struct guard *g, uint64_t now)
{
	if (g->isolated || g->npeers == 0 || !g->last_ok_ms || now - g->last_ok_ms < (uint64_t)g->net_timeout_ms)
		return;
	if (now - g->probe_at_ms >= PROBE_ROUND_MS)
		probe_peers(g, now);
	if (now - g->peer_ok_ms < (uint64_t)g->net_timeout_ms)
		return;
	g->isolated = true;
	log_warn("ha_isolated", "silent_ms=%llu peers=%d", (unsigned long long)(now - g->last_ok_ms), g->npeers);
	isolation_respond(g);
}

static void on_ping_reply(void *ctx, int status, const char *body)
{
	struct guard *g = ctx;
	g->ping = NULL;
	if (status != 200) {
		/* vdcd's absence alone says nothing (see isolation()), but a
		 * failing report is logged once per spell: vdcd judges by it. */
		if (!g->ping_failing)
			log_warn("ha_alive_failed", "status=%d error=%s", status, log_quote(body ? body : ""));
		g->ping_failing = true;
		return;
	}
	if (g->ping_failing)
		log_info("ha_alive_ok", "reason=%s", log_quote("vdcd takes alive reports again"));
	g->ping_failing = false;
	g->last_ok_ms = loop_now_ms();
	if (g->isolated) {
		g->isolated = false;
		log_info("ha_isolation_ended", "reason=%s", log_quote("vdcd answers again"));
	}
	json_t *r = json_loads(body, 0, NULL);
	json_t *ha = json_object_get(r, "ha");
	if (json_is_object(ha)) {
		bool changed = false;
		bool en = json_is_true(json_object_get(ha, "enabled"));
		if (en != g->enabled) {
			g->enabled = en;
			changed = true;
			log_info("ha_enabled", "enabled=%d", en);
		}
		json_t *p = json_object_get(ha, "protected");
		if (json_is_object(p) && !json_equal(p, g->protected_vms)) {
			json_decref(g->protected_vms);
			g->protected_vms = json_incref(p);
			changed = true;
		}
		json_int_t lease = json_integer_value(json_object_get(ha, "lease_ms"));
		json_int_t fence_at = json_integer_value(json_object_get(ha, "fence_ms"));
		if (lease >= 1000 && lease <= 600000 && fence_at >= 500 && fence_at < lease &&
		    (lease != g->lease_ms || fence_at != g->fence_ms)) {
			g->lease_ms = (int)lease;
			g->fence_ms = (int)fence_at;
			changed = true;
		}
		json_int_t net = json_integer_value(json_object_get(ha, "net_timeout_ms"));
		if (net >= 1000 && net <= 600000 && net != g->net_timeout_ms) {
			g->net_timeout_ms = (int)net;
			changed = true;
		}
		set_peers(g, json_object_get(ha, "peers"));
		json_int_t ping = json_integer_value(json_object_get(ha, "ping_ms"));
		if (ping >= 200 && ping <= 60000)
			g->ping_ms = (int)ping;
		if (changed)
			save(g);
	}
	json_decref(r);
}

static void send_ping(struct guard *g)
{
	json_t *vms = running_vms(g), *defined = json_array(), *prot = json_array();
	/* What this host will fence: vdcd restarts only those elsewhere. */
	const char *name;
	json_t *v;
	json_object_foreach(g->protected_vms, name, v)
		json_array_append_new(prot, json_string(name));
	/* Every VM defined here: vdcd removes the copies of VMs HA moved away
	 * while this host was gone. */
	for (struct vm *vm = g->a->vms; vm; vm = vm->next)
		json_array_append_new(defined, json_string(vm->spec.name));
	json_t *b = json_pack("{s:o, s:o, s:O, s:o, s:o}", "leases", g->lease ? ha_lease_observations(g->lease) : json_object(),
	                      "vms", vms, "fenced", g->fenced, "defined", defined, "protected", prot);
	char *s = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (s)
		g->ping = manager_link_post("alive", s, g->ping_ms * 2, on_ping_reply, g);
	free(s);
}

/* What the keeper must know to keep the leases and fence if this agent
 * dies: the lease settings, the VMs running here, and the protected ones'
 * QEMUs (pid and start time, which name the process for good). */
static char *keeper_message(struct guard *g, const char *host_id)
{
	json_t *ds = json_array(), *guard = json_array();
	for (int i = 0; i < g->a->cfg.ndatastores; i++)
		json_array_append_new(ds, json_pack("{s:s, s:s}", "name", g->a->cfg.datastores[i].name, "path",
		                                    g->a->cfg.datastores[i].path));
	for (struct vm *vm = g->a->vms; vm; vm = vm->next) {
		if (!vm_live(vm) || !json_object_get(g->protected_vms, vm->spec.name))
			continue;
		json_t *uses = json_array();
		for (int i = 0; i < g->a->cfg.ndatastores; i++)
			if (vm_uses(vm, g->a->cfg.datastores[i].name))
				json_array_append_new(uses, json_string(g->a->cfg.datastores[i].name));
		json_array_append_new(guard, json_pack("{s:s, s:i, s:I, s:o}", "name", vm->spec.name, "pid", (int)vm->pid,
		                                       "start", (json_int_t)vm->pid_start, "datastores", uses));
	}
	json_t *m = json_pack("{s:s, s:b, s:i, s:i, s:o, s:o, s:o}", "host", host_id, "enabled", g->enabled,
	                      "interval_ms", LEASE_RENEW_MS, "fence_ms", g->fence_ms, "datastores", ds, "vms",
	                      running_vms(g), "guard", guard);
	char *s = m ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	return s;
}

static void tick(void *ctx)
{
	struct guard *g = ctx;
	g->timer = loop_timer_after(g->a->loop, TICK_MS, tick, g);
	const char *host_id = manager_link_host_id();
	if (!host_id)
		return;
	uint64_t now = loop_now_ms();
	/* Leases only in a cluster with HA on: nothing is written into the
	 * datastores of one without. */
	/* Built only when a keeper hears it: most clusters have HA off. */
	char *msg = g->enabled || keeper_link_linked(g->keeper) ? keeper_message(g, host_id) : NULL;
	if (!g->enabled && g->lease) {
		ha_lease_stop(g->lease);
		g->lease = NULL;
		g->isolated = false;
	}
	if (!g->enabled) /* a keeper linked while HA was on ends */
		keeper_link_off(g->keeper, msg);
	/* The keeper first: one that kept the leases while this agent was
	 * down stops before this agent renews them again. */
	bool may_renew = g->enabled && keeper_link_tick(g->keeper, msg, now);
	free(msg);
	if (may_renew && !g->lease)
		g->lease = ha_lease_start(&g->a->cfg, host_id, LEASE_RENEW_MS);
	if (g->lease) {
		isolation(g, now);
		json_t *vms = running_vms(g);
		ha_lease_set_record(g->lease, g->isolated ? "isolated" : "alive", vms);
		json_decref(vms);
		for (int i = 0; i < g->a->cfg.ndatastores; i++) {
			int64_t ago = ha_lease_renewed_ago_ms(g->lease, i);
			if (ago >= g->fence_ms)
				fence(g, i, ago);
		}
	}
	if (!g->ping && now >= g->next_ping_ms) {
		g->next_ping_ms = now + (uint64_t)g->ping_ms;
		send_ping(g);
	}
}

void ha_guard_start(struct agent *a)
{
	struct guard *g = calloc(1, sizeof(*g));
	if (!g)
		return;
	*g = (struct guard){.a = a, .lease_ms = DEFAULT_LEASE_MS, .fence_ms = DEFAULT_FENCE_MS,
	                    .ping_ms = DEFAULT_PING_MS, .net_timeout_ms = DEFAULT_NET_TIMEOUT_MS,
	                    .protected_vms = json_object(), .fenced = json_array(),
	                    .keeper = keeper_link_new(a->cfg.run_dir)};
	load(g);
	the_guard = g;
	g->timer = loop_timer_after(a->loop, TICK_MS, tick, g);
}

void ha_guard_stop(struct agent *a)
{
	struct guard *g = the_guard;
	if (!g)
		return;
	if (g->timer)
		loop_timer_cancel(a->loop, g->timer);
	if (g->ping)
		hc_cancel(g->ping);
	for (int i = 0; i < g->npeers; i++)
		probe_close(g, &g->peers[i]);
	ha_lease_stop(g->lease);
	/* After the lease thread: the keeper takes over only once this agent
	 * no longer writes. */
	keeper_link_free(g->keeper);
	json_decref(g->protected_vms);
	json_decref(g->fenced);
	free(g);
	the_guard = NULL;
}

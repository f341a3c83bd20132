/* main.c - vdcd: opens the store (migrating it), makes the admin token at
 * first start, finishes what a crash interrupted, then serves the API and
 * runs the task workers and the host liveness check. */
#include "api.h"
#include "auth.h"
#include "console_proxy.h"
#include "console_ticket.h"
#include "env_vdcd.h"
#include "inventory.h"
#include "live_hub.h"
#include "library.h"
#include "login_guard.h"
#include "quota.h"

#include "agent_async.h"
#include "charts.h"
#include "history.h"
#include "agent_client.h"
#include "fault_scope.h"
#include "fsutil.h"
#include "ha.h"
#include "log.h"
#include "loop.h"
#include "loop_jobs.h"
#include "pki.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_BODY (512 * 1024)

/* Every connection is a descriptor: takes the soft RLIMIT_NOFILE up to the
 * hard one, and keeps max_connections (both listeners) below what is left
 * after a reserve for the store, the agents' connections and files. */
static void raise_fd_limit(struct mgr_config *c)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			rl.rlim_cur = was;
	}
	const rlim_t reserve = 256;
	rlim_t room = rl.rlim_cur > reserve * 2 ? rl.rlim_cur - reserve : rl.rlim_cur / 2;
	unsigned listeners = c->agent_listen[0] ? 2 : 1;
	if ((rlim_t)c->max_connections * listeners > room) {
		unsigned fit = (unsigned)(room / listeners);
		log_warn("max_connections_lowered", "from=%u to=%u nofile=%llu hint=%s",
		         c->max_connections, fit, (unsigned long long)rl.rlim_cur,
		         log_quote("raise the open-files limit (LimitNOFILE= in the unit)"));
		c->max_connections = fit;
	}
}

int main(int argc, char **argv)
{
	static struct mgr mgr;
	struct mgr *m = &mgr;
	char err[1024];
	log_set_program("vdcd");
	mgr_config_defaults(&m->cfg);
	int rc = mgr_config_parse_args(&m->cfg, argc, argv, err, sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "vdcd: %s\n", err);
		return rc < 0 ? 2 : 0;
	}
	log_set_level((enum log_level)m->cfg.log_level);
	fault_scope_init(m->cfg.fault_injection); /* before any JSON is allocated */
	if (m->cfg.fault_injection)
		log_warn("fault_injection_on", "hint=%s", log_quote("for tests only: never in production"));
	raise_fd_limit(&m->cfg);
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		log_error("init_failed", "what=\"libsodium or libcurl\"");
		return 1;
	}
	if (fs_mkdir_p(m->cfg.data_dir, 0700) < 0) {
		log_error("data_dir", "path=%s error=%s", m->cfg.data_dir, log_quote(strerror(errno)));
		return 1;
	}
	if (pki_init(m) < 0)
		return 1;
	if (m->tls)
		agent_client_set_tls(m->tls->client_cert_path, m->tls->client_key_path, m->tls->ca_path);
	struct errinfo e = {0};
	m->st = store_open(m->cfg.store_url, &e);
	if (!m->st) {
		log_error("store_open_failed", "error=%s", log_quote(e.message));
		return 1;
	}
	if (inventory_start(m->st, &e) < 0) {
		log_error("inventory_failed", "error=%s", log_quote(e.message));
		return 1;
	}
	if (auth_bootstrap(m) < 0 || metrics_token_init(m) < 0)
		return 1;
	auth_cache_init(m);
	if (charts_init(m, mgr_heartbeat_interval_s(&m->cfg)) < 0 || history_init(m, m->cfg.history_speedup) < 0) {
		log_error("charts_failed", "error=%s", log_quote("out of memory"));
		return 1;
	}
	quota_recount(m->st);
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->wake, NULL);
	m->started_at = time(NULL);
	tasks_recover(m);

	m->loop = loop_new();
	if (loop_stop_on_signals(m->loop) < 0) {
		log_error("signals_failed", "error=%s", log_quote(strerror(errno)));
		return 1;
	}
	/* Before the workers open their handles: it observes the store. */
	unsigned idle_ms = m->cfg.idle_timeout_s * 1000u;
	struct live_limits ll = {m->cfg.stream_max, m->cfg.stream_ring, idle_ms / 2 < 15000 ? idle_ms / 2 : 15000};
	if (!(m->live = live_hub_new(m, &ll))) {
		log_error("init_failed", "what=\"live streams (eventfd)\"");
		return 1;
	}
	static char spool[1200];
	if (library_prepare(m, spool, sizeof(spool)) < 0) {
		log_error("library_failed", "path=%s error=%s", spool, log_quote(strerror(errno)));
		return 1;
	}
	/* The route table with the operator's upload limit on streamed routes. */
	struct http_route *routes = calloc(mgr_nroutes, sizeof(*routes));
	if (!routes)
		return 1;
	memcpy(routes, mgr_routes, mgr_nroutes * sizeof(*routes));
	for (size_t i = 0; i < mgr_nroutes; i++)
		if (routes[i].upload_max)
			routes[i].upload_max = m->cfg.image_max_bytes;
	if (m->cfg.fault_injection)
		api_debug_wrap_routes(routes, mgr_nroutes);
	if (!m->cfg.ui_dir_set)
		mgr_ui_default_dir(m->cfg.ui_dir, sizeof(m->cfg.ui_dir));
	log_info("ui", "dir=%s", log_quote(m->cfg.ui_dir[0] ? m->cfg.ui_dir : "(none)"));
	struct http_config hc = {.listen = m->cfg.listen, .auth = mgr_auth, .max_body = MAX_BODY, .app = m,
	                         .spool_dir = spool,
	                         .headers = mgr_security_headers,
	                         .fallback = &mgr_ui_fallback, .fallback_exclude = "/api/",
	                         .max_connections = m->cfg.max_connections,
	                         .max_connections_per_address = m->cfg.max_connections_per_address,
	                         .idle_timeout_s = m->cfg.idle_timeout_s};
	if (m->tls) {
		/* Client certificates are asked for, not required: users connect
		 * without one; the heartbeat route checks the hosts'. */
		hc.tls_cert = m->tls->chain;
		hc.tls_key = m->tls->key;
		hc.tls_trust = m->tls->ca;
	}
	m->http = http_server_start(&hc, routes, mgr_nroutes, m->loop, err, sizeof(err));
	if (!m->http) {
		log_error("listen_failed", "error=%s", log_quote(err));
		return 1;
	}
	if (m->cfg.agent_listen[0]) {
		/* Same TLS and auth; its own connection budget, all of it for
		 * agents (one connection each, a few during a join). */
		struct http_config ac = hc;
		ac.listen = m->cfg.agent_listen;
		ac.fallback = NULL; /* no web UI there */
		ac.max_connections_per_address = 16;
		m->agent_http = http_server_start(&ac, mgr_agent_routes, mgr_agent_nroutes, m->loop, err,
		                                  sizeof(err));
		if (!m->agent_http) {
			log_error("listen_failed", "what=agents error=%s", log_quote(err));
			return 1;
		}
	}
	if (agent_async_init(m) < 0 || !(m->jobs = loop_jobs_new(m->loop, 4))) {
		log_error("init_failed", "what=\"calls to agents (libcurl multi), jobs\"");
		return 1;
	}
	if (login_guard_init(m) < 0) {
		log_error("init_failed", "what=\"password hashing\"");
		return 1;
	}
	if (tasks_start_workers(m, &e) < 0) {
		log_error("workers_failed", "error=%s", log_quote(e.message));
		return 1;
	}
	vdcd_controllers_start(m);
	history_start(m);
	if (ha_init(m) < 0)
		log_error("ha_start_failed", "reason=%s", log_quote("out of memory: no HA controller"));
	log_info("vdcd_ready",
	         "listen=%s agent_listen=%s tls=%s public_url=%s heartbeat_url=%s store=%s schema=%d "
	         "workers=%d pid=%d",
	         m->cfg.listen, m->cfg.agent_listen[0] ? m->cfg.agent_listen : "none",
	         m->tls ? "on" : "off", m->cfg.public_url,
	         m->cfg.heartbeat_url[0] ? m->cfg.heartbeat_url : m->cfg.public_url, store_backend(m->st),
	         store_schema_version(m->st), m->nworkers, (int)getpid());
	loop_run(m->loop);
	log_info("vdcd_stopping", "reason=signal");
	tasks_stop_workers(m);
	console_proxy_stop(m); /* closes console streams, */
	agent_async_free(m); /* answers requests still waiting on an agent, */
	loop_jobs_free(m->jobs); /* on a job (an upload's fsync), */
	login_guard_free(m); /* and logins still hashing, before the server goes */
	live_hub_close_streams(m->live); /* streams end, so that none is left suspended */
	http_server_stop(m->agent_http);
	http_server_stop(m->http);
	free(routes);
	live_hub_free(m->live);
	console_tickets_free(m);
	auth_cache_free(m);
	history_free(m); /* its last minute to the store first */
	charts_free(m);
	ha_free(m);
	loop_free(m->loop);
	inventory_stop();
	store_close(m->st);
	pki_free(m);
	curl_global_cleanup();
	return 0;
}

/* main.c - vdcd: opens the store (migrating it), makes the admin token at
 * first start, finishes what a crash interrupted, then serves the API and
 * runs the task workers and the host liveness check. */
#include "api.h"

#include "agent_client.h"
#include "fsutil.h"
#include "log.h"
#include "loop.h"
#include "pki.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BODY (512 * 1024)

/* The admin token: made once, shown in a 0600 file, kept as a hash. */
static int bootstrap_admin(struct mgr *m)
{
	char path[1100];
	snprintf(path, sizeof(path), "%s/admin.token", m->cfg.data_dir);
	struct errinfo e = {0};
	char key[65];
	mgr_sha256_hex("vdc:admin-token", key); /* secrets are keyed by hashes */
	char *grant = store_secret_take(m->st, "api", key, false, 0, &e);
	if (grant) {
		json_t *g = json_loads(grant, 0, NULL);
		snprintf(m->admin_hash, sizeof(m->admin_hash), "%s",
		         json_string_value(json_object_get(g, "hash")) ?: "");
		json_decref(g);
		free(grant);
		return 0;
	}
	char token[64], doc[160];
	mgr_secret("vdca_", token, sizeof(token));
	mgr_sha256_hex(token, m->admin_hash);
	snprintf(doc, sizeof(doc), "{\"role\":\"admin\",\"hash\":\"%s\"}", m->admin_hash);
	e = (struct errinfo){0};
	if (store_secret_add(m->st, "api", key, 0, doc, &e) < 0) {
		log_error("admin_token_failed", "error=%s", log_quote(e.message));
		return -1;
	}
	char line[80];
	int n = snprintf(line, sizeof(line), "%s\n", token);
	if (fs_write_atomic(path, line, (size_t)n, 0600) < 0) {
		log_error("admin_token_write_failed", "path=%s", path);
		return -1;
	}
	log_info("admin_token_created", "path=%s", path);
	return 0;
}


static void on_liveness(void *ctx);
static void schedule_liveness(struct mgr *m) { loop_timer_after(m->loop, 2000, on_liveness, m); }
static void on_liveness(void *ctx)
{
	struct mgr *m = ctx;
	hosts_check_liveness(m);
	schedule_liveness(m);
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
	if (bootstrap_admin(m) < 0 ||
	    sodium_hex2bin(m->admin_digest, sizeof(m->admin_digest), m->admin_hash, 64, NULL, NULL, NULL) != 0) {
		log_error("admin_token_unreadable", "hint=\"the stored admin token hash is damaged\"");
		return 1;
	}
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->wake, NULL);
	m->started_at = time(NULL);
	tasks_recover(m);

	m->loop = loop_new();
	if (loop_stop_on_signals(m->loop) < 0) {
		log_error("signals_failed", "error=%s", log_quote(strerror(errno)));
		return 1;
	}
	struct http_config hc = {.listen = m->cfg.listen, .auth = mgr_auth, .max_body = MAX_BODY, .app = m};
	if (m->tls) {
		/* Client certificates are asked for, not required: users connect
		 * without one; the heartbeat route checks the hosts'. */
		hc.tls_cert = m->tls->chain;
		hc.tls_key = m->tls->key;
		hc.tls_trust = m->tls->ca;
	}
	m->http = http_server_start(&hc, mgr_routes, mgr_nroutes, m->loop, err, sizeof(err));
	if (!m->http) {
		log_error("listen_failed", "error=%s", log_quote(err));
		return 1;
	}
	if (tasks_start_workers(m, &e) < 0) {
		log_error("workers_failed", "error=%s", log_quote(e.message));
		return 1;
	}
	schedule_liveness(m);
	log_info("vdcd_ready", "listen=%s tls=%s public_url=%s store=%s schema=%d workers=%d pid=%d",
	         m->cfg.listen, m->tls ? "on" : "off", m->cfg.public_url, store_backend(m->st),
	         store_schema_version(m->st), m->nworkers, (int)getpid());
	loop_run(m->loop);
	log_info("vdcd_stopping", "reason=signal");
	tasks_stop_workers(m);
	http_server_stop(m->http);
	loop_free(m->loop);
	store_close(m->st);
	pki_free(m);
	curl_global_cleanup();
	return 0;
}

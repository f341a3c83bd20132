/* pki.c - vdcd's certificates on disk (DATA/tls) and the hosts'. The CA
 * is made once and kept; vdcd's own server certificate is cheap to remake,
 * so it is remade whenever it no longer names what vdcd listens as. */
#include "pki.h"

#include "fsutil.h"
#include "log.h"
#include "manager.h"
#include "url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVER_DAYS 730  /* remade at start within 30 days of its end */
#define HOST_DAYS 1825   /* hosts have no renewal yet: the longest we allow */
#define RENEW_DAYS 30
#define MAX_SANS 24

struct paths {
	char dir[1100];
	char ca[1100], ca_key[1100];
};

static void path_in(const char *dir, const char *file, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", dir, file);
}

static void fail(const char *what, const char *err, const char *hint)
{
	log_error("tls_setup_failed", "what=%s error=%s hint=%s", what, log_quote(err),
	          hint ? hint : "\"fix or remove the file named, then start vdcd again\"");
}

/* Loads a cert and its key, or makes them when either is missing. */
static int load_or_make_ca(struct mgr_tls *t, const struct paths *p)
{
	char err[1400];
	if (fs_exists(p->ca) || fs_exists(p->ca_key)) {
		t->ca = tls_read_pem(p->ca, err, sizeof(err));
		t->ca_key = t->ca ? tls_read_pem(p->ca_key, err, sizeof(err)) : NULL;
		if (!t->ca_key) {
			fail("ca", err, "\"restore DATA/tls/ca.pem and ca.key from a backup: hosts trust this CA\"");
			return -1;
		}
		if (tls_key_matches(t->ca, t->ca_key) != 1) {
			fail("ca", "DATA/tls/ca.key does not belong to ca.pem",
			     "\"restore both from one backup: hosts trust this CA\"");
			return -1;
		}
		return 0;
	}
	if (tls_make_ca(&t->ca, &t->ca_key, err, sizeof(err)) < 0 ||
	    tls_write_pem(p->ca_key, t->ca_key, 1, err, sizeof(err)) < 0 ||
	    tls_write_pem(p->ca, t->ca, 0, err, sizeof(err)) < 0) {
		fail("ca", err, NULL);
		return -1;
	}
	log_info("tls_ca_created", "path=%s", p->ca);
	return 0;
}

/* A leaf of vdcd's CA at cert_path/key_path: kept when it still fits
 * (verifies, names all of sans, has time left), else remade. */
static int load_or_make_leaf(struct mgr_tls *t, const char *cert_path, const char *key_path,
                             const char *const *sans, int server_auth, char **cert, char **key)
{
	char err[1400];
	*cert = fs_exists(cert_path) ? tls_read_pem(cert_path, err, sizeof(err)) : NULL;
	*key = *cert && fs_exists(key_path) ? tls_read_pem(key_path, err, sizeof(err)) : NULL;
	if (*cert && *key && tls_key_matches(*cert, *key) == 1 &&
	    tls_cert_fits(*cert, t->ca, sans, RENEW_DAYS) == 1)
		return 0;
	free(*cert);
	tls_free_secret(*key);
	*cert = *key = NULL;
	char *csr = NULL;
	struct tls_leaf leaf = {.cn = "vdcd", .sans = sans, .server_auth = server_auth,
	                        .client_auth = 1, .days = SERVER_DAYS};
	int rc = tls_make_key_csr("vdcd", key, &csr, err, sizeof(err)) < 0 ||
	         tls_issue(t->ca, t->ca_key, csr, &leaf, cert, NULL, err, sizeof(err)) < 0 ||
	         tls_write_pem(key_path, *key, 1, err, sizeof(err)) < 0 ||
	         tls_write_pem(cert_path, *cert, 0, err, sizeof(err)) < 0;
	free(csr);
	if (rc) {
		fail(cert_path, err, NULL);
		return -1;
	}
	log_info("tls_certificate_made", "path=%s", cert_path);
	return 0;
}

/* The names vdcd's own certificate carries: where it listens (unless on
 * every address), its public URL's host, the agents' listener's host,
 * --tls-san, and loopback. */
static int wanted_sans(const struct mgr_config *c, char names[MAX_SANS][256], const char **list)
{
	int n = 0;
	char host[256], port[16];
	struct url u;
	const char *cand[MAX_SANS];
	int nc = 0;
	if (url_split_hostport(c->listen, host, sizeof(host), port, sizeof(port)) == 0 &&
	    !url_host_is_any(host))
		cand[nc++] = host;
	if (url_parse(c->public_url, &u) == 0)
		cand[nc++] = u.host;
	struct url hb;
	if (c->heartbeat_url[0] && url_parse(c->heartbeat_url, &hb) == 0)
		cand[nc++] = hb.host; /* --agent-listen on an address of its own */
	for (int i = 0; i < c->ntls_sans; i++)
		cand[nc++] = c->tls_sans[i];
	cand[nc++] = "localhost";
	cand[nc++] = "127.0.0.1";
	cand[nc++] = "::1";
	for (int i = 0; i < nc; i++) {
		int dup = 0;
		for (int k = 0; k < n; k++)
			dup |= !strcmp(names[k], cand[i]);
		if (!dup)
			snprintf(names[n++], 256, "%s", cand[i]);
	}
	for (int i = 0; i < n; i++)
		list[i] = names[i];
	list[n] = NULL;
	return n;
}

/* The operator's certificate: its chain and key, and the CA agents pin
 * (--tls-ca, else the chain's last certificate). */
static int load_operator(struct mgr *m, struct mgr_tls *t)
{
	const struct mgr_config *c = &m->cfg;
	char err[1400];
	char *chain = tls_read_pem(c->tls_cert, err, sizeof(err));
	t->key = chain ? tls_read_pem(c->tls_key, err, sizeof(err)) : NULL;
	if (!t->key) {
		free(chain);
		fail("--tls-cert/--tls-key", err, NULL);
		return -1;
	}
	if (tls_key_matches(chain, t->key) != 1) {
		free(chain);
		fail("--tls-key", "the key does not belong to the first certificate of --tls-cert",
		     "\"give the key of the server certificate (the chain's first)\"");
		return -1;
	}
	t->server_ca = c->tls_ca[0] ? tls_read_pem(c->tls_ca, err, sizeof(err)) : tls_cert_last(chain);
	if (!t->server_ca) {
		free(chain);
		fail("--tls-ca", c->tls_ca[0] ? err : "no certificate in --tls-cert", NULL);
		return -1;
	}
	/* The pinned CA must be in what vdcd presents: agents look for it there. */
	char fp[TLS_FP_LEN] = "", *last = tls_cert_last(chain);
	if (!last || tls_fingerprint_pem(last, fp) < 0 ||
	    tls_fingerprint_pem(t->server_ca, t->ca_fingerprint) < 0 || strcmp(fp, t->ca_fingerprint))
		if (asprintf(&t->chain, "%s%s", chain, t->server_ca) < 0)
			t->chain = NULL;
	if (!t->chain)
		t->chain = strdup(chain);
	free(last);
	free(chain);
	if (!t->chain || tls_fingerprint_pem(t->server_ca, t->ca_fingerprint) < 0) {
		fail("--tls-ca", "the CA certificate does not parse", NULL);
		return -1;
	}
	return 0;
}

int pki_init(struct mgr *m)
{
	if (m->cfg.plain_http)
		return 0;
	struct mgr_tls *t = calloc(1, sizeof(*t));
	struct paths p;
	if (!t)
		return -1;
	m->tls = t;
	snprintf(p.dir, sizeof(p.dir), "%s/tls", m->cfg.data_dir);
	if (fs_mkdir_p(p.dir, 0700) < 0) {
		fail(p.dir, "cannot make the directory", NULL);
		return -1;
	}
	path_in(p.dir, "ca.pem", p.ca, sizeof(p.ca));
	path_in(p.dir, "ca.key", p.ca_key, sizeof(p.ca_key));
	snprintf(t->ca_path, sizeof(t->ca_path), "%s", p.ca);
	if (load_or_make_ca(t, &p) < 0)
		return -1;
	char names[MAX_SANS][256];
	const char *sans[MAX_SANS + 1];
	int nsans = wanted_sans(&m->cfg, names, sans);
	char *cert = NULL;
	const char *which;
	if (m->cfg.tls_cert[0]) {
		/* The operator's certificate serves; vdcd's own CA still signs the
		 * hosts' and vdcd's client certificate toward them. */
		char *key = NULL;
		path_in(p.dir, "client.pem", t->client_cert_path, sizeof(t->client_cert_path));
		path_in(p.dir, "client.key", t->client_key_path, sizeof(t->client_key_path));
		if (load_operator(m, t) < 0 ||
		    load_or_make_leaf(t, t->client_cert_path, t->client_key_path, NULL, 0, &cert, &key) < 0)
			return -1;
		tls_free_secret(key);
		which = "operator";
	} else {
		path_in(p.dir, "server.pem", t->client_cert_path, sizeof(t->client_cert_path));
		path_in(p.dir, "server.key", t->client_key_path, sizeof(t->client_key_path));
		if (load_or_make_leaf(t, t->client_cert_path, t->client_key_path, sans, 1, &cert, &t->key) < 0)
			return -1;
		if (asprintf(&t->chain, "%s%s", cert, t->ca) < 0)
			return -1;
		t->server_ca = strdup(t->ca);
		tls_fingerprint_pem(t->ca, t->ca_fingerprint);
		which = "own";
	}
	free(cert);
	char namelist[1024] = "";
	for (int i = 0; i < nsans; i++)
		snprintf(namelist + strlen(namelist), sizeof(namelist) - strlen(namelist), "%s%s",
		         i ? "," : "", sans[i]);
	char lhost[256], lport[16];
	if (!m->cfg.tls_cert[0] && url_split_hostport(m->cfg.listen, lhost, sizeof(lhost), lport,
	                                              sizeof(lport)) == 0 &&
	    url_host_is_any(lhost) && url_host_is_loopback(names[0]) && !m->cfg.ntls_sans)
		log_warn("tls_names_loopback_only", "listen=%s hint=%s", m->cfg.listen,
		         log_quote("vdcd's certificate names only loopback: give --public-url "
		                   "https://HOST:PORT or --tls-san HOST for the name agents use"));
	/* A fingerprint is public: it is what operators hand to agents. */
	log_info("tls_ready", "ca_fingerprint=%s certificate=%s names=%s", t->ca_fingerprint, which,
	         m->cfg.tls_cert[0] ? "(operator's)" : namelist);
	return 0;
}

void pki_free(struct mgr *m)
{
	struct mgr_tls *t = m->tls;
	if (!t)
		return;
	free(t->chain);
	tls_free_secret(t->key);
	free(t->ca);
	tls_free_secret(t->ca_key);
	free(t->server_ca);
	free(t);
	m->tls = NULL;
}

int pki_issue_host(struct mgr *m, const char *host_id, const char *agent_url, const char *csr_pem,
                   char **cert_pem, char fp[TLS_FP_LEN], char serial[33], struct errinfo *e)
{
	struct url u;
	char err[600];
	if (url_parse(agent_url, &u) < 0 || url_host_is_any(u.host)) {
		errinfo_set(e, 400, "invalid_request", "agent_url",
		            "agent_url: give the address vdcd reaches the agent at (the agent's "
		            "--advertise-url), not '%s'", agent_url);
		return -1;
	}
	const char *sans[] = {u.host, NULL};
	struct tls_leaf leaf = {.cn = host_id, .sans = sans, .server_auth = 1, .client_auth = 1,
	                        .days = HOST_DAYS};
	if (tls_issue(m->tls->ca, m->tls->ca_key, csr_pem, &leaf, cert_pem, serial, err,
	              sizeof(err)) < 0) {
		int san = strstr(err, "neither an IP") != NULL;
		errinfo_set(e, 400, "invalid_request", san ? "agent_url" : "csr", "%s: %s",
		            san ? "agent_url" : "csr", err);
		return -1;
	}
	tls_fingerprint_pem(*cert_pem, fp);
	return 0;
}

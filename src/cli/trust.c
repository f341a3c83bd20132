/* trust.c - the CA vdc trusts for an https vdcd. The CA is fetched on a
 * connection that is not verified, so nothing secret is sent on it: the
 * fingerprint the user checks (or pins) is what makes the CA trusted. */
#include "trust.h"

#include "cli.h"
#include "client.h"
#include "fsutil.h"
#include "prompt.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END "-----END CERTIFICATE-----"
#define CA_PEM_MAX (64 * 1024)

static void hex_fingerprint(const unsigned char *der, size_t len, char fp[TRUST_FP_SIZE])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, der, len);
	memcpy(fp, "sha256:", 7);
	sodium_bin2hex(fp + 7, TRUST_FP_SIZE - 7, h, sizeof(h));
}

/* The first certificate block of a PEM text: *begin at its BEGIN line,
 * *end just after its END marker. Returns 0, or -1 when there is none. */
static int pem_block(const char *pem, size_t len, const char **begin, const char **end)
{
	const char *b = memmem(pem, len, PEM_BEGIN, strlen(PEM_BEGIN));
	const char *e = b ? memmem(b, (size_t)(pem + len - b), PEM_END, strlen(PEM_END)) : NULL;
	if (!b || !e)
		return -1;
	*begin = b;
	*end = e + strlen(PEM_END);
	return 0;
}

int trust_pem_fingerprint(const char *pem, size_t len, char fp[TRUST_FP_SIZE], char *err,
                          size_t errlen)
{
	const char *b, *e;
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium cannot start");
		return -1;
	}
	if (pem_block(pem, len, &b, &e) < 0) {
		snprintf(err, errlen, "no PEM certificate (no '%s' ... '%s' block)", PEM_BEGIN, PEM_END);
		return -1;
	}
	b += strlen(PEM_BEGIN);
	e -= strlen(PEM_END);
	size_t b64_len = (size_t)(e - b);
	unsigned char *der = malloc(b64_len);
	size_t der_len = 0;
	const char *stop = NULL;
	int rc = -1;
	if (!der) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (sodium_base642bin(der, b64_len, b, b64_len, " \t\r\n", &der_len, &stop,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    stop != e || der_len < 2 || der[0] != 0x30) {
		snprintf(err, errlen, "the PEM certificate block is not valid base64 DER");
	} else {
		hex_fingerprint(der, der_len, fp);
		rc = 0;
	}
	free(der);
	return rc;
}

int trust_normalize_fingerprint(const char *in, char fp[TRUST_FP_SIZE])
{
	if (!strncasecmp(in, "sha256:", 7))
		in += 7;
	char hex[65];
	size_t n = 0;
	for (const char *p = in; *p; p++) {
		if (*p == ':' && n && n % 2 == 0 && p[1] && p[-1] != ':')
			continue;
		if (!isxdigit((unsigned char)*p) || n == 64)
			return -1;
		hex[n++] = (char)tolower((unsigned char)*p);
	}
	if (n != 64)
		return -1;
	hex[n] = '\0';
	snprintf(fp, TRUST_FP_SIZE, "sha256:%s", hex);
	return 0;
}

int trust_ca_path(const char *config_file, const char *server, char *buf, size_t n)
{
	if (strncmp(server, "https://", 8))
		return -1;
	const char *host = server + 8;
	size_t hlen = strcspn(host, "/?#");
	const char *port = "443";
	size_t plen = 3;
	char name[300];
	if (host[0] == '[') { /* [::1]:7443 */
		const char *close = memchr(host, ']', hlen);
		if (!close)
			return -1;
		if (close[1] == ':') {
			port = close + 2;
			plen = hlen - (size_t)(port - host);
		}
		hlen = (size_t)(close - host) + 1;
	} else {
		const char *colon = memchr(host, ':', hlen);
		if (colon) {
			port = colon + 1;
			plen = hlen - (size_t)(port - host);
			hlen = (size_t)(colon - host);
		}
	}
	if (!hlen || !plen || hlen + plen + 8 >= sizeof(name) || strspn(port, "0123456789") != plen)
		return -1;
	size_t o = (size_t)snprintf(name, sizeof(name), "ca-");
	for (size_t i = 0; i < hlen; i++) {
		char ch = host[i];
		name[o++] = isalnum((unsigned char)ch) || ch == '.' || ch == '-' ? (char)tolower((unsigned char)ch) : '_';
	}
	snprintf(name + o, sizeof(name) - o, "_%.*s.pem", (int)plen, port);
	const char *slash = strrchr(config_file, '/');
	int len = slash ? snprintf(buf, n, "%.*s/%s", (int)(slash - config_file), config_file, name)
	                : snprintf(buf, n, "%s", name);
	return len >= 0 && (size_t)len < n ? 0 : -1;
}

void trust_known_ca(const char *config_file, struct cli_config *cfg)
{
	char path[1024];
	if (!cfg->ca_file[0] && config_file[0] &&
	    trust_ca_path(config_file, cfg->server, path, sizeof(path)) == 0 && fs_exists(path))
		snprintf(cfg->ca_file, sizeof(cfg->ca_file), "%s", path);
}

/* GET /api/v1/ca on a connection that is not verified and carries no token.
 * Sets *doc to the reply. Returns an exit code, the reason printed. */
static int fetch_ca(struct cli *c, json_t **doc)
{
	struct cli_config anon = {0};
	snprintf(anon.server, sizeof(anon.server), "%s", c->cfg.server);
	struct client *cl = client_new(&anon);
	if (!cl) {
		cli_error(c, "cannot start the HTTP client (libcurl)");
		return CLI_FAIL;
	}
	client_trust_any(cl);
	struct client_resp r;
	int rc = client_request(cl, "GET", "/api/v1/ca", NULL, &r);
	client_free(cl);
	struct apierr_ctx x = {c->cfg.server, NULL, NULL, NULL, NULL};
	char msg[4096];
	*doc = NULL;
	if (rc < 0) {
		rc = apierr_unreachable(&x, r.error, msg, sizeof(msg));
		cli_error(c, "%s", msg);
		return rc;
	}
	if (r.status == 404) {
		cli_error(c, "vdcd at %s does not show its CA (GET /api/v1/ca: 404): it may be older than "
		             "this vdc; get its CA fingerprint from its operator", c->cfg.server);
		client_resp_free(&r);
		return CLI_FAIL;
	}
	if (r.status != 200) {
		rc = apierr_describe(&x, r.status, r.body, msg, sizeof(msg));
		cli_error(c, "cannot get vdcd's CA: %s", msg);
		client_resp_free(&r);
		return rc ? rc : CLI_FAIL;
	}
	*doc = json_loads(r.body, 0, NULL);
	client_resp_free(&r);
	if (!json_is_string(json_object_get(*doc, "ca_certificate"))) {
		cli_error(c, "vdcd's reply to GET /api/v1/ca has no \"ca_certificate\"");
		json_decref(*doc);
		*doc = NULL;
		return CLI_FAIL;
	}
	return 0;
}

/* The fingerprint of the CA kept for this server, if any: *file is set to
 * its path. Returns 0 (fp empty when none is kept), or an exit code. */
static int known_ca(struct cli *c, char *file, size_t n, char fp[TRUST_FP_SIZE])
{
	char err[512];
	fp[0] = '\0';
	if (c->cfg.ca_file[0])
		snprintf(file, n, "%s", c->cfg.ca_file);
	else if (trust_ca_path(c->config_file, c->cfg.server, file, n) < 0 || !fs_exists(file))
		return 0;
	size_t len = 0;
	char *pem = fs_read_all(file, CA_PEM_MAX, &len);
	if (!pem) {
		cli_error(c, "cannot read %s, the CA trusted for %s: %s\nfix it, or remove it and log "
		             "in again", file, c->cfg.server, strerror(errno));
		return CLI_FAIL;
	}
	int rc = trust_pem_fingerprint(pem, len, fp, err, sizeof(err));
	free(pem);
	if (rc < 0) {
		cli_error(c, "%s, the CA trusted for %s: %s\nremove it and log in again", file,
		          c->cfg.server, err);
		return CLI_FAIL;
	}
	if (c->cfg.ca_fingerprint[0] && strcmp(c->cfg.ca_fingerprint, fp)) {
		cli_error(c, "%s no longer holds the CA trusted for %s at login (%s), but one with the "
		             "fingerprint %s\nremove it and log in again", file, c->cfg.server,
		          c->cfg.ca_fingerprint, fp);
		return CLI_AUTH;
	}
	return 0;
}

static void warn_changed(struct cli *c, const char *file, const char *was, const char *now)
{
	fprintf(c->err,
	        "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
	        "@    WARNING: THE CA OF VDCD HAS CHANGED!                  @\n"
	        "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
	        "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n"
	        "Someone could be intercepting your connection to vdcd at %s,\n"
	        "or vdcd's CA was made anew. Nothing was sent to it.\n"
	        "  trusted CA:   %s\n    (kept in %s)\n"
	        "  CA offered:   %s\n"
	        "If you know that vdcd's CA was replaced, compare the new fingerprint with the\n"
	        "one vdcd printed at its start, then run\n"
	        "  vdc login --server %s --ca-fingerprint %s\n"
	        "or remove %s and log in again.\n",
	        c->cfg.server, was, file, now, c->cfg.server, now, file);
	cli_error(c, "the CA of vdcd at %s has changed; login refused", c->cfg.server);
}

/* Asks, or refuses without a terminal. Returns 0 when trusted. */
static int ask(struct cli *c, const char *fp, int yes)
{
	if (yes) {
		fprintf(c->err, "warning: trusting the CA of vdcd at %s unchecked (--yes): %s\n",
		        c->cfg.server, fp);
		return 0;
	}
	if (!isatty(STDIN_FILENO)) {
		cli_error(c, "the CA of vdcd at %s is not trusted yet, and there is no terminal to ask\n"
		             "its fingerprint is %s; compare it with the one vdcd printed at its start, "
		             "then run\n  vdc login --server %s --ca-fingerprint %s\n"
		             "(or add --yes to trust it unchecked)",
		          c->cfg.server, fp, c->cfg.server, fp);
		return CLI_AUTH;
	}
	fprintf(c->err, "The authenticity of vdcd at %s can't be established.\n"
	                "Its CA fingerprint is %s.\n"
	                "Compare it with the one vdcd printed at its start.\n", c->cfg.server, fp);
	if (!prompt_yes_no(c->err, "Trust it? [y/N] ")) {
		cli_error(c, "the CA of vdcd at %s was not trusted; login cancelled", c->cfg.server);
		return CLI_AUTH;
	}
	return 0;
}

/* Keeps the certificate block fingerprinted, and nothing else, 0600. */
static int save_ca(struct cli *c, const char *pem, char *path, size_t n)
{
	const char *b, *e;
	char dir[1024];
	if (!c->config_file[0] || trust_ca_path(c->config_file, c->cfg.server, path, n) < 0) {
		cli_error(c, "no place to keep vdcd's CA: set VDC_CONFIG or HOME");
		return CLI_FAIL;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	int rc = 0;
	if (slash && slash != dir) {
		*slash = '\0';
		rc = fs_mkdir_p(dir, 0700);
	}
	if (rc == 0 && pem_block(pem, strlen(pem), &b, &e) == 0) {
		char *text = NULL;
		if (asprintf(&text, "%.*s\n", (int)(e - b), b) < 0)
			rc = -ENOMEM;
		else
			rc = fs_write_atomic(path, text, strlen(text), 0600);
		free(text);
	}
	if (rc < 0) {
		cli_error(c, "cannot write %s: %s", path, strerror(-rc));
		return CLI_FAIL;
	}
	return 0;
}

int trust_server(struct cli *c, const char *want_fp, int yes)
{
	if (strncmp(c->cfg.server, "https://", 8)) {
		c->cfg.ca_file[0] = c->cfg.ca_fingerprint[0] = '\0';
		return 0;
	}
	char file[1024] = "", was[TRUST_FP_SIZE], fp[TRUST_FP_SIZE], err[512];
	int rc = known_ca(c, file, sizeof(file), was);
	json_t *doc = NULL;
	if (rc || (rc = fetch_ca(c, &doc)))
		return rc;
	const char *pem = json_string_value(json_object_get(doc, "ca_certificate"));
	const char *said = json_string_value(json_object_get(doc, "fingerprint"));
	char said_fp[TRUST_FP_SIZE];
	if (trust_pem_fingerprint(pem, strlen(pem), fp, err, sizeof(err)) < 0) {
		cli_error(c, "vdcd's CA certificate is unusable: %s", err);
		rc = CLI_FAIL;
	} else if (said && (trust_normalize_fingerprint(said, said_fp) < 0 || strcmp(said_fp, fp))) {
		cli_error(c, "vdcd says its CA fingerprint is %s, but its CA certificate hashes to %s; "
		             "login refused", said, fp);
		rc = CLI_AUTH;
	} else if (want_fp && strcmp(want_fp, fp)) {
		cli_error(c, "the CA of vdcd at %s has the fingerprint %s, not %s as --ca-fingerprint "
		             "says; login refused\ncheck that this is the right server and the right "
		             "fingerprint (vdcd prints it at its start)", c->cfg.server, fp, want_fp);
		rc = CLI_AUTH;
	} else if (was[0] && strcmp(was, fp) && !want_fp) {
		warn_changed(c, file, was, fp);
		rc = CLI_AUTH;
	} else if (was[0] && !strcmp(was, fp)) {
		/* Known and the same: nothing to ask, nothing to write. */
		snprintf(c->cfg.ca_file, sizeof(c->cfg.ca_file), "%s", file);
		snprintf(c->cfg.ca_fingerprint, sizeof(c->cfg.ca_fingerprint), "%s", fp);
	} else if (!want_fp && (rc = ask(c, fp, yes))) {
		/* refused: ask said why */
	} else if (!(rc = save_ca(c, pem, file, sizeof(file)))) {
		if (was[0])
			fprintf(c->err, "note: the CA trusted before (%s) is replaced, as --ca-fingerprint "
			                "says\n", was);
		fprintf(c->err, "Trusting the CA %s for %s (kept in %s)\n", fp, c->cfg.server, file);
		snprintf(c->cfg.ca_file, sizeof(c->cfg.ca_file), "%s", file);
		snprintf(c->cfg.ca_fingerprint, sizeof(c->cfg.ca_fingerprint), "%s", fp);
	}
	json_decref(doc);
	return rc;
}

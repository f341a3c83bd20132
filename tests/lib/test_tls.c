/* test_tls.c - vdc's PKI and TLS helpers: a CA, leaves issued from CSRs
 * (only the CSR's key is used), fingerprints, PEM files, and real
 * handshakes over a socketpair for the client's pin and CA checks and the
 * server's view of a client certificate. */
#include "testutil.h"

#include "tls.h"

#include <fcntl.h>
#include <gnutls/x509.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct pki {
	char *ca, *ca_key;
	char *srv, *srv_key;   /* CN vdcd, SAN 127.0.0.1 and localhost */
	char *host, *host_key; /* CN host-1, clientAuth */
	char *other_ca, *other_ca_key, *other_host, *other_host_key;
};

static struct pki P;

static void issue(const char *ca, const char *ca_key, const char *cn, const char *const *sans,
                  int server, int client, char **cert, char **key)
{
	char *csr, err[256];
	assert_int_equal(tls_make_key_csr("ignored-by-the-issuer", key, &csr, err, sizeof(err)), 0);
	struct tls_leaf leaf = {.cn = cn, .sans = sans, .server_auth = server, .client_auth = client,
	                        .days = 365};
	char serial[33];
	assert_int_equal(tls_issue(ca, ca_key, csr, &leaf, cert, serial, err, sizeof(err)), 0);
	assert_int_equal(strlen(serial), 32);
	free(csr);
}

static int setup(void **state)
{
	char err[256];
	static const char *const srv_sans[] = {"127.0.0.1", "localhost", "::1", NULL};
	static const char *const host_sans[] = {"10.0.0.5", NULL};
	assert_int_equal(tls_make_ca(&P.ca, &P.ca_key, err, sizeof(err)), 0);
	assert_int_equal(tls_make_ca(&P.other_ca, &P.other_ca_key, err, sizeof(err)), 0);
	issue(P.ca, P.ca_key, "vdcd", srv_sans, 1, 1, &P.srv, &P.srv_key);
	issue(P.ca, P.ca_key, "host-1", host_sans, 1, 1, &P.host, &P.host_key);
	issue(P.other_ca, P.other_ca_key, "host-1", host_sans, 1, 1, &P.other_host, &P.other_host_key);
	return 0;
}

static int teardown(void **state)
{
	free(P.ca);
	free(P.srv);
	free(P.host);
	free(P.other_ca);
	free(P.other_host);
	tls_free_secret(P.ca_key);
	tls_free_secret(P.srv_key);
	tls_free_secret(P.host_key);
	tls_free_secret(P.other_ca_key);
	tls_free_secret(P.other_host_key);
	return 0;
}

static gnutls_x509_crt_t crt_of(const char *pem)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d = {(unsigned char *)pem, (unsigned)strlen(pem)};
	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	assert_int_equal(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM), 0);
	return crt;
}

static void test_ca(void **state)
{
	char cn[128], fp[TLS_FP_LEN];
	assert_int_equal(tls_cert_cn(P.ca, cn, sizeof(cn)), 0);
	assert_true(!strncmp(cn, "vdc CA ", 7) && strlen(cn) == 15);
	char cn2[128];
	tls_cert_cn(P.other_ca, cn2, sizeof(cn2));
	assert_string_not_equal(cn, cn2);
	assert_int_equal(tls_fingerprint_pem(P.ca, fp), 0);
	assert_int_equal(strlen(fp), 71);
	assert_true(!strncmp(fp, "sha256:", 7));
	gnutls_x509_crt_t ca = crt_of(P.ca);
	unsigned critical = 0;
	assert_int_equal(gnutls_x509_crt_get_basic_constraints(ca, &critical, NULL, NULL), 1);
	time_t exp = gnutls_x509_crt_get_expiration_time(ca);
	assert_true(exp > time(NULL) + 9 * 365 * 86400L);
	gnutls_x509_crt_deinit(ca);
	assert_true(strstr(P.ca_key, "-----BEGIN PRIVATE KEY-----") != NULL);
	assert_int_equal(tls_key_matches(P.ca, P.ca_key), 1);
	assert_int_equal(tls_key_matches(P.ca, P.srv_key), 0);
}

/* The issuer decides CN, SANs and purpose; the CSR's subject is ignored. */
static void test_issue_uses_only_the_key(void **state)
{
	char cn[128];
	assert_int_equal(tls_cert_cn(P.host, cn, sizeof(cn)), 0);
	assert_string_equal(cn, "host-1");
	assert_int_equal(tls_key_matches(P.host, P.host_key), 1);
	gnutls_x509_crt_t leaf = crt_of(P.host), ca = crt_of(P.ca);
	unsigned status = 99;
	assert_int_equal(gnutls_x509_crt_verify(leaf, &ca, 1, 0, &status), 0);
	assert_int_equal(status, 0);
	assert_int_equal(gnutls_x509_crt_get_basic_constraints(leaf, NULL, NULL, NULL), 0);
	assert_true(gnutls_x509_crt_check_ip(leaf, (const unsigned char *)"\x0a\x00\x00\x05", 4, 0));
	assert_false(gnutls_x509_crt_check_hostname(leaf, "localhost"));
	gnutls_x509_crt_t srv = crt_of(P.srv);
	assert_true(gnutls_x509_crt_check_hostname(srv, "localhost"));
	assert_true(gnutls_x509_crt_check_hostname(srv, "127.0.0.1"));
	assert_true(gnutls_x509_crt_check_hostname(srv, "::1"));
	char oid[128];
	size_t len = sizeof(oid);
	assert_int_equal(gnutls_x509_crt_get_key_purpose_oid(srv, 0, oid, &len, NULL), 0);
	assert_string_equal(oid, GNUTLS_KP_TLS_WWW_SERVER);
	len = sizeof(oid);
	assert_int_equal(gnutls_x509_crt_get_key_purpose_oid(srv, 1, oid, &len, NULL), 0);
	assert_string_equal(oid, GNUTLS_KP_TLS_WWW_CLIENT);
	time_t exp = gnutls_x509_crt_get_expiration_time(srv);
	assert_true(exp > time(NULL) + 364 * 86400L && exp < time(NULL) + 366 * 86400L);
	gnutls_x509_crt_deinit(srv);
	gnutls_x509_crt_deinit(leaf);
	gnutls_x509_crt_deinit(ca);
}

static void test_issue_refuses(void **state)
{
	char *key, *csr, *cert = NULL, err[256];
	assert_int_equal(tls_make_key_csr("x", &key, &csr, err, sizeof(err)), 0);
	struct tls_leaf leaf = {.cn = "h", .server_auth = 1, .days = 365};
	leaf.days = 3650;
	assert_int_equal(tls_issue(P.ca, P.ca_key, csr, &leaf, &cert, NULL, err, sizeof(err)), -1);
	leaf.days = 365;
	static const char *const bad_san[] = {"a b", NULL};
	leaf.sans = bad_san;
	assert_int_equal(tls_issue(P.ca, P.ca_key, csr, &leaf, &cert, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "a b"));
	leaf.sans = NULL;
	assert_int_equal(tls_issue(P.ca, P.ca_key, "not a csr", &leaf, &cert, NULL, err, sizeof(err)), -1);
	/* A CSR whose signature was tampered with proves nothing. */
	char *bad = strdup(csr);
	char *mid = strstr(bad, "-----END") - 10;
	*mid = *mid == 'A' ? 'B' : 'A';
	assert_int_equal(tls_issue(P.ca, P.ca_key, bad, &leaf, &cert, NULL, err, sizeof(err)), -1);
	assert_null(cert);
	free(bad);
	free(csr);
	tls_free_secret(key);
}

static void test_fingerprint_parse(void **state)
{
	char fp[TLS_FP_LEN], out[TLS_FP_LEN];
	tls_fingerprint_pem(P.ca, fp);
	assert_int_equal(tls_fingerprint_parse(fp, out), 0);
	assert_string_equal(out, fp);
	char upper[200] = "SHA256:";
	for (int i = 0; i < 64; i += 2)
		snprintf(upper + strlen(upper), sizeof(upper) - strlen(upper), "%s%c%c", i ? ":" : "",
		         fp[7 + i] >= 'a' ? fp[7 + i] - 32 : fp[7 + i],
		         fp[8 + i] >= 'a' ? fp[8 + i] - 32 : fp[8 + i]);
	assert_int_equal(tls_fingerprint_parse(upper, out), 0);
	assert_string_equal(out, fp);
	assert_int_equal(tls_fingerprint_parse("sha1:abcd", out), -1);
	assert_int_equal(tls_fingerprint_parse("sha256:abcd", out), -1);
	char longer[100];
	snprintf(longer, sizeof(longer), "%s00", fp);
	assert_int_equal(tls_fingerprint_parse(longer, out), -1);
}

static void test_pem_files(void **state)
{
	char dir[] = "/tmp/test_tls.XXXXXX", path[128], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/k.pem", dir);
	assert_int_equal(tls_write_pem(path, P.host_key, 1, err, sizeof(err)), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char *back = tls_read_pem(path, err, sizeof(err));
	assert_string_equal(back, P.host_key);
	tls_free_secret(back);
	unlink(path);
	snprintf(path, sizeof(path), "%s/c.pem", dir);
	char *chain = NULL;
	assert_true(asprintf(&chain, "%s%s", P.srv, P.ca) > 0);
	assert_int_equal(tls_write_pem(path, chain, 0, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(tls_cert_count(chain), 2);
	char *last = tls_cert_last(chain);
	assert_string_equal(last, P.ca);
	free(last);
	free(chain);
	unlink(path);
	assert_null(tls_read_pem(path, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	rmdir(dir);
}

/* ---- handshakes over a socketpair, both ends non-blocking in one thread */

struct ends {
	int fds[2];
	gnutls_certificate_credentials_t scred;
	gnutls_session_t server, client;
	struct tls_client *tc;
};

static void ends_open(struct ends *e, const char *chain, const char *key, struct tls_client *tc)
{
	char err[256];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, e->fds), 0);
	assert_int_equal(gnutls_certificate_allocate_credentials(&e->scred), 0);
	gnutls_datum_t c = {(unsigned char *)chain, (unsigned)strlen(chain)};
	gnutls_datum_t k = {(unsigned char *)key, (unsigned)strlen(key)};
	assert_true(gnutls_certificate_set_x509_key_mem2(e->scred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0) >= 0);
	gnutls_datum_t t = {(unsigned char *)P.ca, (unsigned)strlen(P.ca)};
	assert_int_equal(gnutls_certificate_set_x509_trust_mem(e->scred, &t, GNUTLS_X509_FMT_PEM), 1);
	assert_int_equal(gnutls_init(&e->server, GNUTLS_SERVER | GNUTLS_NONBLOCK), 0);
	gnutls_set_default_priority(e->server);
	gnutls_credentials_set(e->server, GNUTLS_CRD_CERTIFICATE, e->scred);
	gnutls_certificate_server_set_request(e->server, GNUTLS_CERT_REQUEST);
	gnutls_transport_set_int(e->server, e->fds[0]);
	e->tc = tc;
	assert_int_equal(tls_client_session(tc, e->fds[1], "127.0.0.1", &e->client, err, sizeof(err)), 0);
}

/* Steps both handshakes until both are done (or one fails). */
static int ends_handshake(struct ends *e)
{
	int sdone = 0, cdone = 0;
	for (int i = 0; i < 1000 && !(sdone && cdone); i++) {
		if (!sdone) {
			int rc = gnutls_handshake(e->server);
			if (rc == 0)
				sdone = 1;
			else if (gnutls_error_is_fatal(rc))
				return -1;
		}
		if (!cdone) {
			int rc = gnutls_handshake(e->client);
			if (rc == 0)
				cdone = 1;
			else if (gnutls_error_is_fatal(rc))
				return -1;
		}
	}
	return sdone && cdone ? 0 : -1;
}

static void ends_close(struct ends *e)
{
	gnutls_deinit(e->server);
	gnutls_deinit(e->client);
	gnutls_certificate_free_credentials(e->scred);
	tls_client_free(e->tc);
	close(e->fds[0]);
	close(e->fds[1]);
}

static char *server_chain(void)
{
	char *chain = NULL;
	assert_true(asprintf(&chain, "%s%s", P.srv, P.ca) > 0);
	return chain;
}

static void test_client_pin(void **state)
{
	char fp[TLS_FP_LEN], err[512];
	tls_fingerprint_pem(P.ca, fp);
	char *chain = server_chain();
	struct ends e;
	ends_open(&e, chain, P.srv_key, tls_client_new(NULL, NULL, NULL, fp, err, sizeof(err)));
	assert_int_equal(ends_handshake(&e), 0);
	assert_int_equal(tls_client_verify(e.tc, e.client, "127.0.0.1", err, sizeof(err)), 0);
	assert_string_equal(tls_client_anchor(e.tc), P.ca);
	/* The name must match too: a pinned CA is no licence for any name. */
	assert_int_equal(tls_client_verify(e.tc, e.client, "10.9.9.9", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "10.9.9.9"));
	/* No client certificate was sent: the server sees none. */
	assert_int_equal(tls_session_peer(e.server, NULL, 0, NULL), 0);
	ends_close(&e);

	char wrong[TLS_FP_LEN];
	tls_fingerprint_pem(P.other_ca, wrong);
	ends_open(&e, chain, P.srv_key, tls_client_new(NULL, NULL, NULL, wrong, err, sizeof(err)));
	assert_int_equal(ends_handshake(&e), 0);
	assert_int_equal(tls_client_verify(e.tc, e.client, "127.0.0.1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not match --manager-ca-fingerprint"));
	assert_non_null(strstr(err, fp));
	assert_non_null(strstr(err, wrong));
	assert_null(tls_client_anchor(e.tc));
	ends_close(&e);
	free(chain);
}

/* A server whose certificate comes from another CA fails even when it
 * sends the pinned CA along in its chain. */
static void test_client_pin_chain_must_link(void **state)
{
	char fp[TLS_FP_LEN], err[512];
	tls_fingerprint_pem(P.ca, fp);
	static const char *const sans[] = {"127.0.0.1", NULL};
	char *cert, *key, *chain = NULL;
	issue(P.other_ca, P.other_ca_key, "vdcd", sans, 1, 0, &cert, &key);
	assert_true(asprintf(&chain, "%s%s", cert, P.ca) > 0);
	struct ends e;
	ends_open(&e, chain, key, tls_client_new(NULL, NULL, NULL, fp, err, sizeof(err)));
	assert_int_equal(ends_handshake(&e), 0);
	assert_int_equal(tls_client_verify(e.tc, e.client, "127.0.0.1", err, sizeof(err)), -1);
	ends_close(&e);
	free(chain);
	free(cert);
	tls_free_secret(key);
}

static void test_client_ca_and_client_cert(void **state)
{
	char err[512], cn[64], fp[TLS_FP_LEN], hostfp[TLS_FP_LEN];
	char *chain = server_chain();
	struct ends e;
	ends_open(&e, chain, P.srv_key, tls_client_new(P.host, P.host_key, P.ca, NULL, err, sizeof(err)));
	assert_int_equal(ends_handshake(&e), 0);
	assert_int_equal(tls_client_verify(e.tc, e.client, "127.0.0.1", err, sizeof(err)), 0);
	assert_int_equal(tls_session_peer(e.server, cn, sizeof(cn), fp), 1);
	assert_string_equal(cn, "host-1");
	tls_fingerprint_pem(P.host, hostfp);
	assert_string_equal(fp, hostfp);
	ends_close(&e);

	/* Trusting another CA: the server's certificate does not verify. */
	ends_open(&e, chain, P.srv_key,
	          tls_client_new(P.other_host, P.other_host_key, P.other_ca, NULL, err, sizeof(err)));
	if (ends_handshake(&e) == 0) {
		assert_int_equal(tls_client_verify(e.tc, e.client, "127.0.0.1", err, sizeof(err)), -1);
		/* ... and the server does not accept the other CA's client cert. */
		assert_int_equal(tls_session_peer(e.server, cn, sizeof(cn), fp), 0);
	}
	ends_close(&e);
	free(chain);
}

static void test_client_needs_trust(void **state)
{
	char err[256];
	assert_null(tls_client_new(NULL, NULL, NULL, NULL, err, sizeof(err)));
	assert_null(tls_client_new(NULL, NULL, NULL, "sha256:nothex", err, sizeof(err)));
	assert_null(tls_client_new(P.host, P.srv_key, P.ca, NULL, err, sizeof(err)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca),
		cmocka_unit_test(test_issue_uses_only_the_key),
		cmocka_unit_test(test_issue_refuses),
		cmocka_unit_test(test_fingerprint_parse),
		cmocka_unit_test(test_pem_files),
		cmocka_unit_test(test_client_pin),
		cmocka_unit_test(test_client_pin_chain_must_link),
		cmocka_unit_test(test_client_ca_and_client_cert),
		cmocka_unit_test(test_client_needs_trust),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

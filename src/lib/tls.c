/* tls.c - certificates and TLS sessions with GnuTLS. The CA only ever signs
 * what vdcd decides: a CSR contributes its public key and nothing else, so
 * an agent cannot ask for a CA bit, another name or a longer life. */
#include "tls.h"

#include "fsutil.h"
#include "url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CA_DAYS 3650
#define SKEW_S 3600 /* certificates start an hour early: clocks differ */
#define PEM_MAX (64 * 1024)

static void set_err(char *err, size_t errlen, const char *what, int rc)
{
	snprintf(err, errlen, "%s: %s", what, gnutls_strerror(rc));
}

/* A malloc'd, NUL-terminated copy of a GnuTLS datum, which is freed (and
 * zeroed first when secret). */
static char *take_datum(gnutls_datum_t *d, int secret)
{
	char *s = malloc(d->size + 1u);
	if (s) {
		memcpy(s, d->data, d->size);
		s[d->size] = '\0';
	}
	if (secret)
		explicit_bzero(d->data, d->size);
	gnutls_free(d->data);
	d->data = NULL;
	return s;
}

void tls_free_secret(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static gnutls_datum_t datum_of(const char *s)
{
	return (gnutls_datum_t){(unsigned char *)s, (unsigned)strlen(s)};
}

static int new_key(gnutls_x509_privkey_t *key, char *err, size_t errlen)
{
	int rc = gnutls_x509_privkey_init(key);
	if (rc >= 0)
		rc = gnutls_x509_privkey_generate2(*key, GNUTLS_PK_ECDSA,
		                                   GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0,
		                                   NULL, 0);
	if (rc < 0) {
		set_err(err, errlen, "cannot make a P-256 key", rc);
		return -1;
	}
	return 0;
}

static char *export_key(gnutls_x509_privkey_t key)
{
	gnutls_datum_t d = {0};
	if (gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &d) < 0)
		return NULL;
	return take_datum(&d, 1);
}

static char *export_crt(gnutls_x509_crt_t crt)
{
	gnutls_datum_t d = {0};
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d) < 0)
		return NULL;
	return take_datum(&d, 0);
}

/* 16 random bytes, positive and without a leading zero byte, so the DER
 * integer is always 16 bytes. */
static int random_serial(unsigned char serial[16])
{
	if (gnutls_rnd(GNUTLS_RND_NONCE, serial, 16) < 0)
		return -1;
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40);
	return 0;
}

static int set_validity(gnutls_x509_crt_t crt, int days)
{
	time_t now = time(NULL);
	if (gnutls_x509_crt_set_activation_time(crt, now - SKEW_S) < 0 ||
	    gnutls_x509_crt_set_expiration_time(crt, now + (time_t)days * 86400) < 0)
		return -1;
	return 0;
}

static int set_cn(gnutls_x509_crt_t crt, const char *cn)
{
	return gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
	                                     (unsigned)strlen(cn));
}

int tls_make_ca(char **cert_pem, char **key_pem, char *err, size_t errlen)
{
	int ret = -1, rc;
	gnutls_x509_privkey_t key = NULL;
	gnutls_privkey_t pk = NULL;
	gnutls_x509_crt_t crt = NULL;
	unsigned char serial[16], rnd[4], kid[64];
	size_t kidlen = sizeof(kid);
	char cn[64];
	*cert_pem = *key_pem = NULL;
	if (new_key(&key, err, errlen) < 0)
		goto cleanup;
	if (random_serial(serial) < 0 || gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd)) < 0) {
		snprintf(err, errlen, "no random numbers for the CA");
		goto cleanup;
	}
	/* A random part in the name tells two vdcd installations' CAs apart. */
	snprintf(cn, sizeof(cn), "vdc CA %02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	if ((rc = gnutls_x509_crt_init(&crt)) < 0 || (rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (rc = set_cn(crt, cn)) < 0 || (rc = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(crt, 1, 0)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN |
	                                                 GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (rc = gnutls_x509_crt_get_key_id(crt, 0, kid, &kidlen)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_key_id(crt, kid, kidlen)) < 0 ||
	    (rc = set_validity(crt, CA_DAYS)) < 0 || (rc = gnutls_privkey_init(&pk)) < 0 ||
	    (rc = gnutls_privkey_import_x509(pk, key, 0)) < 0 ||
	    (rc = gnutls_x509_crt_privkey_sign(crt, crt, pk, GNUTLS_DIG_SHA256, 0)) < 0) {
		set_err(err, errlen, "cannot make the CA certificate", rc);
		goto cleanup;
	}
	*cert_pem = export_crt(crt);
	*key_pem = export_key(key);
	if (!*cert_pem || !*key_pem) {
		snprintf(err, errlen, "cannot encode the CA as PEM");
		free(*cert_pem);
		tls_free_secret(*key_pem);
		*cert_pem = *key_pem = NULL;
		goto cleanup;
	}
	ret = 0;
cleanup:
	gnutls_privkey_deinit(pk);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return ret;
}

int tls_make_key_csr(const char *cn, char **key_pem, char **csr_pem, char *err, size_t errlen)
{
	int ret = -1, rc;
	gnutls_x509_privkey_t key = NULL;
	gnutls_privkey_t pk = NULL;
	gnutls_x509_crq_t crq = NULL;
	gnutls_datum_t d = {0};
	*key_pem = *csr_pem = NULL;
	if (new_key(&key, err, errlen) < 0)
		goto cleanup;
	if ((rc = gnutls_x509_crq_init(&crq)) < 0 || (rc = gnutls_x509_crq_set_version(crq, 1)) < 0 ||
	    (rc = gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
	                                        (unsigned)strlen(cn))) < 0 ||
	    (rc = gnutls_x509_crq_set_key(crq, key)) < 0 || (rc = gnutls_privkey_init(&pk)) < 0 ||
	    (rc = gnutls_privkey_import_x509(pk, key, 0)) < 0 ||
	    (rc = gnutls_x509_crq_privkey_sign(crq, pk, GNUTLS_DIG_SHA256, 0)) < 0 ||
	    (rc = gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_PEM, &d)) < 0) {
		set_err(err, errlen, "cannot make a certificate request", rc);
		goto cleanup;
	}
	*csr_pem = take_datum(&d, 0);
	*key_pem = export_key(key);
	if (!*csr_pem || !*key_pem) {
		snprintf(err, errlen, "cannot encode the key or request as PEM");
		free(*csr_pem);
		tls_free_secret(*key_pem);
		*key_pem = *csr_pem = NULL;
		goto cleanup;
	}
	ret = 0;
cleanup:
	gnutls_privkey_deinit(pk);
	gnutls_x509_crq_deinit(crq);
	gnutls_x509_privkey_deinit(key);
	return ret;
}

/* Adds one SAN: a textual IP becomes an IP SAN (raw bytes), anything else
 * a DNS name. */
static int add_san(gnutls_x509_crt_t crt, const char *san)
{
	unsigned char ip[16];
	if (inet_pton(AF_INET, san, ip) == 1)
		return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 4,
		                                            GNUTLS_FSAN_APPEND);
	if (inet_pton(AF_INET6, san, ip) == 1)
		return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 16,
		                                            GNUTLS_FSAN_APPEND);
	for (const char *c = san; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '-' || *c == '.'))
			return GNUTLS_E_INVALID_REQUEST;
	if (!*san || strlen(san) > 253)
		return GNUTLS_E_INVALID_REQUEST;
	return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, san, (unsigned)strlen(san),
	                                            GNUTLS_FSAN_APPEND);
}

int tls_issue(const char *ca_cert_pem, const char *ca_key_pem, const char *csr_pem,
              const struct tls_leaf *leaf, char **cert_pem, char serial_hex[33], char *err,
              size_t errlen)
{
	int ret = -1, rc;
	gnutls_x509_crt_t ca = NULL, crt = NULL;
	gnutls_privkey_t cakey = NULL;
	gnutls_x509_crq_t crq = NULL;
	gnutls_pubkey_t pub = NULL;
	unsigned char serial[16], kid[64], akid[64];
	size_t kidlen = sizeof(kid), akidlen = sizeof(akid);
	gnutls_datum_t d;
	*cert_pem = NULL;
	if (!leaf->cn || !*leaf->cn || leaf->days < 365 || leaf->days > 1825 ||
	    !(leaf->server_auth || leaf->client_auth)) {
		snprintf(err, errlen, "a leaf certificate needs a CN, 365 to 1825 days and a purpose");
		goto cleanup;
	}
	d = datum_of(ca_cert_pem);
	if ((rc = gnutls_x509_crt_init(&ca)) < 0 ||
	    (rc = gnutls_x509_crt_import(ca, &d, GNUTLS_X509_FMT_PEM)) < 0) {
		set_err(err, errlen, "the CA certificate does not parse", rc);
		goto cleanup;
	}
	d = datum_of(ca_key_pem);
	if ((rc = gnutls_privkey_init(&cakey)) < 0 ||
	    (rc = gnutls_privkey_import_x509_raw(cakey, &d, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		set_err(err, errlen, "the CA key does not parse", rc);
		goto cleanup;
	}
	d = datum_of(csr_pem);
	if ((rc = gnutls_x509_crq_init(&crq)) < 0 ||
	    (rc = gnutls_x509_crq_import(crq, &d, GNUTLS_X509_FMT_PEM)) < 0) {
		set_err(err, errlen, "the certificate request is not a PEM CSR", rc);
		goto cleanup;
	}
	/* Proof of possession: the CSR is signed by the key it carries. */
	if ((rc = gnutls_x509_crq_verify(crq, 0)) < 0) {
		set_err(err, errlen, "the certificate request's signature does not verify", rc);
		goto cleanup;
	}
	if ((rc = gnutls_pubkey_init(&pub)) < 0 ||
	    (rc = gnutls_pubkey_import_x509_crq(pub, crq, 0)) < 0) {
		set_err(err, errlen, "the certificate request's public key does not parse", rc);
		goto cleanup;
	}
	if (random_serial(serial) < 0) {
		snprintf(err, errlen, "no random numbers for the serial");
		goto cleanup;
	}
	unsigned usage = GNUTLS_KEY_DIGITAL_SIGNATURE;
	if ((rc = gnutls_x509_crt_init(&crt)) < 0 || (rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (rc = set_cn(crt, leaf->cn)) < 0 || (rc = gnutls_x509_crt_set_pubkey(crt, pub)) < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(crt, usage)) < 0 ||
	    (rc = set_validity(crt, leaf->days)) < 0) {
		set_err(err, errlen, "cannot build the certificate", rc);
		goto cleanup;
	}
	if ((leaf->server_auth &&
	     (rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0) ||
	    (leaf->client_auth &&
	     (rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0)) {
		set_err(err, errlen, "cannot set the key purpose", rc);
		goto cleanup;
	}
	for (const char *const *s = leaf->sans; s && *s; s++)
		if ((rc = add_san(crt, *s)) < 0) {
			snprintf(err, errlen, "'%s' is neither an IP address nor a DNS name", *s);
			goto cleanup;
		}
	if ((rc = gnutls_x509_crt_get_key_id(crt, 0, kid, &kidlen)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_key_id(crt, kid, kidlen)) < 0 ||
	    ((rc = gnutls_x509_crt_get_subject_key_id(ca, akid, &akidlen, NULL)) >= 0 &&
	     (rc = gnutls_x509_crt_set_authority_key_id(crt, akid, akidlen)) < 0) ||
	    (rc = gnutls_x509_crt_privkey_sign(crt, ca, cakey, GNUTLS_DIG_SHA256, 0)) < 0) {
		set_err(err, errlen, "cannot sign the certificate", rc);
		goto cleanup;
	}
	*cert_pem = export_crt(crt);
	if (!*cert_pem) {
		snprintf(err, errlen, "cannot encode the certificate as PEM");
		goto cleanup;
	}
	if (serial_hex)
		for (int i = 0; i < 16; i++)
			sprintf(serial_hex + 2 * i, "%02x", serial[i]);
	ret = 0;
cleanup:
	gnutls_pubkey_deinit(pub);
	gnutls_x509_crq_deinit(crq);
	gnutls_privkey_deinit(cakey);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_crt_deinit(ca);
	return ret;
}

void tls_fingerprint_der(const void *der, size_t len, char fp[TLS_FP_LEN])
{
	unsigned char h[32];
	gnutls_hash_fast(GNUTLS_DIG_SHA256, der, len, h);
	memcpy(fp, "sha256:", 7);
	for (int i = 0; i < 32; i++)
		sprintf(fp + 7 + 2 * i, "%02x", h[i]);
}

/* The first certificate of pem, or NULL. */
static gnutls_x509_crt_t first_crt(const char *pem)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d = datum_of(pem);
	if (gnutls_x509_crt_init(&crt) < 0)
		return NULL;
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) < 0) {
		gnutls_x509_crt_deinit(crt);
		return NULL;
	}
	return crt;
}

static int crt_fingerprint(gnutls_x509_crt_t crt, char fp[TLS_FP_LEN])
{
	gnutls_datum_t der = {0};
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) < 0)
		return -1;
	tls_fingerprint_der(der.data, der.size, fp);
	gnutls_free(der.data);
	return 0;
}

int tls_fingerprint_pem(const char *pem, char fp[TLS_FP_LEN])
{
	gnutls_x509_crt_t crt = first_crt(pem);
	if (!crt)
		return -1;
	int rc = crt_fingerprint(crt, fp);
	gnutls_x509_crt_deinit(crt);
	return rc;
}

int tls_fingerprint_parse(const char *in, char out[TLS_FP_LEN])
{
	if (strncasecmp(in, "sha256:", 7) != 0)
		return -1;
	int n = 0;
	memcpy(out, "sha256:", 7);
	for (const char *c = in + 7; *c; c++) {
		if (*c == ':')
			continue;
		char l = (char)(*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
		if (!((l >= '0' && l <= '9') || (l >= 'a' && l <= 'f')) || n == 64)
			return -1;
		out[7 + n++] = l;
	}
	out[7 + n] = '\0';
	return n == 64 ? 0 : -1;
}

static int crt_cn(gnutls_x509_crt_t crt, char *cn, size_t n)
{
	size_t len = n;
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &len) < 0) {
		if (n)
			cn[0] = '\0';
		return -1;
	}
	return 0;
}

int tls_cert_cn(const char *pem, char *cn, size_t n)
{
	gnutls_x509_crt_t crt = first_crt(pem);
	if (!crt)
		return -1;
	int rc = crt_cn(crt, cn, n);
	gnutls_x509_crt_deinit(crt);
	return rc;
}

static int import_list(const char *pem, gnutls_x509_crt_t **list, unsigned *n)
{
	gnutls_datum_t d = datum_of(pem);
	*list = NULL;
	*n = 0;
	return gnutls_x509_crt_list_import2(list, n, &d, GNUTLS_X509_FMT_PEM, 0) < 0 ? -1 : 0;
}

static void free_list(gnutls_x509_crt_t *list, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(list[i]);
	gnutls_free(list);
}

int tls_cert_count(const char *pem)
{
	gnutls_x509_crt_t *list;
	unsigned n;
	if (import_list(pem, &list, &n) < 0)
		return 0;
	free_list(list, n);
	return (int)n;
}

char *tls_cert_last(const char *pem)
{
	gnutls_x509_crt_t *list;
	unsigned n;
	if (import_list(pem, &list, &n) < 0)
		return NULL;
	char *out = n ? export_crt(list[n - 1]) : NULL;
	free_list(list, n);
	return out;
}

int tls_key_matches(const char *cert_pem, const char *key_pem)
{
	int ret = -1;
	gnutls_x509_crt_t crt = first_crt(cert_pem);
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t d = datum_of(key_pem);
	unsigned char a[64], b[64];
	size_t alen = sizeof(a), blen = sizeof(b);
	if (!crt || gnutls_x509_privkey_init(&key) < 0 ||
	    gnutls_x509_privkey_import2(key, &d, GNUTLS_X509_FMT_PEM, NULL, 0) < 0 ||
	    gnutls_x509_crt_get_key_id(crt, 0, a, &alen) < 0 ||
	    gnutls_x509_privkey_get_key_id(key, 0, b, &blen) < 0)
		goto cleanup;
	ret = alen == blen && memcmp(a, b, alen) == 0;
cleanup:
	gnutls_x509_privkey_deinit(key);
	gnutls_x509_crt_deinit(crt);
	return ret;
}

int tls_cert_fits(const char *cert_pem, const char *ca_pem, const char *const *names,
                  int min_days)
{
	int ret = -1;
	unsigned status = 0;
	gnutls_x509_crt_t crt = first_crt(cert_pem), ca = first_crt(ca_pem);
	if (!crt || !ca)
		goto cleanup;
	ret = 0;
	if (gnutls_x509_crt_verify(crt, &ca, 1, 0, &status) < 0 || status != 0 ||
	    gnutls_x509_crt_get_expiration_time(crt) < time(NULL) + (time_t)min_days * 86400)
		goto cleanup;
	for (const char *const *n = names; n && *n; n++)
		if (!gnutls_x509_crt_check_hostname(crt, *n))
			goto cleanup;
	ret = 1;
cleanup:
	gnutls_x509_crt_deinit(ca);
	gnutls_x509_crt_deinit(crt);
	return ret;
}

char *tls_read_pem(const char *path, char *err, size_t errlen)
{
	char *s = fs_read_all(path, PEM_MAX, NULL);
	if (!s) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	if (!strstr(s, "-----BEGIN ")) {
		snprintf(err, errlen, "%s holds no PEM block", path);
		tls_free_secret(s);
		return NULL;
	}
	return s;
}

int tls_write_pem(const char *path, const char *pem, int secret, char *err, size_t errlen)
{
	int rc = fs_write_atomic(path, pem, strlen(pem), secret ? 0600 : 0644);
	if (rc < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
		return -1;
	}
	return 0;
}

int tls_session_peer(gnutls_session_t s, char *cn, size_t cnlen, char fp[TLS_FP_LEN])
{
	unsigned n = 0, status = 0;
	if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509)
		return 0;
	const gnutls_datum_t *peers = gnutls_certificate_get_peers(s, &n);
	if (!peers || n == 0)
		return 0;
	gnutls_typed_vdata_st purpose = {GNUTLS_DT_KEY_PURPOSE_OID,
	                                 (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0};
	if (gnutls_certificate_verify_peers(s, &purpose, 1, &status) < 0 || status != 0)
		return 0;
	if (fp)
		tls_fingerprint_der(peers[0].data, peers[0].size, fp);
	if (cn) {
		gnutls_x509_crt_t crt;
		if (gnutls_x509_crt_init(&crt) < 0)
			return 0;
		int ok = gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) >= 0 &&
		         crt_cn(crt, cn, cnlen) == 0;
		gnutls_x509_crt_deinit(crt);
		if (!ok)
			return 0;
	}
	return 1;
}

struct tls_client {
	gnutls_certificate_credentials_t cred;
	char *ca_pem;
	char pin[TLS_FP_LEN];
	char *anchor_pem; /* what the pin found last */
	char presented[TLS_FP_LEN]; /* the root end of a chain without the pin */
};

struct tls_client *tls_client_new(const char *cert_pem, const char *key_pem, const char *ca_pem,
                                  const char *pin, char *err, size_t errlen)
{
	struct tls_client *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	int rc = gnutls_certificate_allocate_credentials(&c->cred);
	if (rc < 0) {
		set_err(err, errlen, "cannot set up TLS", rc);
		goto fail;
	}
	if (cert_pem && key_pem) {
		gnutls_datum_t cd = datum_of(cert_pem), kd = datum_of(key_pem);
		rc = gnutls_certificate_set_x509_key_mem2(c->cred, &cd, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
		if (rc < 0) {
			set_err(err, errlen, "the client certificate or its key does not load", rc);
			goto fail;
		}
	}
	if (ca_pem) {
		c->ca_pem = strdup(ca_pem);
	} else if (!pin || tls_fingerprint_parse(pin, c->pin) < 0) {
		snprintf(err, errlen, "a TLS client needs a CA or a CA fingerprint (sha256:...) to trust");
		goto fail;
	}
	return c;
fail:
	tls_client_free(c);
	return NULL;
}

void tls_client_free(struct tls_client *c)
{
	if (!c)
		return;
	if (c->cred)
		gnutls_certificate_free_credentials(c->cred);
	free(c->ca_pem);
	free(c->anchor_pem);
	free(c);
}

const char *tls_client_anchor(const struct tls_client *c) { return c->anchor_pem; }

const char *tls_client_mismatch(const struct tls_client *c, const char **pin)
{
	if (pin)
		*pin = c->pin;
	return c->presented[0] ? c->presented : NULL;
}


int tls_client_session(struct tls_client *c, int fd, const char *host, gnutls_session_t *out,
                       char *err, size_t errlen)
{
	gnutls_session_t s;
	int rc = gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
	if (rc < 0) {
		set_err(err, errlen, "cannot start a TLS session", rc);
		return -1;
	}
	if ((rc = gnutls_set_default_priority(s)) < 0 ||
	    (rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, c->cred)) < 0 ||
	    (!url_host_is_ip(host) && (rc = gnutls_server_name_set(s, GNUTLS_NAME_DNS, host, strlen(host))) < 0)) {
		set_err(err, errlen, "cannot set up the TLS session", rc);
		gnutls_deinit(s);
		return -1;
	}
	gnutls_transport_set_int(s, fd);
	c->presented[0] = '\0';
	*out = s;
	return 0;
}

/* Finds the certificate with the pinned fingerprint among what the server
 * sent; the root end of the chain is named when nothing matches. */
static gnutls_x509_crt_t find_pinned(struct tls_client *c, const gnutls_datum_t *peers, unsigned n,
                                     char *err, size_t errlen)
{
	for (unsigned i = 0; i < n; i++) {
		char fp[TLS_FP_LEN];
		tls_fingerprint_der(peers[i].data, peers[i].size, fp);
		if (strcmp(fp, c->pin) != 0)
			continue;
		gnutls_x509_crt_t crt;
		if (gnutls_x509_crt_init(&crt) < 0)
			break;
		if (gnutls_x509_crt_import(crt, &peers[i], GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(crt);
			break;
		}
		free(c->anchor_pem);
		c->anchor_pem = export_crt(crt);
		return crt;
	}
	tls_fingerprint_der(peers[n - 1].data, peers[n - 1].size, c->presented);
	snprintf(err, errlen,
	         "the manager's CA fingerprint %s does not match --manager-ca-fingerprint %s; check "
	         "the fingerprint printed with the join token (GET /api/v1/ca shows it too)",
	         c->presented, c->pin);
	return NULL;
}

int tls_client_verify(struct tls_client *c, gnutls_session_t s, const char *host, char *err,
                      size_t errlen)
{
	int ret = -1;
	unsigned n = 0, status = 0;
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_x509_crt_t *chain = NULL;
	unsigned nchain = 0;
	const gnutls_datum_t *peers = gnutls_certificate_get_peers(s, &n);
	c->presented[0] = '\0';
	if (!peers || n == 0) {
		snprintf(err, errlen, "the server presented no certificate");
		return -1;
	}
	if (gnutls_x509_trust_list_init(&tl, 0) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (c->ca_pem) {
		gnutls_datum_t d = datum_of(c->ca_pem);
		if (gnutls_x509_trust_list_add_trust_mem(tl, &d, NULL, GNUTLS_X509_FMT_PEM, 0, 0) <= 0) {
			snprintf(err, errlen, "the trusted CA file holds no certificate");
			goto cleanup;
		}
	} else {
		gnutls_x509_crt_t anchor = find_pinned(c, peers, n, err, errlen);
		/* On success the list owns anchor and frees it with itself. */
		if (!anchor || gnutls_x509_trust_list_add_cas(tl, &anchor, 1, 0) != 1) {
			if (anchor)
				gnutls_x509_crt_deinit(anchor);
			goto cleanup;
		}
	}
	chain = calloc(n, sizeof(*chain));
	for (; chain && nchain < n; nchain++)
		if (gnutls_x509_crt_init(&chain[nchain]) < 0 ||
		    gnutls_x509_crt_import(chain[nchain], &peers[nchain], GNUTLS_X509_FMT_DER) < 0) {
			if (chain[nchain])
				gnutls_x509_crt_deinit(chain[nchain]);
			snprintf(err, errlen, "the server's certificate chain does not parse");
			goto cleanup;
		}
	if (!chain) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	gnutls_typed_vdata_st data[2] = {
	    {GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)host, 0},
	    {GNUTLS_DT_KEY_PURPOSE_OID, (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER, 0},
	};
	if (gnutls_x509_trust_list_verify_crt2(tl, chain, nchain, data, 2, 0, &status, NULL) < 0 ||
	    status != 0) {
		gnutls_datum_t why = {0};
		gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
		snprintf(err, errlen, "the server's certificate for %s does not verify against %s: %s", host,
		         c->ca_pem ? "the trusted CA" : "the pinned CA",
		         why.data ? (char *)why.data : "unknown reason");
		gnutls_free(why.data);
		goto cleanup;
	}
	ret = 0;
cleanup:
	if (chain) {
		for (unsigned i = 0; i < nchain; i++)
			gnutls_x509_crt_deinit(chain[i]);
		free(chain);
	}
	gnutls_x509_trust_list_deinit(tl, 1);
	return ret;
}

/* tls.h - vdc's small PKI and TLS helpers on GnuTLS: a CA of vdcd's own
 * (ECDSA P-256), leaf certificates issued for the public key of a CSR,
 * keys and CSRs for agents, SHA-256 fingerprints, PEM files, the peer
 * check a server makes of a client certificate, and the client side of a
 * connection that trusts a CA file or a pinned CA fingerprint.
 *
 * Every PEM string here is NUL-terminated and malloc'd. Private keys are
 * freed with tls_free_secret (zeroed first) and never logged. */
#ifndef VDC_TLS_H
#define VDC_TLS_H

#include <gnutls/gnutls.h>
#include <stddef.h>

/* "sha256:" + 64 lowercase hex digits + NUL. */
#define TLS_FP_LEN 80

/* Makes a CA: a new P-256 key and a self-signed certificate, CN "vdc CA
 * <random hex>", valid 10 years (from an hour ago, for clock skew). Returns
 * 0, or -1 with err. */
int tls_make_ca(char **cert_pem, char **key_pem, char *err, size_t errlen);

/* Makes a new P-256 private key and a CSR for it with CN cn (the issuer
 * decides the certificate's content; the CSR only proves the key). */
int tls_make_key_csr(const char *cn, char **key_pem, char **csr_pem, char *err, size_t errlen);

/* What a leaf certificate says. sans: NULL-terminated list of IP
 * addresses (v4 or v6, textual) and DNS names; an IP becomes an IP SAN. */
struct tls_leaf {
	const char *cn;
	const char *const *sans;
	int server_auth;         /* EKU serverAuth */
	int client_auth;         /* EKU clientAuth */
	int days;                /* 365 .. 1825 */
};

/* Issues a certificate signed by the CA for the public key of csr_pem. The
 * CSR's own signature must verify (proof it holds the key); its subject and
 * extensions are ignored: everything the certificate says comes from leaf.
 * The serial is 16 random bytes; serial_hex gets it (may be NULL). Returns
 * 0 with *cert_pem, or -1 with err (a bad CSR, SAN or CA). */
int tls_issue(const char *ca_cert_pem, const char *ca_key_pem, const char *csr_pem,
              const struct tls_leaf *leaf, char **cert_pem, char serial_hex[33], char *err,
              size_t errlen);

/* fp = "sha256:" + hex SHA-256 of the DER of a certificate. */
void tls_fingerprint_der(const void *der, size_t len, char fp[TLS_FP_LEN]);
/* The same for the first certificate of pem. Returns 0 or -1 (no cert). */
int tls_fingerprint_pem(const char *pem, char fp[TLS_FP_LEN]);
/* Normalizes a fingerprint as a user types it ("sha256:AB:CD..." or
 * "sha256:abcd...") to the form above. Returns 0, or -1 when it is not a
 * SHA-256 fingerprint. */
int tls_fingerprint_parse(const char *in, char out[TLS_FP_LEN]);

/* The subject CN of the first certificate of pem. Returns 0 or -1. */
int tls_cert_cn(const char *pem, char *cn, size_t n);
/* How many certificates pem holds (0 when none parse). */
int tls_cert_count(const char *pem);
/* The last certificate of a PEM bundle (the root end of a chain), as PEM. */
char *tls_cert_last(const char *pem);
/* 1 when the private key key_pem belongs to the first certificate of
 * cert_pem, 0 when not, -1 when either does not parse. */
int tls_key_matches(const char *cert_pem, const char *key_pem);

/* 1 when the first certificate of cert_pem verifies against (the first
 * certificate of) ca_pem, names every one of names (NULL-terminated, DNS
 * names or IPs; may be NULL) and stays valid min_days more days; 0 when
 * not; -1 when either does not parse. */
int tls_cert_fits(const char *cert_pem, const char *ca_pem, const char *const *names,
                  int min_days);

/* Reads a PEM file (at most 64 KiB). NULL with err when it is missing,
 * unreadable or holds no PEM block. */
char *tls_read_pem(const char *path, char *err, size_t errlen);
/* Writes a PEM file atomically: mode 0600 when secret, else 0644. */
int tls_write_pem(const char *path, const char *pem, int secret, char *err, size_t errlen);
/* Zeroes and frees a secret string (NULL is fine). */
void tls_free_secret(char *s);

/* Server side: when the client of session s presented a certificate that
 * verifies against the credentials' trust for client use, returns 1 and
 * fills cn and fp (either may be NULL); 0 when it presented none or one
 * that does not verify. */
int tls_session_peer(gnutls_session_t s, char *cn, size_t cnlen, char fp[TLS_FP_LEN]);

/* Client side. A tls_client holds our certificate (optional) and how the
 * server is trusted: ca_pem (trust anchors) or, when ca_pem is NULL, pin:
 * the fingerprint of a CA that the server must present in its chain and
 * that its certificate must chain to (the join, before any CA is known). */
struct tls_client;
struct tls_client *tls_client_new(const char *cert_pem, const char *key_pem, const char *ca_pem,
                                  const char *pin, char *err, size_t errlen);
void tls_client_free(struct tls_client *c);
/* A non-blocking client session on connected socket fd, with SNI when host
 * is a name. Returns 0, or -1 with err. */
int tls_client_session(struct tls_client *c, int fd, const char *host, gnutls_session_t *out,
                       char *err, size_t errlen);
/* After the handshake: the server's chain verifies against the anchor, its
 * certificate names host (DNS name or IP) and allows serverAuth. Returns 0,
 * or -1 with err saying what did not match and what to do. */
int tls_client_verify(struct tls_client *c, gnutls_session_t s, const char *host, char *err,
                      size_t errlen);
/* The anchor found by the pin in the last verified chain (PEM), or NULL. */
const char *tls_client_anchor(const struct tls_client *c);
/* When the last check failed because the pin was not in the server's
 * chain: the fingerprint of the chain's root end (what the server's CA
 * is) and the pin; else NULL. */
const char *tls_client_mismatch(const struct tls_client *c, const char **pin);

#endif

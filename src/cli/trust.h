/* trust.h - which CA vdc trusts for an https vdcd, as ssh trusts host keys:
 * the CA's fingerprint shown at the first login, its PEM kept beside the
 * config file, and a loud refusal when a later login finds another CA. */
#ifndef VDC_CLI_TRUST_H
#define VDC_CLI_TRUST_H

#include <stddef.h>

#define TRUST_FP_SIZE 72 /* "sha256:", 64 hex digits, NUL */

struct cli;
struct cli_config;

/* The fingerprint of the first certificate in a PEM text: "sha256:" and the
 * lowercase hex of SHA-256 of its DER (what vdcd prints). Returns 0, or -1
 * with err filled when there is no well-formed certificate block. */
int trust_pem_fingerprint(const char *pem, size_t len, char fp[TRUST_FP_SIZE], char *err,
                          size_t errlen);

/* A fingerprint as a user may type it: "sha256:HEX" (any case), bare HEX,
 * or HEX in colon-separated pairs (openssl's form). Writes the canonical
 * "sha256:hex" to fp. Returns 0, or -1 when it is not 64 hex digits. */
int trust_normalize_fingerprint(const char *in, char fp[TRUST_FP_SIZE]);

/* Where the CA of an https server is kept: "DIR/ca-HOST_PORT.pem", DIR the
 * config file's directory, HOST with any character but letters, digits,
 * '.' and '-' made '_', PORT 443 when the URL gives none. Returns 0, or -1
 * when server is not an https URL or the path does not fit. */
int trust_ca_path(const char *config_file, const char *server, char *buf, size_t n);

/* Sets cfg->ca_file to the CA kept for cfg->server (trust_ca_path beside
 * config_file) when cfg names none and that file exists: a server given
 * with --server or $VDC_SERVER is verified with the CA trusted at its login. */
void trust_known_ca(const char *config_file, struct cli_config *cfg);

/* Login's first step on an https server, before any secret is sent: fetches
 * the server's CA without verifying it (GET /api/v1/ca, no token), computes
 * its fingerprint and decides, ssh-style: the CA kept from an earlier login
 * must match (else a loud refusal); an unknown CA must match want_fp (the
 * canonical form, or NULL), or be accepted with yes, or at a terminal by
 * the user. A trusted CA is saved (0600) and set as c->cfg.ca_file and
 * ca_fingerprint, so that every later call verifies the server with it.
 * On plain http clears both and returns 0. Returns an exit code, the
 * reason printed. */
int trust_server(struct cli *c, const char *want_fp, int yes);

#endif

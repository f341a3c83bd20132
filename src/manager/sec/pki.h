/* pki.h - vdcd's CA and certificates: its own CA (DATA/tls/ca.pem and
 * ca.key, made at first start) signs the hosts' certificates and vdcd's
 * own; the server certificate is vdcd's (DATA/tls/server.pem) or one the
 * operator gives. Set up once at start, read-only after, so task workers
 * may read it too. */
#ifndef VDC_MGR_PKI_H
#define VDC_MGR_PKI_H

#include "errinfo.h"
#include "tls.h"

struct mgr;

struct mgr_tls {
	char *chain;      /* sent in the handshake: the server certificate and its CA */
	char *key;        /* the server certificate's key */
	char *ca;         /* vdcd's own CA: trusted for client certificates */
	char *ca_key;
	char *server_ca;  /* what clients trust for the server certificate (== ca
	                   * unless the operator's), whose fingerprint agents pin */
	char ca_fingerprint[TLS_FP_LEN]; /* of server_ca */
	/* Files libcurl reads to call agents: vdcd's client certificate (CN
	 * vdcd, from ca), its key, and ca to check the agents'. */
	char client_cert_path[1100], client_key_path[1100], ca_path[1100];
};

/* Loads DATA/tls, making what is missing (or no longer fits: the server
 * certificate is remade when a wanted name is missing or it expires within
 * 30 days), and the operator's files when given. Sets m->tls. Returns 0, or
 * -1 after logging what is wrong and what to do. Never logs key material. */
int pki_init(struct mgr *m);
void pki_free(struct mgr *m);

/* Issues a host's certificate for the public key of csr_pem: CN host_id,
 * the host of agent_url as its only SAN, serverAuth and clientAuth. Fills
 * fp and serial. Returns 0 with *cert_pem, or -1 with e (400 naming csr or
 * agent_url when they are unusable). */
int pki_issue_host(struct mgr *m, const char *host_id, const char *agent_url, const char *csr_pem,
                   char **cert_pem, char fp[TLS_FP_LEN], char serial[33], struct errinfo *e);

#endif

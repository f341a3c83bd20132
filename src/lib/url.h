/* url.h - the few URL and address facts vdc needs: scheme, host and port
 * of an http(s) URL or a listen address, and whether a host is loopback
 * (plain HTTP is allowed only there). */
#ifndef VDC_URL_H
#define VDC_URL_H

#include <stddef.h>

struct url {
	char scheme[8];  /* "http" or "https" */
	char host[256];  /* IPv6 without its brackets */
	char port[8];    /* as given, or 80 / 443 */
	const char *path; /* into the parsed string; "/" when none */
};

/* Splits "http[s]://HOST[:PORT][/PATH]" ("[v6]" hosts too). Returns 0, or
 * -1 when it is not such a URL. */
int url_parse(const char *s, struct url *u);

/* Splits a listen address "HOST:PORT" or "[V6]:PORT". Returns 0 or -1. */
int url_split_hostport(const char *s, char *host, size_t hostlen, char *port, size_t portlen);

/* 1 when host is "localhost" or a loopback address literal (127.0.0.0/8,
 * ::1, ::ffff:127.x); 0 otherwise (names are not resolved). */
int url_host_is_loopback(const char *host);

/* 1 when host is an IPv4 or IPv6 address literal (no brackets); 0 for
 * anything else, NULL too. */
int url_host_is_ip(const char *host);

/* 1 when host is the wildcard address (0.0.0.0, ::). */
int url_host_is_any(const char *host);

#endif

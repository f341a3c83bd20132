/* url.c - URL and address splitting, without resolving anything. */
#include "url.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* "HOST[:PORT]" or "[V6][:PORT]" of len bytes at s. */
static int split(const char *s, size_t len, char *host, size_t hostlen, char *port, size_t portlen,
                 const char *defport, int port_required)
{
	const char *hs = s, *he, *ps = NULL;
	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close)
			return -1;
		hs = s + 1;
		he = close;
		if (close + 1 < s + len) {
			if (close[1] != ':')
				return -1;
			ps = close + 2;
		}
	} else {
		const char *colon = NULL;
		for (const char *c = s; c < s + len; c++)
			if (*c == ':') {
				if (colon)
					return -1; /* a bare IPv6 address needs brackets */
				colon = c;
			}
		he = colon ? colon : s + len;
		ps = colon ? colon + 1 : NULL;
	}
	size_t hl = (size_t)(he - hs), pl = ps ? (size_t)(s + len - ps) : 0;
	if (hl == 0 || hl >= hostlen || (ps && (pl == 0 || pl >= portlen)) || (!ps && port_required))
		return -1;
	for (size_t i = 0; i < pl; i++)
		if (ps[i] < '0' || ps[i] > '9')
			return -1;
	snprintf(host, hostlen, "%.*s", (int)hl, hs);
	if (ps)
		snprintf(port, portlen, "%.*s", (int)pl, ps);
	else
		snprintf(port, portlen, "%s", defport);
	return 0;
}

int url_parse(const char *s, struct url *u)
{
	const char *rest;
	if (!strncasecmp(s, "http://", 7)) {
		snprintf(u->scheme, sizeof(u->scheme), "http");
		rest = s + 7;
	} else if (!strncasecmp(s, "https://", 8)) {
		snprintf(u->scheme, sizeof(u->scheme), "https");
		rest = s + 8;
	} else {
		return -1;
	}
	const char *slash = strchr(rest, '/');
	size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
	u->path = slash ? slash : "/";
	return split(rest, len, u->host, sizeof(u->host), u->port, sizeof(u->port),
	             u->scheme[4] == 's' ? "443" : "80", 0);
}

int url_split_hostport(const char *s, char *host, size_t hostlen, char *port, size_t portlen)
{
	return split(s, strlen(s), host, hostlen, port, portlen, "", 1);
}

int url_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (!strcasecmp(host, "localhost"))
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 0;
}

int url_host_is_ip(const char *host)
{
	unsigned char ip[16];
	return host && (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1);
}

int url_host_is_any(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return a4.s_addr == INADDR_ANY;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_UNSPECIFIED(&a6);
	return 0;
}

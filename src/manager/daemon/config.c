/* config.c - vdcd's flags; defaults that work on one machine. */
#include "manager.h"

#include "flags.h"
#include "url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mgr_config_defaults(struct mgr_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:7443");
	snprintf(c->data_dir, sizeof(c->data_dir), "/var/lib/vdcd");
	c->heartbeat_timeout_s = 15;
	c->image_max_bytes = 64ull << 30;
	c->workers = 4;
	c->max_connections = 4000;
	c->max_connections_per_address = 64;
	c->idle_timeout_s = 20;
	c->stream_max = 256;
	c->stream_ring = 4096;
	c->history_speedup = 1;
	c->log_level = 1;
}

static const char usage[] =
    "usage: vdcd [--KEY=VALUE ...]\n"
    "  --listen ADDR:PORT          API (default 127.0.0.1:7443)\n"
    "  --data-dir DIR              store and admin token (default /var/lib/vdcd)\n"
    "  --store URL                 sqlite:/path.db (default DATA/vdcd.db) or postgresql://...\n"
    "  --public-url URL            how agents reach vdcd (default https://LISTEN)\n"
    "  --tls-cert FILE             serve this certificate chain (PEM, leaf first) instead\n"
    "                              of one from vdcd's own CA (made in DATA/tls at first start)\n"
    "  --tls-key FILE              its private key (PEM)\n"
    "  --tls-ca FILE               the CA that signed --tls-cert; agents pin its fingerprint\n"
    "                              (default: the last certificate of --tls-cert)\n"
    "  --tls-san NAME|IP           another name in vdcd's own certificate (repeatable)\n"
    "  --plain-http                serve plain HTTP; allowed only on a loopback --listen\n"
    "  --ui-dir DIR|none           the web UI's built files, served at / (default: build/ui\n"
    "                              next to a build tree's vdcd, or PREFIX/share/vdc/ui)\n"
    "  --image-import-dir DIR      administrators may import images from files under DIR\n"
    "                              (POST /api/v1/images with import_from; default: none)\n"
    "  --image-max-bytes N[K|M|G]  the largest image upload or import (64G)\n"
    "  --agent-listen ADDR:PORT    a second listener for agents only (join, heartbeat, CA),\n"
    "                              so a flood of the API cannot cut hosts off; agents are\n"
    "                              told its URL when they join (default: none)\n"
    "  --metrics-token-file FILE   a token that may read GET /metrics and nothing else,\n"
    "                              for Prometheus (made at first start; default\n"
    "                              DATA/metrics.token; 'none': administrators' tokens only)\n"
    "  --max-connections N         open API connections, all clients together (4000)\n"
    "  --max-connections-per-address N\n"
    "                              open API connections from one client address (64)\n"
    "  --idle-timeout-s N          close a connection silent this long (20)\n"
    "  --heartbeat-timeout-s N     seconds of silence before a host is disconnected (15)\n"
    "  --stream-max N              live event streams open at once (256; more get 503)\n"
    "  --stream-ring N             events kept for streams that resume or lag (4096;\n"
    "                              a stream further behind is told to reload)\n"
    "  --workers N                 task worker threads (4)\n"
    "  --history-speedup N         tests: the demand history's tiers and flushes N times\n"
    "                              shorter (1; a minute becomes 60/N s)\n"
    "  --log-level LEVEL           debug, info, warn, error\n"
    "  --fault-injection           for tests only: administrators may make the Nth\n"
    "                              allocation, store or agent call of the next VM\n"
    "                              operation fail (POST /api/v1/debug/faults)\n";

int mgr_config_parse_args(struct mgr_config *c, int argc, char **argv, char *err, size_t errlen)
{
	char key[64];
	const char *v;
	enum flags_result fr;
	static const char *const switches[] = {"plain-http", "fault-injection", NULL};
	for (int i = 1; (fr = flags_next_sw(argc, argv, &i, switches, key, sizeof(key), &v, err,
	                                    errlen)) != FLAGS_END;) {
		if (fr == FLAGS_HELP) {
			fputs(usage, stdout);
			return 1;
		}
		if (fr == FLAGS_ERROR)
			return -1;
		if (!strcmp(key, "listen"))
			snprintf(c->listen, sizeof(c->listen), "%s", v);
		else if (!strcmp(key, "data-dir"))
			snprintf(c->data_dir, sizeof(c->data_dir), "%s", v);
		else if (!strcmp(key, "store"))
			snprintf(c->store_url, sizeof(c->store_url), "%s", v);
		else if (!strcmp(key, "public-url"))
			snprintf(c->public_url, sizeof(c->public_url), "%s", v);
		else if (!strcmp(key, "plain-http")) {
			/* A flag; "--plain-http=false" turns it off again. */
			c->plain_http = strcmp(v, "false") && strcmp(v, "0") && strcmp(v, "off");
		} else if (!strcmp(key, "fault-injection")) {
			c->fault_injection = strcmp(v, "false") && strcmp(v, "0") && strcmp(v, "off");
		} else if (!strcmp(key, "tls-cert") || !strcmp(key, "tls-key") || !strcmp(key, "tls-ca")) {
			char *dst = key[4] == 'c' && key[5] == 'e' ? c->tls_cert
			          : key[4] == 'k'                  ? c->tls_key
			                                           : c->tls_ca;
			if (strlen(v) >= sizeof(c->tls_cert)) {
				snprintf(err, errlen, "--%s: path too long", key);
				return -1;
			}
			snprintf(dst, sizeof(c->tls_cert), "%s", v);
		} else if (!strcmp(key, "tls-san")) {
			if (c->ntls_sans == 16 || strlen(v) >= sizeof(c->tls_sans[0]) || !*v) {
				snprintf(err, errlen, "--tls-san: at most 16 names of at most 255 characters");
				return -1;
			}
			snprintf(c->tls_sans[c->ntls_sans++], sizeof(c->tls_sans[0]), "%s", v);
		}
		else if (!strcmp(key, "ui-dir")) {
			if ((v[0] != '/' && strcmp(v, "none") != 0) || strlen(v) >= sizeof(c->ui_dir)) {
				snprintf(err, errlen, "--ui-dir: give an absolute directory path, or 'none'");
				return -1;
			}
			snprintf(c->ui_dir, sizeof(c->ui_dir), "%s", strcmp(v, "none") ? v : "");
			c->ui_dir_set = true;
		} else if (!strcmp(key, "image-import-dir")) {
			if (v[0] != '/' || strlen(v) >= sizeof(c->image_import_dir)) {
				snprintf(err, errlen, "--image-import-dir: give an absolute directory path");
				return -1;
			}
			snprintf(c->image_import_dir, sizeof(c->image_import_dir), "%s", v);
		} else if (!strcmp(key, "image-max-bytes")) {
			char *end;
			unsigned long long n = strtoull(v, &end, 10);
			int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : *end == 'T' ? 40 : 0;
			if (shift)
				end++;
			if (*end || n == 0 || n > (1ull << (63 - 40))) {
				snprintf(err, errlen, "--image-max-bytes: give a size like 512M or 64G, not '%s'", v);
				return -1;
			}
			c->image_max_bytes = n << shift;
		} else if (!strcmp(key, "metrics-token-file")) {
			if ((v[0] != '/' && strcmp(v, "none") != 0) || strlen(v) >= sizeof(c->metrics_token_file)) {
				snprintf(err, errlen, "--metrics-token-file: give an absolute file path, or 'none'");
				return -1;
			}
			snprintf(c->metrics_token_file, sizeof(c->metrics_token_file), "%s", v);
		} else if (!strcmp(key, "agent-listen"))
			snprintf(c->agent_listen, sizeof(c->agent_listen), "%s", v);
		else if (!strcmp(key, "max-connections") || !strcmp(key, "max-connections-per-address") ||
		         !strcmp(key, "idle-timeout-s")) {
			char *end;
			long n = strtol(v, &end, 10);
			long most = key[0] == 'i' ? 3600 : 1000000;
			if (!*v || *end || n < 1 || n > most) {
				snprintf(err, errlen, "--%s: '%s' is not a number from 1 to %ld", key, v, most);
				return -1;
			}
			if (key[0] == 'i')
				c->idle_timeout_s = (unsigned)n;
			else if (!strcmp(key, "max-connections-per-address"))
				c->max_connections_per_address = (unsigned)n;
			else
				c->max_connections = (unsigned)n;
		} else if (!strcmp(key, "heartbeat-timeout-s") || !strcmp(key, "workers")) {
			char *end;
			long n = strtol(v, &end, 10);
			if (*end || n < 1 || n > (key[0] == 'w' ? 16 : 3600)) {
				snprintf(err, errlen, "--%s: '%s' is out of range", key, v);
				return -1;
			}
			if (key[0] == 'w')
				c->workers = (int)n;
			else
				c->heartbeat_timeout_s = (int)n;
		} else if (!strcmp(key, "history-speedup")) {
			char *end;
			long n = strtol(v, &end, 10);
			if (!*v || *end || n < 1 || n > 100000) {
				snprintf(err, errlen, "--%s: '%s' is not a number from 1 to 100000", key, v);
				return -1;
			}
			c->history_speedup = (int)n;
		} else if (!strcmp(key, "stream-max") || !strcmp(key, "stream-ring")) {
			char *end;
			long n = strtol(v, &end, 10);
			if (!*v || *end || n < 1 || n > 1000000) {
				snprintf(err, errlen, "--%s: '%s' is not a number from 1 to 1000000", key, v);
				return -1;
			}
			if (!strcmp(key, "stream-max"))
				c->stream_max = (unsigned)n;
			else
				c->stream_ring = (unsigned)n;
		} else if (!strcmp(key, "log-level")) {
			static const char *const names[] = {"debug", "info", "warn", "error"};
			c->log_level = -1;
			for (int k = 0; k < 4; k++)
				if (!strcmp(v, names[k]))
					c->log_level = k;
			if (c->log_level < 0) {
				snprintf(err, errlen, "--log-level: debug, info, warn or error");
				return -1;
			}
		} else {
			snprintf(err, errlen, "unknown flag --%s (see --help)", key);
			return -1;
		}
	}
	if (!c->store_url[0])
		snprintf(c->store_url, sizeof(c->store_url), "sqlite:%s/vdcd.db", c->data_dir);
	return mgr_config_check_tls(c, err, errlen);
}

/* With --agent-listen, the URL agents are told to join and beat at: the
 * listener's own address, or for a wildcard one, the public URL's host. */
static int agent_listener_url(struct mgr_config *c, const struct url *pub, char *err,
                              size_t errlen)
{
	c->heartbeat_url[0] = '\0';
	if (!c->agent_listen[0])
		return 0;
	char host[256], port[16];
	if (url_split_hostport(c->agent_listen, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen, "--agent-listen: '%s' is not HOST:PORT or [V6]:PORT",
		         c->agent_listen);
		return -1;
	}
	if (!strcmp(c->agent_listen, c->listen)) {
		snprintf(err, errlen, "--agent-listen must differ from --listen (%s)", c->listen);
		return -1;
	}
	if (c->plain_http && !url_host_is_loopback(host)) {
		snprintf(err, errlen, "--agent-listen %s: with --plain-http only a loopback address",
		         c->agent_listen);
		return -1;
	}
	const char *h = url_host_is_any(host) ? pub->host : host;
	int v6 = strchr(h, ':') != NULL;
	snprintf(c->heartbeat_url, sizeof(c->heartbeat_url), "%s://%s%s%s:%s", pub->scheme,
	         v6 ? "[" : "", h, v6 ? "]" : "", port);
	return 0;
}

int mgr_config_check_tls(struct mgr_config *c, char *err, size_t errlen)
{
	char host[256], port[16];
	if (url_split_hostport(c->listen, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen, "--listen: '%s' is not HOST:PORT or [V6]:PORT", c->listen);
		return -1;
	}
	if (c->plain_http && !url_host_is_loopback(host)) {
		snprintf(err, errlen,
		         "--plain-http is allowed only on a loopback --listen address (127.0.0.1, ::1), not "
		         "on %s: drop --plain-http to serve HTTPS (agents then join with the CA "
		         "fingerprint vdcd prints), or listen on 127.0.0.1",
		         c->listen);
		return -1;
	}
	if (c->plain_http && (c->tls_cert[0] || c->tls_key[0] || c->tls_ca[0])) {
		snprintf(err, errlen, "--plain-http and --tls-cert/--tls-key/--tls-ca contradict each other");
		return -1;
	}
	if (!c->tls_cert[0] != !c->tls_key[0] || (c->tls_ca[0] && !c->tls_cert[0])) {
		snprintf(err, errlen, "give --tls-cert and --tls-key together (and --tls-ca only with them)");
		return -1;
	}
	if (!c->public_url[0]) {
		/* A wildcard listen address is nobody's address: name loopback. */
		int v6 = strchr(host, ':') != NULL;
		const char *h = url_host_is_any(host) ? (v6 ? "::1" : "127.0.0.1") : host;
		snprintf(c->public_url, sizeof(c->public_url), "%s://%s%s%s:%s",
		         c->plain_http ? "http" : "https", v6 ? "[" : "", h, v6 ? "]" : "", port);
	}
	struct url u;
	if (url_parse(c->public_url, &u) < 0) {
		snprintf(err, errlen, "--public-url: '%s' is not http(s)://HOST[:PORT]", c->public_url);
		return -1;
	}
	return agent_listener_url(c, &u, err, errlen);
}

int mgr_heartbeat_interval_s(const struct mgr_config *c)
{
	int every = c->heartbeat_timeout_s / 3;
	return every < 1 ? 1 : every > 30 ? 30 : every;
}

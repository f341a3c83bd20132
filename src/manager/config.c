/* config.c - vdcd's flags; defaults that work on one machine. */
#include "manager.h"

#include "flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mgr_config_defaults(struct mgr_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:7443");
	snprintf(c->data_dir, sizeof(c->data_dir), "/var/lib/vdcd");
	snprintf(c->public_url, sizeof(c->public_url), "http://127.0.0.1:7443");
	c->heartbeat_timeout_s = 15;
	c->workers = 4;
	c->log_level = 1;
}

static const char usage[] =
    "usage: vdcd [--KEY=VALUE ...]\n"
    "  --listen ADDR:PORT          API (default 127.0.0.1:7443)\n"
    "  --data-dir DIR              store and admin token (default /var/lib/vdcd)\n"
    "  --store URL                 sqlite:/path.db (default DATA/vdcd.db) or postgresql://...\n"
    "  --public-url URL            how agents reach vdcd (default http://127.0.0.1:7443)\n"
    "  --heartbeat-timeout-s N     seconds of silence before a host is disconnected (15)\n"
    "  --workers N                 task worker threads (4)\n"
    "  --log-level LEVEL           debug, info, warn, error\n";

int mgr_config_parse_args(struct mgr_config *c, int argc, char **argv, char *err, size_t errlen)
{
	char key[64];
	const char *v;
	enum flags_result fr;
	for (int i = 1; (fr = flags_next(argc, argv, &i, key, sizeof(key), &v, err, errlen)) != FLAGS_END;) {
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
		else if (!strcmp(key, "heartbeat-timeout-s") || !strcmp(key, "workers")) {
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
	return 0;
}

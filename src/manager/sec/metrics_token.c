/* metrics_token.c - the token Prometheus scrapes GET /metrics with. It is
 * not a user's token: it opens /metrics and nothing else, so a monitoring
 * system never holds an administrator's key. It lives in a file (made at
 * first start, 0600: hand it to the scraper's user), and only its hash is
 * kept in memory. */
#include "auth.h"
#include "fsutil.h"
#include "http.h"
#include "log.h"
#include "manager.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_TOKEN_MIN 20 /* a file holding less is a mistake, not a token */

int metrics_token_init(struct mgr *m)
{
	char path[1100];
	if (!strcmp(m->cfg.metrics_token_file, "none"))
		return 0;
	if (m->cfg.metrics_token_file[0])
		snprintf(path, sizeof(path), "%s", m->cfg.metrics_token_file);
	else
		snprintf(path, sizeof(path), "%s/metrics.token", m->cfg.data_dir);
	size_t len = 0;
	char *text = fs_read_all(path, 4096, &len);
	if (!text && errno != ENOENT) {
		log_error("metrics_token_unreadable", "path=%s error=%s", path, strerror(errno));
		return -1;
	}
	if (!text) {
		char token[64], line[80];
		mgr_secret("vdcm_", token, sizeof(token));
		int n = snprintf(line, sizeof(line), "%s\n", token);
		int rc = fs_write_atomic(path, line, (size_t)n, 0600);
		if (rc == 0)
			mgr_sha256_hex(token, m->metrics_hash);
		explicit_bzero(line, sizeof(line));
		explicit_bzero(token, sizeof(token));
		if (rc < 0) {
			log_error("metrics_token_write_failed", "path=%s", path);
			return -1;
		}
		log_info("metrics_token_created", "path=%s", path);
		return 0;
	}
	text[strcspn(text, "\r\n")] = '\0';
	if (strlen(text) < METRICS_TOKEN_MIN) {
		log_error("metrics_token_invalid", "path=%s reason=%s", path,
		          log_quote("the file's first line is not a token of at least 20 characters; "
		                    "delete the file and vdcd makes a new one"));
		explicit_bzero(text, len);
		free(text);
		return -1;
	}
	mgr_sha256_hex(text, m->metrics_hash);
	explicit_bzero(text, len);
	free(text);
	return 0;
}

int metrics_token_auth(struct mgr *m, const char *hash, struct http_req *req)
{
	if (!m->metrics_hash[0] || sodium_memcmp(hash, m->metrics_hash, 64) != 0)
		return -1;
	const char *pattern = http_route_pattern(req);
	if (pattern && !strcmp(pattern, "/metrics") && !strcmp(http_method(req), "GET"))
		return 1;
	http_reply_error(req, 403, "forbidden", NULL,
	                 "this is vdcd's metrics token: it may read GET /metrics and nothing else");
	return 0;
}

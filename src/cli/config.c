/* config.c - the CLI's config file. It holds a secret, so it is written 0600
 * through a temporary file (never visible half-written or world-readable). */
#include "config.h"

#include "fsutil.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONFIG_MAX (64 * 1024)

int config_path(char *buf, size_t n)
{
	const char *p = getenv("VDC_CONFIG");
	if (p && *p)
		return snprintf(buf, n, "%s", p) < (int)n ? 0 : -1;
	const char *xdg = getenv("XDG_CONFIG_HOME");
	if (xdg && xdg[0] == '/') /* the spec says relative values are ignored */
		return snprintf(buf, n, "%s/vdc/config", xdg) < (int)n ? 0 : -1;
	const char *home = getenv("HOME");
	if (!home || !*home)
		return -1;
	return snprintf(buf, n, "%s/.config/vdc/config", home) < (int)n ? 0 : -1;
}

static int set_key(struct cli_config *cfg, const char *key, const char *val, char *err,
                   size_t errlen)
{
	char *dst;
	size_t cap;
	if (!strcmp(key, "server")) {
		dst = cfg->server;
		cap = sizeof(cfg->server);
	} else if (!strcmp(key, "token")) {
		dst = cfg->token;
		cap = sizeof(cfg->token);
	} else if (!strcmp(key, "tls_pin")) {
		dst = cfg->tls_pin;
		cap = sizeof(cfg->tls_pin);
	} else if (!strcmp(key, "ca_file")) {
		dst = cfg->ca_file;
		cap = sizeof(cfg->ca_file);
	} else if (!strcmp(key, "ca_fingerprint")) {
		dst = cfg->ca_fingerprint;
		cap = sizeof(cfg->ca_fingerprint);
	} else {
		return 0;
	}
	if (strlen(val) >= cap) {
		snprintf(err, errlen, "%s is too long (at most %zu characters)", key, cap - 1);
		return -1;
	}
	memcpy(dst, val, strlen(val) + 1);
	return 0;
}

static int is_known_key(const char *key)
{
	static const char *const keys[] = {"server", "token", "tls_pin", "ca_file", "ca_fingerprint"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i]))
			return 1;
	return 0;
}

static int parse_json(const char *text, struct cli_config *cfg, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o = json_loads(text, 0, &je);
	if (!json_is_object(o)) {
		snprintf(err, errlen, "line %d: %s", je.line, o ? "expected a JSON object" : je.text);
		json_decref(o);
		return -1;
	}
	const char *key;
	json_t *v;
	int rc = 0;
	json_object_foreach(o, key, v) {
		if (!json_is_string(v)) {
			if (is_known_key(key)) {
				snprintf(err, errlen, "%s must be a string", key);
				rc = -1;
				break;
			}
			continue;
		}
		if ((rc = set_key(cfg, key, json_string_value(v), err, errlen)) < 0)
			break;
	}
	json_decref(o);
	return rc;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static int parse_lines(char *text, struct cli_config *cfg, char *err, size_t errlen)
{
	int lineno = 0;
	for (char *line = text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		char *l = trim(line);
		if (!*l || *l == '#')
			continue;
		char *eq = strchr(l, '=');
		if (!eq) {
			snprintf(err, errlen, "line %d: expected key=value", lineno);
			return -1;
		}
		*eq = '\0';
		char *key = trim(l), *val = trim(eq + 1);
		size_t vn = strlen(val);
		if (vn >= 2 && (val[0] == '"' || val[0] == '\'') && val[vn - 1] == val[0]) {
			val[vn - 1] = '\0';
			val++;
		}
		char kerr[160];
		if (set_key(cfg, key, val, kerr, sizeof(kerr)) < 0) {
			snprintf(err, errlen, "line %d: %s", lineno, kerr);
			return -1;
		}
	}
	return 0;
}

int config_read(const char *path, struct cli_config *cfg, int *loose, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	if (loose)
		*loose = 0;
	size_t len = 0;
	char *text = fs_read_all(path, CONFIG_MAX, &len);
	if (!text) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (loose && stat(path, &st) == 0 && (st.st_mode & 077))
		*loose = 1;
	const char *p = text;
	while (isspace((unsigned char)*p))
		p++;
	char perr[256];
	int rc = *p == '{' ? parse_json(text, cfg, perr, sizeof(perr))
	                   : parse_lines(text, cfg, perr, sizeof(perr));
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, perr);
	free(text);
	return rc;
}

static int has_newline(const char *s)
{
	return strchr(s, '\n') || strchr(s, '\r');
}

int config_write(const char *path, const struct cli_config *cfg, char *err, size_t errlen)
{
	if (has_newline(cfg->server) || has_newline(cfg->token) || has_newline(cfg->tls_pin) ||
	    has_newline(cfg->ca_file) || has_newline(cfg->ca_fingerprint)) {
		snprintf(err, errlen, "a setting holds a line break");
		return -1;
	}
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		int rc = fs_mkdir_p(dir, 0700);
		if (rc < 0) {
			snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-rc));
			return -1;
		}
	}
	char text[4096];
	size_t n = (size_t)snprintf(text, sizeof(text),
	                            "# vdc CLI settings, written by 'vdc login'. Keep this file private "
	                            "(0600).\nserver=%s\ntoken=%s\n",
	                            cfg->server, cfg->token);
	const struct {
		const char *key, *val;
	} extra[] = {{"tls_pin", cfg->tls_pin}, {"ca_file", cfg->ca_file},
	             {"ca_fingerprint", cfg->ca_fingerprint}};
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		if (extra[i].val[0])
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s=%s\n", extra[i].key, extra[i].val);
	int rc = fs_write_atomic(path, text, n, 0600);
	explicit_bzero(text, sizeof(text));
	if (rc < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
		return -1;
	}
	return 0;
}

static void pick(char *dst, size_t n, const char **from, const char *flag, const char *env,
                 const char *file, const char *dflt)
{
	const char *v = NULL;
	*from = "";
	if (flag && *flag) {
		v = flag;
		*from = "flag";
	} else if (env && *env) {
		v = env;
		*from = "env";
	} else if (file && *file) {
		v = file;
		*from = "file";
	} else if (dflt) {
		v = dflt;
		*from = "default";
	}
	snprintf(dst, n, "%s", v ? v : "");
}

void config_resolve(struct cli_config *out, const struct cli_config *file,
                    const char *env_server, const char *env_token, const char *flag_server,
                    const char *flag_token)
{
	static const struct cli_config none;
	if (!file)
		file = &none;
	struct cli_config r = {0};
	pick(r.server, sizeof(r.server), &r.server_from, flag_server, env_server, file->server,
	     CONFIG_DEFAULT_SERVER);
	pick(r.token, sizeof(r.token), &r.token_from, flag_token, env_token, file->token, NULL);
	/* A pin or a CA belongs to the server it was taken from. */
	if (!strcmp(r.server_from, "file") || !strcmp(r.server, file->server)) {
		snprintf(r.tls_pin, sizeof(r.tls_pin), "%s", file->tls_pin);
		snprintf(r.ca_file, sizeof(r.ca_file), "%s", file->ca_file);
		snprintf(r.ca_fingerprint, sizeof(r.ca_fingerprint), "%s", file->ca_fingerprint);
	}
	*out = r;
}

int config_normalize_server(char *url, size_t n, char *err, size_t errlen)
{
	char tmp[512];
	const char *rest;
	if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8)) {
		snprintf(tmp, sizeof(tmp), "%s", url);
		rest = strstr(tmp, "://") + 3;
	} else if (strstr(url, "://")) {
		snprintf(err, errlen, "server URL '%s' must start with http:// or https://", url);
		return -1;
	} else {
		snprintf(tmp, sizeof(tmp), "http://%s", url);
		rest = tmp + 7;
	}
	size_t len = strlen(tmp);
	while (len > (size_t)(rest - tmp) && tmp[len - 1] == '/')
		tmp[--len] = '\0';
	if (!*rest || *rest == '/') {
		snprintf(err, errlen, "server URL '%s' names no host", url);
		return -1;
	}
	for (const char *c = tmp; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			snprintf(err, errlen, "server URL '%s' holds a space or control character", url);
			return -1;
		}
	if (len >= n) {
		snprintf(err, errlen, "server URL is too long");
		return -1;
	}
	memcpy(url, tmp, len + 1);
	return 0;
}

/* config.h - where the CLI finds vdcd and its token: the config file
 * (~/.config/vdc/config), then $VDC_SERVER/$VDC_TOKEN, then --server/--token. */
#ifndef VDC_CLI_CONFIG_H
#define VDC_CLI_CONFIG_H

#include <stddef.h>

#define CONFIG_DEFAULT_SERVER "http://127.0.0.1:7443"

struct cli_config {
	char server[512];
	char token[512];
	/* TLS public-key pin of the server ("sha256//BASE64"), handed to libcurl
	 * as CURLOPT_PINNEDPUBLICKEY when set (written by hand; login keeps it). */
	char tls_pin[128];
	/* The CA an https server is verified with (and nothing else), as trusted
	 * at 'vdc login': its PEM file, and the fingerprint the user accepted
	 * ("sha256:" and 64 hex digits of SHA-256 of its DER). */
	char ca_file[1024];
	char ca_fingerprint[80];
	/* Where server and token came from: "flag", "env", "file", "default", or
	 * "" when unset (resolved configs only). */
	const char *server_from;
	const char *token_from;
};

/* The config file's path: $VDC_CONFIG, else $XDG_CONFIG_HOME/vdc/config,
 * else $HOME/.config/vdc/config. Returns 0, or -1 when none can be made. */
int config_path(char *buf, size_t n);

/* Reads a config file: a JSON object or key=value lines ('#' comments),
 * keys server, token, tls_pin, ca_file, ca_fingerprint; others are ignored for the sake of newer
 * versions. A missing file gives an empty config and 0. Returns -1 with err
 * filled when the file cannot be read or parsed. Sets *loose to 1 when the
 * file can be read by group or others (the caller warns), if loose is set. */
int config_read(const char *path, struct cli_config *cfg, int *loose, char *err, size_t errlen);

/* Writes cfg's server, token, tls_pin, ca_file and ca_fingerprint to path as key=value lines, mode
 * 0600, atomically; creates the parent directory (0700). Returns 0, or -1
 * with err filled. */
int config_write(const char *path, const struct cli_config *cfg, char *err, size_t errlen);

/* Each setting from the first source that has it: flag, env, file, default
 * (the token has no default). tls_pin, ca_file and ca_fingerprint come from
 * the file only when the server is the file's. Any argument but out and
 * file may be NULL. */
void config_resolve(struct cli_config *out, const struct cli_config *file,
                    const char *env_server, const char *env_token, const char *flag_server,
                    const char *flag_token);

/* Checks and tidies a server URL in place: "host:port" gets "http://",
 * trailing slashes go. Returns 0, or -1 with err filled when the scheme is
 * not http or https or no host is given. */
int config_normalize_server(char *url, size_t n, char *err, size_t errlen);

#endif

/* config.c - settings. Every key of the file is also a flag, so tests and
 * `make run` need no file at all. */
#include "config.h"

#include "flags.h"
#include "jsonv.h"
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void config_defaults(struct agent_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:7441");
	snprintf(c->token_file, sizeof(c->token_file), "/etc/vdc/agent.token");
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/vdc-agent");
	snprintf(c->run_dir, sizeof(c->run_dir), "/run/vdc-agent");
	c->vm_id_lo = 200000;
	c->vm_id_hi = 299999;
	snprintf(c->qemu_binary, sizeof(c->qemu_binary), "qemu-system-x86_64");
	snprintf(c->accel, sizeof(c->accel), "auto");
	snprintf(c->cgroup_base, sizeof(c->cgroup_base), "vdc");
	c->console_log_bytes = 1024 * 1024;
	c->qmp_timeout_ms = 30000;
	c->sandbox = 1;
	c->log_level = 1;
	char err[8];
	nat_net_parse(NAT_DEFAULT, &c->nat, err, sizeof(err));
}

const struct datastore *config_datastore(const struct agent_config *c, const char *name)
{
	for (int i = 0; i < c->ndatastores; i++)
		if (!strcmp(c->datastores[i].name, name))
			return &c->datastores[i];
	return NULL;
}

static int copy(char *dst, size_t n, const char *key, const char *v, char *err, size_t errlen)
{
	if (strlen(v) >= n) {
		snprintf(err, errlen, "%s: value too long (at most %zu characters)", key, n - 1);
		return -1;
	}
	snprintf(dst, n, "%s", v);
	return 0;
}

int config_set(struct agent_config *c, const char *key, const char *v, char *err, size_t errlen)
{
	if (!strcmp(key, "listen"))
		return copy(c->listen, sizeof(c->listen), key, v, err, errlen);
	if (!strcmp(key, "token-file"))
		return copy(c->token_file, sizeof(c->token_file), key, v, err, errlen);
	if (!strcmp(key, "state-dir"))
		return copy(c->state_dir, sizeof(c->state_dir), key, v, err, errlen);
	if (!strcmp(key, "run-dir"))
		return copy(c->run_dir, sizeof(c->run_dir), key, v, err, errlen);
	if (!strcmp(key, "qemu-user")) {
		snprintf(err, errlen, "qemu-user: no longer used: each VM's QEMU runs as the VM's own uid "
		                      "and gid from vm-id-range; remove this setting");
		return -1;
	}
	if (!strcmp(key, "vm-id-range")) {
		char *end;
		errno = 0;
		unsigned long lo = strtoul(v, &end, 10), hi = 0;
		if (!errno && *end == '-' && end[1] >= '0' && end[1] <= '9')
			hi = strtoul(end + 1, &end, 10);
		/* Below 1000 are the host's own users; 2^31 and up is unsafe for
		 * tools that read ids as signed numbers. */
		if (errno || *end || lo < 1000 || hi < lo || hi >= (1ul << 31)) {
			snprintf(err, errlen, "vm-id-range: give LOW-HIGH with 1000 <= LOW <= HIGH < 2^31, "
			                      "ids no user of this host has (e.g. 200000-299999), not '%s'", v);
			return -1;
		}
		c->vm_id_lo = (unsigned)lo;
		c->vm_id_hi = (unsigned)hi;
		return 0;
	}
	if (!strcmp(key, "image-root")) {
		if (v[0] != '/' || !strcmp(v, "/")) {
			snprintf(err, errlen, "image-root: give an absolute directory other than /, not '%s'", v);
			return -1;
		}
		if (c->nimage_roots == MAX_IMAGE_ROOTS) {
			snprintf(err, errlen, "image-root: at most %d image roots", MAX_IMAGE_ROOTS);
			return -1;
		}
		if (copy(c->image_roots[c->nimage_roots], sizeof(c->image_roots[0]), key, v, err, errlen) < 0)
			return -1;
		c->nimage_roots++;
		return 0;
	}
	if (!strcmp(key, "qemu-binary"))
		return copy(c->qemu_binary, sizeof(c->qemu_binary), key, v, err, errlen);
	if (!strcmp(key, "manager-url"))
		return copy(c->manager_url, sizeof(c->manager_url), key, v, err, errlen);
	if (!strcmp(key, "join-token"))
		return copy(c->join_token, sizeof(c->join_token), key, v, err, errlen);
	if (!strcmp(key, "advertise-url"))
		return copy(c->advertise_url, sizeof(c->advertise_url), key, v, err, errlen);
	if (!strcmp(key, "manager-ca-fingerprint")) {
		if (tls_fingerprint_parse(v, c->manager_ca_fp) < 0) {
			snprintf(err, errlen, "manager-ca-fingerprint: give sha256:<64 hex digits> as printed "
			                      "with the join token, not '%s'", v);
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "nat-network"))
		return nat_net_parse(v, &c->nat, err, errlen);
	if (!strcmp(key, "host-name")) {
		if (!jv_is_safe_name(v)) {
			snprintf(err, errlen, "host-name: '%s' is not a safe name", v);
			return -1;
		}
		return copy(c->host_name, sizeof(c->host_name), key, v, err, errlen);
	}
	if (!strcmp(key, "cgroup-base")) {
		if (!jv_is_safe_name(v)) {
			snprintf(err, errlen, "cgroup-base: '%s' is not a safe name", v);
			return -1;
		}
		return copy(c->cgroup_base, sizeof(c->cgroup_base), key, v, err, errlen);
	}
	if (!strcmp(key, "accel")) {
		if (strcmp(v, "auto") && strcmp(v, "kvm") && strcmp(v, "tcg")) {
			snprintf(err, errlen, "accel: must be auto, kvm or tcg, not '%s'", v);
			return -1;
		}
		return copy(c->accel, sizeof(c->accel), key, v, err, errlen);
	}
	if (!strcmp(key, "sandbox")) {
		c->sandbox = strcmp(v, "off") != 0 && strcmp(v, "0") != 0;
		return 0;
	}
	if (!strcmp(key, "log-level")) {
		static const char *const names[] = {"debug", "info", "warn", "error"};
		for (int i = 0; i < 4; i++)
			if (!strcmp(v, names[i])) {
				c->log_level = i;
				return 0;
			}
		snprintf(err, errlen, "log-level: must be debug, info, warn or error");
		return -1;
	}
	if (!strcmp(key, "console-log-bytes")) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(v, &end, 10);
		if (errno || *end || n < 4096 || n > (1ull << 30)) {
			snprintf(err, errlen, "console-log-bytes: give a number of bytes from 4096 to 1 GiB");
			return -1;
		}
		c->console_log_bytes = (size_t)n;
		return 0;
	}
	if (!strcmp(key, "qmp-timeout-ms")) {
		char *end;
		errno = 0;
		long n = strtol(v, &end, 10);
		if (errno || *end || end == v || n < 100 || n > 600000) {
			snprintf(err, errlen, "qmp-timeout-ms: give milliseconds from 100 to 600000");
			return -1;
		}
		c->qmp_timeout_ms = (int)n;
		return 0;
	}
	if (!strcmp(key, "datastore")) {
		const char *eq = strchr(v, '=');
		if (!eq || eq == v || eq[1] != '/') {
			snprintf(err, errlen, "datastore: give NAME=/absolute/path, not '%s'", v);
			return -1;
		}
		if (c->ndatastores == MAX_DATASTORES) {
			snprintf(err, errlen, "datastore: at most %d datastores", MAX_DATASTORES);
			return -1;
		}
		struct datastore *d = &c->datastores[c->ndatastores];
		/* Refuse rather than cut: a cut path names another directory. */
		if ((size_t)(eq - v) >= sizeof(d->name) || strlen(eq + 1) >= sizeof(d->path)) {
			snprintf(err, errlen, "datastore: name (at most %zu) or path (at most %zu) too long",
			         sizeof(d->name) - 1, sizeof(d->path) - 1);
			return -1;
		}
		snprintf(d->name, sizeof(d->name), "%.*s", (int)(eq - v), v);
		if (!jv_is_safe_name(d->name)) {
			snprintf(err, errlen, "datastore: '%s' is not a safe name", d->name);
			return -1;
		}
		for (int i = 0; i < c->ndatastores; i++)
			if (!strcmp(c->datastores[i].name, d->name)) {
				snprintf(d->path, sizeof(d->path), "%s", eq + 1);
				c->datastores[i] = *d; /* a later setting replaces */
				return 0;
			}
		snprintf(d->path, sizeof(d->path), "%s", eq + 1);
		c->ndatastores++;
		return 0;
	}
	snprintf(err, errlen, "unknown setting '%s' (see vdc-agent --help)", key);
	return -1;
}

int config_load_file(struct agent_config *c, const char *path, int required, char *err,
                     size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		if (!required && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read config %s: %s", path, strerror(errno));
		return -1;
	}
	/* getline, not a fixed buffer: the tail of an over-long comment must
	 * never be read as a line of its own. */
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;
	while (rc == 0 && getline(&line, &cap, f) >= 0) {
		lineno++;
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		s[strcspn(s, "\r\n")] = '\0';
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected key=value", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		char *k = s, *v = eq + 1;
		for (char *t = eq; t > k && (t[-1] == ' ' || t[-1] == '\t'); t--)
			t[-1] = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		/* Trailing blanks are invisible in an editor; never part of a value. */
		for (size_t n = strlen(v); n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'); n--)
			v[n - 1] = '\0';
		char sub[1024];
		if (config_set(c, k, v, sub, sizeof(sub)) < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, sub);
			rc = -1;
		}
	}
	/* A directory opens fine and fails on the first read. */
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "cannot read config %s: %s", path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

static const char usage[] =
    "usage: vdc-agent [--config FILE] [--KEY=VALUE ...]\n"
    "  --listen ADDR:PORT        HTTP API (default 127.0.0.1:7441)\n"
    "  --token-file FILE         bearer token; made at first start (default /etc/vdc/agent.token)\n"
    "  --state-dir DIR           specs, console logs (default /var/lib/vdc-agent)\n"
    "  --run-dir DIR             sockets, pid files (default /run/vdc-agent)\n"
    "  --datastore NAME=PATH     a datastore directory (repeat; default local=STATE/datastore)\n"
    "  --vm-id-range LOW-HIGH    uids/gids given one per VM, for its QEMU and\n"
    "                            files (default 200000-299999)\n"
    "  --image-root DIR          shared read-only images disks may be clones of,\n"
    "                            besides the datastores (repeat)\n"
    "  --qemu-binary PATH        default qemu-system-x86_64\n"
    "  --accel auto|kvm|tcg      default auto (KVM when it works)\n"
    "  --cgroup-base NAME        cgroup subtree (default vdc)\n"
    "  --console-log-bytes N     per-VM serial log bound (default 1 MiB)\n"
    "  --qmp-timeout-ms N        how long a QEMU may take to answer one QMP\n"
    "                            command before that VM's operation fails (default 30000)\n"
    "  --sandbox on|off          QEMU seccomp sandbox (default on)\n"
    "  --log-level LEVEL         debug, info, warn, error\n"
    "  --nat-network GW/LEN|off  the NAT network guests of mode nat join: bridge\n"
    "                            " NAT_BRIDGE ", gateway GW, DHCP/DNS by dnsmasq (default\n"
    "                            " NAT_DEFAULT "); every VM NIC is kept off the host\n"
    "  --manager-url URL         join vdcd at URL and heartbeat to it\n"
    "  --join-token TOKEN        one-time join token from vdcd (first join only)\n"
    "  --host-name NAME          this host's name in vdcd (default: the hostname)\n"
    "  --manager-ca-fingerprint sha256:HEX\n"
    "                            vdcd's CA, printed with the join token; needed to\n"
    "                            join over https (the agent then serves HTTPS with\n"
    "                            the certificate vdcd gives it, to vdcd only)\n"
    "  --advertise-url URL       how vdcd reaches this agent (default https://LISTEN\n"
    "                            when joined over https, else http://LISTEN)\n";

int config_parse_args(struct agent_config *c, int argc, char **argv, char *err, size_t errlen)
{
	/* --config is read first so that flags override the file. */
	for (int i = 1; i < argc; i++) {
		const char *cfg = NULL;
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			cfg = argv[i + 1];
		else if (!strncmp(argv[i], "--config=", 9))
			cfg = argv[i] + 9;
		if (cfg && config_load_file(c, cfg, 1, err, errlen) < 0)
			return -1;
	}
	char key[64];
	const char *val;
	enum flags_result fr;
	for (int i = 1; (fr = flags_next(argc, argv, &i, key, sizeof(key), &val, err, errlen)) != FLAGS_END;) {
		if (fr == FLAGS_HELP) {
			fputs(usage, stdout);
			return 1;
		}
		if (fr == FLAGS_ERROR)
			return -1;
		if (!strcmp(key, "config"))
			continue;
		if (config_set(c, key, val, err, errlen) < 0)
			return -1;
	}
	if (!c->host_name[0]) {
		char h[64] = "";
		gethostname(h, sizeof(h) - 1);
		snprintf(c->host_name, sizeof(c->host_name), "%s", jv_is_safe_name(h) ? h : "host");
	}
	if (c->ndatastores == 0) {
		struct datastore *d = &c->datastores[c->ndatastores++];
		snprintf(d->name, sizeof(d->name), "local");
		/* state_dir is shorter than path by construction of the two sizes. */
		size_t n = strnlen(c->state_dir, sizeof(d->path) - 16);
		snprintf(d->path, sizeof(d->path), "%.*s/datastore", (int)n, c->state_dir);
	}
	return 0;
}

/* main.c - vdc-agent: reads its settings, re-attaches to the VMs already
 * running on this host, and serves the API from one event loop. Stopping the
 * agent never stops a VM. */
#include "api.h"
#include "images.h"

#include "fsutil.h"
#include "ha_guard.h"
#include "hostinfo.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "manager_link.h"
#include "natnet.h"
#include "tls.h"
#include "url.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_BODY (256 * 1024)

/* Reads the token, making one (32 random bytes, hex) at first start. */
static char *load_token(const char *path)
{
	char *tok = fs_read_all(path, 4096, NULL);
	if (tok) {
		tok[strcspn(tok, "\r\n")] = '\0';
		if (strlen(tok) >= 16)
			return tok;
		log_error("token_too_short", "path=%s hint=\"use at least 16 characters\"", path);
		free(tok);
		return NULL;
	}
	unsigned char raw[32];
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return NULL;
	tok = malloc(sizeof(raw) * 2 + 2);
	if (!tok)
		return NULL;
	for (size_t i = 0; i < sizeof(raw); i++)
		sprintf(tok + 2 * i, "%02x", raw[i]);
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		fs_mkdir_p(dir, 0700);
	}
	char line[80];
	int n = snprintf(line, sizeof(line), "%s\n", tok);
	if (fs_write_atomic(path, line, (size_t)n, 0600) < 0) {
		log_error("token_write_failed", "path=%s error=%s", path, log_quote(strerror(errno)));
		free(tok);
		return NULL;
	}
	log_info("token_created", "path=%s", path);
	return tok;
}

/* QEMU runs as its VM's identity with one supplementary group: the one
 * that may open /dev/kvm (none on hosts without it). */
static void lookup_kvm_group(struct agent *a)
{
	struct group *g = getgrnam("kvm");
	a->kvm_gid = g ? g->gr_gid : 0;
	if (!g)
		log_info("kvm_group_missing", "hint=%s",
		         log_quote("QEMU runs without the kvm group; KVM needs /dev/kvm readable by it"));
}

static int prepare_dirs(struct agent *a)
{
	char path[1100];
	/* Traversable (not listable) by the VMs' identities: the default
	 * datastore lives inside it; what is private inside (vms/) stays 0700. */
	if (fs_mkdir_p(a->cfg.state_dir, 0711) < 0 || chmod(a->cfg.state_dir, 0711) < 0) {
		log_error("state_dir", "path=%s error=%s", a->cfg.state_dir, log_quote(strerror(errno)));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/vms", a->cfg.state_dir);
	if (fs_mkdir_p(path, 0700) < 0) {
		log_error("state_dir", "path=%s error=%s", path, log_quote(strerror(errno)));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/vms", a->cfg.run_dir);
	if (fs_mkdir_p(path, 0700) < 0) {
		log_error("run_dir", "path=%s error=%s", path, log_quote(strerror(errno)));
		return -1;
	}
	/* QEMU makes its VNC socket in RUN/vnc/NAME (its own, 0700), so it
	 * must pass through RUN and RUN/vnc, and list neither. */
	struct stat st;
	snprintf(path, sizeof(path), "%s/vnc", a->cfg.run_dir);
	if (stat(a->cfg.run_dir, &st) < 0 ||
	    ((st.st_mode & 011) != 011 && chmod(a->cfg.run_dir, (st.st_mode & 07777) | 011) < 0) ||
	    fs_mkdir_p(path, 0711) < 0 || chmod(path, 0711) < 0) {
		log_error("run_dir", "path=%s error=%s", path, log_quote(strerror(errno)));
		return -1;
	}
	for (int i = 0; i < a->cfg.ndatastores; i++)
		if (fs_mkdir_p(a->cfg.datastores[i].path, 0755) < 0) {
			log_error("datastore", "name=%s path=%s error=%s", a->cfg.datastores[i].name,
			          a->cfg.datastores[i].path, log_quote(strerror(errno)));
			return -1;
		}
	return 0;
}

int agent_serve(struct agent *a)
{
	char err[1024], host[256], port[16];
	if (a->http)
		return 0;
	if (url_split_hostport(a->cfg.listen, host, sizeof(host), port, sizeof(port)) < 0) {
		log_error("listen_failed", "listen=%s hint=\"give HOST:PORT or [V6]:PORT\"", a->cfg.listen);
		return -1;
	}
	static char spool[1200];
	if (images_prepare(a, spool, sizeof(spool)) < 0) {
		log_error("image_spool", "path=%s error=%s", spool, log_quote(strerror(errno)));
		return -1;
	}
	struct http_config hc = {.listen = a->cfg.listen, .token = a->token, .max_body = MAX_BODY,
	                         .app = a, .spool_dir = spool};
	if (a->tls.cert) {
		/* Only vdcd drives an agent: its client certificate (CN vdcd, from
		 * the CA of the join) and the bearer token both. */
		hc.tls_cert = a->tls.cert;
		hc.tls_key = a->tls.key;
		hc.tls_trust = a->tls.ca;
		hc.require_client_cert = 1;
		hc.client_cn = "vdcd";
	} else if (a->awaiting_join) {
		/* Even on loopback: vdcd will call the https:// URL of the join. */
		log_info("api_waits_for_join", "listen=%s reason=%s", a->cfg.listen,
		         log_quote("HTTPS starts with the certificate the join brings"));
		return 0;
	} else if (!url_host_is_loopback(host)) {
		log_error("plain_http_refused", "listen=%s hint=%s", a->cfg.listen,
		          log_quote("without a certificate the agent serves plain HTTP on loopback only: "
		                    "listen on 127.0.0.1, or join vdcd over https (--manager-url https://... "
		                    "--join-token ... --manager-ca-fingerprint sha256:...)"));
		return -1;
	}
	a->http = http_server_start(&hc, agent_routes, agent_nroutes, a->loop, err, sizeof(err));
	if (!a->http) {
		log_error("listen_failed", "error=%s", log_quote(err));
		return -1;
	}
	log_info("agent_ready", "listen=%s tls=%s accel=%s qemu=%s cgroup=v%d pid=%d", a->cfg.listen,
	         a->tls.cert ? "mutual" : "off", a->accel, a->qemu_version, a->cg.version,
	         (int)getpid());
	return 0;
}

int main(int argc, char **argv)
{
	static struct agent agent;
	struct agent *a = &agent;
	char err[1024];
	log_set_program("vdc-agent");
	config_defaults(&a->cfg);
	int rc = config_parse_args(&a->cfg, argc, argv, err, sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "vdc-agent: %s\n", err);
		return rc < 0 ? 2 : 0;
	}
	log_set_level((enum log_level)a->cfg.log_level);
	if (geteuid() != 0) {
		log_error("not_root", "hint=%s",
		          log_quote("run vdc-agent as root: it creates taps and cgroups and hands them to "
		                    "QEMU, which itself runs unprivileged"));
		return 1;
	}
	lookup_kvm_group(a);
	if (prepare_dirs(a) < 0)
		return 1;
	struct errinfo e = {0};
	if (cgroup_init(&a->cg, a->cfg.cgroup_base, &e) < 0 ||
	    accel_detect(a->cfg.accel, a->accel, &e) < 0 ||
	    qemu_version(a->cfg.qemu_binary, a->qemu_version, sizeof(a->qemu_version), &e) < 0) {
		log_error("startup_failed", "error=%s", log_quote(e.message));
		return 1;
	}
	/* Resolve QEMU once: execvp would walk PATH on every VM start. */
	if (!strchr(a->cfg.qemu_binary, '/')) {
		const char *path = getenv("PATH");
		char *dirs = strdup(path ? path : "/usr/bin:/bin");
		char *save = NULL;
		for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
			char full[1100];
			snprintf(full, sizeof(full), "%s/%s", d, a->cfg.qemu_binary);
			if (access(full, X_OK) == 0) {
				snprintf(a->cfg.qemu_binary, sizeof(a->cfg.qemu_binary), "%s", full);
				break;
			}
		}
		free(dirs);
	}
	/* A baseline the cluster asks for must be among these (vm_lifecycle's
	 * check, and vdcd's at join). A QEMU that cannot list them offers
	 * none: VMs without a CPU model still run. */
	if (!(a->cpu_models = qemu_cpu_models(a->cfg.qemu_binary, a->accel, &e))) {
		log_error("cpu_models_failed", "error=%s", log_quote(e.message));
		a->cpu_models = json_array();
	}
	a->token = load_token(a->cfg.token_file);
	if (!a->token || agent_tls_load(a) < 0)
		return 1;
	a->loop = loop_new();
	a->started_at = time(NULL);
	if (loop_stop_on_signals(a->loop) < 0) {
		log_error("signals_failed", "error=%s", log_quote(strerror(errno)));
		return 1;
	}
	/* The guard before any VM is re-attached or started. */
	if (natnet_start(a) < 0) {
		rc = 1;
		goto cleanup;
	}
	vm_load_all(a);
	/* The link first: it says whether the API must wait for the join. */
	if (manager_link_start(a) < 0 || agent_serve(a) < 0) {
		rc = 1;
		goto cleanup;
	}
	ha_guard_start(a);
	if (vm_ready_start(a) < 0)
		log_warn("ready_probes_off", "error=%s", log_quote("no timer for readiness probes"));
	if (vm_guest_start(a) < 0)
		log_warn("guest_agent_polls_off", "error=%s", log_quote("no timer for guest agent polls"));
	loop_run(a->loop);
	rc = a->exit_code;
	log_info("agent_stopping", "reason=%s vms=\"left running\"", rc ? "error" : "signal");
cleanup:
	natnet_stop(a);
	ha_guard_stop(a);
	manager_link_stop(a);
	api_console_stop(a); /* upgraded connections end before their server */
	api_link_stop(a);
	if (a->http)
		http_server_stop(a->http);
	vm_detach_all(a);
	loop_free(a->loop);
	agent_tls_free(a);
	tls_free_secret(a->token);
	json_decref(a->cpu_models);
	return rc;
}

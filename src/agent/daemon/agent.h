/* agent.h - the agent's state: its config, event loop, HTTP server, and the
 * VMs it owns. Each VM is owned by the loop: handlers and QMP/pidfd callbacks
 * all run on the one thread, so a VM needs no lock. No HTTP type is needed
 * to read it: the API server is only a pointer here. */
#ifndef VDC_AGENT_H
#define VDC_AGENT_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "cgroup.h"
#include "config.h"

struct loop;
struct http_server;
struct vm;

/* The agent's certificate from its join (PEM, all NULL before it): key and
 * certificate, the CA that signs vdcd's client certificate (ca) and the CA
 * pinned at the join that vdcd's server certificate chains to (manager_ca;
 * the same CA unless the operator gave vdcd a certificate of their own). */
struct agent_tls {
	char *cert, *key, *ca, *manager_ca;
};

struct agent {
	struct agent_config cfg;
	struct loop *loop;
	struct http_server *http;
	struct agent_tls tls;
	char *token;        /* the bearer token vdcd and local tools use */
	bool awaiting_join; /* joining over https: the API starts after it */
	int exit_code;
	struct cgroups cg;
	char accel[8];
	char qemu_version[64];
	json_t *cpu_models; /* what QEMU offers whole under accel (names), for a CPU baseline */
	gid_t kvm_gid;      /* QEMU's one supplementary group (/dev/kvm); 0: none */
	struct vm *vms;
	time_t started_at;
	struct agent_consoles *consoles; /* live VNC streams (api_console.c) */
	struct loop_jobs *link_jobs;     /* link probes' threads (api_link.c) */
};

/* main.c: starts the API server, HTTPS when the agent has a certificate
 * (then only vdcd's client certificate may use it), plain HTTP only on a
 * loopback address. Returns 0 or -1 (logged). */
int agent_serve(struct agent *a);

/* agent_tls.c: the files under STATE/tls. */
/* Loads what is there; a missing set leaves a->tls empty. Returns 0, or -1
 * when the files are there but unusable (logged, with what to do). */
int agent_tls_load(struct agent *a);
/* Saves a new set (key 0600) and keeps it in a->tls (takes ownership of
 * the strings). Returns 0, or -1 with err. */
int agent_tls_save(struct agent *a, char *key, char *cert, char *ca, char *manager_ca, char *err,
                   size_t errlen);
void agent_tls_free(struct agent *a);

#include "vm.h"

#endif

/* config.h - vdc-agent's settings: a key=value file plus command-line flags,
 * with defaults that work on one machine. */
#ifndef VDC_AGENT_CONFIG_H
#define VDC_AGENT_CONFIG_H

#include <stddef.h>

#include "nat_rules.h"

#define MAX_DATASTORES 16
#define MAX_IMAGE_ROOTS 8

struct datastore {
	char name[64];
	char path[1024];
};

struct agent_config {
	char listen[128];
	char token_file[1024];
	char state_dir[1024];
	char run_dir[1024];
	struct datastore datastores[MAX_DATASTORES];
	int ndatastores;
	/* Shared read-only images (templates, kernels) outside the datastores
	 * that disks may be linked clones of; nothing else outside is opened. */
	char image_roots[MAX_IMAGE_ROOTS][1024];
	int nimage_roots;
	/* Each VM runs as its own uid and gid, taken from this range. */
	unsigned vm_id_lo, vm_id_hi;
	char qemu_binary[256];
	char accel[8];          /* auto, kvm, tcg */
	char cgroup_base[64];
	size_t console_log_bytes;
	/* How long one QMP command may take before it fails as a timeout (that
	 * VM's operation alone; the loop never waits for QEMU). */
	int qmp_timeout_ms;
	int sandbox;
	int log_level;          /* 0 debug .. 3 error */
	char manager_url[512];  /* vdcd, e.g. http://127.0.0.1:7443; empty: standalone */
	char join_token[128];   /* one-time token for the first join */
	char host_name[64];     /* name in vdcd's inventory (default: hostname) */
	char advertise_url[256];/* how vdcd reaches this agent (default http(s)://LISTEN) */
	char manager_ca_fp[80]; /* "sha256:..." of vdcd's CA, pinned at the join */
	struct nat_net nat;     /* the NAT network (NAT_BRIDGE); disabled: off */
};

void config_defaults(struct agent_config *c);
/* Applies one "key=value" setting. Returns 0, or -1 with a message in err. */
int config_set(struct agent_config *c, const char *key, const char *value, char *err,
               size_t errlen);
/* Reads a file of key=value lines (# comments). A missing file is an error
 * only when required. */
int config_load_file(struct agent_config *c, const char *path, int required, char *err,
                     size_t errlen);
/* Parses argv flags (--key=value or --key value, --config FILE first).
 * Returns 0, 1 when --help was shown, or -1 with err. */
int config_parse_args(struct agent_config *c, int argc, char **argv, char *err, size_t errlen);

const struct datastore *config_datastore(const struct agent_config *c, const char *name);

#endif

/* seed.c - api-seed: fills an empty vdcd store with a realistic inventory
 * for the API bench (a cluster, datastores, networks, templates, simulated
 * hosts and N VMs whose documents look like what POST /api/v1/vms stores),
 * straight through the store library, before vdcd is started on it. */
#include "store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: api-seed --store URL --out FILE [--vms N] [--hosts N]\n"
    "  Creates the inventory in one transaction and writes one 'ID NAME' line\n"
    "  per VM to FILE, in name order. The store must not hold these names yet.\n";

static uint64_t rng_state = 0x5eedf00dcafe1234ull;

/* splitmix64 with a fixed seed: every run seeds the same inventory. */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int pick(int n) { return (int)(rnd() % (uint64_t)n); }

/* A random (version 4) uuid from the generator above. */
static void make_uuid(char out[37])
{
	uint64_t a = rnd(), b = rnd();
	a = (a & ~0xf000ull) | 0x4000ull;
	b = (b & ~(0xc000ull << 48)) | (0x8000ull << 48);
	snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
	         (unsigned)((a >> 16) & 0xffff), (unsigned)(a & 0xffff), (unsigned)(b >> 48),
	         (unsigned long long)(b & 0xffffffffffffull));
}

/* Templates as the store keeps them: their images named (the library's
 * names; ids are not needed for reads). */
struct tmpl {
	const char *name, *image, *kernel, *initrd, *cmdline;
	int vcpus, memory_mib, disk_size_mib;
	char id[37];
};

static struct tmpl tmpls[] = {
	{"debian-12", "debian-12-genericcloud", NULL, NULL, NULL, 2,
	 2048, 20480, ""},
	{"ubuntu-24.04", "noble-server-cloudimg", NULL, NULL, NULL, 2,
	 4096, 30720, ""},
	{"alpine-3.20", "alpine-virt-3.20.3",
	 "alpine-vmlinuz-virt", "alpine-initramfs-virt",
	 "console=ttyS0 root=/dev/vda rw quiet modules=virtio_blk,ext4", 1, 512, 4096, ""},
	{"rocky-9", "rocky-9-genericcloud", NULL, NULL,
	 NULL, 4, 8192, 51200, ""},
};
#define NTMPLS ((int)(sizeof(tmpls) / sizeof(tmpls[0])))

static const struct { const char *name, *bridge; int vlan; } nets[] = {
	{"prod", "br-prod", 100}, {"mgmt", "br-mgmt", 10}, {"storage", "br-stor", 200},
	{"dmz", "br-dmz", 300},
};
#define NNETS ((int)(sizeof(nets) / sizeof(nets[0])))

static const char *const roles[] = {"web", "api", "db", "cache", "worker", "ci", "mq", "lb"};

static const char user_data[] =
    "#cloud-config\nusers:\n  - name: ops\n    groups: [sudo]\n    shell: /bin/bash\n"
    "    ssh_authorized_keys:\n      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF7dq0u3m8Yp2Lr"
    "QvWc1kE4sZb9TnH6xGfJ0aB2cD3eF ops@bastion\npackage_update: true\npackages: [qemu-guest"
    "-agent, chrony]\nruncmd:\n  - systemctl enable --now qemu-guest-agent\n";

static int add(struct store *st, enum store_kind k, json_t *doc, struct errinfo *e)
{
	int rc = store_create(st, k, doc, NULL, e);
	json_decref(doc);
	return rc;
}

struct host {
	char id[37], name[24];
	int cpus, used;
};

/* A VM as api_vms_create() would have stored it, placed on host h. */
/* Every VM is in project "bench", so that a member's token can read them. */
static char project_id[37];

static json_t *vm_doc(int i, const char *id, const char *name, const struct host *hosts, int nh,
                      int h, const char *cluster_id)
{
	const struct tmpl *t = &tmpls[pick(NTMPLS)];
	static const int vcpus[] = {1, 1, 2, 2, 2, 4, 4, 8};
	static const int mem[] = {512, 1024, 2048, 2048, 4096, 4096, 8192, 16384};
	int size = pick(8);
	json_t *networks = json_array();
	int nn = 1 + (pick(4) == 0);
	for (int n = 0; n < nn; n++) {
		int x = n == 0 ? 0 : 1 + pick(NNETS - 1);
		json_array_append_new(networks, json_pack("{s:s, s:s, s:i}", "name", nets[x].name,
		                                          "bridge", nets[x].bridge, "vlan", nets[x].vlan));
	}
	json_t *tref = json_pack("{s:s, s:s, s:s}", "id", t->id, "name", t->name, "image", t->image);
	if (t->kernel)
		json_object_set_new(tref, "kernel", json_string(t->kernel));
	if (t->initrd)
		json_object_set_new(tref, "initrd", json_string(t->initrd));
	if (t->cmdline)
		json_object_set_new(tref, "cmdline", json_string(t->cmdline));
	json_t *config = json_pack("{s:i, s:i, s:i, s:s, s:o, s:o}", "vcpus", vcpus[size],
	                           "memory_mib", mem[size], "disk_size_mib", t->disk_size_mib * (1 + pick(3)),
	                           "datastore", pick(5) ? "local" : "shared-nfs", "networks", networks,
	                           "template", tref);
	if (pick(3) == 0)
		json_object_set_new(config, "user_data", json_string(user_data));
	json_t *groups = json_pack("{s:[], s:[]}", "affinity", "anti_affinity");
	if (pick(4) == 0) /* a quarter are spread over hosts by role */
		json_array_append_new(json_object_get(groups, "anti_affinity"),
		                      json_string(roles[i % 8]));
	char summary[256];
	snprintf(summary, sizeof(summary),
	         "placed on %s (pack, score %.3f); %d of %d hosts eligible; %d hosts lacked memory",
	         hosts[h].name, 0.35 + (double)pick(600) / 1000.0, nh - 3, nh, 3);
	static const char *const power[] = {"running", "running", "running", "running",
	                                    "running", "running", "running", "stopped"};
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:{s:s, s:s}}", "id", id, "name",
	                 name, "host_id", hosts[h].id, "cluster_id", cluster_id, "template_id", t->id,
	                 "project_id", project_id, "power_state", power[pick(8)], "config", config,
	                 "placement_groups", groups, "placement", "host", hosts[h].name, "summary", summary);
}

static json_t *host_doc(const struct host *h, const char *cluster_id, int idx, const char *now,
                        time_t epoch)
{
	/* Simulated hosts: loopback addresses (127.x, never a private or
	 * public range) where nothing listens, so a task refused at once. */
	char url[64];
	snprintf(url, sizeof(url), "http://127.%d.%d.%d:9", 1 + idx / 62500, idx / 250 % 250,
	         10 + idx % 250);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:I, s:{s:i, s:I}, s:s, s:s,"
	                 " s:[{s:s, s:s}, {s:s, s:s}], s:[s, s, s, s], s:i}",
	                 "id", h->id, "name", h->name, "cluster_id", cluster_id, "state", "connected",
	                 "agent_url", url, "maintenance", 0, "last_heartbeat", now,
	                 "last_heartbeat_epoch", (json_int_t)epoch, "capacity", "cpus", h->cpus,
	                 "memory_mib", (json_int_t)h->cpus * 8192, "accel", "kvm", "qemu_version",
	                 "7.2.11", "datastores", "name", "local", "path", "/var/lib/vdc/datastores/local",
	                 "name", "shared-nfs", "path", "/mnt/nfs/vdc", "bridges", "br-prod", "br-mgmt",
	                 "br-stor", "br-dmz", "vms_reported", h->used);
}

static int seed(struct store *st, int nvms, int nhosts, FILE *out, size_t *doc_bytes,
                struct errinfo *e)
{
	char cluster_id[37], now[32];
	time_t epoch = time(NULL);
	struct tm tm;
	gmtime_r(&epoch, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	struct host *hosts = calloc((size_t)nhosts, sizeof(*hosts));
	int *where = calloc((size_t)nvms, sizeof(*where));
	int rc = -1;
	if (!hosts || !where) {
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		goto cleanup;
	}
	make_uuid(cluster_id);
	if (store_begin(st, e) < 0 ||
	    add(st, STORE_CLUSTER, json_pack("{s:s, s:s, s:s, s:f, s:f, s:s}", "id", cluster_id, "name",
	                                     "bench", "description", "api bench fleet",
	                                     "cpu_overcommit", 4.0, "mem_overcommit", 1.0, "policy",
	                                     "pack"), e) < 0)
		goto cleanup;
	make_uuid(project_id);
	if (add(st, STORE_PROJECT, json_pack("{s:s, s:s, s:s, s:{s:n, s:n, s:n, s:n}, s:{}}", "id", project_id,
	                                     "name", "bench", "description", "api bench VMs", "quota", "vms",
	                                     "vcpus", "memory_mib", "disk_mib", "usage"), e) < 0)
		goto cleanup;
	char id[37];
	make_uuid(id);
	if (add(st, STORE_DATASTORE, json_pack("{s:s, s:s, s:s}", "id", id, "name", "shared-nfs",
	                                       "path", "/mnt/nfs/vdc"), e) < 0)
		goto cleanup;
	for (int n = 0; n < NNETS; n++) {
		make_uuid(id);
		if (add(st, STORE_NETWORK, json_pack("{s:s, s:s, s:s, s:i}", "id", id, "name",
		                                     nets[n].name, "bridge", nets[n].bridge, "vlan",
		                                     nets[n].vlan), e) < 0)
			goto cleanup;
	}
	for (int t = 0; t < NTMPLS; t++) {
		make_uuid(tmpls[t].id);
		/* An image id as the library gives one (no file behind it: the
		 * VMs are never made), so that POST /api/v1/vms takes it. */
		char image_id[37];
		make_uuid(image_id);
		json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:I, s:i, s:i, s:i}", "id", tmpls[t].id,
		                      "name", tmpls[t].name, "image", tmpls[t].image, "image_id",
		                      image_id, "image_virtual_bytes",
		                      (json_int_t)tmpls[t].disk_size_mib << 20, "vcpus", tmpls[t].vcpus,
		                      "memory_mib", tmpls[t].memory_mib, "disk_size_mib",
		                      tmpls[t].disk_size_mib);
		if (tmpls[t].kernel)
			json_object_set_new(d, "kernel", json_string(tmpls[t].kernel));
		if (tmpls[t].initrd)
			json_object_set_new(d, "initrd", json_string(tmpls[t].initrd));
		if (tmpls[t].cmdline)
			json_object_set_new(d, "cmdline", json_string(tmpls[t].cmdline));
		if (add(st, STORE_TEMPLATE, d, e) < 0)
			goto cleanup;
	}
	for (int h = 0; h < nhosts; h++) {
		make_uuid(hosts[h].id);
		snprintf(hosts[h].name, sizeof(hosts[h].name), "host-%0*d", nhosts > 1000 ? 5 : 3, h);
		hosts[h].cpus = 32 << pick(3);
	}
	for (int i = 0; i < nvms; i++)
		hosts[where[i] = pick(nhosts)].used++;
	for (int h = 0; h < nhosts; h++)
		if (add(st, STORE_HOST, host_doc(&hosts[h], cluster_id, h, now, epoch), e) < 0)
			goto cleanup;
	for (int i = 0; i < nvms; i++) {
		char name[32];
		make_uuid(id);
		snprintf(name, sizeof(name), "vm-%05d", i);
		json_t *d = vm_doc(i, id, name, hosts, nhosts, where[i], cluster_id);
		char *text = json_dumps(d, JSON_COMPACT);
		*doc_bytes += text ? strlen(text) : 0;
		free(text);
		if (add(st, STORE_VM, d, e) < 0)
			goto cleanup;
		fprintf(out, "%s %s\n", id, name);
	}
	rc = store_commit(st, e);
cleanup:
	if (rc < 0)
		store_rollback(st);
	free(hosts);
	free(where);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"store", required_argument, NULL, 's'}, {"out", required_argument, NULL, 'o'},
		{"vms", required_argument, NULL, 'v'},   {"hosts", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},        {0},
	};
	const char *url = NULL, *out_path = NULL;
	int nvms = 10000, nhosts = 64, c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': url = optarg; break;
		case 'o': out_path = optarg; break;
		case 'v': nvms = atoi(optarg); break;
		case 'H': nhosts = atoi(optarg); break;
		default: fputs(usage, c == 'h' ? stdout : stderr); return c == 'h' ? 0 : 2;
		}
	}
	if (!url || !out_path || nvms < 1 || nhosts < 1 || nhosts > 100000) {
		fputs(usage, stderr);
		return 2;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct errinfo e = {0};
	struct store *st = store_open(url, &e);
	FILE *out = st ? fopen(out_path, "w") : NULL;
	size_t bytes = 0;
	int rc = 1;
	if (!st)
		fprintf(stderr, "api-seed: %s\n", e.message);
	else if (!out)
		perror(out_path);
	else if (seed(st, nvms, nhosts, out, &bytes, &e) < 0)
		fprintf(stderr, "api-seed: %s\n", e.message);
	else
		rc = 0;
	if (out && fclose(out) != 0 && rc == 0) {
		perror(out_path);
		rc = 1;
	}
	store_close(st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == 0)
		fprintf(stderr, "api-seed: %d VMs (documents %zu bytes on average before the store's"
		        " fields), %d hosts, into %s in %.2f s\n", nvms, bytes / (size_t)nvms, nhosts,
		        url,
		        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return rc;
}

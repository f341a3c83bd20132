/* peer_vdc.c - vm-start's vdc peer: a private agent on a loopback port,
 * driven over its REST API with one reused curl handle, so every run pays
 * the same client cost (a kept-alive connection). The guest's kernel and
 * initrd are uploaded to it once as images (untimed), as vdcd would. */
#include "peers.h"
#include "bench_http.h"

#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CGROUP_BASE "vdcbench"

static size_t discard(char *data, size_t size, size_t nmemb, void *ctx)
{
	return size * nmemb;
}

/* One request. Returns the HTTP status, or -1 when there was no answer.
 * *resp (when set) gets the body, to free. */
static long http(struct vdc_peer *p, const char *method, const char *path, const char *body,
                 int timeout_ms, char **resp)
{
	return bench_http(p->h, "agent", p->base, method, path, body, timeout_ms, resp);
}

/* Like http(), but a status other than want is an error, said with the
 * agent's own message. Returns 0 or -1. */
static int call(struct vdc_peer *p, const char *method, const char *path, const char *body,
                int timeout_ms, long want, char **resp)
{
	char *r = NULL;
	long st = http(p, method, path, body, timeout_ms, &r);
	if (st != want) {
		if (st > 0)
			say("%s %s: HTTP %ld (wanted %ld): %.400s", method, path, st, want, r);
		free(r);
		return -1;
	}
	if (resp)
		*resp = r;
	else
		free(r);
	return 0;
}

static void forget(struct vdc_peer *p, const char *name)
{
	for (int i = 0; i < p->nnames; i++)
		if (!strcmp(p->names[i], name)) {
			memmove(p->names[i], p->names[i + 1],
			        sizeof(p->names[0]) * (size_t)(p->nnames - i - 1));
			p->nnames--;
			return;
		}
}

static int define(struct vdc_peer *p, enum variant v, const char *name, int memory_mib, bool start)
{
	if (p->nnames == (int)(sizeof(p->names) / sizeof(p->names[0]))) {
		say("too many VMs at once");
		return -1;
	}
	char *body = variant_spec_json(p->g, v, name, memory_mib);
	/* Remembered before the call: a define that answers late still counts. */
	snprintf(p->names[p->nnames++], sizeof(p->names[0]), "%s", name);
	const char *path = start ? "/api/v1/vms?start=true" : "/api/v1/vms";
	int rc = call(p, "POST", path, body, 60000, 201, NULL);
	free(body);
	return rc;
}

/* Hard power-off (waits for QEMU's exit), then delete. */
static int remove_vm(struct vdc_peer *p, const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/vms/%s/destroy", name);
	long st = http(p, "POST", path, NULL, 30000, NULL);
	if (st != 200 && st != 409) /* 409: it was not running */
		return -1;
	snprintf(path, sizeof(path), "/api/v1/vms/%s", name);
	if (call(p, "DELETE", path, NULL, 30000, 204, NULL) < 0)
		return -1;
	forget(p, name);
	return 0;
}

/* PUTs file to the agent as image id of kind and format: the file is the
 * request body, streamed. Returns 0 (201 new, 200 already there) or -1
 * with the agent's answer said. A handle of its own, so the shared one
 * keeps its settings for the timed calls. */
static int put_image(struct vdc_peer *p, const char *id, const char *kind, const char *format,
                     const char *file)
{
	FILE *f = fopen(file, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) < 0) {
		say("cannot read %s: %s", file, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	char url[512], auth[128];
	snprintf(url, sizeof(url), "%s/api/v1/images/%s?kind=%s&format=%s", p->base, id, kind, format);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p->token);
	struct curl_slist *hdrs = curl_slist_append(NULL, auth);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
	hdrs = curl_slist_append(hdrs, "Expect:"); /* no wait for a 100 Continue */
	struct bench_body b = {0};
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L); /* PUT */
	curl_easy_setopt(h, CURLOPT_READDATA, f);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, bench_curl_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 120000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(h);
	long status = -1;
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 201 && status != 200)
		say("uploading %s as image %s: %s %.400s", file, id,
		    rc == CURLE_OK ? "the agent answered" : curl_easy_strerror(rc), b.s ? b.s : "");
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	fclose(f);
	free(b.s);
	return status == 201 || status == 200 ? 0 : -1;
}

static int write_token(struct vdc_peer *p, const char *path)
{
	unsigned char raw[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	for (int i = 0; i < 16; i++)
		snprintf(p->token + 2 * i, 3, "%02x", raw[i]);
	return fs_write_atomic(path, p->token, strlen(p->token), 0600);
}

int vdc_start(struct vdc_peer *p, const char *agent_bin, const char *dir, const struct guest *g,
              const char *const *join)
{
	p->g = g;
	snprintf(p->dir, sizeof(p->dir), "%s", dir);
	snprintf(p->log, sizeof(p->log), "%s/agent.log", dir);
	snprintf(p->prefix, sizeof(p->prefix), "vb%d-", (int)getpid());
	char tokpath[300], st[300], run[300], ds[300], listen[64];
	snprintf(tokpath, sizeof(tokpath), "%s/token", dir);
	snprintf(st, sizeof(st), "%s/st", dir);
	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(ds, sizeof(ds), "local=%s/ds", dir);
	int port = bench_free_port();
	if (port < 0 || write_token(p, tokpath) < 0) {
		say("cannot pick a port or write the token in %s", dir);
		return -1;
	}
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(p->base, sizeof(p->base), "http://%s", listen);
	/* No NAT network: the bench's VMs have no NIC, and a NAT network's
	 * bridge and dnsmasq would outlive the bench in the root namespace. */
	const char *argv[24] = {agent_bin, "--listen", listen, "--token-file", tokpath, "--state-dir", st,
	                        "--run-dir", run, "--datastore", ds, "--cgroup-base", CGROUP_BASE,
	                        "--nat-network", "off", "--accel", g->accel, NULL};
	/* Joined to the bench's vdcd (peer_vdcd.c) when it asks. */
	for (int i = 17; join && *join && i < 23; i++)
		argv[i] = *join++;
	say("starting %s on %s (log %s)", agent_bin, listen, p->log);
	if ((p->pid = spawn_logged(argv, p->log)) < 0)
		return -1;

	p->h = bench_curl_new();
	char auth[128];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p->token);
	p->hdrs = curl_slist_append(NULL, auth);
	p->hdrs = curl_slist_append(p->hdrs, "Content-Type: application/json");
	curl_easy_setopt(p->h, CURLOPT_HTTPHEADER, p->hdrs);

	double deadline = now_ms() + 15000;
	for (;;) {
		if (wait_child(p->pid, 0, false) != -1) {
			say("the agent exited at start-up");
			p->pid = 0;
			return -1;
		}
		/* Quietly: refused connections are expected until it listens. */
		CURL *h = curl_easy_init();
		char url[128];
		snprintf(url, sizeof(url), "%s/healthz", p->base);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		long status = 0;
		if (curl_easy_perform(h) == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(h);
		if (status == 200)
			break;
		if (now_ms() > deadline || bench_sleep_ms(10) < 0) {
			say("the agent did not answer /healthz within 15 s");
			return -1;
		}
	}
	/* Our token must work: another agent could share the port. */
	if (call(p, "GET", "/api/v1/vms", NULL, 5000, 200, NULL) < 0) {
		say("the agent on %s does not take our token: is another agent on that port?", listen);
		return -1;
	}
	/* VM specs name images by id, never by a host path. */
	if (put_image(p, KERNEL_IMAGE, "kernel", "raw", g->kernel) < 0 ||
	    put_image(p, INITRD_IMAGE, "initrd", "raw", g->initrd) < 0 ||
	    put_image(p, DISK_IMAGE, "disk", "qcow2", g->disk_template) < 0)
		return -1;
	/* The accelerator is pinned: make sure the agent took it. */
	char *host = NULL;
	if (call(p, "GET", "/api/v1/host", NULL, 5000, 200, &host) < 0)
		return -1;
	json_t *hj = json_loads(host, 0, NULL);
	const char *acc = json_string_value(json_object_get(hj, "accel"));
	int rc = acc && !strcmp(acc, g->accel) ? 0 : -1;
	if (rc < 0)
		say("the agent runs with accel %s, not %s", acc ? acc : "(none)", g->accel);
	json_decref(hj);
	free(host);
	return rc;
}

int vdc_get(struct vdc_peer *p, const char *path, char **resp)
{
	return call(p, "GET", path, NULL, 5000, 200, resp);
}

/* Ready: the agent's console log (what GET .../console serves) holds the
 * mark, seen through inotify like the libvirt peer's serial file, so no
 * polling interval is in the figure; then the API must show it too. */
/* The bench's former way, kept as an experiment: GET the console every 5 ms
 * until it holds the mark. */
static int poll_ready(struct vdc_peer *p, const char *name, double deadline, double *t_ready)
{
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/vms/%s/console?bytes=16384", name);
	for (;;) {
		char *text = NULL;
		if (call(p, "GET", path, NULL, 5000, 200, &text) < 0)
			return -1;
		bool ready = strstr(text, READY_MARK) != NULL;
		free(text);
		if (ready) {
			*t_ready = now_ms();
			return 0;
		}
		if (now_ms() > deadline || bench_sleep_ms(5) < 0)
			return -1;
	}
}

static int wait_ready(struct vdc_peer *p, const char *name, double deadline, double *t_ready,
                      double *api_lag_ms)
{
	char log[600], path[128];
	if (p->poll_console) {
		*api_lag_ms = 0;
		return poll_ready(p, name, deadline, t_ready);
	}
	snprintf(log, sizeof(log), "%s/st/vms/%s/console.log", p->dir, name);
	if (wait_file_mark(log, READY_MARK, deadline, t_ready) < 0) {
		if (!bench_interrupted())
			say("%s: no '%s' in %s", name, READY_MARK, log);
		return -1;
	}
	snprintf(path, sizeof(path), "/api/v1/vms/%s/console?bytes=16384", name);
	char *text = NULL;
	if (call(p, "GET", path, NULL, 5000, 200, &text) < 0)
		return -1;
	*api_lag_ms = now_ms() - *t_ready;
	bool shown = strstr(text, READY_MARK) != NULL;
	free(text);
	if (!shown)
		say("%s: the console log holds '%s' but GET %s does not", name, READY_MARK, path);
	return shown ? 0 : -1;
}

/* Experiment: moves the whole process into every hierarchy's root cgroup,
 * taking the agent's per-VM cgroup out of the comparison. */
static void to_root_cgroups(pid_t pid)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	if (fs_exists("/sys/fs/cgroup/cgroup.controllers")) {
		fs_write_string("/sys/fs/cgroup/cgroup.procs", buf);
		return;
	}
	DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char path[300];
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/cgroup.procs", de->d_name);
		if (de->d_name[0] != '.' && fs_exists(path))
			fs_write_string(path, buf);
	}
	if (d)
		closedir(d);
}

/* Keeps the QEMU's command line (for the raw peer's comparison). */
void vdc_keep_cmdline(struct vdc_peer *p, pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	free(p->cmdline);
	p->cmdline = fs_read_all(path, 1 << 16, &p->cmdline_len);
}

int vdc_run(struct vdc_peer *p, enum variant v, const char *name, struct start_times *t)
{
	if (define(p, v, name, p->g->memory_mib, false) < 0)
		return -1;
	char path[128], *resp = NULL;
	snprintf(path, sizeof(path), "/api/v1/vms/%s/start", name);
	double t0 = now_ms();
	if (call(p, "POST", path, NULL, 60000, 200, &resp) < 0)
		goto fail;
	double t1 = now_ms();
	json_t *vm = json_loads(resp, 0, NULL);
	const char *state = json_string_value(json_object_get(vm, "state"));
	t->qemu_pid = (pid_t)json_integer_value(json_object_get(json_object_get(vm, "runtime"), "pid"));
	if (!state || strcmp(state, "running") || t->qemu_pid <= 0) {
		say("%s: start answered 200 with state %s, pid %d", name, state ? state : "(none)",
		    (int)t->qemu_pid);
		json_decref(vm);
		goto fail;
	}
	json_decref(vm);
	t->running_ms = t1 - t0;
	if (p->root_cgroup)
		to_root_cgroups(t->qemu_pid);
	vdc_keep_cmdline(p, t->qemu_pid);
	double t2;
	if (wait_ready(p, name, t0 + 60000, &t2, &t->api_lag_ms) < 0)
		goto fail;
	proc_sched_ms(t->qemu_pid, &t->qemu_cpu_ms, &t->qemu_wait_ms);
	t->ready_ms = t2 - t0;
	free(resp);
	return remove_vm(p, name);
fail:
	free(resp);
	remove_vm(p, name);
	return -1;
}

long vdc_rss(const struct vdc_peer *p, const char *when)
{
	long rss = proc_status_kib(p->pid, "VmRSS");
	say("agent memory %s: VmRSS %ld KiB (anonymous %ld, file-backed %ld)", when, rss,
	    proc_status_kib(p->pid, "RssAnon"), proc_status_kib(p->pid, "RssFile"));
	return rss;
}

int vdc_rss_with_vms(struct vdc_peer *p, int n, int memory_mib, int settle_ms, long *rss_kib)
{
	int rc = 0, made = 0;
	char name[48];
	for (; made < n && rc == 0; made++) {
		snprintf(name, sizeof(name), "%sm%d", p->prefix, made);
		rc = define(p, VARIANT_MINIMAL, name, memory_mib, true);
	}
	if (rc == 0 && bench_sleep_ms(settle_ms) == 0)
		*rss_kib = vdc_rss(p, "with 10 VMs");
	else
		rc = -1;
	for (int i = 0; i < made; i++) {
		snprintf(name, sizeof(name), "%sm%d", p->prefix, i);
		if (remove_vm(p, name) < 0)
			rc = -1;
	}
	return rc;
}

void vdc_log_tail(const struct vdc_peer *p, int lines)
{
	size_t len = 0;
	char *s = fs_read_all(p->log, 1 << 22, &len);
	if (!s || !len) {
		free(s);
		return;
	}
	char *start = s + len;
	for (int n = 0; start > s && n <= lines; start--)
		if (start[-1] == '\n' && ++n > lines)
			break;
	fprintf(stderr, "bench: --- last lines of %s ---\n%s", p->log, start);
	free(s);
}

/* rmdir of our VMs' cgroups under base (the agent leaves them only when it
 * is killed) and of base itself; busy or foreign ones stay. */
static void remove_cgroups_in(const struct vdc_peer *p, const char *base)
{
	DIR *d = opendir(base);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, p->prefix, strlen(p->prefix)))
			continue;
		char path[800];
		snprintf(path, sizeof(path), "%s/%s", base, de->d_name);
		rmdir(path);
	}
	closedir(d);
	rmdir(base);
}

/* The same in the v2 tree and in every v1 hierarchy. */
static void remove_cgroups(const struct vdc_peer *p)
{
	remove_cgroups_in(p, "/sys/fs/cgroup/" CGROUP_BASE);
	DIR *root = opendir("/sys/fs/cgroup");
	if (!root)
		return;
	struct dirent *h;
	while ((h = readdir(root))) {
		char base[512];
		if (h->d_name[0] == '.')
			continue;
		snprintf(base, sizeof(base), "/sys/fs/cgroup/%s/%s", h->d_name, CGROUP_BASE);
		remove_cgroups_in(p, base);
	}
	closedir(root);
}

void vdc_teardown(struct vdc_peer *p)
{
	if (p->pid > 0 && p->h) {
		while (p->nnames > 0) {
			char name[48];
			snprintf(name, sizeof(name), "%s", p->names[p->nnames - 1]);
			if (remove_vm(p, name) < 0)
				forget(p, name);
		}
	}
	if (p->pid > 0)
		stop_child(p->pid, 5000);
	p->pid = 0;
	if (p->prefix[0]) {
		int n = kill_qemus_named(p->prefix);
		if (n)
			say("killed %d QEMU process(es) the agent left behind", n);
		remove_cgroups(p);
	}
	if (p->h)
		curl_easy_cleanup(p->h);
	p->h = NULL;
	free(p->cmdline);
	p->cmdline = NULL;
	curl_slist_free_all(p->hdrs);
	p->hdrs = NULL;
}

/* peer_vdcd.c - vm-start's vdcd peer: the path users take. A private vdcd
 * on a loopback port (plain HTTP, SQLite under the bench's temporary
 * directory) that the vdc peer's agent joins; the guest's files imported
 * as images, a template of them, and each VM created from it through
 * POST /api/v1/vms (not started), then timed from POST .../start until
 * its task has succeeded (running) and until the guest's ready line is in
 * the agent's console log (ready, through the same inotify watch as the
 * vdc peer). One reused curl handle, like the vdc peer. */
#include "peers.h"
#include "bench_http.h"

#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How often a task is polled: its cost in the figure is at most this plus
 * one GET (both said as vdcd_task_poll_ms). */
#define POLL_MS 2
#define NETWORK "bench-net"
#define TEMPLATE "bench"

/* One request to vdcd; the HTTP status or -1; *resp gets the body. */
static long http(struct vdcd_peer *p, const char *method, const char *path, const char *body,
                 char **resp)
{
	return bench_http(p->h, "vdcd", p->base, method, path, body, 60000, resp);
}

/* A request whose answer must be want; the body parsed into *out (when
 * set). Returns 0 or -1 with vdcd's answer said. */
static int call(struct vdcd_peer *p, const char *method, const char *path, json_t *body, long want,
                json_t **out)
{
	char *js = body ? json_dumps(body, JSON_COMPACT) : NULL, *resp = NULL;
	json_decref(body);
	long st = http(p, method, path, js, &resp);
	free(js);
	if (st != want) {
		if (st > 0)
			say("vdcd: %s %s: HTTP %ld (wanted %ld): %.400s", method, path, st, want, resp);
		free(resp);
		return -1;
	}
	if (out)
		*out = json_loads(resp, 0, NULL);
	free(resp);
	return 0;
}

/* Polls task tid every POLL_MS until it succeeded (0) or failed (-1, its
 * error said). With timed, each poll's round trip is kept. */
static int wait_task(struct vdcd_peer *p, const char *tid, double deadline, bool timed)
{
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/tasks/%s", tid);
	for (;;) {
		json_t *t = NULL;
		double t0 = now_ms();
		if (call(p, "GET", path, NULL, 200, &t) < 0)
			return -1;
		if (timed && p->npoll < (int)(sizeof(p->poll_ms) / sizeof(p->poll_ms[0])))
			p->poll_ms[p->npoll++] = now_ms() - t0;
		const char *st = json_string_value(json_object_get(t, "state"));
		int rc = st && !strcmp(st, "succeeded") ? 0 : st && !strcmp(st, "failed") ? -1 : 1;
		if (rc < 0) {
			char *e = json_dumps(json_object_get(t, "error"), JSON_COMPACT);
			say("vdcd: task %s (%s) failed: %s", tid,
			    json_string_value(json_object_get(t, "op")), e ? e : "(no error)");
			free(e);
		}
		json_decref(t);
		if (rc <= 0)
			return rc;
		if (now_ms() > deadline || bench_sleep_ms(POLL_MS) < 0) {
			if (!bench_interrupted())
				say("vdcd: task %s did not end in time", tid);
			return -1;
		}
	}
}

/* A call answered 202 with a task (at "task.id"), waited for. */
static int call_task(struct vdcd_peer *p, const char *method, const char *path, json_t *body,
                     json_t **out)
{
	json_t *r = NULL;
	if (call(p, method, path, body, 202, &r) < 0)
		return -1;
	const char *tid = json_string_value(json_object_get(json_object_get(r, "task"), "id"));
	int rc = tid ? wait_task(p, tid, now_ms() + 120000, false) : -1;
	if (!tid)
		say("vdcd: %s %s: no task in the answer", method, path);
	if (out && rc == 0)
		*out = r;
	else
		json_decref(r);
	return rc;
}

/* Waits for vdcd's /healthz and its admin token file. */
static int wait_up(struct vdcd_peer *p)
{
	char tokpath[300];
	snprintf(tokpath, sizeof(tokpath), "%s/admin.token", p->dir);
	double deadline = now_ms() + 20000;
	for (;;) {
		if (wait_child(p->pid, 0, false) != -1) {
			char *log = fs_read_all(p->log, 1 << 20, NULL);
			size_t n = log ? strlen(log) : 0;
			say("vdcd exited at start-up; its log ends:\n%s", log ? log + (n > 800 ? n - 800 : 0) : "");
			free(log);
			p->pid = 0;
			return -1;
		}
		curl_easy_setopt(p->h, CURLOPT_NOPROGRESS, 1L); /* quiet: refused until it listens */
		char url[128];
		snprintf(url, sizeof(url), "%s/healthz", p->base);
		struct bench_body b = {0};
		curl_easy_setopt(p->h, CURLOPT_URL, url);
		curl_easy_setopt(p->h, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(p->h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(p->h, CURLOPT_TIMEOUT_MS, 1000L);
		long st = 0;
		if (curl_easy_perform(p->h) == CURLE_OK)
			curl_easy_getinfo(p->h, CURLINFO_RESPONSE_CODE, &st);
		free(b.s);
		char *tok = st == 200 ? fs_read_all(tokpath, 4096, NULL) : NULL;
		if (tok) {
			tok[strcspn(tok, " \r\n")] = '\0';
			snprintf(p->token, sizeof(p->token), "%s", tok);
			free(tok);
			curl_easy_setopt(p->h, CURLOPT_NOPROGRESS, 0L);
			return 0;
		}
		if (now_ms() > deadline || bench_sleep_ms(10) < 0) {
			say("vdcd did not answer /healthz with its admin token within 20 s (log %s)", p->log);
			return -1;
		}
	}
}

static int import_image(struct vdcd_peer *p, const char *name, const char *kind, const char *format,
                        const char *file)
{
	return call_task(p, "POST", "/api/v1/images",
	                 json_pack("{s:s, s:s, s:s, s:s}", "name", name, "kind", kind, "format", format,
	                           "import_from", file),
	                 NULL);
}

/* vdcd gives every VM a NIC: on a network's bridge, else on the host's NAT
 * network (off in the bench: its bridge and dnsmasq would outlive it). So a
 * bridge of our own, with a DHCP server on it as the raw peer's user-mode
 * NIC has one (QEMU's): the guest's udhcpc waits ~3 s for a lease before
 * its ready line when none answers, which is no cost of vdcd's. The server
 * (dnsmasq) runs in a network namespace of ours behind a veth on the
 * bridge, as on a real LAN: the agent's guard drops whatever a guest sends
 * to the host itself. */
static int make_bridge(struct vdcd_peer *p)
{
	int id = (int)getpid() % 10000000;
	char range[64], veth[16], peer[16], out[512];
	snprintf(p->bridge, sizeof(p->bridge), "vdcb%d", id);
	snprintf(veth, sizeof(veth), "vdcv%d", id);
	snprintf(peer, sizeof(peer), "vdcw%d", id);
	snprintf(range, sizeof(range), "--dhcp-range=10.213.0.10,10.213.0.200,1h");
	const char *cmds[][12] = {
	    {"ip", "link", "add", p->bridge, "type", "bridge"},
	    {"ip", "link", "set", p->bridge, "up"},
	    {"ip", "netns", "add", p->bridge},
	    {"ip", "link", "add", veth, "master", p->bridge, "up", "type", "veth", "peer", peer},
	    {"ip", "link", "set", peer, "netns", p->bridge},
	    {"ip", "-n", p->bridge, "addr", "add", "10.213.0.1/24", "dev", peer},
	    {"ip", "-n", p->bridge, "link", "set", peer, "up"},
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (run_cmd(cmds[i], 10000, out, sizeof(out)) != 0) {
			say("vdcd: %s %s %s %s: %s", cmds[i][0], cmds[i][1], cmds[i][2], cmds[i][3], out);
			return -1;
		}
		p->bridge_made = true; /* the netns has the bridge's name */
	}
	/* DHCP only (no DNS), no lease file, no ping before an offer (as the
	 * agent's NAT dnsmasq), in the foreground as our child. */
	char log[300], iface[40];
	snprintf(log, sizeof(log), "%s/dnsmasq.log", p->dir);
	snprintf(iface, sizeof(iface), "--interface=%s", peer);
	const char *dm[] = {"ip", "netns", "exec", p->bridge, "dnsmasq", "--keep-in-foreground",
	                    "--conf-file=/dev/null", "--no-hosts", "--port=0", iface,
	                    "--bind-interfaces", range, "--no-ping", "--dhcp-authoritative",
	                    "--leasefile-ro", "--pid-file", "--user=root", "--log-facility=-",
	                    "--log-dhcp", NULL};
	if ((p->dnsmasq_pid = spawn_logged(dm, log)) < 0)
		return -1;
	if (bench_sleep_ms(200) < 0 || wait_child(p->dnsmasq_pid, 0, false) != -1) {
		say("vdcd: dnsmasq on %s did not stay up (log %s)", p->bridge, log);
		p->dnsmasq_pid = 0;
		return -1;
	}
	return 0;
}

int vdcd_start(struct vdcd_peer *p, const char *vdcd_bin, const char *dir, const char *guest_dir,
               const struct guest *g)
{
	p->g = g;
	snprintf(p->dir, sizeof(p->dir), "%s", dir);
	snprintf(p->log, sizeof(p->log), "%s/vdcd.log", dir);
	snprintf(p->host, sizeof(p->host), "bench-%d", (int)getpid());
	int port = bench_free_port();
	if (port < 0 || fs_mkdir_p(dir, 0700) < 0) {
		say("vdcd: cannot pick a port or make %s", dir);
		return -1;
	}
	char listen[64];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(p->base, sizeof(p->base), "http://%s", listen);
	const char *argv[] = {vdcd_bin, "--listen", listen, "--plain-http", "--data-dir", dir,
	                      "--image-import-dir", guest_dir, NULL};
	say("starting %s on %s (log %s)", vdcd_bin, listen, p->log);
	if ((p->pid = spawn_logged(argv, p->log)) < 0)
		return -1;
	p->h = bench_curl_new();
	if (wait_up(p) < 0)
		return -1;
	char auth[200];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p->token);
	p->hdrs = curl_slist_append(NULL, auth);
	p->hdrs = curl_slist_append(p->hdrs, "Content-Type: application/json");
	curl_easy_setopt(p->h, CURLOPT_HTTPHEADER, p->hdrs);

	json_t *jt = NULL;
	if (call(p, "POST", "/api/v1/clusters", json_pack("{s:s}", "name", "c1"), 201, NULL) < 0 ||
	    call(p, "POST", "/api/v1/hosts/join-tokens", json_pack("{s:s}", "cluster", "c1"), 201,
	         &jt) < 0)
		return -1;
	snprintf(p->join_token, sizeof(p->join_token), "%s",
	         json_string_value(json_object_get(jt, "token")) ?: "");
	json_decref(jt);
	if (make_bridge(p) < 0)
		return -1;
	if (call(p, "POST", "/api/v1/networks", json_pack("{s:s, s:s}", "name", NETWORK, "bridge",
	                                                  p->bridge), 201, NULL) < 0)
		return -1;
	/* The same files as the vdc peer's images, imported the user's way. */
	if (import_image(p, KERNEL_IMAGE, "kernel", "raw", "vmlinuz") < 0 ||
	    import_image(p, INITRD_IMAGE, "initrd", "raw", "initrd.img") < 0 ||
	    import_image(p, DISK_IMAGE, "disk", "qcow2", "data-template.qcow2") < 0)
		return -1;
	return call(p, "POST", "/api/v1/templates",
	            json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "name", TEMPLATE, "image", DISK_IMAGE,
	                      "kernel", KERNEL_IMAGE, "initrd", INITRD_IMAGE, "cmdline", g->cmdline,
	                      "vcpus", 1, "memory_mib", g->memory_mib),
	            201, NULL);
}

const char *const *vdcd_join_args(struct vdcd_peer *p)
{
	static const char *args[7];
	args[0] = "--manager-url";
	args[1] = p->base;
	args[2] = "--join-token";
	args[3] = p->join_token;
	args[4] = "--host-name";
	args[5] = p->host;
	args[6] = NULL;
	return args;
}

int vdcd_wait_host(struct vdcd_peer *p, struct vdc_peer *agent)
{
	p->agent = agent;
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/hosts/%s", p->host);
	double deadline = now_ms() + 20000;
	for (;;) {
		json_t *h = NULL;
		char *resp = NULL;
		long st = http(p, "GET", path, NULL, &resp);
		if (st == 200)
			h = json_loads(resp, 0, NULL);
		free(resp);
		const char *state = json_string_value(json_object_get(h, "state"));
		bool up = state && !strcmp(state, "connected") && json_object_get(h, "capacity") &&
		          !json_is_null(json_object_get(h, "capacity"));
		json_decref(h);
		if (up)
			return 0;
		if (now_ms() > deadline || bench_sleep_ms(20) < 0) {
			say("vdcd: host %s not connected with a heartbeat within 20 s", p->host);
			return -1;
		}
	}
}

static void forget(struct vdcd_peer *p, const char *id)
{
	for (int i = 0; i < p->nids; i++)
		if (!strcmp(p->ids[i], id)) {
			memmove(p->ids[i], p->ids[i + 1], sizeof(p->ids[0]) * (size_t)(p->nids - i - 1));
			p->nids--;
			return;
		}
}

static int delete_vm(struct vdcd_peer *p, const char *id)
{
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/vms/%s?force=true", id);
	if (call_task(p, "DELETE", path, NULL, NULL) < 0)
		return -1;
	forget(p, id);
	return 0;
}

/* The QEMU's pid, from the agent (the host knows the VM by its id). */
static pid_t agent_pid(struct vdcd_peer *p, const char *id)
{
	char path[128], *resp = NULL;
	snprintf(path, sizeof(path), "/api/v1/vms/%s", id);
	if (vdc_get(p->agent, path, &resp) < 0)
		return -1;
	json_t *vm = json_loads(resp, 0, NULL);
	free(resp);
	pid_t pid = (pid_t)json_integer_value(json_object_get(json_object_get(vm, "runtime"), "pid"));
	json_decref(vm);
	return pid > 0 ? pid : -1;
}

int vdcd_run(struct vdcd_peer *p, const char *name, struct start_times *t)
{
	if (p->nids == (int)(sizeof(p->ids) / sizeof(p->ids[0]))) {
		say("vdcd: too many VMs at once");
		return -1;
	}
	json_t *made = NULL;
	json_t *body = json_pack("{s:s, s:s, s:s, s:[s], s:b}", "name", name, "template", TEMPLATE,
	                         "cluster", "c1", "networks", NETWORK, "start", 0);
	json_t *r = NULL;
	if (call(p, "POST", "/api/v1/vms", body, 202, &r) < 0)
		return -1;
	const char *id = json_string_value(json_object_get(json_object_get(r, "vm"), "id"));
	const char *tid = json_string_value(json_object_get(json_object_get(r, "task"), "id"));
	if (!id || !tid) {
		say("vdcd: POST /api/v1/vms: no vm.id or task.id in the answer");
		json_decref(r);
		return -1;
	}
	char vid[40], path[128];
	snprintf(vid, sizeof(vid), "%s", id);
	snprintf(p->ids[p->nids++], sizeof(p->ids[0]), "%s", vid);
	snprintf(p->last_id, sizeof(p->last_id), "%s", vid);
	int rc = wait_task(p, tid, now_ms() + 120000, false);
	json_decref(r);
	if (rc < 0)
		goto fail;

	snprintf(path, sizeof(path), "/api/v1/vms/%s/start", vid);
	double t0 = now_ms();
	if (call(p, "POST", path, NULL, 202, &made) < 0)
		goto fail;
	tid = json_string_value(json_object_get(json_object_get(made, "task"), "id"));
	if (!tid || wait_task(p, tid, t0 + 60000, true) < 0)
		goto fail;
	t->running_ms = now_ms() - t0;
	json_decref(made);
	made = NULL;
	if ((t->qemu_pid = agent_pid(p, vid)) < 0) {
		say("vdcd: the start succeeded but the agent shows no QEMU for %s", vid);
		goto fail;
	}
	vdc_keep_cmdline(p->agent, t->qemu_pid);
	char log[600];
	double t2;
	snprintf(log, sizeof(log), "%s/st/vms/%s/console.log", p->agent->dir, vid);
	if (wait_file_mark(log, READY_MARK, t0 + 60000, &t2) < 0) {
		if (!bench_interrupted())
			say("%s: no '%s' in %s", name, READY_MARK, log);
		goto fail;
	}
	t->ready_ms = t2 - t0;
	proc_sched_ms(t->qemu_pid, &t->qemu_cpu_ms, &t->qemu_wait_ms);
	return delete_vm(p, vid);
fail:
	json_decref(made);
	delete_vm(p, vid);
	return -1;
}

void vdcd_cmdline_as_raw(struct vdc_peer *a)
{
	static const char raw_nic[] = "user,id=net0,restrict=on";
	char *line = a->cmdline;
	if (!line)
		return;
	for (size_t off = 0; off < a->cmdline_len; off += strlen(line + off) + 1) {
		char *arg = line + off;
		if (strncmp(arg, "tap,id=net0,", 12))
			continue;
		/* The replacement is no longer: written in place, the rest of the
		 * line shifted down (padding would add empty arguments). */
		size_t old = strlen(arg), add = sizeof(raw_nic) - 1;
		if (add > old)
			return;
		char was[80];
		size_t n = old < sizeof(was) - 1 ? old : sizeof(was) - 1;
		memcpy(was, arg, n);
		was[n] = '\0';
		say("vdcd VM's NIC backend '%s' compared as the raw peer's '%s' (vdcd's networks are "
		    "bridges; everything else must be equal)", was, raw_nic);
		memcpy(arg, raw_nic, add + 1);
		memmove(arg + add + 1, arg + old + 1, a->cmdline_len - (off + old + 1));
		a->cmdline_len -= old - add;
		return;
	}
}

/* rmdir of a VM's cgroup left by a killed agent (v2 tree and v1
 * hierarchies under the bench's base). */
static void remove_cgroup(const char *id)
{
	char path[600];
	snprintf(path, sizeof(path), "/sys/fs/cgroup/vdcbench/%s", id);
	rmdir(path);
	DIR *root = opendir("/sys/fs/cgroup");
	struct dirent *h;
	while (root && (h = readdir(root))) {
		if (h->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/vdcbench/%s", h->d_name, id);
		rmdir(path);
	}
	if (root)
		closedir(root);
}

void vdcd_teardown(struct vdcd_peer *p)
{
	while (p->nids > 0) {
		char id[40];
		snprintf(id, sizeof(id), "%s", p->ids[p->nids - 1]);
		if (p->pid <= 0 || !p->h || delete_vm(p, id) < 0) {
			int n = kill_qemus_named(id);
			if (n)
				say("vdcd: killed %d QEMU process(es) of VM %s", n, id);
			remove_cgroup(id);
			forget(p, id);
		}
	}
	if (p->pid > 0)
		stop_child(p->pid, 5000);
	p->pid = 0;
	if (p->dnsmasq_pid > 0)
		stop_child(p->dnsmasq_pid, 2000);
	p->dnsmasq_pid = 0;
	if (p->bridge_made) {
		/* The veth goes with the namespace; either may not exist yet. */
		const char *ns[] = {"ip", "netns", "del", p->bridge, NULL};
		const char *br[] = {"ip", "link", "del", p->bridge, NULL};
		char out[256];
		run_cmd(ns, 10000, out, sizeof(out));
		if (run_cmd(br, 10000, out, sizeof(out)) != 0)
			say("vdcd: ip link del %s: %s", p->bridge, out);
		p->bridge_made = false;
	}
	if (p->h)
		curl_easy_cleanup(p->h);
	p->h = NULL;
	curl_slist_free_all(p->hdrs);
	p->hdrs = NULL;
}

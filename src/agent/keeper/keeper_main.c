/* keeper_main.c - vdc-ha-keeper: the process that keeps this host's HA
 * leases while its agent is down (what and why: keeper_plan.h).
 *
 *   vdc-ha-keeper --socket RUN_DIR/ha-keeper.sock
 *
 * The agent starts it (daemon/ha_keeper_link.c) in a session of its own, so
 * that it outlives the agent as the agent's QEMUs do; one runs per host (a
 * lock beside its socket). Messages are JSON, one per SOCK_SEQPACKET
 * datagram. The agent sends, every quarter second:
 *   {"host": ID, "enabled": bool, "interval_ms": N, "fence_ms": N,
 *    "datastores": [{"name", "path"}], "vms": [names running here],
 *    "guard": [{"name", "pid", "start", "datastores": [names]}]}
 * and the keeper answers a new connection with {"writing": false} once it
 * has stopped renewing, so that the agent's own renewals never interleave
 * with its. */
#include "config.h"
#include "ha_lease.h"
#include "keeper_plan.h"
#include "log.h"
#include "procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 250

struct keeper {
	int listen_fd, conn_fd;
	json_t *last;                 /* the agent's last message */
	int64_t started_ms, last_msg_ms;
	struct agent_config *cfg;     /* datastores, for ha_lease */
	struct ha_lease *lease;       /* renewing: the agent is down */
	int nds;
	char *buf;                    /* KEEPER_MSG_MAX: one message */
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* One keeper per host: a second one (two agents raced to start it) leaves. */
static int take_lock(const char *sock_path)
{
	char path[1100];
	snprintf(path, sizeof(path), "%s.lock", sock_path);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd; /* held until the process ends */
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_error("keeper_socket_path_too_long", "path=%s", log_quote(path));
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	mode_t old = umask(0077);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, 4) < 0) {
		log_error("keeper_listen_failed", "path=%s error=%s", log_quote(path), log_quote(strerror(errno)));
		close(fd);
		return -1;
	}
	return fd;
}

/* The agent's datastores, as ha_lease wants them. */
static void set_datastores(struct keeper *k)
{
	const json_t *list = json_object_get(k->last, "datastores");
	k->cfg->ndatastores = 0;
	size_t i;
	json_t *d;
	json_array_foreach(list, i, d) {
		const char *name = str(d, "name"), *path = str(d, "path");
		if (!name || !path || k->cfg->ndatastores >= MAX_DATASTORES || k->cfg->ndatastores >= KEEPER_MAX_DATASTORES)
			continue;
		struct datastore *ds = &k->cfg->datastores[k->cfg->ndatastores++];
		snprintf(ds->name, sizeof(ds->name), "%s", name);
		snprintf(ds->path, sizeof(ds->path), "%s", path);
	}
	k->nds = k->cfg->ndatastores;
}

static bool guard_alive(const json_t *g)
{
	return proc_is((pid_t)json_integer_value(json_object_get(g, "pid")),
	               (unsigned long long)json_integer_value(json_object_get(g, "start")));
}

static int protected_running(const struct keeper *k)
{
	int n = 0;
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(k->last, "guard"), i, g)
		n += guard_alive(g);
	return n;
}

/* The record while the agent is down: the VMs it last said run here, less
 * the protected ones whose QEMU has ended since. */
static void set_record(struct keeper *k)
{
	json_t *vms = json_array();
	size_t i, j;
	json_t *v, *g;
	json_array_foreach(json_object_get(k->last, "vms"), i, v) {
		bool gone = false;
		json_array_foreach(json_object_get(k->last, "guard"), j, g)
			if (json_equal(json_object_get(g, "name"), v) && !guard_alive(g))
				gone = true;
		if (!gone)
			json_array_append(vms, v);
	}
	ha_lease_set_record(k->lease, "agent-down", vms);
	json_decref(vms);
}

static bool guard_uses(const json_t *g, const char *ds)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(g, "datastores"), i, d)
		if (json_is_string(d) && !strcmp(json_string_value(d), ds))
			return true;
	return false;
}

/* Kills the protected VMs on the datastores of mask: this host could not
 * renew their leases, and at lease_ms another host may start them. */
static void fence(struct keeper *k, unsigned mask)
{
	for (int i = 0; i < k->nds; i++) {
		if (!(mask & (1u << i)))
			continue;
		size_t j;
		json_t *g;
		json_array_foreach(json_object_get(k->last, "guard"), j, g) {
			if (!guard_uses(g, k->cfg->datastores[i].name) || !guard_alive(g))
				continue;
			pid_t pid = (pid_t)json_integer_value(json_object_get(g, "pid"));
			log_warn("keeper_fenced", "vm=%s pid=%d datastore=%s renewed_ago_ms=%lld", str(g, "name") ?: "?", (int)pid,
			         k->cfg->datastores[i].name, (long long)ha_lease_renewed_ago_ms(k->lease, i));
			kill(pid, SIGKILL);
		}
	}
}

static void stop_writing(struct keeper *k)
{
	if (!k->lease)
		return;
	ha_lease_stop(k->lease); /* joins its thread: no write after this */
	k->lease = NULL;
}

static void on_message(struct keeper *k, const char *buf, size_t n)
{
	json_t *m = json_loadb(buf, n, 0, NULL);
	if (!json_is_object(m)) {
		log_warn("keeper_bad_message", "bytes=%zu", n);
		json_decref(m);
		return;
	}
	k->last_msg_ms = mono_ms();
	if (!json_object_get(m, "host")) { /* a beat: alive, nothing new */
		json_decref(m);
		return;
	}
	json_decref(k->last);
	k->last = m;
	set_datastores(k);
}

static void accept_agent(struct keeper *k)
{
	int fd = accept4(k->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (k->conn_fd >= 0)
		close(k->conn_fd); /* the newest agent is the one */
	k->conn_fd = fd;
	k->last_msg_ms = mono_ms();
	if (k->lease)
		log_info("keeper_hand_back", "reason=%s", log_quote("an agent connected: it renews the leases again"));
	stop_writing(k);
	static const char ok[] = "{\"writing\":false}";
	if (send(fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL) < 0)
		log_warn("keeper_reply_failed", "error=%s", log_quote(strerror(errno)));
}

static void read_agent(struct keeper *k)
{
	for (;;) {
		ssize_t n = recv(k->conn_fd, k->buf, KEEPER_MSG_MAX, MSG_DONTWAIT);
		if (n > 0) {
			on_message(k, k->buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		log_warn("keeper_agent_gone", "reason=%s", log_quote(n == 0 ? "its connection closed" : strerror(errno)));
		close(k->conn_fd);
		k->conn_fd = -1;
		return;
	}
}

static bool step(struct keeper *k)
{
	int64_t now = mono_ms();
	struct keeper_view v = {.heard = k->last != NULL,
	                        .enabled = json_is_true(json_object_get(k->last, "enabled")),
	                        .connected = k->conn_fd >= 0,
	                        .agent_silent_ms = now - (k->last ? k->last_msg_ms : k->started_ms),
	                        .writing = k->lease != NULL,
	                        .nds = k->nds,
	                        .fence_ms = (int)json_integer_value(json_object_get(k->last, "fence_ms")),
	                        .protected_running = k->last ? protected_running(k) : 0};
	if (v.fence_ms < 500)
		v.fence_ms = 4000;
	for (int i = 0; k->lease && i < k->nds; i++)
		v.renewed_ago_ms[i] = ha_lease_renewed_ago_ms(k->lease, i);
	struct keeper_plan p;
	keeper_plan(&v, &p);
	switch (p.action) {
	case KEEPER_EXIT:
		log_info("keeper_exit", "reason=%s", log_quote(p.reason));
		return false;
	case KEEPER_HAND_BACK:
		log_info("keeper_hand_back", "reason=%s", log_quote(p.reason));
		stop_writing(k);
		return true;
	case KEEPER_TAKE_OVER: {
		const char *host = str(k->last, "host");
		int interval = (int)json_integer_value(json_object_get(k->last, "interval_ms"));
		if (!host || !k->nds)
			return true;
		log_warn("keeper_take_over", "host=%s reason=%s", host, log_quote(p.reason));
		if (!(k->lease = ha_lease_start(k->cfg, host, interval > 0 ? interval : 1000)))
			return true;
		set_record(k);
		return true;
	}
	case KEEPER_WAIT:
		if (k->lease) {
			set_record(k);
			if (p.fence_mask)
				fence(k, p.fence_mask);
		}
		return true;
	}
	return true;
}

int main(int argc, char **argv)
{
	log_set_program("vdc-ha-keeper");
	const char *sock = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			sock = argv[++i];
		else if (!strncmp(argv[i], "--socket=", 9))
			sock = argv[i] + 9;
		else {
			fprintf(stderr, "usage: vdc-ha-keeper --socket PATH (started by vdc-agent)\n");
			return 2;
		}
	}
	if (!sock) {
		fprintf(stderr, "vdc-ha-keeper: --socket PATH is required (vdc-agent starts it)\n");
		return 2;
	}
	if (take_lock(sock) < 0) {
		log_info("keeper_already_running", "socket=%s", log_quote(sock));
		return 0;
	}
	struct keeper k = {.listen_fd = listen_on(sock), .conn_fd = -1, .started_ms = mono_ms(),
	                   .cfg = calloc(1, sizeof(struct agent_config)), .buf = malloc(KEEPER_MSG_MAX)};
	if (k.listen_fd < 0 || !k.cfg || !k.buf)
		return 1;
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_info("keeper_started", "socket=%s pid=%d", log_quote(sock), (int)getpid());
	int64_t next_step = mono_ms();
	while (!stopping) {
		struct pollfd pf[2] = {{.fd = k.listen_fd, .events = POLLIN}, {.fd = k.conn_fd, .events = POLLIN}};
		int64_t wait = next_step - mono_ms();
		int rc = poll(pf, k.conn_fd >= 0 ? 2 : 1, wait > 0 ? (int)wait : 0);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc > 0 && (pf[0].revents & POLLIN))
			accept_agent(&k);
		if (rc > 0 && k.conn_fd >= 0 && pf[1].fd == k.conn_fd && pf[1].revents)
			read_agent(&k);
		if (mono_ms() >= next_step) {
			next_step = mono_ms() + TICK_MS;
			if (!step(&k))
				break;
		}
	}
	/* Stopped by a signal: an operator's stop. The leases stop with it;
	 * the agent, if it runs, starts another keeper. */
	if (stopping)
		log_info("keeper_stopped", "reason=%s", log_quote("signal"));
	stop_writing(&k);
	unlink(sock);
	json_decref(k.last);
	free(k.cfg);
	free(k.buf);
	return 0;
}

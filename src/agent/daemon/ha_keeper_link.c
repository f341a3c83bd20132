/* ha_keeper_link.c - see ha_keeper_link.h. */
#include "ha_keeper_link.h"

#include "keeper_plan.h"
#include "log.h"
#include "unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* A keeper that neither answers nor can be started holds the agent's own
 * renewals back this long at most. */
#define HANDSHAKE_MS 3000
#define RESPAWN_MS 2000

struct keeper_link {
	char sock[1100];
	int fd;
	bool ready;             /* the agent renews the leases */
	bool missing_said;
	bool too_big_said;
	uint64_t wait_since_ms; /* the agent waits for a keeper's answer since; 0: not waiting */
	uint64_t spawned_ms;
};

struct keeper_link *keeper_link_new(const char *run_dir)
{
	struct keeper_link *kl = calloc(1, sizeof(*kl));
	if (!kl)
		return NULL;
	snprintf(kl->sock, sizeof(kl->sock), "%s/ha-keeper.sock", run_dir);
	kl->fd = -1;
	return kl;
}

void keeper_link_free(struct keeper_link *kl)
{
	if (!kl)
		return;
	if (kl->fd >= 0)
		close(kl->fd);
	free(kl);
}

/* VDC_HA_KEEPER, else vdc-ha-keeper beside this program. */
static bool keeper_path(char *out, size_t n)
{
	const char *env = getenv("VDC_HA_KEEPER");
	if (env && *env) {
		snprintf(out, n, "%s", env);
	} else {
		char self[1024];
		ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (len <= 0)
			return false;
		self[len] = '\0';
		snprintf(out, n, "%s/vdc-ha-keeper", dirname(self));
	}
	return access(out, X_OK) == 0;
}

/* Starts the keeper in a session of its own, not the agent's child (a
 * double fork), so that it outlives the agent and nobody need reap it. */
static void spawn(struct keeper_link *kl)
{
	char path[1100];
	if (!keeper_path(path, sizeof(path))) {
		if (!kl->missing_said)
			log_warn("ha_keeper_missing", "path=%s reason=%s", log_quote(path),
			         log_quote("no lease keeper: if this agent stays down past the lease, its running VMs may "
			                   "start elsewhere; install vdc-ha-keeper beside vdc-agent"));
		kl->missing_said = true;
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_warn("ha_keeper_spawn_failed", "error=%s", log_quote(strerror(errno)));
		return;
	}
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		/* stdout and stderr stay the agent's: its log. */
		closefrom(3);
		execl(path, "vdc-ha-keeper", "--socket", kl->sock, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	log_info("ha_keeper_started", "path=%s socket=%s", log_quote(path), log_quote(kl->sock));
}

/* The keeper's answers: {"writing": false} once it stopped renewing. */
static void read_answers(struct keeper_link *kl)
{
	char buf[256];
	for (;;) {
		ssize_t n = recv(kl->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n > 0) {
			buf[n] = '\0';
			json_t *j = json_loads(buf, 0, NULL);
			if (json_is_false(json_object_get(j, "writing")) && !kl->ready) {
				kl->ready = true;
				log_info("ha_keeper_linked", "socket=%s", log_quote(kl->sock));
			}
			json_decref(j);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		log_warn("ha_keeper_lost", "reason=%s", log_quote(n == 0 ? "it closed the connection" : strerror(errno)));
		close(kl->fd);
		kl->fd = -1;
		return;
	}
}

bool keeper_link_tick(struct keeper_link *kl, const char *msg, uint64_t now_ms)
{
	if (!kl)
		return true;
	if (!kl->ready && !kl->wait_since_ms)
		kl->wait_since_ms = now_ms;
	if (kl->fd < 0) {
		kl->fd = unix_connect(kl->sock, SOCK_SEQPACKET | SOCK_NONBLOCK);
		/* Room for a message naming many VMs (one datagram each). */
		int sndbuf = KEEPER_MSG_MAX;
		if (kl->fd >= 0)
			setsockopt(kl->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
		if (kl->fd < 0 && (!kl->spawned_ms || now_ms - kl->spawned_ms >= RESPAWN_MS)) {
			kl->spawned_ms = now_ms;
			spawn(kl);
		}
	}
	if (kl->fd >= 0) {
		ssize_t sent = msg ? send(kl->fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) : 0;
		if (sent < 0 && errno == EMSGSIZE) {
			/* Still alive, though the keeper keeps its last list. */
			if (!kl->too_big_said)
				log_warn("ha_keeper_message_too_big", "bytes=%zu", strlen(msg));
			kl->too_big_said = true;
			sent = send(kl->fd, KEEPER_BEAT, strlen(KEEPER_BEAT), MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		if (sent < 0 && errno != EAGAIN) {
			log_warn("ha_keeper_lost", "reason=%s", log_quote(strerror(errno)));
			close(kl->fd);
			kl->fd = -1;
		} else {
			read_answers(kl);
		}
	}
	if (!kl->ready && (kl->missing_said || now_ms - kl->wait_since_ms >= HANDSHAKE_MS)) {
		kl->ready = true;
		if (!kl->missing_said)
			log_warn("ha_keeper_not_answering", "socket=%s reason=%s", log_quote(kl->sock),
			         log_quote("the agent renews its leases without a keeper"));
	}
	return kl->ready;
}

bool keeper_link_linked(const struct keeper_link *kl)
{
	return kl && kl->fd >= 0;
}

void keeper_link_off(struct keeper_link *kl, const char *msg)
{
	if (!kl || kl->fd < 0)
		return;
	if (msg)
		send(kl->fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(kl->fd);
	kl->fd = -1;
	kl->ready = false;
	kl->wait_since_ms = 0;
}

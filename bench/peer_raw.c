/* peer_raw.c - vm-start's floor: the agent's own QEMU command line (made
 * by the agent's qemu_cmdline_build from the same spec), started by us the
 * way the agent does it (listening sockets passed as fds 3 and 4,
 * new session, as the QEMU user), with a minimal QMP client of our own so
 * that nothing of the agent's code is in this path. */
#include "peers.h"

#include "fsutil.h"
#include "cgroup.h"
#include "qemu_cmdline.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define RAW_TIMEOUT_MS 60000

static int unix_socket(const char *path, bool do_listen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (do_listen)
		unlink(path);
	int rc = do_listen ? bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4)
	                   : connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc) {
		say("%s %s: %s", do_listen ? "listen on" : "connect to", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads from fd into buf (len bytes used, cap size) until the deadline;
 * returns bytes read, 0 at EOF, -1 on timeout, error or Ctrl-C. */
static ssize_t read_some(int fd, char *buf, size_t len, size_t cap, double deadline)
{
	for (;;) {
		double left = deadline - now_ms();
		if (left <= 0 || bench_interrupted())
			return -1;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, left > 1000 ? 1000 : (int)left + 1) <= 0)
			continue;
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n >= 0)
			buf[len + (size_t)n] = '\0';
		return n;
	}
}

struct qmp {
	int fd;
	char buf[1 << 16];
	size_t len;
};

/* The next QMP message that is not an event (the greeting, a return or an
 * error), parsed; NULL on timeout, EOF or Ctrl-C. */
static json_t *qmp_next(struct qmp *q, double deadline)
{
	for (;;) {
		char *nl;
		while ((nl = memchr(q->buf, '\n', q->len))) {
			*nl = '\0';
			json_t *m = json_loads(q->buf, 0, NULL);
			size_t used = (size_t)(nl + 1 - q->buf);
			memmove(q->buf, nl + 1, q->len - used);
			q->len -= used;
			if (m && !json_object_get(m, "event"))
				return m;
			json_decref(m);
		}
		if (q->len >= sizeof(q->buf) - 1)
			q->len = 0; /* a line longer than we ever expect: drop it */
		ssize_t n = read_some(q->fd, q->buf, q->len, sizeof(q->buf), deadline);
		if (n <= 0)
			return NULL;
		q->len += (size_t)n;
	}
}

/* Sends cmd and returns its "return" value (a new reference) or NULL. */
static json_t *qmp_call(struct qmp *q, const char *cmd, double deadline)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "{\"execute\":\"%s\"}\n", cmd);
	if (write(q->fd, line, (size_t)n) != n)
		return NULL;
	json_t *m = qmp_next(q, deadline);
	json_t *r = json_incref(json_object_get(m, "return"));
	if (!r && m) {
		char *text = json_dumps(m, JSON_COMPACT);
		say("QMP %s: %.200s", cmd, text ? text : "?");
		free(text);
	}
	json_decref(m);
	return r;
}

/* In the child: QEMU's fds at 3 and 4, its log on stdout/stderr, then the
 * same privilege drop as the agent's. Never returns. */
static void __attribute__((noreturn)) exec_qemu(struct raw_peer *p, char *const argv[], int qmp_l,
                                                int serial_l, char cgprocs[][CG_PATH_MAX], int ncg)
{
	char log[300];
	for (int i = 0; i < ncg; i++) /* as the agent's vm_proc_spawn does */
		if (fs_write_string(cgprocs[i], "0") < 0)
			_exit(126);
	snprintf(log, sizeof(log), "%s/qemu.log", p->dir);
	setsid();
	int logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int devnull = open("/dev/null", O_RDONLY);
	dup2(devnull, STDIN_FILENO);
	dup2(logfd, STDOUT_FILENO);
	dup2(logfd, STDERR_FILENO);
	int hq = fcntl(qmp_l, F_DUPFD, 100), hs = fcntl(serial_l, F_DUPFD, 100);
	if (hq < 0 || hs < 0 || dup2(hq, 3) < 0 || dup2(hs, 4) < 0)
		_exit(126);
	close_range(5, ~0u, 0);
	if (geteuid() == 0 &&
	    (setgroups((size_t)p->user->ngroups, p->user->groups) < 0 || setgid(p->user->gid) < 0 ||
	     setuid(p->user->uid) < 0))
		_exit(126);
	umask(077);
	execvp(argv[0], argv);
	dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Waits for the serial stream to carry READY_MARK (which may be split
 * across reads). */
static int wait_ready(int fd, double deadline)
{
	char buf[8192];
	size_t len = 0, keep = sizeof(READY_MARK);
	for (;;) {
		ssize_t n = read_some(fd, buf, len, sizeof(buf), deadline);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		if (strstr(buf, READY_MARK))
			return 0;
		if (len > keep) {
			memmove(buf, buf + len - keep, keep);
			len = keep;
		}
	}
}

/* The variant's agent-owned files, made fresh (untimed) for each run as
 * the agent makes them at define: a linked clone of the disk image, owned
 * by the QEMU user, and a directory of its own for the VNC socket. */
static int make_files(struct raw_peer *p, enum variant v, struct raw_paths *rp, char *disk,
                      char *vnc, size_t n)
{
	if (v != VARIANT_DEFAULT)
		return 0;
	char dir[300], out[512];
	snprintf(disk, n, "%s/root.qcow2", p->dir);
	snprintf(dir, sizeof(dir), "%s/vnc", p->dir);
	snprintf(vnc, n, "%s/vnc.sock", dir);
	unlink(disk);
	fs_remove_tree(dir);
	const char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-b", p->g->disk_template,
	                      "-F", "qcow2", disk, NULL};
	if (run_cmd(argv, 30000, out, sizeof(out)) != 0) {
		say("qemu-img create %s: %s", disk, out);
		return -1;
	}
	if (chown(disk, p->user->uid, p->user->gid) < 0 || chmod(disk, 0600) < 0 ||
	    mkdir(dir, 0700) < 0 || chown(dir, p->user->uid, p->user->gid) < 0) {
		say("preparing %s: %s", dir, strerror(errno));
		return -1;
	}
	rp->disk = disk;
	rp->vnc = vnc;
	return 0;
}

int raw_run(struct raw_peer *p, enum variant v, const char *name, const char *agent_cmdline,
            size_t agent_cmdline_len, struct start_times *t)
{
	char qpath[300], spath[300], uuid[37], disk[300], vnc[300];
	struct raw_paths rp = {0};
	struct strv argv = {0};
	snprintf(qpath, sizeof(qpath), "%s/qmp.sock", p->dir);
	snprintf(spath, sizeof(spath), "%s/serial.sock", p->dir);
	random_uuid(uuid);
	if (make_files(p, v, &rp, disk, vnc, sizeof(disk)) < 0 ||
	    variant_raw_argv(p->g, v, name, uuid, &rp, &argv) < 0)
		return -1;
	if (agent_cmdline && variant_check_cmdline(agent_cmdline, agent_cmdline_len, argv.v) < 0) {
		strv_free(&argv);
		return -1;
	}
	int rc = -1;
	struct qmp *q = calloc(1, sizeof(*q));
	if (!q) {
		strv_free(&argv);
		return -1;
	}
	q->fd = -1;
	int ql = unix_socket(qpath, true), sl = unix_socket(spath, true), serial = -1;
	if (ql < 0 || sl < 0)
		goto cleanup;
	char cgname[80], cgprocs[CG_MAX_HIER][CG_PATH_MAX];
	int ncg = 0;
	snprintf(cgname, sizeof(cgname), "%s-raw", name);
	if (p->cg) {
		struct cg_limits lim = {.cpu_weight = 100};
		struct errinfo ce = {0};
		if (cgroup_create(p->cg, cgname, &lim, &ce) < 0) {
			say("%s", ce.message);
			goto cleanup;
		}
		ncg = cgroup_procs_paths(p->cg, cgname, cgprocs, CG_MAX_HIER);
	}
	double t0 = now_ms(), deadline = t0 + RAW_TIMEOUT_MS;
	p->pid = fork();
	if (p->pid == 0)
		exec_qemu(p, argv.v, ql, sl, cgprocs, ncg);
	if (p->pid < 0) {
		say("fork: %s", strerror(errno));
		p->pid = 0;
		goto cleanup;
	}
	/* The sockets listen already: these connects wait in the backlog until
	 * QEMU accepts them. Serial first, as the agent does. */
	if ((serial = unix_socket(spath, false)) < 0 || (q->fd = unix_socket(qpath, false)) < 0)
		goto cleanup;
	json_t *greeting = qmp_next(q, deadline);
	json_t *caps = greeting ? qmp_call(q, "qmp_capabilities", deadline) : NULL;
	json_t *st = caps ? qmp_call(q, "query-status", deadline) : NULL;
	double t1 = now_ms();
	bool running = json_is_true(json_object_get(st, "running"));
	json_decref(greeting);
	json_decref(caps);
	json_decref(st);
	if (!running) {
		if (!bench_interrupted())
			say("raw QEMU %s: no running status over QMP (see %s/qemu.log)", name, p->dir);
		goto cleanup;
	}
	t->running_ms = t1 - t0;
	t->qemu_pid = p->pid;
	/* A blocking read: woken by the kernel as the bytes arrive. */
	if (wait_ready(serial, deadline) < 0) {
		if (!bench_interrupted())
			say("raw QEMU %s: no '%s' on the serial port", name, READY_MARK);
		goto cleanup;
	}
	t->ready_ms = now_ms() - t0;
	proc_sched_ms(p->pid, &t->qemu_cpu_ms, &t->qemu_wait_ms);
	json_decref(qmp_call(q, "quit", now_ms() + 5000));
	rc = 0;
cleanup:
	strv_free(&argv);
	if (q->fd >= 0)
		close(q->fd);
	free(q);
	if (serial >= 0)
		close(serial);
	if (ql >= 0)
		close(ql);
	if (sl >= 0)
		close(sl);
	if (rc < 0 && p->pid > 0)
		kill(p->pid, SIGKILL);
	raw_teardown(p);
	if (p->cg)
		cgroup_remove(p->cg, cgname);
	unlink(qpath);
	unlink(spath);
	return rc;
}

void raw_teardown(struct raw_peer *p)
{
	if (p->pid <= 0)
		return;
	/* After a quit it is on its way out; otherwise this stops it. */
	if (wait_child(p->pid, 5000, false) == -1)
		stop_child(p->pid, 2000);
	p->pid = 0;
}

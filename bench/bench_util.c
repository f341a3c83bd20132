/* bench_util.c - clock, figures, and child processes that are always
 * bounded in time: every wait has a deadline and gives way to Ctrl-C, so a
 * benchmark can always clean up what it started. */
#include "bench.h"

#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t bench_stop;
static volatile sig_atomic_t bench_cleaning;

bool bench_interrupted(void)
{
	return bench_stop && !bench_cleaning;
}

static void on_signal(int sig)
{
	if (!bench_cleaning) {
		bench_stop = sig;
	} else if (sig == SIGALRM) {
		static const char msg[] = "bench: cleanup did not finish in time; exiting\n";
		ssize_t unused = write(STDERR_FILENO, msg, sizeof(msg) - 1);
		(void)unused;
		_exit(124);
	}
}

void bench_begin_cleanup(unsigned limit_s)
{
	bench_cleaning = 1;
	alarm(limit_s);
}

void bench_signals(unsigned timeout_s)
{
	/* No SA_RESTART: a blocked poll or waitpid returns EINTR and the loop
	 * around it sees bench_stop. */
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	alarm(timeout_s);
}

double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int bench_sleep_ms(double ms)
{
	if (bench_interrupted())
		return -1;
	struct timespec ts = {(time_t)(ms / 1e3), (long)(fmod(ms, 1e3) * 1e6)};
	nanosleep(&ts, NULL);
	return bench_interrupted() ? -1 : 0;
}

void say(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "bench: %s\n", line);
}

void figure(const char *name, double value, const char *unit)
{
	if (isnan(value))
		printf("figure %s nan %s\n", name, unit);
	else /* ratios need the second decimal */
		printf("figure %s %.*f %s\n", name, strcmp(unit, "x") ? 1 : 2, value, unit);
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double median(double *v, int n)
{
	if (n <= 0)
		return NAN;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int qemu_user_get(const char *name, bool create, struct qemu_user *u)
{
	struct passwd *pw = getpwnam(name);
	if (!pw && create) {
		say("user %s is missing; creating it (system user, group kvm)", name);
		const char *argv[] = {"useradd", "--system", "--no-create-home", "--shell",
		                      "/usr/sbin/nologin", "--groups", "kvm", name, NULL};
		char out[512];
		if (run_cmd(argv, 30000, out, sizeof(out)) != 0) {
			say("useradd %s failed: %s", name, out);
			return -1;
		}
		pw = getpwnam(name);
	}
	if (!pw) {
		say("no user %s", name);
		return -1;
	}
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->ngroups = 32;
	if (getgrouplist(name, pw->pw_gid, u->groups, &u->ngroups) < 0)
		u->ngroups = 0;
	return 0;
}

static void child_stdio(const char *log_path)
{
	int in = open("/dev/null", O_RDONLY);
	int out = open(log_path ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (in >= 0)
		dup2(in, STDIN_FILENO);
	if (out >= 0) {
		dup2(out, STDOUT_FILENO);
		dup2(out, STDERR_FILENO);
	}
}

pid_t spawn_logged(const char *const argv[], const char *log_path)
{
	pid_t pid = fork();
	if (pid < 0) {
		say("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		child_stdio(log_path);
		execvp(argv[0], (char *const *)argv);
		dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid); /* also here: no race with a signal sent right away */
	return pid;
}

/* Waits until the pidfd is readable (the process ended) or the deadline. */
static int wait_pidfd(int pidfd, double deadline, bool interruptible)
{
	/* Polled at least once: a timeout of 0 asks "has it exited yet?". */
	for (;;) {
		double left = deadline - now_ms();
		if (interruptible && bench_interrupted())
			return -1;
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		int rc = poll(&p, 1, left <= 0 ? 0 : left > 1000 ? 1000 : (int)left + 1);
		if (rc > 0)
			return 0;
		if (left <= 0)
			return -1;
	}
}

int wait_child(pid_t pid, int timeout_ms, bool interruptible)
{
	int status;
	double deadline = now_ms() + timeout_ms;
	int pidfd = pidfd_open(pid, 0);
	if (pidfd < 0) /* already reaped, or not ours */
		return waitpid(pid, &status, WNOHANG) == pid ? status : -1;
	int rc = wait_pidfd(pidfd, deadline, interruptible);
	close(pidfd);
	if (rc < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

void stop_child(pid_t pid, int grace_ms)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	if (wait_child(pid, grace_ms, false) != -1)
		return;
	kill(pid, SIGKILL);
	wait_child(pid, 10000, false);
}

int stop_process(pid_t pid, int grace_ms)
{
	int pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		return errno == ESRCH ? 0 : -1;
	int rc = 0;
	if (kill(pid, SIGTERM) == 0 && wait_pidfd(pidfd, now_ms() + grace_ms, false) < 0) {
		kill(pid, SIGKILL);
		rc = wait_pidfd(pidfd, now_ms() + 10000, false);
	}
	close(pidfd);
	return rc;
}

int run_cmd(const char *const argv[], int timeout_ms, char *out, size_t outlen)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		child_stdio(NULL);
		dup2(pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		execvp(argv[0], (char *const *)argv);
		dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close(pfd[1]);
	size_t len = 0;
	double deadline = now_ms() + timeout_ms;
	bool timed_out = false;
	/* Read until EOF (the child and anything it left holding the pipe are
	 * done), within the deadline. */
	for (;;) {
		double left = deadline - now_ms();
		if (left <= 0 || bench_interrupted()) {
			timed_out = true;
			break;
		}
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		if (poll(&p, 1, left > 1000 ? 1000 : (int)left + 1) <= 0)
			continue;
		char buf[4096];
		ssize_t n = read(pfd[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		if (out && outlen > 1) {
			for (ssize_t i = 0; i < n; i++) {
				if (len == outlen - 1) { /* keep the tail: errors come last */
					memmove(out, out + 1, outlen - 2);
					len--;
				}
				out[len++] = buf[i];
			}
		}
	}
	close(pfd[0]);
	if (out && outlen)
		out[len] = '\0';
	if (timed_out) {
		kill(-pid, SIGKILL);
		wait_child(pid, 10000, false);
		return -1;
	}
	int status = wait_child(pid, timeout_ms, true);
	if (status == -1) {
		kill(-pid, SIGKILL);
		wait_child(pid, 10000, false);
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

long proc_status_kib(pid_t pid, const char *key)
{
	char path[64], want[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	snprintf(want, sizeof(want), "\n%s:", key);
	char *s = fs_read_all(path, 1 << 16, NULL);
	if (!s)
		return -1;
	char *p = strstr(s, want);
	long kib = p ? strtol(p + strlen(want), NULL, 10) : -1;
	free(s);
	return kib;
}

int kill_qemus_named(const char *prefix)
{
	char want[128];
	snprintf(want, sizeof(want), "guest=%s", prefix);
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	pid_t pids[256];
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 256) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char path[64];
		size_t len = 0;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		char *s = fs_read_all(path, 1 << 16, &len);
		if (!s)
			continue;
		for (size_t off = 0; off < len; off += strlen(s + off) + 1)
			if (!strncmp(s + off, want, strlen(want))) {
				pids[n++] = atoi(de->d_name);
				break;
			}
		free(s);
	}
	closedir(d);
	for (int i = 0; i < n; i++)
		stop_process(pids[i], 0);
	return n;
}

void random_uuid(char out[37])
{
	char *s = fs_read_all("/proc/sys/kernel/random/uuid", 64, NULL);
	snprintf(out, 37, "%s", s ? s : "00000000-0000-4000-8000-000000000000");
	free(s);
}

/* Does the file hold mark at or after byte *from? Moves *from on. */
static bool file_has_mark(const char *path, const char *mark, off_t *from)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char buf[65536];
	bool found = false;
	size_t keep = strlen(mark);
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, *from);
		if (n <= 0)
			break;
		buf[n] = '\0';
		/* A console may carry NULs: search each NUL-free piece. */
		for (char *q = buf; q < buf + n; q += strlen(q) + 1)
			if (strstr(q, mark))
				found = true;
		if (found)
			break;
		*from += n > (ssize_t)keep ? n - (ssize_t)keep : 0;
		if (n < (ssize_t)sizeof(buf) - 1)
			break;
	}
	close(fd);
	return found;
}

int wait_file_mark(const char *path, const char *mark, double deadline, double *t_found)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (in < 0 || inotify_add_watch(in, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
		say("inotify on %s: %s", dir, strerror(errno));
		if (in >= 0)
			close(in);
		return -1;
	}
	off_t from = 0;
	int rc = -1;
	for (;;) {
		/* Read after arming the watch: nothing written between is lost. */
		if (file_has_mark(path, mark, &from)) {
			*t_found = now_ms();
			rc = 0;
			break;
		}
		double left = deadline - now_ms();
		if (left <= 0 || bench_interrupted())
			break;
		struct pollfd p = {.fd = in, .events = POLLIN};
		if (poll(&p, 1, left > 100 ? 100 : (int)left + 1) > 0) {
			char ev[8192];
			while (read(in, ev, sizeof(ev)) > 0)
				;
		}
	}
	close(in);
	return rc;
}

void proc_sched_ms(pid_t pid, double *run_ms, double *wait_ms)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	*run_ms = *wait_ms = NAN;
	DIR *d = opendir(path);
	if (!d)
		return;
	unsigned long long run = 0, wait = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char f[128];
		snprintf(f, sizeof(f), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
		char *s = fs_read_all(f, 256, NULL);
		unsigned long long r = 0, w = 0;
		if (s && sscanf(s, "%llu %llu", &r, &w) == 2) {
			run += r;
			wait += w;
		}
		free(s);
	}
	closedir(d);
	*run_ms = (double)run / 1e6;
	*wait_ms = (double)wait / 1e6;
}

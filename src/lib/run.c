/* run.c - fork/exec with captured output, as the caller or as a given
 * unprivileged identity. Only the child we started is waited for, so the
 * agent's own child bookkeeping is never disturbed. */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* One read of the child's output into out, keeping its tail: when out is
 * full, the oldest half goes. What read returned. */
static ssize_t read_tail(int rfd, char *out, size_t out_len, size_t *used)
{
	char sink[4096];
	char *dst = sink;
	size_t room = sizeof(sink);
	if (out && out_len > 1) {
		if (*used == out_len - 1) {
			size_t half = *used / 2;
			memmove(out, out + half, *used - half);
			*used -= half;
		}
		dst = out + *used;
		room = out_len - 1 - *used;
	}
	ssize_t n = read(rfd, dst, room);
	if (n > 0 && out && out_len > 1)
		*used += (size_t)n;
	return n;
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* Reads the child's output until EOF (keeping the tail), then reaps it. */
static int collect(pid_t pid, int rfd, char *out, size_t out_len)
{
	size_t used = 0;
	for (;;) {
		ssize_t n = read_tail(rfd, out, out_len, &used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
	close(rfd);
	if (out && out_len)
		out[used] = '\0';
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return exit_code(status);
}

int run_capture(const char *const argv[], char *out, size_t out_len)
{
	return run_capture_input(argv, NULL, out, out_len);
}

int run_capture_input(const char *const argv[], const char *input, char *out, size_t out_len)
{
	int pipefd[2], infd[2] = {-1, -1};
	size_t inlen = input ? strlen(input) : 0;
	if (inlen >= PIPE_BUF * 8)
		return -E2BIG;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	if (input && pipe2(infd, O_CLOEXEC) < 0) {
		int err = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return -err;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (input)
		posix_spawn_file_actions_adddup2(&fa, infd[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (input) {
		close(infd[0]);
		/* Small enough for the pipe's buffer: written whole before the
		 * child reads, then EOF. A child that died first (EPIPE; the
		 * caller ignores SIGPIPE, as the daemons do) says why in out. */
		if (rc == 0) {
			ssize_t w = write(infd[1], input, inlen);
			(void)w;
		}
		close(infd[1]);
	}
	if (rc != 0) {
		close(pipefd[0]);
		return -rc;
	}
	return collect(pid, pipefd[0], out, out_len);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int run_capture_env(const char *const argv[], const char *const envp[], int timeout_ms, char *out,
                    size_t out_len)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	/* The caller's sockets and files (vdcd's listeners, its store) are
	 * none of the helper's business. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	pid_t pid;
	int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int rc = posix_spawnp(&pid, argv[0], &fa, &at, (char *const *)argv, (char *const *)envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		return -rc;
	}
	size_t used = 0;
	bool late = false;
	for (;;) {
		int64_t left = deadline - mono_ms();
		struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
		int n = left > 0 ? poll(&p, 1, (int)left) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			late = true;
			break;
		}
		if (n < 0)
			break;
		ssize_t r = read_tail(pipefd[0], out, out_len, &used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
	}
	close(pipefd[0]);
	if (out && out_len)
		out[used] = '\0';
	/* Its output ended (or the time is up): it exits now, or is killed at
	 * the deadline with whatever it started. */
	int status = 0;
	for (;;) {
		pid_t w = late ? 0 : waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (late || mono_ms() >= deadline) {
			late = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			break;
		}
		usleep(5000);
	}
	return late ? -ETIMEDOUT : exit_code(status);
}

/* In the child: say why, on the captured output, and exit without exec. */
static void __attribute__((noreturn)) child_fail(const char *what, int err)
{
	dprintf(STDOUT_FILENO, "cannot %s: %s\n", what, strerror(err));
	_exit(126);
}

int run_capture_as(const struct run_as *as, const char *const argv[], char *out, size_t out_len)
{
	if (!as)
		return run_capture(argv, out, out_len);
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return -err;
	}
	if (pid == 0) {
		/* The agent blocks SIGTERM/SIGINT (for its signalfd) and ignores
		 * SIGPIPE; neither may survive into the helper. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 || dup2(pipefd[1], STDOUT_FILENO) < 0 ||
		    dup2(pipefd[1], STDERR_FILENO) < 0)
			_exit(126);
		close_range(3, ~0u, 0);
		if (setgroups((size_t)as->ngroups, as->ngroups ? as->groups : NULL) < 0)
			child_fail("setgroups", errno);
		if (setgid(as->gid) < 0)
			child_fail("setgid", errno);
		if (setuid(as->uid) < 0)
			child_fail("setuid", errno);
		if (as->uid != 0 && setuid(0) == 0)
			child_fail("drop root", EPERM);
		if (chdir("/") < 0)
			child_fail("chdir /", errno);
		umask(077);
		execvp(argv[0], (char *const *)argv);
		child_fail(argv[0], errno);
	}
	close(pipefd[1]);
	return collect(pid, pipefd[0], out, out_len);
}

char *run_trim(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

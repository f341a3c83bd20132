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
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Reads the child's output until EOF (keeping the tail), then reaps it. */
static int collect(pid_t pid, int rfd, char *out, size_t out_len)
{
	size_t used = 0;
	char sink[4096];
	for (;;) {
		char *dst = sink;
		size_t room = sizeof(sink);
		if (out && out_len > 1) {
			if (used == out_len - 1) { /* keep the tail: drop the oldest half */
				size_t half = used / 2;
				memmove(out, out + half, used - half);
				used -= half;
			}
			dst = out + used;
			room = out_len - 1 - used;
		}
		ssize_t n = read(rfd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out && out_len > 1)
			used += (size_t)n;
	}
	close(rfd);
	if (out && out_len)
		out[used] = '\0';
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
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

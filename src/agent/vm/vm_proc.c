/* vm_proc.c - the QEMU process: spawned into its cgroup, in its own session
 * (so signals to the agent's process group never reach it), as the
 * VM's own identity (its uid and gid, and only the kvm group), with exactly
 * the fds it needs. */
#include "vm_internal.h"

#include "crashpoint.h"

#include "fsutil.h"
#include "log.h"
#include "procstat.h"
#include "unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define FIRST_PASSED_FD 3

int vm_proc_write_pidfile(struct vm *vm)
{
	char path[1100], buf[64];
	vm_run_path(vm, "qemu.pid", path, sizeof(path));
	int n = snprintf(buf, sizeof(buf), "%d %llu\n", (int)vm->pid, vm->pid_start);
	/* No fsync: the pid file lives under run-dir and means nothing after a
	 * host reboot; on the VM start path its cost shows in the start time. */
	return fs_write_replace(path, buf, (size_t)n, 0600);
}

pid_t vm_proc_read_pidfile(struct vm *vm, unsigned long long *start)
{
	char path[1100];
	vm_run_path(vm, "qemu.pid", path, sizeof(path));
	char *s = fs_read_all(path, 128, NULL);
	if (!s)
		return 0;
	int pid = 0;
	unsigned long long st = 0;
	int ok = sscanf(s, "%d %llu", &pid, &st) == 2;
	free(s);
	if (!ok || pid <= 1)
		return 0;
	if (proc_starttime(pid) != st)
		return 0; /* gone, or the pid now belongs to another process */
	*start = st;
	return pid;
}

int vm_proc_listen_unix(const char *path, struct errinfo *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return errinfo_set(e, 500, "socket", NULL, "socket path too long: %s (use a shorter run-dir)",
		                   path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errinfo_set(e, 500, "socket", NULL, "socket: %s", strerror(errno));
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		int err = errno;
		close(fd);
		return errinfo_set(e, 500, "socket", NULL, "cannot listen on %s: %s", path, strerror(err));
	}
	return fd;
}

int vm_proc_connect_unix(const char *path)
{
	return unix_connect(path, SOCK_STREAM);
}

/* In the child: report why we could not exec into QEMU's log, then exit. */
static void __attribute__((noreturn)) child_fail(const char *what, int err)
{
	dprintf(STDERR_FILENO, "vdc-agent: %s: %s\n", what, strerror(err));
	_exit(127);
}

int vm_proc_spawn(struct vm *vm, char *const argv[], const int *fds, int nfds, struct errinfo *e)
{
	struct agent *a = vm->agent;
	char logpath[1100], cgpaths[CG_MAX_HIER][CG_PATH_MAX], rel[CG_REL_MAX];
	vm_store_path(vm, "qemu.log", logpath, sizeof(logpath));
	vm_cgroup_name(vm, rel, sizeof(rel));
	int ncg = cgroup_procs_paths(&a->cg, rel, cgpaths, CG_MAX_HIER);
	int logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (logfd < 0)
		return errinfo_set(e, 500, "spawn", NULL, "cannot open %s: %s", logpath, strerror(errno));
	bool drop = geteuid() == 0;
	if (drop && !vm->spec.uid)
		return errinfo_set(e, 500, "identity", NULL, "VM '%s' has no identity to run QEMU as",
		                   vm->spec.name);
	gid_t kvm = a->kvm_gid;
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		close(logfd);
		return errinfo_set(e, 500, "spawn", NULL, "fork: %s", strerror(err));
	}
	if (pid == 0) {
		/* The agent blocks SIGTERM/SIGINT (for its signalfd) and ignores
		 * SIGPIPE; both would survive exec and make QEMU deaf to them. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setsid();
		dup2(logfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		for (int i = 0; i < ncg; i++) {
			int rc = fs_write_string(cgpaths[i], "0");
			if (rc < 0)
				child_fail(cgpaths[i], -rc);
		}
		/* Move every passed fd above the target range first, so a source
		 * fd numbered like a target is never clobbered. */
		int high[VM_MAX_NICS + 4];
		for (int i = 0; i < nfds; i++) {
			high[i] = fcntl(fds[i], F_DUPFD, 100);
			if (high[i] < 0)
				child_fail("dup", errno);
		}
		for (int i = 0; i < nfds; i++)
			if (dup2(high[i], FIRST_PASSED_FD + i) < 0)
				child_fail("dup2", errno);
		close_range(FIRST_PASSED_FD + (unsigned)nfds, ~0u, 0);
		if (drop) {
			if (setgroups(kvm ? 1 : 0, kvm ? &kvm : NULL) < 0)
				child_fail("setgroups", errno);
			if (setgid(vm->spec.gid) < 0)
				child_fail("setgid", errno);
			if (setuid(vm->spec.uid) < 0)
				child_fail("setuid", errno);
			if (setuid(0) == 0)
				child_fail("dropping root", EPERM);
		}
		if (chdir("/") < 0)
			child_fail("chdir /", errno);
		umask(077);
		execvp(argv[0], argv);
		child_fail(argv[0], errno);
	}
	close(logfd);
	vm->pid = pid;
	vm->our_child = true;
	vm->pid_start = proc_starttime(pid);
	crash_point("start:before_pidfile");
	if (vm_proc_write_pidfile(vm) < 0)
		log_warn("pidfile_write_failed", "vm=%s", vm->spec.name);
	return 0;
}

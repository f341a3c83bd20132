/*
 * vdc-listen - minimal TCP server for the vdc test guest.
 *
 * Usage: vdc-listen PORT PROG [ARG...]
 *
 * Listens on 0.0.0.0:PORT and, for every accepted connection, forks and
 * runs PROG with the connection as its stdin and stdout (stderr is left as
 * is).  Children are never waited for (SIGCHLD is ignored, so the kernel
 * reaps them).  Runs until killed.
 *
 * Why not busybox `nc -ll -e`: it listens with a backlog of 1, so a burst of
 * concurrent connections (forwarded by QEMU's user-mode network) is refused
 * or reset.  This server listens with a large backlog and never blocks on a
 * slow client: the per-connection work happens in the child.
 *
 * Built static for the vdc test guest's initramfs:
 *   gcc -static -O2 -Wall -Wextra -o vdc-listen vdc-listen.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BACKLOG 128

int main(int argc, char **argv)
{
	struct sockaddr_in addr;
	struct sigaction sa;
	char *end;
	long port;
	int one = 1;
	int sfd;

	if (argc < 3) {
		fprintf(stderr, "usage: vdc-listen PORT PROG [ARG...]\n");
		return 2;
	}
	port = strtol(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || port < 1 || port > 65535) {
		fprintf(stderr, "vdc-listen: invalid port '%s'\n", argv[1]);
		return 2;
	}

	/* Let the kernel reap finished handlers: no zombies, no wait(). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = SA_NOCLDWAIT;
	sigaction(SIGCHLD, &sa, NULL);
	/* A client that goes away must not kill the server. */
	signal(SIGPIPE, SIG_IGN);

	/* CLOEXEC: handlers (and whatever they start) must not inherit it. */
	sfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sfd < 0) {
		perror("vdc-listen: socket");
		return 1;
	}
	setsockopt(sfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_ANY);
	addr.sin_port = htons((unsigned short)port);
	if (bind(sfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(sfd, BACKLOG) < 0) {
		fprintf(stderr, "vdc-listen: port %ld: %s\n", port, strerror(errno));
		return 1;
	}

	for (;;) {
		int cfd = accept4(sfd, NULL, NULL, SOCK_CLOEXEC);
		pid_t pid;

		if (cfd < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				perror("vdc-listen: accept");
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
				sleep(1); /* back off instead of spinning */
			continue;
		}
		pid = fork();
		if (pid == 0) {
			/* Child: the connection becomes stdin and stdout
			 * (dup2 clears CLOEXEC on the copies). */
			signal(SIGCHLD, SIG_DFL);
			signal(SIGPIPE, SIG_DFL);
			if (dup2(cfd, 0) < 0 || dup2(cfd, 1) < 0)
				_exit(127);
			execv(argv[2], argv + 2);
			perror("vdc-listen: exec");
			_exit(127);
		}
		if (pid < 0)
			perror("vdc-listen: fork");
		close(cfd);
	}
}

/*
 * vdc-tick - a timestamp stream: one UDP datagram every millisecond.
 *
 * Usage: vdc-tick IP PORT SECONDS
 *
 * Sends "SEQ NS\n" to IP:PORT every 1 ms (absolute deadlines, so a late
 * wake-up does not shift the ones after it) for SECONDS seconds: SEQ counts
 * from 0, NS is the guest's CLOCK_MONOTONIC in ns. A receiver outside the
 * guest sees the guest's pauses as gaps in the arrival times (a live
 * migration's downtime is the longest), and lost datagrams as gaps in SEQ.
 * UDP, not TCP: a lost segment would add TCP's retransmission timeout
 * (200 ms and more) to the gap, measuring TCP rather than the pause.
 *
 * Built static for the vdc test guest's initramfs:
 *   gcc -static -O2 -Wall -Wextra -o vdc-tick vdc-tick.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PERIOD_NS 1000000L

static long parse(const char *s, long lo, long hi, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "vdc-tick: invalid %s '%s' (%ld to %ld)\n", what, s, lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: vdc-tick IP PORT SECONDS\n");
		return 2;
	}
	struct sockaddr_in to = {.sin_family = AF_INET};
	if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fprintf(stderr, "vdc-tick: invalid IPv4 address '%s'\n", argv[1]);
		return 2;
	}
	to.sin_port = htons((unsigned short)parse(argv[2], 1, 65535, "port"));
	long seconds = parse(argv[3], 1, 3600, "seconds");
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		perror("vdc-tick: socket");
		return 1;
	}
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (long seq = 0; seq < seconds * 1000; seq++) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		char msg[64];
		int n = snprintf(msg, sizeof(msg), "%ld %lld\n", seq,
		                 (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
		/* A send that fails (no route while the guest moves) is a lost
		 * datagram, which the receiver counts: go on. */
		(void)send(fd, msg, (size_t)n, 0);
		next.tv_nsec += PERIOD_NS;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
	close(fd);
	return 0;
}

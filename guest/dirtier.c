/*
 * dirtier - keep dirtying guest memory at a steady rate.
 *
 * Usage: dirtier MIB RATE_MIB_S
 *
 * Allocates MIB MiB of anonymous memory and then, forever, writes one byte
 * into every page of it, RATE_MIB_S MiB per second, cycling through the
 * buffer.  Each write changes the page contents, so every touched page is
 * dirty again for the hypervisor (this is what stresses live migration).
 * The work is done in small batches (about 100 per second) with a sleep
 * between them, so the rate is smooth rather than bursty.  Runs until
 * killed (SIGTERM/SIGKILL).
 *
 * Built static for the vdc test guest's initramfs:
 *   gcc -static -O2 -Wall -Wextra -o dirtier dirtier.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)
#define BATCHES_PER_SEC 100 /* sleep granularity: 10 ms */

/* Parse a non-negative decimal integer, or exit with a usage error. */
static unsigned long parse_ulong(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
		fprintf(stderr, "dirtier: invalid %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

/* Monotonic time in nanoseconds. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Sleep until the absolute monotonic time t (ns). */
static void sleep_until(uint64_t t)
{
	struct timespec ts = {
		.tv_sec = (time_t)(t / 1000000000ULL),
		.tv_nsec = (long)(t % 1000000000ULL),
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

int main(int argc, char **argv)
{
	unsigned long mib, rate, page, npages, pages_per_batch, pos = 0;
	unsigned char *buf;
	unsigned char stamp = 0;
	uint64_t next;

	if (argc != 3) {
		fprintf(stderr, "usage: dirtier MIB RATE_MIB_S\n");
		return 2;
	}
	mib = parse_ulong(argv[1], "size");
	rate = parse_ulong(argv[2], "rate");
	if (mib == 0 || mib > 1024UL * 1024UL) {
		fprintf(stderr, "dirtier: size must be 1..1048576 MiB\n");
		return 2;
	}

	page = (unsigned long)sysconf(_SC_PAGESIZE);
	npages = mib * (MIB / page);

	/* Private anonymous mapping; populate it now so all of it is resident. */
	buf = mmap(NULL, mib * MIB, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED) {
		fprintf(stderr, "dirtier: mmap %lu MiB: %s\n", mib, strerror(errno));
		return 1;
	}

	/* Pages to write per batch; at least one if the rate is non-zero. */
	pages_per_batch = rate * (MIB / page) / BATCHES_PER_SEC;
	if (rate > 0 && pages_per_batch == 0)
		pages_per_batch = 1;

	next = now_ns();
	for (;;) {
		/* A new value each pass over the buffer, so every write changes
		 * the page (zero pages or unchanged pages could be deduplicated). */
		for (unsigned long i = 0; i < pages_per_batch; i++) {
			buf[pos * page] = (unsigned char)(stamp + 1);
			if (++pos == npages) {
				pos = 0;
				stamp++;
			}
		}
		next += 1000000000ULL / BATCHES_PER_SEC;
		/* If we fell far behind (e.g. the VM was paused), do not try to
		 * catch up in a burst: restart the schedule from now. */
		if (now_ns() > next + 1000000000ULL)
			next = now_ns();
		sleep_until(next);
	}
	/* not reached */
}

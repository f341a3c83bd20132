/* console.c - serial log with one rotation: path and path.1, each at most
 * cap bytes. Output that arrives while the agent is down is lost (QEMU drops
 * it when no client is connected), which keeps the guest from ever blocking. */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int console_open(struct console *c, const char *path, size_t cap)
{
	c->sock = -1;
	c->cap = cap;
	c->tee = NULL; /* the viewers' (vm_console.c) set it when they come */
	c->tee_ctx = NULL;
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (c->logfd < 0)
		return -errno;
	struct stat st;
	c->size = fstat(c->logfd, &st) == 0 ? st.st_size : 0;
	return 0;
}

/* The offset of the current file's first byte in all the console ever
 * logged (path.base; absent: 0). Offsets let a reader follow the console
 * across rotations and agent restarts. */
static unsigned long long read_base(const char *path)
{
	char bp[4200], buf[32] = "";
	snprintf(bp, sizeof(bp), "%s.base", path);
	int fd = open(bp, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return strtoull(buf, NULL, 10);
}

static void write_base(const char *path, unsigned long long base)
{
	char bp[4200], tmp[4210], buf[32];
	snprintf(bp, sizeof(bp), "%s.base", path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", bp);
	int n = snprintf(buf, sizeof(buf), "%llu\n", base);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return;
	ssize_t w = write(fd, buf, (size_t)n);
	close(fd);
	if (w == n)
		rename(tmp, bp);
	else
		unlink(tmp);
}

static void rotate(struct console *c)
{
	char old[4200];
	snprintf(old, sizeof(old), "%s.1", c->path);
	write_base(c->path, read_base(c->path) + (unsigned long long)c->size);
	close(c->logfd);
	rename(c->path, old);
	c->logfd = open(c->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	c->size = 0;
}

/* Appends n bytes, rotating exactly at the cap so that neither file ever
 * holds more than cap bytes. What the disk refuses is dropped. */
static void append(struct console *c, const char *buf, size_t n)
{
	while (n > 0 && c->logfd >= 0) {
		size_t room = (size_t)c->size < c->cap ? c->cap - (size_t)c->size : 0;
		ssize_t w = write(c->logfd, buf, n < room ? n : room);
		if (w < 0)
			return;
		c->size += w;
		buf += w;
		n -= (size_t)w;
		if (c->size > 0 && (size_t)c->size >= c->cap)
			rotate(c);
		else if (w == 0)
			return;
	}
}

int console_pump(struct console *c)
{
	char buf[8192];
	for (;;) {
		ssize_t n = read(c->sock, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		append(c, buf, (size_t)n);
		if (c->tee)
			c->tee(c->tee_ctx, buf, (size_t)n);
	}
}

void console_close(struct console *c)
{
	if (c->sock >= 0)
		close(c->sock);
	if (c->logfd >= 0)
		close(c->logfd);
	c->sock = c->logfd = -1;
}

/* Appends want bytes of file path from offset at (clamped to the file). */
static size_t read_file_at(const char *path, char *buf, size_t used, off_t at, size_t want)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return used;
	ssize_t n = want ? pread(fd, buf + used, want, at) : 0;
	if (n > 0)
		used += (size_t)n;
	close(fd);
	return used;
}

unsigned long long console_end(const char *path)
{
	struct stat st;
	return read_base(path) + (stat(path, &st) == 0 ? (unsigned long long)st.st_size : 0);
}

char *console_from(const char *path, unsigned long long offset, size_t max, unsigned long long *start,
                   size_t *len)
{
	char old[4200];
	snprintf(old, sizeof(old), "%s.1", path);
	struct stat st, so;
	unsigned long long cur = stat(path, &st) == 0 ? (unsigned long long)st.st_size : 0;
	unsigned long long oldsz = stat(old, &so) == 0 ? (unsigned long long)so.st_size : 0;
	unsigned long long base = read_base(path);
	if (oldsz > base)
		oldsz = base; /* a .1 without its base (older agent): only what the base vouches for */
	unsigned long long oldest = base - oldsz, end = base + cur;
	/* Before what is kept: from the oldest byte kept. Past the end: the log
	 * began again (a new VM of that name): from its start too. */
	unsigned long long from = offset < oldest || offset > end ? oldest : offset;
	size_t want = end - from < max ? (size_t)(end - from) : max;
	char *buf = malloc(want + 1);
	if (!buf)
		return NULL;
	size_t used = 0;
	if (from < base) {
		size_t n = base - from < want ? (size_t)(base - from) : want;
		used = read_file_at(old, buf, used, (off_t)(oldsz - (base - from)), n);
		if (used < n)
			want = used; /* the files moved under us: stop at what was read */
	}
	if (used < want)
		used = read_file_at(path, buf, used, (off_t)(from + used - base), want - used);
	buf[used] = '\0';
	*start = from;
	*len = used;
	return buf;
}

/* Appends the last want bytes of file path to buf. */
static size_t tail_file(const char *path, char *buf, size_t used, size_t want)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return used;
	struct stat st;
	if (fstat(fd, &st) == 0 && want > 0) {
		off_t start = st.st_size > (off_t)want ? st.st_size - (off_t)want : 0;
		ssize_t n = pread(fd, buf + used, (size_t)(st.st_size - start), start);
		if (n > 0)
			used += (size_t)n;
	}
	close(fd);
	return used;
}

char *console_tail(const char *path, size_t max, size_t *len)
{
	char *buf = malloc(max + 1);
	if (!buf)
		return NULL;
	struct stat st;
	size_t cur = stat(path, &st) == 0 ? (size_t)st.st_size : 0;
	size_t used = 0;
	if (cur < max) {
		char old[4200];
		snprintf(old, sizeof(old), "%s.1", path);
		struct stat so;
		if (stat(old, &so) == 0) {
			size_t from_old = max - cur < (size_t)so.st_size ? max - cur : (size_t)so.st_size;
			used = tail_file(old, buf, used, from_old);
		}
	}
	used = tail_file(path, buf, used, max - used < cur ? max - used : cur);
	buf[used] = '\0';
	if (len)
		*len = used;
	return buf;
}

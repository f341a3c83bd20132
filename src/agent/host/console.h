/* console.h - a VM's serial console, read from QEMU's socket into a log file
 * bounded at cap bytes (plus one rotated file), so a chatty guest can never
 * fill the host's disk or the agent's memory. */
#ifndef VDC_CONSOLE_H
#define VDC_CONSOLE_H

#include <stddef.h>
#include <sys/types.h>

struct console {
	int sock;     /* connected to QEMU's serial socket, or -1 */
	int logfd;    /* append-only log, or -1 */
	off_t size;
	size_t cap;
	char path[4096];
	/* Called with every chunk read from the guest (the live viewers'
	 * fan-out), or NULL. */
	void (*tee)(void *ctx, const char *buf, size_t n);
	void *tee_ctx;
};

/* Opens (appending) the log at path. Returns 0 or -errno. */
int console_open(struct console *c, const char *path, size_t cap);
/* Reads what the socket has and appends it. Returns 0, or -1 at EOF. */
int console_pump(struct console *c);
void console_close(struct console *c);

/* The last max bytes of the log (across the rotation), malloc'd and
 * NUL-terminated; an absent log gives "". NULL only when out of memory. */
char *console_tail(const char *path, size_t max, size_t *len);

/* At most max bytes of the log from offset (counted over all the console
 * ever logged, across rotations), malloc'd and NUL-terminated; *start is
 * the offset of the first byte given: offset itself, or the oldest byte
 * kept when offset is older than that or past the end (the log began
 * again). The next read starts at *start + *len. NULL when out of memory. */
/* The offset just past the last byte logged. */
unsigned long long console_end(const char *path);
char *console_from(const char *path, unsigned long long offset, size_t max, unsigned long long *start,
                   size_t *len);

#endif

/* linkprobe.h - measures the migration network between two hosts: a sink
 * on the receiving host, a timed write from the sending one. Blocking:
 * run them on threads. Errors are -errno. */
#ifndef VDC_LINKPROBE_H
#define VDC_LINKPROBE_H

#include <stdint.h>

/* A listening socket on ip (an IP literal of this host), port the
 * kernel's (into *port): its fd. */
int linkprobe_listen(const char *ip, int *port);
/* Accepts one connection on listen_fd (not closed here) and reads it to its
 * end, within timeout_ms in all: the bytes read. */
int64_t linkprobe_sink(int listen_fd, int timeout_ms);
/* Writes to ip:port for ms, then waits (5 s at most) until the sink has
 * read it all and closed: bytes per second from the first write to that
 * close; *bytes gets what was sent. */
int64_t linkprobe_send(const char *ip, int port, int ms, int64_t *bytes);

#endif

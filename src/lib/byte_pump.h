/* byte_pump.h - copies bytes both ways between two connected fds until
 * either side closes or a stop fd becomes readable. Blocking, for a thread
 * of its own (see loop_jobs.h); each direction is bounded by one buffer, so
 * a slow reader slows its writer rather than growing memory. */
#ifndef VDC_BYTE_PUMP_H
#define VDC_BYTE_PUMP_H

#include <stddef.h>

/* Pumps a <-> b (both made non-blocking). first (may be NULL) is written
 * to b before anything else (bytes already read from a). Returns when a
 * side reaches EOF or fails, stop_fd (-1: none) is readable, or hup_fd
 * (-1: none; polled for POLLRDHUP only, see http_upgraded_peer_fd) says
 * its peer went away. Closes no fd. 0 at an EOF or stop, -errno on an
 * error. */
int byte_pump_run(int a, int b, const char *first, size_t first_len, int stop_fd, int hup_fd);

/* As byte_pump_run, but what goes to a is written by write_all(ctx, ...)
 * (as byte_pump_write_all; http_upgraded_write_all is one). */
int byte_pump_run_to(int a, int (*write_all)(void *ctx, const void *buf, size_t len, int stop_fd), void *ctx,
                     int b, const char *first, size_t first_len, int stop_fd, int hup_fd);

/* Writes all of buf to a non-blocking fd, waiting with poll (and giving up
 * when stop_fd is readable: -ECANCELED). 0 or -errno. */
int byte_pump_write_all(int fd, const void *buf, size_t len, int stop_fd);

#endif

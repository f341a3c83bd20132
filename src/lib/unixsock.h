/* unixsock.h - a connection to a Unix socket by path. */
#ifndef VDC_UNIXSOCK_H
#define VDC_UNIXSOCK_H

/* Connects a socket of type (SOCK_STREAM or SOCK_SEQPACKET, maybe with
 * SOCK_NONBLOCK; it is always close-on-exec) to path. The fd, or -1 with
 * errno (ENAMETOOLONG for a path that does not fit). */
int unix_connect(const char *path, int type);

#endif

/* loop.h - a small epoll event loop: fd watches, one-shot timers, and a hook
 * run before each wait. It knows nothing of VMs or HTTP. */
#ifndef VDC_LOOP_H
#define VDC_LOOP_H

#include <stdint.h>
#include <sys/epoll.h> /* EPOLLIN etc. for callers */

struct loop;
struct loop_watch;
struct loop_timer;

typedef void (*loop_fd_fn)(void *ctx, uint32_t events);
typedef void (*loop_timer_fn)(void *ctx);
/* Returns the longest the loop may sleep, in ms (-1: no limit). */
typedef int (*loop_prepare_fn)(void *ctx);

struct loop *loop_new(void);
/* Frees the loop, its timers and any watches still registered (their fds
 * are the owners' to close). */
void loop_free(struct loop *l);

/* Monotonic milliseconds. */
uint64_t loop_now_ms(void);

/* Calls fn(ctx, events) when fd is ready for events (EPOLLIN...). The watch
 * stays until loop_unwatch; unwatching from inside any callback is safe.
 * Returns NULL on failure (errno set). */
struct loop_watch *loop_watch_fd(struct loop *l, int fd, uint32_t events, loop_fd_fn fn,
                                 void *ctx);
void loop_unwatch(struct loop *l, struct loop_watch *w);
/* Changes what a watch waits for (EPOLLIN, EPOLLIN | EPOLLOUT...). 0 or -errno. */
int loop_watch_events(struct loop *l, struct loop_watch *w, uint32_t events);

/* One-shot timer after delay_ms. Cancelling a fired or NULL timer is a no-op
 * only before it fires: callers drop their pointer in the callback. */
struct loop_timer *loop_timer_after(struct loop *l, uint64_t delay_ms, loop_timer_fn fn,
                                    void *ctx);
void loop_timer_cancel(struct loop *l, struct loop_timer *t);

void loop_set_prepare(struct loop *l, loop_prepare_fn fn, void *ctx);

/* Makes SIGTERM and SIGINT stop the loop (through a signalfd, so they are
 * handled between events) and ignores SIGPIPE. Children must reset their
 * signal mask before exec. Returns the signalfd (closed by loop_free) or -1. */
int loop_stop_on_signals(struct loop *l);

/* Runs until loop_stop. Returns 0, or -errno if epoll fails. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

#endif

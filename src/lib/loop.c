/* loop.c - epoll loop. Watches freed from inside a callback are only marked
 * dead and reclaimed after the batch, so a stale epoll event never reaches
 * freed memory. */
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

struct loop_watch {
	int fd;
	int dead;
	loop_fd_fn fn;
	void *ctx;
	struct loop_watch *next_dead;
	struct loop_watch *prev, *next; /* live watches, so loop_free frees them */
};

struct loop_timer {
	uint64_t at_ms;
	loop_timer_fn fn;
	void *ctx;
	struct loop_timer *next;
};

struct loop {
	int epfd;
	int stopping;
	struct loop_timer *timers; /* sorted by at_ms */
	struct loop_watch *dead;
	struct loop_watch *live;
	int signal_fd;
	loop_prepare_fn prepare;
	void *prepare_ctx;
};

uint64_t loop_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	l->signal_fd = -1;
	return l;
}

static void reap_dead(struct loop *l)
{
	while (l->dead) {
		struct loop_watch *w = l->dead;
		l->dead = w->next_dead;
		free(w);
	}
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	while (l->timers) {
		struct loop_timer *t = l->timers;
		l->timers = t->next;
		free(t);
	}
	reap_dead(l);
	while (l->live) {
		struct loop_watch *w = l->live;
		l->live = w->next;
		free(w);
	}
	if (l->signal_fd >= 0)
		close(l->signal_fd);
	close(l->epfd);
	free(l);
}

struct loop_watch *loop_watch_fd(struct loop *l, int fd, uint32_t events, loop_fd_fn fn,
                                 void *ctx)
{
	struct loop_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->fd = fd;
	w->fn = fn;
	w->ctx = ctx;
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(w);
		errno = e;
		return NULL;
	}
	w->next = l->live;
	if (l->live)
		l->live->prev = w;
	l->live = w;
	return w;
}

void loop_unwatch(struct loop *l, struct loop_watch *w)
{
	if (!w || w->dead)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	if (w->prev)
		w->prev->next = w->next;
	else
		l->live = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->dead = 1;
	w->next_dead = l->dead;
	l->dead = w;
}

int loop_watch_events(struct loop *l, struct loop_watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (!w || w->dead)
		return -EINVAL;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0 ? -errno : 0;
}

struct loop_timer *loop_timer_after(struct loop *l, uint64_t delay_ms, loop_timer_fn fn,
                                    void *ctx)
{
	struct loop_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->at_ms = loop_now_ms() + delay_ms;
	t->fn = fn;
	t->ctx = ctx;
	struct loop_timer **pp = &l->timers;
	while (*pp && (*pp)->at_ms <= t->at_ms)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
	return t;
}

void loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	for (struct loop_timer **pp = &l->timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			free(t);
			return;
		}
	}
}

void loop_set_prepare(struct loop *l, loop_prepare_fn fn, void *ctx)
{
	l->prepare = fn;
	l->prepare_ctx = ctx;
}

void loop_stop(struct loop *l) { l->stopping = 1; }

static void on_stop_signal(void *ctx, uint32_t events)
{
	struct loop *l = ctx;
	struct signalfd_siginfo si;
	while (read(l->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	loop_stop(l);
}

int loop_stop_on_signals(struct loop *l)
{
	signal(SIGPIPE, SIG_IGN);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	l->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (l->signal_fd < 0 || !loop_watch_fd(l, l->signal_fd, EPOLLIN, on_stop_signal, l))
		return -1;
	return l->signal_fd;
}

static void run_due_timers(struct loop *l)
{
	uint64_t now = loop_now_ms();
	while (l->timers && l->timers->at_ms <= now) {
		struct loop_timer *t = l->timers;
		l->timers = t->next;
		loop_timer_fn fn = t->fn;
		void *ctx = t->ctx;
		free(t);
		fn(ctx);
	}
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[32];
	while (!l->stopping) {
		int timeout = -1;
		if (l->prepare)
			timeout = l->prepare(l->prepare_ctx);
		if (l->timers) {
			uint64_t now = loop_now_ms();
			int until = l->timers->at_ms > now ? (int)(l->timers->at_ms - now) : 0;
			if (timeout < 0 || until < timeout)
				timeout = until;
		}
		int n = epoll_wait(l->epfd, evs, 32, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			struct loop_watch *w = evs[i].data.ptr;
			if (!w->dead)
				w->fn(w->ctx, evs[i].events);
		}
		reap_dead(l);
		run_due_timers(l);
	}
	return 0;
}

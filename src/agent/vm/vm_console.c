/* vm_console.c - a VM's live serial viewers, on the loop thread. The console
 * reader (vm_watch.c) keeps writing console.log and hands every chunk to
 * console.tee, which copies it to each viewer; what a viewer sends is
 * written to the guest's serial socket. A viewer that falls more than
 * VIEWER_BACKLOG bytes behind is dropped rather than held in memory, and a
 * viewer never reaches anything but that socket. */
#include "vm_internal.h"

#include "log.h"
#include "loop.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VIEWER_BACKLOG (256 * 1024)

struct console_viewer {
	struct vm *vm;
	int fd;
	vm_viewer_send_fn send; /* NULL: write(2) to fd */
	vm_viewer_end_fn end;
	void *end_ctx;
	struct loop_watch *watch;
	struct loop_watch *hup_watch; /* its peer's socket, for its going away */
	struct strbuf out; /* what the viewer's socket did not take yet */
	struct console_viewer *next;
};

static void viewer_close(struct console_viewer *v)
{
	struct vm *vm = v->vm;
	for (struct console_viewer **p = &vm->viewers; *p; p = &(*p)->next)
		if (*p == v) {
			*p = v->next;
			break;
		}
	vm->nviewers--;
	loop_unwatch(vm->agent->loop, v->watch);
	loop_unwatch(vm->agent->loop, v->hup_watch);
	v->end(v->end_ctx);
	strbuf_free(&v->out);
	log_info("console_viewer_left", "vm=%s viewers=%d", vm->spec.name, vm->nviewers);
	free(v);
	if (!vm->viewers)
		vm->console.tee = NULL;
}

/* Typed bytes to the guest. The serial socket takes keystrokes at once; a
 * paste larger than its buffer loses its tail rather than stalling the
 * agent's loop. */
static void to_guest(struct vm *vm, const char *buf, size_t n)
{
	while (n > 0 && vm->console.sock >= 0) {
		ssize_t w = write(vm->console.sock, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_warn("console_input_dropped", "vm=%s bytes=%zu", vm->spec.name, n);
			return;
		}
		buf += w;
		n -= (size_t)w;
	}
}

/* Writes what is queued; -1 when the viewer is gone. What is left waits
 * for the socket that did not take it: fd, or the client's own when send
 * goes around a relay (vdcd's consoles: libmicrohttpd's relays 4 bytes a
 * turn, see http_upgraded_write_all). */
static int flush(struct console_viewer *v)
{
	while (v->out.len > 0) {
		ssize_t w = v->send ? v->send(v->end_ctx, v->out.p, v->out.len) : write(v->fd, v->out.p, v->out.len);
		if (!v->send && w < 0)
			w = -errno;
		if (w == -EINTR)
			continue;
		if (w == -EAGAIN)
			break;
		if (w <= 0)
			return -1;
		memmove(v->out.p, v->out.p + w, v->out.len - (size_t)w);
		v->out.len -= (size_t)w;
		v->out.p[v->out.len] = '\0';
	}
	struct loop *l = v->vm->agent->loop;
	if (v->send && v->hup_watch)
		loop_watch_events(l, v->hup_watch, v->out.len ? EPOLLRDHUP | EPOLLOUT : EPOLLRDHUP);
	else
		loop_watch_events(l, v->watch, v->out.len ? EPOLLIN | EPOLLOUT : EPOLLIN);
	return 0;
}

static void on_viewer(void *ctx, uint32_t events)
{
	struct console_viewer *v = ctx;
	if ((events & EPOLLOUT) && flush(v) < 0) {
		viewer_close(v);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	char buf[4096];
	for (;;) {
		ssize_t n = read(v->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			viewer_close(v);
			return;
		}
		to_guest(v->vm, buf, (size_t)n);
	}
}

/* The client's own socket: gone, or (when sends go around the relay)
 * ready for what is queued. */
static void on_peer(void *ctx, uint32_t events)
{
	struct console_viewer *v = ctx;
	if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) || ((events & EPOLLOUT) && flush(v) < 0))
		viewer_close(v);
}

static void fan_out(void *ctx, const char *buf, size_t n)
{
	struct vm *vm = ctx;
	for (struct console_viewer *v = vm->viewers, *next; v; v = next) {
		next = v->next;
		if (v->out.len + n > VIEWER_BACKLOG) {
			log_warn("console_viewer_too_slow", "vm=%s backlog=%zu", vm->spec.name, v->out.len);
			viewer_close(v);
			continue;
		}
		if (strbuf_add(&v->out, buf, n) < 0 || flush(v) < 0)
			viewer_close(v);
	}
}

int vm_console_attach(struct vm *vm, int fd, int hup_fd, const char *extra, size_t n, vm_viewer_send_fn send,
                      vm_viewer_end_fn end, void *end_ctx)
{
	struct console_viewer *v = NULL;
	if (vm->console.sock < 0 || vm->nviewers >= VM_CONSOLE_MAX_VIEWERS || !(v = calloc(1, sizeof(*v)))) {
		end(end_ctx);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	*v = (struct console_viewer){.vm = vm, .fd = fd, .send = send, .end = end, .end_ctx = end_ctx};
	v->watch = loop_watch_fd(vm->agent->loop, fd, EPOLLIN, on_viewer, v);
	if (!v->watch) {
		end(end_ctx);
		free(v);
		return -1;
	}
	/* Over plain HTTP the peer's socket is fd itself (already watched). */
	if (hup_fd >= 0 && hup_fd != fd)
		v->hup_watch = loop_watch_fd(vm->agent->loop, hup_fd, EPOLLRDHUP, on_peer, v);
	v->next = vm->viewers;
	vm->viewers = v;
	vm->nviewers++;
	vm->console.tee = fan_out;
	vm->console.tee_ctx = vm;
	log_info("console_viewer_joined", "vm=%s viewers=%d", vm->spec.name, vm->nviewers);
	if (n)
		to_guest(vm, extra, n);
	return 0;
}

void vm_console_detach_all(struct vm *vm)
{
	while (vm->viewers)
		viewer_close(vm->viewers);
}

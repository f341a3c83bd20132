/* api_console.c - a VM's live consoles for vdcd: GET
 * /api/v1/vms/{name}/console/{serial,vnc} with "Upgrade: vdc-console"
 * answers 101 and the connection then carries the console's raw bytes both
 * ways (vdcd frames them as WebSocket messages for browsers). The serial
 * console is shared by every viewer (vm_console.c); the graphical one is a
 * connection of its own to QEMU's VNC unix socket (QEMU runs it with
 * share=force-shared, so viewers see one screen together), pumped on a
 * thread. Nothing but the VM's own sockets is ever reached: the route names
 * a VM, never a path. */
#include "api.h"

#include "byte_pump.h"
#include "log.h"
#include "loop_jobs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MAX_VNC_STREAMS 32

struct agent_consoles {
	struct loop_jobs *jobs;
	int stop_fd; /* readable once the agent stops: every pump ends */
	int n;
};

struct vnc_stream {
	struct agent *a;
	char vm[128];
	int qemu_fd;  /* QEMU's VNC socket */
	int fd;       /* the upgraded connection */
	struct http_upgraded *up;
	char *extra;
	size_t extra_len;
};

static struct agent_consoles *consoles(struct agent *a)
{
	if (!a->consoles && (a->consoles = calloc(1, sizeof(*a->consoles)))) {
		a->consoles->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		a->consoles->jobs = loop_jobs_new(a->loop, MAX_VNC_STREAMS);
	}
	return a->consoles;
}

void api_console_stop(struct agent *a)
{
	for (struct vm *vm = a->vms; vm; vm = vm->next)
		vm_console_detach_all(vm);
	struct agent_consoles *c = a->consoles;
	if (!c)
		return;
	uint64_t one = 1;
	if (write(c->stop_fd, &one, sizeof(one)) < 0)
		log_warn("console_stop_signal_failed", "error=%s", log_quote(strerror(errno)));
	loop_jobs_free(c->jobs); /* each done closes its connection */
	close(c->stop_fd);
	free(c);
	a->consoles = NULL;
}

static int upgraded_write_all(void *up, const void *buf, size_t len, int stop_fd)
{
	return http_upgraded_write_all(up, buf, len, stop_fd);
}

static void vnc_pump(void *arg)
{
	struct vnc_stream *s = arg;
	/* To vdcd through the TLS session itself (http.h says why). */
	int rc = byte_pump_run_to(s->fd, upgraded_write_all, s->up, s->qemu_fd, s->extra, s->extra_len,
	                          s->a->consoles->stop_fd, http_upgraded_peer_fd(s->up));
	if (rc < 0)
		log_info("console_vnc_pump_ended", "vm=%s error=%s", s->vm, log_quote(strerror(-rc)));
}

static void vnc_done(void *arg)
{
	struct vnc_stream *s = arg;
	close(s->qemu_fd);
	http_upgraded_close(s->up);
	s->a->consoles->n--;
	log_info("console_vnc_closed", "vm=%s streams=%d", s->vm, s->a->consoles->n);
	free(s->extra);
	free(s);
}

static void vnc_upgraded(void *cls, int fd, const char *extra, size_t extra_len, struct http_upgraded *up)
{
	struct vnc_stream *s = cls;
	s->fd = fd;
	s->up = up;
	if (extra_len && (s->extra = malloc(extra_len))) {
		memcpy(s->extra, extra, extra_len);
		s->extra_len = extra_len;
	}
	struct agent_consoles *c = consoles(s->a);
	if (!c || !c->jobs || loop_jobs_start(c->jobs, vnc_pump, vnc_done, s) < 0) {
		log_warn("console_vnc_refused", "vm=%s reason=\"no thread\"", s->vm);
		close(s->qemu_fd);
		http_upgraded_close(up);
		free(s->extra);
		free(s);
		return;
	}
	c->n++;
	log_info("console_vnc_opened", "vm=%s streams=%d", s->vm, c->n);
}

static void vnc_abandoned(void *cls)
{
	struct vnc_stream *s = cls;
	close(s->qemu_fd);
	free(s);
}

/* The VM of the route, with the upgrade asked for; NULL after replying. */
static struct vm *console_vm_of(struct http_req *req)
{
	const char *up = http_header(req, "Upgrade");
	if (!up || strcasecmp(up, "vdc-console") != 0) {
		http_add_header(req, "Upgrade", "vdc-console");
		http_reply_error(req, 426, "upgrade_required", NULL,
		                 "a console is a stream: send 'Connection: Upgrade' and 'Upgrade: vdc-console'");
		return NULL;
	}
	struct agent *a = http_app(req);
	const char *name = http_param(req, "name");
	struct vm *vm = vm_find(a, name);
	if (!vm) {
		http_reply_error(req, 404, "not_found", NULL, "no VM named '%s' on this host", name);
		return NULL;
	}
	if (vm->state != VM_RUNNING && vm->state != VM_PAUSED) {
		http_reply_error(req, 409, "not_running", NULL, "VM '%s' is %s; its console opens once it runs",
		                 name, vm_state_name(vm->state));
		return NULL;
	}
	return vm;
}

static void console_vnc(struct http_req *req)
{
	struct vm *vm = console_vm_of(req);
	if (!vm)
		return;
	struct agent_consoles *c = consoles(vm->agent);
	if (!c || c->n >= MAX_VNC_STREAMS) {
		http_reply_error(req, 503, "too_many_consoles", NULL,
		                 "this host has %d graphical consoles open, the most it serves; close one",
		                 MAX_VNC_STREAMS);
		return;
	}
	char path[1300];
	vm_id_vnc_dir(vm, path, sizeof(path));
	strncat(path, "/vnc.sock", sizeof(path) - strlen(path) - 1);
	int fd = vm->spec.vnc ? vm_proc_connect_unix(path) : -1;
	if (fd < 0) {
		http_reply_error(req, 409, "no_display", NULL,
		                 vm->spec.vnc ? "VM '%s' has no VNC display to connect to now (%s)"
		                              : "VM '%s' was made with display 'none': it has no graphical console",
		                 vm->spec.name, strerror(errno));
		return;
	}
	struct vnc_stream *s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		http_reply_error(req, 500, "internal", NULL, "out of memory");
		return;
	}
	*s = (struct vnc_stream){.a = vm->agent, .qemu_fd = fd, .fd = -1};
	snprintf(s->vm, sizeof(s->vm), "%s", vm->spec.name);
	http_reply_upgrade(req, "vdc-console", vnc_upgraded, vnc_abandoned, s);
}

struct serial_attach {
	struct agent *a;
	char vm[128];
};

static void end_viewer(void *up) { http_upgraded_close(up); }
static ssize_t viewer_send(void *up, const void *buf, size_t n) { return http_upgraded_send(up, buf, n); }

static void serial_upgraded(void *cls, int fd, const char *extra, size_t extra_len, struct http_upgraded *up)
{
	struct serial_attach *s = cls;
	/* The VM is looked up again: it may have stopped while the reply went out. */
	struct vm *vm = vm_find(s->a, s->vm);
	if (!vm)
		http_upgraded_close(up);
	else if (vm_console_attach(vm, fd, http_upgraded_peer_fd(up), extra, extra_len, viewer_send, end_viewer, up) < 0)
		log_warn("console_serial_refused", "vm=%s viewers=%d", s->vm, vm->nviewers);
	free(s);
}

static void console_serial(struct http_req *req)
{
	struct vm *vm = console_vm_of(req);
	if (!vm)
		return;
	if (vm->console.sock < 0) {
		http_reply_error(req, 409, "no_console", NULL,
		                 "VM '%s' has no serial console connected now; try again in a moment",
		                 vm->spec.name);
		return;
	}
	if (vm->nviewers >= VM_CONSOLE_MAX_VIEWERS) {
		http_reply_error(req, 503, "too_many_consoles", NULL,
		                 "VM '%s' has %d serial viewers, the most it serves; close one", vm->spec.name,
		                 VM_CONSOLE_MAX_VIEWERS);
		return;
	}
	struct serial_attach *s = calloc(1, sizeof(*s));
	if (!s) {
		http_reply_error(req, 500, "internal", NULL, "out of memory");
		return;
	}
	s->a = vm->agent;
	snprintf(s->vm, sizeof(s->vm), "%s", vm->spec.name);
	http_reply_upgrade(req, "vdc-console", serial_upgraded, free, s);
}

void api_console_serial(struct http_req *req) { console_serial(req); }
void api_console_vnc(struct http_req *req) { console_vnc(req); }

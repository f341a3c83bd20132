/* vm_ready.c - readiness probes (issue 14): for each running VM whose probe
 * vdcd named, a TCP connect from the host to the guest's own address (by
 * its MAC: host/ready_probe.c) every period, on the agent's loop and never
 * blocking it. Ready after an answer; not ready again after `failures`
 * failures in a row ("lost": vdcd's VM monitoring restarts it). Each
 * change goes to vdcd at once, in a heartbeat. */
#include "agent.h"
#include "isotime.h"
#include "log.h"
#include "loop.h"
#include "manager_link.h"
#include "ready_probe.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TICK_MS 250

static void set_state(struct vm *vm, int state, bool lost)
{
	struct vm_ready *r = &vm->ready;
	if (r->state == state && r->lost == lost)
		return;
	r->state = state;
	r->lost = lost;
	iso_time_now_ms(r->since);
	log_event(state == 0 && lost ? LOG_WARN : LOG_INFO, "vm_ready", "vm=%s ready=%s lost=%d ip=%s reason=%s",
	          vm->spec.name, state < 0 ? "null" : state ? "true" : "false", (int)lost, r->ip[0] ? r->ip : "-",
	          log_quote(r->reason));
	manager_link_beat_soon();
}

static void end_connect(struct vm *vm)
{
	struct vm_ready *r = &vm->ready;
	if (r->watch)
		loop_unwatch(vm->agent->loop, r->watch);
	r->watch = NULL;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

static void answered(struct vm *vm)
{
	struct vm_ready *r = &vm->ready;
	end_connect(vm);
	r->fails = 0;
	r->reason[0] = '\0';
	set_state(vm, 1, false);
}

static void failed(struct vm *vm, const char *why)
{
	struct vm_ready *r = &vm->ready;
	end_connect(vm);
	r->fails++;
	snprintf(r->reason, sizeof(r->reason), "%s", why);
	if (r->state == 1 && r->fails >= r->failures)
		set_state(vm, 0, true);
	else if (r->state < 0)
		set_state(vm, 0, false);
}

static void on_writable(void *ctx, uint32_t events)
{
	(void)events;
	struct vm *vm = ctx;
	struct vm_ready *r = &vm->ready;
	int rc = ready_probe_result(r->fd);
	char what[128];
	snprintf(what, sizeof(what), "no answer on %s:%d: %s", r->ip, r->port, strerror(-rc));
	if (rc == 0)
		answered(vm);
	else
		failed(vm, what);
}

/* The guest's address on its first NIC that has a MAC the host sees. */
static int guest_ip(struct vm *vm)
{
	char leases[1100];
	snprintf(leases, sizeof(leases), "%s/nat/dnsmasq.leases", vm->agent->cfg.state_dir);
	for (int i = 0; i < vm->spec.nnics; i++)
		if (!vm->spec.nics[i].user_mode &&
		    ready_probe_ip_of_mac(leases, vm->spec.nics[i].mac, vm->ready.ip, sizeof(vm->ready.ip)) == 0)
			return 0;
	return -1;
}

static void probe(struct vm *vm, uint64_t now)
{
	struct vm_ready *r = &vm->ready;
	r->next_ms = now + (uint64_t)r->period_s * 1000;
	if (guest_ip(vm) < 0) {
		failed(vm, "the guest has no IPv4 address the host knows yet (no DHCP lease or neighbour entry for "
		           "its MAC)");
		return;
	}
	int done = 0;
	int fd = ready_probe_connect(r->ip, r->port, &done);
	char what[128];
	if (fd < 0) {
		snprintf(what, sizeof(what), "no answer on %s:%d: %s", r->ip, r->port, strerror(-fd));
		failed(vm, what);
		return;
	}
	r->fd = fd;
	if (done) {
		answered(vm);
		return;
	}
	r->deadline_ms = now + (uint64_t)r->timeout_s * 1000;
	r->watch = loop_watch_fd(vm->agent->loop, fd, EPOLLOUT, on_writable, vm);
	if (!r->watch) {
		snprintf(what, sizeof(what), "cannot wait for %s:%d: %s", r->ip, r->port, strerror(errno));
		failed(vm, what);
	}
}

static void tick_vm(struct vm *vm, uint64_t now)
{
	struct vm_ready *r = &vm->ready;
	if (vm->state != VM_RUNNING || vm->pid <= 0) {
		end_connect(vm);
		r->fails = 0;
		r->run = 0;
		snprintf(r->reason, sizeof(r->reason), "%s", "the VM does not run");
		if (r->port)
			set_state(vm, -1, false);
		return;
	}
	if (r->run != vm->started_at) { /* a new run: not ready until it answers */
		end_connect(vm);
		r->run = vm->started_at;
		r->fails = 0;
		r->next_ms = 0;
		r->ip[0] = '\0';
		manager_link_beat_soon(); /* vdcd's reply names its probe, if it has one */
		if (r->port) {
			snprintf(r->reason, sizeof(r->reason), "%s", "no answer yet since it started");
			r->state = -2; /* so that set_state says it */
			set_state(vm, 0, false);
		}
	}
	if (!r->port)
		return;
	if (r->fd >= 0) {
		if (now >= r->deadline_ms) {
			char what[128];
			snprintf(what, sizeof(what), "no answer on %s:%d within %d s", r->ip, r->port, r->timeout_s);
			failed(vm, what);
		}
		return;
	}
	if (now >= r->next_ms)
		probe(vm, now);
}

static void on_tick(void *ctx)
{
	struct agent *a = ctx;
	uint64_t now = loop_now_ms();
	for (struct vm *vm = a->vms; vm; vm = vm->next)
		tick_vm(vm, now);
	loop_timer_after(a->loop, TICK_MS, on_tick, a);
}

int vm_ready_start(struct agent *a)
{
	return loop_timer_after(a->loop, TICK_MS, on_tick, a) ? 0 : -1;
}

static int num(const json_t *p, const char *k, int dflt, int lo, int hi)
{
	const json_t *v = json_object_get(p, k);
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : dflt;
	return n < lo ? lo : n > hi ? hi : (int)n;
}

void vm_ready_set_probes(struct agent *a, const json_t *probes)
{
	for (struct vm *vm = a->vms; vm; vm = vm->next) {
		struct vm_ready *r = &vm->ready;
		const json_t *p = json_object_get(probes, vm->spec.name);
		int port = json_is_object(p) ? num(p, "tcp_port", 0, 0, 65535) : 0;
		int period = num(p, "period_s", 2, 1, 3600), timeout = num(p, "timeout_s", 1, 1, 3600),
		    failures = num(p, "failures", 3, 1, 100);
		if (port == r->port && period == r->period_s && timeout == r->timeout_s && failures == r->failures)
			continue;
		bool was = r->port != 0;
		end_connect(vm);
		r->port = port;
		r->period_s = period;
		r->timeout_s = timeout;
		r->failures = failures;
		r->fails = 0;
		r->next_ms = 0;
		r->run = 0; /* begins again: not ready until it answers */
		if (!port && was)
			r->state = -1;
		log_info("vm_ready_probe", "vm=%s tcp_port=%d period_s=%d timeout_s=%d failures=%d", vm->spec.name, port,
		         period, timeout, failures);
	}
}

json_t *vm_ready_json(const struct vm *vm)
{
	const struct vm_ready *r = &vm->ready;
	if (!r->port)
		return NULL;
	json_t *o = json_pack("{s:o, s:b, s:i, s:{s:i, s:i, s:i, s:i}}", "ready",
	                      r->state < 0 ? json_null() : json_boolean(r->state == 1), "lost", r->lost,
	                      "failures_in_row", r->fails, "probe", "tcp_port", r->port, "period_s", r->period_s,
	                      "timeout_s", r->timeout_s, "failures", r->failures);
	if (r->since[0])
		json_object_set_new(o, "since", json_string(r->since));
	if (r->reason[0])
		json_object_set_new(o, "reason", json_string(r->reason));
	if (r->ip[0])
		json_object_set_new(o, "ip", json_string(r->ip));
	return o;
}

void vm_ready_drop(struct vm *vm)
{
	end_connect(vm);
}

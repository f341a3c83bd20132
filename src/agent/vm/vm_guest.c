/* vm_guest.c - what each running VM's guest agent (qemu-ga) says: polled
 * on the agent's loop through qemu/qga.c (at start until it answers, then
 * every VM_GUEST_PERIOD_MS), kept on the VM as {"agent", "hostname", "os",
 * "interfaces", "updated_at"} for its listing and heartbeat; and the clean
 * shutdown or reboot asked through it. Everything here comes from the
 * guest, so it is cut to size before it is kept. */
#include "agent.h"
#include "isotime.h"
#include "log.h"
#include "loop.h"
#include "manager_link.h"
#include "qga.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VM_GUEST_TICK_MS 1000
#define VM_GUEST_PERIOD_MS 30000   /* between rounds once it has answered */
#define VM_GUEST_RETRY_MS 3000     /* until it answers in this run */
#define VM_GUEST_CALL_MS 5000      /* each command's deadline (the sync included) */
#define VM_GUEST_MAX_IFACES 32
#define VM_GUEST_MAX_IPS 32

struct vm_guest {
	struct qga *qga;
	time_t run;           /* the run (started_at) this is about */
	bool agent;           /* the last round answered */
	bool answered;        /* some round answered in this run */
	json_t *info;         /* {"hostname", "os", "interfaces"} as last reported */
	json_t *next;         /* the round's, being gathered */
	char updated_at[32];  /* when agent or info last changed */
	char error[200];      /* why the last round failed */
	bool round;           /* a round in flight */
	int step;
	uint64_t next_ms;
	/* A shutdown asked meanwhile: its end. */
	vm_guest_done_fn shut_done;
	void *shut_ctx;
};

static struct vm_guest *guest_of(struct vm *vm)
{
	if (!vm->guest && (vm->guest = calloc(1, sizeof(*vm->guest))))
		vm->guest->info = json_object();
	return vm->guest;
}

static json_t *cut(const json_t *v, size_t max)
{
	const char *s = json_string_value(v);
	if (!s)
		return NULL;
	size_t n = strlen(s) > max ? max : strlen(s);
	while (n > 0 && n < strlen(s) && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--; /* on a character boundary */
	return json_stringn(s, n);
}

static void set_cut(json_t *o, const char *key, const json_t *v, size_t max)
{
	json_t *s = cut(v, max);
	if (s)
		json_object_set_new(o, key, s);
}

static json_t *os_of(const json_t *ret)
{
	static const char *const keys[][2] = {{"id", "id"}, {"name", "name"}, {"pretty-name", "pretty_name"},
	                                      {"version", "version"}, {"version-id", "version_id"},
	                                      {"kernel-release", "kernel_release"}, {"kernel-version", "kernel_version"},
	                                      {"machine", "machine"}};
	json_t *os = json_object();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		set_cut(os, keys[i][1], json_object_get(ret, keys[i][0]), 200);
	return os;
}

static json_t *interfaces_of(const json_t *ret)
{
	json_t *out = json_array();
	size_t i, j;
	json_t *ifc, *ip;
	json_array_foreach(ret, i, ifc) {
		if (json_array_size(out) >= VM_GUEST_MAX_IFACES)
			break;
		const char *name = json_string_value(json_object_get(ifc, "name"));
		if (!name || !strcmp(name, "lo"))
			continue;
		json_t *o = json_object(), *ips = json_array();
		set_cut(o, "name", json_object_get(ifc, "name"), 64);
		set_cut(o, "mac", json_object_get(ifc, "hardware-address"), 32);
		json_array_foreach(json_object_get(ifc, "ip-addresses"), j, ip) {
			const char *addr = json_string_value(json_object_get(ip, "ip-address"));
			json_t *prefix = json_object_get(ip, "prefix");
			if (json_array_size(ips) >= VM_GUEST_MAX_IPS || !addr || strlen(addr) > 64)
				continue;
			char s[80];
			if (json_is_integer(prefix) && json_integer_value(prefix) >= 0 && json_integer_value(prefix) <= 128)
				snprintf(s, sizeof(s), "%s/%d", addr, (int)json_integer_value(prefix));
			else
				snprintf(s, sizeof(s), "%s", addr);
			json_array_append_new(ips, json_string(s));
		}
		json_object_set_new(o, "ips", ips);
		json_array_append_new(out, o);
	}
	return out;
}

/* Keeps what a round found; a change is stamped and told to vdcd. */
static void settle(struct vm *vm, bool agent, json_t *info)
{
	struct vm_guest *g = vm->guest;
	bool changed = agent != g->agent || (info && !json_equal(info, g->info));
	if (agent != g->agent)
		log_event(agent ? LOG_INFO : LOG_WARN, "vm_guest_agent", "vm=%s agent=%s%s%s", vm->spec.name,
		          agent ? "true" : "false", agent ? "" : " reason=", agent ? "" : log_quote(g->error));
	g->agent = agent;
	if (info) {
		json_decref(g->info);
		g->info = json_incref(info);
	}
	if (changed) {
		iso_time_now_ms(g->updated_at);
		manager_link_beat_soon();
	}
}

static void round_step(struct vm *vm);

static void on_reply(void *ctx, enum qga_status st, json_t *ret, const char *err, const char *cmd)
{
	struct vm *vm = ctx;
	struct vm_guest *g = vm->guest;
	if (!g || !g->round) { /* the round was dropped (a shutdown, the VM gone) */
		vm_release(vm);
		return;
	}
	if (st == QGA_OK) {
		if (!strcmp(cmd, "guest-get-host-name"))
			set_cut(g->next, "hostname", json_object_get(ret, "host-name"), 255);
		else if (!strcmp(cmd, "guest-get-osinfo") && json_is_object(ret))
			json_object_set_new(g->next, "os", os_of(ret));
		else if (!strcmp(cmd, "guest-network-get-interfaces") && json_is_array(ret))
			json_object_set_new(g->next, "interfaces", interfaces_of(ret));
	}
	bool lost = st == QGA_TIMEOUT || st == QGA_CLOSED || (st != QGA_OK && g->step == 0);
	if (lost) {
		snprintf(g->error, sizeof(g->error), "%s", err ? err : "no answer");
		g->round = false;
		json_decref(g->next);
		g->next = NULL;
		qga_disconnect(g->qga);
		g->next_ms = loop_now_ms() + (g->answered ? VM_GUEST_PERIOD_MS : VM_GUEST_RETRY_MS);
		settle(vm, false, NULL);
	} else if (st != QGA_OK) { /* one command refused (blocked, unsupported): the rest still count */
		log_info("vm_guest_command_failed", "vm=%s command=%s error=%s", vm->spec.name, cmd, log_quote(err));
	}
	if (!lost && ++g->step < 4) {
		round_step(vm);
	} else if (!lost) {
		g->round = false;
		g->answered = true;
		g->error[0] = '\0';
		qga_disconnect(g->qga); /* idle, nothing can flood it */
		g->next_ms = loop_now_ms() + VM_GUEST_PERIOD_MS;
		json_t *info = g->next;
		g->next = NULL;
		settle(vm, true, info);
		json_decref(info);
	}
	vm_release(vm);
}

static void round_step(struct vm *vm)
{
	static const char *const cmds[] = {"guest-ping", "guest-get-host-name", "guest-get-osinfo",
	                                   "guest-network-get-interfaces"};
	vm_hold(vm);
	qga_call(vm->guest->qga, cmds[vm->guest->step], NULL, VM_GUEST_CALL_MS, false, on_reply, vm);
}

/* Drops the connection and any round (its reply is then ignored). */
static void drop_channel(struct vm_guest *g)
{
	g->round = false;
	json_decref(g->next);
	g->next = NULL;
	qga_free(g->qga);
	g->qga = NULL;
}

static void tick_vm(struct vm *vm, uint64_t now)
{
	struct vm_guest *g = guest_of(vm);
	if (!g)
		return;
	if (vm->state != VM_RUNNING || vm->pid <= 0) {
		if (vm->state == VM_STOPPING || vm->state == VM_PAUSED)
			return; /* keep what it said until QEMU is gone (or runs on) */
		drop_channel(g);
		if (g->run || g->agent || json_object_size(g->info)) {
			g->run = 0;
			g->answered = false;
			snprintf(g->error, sizeof(g->error), "the VM does not run");
			json_decref(g->info);
			g->info = json_object();
			settle(vm, false, NULL);
			iso_time_now_ms(g->updated_at);
		}
		return;
	}
	if (g->run != vm->started_at) { /* a new run: nothing known until it answers */
		drop_channel(g);
		g->run = vm->started_at;
		g->answered = false;
		g->next_ms = 0;
		json_decref(g->info);
		g->info = json_object();
		snprintf(g->error, sizeof(g->error), "no answer yet since it started");
		settle(vm, false, NULL);
	}
	if (g->round || now < g->next_ms || g->shut_done)
		return;
	if (!g->qga) {
		char path[1100];
		vm_run_path(vm, "qga.sock", path, sizeof(path));
		if (!(g->qga = qga_new(vm->agent->loop, path)))
			return;
	}
	g->round = true;
	g->step = 0;
	g->next = json_object();
	round_step(vm);
}

static void on_tick(void *ctx)
{
	struct agent *a = ctx;
	uint64_t now = loop_now_ms();
	for (struct vm *vm = a->vms; vm; vm = vm->next)
		tick_vm(vm, now);
	loop_timer_after(a->loop, VM_GUEST_TICK_MS, on_tick, a);
}

int vm_guest_start(struct agent *a)
{
	return loop_timer_after(a->loop, VM_GUEST_TICK_MS, on_tick, a) ? 0 : -1;
}

bool vm_guest_answers(const struct vm *vm)
{
	return vm->guest && vm->guest->agent;
}

json_t *vm_guest_json(const struct vm *vm)
{
	const struct vm_guest *g = vm->guest;
	json_t *o = json_pack("{s:b}", "agent", g && g->agent);
	if (!g)
		return o;
	json_object_update(o, g->info);
	if (g->updated_at[0])
		json_object_set_new(o, "updated_at", json_string(g->updated_at));
	if (!g->agent && g->error[0])
		json_object_set_new(o, "error", json_string(g->error));
	return o;
}

static void on_shutdown(void *ctx, enum qga_status st, json_t *ret, const char *err, const char *cmd)
{
	(void)ret, (void)cmd;
	struct vm *vm = ctx;
	struct vm_guest *g = vm->guest;
	vm_guest_done_fn done = g ? g->shut_done : NULL;
	void *dctx = g ? g->shut_ctx : NULL;
	if (g) {
		g->shut_done = NULL;
		g->shut_ctx = NULL;
		if (g->qga)
			qga_disconnect(g->qga);
	}
	if (done)
		done(vm, dctx, st == QGA_OK ? NULL : err ? err : "the guest agent did not take it");
	vm_release(vm);
}

int vm_guest_shutdown(struct vm *vm, bool reboot, vm_guest_done_fn done, void *ctx)
{
	struct vm_guest *g = vm->guest;
	if (!g || !g->agent || g->shut_done)
		return -1;
	drop_channel(g); /* a round in flight gives way */
	char path[1100];
	vm_run_path(vm, "qga.sock", path, sizeof(path));
	if (!(g->qga = qga_new(vm->agent->loop, path)))
		return -1;
	g->shut_done = done;
	g->shut_ctx = ctx;
	vm_hold(vm);
	/* guest-shutdown never answers when it works: sent after a sync that
	 * answered is as far as the guest agent tells. */
	qga_call(g->qga, "guest-shutdown", json_pack("{s:s}", "mode", reboot ? "reboot" : "powerdown"),
	         VM_GUEST_CALL_MS, true, on_shutdown, vm);
	log_info("vm_guest_shutdown", "vm=%s mode=%s", vm->spec.name, reboot ? "reboot" : "powerdown");
	return 0;
}

void vm_guest_drop(struct vm *vm)
{
	if (!vm->guest)
		return;
	drop_channel(vm->guest);
	json_decref(vm->guest->info);
	free(vm->guest);
	vm->guest = NULL;
}

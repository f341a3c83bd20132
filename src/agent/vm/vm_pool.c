/* vm_pool.c - a VM's place among the resource pools: its cgroup under one
 * level per pool, a running QEMU moved from one pool to another, a pool's
 * new settings reaching the VMs in it here, and after a restart QEMUs put
 * back where their specs say. vdcd decides admission; this only applies. */
#include "vm_internal.h"

#include "crashpoint.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

void vm_cgroup_name(const struct vm *vm, char *out, size_t n)
{
	/* Fits CG_REL_MAX always: six levels of 63-byte names, and the VM's. */
	cgroup_rel_name(&vm->spec.pool, vm->spec.name, out, n);
}

int vm_cgroup_create(struct vm *vm, struct errinfo *e)
{
	struct agent *a = vm->agent;
	char rel[CG_REL_MAX];
	vm_cgroup_name(vm, rel, sizeof(rel));
	struct cg_limits lim = {vm->spec.cpu_weight, vm->spec.cpu_limit_pct, vm->spec.memory_limit_mib};
	if (cgroup_pool_apply(&a->cg, &vm->spec.pool, e) < 0)
		return -1;
	return cgroup_create(&a->cg, rel, &lim, e);
}

static void remove_logged(struct vm *vm, const char *rel)
{
	int rc = cgroup_remove(&vm->agent->cg, rel);
	if (rc < 0)
		log_warn("cgroup_remove_failed", "vm=%s cgroup=%s error=%s", vm->spec.name, rel,
		         log_quote(strerror(-rc)));
}

void vm_cgroup_remove(struct vm *vm)
{
	char rel[CG_REL_MAX];
	vm_cgroup_name(vm, rel, sizeof(rel));
	remove_logged(vm, rel);
}

/* Why the VM's pool cannot change now (409), or 0. */
static int pool_busy(struct vm *vm, struct errinfo *e)
{
	bool migrating = vm_migrating(vm);
	if (migrating || vm->state == VM_INCOMING || vm->state == VM_MIGRATED)
		return errinfo_set(e, 409, "busy", NULL, "VM '%s' is migrating; change its pool once that is done",
		                   vm->spec.name);
	if (vm->move || vm->move_recovering[0])
		return errinfo_set(e, 409, "busy", NULL, "VM '%s' is moving its disk to another datastore; change "
		                   "its pool once that is done", vm->spec.name);
	if (vm->state == VM_STARTING || vm->state == VM_STOPPING)
		return errinfo_set(e, 409, "invalid_state", NULL, "VM '%s' is %s; try again when it settles",
		                   vm->spec.name, vm_state_name(vm->state));
	return 0;
}

int vm_set_pool(struct vm *vm, const struct pool_chain *pool, struct errinfo *e)
{
	struct agent *a = vm->agent;
	struct jv_err jerr = {0};
	if (vm_spec_check_pool(&vm->spec, pool, &jerr) < 0)
		return errinfo_set(e, 400, "invalid_body", jerr.field, "%s: %s", jerr.field, jerr.message);
	if (pool_busy(vm, e) < 0)
		return -1;
	char from[CG_REL_MAX], to[CG_REL_MAX];
	struct pool_chain was = vm->spec.pool;
	vm_cgroup_name(vm, from, sizeof(from));
	vm->spec.pool = *pool;
	vm_cgroup_name(vm, to, sizeof(to));
	bool runs = vm->pid > 0, moves = runs && strcmp(from, to) != 0;
	/* The new cgroup first, QEMU into it, then the spec: the stored spec
	 * is the commit point (a crash before it leaves QEMU where it was,
	 * or where vm_cgroup_settle puts it back), the old cgroup goes last. */
	if (runs && vm_cgroup_create(vm, e) < 0)
		goto fail;
	if (moves && cgroup_move_pid(&a->cg, to, vm->pid, e) < 0)
		goto fail;
	crash_point("pool:after_move");
	if (vm_store_write_spec(vm, "spec.json", e) < 0)
		goto fail;
	if (moves)
		remove_logged(vm, from);
	log_info("vm_pool_changed", "vm=%s cgroup=%s moved=%d", vm->spec.name, to, moves);
	return 0;
fail:
	log_warn("vm_pool_change_failed", "vm=%s to=%s error=%s", vm->spec.name, to, log_quote(e->message));
	{
		struct errinfo ignore = {0};
		vm->spec.pool = was;
		if (moves) {
			cgroup_move_pid(&a->cg, from, vm->pid, &ignore);
			remove_logged(vm, to);
		} else if (runs) {
			cgroup_pool_apply(&a->cg, &was, &ignore); /* the levels' settings as they were */
		}
	}
	return -1;
}

int vm_pool_settings(struct agent *a, const struct pool_chain *pool, struct errinfo *e)
{
	if (cgroup_pool_apply(&a->cg, pool, e) < 0)
		return -1;
	/* The specs of the VMs in (or under) those pools take the settings
	 * too, or their next start would write the old ones back. */
	int rc = 0;
	for (struct vm *vm = a->vms; vm; vm = vm->next) {
		struct pool_chain was = vm->spec.pool;
		if (!pool_chain_adopt(&vm->spec.pool, pool))
			continue;
		if (vm_store_write_spec(vm, "spec.json", e) < 0) {
			vm->spec.pool = was;
			rc = -1;
			continue;
		}
		log_info("vm_pool_settings_taken", "vm=%s", vm->spec.name);
	}
	/* v1 brought the CPU limits inside a lowered level down to it; the
	 * running VMs of the pools get their own back, as far as the pools
	 * now allow. */
	for (struct vm *vm = a->vms; vm && a->cg.version == 1; vm = vm->next) {
		struct errinfo ignore = {0};
		if (vm->pid > 0 && vm->spec.pool.n && !strcmp(vm->spec.pool.level[0].name, pool->level[0].name) &&
		    vm_cgroup_create(vm, &ignore) < 0)
			log_warn("vm_cgroup_reapply_failed", "vm=%s error=%s", vm->spec.name, log_quote(ignore.message));
	}
	return rc;
}

void vm_cgroup_settle(struct vm *vm)
{
	struct agent *a = vm->agent;
	char want[CG_REL_MAX], have[CG_REL_MAX];
	vm_cgroup_name(vm, want, sizeof(want));
	if (vm->pid <= 0 || cgroup_rel_of_pid(&a->cg, vm->pid, have, sizeof(have)) < 0 || !strcmp(have, want))
		return;
	struct errinfo e = {0};
	if (vm_cgroup_create(vm, &e) < 0 || cgroup_move_pid(&a->cg, want, vm->pid, &e) < 0) {
		log_warn("vm_cgroup_settle_failed", "vm=%s from=%s to=%s error=%s", vm->spec.name, have, want,
		         log_quote(e.message));
		return;
	}
	if (have[0])
		remove_logged(vm, have);
	log_info("vm_cgroup_settled", "vm=%s from=%s to=%s", vm->spec.name, have[0] ? have : "(outside)", want);
}

struct strays {
	struct agent *a;
	char **rel;
	size_t n;
};

static void note_stray(const char *rel, void *ctx)
{
	struct strays *s = ctx;
	char want[CG_REL_MAX];
	for (struct vm *vm = s->a->vms; vm; vm = vm->next) {
		vm_cgroup_name(vm, want, sizeof(want));
		if (vm->pid > 0 && !strcmp(want, rel))
			return;
	}
	char **grown = realloc(s->rel, (s->n + 1) * sizeof(*grown));
	if (!grown || !(grown[s->n] = strdup(rel))) {
		s->rel = grown ? grown : s->rel;
		return;
	}
	s->rel = grown;
	s->n++;
}

void vm_cgroup_sweep(struct agent *a)
{
	struct strays s = {a, NULL, 0};
	/* Gathered first: removing one may remove the level being listed. */
	cgroup_each_vm(&a->cg, note_stray, &s);
	for (size_t i = 0; i < s.n; i++) {
		int rc = cgroup_remove(&a->cg, s.rel[i]);
		if (rc < 0)
			log_warn("cgroup_stray_kept", "cgroup=%s error=%s", s.rel[i], log_quote(strerror(-rc)));
		else
			log_info("cgroup_stray_removed", "cgroup=%s", s.rel[i]);
		free(s.rel[i]);
	}
	free(s.rel);
}

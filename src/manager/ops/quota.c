/* quota.c - project quotas: the pure check and the store steps around it. */
#include "quota.h"

#include "inv.h"
#include "inv_slim.h"
#include "log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void quota_read(const json_t *obj, int64_t out[QUOTA_N], int64_t missing)
{
	for (int i = 0; i < QUOTA_N; i++) {
		json_t *v = json_object_get(obj, quota_names[i]);
		out[i] = json_is_integer(v) ? json_integer_value(v) : missing;
	}
}

json_t *quota_json(const int64_t v[QUOTA_N], int null_negative)
{
	json_t *o = json_object();
	for (int i = 0; o && i < QUOTA_N; i++)
		if (json_object_set_new(o, quota_names[i],
		                        null_negative && v[i] < 0 ? json_null() : json_integer(v[i]))) {
			/* A missing amount reads as 0 usage or no limit: never half. */
			json_decref(o);
			return NULL;
		}
	return o;
}

void quota_of_vm(const json_t *vm, int64_t out[QUOTA_N])
{
	const json_t *cfg = json_object_get(vm, "config");
	out[QUOTA_VMS] = 1;
	out[QUOTA_VCPUS] = json_integer_value(json_object_get(cfg, "vcpus"));
	out[QUOTA_MEMORY_MIB] = json_integer_value(json_object_get(cfg, "memory_mib"));
	out[QUOTA_DISK_MIB] = json_integer_value(json_object_get(cfg, "disk_size_mib")) + quota_extra_disk_mib(vm);
}

int64_t quota_extra_disk_mib(const json_t *vm)
{
	int64_t sum = 0;
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(json_object_get(vm, "config"), "extra_disks"), i, d)
		sum += json_integer_value(json_object_get(d, "size_mib"));
	return sum;
}

static int charge(struct store *st, const char *project_id, const int64_t delta[QUOTA_N],
                  struct quota_refusal *why, bool apply, struct errinfo *e)
{
	if (!project_id)
		return 0;
	json_t *p = store_get(st, STORE_PROJECT, project_id, e);
	if (!p)
		return -1;
	int64_t limit[QUOTA_N], usage[QUOTA_N], would_be = 0;
	quota_read(json_object_get(p, "quota"), limit, -1);
	quota_read(json_object_get(p, "usage"), usage, 0);
	int which = quota_exceeds(limit, usage, delta, &would_be);
	if (which >= 0) {
		const char *name = json_string_value(json_object_get(p, "name")) ?: project_id;
		errinfo_set(e, 409, "quota_exceeded", quota_names[which],
		            "project '%s': the %s quota is %lld and %lld in use; this request would "
		            "bring it to %lld (ask an administrator to raise it, or free some)",
		            name, quota_names[which], (long long)limit[which], (long long)usage[which],
		            (long long)would_be);
		if (why) {
			*why = (struct quota_refusal){which, limit[which], would_be, ""};
			snprintf(why->project, sizeof(why->project), "%s", name);
		}
		json_decref(p);
		return -1;
	}
	if (!apply) {
		json_decref(p);
		return 0;
	}
	for (int i = 0; i < QUOTA_N; i++) {
		usage[i] += delta[i];
		if (usage[i] < 0)
			usage[i] = 0;
	}
	/* Unchanged usage written back would let the VM in uncounted. */
	int rc = json_object_set_new(p, "usage", quota_json(usage, 0))
	             ? errinfo_set(e, 500, "internal", NULL, "out of memory")
	             : store_update(st, STORE_PROJECT, p, json_integer_value(json_object_get(p, "version")), NULL, e);
	json_decref(p);
	return rc;
}

/* Another writer may update the project between the read and the
 * optimistic update of charge(): on PostgreSQL a worker giving back a failed
 * create's quota while the API charges a new one (SQLite's one writer cannot
 * interleave them). The usage is read again and the charge applied again:
 * a user's create must not fail because the project moved under it. Within
 * the caller's transaction this is sound: a version conflict writes nothing,
 * and each read of READ COMMITTED sees the other writer's commit. */
#define CHARGE_ATTEMPTS 16

int quota_charge(struct store *st, const char *project_id, const int64_t delta[QUOTA_N],
                 struct quota_refusal *why, struct errinfo *e)
{
	struct errinfo mine = {0};
	for (int attempt = 0; attempt < CHARGE_ATTEMPTS; attempt++) {
		mine = (struct errinfo){0};
		if (charge(st, project_id, delta, why, true, &mine) == 0)
			return 0;
		if (mine.status != 409 || strcmp(mine.code, "version_conflict"))
			break;
	}
	if (!e->status)
		*e = mine;
	return -1;
}

int quota_check(struct store *st, const char *project_id, const int64_t delta[QUOTA_N],
                struct quota_refusal *why, struct errinfo *e)
{
	return charge(st, project_id, delta, why, false, e);
}

int quota_remove_vm(struct store *st, const char *vm_id, struct errinfo *e)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		*e = (struct errinfo){0};
		if (store_begin(st, e) < 0)
			return -1;
		json_t *vm = store_get(st, STORE_VM, vm_id, e);
		if (!vm) {
			store_rollback(st);
			if (e->status == 404) {
				*e = (struct errinfo){0};
				return 0;
			}
			return -1;
		}
		int64_t amounts[QUOTA_N];
		quota_of_vm(vm, amounts);
		for (int i = 0; i < QUOTA_N; i++)
			amounts[i] = -amounts[i];
		const char *pid = json_string_value(json_object_get(vm, "project_id"));
		struct errinfo qe = {0};
		int rc = store_delete(st, STORE_VM, vm_id, e);
		/* A project deleted under its VM (it cannot be, but a hand-edited
		 * store may): the VM still goes. */
		if (rc == 0 && quota_charge(st, pid, amounts, NULL, &qe) < 0 && qe.status != 404) {
			*e = qe;
			rc = -1;
		}
		json_decref(vm);
		if (rc == 0 && store_commit(st, e) == 0)
			return 0;
		store_rollback(st);
		if (e->status != 409)
			return -1;
	}
	return -1;
}

struct usage {
	int64_t sum[QUOTA_N];
	json_t *spec; /* what quota_of_vm reads of a VM */
};

/* A page of VMs as text: only their sizes are parsed (a start with many
 * VMs reads them all). */
static int add_usage(void *ctx, const char *text)
{
	struct usage *u = ctx;
	json_t *vms = inv_slim_loads(text, strlen(text), u->spec);
	if (!vms && !(vms = json_loads(text, 0, NULL)))
		return -1;
	size_t k;
	json_t *vm;
	json_array_foreach(vms, k, vm) {
		int64_t a[QUOTA_N];
		quota_of_vm(vm, a);
		for (int q = 0; q < QUOTA_N; q++)
			u->sum[q] += a[q];
	}
	json_decref(vms);
	return 0;
}

/* Recounts the usage of each project of a page from its VMs. */
static int recount_page(void *ctx, json_t *projects)
{
	struct store *st = ctx;
	size_t i;
	json_t *p;
	json_t *spec = json_pack("{s:{s:b, s:b, s:b, s:b}}", "config", "vcpus", 1, "memory_mib", 1,
	                         "disk_size_mib", 1, "extra_disks", 1);
	json_array_foreach(projects, i, p) {
		struct usage u = {.spec = spec};
		int64_t *usage = u.sum, old[QUOTA_N];
		struct store_filter f = {"project_id", json_string_value(json_object_get(p, "id"))};
		struct errinfo e = {0};
		if (store_list_each_text(st, STORE_VM, &f, 1, add_usage, &u, &e) < 0)
			continue; /* a partial count is not written */
		quota_read(json_object_get(p, "usage"), old, 0);
		if (!memcmp(old, usage, sizeof(old)))
			continue;
		json_object_set_new(p, "usage", quota_json(usage, 0));
		if (store_update(st, STORE_PROJECT, p, json_integer_value(json_object_get(p, "version")),
		                 NULL, &e) == 0)
			log_info("quota_usage_recounted", "project=%s vms=%lld",
			         json_string_value(json_object_get(p, "name")), (long long)usage[0]);
	}
	json_decref(spec);
	return 0;
}

void quota_recount(struct store *st)
{
	struct errinfo e = {0};
	store_list_each(st, STORE_PROJECT, NULL, 0, recount_page, st, &e);
}

/* quota.h - project quotas: how many VMs, vCPUs, MiB of memory and of disk
 * a project may hold. Usage is kept in the project document and changed in
 * the same transaction as the VM it counts, so a check and its charge are
 * one step: two creates can never both take the last of a quota. */
#ifndef VDC_MGR_QUOTA_H
#define VDC_MGR_QUOTA_H

#include <jansson.h>
#include <stdint.h>

#include "errinfo.h"
#include "quota_math.h"
#include "store.h"


/* Reads {"vms":..,...} (a missing or null amount: limit -1 / usage 0). */
void quota_read(const json_t *obj, int64_t out[QUOTA_N], int64_t missing);
/* {"vms":..,...} with negative limits as null. */
json_t *quota_json(const int64_t v[QUOTA_N], int null_negative);

/* What a VM document counts for: 1 VM, its vCPUs, memory and disk. */
void quota_of_vm(const json_t *vm, int64_t out[QUOTA_N]);
/* The MiB of the disks added to the VM after its creation (config.extra_disks,
 * unused ones included: their files stay): part of quota_of_vm's disk. */
int64_t quota_extra_disk_mib(const json_t *vm);

struct quota_refusal {
	int which;        /* index into quota_names */
	int64_t limit, would_be;
	char project[64];
};

/* In the caller's transaction: adds delta to the project's usage after
 * checking its quota. 409 quota_exceeded (the message names the quota, the
 * limit and what the request would bring usage to; *why gets the numbers
 * when not NULL). A project_id NULL counts nothing. */
int quota_charge(struct store *st, const char *project_id, const int64_t delta[QUOTA_N],
                 struct quota_refusal *why, struct errinfo *e);

/* The same check without charging: a refusal before the work of placing
 * (the charge in the transaction stays the one that counts). */
int quota_check(struct store *st, const char *project_id, const int64_t delta[QUOTA_N],
                struct quota_refusal *why, struct errinfo *e);

/* Deletes a VM's document and gives its amounts back to its project, in
 * one transaction (retried when another writer got in between). A VM
 * already gone is not an error. */
int quota_remove_vm(struct store *st, const char *vm_id, struct errinfo *e);

/* Recounts every project's usage from its VMs (at start-up: repairs what a
 * store edited by hand or an older vdcd left). */
void quota_recount(struct store *st);

#endif

/* vm_request.h - a VM document as placement's request over the index
 * (the evacuation plan's and HA's restart plan's). */
#ifndef VDC_VM_REQUEST_H
#define VDC_VM_REQUEST_H

#include <jansson.h>

#include "inv.h"

/* The names of a VM's bridges, groups: borrowed from its document. */
enum { VM_NAMES_MAX = 16 };
struct vm_names {
	const char *nets[VM_NAMES_MAX], *aff[VM_NAMES_MAX], *anti[VM_NAMES_MAX];
};

/* vm's request (strings borrowed from vm and nm, which must outlive it). */
struct inv_request vm_placement_request(const json_t *vm, struct vm_names *nm);

#endif

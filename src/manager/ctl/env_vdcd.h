/* env_vdcd.h - the controllers' environment in vdcd: the store for hosts
 * and VMs, the wall clock, vdcd's log and audit events, the event loop's
 * timers. Loop thread only. */
#ifndef VDC_CTL_ENV_VDCD_H
#define VDC_CTL_ENV_VDCD_H

#include "env.h"
#include "errinfo.h"
#include "manager.h"

#include <jansson.h>

/* vdcd's environment (made on first use). After a controller returned -1,
 * vdcd_env_error says why. */
const struct ctl_env *vdcd_env(struct mgr *m);
const struct errinfo *vdcd_env_error(const struct ctl_env *env);

/* A host document seen as a ctl_host; doc must outlive it. */
struct vdcd_host {
	struct ctl_host h;
	struct foreign_vm *foreign;
};
int vdcd_host_view(json_t *doc, struct vdcd_host *out);
void vdcd_host_view_free(struct vdcd_host *v);

/* Starts the liveness controller on vdcd's loop. */
void vdcd_controllers_start(struct mgr *m);

#endif

/* seed.h - the cloud-init NoCloud seed: an ISO labelled "cidata" holding the
 * VM's user-data, meta-data and network-config, as any cloud image expects. */
#ifndef VDC_SEED_H
#define VDC_SEED_H

#include "errinfo.h"
#include "vm_spec.h"

/* Pure: the meta-data document (YAML) for the spec; caller frees. */
char *seed_meta_data(const struct vm_spec *spec);

/* Writes workdir/cidata/{user-data,meta-data[,network-config]} and builds
 * the ISO at iso_path. Returns 0 or -1 with e (genisoimage's own message). */
int seed_build(const char *workdir, const char *iso_path, const struct vm_spec *spec,
               struct errinfo *e);

#endif

/* last_exit.h - why a VM's QEMU last ended, as vdcd keeps it on the VM
 * document from what its host's agent reports (heartbeats, task replies). */
#ifndef VDC_LAST_EXIT_H
#define VDC_LAST_EXIT_H

#include <jansson.h>

/* A new object with the fields of the agent's last_exit users read (at,
 * cause, reason, clean, signal, signal_name, exit_status, shutdown_event,
 * forced, forced_reason), strings cut at 512 bytes: the agent's word,
 * bounded. Never NULL unless out of memory; le may be NULL (empty object). */
json_t *last_exit_doc(const json_t *le);

#endif

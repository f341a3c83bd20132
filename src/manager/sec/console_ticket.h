/* console_ticket.h - short-lived, single-use tickets that open a VM's
 * console stream (as Proxmox's vncproxy tickets). A browser cannot put an
 * Authorization header on a WebSocket, and a token must never ride in a
 * URL, so the UI first asks for a ticket with its token (POST
 * /api/v1/vms/{id}/console/ticket) and sends it as a WebSocket subprotocol
 * ("vdc-ticket.<ticket>"). A ticket is bound to the caller, the VM, its
 * project and the console kind; vdcd keeps only its SHA-256, in memory
 * (a restart forgets them all), and forgets it at its first use or after
 * CONSOLE_TICKET_TTL_S. Loop thread only. */
#ifndef VDC_CONSOLE_TICKET_H
#define VDC_CONSOLE_TICKET_H

#include <stdint.h>

#include "access.h"

struct mgr;

#define CONSOLE_TICKET_TTL_S 30
#define CONSOLE_TICKET_LEN 48 /* "vdck_" + 40 hex + NUL, rounded up */
#define CONSOLE_TICKET_PROTOCOL "vdc-ticket."

enum console_kind { CONSOLE_SERIAL, CONSOLE_VNC };
/* "serial", "vnc"; console_kind_parse: 0, or -1 for anything else. */
const char *console_kind_name(enum console_kind k);
int console_kind_parse(const char *s, enum console_kind *out);

/* Issues a ticket for caller on vm_id (of project_id) and kind: *ticket
 * gets the secret (shown once), *expires_at its end (epoch seconds). 0, or
 * -1 when too many tickets are outstanding (a 503 for the caller). */
int console_ticket_issue(struct mgr *m, const struct auth_ctx *caller, const char *vm_id,
                         const char *project_id, enum console_kind kind, char ticket[CONSOLE_TICKET_LEN],
                         int64_t *expires_at);

/* What a ticket holds, without using it up: NULL when unknown or expired.
 * The caller is the ticket's (a reference owned by the ticket). */
const struct auth_ctx *console_ticket_peek(struct mgr *m, const char *ticket, enum console_kind *kind,
                                           char vm_id[37]);
/* Uses the ticket up. 0, or -1 when it is no longer there. */
int console_ticket_take(struct mgr *m, const char *ticket);

void console_tickets_free(struct mgr *m);

#endif

/* console_ticket.c - a small table of outstanding tickets, looked up by the
 * SHA-256 of what was sent (as API tokens are), swept of expired ones at
 * each issue. The table is bounded: a caller cannot grow vdcd's memory by
 * asking for tickets it never uses. */
#include "console_ticket.h"

#include "auth.h"
#include "loop.h"
#include "manager.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TICKETS 256

struct ticket {
	char hash[65]; /* "" for a free slot */
	struct auth_ctx *caller;
	char vm_id[37];
	char project_id[37];
	enum console_kind kind;
	uint64_t expires_ms; /* monotonic */
};

struct console_tickets {
	struct ticket t[MAX_TICKETS];
};

const char *console_kind_name(enum console_kind k) { return k == CONSOLE_VNC ? "vnc" : "serial"; }

int console_kind_parse(const char *s, enum console_kind *out)
{
	if (s && !strcmp(s, "serial"))
		*out = CONSOLE_SERIAL;
	else if (s && !strcmp(s, "vnc"))
		*out = CONSOLE_VNC;
	else
		return -1;
	return 0;
}

static void drop(struct ticket *t)
{
	auth_ctx_unref(t->caller);
	*t = (struct ticket){0};
}

static struct ticket *find(struct mgr *m, const char *secret)
{
	if (!m->console_tickets || !secret || !*secret)
		return NULL;
	char hash[65];
	mgr_sha256_hex(secret, hash);
	uint64_t now = loop_now_ms();
	for (int i = 0; i < MAX_TICKETS; i++) {
		struct ticket *t = &m->console_tickets->t[i];
		if (!t->hash[0] || strcmp(t->hash, hash) != 0)
			continue;
		if (t->expires_ms <= now) {
			drop(t);
			return NULL;
		}
		return t;
	}
	return NULL;
}

int console_ticket_issue(struct mgr *m, const struct auth_ctx *caller, const char *vm_id,
                         const char *project_id, enum console_kind kind, char ticket[CONSOLE_TICKET_LEN],
                         int64_t *expires_at)
{
	if (!m->console_tickets && !(m->console_tickets = calloc(1, sizeof(*m->console_tickets))))
		return -1;
	uint64_t now = loop_now_ms();
	struct ticket *slot = NULL;
	for (int i = 0; i < MAX_TICKETS; i++) {
		struct ticket *t = &m->console_tickets->t[i];
		if (t->hash[0] && t->expires_ms <= now)
			drop(t);
		if (!t->hash[0] && !slot)
			slot = t;
	}
	if (!slot)
		return -1;
	mgr_secret("vdck_", ticket, CONSOLE_TICKET_LEN);
	mgr_sha256_hex(ticket, slot->hash);
	slot->caller = (struct auth_ctx *)caller;
	slot->caller->refs++;
	snprintf(slot->vm_id, sizeof(slot->vm_id), "%s", vm_id);
	snprintf(slot->project_id, sizeof(slot->project_id), "%s", project_id ? project_id : "");
	slot->kind = kind;
	slot->expires_ms = now + CONSOLE_TICKET_TTL_S * 1000u;
	*expires_at = (int64_t)time(NULL) + CONSOLE_TICKET_TTL_S;
	return 0;
}

const struct auth_ctx *console_ticket_peek(struct mgr *m, const char *secret, enum console_kind *kind,
                                           char vm_id[37])
{
	struct ticket *t = find(m, secret);
	if (!t)
		return NULL;
	*kind = t->kind;
	memcpy(vm_id, t->vm_id, 37);
	return t->caller;
}

int console_ticket_take(struct mgr *m, const char *secret)
{
	struct ticket *t = find(m, secret);
	if (!t)
		return -1;
	drop(t);
	return 0;
}

void console_tickets_free(struct mgr *m)
{
	for (int i = 0; m->console_tickets && i < MAX_TICKETS; i++)
		if (m->console_tickets->t[i].hash[0])
			drop(&m->console_tickets->t[i]);
	free(m->console_tickets);
	m->console_tickets = NULL;
}

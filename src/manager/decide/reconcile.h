/* reconcile.h - what a heartbeat's list of VMs means for vdcd's VM
 * documents: pure decisions from a VM's document, what the agent reported
 * for it and the sequence numbers, each with the reason in a sentence.
 * And which reported VMs vdcd does not know (foreign) and when to say so. */
#ifndef VDC_RECONCILE_H
#define VDC_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RECONCILE_REASON_MAX 200

/* What vdcd's document says of a VM. */
struct reconcile_vm {
	const char *name;          /* the agent's name for it */
	const char *power_state;   /* NULL: none yet */
	const char *desired_state; /* NULL: none */
	int64_t state_seq;         /* the agent's seq of the state last recorded; 0: none */
	const char *last_exit_at;  /* when the recorded last exit was (ISO 8601 UTC); NULL: none */
	bool migrating;            /* a live migration's task is moving it between hosts */
};

/* What the agent reported of a VM in one heartbeat. */
struct reconcile_report {
	const char *name;
	const char *state;  /* NULL: the agent gave none ("unknown") */
	int64_t state_seq;  /* 0: none */
	const char *last_exit_at; /* when QEMU last ended, by the agent (ISO 8601 UTC); NULL: never */
	const void *last_exit;    /* that exit as the caller parsed it; decisions pass it on unread */
};

enum reconcile_action {
	RECONCILE_KEEP,      /* the report agrees with the document */
	RECONCILE_TASK_OWNS, /* creating, deleting or error: a task decides, not heartbeats */
	RECONCILE_STALE,     /* the report is older than the state recorded: ignore it */
	RECONCILE_OBSERVE,   /* record the observed state */
};

struct reconcile_decision {
	enum reconcile_action action;
	const char *power_state; /* OBSERVE: the state to record ("missing" when not listed) */
	int64_t state_seq;       /* OBSERVE: the seq to record, 0 to leave it */
	int in_sync;             /* OBSERVE: observed == desired (1/0), -1 with no desired state */
	const void *last_exit;   /* OBSERVE: the report's newer last exit to record; NULL: none */
	char reason[RECONCILE_REASON_MAX]; /* why; "" for KEEP */
};

/* Decides for one VM document given the agent's entry for it (NULL when the
 * heartbeat did not list it) and the heartbeat's own seq (0: none): the
 * agent's counter when it built the list. A per-VM seq or a beat seq below
 * the document's is a report from before a task read the VM back: stale. */
void reconcile_decide(const struct reconcile_vm *vm, const struct reconcile_report *seen,
                      int64_t beat_seq, struct reconcile_decision *d);

const char *reconcile_action_name(enum reconcile_action a);

/* An agent's state of a VM that only a live migration has: "incoming"
 * (QEMU waits for or receives it) or "migrated" (its guest runs on the
 * receiving host now). The migration's task decides about such a VM;
 * neither is ever foreign. */
bool reconcile_in_migration(const char *agent_state);

/* Whether the RFC 3339 UTC time a is later than b, both as agents write
 * them: to the second ("...:09Z", agents before exits were timed to the
 * millisecond) or with a fraction ("...:09.250Z"; none reads as .000). Two
 * exits of one VM in one second are two exits. */
bool reconcile_time_after(const char *a, const char *b);

/* A VM an agent runs that vdcd has no document for on that host. beats
 * counts the heartbeats in a row it was listed in: one that shows up once
 * (a VM deleted just after the agent listed it) is never called foreign. */
struct foreign_vm {
	const char *name;
	const char *state;
	const char *first_seen; /* as the caller writes times */
	int64_t beats;
};

/* The foreign list after a heartbeat: one entry per unknown[i] (the
 * reported VMs with no document), carrying first_seen and beats over from
 * before. out has room for n. */
void foreign_track(const struct reconcile_report *unknown, size_t n, const struct foreign_vm *before,
                   size_t nbefore, const char *now, struct foreign_vm *out);
/* An entry of the new list that is news: listed a second beat in a row. */
bool foreign_confirmed(const struct foreign_vm *v);
/* An entry of the old list that is news: confirmed before, gone now. */
bool foreign_gone(const struct foreign_vm *was, const struct foreign_vm *now, size_t nnow);
/* How many of the list are confirmed (listed in two beats or more). */
size_t foreign_count_confirmed(const struct foreign_vm *v, size_t n);

#endif

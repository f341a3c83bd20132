/* host_power.h - a host's power, through its management controller (BMC):
 * one small interface over drivers (IPMI over LAN today, by ipmitool; a
 * Wake-on-LAN or a command driver later), for the host.power task and for
 * the HA controller, which fences a failed host by powering it off before
 * its VMs start elsewhere. A driver's settings are on the host document
 * ("power"); its password is a secret of vdcd's store, never in a
 * document, a log line or a command line. */
#ifndef VDC_HOST_POWER_H
#define VDC_HOST_POWER_H

#include <jansson.h>
#include <stdint.h>

#include "errinfo.h"
#include "store.h"

enum host_power_action { HOST_POWER_STATUS, HOST_POWER_ON, HOST_POWER_OFF, HOST_POWER_CYCLE };
enum host_power_state { HOST_POWER_UNKNOWN, HOST_POWER_IS_ON, HOST_POWER_IS_OFF };

#define HOST_POWER_PORT_DEFAULT 623
#define HOST_POWER_CIPHER_DEFAULT 3 /* HMAC-SHA1, AES-CBC-128: what most BMCs offer */
#define HOST_POWER_TIMEOUT_DEFAULT_S 10

/* How to reach a host's BMC. */
struct host_power_driver {
	char driver[16];    /* "ipmi" */
	char address[256];  /* an IP literal or a host name (never starting with '-') */
	int port;           /* UDP; 623 */
	char username[32];
	char password[64];  /* host_power_driver_wipe zeroes it */
	int cipher_suite;   /* IPMI 2.0 (lanplus) cipher suite */
	int timeout_s;      /* one run of the helper is killed after this long */
};

/* What a run found. */
struct host_power_result {
	enum host_power_state state; /* as the BMC last said (UNKNOWN when it said nothing) */
	char code[40];               /* "" when it worked; else bmc_unreachable, bmc_auth_failed,
	                              * bmc_timeout, bmc_refused, bmc_unconfirmed, bmc_error,
	                              * ipmitool_missing, power_driver_unknown */
	char message[512];           /* what happened, in words; never the password */
	int64_t elapsed_ms;
};

/* Runs action through d. Blocking (seconds: a task worker's or a
 * controller's thread, never vdcd's loop); touches no store. status reads
 * the power state. on, off and cycle give the order, then read the state
 * until it is the one expected (on, off, on), a few seconds at most.
 * Returns 0 when the order was taken and the state seen is the one
 * expected (status: when the state was read), with r->state; else -1 with
 * r->code and r->message (r->state: what was seen, maybe UNKNOWN). A
 * fence is proven by 0 from HOST_POWER_OFF (r->state is then IS_OFF). */
int host_power_run(const struct host_power_driver *d, enum host_power_action action,
                   struct host_power_result *r);

/* The driver of host (its document, as read) with its password from st's
 * secrets, into d (host_power_driver_wipe it after use). 0, or -1 with e:
 * 409 no_power_driver when the host has none. */
int host_power_driver_load(struct store *st, const json_t *host, struct host_power_driver *d,
                           struct errinfo *e);
void host_power_driver_wipe(struct host_power_driver *d);

/* Where a host's BMC password is kept: the secret of kind
 * HOST_POWER_SECRET_KIND keyed by this hex of the host's id; its doc is
 * {"password": "..."}. */
#define HOST_POWER_SECRET_KIND "bmc"
void host_power_secret_key(const char *host_id, char out[65]);
/* Deletes host_id's BMC password (in the caller's transaction): its
 * driver cleared, or the host removed. 0 (also when there was none), or
 * -1 with e. */
int host_power_secret_delete(struct store *st, const char *host_id, struct errinfo *e);

/* Writes what r says onto the host's "power" (state, checked_at; the last
 * error, or none), retried when a heartbeat wrote the host first. A host
 * without a power driver (cleared meanwhile) is left alone. 0, or -1 with
 * e. */
int host_power_record(struct store *st, const char *host_id, const struct host_power_result *r,
                      struct errinfo *e);

/* Drivers: one run of one action, no waiting for the state after (for
 * host_power_run's table). host_power_ipmi.c: ipmitool over lanplus. */
int host_power_ipmi(const struct host_power_driver *d, enum host_power_action action,
                    struct host_power_result *r);

/* The VMs host_id runs (running or paused): how many, and their names
 * (up to 5, ", "-joined) into names. -1 with e when the store fails. A
 * power off or cycle of such a host stops them at once. */
int host_power_vms_running(struct store *st, const char *host_id, char *names, size_t n, struct errinfo *e);
/* 409 host_has_vms for a power off (or cycle) of host (its name) with
 * nvms VMs running, saying how to proceed. Returns -1. */
int host_power_refuse_vms(struct errinfo *e, const char *host, const char *action, int nvms, const char *names);

/* "status", "on", "off", "cycle"; and back (-1 for an unknown word). */
const char *host_power_action_name(enum host_power_action a);
int host_power_action_parse(const char *s, enum host_power_action *a);
/* "unknown", "on", "off". */
const char *host_power_state_name(enum host_power_state s);

#endif

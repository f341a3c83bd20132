/* manager.h - vdcd's shared state. The loop thread serves the API, holds the
 * only writer of allocations (placement + VM insert happen there, so two
 * creates can never both take the last free memory), and owns `st`; task
 * workers each open their own store handle. */
#ifndef VDC_MANAGER_H
#define VDC_MANAGER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "errinfo.h"
#include "http.h"
#include "store.h"

struct loop;
struct http_server;
struct http_req;
struct mgr_tls;
struct charts;
struct history;

struct mgr_config {
	char listen[128];
	char data_dir[1024];
	char store_url[1024];
	char public_url[256];     /* how agents reach vdcd (default scheme://listen) */
	bool plain_http;          /* --plain-http: no TLS (loopback listen only) */
	bool fault_injection;     /* --fault-injection: tests may arm faults (fault_scope.h) */
	char tls_cert[1024];      /* operator's certificate chain, leaf first */
	char tls_key[1024];
	char tls_ca[1024];        /* the CA that signed tls_cert, which agents pin */
	char tls_sans[16][256];   /* --tls-san: more names for vdcd's own certificate */
	int ntls_sans;
	int heartbeat_timeout_s;  /* a host silent this long is disconnected */
	char ui_dir[1024];        /* --ui-dir: the web UI's built files ("" : none) */
	bool ui_dir_set;          /* given on the command line ("none" included) */
	char image_import_dir[1024]; /* administrators import images from under it ("" : none) */
	unsigned long long image_max_bytes; /* the largest image upload or import */
	char agent_listen[128];   /* --agent-listen: agents' own listener, or "" */
	char metrics_token_file[1024]; /* --metrics-token-file ("" : DATA/metrics.token; "none": off) */
	char heartbeat_url[256];  /* where agents join and beat (from agent_listen) */
	unsigned max_connections;             /* API listener, all clients */
	unsigned max_connections_per_address; /* API listener, one client address */
	unsigned idle_timeout_s;              /* both listeners */
	int workers;              /* task worker threads */
	unsigned stream_max;      /* live streams open at once */
	unsigned stream_ring;     /* events kept for live streams */
	int history_speedup;      /* --history-speedup: tests shorten the history's tiers (1) */
	int log_level;
};

struct mgr {
	struct mgr_config cfg;
	struct loop *loop;
	struct http_server *http;
	struct http_server *agent_http; /* --agent-listen, or NULL */
	struct store *st;         /* loop thread only */
	struct auth_cache *auth_cache;  /* callers by token hash (auth.c) */
	struct login_guard *logins;     /* password logins: throttle, jobs (login.c) */
	struct agent_async *agent_async; /* calls to agents from the loop (agent_async.c) */
	struct loop_jobs *jobs;   /* blocking calls run off the loop (an upload's fsync) */
	struct live_hub *live;    /* live event streams (live/live_hub.c) */
	struct console_tickets *console_tickets; /* outstanding console tickets (console_ticket.c) */
	struct console_proxy *console_proxy;     /* console streams (console_proxy.c) */
	struct mgr_tls *tls;      /* NULL with --plain-http; read-only once set up */
	struct charts *charts;    /* the charts' history (ops/charts.c), loop thread only */
	struct history *history;  /* the demand history for a year (ops/history.c), loop thread */
	struct ha *ha;            /* the HA controller (ops/ha.c), loop thread only */
	char metrics_hash[65];    /* sha256 of the token that may read /metrics only, or "" */
	/* Task queue wake-up: workers sleep on it, the API signals it. */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	pthread_t workers[16];
	int nworkers;
	/* The task each worker runs (under lock): whether it may still be
	 * cancelled, and whether a cancel was asked (tasks.c). */
	struct task_running {
		char id[37];      /* "" when idle */
		bool cancellable;
		bool cancel_asked;
	} running[16];
	uint64_t tasks_done, tasks_failed; /* under lock */
	/* Live migrations ended since start (succeeded, failed, cancelled) and
	 * QEMU's figures of the last one that succeeded; under lock. */
	uint64_t migrations[3];
	int64_t migration_last_total_ms, migration_last_downtime_ms;
	uint64_t migration_disk_bytes; /* disks copied by live migrations that succeeded */
	/* What QEMU moved per second over each link (sending host -> receiving
	 * host) in the last live migration that completed over it: a plan takes
	 * it when it is below the link's measure (QEMU has limits of its own:
	 * its CPU, under TCG above all). Under lock; the oldest entry goes. */
	struct mgr_link_rate {
		char from[40], to[40];
		int64_t bytes_s;
	} link_rates[64];
	int link_rates_next;
	/* Evacuations (maintenance enter) ended since start: succeeded,
	 * failed (something left), cancelled (stopped); under lock. */
	uint64_t evacuations[3];
	/* Power-ons, moves and migrations refused by admission control: a
	 * pool's reservations, a host's (loop thread only). */
	uint64_t admission_refused[3]; /* pool, host, HA (failover room kept) */
	/* host.power tasks ended since start, per action (status, on, off,
	 * cycle): succeeded, failed; under lock. */
	uint64_t host_power[4][2];
	/* VMs whose guest watchdog fired (a new last exit of cause
	 * "watchdog" in a heartbeat) since start; under lock. */
	uint64_t watchdog_fired;
	time_t started_at;
};

/* config.c */
void mgr_config_defaults(struct mgr_config *c);
int mgr_config_parse_args(struct mgr_config *c, int argc, char **argv, char *err, size_t errlen);
/* Checks the TLS settings against --listen (plain HTTP only on loopback)
 * and derives public_url when not given. Returns 0, or -1 with err saying
 * what to do instead. Part of mgr_config_parse_args. */
int mgr_config_check_tls(struct mgr_config *c, char *err, size_t errlen);
/* The heartbeat interval vdcd asks agents for: a third of the timeout, so
 * one lost heartbeat never marks a host disconnected (1..30 s). */
int mgr_heartbeat_interval_s(const struct mgr_config *c);

/* pki.c: vdcd's CA and certificates (see pki.h). */

/* util.c */
void mgr_uuid(char out[37]);
/* The wall clock in epoch milliseconds. */
int64_t mgr_now_ms(void);
/* Now, and epoch seconds, as the API writes every time: RFC 3339, UTC
 * ("...Z"); isotime.h's, under the names vdcd's files use. */
void mgr_now_iso(char out[32]);
void mgr_iso_time(int64_t epoch_s, char out[32]);
/* sha256(s) as 64 hex characters. */
void mgr_sha256_hex(const char *s, char out[65]);
/* A random secret: prefix + 40 hex characters. */
void mgr_secret(const char *prefix, char *out, size_t n);

/* api_*.c */
extern const struct http_route mgr_routes[];
extern const size_t mgr_nroutes;
/* What --agent-listen serves: join, heartbeat, the CA and health. */
extern const struct http_route mgr_agent_routes[];
extern const size_t mgr_agent_nroutes;
void mgr_reply_err(struct http_req *req, const struct errinfo *e);
/* The actor of a request, for the audit log. */
const char *mgr_actor(struct http_req *req);
void mgr_event(struct mgr *m, const char *actor, const char *action, const char *kind,
               const char *id, const char *outcome, const char *detail);

/* tasks.c */
/* Creates a queued task (in the caller's transaction) and returns its doc.
 * target_name (may be NULL) is kept as the target's name at the time, for
 * lists of tasks to show (a VM renamed or deleted since keeps it). */
json_t *task_new(struct store *st, const char *op, const char *target_kind, const char *target_id,
                 const char *target_name, const char *project_id, const char *actor, json_t *args,
                 struct errinfo *e);
void tasks_wake(struct mgr *m);
/* The tasks of op queued or running (a new array; empty when the store
 * fails: callers count, and a miss counts none). */
json_t *tasks_under_way(struct store *st, const char *op);
/* POST /api/v1/tasks/{id}/cancel on the loop thread: task is the task's
 * document as read. A queued task is marked cancelled and what its request
 * did is given back; a running one is asked to stop where its operation
 * allows. 0 with *out (the task as it is now, new reference), or -1 with e
 * (409 saying why it cannot be cancelled). */
int tasks_cancel(struct mgr *m, json_t *task, const char *actor, json_t **out, struct errinfo *e);
int tasks_start_workers(struct mgr *m, struct errinfo *e);
void tasks_stop_workers(struct mgr *m);
/* At start-up, before workers run: finishes or fails tasks a crash left
 * running, so nothing stays half-made. */
void tasks_recover(struct mgr *m);

#endif

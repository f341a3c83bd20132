/* migrate_plan.h - how a live migration will go, decided before it starts
 * and checked while it runs (issue 13: "it never loops forever").
 *
 * Pre-copy sends the guest's memory while it runs, then again what it
 * dirtied meanwhile, round after round, and pauses the guest for the last
 * round once what is left fits in the downtime limit. With a dirty rate D
 * against a bandwidth B, round i+1 carries D/B of round i: it converges
 * only when D < B, and slowly when D is close to B. So the strategy is
 * picked up front from the measured rate (QMP calc-dirty-rate) and link,
 * within what the cluster's policy allows: plain pre-copy; auto-converge
 * (QEMU throttles the guest's vCPUs until it dirties slowly enough); or
 * post-copy (the guest runs on the destination after one pass and pulls
 * the pages it touches; fast, but the VM is lost if the link fails before
 * it ends, which is why a policy must allow it). Otherwise it is refused,
 * and the reason names the numbers. While it runs, a migration that
 * overstays twice its prediction switches to post-copy when allowed, or
 * stops, again with the numbers. Pure: inputs in, decision out. */
#ifndef VDC_MIGRATE_PLAN_H
#define VDC_MIGRATE_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#define MIGRATE_REASON_MAX 320
/* Pre-copy rounds a plan may need before the last one: past this the
 * dirty rate is so close to the link that each round barely shrinks. */
#define MIGRATE_MAX_ROUNDS 30
/* QEMU's auto-converge: the first throttle and each step up (its
 * cpu-throttle-initial and cpu-throttle-increment defaults). */
#define MIGRATE_THROTTLE_INITIAL 20
#define MIGRATE_THROTTLE_STEP 10

enum migrate_strategy {
	MIGRATE_PRECOPY,
	MIGRATE_AUTO_CONVERGE,
	MIGRATE_POSTCOPY,
	MIGRATE_REFUSED,
};

/* The cluster's (or the VM's) migration policy. */
struct migrate_policy {
	bool allow_auto_converge;
	bool allow_postcopy;
	int64_t downtime_limit_ms; /* the longest pause the guest may see (> 0) */
	int max_throttle_pct;      /* auto-converge's ceiling, 1 to 99 (QEMU's max-cpu-throttle) */
};

/* What was measured before the start. */
struct migrate_inputs {
	int64_t memory_bytes;      /* the guest's RAM */
	int64_t dirty_bytes_s;     /* its dirty rate */
	int64_t bandwidth_bytes_s; /* the link between the two hosts, or the cap if lower */
};

struct migrate_plan {
	enum migrate_strategy strategy;
	int rounds;       /* pre-copy rounds before the last one (post-copy: the one pass) */
	int throttle_pct; /* auto-converge: the throttle it needs; else 0 */
	int64_t predicted_total_ms;
	int64_t predicted_downtime_ms;
	char reason[MIGRATE_REASON_MAX]; /* why this strategy, or why refused, with the numbers */
};

void migrate_plan_decide(const struct migrate_inputs *in, const struct migrate_policy *p,
                         struct migrate_plan *out);

const char *migrate_strategy_name(enum migrate_strategy s);

/* While it runs, from QEMU's query-migrate. */
struct migrate_progress {
	int64_t elapsed_ms;
	int64_t remaining_bytes;
	int64_t dirty_bytes_s;
	int64_t bandwidth_bytes_s;
	bool postcopy_active;
};

enum migrate_verdict {
	MIGRATE_GO_ON,
	MIGRATE_SWITCH_POSTCOPY, /* migrate-start-postcopy */
	MIGRATE_ABORT,           /* migrate_cancel: the VM stays where it was */
};

/* Within twice the plan's prediction a migration goes on; past it, one
 * that may switches to post-copy (once), and any other stops. reason says
 * why (empty for GO_ON). */
enum migrate_verdict migrate_progress_check(const struct migrate_plan *plan, const struct migrate_policy *p,
                                            const struct migrate_progress *now,
                                            char reason[MIGRATE_REASON_MAX]);

#endif

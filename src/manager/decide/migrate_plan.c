/* migrate_plan.c - a live migration's strategy and prediction, and the
 * check that it keeps to it (migrate_plan.h). The model counts memory
 * only: the devices' state, sent in the pause too, is small next to it. */
#include "migrate_plan.h"

#include <stdio.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)
/* A prediction this short is mostly set-up: it is given this much more
 * before a migration counts as overdue. */
#define MIGRATE_GRACE_MS 2000

const char *migrate_strategy_name(enum migrate_strategy s)
{
	static const char *const names[] = {"precopy", "auto-converge", "postcopy", "refused"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* A rate as people read it: "95 MiB/s", "2.5 MiB/s". */
static void fmt_rate(char *out, size_t n, double bytes_s)
{
	double m = bytes_s / MIB;
	snprintf(out, n, m < 10 ? "%.1f MiB/s" : "%.0f MiB/s", m);
}

static void fmt_secs(char *out, size_t n, double s)
{
	snprintf(out, n, s < 10 ? "%.1f s" : "%.0f s", s);
}

/* Pre-copy with dirty rate d and bandwidth b (bytes/s): each round sends
 * what the one before left, while the guest dirties d for as long; the
 * pause comes once what is left fits in limit_s. Whether it gets there
 * within MIGRATE_MAX_ROUNDS, and then its rounds, time and pause. */
static bool precopy(double mem, double d, double b, double limit_s, int *rounds, double *total_s,
                    double *pause_s)
{
	double left = mem, total = 0;
	for (int i = 0; i < MIGRATE_MAX_ROUNDS; i++) {
		double t = left / b;
		double dirtied = d * t < mem ? d * t : mem;
		total += t;
		if (dirtied <= b * limit_s) {
			*rounds = i + 1;
			*pause_s = dirtied / b;
			*total_s = total + *pause_s;
			return true;
		}
		left = dirtied;
	}
	return false;
}

/* The plan taken: its strategy, rounds, throttle and times (ms, rounded). */
static void take(struct migrate_plan *out, enum migrate_strategy st, int rounds, int throttle, double total_s,
                 double pause_s)
{
	out->strategy = st;
	out->rounds = rounds;
	out->throttle_pct = throttle;
	out->predicted_total_ms = (int64_t)(total_s * 1000 + 0.5);
	out->predicted_downtime_ms = (int64_t)(pause_s * 1000 + 0.5);
}

void migrate_plan_decide(const struct migrate_inputs *in, const struct migrate_policy *p,
                         struct migrate_plan *out)
{
	memset(out, 0, sizeof(*out));
	out->strategy = MIGRATE_REFUSED;
	if (in->memory_bytes <= 0 || in->bandwidth_bytes_s <= 0 || in->dirty_bytes_s < 0 ||
	    p->downtime_limit_ms <= 0) {
		snprintf(out->reason, sizeof(out->reason),
		         "cannot plan the migration: %s must be measured first (memory %lld B, dirty rate %lld B/s, "
		         "bandwidth %lld B/s, downtime limit %lld ms)",
		         in->memory_bytes <= 0       ? "the guest's memory"
		         : in->bandwidth_bytes_s <= 0 ? "the link's bandwidth"
		         : in->dirty_bytes_s < 0     ? "the guest's dirty rate"
		                                     : "a downtime limit",
		         (long long)in->memory_bytes, (long long)in->dirty_bytes_s, (long long)in->bandwidth_bytes_s,
		         (long long)p->downtime_limit_ms);
		return;
	}
	double mem = (double)in->memory_bytes, d = (double)in->dirty_bytes_s, b = (double)in->bandwidth_bytes_s;
	double limit_s = (double)p->downtime_limit_ms / 1000;
	char dr[32], bw[32], tt[32];
	fmt_rate(dr, sizeof(dr), d);
	fmt_rate(bw, sizeof(bw), b);
	int rounds = 0;
	double total = 0, pause = 0;
	if (precopy(mem, d, b, limit_s, &rounds, &total, &pause)) {
		take(out, MIGRATE_PRECOPY, rounds, 0, total, pause);
		fmt_secs(tt, sizeof(tt), total);
		snprintf(out->reason, sizeof(out->reason),
		         "pre-copy: the guest dirties %s against a link of %s; %d round%s, about %s, paused %lld ms "
		         "(limit %lld ms)",
		         dr, bw, rounds, rounds == 1 ? "" : "s", tt, (long long)out->predicted_downtime_ms,
		         (long long)p->downtime_limit_ms);
		return;
	}
	/* Why plain pre-copy will not do, said the same way in every outcome. */
	char why[160];
	if (d >= b)
		snprintf(why, sizeof(why), "dirty rate %s exceeds bandwidth %s", dr, bw);
	else
		snprintf(why, sizeof(why),
		         "dirty rate %s is too close to bandwidth %s for pre-copy to reach a %lld ms pause "
		         "within %d rounds",
		         dr, bw, (long long)p->downtime_limit_ms, MIGRATE_MAX_ROUNDS);
	int max_throttle = p->max_throttle_pct < 1 ? 1 : p->max_throttle_pct > 99 ? 99 : p->max_throttle_pct;
	if (p->allow_auto_converge) {
		/* QEMU's steps, from its first throttle up to the policy's ceiling
		 * (the ceiling itself is the last step tried). */
		for (int th = MIGRATE_THROTTLE_INITIAL;; th += MIGRATE_THROTTLE_STEP) {
			if (th > max_throttle)
				th = max_throttle;
			double slowed = d * (100 - th) / 100;
			if (precopy(mem, slowed, b, limit_s, &rounds, &total, &pause)) {
				char sr[32];
				fmt_rate(sr, sizeof(sr), slowed);
				take(out, MIGRATE_AUTO_CONVERGE, rounds, th, total, pause);
				fmt_secs(tt, sizeof(tt), total);
				snprintf(out->reason, sizeof(out->reason),
				         "auto-converge: %s; the guest's vCPUs throttled by %d%% dirty %s: %d round%s, "
				         "about %s, paused %lld ms",
				         why, th, sr, rounds, rounds == 1 ? "" : "s", tt, (long long)out->predicted_downtime_ms);
				return;
			}
			if (th >= max_throttle)
				break;
		}
	}
	if (p->allow_postcopy) {
		/* One pass while the guest runs here; then it runs there, and
		 * what it dirtied during that pass follows at the link's rate. */
		double first = mem / b;
		double after = (d * first < mem ? d * first : mem) / b;
		take(out, MIGRATE_POSTCOPY, 1, 0, first + after, 0);
		char t1[32];
		fmt_secs(t1, sizeof(t1), first);
		fmt_secs(tt, sizeof(tt), first + after);
		snprintf(out->reason, sizeof(out->reason),
		         "post-copy: %s%s; one pass of %s, then the guest runs on the destination while the rest "
		         "follows: about %s",
		         why,
		         p->allow_auto_converge ? ", even with the vCPUs throttled to the policy's ceiling"
		                                : " and the policy does not allow auto-converge",
		         t1, tt);
		return;
	}
	snprintf(out->reason, sizeof(out->reason), "%s%s; %s", why,
	         p->allow_auto_converge ? ", even with the vCPUs throttled to the policy's ceiling" : "",
	         p->allow_auto_converge ? "allow post-copy, raise the bandwidth cap or the downtime limit"
	                                : "enable auto-converge or post-copy");
}

enum migrate_verdict migrate_progress_check(const struct migrate_plan *plan, const struct migrate_policy *p,
                                            const struct migrate_progress *now,
                                            char reason[MIGRATE_REASON_MAX])
{
	reason[0] = '\0';
	int64_t due = plan->predicted_total_ms * 2;
	if (due < plan->predicted_total_ms + MIGRATE_GRACE_MS)
		due = plan->predicted_total_ms + MIGRATE_GRACE_MS;
	if (now->elapsed_ms <= due)
		return MIGRATE_GO_ON;
	char el[32], pr[32], dr[32], bw[32];
	fmt_secs(el, sizeof(el), (double)now->elapsed_ms / 1000);
	fmt_secs(pr, sizeof(pr), (double)plan->predicted_total_ms / 1000);
	fmt_rate(dr, sizeof(dr), (double)now->dirty_bytes_s);
	fmt_rate(bw, sizeof(bw), (double)now->bandwidth_bytes_s);
	double left = (double)now->remaining_bytes / MIB;
	if (now->postcopy_active) {
		/* The guest runs on the destination: stopping now would lose it. */
		snprintf(reason, MIGRATE_REASON_MAX,
		         "post-copy is past its prediction (%s of %s, %.0f MiB left) and cannot be stopped: the "
		         "guest already runs on the destination",
		         el, pr, left);
		return MIGRATE_GO_ON;
	}
	if (p->allow_postcopy) {
		snprintf(reason, MIGRATE_REASON_MAX,
		         "after %s (predicted %s) %.0f MiB remain, the guest dirtying %s against %s: switching to "
		         "post-copy",
		         el, pr, left, dr, bw);
		return MIGRATE_SWITCH_POSTCOPY;
	}
	snprintf(reason, MIGRATE_REASON_MAX,
	         "after %s (twice the predicted %s) %.0f MiB remain, the guest dirtying %s against %s: "
	         "stopped, the VM stays on its host; %s",
	         el, pr, left, dr, bw,
	         p->allow_auto_converge ? "allow post-copy or raise the bandwidth cap"
	                                : "enable auto-converge or post-copy, or raise the bandwidth cap");
	return MIGRATE_ABORT;
}

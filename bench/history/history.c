/* history.c - the demand history's cost at fleet scale (ops/history.c's
 * work, without the daemon around it): 10,000 VMs of 8 series beating
 * every 5 s for RUNS simulated minutes; each heartbeat's points are
 * consolidated into the three tiers, and every 30 s the buckets closed
 * since are written in one transaction (10,000 minute buckets in one of
 * the two flushes of a minute). Then
 * a year of one VM's daily buckets is read back, as GET
 * .../metrics?since=1y does. The store is SQLite in a temporary directory,
 * or --store URL.
 *   figure history_take_10k_vms_ms       consolidation, one heartbeat
 *   figure history_flush_10k_vms_ms      the flush of a minute's buckets
 *   figure history_write_per_beat_10k_vms_ms  both, per heartbeat
 *   figure history_query_year_ms         366 daily buckets of one VM */
#include "history_doc.h"
#include "history_tiers.h"
#include "store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NVMS 10000
#define NSERIES 8
#define RUNS 5 /* simulated minutes */
#define BEAT_S 5

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void figure(const char *name, double v, const char *unit) { printf("figure %s %.3f %s\n", name, v, unit); }

static int count_row(void *ctx, int64_t t_ms, const char *doc)
{
	struct hist_acc a;
	if (history_doc_parse(doc, t_ms, &a) == 0)
		(*(int *)ctx)++;
	return 0;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/vdc-bench-history.XXXXXX", url[1200];
	const char *store_url = NULL;
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--store"))
			store_url = argv[i + 1];
	if (!store_url) {
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			return 1;
		}
		snprintf(url, sizeof(url), "sqlite:%s/vdcd.db", dir);
		store_url = url;
	}
	struct errinfo e = {0};
	struct store *st = store_open(store_url, &e);
	if (!st) {
		fprintf(stderr, "history: %s\n", e.message);
		return 1;
	}
	struct hist_tier tiers[HIST_NTIERS];
	hist_tiers_default(tiers, 1);
	struct hist_acc(*acc)[HIST_NTIERS] = calloc(NVMS, sizeof(*acc));
	char(*ids)[40] = calloc(NVMS, sizeof(*ids));
	if (!acc || !ids)
		return 1;
	for (int v = 0; v < NVMS; v++) {
		snprintf(ids[v], sizeof(ids[v]), "00000000-0000-4000-8000-%012d", v);
		for (int i = 0; i < HIST_NTIERS; i++)
			hist_acc_reset(&acc[v][i], INT64_MIN);
	}
	int64_t t0 = 1765000000000;
	struct closed {
		int vm, tier;
		struct hist_acc acc;
	} *closed = calloc((size_t)NVMS * HIST_NTIERS * 2, sizeof(*closed));
	if (!closed)
		return 1;
	enum { BEATS = RUNS * 60 / BEAT_S, FLUSH_EVERY = 30 / BEAT_S };
	double take[BEATS], flush[BEATS / FLUSH_EVERY];
	int nflush = 0, nclosed = 0;
	double flush_total = 0;
	for (int beat = 0; beat < BEATS; beat++) {
		/* Hosts beat at their own times: the VMs' spread over the interval. */
		double a = now_ms();
		int64_t t = t0 + (int64_t)beat * BEAT_S * 1000;
		for (int v = 0; v < NVMS; v++) {
			int64_t tv = t + (v * 487) % (BEAT_S * 1000);
			float x[NSERIES];
			for (int k = 0; k < NSERIES; k++)
				x[k] = (float)((v * 7 + k * 13 + beat) % 100);
			for (int i = 0; i < HIST_NTIERS; i++)
				if (hist_acc_take(&acc[v][i], tiers[i].step_ms, tv, NSERIES, x, &closed[nclosed].acc) == 1) {
					closed[nclosed].vm = v;
					closed[nclosed++].tier = i;
				}
		}
		take[beat] = now_ms() - a;
		if ((beat + 1) % FLUSH_EVERY)
			continue;
		a = now_ms();
		if (store_begin(st, &e) < 0)
			goto fail;
		/* As ops/history.c writes them: STORE_HIST_BATCH rows a statement. */
		for (int c = 0; c < nclosed; c += STORE_HIST_BATCH) {
			static struct store_history_row rows[STORE_HIST_BATCH];
			static char docs[STORE_HIST_BATCH][1024];
			size_t n = 0;
			for (int r = c; r < nclosed && r < c + STORE_HIST_BATCH; r++, n++) {
				history_doc_format(&closed[r].acc, NSERIES, docs[n], sizeof(docs[n]));
				rows[n] = (struct store_history_row){"vm", ids[closed[r].vm], closed[r].tier,
				                                     closed[r].acc.start_ms, docs[n]};
			}
			if (store_history_put_many(st, rows, n, &e) < 0)
				goto fail;
		}
		for (int i = 0; i < HIST_NTIERS; i++)
			if (store_history_trim(st, i, t - tiers[i].span_ms, &e) < 0)
				goto fail;
		if (store_commit(st, &e) < 0)
			goto fail;
		double ms = now_ms() - a;
		flush_total += ms;
		fprintf(stderr, "history: flush: %d buckets in %.1f ms\n", nclosed, ms);
		/* Minute buckets all close in the same beat (the first past the
		 * minute): one flush a minute carries them. That one is the figure. */
		if (nclosed >= NVMS)
			flush[nflush++] = ms;
		nclosed = 0;
	}
	double take_ms = median(take, BEATS);
	figure("history_take_10k_vms_ms", take_ms, "ms");
	figure("history_flush_10k_vms_ms", median(flush, nflush), "ms");
	figure("history_write_per_beat_10k_vms_ms", take_ms + flush_total / BEATS, "ms");
	free(closed);

	/* A year of one VM: 366 daily buckets (and its other tiers beside). */
	const char *vm = "year-vm";
	if (store_begin(st, &e) < 0)
		goto fail;
	for (int i = 0; i < HIST_NTIERS; i++) {
		int64_t n = tiers[i].span_ms / tiers[i].step_ms;
		for (int64_t b = 0; b < n; b++) {
			char doc[1024];
			history_doc_format(&acc[0][i], NSERIES, doc, sizeof(doc));
			if (store_history_put(st, "vm", vm, i, t0 - b * tiers[i].step_ms, doc, &e) < 0)
				goto fail;
		}
	}
	if (store_commit(st, &e) < 0)
		goto fail;
	double q[RUNS];
	int got = 0;
	for (int run = 0; run < RUNS; run++) {
		got = 0;
		double a = now_ms();
		if (store_history_each(st, "vm", vm, 2, t0 - tiers[2].span_ms, count_row, &got, &e) < 0)
			goto fail;
		q[run] = now_ms() - a;
	}
	fprintf(stderr, "history: a year is %d daily buckets\n", got);
	figure("history_query_year_ms", median(q, RUNS), "ms");
	store_close(st);
	free(acc);
	free(ids);
	if (store_url == url) {
		snprintf(url, sizeof(url), "rm -rf '%s'", dir);
		if (system(url) != 0)
			fprintf(stderr, "history: could not remove %s\n", dir);
	}
	return 0;
fail:
	fprintf(stderr, "history: %s\n", e.message);
	store_close(st);
	return 1;
}

/* loop_jobs.h - blocking calls (an fsync of a large file...) run on threads
 * of their own while the loop goes on serving; each job's completion runs
 * on the loop thread. A set bounds how many run at once and, when freed,
 * waits for the ones still running, so nothing is left half-done. */
#ifndef VDC_LOOP_JOBS_H
#define VDC_LOOP_JOBS_H

struct loop;
struct loop_jobs;

typedef void (*loop_job_fn)(void *arg);

/* A set of at most max jobs at once on loop. NULL when out of memory. */
struct loop_jobs *loop_jobs_new(struct loop *l, int max);
/* Runs work(arg) on a new thread, then done(arg) on the loop thread (never
 * from inside this call). 0, or -1 when max jobs run already or no thread
 * could start: done is then never called. */
int loop_jobs_start(struct loop_jobs *s, loop_job_fn work, loop_job_fn done, void *arg);
/* Waits for the jobs still running, calls their done (on this thread, the
 * loop's), and frees the set. */
void loop_jobs_free(struct loop_jobs *s);

#endif

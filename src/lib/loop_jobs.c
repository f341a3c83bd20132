/* loop_jobs.c - a thread per job; the thread writes one byte to the job's
 * pipe when work is over, and the loop's watch of the pipe joins it and
 * calls done. */
#include "loop_jobs.h"

#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct job {
	struct loop_jobs *set;
	struct job *prev, *next;
	loop_job_fn work, done;
	void *arg;
	int pipefd[2];
	pthread_t thread;
	struct loop_watch *watch;
};

struct loop_jobs {
	struct loop *loop;
	struct job *jobs;
	int n, max;
};

struct loop_jobs *loop_jobs_new(struct loop *l, int max)
{
	struct loop_jobs *s = calloc(1, sizeof(*s));
	if (s) {
		s->loop = l;
		s->max = max;
	}
	return s;
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	j->work(j->arg);
	char one = 1;
	while (write(j->pipefd[1], &one, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* Joins the thread (its work is over or about to be), unlinks the job and
 * runs done. */
static void job_end(struct job *j)
{
	struct loop_jobs *s = j->set;
	pthread_join(j->thread, NULL);
	loop_unwatch(s->loop, j->watch);
	if (j->prev)
		j->prev->next = j->next;
	else
		s->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	s->n--;
	close(j->pipefd[0]);
	close(j->pipefd[1]);
	loop_job_fn done = j->done;
	void *arg = j->arg;
	free(j);
	done(arg);
}

static void on_job_over(void *ctx, uint32_t events) { job_end(ctx); }

int loop_jobs_start(struct loop_jobs *s, loop_job_fn work, loop_job_fn done, void *arg)
{
	if (s->n >= s->max)
		return -1;
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return -1;
	*j = (struct job){.set = s, .work = work, .done = done, .arg = arg};
	if (pipe2(j->pipefd, O_CLOEXEC) < 0) {
		free(j);
		return -1;
	}
	if (!(j->watch = loop_watch_fd(s->loop, j->pipefd[0], EPOLLIN, on_job_over, j)) ||
	    pthread_create(&j->thread, NULL, job_main, j) != 0) {
		loop_unwatch(s->loop, j->watch);
		close(j->pipefd[0]);
		close(j->pipefd[1]);
		free(j);
		return -1;
	}
	j->next = s->jobs;
	if (s->jobs)
		s->jobs->prev = j;
	s->jobs = j;
	s->n++;
	return 0;
}

void loop_jobs_free(struct loop_jobs *s)
{
	if (!s)
		return;
	while (s->jobs)
		job_end(s->jobs);
	free(s);
}

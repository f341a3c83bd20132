/* login_guard.c - password hashing jobs and login throttling. */
#include "login_guard.h"

#include "log.h"
#include "loop.h"
#include "manager.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOBS 8
#define NKEYS 1024
#define DECAY_MS (15u * 60u * 1000u) /* failures older than this are forgotten */

struct pw_job {
	struct mgr *m;
	struct pw_job *next;
	enum pw_op op;
	char *password;
	char stored[crypto_pwhash_STRBYTES];
	char hash[crypto_pwhash_STRBYTES];
	unsigned delay_ms;
	bool ok;
	int pipefd[2];
	pthread_t thread;
	struct loop_watch *watch;
	pw_done_fn done;
	void *ctx;
};

struct failure {
	char key[96];
	int count;
	uint64_t last_ms;
};

struct login_guard {
	struct failure fails[NKEYS];
	struct pw_job *jobs;
	int njobs;
	char dummy[crypto_pwhash_STRBYTES];
};

int login_guard_init(struct mgr *m)
{
	m->logins = calloc(1, sizeof(*m->logins));
	if (!m->logins)
		return -1;
	/* A hash of a random password: what unknown users are checked against. */
	unsigned char rnd[16];
	randombytes_buf(rnd, sizeof(rnd));
	return crypto_pwhash_str(m->logins->dummy, (const char *)rnd, sizeof(rnd),
	                         crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

static struct failure *find(struct login_guard *g, const char *key, bool create)
{
	uint64_t now = loop_now_ms();
	struct failure *oldest = &g->fails[0];
	for (int i = 0; i < NKEYS; i++) {
		struct failure *f = &g->fails[i];
		if (f->key[0] && now - f->last_ms > DECAY_MS)
			*f = (struct failure){0};
		if (f->key[0] && !strcmp(f->key, key))
			return f;
		if (!f->key[0] || f->last_ms < oldest->last_ms)
			oldest = f;
	}
	if (!create)
		return NULL;
	*oldest = (struct failure){0};
	snprintf(oldest->key, sizeof(oldest->key), "%s", key);
	return oldest;
}

int login_failures(struct mgr *m, const char *key)
{
	struct failure *f = find(m->logins, key, false);
	return f ? f->count : 0;
}

void login_failed(struct mgr *m, const char *key)
{
	struct failure *f = find(m->logins, key, true);
	f->count++;
	f->last_ms = loop_now_ms();
}

void login_succeeded(struct mgr *m, const char *key)
{
	struct failure *f = find(m->logins, key, false);
	if (f)
		*f = (struct failure){0};
}

static void *job_main(void *arg)
{
	struct pw_job *j = arg;
	if (j->delay_ms)
		usleep(j->delay_ms * 1000u);
	size_t len = strlen(j->password);
	if (j->op == PW_VERIFY)
		j->ok = crypto_pwhash_str_verify(j->stored, j->password, len) == 0;
	else
		j->ok = crypto_pwhash_str(j->hash, j->password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
		                          crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
	char one = 1;
	while (write(j->pipefd[1], &one, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static void job_free(struct pw_job *j)
{
	sodium_memzero(j->password, strlen(j->password));
	free(j->password);
	close(j->pipefd[0]);
	close(j->pipefd[1]);
	sodium_memzero(j, sizeof(*j));
	free(j);
}

static void unlink_job(struct login_guard *g, struct pw_job *j)
{
	for (struct pw_job **p = &g->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	g->njobs--;
}

static void on_job_done(void *arg, uint32_t events)
{
	struct pw_job *j = arg;
	struct mgr *m = j->m;
	pthread_join(j->thread, NULL);
	loop_unwatch(m->loop, j->watch);
	unlink_job(m->logins, j);
	j->done(m, j->ctx, j->ok, j->hash);
	job_free(j);
}

int pw_job_start(struct mgr *m, enum pw_op op, const char *password, const char *stored_hash,
                 unsigned delay_ms, pw_done_fn done, void *ctx)
{
	struct login_guard *g = m->logins;
	if (g->njobs >= MAX_JOBS)
		return -1;
	struct pw_job *j = calloc(1, sizeof(*j));
	if (!j)
		return -1;
	j->m = m;
	j->op = op;
	j->password = strdup(password);
	j->delay_ms = delay_ms;
	j->done = done;
	j->ctx = ctx;
	snprintf(j->stored, sizeof(j->stored), "%s", stored_hash ? stored_hash : g->dummy);
	if (!j->password || pipe2(j->pipefd, O_CLOEXEC) < 0) {
		free(j->password);
		free(j);
		return -1;
	}
	if (!(j->watch = loop_watch_fd(m->loop, j->pipefd[0], EPOLLIN, on_job_done, j)) ||
	    pthread_create(&j->thread, NULL, job_main, j) != 0) {
		if (j->watch)
			loop_unwatch(m->loop, j->watch);
		job_free(j);
		return -1;
	}
	j->next = g->jobs;
	g->jobs = j;
	g->njobs++;
	return 0;
}

void login_guard_free(struct mgr *m)
{
	struct login_guard *g = m->logins;
	if (!g)
		return;
	/* Jobs still running at shutdown: their requests get no answer (the
	 * server is stopping); wait for the threads so nothing is torn down
	 * under them. */
	while (g->jobs) {
		struct pw_job *j = g->jobs;
		pthread_join(j->thread, NULL);
		loop_unwatch(m->loop, j->watch);
		unlink_job(g, j);
		j->done(m, j->ctx, false, NULL);
		job_free(j);
	}
	sodium_memzero(g, sizeof(*g));
	free(g);
	m->logins = NULL;
}

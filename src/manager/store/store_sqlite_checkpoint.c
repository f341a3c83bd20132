/* store_sqlite_checkpoint.c - copies the WAL back into the database on a
 * thread of its own. SQLite's automatic checkpoint runs inside the commit
 * that crosses 1,000 WAL pages: that one API call then writes and syncs
 * every page the last thousand frames touched (tens of milliseconds, the
 * whole p99 of a create at fleet scale). Here the committing thread only
 * pokes this thread, which checkpoints on its own connection; a PASSIVE
 * checkpoint never waits for, nor blocks, the writer. Writes go on
 * meanwhile, so it ends a few frames short, and SQLite starts the WAL
 * over only once every frame is back: the thread then holds the writers'
 * connection for a second pass over those few. If the WAL still grows
 * past a bound, the writer checkpoints itself, as SQLite would have. */
#include "store_sqlite_checkpoint.h"

#include "log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Frames few enough to copy while holding the writers (well under 1 ms). */
#define TAIL_FRAMES 64

struct sq_checkpointer {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool started, stopping, pending;
	pthread_mutex_t *writers; /* held by whoever uses the writers' connection */
	char path[512];
};

static int busy(void *ctx, int count)
{
	(void)ctx;
	if (count >= 5000) /* ~5 s: another process holds the database */
		return 0;
	struct timespec nap = {0, 1000 * 1000};
	nanosleep(&nap, NULL);
	return 1;
}

static void *run(void *arg)
{
	struct sq_checkpointer *c = arg;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warn("store_checkpointer_failed", "path=%s error=%s", c->path,
		         log_quote(db ? sqlite3_errmsg(db) : "out of memory"));
		sqlite3_close_v2(db);
		return NULL;
	}
	sqlite3_busy_handler(db, busy, NULL);
	/* A connection finds the WAL at its first read; a checkpoint before
	 * one does nothing (log and done are -1). */
	sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->pending && !c->stopping)
			pthread_cond_wait(&c->wake, &c->lock);
		if (c->stopping)
			break;
		c->pending = false;
		pthread_mutex_unlock(&c->lock);
		/* Passes without the lock while they shrink what is left (each
		 * copies what came in during the one before), then the few frames
		 * left with the writers held, so that the WAL can start over. */
		int log = 0, done = 0;
		int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
		for (int pass = 0; rc == SQLITE_OK && log - done > TAIL_FRAMES && pass < 4; pass++)
			rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
		if (rc == SQLITE_OK && done < log) {
			pthread_mutex_lock(c->writers);
			rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
			pthread_mutex_unlock(c->writers);
		}
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warn("store_checkpoint_failed", "path=%s error=%s", c->path,
			         log_quote(sqlite3_errmsg(db)));
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	sqlite3_close_v2(db);
	return NULL;
}

struct sq_checkpointer *sq_checkpointer_new(const char *path, pthread_mutex_t *writers)
{
	struct sq_checkpointer *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (pthread_mutex_init(&c->lock, NULL)) {
		free(c);
		return NULL;
	}
	if (pthread_cond_init(&c->wake, NULL)) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->writers = writers;
	return c;
}

/* The WAL hook: on the committing thread, with its connection held. */
static int on_commit(void *ctx, sqlite3 *db, const char *schema, int pages)
{
	struct sq_checkpointer *c = ctx;
	if (pages >= SQ_CKPT_WRITER_PAGES) {
		/* Not caught up: bound the file the way SQLite's own would. */
		sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		return SQLITE_OK;
	}
	if (pages < SQ_CKPT_POKE_PAGES)
		return SQLITE_OK;
	pthread_mutex_lock(&c->lock);
	if (!c->started && !c->stopping) /* the thread starts with the first need */
		c->started = pthread_create(&c->thread, NULL, run, c) == 0;
	c->pending = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	return SQLITE_OK;
}

void sq_checkpointer_attach(struct sq_checkpointer *c, sqlite3 *db)
{
	sqlite3_wal_hook(db, on_commit, c);
}

void sq_checkpointer_free(struct sq_checkpointer *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_signal(&c->wake);
	bool started = c->started;
	pthread_mutex_unlock(&c->lock);
	if (started)
		pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

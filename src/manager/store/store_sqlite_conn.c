/* store_sqlite_conn.c - the shared SQLite connection of a database file and
 * its checkpoint thread (see store_sqlite_conn.h for why). */
#include "store_sqlite_conn.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Pages in the WAL after which the checkpoint thread copies them back (as
 * SQLite's own default), and after which a commit does it itself because
 * the thread is behind (the WAL stays bounded: 4 KiB pages, about 200 MB). */
#define CKPT_FRAMES 1000
#define CKPT_INLINE_FRAMES 50000
#define CKPT_TAIL_FRAMES 256
/* Threads of one process holding connections at once: a handful. */
#define MAX_HELD 8

struct sq_conn {
	sqlite3 *db;
	char path[512];
	int refs;
	bool shared; /* in the registry (a file, not ":memory:") */
	struct sq_conn *next;
	pthread_mutex_t lock;       /* held by the handle using db */
	struct timespec busy_since; /* under lock: one waiter at a time */

	/* The checkpoint thread, its connection and its wake-up. */
	pthread_t ckpt_thread;
	bool ckpt_started;
	pthread_mutex_t ckpt_mu;
	pthread_cond_t ckpt_cv;
	bool ckpt_wanted, ckpt_running, ckpt_stop;
	int ckpt_copied; /* WAL pages copied back by the last checkpoint */
	sqlite3 *ckpt_db;
};

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sq_conn *registry;

/* The connections this thread holds: a second handle of the same thread
 * must not wait for the first. */
static _Thread_local struct sq_conn *held[MAX_HELD];

sqlite3 *sq_conn_db(const struct sq_conn *c)
{
	return c->db;
}

int sq_conn_lock(struct sq_conn *c, struct errinfo *e)
{
	int slot = -1;
	for (int i = 0; i < MAX_HELD; i++) {
		if (held[i] == c)
			return errinfo_set(e, 503, "store_busy", NULL,
			                   "the database %s is in use by another handle of this thread, "
			                   "which holds an open transaction: retry", c->path);
		if (!held[i] && slot < 0)
			slot = i;
	}
	if (slot < 0)
		return errinfo_set(e, 500, "internal", NULL, "this thread holds too many store handles");
	pthread_mutex_lock(&c->lock);
	held[slot] = c;
	return 0;
}

void sq_conn_unlock(struct sq_conn *c)
{
	for (int i = 0; i < MAX_HELD; i++)
		if (held[i] == c)
			held[i] = NULL;
	pthread_mutex_unlock(&c->lock);
}

/* Waits for a writer of another process (an sqlite3 shell, a second vdcd
 * by mistake, the checkpoint thread's short lock) in steps from 20 µs up to
 * 1 ms, until SQ_BUSY_TIMEOUT_MS. SQLite's own handler sleeps 1, 2, 5, 10 ...
 * ms: milliseconds of wait for a lock freed in microseconds. */
static int on_busy(void *ctx, int count)
{
	struct sq_conn *c = ctx;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (count == 0)
		c->busy_since = now;
	long long waited_ms = (long long)(now.tv_sec - c->busy_since.tv_sec) * 1000 +
	                      (now.tv_nsec - c->busy_since.tv_nsec) / 1000000;
	if (waited_ms >= SQ_BUSY_TIMEOUT_MS)
		return 0;
	long us = count < 6 ? 20L << count : 1000;
	struct timespec nap = {0, (us > 1000 ? 1000 : us) * 1000};
	nanosleep(&nap, NULL);
	return 1;
}

static void *checkpointer(void *arg)
{
	struct sq_conn *c = arg;
	pthread_mutex_lock(&c->ckpt_mu);
	for (;;) {
		while (!c->ckpt_wanted && !c->ckpt_stop)
			pthread_cond_wait(&c->ckpt_cv, &c->ckpt_mu);
		if (c->ckpt_stop)
			break;
		c->ckpt_wanted = false;
		c->ckpt_running = true;
		pthread_mutex_unlock(&c->ckpt_mu);
		int nlog = 0, ndone = 0;
		int rc = sqlite3_wal_checkpoint_v2(c->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &ndone);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warn("store_checkpoint_failed", "db=%s error=%s", log_quote(c->path),
			         log_quote(sqlite3_errmsg(c->ckpt_db)));
		pthread_mutex_lock(&c->ckpt_mu);
		c->ckpt_running = false;
		if (rc == SQLITE_OK && ndone > 0)
			c->ckpt_copied = ndone;
	}
	pthread_mutex_unlock(&c->ckpt_mu);
	return NULL;
}

/* After each commit of the shared connection, with the WAL's page count
 * since it last started over. The thread copies the bulk of the pages while
 * commits go on; but the WAL starts over (instead of growing) only when a
 * write begins with every page already copied, which a thread racing the
 * writers rarely sees. So once the thread has copied all but a tail, the
 * commit copies that tail itself: a few hundred pages, not thousands. */
static int on_wal(void *ctx, sqlite3 *db, const char *name, int frames)
{
	struct sq_conn *c = ctx;
	if (frames < CKPT_FRAMES)
		return SQLITE_OK;
	bool inline_ckpt = !c->ckpt_started || frames >= CKPT_INLINE_FRAMES;
	if (c->ckpt_started) {
		pthread_mutex_lock(&c->ckpt_mu);
		if (c->ckpt_copied > frames) /* the WAL started over since */
			c->ckpt_copied = 0;
		bool idle = !c->ckpt_wanted && !c->ckpt_running;
		if (idle && frames - c->ckpt_copied <= CKPT_TAIL_FRAMES) {
			inline_ckpt = true;
		} else if (idle && !inline_ckpt) {
			c->ckpt_wanted = true;
			pthread_cond_signal(&c->ckpt_cv);
		}
		pthread_mutex_unlock(&c->ckpt_mu);
	}
	if (inline_ckpt) {
		int nlog = 0, ndone = 0;
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &nlog, &ndone);
		if (c->ckpt_started) {
			pthread_mutex_lock(&c->ckpt_mu);
			c->ckpt_copied = ndone > 0 ? ndone : 0;
			pthread_mutex_unlock(&c->ckpt_mu);
		}
	}
	return SQLITE_OK;
}

/* The checkpoint thread's own connection; without one, commits checkpoint
 * inline (on_wal), as SQLite does by default. */
static void start_checkpointer(struct sq_conn *c)
{
	if (sqlite3_open_v2(c->path, &c->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		log_warn("store_checkpointer_off", "db=%s error=%s", log_quote(c->path),
		         log_quote(c->ckpt_db ? sqlite3_errmsg(c->ckpt_db) : "out of memory"));
		sqlite3_close_v2(c->ckpt_db);
		c->ckpt_db = NULL;
		return;
	}
	sqlite3_busy_timeout(c->ckpt_db, 1000);
	/* A connection checkpoints only once it has seen the WAL: until then
	 * SQLite takes the file for a rollback-journal one and does nothing. */
	if (sqlite3_exec(c->ckpt_db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK) {
		log_warn("store_checkpointer_off", "db=%s error=%s", log_quote(c->path),
		         log_quote(sqlite3_errmsg(c->ckpt_db)));
		sqlite3_close_v2(c->ckpt_db);
		c->ckpt_db = NULL;
		return;
	}
	pthread_mutex_init(&c->ckpt_mu, NULL);
	pthread_cond_init(&c->ckpt_cv, NULL);
	/* The thread takes no signals: vdcd blocks SIGTERM in its threads and
	 * reads it from a signalfd, and a store may be opened before that; a
	 * thread with SIGTERM open would let it kill the process. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int prc = pthread_create(&c->ckpt_thread, NULL, checkpointer, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (prc != 0) {
		log_warn("store_checkpointer_off", "db=%s error=\"cannot start a thread\"", log_quote(c->path));
		pthread_cond_destroy(&c->ckpt_cv);
		pthread_mutex_destroy(&c->ckpt_mu);
		sqlite3_close_v2(c->ckpt_db);
		c->ckpt_db = NULL;
		return;
	}
	c->ckpt_started = true;
}

static void stop_checkpointer(struct sq_conn *c)
{
	if (!c->ckpt_started)
		return;
	pthread_mutex_lock(&c->ckpt_mu);
	c->ckpt_stop = true;
	pthread_cond_signal(&c->ckpt_cv);
	pthread_mutex_unlock(&c->ckpt_mu);
	pthread_join(c->ckpt_thread, NULL);
	c->ckpt_started = false;
	pthread_cond_destroy(&c->ckpt_cv);
	pthread_mutex_destroy(&c->ckpt_mu);
	sqlite3_close_v2(c->ckpt_db);
	c->ckpt_db = NULL;
}

static int fail(struct sq_conn *c, int rc, const char *msg, struct errinfo *e)
{
	if ((rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_PERM ||
	    (rc & 0xff) == SQLITE_READONLY)
		return errinfo_set(e, 503, "store_unavailable", NULL,
		                   "cannot use the database %s (%s): check that its directory exists and "
		                   "that vdcd may write there", c->path, msg);
	if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
		return errinfo_set(e, 500, "store_corrupt", NULL,
		                   "the database %s is damaged or not an SQLite database (%s): restore it "
		                   "from a backup", c->path, msg);
	if ((rc & 0xff) == SQLITE_BUSY)
		return errinfo_set(e, 503, "store_busy", NULL,
		                   "the database %s stayed locked by another writer for %d ms (%s): retry",
		                   c->path, SQ_BUSY_TIMEOUT_MS, msg);
	return errinfo_set(e, 500, "store_error", NULL, "SQLite: %s", msg);
}

/* WAL, so that a reader of another process never waits for the writer (a
 * file system without shared memory refuses it: reported, and the store
 * still works); NORMAL sync (a commit is durable at the next checkpoint,
 * consistent always); temporary tables in memory (a sort or a statement journal made a file per statement). */
static int setup(struct sq_conn *c, struct errinfo *e)
{
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(stmt, 0);
		if (!mode || strcmp(mode, "wal"))
			log_warn("store_no_wal", "journal_mode=%s", mode ? mode : "none");
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		fail(c, sqlite3_extended_errcode(c->db), sqlite3_errmsg(c->db), e);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_OK)
		return -1;
	char *msg = NULL;
	rc = sqlite3_exec(c->db,
	                  "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY",
	                  NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fail(c, sqlite3_extended_errcode(c->db), msg ? msg : sqlite3_errstr(rc), e);
	sqlite3_free(msg);
	return rc == SQLITE_OK ? 0 : -1;
}

static void conn_free(struct sq_conn *c)
{
	stop_checkpointer(c);
	/* The last connection of the file: SQLite checkpoints and removes the WAL. */
	sqlite3_close_v2(c->db);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static struct sq_conn *conn_open(const char *path, struct errinfo *e)
{
	struct sq_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		errinfo_set(e, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	pthread_mutex_init(&c->lock, NULL);
	c->refs = 1;
	c->shared = strcmp(path, ":memory:") != 0;
	/* Created 0600 here: documents and token hashes are nobody else's. */
	int fd = c->shared ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -2;
	if (fd == -1) {
		errinfo_set(e, 503, "store_unavailable", NULL,
		            "cannot open the database %s: %s: check that its directory exists and that "
		            "vdcd may write there", path, strerror(errno));
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	if (fd >= 0)
		close(fd);
	/* NOMUTEX: the handles serialize on c->lock. */
	int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                         NULL);
	if (rc != SQLITE_OK) {
		fail(c, rc, c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc), e);
		conn_free(c);
		return NULL;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_handler(c->db, on_busy, c);
	if (setup(c, e) < 0) {
		conn_free(c);
		return NULL;
	}
	if (c->shared) {
		start_checkpointer(c);
		sqlite3_wal_hook(c->db, on_wal, c); /* replaces SQLite's autocheckpoint */
	}
	return c;
}

struct sq_conn *sq_conn_get(const char *path, struct errinfo *e)
{
	if (!strcmp(path, ":memory:"))
		return conn_open(path, e);
	pthread_mutex_lock(&registry_mu);
	struct sq_conn *c;
	for (c = registry; c; c = c->next)
		if (!strcmp(c->path, path))
			break;
	if (c) {
		c->refs++;
	} else if ((c = conn_open(path, e))) {
		c->next = registry;
		registry = c;
	}
	pthread_mutex_unlock(&registry_mu);
	return c;
}

void sq_conn_put(struct sq_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&registry_mu);
	bool last = --c->refs == 0;
	if (last && c->shared)
		for (struct sq_conn **p = &registry; *p; p = &(*p)->next)
			if (*p == c) {
				*p = c->next;
				break;
			}
	pthread_mutex_unlock(&registry_mu);
	if (last)
		conn_free(c);
}

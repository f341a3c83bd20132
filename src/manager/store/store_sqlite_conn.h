/* store_sqlite_conn.h - one SQLite connection per database file per process,
 * shared by every store handle of that file (vdcd's API thread and its task
 * workers), and a thread that checkpoints its WAL.
 *
 * Why one connection: in WAL mode a connection empties its whole page cache
 * whenever it sees another connection's commit, so two connections writing
 * by turns (a create on the API thread, its task on a worker) each read most
 * of their pages again from the file: about 150 reads per create, and lock
 * waits in between. One connection keeps one warm cache; the handles take
 * turns on it under a mutex held for a statement, or for a transaction from
 * BEGIN to COMMIT, so no handle ever sees another's open transaction.
 *
 * Why a checkpoint thread: SQLite copies the WAL back into the database
 * (a checkpoint, with two fsyncs) inside whichever commit crossed the
 * threshold, which made that create wait milliseconds. Here commits never
 * checkpoint; the WAL hook wakes a thread that checkpoints on its own
 * connection (PASSIVE: writers go on appending meanwhile). */
#ifndef VDC_STORE_SQLITE_CONN_H
#define VDC_STORE_SQLITE_CONN_H

#include "errinfo.h"

#include <sqlite3.h>

struct sq_conn;

/* The connection of path (":memory:" is never shared), opened and set up
 * (WAL, synchronous=NORMAL, foreign keys, the busy handler) on first use.
 * NULL with e. */
struct sq_conn *sq_conn_get(const char *path, struct errinfo *e);
/* Drops one reference; the last closes the connection (its checkpoint
 * thread first). */
void sq_conn_put(struct sq_conn *c);
sqlite3 *sq_conn_db(const struct sq_conn *c);

/* Takes the connection for the calling thread; 0, or -1 with e when this
 * thread already holds it through another handle (it would wait for itself:
 * the old two-connection store answered "busy" there, and so does this). */
int sq_conn_lock(struct sq_conn *c, struct errinfo *e);
void sq_conn_unlock(struct sq_conn *c);

/* The busy timeout, for messages. */
#define SQ_BUSY_TIMEOUT_MS 5000

#endif

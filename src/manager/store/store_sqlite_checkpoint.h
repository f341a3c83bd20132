/* store_sqlite_checkpoint.h - WAL checkpoints off the committing thread
 * (store_sqlite_checkpoint.c). */
#ifndef VDC_STORE_SQLITE_CHECKPOINT_H
#define VDC_STORE_SQLITE_CHECKPOINT_H

#include <pthread.h>
#include <sqlite3.h>

struct sq_checkpointer;

/* For the database file at path, whose writers share one connection used
 * under the mutex writers; its thread starts at the first need. NULL when
 * out of memory. */
struct sq_checkpointer *sq_checkpointer_new(const char *path, pthread_mutex_t *writers);
/* Replaces db's automatic checkpoint with c (sqlite3_wal_hook). */
void sq_checkpointer_attach(struct sq_checkpointer *c, sqlite3 *db);
/* Stops the thread; call before closing the connection it is attached to. */
void sq_checkpointer_free(struct sq_checkpointer *c);

#endif

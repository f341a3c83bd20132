/* store_sqlite_checkpoint.h - WAL checkpoints off the committing thread
 * (store_sqlite_checkpoint.c). */
#ifndef VDC_STORE_SQLITE_CHECKPOINT_H
#define VDC_STORE_SQLITE_CHECKPOINT_H

#include <pthread.h>
#include <sqlite3.h>

/* WAL pages (frames) at which the thread is woken, and past which the
 * writer checkpoints itself (about 32 and 160 MB with 4 KiB pages). A
 * checkpoint writes each page the WAL holds once and syncs the file: the
 * longer the WAL, the more of a create's index pages (the same few hot
 * leaves, written by every create) are copied once for many commits. At
 * 1,000 pages the thread ran some 30 times a second under 600 creates/s
 * and took 0.3 ms of CPU per create; at 8,000, creates/s rose 573 -> 925
 * and vdcd's CPU per create fell 2,313 -> 1,400 us (bench/run.sh scale).
 * 16,000 was slower again: a read looks a page up in the WAL's index one
 * 4,096-frame segment at a time. */
#define SQ_CKPT_POKE_PAGES 8000
#define SQ_CKPT_WRITER_PAGES 40000

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

/* tasks.c - every long operation is a task in the store: queued, running,
 * succeeded or failed, with progress. Workers (threads, each with its own
 * store handle) claim queued tasks with an optimistic update, so a task runs
 * once. Every operation is idempotent; after a crash, tasks left running are
 * queued again and finish or fail cleanly. */
#include "manager.h"

#include "crashpoint.h"
#include "fault_scope.h"
#include "log.h"
#include "task_ops.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

json_t *task_new(struct store *st, const char *op, const char *target_kind, const char *target_id,
                 const char *project_id, const char *actor, json_t *args, struct errinfo *e)
{
	char id[37], now[32];
	mgr_uuid(id);
	mgr_now_iso(now);
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:o}", "id", id, "name",
	                        id, "op", op, "target_kind", target_kind, "target_id", target_id,
	                        "state", "queued", "progress", 0, "message", "queued", "actor", actor,
	                        "args", args ? args : json_object());
	if (project_id) /* the task is seen by those who see its target */
		json_object_set_new(doc, "project_id", json_string(project_id));
	json_t *stored = NULL;
	int rc = store_create(st, STORE_TASK, doc, &stored, e);
	json_decref(doc);
	if (rc == 0)
		fault_scope_task_queued(id);
	return rc < 0 ? NULL : stored;
}

void tasks_wake(struct mgr *m)
{
	pthread_mutex_lock(&m->lock);
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->lock);
}

int task_update(struct task_ctx *t, const char *state, int progress, const char *message)
{
	json_t *upd = json_deep_copy(t->doc);
	if (state)
		json_object_set_new(upd, "state", json_string(state));
	if (progress >= 0)
		json_object_set_new(upd, "progress", json_integer(progress));
	if (message)
		json_object_set_new(upd, "message", json_string(message));
	json_t *stored = NULL;
	struct errinfo e = {0};
	int rc = store_update(t->st, STORE_TASK, upd, json_integer_value(json_object_get(t->doc, "version")),
	                      &stored, &e);
	json_decref(upd);
	if (rc == 0) {
		json_decref(t->doc);
		t->doc = stored;
	} else {
		log_warn("task_update_failed", "task=%s error=%s",
		         json_string_value(json_object_get(t->doc, "id")), log_quote(e.message));
	}
	return rc;
}

static void finish(struct mgr *m, struct task_ctx *t, int rc, json_t *result, const struct errinfo *e)
{
	char now[32];
	mgr_now_iso(now);
	const char *op = json_string_value(json_object_get(t->doc, "op"));
	/* A task left "running" would stay so until vdcd restarts: the end is
	 * written again when the store failed (or memory ran out) the first
	 * time, and a document that could not be built completely is not
	 * written (a "succeeded" without its result would be a lie). The end
	 * and its audit event are one commit (a commit is most of what a short
	 * task costs). */
	for (int attempt = 0; attempt < 5; attempt++) {
		json_t *upd = json_deep_copy(t->doc);
		int bad = !upd;
		bad |= json_object_set_new(upd, "state", json_string(rc == 0 ? "succeeded" : "failed"));
		bad |= json_object_set_new(upd, "progress", json_integer(100));
		bad |= json_object_set_new(upd, "finished_at", json_string(now));
		bad |= json_object_set_new(upd, "message", json_string(rc == 0 ? "done" : e->message));
		if (result)
			bad |= json_object_set(upd, "result", result);
		if (rc != 0)
			bad |= json_object_set_new(upd, "error", json_pack("{s:s, s:s}", "code",
			                                                   e->code[0] ? e->code : "failed", "message",
			                                                   e->message));
		struct errinfo ue = {0}, ee = {0};
		int urc = -1;
		if (bad) {
			errinfo_set(&ue, 500, "internal", NULL, "out of memory");
		} else if (store_begin(t->st, &ue) == 0) {
			urc = store_update(t->st, STORE_TASK, upd, json_integer_value(json_object_get(t->doc, "version")),
			                   NULL, &ue);
			if (urc == 0)
				store_event_add(t->st, json_string_value(json_object_get(t->doc, "actor")), op,
				                json_string_value(json_object_get(t->doc, "target_kind")),
				                json_string_value(json_object_get(t->doc, "target_id")),
				                rc == 0 ? "succeeded" : "failed", rc == 0 ? "" : e->message, &ee);
			if (urc == 0 && store_commit(t->st, &ue) < 0)
				urc = -1;
			else if (urc < 0)
				store_rollback(t->st);
		}
		json_decref(upd);
		if (urc == 0)
			break;
		log_error("task_finish_failed", "task=%s attempt=%d error=%s",
		          json_string_value(json_object_get(t->doc, "id")), attempt + 1, log_quote(ue.message));
		if (ue.status == 409) /* someone else wrote it: not ours to overwrite */
			break;
		usleep(20000 * (attempt + 1));
	}
	log_event(rc == 0 ? LOG_INFO : LOG_WARN, rc == 0 ? "task_succeeded" : "task_failed",
	          "task=%s op=%s error=%s", json_string_value(json_object_get(t->doc, "id")), op,
	          log_quote(rc == 0 ? "" : e->message));
	pthread_mutex_lock(&m->lock);
	if (rc == 0)
		m->tasks_done++;
	else
		m->tasks_failed++;
	pthread_mutex_unlock(&m->lock);
}

/* Claims the oldest queued task, or returns NULL. Reads one task at a time:
 * a task document carries its placement report (2 KiB and more), and the
 * queue behind a busy API is hundreds deep, so reading a page of them to
 * claim one cost more than the rest of the task (a 409 means another worker
 * took it: the next read finds the one after). */
static json_t *claim(struct store *st)
{
	struct store_filter f = {"state", "queued"};
	for (int attempt = 0; attempt < 8; attempt++) {
		struct errinfo e = {0};
		char *next = NULL;
		char *text = store_list_text(st, STORE_TASK, &f, 1, NULL, 1, &next, &e);
		free(next);
		if (!text)
			return NULL;
		json_t *list = json_loads(text, 0, NULL);
		free(text);
		json_t *t = json_array_get(list, 0);
		if (!t) {
			json_decref(list);
			return NULL;
		}
		char now[32];
		mgr_now_iso(now);
		json_t *upd = json_deep_copy(t);
		json_object_set_new(upd, "state", json_string("running"));
		json_object_set_new(upd, "started_at", json_string(now));
		json_object_set_new(upd, "message", json_string("running"));
		json_t *got = NULL;
		struct errinfo ue = {0};
		int rc = store_update(st, STORE_TASK, upd, json_integer_value(json_object_get(t, "version")),
		                      &got, &ue);
		json_decref(upd);
		json_decref(list);
		if (rc == 0)
			return got;
		if (ue.status != 409)
			return NULL;
	}
	return NULL;
}

static void *worker_main(void *arg)
{
	struct mgr *m = arg;
	struct errinfo e = {0};
	struct store *st = store_open(m->cfg.store_url, &e);
	if (!st) {
		log_error("worker_store_failed", "error=%s", log_quote(e.message));
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&m->lock);
		bool stop = m->stopping;
		pthread_mutex_unlock(&m->lock);
		if (stop)
			break;
		json_t *doc = claim(st);
		if (!doc) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_mutex_lock(&m->lock);
			if (!m->stopping)
				pthread_cond_timedwait(&m->wake, &m->lock, &ts);
			pthread_mutex_unlock(&m->lock);
			continue;
		}
		struct task_ctx t = {.m = m, .st = st, .doc = doc};
		struct errinfo te = {0};
		json_t *result = NULL;
		char op[64]; /* a copy: the task document is replaced as it runs */
		snprintf(op, sizeof(op), "%s", json_string_value(json_object_get(doc, "op")) ?: "");
		crash_point("task:claimed");
		bool armed = fault_scope_task_begin(json_string_value(json_object_get(doc, "id")));
		int rc = task_run_op(&t, op, &result, &te);
		crash_point("task:before_finish");
		finish(m, &t, rc, result, &te);
		if (armed)
			fault_scope_task_end();
		json_decref(result);
		json_decref(t.doc);
	}
	store_close(st);
	return NULL;
}

int tasks_start_workers(struct mgr *m, struct errinfo *e)
{
	for (int i = 0; i < m->cfg.workers && i < 16; i++) {
		if (pthread_create(&m->workers[i], NULL, worker_main, m) != 0)
			return errinfo_set(e, 500, "thread", NULL, "cannot start task worker %d", i);
		m->nworkers++;
	}
	return 0;
}

void tasks_stop_workers(struct mgr *m)
{
	pthread_mutex_lock(&m->lock);
	m->stopping = true;
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->lock);
	for (int i = 0; i < m->nworkers; i++)
		pthread_join(m->workers[i], NULL);
	m->nworkers = 0;
}

void tasks_recover(struct mgr *m)
{
	struct store_filter f = {"state", "running"};
	for (;;) {
		struct errinfo e = {0};
		char *next = NULL;
		char *text = store_list_text(m->st, STORE_TASK, &f, 1, NULL, 100, &next, &e);
		free(next);
		if (!text)
			return;
		json_t *list = json_loads(text, 0, NULL);
		free(text);
		size_t n = json_array_size(list), i, requeued = 0;
		json_t *t;
		json_array_foreach(list, i, t) {
			json_t *upd = json_deep_copy(t);
			json_object_set_new(upd, "state", json_string("queued"));
			json_object_set_new(upd, "message", json_string("queued again after a vdcd restart"));
			struct errinfo ue = {0};
			if (store_update(m->st, STORE_TASK, upd, json_integer_value(json_object_get(t, "version")),
			                 NULL, &ue) == 0) {
				requeued++;
				log_info("task_requeued", "task=%s op=%s", json_string_value(json_object_get(t, "id")),
				         json_string_value(json_object_get(t, "op")));
			} else {
				log_error("task_requeue_failed", "task=%s error=%s",
				          json_string_value(json_object_get(t, "id")), log_quote(ue.message));
			}
			json_decref(upd);
		}
		json_decref(list);
		/* Done, or stuck on tasks the store will not update: never spin. */
		if (n == 0 || requeued == 0)
			return;
	}
}

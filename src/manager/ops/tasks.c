/* tasks.c - every long operation is a task in the store: queued, running,
 * succeeded, failed or cancelled, with progress. Workers (threads, each with its own
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
                 const char *target_name, const char *project_id, const char *actor, json_t *args,
                 struct errinfo *e)
{
	char id[37], now[32];
	mgr_uuid(id);
	mgr_now_iso(now);
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:o}", "id", id, "name",
	                        id, "op", op, "target_kind", target_kind, "target_id", target_id,
	                        "state", "queued", "progress", 0, "message", "queued", "actor", actor,
	                        "args", args ? args : json_object());
	if (target_name)
		json_object_set_new(doc, "target_name", json_string(target_name));
	if (project_id) /* the task is seen by those who see its target */
		json_object_set_new(doc, "project_id", json_string(project_id));
	json_t *stored = NULL;
	int rc = store_create(st, STORE_TASK, doc, &stored, e);
	json_decref(doc);
	if (rc == 0)
		fault_scope_task_queued(id);
	return rc < 0 ? NULL : stored;
}

json_t *tasks_under_way(struct store *st, const char *op)
{
	json_t *all = json_array();
	static const char *const states[] = {"queued", "running"};
	for (int k = 0; k < 2; k++) {
		struct store_filter f[] = {{"op", op}, {"state", states[k]}};
		json_t *tasks = store_list_all(st, STORE_TASK, f, 2, &(struct errinfo){0});
		json_array_extend(all, tasks);
		json_decref(tasks);
	}
	return all;
}

void tasks_wake(struct mgr *m)
{
	pthread_mutex_lock(&m->lock);
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->lock);
}

/* live (consumed; NULL leaves it) is the task's "live" figures. */
static int update_fields(struct task_ctx *t, const char *state, int progress, const char *message, json_t *live)
{
	json_t *upd = json_deep_copy(t->doc);
	if (live)
		json_object_set_new(upd, "live", live);
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

int task_update(struct task_ctx *t, const char *state, int progress, const char *message)
{
	return update_fields(t, state, progress, message, NULL);
}

int task_update_live(struct task_ctx *t, int progress, const char *message, json_t *live)
{
	return update_fields(t, NULL, progress, message, live);
}

int task_checkpoint(struct task_ctx *t, struct errinfo *e)
{
	pthread_mutex_lock(&t->m->lock);
	bool asked = t->m->running[t->slot].cancel_asked;
	pthread_mutex_unlock(&t->m->lock);
	return asked ? errinfo_set(e, 409, "cancelled", NULL, "cancelled on request") : 0;
}

int task_point_of_no_return(struct task_ctx *t, struct errinfo *e)
{
	pthread_mutex_lock(&t->m->lock);
	struct task_running *r = &t->m->running[t->slot];
	bool asked = r->cancel_asked;
	r->cancellable = false;
	pthread_mutex_unlock(&t->m->lock);
	return asked ? errinfo_set(e, 409, "cancelled", NULL, "cancelled on request") : 0;
}

static const char *end_state(int rc, const struct errinfo *e)
{
	return rc == 0 ? "succeeded" : !strcmp(e->code, "cancelled") ? "cancelled" : "failed";
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
		bad |= json_object_set_new(upd, "state", json_string(end_state(rc, e)));
		bad |= json_object_set_new(upd, "progress", json_integer(100));
		bad |= json_object_set_new(upd, "finished_at", json_string(now));
		bad |= json_object_set_new(upd, "message", json_string(rc == 0 ? json_string_value(json_object_get(result, "message")) ?: "done"
		                                                                 : e->message));
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
				                end_state(rc, e), rc == 0 ? "" : e->message, &ee);
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
	if (op && !strcmp(op, "host.evacuate")) {
		const char *end = end_state(rc, e);
		m->evacuations[!strcmp(end, "succeeded") ? 0 : !strcmp(end, "cancelled") ? 2 : 1]++;
	}
	if (op && !strcmp(op, "vm.migrate")) {
		const char *end = end_state(rc, e);
		m->migrations[!strcmp(end, "succeeded") ? 0 : !strcmp(end, "cancelled") ? 2 : 1]++;
		if (rc == 0) {
			m->migration_last_total_ms = json_integer_value(json_object_get(result, "total_ms"));
			m->migration_last_downtime_ms = json_integer_value(json_object_get(result, "downtime_ms"));
			m->migration_disk_bytes += (uint64_t)json_integer_value(json_object_get(result, "copied_bytes"));
		}
	}
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

struct worker_arg {
	struct mgr *m;
	int slot;
};

/* The worker's running task, as the API's cancel sees it. */
static void set_running(struct mgr *m, int slot, const char *id, const char *op)
{
	pthread_mutex_lock(&m->lock);
	struct task_running *r = &m->running[slot];
	snprintf(r->id, sizeof(r->id), "%s", id ? id : "");
	r->cancellable = id && !task_op_not_cancellable(op);
	r->cancel_asked = false;
	pthread_mutex_unlock(&m->lock);
}

static void *worker_main(void *arg)
{
	struct mgr *m = ((struct worker_arg *)arg)->m;
	int slot = ((struct worker_arg *)arg)->slot;
	struct errinfo e = {0};
	struct store *st = store_open_sibling(m->st, &e);
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
		struct task_ctx t = {.m = m, .st = st, .doc = doc, .slot = slot};
		struct errinfo te = {0};
		json_t *result = NULL;
		char op[64]; /* a copy: the task document is replaced as it runs */
		snprintf(op, sizeof(op), "%s", json_string_value(json_object_get(doc, "op")) ?: "");
		set_running(m, slot, json_string_value(json_object_get(doc, "id")), op);
		crash_point("task:claimed");
		bool armed = fault_scope_task_begin(json_string_value(json_object_get(doc, "id")));
		int rc = task_run_op(&t, op, &result, &te);
		crash_point("task:before_finish");
		finish(m, &t, rc, result, &te);
		set_running(m, slot, NULL, NULL);
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
	static struct worker_arg args[16];
	for (int i = 0; i < m->cfg.workers && i < 16; i++) {
		args[i] = (struct worker_arg){m, i};
		if (pthread_create(&m->workers[i], NULL, worker_main, &args[i]) != 0)
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

/* A queued task becomes cancelled, with its audit event, in one commit;
 * then what its request did is given back. 1 when a worker claimed it
 * first (409 on the write: the caller reads it again), 0, or -1 with e. */
static int cancel_queued(struct mgr *m, json_t *task, const char *actor, json_t **out, struct errinfo *e)
{
	char now[32];
	mgr_now_iso(now);
	json_t *upd = json_deep_copy(task);
	int bad = !upd;
	bad |= json_object_set_new(upd, "state", json_string("cancelled"));
	bad |= json_object_set_new(upd, "progress", json_integer(100));
	bad |= json_object_set_new(upd, "finished_at", json_string(now));
	bad |= json_object_set_new(upd, "message", json_string("cancelled before it ran"));
	bad |= json_object_set_new(upd, "error", json_pack("{s:s, s:s}", "code", "cancelled", "message",
	                                                   "cancelled before it ran"));
	if (bad) {
		json_decref(upd);
		return errinfo_set(e, 500, "internal", NULL, "out of memory");
	}
	int rc = store_begin(m->st, e);
	if (rc == 0)
		rc = store_update(m->st, STORE_TASK, upd, json_integer_value(json_object_get(task, "version")), out, e);
	if (rc == 0)
		rc = store_event_add(m->st, actor, json_string_value(json_object_get(task, "op")),
		                     json_string_value(json_object_get(task, "target_kind")),
		                     json_string_value(json_object_get(task, "target_id")), "cancelled",
		                     "cancelled before it ran", e);
	if (rc == 0)
		rc = store_commit(m->st, e);
	else
		store_rollback(m->st);
	json_decref(upd);
	if (rc < 0) {
		json_decref(*out);
		*out = NULL;
		return e->status == 409 ? 1 : -1;
	}
	task_op_undo_queued(m->st, task);
	log_info("task_cancelled", "task=%s op=%s when=queued", json_string_value(json_object_get(task, "id")),
	         json_string_value(json_object_get(task, "op")));
	return 0;
}

/* A running task is asked to stop at its next cancel point. */
static int cancel_running(struct mgr *m, json_t *task, struct errinfo *e)
{
	const char *id = json_string_value(json_object_get(task, "id")) ?: "";
	const char *op = json_string_value(json_object_get(task, "op")) ?: "";
	pthread_mutex_lock(&m->lock);
	struct task_running *r = NULL;
	for (int i = 0; i < m->nworkers; i++)
		if (!strcmp(m->running[i].id, id))
			r = &m->running[i];
	bool can = r && r->cancellable;
	if (can)
		r->cancel_asked = true;
	pthread_mutex_unlock(&m->lock);
	if (can) {
		log_info("task_cancel_asked", "task=%s op=%s", id, op);
		return 0;
	}
	const char *why = task_op_not_cancellable(op);
	if (!r && !why) /* between its claim and its run, or its end */
		return errinfo_set(e, 409, "cannot_cancel", NULL,
		                   "task %s (%s) is starting or ending on a worker just now; ask again in a moment", id, op);
	if (!why)
		return errinfo_set(e, 409, "cannot_cancel", NULL,
		                   "task %s (%s) can no longer be cancelled: the host is already carrying it out, and "
		                   "what it makes will be there when it ends (delete it then)", id, op);
	return errinfo_set(e, 409, "cannot_cancel", NULL, "task %s (%s) is running and cannot be cancelled: %s", id,
	                   op, why);
}

int tasks_cancel(struct mgr *m, json_t *task, const char *actor, json_t **out, struct errinfo *e)
{
	*out = NULL;
	json_t *cur = json_incref(task);
	for (int attempt = 0; attempt < 3; attempt++) {
		const char *state = json_string_value(json_object_get(cur, "state")) ?: "";
		const char *id = json_string_value(json_object_get(cur, "id")) ?: "";
		int rc;
		if (!strcmp(state, "queued")) {
			struct errinfo qe = {0};
			rc = cancel_queued(m, cur, actor, out, &qe);
			if (rc == 1) { /* a worker took it meanwhile: as it is now */
				json_decref(cur);
				if (!(cur = store_get(m->st, STORE_TASK, id, e)))
					return -1;
				continue;
			}
			if (rc < 0)
				*e = qe;
		} else if (!strcmp(state, "running")) {
			rc = cancel_running(m, cur, e);
			if (rc == 0)
				*out = json_incref(cur);
		} else {
			rc = errinfo_set(e, 409, "task_ended", NULL, "task %s already ended (%s): nothing to cancel", id,
			                 state);
		}
		json_decref(cur);
		return rc;
	}
	json_decref(cur);
	return errinfo_set(e, 409, "cannot_cancel", NULL, "the task changed too often to cancel; ask again");
}

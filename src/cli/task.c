/* task.c - 'vdc task list|get|watch', and the wait every long operation
 * ends with: poll the task, show its progress, report how it ended. */
#include "cli.h"

#include "client.h"
#include "progress.h"
#include "table.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POLL_FIRST_MS 200
#define POLL_MAX_MS 1000
/* vdcd may restart while we wait (it picks its tasks up again): keep asking
 * this long before giving up. */
#define UNREACHABLE_GRACE_MS 30000

static char interrupt_msg[256];

/* Ctrl-C stops the waiting, not the task: say how to pick it up again. */
static void on_interrupt(int sig)
{
	ssize_t n = write(STDERR_FILENO, interrupt_msg, strlen(interrupt_msg));
	(void)n;
	_exit(128 + sig);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0)
		;
}

static void report_failure(struct cli *c, const json_t *t, const char *id)
{
	const json_t *e = json_object_get(t, "error");
	const char *msg = json_string_value(json_object_get(e, "message")) ?:
	                  json_string_value(json_object_get(t, "message")) ?: "no reason given";
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *op = json_string_value(json_object_get(t, "op")) ?: "task";
	char *clean = text_sanitize(msg);
	if (!strcmp(json_string_value(json_object_get(t, "state")) ?: "", "cancelled"))
		cli_error(c, "%s was cancelled: %s\n(details: 'vdc task get %s')", op, clean ? clean : msg, id);
	else
		cli_error(c, "%s failed%s%s%s: %s\n(details: 'vdc task get %s')", op, code ? " (" : "",
		          code ? code : "", code ? ")" : "", clean ? clean : msg, id);
	free(clean);
}

int task_wait(struct cli *c, const char *id, json_t **final)
{
	if (final)
		*final = NULL;
	char path[256], esc[128];
	snprintf(path, sizeof(path), "/api/v1/tasks/%s", client_escape(id, esc, sizeof(esc)));
	snprintf(interrupt_msg, sizeof(interrupt_msg),
	         "\nstopped waiting; task %.64s goes on (follow it with 'vdc task watch %.64s')\n", id, id);
	struct sigaction sa = {.sa_handler = on_interrupt}, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	struct progress p;
	progress_init(&p, c->err, c->err_tty, progress_term_cols(fileno(c->err)));
	c->bar = &p;
	int delay = POLL_FIRST_MS, rc;
	double lost_since = 0; /* when vdcd stopped answering; 0: it answers */
	json_t *t = NULL;
	for (;;) {
		c->quiet_unreachable = !lost_since || now_ms() - lost_since < UNREACHABLE_GRACE_MS;
		rc = cli_call(c, "GET", path, NULL, "task", &t);
		int retry = rc == CLI_UNREACHABLE && c->quiet_unreachable;
		c->quiet_unreachable = 0;
		if (retry) {
			if (!lost_since)
				lost_since = now_ms();
			progress_update(&p, p.last_pct, "(vdcd does not answer; still trying)");
			sleep_ms(POLL_MAX_MS);
			continue;
		}
		if (rc)
			break;
		lost_since = 0;
		const char *state = json_string_value(json_object_get(t, "state")) ?: "";
		int pct = (int)json_integer_value(json_object_get(t, "progress"));
		const char *msg = json_string_value(json_object_get(t, "message")) ?: state;
		if (!strcmp(state, "succeeded")) {
			progress_update(&p, 100, msg);
			progress_end(&p);
			break;
		}
		if (strcmp(state, "queued") && strcmp(state, "running")) {
			/* failed, or a state this CLI does not know: not a success. */
			report_failure(c, t, id);
			rc = CLI_FAIL;
			break;
		}
		progress_update(&p, pct, msg);
		json_decref(t);
		t = NULL;
		sleep_ms(delay);
		delay = delay * 3 / 2 > POLL_MAX_MS ? POLL_MAX_MS : delay * 3 / 2;
	}
	progress_end(&p);
	c->bar = NULL;
	if (rc == CLI_UNREACHABLE)
		fprintf(c->err, "task %s may still be running: follow it with 'vdc task watch %s'\n", id, id);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (final)
		*final = t;
	else
		json_decref(t);
	return rc;
}

int task_finish(struct cli *c, const struct args *a, const json_t *reply, const char *done)
{
	const char *id = json_string_value(json_path(reply, "task.id"));
	if (!id) {
		cli_error(c, "vdcd answered without a task id");
		return CLI_FAIL;
	}
	if (args_flag(a, "no-wait")) {
		if (c->output == OUT_JSON)
			out_json(c, reply);
		else
			fprintf(c->out, "%s\n", id);
		return 0;
	}
	json_t *final = NULL;
	int rc = task_wait(c, id, &final);
	if (c->output == OUT_JSON && final)
		out_json(c, final);
	else if (rc == 0 && done)
		fprintf(c->out, "%s\n", done);
	json_decref(final);
	return rc;
}

static int task_watch(struct cli *c, const struct args *a)
{
	json_t *final = NULL;
	int rc = task_wait(c, a->pos[0], &final);
	if (c->output == OUT_JSON && final)
		out_json(c, final);
	else if (rc == 0)
		fprintf(c->out, "task %s succeeded\n", a->pos[0]);
	json_decref(final);
	return rc;
}

/* 'vdc task cancel ID': a queued task ends cancelled at once; a running one
 * stops at its next cancel point, which is waited for (unless --no-wait). */
static int task_cancel(struct cli *c, const struct args *a)
{
	char path[256], esc[128];
	snprintf(path, sizeof(path), "/api/v1/tasks/%s/cancel", client_escape(a->pos[0], esc, sizeof(esc)));
	json_t *reply = NULL;
	int rc = cli_call(c, "POST", path, NULL, "task", &reply);
	if (rc)
		return rc;
	const json_t *t = json_object_get(reply, "task");
	const char *state = json_string_value(json_object_get(t, "state")) ?: "";
	if (strcmp(state, "cancelled") && !args_flag(a, "no-wait")) {
		json_decref(reply);
		json_t *final = NULL;
		c->quiet = 1; /* "cancelled" is what was asked for; anything else is told below */
		task_wait(c, a->pos[0], &final);
		c->quiet = 0;
		state = json_string_value(json_object_get(final, "state")) ?: "";
		rc = !strcmp(state, "cancelled") ? 0 : CLI_FAIL;
		if (c->output == OUT_JSON && final)
			out_json(c, final);
		else if (rc == 0)
			fprintf(c->out, "task %s cancelled\n", a->pos[0]);
		else
			cli_error(c, "task %s ended %s before it could stop", a->pos[0], state[0] ? state : "unknown");
		json_decref(final);
		return rc;
	}
	if (c->output == OUT_JSON)
		out_json(c, t);
	else
		fprintf(c->out, "task %s %s\n", a->pos[0], !strcmp(state, "cancelled") ? "cancelled" : "is stopping");
	json_decref(reply);
	return 0;
}

static const struct opt cancel_opts[] = {
	{"no-wait", 0, OPT_FLAG, NULL, "do not wait for a running task to stop", NULL, 0, NULL},
	OPT_END,
};

static const struct column task_cols[] = {
	{"ID", "id", FMT_TEXT, 0, NULL},
	{"OP", "op", FMT_TEXT, 0, NULL},
	{"TARGET", "target_id", FMT_TARGET, 40, NULL},
	{"STATE", "state", FMT_TEXT, 0, NULL},
	{"PROGRESS", "progress", FMT_PERCENT, 0, NULL},
	{"MESSAGE", "message", FMT_TEXT, 50, NULL},
	{"AGE", "created_at", FMT_AGE, 0, NULL},
	{0},
};
static const struct resource task_res = {"task", "tasks", task_cols, NULL, 1};

static const struct opt list_opts[] = {
	{"state", 0, OPT_STR, "STATE", "only tasks in STATE (queued, running, succeeded, failed, cancelled)", "state", 0, NULL},
	{"target", 0, OPT_STR, "TARGET", "only tasks on this object: a VM's name, KIND/NAME (host/h1) or an "
	 "id", "target_id", 0, "targets"},
	{"op", 0, OPT_STR, "OP", "only tasks of this operation (vm.create, vm.start...)", "op", 0, NULL},
	OPT_LIMIT,
	{"after", 0, OPT_STR, "ID", "start after this task (a 'next' cursor)", "after", 0, NULL},
	OPT_REVERSE,
	OPT_END,
};

static const struct cmd task_cmds[] = {
	{"list", "", 0, 0, "list them, newest first", list_opts, res_list, &task_res, res_check_list,
	 "Examples:\n  vdc task list --target web1 --limit 5\n  vdc task list --target host/h1 --reverse\n"},
	{"get", "ID", 1, 1, "show one task", NULL, res_get, &task_res, NULL, NULL},
	{"watch", "ID", 1, 1, "follow a task to its end, showing progress", NULL, task_watch, &task_res,
	 NULL, "Exits 0 when the task succeeds, 1 when it fails.\n"},
	{"cancel", "ID", 1, 1, "cancel a task (queued: always; running: where its operation allows)", cancel_opts,
	 task_cancel, &task_res, NULL,
	 "A running image import, or a VM create before its host makes the VM, stops and leaves\n"
	 "nothing behind; other running operations cannot be undone (vdcd says why, exit 4).\n"},
	{0},
};

const struct family cli_task = {"task", "long operations and their progress", task_cmds};

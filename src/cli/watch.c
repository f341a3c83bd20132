/* watch.c - 'vdc watch': follows vdcd's live stream (GET /api/v1/stream)
 * and prints each change as it happens, one line each (or one JSON object
 * per line with -o json). A stream that ends or breaks is opened again
 * where it stopped (Last-Event-ID), so nothing is missed silently: when
 * vdcd no longer has the events in between, it says so. */
#include "cli.h"

#include "apierr.h"
#include "sse.h"
#include "table.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct watch {
	struct cli *c;
	long count, printed;  /* stop after count events (0: never) */
	char last_id[128];
	int auth_ended;       /* vdcd ended the stream: the token is no longer good */
};

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* One line for an event: time, name, then what changed. */
static void print_line(struct watch *w, const char *name, const json_t *d)
{
	char when[16], what[512];
	time_t now = time(NULL);
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	const json_t *doc = json_object_get(d, "doc");
	const char *kind = str(d, "kind") ?: "?";
	const char *id = str(d, "id") ?: "?";
	const char *label = str(doc, "name") ?: str(d, "name") ?: id;
	if (!strcmp(name, "vm.state"))
		snprintf(what, sizeof(what), "vm %s: %s -> %s", str(d, "name") ?: id, str(d, "from") ?: "?",
		         str(d, "power_state") ?: "?");
	else if (!strcmp(kind, "task"))
		snprintf(what, sizeof(what), "task %.8s %s %s/%.8s %s %lld%% %s", id, str(doc, "op") ?: "",
		         str(doc, "target_kind") ?: "", str(doc, "target_id") ?: "", str(doc, "state") ?: "",
		         (long long)json_integer_value(json_object_get(doc, "progress")), str(doc, "message") ?: "");
	else if (!strcmp(kind, "event"))
		snprintf(what, sizeof(what), "%s %s %s/%.8s %s %s", str(doc, "actor") ?: "-", str(doc, "action") ?: "",
		         str(doc, "target_kind") ?: "", str(doc, "target_id") ?: "", str(doc, "outcome") ?: "",
		         str(doc, "detail") ?: "");
	else
		snprintf(what, sizeof(what), "%s %s", kind, label);
	char *clean = text_sanitize(what);
	fprintf(w->c->out, "%s  %-16s %s\n", when, name, clean ? clean : what);
	free(clean);
}

static int on_event(void *ctx, const struct sse_event *ev)
{
	struct watch *w = ctx;
	snprintf(w->last_id, sizeof(w->last_id), "%s", ev->id);
	json_t *d = json_loads(ev->data, 0, NULL);
	if (!strcmp(ev->event, "hello")) {
		json_decref(d);
		return 0;
	}
	if (!strcmp(ev->event, "reset") || !strcmp(ev->event, "end")) {
		const char *reason = str(d, "reason") ?: "";
		fprintf(w->c->err, "vdc watch: %s\n", str(d, "message") ?: reason);
		w->auth_ended = !strncmp(reason, "token_", 6);
	}
	if (w->c->output == OUT_JSON) {
		json_t *line = json_pack("{s:s, s:s, s:O?}", "id", ev->id, "event", ev->event, "data", d);
		char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
		if (text)
			fprintf(w->c->out, "%s\n", text);
		free(text);
		json_decref(line);
	} else if (strcmp(ev->event, "reset") && strcmp(ev->event, "end")) {
		print_line(w, ev->event, d);
	}
	fflush(w->c->out);
	json_decref(d);
	w->printed++;
	return w->count && w->printed >= w->count ? -1 : 0;
}

static int on_bytes(void *ctx, const char *data, size_t len)
{
	return sse_feed(ctx, data, len);
}

static int watch(struct cli *c, const struct args *a)
{
	struct watch w = {c, 0, 0, "", 0};
	const char *count = args_str(a, "count"), *after = args_str(a, "after");
	if (count)
		w.count = strtol(count, NULL, 10);
	if (after)
		snprintf(w.last_id, sizeof(w.last_id), "%s", after);
	for (int backoff = 1;; backoff = backoff < 30 ? backoff * 2 : 30) {
		struct sse_parser p;
		sse_init(&p, on_event, &w);
		long before = w.printed;
		int rc = cli_stream(c, "/api/v1/stream", w.last_id[0] ? w.last_id : NULL, on_bytes, &p);
		sse_free(&p);
		if (w.count && w.printed >= w.count)
			return 0;
		if (w.auth_ended)
			return CLI_AUTH;
		/* A refusal (401, 403, 503 too many) is for the user to act on;
		 * a stream that ended or broke is opened again. */
		if (rc && rc != CLI_UNREACHABLE && c->last_status != 503)
			return rc;
		if (w.printed > before)
			backoff = 1;
		fprintf(c->err, "vdc watch: the stream %s; opening it again in %d s\n",
		        rc ? "broke" : "ended", backoff);
		sleep((unsigned)backoff);
	}
}

static int check_watch(const struct args *a, char *err, size_t errlen)
{
	const char *count = args_str(a, "count");
	char *end;
	if (count && (strtol(count, &end, 10) < 1 || *end)) {
		snprintf(err, errlen, "--count takes a number of events, 1 or more, not '%s'", count);
		return CLI_USAGE;
	}
	return 0;
}

static const struct opt opts[] = {
	{"count", 0, OPT_STR, "N", "stop after N events", NULL, 0, NULL},
	{"after", 0, OPT_STR, "ID", "start after this event id (as -o json shows it), if vdcd still has it",
	 NULL, 0, NULL},
	OPT_END,
};

static const struct cmd cmds[] = {
	{"", "", 0, 0, "follow changes as they happen (tasks, VM states, inventory, the audit log)", opts,
	 watch, NULL, check_watch,
	 "Shows what your projects' members may see; administrators see everything.\n"
	 "Reconnects by itself, resuming where it stopped. -o json prints one\n"
	 "{\"id\",\"event\",\"data\"} object per line.\n\nExamples:\n  vdc watch\n"
	 "  vdc watch -o json --count 10\n"},
	{0},
};

const struct family cli_watch = {"watch", "follow changes live (tasks, VM states, events)", cmds};

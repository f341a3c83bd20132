/* live_hub.c - from commits to streams. The store's observer (any thread)
 * turns each change into events under the hub's lock and pokes an eventfd;
 * the loop thread wakes the streams that have something new. A stream only
 * keeps its place in the ring and the bytes of one batch, so memory is the
 * ring's bound whatever the number of streams or how slow their clients. */
#include "live_hub.h"

#include "live_filter.h"
#include "live_ring.h"

#include "auth.h"
#include "inv_map.h"
#include "log.h"
#include "loop.h"
#include "manager.h"
#include "strbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* What the hub last told of a VM: a state change is told as vm.state, and
 * a change older than one already told (two threads' commits told out of
 * order) is not told at all. */
struct vm_seen {
	char id[40];
	int64_t version;
	char state[24];
};

struct live_stream {
	struct live_hub *hub;
	struct http_stream *hs;
	struct auth_ctx *caller;
	char hash[65];
	uint64_t next;     /* the next ring id to look at */
	struct strbuf out; /* a batch of frames being sent */
	size_t off;
	bool ending;       /* send what is in out, then end the body */
	struct live_stream *prev, *nxt;
};

struct live_hub {
	struct mgr *m;
	struct live_limits lim;
	char epoch[16];
	pthread_mutex_t lock;
	struct live_ring *ring;   /* under lock */
	struct inv_map vms;       /* under lock: id -> struct vm_seen */
	unsigned long long events_total; /* under lock */
	int efd;
	struct loop_watch *watch;
	struct loop_timer *beat;
	/* Loop thread only: */
	struct live_stream *streams;
	unsigned nstreams;
	unsigned long long dropped_slow, ended_auth, refused_full;
	bool closing;
};

static bool streamed(enum store_kind k)
{
	/* Users, memberships and tokens carry password and secret hashes:
	 * never on a stream. */
	return k == STORE_EVENTS || (k != STORE_USER && k != STORE_MEMBER && k != STORE_TOKEN && k < STORE_NKINDS);
}

static const char *kind_word(enum store_kind k) { return k == STORE_EVENTS ? "event" : store_kind_name(k); }

/* Who sees a change: as the list route of its kind shows it. */
static struct live_scope scope_of(enum store_kind k, const char *id, const json_t *doc)
{
	if (k == STORE_PROJECT) /* members see their own projects */
		return live_scope_of(false, true, false, id);
	if (k == STORE_EVENTS)
		return live_scope_of(true, false, false, NULL);
	return live_scope_of(k == STORE_HOST, store_kind_scoped(k), store_kind_shared(k),
	                     json_string_value(json_object_get(doc, "project_id")));
}

static bool task_ended(const char *state)
{
	return state && (!strcmp(state, "succeeded") || !strcmp(state, "failed") || !strcmp(state, "cancelled"));
}

/* The change's word: created (a first version), deleted, and for tasks
 * progress or ended; else updated. */
static const char *change_word(enum store_kind k, const json_t *doc)
{
	if (!doc)
		return "deleted";
	if (k == STORE_EVENTS || json_integer_value(json_object_get(doc, "version")) == 1)
		return "created";
	if (k == STORE_TASK)
		return task_ended(json_string_value(json_object_get(doc, "state"))) ? "ended" : "progress";
	return "updated";
}

/* data's text, with "doc": doc_text (the document as the store wrote it)
 * added as its last member when given: printing the head alone and
 * splicing the stored text saves printing every committed document again. */
static char *event_text(json_t *data, const char *doc_text)
{
	char *head = data ? json_dumps(data, JSON_COMPACT) : NULL;
	if (!head || !doc_text)
		return head;
	size_t hl = strlen(head), dl = strlen(doc_text);
	char *text = hl >= 2 && head[hl - 1] == '}' ? malloc(hl + dl + 8) : NULL;
	if (text) {
		memcpy(text, head, hl - 1);
		size_t o = hl - 1;
		o += (size_t)sprintf(text + o, "%s\"doc\":", hl > 2 ? "," : "");
		memcpy(text + o, doc_text, dl);
		o += dl;
		text[o++] = '}';
		text[o] = '\0';
	}
	free(head);
	return text;
}

static void push(struct live_hub *h, const struct live_scope *sc, const char *name, json_t *data,
                 const char *doc_text)
{
	char *text = event_text(data, doc_text);
	json_decref(data);
	if (text && live_ring_push(h->ring, sc, name, text))
		h->events_total++;
	else
		log_warn("live_event_lost", "event=%s", name);
	free(text);
}

/* Under lock: a VM's change against what was told of it before. Returns
 * false for a change older than one told; pushes vm.state when the power
 * state moved. */
static bool vm_track(struct live_hub *h, const struct store_change *c, const struct live_scope *sc)
{
	struct vm_seen *seen = inv_map_get(&h->vms, c->id);
	if (!c->doc) {
		if (seen) {
			inv_map_del(&h->vms, c->id);
			free(seen);
		}
		return true;
	}
	int64_t version = json_integer_value(json_object_get(c->doc, "version"));
	const char *state = json_string_value(json_object_get(c->doc, "power_state")) ?: "unknown";
	if (seen && version <= seen->version)
		return false;
	if (!seen || strcmp(seen->state, state)) {
		json_t *d = json_pack("{s:s, s:s, s:s, s:O?, s:s, s:s?, s:O?}", "kind", "vm", "change", "state", "id",
		                      c->id, "name", json_object_get(c->doc, "name"), "power_state", state, "from",
		                      seen ? seen->state : NULL, "project_id", json_object_get(c->doc, "project_id"));
		push(h, sc, "vm.state", d, NULL);
	}
	if (!seen) {
		seen = calloc(1, sizeof(*seen));
		if (seen)
			snprintf(seen->id, sizeof(seen->id), "%s", c->id);
		if (!seen || inv_map_put(&h->vms, seen->id, seen) < 0) {
			free(seen);
			return true;
		}
	}
	seen->version = version;
	snprintf(seen->state, sizeof(seen->state), "%s", state);
	return true;
}

/* The store's observer: on the committing thread, whichever it is. */
static void on_commit(void *ctx, const struct store_change *changes, int n)
{
	struct live_hub *h = ctx;
	int pushed = 0;
	for (int i = 0; i < n; i++) {
		const struct store_change *c = &changes[i];
		if (!streamed(c->kind))
			continue;
		const json_t *doc = c->doc ? c->doc : c->gone;
		struct live_scope sc = scope_of(c->kind, c->id, doc);
		const char *change = change_word(c->kind, c->doc);
		char name[48];
		snprintf(name, sizeof(name), "%s.%s", kind_word(c->kind), change);
		json_t *data = json_pack("{s:s, s:s, s:s}", "kind", kind_word(c->kind), "change", change, "id", c->id);
		const char *doc_text = c->doc ? c->text : NULL;
		if (data && c->doc && !doc_text)
			json_object_set(data, "doc", (json_t *)c->doc);
		else if (data && c->gone) { /* what a client needs to drop it from its view */
			json_t *was = json_pack("{s:O?, s:O?}", "name", json_object_get(c->gone, "name"), "project_id",
			                        json_object_get(c->gone, "project_id"));
			json_object_update(data, was);
			json_decref(was);
		}
		pthread_mutex_lock(&h->lock);
		if (c->kind != STORE_VM || vm_track(h, c, &sc)) {
			push(h, &sc, name, data, doc_text);
			data = NULL;
			pushed++;
		}
		pthread_mutex_unlock(&h->lock);
		json_decref(data);
	}
	if (pushed) {
		uint64_t one = 1;
		ssize_t w = write(h->efd, &one, sizeof(one));
		(void)w; /* EAGAIN: the counter is full, the loop is woken anyway */
	}
}

/* ---- streams (loop thread) ---- */

static void out_add(struct live_stream *s, const char *text)
{
	strbuf_add(&s->out, text, strlen(text));
}

/* Ends a stream with a last event saying why. */
static void stream_end(struct live_stream *s, const char *name, const char *reason, const char *message)
{
	json_t *d = json_pack("{s:s, s:s}", "reason", reason, "message", message);
	char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	char head[96];
	snprintf(head, sizeof(head), "event: %s\ndata: ", name);
	out_add(s, head);
	out_add(s, text ? text : "{}");
	out_add(s, "\n\n");
	free(text);
	s->ending = true;
	http_stream_wake(s->hs);
}

/* The next batch of frames the caller may see, up to about max bytes. */
static void gather(struct live_stream *s, size_t max)
{
	struct live_hub *h = s->hub;
	bool too_slow = false;
	pthread_mutex_lock(&h->lock);
	uint64_t end = live_ring_next(h->ring);
	if (s->next < live_ring_first(h->ring)) {
		too_slow = true;
	} else {
		while (s->next < end && s->out.len < max) {
			const struct live_entry *e = live_ring_get(h->ring, s->next++);
			if (e && live_visible(s->caller, &e->scope))
				strbuf_add(&s->out, e->frame, e->len);
		}
	}
	pthread_mutex_unlock(&h->lock);
	if (too_slow) {
		h->dropped_slow++;
		log_warn("live_stream_dropped", "user=%s reason=too_slow", log_quote(s->caller->user));
		stream_end(s, "reset", "too_slow",
		           "this stream fell further behind than vdcd keeps events: reload what you show, then "
		           "open a new stream");
	}
}

static long stream_fill(void *ctx, char *buf, size_t max)
{
	struct live_stream *s = ctx;
	if (s->off == s->out.len) {
		strbuf_free(&s->out);
		s->off = 0;
		if (!s->ending)
			gather(s, max);
	}
	size_t n = s->out.len - s->off;
	if (n == 0)
		return s->ending ? -1 : 0;
	if (n > max)
		n = max;
	memcpy(buf, s->out.p + s->off, n);
	s->off += n;
	return (long)n;
}

static void stream_closed(void *ctx)
{
	struct live_stream *s = ctx;
	struct live_hub *h = s->hub;
	if (s->prev)
		s->prev->nxt = s->nxt;
	else
		h->streams = s->nxt;
	if (s->nxt)
		s->nxt->prev = s->prev;
	h->nstreams--;
	log_info("live_stream_closed", "user=%s streams=%u", log_quote(s->caller->user), h->nstreams);
	auth_ctx_unref(s->caller);
	strbuf_free(&s->out);
	free(s);
}

/* Commits happened: wake the streams that have something to look at. */
static void on_wake(void *ctx, uint32_t events)
{
	struct live_hub *h = ctx;
	uint64_t v;
	while (read(h->efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
	pthread_mutex_lock(&h->lock);
	uint64_t end = live_ring_next(h->ring);
	pthread_mutex_unlock(&h->lock);
	for (struct live_stream *s = h->streams; s; s = s->nxt)
		if (s->next < end)
			http_stream_wake(s->hs);
}

/* Every stream gets a comment (a proxy or the client sees it alive, and a
 * client gone is noticed) and its caller is checked again: a revoked or
 * expired token ends the stream, changed memberships apply from now. */
static void on_beat(void *ctx)
{
	struct live_hub *h = ctx;
	h->beat = NULL;
	for (struct live_stream *s = h->streams; s; s = s->nxt) {
		if (s->ending)
			continue;
		const char *why = NULL;
		struct auth_ctx *now = auth_caller_of_hash(h->m, s->hash, &why);
		if (!now) {
			h->ended_auth++;
			log_info("live_stream_ended", "user=%s reason=%s", log_quote(s->caller->user), why);
			stream_end(s, "end", why,
			           !strcmp(why, "token_expired") ? "the token expired; sign in again"
			                                         : "the token was revoked or its user removed");
			continue;
		}
		auth_ctx_unref(s->caller);
		s->caller = now;
		out_add(s, ": keepalive\n\n");
		http_stream_wake(s->hs);
	}
	if (!h->closing)
		h->beat = loop_timer_after(h->m->loop, h->lim.heartbeat_ms, on_beat, h);
}

void live_hub_open(struct live_hub *h, struct http_req *req, const struct auth_ctx *caller,
                   const char *bearer_hash, const char *last_event_id)
{
	if (h->closing) {
		http_reply_error(req, 503, "stopping", NULL, "vdcd is stopping");
		return;
	}
	if (h->nstreams >= h->lim.max_streams) {
		h->refused_full++;
		http_add_header(req, "Retry-After", "10");
		http_reply_error(req, 503, "too_many_streams", NULL,
		                 "vdcd serves at most %u live streams at once and that many are open; close one "
		                 "or try again later (vdcd --stream-max)",
		                 h->lim.max_streams);
		return;
	}
	struct live_stream *s = calloc(1, sizeof(*s));
	if (!s) {
		http_reply_error(req, 500, "internal", NULL, "out of memory");
		return;
	}
	s->hub = h;
	s->caller = (struct auth_ctx *)caller;
	s->caller->refs++;
	snprintf(s->hash, sizeof(s->hash), "%s", bearer_hash);
	bool resumed = false, reset = false;
	pthread_mutex_lock(&h->lock);
	s->next = live_ring_next(h->ring);
	if (last_event_id && *last_event_id) {
		resumed = live_ring_resume(h->ring, last_event_id, &s->next) == 0;
		reset = !resumed;
	}
	uint64_t now = live_ring_next(h->ring) - 1;
	pthread_mutex_unlock(&h->lock);
	/* The first frame: how soon to reconnect, and where this stream
	 * starts (its id, unless resuming: a reconnect during the replay must
	 * not skip it). */
	char head[160];
	if (resumed)
		snprintf(head, sizeof(head), "retry: 3000\nevent: hello\ndata: {\"resumed\":true}\n\n");
	else
		snprintf(head, sizeof(head), "retry: 3000\nid: %s-%llu\nevent: hello\ndata: {\"resumed\":false}\n\n",
		         h->epoch, (unsigned long long)now);
	out_add(s, head);
	if (reset)
		out_add(s, "event: reset\ndata: {\"reason\":\"resume_unavailable\",\"message\":\"the events after "
		           "Last-Event-ID are no longer kept (or it is of an earlier run of vdcd): reload what you "
		           "show; this stream goes on from now\"}\n\n");
	http_add_header(req, "X-Accel-Buffering", "no");
	s->hs = http_reply_stream(req, 200, "text/event-stream", stream_fill, stream_closed, s);
	if (!s->hs) {
		auth_ctx_unref(s->caller);
		strbuf_free(&s->out);
		free(s);
		return;
	}
	s->nxt = h->streams;
	if (h->streams)
		h->streams->prev = s;
	h->streams = s;
	h->nstreams++;
	log_info("live_stream_opened", "user=%s resumed=%s streams=%u", log_quote(s->caller->user),
	         resumed ? "yes" : reset ? "reset" : "new", h->nstreams);
}

struct live_hub *live_hub_new(struct mgr *m, const struct live_limits *lim)
{
	struct live_hub *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->m = m;
	h->lim = *lim;
	char uuid[37];
	mgr_uuid(uuid);
	snprintf(h->epoch, sizeof(h->epoch), "%.8s", uuid);
	pthread_mutex_init(&h->lock, NULL);
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	h->ring = live_ring_new(h->epoch, lim->ring_events, (size_t)lim->ring_events * 8192);
	if (h->efd < 0 || !h->ring || !(h->watch = loop_watch_fd(m->loop, h->efd, EPOLLIN, on_wake, h))) {
		live_hub_free(h);
		return NULL;
	}
	h->beat = loop_timer_after(m->loop, lim->heartbeat_ms, on_beat, h);
	unsigned kinds = 1u << STORE_EVENTS;
	for (int k = 0; k < STORE_NKINDS; k++)
		if (streamed((enum store_kind)k))
			kinds |= 1u << k;
	store_observe(kinds, on_commit, h);
	return h;
}

void live_hub_close_streams(struct live_hub *h)
{
	if (!h)
		return;
	h->closing = true;
	for (struct live_stream *s = h->streams; s; s = s->nxt)
		if (!s->ending)
			stream_end(s, "end", "stopping", "vdcd is stopping; reconnect in a moment");
}

static void free_seen(void *val, void *ctx) { free(val); }

void live_hub_free(struct live_hub *h)
{
	if (!h)
		return;
	store_observe(0, on_commit, h);
	/* Streams still open (a server that never started) lose their hub. */
	while (h->streams) {
		struct live_stream *s = h->streams;
		h->streams = s->nxt;
		auth_ctx_unref(s->caller);
		strbuf_free(&s->out);
		free(s);
	}
	if (h->beat)
		loop_timer_cancel(h->m->loop, h->beat);
	if (h->watch)
		loop_unwatch(h->m->loop, h->watch);
	if (h->efd >= 0)
		close(h->efd);
	inv_map_each(&h->vms, free_seen, NULL);
	inv_map_free(&h->vms);
	live_ring_free(h->ring);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void live_hub_metrics(struct live_hub *h, FILE *f)
{
	pthread_mutex_lock(&h->lock);
	unsigned long long events = h->events_total;
	size_t bytes = live_ring_bytes(h->ring);
	uint64_t kept = live_ring_next(h->ring) - live_ring_first(h->ring);
	pthread_mutex_unlock(&h->lock);
	fprintf(f, "# HELP vdcd_live_streams Live event streams open.\n# TYPE vdcd_live_streams gauge\n"
	           "vdcd_live_streams %u\n"
	           "# HELP vdcd_live_events_total Events made for live streams since start.\n"
	           "# TYPE vdcd_live_events_total counter\nvdcd_live_events_total %llu\n"
	           "# HELP vdcd_live_ring Events kept for resuming streams, and their bytes.\n"
	           "# TYPE vdcd_live_ring gauge\nvdcd_live_ring{what=\"events\"} %llu\n"
	           "vdcd_live_ring{what=\"bytes\"} %zu\n"
	           "# HELP vdcd_live_streams_closed_total Streams vdcd ended or refused, by reason.\n"
	           "# TYPE vdcd_live_streams_closed_total counter\n"
	           "vdcd_live_streams_closed_total{reason=\"too_slow\"} %llu\n"
	           "vdcd_live_streams_closed_total{reason=\"token\"} %llu\n"
	           "vdcd_live_streams_closed_total{reason=\"too_many\"} %llu\n",
	        h->nstreams, events, (unsigned long long)kept, bytes, h->dropped_slow, h->ended_auth,
	        h->refused_full);
}

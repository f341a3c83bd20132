/* api_link.c - the migration network's speed between two hosts, measured
 * for a migration's plan (host/linkprobe.c): a sink here, or a timed write
 * from here into another host's sink. Both run on threads of their own,
 * bounded in time; the loop goes on serving. */
#include "api.h"

#include "jsonv.h"
#include "linkprobe.h"
#include "log.h"
#include "loop_jobs.h"
#include "url.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Probes at once, both sides together; one more is refused (503). */
#define LINK_MAX_JOBS 8
/* A sink nobody writes into goes after this long. */
#define SINK_TIMEOUT_MS 10000
#define PROBE_MAX_MS 2000

struct link_job {
	struct agent *a;
	struct http_req *req; /* the probe's, deferred; NULL for a sink */
	int fd;               /* the sink's listening socket */
	char host[64];
	int port, ms;
	int64_t rate, bytes;
};

static struct loop_jobs *jobs(struct agent *a)
{
	if (!a->link_jobs)
		a->link_jobs = loop_jobs_new(a->loop, LINK_MAX_JOBS);
	return a->link_jobs;
}

void api_link_stop(struct agent *a)
{
	if (a->link_jobs)
		loop_jobs_free(a->link_jobs); /* each is bounded in time */
	a->link_jobs = NULL;
}

static void sink_work(void *arg)
{
	struct link_job *j = arg;
	j->bytes = linkprobe_sink(j->fd, SINK_TIMEOUT_MS);
}

static void sink_done(void *arg)
{
	struct link_job *j = arg;
	close(j->fd);
	if (j->bytes < 0)
		log_info("link_sink_ended", "port=%d error=%s", j->port, log_quote(strerror((int)-j->bytes)));
	else
		log_info("link_sink_ended", "port=%d bytes=%lld", j->port, (long long)j->bytes);
	free(j);
}

/* POST /api/v1/link/sink {"address"}: 201 {"port"}; the sink takes one
 * connection within 10 s and reads it to its end. */
void api_link_sink(struct http_req *req)
{
	struct agent *a = http_app(req);
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	static const char *const keys[] = {"address", NULL};
	struct jv_err jerr = {0};
	const char *address = NULL;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "address", true, 63, &address, &jerr) < 0 ||
	    (!url_host_is_ip(address) && jv_fail(&jerr, "address", "is not an IP address of this host") < 0)) {
		api_reply_bad(req, &jerr);
		json_decref(body);
		return;
	}
	struct link_job *j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->a = a;
	j->fd = linkprobe_listen(address, &j->port);
	json_decref(body);
	if (j->fd < 0) {
		http_reply_error(req, 409, "invalid_address", "address", "cannot listen there: %s", strerror(-j->fd));
		free(j);
		return;
	}
	struct loop_jobs *s = jobs(a);
	if (!s || loop_jobs_start(s, sink_work, sink_done, j) < 0) {
		close(j->fd);
		free(j);
		http_reply_error(req, 503, "busy", NULL, "%d link probes run already; retry", LINK_MAX_JOBS);
		return;
	}
	http_reply_json(req, 201, json_pack("{s:i}", "port", j->port));
}

static void probe_work(void *arg)
{
	struct link_job *j = arg;
	j->rate = linkprobe_send(j->host, j->port, j->ms, &j->bytes);
}

static void probe_done(void *arg)
{
	struct link_job *j = arg;
	if (j->rate < 0)
		http_reply_error(j->req, 502, "link_probe_failed", NULL, "writing to %s:%d failed: %s", j->host, j->port,
		                 strerror((int)-j->rate));
	else
		http_reply_json(j->req, 200, json_pack("{s:I, s:I, s:i}", "bytes_per_s", (json_int_t)j->rate, "bytes",
		                                       (json_int_t)j->bytes, "ms", j->ms));
	free(j);
}

/* POST /api/v1/link/probe {"host", "port", "ms"}: writes into another
 * host's sink for ms (250 by default): 200 {"bytes_per_s", "bytes"}. */
void api_link_probe(struct http_req *req)
{
	struct agent *a = http_app(req);
	json_t *body = http_body_json(req, 0);
	if (!body)
		return;
	static const char *const keys[] = {"host", "port", "ms", NULL};
	struct jv_err jerr = {0};
	const char *host = NULL;
	int64_t port = 0, ms = 250;
	if (jv_only_keys(body, "", keys, &jerr) < 0 || jv_string(body, "", "host", true, 63, &host, &jerr) < 0 ||
	    (!url_host_is_ip(host) && jv_fail(&jerr, "host", "is not an IP address") < 0) ||
	    jv_int(body, "", "port", true, 1, 65535, &port, &jerr) < 0 ||
	    jv_int(body, "", "ms", false, 10, PROBE_MAX_MS, &ms, &jerr) < 0) {
		api_reply_bad(req, &jerr);
		json_decref(body);
		return;
	}
	struct link_job *j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	*j = (struct link_job){.a = a, .req = req, .fd = -1, .port = (int)port, .ms = (int)ms};
	snprintf(j->host, sizeof(j->host), "%s", host);
	json_decref(body);
	struct loop_jobs *s = jobs(a);
	http_defer(req);
	if (!s || loop_jobs_start(s, probe_work, probe_done, j) < 0) {
		free(j);
		http_reply_error(req, 503, "busy", NULL, "%d link probes run already; retry", LINK_MAX_JOBS);
	}
}

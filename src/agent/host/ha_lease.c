/* ha_lease.c - see ha_lease.h. */
#include "ha_lease.h"

#include "config.h"
#include "fsutil.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A record is a few hundred bytes; one that is larger is not ours. */
#define LEASE_MAX_BYTES 65536

struct ds_lease {
	char name[64];
	char dir[1100];           /* DATASTORE/.vdc-ha */
	int64_t renewed_at_ms;    /* monotonic; the start when never */
	bool failing;             /* the last renewal failed (logged once per spell) */
	json_t *peers;            /* HOST_ID -> {seq, changed_at_ms, state, vms}; under mu */
};

struct ha_lease {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	int interval_ms;
	char host_id[64];
	uint64_t seq;             /* the last record's; starts at the wall clock in ms so a
	                           * restarted agent goes on counting up */
	char state[16];
	char *vms;                /* JSON text of the protected VMs' names */
	int nds;
	struct ds_lease ds[MAX_DATASTORES];
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One renewal of one datastore's lease: the whole record replaced at once
 * (a reader sees the old one or the new one). 0 or -1 with errno. */
static int renew(struct ha_lease *l, struct ds_lease *d, const char *record)
{
	if (mkdir(d->dir, 0755) < 0 && errno != EEXIST)
		return -1;
	char path[1200];
	snprintf(path, sizeof(path), "%s/%s.lease", d->dir, l->host_id);
	return fs_write_replace(path, record, strlen(record), 0644);
}

/* Reads one peer's record (NULL when unreadable or not a record). */
static json_t *read_record(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	char buf[LEASE_MAX_BYTES];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	json_t *r = json_loads(buf, 0, NULL);
	if (!json_is_object(r) || !json_is_integer(json_object_get(r, "seq"))) {
		json_decref(r);
		return NULL;
	}
	return r;
}

/* Reads every other host's record in d and notes when each one's sequence
 * number last changed, by this host's clock. */
static void observe(struct ha_lease *l, struct ds_lease *d, int64_t now)
{
	DIR *dir = opendir(d->dir);
	if (!dir)
		return;
	json_t *seen = json_object();
	struct dirent *de;
	while ((de = readdir(dir))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 7 || len > 70 || strcmp(de->d_name + len - 6, ".lease"))
			continue;
		char host[64];
		snprintf(host, sizeof(host), "%.*s", (int)(len - 6), de->d_name);
		if (!strcmp(host, l->host_id))
			continue;
		char path[1200];
		snprintf(path, sizeof(path), "%s/%s", d->dir, de->d_name);
		json_t *r = read_record(path);
		if (r)
			json_object_set_new(seen, host, r);
	}
	closedir(dir);
	pthread_mutex_lock(&l->mu);
	const char *host;
	json_t *r;
	json_object_foreach(seen, host, r) {
		json_t *p = json_object_get(d->peers, host);
		json_int_t seq = json_integer_value(json_object_get(r, "seq"));
		if (!p || json_integer_value(json_object_get(p, "seq")) != seq) {
			p = json_pack("{s:I, s:I}", "seq", seq, "changed_at_ms", (json_int_t)now);
			json_object_set_new(d->peers, host, p);
		}
		const char *state = json_string_value(json_object_get(r, "state"));
		json_t *vms = json_object_get(r, "vms");
		json_object_set_new(p, "state", json_string(state && strlen(state) < 16 ? state : "alive"));
		json_object_set_new(p, "vms", json_is_array(vms) ? json_deep_copy(vms) : json_array());
	}
	/* A record that went away (its host was deleted) is forgotten. */
	void *tmp;
	json_object_foreach_safe(d->peers, tmp, host, r)
		if (!json_object_get(seen, host))
			json_object_del(d->peers, host);
	pthread_mutex_unlock(&l->mu);
	json_decref(seen);
}

/* Sleeps until the monotonic time at_ms, or stop; called and returns with
 * mu held. */
static void sleep_until(struct ha_lease *l, int64_t at_ms)
{
	struct timespec until = {.tv_sec = at_ms / 1000, .tv_nsec = (long)(at_ms % 1000) * 1000000L};
	while (!l->stop && pthread_cond_timedwait(&l->cv, &l->mu, &until) != ETIMEDOUT)
		;
}

/* Renews every interval; reads the peers' leases four times as often: a
 * peer's last renewal is then noticed within a quarter interval, and vdcd
 * judges a dead host by how long its lease has been seen unchanged. */
static void *lease_thread(void *arg)
{
	struct ha_lease *l = arg;
	int64_t read_ms = l->interval_ms / 4 > 0 ? l->interval_ms / 4 : 1;
	int64_t renew_at = mono_ms();
	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		char *record = NULL;
		bool renewing = mono_ms() >= renew_at;
		if (renewing) {
			renew_at += l->interval_ms;
			if (renew_at < mono_ms()) /* late (a stalled disk): count from now */
				renew_at = mono_ms() + l->interval_ms;
			l->seq++;
			if (asprintf(&record, "{\"host\":\"%s\",\"seq\":%llu,\"state\":\"%s\",\"vms\":%s}\n", l->host_id,
			             (unsigned long long)l->seq, l->state, l->vms ? l->vms : "[]") < 0)
				record = NULL;
		}
		pthread_mutex_unlock(&l->mu);
		for (int i = 0; i < l->nds; i++) {
			struct ds_lease *d = &l->ds[i];
			if (record) {
				int rc = renew(l, d, record);
				int err = errno;
				int64_t now = mono_ms();
				pthread_mutex_lock(&l->mu);
				if (rc == 0)
					d->renewed_at_ms = now;
				bool was_failing = d->failing;
				d->failing = rc < 0;
				pthread_mutex_unlock(&l->mu);
				if (rc < 0 && !was_failing)
					log_warn("ha_lease_renew_failed", "datastore=%s dir=%s error=%s", d->name, d->dir,
					         log_quote(strerror(err)));
				else if (rc == 0 && was_failing)
					log_info("ha_lease_renewed", "datastore=%s", d->name);
			}
			observe(l, d, mono_ms());
		}
		free(record);
		pthread_mutex_lock(&l->mu);
		int64_t next = mono_ms() + read_ms;
		sleep_until(l, next < renew_at ? next : renew_at);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

struct ha_lease *ha_lease_start(const struct agent_config *cfg, const char *host_id, int interval_ms)
{
	struct ha_lease *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	snprintf(l->host_id, sizeof(l->host_id), "%s", host_id);
	snprintf(l->state, sizeof(l->state), "alive");
	l->interval_ms = interval_ms > 0 ? interval_ms : 1000;
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	l->seq = (uint64_t)wall.tv_sec * 1000 + (uint64_t)wall.tv_nsec / 1000000;
	int64_t now = mono_ms();
	for (int i = 0; i < cfg->ndatastores && i < MAX_DATASTORES; i++) {
		struct ds_lease *d = &l->ds[l->nds++];
		snprintf(d->name, sizeof(d->name), "%s", cfg->datastores[i].name);
		snprintf(d->dir, sizeof(d->dir), "%s/%s", cfg->datastores[i].path, HA_LEASE_DIR);
		d->renewed_at_ms = now;
		d->peers = json_object();
	}
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&l->thread, NULL, lease_thread, l) != 0) {
		log_error("ha_lease_thread_failed", "error=%s", log_quote(strerror(errno)));
		for (int i = 0; i < l->nds; i++)
			json_decref(l->ds[i].peers);
		free(l);
		return NULL;
	}
	log_info("ha_lease_started", "host=%s datastores=%d interval_ms=%d", host_id, l->nds, l->interval_ms);
	return l;
}

void ha_lease_stop(struct ha_lease *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	for (int i = 0; i < l->nds; i++)
		json_decref(l->ds[i].peers);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l->vms);
	free(l);
}

void ha_lease_set_record(struct ha_lease *l, const char *state, const json_t *vms)
{
	char *text = vms ? json_dumps(vms, JSON_COMPACT) : NULL;
	pthread_mutex_lock(&l->mu);
	snprintf(l->state, sizeof(l->state), "%s", state);
	free(l->vms);
	l->vms = text;
	pthread_mutex_unlock(&l->mu);
}

int64_t ha_lease_renewed_ago_ms(struct ha_lease *l, int i)
{
	if (i < 0 || i >= l->nds)
		return 0;
	pthread_mutex_lock(&l->mu);
	int64_t at = l->ds[i].renewed_at_ms;
	pthread_mutex_unlock(&l->mu);
	int64_t ago = mono_ms() - at;
	return ago > 0 ? ago : 0;
}

json_t *ha_lease_observations(struct ha_lease *l)
{
	json_t *out = json_object();
	int64_t now = mono_ms();
	pthread_mutex_lock(&l->mu);
	for (int i = 0; i < l->nds; i++) {
		struct ds_lease *d = &l->ds[i];
		json_t *peers = json_object();
		const char *host;
		json_t *p;
		json_object_foreach(d->peers, host, p) {
			int64_t unchanged = now - json_integer_value(json_object_get(p, "changed_at_ms"));
			json_object_set_new(peers, host,
			                    json_pack("{s:I, s:I, s:O, s:O}", "seq", json_integer_value(json_object_get(p, "seq")),
			                              "unchanged_ms", (json_int_t)(unchanged > 0 ? unchanged : 0), "state",
			                              json_object_get(p, "state"), "vms", json_object_get(p, "vms")));
		}
		int64_t ago = now - d->renewed_at_ms;
		/* Its own sequence number too: vdcd counts the renewals its peers
		 * see after this report, which tells a cut network (they go on)
		 * from a crash (at most one more) whatever the delays. */
		json_object_set_new(out, d->name, json_pack("{s:I, s:I, s:o}", "renewed_ago_ms", (json_int_t)(ago > 0 ? ago : 0),
		                                            "seq", (json_int_t)l->seq, "peers", peers));
	}
	pthread_mutex_unlock(&l->mu);
	return out;
}

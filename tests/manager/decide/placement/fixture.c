/* fixture.c - parses a placement case file (see cases/README) into a snapshot
 * and a request, and renders a decision as the case's expected log. */
#include "fixture.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	struct fixture *f;
	const char *path;
	int line;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int bad(struct parser *p, const char *fmt, ...)
{
	int n = snprintf(p->err, p->errlen, "%s:%d: ", p->path, p->line);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->errlen)
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int copy_name(struct parser *p, char *dst, const char *src)
{
	if (strlen(src) >= FX_NAME)
		return bad(p, "name too long: %s", src);
	strcpy(dst, src);
	return 0;
}

/* An integer; "16G" is 16 GiB in MiB. Negative values pass through, so
 * cases can show that bad input is refused. */
static int parse_int(struct parser *p, const char *key, const char *v, int64_t *out)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (*end == 'G' && end[1] == '\0') {
		x *= 1024;
		end++;
	}
	if (errno || end == v || *end)
		return bad(p, "%s=%s: not a number", key, v);
	*out = x;
	return 0;
}

static int parse_double(struct parser *p, const char *key, const char *v, double *out)
{
	char *end;
	*out = strtod(v, &end);
	return end == v || *end ? bad(p, "%s=%s: not a number", key, v) : 0;
}

static int find(char (*names)[FX_NAME], int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

/* The id of a datastore or network name, interned on first use. */
static int intern(struct parser *p, char (*store)[FX_NAME], const char **names, int *n,
                  const char *name)
{
	int i = find(store, *n, name);
	if (i >= 0)
		return i;
	if (*n == FX_MAX_IDS)
		return bad(p, "too many names"), -1;
	if (copy_name(p, store[*n], name))
		return -1;
	names[*n] = store[*n];
	return (*n)++;
}

/* Adds each name of a comma-separated list to set. */
static int parse_set(struct parser *p, char *list, char (*store)[FX_NAME], const char **names,
                     int *n, struct placement_set *set)
{
	for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int id = intern(p, store, names, n, t);
		if (id < 0)
			return -1;
		placement_set_add(set, id);
	}
	return 0;
}

static int parse_cluster(struct parser *p, char **tok, int ntok)
{
	struct fixture *f = p->f;
	if (ntok < 2 || f->snap.nclusters == FX_MAX_CLUSTERS)
		return bad(p, "cluster NAME [cpu=X] [mem=X] [policy=pack|spread]");
	int c = f->snap.nclusters++;
	if (copy_name(p, f->cluster_names[c], tok[1]))
		return -1;
	f->clusters[c] = (struct placement_cluster){f->cluster_names[c], 1.0, 1.0, PLACEMENT_PACK};
	for (int i = 2; i < ntok; i++) {
		char *v = strchr(tok[i], '=');
		if (!v)
			return bad(p, "%s: expected key=value", tok[i]);
		*v++ = '\0';
		if (strcmp(tok[i], "cpu") == 0) {
			if (parse_double(p, tok[i], v, &f->clusters[c].cpu_overcommit))
				return -1;
		} else if (strcmp(tok[i], "mem") == 0) {
			if (parse_double(p, tok[i], v, &f->clusters[c].mem_overcommit))
				return -1;
		} else if (strcmp(tok[i], "policy") == 0 && strcmp(v, "pack") == 0) {
			f->clusters[c].policy = PLACEMENT_PACK;
		} else if (strcmp(tok[i], "policy") == 0 && strcmp(v, "spread") == 0) {
			f->clusters[c].policy = PLACEMENT_SPREAD;
		} else {
			return bad(p, "cluster: unknown %s=%s", tok[i], v);
		}
	}
	return 0;
}

static int parse_host(struct parser *p, char **tok, int ntok)
{
	struct fixture *f = p->f;
	if (ntok < 2 || f->snap.nhosts == FX_MAX_HOSTS)
		return bad(p, "host NAME key=value...");
	if (f->snap.nclusters == 0)
		return bad(p, "a cluster line must come before the hosts");
	int i = f->snap.nhosts++;
	struct placement_host *h = &f->hosts[i];
	if (copy_name(p, f->host_names[i], tok[1]))
		return -1;
	*h = (struct placement_host){.name = f->host_names[i], .state = PLACEMENT_CONNECTED};
	for (int k = 2; k < ntok; k++) {
		char *v = strchr(tok[k], '=');
		if (!v)
			return bad(p, "%s: expected key=value", tok[k]);
		*v++ = '\0';
		const char *key = tok[k];
		int64_t x = 0;
		if (strcmp(key, "cluster") == 0) {
			h->cluster = find(f->cluster_names, f->snap.nclusters, v);
			if (h->cluster < 0)
				return bad(p, "unknown cluster %s", v);
		} else if (strcmp(key, "state") == 0) {
			if (strcmp(v, "connected") == 0)
				h->state = PLACEMENT_CONNECTED;
			else if (strcmp(v, "disconnected") == 0)
				h->state = PLACEMENT_DISCONNECTED;
			else if (strcmp(v, "maintenance") == 0)
				h->state = PLACEMENT_MAINTENANCE;
			else
				return bad(p, "unknown state %s", v);
		} else if (strcmp(key, "ds") == 0) {
			if (parse_set(p, v, f->ds_store, f->ds_names, &f->snap.ndatastore_names,
			              &h->datastores))
				return -1;
		} else if (strcmp(key, "net") == 0) {
			if (parse_set(p, v, f->net_store, f->net_names, &f->snap.nnetwork_names,
			              &h->networks))
				return -1;
		} else if (parse_int(p, key, v, &x)) {
			return -1;
		} else if (strcmp(key, "cpus") == 0) {
			h->cpus = (int)x;
		} else if (strcmp(key, "mem") == 0) {
			h->memory_mib = x;
		} else if (strcmp(key, "vcpus_used") == 0) {
			h->alloc_vcpus = (int)x;
		} else if (strcmp(key, "mem_used") == 0) {
			h->alloc_memory_mib = x;
		} else if (strcmp(key, "cpu_reserved") == 0) {
			h->reserved_cpu_pct = x;
		} else if (strcmp(key, "mem_reserved") == 0) {
			h->reserved_memory_mib = x;
		} else {
			return bad(p, "host: unknown key %s", key);
		}
	}
	return 0;
}

/* rule NAME affinity|anti-affinity VM[@HOST]... */
static int parse_rule(struct parser *p, char **tok, int ntok)
{
	struct fixture *f = p->f;
	if (ntok < 3 || f->snap.nrules == FX_MAX_RULES || ntok - 3 > FX_MAX_MEMBERS)
		return bad(p, "rule NAME affinity|anti-affinity VM[@HOST]...");
	int r = f->snap.nrules++;
	struct placement_rule *ru = &f->rules[r];
	if (copy_name(p, f->rule_names[r], tok[1]))
		return -1;
	ru->name = f->rule_names[r];
	if (strcmp(tok[2], "affinity") == 0)
		ru->type = PLACEMENT_AFFINITY;
	else if (strcmp(tok[2], "anti-affinity") == 0)
		ru->type = PLACEMENT_ANTI_AFFINITY;
	else
		return bad(p, "unknown rule type %s", tok[2]);
	ru->members = f->members[r];
	for (int k = 3; k < ntok; k++) {
		struct placement_member *m = &f->members[r][ru->nmembers];
		char *at = strchr(tok[k], '@');
		if (at)
			*at++ = '\0';
		if (copy_name(p, f->member_names[r][ru->nmembers], tok[k]))
			return -1;
		m->vm = f->member_names[r][ru->nmembers++];
		m->host = at ? find(f->host_names, f->snap.nhosts, at) : -1;
		if (at && m->host < 0)
			return bad(p, "unknown host %s (hosts come before rules)", at);
	}
	return 0;
}

static int parse_request(struct parser *p, char **tok, int ntok)
{
	struct fixture *f = p->f;
	struct placement_request *q = &f->req;
	for (int k = 1; k < ntok; k++) {
		char *v = strchr(tok[k], '=');
		if (!v)
			return bad(p, "%s: expected key=value", tok[k]);
		*v++ = '\0';
		const char *key = tok[k];
		int64_t x = 0;
		if (strcmp(key, "vm") == 0) {
			if (copy_name(p, f->req_vm, v))
				return -1;
			q->vm = f->req_vm;
		} else if (strcmp(key, "cluster") == 0) {
			q->cluster = find(f->cluster_names, f->snap.nclusters, v);
			if (q->cluster < 0)
				return bad(p, "unknown cluster %s", v);
		} else if (strcmp(key, "from") == 0) {
			q->moving = true;
			q->moving_from = -1;
			for (int h = 0; h < f->snap.nhosts; h++)
				if (!strcmp(f->snap.hosts[h].name, v))
					q->moving_from = h;
			if (q->moving_from < 0)
				return bad(p, "unknown host %s", v);
		} else if (strcmp(key, "ds") == 0) {
			q->datastore = intern(p, f->ds_store, f->ds_names, &f->snap.ndatastore_names, v);
			if (q->datastore < 0)
				return -1;
		} else if (strcmp(key, "net") == 0) {
			if (parse_set(p, v, f->net_store, f->net_names, &f->snap.nnetwork_names,
			              &q->networks))
				return -1;
		} else if (strcmp(key, "rules") == 0) {
			for (char *save = NULL, *t = strtok_r(v, ",", &save); t;
			     t = strtok_r(NULL, ",", &save)) {
				int r = find(f->rule_names, f->snap.nrules, t);
				if (r < 0 || q->nrules == PLACEMENT_MAX_VM_RULES + 1)
					return bad(p, "unknown rule %s (rules come before the request)", t);
				f->req_rules[q->nrules++] = r;
			}
		} else if (parse_int(p, key, v, &x)) {
			return -1;
		} else if (strcmp(key, "vcpus") == 0) {
			q->vcpus = (int)x;
		} else if (strcmp(key, "mem") == 0) {
			q->memory_mib = x;
		} else if (strcmp(key, "reserve_cpu") == 0) {
			q->reserve_cpu_pct = x;
		} else if (strcmp(key, "reserve_mem") == 0) {
			q->reserve_memory_mib = x;
		} else {
			return bad(p, "request: unknown key %s", key);
		}
	}
	return 0;
}

static int parse_line(struct parser *p, char *line)
{
	char *tok[FX_MAX_MEMBERS + 8];
	int ntok = 0;
	for (char *save = NULL, *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (ntok == (int)(sizeof(tok) / sizeof(tok[0])))
			return bad(p, "too many words");
		tok[ntok++] = t;
	}
	if (ntok == 0)
		return 0;
	if (strcmp(tok[0], "cluster") == 0)
		return parse_cluster(p, tok, ntok);
	if (strcmp(tok[0], "host") == 0)
		return parse_host(p, tok, ntok);
	if (strcmp(tok[0], "rule") == 0)
		return parse_rule(p, tok, ntok);
	if (strcmp(tok[0], "request") == 0)
		return parse_request(p, tok, ntok);
	return bad(p, "unknown line '%s'", tok[0]);
}

static char *read_file(const char *path)
{
	FILE *fp = fopen(path, "re");
	if (!fp)
		return NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	char buf[4096];
	size_t n;
	while (mem && (n = fread(buf, 1, sizeof(buf), fp)) > 0)
		fwrite(buf, 1, n, mem);
	if (mem)
		fclose(mem);
	fclose(fp);
	return text;
}

int fixture_load(const char *path, struct fixture *f, char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	f->snap = (struct placement_snapshot){.hosts = f->hosts, .clusters = f->clusters,
	                                      .rules = f->rules, .datastore_names = f->ds_names,
	                                      .network_names = f->net_names};
	f->req = (struct placement_request){.datastore = -1, .cluster = -1, .rules = f->req_rules};
	struct parser p = {f, path, 0, err, errlen};
	char *text = read_file(path);
	if (!text)
		return bad(&p, "cannot read: %s", strerror(errno));
	int rc = -1;
	char *expect = strstr(text, "\nexpect\n");
	if (!expect) {
		bad(&p, "no 'expect' line");
		goto cleanup;
	}
	f->input = strndup(text, (size_t)(expect - text) + 8);
	f->expect = strdup(expect + 8);
	expect[1] = '\0';
	for (char *cur = text, *line; (line = strsep(&cur, "\n"));) {
		p.line++;
		if (line[0] == '#') {
			if (!f->about[0])
				snprintf(f->about, sizeof(f->about), "%s", line + 1 + (line[1] == ' '));
			continue;
		}
		if (parse_line(&p, line))
			goto cleanup;
	}
	rc = 0;
cleanup:
	free(text);
	return rc;
}

void fixture_free(struct fixture *f)
{
	free(f->input);
	free(f->expect);
	f->input = f->expect = NULL;
}

static const char *error_name(int err)
{
	static const char *const names[] = {"ok", "arg", "no_hosts", "too_many", "cluster",
	                                    "host", "request", "rule"};
	return err <= 0 && err >= -7 ? names[-err] : "unknown";
}

char *fixture_decide(const struct fixture *f)
{
	struct placement_result r;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out || placement_result_init(&r, FX_MAX_HOSTS) != 0) {
		if (out)
			fclose(out);
		free(text);
		return NULL;
	}
	char line[1024];
	int err = placement_choose_host(&f->snap, &f->req, &r);
	if (err) {
		fprintf(out, "error %s index=%d: %s\n", error_name(err), r.error_index,
		        placement_strerror(err));
	} else {
		for (int h = 0; h < f->snap.nhosts; h++) {
			placement_format_verdict(&f->snap, &f->req, &r, h, line, sizeof(line));
			fprintf(out, "%s %s: %s\n", f->hosts[h].name,
			        placement_filter_name(r.verdicts[h].filter), line);
		}
		placement_format_summary(&f->snap, &f->req, &r, line, sizeof(line));
		fprintf(out, "summary: %s\n", line);
	}
	placement_result_free(&r);
	fclose(out);
	return text;
}

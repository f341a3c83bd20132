/* inv_slim.c - a scanner over JSON text that parses only the values a spec
 * asks for (with jansson, from their span) and steps over the rest. */
#include "inv.h"
#include "inv_slim.h"

#include <pthread.h>
#include <string.h>

struct scan {
	const char *p, *end;
};

static void ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* Steps over a string (s->p at its opening quote). */
static int skip_string(struct scan *s)
{
	for (s->p++; s->p < s->end; s->p++) {
		if (*s->p == '\\')
			s->p++;
		else if (*s->p == '"') {
			s->p++;
			return 0;
		}
	}
	return -1;
}

/* Steps over any value; depth counts brackets, strings are skipped whole. */
static int skip_value(struct scan *s)
{
	int depth = 0;
	ws(s);
	do {
		if (s->p >= s->end)
			return -1;
		char c = *s->p;
		if (c == '"') {
			if (skip_string(s))
				return -1;
		} else if (c == '{' || c == '[') {
			depth++;
			s->p++;
		} else if (c == '}' || c == ']') {
			if (--depth < 0)
				return -1;
			s->p++;
		} else if (depth == 0) { /* a number or a literal: up to a delimiter */
			while (s->p < s->end && !strchr(",}] \t\n\r", *s->p))
				s->p++;
		} else {
			s->p++;
		}
	} while (depth > 0);
	return 0;
}

static json_t *slim_object(struct scan *s, const json_t *spec);

/* The value at s->p as spec says: recursed into, or parsed whole. */
static json_t *kept_value(struct scan *s, const json_t *want)
{
	ws(s);
	if (json_is_object(want) && s->p < s->end && *s->p == '{')
		return slim_object(s, want);
	const char *start = s->p;
	if (skip_value(s))
		return NULL;
	size_t n = (size_t)(s->p - start);
	/* The common scalars directly: a string without escapes, an integer. */
	if (n >= 2 && *start == '"' && !memchr(start + 1, '\\', n - 2))
		return json_stringn(start + 1, n - 2);
	if (n > 0 && n < 19 && ((*start == '-' && n > 1) || (*start >= '0' && *start <= '9')) &&
	    strspn(start + 1, "0123456789") >= n - 1) {
		json_int_t v = 0;
		for (const char *c = start + (*start == '-'); c < start + n; c++)
			v = v * 10 + (*c - '0');
		return json_integer(*start == '-' ? -v : v);
	}
	return json_loadb(start, n, JSON_DECODE_ANY, NULL);
}

static json_t *slim_object(struct scan *s, const json_t *spec)
{
	ws(s);
	if (s->p >= s->end || *s->p != '{')
		return NULL;
	s->p++;
	json_t *out = json_object();
	ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return out;
	}
	for (;;) {
		ws(s);
		if (s->p >= s->end || *s->p != '"')
			break;
		const char *k = s->p + 1;
		if (skip_string(s))
			break;
		size_t klen = (size_t)(s->p - 1 - k);
		/* Keys with escapes are not among those asked for (plain words). */
		const json_t *want = memchr(k, '\\', klen) ? NULL : json_object_getn(spec, k, klen);
		ws(s);
		if (s->p >= s->end || *s->p != ':')
			break;
		s->p++;
		if (want) {
			json_t *v = kept_value(s, want);
			if (!v)
				break;
			json_object_setn_new(out, k, klen, v);
		} else if (skip_value(s)) {
			break;
		}
		ws(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			continue;
		}
		if (s->p < s->end && *s->p == '}') {
			s->p++;
			return out;
		}
		break;
	}
	json_decref(out);
	return NULL;
}

json_t *inv_slim_loads(const char *text, size_t len, const json_t *spec)
{
	struct scan s = {text, text + len};
	ws(&s);
	if (s.p >= s.end || *s.p != '[')
		return NULL;
	s.p++;
	json_t *arr = json_array();
	ws(&s);
	if (s.p < s.end && *s.p == ']')
		return arr;
	for (;;) {
		json_t *o = slim_object(&s, spec);
		if (!o)
			break;
		json_array_append_new(arr, o);
		ws(&s);
		if (s.p < s.end && *s.p == ',') {
			s.p++;
			continue;
		}
		if (s.p < s.end && *s.p == ']')
			return arr;
		break;
	}
	json_decref(arr);
	return NULL;
}

static json_t *specs[3];
static pthread_once_t specs_once = PTHREAD_ONCE_INIT;

static void make_specs(void)
{
	/* ha: whether HA judges a cluster's hosts, and its verdict on a host
	 * (placement leaves out a host it judges other than connected). */
	specs[INV_CLUSTER] = json_pack("{s:b, s:b, s:b, s:b, s:b, s:b, s:{s:b}}", "id", 1, "name", 1, "version", 1,
	                               "cpu_overcommit", 1, "mem_overcommit", 1, "policy", 1, "ha", "enabled", 1);
	specs[INV_HOST] = json_pack("{s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:{s:b}}", "id", 1, "name", 1,
	                            "version", 1, "cluster_id", 1, "state", 1, "capacity", 1,
	                            "datastores", 1, "bridges", 1, "last_heartbeat_epoch", 1, "ha", "state", 1);
	/* project_id: a VM's rule groups are its project's. */
	/* power_state, desired_state and the reservations: what a host
	 * promised its running VMs (resource pools). */
	specs[INV_VM] = json_pack("{s:b, s:b, s:b, s:b, s:{s:b, s:b, s:b, s:b}, s:b, s:b, s:b, s:b}", "id", 1,
	                          "name", 1, "version", 1, "host_id", 1, "config", "vcpus", 1, "memory_mib", 1,
	                          "cpu_reservation_pct", 1, "mem_reservation_mib", 1, "placement_groups", 1,
	                          "project_id", 1, "power_state", 1, "desired_state", 1);
}

const json_t *inv_slim_spec(enum inv_kind k)
{
	pthread_once(&specs_once, make_specs);
	return (unsigned)k < 3 ? specs[k] : NULL;
}

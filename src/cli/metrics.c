/* metrics.c - 'vdc vm metrics NAME' and 'vdc host metrics NAME': the
 * charts' series vdcd keeps (an hour at the heartbeat interval, then a
 * year consolidated: --since 1d, 1w, 1y picks the tier, --resolution
 * names one), as one row per series with its last value and the window's
 * min, mean and max (of a consolidated tier: of the buckets' averages,
 * and the highest bucket maximum); -o json gives vdcd's answer as it is. */
#include "cli.h"

#include "client.h"
#include "table.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct opt cli_metrics_opts[] = {
	{"since", 0, OPT_STR, "WHEN", "from then on: 15m, 1h, 1d, 1w, 30d, 1y ago, or epoch seconds (default: the "
	 "last hour, every heartbeat)", NULL, 0, NULL},
	{"resolution", 0, OPT_STR, "STEP", "raw (every heartbeat, an hour), 1m (a day), 30m (a month), 1d (a year); "
	 "default: the finest that covers --since", NULL, 0, NULL},
	{"metric", 0, OPT_STR, "NAMES", "only these series, by name, comma-separated (cpu,memory...)", NULL, 0,
	 NULL},
	OPT_END,
};

/* v in unit, made short for a terminal: 12.5%, 1.5 GiB, 3.0 KiB/s. */
static void human(double v, const char *unit, char *out, size_t n)
{
	if (isnan(v)) {
		snprintf(out, n, "-");
		return;
	}
	if (!strcmp(unit, "percent")) {
		snprintf(out, n, "%.1f%%", v);
		return;
	}
	static const char *const pre[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	int k = 0;
	while (fabs(v) >= 1024 && k < 5) {
		v /= 1024;
		k++;
	}
	snprintf(out, n, k ? "%.1f %s%s" : "%.0f %s%s", v, pre[k], !strcmp(unit, "bytes_per_second") ? "/s" : "");
}

/* Appends "name=value" query words (escaped) to path. */
static void add_query(char *path, size_t n, const struct args *a, const char *name)
{
	const char *v = args_str(a, name);
	if (!v)
		return;
	char esc[256];
	size_t len = strlen(path);
	snprintf(path + len, n - len, "%s%s=%s", strchr(path, '?') ? "&" : "?", name,
	         client_escape(v, esc, sizeof(esc)));
}

int cli_metrics(struct cli *c, const char *coll, const char *kind, const struct args *a)
{
	char path[1024], esc[256];
	snprintf(path, sizeof(path), "/api/v1/%s/%s/metrics", coll, client_escape(a->pos[0], esc, sizeof(esc)));
	add_query(path, sizeof(path), a, "since");
	add_query(path, sizeof(path), a, "resolution");
	add_query(path, sizeof(path), a, "metric");
	json_t *reply = NULL;
	int rc = cli_call(c, "GET", path, NULL, kind, &reply);
	if (rc)
		return rc;
	if (c->output == OUT_JSON) {
		out_json(c, reply);
		json_decref(reply);
		return 0;
	}
	json_t *ts = json_object_get(reply, "timestamps");
	size_t npts = json_array_size(ts);
	if (npts == 0) {
		fprintf(c->out, "%s %s: no samples yet (its host sends them with each heartbeat while it runs)\n",
		        kind, a->pos[0]);
		json_decref(reply);
		return 0;
	}
	char from[32] = "?", to[32] = "?";
	time_t t0 = (time_t)json_number_value(json_array_get(ts, 0)),
	       t1 = (time_t)json_number_value(json_array_get(ts, npts - 1));
	struct tm tm;
	if (gmtime_r(&t0, &tm))
		strftime(from, sizeof(from), "%H:%M:%S", &tm);
	if (gmtime_r(&t1, &tm))
		strftime(to, sizeof(to), "%H:%M:%SZ", &tm);
	const char *res = json_string_value(json_object_get(reply, "resolution")) ?: "raw";
	bool raw = !strcmp(res, "raw");
	if (!raw && t1 - t0 >= 86400) { /* days apart: the date matters more than the second */
		if (gmtime_r(&t0, &tm))
			strftime(from, sizeof(from), "%Y-%m-%d %H:%M", &tm);
		if (gmtime_r(&t1, &tm))
			strftime(to, sizeof(to), "%Y-%m-%d %H:%MZ", &tm);
	}
	fprintf(c->out, "%s %s: %zu points every %g s (%s%s), %s to %s\n", kind, a->pos[0], npts,
	        json_number_value(json_object_get(reply, "interval_s")), raw ? "raw" : res,
	        raw ? "" : ": averages, MAX the highest", from, to);
	static const char *const hdr[] = {"SERIES", "LAST", "MIN", "MEAN", "MAX"};
	struct table *t = table_new(5, hdr, NULL);
	size_t i, k;
	json_t *s, *v;
	json_array_foreach(json_object_get(reply, "series"), i, s) {
		const char *unit = json_string_value(json_object_get(s, "unit")) ?: "";
		double last = NAN, min = NAN, max = NAN, sum = 0;
		size_t n = 0;
		json_array_foreach(json_object_get(s, "values"), k, v) {
			if (!json_is_number(v))
				continue;
			double x = json_number_value(v);
			last = x;
			min = n && min < x ? min : x;
			max = n && max > x ? max : x;
			sum += x;
			n++;
		}
		/* A consolidated tier: the highest of the buckets' maxima. */
		json_array_foreach(json_object_get(s, "max"), k, v) {
			if (json_is_number(v) && (isnan(max) || json_number_value(v) > max))
				max = json_number_value(v);
		}
		char cl[32], cmin[32], cmean[32], cmax[32];
		human(last, unit, cl, sizeof(cl));
		human(min, unit, cmin, sizeof(cmin));
		human(n ? sum / (double)n : NAN, unit, cmean, sizeof(cmean));
		human(max, unit, cmax, sizeof(cmax));
		const char *cells[] = {json_string_value(json_object_get(s, "name")) ?: "?", cl, cmin, cmean, cmax};
		table_add_row(t, cells);
	}
	char *text = table_render(t);
	fputs(text ? text : "", c->out);
	free(text);
	table_free(t);
	json_decref(reply);
	return 0;
}

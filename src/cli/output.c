/* output.c - how documents look: tables of chosen columns for lists, a
 * key/value listing for one object, or vdcd's JSON as it came, indented. */
#include "cli.h"

#include "isotime.h"
#include "table.h"

#include <stdlib.h>
#include <string.h>

#define DETAIL_VALUE_MAX 160

const json_t *json_path(const json_t *doc, const char *path)
{
	const json_t *v = doc;
	while (v && *path) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);
		char key[64];
		snprintf(key, sizeof(key), "%.*s", (int)len, path);
		v = json_object_get(v, key);
		path += len + (dot ? 1 : 0);
	}
	return v;
}

void fmt_age(long long s, char *buf, size_t n)
{
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, n, "%llds", s);
	else if (s < 120 * 60)
		snprintf(buf, n, "%lldm", s / 60);
	else if (s < 48 * 3600)
		snprintf(buf, n, "%lldh", s / 3600);
	else
		snprintf(buf, n, "%lldd", s / 86400);
}

void fmt_expiry(long long at, time_t now, char *buf, size_t n)
{
	char age[32];
	if (at == 0) {
		snprintf(buf, n, "never");
	} else if (at > (long long)now) {
		fmt_age(at - (long long)now, age, sizeof(age));
		snprintf(buf, n, "in %s", age);
	} else {
		fmt_age((long long)now - at, age, sizeof(age));
		snprintf(buf, n, "expired %s ago", age);
	}
}

/* An API time (isotime.h) as seconds since the epoch, or -1 (also for
 * times before it). */
static time_t parse_iso(const char *s)
{
	int64_t ms;
	return iso_time_parse_ms(s, &ms) || ms < 0 ? -1 : (time_t)(ms / 1000);
}

int json_time(const json_t *v, time_t *t)
{
	*t = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*t = (time_t)json_integer_value(v);
		return *t >= 0 ? 0 : -1;
	}
	if (!json_is_string(v))
		return -1;
	time_t p = parse_iso(json_string_value(v));
	if (p < 0)
		return -1;
	*t = p;
	return 0;
}

int json_time_ms(const json_t *v, int64_t *ms)
{
	*ms = 0;
	if (!json_is_string(v))
		return -1;
	if (iso_time_parse_ms(json_string_value(v), ms) || *ms < 0) {
		*ms = 0;
		return -1;
	}
	return 0;
}

/* A size in MiB as "1.5Gi": the largest unit that keeps it at least 1. */
static void fmt_size(double mib, char *buf, size_t n)
{
	static const char *const units[] = {"Mi", "Gi", "Ti", "Pi"};
	int u = 0;
	while (mib >= 1024 && u < 3) {
		mib /= 1024;
		u++;
	}
	if (mib == (double)(long long)mib)
		snprintf(buf, n, "%lld%s", (long long)mib, units[u]);
	else
		snprintf(buf, n, "%.1f%s", mib, units[u]);
}

static void fmt_scalar(const json_t *v, char *buf, size_t n)
{
	if (json_is_string(v))
		snprintf(buf, n, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, n, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, n, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
	else if (json_is_object(v))
		snprintf(buf, n, "{...}");
	else
		snprintf(buf, n, "-");
}

void fmt_cell(const json_t *v, enum col_fmt fmt, time_t now, char *buf, size_t n)
{
	if ((!v || json_is_null(v)) && fmt == FMT_EXPIRES) {
		snprintf(buf, n, "never"); /* a token without an end */
		return;
	}
	if (!v || json_is_null(v)) {
		snprintf(buf, n, "-");
		return;
	}
	double num = json_is_number(v) ? json_number_value(v) : 0;
	switch (fmt) {
	case FMT_MIB:
	case FMT_BYTES:
		if (!json_is_number(v))
			break;
		if (num <= 0)
			snprintf(buf, n, "-");
		else
			fmt_size(fmt == FMT_MIB ? num : num / (1024.0 * 1024.0), buf, n);
		return;
	case FMT_PERCENT:
		if (!json_is_number(v))
			break;
		snprintf(buf, n, "%lld%%", (long long)num);
		return;
	case FMT_EXPIRES: {
		time_t t;
		if (json_time(v, &t) < 0)
			break;
		fmt_expiry((long long)t, now, buf, n);
		return;
	}
	case FMT_AGE:
	case FMT_AGO: {
		time_t t = json_is_string(v)    ? parse_iso(json_string_value(v))
		           : json_is_integer(v) ? (time_t)json_integer_value(v)
		                                : -1;
		if (t < 0)
			break;
		char age[32];
		fmt_age((long long)(now - t), age, sizeof(age));
		snprintf(buf, n, "%s%s", age, fmt == FMT_AGO ? " ago" : "");
		return;
	}
	default:
		break;
	}
	if (json_is_array(v)) {
		size_t o = 0, i;
		json_t *e;
		buf[0] = '\0';
		json_array_foreach(v, i, e) {
			char one[256];
			fmt_scalar(json_is_object(e) && json_object_get(e, "name") ? json_object_get(e, "name") : e,
			           one, sizeof(one));
			o += (size_t)snprintf(buf + o, o < n ? n - o : 0, "%s%s", i ? "," : "", one);
			if (o >= n)
				break;
		}
		if (!json_array_size(v))
			snprintf(buf, n, "-");
		return;
	}
	fmt_scalar(v, buf, n);
}

static int all_scalars(const json_t *arr)
{
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
		if (json_is_object(e) || json_is_array(e))
			return 0;
	return 1;
}

static void flatten(const json_t *v, const char *prefix, json_t *rows)
{
	char key[256], val[4096];
	if (json_is_object(v) && json_object_size(v)) {
		const char *k;
		json_t *m;
		json_object_foreach((json_t *)v, k, m) {
			snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", k);
			flatten(m, key, rows);
		}
		return;
	}
	if (json_is_array(v) && !all_scalars(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			snprintf(key, sizeof(key), "%s[%zu]", prefix, i);
			flatten(e, key, rows);
		}
		return;
	}
	if (json_is_object(v))
		snprintf(val, sizeof(val), "-");
	else
		fmt_cell(v, FMT_TEXT, 0, val, sizeof(val));
	json_array_append_new(rows, json_pack("[s, s]", prefix, val));
}

char *detail_render(const json_t *doc)
{
	json_t *rows = json_array();
	flatten(doc, "", rows);
	size_t kw = 0, i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		size_t w = text_width(json_string_value(json_array_get(r, 0)));
		if (w > kw)
			kw = w;
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		json_decref(rows);
		return NULL;
	}
	json_array_foreach(rows, i, r) {
		char *k = text_sanitize(json_string_value(json_array_get(r, 0)));
		char *clean = text_sanitize(json_string_value(json_array_get(r, 1)));
		char *v = clean ? text_truncate(clean, DETAIL_VALUE_MAX) : NULL;
		if (k && v)
			fprintf(f, "%s%*s%s\n", k, (int)(kw - text_width(k) + 3), "", v);
		free(k);
		free(clean);
		free(v);
	}
	json_decref(rows);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

void out_json(struct cli *c, const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
	if (s) {
		fputs(s, c->out);
		fputc('\n', c->out);
		free(s);
	}
}

/* A task's or event's target as "vm/web1" (the name when it can be found). */
static void fmt_target(struct cli *c, const json_t *item, char *buf, size_t n)
{
	static const char *const kinds[] = {"cluster", "host", "datastore", "network", "template", "vm",
	                                    NULL};
	const char *kind = json_string_value(json_object_get(item, "target_kind"));
	const char *id = json_string_value(json_object_get(item, "target_id"));
	if (!kind || !id) {
		snprintf(buf, n, "%s", id ? id : "-");
		return;
	}
	/* Tasks keep their target's name (target_name): no lookup. */
	const char *name = json_string_value(json_object_get(item, "target_name"));
	if (name) {
		snprintf(buf, n, "%s/%s", kind, name);
		return;
	}
	name = id;
	for (int i = 0; kinds[i]; i++)
		if (!strcmp(kinds[i], kind)) {
			char coll[32];
			snprintf(coll, sizeof(coll), "%ss", kind);
			name = cli_ref_name(c, coll, id);
		}
	snprintf(buf, n, "%s/%s", kind, name);
}

int out_table(struct cli *c, const struct column *cols, const json_t *items, const char *coll)
{
	if (!json_array_size(items)) {
		fprintf(c->err, "no %s found\n", coll);
		return 0;
	}
	size_t ncols = 0;
	while (cols[ncols].header)
		ncols++;
	const char *headers[32];
	int widths[32];
	if (ncols > 32)
		ncols = 32;
	for (size_t i = 0; i < ncols; i++) {
		headers[i] = cols[i].header;
		widths[i] = cols[i].max_width;
	}
	struct table *t = table_new(ncols, headers, widths);
	if (!t)
		return CLI_FAIL;
	time_t now = time(NULL);
	size_t i;
	json_t *it;
	int rc = 0;
	json_array_foreach(items, i, it) {
		char cells[32][512];
		const char *row[32];
		for (size_t k = 0; k < ncols; k++) {
			const json_t *v = json_path(it, cols[k].path);
			if (cols[k].fmt == FMT_TARGET)
				fmt_target(c, it, cells[k], sizeof(cells[k]));
			else if (cols[k].fmt == FMT_REF && json_is_string(v))
				snprintf(cells[k], sizeof(cells[k]), "%s", cli_ref_name(c, cols[k].ref, json_string_value(v)));
			else
				fmt_cell(v, cols[k].fmt, now, cells[k], sizeof(cells[k]));
			row[k] = cells[k];
		}
		if (table_add_row(t, row) < 0) {
			rc = CLI_FAIL;
			break;
		}
	}
	char *text = rc ? NULL : table_render(t);
	if (text)
		fputs(text, c->out);
	else
		rc = CLI_FAIL;
	free(text);
	table_free(t);
	return rc;
}

int out_doc(struct cli *c, const json_t *doc)
{
	if (c->output == OUT_JSON) {
		out_json(c, doc);
		return 0;
	}
	char *text = detail_render(doc);
	if (!text)
		return CLI_FAIL;
	fputs(text, c->out);
	free(text);
	return 0;
}

/* history_doc.c - see history_doc.h. */
#include "history_doc.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>

/* Appends "key":[...] of what (0: counts, 1: averages, 2: maxima). */
static void put_array(char *buf, size_t n, size_t *at, const char *key, const struct hist_acc *a, int nseries,
                      int what)
{
	*at += (size_t)snprintf(buf + *at, *at < n ? n - *at : 0, "%s\"%s\":[", what ? "," : "{", key);
	for (int k = 0; k < nseries; k++) {
		const char *sep = k ? "," : "";
		float v = what == 1 ? hist_acc_avg(a, k) : hist_acc_max(a, k);
		if (what == 0)
			*at += (size_t)snprintf(buf + *at, *at < n ? n - *at : 0, "%s%u", sep, a->n[k]);
		else if (isnan(v))
			*at += (size_t)snprintf(buf + *at, *at < n ? n - *at : 0, "%snull", sep);
		else
			*at += (size_t)snprintf(buf + *at, *at < n ? n - *at : 0, "%s%.7g", sep, (double)v);
	}
	*at += (size_t)snprintf(buf + *at, *at < n ? n - *at : 0, "]%s", what == 2 ? "}" : "");
}

void history_doc_format(const struct hist_acc *a, int nseries, char *buf, size_t n)
{
	size_t at = 0;
	put_array(buf, n, &at, "n", a, nseries, 0);
	put_array(buf, n, &at, "avg", a, nseries, 1);
	put_array(buf, n, &at, "max", a, nseries, 2);
}

static float num(json_t *arr, int k)
{
	json_t *v = json_array_get(arr, (size_t)k);
	return json_is_number(v) ? (float)json_number_value(v) : NAN;
}

int history_doc_parse(const char *doc, int64_t t_ms, struct hist_acc *a)
{
	json_t *j = json_loads(doc, 0, NULL);
	if (!j)
		return -1;
	hist_acc_reset(a, t_ms);
	json_t *n = json_object_get(j, "n"), *avg = json_object_get(j, "avg"), *max = json_object_get(j, "max");
	for (int k = 0; k < HIST_MAX_SERIES && k < (int)json_array_size(n); k++)
		hist_acc_restore(a, k, (uint32_t)json_integer_value(json_array_get(n, (size_t)k)), num(avg, k),
		                 num(max, k));
	json_decref(j);
	return 0;
}

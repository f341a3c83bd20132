/* jsonv.c - strict JSON field readers used by every request parser. */
#include "jsonv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int jv_fail(struct jv_err *err, const char *field, const char *fmt, ...)
{
	if (!err || err->message[0])
		return -1;
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

void jv_path(char *out, size_t n, const char *parent, const char *key)
{
	if (parent && *parent)
		snprintf(out, n, "%s.%s", parent, key);
	else
		snprintf(out, n, "%s", key);
}

void jv_path_index(char *out, size_t n, const char *parent, size_t index)
{
	snprintf(out, n, "%s[%zu]", parent, index);
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "unknown";
}

int jv_only_keys(const json_t *obj, const char *path, const char *const allowed[],
                 struct jv_err *err)
{
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)obj, key, val) {
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			if (!strcmp(key, allowed[i])) {
				ok = true;
				break;
			}
		if (!ok) {
			char p[128];
			jv_path(p, sizeof(p), path, key);
			/* An empty key at the top level has no path of its own. */
			return jv_fail(err, *p ? p : "body", "unknown field '%s'", key);
		}
	}
	return 0;
}

static json_t *lookup(const json_t *obj, const char *path, const char *key, bool required,
                      char *p, size_t pn, struct jv_err *err, int *rc)
{
	jv_path(p, pn, path, key);
	json_t *v = json_object_get(obj, key);
	*rc = 0;
	if (!v || json_is_null(v)) {
		if (required)
			*rc = jv_fail(err, p, "is required");
		return NULL;
	}
	return v;
}

int jv_string(const json_t *obj, const char *path, const char *key, bool required,
              size_t max_len, const char **out, struct jv_err *err)
{
	char p[128];
	int rc;
	json_t *v = lookup(obj, path, key, required, p, sizeof(p), err, &rc);
	if (!v)
		return rc;
	if (!json_is_string(v))
		return jv_fail(err, p, "must be a string, not %s", type_name(v));
	size_t len = json_string_length(v);
	if (len > max_len)
		return jv_fail(err, p, "is %zu characters long; at most %zu are allowed", len, max_len);
	if (strlen(json_string_value(v)) != len)
		return jv_fail(err, p, "must not contain NUL characters");
	*out = json_string_value(v);
	return 0;
}

int jv_int(const json_t *obj, const char *path, const char *key, bool required, int64_t min,
           int64_t max, int64_t *out, struct jv_err *err)
{
	char p[128];
	int rc;
	json_t *v = lookup(obj, path, key, required, p, sizeof(p), err, &rc);
	if (!v)
		return rc;
	if (!json_is_integer(v))
		return jv_fail(err, p, "must be an integer, not %s", type_name(v));
	json_int_t i = json_integer_value(v);
	if (i < min || i > max)
		return jv_fail(err, p, "is %lld; it must be between %lld and %lld", (long long)i,
		               (long long)min, (long long)max);
	*out = i;
	return 0;
}

int jv_bool(const json_t *obj, const char *path, const char *key, bool required, bool *out,
            struct jv_err *err)
{
	char p[128];
	int rc;
	json_t *v = lookup(obj, path, key, required, p, sizeof(p), err, &rc);
	if (!v)
		return rc;
	if (!json_is_boolean(v))
		return jv_fail(err, p, "must be true or false, not %s", type_name(v));
	*out = json_is_true(v);
	return 0;
}

int jv_member(const json_t *obj, const char *path, const char *key, bool required,
              json_type type, json_t **out, struct jv_err *err)
{
	char p[128];
	int rc;
	json_t *v = lookup(obj, path, key, required, p, sizeof(p), err, &rc);
	if (!v)
		return rc;
	if (json_typeof(v) != type)
		return jv_fail(err, p, "must be %s, not %s",
		               type == JSON_OBJECT ? "an object" : "an array", type_name(v));
	*out = v;
	return 0;
}

bool jv_is_safe_name(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (i == 0 && !alnum)
			return false;
		if (!alnum && c != '-' && c != '_' && c != '.')
			return false;
	}
	return true;
}

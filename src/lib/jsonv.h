/* jsonv.h - strict reading of JSON request bodies: every error names the
 * field (as a path like "disks[1].size_mib") and says what was expected. */
#ifndef VDC_JSONV_H
#define VDC_JSONV_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct jv_err {
	char field[128];
	char message[384];
};

/* Records the first error only; later calls are ignored so the reply names
 * the first problem found. Always returns -1. */
int jv_fail(struct jv_err *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Joins a parent path and a key ("disks[0]" + "size_mib"). */
void jv_path(char *out, size_t n, const char *parent, const char *key);
void jv_path_index(char *out, size_t n, const char *parent, size_t index);

/* Fails on any key of obj not in the NULL-terminated list allowed. */
int jv_only_keys(const json_t *obj, const char *path, const char *const allowed[],
                 struct jv_err *err);

/* Typed getters. A missing optional key leaves *out unchanged and returns 0.
 * Wrong types, out-of-range numbers and over-long strings fail. */
int jv_string(const json_t *obj, const char *path, const char *key, bool required,
              size_t max_len, const char **out, struct jv_err *err);
int jv_int(const json_t *obj, const char *path, const char *key, bool required, int64_t min,
           int64_t max, int64_t *out, struct jv_err *err);
int jv_bool(const json_t *obj, const char *path, const char *key, bool required, bool *out,
            struct jv_err *err);
/* Gets an object or array member of the given type (JSON_OBJECT/JSON_ARRAY). */
int jv_member(const json_t *obj, const char *path, const char *key, bool required,
              json_type type, json_t **out, struct jv_err *err);

/* A name in vdc's safe set: 1-63 of [A-Za-z0-9_.-], starting with a letter or
 * digit. Returns true when valid. */
bool jv_is_safe_name(const char *s);

#endif

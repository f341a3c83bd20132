/* args.c - flag parsing for the vdc CLI. Every usage error names the flag
 * and what it wanted, so the user can fix the command line without a manual. */
#include "args.h"

#include "fsutil.h"
#include "units.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USER_FILE_MAX (1024 * 1024)

static int find_opt(const struct args *a, const char *name, size_t namelen, char short_name)
{
	for (size_t i = 0; i < a->nopts; i++) {
		const struct opt *o = a->opt[i];
		if (short_name ? o->short_name == short_name
		               : strlen(o->name) == namelen && !strncmp(o->name, name, namelen))
			return (int)i;
	}
	return -1;
}

static int set_value(struct args *a, int idx, const char *word, const char *shown, char *err,
                     size_t errlen)
{
	const struct opt *o = a->opt[idx];
	struct opt_value *v = &a->val[idx];
	char *end = NULL;
	errno = 0;
	switch (o->type) {
	case OPT_FLAG:
		break;
	case OPT_INT:
		v->i = strtoll(word, &end, 10);
		if (!*word || *end || errno)
			goto bad;
		break;
	case OPT_SIZE:
	case OPT_BYTES:
	case OPT_DURATION: {
		/* One parser per quantity for every flag: "2G" and "5m" mean the
		 * same wherever they are typed. */
		char why[256];
		int rc = o->type == OPT_SIZE    ? units_parse_size_mib(word, &v->i, why, sizeof(why))
		         : o->type == OPT_BYTES ? units_parse_size_bytes(word, &v->i, why, sizeof(why))
		         : (o->flags & OPT_ZERO) ? units_parse_duration0(word, &v->i, why, sizeof(why))
		                                 : units_parse_duration(word, &v->i, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errlen, "flag %s: %s", shown, why);
			return 2;
		}
		break;
	}
	case OPT_NUM:
		v->d = strtod(word, &end);
		if (!*word || *end || errno || !isfinite(v->d))
			goto bad;
		break;
	case OPT_LIST: {
		const char **l = realloc(v->list, (v->nlist + 1) * sizeof(*l));
		if (!l) {
			snprintf(err, errlen, "out of memory");
			return 2;
		}
		v->list = l;
		v->list[v->nlist++] = word;
		break;
	}
	case OPT_STR:
	case OPT_FILE:
		if (!*word) {
			snprintf(err, errlen, "flag %s needs a non-empty %s", shown, o->metavar);
			return 2;
		}
		break;
	}
	v->set = 1;
	v->str = word;
	return 0;
bad:
	snprintf(err, errlen, "flag %s expects %s, not '%s'", shown,
	         o->type == OPT_INT ? "a whole number" : "a number", word);
	return 2;
}

/* One word that starts with '-'; may take the next word as its value. */
static int parse_flag(struct args *a, int argc, char *const argv[], int *i, char *err,
                      size_t errlen)
{
	const char *w = argv[*i];
	const char *inline_val = NULL;
	char shown[64];
	int idx;
	if (w[1] == '-') {
		const char *name = w + 2;
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		snprintf(shown, sizeof(shown), "--%.*s", (int)len, name);
		if (len == 4 && !strncmp(name, "help", 4) && !eq) {
			a->help = 1;
			return 0;
		}
		idx = find_opt(a, name, len, 0);
		if (eq)
			inline_val = eq + 1;
	} else {
		snprintf(shown, sizeof(shown), "-%c", w[1]);
		if (w[1] == 'h' && !w[2]) {
			a->help = 1;
			return 0;
		}
		idx = find_opt(a, NULL, 0, w[1]);
		if (w[2])
			inline_val = w + 2;
	}
	if (idx < 0) {
		snprintf(err, errlen, "unknown flag '%s'", shown);
		return 2;
	}
	const struct opt *o = a->opt[idx];
	if (o->type == OPT_FLAG) {
		if (inline_val) {
			snprintf(err, errlen, "flag %s takes no value", shown);
			return 2;
		}
		return set_value(a, idx, "", shown, err, errlen);
	}
	if (a->val[idx].set && o->type != OPT_LIST) {
		snprintf(err, errlen, "flag %s is given twice", shown);
		return 2;
	}
	if (!inline_val) {
		if (*i + 1 >= argc) {
			snprintf(err, errlen, "flag %s needs a value (%s)", shown, o->metavar);
			return 2;
		}
		inline_val = argv[++*i];
	}
	return set_value(a, idx, inline_val, shown, err, errlen);
}

int args_parse(struct args *a, const struct opt *const *tables, int argc, char *const argv[],
               char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	for (; *tables; tables++)
		for (const struct opt *o = *tables; o->name; o++) {
			if (find_opt(a, o->name, strlen(o->name), 0) >= 0)
				continue;
			if (a->nopts == ARGS_MAX_OPTS) {
				snprintf(err, errlen, "internal error: too many flags");
				return 2;
			}
			a->opt[a->nopts++] = o;
		}
	int flags_done = 0;
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		if (!flags_done && !strcmp(w, "--")) {
			flags_done = 1;
			continue;
		}
		if (!flags_done && w[0] == '-' && w[1]) {
			int rc = parse_flag(a, argc, argv, &i, err, errlen);
			if (rc)
				return rc;
			continue;
		}
		if (a->npos == ARGS_MAX_POS) {
			snprintf(err, errlen, "too many arguments ('%s')", w);
			return 2;
		}
		a->pos[a->npos++] = w;
	}
	return 0;
}

void args_free(struct args *a)
{
	for (size_t i = 0; i < a->nopts; i++) {
		free(a->val[i].list);
		a->val[i].list = NULL;
		a->val[i].nlist = 0;
	}
}

const struct opt_value *args_value(const struct args *a, const char *name)
{
	int i = find_opt(a, name, strlen(name), 0);
	return i >= 0 && a->val[i].set ? &a->val[i] : NULL;
}

const char *args_str(const struct args *a, const char *name)
{
	const struct opt_value *v = args_value(a, name);
	return v ? v->str : NULL;
}

int args_flag(const struct args *a, const char *name)
{
	return args_value(a, name) != NULL;
}

int args_check_required(const struct args *a, char *err, size_t errlen)
{
	for (size_t i = 0; i < a->nopts; i++)
		if ((a->opt[i]->flags & OPT_REQUIRED) && !a->val[i].set) {
			snprintf(err, errlen, "flag --%s %s is required", a->opt[i]->name,
			         a->opt[i]->metavar ? a->opt[i]->metavar : "");
			return 2;
		}
	return 0;
}

/* The object that holds the last part of a dotted key, made as needed. */
static json_t *parent_of(json_t *body, const char *key, const char **leaf)
{
	const char *dot;
	while ((dot = strchr(key, '.'))) {
		char part[64];
		snprintf(part, sizeof(part), "%.*s", (int)(dot - key), key);
		json_t *next = json_object_get(body, part);
		if (!json_is_object(next)) {
			next = json_object();
			json_object_set_new(body, part, next);
		}
		body = next;
		key = dot + 1;
	}
	*leaf = key;
	return body;
}

int args_fill_body(const struct args *a, json_t *body, char *err, size_t errlen)
{
	for (size_t i = 0; i < a->nopts; i++) {
		const struct opt *o = a->opt[i];
		const struct opt_value *v = &a->val[i];
		if (!o->key || !v->set)
			continue;
		const char *leaf;
		json_t *parent = parent_of(body, o->key, &leaf);
		json_t *j = NULL;
		switch (o->type) {
		case OPT_FLAG: j = json_boolean(!(o->flags & OPT_NEGATE)); break;
		case OPT_STR: j = json_string(v->str); break;
		case OPT_INT:
		case OPT_SIZE:
		case OPT_BYTES:
		case OPT_DURATION: j = json_integer(v->i); break;
		case OPT_NUM: j = json_real(v->d); break;
		case OPT_LIST:
			j = json_array();
			for (size_t k = 0; k < v->nlist; k++)
				json_array_append_new(j, json_string(v->list[k]));
			break;
		case OPT_FILE: {
			size_t len = 0;
			char *text = fs_read_all(v->str, USER_FILE_MAX, &len);
			if (!text) {
				snprintf(err, errlen, "cannot read --%s %s: %s", o->name, v->str,
				         errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
				return 2;
			}
			j = json_stringn(text, len);
			free(text);
			if (!j) {
				snprintf(err, errlen, "--%s %s is not UTF-8 text", o->name, v->str);
				return 2;
			}
			break;
		}
		}
		json_object_set_new(parent, leaf, j);
	}
	return 0;
}

const struct opt *args_opt_for_field(const struct args *a, const char *field)
{
	if (!field || !*field)
		return NULL;
	char key[128];
	size_t n = 0;
	/* "networks[1]" and "placement.affinity[0]" name the list flag. */
	for (const char *p = field; *p && *p != '[' && n + 1 < sizeof(key); p++)
		key[n++] = *p;
	key[n] = '\0';
	for (size_t i = 0; i < a->nopts; i++)
		if (a->opt[i]->key && !strcmp(a->opt[i]->key, key))
			return a->opt[i];
	return NULL;
}

/* args.h - the flags of one vdc command: a table of options, a parser that
 * reports usage errors in words, and the request body the flags describe. */
#ifndef VDC_CLI_ARGS_H
#define VDC_CLI_ARGS_H

#include <jansson.h>
#include <stddef.h>

enum opt_type {
	OPT_FLAG, /* --no-start */
	OPT_STR,  /* --template T */
	OPT_INT,  /* --vcpus 2: a whole number */
	OPT_NUM,  /* --cpu-overcommit 1.5 */
	OPT_LIST, /* --network a --network b: repeatable */
	OPT_FILE, /* --user-data-file F: the body gets the file's text */
	OPT_SIZE, /* --memory-mib 2G: a size (units.h) in MiB; a bare number is MiB */
	OPT_BYTES, /* --bytes 16K: a size in bytes; a bare number is bytes */
	OPT_DURATION, /* --timeout 5m: a duration (units.h) in seconds; a bare number is seconds */
};

#define OPT_REQUIRED 1u /* must be given, unless the body comes from -f */
#define OPT_NEGATE 2u   /* a flag that sets its key to false (--no-start) */
#define OPT_ZERO 4u     /* OPT_DURATION: 0 is allowed (a stop's timeout) */

struct opt {
	const char *name;    /* long name without dashes; NULL ends a table */
	char short_name;     /* 'o', or 0 */
	enum opt_type type;
	const char *metavar; /* "N", "NAME"; NULL for flags */
	const char *help;
	const char *key;     /* body or query key it sets ("memory_mib", "placement.affinity") */
	unsigned flags;
	const char *resolve; /* list filters: the collection whose object this names; sent as its id */
};

struct opt_value {
	int set;
	const char *str;   /* the word given (OPT_FILE: the path); messages quote it as typed */
	long long i;       /* OPT_INT; OPT_SIZE in MiB, OPT_BYTES in bytes, OPT_DURATION in seconds */
	double d;
	const char **list; /* OPT_LIST: the words given, in order (malloc'd array) */
	size_t nlist;
};

#define ARGS_MAX_POS 4
#define ARGS_MAX_OPTS 48

struct args {
	const struct opt *opt[ARGS_MAX_OPTS];
	struct opt_value val[ARGS_MAX_OPTS];
	size_t nopts;
	const char *pos[ARGS_MAX_POS];
	int npos;
	int help; /* -h or --help was given */
};

/* Parses the words after the command name against the option tables (a
 * NULL-terminated list; a name found in two tables is the first one's).
 * Flags may come before, between or after positionals, as "--name value",
 * "--name=value", "-o value" or "-ovalue"; "--" ends the flags. -h/--help
 * sets a->help. Strings point into argv. Returns 0, or 2 (usage error) with
 * err naming the flag and what it expects. Call args_free in either case. */
int args_parse(struct args *a, const struct opt *const *tables, int argc, char *const argv[],
               char *err, size_t errlen);
void args_free(struct args *a);

/* The value of a flag that was given, or NULL. */
const struct opt_value *args_value(const struct args *a, const char *name);
/* The word given to a flag, or NULL when it was not given. */
const char *args_str(const struct args *a, const char *name);
/* 1 when the flag was given. */
int args_flag(const struct args *a, const char *name);

/* Checks the OPT_REQUIRED flags. Returns 0, or 2 with err naming the first
 * one missing. */
int args_check_required(const struct args *a, char *err, size_t errlen);

/* Sets in body (an object) each given flag that has a key: strings, numbers,
 * lists as arrays of strings, negated flags as false and other flags as true,
 * file flags as the file's text (at most 1 MiB). A dotted key makes nested
 * objects. Returns 0, or 2 with err naming the flag (an unreadable file). */
int args_fill_body(const struct args *a, json_t *body, char *err, size_t errlen);

/* The flag whose key is the body field named in a server error ("memory_mib",
 * "networks[1]", "placement.affinity[0]"), or NULL. */
const struct opt *args_opt_for_field(const struct args *a, const char *field);

#endif

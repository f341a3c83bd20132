/* cli.h - what the command files of vdc share: the run context, the command
 * tables each family file exports, and the calls that talk to vdcd and print. */
#ifndef VDC_CLI_H
#define VDC_CLI_H

#include "apierr.h"
#include "args.h"
#include "config.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

enum out_format { OUT_TABLE, OUT_JSON };

struct cli;
struct client;
struct progress;

struct cmd {
	const char *name;       /* verb ("create"); "" for a top-level command; NULL ends a table */
	const char *usage;      /* positionals as shown ("NAME SNAPNAME"), or "" */
	int min_pos, max_pos;
	const char *summary;    /* one line */
	const struct opt *opts; /* flags, a table ending with a NULL name; may be NULL */
	int (*run)(struct cli *c, const struct args *a);
	const void *data;       /* what run works on: a struct resource for the generic verbs */
	/* Checks what the parser cannot (an on|off word...). Returns 0, or 2 with
	 * err filled. May be NULL. */
	int (*check)(const struct args *a, char *err, size_t errlen);
	const char *help;       /* more text for --help (examples), or NULL */
};

struct family {
	const char *name;       /* "vm" */
	const char *summary;
	const struct cmd *cmds; /* verbs; a top-level command has one, named "" */
};

/* The families, in the order 'vdc --help' lists them; NULL-terminated. */
extern const struct family *const cli_families[];
extern const struct opt cli_global_opts[];
extern const struct family cli_login, cli_whoami, cli_cluster, cli_host, cli_datastore,
    cli_network, cli_template, cli_vm, cli_task, cli_event, cli_project, cli_quota, cli_user,
    cli_token, cli_version, cli_help, cli_image, cli_watch, cli_pool;

/* A command line, understood. */
struct parsed {
	const struct family *fam; /* NULL: the top level */
	const struct cmd *cmd;    /* NULL: the family itself (its help) */
	struct args args;
	int help;                 /* show the help of cmd, fam or the top and exit 0 */
	enum out_format output;
	char path[64];            /* "vdc vm create", for messages */
};

/* Finds the command argv names and parses its flags (global flags may come
 * anywhere), checks the count of positionals, required flags (unless -f is
 * given), -o and the command's own check. Returns 0, or 2 with err filled.
 * Call parsed_free in either case. */
int cli_parse(int argc, char *const argv[], struct parsed *p, char *err, size_t errlen);
void parsed_free(struct parsed *p);

/* Help texts (help.c). */
void help_top(FILE *f);
void help_family(FILE *f, const struct family *fam);
void help_command(FILE *f, const struct family *fam, const struct cmd *cmd);

/* The run context of one command. */
struct cli {
	struct cli_config cfg;    /* resolved: flags > env > file > default */
	char config_file[1024];
	enum out_format output;
	int err_tty;              /* stderr is a terminal: progress bars */
	FILE *out, *err;
	char path[64];            /* "vdc vm create" */
	const struct cmd *cmd;
	const struct args *args;
	struct client *http;      /* opened on first call */
	json_t *refs;             /* collection -> {id: name}, filled on demand */
	json_t *last_error;       /* the error document of the last failed call, or NULL */
	int quiet;                /* cli_error prints nothing (best-effort lookups) */
	int quiet_unreachable;    /* no message when vdcd does not answer (the caller retries) */
	long quiet_status;        /* no message for a reply with this status (the caller handles it) */
	long last_status;         /* the HTTP status of the last call; 0 when none came */
	struct progress *bar;     /* a progress display to end before an error is printed */
};

/* Prints "error: MESSAGE" to c->err. */
void cli_error(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Calls vdcd. On a 2xx returns 0 and sets *reply (when reply is not NULL) to
 * the parsed JSON body, or NULL when the body is empty or not JSON; the
 * caller frees it. Otherwise prints what went wrong and what to do, and
 * returns the exit code (apierr.h); *reply is NULL. kind ("vm") helps
 * messages after a 404 and may be NULL. */
int cli_call(struct cli *c, const char *method, const char *path, const json_t *body,
             const char *kind, json_t **reply);
/* PUTs size bytes of fd to path (an image's file), showing progress on
 * stderr; answers as cli_call. */
int cli_upload(struct cli *c, const char *path, int fd, uint64_t size, const char *kind, json_t **reply);
/* GET of a text resource (a console): *text is the body, NUL-terminated,
 * *len its length (it may hold NULs); the caller frees it. When offset is
 * not NULL it gets the reply's X-Console-Offset, or -1 when it has none. */
int cli_call_text(struct cli *c, const char *path, const char *kind, char **text, size_t *len,
                  long long *offset);

/* GETs a stream (server-sent events): fn gets its bytes as they come (see
 * client_stream). 0 when it ended or fn stopped it; else an exit code with
 * the error printed (as cli_call: unreachable, 401, 503...). */
int cli_stream(struct cli *c, const char *path, const char *last_event_id,
               int (*fn)(void *ctx, const char *data, size_t len), void *ctx);

struct list_req {
	const char *coll;     /* "vms" */
	const char *query;    /* "" or "&k=v..." (escaped) */
	long limit;           /* > 0: stop after this many items */
	const char *page_arg; /* "after", or "before" for events */
	const char *start;    /* the cursor to start from, or NULL */
};

/* Fetches a collection's items, following "next" until the end or limit.
 * Sets *items (an array) and *next (a copy of the cursor where it stopped,
 * or NULL). Returns an exit code; on failure sets neither. */
int cli_list(struct cli *c, const struct list_req *q, json_t **items, char **next);

/* Overwrites the string member key of obj (a password, a token) with
 * zeros in place, so that freeing obj leaves no copy of the secret. */
void json_scrub(json_t *obj, const char *key);

/* The name of the object with this id in collection coll, from one listing
 * of coll kept for the run; the id itself when unknown. Never NULL. */
const char *cli_ref_name(struct cli *c, const char *coll, const char *id);

/* The id of the object of coll named name_or_id (GET coll/name). Returns
 * an exit code; prints the error. */
int cli_resolve_id(struct cli *c, const char *coll, const char *kind, const char *name_or_id,
                   char *id, size_t n);
/* The id of a task's or event's target as typed: an id as it is (the
 * object may be gone), "KIND/NAME" ("host/h1", as the TARGET column shows
 * it), or a VM's name. An unknown name is an error naming it (exit 3). */
int cli_resolve_target(struct cli *c, const char *target, char *id, size_t n);
/* 1 when s has the form of an id vdcd makes (a UUID). Pure. */
int cli_looks_like_id(const char *s);

/* Output (output.c). */
enum col_fmt {
	FMT_TEXT,    /* as is; numbers plainly */
	FMT_MIB,     /* 512 -> "512Mi", 2048 -> "2Gi"; 0 -> "-" */
	FMT_BYTES,   /* 1073741824 -> "1Gi" */
	FMT_AGE,     /* an ISO 8601 UTC time (or seconds since the epoch) -> "5m" (how long ago) */
	FMT_AGO,     /* the same as "5m ago" */
	FMT_EXPIRES, /* an RFC 3339 time (or seconds since the epoch), null or 0 for never -> "in 11h",
	              * "expired 2d ago", "never" */
	FMT_PERCENT, /* 50 -> "50%" */
	FMT_REF,     /* an id of col->ref's objects -> its name */
	FMT_TARGET,  /* a task or event target: target_kind + target_id -> "vm/web1" */
};

struct column {
	const char *header; /* NULL ends a table */
	const char *path;   /* dotted path into the document ("config.memory_mib") */
	enum col_fmt fmt;
	int max_width;      /* longer cells are cut with "..."; 0: never */
	const char *ref;    /* FMT_REF: the collection ("clusters") */
};

/* A time as vdcd writes it: an RFC 3339 UTC string ("2024-05-01T10:00:00Z",
 * fractions allowed), or seconds since the epoch from an older vdcd. Sets
 * *t; 0 for null, a missing value or 0 (never). Returns 0, or -1 when v is
 * neither. Pure. */
int json_time(const json_t *v, time_t *t);
/* An RFC 3339 string to epoch milliseconds (its fraction kept). 0, or -1. */
int json_time_ms(const json_t *v, int64_t *ms);
/* The member at a dotted path ("placement.host"), or NULL. */
const json_t *json_path(const json_t *doc, const char *path);
/* A cell's text for a value (pure; FMT_REF and FMT_TARGET show the ids). */
void fmt_cell(const json_t *v, enum col_fmt fmt, time_t now, char *buf, size_t n);
/* An age as "42s", "5m", "3h", "2d" (negative clamps to "0s"). */
void fmt_age(long long seconds, char *buf, size_t n);
/* An expiry time (seconds since the epoch; 0: never) as "in 11h",
 * "expired 2d ago" or "never". */
void fmt_expiry(long long at, time_t now, char *buf, size_t n);
/* A malloc'd "key   value" listing of every leaf of doc (pure). */
char *detail_render(const json_t *doc);

/* Pretty JSON of v to c->out. */
void out_json(struct cli *c, const json_t *v);

/* metrics.c: GET /api/v1/COLL/NAME/metrics (NAME: a->pos[0]) shown as a
 * table of its series (last, min, mean, max), with --since and --metric. */
int cli_metrics(struct cli *c, const char *coll, const char *kind, const struct args *a);
extern const struct opt cli_metrics_opts[];
/* host_power.c: 'vdc host power-driver set|clear HOST' and 'vdc host power
 * HOST on|off|cycle|status', their flags and checks. */
int host_power_driver_cmd(struct cli *c, const struct args *a);
int host_power_driver_check(const struct args *a, char *err, size_t errlen);
int host_power_cmd(struct cli *c, const struct args *a);
int host_power_check(const struct args *a, char *err, size_t errlen);
extern const struct opt host_power_driver_opts[], host_power_opts[];
/* --ipmi's ADDRESS[:PORT] ([IPv6]:PORT; a bare IPv6 address has no port)
 * into addr and *port (0 when not given). 0, or 2 with err. Pure. */
int host_power_parse_bmc(const char *s, char *addr, size_t n, long *port, char *err, size_t errlen);
/* items (an array) as a table of cols to c->out; when there are none, says
 * "no COLL found" on c->err instead. Returns an exit code. */
int out_table(struct cli *c, const struct column *cols, const json_t *items, const char *coll);
/* One document: its detail listing, or JSON with -o json. */
int out_doc(struct cli *c, const json_t *doc);

/* The generic verbs (resource.c), for cmds whose data is a resource. */
struct resource {
	const char *kind;  /* "vm" */
	const char *coll;  /* "vms" */
	const struct column *columns;
	const char *page_arg; /* NULL: "after" */
	/* Listed by time (tasks, events): newest first, --reverse for the
	 * oldest first (?order=desc|asc, paged with "after" when oldest first). */
	int by_time;
};
int res_list(struct cli *c, const struct args *a);
/* res_list with other columns (a VM list showing projects). */
int res_list_columns(struct cli *c, const struct args *a, const struct column *cols);
int res_get(struct cli *c, const struct args *a);
int res_create(struct cli *c, const struct args *a);
int res_delete(struct cli *c, const struct args *a);
/* PATCH of the cmd's resource named by the first argument, with the body
 * make_body builds from the flags (a usage error is reported). With -o
 * json the answer is printed here (*doc NULL); otherwise *doc is the
 * updated object for the caller's line. Returns the exit code. */
int res_patch(struct cli *c, const struct args *a,
              int (*make_body)(const struct args *a, json_t **body, char *err, size_t errlen), json_t **doc);
/* The check of list verbs: --limit is at least 1. */
int res_check_list(const struct args *a, char *err, size_t errlen);
/* The body of a create: -f's JSON object (if given), then NAME, then the
 * flags with keys. Returns 0, or 2 with err filled. Pure but for files. */
int res_create_body(const struct args *a, const char *name, json_t **body, char *err,
                    size_t errlen);

/* The body of 'vdc quota set' from its flags (--vms N, --memory 64G, or
 * 'unlimited' for null). Returns 0, or 2 with err filled (a bad value, or
 * no flag given). Pure. */
int quota_body(const struct args *a, json_t **body, char *err, size_t errlen);

/* Tasks (task.c). Waits for task id, drawing progress on stderr, and sets
 * *final to its last state (when final is not NULL). Returns 0 when it
 * succeeded; when it failed prints its error and returns 1; or the exit
 * code of a failed call. */
int task_wait(struct cli *c, const char *id, json_t **final);
/* Ends a command that answered 202 {task}: with --no-wait prints the task id
 * (or the reply, -o json); else waits, then prints done (or the final task,
 * -o json). Returns the exit code. */
int task_finish(struct cli *c, const struct args *a, const json_t *reply, const char *done);

/* vm_hw.c: a VM's disks and NICs added and removed (vm.c's table). */
int vm_disk_add_run(struct cli *c, const struct args *a);
int vm_disk_remove_run(struct cli *c, const struct args *a);
int vm_nic_add_run(struct cli *c, const struct args *a);
int vm_nic_remove_run(struct cli *c, const struct args *a);
/* 'vm show' lines for its disks and NICs, each with its state (pending...). */
void vm_hw_show(struct cli *c, const json_t *vm);
extern const struct opt vm_disk_add_opts[], vm_disk_remove_opts[], vm_nic_add_opts[], vm_nic_remove_opts[];

/* Flags many commands share. */
#define OPT_LIMIT \
	{"limit", 0, OPT_INT, "N", "show at most N items (default: all, page by page)", NULL, 0, NULL}
#define OPT_AFTER \
	{"after", 0, OPT_STR, "NAME", "start after this name (a 'next' cursor)", "after", 0, NULL}
#define OPT_BODY_FILE \
	{"file", 'f', OPT_STR, "FILE", "the request body as JSON (- reads stdin); flags override", \
	 NULL, 0, NULL}
#define OPT_NO_WAIT \
	{"no-wait", 0, OPT_FLAG, NULL, "print the task id and return at once", NULL, 0, NULL}
#define OPT_DESCRIPTION \
	{"description", 0, OPT_STR, "TEXT", "a free-text description", "description", 0, NULL}
#define OPT_REVERSE \
	{"reverse", 0, OPT_FLAG, NULL, "oldest first (default: newest first)", NULL, 0, NULL}
#define OPT_PROJECT \
	{"project", 0, OPT_STR, "PROJECT", "the project it belongs to (name or id)", "project", 0, NULL}
#define OPT_END {0}

/* The four generic verbs of a simple inventory kind. */
#define RES_LIST(res, opts) \
	{"list", "", 0, 0, "list them", opts, res_list, res, res_check_list, NULL}
#define RES_GET(res) \
	{"get", "NAME", 1, 1, "show one (by name or id)", NULL, res_get, res, NULL, NULL}
#define RES_DELETE(res) \
	{"delete", "NAME", 1, 1, "delete one (by name or id)", NULL, res_delete, res, NULL, NULL}

#endif

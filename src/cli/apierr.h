/* apierr.h - what a failed call to vdcd means for the user: the exit code a
 * script tests, and a message that says what went wrong and what to do next. */
#ifndef VDC_CLI_APIERR_H
#define VDC_CLI_APIERR_H

#include <stddef.h>

struct args;

/* Exit codes, as 'vdc --help' documents them. */
enum {
	CLI_OK = 0,
	CLI_FAIL = 1,        /* the server reported a failure, or a task failed */
	CLI_USAGE = 2,       /* bad command line, or a request the server found invalid (400) */
	CLI_NOT_FOUND = 3,   /* 404 */
	CLI_CONFLICT = 4,    /* 409: name taken, wrong state, no host fits */
	CLI_AUTH = 5,        /* 401, 403 */
	CLI_UNREACHABLE = 6, /* no reply from the server */
};

/* What the message may refer to; any member may be NULL. */
struct apierr_ctx {
	const char *server;     /* vdcd's URL */
	const char *kind;       /* "vm": "see 'vdc vm list'" after a 404 */
	const struct args *args; /* the command's flags: a 400's field is named as its flag */
	const char *token_from; /* "flag", "env", "file", "" (none), "password" (a login
	                         * with a password) or another word (typed in): advice
	                         * after a 401 */
	const char *ca_file;    /* the CA trusted at login, or NULL/"": advice after a TLS
	                         * failure */
};

/* The exit code for an HTTP status: 2xx 0; 400, 413, 422 2; 401, 403 5;
 * 404 3; 409, 412, 423 4; anything else 1; 0 (no reply) 6. */
int apierr_exit_code(long status);

/* Describes a reply with an error status. body is the reply text: vdcd's
 * {"error":{"code","message","field"?,"placement"?}} or anything else.
 * Writes one or more lines (no trailing newline, no "error:" prefix) to buf
 * and returns the exit code. */
int apierr_describe(const struct apierr_ctx *x, long status, const char *body, char *buf,
                    size_t n);

/* Describes a call that got no reply (why: libcurl's reason), with advice
 * for a certificate that does not verify; returns 6. */
int apierr_unreachable(const struct apierr_ctx *x, const char *why, char *buf, size_t n);

#endif

/* access.h - the pure decisions of who may do what: roles, what a route
 * needs, a caller's role in a project, and how failed logins are slowed
 * down. sec/auth.c and sec/login_guard.c do the I/O around them. */
#ifndef VDC_DECIDE_ACCESS_H
#define VDC_DECIDE_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

enum mgr_role { ROLE_NONE, ROLE_VIEWER, ROLE_OPERATOR, ROLE_ADMIN };

/* "viewer", "operator", "admin" ("none" for ROLE_NONE). */
const char *role_name(enum mgr_role r);
/* 0 and *out, or -1 for anything but the three role names. */
int role_parse(const char *s, enum mgr_role *out);

/* What a route needs (struct http_route.access). */
enum mgr_access {
	ACC_ANY = 0, /* any signed-in user; the handler limits what they see */
	ACC_SELF,    /* changes the caller's own things: tokens, password */
	ACC_WRITE,   /* changes objects of a project: operator or project admin */
	ACC_ADMIN,   /* system administrators only */
};

struct auth_member {
	char project_id[37];
	enum mgr_role role;
};

/* A signed-in caller. Shared by the cache and the requests using it. */
struct auth_ctx {
	int refs;
	char user_id[37];
	char user[64];
	char token_id[37];
	bool admin; /* a system administrator: every project, every route */
	int64_t expires_at; /* the token's, epoch seconds; 0: never */
	int nmembers;
	struct auth_member *members;
};

/* 0 when ctx may call a route of this access with a mutating method or
 * not; else 403. Handlers then check the object's own project. */
int auth_decide(const struct auth_ctx *ctx, enum mgr_access access, bool mutating);
/* The caller's role in a project (ROLE_ADMIN for system administrators;
 * ROLE_NONE for a project they are not in, or project_id NULL). */
enum mgr_role auth_role_in(const struct auth_ctx *ctx, const char *project_id);

/* Pure: the delay before answering after this many recent failures (0
 * for the first few, then doubling to a cap), and whether to refuse
 * outright for now. */
unsigned throttle_delay_ms(int failures);
bool throttle_locked(int failures);

#endif

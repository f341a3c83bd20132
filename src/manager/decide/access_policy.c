/* access_policy.c - the pure decisions of access.h: role
 * names, which routes a caller may use at all, a caller's role in one
 * project, and how failed logins are slowed down. */
#include "access.h"

#include <string.h>

static const char *const role_names[] = {"none", "viewer", "operator", "admin"};

const char *role_name(enum mgr_role r)
{
	return (unsigned)r <= ROLE_ADMIN ? role_names[r] : "none";
}

int role_parse(const char *s, enum mgr_role *out)
{
	for (int r = ROLE_VIEWER; s && r <= ROLE_ADMIN; r++)
		if (!strcmp(s, role_names[r])) {
			*out = (enum mgr_role)r;
			return 0;
		}
	return -1;
}

enum mgr_role auth_role_in(const struct auth_ctx *ctx, const char *project_id)
{
	if (ctx->admin)
		return ROLE_ADMIN;
	for (int i = 0; project_id && i < ctx->nmembers; i++)
		if (!strcmp(ctx->members[i].project_id, project_id))
			return ctx->members[i].role;
	return ROLE_NONE;
}

/* The best role the caller holds in any project. */
static enum mgr_role best_role(const struct auth_ctx *ctx)
{
	enum mgr_role best = ROLE_NONE;
	for (int i = 0; i < ctx->nmembers; i++)
		if (ctx->members[i].role > best)
			best = ctx->members[i].role;
	return best;
}

int auth_decide(const struct auth_ctx *ctx, enum mgr_access access, bool mutating)
{
	if (ctx->admin)
		return 0;
	switch (access) {
	case ACC_ANY:
		/* Reads for everyone; the handler shows only the caller's projects.
		 * A mutating route marked ACC_ANY would be a mistake: refuse it. */
		return mutating ? 403 : 0;
	case ACC_SELF:
		return 0;
	case ACC_WRITE:
		/* Reads of a writable collection are fine; a change needs a role
		 * above viewer somewhere (the handler checks the object's project). */
		return !mutating || best_role(ctx) >= ROLE_OPERATOR ? 0 : 403;
	case ACC_ADMIN:
	default:
		return 403;
	}
}

#define FREE_FAILURES 3  /* a typo or two costs nothing */
#define LOCK_FAILURES 20 /* then refused until the failures decay */
#define MAX_DELAY_MS 8000u

unsigned throttle_delay_ms(int failures)
{
	if (failures < FREE_FAILURES)
		return 0;
	int shift = failures - FREE_FAILURES;
	return shift >= 5 ? MAX_DELAY_MS : 250u << shift; /* 250, 500, 1000, 2000, 4000, 8000 */
}

bool throttle_locked(int failures) { return failures >= LOCK_FAILURES; }

/* live_filter.h - who may see a change on a live stream: the same rule the
 * list routes apply, decided once per change when it happens and once per
 * stream when it is sent, from the caller's memberships alone. */
#ifndef VDC_DECIDE_LIVE_FILTER_H
#define VDC_DECIDE_LIVE_FILTER_H

#include <stdbool.h>

#include "access.h"

enum live_audience {
	LIVE_EVERYONE, /* clusters, datastores, shared networks/templates/images */
	LIVE_ADMINS,   /* hosts, the audit log, objects of no project that are not shared */
	LIVE_PROJECT,  /* members of project_id (any role) and administrators */
};

struct live_scope {
	enum live_audience audience;
	char project_id[37]; /* LIVE_PROJECT only */
};

/* The audience of an object: admin_only for kinds only administrators
 * list (hosts, events); else, for a kind with projects (scoped), its
 * project's members, or with no project everyone when the kind is shared
 * and administrators when not; a kind without projects is everyone's. */
struct live_scope live_scope_of(bool admin_only, bool scoped, bool shared, const char *project_id);

/* Whether caller may see a change of this scope. */
bool live_visible(const struct auth_ctx *caller, const struct live_scope *s);

#endif

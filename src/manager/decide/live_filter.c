/* live_filter.c - the audience of a change and whether a caller is in it. */
#include "live_filter.h"

#include <stdio.h>
#include <string.h>

struct live_scope live_scope_of(bool admin_only, bool scoped, bool shared, const char *project_id)
{
	struct live_scope s = {LIVE_EVERYONE, ""};
	if (admin_only)
		s.audience = LIVE_ADMINS;
	else if (scoped && project_id && *project_id) {
		s.audience = LIVE_PROJECT;
		snprintf(s.project_id, sizeof(s.project_id), "%s", project_id);
	} else if (scoped && !shared)
		s.audience = LIVE_ADMINS;
	return s;
}

bool live_visible(const struct auth_ctx *caller, const struct live_scope *s)
{
	if (!caller)
		return false;
	if (caller->admin || s->audience == LIVE_EVERYONE)
		return true;
	if (s->audience == LIVE_ADMINS)
		return false;
	for (int i = 0; i < caller->nmembers; i++)
		if (caller->members[i].role != ROLE_NONE && !strcmp(caller->members[i].project_id, s->project_id))
			return true;
	return false;
}

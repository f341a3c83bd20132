/* crashpoint.c - fault injection for crash-recovery tests. The variable is
 * read once; an unset variable costs one pointer test per point. */
#include "crashpoint.h"

#include "log.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

void crash_point(const char *name)
{
	static const char *target;
	static int loaded;
	if (!loaded) {
		target = getenv("VDC_CRASH_AT");
		loaded = 1;
	}
	if (target && !strcmp(target, name)) {
		log_warn("crash_point", "name=%s", name);
		raise(SIGKILL);
	}
}

/* fault.c - see fault.h. Counters are atomics so that any thread (API,
 * task workers) may pass a site; the armed N is compared with the count
 * after this call, so exactly one call fires. */
#include "fault.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char *const site_names[FAULT_NSITES] = {"alloc", "store", "agent", "qmp"};

static struct {
	atomic_long armed; /* the call that fails, or 0 */
	atomic_long calls;
	atomic_bool fired;
} sites[FAULT_NSITES];

static atomic_bool scoped;
static _Thread_local bool in_scope;

void fault_set_scoped(bool on) { atomic_store(&scoped, on); }
void fault_scope_enter(void) { in_scope = true; }
void fault_scope_leave(void) { in_scope = false; }
bool fault_in_scope(void) { return in_scope; }

bool fault_hit(enum fault_site s)
{
	if ((unsigned)s >= FAULT_NSITES)
		return false;
	long nth = atomic_load_explicit(&sites[s].armed, memory_order_relaxed);
	if (nth <= 0)
		return false;
	if (!in_scope && atomic_load_explicit(&scoped, memory_order_relaxed))
		return false;
	if (atomic_fetch_add(&sites[s].calls, 1) + 1 != nth)
		return false;
	atomic_store(&sites[s].fired, true);
	return true;
}

void fault_arm(enum fault_site s, long nth)
{
	if ((unsigned)s >= FAULT_NSITES)
		return;
	atomic_store(&sites[s].armed, 0);
	atomic_store(&sites[s].calls, 0);
	atomic_store(&sites[s].fired, false);
	atomic_store(&sites[s].armed, nth > 0 ? nth : 0);
}

long fault_calls(enum fault_site s) { return (unsigned)s < FAULT_NSITES ? atomic_load(&sites[s].calls) : 0; }
bool fault_fired(enum fault_site s) { return (unsigned)s < FAULT_NSITES && atomic_load(&sites[s].fired); }

const char *fault_site_name(enum fault_site s)
{
	return (unsigned)s < FAULT_NSITES ? site_names[s] : "unknown";
}

int fault_site_parse(const char *name)
{
	for (int i = 0; name && i < FAULT_NSITES; i++)
		if (!strcmp(name, site_names[i]))
			return i;
	return -1;
}

int fault_arm_spec(const char *spec)
{
	char buf[256];
	if (!spec || strlen(spec) >= sizeof(buf))
		return -1;
	strcpy(buf, spec);
	char *save = NULL;
	for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(item, ':');
		if (!colon)
			return -1;
		*colon = '\0';
		int site = fault_site_parse(item);
		char *end;
		long nth = strtol(colon + 1, &end, 10);
		if (site < 0 || *end || end == colon + 1 || nth < 0)
			return -1;
		fault_arm((enum fault_site)site, nth);
	}
	return 0;
}

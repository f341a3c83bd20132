/* fault.h - fault injection for tests, in the manner of SQLite's
 * test_malloc.c: a test arms a site with N, and the Nth call through that
 * site from then on fails, once. Sites are the seams where the world can
 * fail: an allocation, a store call, a call to an agent, a QMP command.
 * Disarmed (always, unless a test arms it), a site costs one atomic load.
 * The code at a site asks fault_hit() and fails the way the real failure
 * would ("injected fault" in its message), so the error paths that run are
 * the real ones. */
#ifndef VDC_FAULT_H
#define VDC_FAULT_H

#include <stdbool.h>

enum fault_site { FAULT_ALLOC, FAULT_STORE, FAULT_AGENT, FAULT_QMP, FAULT_NSITES };

/* Counts one call at site s: true when this is the armed Nth (the caller
 * then fails it). Thread-safe. */
bool fault_hit(enum fault_site s);
/* Arms s so that its nth call from now fails (nth >= 1), or disarms it
 * (nth <= 0). Resets the site's counters. */
void fault_arm(enum fault_site s, long nth);
/* Calls counted at s since it was armed, and whether the fault fired. */
long fault_calls(enum fault_site s);
bool fault_fired(enum fault_site s);
/* "alloc", "store", "agent", "qmp"; and back (-1 for an unknown name). */
const char *fault_site_name(enum fault_site s);
int fault_site_parse(const char *name);
/* Arms sites from a spec "site:N[,site:N...]" (as the VDC_FAULT variable
 * of the daemons' tests gives it). 0, or -1 for a malformed spec. */
int fault_arm_spec(const char *spec);

/* Scoped counting, for a daemon where other threads pass the same sites at
 * their own pace (heartbeats, pollers): with fault_set_scoped(true), a site
 * counts (and fails) only calls made by a thread between fault_scope_enter
 * and fault_scope_leave, so the Nth call is the Nth of one operation, the
 * same on every run. Off (the default), every thread counts. */
void fault_set_scoped(bool on);
void fault_scope_enter(void);
void fault_scope_leave(void);
bool fault_in_scope(void);

#endif

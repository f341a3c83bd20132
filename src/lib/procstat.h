/* procstat.h - what /proc says of a process that other code must not get
 * wrong: its start time, which with its pid names it for good (a pid alone
 * may be reused by an unrelated process after it exits). */
#ifndef VDC_PROCSTAT_H
#define VDC_PROCSTAT_H

#include <sys/types.h>

/* Field 22 of /proc/PID/stat (clock ticks since boot); 0 when pid does not
 * exist. */
unsigned long long proc_starttime(pid_t pid);

/* Whether pid still runs the process that had start time start. */
int proc_is(pid_t pid, unsigned long long start);

#endif

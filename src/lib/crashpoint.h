/* crashpoint.h - named points in long operations where a test can make the
 * agent die as if by kill -9 (VDC_CRASH_AT=<name>), to prove that every such
 * point is recovered from at the next start. */
#ifndef VDC_CRASHPOINT_H
#define VDC_CRASHPOINT_H

/* Dies with SIGKILL when VDC_CRASH_AT names this point; otherwise nothing. */
void crash_point(const char *name);

#endif

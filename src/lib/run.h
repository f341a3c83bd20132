/* run.h - run a helper program (qemu-img, genisoimage) and capture what it
 * says, so its own message can be handed back to the user. */
#ifndef VDC_RUN_H
#define VDC_RUN_H

#include <stddef.h>

/* Runs argv[0] (searched in PATH) with stdin from /dev/null, capturing
 * stdout+stderr (the last out_len-1 bytes, NUL-terminated) into out when out is
 * not NULL. Returns the exit status (0..255), 128+signal if killed, or -errno
 * if it could not be started. */
int run_capture(const char *const argv[], char *out, size_t out_len);

/* Trims trailing whitespace in place and returns s. */
char *run_trim(char *s);

#endif

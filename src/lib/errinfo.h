/* errinfo.h - an error as the API reports it: HTTP status, a stable code, the
 * field at fault (if any) and a message that says what to do next. */
#ifndef VDC_ERRINFO_H
#define VDC_ERRINFO_H

struct errinfo {
	unsigned status;
	char code[32];
	char field[128];
	char message[1536];
};

/* Fills e (if no error is recorded yet) and returns -1. */
int errinfo_set(struct errinfo *e, unsigned status, const char *code, const char *field,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif

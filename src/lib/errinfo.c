/* errinfo.c - the first error wins: later layers do not overwrite the cause. */
#include "errinfo.h"

#include <stdarg.h>
#include <stdio.h>

int errinfo_set(struct errinfo *e, unsigned status, const char *code, const char *field,
                const char *fmt, ...)
{
	if (!e || e->status)
		return -1;
	e->status = status;
	snprintf(e->code, sizeof(e->code), "%s", code);
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

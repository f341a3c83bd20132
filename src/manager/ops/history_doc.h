/* history_doc.h - a history bucket as the store keeps it (the doc of a
 * history row): {"n": [points with a value, by series], "avg": [...],
 * "max": [...]}, null where a series had no value. The counts let a
 * restarted vdcd go on consolidating into the bucket it left open. */
#ifndef VDC_HISTORY_DOC_H
#define VDC_HISTORY_DOC_H

#include "history_tiers.h"

#include <stddef.h>
#include <stdint.h>

/* The bucket's document into buf (1 KiB holds HIST_MAX_SERIES series). */
void history_doc_format(const struct hist_acc *a, int nseries, char *buf, size_t n);
/* A document back into a, the bucket starting at t_ms. 0, or -1 when it
 * is not JSON. */
int history_doc_parse(const char *doc, int64_t t_ms, struct hist_acc *a);

#endif

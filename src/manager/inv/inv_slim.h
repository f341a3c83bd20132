/* inv_slim.h - reads a page of stored documents (a JSON array of objects)
 * keeping only the fields a reader needs, several times faster than a full
 * parse: a VM document is mostly what the index never reads (its networks,
 * template, user data, placement report). For rebuilding indexes at start. */
#ifndef VDC_INV_SLIM_H
#define VDC_INV_SLIM_H

#include <jansson.h>
#include <stddef.h>

#include "inv.h"

/* The fields kept: spec maps a key to true (keep its value whole) or to an
 * object (keep only those fields of an object value). Returns the array of
 * slimmed objects (new reference), or NULL when text is not a JSON array of
 * objects. */
json_t *inv_slim_loads(const char *text, size_t len, const json_t *spec);

/* The fields inv_apply reads of each kind (borrowed, static). */
const json_t *inv_slim_spec(enum inv_kind k);

#endif

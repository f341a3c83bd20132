/* boot_order.h - a VM's boot order as the API and the agent's spec both
 * take it: ["disk", "cdrom", "net"], one to three devices, each at most
 * once. One parser, so vdcd refuses exactly what an agent would. */
#ifndef VDC_BOOT_ORDER_H
#define VDC_BOOT_ORDER_H

#include "jsonv.h"

#include <jansson.h>

enum boot_dev { BOOT_DISK = 1, BOOT_CDROM, BOOT_NET };
#define BOOT_MAX 3

/* "disk", "cdrom", "net"; "?" for anything else. */
const char *boot_dev_name(int dev);

/* Parses list (a JSON array) into out[0..*n): 0, or -1 with err naming
 * "boot_order" or "boot_order[i]". */
int boot_order_parse(const json_t *list, unsigned char out[BOOT_MAX], int *n, struct jv_err *err);

#endif

/* boot_order.c - see boot_order.h. */
#include "boot_order.h"

#include <stdio.h>
#include <string.h>

static const char *const names[] = {NULL, "disk", "cdrom", "net"};

const char *boot_dev_name(int dev)
{
	return dev >= BOOT_DISK && dev <= BOOT_NET ? names[dev] : "?";
}

int boot_order_parse(const json_t *list, unsigned char out[BOOT_MAX], int *n, struct jv_err *err)
{
	*n = 0;
	if (!json_is_array(list) || json_array_size(list) < 1 || json_array_size(list) > BOOT_MAX)
		return jv_fail(err, "boot_order", "must be a list of 1 to %d of \"disk\", \"cdrom\", \"net\", each at most once",
		               BOOT_MAX);
	size_t i;
	const json_t *v;
	json_array_foreach(list, i, v) {
		char field[32];
		snprintf(field, sizeof(field), "boot_order[%zu]", i);
		const char *s = json_is_string(v) ? json_string_value(v) : "";
		int dev = 0;
		for (int k = BOOT_DISK; k <= BOOT_NET; k++)
			if (!strcmp(s, names[k]))
				dev = k;
		if (!dev)
			return jv_fail(err, field, "must be \"disk\", \"cdrom\" or \"net\"");
		for (int k = 0; k < *n; k++)
			if (out[k] == dev)
				return jv_fail(err, field, "'%s' is in the list twice", s);
		out[(*n)++] = (unsigned char)dev;
	}
	return 0;
}

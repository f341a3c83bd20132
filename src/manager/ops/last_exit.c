/* last_exit.c - the agent's report of why QEMU ended, as a VM document
 * keeps it (last_exit.h). */
#include "last_exit.h"

json_t *last_exit_doc(const json_t *le)
{
	static const char *const keep[] = {"at", "cause", "reason", "clean", "signal", "signal_name",
	                                   "exit_status", "shutdown_event", "forced", "forced_reason", "stop_via"};
	json_t *o = json_object();
	for (size_t i = 0; o && i < sizeof(keep) / sizeof(keep[0]); i++) {
		json_t *v = json_object_get(le, keep[i]);
		if (json_is_string(v) && json_string_length(v) > 512) {
			/* Cut on a character boundary: jansson refuses broken UTF-8. */
			const char *t = json_string_value(v);
			size_t n = 512;
			while (n > 0 && ((unsigned char)t[n] & 0xC0) == 0x80)
				n--;
			json_object_set_new(o, keep[i], json_stringn(t, n));
		} else if (json_is_string(v) || json_is_integer(v) || json_is_boolean(v)) {
			json_object_set(o, keep[i], v);
		}
	}
	return o;
}

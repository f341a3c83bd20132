/* fuzz_qga_frame.c - libFuzzer harness for the guest agent's framing: any
 * bytes from a guest, cut into reads anywhere, must give messages or
 * refused lines, never a read or write out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "qga_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct qga_frame f;
	if (size == 0)
		return 0;
	qga_frame_reset(&f, data[0] & 1);
	size_t chunk = (size_t)(data[0] >> 1) + 1; /* reads of this size */
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	while (n) {
		size_t take = n < chunk ? n : chunk, used = 0;
		json_t *msg;
		char err[128];
		qga_frame_feed(&f, p, take, &used, &msg, err, sizeof(err));
		if (used > take)
			abort();
		json_decref(msg);
		p += used;
		n -= used;
	}
	return 0;
}

/* fuzz_image_format.c - libFuzzer harness for the image inspector: any
 * bytes, as each kind and declared format, must give a verdict without a
 * read out of bounds or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>

#include "image_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const formats[] = {"qcow2", "raw", NULL};
	char err[256];
	struct image_facts f;
	size_t n = size > IMAGE_HEAD_BYTES ? IMAGE_HEAD_BYTES : size;
	for (int k = IMAGE_DISK; k <= IMAGE_ISO; k++)
		for (int i = 0; i < 3; i++)
			image_inspect(data, n, size, (enum image_kind)k, formats[i], &f, err, sizeof(err));
	/* A head shorter than the file, as when the file is large. */
	if (size > 8) {
		image_inspect(data, size / 2, (uint64_t)size * 4096, IMAGE_DISK, "qcow2", &f, err, sizeof(err));
		image_inspect(data, size / 2, (uint64_t)size * 4096, IMAGE_ISO, NULL, &f, err, sizeof(err));
	}
	return 0;
}

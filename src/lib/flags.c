/* flags.c - reads one --key=value or --key value flag at a time. */
#include "flags.h"

#include <stdio.h>
#include <string.h>

enum flags_result flags_next(int argc, char **argv, int *i, char *key, size_t keylen,
                             const char **value, char *err, size_t errlen)
{
	return flags_next_sw(argc, argv, i, NULL, key, keylen, value, err, errlen);
}

enum flags_result flags_next_sw(int argc, char **argv, int *i, const char *const *switches,
                                char *key, size_t keylen, const char **value, char *err,
                                size_t errlen)
{
	if (*i >= argc)
		return FLAGS_END;
	const char *a = argv[(*i)++];
	if (!strcmp(a, "--help") || !strcmp(a, "-h"))
		return FLAGS_HELP;
	if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
		snprintf(err, errlen, "unexpected argument '%s' (see --help)", a);
		return FLAGS_ERROR;
	}
	const char *eq = strchr(a, '=');
	if (eq) {
		snprintf(key, keylen, "%.*s", (int)(eq - a - 2), a + 2);
		*value = eq + 1;
		return FLAGS_FLAG;
	}
	snprintf(key, keylen, "%s", a + 2);
	for (const char *const *sw = switches; sw && *sw; sw++)
		if (!strcmp(key, *sw)) {
			*value = "true";
			return FLAGS_FLAG;
		}
	if (*i >= argc) {
		snprintf(err, errlen, "--%s needs a value", key);
		return FLAGS_ERROR;
	}
	*value = argv[(*i)++];
	return FLAGS_FLAG;
}

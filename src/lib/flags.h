/* flags.h - the daemons' command lines: --key=value or --key value, and
 * --help/-h. One reader, so every daemon treats its flags the same way. */
#ifndef VDC_FLAGS_H
#define VDC_FLAGS_H

#include <stddef.h>

enum flags_result {
	FLAGS_END = 0,    /* no more arguments */
	FLAGS_FLAG = 1,   /* key and *value are set */
	FLAGS_HELP = 2,   /* --help or -h */
	FLAGS_ERROR = -1, /* err says what is wrong */
};

/* Reads the flag at argv[*i] and advances *i past it (and its value).
 * Start with *i = 1. */
enum flags_result flags_next(int argc, char **argv, int *i, char *key, size_t keylen,
                             const char **value, char *err, size_t errlen);
/* The same, where the keys in switches (NULL-terminated) take no value:
 * "--KEY" alone gives *value "true" ("--KEY=false" still works). */
enum flags_result flags_next_sw(int argc, char **argv, int *i, const char *const *switches,
                                char *key, size_t keylen, const char **value, char *err,
                                size_t errlen);

#endif

/* units.h - the quantities typed on vdc's command line: durations ("90m",
 * "12h", "30d"), sizes ("64G", "1T") and counts, turned into the numbers the
 * API takes. Pure; err says what is wrong with the word, not which flag. */
#ifndef VDC_CLI_UNITS_H
#define VDC_CLI_UNITS_H

#include <stddef.h>

#define UNITS_DURATION_MAX (100LL * 365 * 86400) /* seconds: a century */
#define UNITS_SIZE_MAX_MIB (1LL << 40)           /* 1 EiB */
#define UNITS_SIZE_MAX_BYTES (1LL << 50)         /* 1 PiB */

/* A duration: one or more number+unit parts ("1h30m", "1.5h"), units s, m,
 * h, d, w in lower case; a bare number is seconds. The total must be whole
 * seconds. Sets *seconds (> 0, at most a century). Returns 0, or -1 with err
 * filled (quoting s as given). */
int units_parse_duration(const char *s, long long *seconds, char *err, size_t errlen);
/* The same, 0 allowed ("0", "0s": at once, as for a stop's timeout). */
int units_parse_duration0(const char *s, long long *seconds, char *err, size_t errlen);

/* A size in MiB: a number (decimals allowed) and a binary unit K, M, G, T or
 * P, with an optional "i" and "B" ("64G", "1.5GiB", "512Mi"); a bare number
 * is MiB. The result must be a whole number of MiB (0 allowed). Returns 0,
 * or -1 with err filled. */
int units_parse_size_mib(const char *s, long long *mib, char *err, size_t errlen);
/* The same in bytes: a bare number is bytes ("16K" is 16384), at most 1 PiB. */
int units_parse_size_bytes(const char *s, long long *bytes, char *err, size_t errlen);

/* A count: a whole number, 0 or more. Returns 0, or -1 with err filled. */
int units_parse_count(const char *s, long long *n, char *err, size_t errlen);

#endif

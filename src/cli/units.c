/* units.c - durations, sizes and counts as people type them. Every refusal
 * says what a good value looks like. */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static long long unit_seconds(char u)
{
	switch (u) {
	case 's': return 1;
	case 'm': return 60;
	case 'h': return 3600;
	case 'd': return 86400;
	case 'w': return 7 * 86400;
	default: return 0;
	}
}

int units_parse_duration(const char *s, long long *seconds, char *err, size_t errlen)
{
	const char *p = s;
	long long total = 0;
	if (!*s)
		goto bad;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			goto bad;
		errno = 0;
		char *end;
		long long v = strtoll(p, &end, 10);
		if (errno || v > UNITS_DURATION_MAX)
			goto too_long;
		long long mult;
		if (!*end && p == s)
			mult = 1; /* a bare number: seconds */
		else if (!(mult = unit_seconds(*end)))
			goto bad;
		if (v > (UNITS_DURATION_MAX - total) / mult)
			goto too_long;
		total += v * mult;
		p = *end ? end + 1 : end;
	}
	if (total <= 0) {
		snprintf(err, errlen, "'%s' is no time at all; give more than 0", s);
		return -1;
	}
	*seconds = total;
	return 0;
bad:
	snprintf(err, errlen, "'%s' is not a duration: use a number and a unit (s, m, h, d, w), as "
	                      "90m, 12h, 30d or 1h30m", s);
	return -1;
too_long:
	snprintf(err, errlen, "'%s' is too long: at most 100 years", s);
	return -1;
}

/* The MiB in one unit ("G", "GiB", "gb"...), 0 for none known; K is 1/1024. */
static double unit_mib(const char *u)
{
	static const struct {
		char c;
		double mib;
	} units[] = {{'K', 1.0 / 1024}, {'M', 1}, {'G', 1024}, {'T', 1024.0 * 1024},
	             {'P', 1024.0 * 1024 * 1024}};
	if (!*u)
		return 1; /* a bare number: MiB */
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (toupper((unsigned char)u[0]) != units[i].c)
			continue;
		const char *rest = u + 1;
		if (!*rest || !strcasecmp(rest, "i") || !strcasecmp(rest, "b") || !strcasecmp(rest, "ib"))
			return units[i].mib;
	}
	return 0;
}

int units_parse_size_mib(const char *s, long long *mib, char *err, size_t errlen)
{
	const char *p = s;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p);)
			p++;
	double mult = unit_mib(p);
	if (p == s || !isdigit((unsigned char)s[0]) || mult == 0) {
		snprintf(err, errlen, "'%s' is not a size: use a number and a unit (M, G, T), as 512M, "
		                      "64G or 1.5T; a bare number is MiB", s);
		return -1;
	}
	double v = strtod(s, NULL) * mult;
	if (!isfinite(v) || v > (double)UNITS_SIZE_MAX_MIB) {
		snprintf(err, errlen, "'%s' is too large: at most 1 EiB", s);
		return -1;
	}
	double whole = round(v);
	if (fabs(v - whole) > 1e-6) {
		snprintf(err, errlen, "'%s' is not a whole number of MiB", s);
		return -1;
	}
	*mib = (long long)whole;
	return 0;
}

int units_parse_count(const char *s, long long *n, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end || errno || v > 1000000000LL) {
		snprintf(err, errlen, "'%s' is not a count: use a whole number from 0 to 1000000000", s);
		return -1;
	}
	*n = v;
	return 0;
}

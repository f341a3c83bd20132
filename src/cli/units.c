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

/* One duration word, 0 allowed: number+unit parts, each number whole or
 * with a fraction ("1.5h"); the total must be whole seconds. */
static int parse_duration(const char *s, long long *seconds, char *err, size_t errlen)
{
	const char *p = s;
	long double total = 0;
	if (!*s)
		goto bad;
	while (*p) {
		const char *num = p;
		while (isdigit((unsigned char)*p))
			p++;
		if (p == num)
			goto bad;
		if (*p == '.') {
			p++;
			if (!isdigit((unsigned char)*p))
				goto bad;
			while (isdigit((unsigned char)*p))
				p++;
		}
		if (p - num > 40)
			goto too_long;
		char word[48];
		snprintf(word, sizeof(word), "%.*s", (int)(p - num), num);
		long double v = strtold(word, NULL);
		long long mult;
		if (!*p && num == s)
			mult = 1; /* a bare number: seconds */
		else if (isupper((unsigned char)*p) && unit_seconds((char)tolower((unsigned char)*p)))
			goto upper;
		else if (!(mult = unit_seconds(*p)))
			goto bad;
		total += v * mult;
		if (total > UNITS_DURATION_MAX)
			goto too_long;
		if (*p)
			p++;
	}
	if (fabsl(total - roundl(total)) > 1e-6L) {
		snprintf(err, errlen, "'%s' is not a whole number of seconds", s);
		return -1;
	}
	*seconds = (long long)roundl(total);
	return 0;
bad:
	snprintf(err, errlen, "'%s' is not a duration: use a number and a unit (s, m, h, d, w), as "
	                      "90m, 12h, 30d or 1h30m", s);
	return -1;
upper:
	snprintf(err, errlen, "'%s' is not a duration: units are lower case (s, m, h, d, w), as "
	                      "90m, 12h, 30d or 1h30m", s);
	return -1;
too_long:
	snprintf(err, errlen, "'%s' is too long: at most 100 years", s);
	return -1;
}

int units_parse_duration(const char *s, long long *seconds, char *err, size_t errlen)
{
	long long v;
	if (parse_duration(s, &v, err, errlen) < 0)
		return -1;
	if (v <= 0) {
		snprintf(err, errlen, "'%s' is no time at all; give more than 0", s);
		return -1;
	}
	*seconds = v;
	return 0;
}

int units_parse_duration0(const char *s, long long *seconds, char *err, size_t errlen)
{
	return parse_duration(s, seconds, err, errlen);
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

/* A size as a number of base-byte units: the number and unit_mib's unit,
 * where a bare number counts base bytes. */
static int parse_size(const char *s, double base, const char *bare, long long max, const char *maxs,
                      long long *out, char *err, size_t errlen)
{
	const char *p = s;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.' && !isdigit((unsigned char)p[1]))
		p = s; /* "1." or "1.G": a fraction needs its digits */
	else if (*p == '.')
		for (p++; isdigit((unsigned char)*p);)
			p++;
	double mult = *p ? unit_mib(p) * 1048576.0 / base : 1;
	if (p == s || !isdigit((unsigned char)s[0]) || mult == 0) {
		snprintf(err, errlen, "'%s' is not a size: use a number and a unit (M, G, T), as 512M, "
		                      "64G or 1.5T; a bare number is %s", s, bare);
		return -1;
	}
	double v = strtod(s, NULL) * mult;
	if (!isfinite(v) || v > (double)max) {
		snprintf(err, errlen, "'%s' is too large: at most %s", s, maxs);
		return -1;
	}
	double whole = round(v);
	if (fabs(v - whole) > 1e-6) {
		snprintf(err, errlen, "'%s' is not a whole number of %s", s, bare);
		return -1;
	}
	*out = (long long)whole;
	return 0;
}

int units_parse_size_mib(const char *s, long long *mib, char *err, size_t errlen)
{
	return parse_size(s, 1048576.0, "MiB", UNITS_SIZE_MAX_MIB, "1 EiB", mib, err, errlen);
}

int units_parse_size_bytes(const char *s, long long *bytes, char *err, size_t errlen)
{
	return parse_size(s, 1, "bytes", UNITS_SIZE_MAX_BYTES, "1 PiB", bytes, err, errlen);
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

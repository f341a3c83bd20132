/* isotime.c - RFC 3339 UTC times, the one place they are formatted and
 * parsed. */
#include "isotime.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void iso_time(int64_t epoch_s, char out[ISO_TIME_LEN])
{
	time_t t = (time_t)epoch_s;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, ISO_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm))
		out[0] = '\0';
}

void iso_time_now(char out[ISO_TIME_LEN])
{
	iso_time((int64_t)time(NULL), out);
}

void iso_time_ms(int64_t epoch_ms, char out[ISO_TIME_LEN])
{
	int64_t ms = epoch_ms % 1000;
	if (ms < 0)
		ms += 1000;
	iso_time((epoch_ms - ms) / 1000, out);
	size_t n = strlen(out);
	if (n > 0) /* "...:SSZ" becomes "...:SS.mmmZ" */
		snprintf(out + n - 1, ISO_TIME_LEN - (n - 1), ".%03dZ", (int)ms);
}

void iso_time_now_ms(char out[ISO_TIME_LEN])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	iso_time_ms((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, out);
}

int iso_time_parse_ms(const char *s, int64_t *ms)
{
	struct tm tm = {0};
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	*ms = 0;
	if (!end)
		return -1;
	int64_t frac = 0;
	if (*end == '.')
		for (int scale = 100; *++end >= '0' && *end <= '9'; scale /= 10)
			frac += (*end - '0') * scale;
	long off = 0;
	int hh, mm;
	if ((*end == '+' || *end == '-') && strlen(end) == 6 && sscanf(end + 1, "%2d:%2d", &hh, &mm) == 2)
		off = (*end == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
	else if (strcmp(end, "Z") && strcmp(end, ""))
		return -1;
	*ms = ((int64_t)timegm(&tm) - off) * 1000 + frac;
	return 0;
}

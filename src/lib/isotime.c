/* isotime.c - RFC 3339 UTC times, the one place they are formatted. */
#include "isotime.h"

#include <stdio.h>
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

void iso_time_now_ms(char out[ISO_TIME_LEN])
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	char sec[ISO_TIME_LEN];
	if (!gmtime_r(&ts.tv_sec, &tm) || !strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm)) {
		out[0] = '\0';
		return;
	}
	snprintf(out, ISO_TIME_LEN, "%.24s.%03ldZ", sec, ts.tv_nsec / 1000000);
}

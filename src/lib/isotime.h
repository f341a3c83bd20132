/* isotime.h - times as the APIs write them: RFC 3339 in UTC, to the second
 * ("2026-12-06T03:40:33Z") or the ms, and the one parser of them. */
#ifndef VDC_ISOTIME_H
#define VDC_ISOTIME_H

#include <stdint.h>

#define ISO_TIME_LEN 32 /* room for any year a time_t holds */

/* Epoch seconds as "YYYY-MM-DDTHH:MM:SSZ" in out. */
void iso_time(int64_t epoch_s, char out[ISO_TIME_LEN]);
/* The current time, the same way. */
void iso_time_now(char out[ISO_TIME_LEN]);
/* Epoch milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void iso_time_ms(int64_t epoch_ms, char out[ISO_TIME_LEN]);
/* The current time to the millisecond, "YYYY-MM-DDTHH:MM:SS.mmmZ": for
 * events whose order matters within a second (two exits of one VM). */
void iso_time_now_ms(char out[ISO_TIME_LEN]);
/* "YYYY-MM-DDTHH:MM:SS", with or without a fraction (".5", ".527";
 * digits past the ms are dropped), then "Z", an offset ("+02:00") or
 * nothing (older vdcds' logs), as epoch milliseconds in *ms. Returns 0, or
 * -1 (and *ms = 0) when s is NULL or not such a time. */
int iso_time_parse_ms(const char *s, int64_t *ms);

#endif

/* qga_frame.h - the QEMU guest agent's wire format, read side: JSON
 * objects one per line, as QMP's, but no greeting and no ids. A session
 * begins with guest-sync-delimited: the agent answers with a 0xFF byte
 * first, so whatever an earlier session left in the channel is skipped
 * up to it. The guest is not trusted: a line longer than QGA_FRAME_MAX is
 * refused (and skipped to its end) without growing any buffer. Pure: no
 * I/O, so the fuzzer and the unit test drive it with bytes. */
#ifndef VDC_QGA_FRAME_H
#define VDC_QGA_FRAME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The longest reply line taken: guest-network-get-interfaces of a guest
 * with a few dozen addresses fits many times over. */
#define QGA_FRAME_MAX (64u * 1024)

struct qga_frame {
	char line[QGA_FRAME_MAX];
	size_t len;
	bool syncing;        /* skipping everything up to a 0xFF */
	bool discarding;     /* an oversize line: skipping to its newline */
	unsigned long skipped; /* bytes skipped (before the 0xFF, oversize lines) */
};

enum qga_frame_result {
	QGA_FRAME_MORE, /* every byte taken, no message complete */
	QGA_FRAME_MSG,  /* *msg holds a JSON object (a new reference) */
	QGA_FRAME_BAD,  /* a line refused (err says why): feed the rest again */
};

/* Empties f; with sync, bytes are skipped until a 0xFF (a session's
 * guest-sync-delimited answer follows it). */
void qga_frame_reset(struct qga_frame *f, bool sync);

/* Takes bytes of data (n) until a message completes or they run out;
 * *used says how many were taken (the caller feeds the rest next). A 0xFF
 * outside a sync drops a partial line (the agent restarted mid-line). */
enum qga_frame_result qga_frame_feed(struct qga_frame *f, const char *data, size_t n, size_t *used,
                                     json_t **msg, char *err, size_t errlen);

#endif

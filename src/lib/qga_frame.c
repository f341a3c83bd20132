/* qga_frame.c - splits the guest agent's byte stream into JSON objects
 * (qga_frame.h), with a fixed buffer: a flooding guest costs the time to
 * skip its bytes, never memory. */
#include "qga_frame.h"

#include <stdio.h>
#include <string.h>

void qga_frame_reset(struct qga_frame *f, bool sync)
{
	f->len = 0;
	f->syncing = sync;
	f->discarding = false;
	f->skipped = 0;
}

/* The complete line in f as a JSON object, or NULL with err. */
static json_t *parse_line(struct qga_frame *f, char *err, size_t errlen)
{
	size_t len = f->len;
	f->len = 0;
	while (len && (f->line[len - 1] == '\r' || f->line[len - 1] == ' '))
		len--;
	if (len == 0) {
		snprintf(err, errlen, "an empty line");
		return NULL;
	}
	json_error_t je;
	json_t *msg = json_loadb(f->line, len, JSON_REJECT_DUPLICATES, &je);
	if (!msg) {
		snprintf(err, errlen, "not JSON: %s (column %d)", je.text, je.column);
		return NULL;
	}
	if (!json_is_object(msg)) {
		json_decref(msg);
		snprintf(err, errlen, "a JSON value that is not an object");
		return NULL;
	}
	return msg;
}

enum qga_frame_result qga_frame_feed(struct qga_frame *f, const char *data, size_t n, size_t *used,
                                     json_t **msg, char *err, size_t errlen)
{
	*msg = NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c == 0xFF) { /* the delimiter: a new session's answer follows */
			f->skipped += f->len;
			f->syncing = f->discarding = false;
			f->len = 0;
			continue;
		}
		if (f->syncing) {
			f->skipped++;
			continue;
		}
		if (f->discarding) {
			f->skipped++;
			if (c == '\n')
				f->discarding = false;
			continue;
		}
		if (c == '\n') {
			if (f->len == 0)
				continue; /* blank lines between messages */
			*used = i + 1;
			*msg = parse_line(f, err, errlen);
			return *msg ? QGA_FRAME_MSG : QGA_FRAME_BAD;
		}
		if (f->len == sizeof(f->line)) {
			f->skipped += f->len + 1;
			f->len = 0;
			f->discarding = true;
			*used = i + 1;
			snprintf(err, errlen, "a reply line longer than %u bytes (refused, skipped to its end)",
			         QGA_FRAME_MAX);
			return QGA_FRAME_BAD;
		}
		f->line[f->len++] = (char)c;
	}
	*used = n;
	return QGA_FRAME_MORE;
}

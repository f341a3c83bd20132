/* progress.h - how a running task is shown on stderr: a bar redrawn in place
 * on a terminal, one plain line per change anywhere else (logs, CI). */
#ifndef VDC_CLI_PROGRESS_H
#define VDC_CLI_PROGRESS_H

#include <stdio.h>

#define PROGRESS_BAR_CELLS 20

/* Formats "[#####.....] 50% message" with a bar of cells cells (pct clamped
 * to 0..100, rounded down to whole cells), cut so the text takes at most
 * cols columns (0: no limit). Control characters in message are replaced. */
void progress_format(char *buf, size_t n, int pct, const char *message, int cells, int cols);

struct progress {
	FILE *f;
	int tty;        /* redraw one line in place */
	int cols;       /* terminal width */
	int shown;      /* something was drawn */
	int last_pct;
	char last[256]; /* last message drawn */
};

/* Starts a display on f. tty: draw a bar in place; cols: its width. */
void progress_init(struct progress *p, FILE *f, int tty, int cols);
/* Shows pct and message when either changed since the last call. */
void progress_update(struct progress *p, int pct, const char *message);
/* Ends the bar's line (terminal only), so what follows starts clean. */
void progress_end(struct progress *p);

/* The width of the terminal on fd, else $COLUMNS, else 80. */
int progress_term_cols(int fd);

#endif

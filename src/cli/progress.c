/* progress.c - the progress display of long tasks. Only the format is pure;
 * the display writes "\r" and an erase-line escape on terminals only. */
#include "progress.h"

#include "table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

void progress_format(char *buf, size_t n, int pct, const char *message, int cells, int cols)
{
	if (pct < 0)
		pct = 0;
	if (pct > 100)
		pct = 100;
	if (cells < 1)
		cells = 1;
	if (cells > 100)
		cells = 100;
	char bar[104];
	int full = pct * cells / 100;
	bar[0] = '[';
	for (int i = 0; i < cells; i++)
		bar[1 + i] = i < full ? '#' : '.';
	bar[cells + 1] = ']';
	bar[cells + 2] = '\0';
	char head[128];
	int hl = snprintf(head, sizeof(head), "%s %d%%", bar, pct);
	char *clean = text_sanitize(message ? message : "");
	const char *msg = clean ? clean : "";
	char *cut = NULL;
	if (cols > 0) {
		int room = cols - hl - 1;
		cut = text_truncate(msg, room > 0 ? (size_t)room : 0);
		if (cut)
			msg = cut;
	}
	if (*msg)
		snprintf(buf, n, "%s %s", head, msg);
	else
		snprintf(buf, n, "%s", head);
	free(cut);
	free(clean);
}

void progress_init(struct progress *p, FILE *f, int tty, int cols)
{
	memset(p, 0, sizeof(*p));
	p->f = f;
	p->tty = tty;
	p->cols = cols > 0 ? cols : 80;
	p->last_pct = -1;
}

void progress_update(struct progress *p, int pct, const char *message)
{
	if (!message)
		message = "";
	if (p->shown && pct == p->last_pct && !strncmp(message, p->last, sizeof(p->last) - 1))
		return;
	p->last_pct = pct;
	snprintf(p->last, sizeof(p->last), "%s", message);
	char line[512];
	if (p->tty) {
		/* One column spare: writing the last column wraps on some terminals. */
		progress_format(line, sizeof(line), pct, message, PROGRESS_BAR_CELLS, p->cols - 1);
		fprintf(p->f, "\r\033[K%s", line);
	} else {
		char *clean = text_sanitize(message);
		fprintf(p->f, "%3d%% %s\n", pct < 0 ? 0 : pct > 100 ? 100 : pct, clean ? clean : "");
		free(clean);
	}
	fflush(p->f);
	p->shown = 1;
}

void progress_end(struct progress *p)
{
	if (p->tty && p->shown) {
		fputc('\n', p->f);
		fflush(p->f);
	}
	p->shown = 0;
}

int progress_term_cols(int fd)
{
	struct winsize ws;
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	const char *c = getenv("COLUMNS");
	int n = c ? atoi(c) : 0;
	return n > 0 ? n : 80;
}

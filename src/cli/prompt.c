/* prompt.c - questions at the terminal. Echo is turned off before the
 * prompt is shown, so nothing typed after it can ever be echoed. */
#include "prompt.h"

#include <ctype.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved_tty;

/* Ctrl-C at the prompt must not leave the terminal without echo. */
static void restore_and_die(int sig)
{
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	signal(sig, SIG_DFL);
	raise(sig);
}

int prompt_line(FILE *f, char *buf, size_t n, int trim)
{
	if (!fgets(buf, (int)n, f)) {
		buf[0] = '\0';
		return -1;
	}
	size_t len = strlen(buf);
	if (len == n - 1 && buf[len - 1] != '\n') {
		/* Longer than any token or password: refuse rather than keep half. */
		explicit_bzero(buf, n);
		int ch;
		while ((ch = fgetc(f)) != EOF && ch != '\n')
			;
		return -1;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (trim) {
		while (len && isspace((unsigned char)buf[len - 1]))
			buf[--len] = '\0';
		size_t lead = strspn(buf, " \t");
		memmove(buf, buf + lead, len - lead + 1);
	}
	return buf[0] ? 0 : -1;
}

int prompt_secret(FILE *err, const char *label, char *buf, size_t n, int trim)
{
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty) != 0)
		return prompt_line(stdin, buf, n, trim);
	struct termios quiet = saved_tty;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	struct sigaction sa = {.sa_handler = restore_and_die}, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	fputs(label, err);
	fflush(err);
	int rc = prompt_line(stdin, buf, n, trim);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return rc;
}

int prompt_yes_no(FILE *err, const char *question)
{
	char answer[16];
	fputs(question, err);
	fflush(err);
	if (prompt_line(stdin, answer, sizeof(answer), 1) < 0)
		return 0;
	return !strcasecmp(answer, "y") || !strcasecmp(answer, "yes");
}

/* prompt.h - what vdc asks a person at a terminal: secrets typed without
 * echo (or read as one line when stdin is not a terminal), and yes/no. */
#ifndef VDC_CLI_PROMPT_H
#define VDC_CLI_PROMPT_H

#include <stddef.h>
#include <stdio.h>

/* Reads one line from f into buf (at most n-1 bytes) without its line break;
 * with trim, without surrounding blanks too. A line longer than buf is
 * refused whole, not cut. Returns 0, or -1 when the line is empty, missing
 * or too long (buf is then empty). */
int prompt_line(FILE *f, char *buf, size_t n, int trim);

/* Asks for a secret: at a terminal, shows label on err and reads a line
 * from stdin with echo off (restored even on Ctrl-C); else reads one line
 * of stdin without showing label. Surrounding blanks are kept when trim is
 * 0 (passwords). Returns 0, or -1 when nothing was given. */
int prompt_secret(FILE *err, const char *label, char *buf, size_t n, int trim);

/* Asks question on err and reads the answer from stdin (a terminal): 1 for
 * "y" or "yes" (any case), 0 for anything else or no answer. */
int prompt_yes_no(FILE *err, const char *question);

#endif

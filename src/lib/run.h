/* run.h - run a helper program (qemu-img, genisoimage) and capture what it
 * says, so its own message can be handed back to the user. */
#ifndef VDC_RUN_H
#define VDC_RUN_H

#include <stddef.h>
#include <sys/types.h>

/* Who a helper runs as: uid and gid, and exactly these supplementary
 * groups (none when ngroups is 0). */
struct run_as {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	int ngroups;
};

/* Runs argv[0] (searched in PATH) with stdin from /dev/null, capturing
 * stdout+stderr (the last out_len-1 bytes, NUL-terminated) into out when out is
 * not NULL. Returns the exit status (0..255), 128+signal if killed, or -errno
 * if it could not be started. */
int run_capture(const char *const argv[], char *out, size_t out_len);
/* The same with input (a short text: under 32 KiB) on the child's stdin,
 * then end of file. */
int run_capture_input(const char *const argv[], const char *input, char *out, size_t out_len);

/* The same, with the child's identity dropped to as (setgroups, setgid,
 * setuid, in that order, before exec; cwd "/", umask 077, no other fd) when
 * as is not NULL. A child that cannot drop it exits 126 with the reason in
 * out, and never runs argv[0] with more than as allows. */
int run_capture_as(const struct run_as *as, const char *const argv[], char *out, size_t out_len);

/* The same with the child's whole environment given (envp: NULL-terminated
 * "NAME=value" strings; nothing of the caller's own environment is passed
 * on), no descriptor of the caller's but 0-2, no blocked or ignored
 * signal, in a process group of its own, and a deadline: a child (or what
 * it started in its group) still running timeout_ms after the start is
 * killed with SIGKILL and reaped, and -ETIMEDOUT is returned, out holding
 * what it printed until then. For helpers that talk to the network
 * (ipmitool), so that one that hangs never holds its caller for long, and
 * so that a secret can reach the child without being on its command line. */
int run_capture_env(const char *const argv[], const char *const envp[], int timeout_ms, char *out,
                    size_t out_len);

/* Trims trailing whitespace in place and returns s. */
char *run_trim(char *s);

#endif

/* bench.h - what the benchmark programs share: clock, progress, figures,
 * bounded child processes and the interrupt flag every wait checks. */
#ifndef VDC_BENCH_H
#define VDC_BENCH_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The signal (SIGINT, SIGTERM, SIGHUP, SIGALRM for the deadline) that asked
 * us to stop, or 0. */
extern volatile sig_atomic_t bench_stop;
/* From here on waits no longer give way to signals; the cleanup itself is
 * bounded: after limit_s the program exits (124) whatever is left. */
void bench_begin_cleanup(unsigned limit_s);
/* True when a wait should give up now so that cleanup can run. */
bool bench_interrupted(void);

/* Installs the handlers above and arms the whole-program deadline. */
void bench_signals(unsigned timeout_s);
/* Milliseconds on the monotonic clock. */
double now_ms(void);
/* Sleeps; returns -1 (at once) when interrupted, else 0. */
int bench_sleep_ms(double ms);
/* Progress and errors on stderr, prefixed with the program name. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One result line on stdout; NaN prints as "nan". */
void figure(const char *name, double value, const char *unit);
/* Median of the n values (sorted in place); NaN when n is 0. */
double median(double *v, int n);

/* The unprivileged user QEMU runs as (uid, gid, its groups). */
struct qemu_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[32];
	int ngroups;
};
/* Looks up name; creates it as a system user in group kvm when missing and
 * create is set. Returns 0 or -1 (reason said on stderr). */
int qemu_user_get(const char *name, bool create, struct qemu_user *u);

/* Starts argv in its own process group (so a terminal's Ctrl-C reaches only
 * the bench, which then stops things in order), stdin from /dev/null and
 * stdout+stderr to log_path (or /dev/null). Returns the pid or -1. */
pid_t spawn_logged(const char *const argv[], const char *log_path);
/* Waits for our child pid, at most timeout_ms (also stopped early by
 * bench_interrupted() when interruptible). Returns its wait status, or -1 when it is
 * still running. */
int wait_child(pid_t pid, int timeout_ms, bool interruptible);
/* SIGTERM, then SIGKILL after grace_ms, and reaps. For our own children. */
void stop_child(pid_t pid, int grace_ms);
/* Same for a process that is not our child (a daemon, the agent's QEMU):
 * waits until /proc shows it gone or a zombie. Returns 0 when gone. */
int stop_process(pid_t pid, int grace_ms);
/* Runs argv to completion within timeout_ms, capturing its output (last
 * outlen-1 bytes) when out is set. Returns the exit status, 128+signal, or
 * -1 when it could not run or was stopped (timeout or interrupted). */
int run_cmd(const char *const argv[], int timeout_ms, char *out, size_t outlen);

/* A "KEY:  N kB" line of /proc/PID/status (key like "VmRSS"), or -1. */
long proc_status_kib(pid_t pid, const char *key);
/* Summed over the threads of pid (each task's schedstat): time on a
 * CPU and time runnable but waiting for one, in ms. NaN when unreadable. */
void proc_sched_ms(pid_t pid, double *run_ms, double *wait_ms);
/* Waits until file path holds mark, woken by inotify on its directory
 * (so within microseconds of the write, like a blocking socket read; a
 * 100 ms timeout is only a backstop). The file may not exist yet. Sets
 * *t_found (now_ms()) and returns 0; -1 at deadline or on Ctrl-C. */
int wait_file_mark(const char *path, const char *mark, double deadline, double *t_found);
/* Kills (SIGKILL) every process whose command line holds the argument
 * "guest=PREFIX..." and waits for them; returns how many there were. */
int kill_qemus_named(const char *prefix);
/* A random RFC 4122 uuid string (37 bytes with the NUL). */
void random_uuid(char out[37]);

#endif

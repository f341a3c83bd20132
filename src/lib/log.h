/* log.h - one line per event, key=value, to stderr. */
#ifndef VDC_LOG_H
#define VDC_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
void log_set_program(const char *name);

/* Writes "ts=... level=... prog=... event=EVENT <fmt...>" as one line.
 * The caller formats the key=value pairs; values that may hold spaces must be
 * quoted by the caller (log_quote helps). Never pass secrets. */
void log_event(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Returns a static, quoted copy of s fit for a key=value log value
 * (at most 200 characters kept). Not reentrant: use once per log line. */
const char *log_quote(const char *s);

#define log_info(ev, ...) log_event(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_event(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_event(LOG_ERROR, ev, __VA_ARGS__)
#define log_debug(ev, ...) log_event(LOG_DEBUG, ev, __VA_ARGS__)

#endif

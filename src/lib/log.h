/*
 * log: one line per event on stderr, as text or as JSON lines.
 *
 * The format is chosen once at start-up (before threads exist) and read
 * without locks afterwards. Lines are whole: they never interleave.
 *
 * By default each line is one write(2). A server calls log_buffer_start()
 * to collect lines in a buffer written out when full, every
 * LOG_FLUSH_MS, at any warning or error, and at log_buffer_stop(): one
 * system call per request is too many under load, and a crash loses at
 * most LOG_FLUSH_MS of access lines (the consent ledger, not this log,
 * is the audit trail).
 */
#ifndef OPTD_LOG_H
#define OPTD_LOG_H

#include <stdarg.h>
#include <stdint.h>

#define LOG_LINE_MAX 2048 /* longer lines are truncated, never split */
#define LOG_BUFFER_MAX (64 * 1024)
#define LOG_FLUSH_MS 100

typedef enum { LOG_TEXT = 0, LOG_JSON } log_format;
typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

void log_setup(log_format fmt, log_level min);
log_format log_get_format(void);
int log_parse_format(const char *s, log_format *out); /* 0 on success */

int log_buffer_start(void); /* 0 on success */
void log_buffer_stop(void);  /* flushes; NULL-safe to call twice */

void log_msg(log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The per-request access line: method, path, status, duration (printed
 * in milliseconds), key name. */
void log_request(const char *method, const char *path, unsigned status,
		 int64_t duration_us, const char *key_name,
		 const char *request_id);

#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif

/*
 * log: see log.h. Text lines read "2026-11-26T07:56:29.123Z INFO message";
 * JSON lines carry the same fields as keys so a log shipper needs no regex.
 */
#include "lib/log.h"
#include "lib/jsonstr.h"
#include "lib/str.h"
#include "lib/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static log_format g_fmt = LOG_TEXT;
static log_level g_min = LOG_INFO;

static const char *level_name[] = {"debug", "info", "warn", "error"};

void log_setup(log_format fmt, log_level min)
{
	g_fmt = fmt;
	g_min = min;
}

log_format log_get_format(void) { return g_fmt; }

int log_parse_format(const char *s, log_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = LOG_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_JSON;
	else
		return -1;
	return 0;
}

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_wake = PTHREAD_COND_INITIALIZER;
static struct {
	pthread_t thread;
	int on, stopping;
	size_t len;
	char buf[LOG_BUFFER_MAX];
} g_buf; /* guarded by g_mu */

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w <= 0)
			return; /* nothing useful to do if stderr is gone */
		p += w;
		n -= (size_t)w;
	}
}

/* Called with g_buf.mu held. */
static void flush_locked(void)
{
	write_all(g_buf.buf, g_buf.len);
	g_buf.len = 0;
}

static void *flusher(void *arg)
{
	struct timespec until;

	(void)arg;
	pthread_mutex_lock(&g_mu);
	while (!g_buf.stopping) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += LOG_FLUSH_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g_wake, &g_mu, &until);
		flush_locked();
	}
	pthread_mutex_unlock(&g_mu);
	return NULL;
}

int log_buffer_start(void)
{
	pthread_mutex_lock(&g_mu);
	g_buf.stopping = 0;
	g_buf.on = pthread_create(&g_buf.thread, NULL, flusher, NULL) == 0;
	if (g_buf.on)
		pthread_setname_np(g_buf.thread, "log-flusher");
	pthread_mutex_unlock(&g_mu);
	return g_buf.on ? 0 : -1;
}

void log_buffer_stop(void)
{
	pthread_mutex_lock(&g_mu);
	if (!g_buf.on) {
		pthread_mutex_unlock(&g_mu);
		return;
	}
	g_buf.stopping = 1;
	g_buf.on = 0;
	pthread_cond_signal(&g_wake);
	pthread_mutex_unlock(&g_mu);
	pthread_join(g_buf.thread, NULL);
	pthread_mutex_lock(&g_mu);
	flush_locked();
	pthread_mutex_unlock(&g_mu);
}

static void emit(char *line, size_t n, int urgent)
{
	if (n >= LOG_LINE_MAX - 1)
		n = LOG_LINE_MAX - 2;
	line[n++] = '\n';
	pthread_mutex_lock(&g_mu);
	if (!g_buf.on) {
		write_all(line, n);
	} else {
		if (g_buf.len + n > sizeof g_buf.buf)
			flush_locked();
		memcpy(g_buf.buf + g_buf.len, line, n);
		g_buf.len += n;
		if (urgent)
			flush_locked();
	}
	pthread_mutex_unlock(&g_mu);
}

void log_msg(log_level lvl, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX], line[LOG_LINE_MAX], ts[CLOCK_ISO_MAX];
	va_list ap;
	int n;

	if (lvl < g_min)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	clock_iso_now(ts);
	if (g_fmt == LOG_JSON) {
		char esc[LOG_LINE_MAX];
		jsonstr_escape(msg, esc, sizeof esc);
		n = snprintf(line, sizeof line,
			     "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"}",
			     ts, level_name[lvl], esc);
	} else {
		n = snprintf(line, sizeof line, "%s %s %s", ts, level_name[lvl],
			     msg);
	}
	if (n < 0)
		return;
	emit(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1,
	     lvl >= LOG_WARN);
}

void log_request(const char *method, const char *path, unsigned status,
		 int64_t duration_us, const char *key_name,
		 const char *request_id)
{
	char line[LOG_LINE_MAX], ts[CLOCK_ISO_MAX];
	char epath[1024], ekey[256];
	int json = g_fmt == LOG_JSON;
	str_buf b;

	/* Built by hand, not with snprintf: a line for every request. The
	 * duration is milliseconds with three decimals, from integers. */
	if (duration_us < 0)
		duration_us = 0;
	clock_iso_now(ts);
	if (!key_name)
		key_name = "";
	str_buf_init(&b, line, sizeof line - 1); /* room for emit's '\n' */
	if (json) {
		jsonstr_escape(path, epath, sizeof epath);
		jsonstr_escape(key_name, ekey, sizeof ekey);
		str_put(&b, "{\"time\":\"");
		str_put(&b, ts);
		str_put(&b, "\",\"level\":\"info\",\"msg\":\"request\","
			"\"method\":\"");
		str_put(&b, method);
		str_put(&b, "\",\"path\":\"");
		str_put(&b, epath);
		str_put(&b, "\",\"status\":");
	} else {
		str_put(&b, ts);
		str_put(&b, " info request ");
		str_put(&b, method);
		str_put(&b, " ");
		str_put(&b, path);
		str_put(&b, " ");
	}
	str_put_int(&b, status, 1);
	str_put(&b, json ? ",\"duration_ms\":" : " ");
	str_put_int(&b, duration_us / 1000, 1);
	str_put(&b, ".");
	str_put_int(&b, duration_us % 1000, 3);
	if (json) {
		str_put(&b, ",\"key\":\"");
		str_put(&b, ekey);
		str_put(&b, "\",\"request_id\":\"");
		str_put(&b, request_id);
		str_put(&b, "\"}");
	} else {
		str_put(&b, "ms key=");
		str_put(&b, *key_name ? key_name : "-");
		str_put(&b, " id=");
		str_put(&b, request_id);
	}
	emit(line, b.n, 0);
}

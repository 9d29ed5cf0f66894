/* clock: see clock.h. */
#include "lib/clock.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void iso_slow(int64_t ms, char out[CLOCK_ISO_MAX])
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(out, CLOCK_ISO_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/*
 * Every request's log line and ledger entry carries a time, and most fall
 * in the same second as the one before on their thread: the date and time
 * of day are formatted once per second per thread, the milliseconds each
 * time.
 */
void clock_iso(int64_t ms, char out[CLOCK_ISO_MAX])
{
	static _Thread_local int64_t head_s = INT64_MIN;
	static _Thread_local char head[CLOCK_ISO_MAX];
	static _Thread_local size_t head_len;
	int64_t sec = ms / 1000;
	int milli = (int)(ms % 1000);

	if (sec != head_s) {
		time_t s = (time_t)sec;
		struct tm tm;
		int n;

		gmtime_r(&s, &tm);
		n = snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			     tm.tm_hour, tm.tm_min, tm.tm_sec);
		head_len = n > 0 && (size_t)n + 6 < sizeof head ? (size_t)n : 0;
		head_s = sec;
	}
	if (milli < 0 || head_len == 0) { /* before 1970, or a far year */
		iso_slow(ms, out);
		return;
	}
	memcpy(out, head, head_len);
	out[head_len] = '.';
	out[head_len + 1] = (char)('0' + milli / 100);
	out[head_len + 2] = (char)('0' + milli / 10 % 10);
	out[head_len + 3] = (char)('0' + milli % 10);
	out[head_len + 4] = 'Z';
	out[head_len + 5] = '\0';
}

void clock_iso_now(char out[CLOCK_ISO_MAX]) { clock_iso(clock_now_ms(), out); }

/* n digits at *p as a number; advances *p. -1 when not n digits. */
static int digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v;
}

/* The zone suffix as seconds east of UTC; -1 on a bad one. */
static int zone(const char *p, long *off)
{
	int sign, h, m = 0;

	*off = 0;
	if (!*p || ((*p == 'Z' || *p == 'z') && !p[1]))
		return 0;
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if ((h = digits(&p, 2)) < 0 || h > 23)
		return -1;
	if (*p == ':')
		p++;
	if (*p && ((m = digits(&p, 2)) < 0 || m > 59))
		return -1;
	if (*p)
		return -1;
	*off = sign * (h * 3600L + m * 60L);
	return 0;
}

int clock_parse_iso(const char *s, int64_t *ms)
{
	const char *p = s;
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
	long off;

	memset(&tm, 0, sizeof tm);
	if (!s || (y = digits(&p, 4)) < 0 || *p++ != '-' ||
	    (mo = digits(&p, 2)) < 1 || mo > 12 || *p++ != '-' ||
	    (d = digits(&p, 2)) < 1 || d > 31)
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if ((h = digits(&p, 2)) < 0 || h > 23 || *p++ != ':' ||
		    (mi = digits(&p, 2)) < 0 || mi > 59)
			return -1;
		if (*p == ':' && isdigit((unsigned char)p[1]) &&
		    isdigit((unsigned char)p[2]) && !isdigit((unsigned char)p[3])) {
			p++;
			if ((sec = digits(&p, 2)) < 0 || sec > 60)
				return -1;
		}
		/* ".123" or Braze's ":123"; digits past milliseconds ignored */
		if ((*p == '.' || *p == ':') && isdigit((unsigned char)p[1])) {
			int scale = 100;
			for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
				frac += scale * (*p - '0');
		}
	}
	if (zone(p, &off))
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	if (tm.tm_mday != d) /* 31 February rolled over */
		return -1;
	*ms = ((int64_t)t - off) * 1000 + frac;
	return 0;
}

struct timespec clock_deadline(clockid_t clk, int64_t ms)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/*
 * clock: wall-clock and monotonic time in the units optd stores.
 *
 * Stored times are Unix milliseconds (int64) so both SQLite and PostgreSQL
 * keep them exactly; ISO 8601 strings are made only at the edges.
 */
#ifndef OPTD_CLOCK_H
#define OPTD_CLOCK_H

#include <stdint.h>
#include <time.h>

#define CLOCK_ISO_MAX 64 /* "2026-11-26T07:56:29.123Z", with room gcc can prove */

int64_t clock_now_ms(void);  /* wall clock, Unix epoch */
int64_t clock_mono_us(void); /* monotonic, for durations */
/* The time ms from now on clock clk, for pthread_cond_timedwait(). */
struct timespec clock_deadline(clockid_t clk, int64_t ms);
void clock_iso(int64_t ms, char out[CLOCK_ISO_MAX]);
void clock_iso_now(char out[CLOCK_ISO_MAX]);
/*
 * Parse an ISO 8601 date-time: "YYYY-MM-DD", optionally "THH:MM[:SS]"
 * (a space may stand for T), a fraction ".f…" or Braze's ":SSS", and a
 * zone "Z", "+HH:MM", "+HHMM" or "+HH" (none means UTC). 0 on success.
 */
int clock_parse_iso(const char *s, int64_t *ms);

#endif

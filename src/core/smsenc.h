/*
 * smsenc: how an SMS body will travel, and in how many segments.
 *
 * Pure, no I/O, no allocation. A body is sent as GSM-7 when every
 * character is in the GSM 03.38 default alphabet or its extension table,
 * else as UCS-2 (UTF-16 in practice, which is what gateways do with
 * emoji). The counts follow what carriers bill and what Twilio reports
 * as num_segments:
 *   GSM-7  160 septets fit one segment; a longer body is split into
 *          segments of 153 (7 go to the concatenation header). An
 *          extension character (^ { } \ [ ~ ] | € and form feed) costs 2
 *          septets, escape and character, and the pair is never split:
 *          it moves whole to the next segment.
 *   UCS-2  70 UTF-16 code units fit one; concatenated, 67 per segment. A
 *          character outside the BMP (most emoji) is a surrogate pair,
 *          2 units, never split.
 * The empty body is GSM-7 in 1 segment, as Twilio counts it.
 *
 * The encoding names ("GSM-7", "UCS-2") are stored with each outbox row:
 * never rename them.
 */
#ifndef OPTD_SMSENC_H
#define OPTD_SMSENC_H

#include <stddef.h>

#define SMSENC_BYTES_MAX 65536 /* longest body measured, UTF-8 bytes */
#define SMSENC_GSM7_SINGLE 160 /* septets in a lone segment */
#define SMSENC_GSM7_PART 153   /* septets per concatenated segment */
#define SMSENC_UCS2_SINGLE 70  /* UTF-16 units in a lone segment */
#define SMSENC_UCS2_PART 67    /* UTF-16 units per concatenated segment */

typedef enum {
	SMSENC_GSM7 = 0,
	SMSENC_UCS2,
	SMSENC__COUNT,
} smsenc_encoding;

typedef enum {
	SMSENC_OK = 0,
	SMSENC_ERR_ARG,      /* NULL out, or NULL text with len > 0 */
	SMSENC_ERR_UTF8,     /* not well-formed UTF-8 */
	SMSENC_ERR_TOO_LONG, /* over SMSENC_BYTES_MAX */
	SMSENC_ERR__COUNT,
} smsenc_err;

typedef struct {
	smsenc_encoding encoding;
	int segments; /* at least 1 */
	size_t chars; /* Unicode code points */
	size_t units; /* septets (GSM-7) or UTF-16 code units (UCS-2) */
} smsenc_info;

/* Measure utf8[0..len) (need not be NUL-terminated). On error *out holds
 * the empty body's answer. */
smsenc_err smsenc_measure(const char *utf8, size_t len, smsenc_info *out);

const char *smsenc_name(smsenc_encoding e); /* "GSM-7", "UCS-2" */
const char *smsenc_strerror(smsenc_err e);

#endif

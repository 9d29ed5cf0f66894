/*
 * smsenc: see smsenc.h.
 *
 * One pass over the body counts both encodings at once: the septets and
 * the UTF-16 units, each packed greedily into concatenated segments so
 * that no escape pair or surrogate pair straddles two. Whether the body is
 * GSM-7 is only known at the end, so both counts are kept until then.
 */
#include "core/smsenc.h"
#include "lib/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *smsenc_names[SMSENC__COUNT] = {"GSM-7", "UCS-2"};

static const char *smsenc_err_names[SMSENC_ERR__COUNT] = {
	"success",
	"invalid argument",
	"not UTF-8 text",
	"message too long",
};

/*
 * The default alphabet's characters outside ASCII, sorted: GSM 03.38 as
 * the Unicode mapping tables give it (position 0x09 is capital Ç; the
 * Greek capitals are the ten that differ from Latin letters).
 */
static const uint16_t smsenc_gsm_high[] = {
	0x00a1, 0x00a3, 0x00a4, 0x00a5, 0x00a7, 0x00bf, 0x00c4, 0x00c5,
	0x00c6, 0x00c7, 0x00c9, 0x00d1, 0x00d6, 0x00d8, 0x00dc, 0x00df,
	0x00e0, 0x00e4, 0x00e5, 0x00e6, 0x00e8, 0x00e9, 0x00ec, 0x00f1,
	0x00f2, 0x00f6, 0x00f8, 0x00f9, 0x00fc, 0x0393, 0x0394, 0x0398,
	0x039b, 0x039e, 0x03a0, 0x03a3, 0x03a6, 0x03a8, 0x03a9,
};

#define SMSENC_EURO 0x20ac /* the one extension character beyond ASCII */

typedef struct {
	size_t total; /* septets or units of the whole body */
	int parts;    /* segments when concatenated */
	size_t cur;   /* filled in the current concatenated segment */
} smsenc_count;

static int smsenc_cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* Septets cp takes in GSM-7: 1, 2 (extension table) or 0 (not GSM). */
static int smsenc_gsm_cost(uint32_t cp)
{
	uint16_t key;

	if (cp == '\n' || cp == '\r')
		return 1;
	if (cp == '\f' || cp == SMSENC_EURO)
		return 2;
	if (cp >= 0x20 && cp < 0x7f) {
		switch (cp) {
		case '`':
			return 0;
		case '[': case '\\': case ']': case '^':
		case '{': case '|': case '}': case '~':
			return 2;
		default:
			return 1;
		}
	}
	if (cp < 0xa1 || cp > 0x3a9)
		return 0;
	key = (uint16_t)cp;
	return bsearch(&key, smsenc_gsm_high,
		       sizeof smsenc_gsm_high / sizeof *smsenc_gsm_high,
		       sizeof *smsenc_gsm_high, smsenc_cmp_u16) ? 1 : 0;
}

/* Add a character of `cost` that must not be split across segments. */
static void smsenc_add(smsenc_count *c, size_t cost, size_t part)
{
	if (c->cur + cost > part) {
		c->parts++;
		c->cur = 0;
	}
	c->cur += cost;
	c->total += cost;
}

static int smsenc_segments(const smsenc_count *c, size_t single)
{
	return c->total <= single ? 1 : c->parts;
}

smsenc_err smsenc_measure(const char *utf8, size_t len, smsenc_info *out)
{
	smsenc_count gsm = {0, 1, 0}, ucs = {0, 1, 0};
	size_t chars = 0, i = 0, n;
	int is_gsm = 1, cost;
	uint32_t cp;

	if (!out)
		return SMSENC_ERR_ARG;
	*out = (smsenc_info){SMSENC_GSM7, 1, 0, 0};
	if (!utf8 && len > 0)
		return SMSENC_ERR_ARG;
	if (len > SMSENC_BYTES_MAX)
		return SMSENC_ERR_TOO_LONG;
	while (i < len) {
		/* ASCII, most of every reply, needs no decoder. */
		if ((unsigned char)utf8[i] < 0x80) {
			cp = (unsigned char)utf8[i];
			n = 1;
		} else if (!(n = utf8_decode(utf8 + i, len - i, &cp))) {
			return SMSENC_ERR_UTF8;
		}
		i += n;
		chars++;
		smsenc_add(&ucs, cp > 0xffff ? 2 : 1, SMSENC_UCS2_PART);
		if (is_gsm && (cost = smsenc_gsm_cost(cp)) > 0)
			smsenc_add(&gsm, (size_t)cost, SMSENC_GSM7_PART);
		else
			is_gsm = 0;
	}
	out->chars = chars;
	if (is_gsm) {
		out->units = gsm.total;
		out->segments = smsenc_segments(&gsm, SMSENC_GSM7_SINGLE);
	} else {
		out->encoding = SMSENC_UCS2;
		out->units = ucs.total;
		out->segments = smsenc_segments(&ucs, SMSENC_UCS2_SINGLE);
	}
	return SMSENC_OK;
}

const char *smsenc_name(smsenc_encoding e)
{
	return (unsigned)e < SMSENC__COUNT ? smsenc_names[e] : "GSM-7";
}

const char *smsenc_strerror(smsenc_err e)
{
	return (unsigned)e < SMSENC_ERR__COUNT ? smsenc_err_names[e]
					       : "unknown error";
}

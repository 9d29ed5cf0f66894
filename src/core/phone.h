/*
 * phone: turn a phone number as a person typed it into E.164.
 *
 * The parsing rules are libphonenumber's (through a thin C++ shim in
 * phone_shim.cc); this header is the only way the rest of optd sees them.
 * Invariants: a number that phone_normalize() accepts is "possible" (right
 * length for its country) and comes back as '+' followed by at most 15
 * digits. Validity (assigned range) and line type are metadata only: the
 * seed's own +12223334444 is possible but not valid, and must be accepted.
 * Every function is thread-safe and allocates nothing the caller frees.
 */
#ifndef OPTD_PHONE_H
#define OPTD_PHONE_H

#include <stddef.h>

#define PHONE_INPUT_MAX 64 /* bytes of raw input we agree to look at */
#define PHONE_E164_MAX 16  /* '+' and at most 15 digits */
#define PHONE_REGION_MAX 2 /* ISO 3166-1 alpha-2 */

typedef enum {
	PHONE_OK = 0,
	PHONE_ERR_EMPTY,      /* nothing but white space */
	PHONE_ERR_TOO_LONG,   /* over PHONE_INPUT_MAX bytes */
	PHONE_ERR_PARSE,      /* not a phone number at all */
	PHONE_ERR_IMPOSSIBLE, /* parsed, but no country has such a number */
	PHONE_ERR_REGION,     /* the default region is not a known region */
} phone_err;

typedef enum {
	PHONE_TYPE_UNKNOWN = 0,
	PHONE_TYPE_FIXED_LINE,
	PHONE_TYPE_MOBILE,
	PHONE_TYPE_FIXED_LINE_OR_MOBILE,
	PHONE_TYPE_TOLL_FREE,
	PHONE_TYPE_PREMIUM_RATE,
	PHONE_TYPE_SHARED_COST,
	PHONE_TYPE_VOIP,
	PHONE_TYPE_PERSONAL_NUMBER,
	PHONE_TYPE_PAGER,
	PHONE_TYPE_UAN,
	PHONE_TYPE_VOICEMAIL,
} phone_type;

typedef struct {
	char e164[PHONE_E164_MAX + 1];
	int valid;                         /* 1 when in an assigned range */
	phone_type type;
} phone_info;

/*
 * Parse `input` (not necessarily NUL-terminated, `len` bytes) with
 * `default_region` used for numbers written without a country code.
 * A leading "00" is read as the international prefix '+' whatever the
 * region's own prefix, because people paste "0033 6 ..." everywhere.
 * On success fills *out and returns PHONE_OK; on error *out is zeroed.
 * Checks run in this order: length, region, control bytes, white space.
 * An extension ("ext. 123") is dropped, since SMS cannot reach one. Refused
 * as impossible: numbers possible only locally (a US number without its
 * area code), and the odd unassigned number whose E.164 would not read
 * back as itself, so that e164 is always a stable key.
 */
phone_err phone_normalize(const char *input, size_t len,
			  const char *default_region, phone_info *out);

/*
 * The region a normalised number belongs to ("" for +800 and the like).
 * Kept out of phone_normalize() because for +1 numbers it costs a search
 * over some 25 regions that the write path does not need.
 */
void phone_region_of(const char *e164, char out[PHONE_REGION_MAX + 1]);

/* 1 when `region` (e.g. "US", "fr") is a region libphonenumber knows. */
int phone_region_ok(const char *region);

/* 1 when s[0..len) is a short code: 5 or 6 ASCII digits, nothing else. */
int phone_is_short_code(const char *s, size_t len);

const char *phone_strerror(phone_err err);
const char *phone_type_name(phone_type type); /* "mobile", "fixed_line", ... */

#endif

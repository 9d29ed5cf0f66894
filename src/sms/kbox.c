/*
 * kbox: see kbox.h. Each message type is a table of its fields in Kannel's
 * order, so decoding and encoding walk the same list and cannot disagree.
 */
#include "sms/kbox.h"
#include "lib/utf8.h"

#include <unicode/ustring.h>

#include <stddef.h>
#include <string.h>

typedef enum { F_INT, F_STR, F_UUID } fkind;

typedef struct {
	fkind kind;
	size_t off; /* of the int32_t or kbox_str in kbox_msg */
} fdesc;

#define I(f) {F_INT, offsetof(kbox_msg, f)}
#define S(f) {F_STR, offsetof(kbox_msg, f)}
#define U(f) {F_UUID, offsetof(kbox_msg, f)}

static const fdesc f_heartbeat[] = {I(load)};
static const fdesc f_admin[] = {I(command), S(boxc_id)};
static const fdesc f_sms[] = {
	S(sender), S(receiver), S(udhdata), S(msgdata), I(time), S(smsc_id),
	S(smsc_number), S(foreign_id), S(service), S(account), U(id),
	I(sms_type), I(mclass), I(mwi), I(coding), I(compress), I(validity),
	I(deferred), I(dlr_mask), S(dlr_url), I(pid), I(alt_dcs), I(rpi),
	S(charset), S(boxc_id), S(binfo), I(msg_left), I(priority),
	I(resend_try), I(resend_time), S(meta_data),
};
static const fdesc f_ack[] = {I(nack), I(time), U(id)};
static const fdesc f_wdp[] = {S(wdp_src_addr), I(wdp_src_port),
			      S(wdp_dst_addr), I(wdp_dst_port), S(wdp_data)};

static const struct {
	const char *name;
	const fdesc *f;
	size_t n;
} types[KBOX__TYPES] = {
	[KBOX_HEARTBEAT] = {"heartbeat", f_heartbeat, 1},
	[KBOX_ADMIN] = {"admin", f_admin, 2},
	[KBOX_SMS] = {"sms", f_sms, sizeof f_sms / sizeof f_sms[0]},
	[KBOX_ACK] = {"ack", f_ack, 3},
	[KBOX_WDP] = {"wdp_datagram", f_wdp, 5},
};

void kbox_init(kbox_msg *m, kbox_type type)
{
	memset(m, 0, sizeof *m);
	m->type = type;
	for (int t = 0; t < KBOX__TYPES; t++)
		for (size_t i = 0; i < types[t].n; i++) {
			char *at = (char *)m + types[t].f[i].off;
			if (types[t].f[i].kind == F_INT)
				*(int32_t *)(void *)at = KBOX_UNDEF;
			else
				((kbox_str *)(void *)at)->len = -1;
		}
}

kbox_str kbox_cstr(const char *s)
{
	kbox_str r = {s, s ? (int32_t)strlen(s) : -1};
	return r;
}

static int32_t get32(const unsigned char *p)
{
	return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			 (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

static void put32(char *p, int32_t v)
{
	uint32_t u = (uint32_t)v;

	p[0] = (char)(u >> 24);
	p[1] = (char)(u >> 16);
	p[2] = (char)(u >> 8);
	p[3] = (char)u;
}

int32_t kbox_frame_len(const unsigned char hdr[KBOX_HEADER])
{
	int32_t n = get32(hdr);

	return n < 0 || n > KBOX_FRAME_MAX ? -1 : n;
}

static kbox_err decode_field(const fdesc *d, const char *buf, size_t len,
			     size_t *pos, kbox_msg *m)
{
	char *at = (char *)m + d->off;
	int32_t v;

	if (len - *pos < 4)
		return KBOX_ERR_SHORT;
	v = get32((const unsigned char *)buf + *pos);
	*pos += 4;
	if (d->kind == F_INT) {
		*(int32_t *)(void *)at = v;
		return KBOX_OK;
	}
	if (v < -1)
		return KBOX_ERR_LENGTH;
	if (v >= 0 && (size_t)v > len - *pos)
		return KBOX_ERR_LENGTH;
	if (d->kind == F_UUID && v != KBOX_UUID_LEN)
		return KBOX_ERR_UUID;
	((kbox_str *)(void *)at)->p = v < 0 ? NULL : buf + *pos;
	((kbox_str *)(void *)at)->len = v;
	if (v > 0)
		*pos += (size_t)v;
	return KBOX_OK;
}

kbox_err kbox_decode(const char *buf, size_t len, kbox_msg *m)
{
	size_t pos = 4;
	int32_t t;
	kbox_err e;

	if (len < 4)
		return KBOX_ERR_SHORT;
	t = get32((const unsigned char *)buf);
	if (t < 0 || t >= KBOX__TYPES)
		return KBOX_ERR_TYPE;
	kbox_init(m, (kbox_type)t);
	for (size_t i = 0; i < types[t].n; i++)
		if ((e = decode_field(&types[t].f[i], buf, len, &pos, m)))
			return e;
	return pos == len ? KBOX_OK : KBOX_ERR_TRAIL;
}

static kbox_err encode_field(const fdesc *d, const kbox_msg *m, char *buf,
			     size_t cap, size_t *pos)
{
	const char *at = (const char *)m + d->off;
	const kbox_str *s = (const kbox_str *)(const void *)at;
	size_t need = 4;

	if (d->kind == F_INT) {
		if (cap - *pos < need)
			return KBOX_ERR_SIZE;
		put32(buf + *pos, *(const int32_t *)(const void *)at);
		*pos += 4;
		return KBOX_OK;
	}
	if (s->len < -1 || (s->len >= 0 && !s->p))
		return KBOX_ERR_LENGTH;
	if (d->kind == F_UUID && s->len != KBOX_UUID_LEN)
		return KBOX_ERR_UUID;
	if (s->len > 0)
		need += (size_t)s->len;
	if (s->len > KBOX_FRAME_MAX || cap - *pos < need)
		return KBOX_ERR_SIZE;
	put32(buf + *pos, s->len);
	if (s->len > 0)
		memcpy(buf + *pos + 4, s->p, (size_t)s->len);
	*pos += need;
	return KBOX_OK;
}

kbox_err kbox_encode(const kbox_msg *m, char *buf, size_t cap, size_t *len)
{
	size_t pos = KBOX_HEADER + 4;
	kbox_err e;

	*len = 0;
	if ((int)m->type < 0 || m->type >= KBOX__TYPES)
		return KBOX_ERR_TYPE;
	if (cap > KBOX_HEADER + KBOX_FRAME_MAX)
		cap = KBOX_HEADER + KBOX_FRAME_MAX;
	if (cap < pos)
		return KBOX_ERR_SIZE;
	put32(buf + KBOX_HEADER, (int32_t)m->type);
	for (size_t i = 0; i < types[m->type].n; i++)
		if ((e = encode_field(&types[m->type].f[i], m, buf, cap,
				      &pos)))
			return e;
	put32(buf, (int32_t)(pos - KBOX_HEADER));
	*len = pos;
	return KBOX_OK;
}

const char *kbox_strerror(kbox_err e)
{
	switch (e) {
	case KBOX_OK: return "ok";
	case KBOX_ERR_SHORT: return "message ends inside a field";
	case KBOX_ERR_TRAIL: return "bytes left after the last field";
	case KBOX_ERR_TYPE: return "unknown message type";
	case KBOX_ERR_LENGTH: return "bad string length";
	case KBOX_ERR_UUID: return "id is not a 36-character UUID";
	case KBOX_ERR_SIZE: return "message too large";
	}
	return "unknown error";
}

const char *kbox_type_name(kbox_type t)
{
	return (int)t >= 0 && t < KBOX__TYPES ? types[t].name : "unknown";
}

/* UTF-16 units into UTF-8 out[0..cap), NUL-terminated; an unpaired
 * surrogate becomes U+FFFD. */
static kbox_err units_to_utf8(const UChar *u, int32_t n, char *out,
			      size_t cap, size_t *len)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t got = 0;

	u_strToUTF8WithSub(out, (int32_t)cap, &got, u, n, 0xFFFD, NULL, &st);
	if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING ||
	    (size_t)got >= cap)
		return KBOX_ERR_SIZE;
	*len = (size_t)got;
	return KBOX_OK;
}

kbox_err kbox_text_utf8(const kbox_msg *m, char *out, size_t cap,
			size_t *len)
{
	const unsigned char *p = (const unsigned char *)m->msgdata.p;
	size_t n = m->msgdata.len > 0 ? (size_t)m->msgdata.len : 0, k = 0;
	UChar u[KBOX_TEXT_UNITS_MAX];
	kbox_err e;

	*len = 0;
	if (cap == 0)
		return KBOX_ERR_SIZE;
	out[0] = '\0';
	if (n == 0)
		return KBOX_OK; /* and no copy from an absent string */
	if (m->coding != KBOX_CODING_UCS2 &&
	    utf8_valid((const char *)p, n)) {
		if (n >= cap)
			return KBOX_ERR_SIZE;
		memcpy(out, p, n);
		out[n] = '\0';
		*len = n;
		return KBOX_OK;
	}
	/* UCS-2 as big-endian units (an odd last byte dropped), else each
	 * byte a Latin-1 character. Each unit is at least a byte of UTF-8,
	 * so more units than cap cannot fit anyway. */
	size_t units = m->coding == KBOX_CODING_UCS2 ? n / 2 : n;
	if (units >= cap || units > KBOX_TEXT_UNITS_MAX)
		return KBOX_ERR_SIZE;
	for (; k < units; k++)
		u[k] = m->coding == KBOX_CODING_UCS2
			       ? (UChar)(p[2 * k] << 8 | p[2 * k + 1])
			       : (UChar)p[k];
	e = units_to_utf8(u, (int32_t)units, out, cap, len);
	if (e)
		out[0] = '\0';
	return e;
}

kbox_err kbox_utf16be(const char *s, size_t n, char *out, size_t cap,
		      size_t *len)
{
	UChar u[KBOX_TEXT_UNITS_MAX];
	UErrorCode st = U_ZERO_ERROR;
	int32_t got = 0;

	*len = 0;
	if (n > KBOX_TEXT_UNITS_MAX)
		return KBOX_ERR_SIZE;
	/* UTF-16 never takes more units than UTF-8 takes bytes; ICU refuses
	 * overlong forms, surrogates and code points past U+10FFFF. */
	u_strFromUTF8(u, KBOX_TEXT_UNITS_MAX, &got, s, (int32_t)n, &st);
	if (U_FAILURE(st))
		return KBOX_ERR_LENGTH;
	if ((size_t)got * 2 > cap)
		return KBOX_ERR_SIZE;
	for (int32_t k = 0; k < got; k++) {
		out[2 * k] = (char)(u[k] >> 8);
		out[2 * k + 1] = (char)(u[k] & 0xFF);
	}
	*len = (size_t)got * 2;
	return KBOX_OK;
}

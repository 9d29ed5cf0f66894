/*
 * kbox: Kannel's box protocol, the one smsbox, sqlbox and opensmppbox
 * speak to bearerbox on its smsbox-port. optd can take smsbox's place
 * (--kannel-box): messages arrive and replies leave on one TCP stream,
 * with no HTTP between optd and Kannel.
 *
 * A frame is a 4-byte big-endian length (of what follows, itself not
 * counted) and a message: its type as a 4-byte integer, then its fields
 * in the order of Kannel's gw/msg-decl.h: an INTEGER as 4 bytes
 * big-endian, an OCTSTR as its length (-1 for none) and its bytes, a UUID
 * as the OCTSTR of its 36-character text form.
 *
 * Pure: no I/O. Decoding never copies: a decoded string points into the
 * frame, so it lives as long as the frame's buffer. Invariants: a decoded
 * message used every byte of its frame; an encoded one fits its buffer
 * or is refused whole.
 */
#ifndef OPTD_KBOX_H
#define OPTD_KBOX_H

#include <stddef.h>
#include <stdint.h>

#define KBOX_FRAME_MAX 65536 /* bytes of a message; a longer one is refused */
#define KBOX_HEADER 4        /* the length before each message */
#define KBOX_UUID_LEN 36     /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
#define KBOX_TEXT_UNITS_MAX 8192 /* UTF-16 units of a text converted */
#define KBOX_UNDEF (-1)      /* an integer field left unset (Kannel's
				MSG_PARAM_UNDEFINED) */

typedef enum {
	KBOX_OK = 0,
	KBOX_ERR_SHORT,  /* the message ends inside a field */
	KBOX_ERR_TRAIL,  /* bytes left over after the last field */
	KBOX_ERR_TYPE,   /* a message type Kannel does not define */
	KBOX_ERR_LENGTH, /* a string length below -1 or past the frame */
	KBOX_ERR_UUID,   /* an id that is not 36 characters */
	KBOX_ERR_SIZE,   /* the frame would be past KBOX_FRAME_MAX or the
			    buffer given */
} kbox_err;

typedef enum {
	KBOX_HEARTBEAT = 0,
	KBOX_ADMIN = 1,
	KBOX_SMS = 2,
	KBOX_ACK = 3,
	KBOX_WDP = 4,
	KBOX__TYPES,
} kbox_type;

/* sms_type */
enum { KBOX_MO = 0, KBOX_MT_REPLY = 1, KBOX_MT_PUSH = 2, KBOX_REPORT_MO = 3,
       KBOX_REPORT_MT = 4 };
/* admin command */
enum { KBOX_CMD_SHUTDOWN = 0, KBOX_CMD_SUSPEND = 1, KBOX_CMD_RESUME = 2,
       KBOX_CMD_IDENTIFY = 3, KBOX_CMD_RESTART = 4 };
/* ack nack */
enum { KBOX_ACK_SUCCESS = 0, KBOX_ACK_FAILED = 1, KBOX_ACK_FAILED_TMP = 2,
       KBOX_ACK_BUFFERED = 3 };
/* coding */
enum { KBOX_CODING_7BIT = 0, KBOX_CODING_8BIT = 1, KBOX_CODING_UCS2 = 2 };

/* Bytes that are not NUL-terminated; p is NULL and len -1 for none. */
typedef struct {
	const char *p;
	int32_t len;
} kbox_str;

/*
 * One message, every type's fields side by side; a type uses its own
 * (heartbeat: load; admin: command, boxc_id; ack: nack, time, id; wdp:
 * the wdp_* fields; sms: the rest). Zeroed by kbox_init() with every
 * string absent and every integer KBOX_UNDEF.
 */
typedef struct {
	kbox_type type;
	int32_t load, command, nack;
	kbox_str sender, receiver, udhdata, msgdata;
	int32_t time;
	kbox_str smsc_id, smsc_number, foreign_id, service, account, id;
	int32_t sms_type, mclass, mwi, coding, compress, validity, deferred,
		dlr_mask;
	kbox_str dlr_url;
	int32_t pid, alt_dcs, rpi;
	kbox_str charset, boxc_id, binfo;
	int32_t msg_left, priority, resend_try, resend_time;
	kbox_str meta_data;
	kbox_str wdp_src_addr;
	int32_t wdp_src_port;
	kbox_str wdp_dst_addr;
	int32_t wdp_dst_port;
	kbox_str wdp_data;
} kbox_msg;

void kbox_init(kbox_msg *m, kbox_type type);
kbox_str kbox_cstr(const char *s); /* absent for NULL */

/*
 * The message length announced by a frame's header, from its first
 * KBOX_HEADER bytes; -1 when it is negative or past KBOX_FRAME_MAX.
 */
int32_t kbox_frame_len(const unsigned char hdr[KBOX_HEADER]);

/* Decode the message buf[0..len) (the frame without its header). */
kbox_err kbox_decode(const char *buf, size_t len, kbox_msg *m);

/* Encode a whole frame, header included, into buf[0..cap); its length
 * in *len. */
kbox_err kbox_encode(const kbox_msg *m, char *buf, size_t cap, size_t *len);

/*
 * An sms message's text as UTF-8, into out[0..cap), NUL-terminated, its
 * length in *len: UTF-16BE when coding is UCS-2 (a lone surrogate becomes
 * U+FFFD), else the bytes themselves when they are UTF-8 (what Kannel
 * makes of GSM text), else Latin-1. KBOX_ERR_SIZE when it does not fit,
 * or is past KBOX_TEXT_UNITS_MAX units (ICU converts, lib/utf8 checks).
 */
kbox_err kbox_text_utf8(const kbox_msg *m, char *out, size_t cap,
			size_t *len);
/* UTF-8 s[0..n) as UTF-16BE, for a UCS-2 message; KBOX_ERR_LENGTH when it
 * is not well-formed, KBOX_ERR_SIZE past cap or KBOX_TEXT_UNITS_MAX. */
kbox_err kbox_utf16be(const char *s, size_t n, char *out, size_t cap,
		      size_t *len);

const char *kbox_strerror(kbox_err e);
const char *kbox_type_name(kbox_type t);

#endif

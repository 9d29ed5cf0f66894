/*
 * kboxlink: see kboxlink.h. Every frame is encoded when it is queued, so
 * the writer only copies bytes; everything shared lives under one mutex,
 * and the writer copies its frames out before it lets go of it, so an
 * ack that frees a message can never race the write of that message.
 */
#include "sms/kboxlink.h"
#include "core/smsenc.h"
#include "lib/clock.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/str.h"
#include "sms/sms_int.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#define KBL_BUCKETS 1024        /* messages waiting for bearerbox's ack */
#define KBL_WBUF_MAX (256 * 1024) /* bytes handed to one write */
#define KBL_RBUF_MAX (KBOX_HEADER + KBOX_FRAME_MAX + 65536)
#define KBL_MT_FRAME_MAX (2 * SMS_BODY_MAX + 2048)
#define KBL_CONNECT_MS 3000
#define KBL_BACKOFF_MIN_MS 100
#define KBL_BACKOFF_MAX_MS 5000
#define KBL_TMP_RETRY_MS 1000
#define KBL_IDLE_MS 1000
#define KBL_ACK_FRAME_MAX 128 /* an ack: 16 bytes and a 36-byte id */
#define KBL_PROBE_MS 250          /* while bearerbox stops */
#define KBL_STOPPING_MAX_MS 30000 /* a bearerbox that says it stops and
				     never does is connected to again */
#define KBL_PROBE_READ_MS 500 /* for a stopping bearerbox's first word */
#define KBL_PROBE_FRAME_MAX 256 /* an admin command fits, an SMS need not */

typedef struct {
	pthread_cond_t cv;
	int done;
	sms_err e;
	char error[SMS_ERR_MAX];
	struct item *it;
} waiter;

typedef struct item {
	struct item *next;  /* in the queue or the retry list */
	struct item *hnext; /* in a bucket of sent */
	int is_ack;
	uint64_t conn;      /* an ack's connection */
	int64_t due_ms;     /* on the retry list */
	int tries;
	int64_t outbox_id;
	char dedupe[SMS_DEDUPE_MAX + 1];
	char id[KBOX_UUID_LEN + 1];
	waiter *w;
	int written; /* to some connection: bearerbox may have it */
	size_t len;
	char frame[];
} item;

struct kbl {
	kbl_conf c;
	kbl_recv_fn recv;
	kbl_refused_fn refused;
	void *ctx;
	pthread_mutex_t mu;
	pthread_cond_t cv;   /* the writer's work, stop, the writer idle */
	int fd;              /* -1 while there is no connection */
	uint64_t conn;       /* connections made so far */
	int writing;         /* the writer is using fd outside the lock */
	int stop, running;
	int quiet;           /* draining: take no more messages */
	item *qh, *qt;       /* to write, in order */
	item *retry;         /* waiting for due_ms */
	item *sent[KBL_BUCKETS]; /* written, waiting for the ack */
	size_t backlog;      /* messages anywhere above */
	uint64_t seq;
	unsigned char rnd[8];
	pthread_t reader, writer;
	char *wbuf, *rbuf;
};

int kbl_parse_addr(const char *s, kbl_conf *c)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	char *end;
	unsigned long port;

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof c->host)
		return -1;
	port = strtoul(colon + 1, &end, 10);
	if (*end || colon[1] == '\0' || port == 0 || port > 65535)
		return -1;
	memcpy(c->host, s, (size_t)(colon - s));
	c->host[colon - s] = '\0';
	c->port = (unsigned)port;
	return 0;
}

int kbl_dlr_parse(const kbox_str *url, int64_t *id, char *dedupe,
		  size_t cap)
{
	const size_t plen = sizeof KBL_DLR_PREFIX - 1;
	size_t n = url->len > 0 ? (size_t)url->len : 0, i = plen;
	int64_t v = 0;

	if (n <= plen || memcmp(url->p, KBL_DLR_PREFIX, plen) != 0)
		return -1;
	for (; i < n && url->p[i] >= '0' && url->p[i] <= '9'; i++) {
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (url->p[i] - '0');
	}
	if (i == plen || i >= n || url->p[i] != ':' || v <= 0 ||
	    n - i - 1 >= cap || n - i - 1 == 0)
		return -1;
	memcpy(dedupe, url->p + i + 1, n - i - 1);
	dedupe[n - i - 1] = '\0';
	if (strlen(dedupe) != n - i - 1)
		return -1;
	*id = v;
	return 0;
}

/* Waits on the monotonic clock: a clock change cannot stretch them. */
static void cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
}

/* ---- queues (all under l->mu) ---- */

static void push(kbl *l, item *it)
{
	it->next = NULL;
	if (l->qt)
		l->qt->next = it;
	else
		l->qh = it;
	l->qt = it;
	pthread_cond_broadcast(&l->cv);
}

static item **bucket(kbl *l, const char *id)
{
	return &l->sent[hash_str(id) % KBL_BUCKETS];
}

static item *sent_take(kbl *l, const char *id)
{
	for (item **p = bucket(l, id); *p; p = &(*p)->hnext)
		if (strcmp((*p)->id, id) == 0) {
			item *it = *p;
			*p = it->hnext;
			return it;
		}
	return NULL;
}

/* After a reconnect: what the old connection never acked goes again,
 * before anything queued since. */
static void requeue_sent(kbl *l)
{
	item *h = NULL, *t = NULL;

	for (size_t b = 0; b < KBL_BUCKETS; b++)
		while (l->sent[b]) {
			item *it = l->sent[b];
			l->sent[b] = it->hnext;
			it->next = NULL;
			if (t)
				t->next = it;
			else
				h = it;
			t = it;
		}
	if (!h)
		return;
	t->next = l->qh;
	l->qh = h;
	if (!l->qt)
		l->qt = t;
}

static void due_retries(kbl *l, int64_t now, int64_t *next_due)
{
	item **p = &l->retry;

	while (*p) {
		item *it = *p;
		if (it->due_ms <= now) {
			*p = it->next;
			push(l, it);
		} else {
			if (it->due_ms < *next_due)
				*next_due = it->due_ms;
			p = &it->next;
		}
	}
}

/* Take an item never written out of the queue or the retry list. */
static void cancel(kbl *l, item *it)
{
	for (item **p = &l->qh, *prev = NULL; *p; prev = *p, p = &(*p)->next)
		if (*p == it) {
			*p = it->next;
			if (l->qt == it)
				l->qt = prev;
			goto found;
		}
	for (item **p = &l->retry; *p; p = &(*p)->next)
		if (*p == it) {
			*p = it->next;
			goto found;
		}
	return;
found:
	l->backlog--;
	free(it);
}

static void finish(kbl *l, item *it, sms_err e, const char *error)
{
	if (!it->is_ack)
		l->backlog--;
	if (it->w) {
		it->w->done = 1;
		it->w->e = e;
		str_copy(it->w->error, sizeof it->w->error, error);
		pthread_cond_signal(&it->w->cv);
	}
	free(it);
}

/* ---- frames ---- */

static void new_uuid(kbl *l, char out[KBOX_UUID_LEN + 1])
{
	unsigned char b[16];
	uint64_t s = ++l->seq;

	memcpy(b, l->rnd, 8);
	for (int i = 0; i < 8; i++)
		b[8 + i] = (unsigned char)(s >> (56 - 8 * i));
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

static item *item_new(const char *frame, size_t len)
{
	item *it = calloc(1, sizeof *it + len);

	if (!it)
		return NULL;
	memcpy(it->frame, frame, len);
	it->len = len;
	return it;
}

static void ack_frame(const kbl_ref *r, int nack,
		      char buf[KBL_ACK_FRAME_MAX], size_t *len)
{
	kbox_msg m;

	kbox_init(&m, KBOX_ACK);
	m.nack = nack;
	m.time = r->time;
	m.id.p = r->id;
	m.id.len = KBOX_UUID_LEN;
	if (kbox_encode(&m, buf, KBL_ACK_FRAME_MAX, len) != KBOX_OK)
		*len = 0;
}

/* The message's frame into buf (KBL_MT_FRAME_MAX bytes), as smsbox would
 * send it: mt_reply, GSM text as UTF-8 (coding 0) or UCS-2 as UTF-16BE
 * (coding 2), core/smsenc deciding, and a dlr_url naming the row. */
static sms_err mt_frame(kbl *l, const sms_send_req *r, const char *smsc,
			const char *uuid, char *buf, size_t *len,
			char err[SMS_ERR_MAX])
{
	static __thread char ucs[2 * SMS_BODY_MAX];
	char dlr[64 + SMS_DEDUPE_MAX];
	size_t blen = strlen(r->body), ulen;
	smsenc_info enc;
	kbox_msg m;

	if (blen > SMS_BODY_MAX || smsenc_measure(r->body, blen, &enc) !=
	    SMSENC_OK) {
		snprintf(err, SMS_ERR_MAX, "kannel: body cannot be encoded");
		return SMS_FAIL;
	}
	kbox_init(&m, KBOX_SMS);
	m.sender = kbox_cstr(r->from && r->from[0] ? r->from : NULL);
	m.receiver = kbox_cstr(r->to);
	m.smsc_id = kbox_cstr(smsc && smsc[0] ? smsc : NULL);
	m.msgdata.p = r->body;
	m.msgdata.len = (int32_t)blen;
	m.coding = KBOX_CODING_7BIT;
	if (enc.encoding == SMSENC_UCS2) {
		if (kbox_utf16be(r->body, blen, ucs, sizeof ucs, &ulen)) {
			snprintf(err, SMS_ERR_MAX, "kannel: body is not UTF-8");
			return SMS_FAIL;
		}
		m.msgdata.p = ucs;
		m.msgdata.len = (int32_t)ulen;
		m.coding = KBOX_CODING_UCS2;
	}
	m.time = (int32_t)(clock_now_ms() / 1000);
	m.id.p = uuid;
	m.id.len = KBOX_UUID_LEN;
	m.sms_type = KBOX_MT_REPLY;
	if (l->c.dlr_mask > 0 && r->outbox_id > 0 && r->dedupe) {
		snprintf(dlr, sizeof dlr, KBL_DLR_PREFIX "%" PRId64 ":%s",
			 r->outbox_id, r->dedupe);
		m.dlr_mask = l->c.dlr_mask;
		m.dlr_url = kbox_cstr(dlr);
	}
	if (kbox_encode(&m, buf, KBL_MT_FRAME_MAX, len) != KBOX_OK) {
		snprintf(err, SMS_ERR_MAX, "kannel: message too large");
		return SMS_FAIL;
	}
	return SMS_OK;
}

/* Queue the message; w (may be NULL) waits for its ack. */
static sms_err enqueue_mt(kbl *l, const sms_send_req *r, const char *smsc,
			  waiter *w, size_t limit, char err[SMS_ERR_MAX])
{
	static __thread char buf[KBL_MT_FRAME_MAX];
	char uuid[KBOX_UUID_LEN + 1];
	size_t len;
	item *it;
	sms_err e;

	pthread_mutex_lock(&l->mu);
	new_uuid(l, uuid);
	pthread_mutex_unlock(&l->mu);
	if ((e = mt_frame(l, r, smsc, uuid, buf, &len, err)))
		return e;
	if (!(it = item_new(buf, len))) {
		snprintf(err, SMS_ERR_MAX, "kannel: out of memory");
		return SMS_ERR_NOMEM;
	}
	memcpy(it->id, uuid, sizeof it->id);
	it->outbox_id = r->outbox_id;
	str_copy(it->dedupe, sizeof it->dedupe, r->dedupe);
	pthread_mutex_lock(&l->mu);
	if (l->stop || l->backlog >= limit || (w && l->fd < 0)) {
		snprintf(err, SMS_ERR_MAX, "kannel: %s", l->stop
			 ? "optd is stopping" : l->fd < 0
			 ? "not connected to bearerbox" : "too many messages "
			 "wait for bearerbox");
		pthread_mutex_unlock(&l->mu);
		free(it);
		return SMS_RETRY;
	}
	it->w = w;
	if (w)
		w->it = it;
	l->backlog++;
	push(l, it);
	pthread_mutex_unlock(&l->mu);
	return SMS_OK;
}

sms_err kbl_send(kbl *l, const sms_send_req *r, const char *smsc,
		 char err[SMS_ERR_MAX])
{
	return enqueue_mt(l, r, smsc, NULL, SIZE_MAX, err);
}

sms_err kbl_send_wait(kbl *l, const sms_send_req *r, long timeout_ms,
		      sms_send_res *res)
{
	waiter w = {.done = 0};
	struct timespec ts;
	sms_err e;

	cond_init(&w.cv);
	if ((e = enqueue_mt(l, r, NULL, &w, KBL_BACKLOG_MAX, res->error)))
		goto out;
	ts = clock_deadline(CLOCK_MONOTONIC, timeout_ms);
	pthread_mutex_lock(&l->mu);
	while (!w.done &&
	       pthread_cond_timedwait(&w.cv, &l->mu, &ts) != ETIMEDOUT)
		;
	if (!w.done) {
		e = SMS_RETRY;
		snprintf(res->error, sizeof res->error, "kannel: no answer "
			 "from bearerbox within %ld ms", timeout_ms);
		if (!w.it->written)
			cancel(l, w.it); /* never sent: a retry cannot double */
		else
			w.it->w = NULL; /* it stays with the link, unwatched */
	} else {
		e = w.e;
		str_copy(res->error, sizeof res->error, w.error);
	}
	pthread_mutex_unlock(&l->mu);
out:
	pthread_cond_destroy(&w.cv);
	return e;
}

void kbl_ack(kbl *l, const kbl_ref *r, int nack, int64_t delay_ms)
{
	char buf[KBL_ACK_FRAME_MAX];
	size_t len;
	item *it;

	ack_frame(r, nack, buf, &len);
	if (!len || !(it = item_new(buf, len)))
		return; /* bearerbox hands the message over again */
	it->is_ack = 1;
	it->conn = r->conn;
	pthread_mutex_lock(&l->mu);
	if (l->stop || r->conn != l->conn) {
		free(it);
	} else if (delay_ms > 0) {
		it->due_ms = clock_now_ms() + delay_ms;
		it->next = l->retry;
		l->retry = it;
		pthread_cond_broadcast(&l->cv);
	} else {
		push(l, it);
	}
	pthread_mutex_unlock(&l->mu);
}

int kbl_connected(kbl *l)
{
	int c;

	pthread_mutex_lock(&l->mu);
	c = l->fd >= 0;
	pthread_mutex_unlock(&l->mu);
	return c;
}

/* ---- the writer ---- */

/* Copy queued frames into wbuf (under the lock): messages move to sent,
 * acks are freed, an ack of an older connection is dropped. */
static size_t take(kbl *l)
{
	size_t n = 0;

	while (l->qh && n + l->qh->len <= KBL_WBUF_MAX) {
		item *it = l->qh;
		l->qh = it->next;
		if (!l->qh)
			l->qt = NULL;
		if (it->is_ack && it->conn != l->conn) {
			free(it);
			continue;
		}
		memcpy(l->wbuf + n, it->frame, it->len);
		n += it->len;
		if (it->is_ack) {
			free(it);
			continue;
		}
		item **b = bucket(l, it->id);
		it->hnext = *b;
		*b = it;
		it->written = 1;
	}
	return n;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static size_t heartbeat(kbl *l, size_t n)
{
	kbox_msg m;
	size_t len;

	kbox_init(&m, KBOX_HEARTBEAT);
	m.load = (int32_t)(l->backlog > INT32_MAX ? INT32_MAX : l->backlog);
	if (kbox_encode(&m, l->wbuf + n, KBL_WBUF_MAX + 64 - n, &len))
		return n;
	return n + len;
}

static void wait_ms(kbl *l, int64_t ms)
{
	struct timespec ts = clock_deadline(CLOCK_MONOTONIC, ms);

	pthread_cond_timedwait(&l->cv, &l->mu, &ts);
}

static void *writer_main(void *arg)
{
	kbl *l = arg;
	int64_t next_hb = 0;

	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		int64_t now = clock_now_ms(), next = now + KBL_IDLE_MS;
		due_retries(l, now, &next);
		int hb = l->fd >= 0 && now >= next_hb;
		if (l->fd < 0 || (!l->qh && !hb)) {
			if (l->fd >= 0 && next_hb < next)
				next = next_hb;
			wait_ms(l, next > now ? next - now : 1);
			continue;
		}
		size_t n = take(l);
		if (hb) {
			n = heartbeat(l, n);
			next_hb = now + KBL_HEARTBEAT_MS;
		}
		int fd = l->fd;
		l->writing = 1;
		pthread_mutex_unlock(&l->mu);
		int bad = write_all(fd, l->wbuf, n);
		pthread_mutex_lock(&l->mu);
		l->writing = 0;
		if (bad) /* the reader sees it, reconnects, writes sent again */
			shutdown(fd, SHUT_RDWR);
		pthread_cond_broadcast(&l->cv);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* ---- the reader ---- */

static void mt_acked(kbl *l, const kbox_msg *m)
{
	char id[KBOX_UUID_LEN + 1], error[SMS_ERR_MAX] = "";
	int64_t oid;
	char dk[SMS_DEDUPE_MAX + 1];
	sms_err e = SMS_OK;
	item *it;

	memcpy(id, m->id.p, KBOX_UUID_LEN);
	id[KBOX_UUID_LEN] = '\0';
	pthread_mutex_lock(&l->mu);
	if (!(it = sent_take(l, id))) {
		pthread_mutex_unlock(&l->mu);
		return; /* sent again after a reconnect, and acked twice */
	}
	if (m->nack == KBOX_ACK_FAILED_TMP && ++it->tries < KBL_TMP_TRIES) {
		it->due_ms = clock_now_ms() + KBL_TMP_RETRY_MS;
		it->next = l->retry;
		l->retry = it;
		pthread_mutex_unlock(&l->mu);
		return;
	}
	if (m->nack == KBOX_ACK_FAILED_TMP) {
		e = SMS_RETRY;
		snprintf(error, sizeof error, "kannel: bearerbox answered "
			 "\"try again\" %d times", KBL_TMP_TRIES);
	} else if (m->nack != KBOX_ACK_SUCCESS &&
		   m->nack != KBOX_ACK_BUFFERED) {
		e = SMS_FAIL;
		snprintf(error, sizeof error, "kannel: bearerbox refused the "
			 "message (ack %d: no route to an SMSC)", (int)m->nack);
	}
	oid = it->outbox_id;
	memcpy(dk, it->dedupe, sizeof dk);
	int watched = it->w != NULL;
	finish(l, it, e, error);
	pthread_cond_broadcast(&l->cv); /* kbl_flush may wait for it */
	pthread_mutex_unlock(&l->mu);
	if (e && !watched && l->refused)
		l->refused(l->ctx, oid, dk, e, error);
}

/* 1 to go on reading, 0 to drop the connection. */
static int dispatch(kbl *l, uint64_t conn, const kbox_msg *m)
{
	kbl_ref r = {.conn = conn};

	switch (m->type) {
	case KBOX_ACK:
		mt_acked(l, m);
		return 1;
	case KBOX_SMS:
		pthread_mutex_lock(&l->mu);
		int quiet = l->quiet;
		pthread_mutex_unlock(&l->mu);
		if (quiet)
			return 1; /* unacked: bearerbox keeps it for later */
		memcpy(r.id, m->id.p, KBOX_UUID_LEN);
		r.time = m->time;
		if (l->recv)
			l->recv(l->ctx, m, &r);
		else
			kbl_ack(l, &r, KBOX_ACK_SUCCESS, 0);
		return 1;
	case KBOX_ADMIN:
		if (m->command != KBOX_CMD_SHUTDOWN &&
		    m->command != KBOX_CMD_RESTART)
			return 1;
		log_info("kannel box: bearerbox at %s:%u is %s", l->c.host,
			 l->c.port, m->command ? "restarting" : "stopping");
		return 0;
	default:
		return 1; /* heartbeats and WAP datagrams are not for optd */
	}
}

/* Frames from fd until it breaks or says something we cannot read; 1
 * when it ended because bearerbox said it is stopping. */
static int read_loop(kbl *l, int fd, uint64_t conn)
{
	size_t have = 0;

	for (;;) {
		ssize_t n = recv(fd, l->rbuf + have, KBL_RBUF_MAX - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		have += (size_t)n;
		size_t off = 0;
		while (have - off >= KBOX_HEADER) {
			int32_t len = kbox_frame_len(
				(const unsigned char *)l->rbuf + off);
			kbox_msg m;
			kbox_err e;
			if (len < 0) {
				log_error("kannel box: bearerbox sent a "
					  "frame longer than %d bytes",
					  KBOX_FRAME_MAX);
				return 0;
			}
			if (have - off - KBOX_HEADER < (size_t)len)
				break;
			e = kbox_decode(l->rbuf + off + KBOX_HEADER,
					(size_t)len, &m);
			if (e) {
				log_error("kannel box: unreadable message from "
					  "bearerbox: %s", kbox_strerror(e));
				return 0;
			}
			off += KBOX_HEADER + (size_t)len;
			if (!dispatch(l, conn, &m))
				return 1;
		}
		memmove(l->rbuf, l->rbuf + off, have - off);
		have -= off;
	}
}

/* A connected socket to bearerbox, or -1 (errno's text in err). */
static int dial(const kbl_conf *c, char err[SMS_ERR_MAX])
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	char port[16];
	int fd = -1, rc, one = 1;

	snprintf(port, sizeof port, "%u", c->port);
	if ((rc = getaddrinfo(c->host, port, &hints, &ai)) != 0) {
		str_copy(err, SMS_ERR_MAX, gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		struct timeval tv = {KBL_CONNECT_MS / 1000, 0};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
			str_copy(err, SMS_ERR_MAX, strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (fd >= 0) {
		struct timeval none = {0, 0};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	return fd;
}

/* smsbox's greeting: identify, with no box id so that bearerbox routes
 * messages to us as to any smsbox. */
static int identify(int fd)
{
	char buf[64];
	size_t len;
	kbox_msg m;

	kbox_init(&m, KBOX_ADMIN);
	m.command = KBOX_CMD_IDENTIFY;
	return kbox_encode(&m, buf, sizeof buf, &len) ||
	       write_all(fd, buf, len) ? -1 : 0;
}

/* Sleep ms (under l->mu), unless stopped meanwhile. */
static void pause_ms(kbl *l, int64_t ms)
{
	int64_t until = clock_mono_us() / 1000 + ms, now;

	while (!l->stop && (now = clock_mono_us() / 1000) < until)
		wait_ms(l, until - now);
}

/* A connection, identified, or -1 with err set. */
static int connect_box(kbl *l, char err[SMS_ERR_MAX])
{
	int fd = dial(&l->c, err);

	if (fd >= 0 && identify(fd) != 0) {
		str_copy(err, SMS_ERR_MAX, strerror(errno));
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * 1 while the bearerbox that said it stops is still there: it tells a box
 * that connects to stop at once. A refused connection, or a bearerbox that
 * says nothing else first, or nothing within KBL_PROBE_READ_MS, is a new
 * one, which the caller connects to as usual (what it may have sent this
 * probe, unacked, it keeps for that connection).
 */
static int still_stopping(kbl *l)
{
	unsigned char buf[KBL_PROBE_FRAME_MAX];
	char err[SMS_ERR_MAX];
	int64_t until = clock_mono_us() / 1000 + KBL_PROBE_READ_MS, left;
	int fd = connect_box(l, err), old = 0;
	int32_t len = -1;
	size_t have = 0;
	kbox_msg m;

	if (fd < 0)
		return 0;
	while ((left = until - clock_mono_us() / 1000) > 0) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		if (poll(&p, 1, (int)left) <= 0 ||
		    (n = recv(fd, buf + have, sizeof buf - have, 0)) <= 0)
			break;
		have += (size_t)n;
		if (have >= KBOX_HEADER && len < 0 &&
		    ((len = kbox_frame_len(buf)) < 0 ||
		     (size_t)len > sizeof buf - KBOX_HEADER))
			break; /* no admin command is this long */
		if (len < 0 || have < KBOX_HEADER + (size_t)len)
			continue;
		old = kbox_decode((const char *)buf + KBOX_HEADER, (size_t)len,
				  &m) == KBOX_OK &&
		      m.type == KBOX_ADMIN &&
		      (m.command == KBOX_CMD_SHUTDOWN ||
		       m.command == KBOX_CMD_RESTART);
		break;
	}
	close(fd);
	return old;
}

/*
 * Bearerbox said it is stopping, and it waits for its boxes to go before
 * it exits: connecting again at once would keep it from ever exiting.
 * Wait (under l->mu) until it is gone, or KBL_STOPPING_MAX_MS. Its port
 * may be another bearerbox's by then (it was restarted): a probe tells.
 */
static void await_exit(kbl *l)
{
	int64_t until = clock_mono_us() / 1000 + KBL_STOPPING_MAX_MS;

	while (!l->stop && clock_mono_us() / 1000 < until) {
		pthread_mutex_unlock(&l->mu);
		int old = still_stopping(l);
		pthread_mutex_lock(&l->mu);
		if (!old)
			return;
		pause_ms(l, KBL_PROBE_MS);
	}
}

/* One connection's life, from connected to closed (under l->mu). */
static void serve_conn(kbl *l, int fd)
{
	uint64_t conn = ++l->conn;
	int stopping;

	l->fd = fd;
	requeue_sent(l);
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	log_info("kannel box: connected to bearerbox at %s:%u", l->c.host,
		 l->c.port);
	stopping = read_loop(l, fd, conn);
	pthread_mutex_lock(&l->mu);
	l->fd = -1;
	while (l->writing)
		pthread_cond_wait(&l->cv, &l->mu);
	close(fd);
	if (l->stop)
		return;
	log_warn("kannel box: lost bearerbox at %s:%u; connecting again",
		 l->c.host, l->c.port);
	if (stopping)
		await_exit(l);
}

static void *reader_main(void *arg)
{
	kbl *l = arg;
	int64_t backoff = KBL_BACKOFF_MIN_MS;
	int reported = 0;
	char err[SMS_ERR_MAX] = "";

	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		pthread_mutex_unlock(&l->mu);
		int fd = connect_box(l, err);
		pthread_mutex_lock(&l->mu);
		if (fd >= 0 && l->stop) {
			close(fd);
		} else if (fd >= 0) {
			reported = 0;
			backoff = KBL_BACKOFF_MIN_MS;
			serve_conn(l, fd);
		} else {
			if (!reported++)
				log_warn("kannel box: cannot reach bearerbox "
					 "at %s:%u: %s; trying again",
					 l->c.host, l->c.port, err);
			pause_ms(l, backoff);
			backoff = backoff * 2 > KBL_BACKOFF_MAX_MS
					  ? KBL_BACKOFF_MAX_MS : backoff * 2;
		}
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* ---- life ---- */

kbl *kbl_new(const kbl_conf *c)
{
	kbl *l = calloc(1, sizeof *l);

	if (!l)
		return NULL;
	l->c = *c;
	l->fd = -1;
	l->wbuf = malloc(KBL_WBUF_MAX + 64);
	l->rbuf = malloc(KBL_RBUF_MAX);
	if (!l->wbuf || !l->rbuf) {
		free(l->wbuf);
		free(l->rbuf);
		free(l);
		return NULL;
	}
	if (getrandom(l->rnd, sizeof l->rnd, 0) != sizeof l->rnd) {
		uint64_t t = (uint64_t)clock_now_ms() ^
			     (uint64_t)getpid() << 32;
		memcpy(l->rnd, &t, sizeof l->rnd);
	}
	pthread_mutex_init(&l->mu, NULL);
	cond_init(&l->cv);
	return l;
}

void kbl_run(kbl *l, kbl_recv_fn recv, kbl_refused_fn refused, void *ctx)
{
	l->recv = recv;
	l->refused = refused;
	l->ctx = ctx;
	if (pthread_create(&l->reader, NULL, reader_main, l) != 0)
		return;
	pthread_setname_np(l->reader, "kbox-reader");
	if (pthread_create(&l->writer, NULL, writer_main, l) != 0) {
		kbl_stop(l);
		pthread_join(l->reader, NULL);
		return;
	}
	pthread_setname_np(l->writer, "kbox-writer");
	l->running = 1;
}

void kbl_quiesce(kbl *l)
{
	pthread_mutex_lock(&l->mu);
	l->quiet = 1;
	pthread_mutex_unlock(&l->mu);
}

int kbl_flush(kbl *l, int64_t timeout_ms)
{
	int64_t until = clock_mono_us() / 1000 + timeout_ms, now;
	int done;

	pthread_mutex_lock(&l->mu);
	while (!(done = !l->qh && !l->backlog && !l->writing) &&
	       l->fd >= 0 && !l->stop &&
	       (now = clock_mono_us() / 1000) < until)
		wait_ms(l, until - now);
	pthread_mutex_unlock(&l->mu);
	return done ? 0 : -1;
}

static void drop_all(kbl *l, item *h)
{
	while (h) {
		item *n = h->next;
		finish(l, h, SMS_RETRY, "kannel: optd is stopping");
		h = n;
	}
}

void kbl_stop(kbl *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = 1;
	if (l->fd >= 0)
		shutdown(l->fd, SHUT_RDWR);
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	if (l->running) {
		pthread_join(l->reader, NULL);
		pthread_join(l->writer, NULL);
		l->running = 0;
	}
	pthread_mutex_lock(&l->mu);
	requeue_sent(l);
	drop_all(l, l->qh);
	drop_all(l, l->retry);
	l->qh = l->qt = l->retry = NULL;
	pthread_mutex_unlock(&l->mu);
}

void kbl_free(kbl *l)
{
	if (!l)
		return;
	kbl_stop(l);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l->wbuf);
	free(l->rbuf);
	free(l);
}

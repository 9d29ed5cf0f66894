/*
 * test_sms_provider: unit tests for sms/provider and its three providers.
 *
 * What the outbox sender does with a message rests entirely on the
 * classification here: SMS_OK marks it sent, SMS_RETRY schedules another
 * attempt under the same dedupe key, SMS_FAIL gives up, SMS_OPTED_OUT also
 * unsubscribes the phone. A wrong SMS_OK loses a message; a wrong
 * SMS_RETRY sends it twice. So both gateways' answers are pinned one by
 * one, then the real send paths run: the log provider against a file in
 * a temporary directory (including the recovered attempt that must not
 * write twice and the line torn by a crash), and Twilio and Kannel against
 * a small HTTP server in this file that records each request byte for
 * byte and answers, drops or stalls as told.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sms/provider.h"
#include "sms/sms_int.h"
#include "lib/utf8.h"

/* ---- names and maps ---- */

static void test_names(void **state)
{
	sms_provider_kind k;

	(void)state;
	assert_string_equal(sms_provider_name(SMS_PROVIDER_LOG), "log");
	assert_string_equal(sms_provider_name(SMS_PROVIDER_TWILIO), "twilio");
	assert_string_equal(sms_provider_name(SMS_PROVIDER_KANNEL), "kannel");
	assert_string_equal(sms_provider_name((sms_provider_kind)9),
			    "unknown");
	assert_int_equal(sms_provider_parse("kannel", &k), 0);
	assert_int_equal(k, SMS_PROVIDER_KANNEL);
	assert_int_equal(sms_provider_parse("twilio", &k), 0);
	assert_int_equal(k, SMS_PROVIDER_TWILIO);
	assert_int_equal(sms_provider_parse("Twilio", &k), -1);
	assert_int_equal(sms_provider_parse("", &k), -1);
	assert_int_equal(sms_provider_parse(NULL, &k), -1);
	assert_string_equal(sms_strerror(SMS_OK), "ok");
	assert_string_equal(sms_strerror(SMS_OPTED_OUT),
			    "recipient opted out");
	assert_string_equal(sms_strerror(SMS_ERR_NOMEM), "out of memory");
	assert_string_equal(sms_strerror((sms_err)42), "unknown error");
}

static void test_twilio_status(void **state)
{
	static const struct {
		const char *word;
		sms_status st;
	} map[] = {
		{"queued", SMS_STATUS_IGNORE},   {"accepted", SMS_STATUS_IGNORE},
		{"sending", SMS_STATUS_IGNORE},  {"scheduled", SMS_STATUS_IGNORE},
		{"receiving", SMS_STATUS_IGNORE}, {"received", SMS_STATUS_IGNORE},
		{"sent", SMS_STATUS_SENT},       {"delivered", SMS_STATUS_DELIVERED},
		{"read", SMS_STATUS_DELIVERED},  {"failed", SMS_STATUS_FAILED},
		{"undelivered", SMS_STATUS_FAILED},
		{"canceled", SMS_STATUS_FAILED}, {"DELIVERED", SMS_STATUS_IGNORE},
		{"partially_delivered", SMS_STATUS_IGNORE},
		{"", SMS_STATUS_IGNORE},         {NULL, SMS_STATUS_IGNORE},
	};

	(void)state;
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (sms_twilio_status(map[i].word) != map[i].st)
			fail_msg("%s", map[i].word ? map[i].word : "(null)");
}

static void test_kannel_status(void **state)
{
	(void)state;
	assert_int_equal(sms_kannel_status(1), SMS_STATUS_DELIVERED);
	assert_int_equal(sms_kannel_status(2), SMS_STATUS_FAILED);
	assert_int_equal(sms_kannel_status(4), SMS_STATUS_IGNORE);
	assert_int_equal(sms_kannel_status(8), SMS_STATUS_SENT);
	assert_int_equal(sms_kannel_status(16), SMS_STATUS_FAILED);
	assert_int_equal(sms_kannel_status(0), SMS_STATUS_IGNORE);
	assert_int_equal(sms_kannel_status(3), SMS_STATUS_IGNORE);
	assert_int_equal(sms_kannel_status(-1), SMS_STATUS_IGNORE);
}

/* ---- opening ---- */

static sms_provider_conf conf_of(sms_provider_kind kind)
{
	sms_provider_conf c;

	memset(&c, 0, sizeof c);
	c.kind = kind;
	return c;
}

static void expect_config_error(const sms_provider_conf *c, const char *want)
{
	char err[SMS_ERR_MAX];
	sms_provider *p = (sms_provider *)1;

	assert_int_equal(sms_provider_open(c, &p, err), SMS_ERR_CONFIG);
	assert_null(p);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not name \"%s\"", err, want);
}

static void test_open_names_missing_setting(void **state)
{
	sms_provider_conf c;

	(void)state;
	c = conf_of(SMS_PROVIDER_LOG);
	expect_config_error(&c, "--sms-log");
	c = conf_of(SMS_PROVIDER_TWILIO);
	expect_config_error(&c, "--twilio-api-base");
	strcpy(c.twilio_base, "https://api.twilio.com");
	expect_config_error(&c, "--twilio-account-sid");
	strcpy(c.twilio_sid, "ACtest");
	expect_config_error(&c, "--twilio-auth-token");
	strcpy(c.twilio_base, "ftp://api.twilio.com");
	strcpy(c.twilio_token, "secret");
	expect_config_error(&c, "not an http(s) URL");
	strcpy(c.twilio_base, "https://api.twilio.com");
	strcpy(c.public_url, "not a url");
	expect_config_error(&c, "public URL");
	c = conf_of(SMS_PROVIDER_KANNEL);
	expect_config_error(&c, "--kannel-sendsms-url");
	c = conf_of((sms_provider_kind)7);
	expect_config_error(&c, "unknown");
	c = conf_of(SMS_PROVIDER_LOG);
	strcpy(c.log_path, "/nonexistent-dir/optd/sms.log");
	expect_config_error(&c, "/nonexistent-dir/optd/sms.log");
	assert_int_equal(sms_provider_open(NULL, NULL, NULL), SMS_ERR_CONFIG);
	sms_provider_close(NULL);
}

static void test_open_twilio_and_kannel(void **state)
{
	sms_provider_conf c = conf_of(SMS_PROVIDER_TWILIO);
	sms_provider *p = NULL;

	(void)state;
	strcpy(c.twilio_base, "https://api.twilio.com/");
	strcpy(c.twilio_sid, "ACtest");
	strcpy(c.twilio_token, "secret");
	assert_int_equal(sms_provider_open(&c, &p, NULL), SMS_OK);
	assert_non_null(p);
	sms_provider_close(p);
	c = conf_of(SMS_PROVIDER_KANNEL);
	strcpy(c.kannel_url, "http://127.0.0.1:13013/cgi-bin/sendsms");
	assert_int_equal(sms_provider_open(&c, &p, NULL), SMS_OK);
	sms_provider_close(p);
}

/* ---- Twilio's answers ---- */

typedef struct {
	long status;
	const char *body;
	sms_err want;
	int code;
	const char *provider_id; /* exact */
	const char *error;       /* substring; "" = error must be empty */
} answer;

static const answer twilio_answers[] = {
	{201, "{\"sid\":\"SM0123456789abcdef0123456789abcdef\","
	      "\"status\":\"queued\",\"num_segments\":\"1\"}",
	 SMS_OK, 0, "SM0123456789abcdef0123456789abcdef", ""},
	{200, "{\"sid\":\"SMx\"}", SMS_OK, 0, "SMx", ""},
	/* accepted even when we cannot read the sid: never send twice */
	{201, "not json", SMS_OK, 0, "", ""},
	{201, "", SMS_OK, 0, "", ""},
	{201, "{\"sid\":42}", SMS_OK, 0, "", ""},
	{201, "{\"sid\":\"SM with space\"}", SMS_OK, 0, "", ""},
	{201, "{\"sid\":\"SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	      "aaaaaaaaaaaaaaaa\"}", SMS_OK, 0, "", ""},
	{400, "{\"code\":21610,\"message\":\"Attempt to send to unsubscribed "
	      "recipient\",\"more_info\":\"https://www.twilio.com/docs/errors/"
	      "21610\",\"status\":400}",
	 SMS_OPTED_OUT, 21610, "",
	 "twilio 21610: Attempt to send to unsubscribed recipient"},
	{400, "{\"code\":21211,\"message\":\"The 'To' number +1555 is not a "
	      "valid phone number.\",\"status\":400}",
	 SMS_FAIL, 21211, "", "twilio 21211: The 'To' number"},
	{401, "{\"code\":20003,\"message\":\"Authenticate\"}", SMS_FAIL, 20003,
	 "", "twilio 20003: Authenticate"},
	{404, "<html>Not Found</html>", SMS_FAIL, 0, "", "twilio HTTP 404"},
	{400, "[21610]", SMS_FAIL, 0, "", "twilio HTTP 400"},
	{400, "{\"code\":\"21610\"}", SMS_FAIL, 0, "", "twilio HTTP 400"},
	{400, "{\"code\":21610}", SMS_OPTED_OUT, 21610, "",
	 "twilio 21610 (HTTP 400)"},
	{429, "{\"code\":20429,\"message\":\"Too Many Requests\"}", SMS_RETRY,
	 20429, "", "twilio 20429: Too Many Requests"},
	/* 21610 only counts where Twilio refuses the message (4xx) */
	{500, "{\"code\":21610}", SMS_RETRY, 21610, "", "twilio 21610"},
	{502, "<html>Bad Gateway</html>", SMS_RETRY, 0, "", "twilio HTTP 502"},
	{503, "", SMS_RETRY, 0, "", "twilio HTTP 503"},
	{302, "", SMS_FAIL, 0, "", "twilio HTTP 302"},
	{302, "{\"code\":21610}", SMS_FAIL, 21610, "", "twilio 21610"},
	{0, "", SMS_RETRY, 0, "", "twilio HTTP 0"},
	{600, "", SMS_RETRY, 0, "", "twilio HTTP 600"},
	{400, "{\"code\":30001,\"message\":\"line one\\nline\\ttwo\"}",
	 SMS_FAIL, 30001, "", "twilio 30001: line one line two"},
};

static void check_answer(const answer *a, sms_err got,
			 const sms_send_res *res, const char *who)
{
	if (got != a->want || res->code != a->code ||
	    strcmp(res->provider_id, a->provider_id) != 0 ||
	    (a->error[0] ? !strstr(res->error, a->error) : res->error[0] != 0))
		fail_msg("%s %ld %s: got %s code %d id \"%s\" error \"%s\"",
			 who, a->status, a->body, sms_strerror(got), res->code,
			 res->provider_id, res->error);
	assert_int_equal(res->http_status,
			 a->status >= 100 && a->status <= 999 ? a->status : 0);
	for (const char *c = res->error; *c; c++)
		assert_true((unsigned char)*c >= 0x20);
}

static void test_twilio_answers(void **state)
{
	sms_send_res res;

	(void)state;
	for (size_t i = 0; i < sizeof twilio_answers / sizeof *twilio_answers;
	     i++) {
		const answer *a = &twilio_answers[i];
		sms_err e = sms_twilio_parse_response(a->status, a->body,
						      strlen(a->body), &res);

		check_answer(a, e, &res, "twilio");
	}
	assert_int_equal(sms_twilio_parse_response(201, NULL, 0, &res),
			 SMS_OK);
}

/* A long message is cut to the error buffer without a torn character. */
static void test_twilio_long_message(void **state)
{
	char body[1024];
	size_t n = 0;
	sms_send_res res;

	(void)state;
	n += (size_t)sprintf(body, "{\"code\":21211,\"message\":\"");
	while (n < 900)
		n += (size_t)sprintf(body + n, "\xc3\xa9");
	n += (size_t)sprintf(body + n, "\"}");
	assert_int_equal(sms_twilio_parse_response(400, body, n, &res),
			 SMS_FAIL);
	assert_true(strlen(res.error) > SMS_ERR_MAX - 8);
	assert_true(utf8_valid(res.error, strlen(res.error)));
	assert_null(strchr(res.error, '?'));
}

/* ---- Kannel's answers ---- */

static const answer kannel_answers[] = {
	{202, "0: Accepted for delivery", SMS_OK, 0, "", ""},
	{200, "0: Accepted for delivery\n", SMS_OK, 0, "", ""},
	/* stored by Kannel, sent when its SMSC link is back: accepted */
	{202, "3: Queued for later delivery", SMS_OK, 0, "", ""},
	/* immediate-sendsms-reply = true: smsbox answers before bearerbox */
	{202, "Sent.", SMS_OK, 0, "", ""},
	{202, "Sending failed.", SMS_FAIL, 0, "",
	 "kannel HTTP 202: unexpected answer: Sending failed."},
	{200, "", SMS_FAIL, 0, "", "unexpected answer"},
	{200, "0", SMS_FAIL, 0, "", "unexpected answer"},
	{200, "<html>It works!</html>", SMS_FAIL, 0, "", "unexpected answer"},
	{403, "Authorization failed for sendsms", SMS_FAIL, 0, "",
	 "kannel HTTP 403: Authorization failed for sendsms"},
	{400, "Missing receiver number\r\nmore", SMS_FAIL, 0, "",
	 "kannel HTTP 400: Missing receiver number"},
	{404, "0: Accepted for delivery", SMS_FAIL, 0, "", "kannel HTTP 404"},
	{429, "", SMS_RETRY, 0, "", "kannel HTTP 429"},
	{500, "Sending failed.", SMS_RETRY, 0, "", "Sending failed."},
	{503, "4: Temporal failure, try again later.", SMS_RETRY, 0, "",
	 "kannel HTTP 503: 4: Temporal failure"},
	{301, "", SMS_FAIL, 0, "", "kannel HTTP 301"},
	{0, "", SMS_RETRY, 0, "", "kannel HTTP 0"},
	{403, "bad\x01\xff bytes", SMS_FAIL, 0, "", "kannel HTTP 403: bad"},
};

static void test_kannel_answers(void **state)
{
	sms_send_res res;

	(void)state;
	for (size_t i = 0; i < sizeof kannel_answers / sizeof *kannel_answers;
	     i++) {
		const answer *a = &kannel_answers[i];
		sms_err e = sms_kannel_parse_response(a->status, a->body,
						      strlen(a->body), &res);

		check_answer(a, e, &res, "kannel");
	}
	assert_int_equal(sms_kannel_parse_response(202, NULL, 5, &res),
			 SMS_FAIL);
	/* The length given is what counts, not a NUL. */
	assert_int_equal(sms_kannel_parse_response(202, "0:", 1, &res),
			 SMS_FAIL);
}

/* ---- requests refused before any provider ---- */

static sms_send_req req_of(int64_t id, const char *dedupe, const char *body)
{
	sms_send_req r = {id, dedupe, "+15551234567", "+15550001111", body,
			  0};
	return r;
}

typedef struct {
	char dir[64];
	char path[128];
} tmp_log;

static sms_provider *open_log(tmp_log *t)
{
	sms_provider_conf c = conf_of(SMS_PROVIDER_LOG);
	sms_provider *p = NULL;
	char err[SMS_ERR_MAX];

	strcpy(t->dir, "/tmp/optd-sms-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof t->path, "%s/sms.log", t->dir);
	snprintf(c.log_path, sizeof c.log_path, "%s", t->path);
	if (sms_provider_open(&c, &p, err) != SMS_OK)
		fail_msg("open: %s", err);
	return p;
}

static void close_log(tmp_log *t, sms_provider *p)
{
	sms_provider_close(p);
	unlink(t->path);
	rmdir(t->dir);
}

static void test_bad_requests(void **state)
{
	static char long_body[SMS_BODY_MAX + 2];
	tmp_log t;
	sms_provider *p = open_log(&t);
	const sms_send_req bad[] = {
		req_of(1, NULL, "hi"),
		req_of(1, "", "hi"),
		req_of(1, "two words", "hi"),
		req_of(1, "line\r\nX-Evil: 1", "hi"),
		req_of(1, "d\xc3\xa9", "hi"),
		req_of(1, "dk", NULL),
		req_of(1, "dk", "caf\xc3"),
		req_of(1, "dk", long_body),
		{1, "dk", NULL, NULL, "hi", 0},
		{1, "dk", "", NULL, "hi", 0},
		{1, "dk", "+1555\xff", NULL, "hi", 0},
	};
	sms_send_res res;
	struct stat st;

	(void)state;
	memset(long_body, 'a', SMS_BODY_MAX + 1);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(sms_provider_send(p, &bad[i], &res), SMS_FAIL);
		assert_non_null(strstr(res.error, "invalid message"));
	}
	assert_int_equal(sms_provider_send(NULL, &bad[0], &res),
			 SMS_ERR_CONFIG);
	assert_int_equal(stat(t.path, &st), 0);
	assert_int_equal(st.st_size, 0);
	close_log(&t, p);
}

/* ---- the log provider ---- */

static int count_lines(const char *path, const char *needle)
{
	char line[4096];
	FILE *f = fopen(path, "r");
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof line, f))
		n += !needle || strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* One message sent and synced, as the sender does for a batch of one. */
static sms_err log_send(sms_provider *p, const sms_send_req *r,
			sms_send_res *res)
{
	char err[SMS_ERR_MAX];
	sms_err e = sms_provider_send(p, r, res);

	if (e == SMS_OK)
		e = sms_provider_sync(p, err);
	return e;
}

/* Lines wait for the sync, which appends them all at once; a sync that
 * fails counts none of them as sent, and the next batch starts clean. */
static void test_log_batch(void **state)
{
	tmp_log t;
	sms_provider *p = open_log(&t);
	sms_send_req r;
	sms_send_res res;
	char err[SMS_ERR_MAX], dir[300];

	(void)state;
	for (int i = 1; i <= 3; i++) {
		char dk[16];
		snprintf(dk, sizeof dk, "dk-%d", i);
		r = req_of(i, dk, "batch");
		assert_int_equal(sms_provider_send(p, &r, &res), SMS_OK);
	}
	assert_int_equal(count_lines(t.path, NULL), 0);
	assert_int_equal(sms_provider_sync(p, err), SMS_OK);
	assert_int_equal(count_lines(t.path, "\"body\":\"batch\"}"), 3);
	assert_int_equal(sms_provider_sync(p, err), SMS_OK); /* nothing new */
	assert_int_equal(count_lines(t.path, NULL), 3);
	/* The directory gone: the sync says why, and nothing is kept. */
	r = req_of(4, "dk-4", "lost");
	assert_int_equal(sms_provider_send(p, &r, &res), SMS_OK);
	snprintf(dir, sizeof dir, "%s.away", t.dir);
	assert_int_equal(rename(t.dir, dir), 0);
	assert_int_equal(sms_provider_sync(p, err), SMS_RETRY);
	assert_non_null(strstr(err, "sms log"));
	assert_int_equal(rename(dir, t.dir), 0);
	r = req_of(5, "dk-5", "kept");
	assert_int_equal(log_send(p, &r, &res), SMS_OK);
	assert_int_equal(count_lines(t.path, NULL), 4);
	assert_int_equal(count_lines(t.path, "dk-4"), 0);
	close_log(&t, p);
}

static void test_log_send(void **state)
{
	tmp_log t;
	sms_provider *p;
	sms_send_req r = req_of(42, "dk-42", "Hello \"you\"\n\xe2\x82\xac");
	sms_send_res res;
	char line[1024];
	struct stat st;
	FILE *f;

	(void)state;
	umask(022);
	p = open_log(&t);
	assert_int_equal(log_send(p, &r, &res), SMS_OK);
	assert_string_equal(res.provider_id, ""); /* no gateway, no id */
	assert_string_equal(res.error, "");
	assert_int_equal(stat(t.path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	f = fopen(t.path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof line, f));
	fclose(f);
	assert_non_null(strstr(line, "{\"time\":"));
	assert_non_null(strstr(line, ",\"id\":42,\"dedupe\":\"dk-42\","
				     "\"to\":\"+15551234567\",\"from\":"
				     "\"+15550001111\",\"body\":\"Hello "
				     "\\\"you\\\"\\n\xe2\x82\xac\"}\n"));
	/* No From (a messaging service): null, not a crash. */
	r = req_of(43, "dk-43", "x");
	r.from = NULL;
	assert_int_equal(log_send(p, &r, &res), SMS_OK);
	assert_int_equal(count_lines(t.path, "\"from\":null"), 1);
	close_log(&t, p);
}

static void test_log_recovered(void **state)
{
	tmp_log t;
	sms_provider *p = open_log(&t);
	sms_send_req r = req_of(7, "dk-7", "first");
	sms_send_res res;

	(void)state;
	assert_int_equal(log_send(p, &r, &res), SMS_OK);
	/* The sender died after the write: a recovered attempt finds it. */
	r.recovered = 1;
	assert_int_equal(log_send(p, &r, &res), SMS_OK);
	assert_string_equal(res.provider_id, "");
	assert_int_equal(count_lines(t.path, NULL), 1);
	/* A key that is a prefix of another, or one only in a body, is not
	 * a match. */
	r = req_of(8, "dk-", "\"dedupe\":\"dk-8\"");
	r.recovered = 1;
	assert_int_equal(log_send(p, &r, &res), SMS_OK);
	assert_int_equal(count_lines(t.path, NULL), 2);
	r = req_of(8, "dk-8", "eight");
	r.recovered = 1;
	assert_int_equal(log_send(p, &r, &res), SMS_OK);
	assert_int_equal(count_lines(t.path, NULL), 3);
	/* Keys JSON must escape are found too. */
	r = req_of(9, "q\"b\\s", "nine");
	assert_int_equal(log_send(p, &r, &res), SMS_OK);
	r.recovered = 1;
	assert_int_equal(log_send(p, &r, &res), SMS_OK);
	assert_int_equal(count_lines(t.path, NULL), 4);
	/* A first attempt never searches: it always writes. */
	r = req_of(7, "dk-7", "first");
	assert_int_equal(log_send(p, &r, &res), SMS_OK);
	assert_int_equal(count_lines(t.path, "dk-7"), 2);
	close_log(&t, p);
}

/* A crash mid-line: the torn line is not a sent message, and the next
 * line is written whole on a line of its own. */
static void test_log_torn_line(void **state)
{
	static const char torn[] =
		"{\"time\":1,\"id\":5,\"dedupe\":\"dk-5\",\"to\":\"+1";
	tmp_log t;
	sms_provider *p = open_log(&t);
	sms_send_req r = req_of(5, "dk-5", "five");
	sms_send_res res;
	int fd;

	(void)state;
	fd = open(t.path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, torn, sizeof torn - 1), sizeof torn - 1);
	close(fd);
	r.recovered = 1;
	assert_int_equal(log_send(p, &r, &res), SMS_OK);
	assert_int_equal(count_lines(t.path, NULL), 2);
	assert_int_equal(count_lines(t.path, "\"body\":\"five\"}"), 1);
	assert_int_equal(log_send(p, &r, &res), SMS_OK);
	assert_int_equal(count_lines(t.path, NULL), 2);
	close_log(&t, p);
}

/* The file may be rotated away between messages. */
static void test_log_rotated(void **state)
{
	tmp_log t;
	sms_provider *p = open_log(&t);
	sms_send_req r = req_of(1, "dk-1", "one");
	sms_send_res res;

	(void)state;
	assert_int_equal(unlink(t.path), 0);
	assert_int_equal(log_send(p, &r, &res), SMS_OK);
	assert_int_equal(count_lines(t.path, NULL), 1);
	r.recovered = 1;
	assert_int_equal(log_send(p, &r, &res), SMS_OK);
	assert_int_equal(count_lines(t.path, NULL), 1);
	close_log(&t, p);
}

/* ---- a gateway in a thread ---- */

#define SRV_MAX 8
#define SRV_REQ_MAX 16384
#define SRV_DROP ""         /* close the connection without an answer */
#define SRV_STALL "stall"   /* answer nothing for longer than the timeout */

typedef struct {
	int lfd, port, stop;
	const char *replies[SRV_MAX]; /* in order, one per request */
	int nreplies, next;
	char req[SRV_MAX][SRV_REQ_MAX];
	int nreq, conns;
	pthread_t th;
} srv;

/* Wait up to 100 ms for fd (-1: just wait); 1 readable, 0 not yet,
 * -1 told to stop. */
static int srv_wait(srv *s, int fd)
{
	struct pollfd pfd = {fd, POLLIN, 0};

	if (__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
		return -1;
	return poll(&pfd, 1, 100) > 0 ? 1 : 0;
}

/* One request into s->req[s->nreq]; 0 when the client closed. */
static int srv_read_request(srv *s, int fd)
{
	char *buf = s->req[s->nreq], *end, *cl;
	size_t n = 0, want = 0;
	ssize_t r;
	int w;

	for (;;) {
		if ((w = srv_wait(s, fd)) < 0)
			return 0;
		if (w == 0)
			continue;
		r = read(fd, buf + n, SRV_REQ_MAX - 1 - n);
		if (r <= 0)
			return 0;
		n += (size_t)r;
		buf[n] = '\0';
		if (!want && (end = strstr(buf, "\r\n\r\n"))) {
			cl = strcasestr(buf, "\r\nContent-Length:");
			want = (size_t)(end + 4 - buf) +
			       (cl && cl < end ? strtoul(cl + 17, NULL, 10)
					       : 0);
		}
		if (want && n >= want)
			return 1;
	}
}

static void srv_serve(srv *s, int fd)
{
	const char *reply;

	while (s->nreq < SRV_MAX && srv_read_request(s, fd)) {
		s->nreq++;
		reply = s->next < s->nreplies ? s->replies[s->next++]
					      : SRV_DROP;
		if (strcmp(reply, SRV_STALL) == 0) {
			for (int i = 0; i < 6 && srv_wait(s, -1) == 0; i++)
				;
			return;
		}
		if (!reply[0] ||
		    write(fd, reply, strlen(reply)) != (ssize_t)strlen(reply))
			return;
	}
}

static void *srv_main(void *arg)
{
	srv *s = arg;
	int fd, w;

	while ((w = srv_wait(s, s->lfd)) >= 0) {
		if (w == 0 || (fd = accept(s->lfd, NULL, NULL)) < 0)
			continue;
		s->conns++;
		srv_serve(s, fd);
		close(fd);
	}
	return NULL;
}

static void srv_start(srv *s)
{
	struct sockaddr_in a = {0};
	socklen_t len = sizeof a;

	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(srv *s)
{
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	pthread_join(s->th, NULL);
	close(s->lfd);
}

static sms_provider *open_twilio(const srv *s, const char *msid)
{
	sms_provider_conf c = conf_of(SMS_PROVIDER_TWILIO);
	sms_provider *p = NULL;
	char err[SMS_ERR_MAX];

	snprintf(c.twilio_base, sizeof c.twilio_base, "http://127.0.0.1:%d/",
		 s->port);
	strcpy(c.twilio_sid, "ACtest");
	strcpy(c.twilio_token, "secret");
	strcpy(c.twilio_msid, msid);
	strcpy(c.public_url, "http://optd.test:8080/");
	c.timeout_ms = 300;
	if (sms_provider_open(&c, &p, err) != SMS_OK)
		fail_msg("open: %s", err);
	return p;
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

#define TWILIO_201                                                        \
	"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"        \
	"Content-Length: 44\r\n\r\n"                                       \
	"{\"sid\":\"SM0123456789abcdef0123456789abcdef\"}"
#define TWILIO_21610                                                      \
	"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"    \
	"Content-Length: 58\r\n\r\n"                                       \
	"{\"code\":21610,\"message\":\"Attempt to send to unsubscribed\"}"
#define TWILIO_503                                                        \
	"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\n"           \
	"Content-Length: 0\r\n\r\n"

/* The request Twilio gets, byte for byte where it matters; the second
 * message reuses the first one's connection. */
static void test_twilio_send(void **state)
{
	srv s = {.replies = {TWILIO_201, TWILIO_21610, TWILIO_503},
		 .nreplies = 3};
	sms_provider *p;
	sms_send_req r = req_of(42, "dk-1", "Hello \xc3\xa9&=");
	sms_send_res res;

	(void)state;
	srv_start(&s);
	p = open_twilio(&s, "");
	assert_int_equal(sms_provider_send(p, &r, &res), SMS_OK);
	assert_string_equal(res.provider_id,
			    "SM0123456789abcdef0123456789abcdef");
	assert_int_equal(res.http_status, 201);
	assert_int_equal(sms_provider_send(p, &r, &res), SMS_OPTED_OUT);
	assert_int_equal(res.code, 21610);
	assert_int_equal(sms_provider_send(p, &r, &res), SMS_RETRY);
	assert_int_equal(res.retry_after_ms, 7000);
	assert_string_equal(res.error, "twilio HTTP 503");
	sms_provider_close(p);
	srv_stop(&s);
	assert_int_equal(s.nreq, 3);
	assert_int_equal(s.conns, 1);
	assert_true(starts_with(s.req[0], "POST /2010-04-01/Accounts/ACtest/"
					  "Messages.json HTTP/1.1\r\n"));
	assert_non_null(strstr(s.req[0], "\r\nAuthorization: Basic "
					 "QUN0ZXN0OnNlY3JldA==\r\n"));
	assert_non_null(strstr(s.req[0], "\r\nIdempotency-Key: dk-1\r\n"));
	assert_non_null(strstr(s.req[0], "\r\nContent-Type: application/"
					 "x-www-form-urlencoded\r\n"));
	assert_non_null(strstr(s.req[0],
		"\r\n\r\nTo=%2B15551234567&From=%2B15550001111"
		"&Body=Hello%20%C3%A9%26%3D&StatusCallback=http%3A%2F%2F"
		"optd.test%3A8080%2Fsms%2Fstatus%2Ftwilio%3Fid%3D42%26dk%3D"
		"dk-1"));
}

/* With a messaging service there is no From; no From and no service is
 * refused before any request. */
static void test_twilio_messaging_service(void **state)
{
	srv s = {.replies = {TWILIO_201}, .nreplies = 1};
	sms_provider *p;
	sms_send_req r = req_of(3, "dk-3", "hi");
	sms_send_res res;

	(void)state;
	srv_start(&s);
	p = open_twilio(&s, "MG0123");
	r.from = NULL;
	assert_int_equal(sms_provider_send(p, &r, &res), SMS_OK);
	sms_provider_close(p);
	p = open_twilio(&s, "");
	assert_int_equal(sms_provider_send(p, &r, &res), SMS_FAIL);
	assert_non_null(strstr(res.error, "no From"));
	sms_provider_close(p);
	srv_stop(&s);
	assert_int_equal(s.nreq, 1);
	assert_non_null(strstr(s.req[0], "\r\n\r\nTo=%2B15551234567&"
					 "MessagingServiceSid=MG0123&Body=hi"));
	assert_null(strstr(s.req[0], "From="));
}

/* Every transport failure is worth another attempt. */
static void test_twilio_transport_errors(void **state)
{
	srv s = {.replies = {SRV_DROP, SRV_STALL}, .nreplies = 2};
	sms_provider *p;
	sms_send_req r = req_of(1, "dk-1", "hi");
	sms_send_res res;
	int port;

	(void)state;
	srv_start(&s);
	p = open_twilio(&s, "");
	assert_int_equal(sms_provider_send(p, &r, &res), SMS_RETRY);
	assert_non_null(strstr(res.error, "twilio: "));
	assert_int_equal(sms_provider_send(p, &r, &res), SMS_RETRY);
	assert_non_null(strstr(res.error, "imed out"));
	sms_provider_close(p);
	port = s.port;
	srv_stop(&s);
	/* Nothing listens on the port any more: refused. */
	s.port = port;
	p = open_twilio(&s, "");
	assert_int_equal(sms_provider_send(p, &r, &res), SMS_RETRY);
	assert_int_equal(res.http_status, 0);
	assert_true(res.error[0] != '\0');
	sms_provider_close(p);
}

static sms_provider *open_kannel(const srv *s)
{
	sms_provider_conf c = conf_of(SMS_PROVIDER_KANNEL);
	sms_provider *p = NULL;
	char err[SMS_ERR_MAX];

	snprintf(c.kannel_url, sizeof c.kannel_url,
		 "http://127.0.0.1:%d/cgi-bin/sendsms", s->port);
	strcpy(c.kannel_user, "optd");
	strcpy(c.kannel_pass, "p@ss");
	strcpy(c.kannel_secret, "s&x");
	c.kannel_dlr_mask = 27;
	strcpy(c.public_url, "http://optd.test:8080");
	c.timeout_ms = 300;
	if (sms_provider_open(&c, &p, err) != SMS_OK)
		fail_msg("open: %s", err);
	return p;
}

#define KANNEL_ACCEPTED                                                   \
	"HTTP/1.1 202 Accepted\r\nContent-Length: 24\r\n\r\n"               \
	"0: Accepted for delivery"
#define KANNEL_QUEUED                                                     \
	"HTTP/1.1 202 Accepted\r\nContent-Length: 28\r\n\r\n"               \
	"3: Queued for later delivery"
#define KANNEL_AUTH                                                       \
	"HTTP/1.1 403 Forbidden\r\nContent-Length: 32\r\n\r\n"              \
	"Authorization failed for sendsms"

static void test_kannel_send(void **state)
{
	srv s = {.replies = {KANNEL_ACCEPTED, KANNEL_QUEUED, KANNEL_AUTH},
		 .nreplies = 3};
	sms_provider *p;
	sms_send_req r = req_of(42, "dk-1", "Hi \xf0\x9f\x98\x80");
	sms_send_res res;

	(void)state;
	srv_start(&s);
	p = open_kannel(&s);
	assert_int_equal(sms_provider_send(p, &r, &res), SMS_OK);
	assert_string_equal(res.provider_id, ""); /* Kannel gives none */
	r.body = "Hi {you}";
	assert_int_equal(sms_provider_send(p, &r, &res), SMS_OK);
	assert_int_equal(sms_provider_send(p, &r, &res), SMS_FAIL);
	assert_string_equal(res.provider_id, "");
	assert_string_equal(res.error, "kannel HTTP 403: Authorization "
				       "failed for sendsms");
	sms_provider_close(p);
	srv_stop(&s);
	assert_int_equal(s.nreq, 3);
	assert_int_equal(s.conns, 1);
	assert_true(starts_with(s.req[0],
		"GET /cgi-bin/sendsms?username=optd&password=p%40ss"
		"&from=%2B15550001111&to=%2B15551234567&text=Hi%20%F0%9F%98%80"
		"&charset=UTF-8&coding=2&dlr-mask=27&dlr-url=http%3A%2F%2F"
		"optd.test%3A8080%2Fsms%2Fstatus%2Fkannel%3Fid%3D42%26dk%3D"
		"dk-1%26secret%3Ds%2526x%26type%3D%25d HTTP/1.1\r\n"));
	/* GSM text goes as coding 0, extension characters and all. */
	assert_non_null(strstr(s.req[1], "&text=Hi%20%7Byou%7D&charset=UTF-8"
					 "&coding=0&"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_twilio_status),
		cmocka_unit_test(test_kannel_status),
		cmocka_unit_test(test_open_names_missing_setting),
		cmocka_unit_test(test_open_twilio_and_kannel),
		cmocka_unit_test(test_twilio_answers),
		cmocka_unit_test(test_twilio_long_message),
		cmocka_unit_test(test_kannel_answers),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_log_send),
		cmocka_unit_test(test_log_batch),
		cmocka_unit_test(test_log_recovered),
		cmocka_unit_test(test_log_torn_line),
		cmocka_unit_test(test_log_rotated),
		cmocka_unit_test(test_twilio_send),
		cmocka_unit_test(test_twilio_messaging_service),
		cmocka_unit_test(test_twilio_transport_errors),
		cmocka_unit_test(test_kannel_send),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

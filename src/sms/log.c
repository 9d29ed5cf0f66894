/*
 * log: the provider that sends nothing. Each message becomes one JSON
 * line appended to the --sms-log file:
 *
 *   {"time":MS,"id":OUTBOX_ID,"dedupe":"...","to":"...","from":"...",
 *    "body":"..."}
 *
 * Sending only adds the line to those kept in memory; sms_log_sync(),
 * once for a whole batch, appends them all on an O_APPEND descriptor
 * under an exclusive flock (several senders, even several processes,
 * append to one file) and fsyncs, and the sender records no message as
 * sent before that: "sent" in the outbox still means the line is on
 * disk. A message whose earlier attempt may have written its line (the
 * sender died before recording the outcome) is looked up by dedupe key
 * first and not written twice: readers of the file see each message once.
 * A line cut short by a crash is never taken for a sent message, and the
 * file is given the missing newline before the next line is appended.
 * The file is opened again for each batch, so a log rotated away
 * (renamed or deleted) is simply started again at the configured path.
 */
#include "sms/sms_int.h"
#include "lib/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SMS_LOG_MODE 0640 /* message bodies are personal data */
#define SMS_LOG_CHUNK 16384 /* first size of the pending lines' buffer */
#define SMS_LOG_KEEP (256 * 1024) /* a larger buffer is freed at sync */
#define SMS_LOG_PENDING_MAX (8 * 1024 * 1024) /* bytes waiting for a sync */
#define SMS_LOG_LINE_FIXED 160 /* a line's bytes besides its texts */

/* End a torn last line, so the next append starts a line of its own. */
static int sms_log_mend(int fd)
{
	struct stat st;
	char last;

	if (fstat(fd, &st) != 0)
		return -1;
	if (st.st_size == 0)
		return 0;
	if (pread(fd, &last, 1, st.st_size - 1) != 1)
		return -1;
	return last == '\n' || write(fd, "\n", 1) == 1 ? 0 : -1;
}

/* The file open for appending, its torn last line (if any) ended. */
static int sms_log_append_fd(const char *path)
{
	/* O_RDWR, not O_WRONLY: sms_log_mend reads the last byte. */
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC,
		      SMS_LOG_MODE);
	int saved;

	if (fd >= 0 && sms_log_mend(fd) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		fd = -1;
	}
	return fd;
}

/* Creating the file now makes a bad path fail at start-up. */
sms_err sms_log_open(sms_provider *p, char err[SMS_ERR_MAX])
{
	int fd = sms_log_append_fd(p->c.log_path);

	if (fd < 0) {
		snprintf(err, SMS_ERR_MAX, "sms log %.160s: %s", p->c.log_path,
			 strerror(errno));
		return SMS_ERR_CONFIG;
	}
	close(fd);
	return SMS_OK;
}

/* line[0..len) is a whole line of ours with this dedupe key. */
static int sms_log_line_is(const char *line, size_t len, const char *dedupe)
{
	json_t *j = json_loadb(line, len, 0, NULL);
	const char *d = json_string_value(json_object_get(j, "dedupe"));
	int same = d && strcmp(d, dedupe) == 0;

	json_decref(j);
	return same;
}

/*
 * 1 when map[0..size) holds a complete line with this dedupe key. The
 * needle is the key as our writer encodes it; a hit is then confirmed by
 * parsing its line, which must end in a newline (a torn line does not
 * count: its message was not durably logged).
 */
static int sms_log_search(const char *map, size_t size, const char *dedupe)
{
	char needle[SMS_DEDUPE_MAX + 16];
	const char *at = map, *end = map + size, *hit, *start, *stop;
	int n;

	/* Keys are printable ASCII (sms_provider_send checks), which JSON
	 * writes as they are except '"' and '\\'; for a key holding either,
	 * the needle is the field name and every line's key is compared. */
	n = snprintf(needle, sizeof needle, "\"dedupe\":\"%s\"", dedupe);
	if (n < 0 || (size_t)n >= sizeof needle || strpbrk(dedupe, "\"\\"))
		n = snprintf(needle, sizeof needle, "\"dedupe\":");
	while ((hit = memmem(at, (size_t)(end - at), needle, (size_t)n))) {
		start = hit;
		while (start > map && start[-1] != '\n')
			start--;
		stop = memchr(hit, '\n', (size_t)(end - hit));
		if (!stop)
			return 0;
		if (sms_log_line_is(start, (size_t)(stop - start), dedupe))
			return 1;
		at = stop + 1;
	}
	return 0;
}

/* 1 found, 0 not, -1 could not read the file. */
static int sms_log_find(const char *path, const char *dedupe)
{
	struct stat st;
	void *map = MAP_FAILED;
	int fd, found = -1, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) != 0)
		goto out;
	found = 0;
	if (st.st_size == 0)
		goto out;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	found = map == MAP_FAILED ? -1
				  : sms_log_search(map, (size_t)st.st_size,
						   dedupe);
out:
	saved = errno;
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	close(fd);
	errno = saved;
	return found;
}

/* Room for n more bytes of pending lines. */
static int sms_log_reserve(sms_provider *p, size_t n)
{
	size_t cap = p->log_cap ? p->log_cap : SMS_LOG_CHUNK;
	char *b;

	if (n > SMS_LOG_PENDING_MAX - p->log_len)
		return -1;
	while (cap - p->log_len < n)
		cap *= 2;
	if (cap == p->log_cap)
		return 0;
	if (!(b = realloc(p->log_buf, cap)))
		return -1;
	p->log_buf = b;
	p->log_cap = cap;
	return 0;
}

static void sms_log_put(sms_provider *p, const char *s, size_t n)
{
	memcpy(p->log_buf + p->log_len, s, n);
	p->log_len += n;
}

/* "name":"value" (value checked for UTF-8 before), escaped as JSON:
 * quote, backslash and control characters; every other byte as it is.
 * Written here, not with jansson (a json_pack and two dumps a message
 * were most of the sender's time) nor lib/jsonstr (it cuts at 2 KB). */
static void sms_log_field(sms_provider *p, const char *name, const char *v)
{
	static const char hex[] = "0123456789abcdef";
	char *o = p->log_buf + p->log_len;

	/* sms_log_line() reserved room for all of it. */
	o += snprintf(o, p->log_cap - p->log_len, "\"%s\":", name);
	if (!v) {
		memcpy(o, "null", 4);
		p->log_len = (size_t)(o + 4 - p->log_buf);
		return;
	}
	*o++ = '"';
	for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
		const char *esc = *c == '"' ? "\\\"" : *c == '\\' ? "\\\\"
				: *c == '\n' ? "\\n" : *c == '\r' ? "\\r"
				: *c == '\t' ? "\\t" : NULL;
		if (esc) {
			*o++ = esc[0];
			*o++ = esc[1];
		} else if (*c < 0x20) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[*c >> 4];
			o[5] = hex[*c & 15];
			o += 6;
		} else {
			*o++ = (char)*c;
		}
	}
	*o++ = '"';
	p->log_len = (size_t)(o - p->log_buf);
}

/* The message as one JSON line with its newline, added to the lines that
 * wait for the sync. -1: out of memory, or too much waits already. */
static int sms_log_line(sms_provider *p, const sms_send_req *r)
{
	/* Six bytes at most for each byte of text, and the rest of a line. */
	size_t n = 6 * (strlen(r->dedupe) + strlen(r->to) +
			(r->from ? strlen(r->from) : 0) + strlen(r->body)) +
		   SMS_LOG_LINE_FIXED;

	if (sms_log_reserve(p, n) != 0)
		return -1;
	p->log_len += (size_t)snprintf(p->log_buf + p->log_len,
				       p->log_cap - p->log_len,
				       "{\"time\":%" PRId64 ",\"id\":%" PRId64
				       ",",
				       clock_now_ms(), r->outbox_id);
	sms_log_field(p, "dedupe", r->dedupe);
	sms_log_put(p, ",", 1);
	sms_log_field(p, "to", r->to);
	sms_log_put(p, ",", 1);
	sms_log_field(p, "from", r->from);
	sms_log_put(p, ",", 1);
	sms_log_field(p, "body", r->body);
	sms_log_put(p, "}\n", 2);
	return 0;
}

sms_err sms_log_send(sms_provider *p, const sms_send_req *r,
		     sms_send_res *res)
{
	const char *path = p->c.log_path;
	int found;
	sms_err e = SMS_RETRY;

	if (r->recovered && (found = sms_log_find(path, r->dedupe)) != 0) {
		if (found < 0)
			sms_res_error(res, "sms log %s: %s", path,
				      strerror(errno));
		else
			e = SMS_OK;
		goto out;
	}
	if (sms_log_line(p, r) != 0) {
		sms_res_error(res, "sms log: out of memory, or more than %d "
			      "bytes of lines wait for their sync",
			      SMS_LOG_PENDING_MAX);
		goto out;
	}
	e = SMS_OK;
out:
	/* No provider id: no gateway gives one, and an id made up here
	 * would cost each message an index entry in the outbox. */
	return e;
}

/* Mend and append as one step against other writers of the file. */
static int sms_log_append(int fd, const char *buf, size_t len)
{
	int rc = 0;

	if (flock(fd, LOCK_EX) != 0)
		return -1;
	if (sms_log_mend(fd) != 0)
		rc = -1;
	while (rc == 0 && len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			rc = -1; /* a torn line is ended before the next one */
			break;
		}
		buf += w;
		len -= (size_t)w;
	}
	flock(fd, LOCK_UN);
	return rc;
}

sms_err sms_log_sync(sms_provider *p, char err[SMS_ERR_MAX])
{
	const char *path = p->c.log_path;
	int fd, rc = -1;

	if (!p->log_len)
		return SMS_OK;
	fd = sms_log_append_fd(path);
	if (fd >= 0 && sms_log_append(fd, p->log_buf, p->log_len) == 0)
		rc = fsync(fd);
	if (rc != 0)
		snprintf(err, SMS_ERR_MAX, "sms log %.160s: %s", path,
			 strerror(errno));
	if (fd >= 0)
		close(fd);
	p->log_len = 0; /* on an error, none of them counts as sent */
	if (p->log_cap > SMS_LOG_KEEP) { /* a rare large batch */
		free(p->log_buf);
		p->log_buf = NULL;
		p->log_cap = 0;
	}
	return rc == 0 ? SMS_OK : SMS_RETRY;
}

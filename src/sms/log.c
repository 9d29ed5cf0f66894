/*
 * log: the provider that sends nothing. Each message becomes one JSON
 * line appended to the --sms-log file:
 *
 *   {"time":MS,"id":OUTBOX_ID,"dedupe":"...","to":"...","from":"...",
 *    "body":"..."}
 *
 * A line is written with one write(2) on an O_APPEND descriptor, under
 * an exclusive flock (several senders, even several processes, append to
 * one file); the descriptor stays open until sms_log_sync() fsyncs it,
 * once for a whole batch, and the sender records no message as sent
 * before that: "sent" in the outbox still means the line is on disk. A message whose earlier attempt may have written its line (the
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

/* The message as one JSON line with its newline; NULL when out of
 * memory (the texts were checked for UTF-8 before). */
static char *sms_log_line(const sms_send_req *r, size_t *len)
{
	json_t *j;
	char *line = NULL;
	size_t n;

	j = json_pack("{s:I,s:I,s:s,s:s,s:s?,s:s}", "time",
		      (json_int_t)clock_now_ms(), "id", (json_int_t)r->outbox_id,
		      "dedupe", r->dedupe, "to", r->to, "from", r->from, "body",
		      r->body);
	if (!j)
		return NULL;
	n = json_dumpb(j, NULL, 0, JSON_COMPACT);
	if (n > 0 && (line = malloc(n + 1))) {
		json_dumpb(j, line, n, JSON_COMPACT);
		line[n] = '\n';
		*len = n + 1;
	}
	json_decref(j);
	return line;
}

sms_err sms_log_send(sms_provider *p, const sms_send_req *r,
		     sms_send_res *res)
{
	const char *path = p->c.log_path;
	char *line = NULL;
	size_t len = 0;
	ssize_t w;
	int fd = -1, found;
	sms_err e = SMS_RETRY;

	if (r->recovered && (found = sms_log_find(path, r->dedupe)) != 0) {
		if (found < 0)
			sms_res_error(res, "sms log %s: %s", path,
				      strerror(errno));
		else
			e = SMS_OK;
		goto out;
	}
	if (!(line = sms_log_line(r, &len))) {
		sms_res_error(res, "sms log: out of memory");
		e = SMS_ERR_NOMEM;
		goto out;
	}
	if (p->log_fd < 0 && (p->log_fd = sms_log_append_fd(path)) < 0) {
		sms_res_error(res, "sms log %s: %s", path, strerror(errno));
		goto out;
	}
	fd = p->log_fd;
	/* Mend and append as one step against other writers of the file. */
	if (flock(fd, LOCK_EX) != 0 || sms_log_mend(fd) != 0 ||
	    (w = write(fd, line, len)) != (ssize_t)len) {
		sms_res_error(res, "sms log %s: write: %s", path,
			      strerror(errno ? errno : ENOSPC));
		flock(fd, LOCK_UN);
		goto out; /* a torn line is ended before the next one */
	}
	flock(fd, LOCK_UN);
	e = SMS_OK;
out:
	if (e == SMS_OK)
		snprintf(res->provider_id, sizeof res->provider_id,
			 "log-%" PRId64, r->outbox_id);
	free(line);
	return e;
}

sms_err sms_log_sync(sms_provider *p, char err[SMS_ERR_MAX])
{
	int fd = p->log_fd, rc;

	if (fd < 0)
		return SMS_OK;
	p->log_fd = -1;
	rc = fsync(fd);
	if (rc != 0)
		snprintf(err, SMS_ERR_MAX, "sms log %.160s: fsync: %s",
			 p->c.log_path, strerror(errno));
	close(fd);
	return rc == 0 ? SMS_OK : SMS_RETRY;
}

/* sim: see sim.h. */
#include "sms/sim.h"
#include "lib/secret.h"
#include "sms/provider.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIM_BODY_MAX 65536  /* bytes of optd's answer we keep */
#define SIM_POLL_MS 100

typedef struct {
	char buf[SIM_BODY_MAX];
	size_t n;
} sim_buf;

static size_t take(char *p, size_t sz, size_t n, void *ctx)
{
	sim_buf *b = ctx;
	size_t len = sz * n, room = sizeof b->buf - 1 - b->n;

	memcpy(b->buf + b->n, p, len < room ? len : room);
	b->n += len < room ? len : room;
	b->buf[b->n] = '\0';
	return len;
}

/* One request; *out is optd's JSON answer (NULL if none). HTTP status. */
static long call(CURL *c, const char *url, const char *key, const char *post,
		 json_t **out)
{
	char auth[SECRET_TOKEN_MAX + 32];
	struct curl_slist *h = NULL;
	sim_buf *b = calloc(1, sizeof *b);
	long status = 0;

	*out = NULL;
	if (!b)
		return 0;
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, take);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)SMS_TIMEOUT_MS_DEFAULT);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		*out = json_loadb(b->buf, b->n, 0, NULL);
	} else {
		fprintf(stderr, "optd: cannot reach %s\n", url);
	}
	curl_slist_free_all(h);
	free(b);
	return status;
}

static void nap(void)
{
	struct timespec ts = {0, SIM_POLL_MS * 1000000L};
	nanosleep(&ts, NULL);
}

/* Wait for reply `id` to leave queued/sending; print it. */
static void follow(CURL *c, const char *base, const char *key, json_int_t id)
{
	char url[SMS_URL_MAX + 64];
	json_t *m = NULL;
	const char *state = "queued";

	snprintf(url, sizeof url, "%s/admin/messages/%lld", base,
		 (long long)id);
	for (int waited = 0; waited <= SIM_WAIT_MS; waited += SIM_POLL_MS) {
		json_decref(m);
		if (call(c, url, key, NULL, &m) != 200)
			break;
		state = json_string_value(json_object_get(m, "state"));
		if (state && strcmp(state, "queued") && strcmp(state, "sending"))
			break;
		nap();
	}
	printf("reply [%s]: %s\n", state ? state : "?",
	       json_string_value(json_object_get(m, "body")) ?: "");
	json_decref(m);
}

int sim_sms(const char *base, const char *key, const char *from,
	    const char *to, const char *text)
{
	char url[SMS_URL_MAX + 32], id[SECRET_UUID_LEN + 1];
	CURL *c = curl_easy_init();
	json_t *req, *res = NULL, *r;
	char *body = NULL;
	size_t i;
	int rc = 1;

	if (!c || !key || secret_uuid(id)) {
		fprintf(stderr, "optd: %s\n", key ? "out of resources"
			: "no key: give --key or set OPTD_ADMIN_KEY");
		goto out;
	}
	req = json_pack("{s:s,s:s,s:s,s:s}", "from", from, "to", to, "body",
			text, "id", id);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	snprintf(url, sizeof url, "%s/sms/inbound", base);
	if (!body || call(c, url, key, body, &res) != 200) {
		const char *msg = json_string_value(json_object_get(res,
								    "message"));
		fprintf(stderr, "optd: %s\n", msg ? msg : "inbound refused");
		goto out;
	}
	printf("%s: %s -> %s (group %s)\n",
	       json_string_value(json_object_get(res, "category")) ?: "?",
	       json_string_value(json_object_get(res, "action")) ?: "?",
	       to, json_string_value(json_object_get(res, "group_id")) ?: "");
	json_array_foreach(json_object_get(res, "replies"), i, r)
		follow(c, base, key, json_integer_value(json_object_get(r,
									"id")));
	rc = 0;
out:
	free(body);
	json_decref(res);
	curl_easy_cleanup(c);
	return rc;
}

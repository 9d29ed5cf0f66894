/*
 * serve: start-up and shutdown of `optd serve`.
 *
 * Start: open (and migrate) the database, make sure an admin key exists,
 * start the writer, the outbox senders, then the HTTP server. Signals are blocked before any
 * thread starts so only the main thread, in sigwait(), sees SIGTERM.
 * Stop: stop accepting, let in-flight requests finish (their writer jobs
 * commit and they get answers), stop the senders (each finishes the
 * message in hand), the writer, then the HTTP server.
 */
#include "serve.h"
#include "api/app.h"
#include "core/scope.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/secret.h"
#include "sms/kboxlink.h"
#include "work/kboxd.h"
#include "work/manage.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVE_DRAIN_MS 30000
#define SERVE_ADMIN_KEY_NAME "admin"
#define SERVE_FORM_SECRET_NAME "form_token_key"
#define SERVE_FORM_SECRET_BYTES 32
/* Writer lanes on PostgreSQL by default: a second keeps the server busy
 * while the first waits for its round trips (bench/README.md). Several
 * nodes already keep it busy, and more lanes would only cut every
 * node's batches smaller: then one each. */
#define SERVE_PG_WRITERS 2

/* OPTD_ADMIN_KEY wins; otherwise create one the first time, shown once. */
static int admin_key(store *st)
{
	const char *env = getenv("OPTD_ADMIN_KEY");
	char err[MANAGE_ERR_MAX];
	store_key k;
	json_t *spec, *out = NULL;
	manage_err m;

	if (env && *env) {
		if (strlen(env) < 16 || strlen(env) > 128) {
			log_error("OPTD_ADMIN_KEY must be 16 to 128 characters");
			return -1;
		}
		if (store_begin(st))
			return -1;
		m = manage_key_ensure(st, SERVE_ADMIN_KEY_NAME, env, SCOPE_ADMIN,
				      clock_now_ms(), err);
		if (m || store_commit(st)) {
			store_rollback(st);
			log_error("cannot install OPTD_ADMIN_KEY: %s", err);
			return -1;
		}
		return 0;
	}
	if (store_key_by_name(st, SERVE_ADMIN_KEY_NAME, &k) == STORE_OK)
		return 0;
	spec = json_pack("{s:s,s:[s]}", "name", SERVE_ADMIN_KEY_NAME, "scopes",
			 "admin");
	if (store_begin(st))
		return -1;
	m = manage_key_create(st, spec, clock_now_ms(), &out, err);
	json_decref(spec);
	if (m || store_commit(st)) {
		store_rollback(st);
		json_decref(out);
		log_error("cannot create the admin key: %s", err);
		return -1;
	}
	printf("admin API key (shown once, keep it safe): %s\n",
	       json_string_value(json_object_get(out, "key")));
	fflush(stdout);
	json_decref(out);
	return 0;
}

/* The key forms sign with: this process's candidate, unless another
 * process on the database stored one first. */
static int form_secret(store *st, char out[STORE_SECRET_MAX + 1])
{
	store_err e;

	if (secret_hex(out, SERVE_FORM_SECRET_BYTES) != 0) {
		log_error("no randomness for the forms' secret");
		return -1;
	}
	e = store_secret_ensure(st, SERVE_FORM_SECRET_NAME, out);
	if (e)
		log_error("cannot read the forms' secret: %s",
			  store_strerror(e));
	return e ? -1 : 0;
}

static int wait_for_signal(void)
{
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigwait(&set, &sig);
	return sig;
}

int serve_run(const config *cfg)
{
	app a = {0};
	kbl *link = NULL;
	kboxd *kbox = NULL;
	char shown[STORE_URL_MAX];
	http_server *srv = NULL;
	sigset_t set;
	store_err e;
	http_err he;
	int rc = 1;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	memcpy(a.default_region, cfg->default_region, sizeof a.default_region);
	unsigned writers = cfg->db_writers ? cfg->db_writers
			   : cfg->nodes > 1 ? 1
					    : SERVE_PG_WRITERS;
	store_opts so = {.dur = cfg->durability,
			 .pool = cfg->db_pool ? cfg->db_pool
					      : cfg->http.threads + 1 +
						writers +
						cfg->sender.threads +
						cfg->flows.threads};
	const sms_provider_conf *pc = &cfg->sender.provider;
	char serr[SMS_ERR_MAX];

	snprintf(a.public_url, sizeof a.public_url, "%s", pc->public_url);
	snprintf(a.twilio_token, sizeof a.twilio_token, "%s", pc->twilio_token);
	snprintf(a.kannel_secret, sizeof a.kannel_secret, "%s",
		 pc->kannel_secret);
	a.kannel_inline = cfg->kannel_inline && pc->kind == SMS_PROVIDER_KANNEL;
	e = store_open_with(cfg->db, &so, &a.st);
	if (e) {
		log_error("cannot open database %s: %s",
			  store_url_redact(cfg->db, shown), store_strerror(e));
		goto out;
	}
	if (admin_key(a.st) != 0 || form_secret(a.st, a.form_secret) != 0)
		goto out;
	/* The main thread is done with the database: give its connection
	 * (a pool slot on PostgreSQL) back before the workers start. */
	store_thread_done(a.st);
	a.limits = rl_new();
	if (a.limits)
		rl_set_share(a.limits, cfg->nodes);
	if (!store_concurrent_writes(a.st)) {
		if (cfg->db_writers > 1)
			log_warn("--db-writers %u: %s takes one writer at a "
				 "time; using one", cfg->db_writers,
				 store_backend(a.st));
		writers = 1;
	}
	a.wr = a.limits ? writer_start(a.st, (int)writers) : NULL;
	if (!a.wr) {
		log_error("cannot start the writer");
		goto out;
	}
	sender_conf sc = cfg->sender;
	if (cfg->kannel_box.host[0]) {
		kbl_conf kc = cfg->kannel_box;
		kc.dlr_mask = pc->kannel_dlr_mask;
		if (!(link = kbl_new(&kc))) {
			log_error("cannot start the Kannel box link");
			goto out;
		}
		sc.provider.kannel_box = link;
		a.kbox_link = link;
	}
	a.snd = sender_start(a.st, a.wr, &sc, serr);
	if (!a.snd) {
		log_error("cannot start the SMS sender (--sms-provider %s): %s",
			  sms_provider_name(pc->kind), serr);
		goto out;
	}
	a.flows = flows_start(a.st, a.wr, a.snd, &cfg->flows);
	if (!a.flows) {
		log_error("cannot start the flow runners");
		goto out;
	}
	he = http_server_start(&cfg->http, &a, &srv);
	if (he) {
		log_error("cannot listen on %s:%u: %s", cfg->http.addr,
			  cfg->http.port, http_strerror(he));
		goto out;
	}
	log_buffer_start();
	log_info("optd listening on %s:%u (database %s, %s, durability %s)",
		 cfg->http.addr, http_server_port(srv),
		 store_url_redact(cfg->db, shown),
		 store_backend(a.st),
		 cfg->durability == STORE_DURABLE_FULL ? "full" : "normal");
	/* Messages from bearerbox only once optd serves: a start that fails
	 * takes none. */
	if (link) {
		kboxd_conf kd = {.st = a.st, .wr = a.wr, .snd = a.snd,
				 .flows = a.flows,
				 .inline_replies = cfg->kannel_inline &&
						   pc->kind ==
							   SMS_PROVIDER_KANNEL};
		memcpy(kd.region, cfg->default_region, sizeof kd.region);
		if (!(kbox = kboxd_start(&kd, link))) {
			log_error("cannot start the Kannel box link");
			goto out;
		}
	}
	log_info("stopping on signal %d", wait_for_signal());
	http_server_quiesce(srv);
	if (http_server_drain(srv, SERVE_DRAIN_MS))
		log_warn("stopping with requests still in flight");
	rc = 0;
out:
	if (a.wr) {
		uint64_t batches, jobs;
		writer_stats(a.wr, &batches, &jobs);
		log_info("writer: %llu jobs in %llu batches",
			 (unsigned long long)jobs, (unsigned long long)batches);
	}
	flows_stop(a.flows);
	kboxd_stop(kbox); /* also lets a sender waiting on bearerbox go */
	kbl_stop(link);
	sender_stop(a.snd);
	writer_stop(a.wr); /* commits and answers whatever is queued */
	kboxd_free(kbox);
	kbl_free(link);
	http_server_stop(srv);
	rl_free(a.limits);
	store_close(a.st);
	if (rc == 0)
		log_info("stopped");
	log_buffer_stop();
	return rc;
}

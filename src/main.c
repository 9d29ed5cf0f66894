/*
 * main: the optd command line.
 *
 *   optd serve                 run the server (see README for settings)
 *   optd keys create|list|revoke
 *   optd groups create|list|show|update
 *   optd consent show
 *   optd forms add|list|show|text
 *   optd migrate
 *
 * Management commands open the database directly and run each operation
 * in its own transaction, through the same work/manage.c code the admin
 * API uses; they are safe to run while `optd serve` is up (SQLite WAL).
 * Exit status: 0 success, 1 the operation failed, 2 usage error.
 */
#include "config.h"
#include "serve.h"
#include "api/app.h"
#include "core/scope.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "sms/sim.h"
#include "work/manage.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPTD_VERSION "0.1.0"
#define CLI_LIST_MAX 100 /* repeated --scope, --number, --origin flags */
#define CLI_OPTS_MAX 64  /* settings and command flags together */
#define CLI_FILE_MAX (STORE_SMS_CONFIG_MAX + 1) /* bytes of --file */



static int usage(void)
{
	fprintf(stderr,
		"usage: optd serve [--listen ADDR] [--port N] [--db PATH]\n"
		"                  [--durability full|normal] "
		"[--log-format text|json]\n"
		"                  [--default-region CC] [--threads N] "
		"[--db-pool N]\n"
		"                  [--db-writers N] [--nodes N]\n"
		"       optd keys create --name NAME --scope SCOPE... "
		"[--rate-limit N]\n"
		"       optd keys create --sdk --name NAME [--origin URL...] "
		"[--rate-limit N]\n"
		"       optd keys list | optd keys revoke ID|NAME\n"
		"       optd groups create --name NAME --channel sms|email "
		"[--id ID]\n"
		"                          [--number N...] [--double-opt-in]\n"
		"       optd groups list | optd groups show ID\n"
		"       optd groups update ID [--name NAME] [--number N...] "
		"[--double-opt-in true|false]\n"
		"       optd groups sms ID [--file SETTINGS.json]\n"
		"       optd consent show --phone P | --email E | "
		"--external-id X\n"
		"       optd sim sms --from P --to N [--url URL] [--key K] TEXT\n"
		"       optd messages [--state S] [--to P] [--limit N]\n"
		"       optd flows add --file FLOW.json | list | show ID | "
		"update ID --file F\n"
		"       optd flows enable ID | optd flows disable ID\n"
		"       optd forms add --file FORM.json | list | show ID | "
		"text SHA256\n"
		"       optd runs --flow ID [--limit N] | "
		"optd events --user EXTERNAL_ID [--limit N]\n"
		"       optd migrate | optd version\n"
		"every command also takes --db PATH and --default-region CC;\n"
		"serve also takes the SMS settings (--sms-*, --twilio-*, "
		"--kannel-*,\n--public-url; docs/sms.md) and the flow settings "
		"(--flow-*; docs/flows.md)\n");
	return 2;
}

/* Command-specific flags, collected as JSON for manage.c. */
typedef struct {
	const char *name, *channel, *id, *rate, *doi, *phone, *email, *ext;
	const char *from, *to, *url, *key, *file, *state, *limit, *flow,
		*user;
	const char *scopes[CLI_LIST_MAX], *numbers[CLI_LIST_MAX],
		*origins[CLI_LIST_MAX];
	size_t nscopes, nnumbers, norigins;
	int doi_flag, sdk;
} cli_args;

/* Flags whose value the command line itself must understand. */
static int flag_value_bad(const char *nm, const char *v)
{
	char *end;

	if (!strcmp(nm, "double-opt-in") && v && strcmp(v, "true") &&
	    strcmp(v, "false")) {
		fprintf(stderr, "optd: --double-opt-in takes true or false, "
			"not \"%.32s\"\n", v);
		return 1;
	}
	if (!strcmp(nm, "rate-limit")) {
		errno = 0;
		(void)strtoll(v, &end, 10); /* its range is manage.c's to check */
		if (!*v || *end || errno) {
			fprintf(stderr, "optd: --rate-limit takes a whole number "
				"of requests a minute, not \"%.32s\"\n", v);
			return 1;
		}
	}
	return 0;
}

static int parse_args(int argc, char **argv, config *cfg, cli_args *a)
{
	static struct option opts[CLI_OPTS_MAX + 1];
	static const char *extra[] = {"name", "channel", "id", "rate-limit",
				      "scope", "number", "phone", "email",
				      "external-id", "double-opt-in", "from",
				      "to", "url", "key", "file", "state",
				      "limit", "flow", "user", "origin", "sdk",
				      NULL};
	char err[CONFIG_ERR_MAX];
	const char *f;
	int idx, c;
	size_t n = 0;

	for (size_t i = 0; (f = config_flag_at(i)) && n < CLI_OPTS_MAX; i++)
		opts[n++] = (struct option){f, required_argument, 0, 0};
	for (size_t i = 0; extra[i] && n < CLI_OPTS_MAX; i++)
		opts[n++] = (struct option){extra[i],
			!strcmp(extra[i], "double-opt-in") ? optional_argument
			: !strcmp(extra[i], "sdk") ? no_argument
						   : required_argument,
			0, 0};
	memset(&opts[n], 0, sizeof opts[n]);
	memset(a, 0, sizeof *a);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		if (c != 0) /* getopt said what was wrong; idx is not set */
			return usage();
		const char *nm = opts[idx].name, *v = optarg;
		/* "--double-opt-in false", as the usage writes it. */
		if (!v && opts[idx].has_arg == optional_argument &&
		    optind < argc && (!strcmp(argv[optind], "true") ||
				      !strcmp(argv[optind], "false")))
			v = argv[optind++];
		if (!strcmp(nm, "name")) a->name = v;
		else if (!strcmp(nm, "channel")) a->channel = v;
		else if (!strcmp(nm, "id")) a->id = v;
		else if (!strcmp(nm, "rate-limit")) a->rate = v;
		else if (!strcmp(nm, "phone")) a->phone = v;
		else if (!strcmp(nm, "email")) a->email = v;
		else if (!strcmp(nm, "external-id")) a->ext = v;
		else if (!strcmp(nm, "from")) a->from = v;
		else if (!strcmp(nm, "to")) a->to = v;
		else if (!strcmp(nm, "url")) a->url = v;
		else if (!strcmp(nm, "key")) a->key = v;
		else if (!strcmp(nm, "file")) a->file = v;
		else if (!strcmp(nm, "state")) a->state = v;
		else if (!strcmp(nm, "limit")) a->limit = v;
		else if (!strcmp(nm, "flow")) a->flow = v;
		else if (!strcmp(nm, "user")) a->user = v;
		else if (!strcmp(nm, "double-opt-in"))
			a->doi_flag = 1, a->doi = v ? v : "true";
		else if (!strcmp(nm, "scope") && a->nscopes < CLI_LIST_MAX)
			a->scopes[a->nscopes++] = v;
		else if (!strcmp(nm, "number") && a->nnumbers < CLI_LIST_MAX)
			a->numbers[a->nnumbers++] = v;
		else if (!strcmp(nm, "origin") && a->norigins < CLI_LIST_MAX)
			a->origins[a->norigins++] = v;
		else if (!strcmp(nm, "sdk"))
			a->sdk = 1;
		else if (config_set(cfg, nm, v, err) != 0) {
			fprintf(stderr, "optd: %s\n", err);
			return 2;
		}
		if (flag_value_bad(nm, v))
			return 2;
	}
	return 0;
}

static int print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(v);
	return 0;
}

static int cli_fail(manage_err m, const char *err)
{
	fprintf(stderr, "optd: %s\n", err);
	return m == MANAGE_OK ? 0 : 1;
}

/* Run one management operation in its own transaction. */
typedef manage_err (*cli_op)(store *st, void *arg, json_t **out, char *err);

static int with_store(const config *cfg, cli_op op, void *arg, int write)
{
	char err[MANAGE_ERR_MAX] = "";
	json_t *out = NULL;
	store *st = NULL;
	store_err e = store_open(cfg->db, cfg->durability, &st);
	manage_err m;

	if (e) {
		char shown[STORE_URL_MAX];
		fprintf(stderr, "optd: cannot open database %s: %s\n",
			store_url_redact(cfg->db, shown), store_strerror(e));
		return 1;
	}
	if (write && (e = store_begin(st)) != STORE_OK) {
		fprintf(stderr, "optd: %s\n", store_strerror(e));
		store_close(st);
		return 1;
	}
	m = op(st, arg, &out, err);
	if (write && m == MANAGE_OK && (e = store_commit(st)) != STORE_OK) {
		m = MANAGE_STORE;
		snprintf(err, sizeof err, "commit failed: %s", store_strerror(e));
	}
	if (write && m != MANAGE_OK)
		store_rollback(st);
	store_close(st);
	if (m != MANAGE_OK) {
		json_decref(out);
		return cli_fail(m, err);
	}
	if (out)
		print_json(out);
	return 0;
}

typedef struct {
	const config *cfg;
	const cli_args *a;
	json_t *spec;
	const char *target;
	const char *verb;
} cli_ctx;

static manage_err op_key_create(store *st, void *arg, json_t **out, char *err)
{
	cli_ctx *c = arg;
	return manage_key_create(st, c->spec, clock_now_ms(), out, err);
}

static manage_err op_noop(store *st, void *arg, json_t **out, char *err)
{
	(void)st, (void)arg, (void)out, (void)err;
	return MANAGE_OK; /* opening the store applied the migrations */
}

static manage_err op_key_list(store *st, void *arg, json_t **out, char *err)
{
	(void)arg;
	return manage_key_list(st, out, err);
}

static manage_err op_key_revoke(store *st, void *arg, json_t **out, char *err)
{
	cli_ctx *c = arg;
	manage_err m = manage_key_revoke(st, c->target, clock_now_ms(), err);

	if (!m)
		*out = json_pack("{s:s,s:s}", "revoked", c->target, "message",
				 "success");
	return m;
}

static manage_err op_group_create(store *st, void *arg, json_t **out,
				  char *err)
{
	cli_ctx *c = arg;
	return manage_group_create(st, c->spec, c->cfg->default_region,
				   clock_now_ms(), out, err);
}

static manage_err op_group_update(store *st, void *arg, json_t **out,
				  char *err)
{
	cli_ctx *c = arg;
	return manage_group_update(st, c->target, c->spec,
				   c->cfg->default_region, clock_now_ms(), out,
				   err);
}

static manage_err op_group_list(store *st, void *arg, json_t **out, char *err)
{
	(void)arg;
	return manage_group_list(st, out, err);
}

static manage_err op_group_show(store *st, void *arg, json_t **out, char *err)
{
	cli_ctx *c = arg;
	return manage_group_get(st, c->target, out, err);
}

static manage_err op_consent(store *st, void *arg, json_t **out, char *err)
{
	cli_ctx *c = arg;
	const cli_args *a = c->a;
	const char *by = a->phone ? "phone" : a->email ? "email" : "external_id";
	const char *v = a->phone ? a->phone : a->email ? a->email : a->ext;

	return manage_consent(st, by, v, c->cfg->default_region, 0, 0, out,
			      err);
}

static manage_err op_group_sms(store *st, void *arg, json_t **out, char *err)
{
	cli_ctx *c = arg;

	if (!c->spec)
		return manage_group_sms_get(st, c->target, out, err);
	return manage_group_sms_set(st, c->target, c->spec, clock_now_ms(),
				    out, err);
}

/* --limit, 1..max (100 when absent); -1 with err filled. */
static long cli_limit(const cli_args *a, long max, char *err)
{
	char *end = NULL;
	long limit = a->limit ? strtol(a->limit, &end, 10) : 100;

	if (end && (*end || !*a->limit || limit < 1 || limit > max)) {
		snprintf(err, MANAGE_ERR_MAX, "--limit takes 1 to %ld", max);
		return -1;
	}
	return limit;
}

static manage_err op_messages(store *st, void *arg, json_t **out, char *err)
{
	cli_ctx *c = arg;
	long limit = cli_limit(c->a, MANAGE_MESSAGES_PAGE_MAX, err);

	if (limit < 0)
		return MANAGE_INVALID;
	return manage_messages(st, c->a->state, c->a->to,
			       c->cfg->default_region, 0, (size_t)limit, out,
			       err);
}

static manage_err op_flows(store *st, void *arg, json_t **out, char *err)
{
	cli_ctx *c = arg;
	const char *verb = c->verb;
	int64_t now = clock_now_ms();

	if (!strcmp(verb, "add"))
		return manage_flow_save(st, NULL, c->spec, now, out, err);
	if (!strcmp(verb, "update"))
		return manage_flow_save(st, c->target, c->spec, now, out, err);
	if (!strcmp(verb, "list"))
		return manage_flow_list(st, out, err);
	if (!strcmp(verb, "show"))
		return manage_flow_get(st, c->target, out, err);
	return manage_flow_enable(st, c->target, !strcmp(verb, "enable"),
				  now, out, err);
}

static manage_err op_forms(store *st, void *arg, json_t **out, char *err)
{
	cli_ctx *c = arg;

	if (!strcmp(c->verb, "add"))
		return manage_form_create(st, c->spec, clock_now_ms(), out, err);
	if (!strcmp(c->verb, "list"))
		return manage_form_list(st, out, err);
	if (!strcmp(c->verb, "show"))
		return manage_form_get(st, c->target, out, err);
	return manage_consent_text(st, c->target, out, err);
}

static manage_err op_runs(store *st, void *arg, json_t **out, char *err)
{
	cli_ctx *c = arg;
	long limit = cli_limit(c->a, MANAGE_RUNS_PAGE_MAX, err);

	if (limit < 0)
		return MANAGE_INVALID;
	if (c->a->flow)
		return manage_flow_runs(st, c->a->flow, (size_t)limit, out,
					err);
	return manage_user_events(st, c->a->user, (size_t)limit, out, err);
}

/* The JSON document in --file, or NULL with a message printed. */
static json_t *read_json_file(const char *path)
{
	json_error_t je;
	json_t *v;
	FILE *f = fopen(path, "rb");
	char *buf = malloc(CLI_FILE_MAX);
	size_t n = 0;

	if (!f || !buf) {
		fprintf(stderr, "optd: cannot read %s: %s\n", path,
			strerror(errno));
		goto fail;
	}
	n = fread(buf, 1, CLI_FILE_MAX, f);
	if (n == CLI_FILE_MAX) {
		fprintf(stderr, "optd: %s is larger than %d bytes\n", path,
			CLI_FILE_MAX - 1);
		goto fail;
	}
	v = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je);
	if (!v)
		fprintf(stderr, "optd: %s: line %d: %s\n", path, je.line,
			je.text);
	fclose(f);
	free(buf);
	return v;
fail:
	if (f)
		fclose(f);
	free(buf);
	return NULL;
}

static json_t *strings(const char *const *v, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(v[i]));
	return arr;
}

/* Build the JSON spec manage.c expects from command-line flags. */
static json_t *spec_of(const cli_args *a, int group)
{
	json_t *o = json_object();

	if (a->name)
		json_object_set_new(o, "name", json_string(a->name));
	if (!group) {
		/* An SDK key has no scopes: manage.c refuses any given. */
		if (!a->sdk || a->nscopes)
			json_object_set_new(o, "scopes",
					    strings(a->scopes, a->nscopes));
		if (a->sdk)
			json_object_set_new(o, "sdk", json_true());
		if (a->sdk || a->norigins)
			json_object_set_new(o, "origins",
					    strings(a->origins, a->norigins));
		if (a->rate)
			json_object_set_new(o, "rate_limit",
					    json_integer(strtoll(a->rate, 0, 10)));
		return o;
	}
	if (a->channel)
		json_object_set_new(o, "channel", json_string(a->channel));
	if (a->id)
		json_object_set_new(o, "id", json_string(a->id));
	if (a->nnumbers)
		json_object_set_new(o, "numbers",
				    strings(a->numbers, a->nnumbers));
	if (a->doi_flag)
		json_object_set_new(o, "double_opt_in",
				    json_boolean(strcmp(a->doi, "false") != 0));
	return o;
}

/* optd flows VERB: which verbs take an ID, which a --file. */
static int flows_verb_ok(const char *verb, const char *id, const char *file)
{
	if (!strcmp(verb, "add"))
		return file != NULL;
	if (!strcmp(verb, "update"))
		return id && file;
	if (!strcmp(verb, "list"))
		return 1;
	return id && (!strcmp(verb, "show") || !strcmp(verb, "enable") ||
		      !strcmp(verb, "disable"));
}

/* optd forms VERB: the same for forms. */
static int forms_verb_ok(const char *verb, const char *id, const char *file)
{
	if (!strcmp(verb, "add"))
		return file != NULL;
	if (!strcmp(verb, "list"))
		return 1;
	return id && (!strcmp(verb, "show") || !strcmp(verb, "text"));
}

/* Where `optd sim` finds optd: this command line's --listen and --port. */
static const char *default_url(const config *cfg, char out[STORE_URL_MAX])
{
	int v6 = strchr(cfg->http.addr, ':') != NULL;

	snprintf(out, STORE_URL_MAX, "http://%s%s%s:%u", v6 ? "[" : "",
		 cfg->http.addr, v6 ? "]" : "", cfg->http.port);
	return out;
}

static int cli_dispatch(const char *cmd, const char *verb, const config *cfg,
			const cli_args *a, char **rest, int nrest)
{
	cli_ctx c = {cfg, a, NULL, nrest > 0 ? rest[0] : NULL, verb};
	char shown[STORE_URL_MAX];
	int rc = -1;

	if (!strcmp(cmd, "serve"))
		return serve_run(cfg);
	if (!strcmp(cmd, "migrate"))
		return with_store(cfg, op_noop, &c, 0) ? 1
			: (printf("database %s is up to date\n",
				  store_url_redact(cfg->db, shown)), 0);
	if (!strcmp(cmd, "keys") && !strcmp(verb, "create")) {
		c.spec = spec_of(a, 0);
		rc = with_store(cfg, op_key_create, &c, 1);
	} else if (!strcmp(cmd, "keys") && !strcmp(verb, "list")) {
		rc = with_store(cfg, op_key_list, &c, 0);
	} else if (!strcmp(cmd, "keys") && !strcmp(verb, "revoke") && c.target) {
		rc = with_store(cfg, op_key_revoke, &c, 1);
	} else if (!strcmp(cmd, "groups") && !strcmp(verb, "create")) {
		c.spec = spec_of(a, 1);
		rc = with_store(cfg, op_group_create, &c, 1);
	} else if (!strcmp(cmd, "groups") && !strcmp(verb, "update") && c.target) {
		c.spec = spec_of(a, 1);
		rc = with_store(cfg, op_group_update, &c, 1);
	} else if (!strcmp(cmd, "groups") && !strcmp(verb, "list")) {
		rc = with_store(cfg, op_group_list, &c, 0);
	} else if (!strcmp(cmd, "groups") && !strcmp(verb, "show") && c.target) {
		rc = with_store(cfg, op_group_show, &c, 0);
	} else if (!strcmp(cmd, "groups") && !strcmp(verb, "sms") && c.target) {
		if (a->file && !(c.spec = read_json_file(a->file)))
			return 1;
		rc = with_store(cfg, op_group_sms, &c, c.spec != NULL);
	} else if (!strcmp(cmd, "messages")) {
		rc = with_store(cfg, op_messages, &c, 0);
	} else if (!strcmp(cmd, "flows") && flows_verb_ok(verb, c.target,
							   a->file)) {
		if (a->file && !(c.spec = read_json_file(a->file)))
			return 1;
		rc = with_store(cfg, op_flows, &c, strcmp(verb, "list") &&
					     strcmp(verb, "show"));
	} else if (!strcmp(cmd, "forms") && forms_verb_ok(verb, c.target,
							   a->file)) {
		if (a->file && !(c.spec = read_json_file(a->file)))
			return 1;
		rc = with_store(cfg, op_forms, &c, !strcmp(verb, "add"));
	} else if ((!strcmp(cmd, "runs") && a->flow) ||
		   (!strcmp(cmd, "events") && a->user)) {
		rc = with_store(cfg, op_runs, &c, 0);
	} else if (!strcmp(cmd, "sim") && !strcmp(verb, "sms") && nrest == 1 &&
		   a->from && a->to) {
		rc = sim_sms(a->url ? a->url : default_url(cfg, shown),
			     a->key ? a->key : getenv("OPTD_ADMIN_KEY"),
			     a->from, a->to, rest[0]);
	} else if (!strcmp(cmd, "consent") && !strcmp(verb, "show") &&
		   (a->phone || a->email || a->ext)) {
		rc = with_store(cfg, op_consent, &c, 0);
	}
	json_decref(c.spec);
	return rc == -1 ? usage() : rc;
}

int main(int argc, char **argv)
{
	char err[CONFIG_ERR_MAX];
	const char *cmd, *verb = NULL;
	char **base;
	config cfg;
	cli_args a;
	int n, rc;

	if (argc < 2)
		return usage();
	cmd = argv[1];
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("optd %s\n", OPTD_VERSION);
		return 0;
	}
	if (config_from_env(&cfg, err) != 0) {
		fprintf(stderr, "optd: %s\n", err);
		return 2;
	}
	/* getopt permutes its array: keep the command (and verb) out of it by
	 * letting it stand where getopt expects the program name. */
	if (strcmp(cmd, "serve") && strcmp(cmd, "migrate") &&
	    strcmp(cmd, "messages") && strcmp(cmd, "runs") &&
	    strcmp(cmd, "events")) {
		if (argc < 3)
			return usage();
		verb = argv[2];
		base = argv + 2;
	} else {
		base = argv + 1;
	}
	n = argc - (int)(base - argv);
	rc = parse_args(n, base, &cfg, &a);
	if (rc)
		return rc;
	if (!strcmp(cmd, "serve") && config_finish(&cfg, err)) {
		fprintf(stderr, "optd: %s\n", err);
		return 2;
	}
	log_setup(cfg.log_format, LOG_INFO);
	return cli_dispatch(cmd, verb, &cfg, &a, base + optind, n - optind);
}

/*
 * tpl_render_cli: render one template with core/template, for the
 * comparison with liquidjs (compare.mjs) and for trying templates by
 * hand.
 *
 *   tpl_render_cli [-e none|json] VARS_JSON < TEMPLATE
 *
 * VARS_JSON is an object shaped as liquidjs's context: the five profile
 * fields at the top ({"first_name": "Ann"}) and the three maps as objects
 * ({"custom_attribute": {"city": "Paris"}}). A string is text, false is
 * a boolean false, true and integers print as JSON writes them, null or
 * a missing key is absent. The rendered text goes to stdout; exit 1 and a
 * message on stderr when the template does not compile, 2 when it does
 * not render, 64 for bad arguments.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/template.h"

static tpl_found lookup(void *ctx, tpl_var_kind kind, const char *name,
			const char **val, size_t *len)
{
	json_t *scope = ctx, *v;

	if (kind >= TPL_VAR_CUSTOM_ATTRIBUTE)
		scope = json_object_get(scope, tpl_var_kind_name(kind));
	v = json_object_get(scope, name);
	if (json_is_false(v))
		return TPL_FALSE;
	if (!json_is_string(v))
		return TPL_ABSENT;
	*val = json_string_value(v);
	*len = json_string_length(v);
	return TPL_TEXT;
}

/* true and integers become their JSON text, as the flow runner does. */
static int textify(json_t *obj)
{
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v) {
		char *s;

		if (json_is_object(v) && textify(v))
			return -1;
		if (!json_is_true(v) && !json_is_integer(v))
			continue;
		s = json_dumps(v, JSON_ENCODE_ANY);
		if (!s || json_object_set_new(obj, k, json_string(s))) {
			free(s);
			return -1;
		}
		free(s);
	}
	return 0;
}

/* All of stdin; NULL past TPL_SRC_MAX + 1 bytes (compile refuses it). */
static char *read_all(size_t *len)
{
	size_t cap = TPL_SRC_MAX + 2;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	*len = fread(s, 1, cap - 1, stdin);
	return s;
}

int main(int argc, char **argv)
{
	tpl_escape esc = TPL_ESC_NONE;
	json_error_t jerr = {.text = "not an object"};
	json_t *vars;
	char err[TPL_ERR_MAX], *src = NULL, *out = NULL;
	size_t len = 0, out_len;
	tpl *t = NULL;
	int rc = 64;

	if (argc == 4 && strcmp(argv[1], "-e") == 0) {
		esc = strcmp(argv[2], "json") ? TPL_ESC_NONE : TPL_ESC_JSON;
		argv += 2;
		argc -= 2;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s [-e none|json] VARS_JSON "
			"< TEMPLATE\n", argv[0]);
		return 64;
	}
	vars = json_loads(argv[1], 0, &jerr);
	src = read_all(&len);
	if (!json_is_object(vars) || textify(vars) || !src) {
		fprintf(stderr, "bad vars: %s\n", jerr.text);
		goto out;
	}
	rc = 1;
	if (tpl_compile(src, len, &t, err) != TPL_OK) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	rc = 2;
	if (tpl_render(t, lookup, vars, esc, &out, &out_len, err) != TPL_OK) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	fwrite(out, 1, out_len, stdout);
	rc = 0;
out:
	free(out);
	tpl_free(t);
	free(src);
	json_decref(vars);
	return rc;
}

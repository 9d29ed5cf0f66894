/*
 * template: see template.h for the language.
 *
 * A template compiles to a flat program of four operations: print text,
 * print a value through its filters, jump unless a condition holds, and
 * jump. if/elsif/else becomes forward jumps, so rendering is one loop
 * with no recursion and no way back. Names, literals and text all live
 * in one pool: the source copied as it is, then each variable name with
 * a NUL, which is what the lookup callback is handed.
 */
#include "core/template.h"
#include "lib/utf8.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ucasemap.h>

#define TPL_NONE UINT32_MAX /* no jump target yet, end of a jump chain */

typedef enum {
	OP_TEXT,        /* pool[a .. a+b) */
	OP_OUT,         /* v through filters[a .. a+b) */
	OP_JUMP_UNLESS, /* tests[a .. a+b); to target when false */
	OP_JUMP,        /* to target */
} tpl_opcode;

typedef struct {
	uint8_t is_var; /* 1: a variable, 0: a string literal */
	uint8_t kind;   /* tpl_var_kind, for a variable */
	uint32_t off;   /* literal text or NUL-terminated name in the pool */
	uint32_t len;
} tpl_operand;

typedef struct {
	uint8_t code;    /* tpl_opcode */
	uint32_t a, b;
	uint32_t target; /* jumps: the next op when taken */
	tpl_operand v;   /* OP_OUT */
} tpl_op;

typedef enum {
	F_DEFAULT, F_UPCASE, F_DOWNCASE, F_URL_ENCODE, F_STRIP, F_TRUNCATE,
	F__COUNT,
} tpl_filter_kind;

typedef struct {
	uint8_t kind;    /* tpl_filter_kind */
	int32_t n;       /* truncate's length */
	tpl_operand arg; /* default's value, truncate's ellipsis */
} tpl_filter;

typedef enum { CMP_TRUTHY, CMP_EQ, CMP_NE } tpl_cmp;

typedef struct {
	tpl_operand l, r;
	uint8_t cmp;     /* tpl_cmp; r unused for CMP_TRUTHY */
	uint8_t and_next; /* joined to the next test by and (else or) */
} tpl_test;

typedef struct {
	uint8_t kind;
	uint32_t name; /* pool offset */
} tpl_varref;

struct tpl {
	char *pool;
	size_t pool_len, pool_cap;
	tpl_op *ops;
	size_t nops, cap_ops;
	tpl_filter *filters;
	size_t nfilters, cap_filters;
	tpl_test *tests;
	size_t ntests, cap_tests;
	tpl_varref *vars;
	size_t nvars, cap_vars;
	UCaseMap *casemap; /* root locale; only when upcase/downcase is used */
};

static const char *const tpl_err_names[TPL_ERR__COUNT] = {
	"success",
	"invalid argument",
	"template syntax error",
	"template limit reached",
	"out of memory",
	"not UTF-8 text",
	"Unicode case mapping unavailable",
};

static const char *const tpl_kind_names[TPL_VAR__COUNT] = {
	"user_id", "phone_number", "email_address", "first_name", "last_name",
	"custom_attribute", "canvas_entry_properties", "event_properties",
};

/* The first five are written ${name}; the rest KIND.${NAME}. */
#define TPL_FIELD_KINDS 5

static const char *const tpl_filter_names[F__COUNT] = {
	"default", "upcase", "downcase", "url_encode", "strip", "truncate",
};

const char *tpl_strerror(tpl_err e)
{
	return (unsigned)e < TPL_ERR__COUNT ? tpl_err_names[e] :
					       "unknown error";
}

const char *tpl_var_kind_name(tpl_var_kind k)
{
	return (unsigned)k < TPL_VAR__COUNT ? tpl_kind_names[k] : "?";
}

size_t tpl_var_count(const tpl *t)
{
	return t ? t->nvars : 0;
}

int tpl_var(const tpl *t, size_t i, tpl_var_kind *kind, const char **name)
{
	if (!t || i >= t->nvars)
		return -1;
	*kind = (tpl_var_kind)t->vars[i].kind;
	*name = t->pool + t->vars[i].name;
	return 0;
}

void tpl_free(tpl *t)
{
	if (!t)
		return;
	if (t->casemap)
		ucasemap_close(t->casemap);
	free(t->pool);
	free(t->ops);
	free(t->filters);
	free(t->tests);
	free(t->vars);
	free(t);
}

/*
 * arr, grown when needed to hold element n; NULL when out of memory (arr
 * is then still the caller's). Counts are bounded by the source size.
 */
static void *grow(void *arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *np;

	if (n < *cap)
		return arr;
	ncap = *cap ? 2 * *cap : 16;
	np = realloc(arr, ncap * size);
	if (np)
		*cap = ncap;
	return np;
}

/* ---- characters ---- */

/* String.prototype.trim's white space: what the strip filter removes. */
static int js_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0xa0 ||
	       c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
	       c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000 ||
	       c == 0xfeff;
}

/* liquidjs's blanks: between tokens and for whitespace control. */
static int liquid_blank(uint32_t c)
{
	return c == 0x180e || (c != 0xfeff && js_space(c));
}

/* Bytes of the blank character at s[i..n), 0 when there is none. */
static size_t blank_at(const char *s, size_t n, size_t i)
{
	uint32_t c;
	size_t k = i < n ? utf8_decode(s + i, n - i, &c) : 0;

	return k && liquid_blank(c) ? k : 0;
}

/* Start of the character that ends at s[end], scanning no lower than lo. */
static size_t char_start(const char *s, size_t lo, size_t end)
{
	size_t j = end - 1;

	while (j > lo && ((unsigned char)s[j] & 0xc0) == 0x80)
		j--;
	return j;
}

static int is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* ---- parser ---- */

typedef struct {
	uint32_t jump;   /* the open OP_JUMP_UNLESS, TPL_NONE after else */
	uint32_t chain;  /* OP_JUMPs to the endif, linked through target */
	int seen_else;
	size_t at;       /* source offset of the if, for messages */
} tpl_block;

typedef struct {
	const char *s;
	size_t n, i;
	tpl *t;
	char *err;
	tpl_block blocks[TPL_DEPTH_MAX];
	int depth;
	int trim;        /* the last tag ended in '-': trim the next text */
	size_t tag_at;   /* where the tag being parsed opens */
	tpl_err code;
} tpl_parser;

static void where(const char *s, size_t at, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < at; i++) {
		if (s[i] == '\n') {
			++*line;
			*col = 1;
		} else if (((unsigned char)s[i] & 0xc0) != 0x80) {
			++*col;
		}
	}
}

static int perr(tpl_parser *p, tpl_err code, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Record the first error, prefixed by its position; returns -1. */
static int perr(tpl_parser *p, tpl_err code, size_t at, const char *fmt, ...)
{
	va_list ap;
	int line, col, k;

	p->code = code;
	if (!p->err)
		return -1;
	where(p->s, at, &line, &col);
	k = snprintf(p->err, TPL_ERR_MAX, "line %d, column %d: ", line, col);
	va_start(ap, fmt);
	vsnprintf(p->err + k, TPL_ERR_MAX - (size_t)k, fmt, ap);
	va_end(ap);
	utf8_clean(p->err);
	return -1;
}

static int nomem(tpl_parser *p)
{
	p->code = TPL_ERR_NOMEM;
	if (p->err)
		snprintf(p->err, TPL_ERR_MAX, "out of memory");
	return -1;
}

/* The template ended inside a tag. */
static int unclosed(tpl_parser *p)
{
	return perr(p, TPL_ERR_PARSE, p->tag_at, "'%.2s' is not closed",
		    p->s + p->tag_at);
}

static void skip_blank(tpl_parser *p)
{
	size_t k;

	while ((k = blank_at(p->s, p->n, p->i)))
		p->i += k;
}

static int at(const tpl_parser *p, const char *lit)
{
	size_t k = strlen(lit);

	return p->n - p->i >= k && memcmp(p->s + p->i, lit, k) == 0;
}

/* A word of [A-Za-z0-9_] at the position, copied (cut) into w. */
static size_t read_word(tpl_parser *p, char *w, size_t cap)
{
	size_t k = 0;

	while (p->i + k < p->n && is_word(p->s[p->i + k]))
		k++;
	snprintf(w, cap, "%.*s", (int)k, p->s + p->i);
	p->i += k;
	return k;
}

static int emit(tpl_parser *p, tpl_op op)
{
	tpl *t = p->t;
	tpl_op *ops = grow(t->ops, &t->cap_ops, t->nops, sizeof *ops);

	if (!ops)
		return nomem(p);
	t->ops = ops;
	t->ops[t->nops++] = op;
	return 0;
}

/* Copy the name into the pool and note the variable once. */
static int add_var(tpl_parser *p, tpl_operand *o, const char *name,
		   size_t len)
{
	tpl *t = p->t;
	tpl_varref *vars;

	/* The pool has room: every name is shorter than its ${...}. */
	o->off = (uint32_t)t->pool_len;
	o->len = (uint32_t)len;
	memcpy(t->pool + t->pool_len, name, len);
	t->pool[t->pool_len + len] = '\0';
	for (size_t i = 0; i < t->nvars; i++)
		if (t->vars[i].kind == o->kind &&
		    strcmp(t->pool + t->vars[i].name, t->pool + o->off) == 0) {
			o->off = t->vars[i].name;
			return 0;
		}
	vars = grow(t->vars, &t->cap_vars, t->nvars, sizeof *vars);
	if (!vars)
		return nomem(p);
	t->vars = vars;
	t->vars[t->nvars].kind = o->kind;
	t->vars[t->nvars++].name = o->off;
	t->pool_len += len + 1;
	return 0;
}

/* ${NAME} at the position; its bytes in *name, *len. */
static int parse_braced(tpl_parser *p, const char **name, size_t *len)
{
	size_t start = p->i, k;

	p->i += 2;
	for (k = p->i; k < p->n && p->s[k] != '}'; k++)
		if ((unsigned char)p->s[k] < 0x20 || p->s[k] == 0x7f)
			return perr(p, TPL_ERR_PARSE, k,
				    "control character in a variable name");
	if (k == p->n)
		return perr(p, TPL_ERR_PARSE, start, "'${' is not closed");
	*name = p->s + p->i;
	*len = k - p->i;
	if (*len == 0)
		return perr(p, TPL_ERR_PARSE, start, "empty variable name");
	if (*len > TPL_NAME_MAX)
		return perr(p, TPL_ERR_LIMIT, start,
			    "variable name longer than %d bytes", TPL_NAME_MAX);
	p->i = k + 1;
	return 0;
}

/* ${field} */
static int parse_field(tpl_parser *p, tpl_operand *o)
{
	size_t start = p->i, len;
	const char *name;

	if (parse_braced(p, &name, &len))
		return -1;
	for (int k = 0; k < TPL_FIELD_KINDS; k++)
		if (strlen(tpl_kind_names[k]) == len &&
		    memcmp(tpl_kind_names[k], name, len) == 0) {
			o->kind = (uint8_t)k;
			return add_var(p, o, name, len);
		}
	return perr(p, TPL_ERR_PARSE, start,
		    "unknown variable ${%.*s} (known: ${user_id}, "
		    "${phone_number}, ${email_address}, ${first_name}, "
		    "${last_name})", (int)(len > 40 ? 40 : len), name);
}

/* custom_attribute.${NAME} and its kin, or an unknown word. */
static int parse_mapped(tpl_parser *p, tpl_operand *o)
{
	size_t start = p->i, len;
	const char *name;
	char w[48];

	read_word(p, w, sizeof w);
	for (int k = TPL_FIELD_KINDS; k < TPL_VAR__COUNT; k++) {
		if (strcmp(w, tpl_kind_names[k]) != 0)
			continue;
		if (!at(p, ".${"))
			return perr(p, TPL_ERR_PARSE, p->i,
				    "expected .${NAME} after %s", w);
		p->i++;
		if (parse_braced(p, &name, &len))
			return -1;
		o->kind = (uint8_t)k;
		return add_var(p, o, name, len);
	}
	return perr(p, TPL_ERR_PARSE, start,
		    "unknown variable '%s' (write ${first_name}, "
		    "custom_attribute.${NAME}, ... or a \"string\")", w);
}

/* "..." or '...': no escapes, so the text stays in the pool's source. */
static int parse_literal(tpl_parser *p, tpl_operand *o)
{
	size_t start = p->i, k;
	char q = p->s[p->i];

	for (k = start + 1; k < p->n && p->s[k] != q; k++)
		if (p->s[k] == '\\')
			return perr(p, TPL_ERR_PARSE, k,
				    "backslash in a string literal (Liquid "
				    "engines disagree on it; use the other "
				    "quote)");
	if (k == p->n)
		return perr(p, TPL_ERR_PARSE, start,
			    "string literal is not closed");
	o->is_var = 0;
	o->off = (uint32_t)(start + 1);
	o->len = (uint32_t)(k - start - 1);
	p->i = k + 1;
	return 0;
}

static int parse_operand(tpl_parser *p, tpl_operand *o)
{
	memset(o, 0, sizeof *o);
	if (p->i >= p->n)
		return unclosed(p);
	if (p->s[p->i] == '"' || p->s[p->i] == '\'')
		return parse_literal(p, o);
	o->is_var = 1;
	if (at(p, "${"))
		return parse_field(p, o);
	if (is_word(p->s[p->i]))
		return parse_mapped(p, o);
	return perr(p, TPL_ERR_PARSE, p->i,
		    "expected a variable or a string literal");
}

/* An integer literal for truncate. */
static int parse_int(tpl_parser *p, int32_t *out)
{
	size_t start = p->i;
	long v = 0;
	int neg = 0;

	if (at(p, "-")) {
		neg = 1;
		p->i++;
	}
	if (p->i == p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
		return perr(p, TPL_ERR_PARSE, start,
			    "truncate's length must be a whole number");
	while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
		v = v * 10 + (p->s[p->i++] - '0');
		if (v > TPL_TRUNCATE_MAX)
			return perr(p, TPL_ERR_LIMIT, start,
				    "truncate's length is past %d",
				    TPL_TRUNCATE_MAX);
	}
	if (p->i < p->n && (p->s[p->i] == '.' || is_word(p->s[p->i])))
		return perr(p, TPL_ERR_PARSE, start,
			    "truncate's length must be a whole number");
	*out = (int32_t)(neg ? -v : v);
	return 0;
}

/* The arguments after "name:", as many as the filter takes. */
static int parse_args(tpl_parser *p, tpl_filter *f, size_t at_name)
{
	int nargs = 0, max = f->kind == F_TRUNCATE ? 2 : 1;

	if (f->kind != F_DEFAULT && f->kind != F_TRUNCATE)
		return perr(p, TPL_ERR_PARSE, at_name, "%s takes no arguments",
			    tpl_filter_names[f->kind]);
	do {
		p->i++; /* ':' or ',' */
		skip_blank(p);
		if (nargs == max)
			return perr(p, TPL_ERR_PARSE, p->i,
				    "%s takes at most %d argument%s",
				    tpl_filter_names[f->kind], max,
				    max > 1 ? "s" : "");
		if (f->kind == F_TRUNCATE && nargs == 0) {
			if (parse_int(p, &f->n))
				return -1;
		} else if (parse_operand(p, &f->arg)) {
			return -1;
		}
		nargs++;
		skip_blank(p);
	} while (at(p, ","));
	return 0;
}

static int parse_filter(tpl_parser *p, tpl_filter *f)
{
	size_t start = p->i;
	char w[48];
	int k;

	memset(f, 0, sizeof *f);
	if (p->i >= p->n)
		return unclosed(p);
	if (!read_word(p, w, sizeof w))
		return perr(p, TPL_ERR_PARSE, start, "expected a filter name");
	for (k = 0; k < F__COUNT && strcmp(w, tpl_filter_names[k]); k++)
		;
	if (k == F__COUNT)
		return perr(p, TPL_ERR_PARSE, start,
			    "unknown filter '%s' (known: default, upcase, "
			    "downcase, url_encode, strip, truncate)", w);
	f->kind = (uint8_t)k;
	f->n = 50; /* Liquid's default truncate length */
	f->arg.off = TPL_NONE;
	skip_blank(p);
	if (at(p, ":") && parse_args(p, f, start))
		return -1;
	if (f->kind == F_DEFAULT && f->arg.off == TPL_NONE)
		return perr(p, TPL_ERR_PARSE, start,
			    "default needs a value: default: \"text\"");
	return 0;
}

/* "}}" or "%}", optionally after '-', at the position. */
static int close_tag(tpl_parser *p, const char *close)
{
	uint32_t c;
	size_t k;

	if (at(p, "-") && p->n - p->i > 2 &&
	    memcmp(p->s + p->i + 1, close, 2) == 0) {
		p->trim = 1;
		p->i += 3;
		return 0;
	}
	if (at(p, close)) {
		p->i += 2;
		return 0;
	}
	if (p->i >= p->n)
		return unclosed(p);
	k = utf8_decode(p->s + p->i, p->n - p->i, &c);
	return perr(p, TPL_ERR_PARSE, p->i,
		    "unexpected '%.*s' (expected %s'%s')", (int)k, p->s + p->i,
		    close[0] == '}' ? "'|' or " : "", close);
}

static int parse_output(tpl_parser *p, size_t open_at)
{
	tpl_op op = {.code = OP_OUT};
	tpl *t = p->t;
	tpl_filter *f;

	skip_blank(p);
	if (at(p, "}}") || at(p, "-}}"))
		return perr(p, TPL_ERR_PARSE, open_at, "empty output tag");
	if (parse_operand(p, &op.v))
		return -1;
	op.a = (uint32_t)t->nfilters;
	for (skip_blank(p); at(p, "|"); skip_blank(p)) {
		if (op.b == TPL_FILTERS_MAX)
			return perr(p, TPL_ERR_LIMIT, p->i,
				    "more than %d filters", TPL_FILTERS_MAX);
		p->i++;
		skip_blank(p);
		f = grow(t->filters, &t->cap_filters, t->nfilters, sizeof *f);
		if (!f)
			return nomem(p);
		t->filters = f;
		if (parse_filter(p, &t->filters[t->nfilters]))
			return -1;
		t->nfilters++;
		op.b++;
	}
	if (close_tag(p, "}}"))
		return -1;
	return emit(p, op);
}

static int unsupported_op(tpl_parser *p)
{
	static const char *const ops[] = {
		"<=", ">=", "<>", "<", ">", "=", "contains",
	};

	for (size_t k = 0; k < sizeof ops / sizeof *ops; k++)
		if (at(p, ops[k]))
			return perr(p, TPL_ERR_PARSE, p->i,
				    "operator '%s' is not supported (only ==, "
				    "!=, and, or)", ops[k]);
	return 0;
}

/* "and" or "or" as a whole word: 1 for and, 0 for or, -1 for neither. */
static int joiner(tpl_parser *p)
{
	for (int k = 0; k < 2; k++) {
		const char *w = k ? "or" : "and";
		size_t len = strlen(w);

		if (at(p, w) && (p->i + len == p->n ||
				 !is_word(p->s[p->i + len]))) {
			p->i += len;
			return !k;
		}
	}
	return -1;
}

static int parse_test(tpl_parser *p, tpl_test *x)
{
	memset(x, 0, sizeof *x);
	if (parse_operand(p, &x->l))
		return -1;
	skip_blank(p);
	if (at(p, "==") || at(p, "!=")) {
		x->cmp = p->s[p->i] == '=' ? CMP_EQ : CMP_NE;
		p->i += 2;
		skip_blank(p);
		if (parse_operand(p, &x->r))
			return -1;
		skip_blank(p);
	}
	return unsupported_op(p);
}

/* The condition of an if or elsif, then its OP_JUMP_UNLESS. */
static int parse_cond(tpl_parser *p, uint32_t *jump)
{
	tpl *t = p->t;
	tpl_op op = {.code = OP_JUMP_UNLESS, .target = TPL_NONE};
	tpl_test *x;
	int join;

	op.a = (uint32_t)t->ntests;
	skip_blank(p);
	if (at(p, "%}") || at(p, "-%}"))
		return perr(p, TPL_ERR_PARSE, p->i, "expected a condition");
	do {
		if (op.b == TPL_COND_MAX)
			return perr(p, TPL_ERR_LIMIT, p->i,
				    "more than %d comparisons", TPL_COND_MAX);
		x = grow(t->tests, &t->cap_tests, t->ntests, sizeof *x);
		if (!x)
			return nomem(p);
		t->tests = x;
		if (parse_test(p, &t->tests[t->ntests]))
			return -1;
		join = joiner(p);
		t->tests[t->ntests++].and_next = join == 1;
		op.b++;
		skip_blank(p);
	} while (join >= 0);
	*jump = (uint32_t)t->nops;
	return emit(p, op);
}

/* Point the pending OP_JUMP_UNLESS of b at the next op. */
static void land_jump(tpl_parser *p, tpl_block *b)
{
	if (b->jump != TPL_NONE)
		p->t->ops[b->jump].target = (uint32_t)p->t->nops;
	b->jump = TPL_NONE;
}

/* End the current branch: a jump to the endif, chained for patching. */
static int end_branch(tpl_parser *p, tpl_block *b)
{
	tpl_op op = {.code = OP_JUMP, .target = b->chain};

	b->chain = (uint32_t)p->t->nops;
	if (emit(p, op))
		return -1;
	land_jump(p, b);
	return 0;
}

static int tag_if(tpl_parser *p, size_t open_at)
{
	tpl_block *b;

	if (p->depth == TPL_DEPTH_MAX)
		return perr(p, TPL_ERR_LIMIT, open_at,
			    "if blocks nested deeper than %d", TPL_DEPTH_MAX);
	b = &p->blocks[p->depth++];
	b->chain = TPL_NONE;
	b->seen_else = 0;
	b->at = open_at;
	return parse_cond(p, &b->jump);
}

static int tag_branch(tpl_parser *p, const char *w, size_t open_at)
{
	tpl_block *b = p->depth ? &p->blocks[p->depth - 1] : NULL;

	if (!b)
		return perr(p, TPL_ERR_PARSE, open_at,
			    "'%s' without an open if", w);
	if (b->seen_else && strcmp(w, "endif") != 0)
		return perr(p, TPL_ERR_PARSE, open_at, "'%s' after else", w);
	if (strcmp(w, "endif") == 0) {
		land_jump(p, b);
		for (uint32_t j = b->chain, next; j != TPL_NONE; j = next) {
			next = p->t->ops[j].target;
			p->t->ops[j].target = (uint32_t)p->t->nops;
		}
		p->depth--;
		return 0;
	}
	if (end_branch(p, b))
		return -1;
	if (strcmp(w, "else") == 0) {
		b->seen_else = 1;
		return 0;
	}
	return parse_cond(p, &b->jump);
}

static int parse_tag(tpl_parser *p, size_t open_at)
{
	size_t start;
	char w[48];

	skip_blank(p);
	start = p->i;
	if (p->i >= p->n)
		return unclosed(p);
	if (!read_word(p, w, sizeof w))
		return perr(p, TPL_ERR_PARSE, start, "expected a tag name");
	if (strcmp(w, "if") == 0) {
		if (tag_if(p, open_at))
			return -1;
	} else if (strcmp(w, "elsif") == 0 || strcmp(w, "else") == 0 ||
		   strcmp(w, "endif") == 0) {
		if (tag_branch(p, w, open_at))
			return -1;
		skip_blank(p);
	} else {
		return perr(p, TPL_ERR_PARSE, start,
			    "unknown tag '%s' (known: if, elsif, else, "
			    "endif)", w);
	}
	return close_tag(p, "%}");
}

/* Text s[from..to), trimmed as whitespace control asks, as an op. */
static int text(tpl_parser *p, size_t from, size_t to, int trim_end)
{
	size_t k;
	tpl_op op = {.code = OP_TEXT};

	if (p->trim)
		while ((k = blank_at(p->s, to, from)))
			from += k;
	p->trim = 0;
	while (trim_end && to > from) {
		size_t j = char_start(p->s, from, to);
		if (blank_at(p->s, to, j) != to - j)
			break;
		to = j;
	}
	if (to == from)
		return 0;
	op.a = (uint32_t)from;
	op.b = (uint32_t)(to - from);
	return emit(p, op);
}

/* The first "{{" or "{%" at or after i, or n. */
static size_t next_tag(const char *s, size_t n, size_t i)
{
	const char *q;

	while (i + 1 < n && (q = memchr(s + i, '{', n - i - 1))) {
		i = (size_t)(q - s);
		if (s[i + 1] == '{' || s[i + 1] == '%')
			return i;
		i++;
	}
	return n;
}

static int parse_all(tpl_parser *p)
{
	while (p->i < p->n) {
		size_t k = next_tag(p->s, p->n, p->i);
		int dash = k + 2 < p->n && p->s[k + 2] == '-';

		if (text(p, p->i, k, dash))
			return -1;
		if (k == p->n)
			break;
		p->i = k + 2 + (size_t)dash;
		p->tag_at = k;
		if (p->s[k + 1] == '{' ? parse_output(p, k) : parse_tag(p, k))
			return -1;
	}
	if (p->depth)
		return perr(p, TPL_ERR_PARSE, p->blocks[p->depth - 1].at,
			    "if is not closed by endif");
	return 0;
}

/* Well-formed UTF-8 and no NUL, or an error naming the first bad byte. */
static int check_text(tpl_parser *p)
{
	uint32_t c;

	for (size_t i = 0, k; i < p->n; i += k) {
		k = utf8_decode(p->s + i, p->n - i, &c);
		if (!k)
			return perr(p, TPL_ERR_UTF8, i, "not UTF-8");
		if (c == 0)
			return perr(p, TPL_ERR_UTF8, i, "NUL byte");
	}
	return 0;
}

/* The case map, when a filter needs one. */
static tpl_err open_casemap(tpl *t, char *err)
{
	UErrorCode st = U_ZERO_ERROR;

	for (size_t i = 0; i < t->nfilters; i++) {
		if (t->filters[i].kind != F_UPCASE &&
		    t->filters[i].kind != F_DOWNCASE)
			continue;
		t->casemap = ucasemap_open("", 0, &st);
		if (U_FAILURE(st)) {
			if (err)
				snprintf(err, TPL_ERR_MAX, "%s",
					 u_errorName(st));
			return TPL_ERR_ICU;
		}
		break;
	}
	return TPL_OK;
}

tpl_err tpl_compile(const char *src, size_t len, tpl **out,
		    char err[TPL_ERR_MAX])
{
	tpl_parser p = {.s = src, .n = len, .err = err};
	tpl_err rc;

	if (err)
		err[0] = '\0';
	if (!out || (!src && len)) {
		if (err)
			snprintf(err, TPL_ERR_MAX, "no template or no result");
		return TPL_ERR_ARG;
	}
	*out = NULL;
	if (len > TPL_SRC_MAX) {
		if (err)
			snprintf(err, TPL_ERR_MAX,
				 "template longer than %d bytes", TPL_SRC_MAX);
		return TPL_ERR_LIMIT;
	}
	if (check_text(&p))
		return p.code;
	p.t = calloc(1, sizeof *p.t);
	/* The source, then each name (shorter than its ${}) and a NUL. */
	if (!p.t || !(p.t->pool = malloc(2 * len + 2))) {
		nomem(&p);
		rc = TPL_ERR_NOMEM;
		goto out;
	}
	if (len)
		memcpy(p.t->pool, src, len);
	p.t->pool_len = len;
	rc = parse_all(&p) ? p.code : open_casemap(p.t, err);
	if (rc == TPL_OK) {
		*out = p.t;
		p.t = NULL;
	}
out:
	tpl_free(p.t);
	return rc;
}

/* ---- rendering ---- */

typedef struct {
	char *p;
	size_t len, cap;
} tpl_buf;

typedef struct {
	const char *s;
	size_t len;
	int is_false;
	int buf; /* which scratch buffer holds s, or -1 */
} tpl_val;

typedef struct {
	const tpl *t;
	tpl_lookup fn;
	void *ctx;
	tpl_buf out, scratch[2];
	size_t work;
	char *err;
	tpl_err code;
} tpl_run;

static int rerr(tpl_run *r, tpl_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int rerr(tpl_run *r, tpl_err code, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	if (!r->err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(r->err, TPL_ERR_MAX, fmt, ap);
	va_end(ap);
	utf8_clean(r->err);
	return -1;
}

/* Room for need bytes (and a NUL) in b, never past max. */
static int reserve(tpl_run *r, tpl_buf *b, size_t need, size_t max,
		   const char *what)
{
	size_t cap;
	char *np;

	if (need > max)
		return rerr(r, TPL_ERR_LIMIT, "%s longer than %zu bytes", what,
			    max);
	if (need < b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap <= need)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np)
		return rerr(r, TPL_ERR_NOMEM, "out of memory");
	b->p = np;
	b->cap = cap;
	return 0;
}

/* Count bytes read, so a template cannot make a render run for long. */
static int charge(tpl_run *r, size_t n)
{
	r->work += n;
	if (r->work > TPL_WORK_MAX)
		return rerr(r, TPL_ERR_LIMIT,
			    "rendering reads more than %u bytes", TPL_WORK_MAX);
	return 0;
}

static int resolve(tpl_run *r, const tpl_operand *o, tpl_val *v)
{
	const char *name = r->t->pool + o->off;
	const char *s = NULL;
	size_t len = 0;
	tpl_found f;

	memset(v, 0, sizeof *v);
	v->buf = -1;
	v->s = "";
	if (!o->is_var) {
		v->s = r->t->pool + o->off;
		v->len = o->len;
		return 0;
	}
	f = r->fn(r->ctx, (tpl_var_kind)o->kind, name, &s, &len);
	if (f == TPL_FALSE) {
		v->s = "false";
		v->len = 5;
		v->is_false = 1;
	} else if (f == TPL_TEXT && s && len) {
		if (len > TPL_VALUE_MAX)
			return rerr(r, TPL_ERR_LIMIT, "%s %.40s: value longer "
				    "than %d bytes", tpl_kind_names[o->kind],
				    name, TPL_VALUE_MAX);
		if (charge(r, len))
			return -1;
		if (!utf8_valid(s, len))
			return rerr(r, TPL_ERR_UTF8, "%s %.40s: value is not "
				    "UTF-8", tpl_kind_names[o->kind], name);
		v->s = s;
		v->len = len;
	}
	return 0;
}

/* A scratch buffer other than the one v lives in, with room for need. */
static tpl_buf *scratch(tpl_run *r, const tpl_val *v, size_t need, int *which)
{
	*which = v->buf == 0;
	if (reserve(r, &r->scratch[*which], need, TPL_VALUE_MAX,
		    "a filtered value"))
		return NULL;
	return &r->scratch[*which];
}

static int f_case(tpl_run *r, tpl_val *v, int upper)
{
	UErrorCode st = U_ZERO_ERROR;
	size_t guess = v->len + 16;
	int32_t n = 0;
	int which;
	tpl_buf *b;

	/* Mostly the same length; a retry when it grows (ß, ﬃ, ΐ). */
	for (int pass = 0; pass < 2; pass++) {
		b = scratch(r, v, guess, &which);
		if (!b)
			return -1;
		st = U_ZERO_ERROR;
		n = (upper ? ucasemap_utf8ToUpper : ucasemap_utf8ToLower)(
			r->t->casemap, b->p, (int32_t)b->cap, v->s,
			(int32_t)v->len, &st);
		if (st != U_BUFFER_OVERFLOW_ERROR)
			break;
		guess = (size_t)n;
	}
	if (U_FAILURE(st))
		return rerr(r, TPL_ERR_ICU, "case mapping: %s",
			    u_errorName(st));
	v->s = b->p;
	v->len = (size_t)n;
	v->buf = which;
	return 0;
}

static int url_safe(unsigned char c)
{
	return is_word((char)c) || c == '-' || c == '.' || c == '~';
}

static int f_url_encode(tpl_run *r, tpl_val *v)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0, need = 0;
	tpl_buf *b;
	int which;

	for (size_t i = 0; i < v->len; i++) {
		unsigned char c = (unsigned char)v->s[i];

		need += url_safe(c) || c == ' ' ? 1 : 3;
	}
	b = scratch(r, v, need, &which);
	if (!b)
		return -1;
	for (size_t i = 0; i < v->len; i++) {
		unsigned char c = (unsigned char)v->s[i];

		if (url_safe(c)) {
			b->p[o++] = (char)c;
		} else if (c == ' ') {
			b->p[o++] = '+';
		} else {
			b->p[o++] = '%';
			b->p[o++] = hex[c >> 4];
			b->p[o++] = hex[c & 15];
		}
	}
	v->s = b->p;
	v->len = o;
	v->buf = which;
	return 0;
}

static void f_strip(tpl_val *v)
{
	size_t from = 0, to = v->len, k;
	uint32_t c;

	while (from < to && (k = utf8_decode(v->s + from, to - from, &c)) &&
	       js_space(c))
		from += k;
	while (to > from) {
		size_t j = char_start(v->s, from, to);
		if (!utf8_decode(v->s + j, to - j, &c) || !js_space(c))
			break;
		to = j;
	}
	v->s += from;
	v->len = to - from;
}

static size_t code_points(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* Bytes of the first n code points of s[0..len). */
static size_t cp_prefix(const char *s, size_t len, size_t n)
{
	size_t i = 0;

	for (; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && n-- == 0)
			break;
	return i;
}

/* liquidjs 10: over max(N, 0) code points, keep N minus the ellipsis. */
static int f_truncate(tpl_run *r, tpl_val *v, const tpl_filter *f)
{
	tpl_val e = {.s = "...", .len = 3, .buf = -1};
	size_t n = f->n > 0 ? (size_t)f->n : 0, ecp, keep;
	int which;
	tpl_buf *b;

	if (f->arg.off != TPL_NONE && resolve(r, &f->arg, &e))
		return -1;
	if (code_points(v->s, v->len) <= n)
		return 0; /* unchanged, false stays false */
	ecp = code_points(e.s, e.len);
	keep = cp_prefix(v->s, v->len, n > ecp ? n - ecp : 0);
	b = scratch(r, v, keep + e.len, &which);
	if (!b)
		return -1;
	memcpy(b->p, v->s, keep);
	memcpy(b->p + keep, e.s, e.len);
	v->s = b->p;
	v->len = keep + e.len;
	v->is_false = 0;
	v->buf = which;
	return 0;
}

static int apply(tpl_run *r, const tpl_filter *f, tpl_val *v)
{
	if (charge(r, v->len))
		return -1;
	switch (f->kind) {
	case F_DEFAULT:
		return v->len && !v->is_false ? 0 : resolve(r, &f->arg, v);
	case F_TRUNCATE:
		return f_truncate(r, v, f);
	case F_STRIP:
		f_strip(v);
		break;
	case F_URL_ENCODE:
		if (f_url_encode(r, v))
			return -1;
		break;
	default:
		if (f_case(r, v, f->kind == F_UPCASE))
			return -1;
		break;
	}
	v->is_false = 0; /* string filters give text */
	return 0;
}

/* The letter after '\\' that JSON escapes c with, or 0. */
static char json_short(unsigned char c)
{
	switch (c) {
	case '"': return '"';
	case '\\': return '\\';
	case '\b': return 'b';
	case '\f': return 'f';
	case '\n': return 'n';
	case '\r': return 'r';
	case '\t': return 't';
	default: return 0;
	}
}

/* Append s[0..n) to the output, escaped as JSON string contents or not. */
static int put(tpl_run *r, const char *s, size_t n, tpl_escape esc)
{
	tpl_buf *o = &r->out;

	if (esc != TPL_ESC_JSON) {
		if (reserve(r, o, o->len + n, TPL_OUT_MAX, "output"))
			return -1;
		memcpy(o->p + o->len, s, n);
		o->len += n;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[8], sh = json_short(c);
		size_t k = 1;

		e[0] = (char)c;
		if (sh) {
			e[0] = '\\';
			e[1] = sh;
			k = 2;
		} else if (c < 0x20) {
			k = (size_t)snprintf(e, sizeof e, "\\u%04x", c);
		}
		if (reserve(r, o, o->len + k, TPL_OUT_MAX, "output"))
			return -1;
		memcpy(o->p + o->len, e, k);
		o->len += k;
	}
	return 0;
}

static int print(tpl_run *r, const tpl_op *op, tpl_escape esc)
{
	tpl_val v;

	if (resolve(r, &op->v, &v))
		return -1;
	for (uint32_t i = 0; i < op->b; i++)
		if (apply(r, &r->t->filters[op->a + i], &v))
			return -1;
	return put(r, v.s, v.len, esc);
}

static int truthy(tpl_run *r, const tpl_test *x, int *res)
{
	tpl_val l, rv;

	if (resolve(r, &x->l, &l))
		return -1;
	if (x->cmp == CMP_TRUTHY) {
		*res = l.len && !l.is_false;
		return 0;
	}
	/* l points into the lookup's memory or the pool: no scratch. */
	if (resolve(r, &x->r, &rv))
		return -1;
	*res = (l.len == rv.len && memcmp(l.s, rv.s, l.len) == 0) ==
	       (x->cmp == CMP_EQ);
	return 0;
}

/* The tests of one condition, grouped from the right as Liquid does. */
static int holds(tpl_run *r, const tpl_op *op, int *res)
{
	const tpl_test *x = &r->t->tests[op->a];
	int acc = 0, v;

	for (uint32_t i = op->b; i-- > 0;) {
		if (truthy(r, &x[i], &v))
			return -1;
		if (i == op->b - 1)
			acc = v;
		else
			acc = x[i].and_next ? v && acc : v || acc;
	}
	*res = acc;
	return 0;
}

static int run(tpl_run *r, tpl_escape esc)
{
	const tpl *t = r->t;
	int ok;

	for (size_t pc = 0; pc < t->nops;) {
		const tpl_op *op = &t->ops[pc];

		switch (op->code) {
		case OP_TEXT:
			if (put(r, t->pool + op->a, op->b, TPL_ESC_NONE))
				return -1;
			pc++;
			break;
		case OP_OUT:
			if (print(r, op, esc))
				return -1;
			pc++;
			break;
		case OP_JUMP_UNLESS:
			if (holds(r, op, &ok))
				return -1;
			pc = ok ? pc + 1 : op->target;
			break;
		default:
			pc = op->target;
			break;
		}
	}
	return reserve(r, &r->out, r->out.len, TPL_OUT_MAX, "output");
}

tpl_err tpl_render(const tpl *t, tpl_lookup fn, void *ctx, tpl_escape esc,
		   char **out, size_t *out_len, char err[TPL_ERR_MAX])
{
	tpl_run r = {.t = t, .fn = fn, .ctx = ctx, .err = err};

	if (err)
		err[0] = '\0';
	if (out)
		*out = NULL;
	if (out_len)
		*out_len = 0;
	if (!t || !fn || !out || !out_len) {
		rerr(&r, TPL_ERR_ARG, "no template, lookup or result");
		return TPL_ERR_ARG;
	}
	if (run(&r, esc) == 0) {
		r.out.p[r.out.len] = '\0';
		*out = r.out.p;
		*out_len = r.out.len;
		r.out.p = NULL;
	}
	free(r.out.p);
	free(r.scratch[0].p);
	free(r.scratch[1].p);
	return r.code;
}

/*
 * digitre: see digitre.h. A pattern becomes a Thompson NFA (a quantified
 * atom is compiled once per copy it needs, by parsing its text again),
 * then a DFA by subset construction over the ten digits. Only the DFA is
 * kept. Every stage is bounded by the limits in the header, so a hostile
 * pattern costs at most those, and fails with DIGITRE_ERR_TOO_BIG.
 */
#include "lib/digitre.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DIGITS_ALL 0x3ffu
#define REPEAT_INF (-1)
/* Bytes of state sets alive during determinisation. */
#define DIGITRE_WORK_MAX (64u << 20)

struct digitre {
	int32_t (*next)[10]; /* -1: no match can follow */
	uint8_t *accept;
	size_t n;
};

/* mask != 0: on a digit in mask go to out. mask == 0: go to out and, when
 * not -1, also to out2, consuming nothing. */
typedef struct {
	uint16_t mask;
	int32_t out, out2;
} nstate;

/* Entered at start; its dangling exit is end's out (-1 until joined). */
typedef struct {
	int32_t start, end;
} frag;

typedef struct {
	const char *p;
	size_t n, pos;
	nstate *st;
	size_t nst, cap;
	int depth;
	digitre_err err;
} comp;

static int32_t add(comp *c, uint16_t mask, int32_t out, int32_t out2)
{
	if (c->err)
		return -1;
	if (c->nst == DIGITRE_NFA_MAX) {
		c->err = DIGITRE_ERR_TOO_BIG;
		return -1;
	}
	if (c->nst == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		nstate *st = realloc(c->st, cap * sizeof *st);

		if (!st) {
			c->err = DIGITRE_ERR_NOMEM;
			return -1;
		}
		c->st = st;
		c->cap = cap;
	}
	c->st[c->nst] = (nstate){ mask, out, out2 };
	return (int32_t)c->nst++;
}

static frag empty(comp *c)
{
	int32_t s = add(c, 0, -1, -1);

	return (frag){ s, s };
}

/* f then g; on error f is returned as is, and c->err says so. */
static frag join(comp *c, frag f, frag g)
{
	if (c->err)
		return f;
	c->st[f.end].out = g.start;
	return (frag){ f.start, g.end };
}

/* f, or nothing: with loop, f any number of times. */
static frag optional(comp *c, frag f, int loop)
{
	int32_t e = add(c, 0, -1, -1);
	int32_t s = add(c, 0, f.start, e);

	if (c->err)
		return f;
	c->st[f.end].out = loop ? s : e;
	return (frag){ s, e };
}

static frag alternation(comp *c);

static int peek(const comp *c) { return c->pos < c->n ? c->p[c->pos] : -1; }

static uint16_t class_mask(comp *c)
{
	uint16_t mask = 0;
	int ch;

	c->pos++; /* '[' */
	if (peek(c) == '^') {
		c->err = DIGITRE_ERR_UNSUPPORTED;
		return 0;
	}
	while ((ch = peek(c)) != ']') {
		int lo = ch, hi = ch;

		if (ch < 0) {
			c->err = DIGITRE_ERR_SYNTAX;
			return 0;
		}
		if (ch < '0' || ch > '9') {
			c->err = DIGITRE_ERR_UNSUPPORTED;
			return 0;
		}
		c->pos++;
		if (peek(c) == '-' && c->pos + 1 < c->n &&
		    c->p[c->pos + 1] != ']') {
			hi = c->p[c->pos + 1];
			if (hi < '0' || hi > '9' || hi < lo) {
				c->err = hi < '0' || hi > '9'
						 ? DIGITRE_ERR_UNSUPPORTED
						 : DIGITRE_ERR_SYNTAX;
				return 0;
			}
			c->pos += 2;
		}
		for (int d = lo; d <= hi; d++)
			mask |= (uint16_t)(1u << (d - '0'));
	}
	c->pos++; /* ']' */
	if (!mask)
		c->err = DIGITRE_ERR_SYNTAX;
	return mask;
}

static frag group(comp *c)
{
	frag f;

	c->pos++; /* '(' */
	if (c->pos + 1 < c->n && c->p[c->pos] == '?') {
		if (c->p[c->pos + 1] != ':') {
			c->err = DIGITRE_ERR_UNSUPPORTED;
			return empty(c);
		}
		c->pos += 2;
	}
	if (++c->depth > DIGITRE_DEPTH_MAX) {
		c->err = DIGITRE_ERR_TOO_BIG;
		return empty(c);
	}
	f = alternation(c);
	c->depth--;
	if (!c->err && peek(c) != ')')
		c->err = DIGITRE_ERR_SYNTAX;
	c->pos++;
	return f;
}

static frag atom(comp *c)
{
	int ch = peek(c);

	if (ch >= '0' && ch <= '9') {
		c->pos++;
		int32_t s = add(c, (uint16_t)(1u << (ch - '0')), -1, -1);
		return (frag){ s, s };
	}
	if (ch == '\\') {
		if (c->pos + 1 >= c->n || c->p[c->pos + 1] != 'd') {
			c->err = DIGITRE_ERR_UNSUPPORTED;
			return empty(c);
		}
		c->pos += 2;
		int32_t s = add(c, DIGITS_ALL, -1, -1);
		return (frag){ s, s };
	}
	if (ch == '[') {
		uint16_t mask = class_mask(c);
		int32_t s = add(c, mask, -1, -1);
		return (frag){ s, s };
	}
	if (ch == '(')
		return group(c);
	c->err = ch == '?' || ch == '*' || ch == '+' || ch == '{' || ch < 0
			 ? DIGITRE_ERR_SYNTAX
			 : DIGITRE_ERR_UNSUPPORTED;
	return empty(c);
}

static int number(comp *c)
{
	int v = 0, any = 0;

	while (peek(c) >= '0' && peek(c) <= '9') {
		v = v * 10 + (c->p[c->pos++] - '0');
		any = 1;
		if (v > DIGITRE_REPEAT_MAX) {
			c->err = DIGITRE_ERR_TOO_BIG;
			return 0;
		}
	}
	if (!any)
		c->err = DIGITRE_ERR_SYNTAX;
	return v;
}

/* A quantifier at c->pos into *min and *max; 0 when there is none. */
static int quantifier(comp *c, int *min, int *max)
{
	switch (peek(c)) {
	case '?': *min = 0, *max = 1; break;
	case '*': *min = 0, *max = REPEAT_INF; break;
	case '+': *min = 1, *max = REPEAT_INF; break;
	case '{':
		c->pos++;
		*min = *max = number(c);
		if (peek(c) == ',') {
			c->pos++;
			*max = peek(c) == '}' ? REPEAT_INF : number(c);
		}
		if (!c->err && (peek(c) != '}' ||
				(*max != REPEAT_INF && *max < *min)))
			c->err = DIGITRE_ERR_SYNTAX;
		break;
	default:
		return 0;
	}
	c->pos++;
	return 1;
}

/* An atom and its quantifier: min copies, then max - min optional ones
 * (or one looping), each compiled afresh from the atom's text. */
static frag repeat(comp *c)
{
	size_t at = c->pos;
	frag f = atom(c), out;
	int min, max, copies;

	if (c->err || !quantifier(c, &min, &max))
		return f;
	size_t end = c->pos;

	copies = max == REPEAT_INF ? min + 1 : max;
	out = empty(c);
	for (int i = 0; i < copies && !c->err; i++) {
		frag g = f;

		if (i > 0) {
			c->pos = at;
			g = atom(c);
		}
		if (i >= min)
			g = optional(c, g, max == REPEAT_INF);
		out = join(c, out, g);
	}
	c->pos = end;
	return out;
}

static frag sequence(comp *c)
{
	frag f = empty(c);

	while (!c->err && peek(c) >= 0 && peek(c) != '|' && peek(c) != ')')
		f = join(c, f, repeat(c));
	return f;
}

static frag alternation(comp *c)
{
	frag f = sequence(c);

	while (!c->err && peek(c) == '|') {
		c->pos++;
		frag g = sequence(c);
		int32_t e = add(c, 0, -1, -1);
		int32_t s = add(c, 0, f.start, g.start);

		if (c->err)
			break;
		c->st[f.end].out = e;
		c->st[g.end].out = e;
		f = (frag){ s, e };
	}
	return f;
}

/* ---- subset construction ---- */

typedef struct {
	const nstate *st;
	size_t nst, words, match;
	uint64_t *sets; /* n sets of `words` words each */
	size_t n, cap;
	int32_t *slot; /* open addressing: set index, or -1 */
	size_t nslot;
	int32_t *stack;
	digitre *re;
} dfa_build;

static uint64_t *set_at(const dfa_build *b, size_t i)
{
	return b->sets + i * b->words;
}

static void closure(dfa_build *b, uint64_t *set)
{
	size_t top = 0;

	for (size_t w = 0; w < b->words; w++)
		for (uint64_t m = set[w]; m; m &= m - 1)
			b->stack[top++] = (int32_t)(w * 64 +
						    (size_t)__builtin_ctzll(m));
	while (top) {
		const nstate *s = &b->st[b->stack[--top]];
		int32_t to[2] = { s->out, s->out2 };

		if (s->mask)
			continue;
		for (int k = 0; k < 2; k++) {
			uint64_t bit;

			if (to[k] < 0)
				continue;
			bit = 1ull << (to[k] % 64);
			if (set[to[k] / 64] & bit)
				continue;
			set[to[k] / 64] |= bit;
			b->stack[top++] = to[k];
		}
	}
}

static size_t set_hash(const uint64_t *set, size_t words)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t w = 0; w < words; w++)
		h = (h ^ set[w]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

static int grow_slots(dfa_build *b)
{
	size_t n = b->nslot ? b->nslot * 2 : 1024;
	int32_t *slot = malloc(n * sizeof *slot);

	if (!slot)
		return -1;
	memset(slot, 0xff, n * sizeof *slot);
	for (size_t i = 0; i < b->n; i++) {
		size_t h = set_hash(set_at(b, i), b->words) & (n - 1);

		while (slot[h] >= 0)
			h = (h + 1) & (n - 1);
		slot[h] = (int32_t)i;
	}
	free(b->slot);
	b->slot = slot;
	b->nslot = n;
	return 0;
}

/* The DFA state for the set in the scratch slot (index b->n, already
 * allocated): an existing one, or the scratch becomes a new one. */
static digitre_err intern(dfa_build *b, int32_t *idx)
{
	const uint64_t *set = set_at(b, b->n);
	size_t h = set_hash(set, b->words) & (b->nslot - 1);

	for (; b->slot[h] >= 0; h = (h + 1) & (b->nslot - 1))
		if (!memcmp(set_at(b, (size_t)b->slot[h]), set,
			    b->words * sizeof *set)) {
			*idx = b->slot[h];
			return DIGITRE_OK;
		}
	if (b->n + 1 >= DIGITRE_DFA_MAX)
		return DIGITRE_ERR_TOO_BIG;
	b->slot[h] = (int32_t)b->n;
	*idx = (int32_t)b->n++;
	if (b->n * 2 > b->nslot && grow_slots(b))
		return DIGITRE_ERR_NOMEM;
	return DIGITRE_OK;
}

/* Room for set b->n (the scratch) and the DFA row of state b->n. */
static digitre_err reserve(dfa_build *b)
{
	if (b->n + 1 < b->cap)
		return DIGITRE_OK;
	size_t cap = b->cap * 2;
	if (cap * b->words * sizeof(uint64_t) > DIGITRE_WORK_MAX)
		return DIGITRE_ERR_TOO_BIG;
	uint64_t *sets = realloc(b->sets, cap * b->words * sizeof *sets);
	if (!sets)
		return DIGITRE_ERR_NOMEM;
	b->sets = sets;
	int32_t(*next)[10] = realloc(b->re->next, cap * sizeof *next);
	if (!next)
		return DIGITRE_ERR_NOMEM;
	b->re->next = next;
	uint8_t *acc = realloc(b->re->accept, cap);
	if (!acc)
		return DIGITRE_ERR_NOMEM;
	b->re->accept = acc;
	b->cap = cap;
	return DIGITRE_OK;
}

/* Row i: where each digit leads from set i. */
static digitre_err expand(dfa_build *b, size_t i)
{
	digitre_err err;

	b->re->accept[i] =
		(uint8_t)((set_at(b, i)[b->match / 64] >> (b->match % 64)) & 1);
	for (int d = 0; d < 10; d++) {
		if ((err = reserve(b)))
			return err;
		uint64_t *from = set_at(b, i), *to = set_at(b, b->n);
		int any = 0;

		memset(to, 0, b->words * sizeof *to);
		for (size_t w = 0; w < b->words; w++)
			for (uint64_t m = from[w]; m; m &= m - 1) {
				const nstate *s = &b->st[w * 64 + (size_t)
						__builtin_ctzll(m)];
				if (s->mask & (1u << d)) {
					to[s->out / 64] |= 1ull << (s->out % 64);
					any = 1;
				}
			}
		b->re->next[i][d] = -1;
		if (!any)
			continue;
		closure(b, to);
		if ((err = intern(b, &b->re->next[i][d])))
			return err;
	}
	return DIGITRE_OK;
}

static digitre_err determinise(const comp *c, int32_t start, size_t match,
			       digitre *re)
{
	dfa_build b = { .st = c->st, .nst = c->nst, .match = match, .re = re,
			.words = (c->nst + 63) / 64, .cap = 1 };
	digitre_err err = DIGITRE_ERR_NOMEM;
	int32_t idx;

	b.stack = malloc(c->nst * sizeof *b.stack);
	b.sets = calloc(b.words, sizeof *b.sets);
	re->next = malloc(sizeof *re->next);
	re->accept = malloc(1);
	if (!b.stack || !b.sets || !re->next || !re->accept || grow_slots(&b))
		goto out;
	b.sets[start / 64] |= 1ull << (start % 64);
	closure(&b, b.sets);
	if ((err = intern(&b, &idx)))
		goto out;
	for (size_t i = 0; i < b.n; i++)
		if ((err = expand(&b, i)))
			goto out;
	re->n = b.n;
out:
	free(b.stack);
	free(b.sets);
	free(b.slot);
	return err;
}

digitre_err digitre_compile(const char *pattern, size_t len, digitre **out)
{
	comp c = { .p = pattern, .n = len };
	digitre *re = NULL;
	digitre_err err;
	frag f;

	*out = NULL;
	if (!pattern || len > DIGITRE_PATTERN_MAX)
		return pattern ? DIGITRE_ERR_TOO_BIG : DIGITRE_ERR_SYNTAX;
	f = alternation(&c);
	if (!c.err && c.pos != c.n)
		c.err = DIGITRE_ERR_SYNTAX; /* a ')' with no '(' */
	int32_t match = add(&c, 0, -1, -1);
	f = join(&c, f, (frag){ match, match });
	if ((err = c.err))
		goto out;
	err = DIGITRE_ERR_NOMEM;
	if (!(re = calloc(1, sizeof *re)))
		goto out;
	if ((err = determinise(&c, f.start, (size_t)match, re)))
		goto out;
	*out = re;
	re = NULL;
out:
	digitre_free(re);
	free(c.st);
	return err;
}

void digitre_free(digitre *re)
{
	if (!re)
		return;
	free(re->next);
	free(re->accept);
	free(re);
}

static int step(const digitre *re, int32_t *s, char ch)
{
	if (ch < '0' || ch > '9')
		return 0;
	*s = re->next[*s][ch - '0'];
	return *s >= 0;
}

int digitre_full(const digitre *re, const char *s, size_t n)
{
	int32_t at = 0;

	for (size_t i = 0; i < n; i++)
		if (!step(re, &at, s[i]))
			return 0;
	return re->accept[at];
}

int digitre_prefix(const digitre *re, const char *s, size_t n)
{
	int32_t at = 0;

	if (re->accept[0])
		return 1;
	for (size_t i = 0; i < n; i++) {
		if (!step(re, &at, s[i]))
			return 0;
		if (re->accept[at])
			return 1;
	}
	return 0;
}

const char *digitre_strerror(digitre_err err)
{
	switch (err) {
	case DIGITRE_OK: return "ok";
	case DIGITRE_ERR_SYNTAX: return "is not a well-formed expression";
	case DIGITRE_ERR_UNSUPPORTED: return "uses more than digits, classes, groups and counts";
	case DIGITRE_ERR_TOO_BIG: return "is too big";
	case DIGITRE_ERR_NOMEM: return "out of memory";
	}
	return "unknown error";
}

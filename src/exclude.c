/*
 * exclude.c - rsync-style exclude patterns; see exclude.h.
 *
 * Each pattern is compiled once into a list of tokens: a byte set (a
 * literal, `?` or a `[...]` class), `*` or `**`. Matching runs the tokens as
 * an NFA over the path, keeping the set of live token positions as a
 * bitmap, so a match costs O(path length * tokens / 64) whatever the
 * pattern: "*a*a*a*a*b" cannot backtrack exponentially because there is no
 * backtracking at all.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "bounds.h"
#include "buf.h"
#include "exclude.h"
#include "log.h"

enum tok_kind {
	TOK_SET,	/* one byte out of a set */
	TOK_STAR,	/* `*`: any run of bytes but `/` */
	TOK_DSTAR,	/* `**` (or more stars): any run of bytes */
};

struct tok {
	enum tok_kind kind;
	uint64_t set[4];	/* TOK_SET: bit b is byte b */
};

/* Live NFA states: token positions 0..ntok, ntok <= MAX_PATTERN_LEN. */
#define STATE_WORDS	((MAX_PATTERN_LEN + 1 + 63) / 64)

struct rule {
	char *text;		/* as given, for exclude_pattern() */
	struct tok *toks;
	size_t ntok;
	unsigned dir_only:1;	/* had a trailing `/` */
	unsigned anchored:1;	/* had a leading `/` */
	unsigned whole_path:1;	/* has a `/` or `**`: match path and tails */
	unsigned wild3:1;	/* ends in `/` `***`: matches the dir itself too */
};

struct exclude {
	struct rule *rules;
	size_t n, cap;
};

/* Out of memory is not something a backup can carry on from. */
static void *ex_alloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);

	if (!p) {
		fprintf(stderr, "shelter: error: out of memory allocating %zu bytes\n", n);
		abort();
	}
	return p;
}

/* ---- byte sets ---------------------------------------------------------- */

static void set_add(uint64_t *set, unsigned char c)
{
	set[c >> 6] |= (uint64_t)1 << (c & 63);
}

static int set_has(const uint64_t *set, unsigned char c)
{
	return (set[c >> 6] >> (c & 63)) & 1;
}

static void set_add_range(uint64_t *set, unsigned char lo, unsigned char hi)
{
	unsigned c;

	for (c = lo; c <= hi; c++)
		set_add(set, (unsigned char)c);
}

/* Only `/` in the pattern itself (or `**`) may match a separator: `?`,
 * `*` and classes stay within one component, like fnmatch's FNM_PATHNAME. */
static void set_del_slash(uint64_t *set)
{
	set['/' >> 6] &= ~((uint64_t)1 << ('/' & 63));
}

static void set_invert(uint64_t *set)
{
	int i;

	for (i = 0; i < 4; i++)
		set[i] = ~set[i];
	set_del_slash(set);
}

/* POSIX [:name:] classes, ASCII only so the result does not depend on the
 * locale. Returns 0, or -1 for an unknown name. */
static int set_add_named(uint64_t *set, const char *name, size_t len)
{
	static const struct {
		const char *name;
		const char *ranges;	/* pairs of lo, hi */
	} classes[] = {
		{ "alnum", "09AZaz" },
		{ "alpha", "AZaz" },
		{ "blank", "  \t\t" },
		{ "cntrl", "\x01\x1f\x7f\x7f" },	/* no NUL in a path */
		{ "digit", "09" },
		{ "graph", "!~" },
		{ "lower", "az" },
		{ "print", " ~" },
		{ "punct", "!/:@[`{~" },
		{ "space", "\t\r  " },
		{ "upper", "AZ" },
		{ "xdigit", "09AFaf" },
	};
	size_t i;
	const char *r;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		if (strlen(classes[i].name) != len ||
		    memcmp(classes[i].name, name, len) != 0)
			continue;
		for (r = classes[i].ranges; *r; r += 2)
			set_add_range(set, (unsigned char)r[0], (unsigned char)r[1]);
		return 0;
	}
	return -1;
}

/* ---- compiling ---------------------------------------------------------- */

/*
 * Parse the class starting at P (just after `[`) up to END into SET.
 * Returns the position after the closing `]`, or NULL when the class is
 * not closed (the caller then takes the `[` literally, as glob(7) does).
 * `]` right after `[`, `[!` or `[^` is a member, `-` first or last is a
 * member, `\` escapes the next byte.
 */
static const char *parse_class(const char *p, const char *end, uint64_t *set)
{
	int negate = 0, have_prev = 0;
	unsigned char prev = 0, c;
	const char *first;

	memset(set, 0, 4 * sizeof(*set));
	if (p < end && (*p == '!' || *p == '^')) {
		negate = 1;
		p++;
	}
	first = p;
	while (p < end && (*p != ']' || p == first)) {
		if (*p == '[' && p + 1 < end && p[1] == ':') {
			const char *name = p + 2, *q = name;

			while (q + 1 < end && !(q[0] == ':' && q[1] == ']'))
				q++;
			if (q + 1 < end &&
			    set_add_named(set, name, (size_t)(q - name)) == 0) {
				p = q + 2;
				have_prev = 0;
				continue;
			}
			/* Not a known [:name:]: `[` is an ordinary member. */
		}
		if (*p == '-' && have_prev && p + 1 < end && p[1] != ']') {
			p++;
			if (*p == '\\' && p + 1 < end)
				p++;
			c = (unsigned char)*p++;
			if (prev <= c)
				set_add_range(set, prev, c);
			have_prev = 0;
			continue;
		}
		if (*p == '\\' && p + 1 < end)
			p++;
		c = (unsigned char)*p++;
		set_add(set, c);
		prev = c;
		have_prev = 1;
	}
	if (p >= end)
		return NULL;
	if (negate)
		set_invert(set);
	else	/* "[/]" must not match a separator either */
		set_del_slash(set);
	return p + 1;
}

/* Turn BODY (LEN bytes, anchor and trailing slash already removed) into
 * R's tokens. */
static void compile(struct rule *r, const char *body, size_t len)
{
	const char *p = body, *end = body + len;
	struct tok *t;

	/* Never more tokens than bytes; +1 so an empty body still mallocs. */
	r->toks = ex_alloc(NULL, (len + 1) * sizeof(*r->toks));
	r->ntok = 0;
	while (p < end) {
		t = &r->toks[r->ntok++];
		memset(t, 0, sizeof(*t));
		t->kind = TOK_SET;
		if (*p == '*') {
			size_t stars = 0;

			while (p < end && *p == '*') {
				stars++;
				p++;
			}
			t->kind = stars == 1 ? TOK_STAR : TOK_DSTAR;
			if (t->kind == TOK_DSTAR)
				r->whole_path = 1;
		} else if (*p == '?') {
			set_invert(t->set);
			p++;
		} else if (*p == '[') {
			const char *after = parse_class(p + 1, end, t->set);

			if (after) {
				p = after;
			} else {
				memset(t->set, 0, sizeof(t->set));
				set_add(t->set, '[');
				p++;
			}
		} else {
			/* A lone `\` at the very end stands for itself. */
			if (*p == '\\' && p + 1 < end)
				p++;
			if (*p == '/')
				r->whole_path = 1;
			set_add(t->set, (unsigned char)*p++);
		}
	}
}

/* Does the raw pattern end in a `/` that is not escaped? */
static int ends_in_slash(const char *s, size_t len)
{
	size_t bs = 0;

	if (len == 0 || s[len - 1] != '/')
		return 0;
	while (bs + 1 < len && s[len - 2 - bs] == '\\')
		bs++;
	return bs % 2 == 0;
}

static void rule_init(struct rule *r, const char *pattern, size_t len)
{
	const char *body = pattern;

	memset(r, 0, sizeof(*r));
	r->text = ex_alloc(NULL, len + 1);
	memcpy(r->text, pattern, len + 1);
	if (*body == '/') {
		r->anchored = 1;
		body++;
		len--;
	}
	/* "foo//" is as directory-only as "foo/". */
	while (ends_in_slash(body, len)) {
		r->dir_only = 1;
		len--;
	}
	/* rsync: "dir/" + "***" matches dir itself as well as all below it. */
	if (len >= 4 && memcmp(body + len - 4, "/***", 4) == 0)
		r->wild3 = 1;
	compile(r, body, len);
}

/* ---- matching ----------------------------------------------------------- */

static void bit_set(uint64_t *s, size_t i)
{
	s[i / 64] |= (uint64_t)1 << (i % 64);
}

static int bit_get(const uint64_t *s, size_t i)
{
	return (s[i / 64] >> (i % 64)) & 1;
}

/* Stars may match nothing: a live star also makes the token after it live.
 * Only live states are visited, so a long literal pattern costs little;
 * a bit set ahead in the current word is visited too, which carries this
 * through a run of stars (compile merges those anyway). */
static void closure(const struct tok *toks, size_t ntok, uint64_t *s)
{
	size_t words = ntok / 64 + 1, w, i;
	uint64_t bits;

	for (w = 0; w < words; w++) {
		for (bits = s[w]; bits; bits &= bits - 1) {
			i = w * 64 + (size_t)__builtin_ctzll(bits);
			if (i >= ntok || toks[i].kind == TOK_SET)
				continue;
			bit_set(s, i + 1);
			if ((i + 1) / 64 == w)
				bits |= (uint64_t)1 << ((i + 1) % 64);
		}
	}
}

/* Consume byte C: FROM's states become TO's. Returns whether any is live. */
static int step(const struct tok *toks, size_t ntok, const uint64_t *from,
		uint64_t *to, unsigned char c)
{
	size_t words = ntok / 64 + 1, w, i;
	uint64_t bits, any = 0;

	memset(to, 0, words * sizeof(*to));
	for (w = 0; w < words; w++) {
		for (bits = from[w]; bits; bits &= bits - 1) {
			i = w * 64 + (size_t)__builtin_ctzll(bits);
			if (i >= ntok)
				continue;	/* accepting; nothing follows */
			switch (toks[i].kind) {
			case TOK_SET:
				if (set_has(toks[i].set, c))
					bit_set(to, i + 1);
				break;
			case TOK_STAR:
				if (c != '/')
					bit_set(to, i);
				break;
			case TOK_DSTAR:
				bit_set(to, i);
				break;
			}
		}
	}
	closure(toks, ntok, to);
	for (w = 0; w < words; w++)
		any |= to[w];
	return any != 0;
}

/*
 * Do the first NTOK tokens match all of TEXT (LEN bytes)? With TAILS, also
 * try every tail of TEXT that starts after a `/`: a fresh start state is
 * injected at each such point, so all tails are tried in the one pass.
 */
static int nfa_match(const struct tok *toks, size_t ntok, const char *text,
		     size_t len, int tails)
{
	uint64_t a[STATE_WORDS], b[STATE_WORDS];
	uint64_t *cur = a, *next = b, *tmp;
	size_t words = ntok / 64 + 1, j;
	int live = 1;

	memset(cur, 0, words * sizeof(*cur));
	for (j = 0; j <= len; j++) {
		if (j == 0 || (tails && text[j - 1] == '/')) {
			bit_set(cur, 0);
			closure(toks, ntok, cur);
			live = 1;
		}
		if (j == len)
			break;
		if (!live)
			continue;	/* only a later tail can still match */
		live = step(toks, ntok, cur, next, (unsigned char)text[j]);
		tmp = cur;
		cur = next;
		next = tmp;
		if (!live && !tails)
			return 0;
	}
	return live && bit_get(cur, ntok);
}

static int rule_match(const struct rule *r, const char *path, int is_dir)
{
	const char *text = path;
	size_t len;

	if (r->dir_only && !is_dir)
		return 0;
	if (!r->anchored && !r->whole_path) {
		const char *slash = strrchr(path, '/');

		if (slash)
			text = slash + 1;
	}
	len = strlen(text);
	if (nfa_match(r->toks, r->ntok, text, len, !r->anchored && r->whole_path))
		return 1;
	/* "dir/" + "***" without its last two tokens (the `/` and the `**`)
	 * is "dir/": the directory itself. */
	return r->wild3 && is_dir &&
	       nfa_match(r->toks, r->ntok - 2, text, len, !r->anchored);
}

/* ---- the list ----------------------------------------------------------- */

struct exclude *exclude_new(void)
{
	struct exclude *ex = ex_alloc(NULL, sizeof(*ex));

	memset(ex, 0, sizeof(*ex));
	return ex;
}

int exclude_add(struct exclude *ex, const char *pattern)
{
	size_t len = strlen(pattern);

	if (len == 0)
		return error("exclude pattern '': empty pattern");
	if (len > MAX_PATTERN_LEN)
		return error("exclude pattern '%.32s...': longer than %u bytes",
			     pattern, MAX_PATTERN_LEN);
	if (ex->n == ex->cap) {
		ex->cap = ex->cap ? ex->cap * 2 : 16;
		ex->rules = ex_alloc(ex->rules, ex->cap * sizeof(*ex->rules));
	}
	rule_init(&ex->rules[ex->n++], pattern, len);
	return 0;
}

/* Strip the line end; say whether what is left is a pattern at all. */
static int is_pattern_line(char *line, ssize_t *len)
{
	while (*len > 0 && (line[*len - 1] == '\n' || line[*len - 1] == '\r'))
		line[--*len] = '\0';
	return *len > 0 && line[0] != '#' && line[0] != ';';
}

int exclude_add_file(struct exclude *ex, const char *file)
{
	int is_stdin = strcmp(file, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(file, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;

	if (!f)
		return error("exclude-from %s: %s", file, strerror(errno));
	errno = 0;
	while ((len = getline(&line, &cap, f)) != -1) {
		if (is_pattern_line(line, &len) && exclude_add(ex, line) < 0) {
			rc = -1;
			break;
		}
		errno = 0;
	}
	if (rc == 0 && ferror(f))
		rc = error("exclude-from %s: %s", file,
			   strerror(errno ? errno : EIO));
	free(line);
	if (!is_stdin)
		fclose(f);
	return rc;
}

int exclude_match(const struct exclude *ex, const char *path, int is_dir)
{
	size_t i;

	for (i = 0; i < ex->n; i++)
		if (rule_match(&ex->rules[i], path, is_dir))
			return 1;
	return 0;
}

size_t exclude_count(const struct exclude *ex)
{
	return ex->n;
}

const char *exclude_pattern(const struct exclude *ex, size_t i)
{
	return i < ex->n ? ex->rules[i].text : NULL;
}

void exclude_free(struct exclude *ex)
{
	size_t i;

	if (!ex)
		return;
	for (i = 0; i < ex->n; i++) {
		free(ex->rules[i].text);
		free(ex->rules[i].toks);
	}
	free(ex->rules);
	free(ex);
}

int exclude_hides(const struct exclude *ex, const char *path, int is_dir)
{
	const char *slash;

	if (!ex)
		return 0;
	for (slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
		char *dir = xstrndup(path, (size_t)(slash - path));
		int hit = exclude_match(ex, dir, 1);

		free(dir);
		if (hit)
			return 1;
	}
	return exclude_match(ex, path, is_dir);
}

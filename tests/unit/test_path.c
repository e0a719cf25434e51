/* test_path.c - unit tests for src/path.c: wire path rules and listing order. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "path.h"
#include "tap.h"

static int valid(const char *p, size_t n)
{
	char why[256] = "";
	int r = path_valid(p, n, why, sizeof(why));

	if (r)
		ck_assert_msg(why[0] != '\0', "no reason given for rejecting a path");
	return r;
}

#define OK(s) ck_assert_msg(valid(s, strlen(s)) == 0, "'%s' should be valid", s)
#define BAD(s) ck_assert_msg(valid(s, strlen(s)) == -1, "'%s' should be rejected", s)

/* A string of N copies of C; the caller frees. */
static char *rep(char c, size_t n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* ---- path_valid --------------------------------------------------------- */

START_TEST(valid_accept)
{
	OK("a");
	OK("a/b");
	OK("a/b/c");
	OK(".a");
	OK("a.");
	OK("...");
	OK("..a");
	OK("a..");
	OK(".shelter");
	OK("a/.b/..c/...");
	OK("with space");
	OK("x\\y");
	OK("\xff\xfe");
	OK("-");
	OK("a\nb");
}
END_TEST

START_TEST(valid_reject)
{
	BAD("");
	BAD("/");
	BAD("/a");
	BAD("//a");
	BAD("a/");
	BAD("a//b");
	BAD("a/b/");
	BAD(".");
	BAD("..");
	BAD("./a");
	BAD("../a");
	BAD("a/.");
	BAD("a/..");
	BAD("a/./b");
	BAD("a/../b");
	BAD("a/../../x");
	BAD("../escape");
	BAD("/abs");
	BAD("/etc/passwd");
}
END_TEST

START_TEST(valid_nul)
{
	ck_assert_int_eq(valid("a\0b", 3), -1);
	ck_assert_int_eq(valid("\0", 1), -1);
	ck_assert_int_eq(valid("ab\0", 3), -1);
	/* The length counts, not a terminator. */
	ck_assert_int_eq(valid("ab/cd", 2), 0);
	ck_assert_int_eq(valid("ab/cd", 3), -1);	/* "ab/" */
}
END_TEST

START_TEST(valid_component_length)
{
	char *n255 = rep('x', MAX_NAME_LEN), *n256 = rep('x', MAX_NAME_LEN + 1);
	char buf[600];

	OK(n255);
	BAD(n256);
	snprintf(buf, sizeof(buf), "a/%s", n255);
	OK(buf);
	snprintf(buf, sizeof(buf), "a/%s", n256);
	BAD(buf);
	snprintf(buf, sizeof(buf), "%s/b", n256);
	BAD(buf);
	free(n255);
	free(n256);
}
END_TEST

START_TEST(valid_total_length)
{
	/* "aaaa/aaaa/..." of exactly N bytes. */
	char p[MAX_PATH_LEN + 10];
	size_t i;

	for (i = 0; i < sizeof(p); i++)
		p[i] = (i % 5 == 4) ? '/' : 'a';
	/* 4095 = 819 * 5, so byte 4094 is a '/': make it a name byte. */
	ck_assert_int_eq(valid(p, MAX_PATH_LEN), -1);	/* trailing slash */
	ck_assert_int_eq(valid(p, MAX_PATH_LEN - 1), 0);
	p[MAX_PATH_LEN - 1] = 'a';
	ck_assert_int_eq(valid(p, MAX_PATH_LEN), 0);
	p[MAX_PATH_LEN] = 'a';
	ck_assert_int_eq(valid(p, MAX_PATH_LEN + 1), -1);
	ck_assert_int_eq(valid(p, MAX_PATH_LEN + 5), -1);
}
END_TEST

/* ---- path_cmp: pre-order ----------------------------------------------- */

static int sgn(int x)
{
	return (x > 0) - (x < 0);
}

#define LT(a, b) do { \
	ck_assert_msg(path_cmp(a, b) < 0, "'%s' should sort before '%s'", a, b); \
	ck_assert_msg(path_cmp(b, a) > 0, "'%s' should sort after '%s'", b, a); \
} while (0)

START_TEST(cmp_preorder)
{
	LT("a", "a/b");
	LT("a/b", "a-b");
	LT("a-b", "a0");
	LT("a", "a-b");
	LT("a", "a0");
	LT("a/b", "a/c");
	LT("a/z", "ab");
	LT("a/zzz/zzz", "a-");
	LT("a/b", "a/b/c");
	LT("a/b/c", "a/ba");
	LT("a/\x01", "a\x01");	/* '/' below even control bytes */
	LT("a", "b");
	LT("A", "a");
	LT("z", "\xc3\xa9");		/* bytes are unsigned */
	LT("a/\xff", "a\x01");
	ck_assert_int_eq(path_cmp("a/b", "a/b"), 0);
	ck_assert_int_eq(path_cmp("", ""), 0);
	LT("", "a");
}
END_TEST

START_TEST(cmp_sorted_listing)
{
	/* A tree listed in pre-order, siblings in byte order. */
	static const char *const order[] = {
		"a", "a/b", "a/b/c", "a/b/d", "a/bc", "a/c", "a!", "a-b", "a-b/x", "a.txt",
		"a0", "ab", "ab/a", "b", "b/\x01", "b/a",
	};
	size_t n = sizeof(order) / sizeof(order[0]), i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			ck_assert_msg(sgn(path_cmp(order[i], order[j])) == sgn((int)i - (int)j),
				      "path_cmp('%s', '%s') = %d", order[i], order[j],
				      path_cmp(order[i], order[j]));
}
END_TEST

/* Pre-order by definition: compare component lists lexicographically. */
static int ref_cmp(const char *a, const char *b)
{
	for (;;) {
		size_t la = strcspn(a, "/"), lb = strcspn(b, "/"), m = la < lb ? la : lb;
		int c = memcmp(a, b, m);

		if (c)
			return c;
		if (la != lb)
			return la < lb ? -1 : 1;
		a += la;
		b += lb;
		if (!*a || !*b)
			return (*a != 0) - (*b != 0);
		a++;
		b++;
	}
}

static void random_path(char *out, unsigned *seed)
{
	static const char alpha[] = "ab-0./\x7f\x80";
	int ncomp = 1 + rand_r(seed) % 3, i, j, o = 0;

	for (i = 0; i < ncomp; i++) {
		int len = 1 + rand_r(seed) % 3;

		if (i)
			out[o++] = '/';
		for (j = 0; j < len; j++) {
			char c;

			do
				c = alpha[rand_r(seed) % (sizeof(alpha) - 1)];
			while (c == '/');
			out[o++] = c;
		}
	}
	out[o] = '\0';
}

START_TEST(cmp_random_antisymmetry)
{
	enum { N = 400 };
	static char paths[N][16];
	unsigned seed = 12345;
	int i, j, k;

	for (i = 0; i < N; i++)
		random_path(paths[i], &seed);
	/* Plain ifs in the loops: every ck_assert costs a message to the runner. */
	for (i = 0; i < N; i++) {
		if (path_cmp(paths[i], paths[i]) != 0)
			ck_abort_msg("'%s' differs from itself", paths[i]);
		for (j = 0; j < N; j++) {
			int c = path_cmp(paths[i], paths[j]);

			if (sgn(c) != -sgn(path_cmp(paths[j], paths[i])))
				ck_abort_msg("antisymmetry fails for '%s' '%s'", paths[i], paths[j]);
			if ((c == 0) != (strcmp(paths[i], paths[j]) == 0))
				ck_abort_msg("'%s' and '%s' compare equal", paths[i], paths[j]);
			if (sgn(c) != sgn(ref_cmp(paths[i], paths[j])))
				ck_abort_msg("'%s' vs '%s': path_cmp %d, pre-order %d", paths[i],
					     paths[j], c, ref_cmp(paths[i], paths[j]));
		}
	}
	/* Transitivity on a sample of triples. */
	for (k = 0; k < 20000; k++) {
		const char *a = paths[rand_r(&seed) % N], *b = paths[rand_r(&seed) % N],
			   *c = paths[rand_r(&seed) % N];

		if (path_cmp(a, b) < 0 && path_cmp(b, c) < 0 && path_cmp(a, c) >= 0)
			ck_abort_msg("not transitive: %s %s %s", a, b, c);
	}
}
END_TEST

START_TEST(cmp_parent_before_children)
{
	/* Every directory sorts before everything below it and after its prior siblings. */
	unsigned seed = 777;
	char p[16], child[40];
	int k;

	for (k = 0; k < 2000; k++) {
		char sub[40];

		random_path(p, &seed);
		snprintf(child, sizeof(child), "%s/%s", p, "\x01");
		if (path_cmp(p, child) >= 0)
			ck_abort_msg("'%s' not before '%s'", p, child);
		snprintf(child, sizeof(child), "%s/\xff\xff", p);
		if (path_cmp(p, child) >= 0)
			ck_abort_msg("'%s' not before '%s'", p, child);
		/* p's subtree ends before p + any byte ("p!" / "p\x01"). */
		snprintf(child, sizeof(child), "%s\x01", p);
		snprintf(sub, sizeof(sub), "%s/\xff", p);
		if (path_cmp(p, child) >= 0 || path_cmp(sub, child) >= 0)
			ck_abort_msg("subtree of '%s' not before '%s'", p, child);
	}
}
END_TEST

/* ---- the other helpers ----------------------------------------------------- */

START_TEST(parent_len)
{
	ck_assert_uint_eq(path_parent_len("a/b/c", 5), 3);
	ck_assert_uint_eq(path_parent_len("c", 1), 0);
	ck_assert_uint_eq(path_parent_len("ab/c", 4), 2);
	ck_assert_uint_eq(path_parent_len("a/bcd", 5), 1);
	ck_assert_uint_eq(path_parent_len("", 0), 0);
	/* N limits what is looked at. */
	ck_assert_uint_eq(path_parent_len("a/b/c", 3), 1);
	ck_assert_uint_eq(path_parent_len("abc/def", 3), 0);
}
END_TEST

START_TEST(base)
{
	ck_assert_str_eq(path_base("a/b/c"), "c");
	ck_assert_str_eq(path_base("c"), "c");
	ck_assert_str_eq(path_base("dir/.hidden"), ".hidden");
	{
		const char *p = "x/yz";

		ck_assert_ptr_eq(path_base(p), p + 2);
	}
}
END_TEST

START_TEST(within)
{
	ck_assert_int_eq(path_is_within("a", "a"), 1);
	ck_assert_int_eq(path_is_within("a", "a/b"), 1);
	ck_assert_int_eq(path_is_within("a", "a/b/c"), 1);
	ck_assert_int_eq(path_is_within("a/b", "a/b/c"), 1);
	ck_assert_int_eq(path_is_within("a", "ab"), 0);
	ck_assert_int_eq(path_is_within("a", "a-b"), 0);
	ck_assert_int_eq(path_is_within("a/b", "a"), 0);
	ck_assert_int_eq(path_is_within("a/b", "a/bc"), 0);
	ck_assert_int_eq(path_is_within("b", "a/b"), 0);
	/* Absolute paths, as session.c uses it for roots. */
	ck_assert_int_eq(path_is_within("/home/u", "/home/u/backup"), 1);
	ck_assert_int_eq(path_is_within("/home/u", "/home/user"), 0);
}
END_TEST

START_TEST(join)
{
	char *s;

	s = path_join("", "name");
	ck_assert_str_eq(s, "name");
	free(s);
	s = path_join("dir", "name");
	ck_assert_str_eq(s, "dir/name");
	free(s);
	s = path_join("a/b", "c");
	ck_assert_str_eq(s, "a/b/c");
	free(s);
	s = path_join("a", "");
	ck_assert_str_eq(s, "a/");
	free(s);
}
END_TEST

static Suite *path_suite(void)
{
	Suite *s = suite_create("path");
	TCase *tc;

	tc = tcase_create("valid");
	tcase_add_test(tc, valid_accept);
	tcase_add_test(tc, valid_reject);
	tcase_add_test(tc, valid_nul);
	tcase_add_test(tc, valid_component_length);
	tcase_add_test(tc, valid_total_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("order");
	tcase_add_test(tc, cmp_preorder);
	tcase_add_test(tc, cmp_sorted_listing);
	tcase_add_test(tc, cmp_random_antisymmetry);
	tcase_add_test(tc, cmp_parent_before_children);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_test(tc, parent_len);
	tcase_add_test(tc, base);
	tcase_add_test(tc, within);
	tcase_add_test(tc, join);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tap_run(path_suite());
}

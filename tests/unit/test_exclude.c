/* test_exclude.c - unit tests for src/exclude.c. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exclude.h"
#include "log.h"
#include "tap.h"

#define FILE_PATH 0
#define DIR_PATH 1

/* Does PATTERN alone exclude PATH? */
static int m(const char *pattern, const char *path, int is_dir)
{
	struct exclude *ex = exclude_new();
	int r;

	ck_assert_int_eq(exclude_add(ex, pattern), 0);
	r = exclude_match(ex, path, is_dir);
	exclude_free(ex);
	return r;
}

#define YES(pat, path, dir) \
	ck_assert_msg(m(pat, path, dir) == 1, "'%s' should match '%s'%s", \
		      pat, path, (dir) ? " (dir)" : "")
#define NO(pat, path, dir) \
	ck_assert_msg(m(pat, path, dir) == 0, "'%s' should not match '%s'%s", \
		      pat, path, (dir) ? " (dir)" : "")

/* Messages sent through error() land here instead of on stderr. */
static char last_msg[8192];
static int nmsg;

static void capture(enum log_kind kind, const char *text, void *arg)
{
	(void)kind;
	(void)arg;
	snprintf(last_msg, sizeof(last_msg), "%s", text);
	nmsg++;
}

static void setup_capture(void)
{
	last_msg[0] = '\0';
	nmsg = 0;
	log_set_sink(capture, NULL);
}

static void teardown_capture(void)
{
	log_set_sink(NULL, NULL);
}

/* Write CONTENT to a new temporary file; the caller unlinks NAME. */
static void write_temp(char *name, size_t size, const char *content)
{
	const char *dir = getenv("TMPDIR");
	size_t len = strlen(content);
	int fd;

	snprintf(name, size, "%s/test_exclude.XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(name);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- name patterns (no `/`) --------------------------------------------- */

START_TEST(name_literal)
{
	YES("foo", "foo", FILE_PATH);
	YES("foo", "a/b/foo", FILE_PATH);
	YES("foo", "a/foo", DIR_PATH);
	NO("foo", "foo.c", FILE_PATH);
	NO("foo", "xfoo", FILE_PATH);
	NO("foo", "foo/bar", FILE_PATH);
	NO("foo", "a/xfoo", FILE_PATH);
}
END_TEST

START_TEST(name_star_suffix)
{
	YES("*.o", "c.o", FILE_PATH);
	YES("*.o", "a/b/c.o", FILE_PATH);
	YES("*.o", ".o", FILE_PATH);
	NO("*.o", "c.o/x", FILE_PATH);
	NO("*.o", "c.oo", FILE_PATH);
	NO("*.o", "a/b/c.c", FILE_PATH);
}
END_TEST

START_TEST(name_star_matches_empty_and_all)
{
	YES("*", "x", FILE_PATH);
	YES("*", "a/b/c", FILE_PATH);
	YES("a*", "a", FILE_PATH);
	YES("a*b", "ab", FILE_PATH);
	YES("a*b", "axxxb", FILE_PATH);
	NO("a*b", "axxxc", FILE_PATH);
	YES("*a*", "dir/xay", FILE_PATH);
	NO("*a*", "a/xyz", FILE_PATH);
}
END_TEST

START_TEST(question_mark)
{
	YES("?", "x", FILE_PATH);
	YES("a?c", "abc", FILE_PATH);
	YES("a?c", "d/abc", FILE_PATH);
	NO("a?c", "ac", FILE_PATH);
	NO("a?c", "abbc", FILE_PATH);
	/* `?` never matches the separator */
	NO("a?c", "a/c", FILE_PATH);
	NO("/a?c", "a/c", FILE_PATH);
	NO("x/a?c", "x/a/c", FILE_PATH);
}
END_TEST

START_TEST(question_mark_high_bytes)
{
	YES("a?c", "a\xff" "c", FILE_PATH);
	YES("\xc3\xa9*", "\xc3\xa9t\xc3\xa9", FILE_PATH);
	/* `?` is one byte, so a two-byte UTF-8 letter takes two */
	NO("?", "\xc3\xa9", FILE_PATH);
	YES("??", "\xc3\xa9", FILE_PATH);
}
END_TEST

/* ---- classes ------------------------------------------------------------ */

START_TEST(class_range)
{
	YES("[a-c]x", "ax", FILE_PATH);
	YES("[a-c]x", "bx", FILE_PATH);
	YES("[a-c]x", "cx", FILE_PATH);
	YES("[a-c]x", "d/cx", FILE_PATH);
	NO("[a-c]x", "dx", FILE_PATH);
	NO("[a-c]x", "x", FILE_PATH);
	NO("[a-c]x", "abx", FILE_PATH);
	YES("[0-9a-f]", "7", FILE_PATH);
	YES("[0-9a-f]", "e", FILE_PATH);
	NO("[0-9a-f]", "g", FILE_PATH);
}
END_TEST

START_TEST(class_set)
{
	YES("[xyz].c", "y.c", FILE_PATH);
	NO("[xyz].c", "w.c", FILE_PATH);
	/* a backwards range is empty */
	NO("[c-a]", "b", FILE_PATH);
}
END_TEST

START_TEST(class_negated)
{
	YES("[!a]x", "bx", FILE_PATH);
	NO("[!a]x", "ax", FILE_PATH);
	YES("[^a]x", "bx", FILE_PATH);
	NO("[^a]x", "ax", FILE_PATH);
	NO("[!a-z]", "q", FILE_PATH);
	YES("[!a-z]", "Q", FILE_PATH);
	YES("[!a]", "\xff", FILE_PATH);
}
END_TEST

START_TEST(class_never_matches_slash)
{
	NO("x[!a]y", "x/y", FILE_PATH);
	NO("/x[!a]y", "x/y", FILE_PATH);
	NO("/x[/]y", "x/y", FILE_PATH);
}
END_TEST

START_TEST(class_special_members)
{
	/* `]` first is a member, `-` first or last is a member */
	YES("[]a]", "]", FILE_PATH);
	YES("[]a]", "a", FILE_PATH);
	NO("[]a]", "b", FILE_PATH);
	YES("[!]a]", "b", FILE_PATH);
	NO("[!]a]", "]", FILE_PATH);
	YES("[-a]", "-", FILE_PATH);
	YES("[a-]", "-", FILE_PATH);
	NO("[a-]", "b", FILE_PATH);
	/* escaped members */
	YES("[\\]]", "]", FILE_PATH);
	YES("[\\*]", "*", FILE_PATH);
	NO("[\\*]", "x", FILE_PATH);
	/* `*` and `?` inside a class are plain bytes */
	YES("[*?]", "?", FILE_PATH);
	NO("[*?]", "a", FILE_PATH);
}
END_TEST

START_TEST(class_posix_names)
{
	YES("[[:digit:]]x", "7x", FILE_PATH);
	NO("[[:digit:]]x", "ax", FILE_PATH);
	YES("[[:upper:][:digit:]]", "Q", FILE_PATH);
	YES("[![:alpha:]]", "1", FILE_PATH);
	NO("[![:alpha:]]", "z", FILE_PATH);
	YES("[[:space:]]", " ", FILE_PATH);
}
END_TEST

START_TEST(class_unclosed_is_literal)
{
	YES("[ab", "[ab", FILE_PATH);
	NO("[ab", "a", FILE_PATH);
	YES("x[", "x[", FILE_PATH);
}
END_TEST

/* ---- escapes ------------------------------------------------------------ */

START_TEST(escape_star)
{
	YES("\\*", "*", FILE_PATH);
	YES("\\*", "a/*", FILE_PATH);
	NO("\\*", "x", FILE_PATH);
	NO("\\*", "**", FILE_PATH);
	YES("a\\*b", "a*b", FILE_PATH);
	NO("a\\*b", "axb", FILE_PATH);
}
END_TEST

START_TEST(escape_others)
{
	YES("\\?", "?", FILE_PATH);
	NO("\\?", "x", FILE_PATH);
	YES("\\[a]", "[a]", FILE_PATH);
	NO("\\[a]", "a", FILE_PATH);
	YES("a\\\\b", "a\\b", FILE_PATH);
	YES("\\a", "a", FILE_PATH);
	/* a lone trailing backslash stands for itself */
	YES("a\\", "a\\", FILE_PATH);
}
END_TEST

/* ---- anchoring ---------------------------------------------------------- */

START_TEST(anchored)
{
	YES("/foo", "foo", FILE_PATH);
	YES("/foo", "foo", DIR_PATH);
	NO("/foo", "a/foo", FILE_PATH);
	NO("/foo", "foo/bar", FILE_PATH);
	NO("/foo", "foox", FILE_PATH);
}
END_TEST

START_TEST(anchored_with_slash)
{
	YES("/a/b", "a/b", FILE_PATH);
	NO("/a/b", "x/a/b", FILE_PATH);
	YES("/a/*.c", "a/x.c", FILE_PATH);
	NO("/a/*.c", "a/b/x.c", FILE_PATH);
	YES("/*", "top", FILE_PATH);
	NO("/*", "top/sub", FILE_PATH);
}
END_TEST

/* ---- trailing slash: directories only ----------------------------------- */

START_TEST(dir_only)
{
	YES("foo/", "foo", DIR_PATH);
	NO("foo/", "foo", FILE_PATH);
	YES("foo/", "a/b/foo", DIR_PATH);
	NO("foo/", "a/b/foo", FILE_PATH);
	YES("foo//", "foo", DIR_PATH);
	NO("foo//", "foo", FILE_PATH);
}
END_TEST

START_TEST(dir_only_anchored)
{
	YES("/foo/", "foo", DIR_PATH);
	NO("/foo/", "foo", FILE_PATH);
	NO("/foo/", "a/foo", DIR_PATH);
	YES("/a/b/", "a/b", DIR_PATH);
	NO("/a/b/", "a/b", FILE_PATH);
}
END_TEST

START_TEST(dir_only_name_pattern_stays_name)
{
	/* the stripped `/` does not make it a whole-path pattern */
	YES("*.d/", "x/y/z.d", DIR_PATH);
	NO("*.d/", "x/y/z.d", FILE_PATH);
}
END_TEST

START_TEST(escaped_trailing_slash)
{
	/* "foo\/" ends in a literal `/`, not a directory marker, so it can
	 * never match a path (paths have no trailing `/`) */
	NO("foo\\/", "foo", DIR_PATH);
	NO("foo\\/", "foo", FILE_PATH);
	/* but "foo\\/" is a literal backslash then the marker */
	YES("foo\\\\/", "foo\\", DIR_PATH);
	NO("foo\\\\/", "foo\\", FILE_PATH);
}
END_TEST

/* ---- unanchored patterns with `/`: path and every tail ------------------ */

START_TEST(unanchored_slash_tails)
{
	YES("a/b", "a/b", FILE_PATH);
	YES("a/b", "x/a/b", FILE_PATH);
	YES("a/b", "x/y/a/b", DIR_PATH);
	NO("a/b", "xa/b", FILE_PATH);
	NO("a/b", "a/bx", FILE_PATH);
	NO("a/b", "a/b/c", FILE_PATH);
	NO("a/b", "a/x/b", FILE_PATH);
}
END_TEST

START_TEST(unanchored_slash_with_star)
{
	YES("a/*.c", "a/x.c", FILE_PATH);
	YES("a/*.c", "q/a/x.c", FILE_PATH);
	NO("a/*.c", "a/b/x.c", FILE_PATH);
	NO("a/*.c", "ba/x.c", FILE_PATH);
	/* `*` at the start of a tail stays inside one component */
	YES("*/b", "a/b", FILE_PATH);
	YES("*/b", "x/y/a/b", FILE_PATH);
	NO("*/b", "b", FILE_PATH);
}
END_TEST

START_TEST(tail_retried_after_failure)
{
	/* the first candidate "a/" is a dead end; a later tail matches */
	YES("a/b/c", "a/a/b/c", FILE_PATH);
	YES("a/b/c", "a/b/a/b/c", FILE_PATH);
	NO("a/b/c", "a/b/a/b/x", FILE_PATH);
}
END_TEST

/* ---- `**` --------------------------------------------------------------- */

START_TEST(dstar_leading)
{
	YES("**/tmp", "x/tmp", DIR_PATH);
	YES("**/tmp", "x/y/z/tmp", DIR_PATH);
	NO("**/tmp", "x/tmpx", DIR_PATH);
	NO("**/tmp", "x/xtmp", DIR_PATH);
	NO("**/tmp", "x/tmp/y", FILE_PATH);
	/* rsync: `**` is just "any run"; the `/` after it is literal, so a
	 * top-level tmp is not matched (use "tmp" or "/tmp" for that) */
	NO("**/tmp", "tmp", DIR_PATH);
}
END_TEST

START_TEST(dstar_middle)
{
	YES("a/**/z", "a/b/z", FILE_PATH);
	YES("a/**/z", "a/b/c/d/z", FILE_PATH);
	YES("a/**/z", "q/a/b/z", FILE_PATH);
	NO("a/**/z", "a/z", FILE_PATH);
	NO("a/**/z", "a/b/zz", FILE_PATH);
	NO("a/**/z", "xa/b/z", FILE_PATH);
	YES("/a/**/z", "a/b/c/z", FILE_PATH);
	NO("/a/**/z", "q/a/b/z", FILE_PATH);
}
END_TEST

START_TEST(dstar_trailing)
{
	YES("/a/**", "a/b", FILE_PATH);
	YES("/a/**", "a/b/c/d", FILE_PATH);
	NO("/a/**", "a", DIR_PATH);
	NO("/a/**", "b/c", FILE_PATH);
}
END_TEST

START_TEST(dstar_makes_whole_path)
{
	/* no `/`, but `**` crosses components and is tried on every tail */
	YES("foo**bar", "foo/x/bar", FILE_PATH);
	YES("foo**bar", "q/foo/x/bar", FILE_PATH);
	YES("foo**bar", "foobar", FILE_PATH);
	NO("foo**bar", "xfoo/bar", FILE_PATH);
	NO("foo**bar", "foo/bar/x", FILE_PATH);
	YES("**.o", "a/b.o", FILE_PATH);
	YES("**", "anything/at/all", FILE_PATH);
}
END_TEST

START_TEST(single_star_does_not_cross)
{
	NO("/a*z", "a/z", FILE_PATH);
	NO("/a*z", "ab/cz", FILE_PATH);
	YES("/a*/*z", "ab/cz", FILE_PATH);
	YES("/a**z", "ab/cz", FILE_PATH);
}
END_TEST

START_TEST(triple_star_suffix)
{
	/* rsync: "dir/" + "***" matches dir itself and everything below it */
	YES("/a/***", "a", DIR_PATH);
	NO("/a/***", "a", FILE_PATH);
	YES("/a/***", "a/b/c", FILE_PATH);
	YES("a/***", "x/a", DIR_PATH);
	NO("a/***", "xa", DIR_PATH);
	YES("a/***", "x/a/y", FILE_PATH);
}
END_TEST

/* ---- pathological patterns finish quickly ------------------------------- */

START_TEST(pathological_star)
{
	char path[4096];
	char pat[64];
	double t0 = now();
	int i;

	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	snprintf(pat, sizeof(pat), "%s", "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
	for (i = 0; i < 10; i++)
		NO(pat, path, FILE_PATH);
	path[sizeof(path) - 2] = 'b';
	YES(pat, path, FILE_PATH);
	ck_assert_msg(now() - t0 < 2.0, "took %.2f s", now() - t0);
}
END_TEST

START_TEST(pathological_dstar)
{
	char path[4096];
	size_t i;
	double t0 = now();

	/* "a/a/a/.../a" */
	for (i = 0; i + 1 < sizeof(path); i++)
		path[i] = i % 2 ? '/' : 'a';
	path[sizeof(path) - 1] = '\0';
	for (i = 0; i < 10; i++)
		NO("**a**a**a**a**a**a**a**a**a**a**a**b", path, FILE_PATH);
	NO("*/**/*a*/**a*/*a*/**/*a*a*a*/*b", path, FILE_PATH);
	ck_assert_msg(now() - t0 < 2.0, "took %.2f s", now() - t0);
}
END_TEST

START_TEST(longest_pattern)
{
	char pat[4096], name[2048];

	/* 4095 bytes of "*a*a..." against a long path */
	memset(pat, 'a', sizeof(pat) - 1);
	for (size_t i = 0; i + 1 < sizeof(pat); i += 2)
		pat[i] = '*';
	pat[sizeof(pat) - 1] = '\0';
	NO(pat, "aaaaaaaaaaaaaaaaaaaa", FILE_PATH);
	/* it has 2047 `a`s, so a name of 2047 `a`s does match */
	memset(name, 'a', 2047);
	name[2047] = '\0';
	YES(pat, name, FILE_PATH);
	name[2046] = '\0';
	NO(pat, name, FILE_PATH);
	pat[sizeof(pat) - 2] = '*';
	pat[0] = 'a';
	NO(pat, "a", FILE_PATH);
}
END_TEST

/* ---- lists -------------------------------------------------------------- */

START_TEST(list_any_pattern_matches)
{
	struct exclude *ex = exclude_new();

	ck_assert_int_eq(exclude_match(ex, "anything", 0), 0);
	ck_assert_int_eq(exclude_add(ex, "*.o"), 0);
	ck_assert_int_eq(exclude_add(ex, "/build/"), 0);
	ck_assert_int_eq(exclude_add(ex, "cache"), 0);
	ck_assert_int_eq(exclude_match(ex, "src/x.o", 0), 1);
	ck_assert_int_eq(exclude_match(ex, "build", 1), 1);
	ck_assert_int_eq(exclude_match(ex, "build", 0), 0);
	ck_assert_int_eq(exclude_match(ex, "a/cache", 0), 1);
	ck_assert_int_eq(exclude_match(ex, "src/x.c", 0), 0);
	exclude_free(ex);
}
END_TEST

START_TEST(list_keeps_patterns_as_given)
{
	struct exclude *ex = exclude_new();
	int i;
	char pat[32];

	/* more than one growth of the array */
	for (i = 0; i < 100; i++) {
		snprintf(pat, sizeof(pat), "/p%d/", i);
		ck_assert_int_eq(exclude_add(ex, pat), 0);
	}
	ck_assert_uint_eq(exclude_count(ex), 100);
	ck_assert_str_eq(exclude_pattern(ex, 0), "/p0/");
	ck_assert_str_eq(exclude_pattern(ex, 99), "/p99/");
	ck_assert_int_eq(exclude_match(ex, "p57", 1), 1);
	ck_assert_int_eq(exclude_match(ex, "p57", 0), 0);
	ck_assert_int_eq(exclude_match(ex, "p100", 1), 0);
	exclude_free(ex);
}
END_TEST

START_TEST(free_null)
{
	exclude_free(NULL);
}
END_TEST

START_TEST(add_rejects_empty)
{
	struct exclude *ex = exclude_new();

	ck_assert_int_eq(exclude_add(ex, ""), -1);
	ck_assert_uint_eq(exclude_count(ex), 0);
	ck_assert_int_eq(nmsg, 1);
	ck_assert_ptr_nonnull(strstr(last_msg, "exclude pattern"));
	exclude_free(ex);
}
END_TEST

START_TEST(add_length_limit)
{
	struct exclude *ex = exclude_new();
	char *pat = malloc(4097);

	ck_assert_ptr_nonnull(pat);
	memset(pat, 'x', 4096);
	pat[4096] = '\0';
	ck_assert_int_eq(exclude_add(ex, pat), -1);
	ck_assert_int_eq(nmsg, 1);
	ck_assert_ptr_nonnull(strstr(last_msg, "exclude pattern"));
	ck_assert_uint_eq(exclude_count(ex), 0);
	pat[4095] = '\0';
	ck_assert_int_eq(exclude_add(ex, pat), 0);
	ck_assert_uint_eq(exclude_count(ex), 1);
	ck_assert_int_eq(exclude_match(ex, pat, 0), 1);
	free(pat);
	exclude_free(ex);
}
END_TEST

/* ---- exclude_add_file --------------------------------------------------- */

START_TEST(file_comments_blanks_crlf)
{
	struct exclude *ex = exclude_new();
	char name[4096];

	write_temp(name, sizeof(name),
		   "# a comment\n"
		   "*.o\n"
		   "\n"
		   "; another comment\n"
		   "/build/\r\n"
		   "\r\n"
		   " spaced \n"
		   "a#b\n"
		   "last-without-newline");
	ck_assert_int_eq(exclude_add_file(ex, name), 0);
	unlink(name);
	ck_assert_uint_eq(exclude_count(ex), 5);
	ck_assert_str_eq(exclude_pattern(ex, 0), "*.o");
	ck_assert_str_eq(exclude_pattern(ex, 1), "/build/");
	/* spaces are significant, as in rsync */
	ck_assert_str_eq(exclude_pattern(ex, 2), " spaced ");
	ck_assert_str_eq(exclude_pattern(ex, 3), "a#b");
	ck_assert_str_eq(exclude_pattern(ex, 4), "last-without-newline");
	ck_assert_int_eq(exclude_match(ex, "build", 1), 1);
	ck_assert_int_eq(exclude_match(ex, "x/y.o", 0), 1);
	exclude_free(ex);
}
END_TEST

START_TEST(file_long_line)
{
	struct exclude *ex = exclude_new();
	char name[4096];
	char *content = malloc(4000 + 3);

	/* longer than any fixed line buffer a naive reader might use */
	ck_assert_ptr_nonnull(content);
	memset(content, 'q', 4000);
	memcpy(content + 4000, "\n", 2);
	write_temp(name, sizeof(name), content);
	ck_assert_int_eq(exclude_add_file(ex, name), 0);
	unlink(name);
	ck_assert_uint_eq(exclude_count(ex), 1);
	ck_assert_uint_eq(strlen(exclude_pattern(ex, 0)), 4000);
	free(content);
	exclude_free(ex);
}
END_TEST

START_TEST(file_too_long_pattern_fails)
{
	struct exclude *ex = exclude_new();
	char name[4096];
	char *content = malloc(5000 + 2);

	ck_assert_ptr_nonnull(content);
	memset(content, 'q', 5000);
	memcpy(content + 5000, "\n", 2);
	write_temp(name, sizeof(name), content);
	ck_assert_int_eq(exclude_add_file(ex, name), -1);
	unlink(name);
	ck_assert_int_eq(nmsg, 1);
	ck_assert_ptr_nonnull(strstr(last_msg, "exclude pattern"));
	free(content);
	exclude_free(ex);
}
END_TEST

START_TEST(file_missing)
{
	struct exclude *ex = exclude_new();

	ck_assert_int_eq(exclude_add_file(ex, "/nonexistent/dir/excl"), -1);
	ck_assert_uint_eq(exclude_count(ex), 0);
	ck_assert_int_eq(nmsg, 1);
	ck_assert_str_eq(last_msg,
		"exclude-from /nonexistent/dir/excl: No such file or directory");
	exclude_free(ex);
}
END_TEST

START_TEST(file_is_directory)
{
	struct exclude *ex = exclude_new();

	/* fopen of a directory succeeds; the read fails with EISDIR */
	ck_assert_int_eq(exclude_add_file(ex, "/"), -1);
	ck_assert_int_eq(nmsg, 1);
	ck_assert_ptr_nonnull(strstr(last_msg, "exclude-from /: "));
	exclude_free(ex);
}
END_TEST

START_TEST(file_empty)
{
	struct exclude *ex = exclude_new();
	char name[4096];

	write_temp(name, sizeof(name), "");
	ck_assert_int_eq(exclude_add_file(ex, name), 0);
	unlink(name);
	ck_assert_uint_eq(exclude_count(ex), 0);
	exclude_free(ex);
}
END_TEST

START_TEST(file_stdin)
{
	struct exclude *ex = exclude_new();
	char name[4096];
	int fd;

	/* runs in its own forked process, so replacing stdin is harmless */
	write_temp(name, sizeof(name), "from-stdin\n#x\n");
	fd = open(name, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	close(fd);
	unlink(name);
	ck_assert_int_eq(exclude_add_file(ex, "-"), 0);
	ck_assert_uint_eq(exclude_count(ex), 1);
	ck_assert_str_eq(exclude_pattern(ex, 0), "from-stdin");
	exclude_free(ex);
}
END_TEST

static Suite *exclude_suite(void)
{
	Suite *s = suite_create("exclude");
	TCase *tc;

	tc = tcase_create("match");
	tcase_add_test(tc, name_literal);
	tcase_add_test(tc, name_star_suffix);
	tcase_add_test(tc, name_star_matches_empty_and_all);
	tcase_add_test(tc, question_mark);
	tcase_add_test(tc, question_mark_high_bytes);
	tcase_add_test(tc, class_range);
	tcase_add_test(tc, class_set);
	tcase_add_test(tc, class_negated);
	tcase_add_test(tc, class_never_matches_slash);
	tcase_add_test(tc, class_special_members);
	tcase_add_test(tc, class_posix_names);
	tcase_add_test(tc, class_unclosed_is_literal);
	tcase_add_test(tc, escape_star);
	tcase_add_test(tc, escape_others);
	tcase_add_test(tc, anchored);
	tcase_add_test(tc, anchored_with_slash);
	tcase_add_test(tc, dir_only);
	tcase_add_test(tc, dir_only_anchored);
	tcase_add_test(tc, dir_only_name_pattern_stays_name);
	tcase_add_test(tc, escaped_trailing_slash);
	tcase_add_test(tc, unanchored_slash_tails);
	tcase_add_test(tc, unanchored_slash_with_star);
	tcase_add_test(tc, tail_retried_after_failure);
	tcase_add_test(tc, dstar_leading);
	tcase_add_test(tc, dstar_middle);
	tcase_add_test(tc, dstar_trailing);
	tcase_add_test(tc, dstar_makes_whole_path);
	tcase_add_test(tc, single_star_does_not_cross);
	tcase_add_test(tc, triple_star_suffix);
	suite_add_tcase(s, tc);

	tc = tcase_create("pathological");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, pathological_star);
	tcase_add_test(tc, pathological_dstar);
	tcase_add_test(tc, longest_pattern);
	suite_add_tcase(s, tc);

	tc = tcase_create("list");
	tcase_add_checked_fixture(tc, setup_capture, teardown_capture);
	tcase_add_test(tc, list_any_pattern_matches);
	tcase_add_test(tc, list_keeps_patterns_as_given);
	tcase_add_test(tc, free_null);
	tcase_add_test(tc, add_rejects_empty);
	tcase_add_test(tc, add_length_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	tcase_add_checked_fixture(tc, setup_capture, teardown_capture);
	tcase_add_test(tc, file_comments_blanks_crlf);
	tcase_add_test(tc, file_long_line);
	tcase_add_test(tc, file_too_long_pattern_fails);
	tcase_add_test(tc, file_missing);
	tcase_add_test(tc, file_is_directory);
	tcase_add_test(tc, file_empty);
	tcase_add_test(tc, file_stdin);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tap_run(exclude_suite());
}

/* test_remote.c - unit tests for src/remote.c: remote paths and -e splitting. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "remote.h"
#include "tap.h"

static void remote_is(const char *arg, const char *host, const char *path)
{
	char *h = NULL, *p = NULL;

	ck_assert_msg(remote_parse(arg, &h, &p) == 1, "'%s' should be remote", arg);
	ck_assert_str_eq(h, host);
	ck_assert_str_eq(p, path);
	free(h);
	free(p);
}

static void local_is(const char *arg)
{
	char *h = NULL, *p = NULL;

	ck_assert_msg(remote_parse(arg, &h, &p) == 0, "'%s' should be local", arg);
	ck_assert_ptr_null(h);
	ck_assert_ptr_null(p);
}

START_TEST(remote_paths)
{
	remote_is("host:path", "host", "path");
	remote_is("host:/abs/path", "host", "/abs/path");
	remote_is("user@host:dir/x", "user@host", "dir/x");
	remote_is("host:", "host", "");
	remote_is("host:a:b", "host", "a:b");
	remote_is("[::1]:/srv", "::1", "/srv");
	remote_is("[fe80::1%eth0]:x", "fe80::1%eth0", "x");
}
END_TEST

START_TEST(local_paths)
{
	local_is("plain");
	local_is("/abs/a:b");
	local_is("./a:b");
	local_is("a/b:c");
	local_is(":x");
	local_is("");
	local_is("[::1]");
	local_is("[]:x");
	local_is("[::1]x");
}
END_TEST

static void split_is(const char *cmd, int n, const char *const *want)
{
	int got = -1, i;
	char **v = remote_split(cmd, &got);

	ck_assert_msg(v != NULL, "'%s' should split", cmd);
	ck_assert_int_eq(got, n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(v[i], want[i]);
	ck_assert_ptr_null(v[n]);
	remote_argv_free(v);
}

START_TEST(split_words)
{
	static const char *const a[] = { "ssh" };
	static const char *const b[] = { "ssh", "-p", "2222", "-i", "key" };
	static const char *const c[] = { "ssh", "-o", "ProxyCommand=nc %h %p" };
	static const char *const d[] = { "ssh", "-i", "my key" };
	static const char *const e[] = { "ssh", "a\"b", "c\\d" };
	static const char *const f[] = { "x y", "z" };

	split_is("ssh", 1, a);
	split_is("  ssh -p 2222\t-i key  ", 5, b);
	split_is("ssh -o 'ProxyCommand=nc %h %p'", 3, c);
	split_is("ssh -i \"my key\"", 3, d);
	split_is("ssh \"a\\\"b\" c\\\\d", 3, e);
	split_is("x\\ y z", 2, f);
}
END_TEST

START_TEST(split_rejects)
{
	int n;

	ck_assert_ptr_null(remote_split("", &n));
	ck_assert_ptr_null(remote_split("   ", &n));
	ck_assert_ptr_null(remote_split("ssh 'unclosed", &n));
	ck_assert_ptr_null(remote_split("ssh \"unclosed", &n));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("remote");
	TCase *tc = tcase_create("remote");

	tcase_add_test(tc, remote_paths);
	tcase_add_test(tc, local_paths);
	tcase_add_test(tc, split_words);
	tcase_add_test(tc, split_rejects);
	suite_add_tcase(s, tc);
	return tap_run(s);
}

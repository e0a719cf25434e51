/* test_escape.c - unit tests for src/escape.c. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "tap.h"

/* Escape the NUL-terminated S and compare with WANT. */
static void check_escape(const char *s, const char *want)
{
	char *got = escape_bytes(s, strlen(s));

	ck_assert_str_eq(got, want);
	free(got);
}

/* Unescape S and compare with the LEN bytes of WANT. */
static void check_unescape(const char *s, const char *want, size_t want_len)
{
	size_t len = 12345;
	char *got = unescape_bytes(s, &len);

	ck_assert_msg(got != NULL, "unescape of '%s' failed", s);
	ck_assert_uint_eq(len, want_len);
	ck_assert_int_eq(memcmp(got, want, want_len), 0);
	ck_assert_int_eq(got[len], '\0');
	free(got);
}

static void check_rejected(const char *s)
{
	size_t len = 0;
	char *got = unescape_bytes(s, &len);

	ck_assert_msg(got == NULL, "unescape of '%s' should fail", s);
}

/* ---- escape_bytes ------------------------------------------------------- */

START_TEST(escape_plain_unchanged)
{
	check_escape("", "");
	check_escape("hello world.txt", "hello world.txt");
	check_escape("a/b/c", "a/b/c");
	check_escape("~!@#$%^&*()_+{}|:\"<>?", "~!@#$%^&*()_+{}|:\"<>?");
}
END_TEST

START_TEST(escape_specials)
{
	check_escape("a\nb", "a\\nb");
	check_escape("a\tb", "a\\tb");
	check_escape("a\\b", "a\\\\b");
	check_escape("new\nline\ttab\\slash", "new\\nline\\ttab\\\\slash");
	check_escape("\\\\", "\\\\\\\\");
}
END_TEST

START_TEST(escape_control_hex_lowercase)
{
	check_escape("\x01", "\\x01");
	check_escape("\r", "\\x0d");
	check_escape("\x1b[0m", "\\x1b[0m");
	check_escape("\x1f", "\\x1f");
	check_escape("\x7f", "\\x7f");
	check_escape("\x0b\x0c", "\\x0b\\x0c");
}
END_TEST

START_TEST(escape_nul_byte)
{
	char *got = escape_bytes("a\0b", 3);

	ck_assert_str_eq(got, "a\\x00b");
	free(got);
}
END_TEST

START_TEST(escape_high_bytes_raw)
{
	/* not UTF-8 at all, and UTF-8: both stay as they are */
	check_escape("\xff", "\xff");
	check_escape("\x80\xfe", "\x80\xfe");
	check_escape("caf\xc3\xa9", "caf\xc3\xa9");
	check_escape(" ", " ");
}
END_TEST

START_TEST(escape_every_byte)
{
	char in[2], want[8];
	int c;

	/* each byte alone, against the rule written out independently */
	for (c = 0; c < 256; c++) {
		char *got;

		in[0] = (char)c;
		if (c == '\\')
			snprintf(want, sizeof(want), "\\\\");
		else if (c == '\t')
			snprintf(want, sizeof(want), "\\t");
		else if (c == '\n')
			snprintf(want, sizeof(want), "\\n");
		else if (c < 0x20 || c == 0x7f)
			snprintf(want, sizeof(want), "\\x%02x", c);
		else
			snprintf(want, sizeof(want), "%c", c);
		got = escape_bytes(in, 1);
		ck_assert_msg(strcmp(got, want) == 0, "byte 0x%02x", c);
		free(got);
	}
}
END_TEST

START_TEST(escape_output_has_no_controls)
{
	char in[256];
	char *got;
	size_t i;

	for (i = 0; i < 256; i++)
		in[i] = (char)i;
	got = escape_bytes(in, sizeof(in));
	/* the result is safe to put on one line of a tab-separated index */
	for (i = 0; got[i]; i++) {
		ck_assert_int_ge((unsigned char)got[i], 0x20);
		ck_assert_int_ne((unsigned char)got[i], 0x7f);
	}
	free(got);
}
END_TEST

/* ---- unescape_bytes ----------------------------------------------------- */

START_TEST(unescape_plain)
{
	check_unescape("", "", 0);
	check_unescape("abc/def", "abc/def", 7);
	check_unescape("\xff\x80", "\xff\x80", 2);
	check_unescape("\x7f", "\x7f", 1);
}
END_TEST

START_TEST(unescape_specials)
{
	check_unescape("a\\nb\\tc\\\\d", "a\nb\tc\\d", 7);
	check_unescape("\\x00", "\0", 1);
	check_unescape("\\x1b\\x7f", "\x1b\x7f", 2);
	check_unescape("\\xff", "\xff", 1);
	/* accepted though escape_bytes never writes them */
	check_unescape("\\x41", "A", 1);
	check_unescape("\\x4A\\xFf", "J\xff", 2);
}
END_TEST

START_TEST(unescape_rejects_lone_backslash)
{
	check_rejected("\\");
	check_rejected("abc\\");
	check_rejected("a\\\\\\");
}
END_TEST

START_TEST(unescape_rejects_bad_hex)
{
	check_rejected("\\x");
	check_rejected("\\x4");
	check_rejected("a\\x4");
	check_rejected("\\xg0");
	check_rejected("\\x0g");
	check_rejected("\\x 1");
	check_rejected("\\X41");
}
END_TEST

START_TEST(unescape_rejects_unknown_letter)
{
	check_rejected("\\r");
	check_rejected("\\0");
	check_rejected("\\a");
	check_rejected("\\ ");
	check_rejected("\\\xff");
	check_rejected("ok\\q");
}
END_TEST

START_TEST(unescape_rejects_raw_controls)
{
	check_rejected("a\tb");
	check_rejected("a\nb");
	check_rejected("\r");
	check_rejected("\x01");
	check_rejected("x\x1f");
}
END_TEST

/* ---- round trips -------------------------------------------------------- */

static void round_trip(const char *s, size_t len)
{
	char *esc = escape_bytes(s, len);
	size_t got_len = 0;
	char *back = unescape_bytes(esc, &got_len);

	ck_assert_ptr_nonnull(back);
	ck_assert_uint_eq(got_len, len);
	ck_assert_int_eq(memcmp(back, s, len), 0);
	free(esc);
	free(back);
}

START_TEST(round_trip_all_bytes)
{
	char in[512];
	size_t i;

	/* every byte value, in order and reversed */
	for (i = 0; i < 256; i++) {
		in[i] = (char)i;
		in[511 - i] = (char)i;
	}
	round_trip(in, sizeof(in));
	for (i = 0; i < 256; i++)
		round_trip(&in[i], 1);
}
END_TEST

START_TEST(round_trip_tricky_names)
{
	static const char *names[] = {
		"file with\nnewline",
		"tab\there",
		"back\\slash",
		"\\x41 looks like an escape",
		"\\\\n",
		"trailing backslash\\",
		"\xff\xfe not utf-8",
		"\xe2\x98\x83 snowman",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		round_trip(names[i], strlen(names[i]));
	round_trip("", 0);
	round_trip("a\0b\0", 4);
}
END_TEST

START_TEST(round_trip_pseudo_random)
{
	char buf[300];
	unsigned state = 12345;
	int n, i;

	for (n = 0; n < 2000; n++) {
		int len = n % (int)sizeof(buf);

		for (i = 0; i < len; i++) {
			state = state * 1103515245u + 12345u;
			buf[i] = (char)(state >> 16);
		}
		round_trip(buf, (size_t)len);
	}
}
END_TEST

static Suite *escape_suite(void)
{
	Suite *s = suite_create("escape");
	TCase *tc;

	tc = tcase_create("escape");
	tcase_add_test(tc, escape_plain_unchanged);
	tcase_add_test(tc, escape_specials);
	tcase_add_test(tc, escape_control_hex_lowercase);
	tcase_add_test(tc, escape_nul_byte);
	tcase_add_test(tc, escape_high_bytes_raw);
	tcase_add_test(tc, escape_every_byte);
	tcase_add_test(tc, escape_output_has_no_controls);
	suite_add_tcase(s, tc);

	tc = tcase_create("unescape");
	tcase_add_test(tc, unescape_plain);
	tcase_add_test(tc, unescape_specials);
	tcase_add_test(tc, unescape_rejects_lone_backslash);
	tcase_add_test(tc, unescape_rejects_bad_hex);
	tcase_add_test(tc, unescape_rejects_unknown_letter);
	tcase_add_test(tc, unescape_rejects_raw_controls);
	suite_add_tcase(s, tc);

	tc = tcase_create("round_trip");
	tcase_add_test(tc, round_trip_all_bytes);
	tcase_add_test(tc, round_trip_tricky_names);
	tcase_add_test(tc, round_trip_pseudo_random);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tap_run(escape_suite());
}

/* test_histindex.c - unit tests for the pure parts of src/histindex.c:
 * --at times, JSON strings, and which version is live at a time. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "histindex.h"
#include "tap.h"

static const struct timespec now = { 1795650000, 500 };	/* 2026-11-25T23:40:00Z */

static struct timespec when_ok(const char *s)
{
	struct timespec t = { 0, 0 };
	char why[256] = "";

	ck_assert_msg(parse_when(s, &now, &t, why, sizeof(why)) == 0, "'%s' refused: %s", s, why);
	return t;
}

static void when_bad(const char *s)
{
	struct timespec t;
	char why[256] = "";

	ck_assert_msg(parse_when(s, &now, &t, why, sizeof(why)) < 0, "'%s' accepted", s);
	ck_assert_msg(*why, "no reason for '%s'", s);
}

START_TEST(when_utc_forms)
{
	struct timespec t = when_ok("2026-11-25T14:00:00Z");

	ck_assert_int_eq(t.tv_sec, 1795615200);
	ck_assert_int_eq(t.tv_nsec, 0);
	t = when_ok("2026-11-25T14:00:00.123456789Z");
	ck_assert_int_eq(t.tv_sec, 1795615200);
	ck_assert_int_eq(t.tv_nsec, 123456789);
	t = when_ok("2026-11-25T14:00:00.5Z");
	ck_assert_int_eq(t.tv_nsec, 500000000);
	t = when_ok("2026-11-25T14:00Z");
	ck_assert_int_eq(t.tv_sec, 1795615200);
	t = when_ok("2026-11-25T15:30:00+01:30");
	ck_assert_int_eq(t.tv_sec, 1795615200);
	t = when_ok("2026-11-25T09:00:00-0500");
	ck_assert_int_eq(t.tv_sec, 1795615200);
	t = when_ok("@1795615200.25");
	ck_assert_int_eq(t.tv_sec, 1795615200);
	ck_assert_int_eq(t.tv_nsec, 250000000);
}
END_TEST

START_TEST(when_local_forms)
{
	struct timespec t;

	setenv("TZ", "UTC", 1);
	tzset();
	t = when_ok("2026-11-25");
	ck_assert_int_eq(t.tv_sec, 1795564800);
	t = when_ok("2026-11-25T14:00:00");
	ck_assert_int_eq(t.tv_sec, 1795615200);
	setenv("TZ", "CET-1", 1);
	tzset();
	t = when_ok("2026-11-25T15:00:00");
	ck_assert_int_eq(t.tv_sec, 1795615200);
}
END_TEST

START_TEST(when_ages)
{
	ck_assert_int_eq(when_ok("30m").tv_sec, now.tv_sec - 1800);
	ck_assert_int_eq(when_ok("12h").tv_sec, now.tv_sec - 43200);
	ck_assert_int_eq(when_ok("3d").tv_sec, now.tv_sec - 3 * 86400);
	ck_assert_int_eq(when_ok("2w").tv_sec, now.tv_sec - 14 * 86400);
	ck_assert_int_eq(when_ok("0s").tv_sec, now.tv_sec);
}
END_TEST

START_TEST(when_refused)
{
	const char *bad[] = {
		"", "yesterday", "3x", "12", "3dd", "-3d", "2026-13-01", "2026-02-30", "2026-11-31",
		"2026-11-25T25:00", "2026-11-25T14:60", "2026-11-25T14:00:00+25:00",
		"2026-11-25T14:00:00.1234567891Z", "2026-11-25T14:00:00.Z", "2026-11-25x",
		"26-11-25", "@", "@x", "@1.", "99999999999999999999d",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		when_bad(bad[i]);
}
END_TEST

static void check_json(const char *s, size_t n, const char *want)
{
	char *out = malloc(6 * n + 3);

	ck_assert_uint_eq(json_string(out, s, n), strlen(want));
	ck_assert_str_eq(out, want);
	free(out);
}

START_TEST(json_text_and_escapes)
{
	check_json("plain", 5, "\"plain\"");
	check_json("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	check_json("t\tn\n\x01\x7f", 6, "\"t\\u0009n\\u000a\\u0001\\u007f\"");
	check_json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}
END_TEST

START_TEST(json_bytes_not_utf8)
{
	check_json("\xff\xfe", 2, "\"\\udcff\\udcfe\"");
	check_json("\xc3", 1, "\"\\udcc3\"");			/* cut short */
	check_json("\xc0\xaf", 2, "\"\\udcc0\\udcaf\"");	/* overlong */
	check_json("\xed\xa0\x80", 3, "\"\\udced\\udca0\\udc80\"");	/* a surrogate */
	check_json("\xf4\x90\x80\x80", 4, "\"\\udcf4\\udc90\\udc80\\udc80\"");	/* > U+10FFFF */
	check_json("a\xe2\x82x", 4, "\"a\\udce2\\udc82x\"");
}
END_TEST

/* Versions of one path: kept at 100 and 200, then the current one. */
static struct hversion vs[3];

static void setup_versions(int births)
{
	memset(vs, 0, sizeof(vs));
	vs[0].event = HV_CHANGED;
	vs[0].type = 'f';
	vs[0].kept_at.tv_sec = 100;
	vs[1].event = HV_DELETED;
	vs[1].type = 'f';
	vs[1].kept_at.tv_sec = 200;
	vs[2].event = HV_CURRENT;
	vs[2].type = 'f';
	if (births) {
		vs[0].has_birth = vs[1].has_birth = vs[2].has_birth = 1;
		vs[0].birth.tv_sec = 50;
		vs[1].birth.tv_sec = 100;	/* written by the pass that kept vs[0] */
		vs[2].birth.tv_sec = 300;	/* re-created after the deletion at 200 */
	}
}

static const struct hversion *at(size_t n, time_t sec)
{
	struct timespec t = { sec, 0 };

	return hist_at(vs, n, &t);
}

START_TEST(live_by_index)
{
	setup_versions(0);
	ck_assert_ptr_eq(at(3, 10), &vs[0]);
	ck_assert_ptr_eq(at(3, 99), &vs[0]);
	ck_assert_ptr_eq(at(3, 100), &vs[1]);	/* kept at 100: no longer live at 100 */
	ck_assert_ptr_eq(at(3, 199), &vs[1]);
	ck_assert_ptr_eq(at(3, 200), &vs[2]);
	ck_assert_ptr_eq(at(2, 200), NULL);	/* deleted, not in the mirror */
}
END_TEST

START_TEST(live_by_birth)
{
	setup_versions(1);
	ck_assert_ptr_eq(at(3, 10), NULL);	/* before the first version was made */
	ck_assert_ptr_eq(at(3, 60), &vs[0]);
	ck_assert_ptr_eq(at(3, 120), &vs[1]);
	vs[0].event = HV_DELETED;
	vs[1].birth.tv_sec = 130;
	ck_assert_ptr_eq(at(3, 120), NULL);	/* deleted at 100, back only at 130 */
	ck_assert_ptr_eq(at(3, 130), &vs[1]);
	ck_assert_ptr_eq(at(3, 250), NULL);	/* deleted at 200, back at 300 */
	ck_assert_ptr_eq(at(3, 300), &vs[2]);
}
END_TEST

START_TEST(kept_directory_of_unknown_birth)
{
	setup_versions(0);
	vs[0].type = 'd';
	ck_assert_ptr_eq(at(1, 10), NULL);
	ck_assert_ptr_eq(hist_candidate(vs, 1, &(struct timespec){ 10, 0 }), &vs[0]);
	vs[0].has_birth = 1;
	vs[0].birth.tv_sec = 5;
	ck_assert_ptr_eq(at(1, 10), &vs[0]);
}
END_TEST

static Suite *histindex_suite(void)
{
	Suite *s = suite_create("histindex");
	TCase *tc = tcase_create("when");

	tcase_add_test(tc, when_utc_forms);
	tcase_add_test(tc, when_local_forms);
	tcase_add_test(tc, when_ages);
	tcase_add_test(tc, when_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, json_text_and_escapes);
	tcase_add_test(tc, json_bytes_not_utf8);
	suite_add_tcase(s, tc);

	tc = tcase_create("live_at");
	tcase_add_test(tc, live_by_index);
	tcase_add_test(tc, live_by_birth);
	tcase_add_test(tc, kept_directory_of_unknown_birth);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tap_run(histindex_suite());
}

/* test_retention.c - unit tests for src/retention.c: the --keep-... policy. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "buf.h"
#include "opts.h"
#include "proto.h"
#include "retention.h"
#include "tap.h"

#define MAXS 64

static struct snap s[MAXS];
static size_t ns;

static void zone(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* Add a snapshot at local time "YYYY-MM-DD HH:MM:SS" (the current TZ). */
static void at(const char *when)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	ck_assert_int_eq(sscanf(when, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
				&tm.tm_hour, &tm.tm_min, &tm.tm_sec), 6);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_isdst = -1;
	ck_assert(ns < MAXS);
	s[ns].t.tv_sec = mktime(&tm);
	s[ns].t.tv_nsec = 0;
	s[ns].id = ns;
	s[ns].keep = 0xdead;
	ns++;
}

static void reset(void)
{
	ns = 0;
}

/* The ids of the kept snapshots, newest first, as "3 1 0". */
static const char *kept(const struct keep_rules *r)
{
	static char out[512];
	size_t i, len = 0;

	retention_apply(r, s, ns);
	out[0] = '\0';
	for (i = 0; i < ns; i++)
		if (s[i].keep)
			len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%zu",
						len ? " " : "", s[i].id);
	return out;
}

static unsigned why(size_t id)
{
	size_t i;

	for (i = 0; i < ns; i++)
		if (s[i].id == id)
			return s[i].keep;
	ck_abort_msg("no snapshot %zu", id);
	return 0;
}

START_TEST(last_n)
{
	struct keep_rules r = { .last = 3 };

	zone("UTC");
	reset();
	at("2026-01-01 00:00:00");	/* 0 */
	at("2026-01-01 01:00:00");
	at("2026-01-01 02:00:00");
	at("2026-01-01 03:00:00");
	at("2026-01-01 04:00:00");	/* 4 */
	ck_assert_str_eq(kept(&r), "4 3 2");
	ck_assert_uint_eq(why(4), KEEP_LAST | KEEP_NEWEST);
	ck_assert_uint_eq(why(2), KEEP_LAST);
	ck_assert_uint_eq(why(0), 0);
	r.last = 10;
	ck_assert_str_eq(kept(&r), "4 3 2 1 0");
}
END_TEST

START_TEST(sorted_whatever_the_input_order)
{
	struct keep_rules r = { .last = 2 };

	zone("UTC");
	reset();
	at("2026-01-01 03:00:00");	/* 0 */
	at("2026-01-01 01:00:00");	/* 1 */
	at("2026-01-01 04:00:00");	/* 2 */
	at("2026-01-01 02:00:00");	/* 3 */
	ck_assert_str_eq(kept(&r), "2 0");
	ck_assert_uint_eq(retention_apply(&r, s, ns), 2);
}
END_TEST

START_TEST(daily_midnight)
{
	struct keep_rules r = { .daily = 2 };

	zone("UTC");
	reset();
	at("2026-03-01 10:00:00");	/* 0 */
	at("2026-03-01 23:59:59");	/* 1: the newest of March 1 */
	at("2026-03-02 00:00:00");	/* 2: March 2, one second later */
	at("2026-03-02 12:00:00");	/* 3 */
	at("2026-03-02 23:59:59");	/* 4: the newest of March 2 */
	ck_assert_str_eq(kept(&r), "4 1");
	ck_assert_uint_eq(why(1), KEEP_DAILY);
	r.daily = 1;
	ck_assert_str_eq(kept(&r), "4");
}
END_TEST

START_TEST(daily_counts_days_with_snapshots)
{
	struct keep_rules r = { .daily = 3 };

	zone("UTC");
	reset();
	at("2026-03-01 10:00:00");	/* 0 */
	at("2026-03-05 10:00:00");	/* 1 */
	at("2026-03-05 11:00:00");	/* 2 */
	at("2026-03-20 10:00:00");	/* 3 */
	at("2026-03-29 10:00:00");	/* 4 */
	/* Three days that have snapshots, however far apart, not three calendar days. */
	ck_assert_str_eq(kept(&r), "4 3 2");
}
END_TEST

START_TEST(daily_local_time)
{
	struct keep_rules r = { .daily = 2 };

	/* 03:00 UTC is still the day before in New York. */
	zone("America/New_York");
	reset();
	at("2026-06-09 20:00:00");	/* 0: June 9 local */
	at("2026-06-09 23:00:00");	/* 1: June 9 local, June 10 03:00 UTC */
	at("2026-06-10 09:00:00");	/* 2 */
	ck_assert_str_eq(kept(&r), "2 1");
	zone("UTC");
}
END_TEST

START_TEST(daily_dst)
{
	struct keep_rules r = { .daily = 2 };

	/* 2026-10-25 is 25 hours long in Berlin; 2026-03-29 is 23. */
	zone("Europe/Berlin");
	reset();
	at("2026-10-25 00:30:00");	/* 0 */
	at("2026-10-25 23:30:00");	/* 1: same local day, 24 h later */
	at("2026-10-26 00:10:00");	/* 2 */
	ck_assert_str_eq(kept(&r), "2 1");
	reset();
	at("2026-03-29 00:30:00");	/* 0 */
	at("2026-03-29 23:30:00");	/* 1: 22 h later */
	at("2026-03-30 00:10:00");	/* 2 */
	ck_assert_str_eq(kept(&r), "2 1");
	zone("UTC");
}
END_TEST

START_TEST(weekly_iso_53)
{
	struct keep_rules r = { .weekly = 2 };

	zone("UTC");
	reset();
	/* 2026 has an ISO week 53: Mon Dec 28 .. Sun Jan 3 2027. */
	at("2026-12-27 12:00:00");	/* 0: Sunday, week 52 */
	at("2026-12-28 12:00:00");	/* 1: Monday, week 53 */
	at("2026-12-31 12:00:00");	/* 2: week 53 */
	at("2027-01-01 12:00:00");	/* 3: week 53 of 2026, though a new year */
	at("2027-01-03 23:59:59");	/* 4: Sunday, still week 53 */
	at("2027-01-04 00:00:00");	/* 5: Monday, week 1 of 2027 */
	ck_assert_str_eq(kept(&r), "5 4");
	r.weekly = 3;
	ck_assert_str_eq(kept(&r), "5 4 0");
}
END_TEST

START_TEST(monthly_ends)
{
	struct keep_rules r = { .monthly = 3 };

	zone("UTC");
	reset();
	at("2024-01-31 23:59:59");	/* 0 */
	at("2024-02-01 00:00:00");	/* 1 */
	at("2024-02-29 23:00:00");	/* 2: leap day, the newest of February */
	at("2024-03-01 00:00:01");	/* 3 */
	at("2024-03-31 10:00:00");	/* 4 */
	ck_assert_str_eq(kept(&r), "4 2 0");
	r.monthly = 2;
	ck_assert_str_eq(kept(&r), "4 2");
}
END_TEST

START_TEST(within_from_newest)
{
	struct keep_rules r = { .has_within = 1, .within = 3 * 86400 };

	zone("UTC");
	reset();
	/* Years ago: measured from the newest snapshot, not from now. */
	at("2001-05-01 00:00:00");	/* 0: 5 days before the newest */
	at("2001-05-03 00:00:00");	/* 1: exactly 3 days before: not within */
	at("2001-05-03 00:00:01");	/* 2: just within */
	at("2001-05-06 00:00:00");	/* 3 */
	ck_assert_str_eq(kept(&r), "3 2");
	ck_assert_uint_eq(why(2), KEEP_WITHIN);
	/* The nanoseconds count. */
	reset();
	at("2001-05-03 00:00:00");
	s[0].t.tv_nsec = 1;
	at("2001-05-06 00:00:00");
	s[1].t.tv_nsec = 0;
	ck_assert_str_eq(kept(&r), "1 0");
}
END_TEST

START_TEST(short_history_keeps_oldest)
{
	struct keep_rules r = { .daily = 7 };

	zone("UTC");
	reset();
	at("2026-03-01 08:00:00");	/* 0: the oldest, not the newest of its day */
	at("2026-03-01 20:00:00");	/* 1 */
	at("2026-03-02 20:00:00");	/* 2 */
	at("2026-03-03 20:00:00");	/* 3 */
	ck_assert_str_eq(kept(&r), "3 2 1 0");
	ck_assert_uint_eq(why(0), KEEP_OLDEST);
	/* Enough days: no extra. */
	r.daily = 3;
	ck_assert_str_eq(kept(&r), "3 2 1");
	/* keep-last is not a calendar rule: no oldest for it. */
	r.daily = 0;
	r.last = 10;
	ck_assert_str_eq(kept(&r), "3 2 1 0");
	ck_assert_uint_eq(why(0), KEEP_LAST);
	r.last = 0;
	r.monthly = 5;
	ck_assert_str_eq(kept(&r), "3 0");
	ck_assert_uint_eq(why(0), KEEP_OLDEST);
}
END_TEST

START_TEST(rules_ored)
{
	struct keep_rules r = { .last = 2, .daily = 2, .has_within = 1, .within = 3600 };
	char text[128];

	zone("UTC");
	reset();
	at("2026-03-01 08:00:00");	/* 0 */
	at("2026-03-01 20:00:00");	/* 1: daily */
	at("2026-03-02 10:00:00");	/* 2 */
	at("2026-03-02 19:00:00");	/* 3: last */
	at("2026-03-02 19:30:00");	/* 4: last, within, daily, newest */
	ck_assert_str_eq(kept(&r), "4 3 1");
	ck_assert_uint_eq(why(4), KEEP_LAST | KEEP_WITHIN | KEEP_DAILY | KEEP_NEWEST);
	ck_assert_uint_eq(why(3), KEEP_LAST | KEEP_WITHIN);
	ck_assert_uint_eq(why(1), KEEP_DAILY);
	retention_reasons(why(4), text, sizeof(text));
	ck_assert_str_eq(text, "last,within,daily,newest");
	retention_reasons(0, text, sizeof(text));
	ck_assert_str_eq(text, "");
}
END_TEST

START_TEST(newest_always)
{
	struct keep_rules none = { 0 };

	zone("UTC");
	reset();
	ck_assert_uint_eq(retention_apply(&none, s, 0), 0);
	ck_assert(!retention_any(&none));
	at("2026-03-01 08:00:00");
	at("2026-03-01 09:00:00");
	ck_assert_str_eq(kept(&none), "1");
	ck_assert_uint_eq(why(1), KEEP_NEWEST);
	none.weekly = 1;
	ck_assert(retention_any(&none));
}
END_TEST

START_TEST(year_of_dailies)
{
	struct keep_rules r = { .daily = 7, .weekly = 4, .monthly = 12 };
	static struct snap big[400];
	size_t i, n = 0, k;

	zone("UTC");
	for (i = 0; i < 366; i++) {
		big[n].t.tv_sec = 1767225600 + (time_t)i * 86400 + 3600;	/* 2026-01-01 01:00 */
		big[n].t.tv_nsec = 0;
		big[n].id = n;
		n++;
	}
	k = retention_apply(&r, big, n);
	/* 2026-01-01 .. 2027-01-01. Daily: Jan 1 and Dec 31..26 (7); weekly: Jan 1
	 * (ISO week 53 of 2026), Dec 27, 20, 13 (2 more); monthly: Jan 1 and the
	 * last day of Dec..Feb (10 more); every rule found its N: no oldest. */
	ck_assert_uint_eq(k, 19);
	ck_assert(!big[n - 1].keep);
	for (i = 0; i < n; i++)
		if (big[i].keep & KEEP_MONTHLY) {
			struct tm tm;
			time_t next = big[i].t.tv_sec + 86400;

			gmtime_r(&next, &tm);
			/* The newest of a month is its last day, or the newest snapshot. */
			ck_assert(tm.tm_mday == 1 || i == 0);
		}
}
END_TEST

/* The rules travel to a server in START (doc/protocol.md). */
START_TEST(start_carries_rules)
{
	struct start st, got;
	struct buf b = BUF_INIT;
	char why[256];
	size_t n;

	memset(&st, 0, sizeof(st));
	st.role = ROLE_RECEIVER;
	st.flags = OPT_KEEP;
	st.verbosity = 1;
	st.root = "/d";
	st.keep.last = 3;
	st.keep.daily = 7;
	st.keep.weekly = 4;
	st.keep.monthly = 12;
	st.keep.has_within = 1;
	st.keep.within = 86400;
	start_encode(&b, &st);
	ck_assert_int_eq(start_decode(b.data, b.len, &got, why, sizeof(why)), 0);
	ck_assert_uint_eq(got.keep.last, 3);
	ck_assert_uint_eq(got.keep.daily, 7);
	ck_assert_uint_eq(got.keep.weekly, 4);
	ck_assert_uint_eq(got.keep.monthly, 12);
	ck_assert_int_eq(got.keep.has_within, 1);
	ck_assert_int_eq(got.keep.within, 86400);
	start_release(&got);
	/* Every truncation is refused. */
	for (n = 0; n < b.len; n++)
		ck_assert_int_eq(start_decode(b.data, n, &got, why, sizeof(why)), -1);
	/* Out of range. */
	buf_reset(&b);
	st.keep.daily = MAX_KEEP + 1;
	start_encode(&b, &st);
	ck_assert_int_eq(start_decode(b.data, b.len, &got, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "retention") != NULL, "reason: %s", why);
	buf_reset(&b);
	st.keep.daily = 1;
	st.keep.within = (long long)MAX_KEEP_WITHIN + 1;
	start_encode(&b, &st);
	ck_assert_int_eq(start_decode(b.data, b.len, &got, why, sizeof(why)), -1);
	/* Without the flag, no rules travel: an old server's START. */
	buf_reset(&b);
	st.flags = 0;
	start_encode(&b, &st);
	ck_assert_int_eq(start_decode(b.data, b.len, &got, why, sizeof(why)), 0);
	ck_assert(!retention_any(&got.keep));
	start_release(&got);
	buf_release(&b);
}
END_TEST

static Suite *retention_suite(void)
{
	Suite *s2 = suite_create("retention");
	TCase *tc = tcase_create("policy");

	tcase_add_test(tc, last_n);
	tcase_add_test(tc, sorted_whatever_the_input_order);
	tcase_add_test(tc, daily_midnight);
	tcase_add_test(tc, daily_counts_days_with_snapshots);
	tcase_add_test(tc, daily_local_time);
	tcase_add_test(tc, daily_dst);
	tcase_add_test(tc, weekly_iso_53);
	tcase_add_test(tc, monthly_ends);
	tcase_add_test(tc, within_from_newest);
	tcase_add_test(tc, short_history_keeps_oldest);
	tcase_add_test(tc, rules_ored);
	tcase_add_test(tc, newest_always);
	tcase_add_test(tc, year_of_dailies);
	suite_add_tcase(s2, tc);
	tc = tcase_create("wire");
	tcase_add_test(tc, start_carries_rules);
	suite_add_tcase(s2, tc);
	return s2;
}

int main(void)
{
	return tap_run(retention_suite());
}

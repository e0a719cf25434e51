/*
 * test_mirrorindex.c - unit tests for the mirror index codec
 * (src/mirrorindex.c, doc/history.md "Mirror index"): what is written reads
 * back the same; every flipped byte and every cut is refused with a
 * reason; records that a valid checksum covers are still checked.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hash.h"
#include "mirrorindex.h"
#include "tap.h"

static void sample(struct buf *b)
{
	struct miwriter w;
	struct mrec r[3];

	memset(r, 0, sizeof(r));
	r[0].path = "a";
	r[0].size = 0;
	r[0].mtime_sec = -5;	/* before 1970 */
	r[0].mtime_nsec = 1;
	r[1].path = "a/f.txt";
	r[1].size = 12345;
	r[1].mtime_sec = 1700000000;
	r[1].mtime_nsec = 999999999;
	r[1].ino = 42;
	r[1].ctime_sec = 1700000001;
	r[1].ctime_nsec = 5;
	memset(r[1].hash, 0xab, HASH_LEN);
	r[1].damaged = 1;
	r[2].path = "b\tweird\nname\\\xff";
	r[2].size = UINT64_MAX;
	r[2].ino = UINT64_MAX;
	r[2].hash[15] = 1;
	miwriter_mem(&w, b);
	miwriter_put(&w, &r[0]);
	miwriter_put(&w, &r[1]);
	miwriter_put(&w, &r[2]);
	ck_assert_int_eq(miwriter_finish(&w, NULL), 0);
}

/* Read it all: the number of records, or -1 with the reason in WHY. */
static int read_back(const struct buf *b, char *why, struct mrec *out)
{
	struct mireader *r;
	struct mrec rec;
	int n = 0, k;

	why[0] = '\0';
	if (mireader_mem((const char *)b->data, b->len, &r, why, 256))
		return -1;
	while ((k = mireader_next(r, &rec)) == 1) {
		if (out) {
			out[n] = rec;
			out[n].path = strdup(rec.path);
		}
		n++;
	}
	if (k < 0)
		snprintf(why, 256, "%s", mireader_why(r));
	mireader_close(r);
	if (k < 0)
		ck_assert_msg(why[0] != '\0', "refused without a reason");
	return k < 0 ? -1 : n;
}

START_TEST(round_trip)
{
	struct buf b = BUF_INIT;
	struct mrec back[3];
	char why[256];
	int i;

	sample(&b);
	ck_assert_int_eq(read_back(&b, why, back), 3);
	ck_assert_str_eq(back[0].path, "a");
	ck_assert_int_eq(back[0].mtime_sec, -5);
	ck_assert_uint_eq(back[0].mtime_nsec, 1);
	ck_assert_str_eq(back[1].path, "a/f.txt");
	ck_assert_uint_eq(back[1].size, 12345);
	ck_assert_uint_eq(back[1].mtime_nsec, 999999999);
	ck_assert_uint_eq(back[1].ino, 42);
	ck_assert_int_eq(back[1].ctime_sec, 1700000001);
	ck_assert_uint_eq(back[1].ctime_nsec, 5);
	ck_assert_uint_eq(back[1].hash[7], 0xab);
	ck_assert_int_eq(back[1].damaged, 1);
	ck_assert_int_eq(back[0].damaged, 0);
	ck_assert_str_eq(back[2].path, "b\tweird\nname\\\xff");
	ck_assert_uint_eq(back[2].size, UINT64_MAX);
	ck_assert_uint_eq(back[2].ino, UINT64_MAX);
	ck_assert_uint_eq(back[2].hash[15], 1);
	/* Text, as the doc says: the escaped name is readable. */
	ck_assert(memmem(b.data, b.len, "\t-\tb\\tweird\\nname\\\\\xff\n", 21) != NULL);
	ck_assert(memmem(b.data, b.len, "\tdamaged\ta/f.txt\n", 17) != NULL);
	for (i = 0; i < 3; i++)
		free(back[i].path);
	buf_release(&b);
}
END_TEST

START_TEST(damage_refused)
{
	struct buf b = BUF_INIT;
	char why[256];
	size_t i, n;

	sample(&b);
	n = b.len;
	for (i = 0; i < n; i++) {
		b.data[i] ^= 0x40;
		ck_assert_msg(read_back(&b, why, NULL) < 0, "a flip at byte %zu was accepted", i);
		b.data[i] ^= 0x01;
		ck_assert_msg(read_back(&b, why, NULL) < 0, "a flip at byte %zu was accepted", i);
		b.data[i] ^= 0x41;
	}
	for (i = 0; i < n; i++) {
		b.len = i;
		ck_assert_msg(read_back(&b, why, NULL) < 0, "%zu of %zu bytes were accepted", i, n);
	}
	b.len = n;
	ck_assert_int_eq(read_back(&b, why, NULL), 3);
	buf_put(&b, "x", 1);
	ck_assert_int_lt(read_back(&b, why, NULL), 0);
	ck_assert(strstr(why, "after its end line") != NULL);
	buf_release(&b);
}
END_TEST

/* TEXT with its end line: COUNT records and the true checksum. */
static void seal(struct buf *b, const char *text, int count)
{
	unsigned char sum[HASH_LEN];
	char hex[2 * HASH_LEN + 1], tail[80];

	buf_reset(b);
	buf_put(b, text, strlen(text));
	hash_bytes(text, strlen(text), sum);
	hash_hex(sum, hex);
	snprintf(tail, sizeof(tail), "end\t%d\t%s\n", count, hex);
	buf_put(b, tail, strlen(tail));
}

#define H "shelter-mirror-index 1\n"
#define REC(p) "1\t2.000000000\t3\t4.000000000\t0123456789abcdef0123456789abcdef\t-\t" p "\n"

START_TEST(checked_beyond_the_checksum)
{
	static const struct {
		const char *text;
		int count;
		const char *why;
	} bad[] = {
		{ H REC("b") REC("a"), 2, "out of order" },
		{ H REC("a") REC("a"), 2, "out of order" },
		{ H REC("a/../../etc/passwd"), 1, "" },
		{ H REC("/etc/passwd"), 1, "" },
		{ H REC("a\\q"), 1, "path is malformed" },
		{ H REC("a\\x0"), 1, "path is malformed" },
		{ H "1\t2.000000000\t3\t4.000000000\t0123456789abcdef0123456789abcdef\tbad\ta\n", 1,
		  "not a valid record" },
		{ H "1\t2.5\t3\t4.000000000\t0123456789abcdef0123456789abcdef\t-\ta\n", 1,
		  "not a valid record" },
		{ H "18446744073709551616\t2.000000000\t3\t4.000000000\t0123456789abcdef0123456789abcdef\t-\ta\n",
		  1, "not a valid record" },
		{ H "1\t2.000000000\t3\t4.000000000\t0123456789ABCDEF0123456789abcdef\t-\ta\n", 1,
		  "not a valid record" },
		{ H "1\t2.000000000\t3\t4.000000000\t0123456789abcdef0123456789abcdef\t-\ta\textra\n",
		  1, "not a valid record" },
		{ H REC("a"), 2, "counts another number" },
		{ "shelter-mirror-index 2\n" REC("a"), 1, "format version" },
		{ "shelter-sync-state 1\n", 0, "not a shelter mirror index" },
	};
	struct buf b = BUF_INIT;
	char why[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		seal(&b, bad[i].text, bad[i].count);
		ck_assert_msg(read_back(&b, why, NULL) < 0, "case %zu was accepted", i);
		ck_assert_msg(strstr(why, bad[i].why) != NULL, "case %zu: %s", i, why);
	}
	seal(&b, H REC("a") REC("a/b") REC("a.b"), 3);
	ck_assert_int_eq(read_back(&b, why, NULL), 3);
	/* 2^64-1 is the largest number a record holds; 2^64 (above) is refused */
	seal(&b, H "18446744073709551615\t2.000000000\t3\t4.000000000\t"
		 "0123456789abcdef0123456789abcdef\t-\ta\n", 1);
	ck_assert_int_eq(read_back(&b, why, NULL), 1);
	seal(&b, H "1\t2.000000000\t18446744073709551620\t4.000000000\t"
		 "0123456789abcdef0123456789abcdef\t-\ta\n", 1);
	ck_assert_int_lt(read_back(&b, why, NULL), 0);
	seal(&b, H, 0);
	ck_assert_int_eq(read_back(&b, why, NULL), 0);
	buf_release(&b);
}
END_TEST

/* A record copied as the line read is the record written. */
START_TEST(raw_copy)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct mireader *r;
	struct miwriter w;
	struct mrec rec;
	char why[256];
	const char *raw;
	size_t n;

	sample(&a);
	ck_assert_int_eq(mireader_mem((const char *)a.data, a.len, &r, why, sizeof(why)), 0);
	miwriter_mem(&w, &b);
	while (mireader_next(r, &rec) == 1) {
		raw = mireader_raw(r, &n);
		ck_assert_uint_eq(raw[n - 1], '\n');
		miwriter_put_raw(&w, rec.path, raw, n);
	}
	mireader_close(r);
	ck_assert_int_eq(miwriter_finish(&w, NULL), 0);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert(!memcmp(a.data, b.data, a.len));
	buf_release(&a);
	buf_release(&b);
}
END_TEST

START_TEST(stat_match)
{
	struct mrec m;
	struct stat st;

	memset(&m, 0, sizeof(m));
	memset(&st, 0, sizeof(st));
	st.st_size = 10;
	st.st_ino = 7;
	st.st_mtim.tv_sec = 100;
	st.st_mtim.tv_nsec = 5;
	st.st_ctim.tv_sec = 200;
	st.st_ctim.tv_nsec = 6;
	mrec_stat(&m, &st);
	ck_assert(mrec_matches(&m, &st));
	st.st_ctim.tv_nsec = 7;
	ck_assert(!mrec_matches(&m, &st));
	st.st_ctim.tv_nsec = 6;
	st.st_ino = 8;
	ck_assert(!mrec_matches(&m, &st));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mirrorindex");
	TCase *tc = tcase_create("mirrorindex");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, damage_refused);
	tcase_add_test(tc, checked_beyond_the_checksum);
	tcase_add_test(tc, raw_copy);
	tcase_add_test(tc, stat_match);
	suite_add_tcase(s, tc);
	return tap_run(s);
}

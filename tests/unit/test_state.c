/*
 * test_state.c - unit tests for the sync state file (src/state.c) and the
 * conflict copies' names (src/sync.c): what is written reads back the
 * same, and every kind of damage is refused with a reason, never taken
 * for an empty state.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "path.h"
#include "state.h"
#include "sync.h"
#include "tap.h"

#define R1 "/home/u/docs"
#define R2 "nas:/srv/docs"

/* Three records (a directory, a file, a symlink with odd bytes in its name), encoded. */
static void sample(struct buf *b, int swap, const char *bad_path)
{
	struct srec r[3];
	struct swriter *w = swriter_mem(b, R1, R2, 1790000000);
	int i;

	memset(r, 0, sizeof(r));
	r[0].path = "a";
	r[0].type = 'd';
	r[0].mode = 0755;
	r[1].path = bad_path ? (char *)bad_path : "a/f.txt";
	r[1].type = 'f';
	r[1].mode = 0640;
	r[1].size = 12345;
	r[1].mtime_sec = 1700000000;
	r[1].mtime_nsec = 999999999;
	memset(r[1].hash, 0xab, sizeof(r[1].hash));
	r[1].side[0] = (struct skey){ 42, 1700000001, 5, 1700000000, 999999999, 12345 };
	r[1].side[1] = (struct skey){ 7, 1700000002, 6, 1700000000, 999999999, 12345 };
	r[2].path = "b\tweird\nname";
	r[2].type = 'l';
	r[2].mode = 0777;
	r[2].target = "../target with spaces";
	for (i = 0; i < 3; i++)
		swriter_put(w, &r[swap && i < 2 ? 1 - i : i]);
	ck_assert_int_eq(swriter_finish(w, NULL), 0);
}

/* Read it all: the number of records, or -1 with the reason in WHY. */
static int read_back(const struct buf *b, const char *r1, const char *r2, char *why,
		     struct srec *out)
{
	struct sreader *r;
	struct srec rec;
	int n = 0, k;

	why[0] = '\0';
	if (sreader_mem(b->data, b->len, r1, r2, &r, why, 256))
		return -1;
	while ((k = sreader_next(r, &rec)) == 1) {
		if (out) {
			out[n] = rec;
			out[n].path = strdup(rec.path);
			out[n].target = rec.target ? strdup(rec.target) : NULL;
		}
		n++;
	}
	if (k < 0)
		snprintf(why, 256, "%s", sreader_why(r));
	sreader_close(r);
	if (k < 0)
		ck_assert_msg(why[0] != '\0', "refused without a reason");
	return k < 0 ? -1 : n;
}

START_TEST(round_trip)
{
	struct buf b = BUF_INIT;
	struct srec back[3];
	char why[256];
	int i;

	sample(&b, 0, NULL);
	ck_assert_int_eq(read_back(&b, R1, R2, why, back), 3);
	ck_assert_str_eq(back[0].path, "a");
	ck_assert_int_eq(back[0].type, 'd');
	ck_assert_str_eq(back[1].path, "a/f.txt");
	ck_assert_uint_eq(back[1].mode, 0640);
	ck_assert_uint_eq(back[1].size, 12345);
	ck_assert_int_eq(back[1].mtime_sec, 1700000000);
	ck_assert_uint_eq(back[1].mtime_nsec, 999999999);
	ck_assert_uint_eq(back[1].hash[7], 0xab);
	ck_assert_uint_eq(back[1].side[0].ino, 42);
	ck_assert_uint_eq(back[1].side[1].ctime_sec, 1700000002);
	ck_assert_str_eq(back[2].path, "b\tweird\nname");
	ck_assert_str_eq(back[2].target, "../target with spaces");
	for (i = 0; i < 3; i++) {
		free(back[i].path);
		free(back[i].target);
	}
	buf_release(&b);
}
END_TEST

START_TEST(damage_refused)
{
	struct buf b = BUF_INIT;
	char why[256];
	size_t i, n;

	sample(&b, 0, NULL);
	n = b.len;
	/* Every byte flipped, and every truncation: refused, with a reason. */
	for (i = 0; i < n; i++) {
		b.data[i] ^= 0x40;
		ck_assert_msg(read_back(&b, R1, R2, why, NULL) < 0, "a flip at byte %zu was accepted", i);
		b.data[i] ^= 0x40;
	}
	for (i = 0; i < n; i++) {
		b.len = i;
		ck_assert_msg(read_back(&b, R1, R2, why, NULL) < 0, "%zu of %zu bytes were accepted",
			      i, n);
	}
	b.len = n;
	ck_assert_int_eq(read_back(&b, R1, R2, why, NULL), 3);
	/* Another pair's state. */
	ck_assert_int_lt(read_back(&b, R1, "nas:/srv/other", why, NULL), 0);
	ck_assert(strstr(why, "belongs to the pair") != NULL);
	buf_release(&b);
}
END_TEST

/* Records with a valid checksum but out of order, or with a bad path, or another version. */
START_TEST(checked_beyond_the_checksum)
{
	struct buf b = BUF_INIT;
	char why[256];
	unsigned char sum[16];

	sample(&b, 1, NULL);
	ck_assert_int_lt(read_back(&b, R1, R2, why, NULL), 0);
	ck_assert(strstr(why, "out of order") != NULL);

	buf_reset(&b);
	sample(&b, 0, "a/../../etc/passwd");
	ck_assert_int_lt(read_back(&b, R1, R2, why, NULL), 0);

	buf_reset(&b);
	sample(&b, 0, NULL);
	b.data[11] = 2;	/* version 2; the checksum recomputed */
	b.len -= 16;
	hash_bytes(b.data, b.len, sum);
	buf_put(&b, sum, 16);
	ck_assert_int_lt(read_back(&b, R1, R2, why, NULL), 0);
	ck_assert(strstr(why, "format version 2") != NULL);
	buf_release(&b);
}
END_TEST

START_TEST(conflict_names)
{
	struct timespec t = { .tv_sec = 1795600000 };	/* 2026-11-25 09:46:40 UTC */
	char *n;

	n = conflict_name("dir/report.txt", "laptop", &t, 1);
	ck_assert_str_eq(n, "dir/report.conflict-laptop-20261125-094640.txt");
	ck_assert(is_conflict_name("report.conflict-laptop-20261125-094640.txt"));
	free(n);
	n = conflict_name("archive.tar.gz", "h", &t, 1);
	ck_assert_str_eq(n, "archive.tar.conflict-h-20261125-094640.gz");
	free(n);
	n = conflict_name(".bashrc", "h", &t, 1);
	ck_assert_str_eq(n, ".bashrc.conflict-h-20261125-094640");
	ck_assert(is_conflict_name(n));
	free(n);
	n = conflict_name("Makefile", "my-host.lan", &t, 1);
	ck_assert_str_eq(n, "Makefile.conflict-my-host.lan-20261125-094640");
	ck_assert(is_conflict_name(n));
	free(n);
	n = conflict_name("dir/report.txt", "laptop", &t, 3);
	ck_assert_str_eq(n, "dir/report.conflict-laptop-20261125-094640-3.txt");
	ck_assert(is_conflict_name(path_base(n)));
	free(n);
	ck_assert(!is_conflict_name("report.txt"));
	ck_assert(!is_conflict_name("notes.conflict-about-cats.txt"));
	ck_assert(!is_conflict_name("x.conflict-h-2026112-094640"));
	/* Too long for a name: none, not a cut one. */
	{
		char longname[256];

		memset(longname, 'x', 250);
		memcpy(longname + 250, ".txt", 5);
		ck_assert_ptr_null(conflict_name(longname, "h", &t, 1));
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("state");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, damage_refused);
	tcase_add_test(tc, checked_beyond_the_checksum);
	tcase_add_test(tc, conflict_names);
	suite_add_tcase(s, tc);
	return tap_run(s);
}

/*
 * test_state.c - unit tests for the sync state file (src/state.c) and the
 * conflict copies' names (src/sync.c): what is written reads back the
 * same, and every kind of damage is refused with a reason, never taken
 * for an empty state.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "state.h"
#include "sync.h"
#include "tap.h"

#define R1 "/home/u/docs"
#define R2 "nas:/srv/docs"

static void sample(struct state *st)
{
	struct srec r;

	memset(st, 0, sizeof(*st));
	st->root[0] = strdup(R1);
	st->root[1] = strdup(R2);
	st->scan_start = 1790000000;
	memset(&r, 0, sizeof(r));
	r.path = "a";
	r.type = 'd';
	r.mode = 0755;
	state_add(st, &r);
	r.path = "a/f.txt";
	r.type = 'f';
	r.mode = 0640;
	r.size = 12345;
	r.mtime_sec = 1700000000;
	r.mtime_nsec = 999999999;
	memset(r.hash, 0xab, sizeof(r.hash));
	r.side[0] = (struct skey){ 42, 1700000001, 5, 1700000000, 999999999, 12345 };
	r.side[1] = (struct skey){ 7, 1700000002, 6, 1700000000, 999999999, 12345 };
	state_add(st, &r);
	memset(&r, 0, sizeof(r));
	r.path = "b\tweird\nname";
	r.type = 'l';
	r.mode = 0777;
	r.target = "../target with spaces";
	state_add(st, &r);
}

static int parses(const struct buf *b, const char *r1, const char *r2, char *why)
{
	struct state st;
	int rc = state_parse(b->data, b->len, r1, r2, &st, why, 256);

	if (rc == 0)
		state_release(&st);
	else
		ck_assert_msg(why[0] != '\0', "refused without a reason");
	return rc;
}

START_TEST(round_trip)
{
	struct state st, back;
	struct buf b = BUF_INIT;
	char why[256] = "";
	size_t i;

	sample(&st);
	state_encode(&b, &st);
	ck_assert_int_eq(state_parse(b.data, b.len, R1, R2, &back, why, sizeof(why)), 0);
	ck_assert_uint_eq(back.n, 3);
	ck_assert_int_eq(back.scan_start, 1790000000);
	for (i = 0; i < 3; i++) {
		ck_assert_str_eq(back.v[i].path, st.v[i].path);
		ck_assert_int_eq(back.v[i].type, st.v[i].type);
		ck_assert_uint_eq(back.v[i].mode, st.v[i].mode);
		ck_assert_uint_eq(back.v[i].size, st.v[i].size);
		ck_assert_int_eq(back.v[i].mtime_sec, st.v[i].mtime_sec);
		ck_assert_uint_eq(back.v[i].mtime_nsec, st.v[i].mtime_nsec);
		ck_assert(!memcmp(back.v[i].hash, st.v[i].hash, sizeof(st.v[i].hash)));
		ck_assert(!memcmp(back.v[i].side, st.v[i].side, sizeof(st.v[i].side)));
	}
	ck_assert_str_eq(back.v[2].target, "../target with spaces");
	state_release(&back);
	state_release(&st);
	buf_release(&b);
}
END_TEST

START_TEST(damage_refused)
{
	struct state st;
	struct buf b = BUF_INIT;
	char why[256];
	size_t i, n;

	sample(&st);
	state_encode(&b, &st);
	n = b.len;
	/* Every byte flipped, and every truncation: refused, with a reason. */
	for (i = 0; i < n; i++) {
		b.data[i] ^= 0x40;
		why[0] = '\0';
		ck_assert_msg(parses(&b, R1, R2, why) < 0, "a flip at byte %zu was accepted", i);
		b.data[i] ^= 0x40;
	}
	for (i = 0; i < n; i++) {
		b.len = i;
		why[0] = '\0';
		ck_assert_msg(parses(&b, R1, R2, why) < 0, "%zu of %zu bytes were accepted", i, n);
	}
	b.len = n;
	why[0] = '\0';
	ck_assert_int_eq(parses(&b, R1, R2, why), 0);
	/* Another pair's state. */
	ck_assert_int_lt(parses(&b, R1, "nas:/srv/other", why), 0);
	ck_assert(strstr(why, "belongs to the pair") != NULL);
	state_release(&st);
	buf_release(&b);
}
END_TEST

/* Records with a valid checksum but out of order, or with a bad path, or another version. */
START_TEST(checked_beyond_the_checksum)
{
	struct state st;
	struct buf b = BUF_INIT;
	char why[256];
	char *tmp;

	sample(&st);
	tmp = st.v[0].path;
	st.v[0].path = st.v[1].path;
	st.v[1].path = tmp;
	state_encode(&b, &st);
	ck_assert_int_lt(parses(&b, R1, R2, why), 0);
	ck_assert(strstr(why, "out of order") != NULL);
	state_release(&st);

	sample(&st);
	free(st.v[1].path);
	st.v[1].path = strdup("a/../../etc/passwd");
	buf_reset(&b);
	state_encode(&b, &st);
	ck_assert_int_lt(parses(&b, R1, R2, why), 0);
	state_release(&st);

	sample(&st);
	buf_reset(&b);
	state_encode(&b, &st);
	b.data[11] = 2;	/* version 2; the checksum recomputed */
	b.len -= 16;
	{
		unsigned char sum[16];

		hash_bytes(b.data, b.len, sum);
		buf_put(&b, sum, 16);
	}
	ck_assert_int_lt(parses(&b, R1, R2, why), 0);
	ck_assert(strstr(why, "format version 2") != NULL);
	state_release(&st);
	buf_release(&b);
}
END_TEST

START_TEST(conflict_names)
{
	struct timespec t = { .tv_sec = 1795600000 };	/* 2026-11-25 09:46:40 UTC */
	char *n;

	n = conflict_name("dir/report.txt", "laptop", &t);
	ck_assert_str_eq(n, "dir/report.conflict-laptop-20261125-094640.txt");
	ck_assert(is_conflict_name("report.conflict-laptop-20261125-094640.txt"));
	free(n);
	n = conflict_name("archive.tar.gz", "h", &t);
	ck_assert_str_eq(n, "archive.tar.conflict-h-20261125-094640.gz");
	free(n);
	n = conflict_name(".bashrc", "h", &t);
	ck_assert_str_eq(n, ".bashrc.conflict-h-20261125-094640");
	ck_assert(is_conflict_name(n));
	free(n);
	n = conflict_name("Makefile", "my-host.lan", &t);
	ck_assert_str_eq(n, "Makefile.conflict-my-host.lan-20261125-094640");
	ck_assert(is_conflict_name(n));
	free(n);
	ck_assert(!is_conflict_name("report.txt"));
	ck_assert(!is_conflict_name("notes.conflict-about-cats.txt"));
	ck_assert(!is_conflict_name("x.conflict-h-2026112-094640"));
	/* Too long for a name: none, not a cut one. */
	{
		char longname[256];

		memset(longname, 'x', 250);
		memcpy(longname + 250, ".txt", 5);
		ck_assert_ptr_null(conflict_name(longname, "h", &t));
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

/* test_buf.c - unit tests for src/buf.c: struct buf and struct rd. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"

/* ---- put / get round trips ------------------------------------------------ */

START_TEST(put_get_integers)
{
	struct buf b = BUF_INIT;
	struct rd r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	int64_t i64;

	buf_put_u8(&b, 0);
	buf_put_u8(&b, 0xff);
	buf_put_u16(&b, 0);
	buf_put_u16(&b, 0xbeef);
	buf_put_u32(&b, 0);
	buf_put_u32(&b, 0xdeadbeefu);
	buf_put_u64(&b, 0);
	buf_put_u64(&b, 0x0123456789abcdefull);
	buf_put_u64(&b, UINT64_MAX);
	buf_put_i64(&b, -1);
	buf_put_i64(&b, INT64_MIN);
	buf_put_i64(&b, INT64_MAX);
	buf_put_i64(&b, -1234567890123ll);
	ck_assert_uint_eq(b.len, 2 + 4 + 8 + 24 + 32);

	rd_init(&r, b.data, b.len);
	ck_assert_int_eq(rd_u8(&r, &u8), 0);
	ck_assert_uint_eq(u8, 0);
	ck_assert_int_eq(rd_u8(&r, &u8), 0);
	ck_assert_uint_eq(u8, 0xff);
	ck_assert_int_eq(rd_u16(&r, &u16), 0);
	ck_assert_uint_eq(u16, 0);
	ck_assert_int_eq(rd_u16(&r, &u16), 0);
	ck_assert_uint_eq(u16, 0xbeef);
	ck_assert_int_eq(rd_u32(&r, &u32), 0);
	ck_assert_uint_eq(u32, 0);
	ck_assert_int_eq(rd_u32(&r, &u32), 0);
	ck_assert_uint_eq(u32, 0xdeadbeefu);
	ck_assert_int_eq(rd_u64(&r, &u64), 0);
	ck_assert_uint_eq(u64, 0);
	ck_assert_int_eq(rd_u64(&r, &u64), 0);
	ck_assert_uint_eq(u64, 0x0123456789abcdefull);
	ck_assert_int_eq(rd_u64(&r, &u64), 0);
	ck_assert_uint_eq(u64, UINT64_MAX);
	ck_assert_int_eq(rd_i64(&r, &i64), 0);
	ck_assert_int_eq(i64, -1);
	ck_assert_int_eq(rd_i64(&r, &i64), 0);
	ck_assert_int_eq(i64, INT64_MIN);
	ck_assert_int_eq(rd_i64(&r, &i64), 0);
	ck_assert_int_eq(i64, INT64_MAX);
	ck_assert_int_eq(rd_i64(&r, &i64), 0);
	ck_assert_int_eq(i64, -1234567890123ll);
	ck_assert_int_eq(rd_end(&r), 0);
	buf_release(&b);
}
END_TEST

START_TEST(big_endian_layout)
{
	static const unsigned char want[] = {
		0x12, 0x34,
		0xde, 0xad, 0xbe, 0xef,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
		0x00, 0x00, 0x00, 0x03, 'a', 'b', 'c',
	};
	struct buf b = BUF_INIT;

	buf_put_u16(&b, 0x1234);
	buf_put_u32(&b, 0xdeadbeefu);
	buf_put_u64(&b, 0x0102030405060708ull);
	buf_put_i64(&b, -2);
	buf_put_str(&b, "abc", 3);
	ck_assert_uint_eq(b.len, sizeof(want));
	ck_assert_mem_eq(b.data, want, sizeof(want));
	buf_release(&b);
}
END_TEST

START_TEST(put_get_strings)
{
	struct buf b = BUF_INIT;
	struct rd r;
	const unsigned char *s;
	size_t n;
	char *c;
	static const char bin[] = { 'x', '\0', 'y' };

	buf_put_str(&b, "", 0);
	buf_put_str(&b, "hello", 5);
	buf_put_str(&b, bin, sizeof(bin));
	buf_put_str(&b, "world", 5);

	rd_init(&r, b.data, b.len);
	ck_assert_int_eq(rd_str(&r, &s, &n, 0, 10), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(rd_str(&r, &s, &n, 0, 10), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_mem_eq(s, "hello", 5);
	/* rd_str returns bytes as they are, NUL included. */
	ck_assert_int_eq(rd_str(&r, &s, &n, 0, 10), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(s, bin, 3);
	ck_assert_int_eq(rd_cstr(&r, &c, 1, 10), 0);
	ck_assert_str_eq(c, "world");
	free(c);
	ck_assert_int_eq(rd_end(&r), 0);
	buf_release(&b);
}
END_TEST

START_TEST(rd_bytes_and_empty)
{
	struct rd r;
	unsigned char out[4];

	rd_init(&r, "abcd", 4);
	ck_assert_int_eq(rd_bytes(&r, out, 0), 0);
	ck_assert_int_eq(rd_bytes(&r, out, 4), 0);
	ck_assert_mem_eq(out, "abcd", 4);
	ck_assert_int_eq(rd_end(&r), 0);
	ck_assert_int_eq(rd_bytes(&r, out, 1), -1);
	ck_assert_int_eq(rd_end(&r), -1);

	rd_init(&r, NULL, 0);
	ck_assert_int_eq(rd_end(&r), 0);
}
END_TEST

START_TEST(grow_and_consume)
{
	struct buf b = BUF_INIT;
	unsigned char x[1000];
	size_t i;

	for (i = 0; i < sizeof(x); i++)
		x[i] = (unsigned char)i;
	for (i = 0; i < 100; i++)
		buf_put(&b, x, sizeof(x));
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_uint_ge(b.cap, b.len);
	for (i = 0; i < 100; i++)
		ck_assert_mem_eq(b.data + i * sizeof(x), x, sizeof(x));
	buf_consume(&b, 10);
	ck_assert_uint_eq(b.len, 99990);
	ck_assert_uint_eq(b.data[0], 10);
	buf_consume(&b, 1000000);
	ck_assert_uint_eq(b.len, 0);
	buf_put(&b, "z", 1);
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_ptr_nonnull(b.data);
	buf_put(&b, NULL, 0);
	ck_assert_uint_eq(b.len, 0);
	buf_release(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.cap, 0);
}
END_TEST

/* ---- underflow poisons the cursor ---------------------------------------- */

START_TEST(underflow_each_width)
{
	static const unsigned char seven[7] = { 1, 2, 3, 4, 5, 6, 7 };
	struct rd r;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	int64_t i64;
	uint8_t u8;

	rd_init(&r, seven, 0);
	ck_assert_int_eq(rd_u8(&r, &u8), -1);
	rd_init(&r, seven, 1);
	ck_assert_int_eq(rd_u16(&r, &u16), -1);
	rd_init(&r, seven, 3);
	ck_assert_int_eq(rd_u32(&r, &u32), -1);
	rd_init(&r, seven, 7);
	ck_assert_int_eq(rd_u64(&r, &u64), -1);
	rd_init(&r, seven, 7);
	ck_assert_int_eq(rd_i64(&r, &i64), -1);
	ck_assert_int_eq(rd_end(&r), -1);
}
END_TEST

START_TEST(poisoned_stays_poisoned)
{
	/* Enough bytes for anything after the failure, yet everything fails. */
	unsigned char data[64];
	struct buf b = BUF_INIT;
	struct rd r;
	const unsigned char *s;
	size_t n;
	char *c = NULL;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	int64_t i64;

	memset(data, 0, sizeof(data));
	rd_init(&r, data, sizeof(data));
	/* A string of 0 bytes where at least 1 is required fails... */
	ck_assert_int_eq(rd_str(&r, &s, &n, 1, 10), -1);
	ck_assert_int_ne(r.bad, 0);
	/* ...and every later get fails though 60 bytes are left. */
	ck_assert_int_eq(rd_u8(&r, &u8), -1);
	ck_assert_int_eq(rd_u16(&r, &u16), -1);
	ck_assert_int_eq(rd_u32(&r, &u32), -1);
	ck_assert_int_eq(rd_u64(&r, &u64), -1);
	ck_assert_int_eq(rd_i64(&r, &i64), -1);
	ck_assert_int_eq(rd_bytes(&r, data, 1), -1);
	ck_assert_int_eq(rd_bytes(&r, data, 0), -1);
	ck_assert_int_eq(rd_str(&r, &s, &n, 0, 100), -1);
	ck_assert_int_eq(rd_cstr(&r, &c, 0, 100), -1);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(rd_end(&r), -1);

	/* The same after a plain underflow. */
	buf_put_u8(&b, 7);
	buf_put_u32(&b, 0);
	rd_init(&r, b.data, 1);
	ck_assert_int_eq(rd_u16(&r, &u16), -1);
	r.left = b.len;		/* even if more bytes appeared */
	ck_assert_int_eq(rd_u8(&r, &u8), -1);
	ck_assert_int_eq(rd_u32(&r, &u32), -1);
	ck_assert_int_eq(rd_end(&r), -1);
	buf_release(&b);
}
END_TEST

START_TEST(chain_then_check_once)
{
	struct buf b = BUF_INIT;
	struct rd r;
	uint32_t a = 0, x = 0;
	uint64_t y = 0;

	buf_put_u32(&b, 5);
	buf_put_u32(&b, 6);
	rd_init(&r, b.data, b.len);
	rd_u32(&r, &a);
	rd_u32(&r, &x);
	rd_u64(&r, &y);		/* fails */
	ck_assert_uint_eq(a, 5);
	ck_assert_uint_eq(x, 6);
	ck_assert_int_eq(rd_end(&r), -1);
	buf_release(&b);
}
END_TEST

/* ---- rd_str bounds -------------------------------------------------------- */

static int str_with(uint32_t claimed, size_t actual, size_t min, size_t max, size_t *got)
{
	struct buf b = BUF_INIT;
	struct rd r;
	const unsigned char *s;
	size_t n = 0;
	int ret;

	buf_put_u32(&b, claimed);
	for (size_t i = 0; i < actual; i++)
		buf_put_u8(&b, 'a');
	rd_init(&r, b.data, b.len);
	ret = rd_str(&r, &s, &n, min, max);
	if (ret == 0) {
		ck_assert_ptr_eq(s, b.data + 4);
		ck_assert_int_eq(r.bad, 0);
	} else {
		ck_assert_int_ne(r.bad, 0);
	}
	if (got)
		*got = n;
	buf_release(&b);
	return ret;
}

START_TEST(str_bounds)
{
	size_t n;

	ck_assert_int_eq(str_with(3, 3, 3, 3, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(str_with(2, 2, 3, 5, NULL), -1);	/* below min */
	ck_assert_int_eq(str_with(6, 6, 3, 5, NULL), -1);	/* above max */
	ck_assert_int_eq(str_with(5, 5, 3, 5, NULL), 0);	/* max itself */
	ck_assert_int_eq(str_with(0, 0, 0, 5, NULL), 0);	/* empty allowed */
	ck_assert_int_eq(str_with(0, 0, 1, 5, NULL), -1);	/* empty refused */
	ck_assert_int_eq(str_with(5, 4, 0, 10, NULL), -1);	/* beyond the data */
	ck_assert_int_eq(str_with(5, 0, 0, 10, NULL), -1);
	ck_assert_int_eq(str_with(0xffffffffu, 8, 0, SIZE_MAX, NULL), -1);
	ck_assert_int_eq(str_with(0x80000000u, 8, 0, SIZE_MAX, NULL), -1);
	ck_assert_int_eq(str_with(4, 10, 0, 10, &n), 0);	/* leaves the rest */
	ck_assert_uint_eq(n, 4);
}
END_TEST

START_TEST(str_truncated_length)
{
	static const unsigned char three[3] = { 0, 0, 0 };
	struct rd r;
	const unsigned char *s;
	size_t n;

	rd_init(&r, three, sizeof(three));
	ck_assert_int_eq(rd_str(&r, &s, &n, 0, 10), -1);
	ck_assert_int_eq(rd_end(&r), -1);
}
END_TEST

START_TEST(str_consumes_exactly)
{
	struct buf b = BUF_INIT;
	struct rd r;
	const unsigned char *s;
	size_t n;
	uint8_t u8;

	buf_put_str(&b, "abc", 3);
	buf_put_u8(&b, 0x42);
	rd_init(&r, b.data, b.len);
	ck_assert_int_eq(rd_str(&r, &s, &n, 0, 3), 0);
	ck_assert_uint_eq(r.left, 1);
	ck_assert_int_eq(rd_u8(&r, &u8), 0);
	ck_assert_uint_eq(u8, 0x42);
	ck_assert_int_eq(rd_end(&r), 0);
	buf_release(&b);
}
END_TEST

/* ---- rd_cstr --------------------------------------------------------------- */

START_TEST(cstr_rejects_nul)
{
	struct buf b = BUF_INIT;
	struct rd r;
	char *c = NULL;

	buf_put_str(&b, "ab\0cd", 5);
	rd_init(&r, b.data, b.len);
	ck_assert_int_eq(rd_cstr(&r, &c, 0, 10), -1);
	ck_assert_ptr_null(c);
	ck_assert_int_ne(r.bad, 0);
	ck_assert_int_eq(rd_end(&r), -1);
	buf_reset(&b);

	buf_put_str(&b, "\0", 1);
	rd_init(&r, b.data, b.len);
	ck_assert_int_eq(rd_cstr(&r, &c, 0, 10), -1);
	buf_reset(&b);

	buf_put_str(&b, "abc\0", 4);
	rd_init(&r, b.data, b.len);
	ck_assert_int_eq(rd_cstr(&r, &c, 0, 10), -1);
	buf_release(&b);
}
END_TEST

START_TEST(cstr_bounds_and_terminator)
{
	struct buf b = BUF_INIT;
	struct rd r;
	char *c = NULL;

	buf_put_str(&b, "", 0);
	rd_init(&r, b.data, b.len);
	ck_assert_int_eq(rd_cstr(&r, &c, 0, 10), 0);
	ck_assert_str_eq(c, "");
	free(c);
	c = NULL;
	rd_init(&r, b.data, b.len);
	ck_assert_int_eq(rd_cstr(&r, &c, 1, 10), -1);
	ck_assert_ptr_null(c);
	buf_reset(&b);

	buf_put_str(&b, "abcdef", 6);
	rd_init(&r, b.data, b.len);
	ck_assert_int_eq(rd_cstr(&r, &c, 1, 5), -1);
	rd_init(&r, b.data, b.len);
	ck_assert_int_eq(rd_cstr(&r, &c, 1, 6), 0);
	ck_assert_str_eq(c, "abcdef");
	ck_assert_uint_eq(strlen(c), 6);
	free(c);
	buf_release(&b);
}
END_TEST

/* ---- rd_end ------------------------------------------------------------------ */

START_TEST(end_with_trailing_bytes)
{
	struct buf b = BUF_INIT;
	struct rd r;
	uint32_t v;
	uint8_t u8;

	buf_put_u32(&b, 1);
	buf_put_u8(&b, 2);
	rd_init(&r, b.data, b.len);
	ck_assert_int_eq(rd_u32(&r, &v), 0);
	ck_assert_int_eq(rd_end(&r), -1);	/* one byte left */
	ck_assert_int_eq(rd_u8(&r, &u8), 0);	/* rd_end does not poison */
	ck_assert_int_eq(rd_end(&r), 0);
	ck_assert_int_eq(rd_end(&r), 0);
	buf_release(&b);
}
END_TEST

START_TEST(xalloc_helpers)
{
	char *s = xstrdup("abc");
	char *t = xstrndup("abcdef", 2);
	void *p = xmalloc(0);

	ck_assert_str_eq(s, "abc");
	ck_assert_str_eq(t, "ab");
	ck_assert_ptr_nonnull(p);
	p = xrealloc(p, 100);
	ck_assert_ptr_nonnull(p);
	free(s);
	free(t);
	free(p);
}
END_TEST

static Suite *buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc;

	tc = tcase_create("put_get");
	tcase_add_test(tc, put_get_integers);
	tcase_add_test(tc, big_endian_layout);
	tcase_add_test(tc, put_get_strings);
	tcase_add_test(tc, rd_bytes_and_empty);
	tcase_add_test(tc, grow_and_consume);
	tcase_add_test(tc, xalloc_helpers);
	suite_add_tcase(s, tc);

	tc = tcase_create("poison");
	tcase_add_test(tc, underflow_each_width);
	tcase_add_test(tc, poisoned_stays_poisoned);
	tcase_add_test(tc, chain_then_check_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("strings");
	tcase_add_test(tc, str_bounds);
	tcase_add_test(tc, str_truncated_length);
	tcase_add_test(tc, str_consumes_exactly);
	tcase_add_test(tc, cstr_rejects_nul);
	tcase_add_test(tc, cstr_bounds_and_terminator);
	tcase_add_test(tc, end_with_trailing_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tap_run(buf_suite());
}

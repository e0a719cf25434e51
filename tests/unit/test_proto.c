/*
 * test_proto.c - unit tests for the wire: payload codecs (src/proto.c),
 * framing over a socket (src/chan.c) and the librsync jobs (src/rsx.c).
 * Every decoder is fed valid payloads (round trips) and hostile ones.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bounds.h"
#include "buf.h"
#include "chan.h"
#include "log.h"
#include "opts.h"
#include "proto.h"
#include "rsx.h"
#include "sigfile.h"
#include "tap.h"

#define WHYLEN 512

/* ---- allocation watch ---------------------------------------------------------
 * To check that a decoder refuses a count before allocating from it, malloc
 * and realloc are interposed (glibc only; sanitizers bring their own) and the
 * largest request made while `watching` is kept.
 */
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define HAVE_ALLOC_WATCH 1
extern void *__libc_malloc(size_t n);
extern void *__libc_realloc(void *p, size_t n);
static volatile int watching;
static volatile size_t largest;

void *malloc(size_t n)
{
	if (watching && n > largest)
		largest = n;
	return __libc_malloc(n);
}

void *realloc(void *p, size_t n)
{
	if (watching && n > largest)
		largest = n;
	return __libc_realloc(p, n);
}
#else
#define HAVE_ALLOC_WATCH 0
static int watching;
static size_t largest;
#endif

/* ---- captured log messages ------------------------------------------------------ */

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
	rsx_setup();
	last_msg[0] = '\0';
	nmsg = 0;
	log_set_sink(capture, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void teardown_capture(void)
{
	log_set_sink(NULL, NULL);
}

/* ---- helpers ------------------------------------------------------------------- */

static void fill_entry(struct entry *e, const char *path, char type)
{
	memset(e, 0, sizeof(*e));
	e->path = (char *)path;
	e->path_len = strlen(path);
	e->type = type;
	e->mode = type == 'd' ? 0755 : 0644;
	e->uid = 1000;
	e->gid = 100;
	e->size = type == 'f' ? 123456789012ull : 0;
	e->mtime_sec = 1700000000;
	e->mtime_nsec = 999999999;
	if (type == 'l')
		e->target = (char *)"../some/target";
	if (type == 'f') {
		for (int i = 0; i < 16; i++)
			e->hash[i] = (unsigned char)(0xa0 + i);
	}
}

/* A listing's first entry: nothing before it. */
#define NEW_CTX (&(struct entry_ctx)ENTRY_CTX_INIT)

static int decode_entry(const struct buf *b, size_t n, int with_hash, struct entry *out,
			char *why)
{
	int r;

	why[0] = '\0';
	r = entry_decode(b->data, n, out, with_hash, &(struct entry_ctx)ENTRY_CTX_INIT, why, WHYLEN);
	if (r)
		ck_assert_msg(why[0] != '\0', "entry_decode failed without a reason");
	return r;
}

/* Rejected, with a reason; nothing to free. */
#define ENTRY_BAD(b, n, h) do { \
	struct entry x_; \
	char w_[WHYLEN]; \
	ck_assert_msg(decode_entry(b, n, h, &x_, w_) == -1, "ENTRY of %zu bytes accepted", \
		      (size_t)(n)); \
} while (0)

/* An ENTRY payload with the path given as raw bytes. */
static void raw_entry(struct buf *b, const char *path, size_t plen, uint8_t type, uint8_t flags,
		      uint32_t mode, uint32_t nsec)
{
	buf_reset(b);
	buf_put_u16(b, 0);	/* shared with the previous path: none */
	buf_put_str(b, path, plen);
	buf_put_u8(b, type);
	buf_put_u8(b, flags);
	buf_put_u8(b, 0x8);	/* form: every field sent, the size as a u32 */
	buf_put_u16(b, (uint16_t)mode);
	buf_put_u32(b, 0);
	buf_put_u32(b, 0);
	buf_put_u32(b, 0);
	buf_put_i64(b, 0);
	buf_put_u32(b, nsec);
	if (type == 'l')
		buf_put_str(b, "t", 1);
}

/* ---- HELLO ------------------------------------------------------------------------ */

START_TEST(hello_round_trip)
{
	struct hello h = { 1, 7, 0x8000000000000001ull }, g;
	struct buf b = BUF_INIT;
	char why[WHYLEN];

	hello_encode(&b, &h);
	ck_assert_uint_eq(b.len, 16);
	ck_assert_mem_eq(b.data, "SHLT", 4);
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(hello_decode(b.data, b.len, &g, why, sizeof(why)), 0);
	ck_assert_uint_eq(g.vmin, 1);
	ck_assert_uint_eq(g.vmax, 7);
	ck_assert_uint_eq(g.caps, 0x8000000000000001ull);
	buf_release(&b);
}
END_TEST

START_TEST(hello_rejects)
{
	struct hello h = { 1, 1, 0 }, g;
	struct buf b = BUF_INIT;
	char why[WHYLEN];
	size_t n;

	hello_encode(&b, &h);
	/* every truncation */
	for (n = 0; n < b.len; n++)
		ck_assert_msg(hello_decode(b.data, n, &g, why, sizeof(why)) == -1,
			      "HELLO of %zu bytes accepted", n);
	/* trailing byte */
	buf_put_u8(&b, 0);
	ck_assert_int_eq(hello_decode(b.data, b.len, &g, why, sizeof(why)), -1);
	b.len--;
	/* bad magic, each byte */
	for (n = 0; n < 4; n++) {
		b.data[n] ^= 0x20;
		why[0] = '\0';
		ck_assert_int_eq(hello_decode(b.data, b.len, &g, why, sizeof(why)), -1);
		ck_assert_msg(strstr(why, "magic") != NULL, "reason: %s", why);
		b.data[n] ^= 0x20;
	}
	/* An ssh banner. */
	ck_assert_int_eq(hello_decode((const unsigned char *)"SSH-2.0-OpenSSH_9.6", 19, &g, why,
				      sizeof(why)), -1);
	/* vmin > vmax */
	buf_reset(&b);
	h.vmin = 3;
	h.vmax = 2;
	hello_encode(&b, &h);
	ck_assert_int_eq(hello_decode(b.data, b.len, &g, why, sizeof(why)), -1);
	/* vmin == vmax == 0 is a valid (if useless) range. */
	buf_reset(&b);
	h.vmin = h.vmax = 0;
	hello_encode(&b, &h);
	ck_assert_int_eq(hello_decode(b.data, b.len, &g, why, sizeof(why)), 0);
	buf_release(&b);
}
END_TEST

/* ---- START ------------------------------------------------------------------------- */

START_TEST(start_round_trip)
{
	char *pats[] = { "*.o", "/build/", "a b" };
	struct start s = { ROLE_RECEIVER, OPT_DRY_RUN | OPT_ITEMIZE, 3, 45, "/some/dest", pats, 3, { 0 },
			   0, 0, 0 }, g;
	struct buf b = BUF_INIT;
	char why[WHYLEN];

	start_encode(&b, &s);
	ck_assert_int_eq(start_decode(b.data, b.len, &g, why, sizeof(why)), 0);
	ck_assert_uint_eq(g.role, ROLE_RECEIVER);
	ck_assert_uint_eq(g.flags, OPT_DRY_RUN | OPT_ITEMIZE);
	ck_assert_uint_eq(g.verbosity, 3);
	ck_assert_uint_eq(g.timeout, 45);
	ck_assert_str_eq(g.root, "/some/dest");
	ck_assert_uint_eq(g.npatterns, 3);
	ck_assert_str_eq(g.patterns[0], "*.o");
	ck_assert_str_eq(g.patterns[1], "/build/");
	ck_assert_str_eq(g.patterns[2], "a b");
	start_release(&g);

	buf_reset(&b);
	s.role = ROLE_SENDER;
	s.flags = OPT_KNOWN_FLAGS;
	s.verbosity = 0;
	s.timeout = MAX_TIMEOUT;
	s.root = "rel";
	s.npatterns = 0;
	start_encode(&b, &s);
	ck_assert_int_eq(start_decode(b.data, b.len, &g, why, sizeof(why)), 0);
	ck_assert_uint_eq(g.role, ROLE_SENDER);
	ck_assert_uint_eq(g.flags, OPT_KNOWN_FLAGS);
	ck_assert_uint_eq(g.timeout, MAX_TIMEOUT);
	ck_assert_str_eq(g.root, "rel");
	ck_assert_uint_eq(g.npatterns, 0);
	start_release(&g);
	buf_release(&b);
}
END_TEST

START_TEST(start_max_patterns)
{
	struct buf b = BUF_INIT;
	struct start g;
	char why[WHYLEN];
	uint32_t i;

	buf_put_u8(&b, ROLE_RECEIVER);
	buf_put_u32(&b, 0);
	buf_put_u8(&b, 1);
	buf_put_u32(&b, 600);
	buf_put_str(&b, "d", 1);
	buf_put_u32(&b, MAX_EXCLUDES);
	for (i = 0; i < MAX_EXCLUDES; i++)
		buf_put_str(&b, "x", 1);
	ck_assert_uint_le(b.len, MAX_FRAME);
	largest = 0;
	watching = 1;
	ck_assert_int_eq(start_decode(b.data, b.len, &g, why, sizeof(why)), 0);
	watching = 0;
	/* The allocation watch sees the pattern array (a check of the check). */
	if (HAVE_ALLOC_WATCH)
		ck_assert_uint_ge(largest, MAX_EXCLUDES * sizeof(char *));
	ck_assert_uint_eq(g.npatterns, MAX_EXCLUDES);
	start_release(&g);
	buf_release(&b);
}
END_TEST

/* A START payload up to the pattern count (timeout 600 s). */
static void start_head_t(struct buf *b, uint8_t role, uint32_t flags, uint8_t verb,
			 uint32_t timeout, const char *root, size_t rootlen)
{
	buf_reset(b);
	buf_put_u8(b, role);
	buf_put_u32(b, flags);
	buf_put_u8(b, verb);
	buf_put_u32(b, timeout);
	buf_put_str(b, root, rootlen);
}

static void start_head(struct buf *b, uint8_t role, uint32_t flags, uint8_t verb, const char *root,
		       size_t rootlen)
{
	start_head_t(b, role, flags, verb, 600, root, rootlen);
}

static int start_try(const struct buf *b, char *why)
{
	struct start g;
	int r;

	why[0] = '\0';
	r = start_decode(b->data, b->len, &g, why, WHYLEN);
	if (r == 0)
		start_release(&g);
	else
		ck_assert_msg(why[0] != '\0', "start_decode failed without a reason");
	return r;
}

START_TEST(start_rejects)
{
	struct buf b = BUF_INIT, ok = BUF_INIT;
	char why[WHYLEN], *longroot;
	struct start s = { ROLE_RECEIVER, 0, 1, 600, "/d", NULL, 0, { 0 }, 0, 0, 0 };
	size_t n;

	/* every truncation of a valid START with two patterns */
	{
		char *pats[] = { "a", "bb" };

		s.patterns = pats;
		s.npatterns = 2;
		start_encode(&ok, &s);
		for (n = 0; n < ok.len; n++) {
			struct start g;

			ck_assert_msg(start_decode(ok.data, n, &g, why, sizeof(why)) == -1,
				      "START of %zu bytes accepted", n);
		}
		buf_put_u8(&ok, 0);
		ck_assert_int_eq(start_decode(ok.data, ok.len, &(struct start){ 0 }, why, WHYLEN), -1);
		ck_assert_msg(strstr(why, "trailing") != NULL, "reason: %s", why);
	}
	/* unknown roles */
	start_head(&b, 0, 0, 1, "/d", 2);
	buf_put_u32(&b, 0);
	ck_assert_int_eq(start_try(&b, why), -1);
	ck_assert_msg(strstr(why, "role") != NULL, "reason: %s", why);
	start_head(&b, 7, 0, 1, "/d", 2);	/* 3 sync, 4 restore, 5 prune, 6 verify */
	buf_put_u32(&b, 0);
	ck_assert_int_eq(start_try(&b, why), -1);
	start_head(&b, 255, 0, 1, "/d", 2);
	buf_put_u32(&b, 0);
	ck_assert_int_eq(start_try(&b, why), -1);
	/* a timeout beyond the limit (0xffffffff would overflow milliseconds) */
	start_head_t(&b, ROLE_RECEIVER, 0, 1, MAX_TIMEOUT + 1, "/d", 2);
	buf_put_u32(&b, 0);
	ck_assert_int_eq(start_try(&b, why), -1);
	ck_assert_msg(strstr(why, "timeout") != NULL, "reason: %s", why);
	start_head_t(&b, ROLE_RECEIVER, 0, 1, 0xffffffffu, "/d", 2);
	buf_put_u32(&b, 0);
	ck_assert_int_eq(start_try(&b, why), -1);
	start_head_t(&b, ROLE_RECEIVER, 0, 1, 0, "/d", 2);
	buf_put_u32(&b, 0);
	ck_assert_int_eq(start_try(&b, why), 0);
	/* unknown flags (0x10 create root, 0x20 retention, 0x40 restore, 0x80 in place) */
	start_head(&b, ROLE_RECEIVER, 0x100, 1, "/d", 2);
	buf_put_u32(&b, 0);
	ck_assert_int_eq(start_try(&b, why), -1);
	ck_assert_msg(strstr(why, "flags") != NULL, "reason: %s", why);
	start_head(&b, ROLE_RECEIVER, 0x80000000u, 1, "/d", 2);
	buf_put_u32(&b, 0);
	ck_assert_int_eq(start_try(&b, why), -1);
	/* verbosity */
	start_head(&b, ROLE_RECEIVER, 0, 4, "/d", 2);
	buf_put_u32(&b, 0);
	ck_assert_int_eq(start_try(&b, why), -1);
	/* root: empty, NUL inside, too long */
	start_head(&b, ROLE_RECEIVER, 0, 1, "", 0);
	buf_put_u32(&b, 0);
	ck_assert_int_eq(start_try(&b, why), -1);
	start_head(&b, ROLE_RECEIVER, 0, 1, "/d\0/etc", 7);
	buf_put_u32(&b, 0);
	ck_assert_int_eq(start_try(&b, why), -1);
	longroot = malloc(MAX_ROOT_LEN + 1);
	memset(longroot, 'r', MAX_ROOT_LEN + 1);
	start_head(&b, ROLE_RECEIVER, 0, 1, longroot, MAX_ROOT_LEN + 1);
	buf_put_u32(&b, 0);
	ck_assert_int_eq(start_try(&b, why), -1);
	start_head(&b, ROLE_RECEIVER, 0, 1, longroot, MAX_ROOT_LEN);
	buf_put_u32(&b, 0);
	ck_assert_int_eq(start_try(&b, why), 0);
	free(longroot);
	/* count above the limit, with enough bytes after it */
	start_head(&b, ROLE_RECEIVER, 0, 1, "/d", 2);
	buf_put_u32(&b, MAX_EXCLUDES + 1);
	for (n = 0; n < MAX_EXCLUDES + 1; n++)
		buf_put_str(&b, "x", 1);
	ck_assert_int_eq(start_try(&b, why), -1);
	/* count larger than the patterns present */
	start_head(&b, ROLE_RECEIVER, 0, 1, "/d", 2);
	buf_put_u32(&b, 2);
	buf_put_str(&b, "abcdefghijklmnop", 16);
	ck_assert_int_eq(start_try(&b, why), -1);
	/* empty pattern, pattern with NUL, pattern too long */
	start_head(&b, ROLE_RECEIVER, 0, 1, "/d", 2);
	buf_put_u32(&b, 1);
	buf_put_str(&b, "", 0);
	ck_assert_int_eq(start_try(&b, why), -1);
	start_head(&b, ROLE_RECEIVER, 0, 1, "/d", 2);
	buf_put_u32(&b, 2);
	buf_put_str(&b, "ok", 2);
	buf_put_str(&b, "a\0b", 3);
	ck_assert_int_eq(start_try(&b, why), -1);
	{
		char *lp = malloc(MAX_PATTERN_LEN + 1);

		memset(lp, 'p', MAX_PATTERN_LEN + 1);
		start_head(&b, ROLE_RECEIVER, 0, 1, "/d", 2);
		buf_put_u32(&b, 1);
		buf_put_str(&b, lp, MAX_PATTERN_LEN + 1);
		ck_assert_int_eq(start_try(&b, why), -1);
		start_head(&b, ROLE_RECEIVER, 0, 1, "/d", 2);
		buf_put_u32(&b, 1);
		buf_put_str(&b, lp, MAX_PATTERN_LEN);
		ck_assert_int_eq(start_try(&b, why), 0);
		free(lp);
	}
	buf_release(&b);
	buf_release(&ok);
}
END_TEST

/* A count the payload cannot hold is refused before the array is allocated. */
static void start_huge_count(uint32_t count)
{
	struct buf b = BUF_INIT;
	struct start g;
	char why[WHYLEN];
	int r;

	start_head(&b, ROLE_RECEIVER, 0, 1, "/d", 2);
	buf_put_u32(&b, count);
	buf_put_str(&b, "x", 1);	/* one pattern's worth of bytes */
	largest = 0;
	watching = 1;
	r = start_decode(b.data, b.len, &g, why, sizeof(why));
	watching = 0;
	ck_assert_msg(r == -1, "START with count %u in %zu bytes accepted", count, b.len);
	if (HAVE_ALLOC_WATCH)
		ck_assert_msg(largest < 4096, "start_decode allocated %zu bytes for a count of %u",
			      (size_t)largest, count);
	buf_release(&b);
}

START_TEST(start_count_before_alloc)
{
	start_huge_count(10000);
	start_huge_count(MAX_EXCLUDES);
	start_huge_count(2);
	start_huge_count(0x10000);
	start_huge_count(0x40000000u);
	start_huge_count(0xffffffffu);
}
END_TEST

/* ---- ENTRY ------------------------------------------------------------------------- */

static void entry_round_trip(const struct entry *e, int with_hash)
{
	struct buf b = BUF_INIT;
	struct entry g;
	char why[WHYLEN];

	entry_encode(&b, e, with_hash, NEW_CTX);
	ck_assert_int_eq(decode_entry(&b, b.len, with_hash, &g, why), 0);
	ck_assert_uint_eq(g.path_len, e->path_len);
	ck_assert_mem_eq(g.path, e->path, e->path_len);
	ck_assert_uint_eq(g.path[g.path_len], '\0');
	ck_assert_int_eq(g.type, e->type);
	ck_assert_uint_eq(g.flags, e->flags);
	ck_assert_uint_eq(g.mode, e->mode);
	ck_assert_uint_eq(g.uid, e->uid);
	ck_assert_uint_eq(g.gid, e->gid);
	ck_assert_uint_eq(g.size, e->size);
	ck_assert_int_eq(g.mtime_sec, e->mtime_sec);
	ck_assert_uint_eq(g.mtime_nsec, e->mtime_nsec);
	if (e->type == 'l')
		ck_assert_str_eq(g.target, e->target);
	else
		ck_assert_ptr_null(g.target);
	if (with_hash && e->type == 'f') {
		ck_assert_int_eq(g.has_hash, 1);
		ck_assert_mem_eq(g.hash, e->hash, 16);
	} else {
		ck_assert_int_eq(g.has_hash, 0);
	}
	entry_release(&g);
	ck_assert_ptr_null(g.path);
	buf_release(&b);
}

START_TEST(entry_round_trips)
{
	static const char types[] = { 'f', 'd', 'l' };
	struct entry e;

	for (int t = 0; t < 3; t++) {
		fill_entry(&e, "dir/sub/name with spaces", types[t]);
		entry_round_trip(&e, 0);
		entry_round_trip(&e, 1);
	}
	fill_entry(&e, "d", 'd');
	e.flags = ENTRY_DIR_UNREAD;
	e.mode = 07777;
	entry_round_trip(&e, 0);
	fill_entry(&e, "neg", 'f');
	e.mtime_sec = -1234567;
	e.mtime_nsec = 0;
	e.uid = 0xffffffffu;
	e.size = INT64_MAX;
	entry_round_trip(&e, 1);
	fill_entry(&e, "l", 'l');
	e.target = (char *)"/absolute/targets/are/verbatim/../too";
	entry_round_trip(&e, 0);
	{
		char *t = malloc(MAX_TARGET_LEN + 1);

		memset(t, 't', MAX_TARGET_LEN);
		t[MAX_TARGET_LEN] = '\0';
		e.target = t;
		entry_round_trip(&e, 0);
		free(t);
	}
}
END_TEST

/*
 * Version 2: a listing encoded entry by entry against the one before
 * decodes to the same entries, smaller than each alone; a peer's shared
 * length past the previous path, or a field said to be the previous
 * entry's in the first one, is refused.
 */
START_TEST(entry_listing_shares_prefixes)
{
	static const char *const paths[] = { "a", "a/b", "a/b/c.txt", "a/b/d.txt", "a/bb",
					     "a/bb/x", "b", "b/long name/deeper/file" };
	struct entry_ctx *ex = calloc(1, sizeof(*ex)), *dx = calloc(1, sizeof(*dx));
	struct buf b = BUF_INIT, alone = BUF_INIT;
	struct entry e, g;
	char why[WHYLEN];
	size_t i, whole = 0, shared = 0;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		fill_entry(&e, paths[i], i == 2 || i == 3 || i == 5 || i == 7 ? 'f' : 'd');
		e.uid = i < 4 ? 1000 : 0;
		buf_reset(&b);
		entry_encode(&b, &e, 1, ex);
		buf_reset(&alone);
		entry_encode(&alone, &e, 1, NEW_CTX);
		whole += alone.len;
		shared += b.len;
		ck_assert_int_eq(entry_decode(b.data, b.len, &g, 1, dx, why, WHYLEN), 0);
		ck_assert_str_eq(g.path, paths[i]);
		ck_assert_uint_eq(g.path_len, strlen(paths[i]));
		ck_assert_uint_eq(g.mode, e.mode);
		ck_assert_uint_eq(g.uid, e.uid);
		ck_assert_uint_eq(g.gid, e.gid);
		ck_assert_uint_eq(g.size, e.size);
		entry_release(&g);
	}
	ck_assert_msg(shared < whole, "shared %zu bytes, alone %zu", shared, whole);

	/* dx's previous path is "b/long name/deeper/file" (23 bytes) */
	fill_entry(&e, "c", 'f');
	buf_reset(&b);
	entry_encode(&b, &e, 0, NEW_CTX);
	b.data[0] = 0;
	b.data[1] = 24;		/* one byte past the previous path */
	ck_assert_int_eq(entry_decode(b.data, b.len, &g, 0, dx, why, WHYLEN), -1);
	ck_assert_msg(strstr(why, "shares 24 bytes") != NULL, "reason: %s", why);
	b.data[1] = 0xff;
	b.data[0] = 0xff;
	ck_assert_int_eq(entry_decode(b.data, b.len, &g, 0, dx, why, WHYLEN), -1);
	/* any shared length in a listing's first entry */
	b.data[0] = 0;
	b.data[1] = 1;
	ck_assert_int_eq(entry_decode(b.data, b.len, &g, 0, NEW_CTX, why, WHYLEN), -1);
	/* the 23 bytes, then "c": a valid path "b/long name/deeper/filec" */
	b.data[1] = 23;
	ck_assert_int_eq(entry_decode(b.data, b.len, &g, 0, dx, why, WHYLEN), 0);
	ck_assert_str_eq(g.path, "b/long name/deeper/filec");
	entry_release(&g);

	/* form: the previous entry's fields in a first entry; unknown bits */
	raw_entry(&b, "x", 1, 'f', 0, 0644, 0);
	b.data[2 + 4 + 1 + 2] = 0x8 | 0x1;
	ck_assert_int_eq(entry_decode(b.data, b.len, &g, 0, NEW_CTX, why, WHYLEN), -1);
	b.data[2 + 4 + 1 + 2] = 0x10 | 0x8;
	ck_assert_int_eq(entry_decode(b.data, b.len, &g, 0, NEW_CTX, why, WHYLEN), -1);
	/* a size below 2^32 in eight bytes */
	fill_entry(&e, "x", 'f');
	e.size = 5;
	buf_reset(&b);
	entry_encode(&b, &e, 0, NEW_CTX);
	ck_assert_uint_eq(b.data[2 + 4 + 1 + 2], 0x8);
	b.data[2 + 4 + 1 + 2] = 0;
	{
		struct buf c = BUF_INIT;

		buf_put(&c, b.data, 2 + 4 + 1 + 3 + 2 + 4 + 4);
		buf_put_u64(&c, 5);
		buf_put(&c, b.data + 2 + 4 + 1 + 3 + 2 + 4 + 4 + 4, b.len - (2 + 4 + 1 + 3 + 2 + 4 + 4 + 4));
		ck_assert_int_eq(entry_decode(c.data, c.len, &g, 0, NEW_CTX, why, WHYLEN), -1);
		ck_assert_msg(strstr(why, "8 bytes") != NULL, "reason: %s", why);
		buf_release(&c);
	}
	free(ex);
	free(dx);
	buf_release(&b);
	buf_release(&alone);
}
END_TEST

START_TEST(entry_copy_is_deep)
{
	struct entry e, c;

	fill_entry(&e, "a/link", 'l');
	entry_copy(&c, &e);
	ck_assert_ptr_ne(c.path, e.path);
	ck_assert_ptr_ne(c.target, e.target);
	ck_assert_str_eq(c.path, "a/link");
	ck_assert_str_eq(c.target, e.target);
	entry_release(&c);
	fill_entry(&e, "a/file", 'f');
	entry_copy(&c, &e);
	ck_assert_ptr_null(c.target);
	ck_assert_mem_eq(c.hash, e.hash, 16);
	entry_release(&c);
}
END_TEST

START_TEST(entry_every_truncation)
{
	static const char types[] = { 'f', 'd', 'l' };
	struct buf b = BUF_INIT;
	struct entry e;

	for (int t = 0; t < 3; t++) {
		for (int h = 0; h <= 1; h++) {
			size_t n;

			buf_reset(&b);
			fill_entry(&e, "a/b", types[t]);
			entry_encode(&b, &e, h, NEW_CTX);
			for (n = 0; n < b.len; n++)
				ENTRY_BAD(&b, n, h);
		}
	}
	buf_release(&b);
}
END_TEST

START_TEST(entry_trailing_and_hash_mismatch)
{
	struct buf b = BUF_INIT;
	struct entry e;
	static const char types[] = { 'f', 'd', 'l' };

	for (int t = 0; t < 3; t++) {
		for (int h = 0; h <= 1; h++) {
			buf_reset(&b);
			fill_entry(&e, "x", types[t]);
			entry_encode(&b, &e, h, NEW_CTX);
			buf_put_u8(&b, 0);
			ENTRY_BAD(&b, b.len, h);
		}
	}
	/* a hash where none is expected: 16 trailing bytes */
	buf_reset(&b);
	fill_entry(&e, "x", 'f');
	entry_encode(&b, &e, 1, NEW_CTX);
	ENTRY_BAD(&b, b.len, 0);
	/* no hash where one is expected */
	buf_reset(&b);
	entry_encode(&b, &e, 0, NEW_CTX);
	ENTRY_BAD(&b, b.len, 1);
	buf_release(&b);
}
END_TEST

START_TEST(entry_bad_paths)
{
	static const char *const bad[] = {
		"../escape", "/abs", "a/../../x", "a//b", "a/./b", ".", "..", "a/", "/", "a/..",
		"./a", "//", "x/y/",
	};
	struct buf b = BUF_INIT;
	char name[MAX_NAME_LEN + 2], *longp;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		raw_entry(&b, bad[i], strlen(bad[i]), 'f', 0, 0644, 0);
		ck_assert_msg(entry_decode(b.data, b.len, &(struct entry){ 0 }, 0, NEW_CTX,
					   (char[WHYLEN]){ 0 }, WHYLEN) == -1, "ENTRY path '%s' accepted", bad[i]);
	}
	/* empty */
	raw_entry(&b, "", 0, 'f', 0, 0644, 0);
	ENTRY_BAD(&b, b.len, 0);
	/* NUL inside */
	raw_entry(&b, "a\0b", 3, 'f', 0, 0644, 0);
	ENTRY_BAD(&b, b.len, 0);
	raw_entry(&b, "ok\0", 3, 'f', 0, 0644, 0);
	ENTRY_BAD(&b, b.len, 0);
	/* a component of 256 bytes, alone and inside */
	memset(name, 'n', sizeof(name));
	raw_entry(&b, name, MAX_NAME_LEN + 1, 'f', 0, 0644, 0);
	ENTRY_BAD(&b, b.len, 0);
	raw_entry(&b, name, MAX_NAME_LEN, 'f', 0, 0644, 0);
	{
		struct entry g;
		char why[WHYLEN];

		ck_assert_int_eq(decode_entry(&b, b.len, 0, &g, why), 0);
		entry_release(&g);
	}
	/* total above 4095 with valid components */
	longp = malloc(MAX_PATH_LEN + 2);
	for (i = 0; i < MAX_PATH_LEN + 2; i++)
		longp[i] = (i % 100 == 99) ? '/' : 'p';
	longp[MAX_PATH_LEN] = 'p';
	raw_entry(&b, longp, MAX_PATH_LEN + 1, 'f', 0, 0644, 0);
	ENTRY_BAD(&b, b.len, 0);
	longp[MAX_PATH_LEN - 1] = 'p';
	raw_entry(&b, longp, MAX_PATH_LEN, 'f', 0, 0644, 0);
	{
		struct entry g;
		char why[WHYLEN];

		ck_assert_msg(decode_entry(&b, b.len, 0, &g, why) == 0, "%s", why);
		ck_assert_uint_eq(g.path_len, MAX_PATH_LEN);
		entry_release(&g);
	}
	free(longp);
	/* a length prefix claiming more than the payload */
	buf_reset(&b);
	buf_put_u32(&b, 0xffffffffu);
	buf_put_str(&b, "abc", 3);
	ENTRY_BAD(&b, b.len, 0);
	buf_release(&b);
}
END_TEST

START_TEST(entry_bad_fields)
{
	struct buf b = BUF_INIT;
	struct entry g;
	char why[WHYLEN];
	unsigned t;

	/* unknown type bytes */
	for (t = 0; t < 256; t++) {
		if (t == 'f' || t == 'd' || t == 'l')
			continue;
		raw_entry(&b, "x", 1, (uint8_t)t, 0, 0644, 0);
		ENTRY_BAD(&b, b.len, 0);
	}
	raw_entry(&b, "x", 1, 'F', 0, 0644, 0);
	ck_assert_int_eq(decode_entry(&b, b.len, 0, &g, why), -1);
	ck_assert_msg(strstr(why, "type") != NULL, "reason: %s", why);
	/* mode bits beyond 07777 */
	raw_entry(&b, "x", 1, 'f', 0, 010000, 0);
	ENTRY_BAD(&b, b.len, 0);
	raw_entry(&b, "x", 1, 'f', 0, 0100644, 0);	/* S_IFREG | 0644 */
	ENTRY_BAD(&b, b.len, 0);
	raw_entry(&b, "x", 1, 'd', 0, 0xffffffffu, 0);
	ENTRY_BAD(&b, b.len, 0);
	raw_entry(&b, "x", 1, 'f', 0, 07777, 0);
	ck_assert_int_eq(decode_entry(&b, b.len, 0, &g, why), 0);
	entry_release(&g);
	/* nanoseconds */
	raw_entry(&b, "x", 1, 'f', 0, 0644, 1000000000u);
	ENTRY_BAD(&b, b.len, 0);
	raw_entry(&b, "x", 1, 'f', 0, 0644, 0xffffffffu);
	ENTRY_BAD(&b, b.len, 0);
	raw_entry(&b, "x", 1, 'f', 0, 0644, 999999999u);
	ck_assert_int_eq(decode_entry(&b, b.len, 0, &g, why), 0);
	entry_release(&g);
	/* flags: only DIR_UNREAD, only on directories */
	raw_entry(&b, "x", 1, 'f', ENTRY_DIR_UNREAD, 0644, 0);
	ENTRY_BAD(&b, b.len, 0);
	raw_entry(&b, "x", 1, 'l', ENTRY_DIR_UNREAD, 0777, 0);
	ENTRY_BAD(&b, b.len, 0);
	raw_entry(&b, "x", 1, 'd', 0x2, 0755, 0);
	ENTRY_BAD(&b, b.len, 0);
	raw_entry(&b, "x", 1, 'd', 0xff, 0755, 0);
	ENTRY_BAD(&b, b.len, 0);
	raw_entry(&b, "x", 1, 'd', ENTRY_DIR_UNREAD, 0755, 0);
	ck_assert_int_eq(decode_entry(&b, b.len, 0, &g, why), 0);
	ck_assert_uint_eq(g.flags, ENTRY_DIR_UNREAD);
	entry_release(&g);
	/* size above INT64_MAX */
	{
		struct entry e;

		fill_entry(&e, "x", 'f');
		e.size = (uint64_t)INT64_MAX + 1;
		buf_reset(&b);
		entry_encode(&b, &e, 0, NEW_CTX);
		ENTRY_BAD(&b, b.len, 0);
	}
	buf_release(&b);
}
END_TEST

START_TEST(entry_bad_targets)
{
	struct buf b = BUF_INIT;
	char *t;

	/* empty target */
	raw_entry(&b, "l", 1, 'l', 0, 0777, 0);
	b.len -= 5;
	buf_put_str(&b, "", 0);
	ENTRY_BAD(&b, b.len, 0);
	/* NUL in target */
	b.len -= 4;
	buf_put_str(&b, "/etc\0x", 6);
	ENTRY_BAD(&b, b.len, 0);
	/* too long */
	t = malloc(MAX_TARGET_LEN + 1);
	memset(t, 't', MAX_TARGET_LEN + 1);
	raw_entry(&b, "l", 1, 'l', 0, 0777, 0);
	b.len -= 5;
	buf_put_str(&b, t, MAX_TARGET_LEN + 1);
	ENTRY_BAD(&b, b.len, 0);
	free(t);
	/* target length beyond the payload */
	raw_entry(&b, "l", 1, 'l', 0, 0777, 0);
	b.len -= 5;
	buf_put_u32(&b, 100);
	buf_put(&b, "abc", 3);
	ENTRY_BAD(&b, b.len, 0);
	buf_release(&b);
}
END_TEST

/* ---- REQ --------------------------------------------------------------------------- */

START_TEST(req_round_trip_and_rejects)
{
	struct req q = { 42, "dir/file", 123456, 1 }, g;
	struct buf b = BUF_INIT;
	char why[WHYLEN];
	size_t n;
	static const char *const bad[] = { "../etc/passwd", "/etc/passwd", "a//b", "a/./b", "a/" };

	req_encode(&b, &q);
	ck_assert_int_eq(req_decode(b.data, b.len, &g, why, sizeof(why)), 0);
	ck_assert_uint_eq(g.id, 42);
	ck_assert_str_eq(g.path, "dir/file");
	ck_assert_uint_eq(g.basis_size, 123456);
	ck_assert_uint_eq(g.has_sig, 1);
	free(g.path);
	for (n = 0; n < b.len; n++) {
		g.path = NULL;
		ck_assert_msg(req_decode(b.data, n, &g, why, sizeof(why)) == -1,
			      "REQ of %zu bytes accepted", n);
		ck_assert_ptr_null(g.path);
	}
	buf_put_u8(&b, 0);
	ck_assert_int_eq(req_decode(b.data, b.len, &g, why, sizeof(why)), -1);
	for (n = 0; n < sizeof(bad) / sizeof(bad[0]); n++) {
		buf_reset(&b);
		q.path = (char *)bad[n];
		req_encode(&b, &q);
		ck_assert_msg(req_decode(b.data, b.len, &g, why, sizeof(why)) == -1,
			      "REQ for '%s' accepted", bad[n]);
	}
	q.path = "f";
	buf_reset(&b);
	q.has_sig = 2;
	req_encode(&b, &q);
	ck_assert_int_eq(req_decode(b.data, b.len, &g, why, sizeof(why)), -1);
	buf_reset(&b);
	q.has_sig = 0;
	q.basis_size = (uint64_t)INT64_MAX + 1;
	req_encode(&b, &q);
	ck_assert_int_eq(req_decode(b.data, b.len, &g, why, sizeof(why)), -1);
	buf_reset(&b);
	buf_put_u32(&b, 1);
	buf_put_str(&b, "a\0b", 3);
	buf_put_u64(&b, 0);
	buf_put_u8(&b, 0);
	ck_assert_int_eq(req_decode(b.data, b.len, &g, why, sizeof(why)), -1);
	buf_release(&b);
}
END_TEST

/* ---- FILE, FILE_END, DONE, MSG ---------------------------------------------------------- */

START_TEST(file_round_trips)
{
	struct file_hdr f = { 7, FILE_OK, NULL, ENC_DELTA, 99, -5, 123, 0640 }, g;
	struct buf b = BUF_INIT;
	char why[WHYLEN];
	size_t n;

	file_encode(&b, &f);
	ck_assert_int_eq(file_decode(b.data, b.len, &g, why, sizeof(why)), 0);
	ck_assert_uint_eq(g.id, 7);
	ck_assert_uint_eq(g.status, FILE_OK);
	ck_assert_uint_eq(g.encoding, ENC_DELTA);
	ck_assert_uint_eq(g.size, 99);
	ck_assert_int_eq(g.mtime_sec, -5);
	ck_assert_uint_eq(g.mtime_nsec, 123);
	ck_assert_uint_eq(g.mode, 0640);
	ck_assert_ptr_null(g.reason);
	for (n = 0; n < b.len; n++)
		ck_assert_msg(file_decode(b.data, n, &g, why, sizeof(why)) == -1,
			      "FILE of %zu bytes accepted", n);
	buf_put_u8(&b, 0);
	ck_assert_int_eq(file_decode(b.data, b.len, &g, why, sizeof(why)), -1);

	for (uint8_t st = FILE_VANISHED; st <= FILE_UNREADABLE; st++) {
		struct file_hdr e = { 8, st, "Permission denied", 0, 0, 0, 0, 0 };

		buf_reset(&b);
		file_encode(&b, &e);
		ck_assert_int_eq(file_decode(b.data, b.len, &g, why, sizeof(why)), 0);
		ck_assert_uint_eq(g.id, 8);
		ck_assert_uint_eq(g.status, st);
		ck_assert_str_eq(g.reason, "Permission denied");
		free(g.reason);
		for (n = 0; n < b.len; n++) {
			ck_assert_msg(file_decode(b.data, n, &g, why, sizeof(why)) == -1,
				      "FILE (status %u) of %zu bytes accepted", st, n);
			free(g.reason);
		}
		buf_put_u8(&b, 0);
		ck_assert_int_eq(file_decode(b.data, b.len, &g, why, sizeof(why)), -1);
		free(g.reason);
	}
	/* an empty reason is fine */
	{
		struct file_hdr e = { 9, FILE_VANISHED, "", 0, 0, 0, 0, 0 };

		buf_reset(&b);
		file_encode(&b, &e);
		ck_assert_int_eq(file_decode(b.data, b.len, &g, why, sizeof(why)), 0);
		ck_assert_str_eq(g.reason, "");
		free(g.reason);
	}
	buf_release(&b);
}
END_TEST

START_TEST(file_rejects)
{
	struct file_hdr f = { 1, FILE_OK, NULL, ENC_RAW, 10, 0, 0, 0644 }, g;
	struct buf b = BUF_INIT;
	char why[WHYLEN];

#define FILE_BAD() do { \
	buf_reset(&b); \
	file_encode(&b, &f); \
	ck_assert_int_eq(file_decode(b.data, b.len, &g, why, sizeof(why)), -1); \
	f = (struct file_hdr){ 1, FILE_OK, NULL, ENC_RAW, 10, 0, 0, 0644 }; \
} while (0)
	f.encoding = 2;
	FILE_BAD();
	f.size = (uint64_t)INT64_MAX + 1;
	FILE_BAD();
	f.mtime_nsec = 1000000000u;
	FILE_BAD();
	f.mode = 010000;
	FILE_BAD();
	f.status = 3;
	f.reason = "x";
	FILE_BAD();
	f.status = 255;
	f.reason = "x";
	FILE_BAD();
#undef FILE_BAD
	/* reason with a NUL byte, reason too long */
	buf_reset(&b);
	buf_put_u32(&b, 1);
	buf_put_u8(&b, FILE_UNREADABLE);
	buf_put_str(&b, "a\0b", 3);
	ck_assert_int_eq(file_decode(b.data, b.len, &g, why, sizeof(why)), -1);
	{
		char *r = malloc(MAX_MSG_LEN + 1);

		memset(r, 'r', MAX_MSG_LEN + 1);
		buf_reset(&b);
		buf_put_u32(&b, 1);
		buf_put_u8(&b, FILE_UNREADABLE);
		buf_put_str(&b, r, MAX_MSG_LEN + 1);
		ck_assert_int_eq(file_decode(b.data, b.len, &g, why, sizeof(why)), -1);
		free(r);
	}
	buf_release(&b);
}
END_TEST

START_TEST(file_end_round_trip)
{
	struct file_end f = { 1, { 0 }, 1000, (uint64_t)1 << 40 }, g;
	struct buf b = BUF_INIT;
	size_t n;

	for (n = 0; n < 16; n++)
		f.hash[n] = (unsigned char)(n * 17);
	file_end_encode(&b, &f);
	ck_assert_uint_eq(b.len, 1 + 16 + 8 + 8);
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(file_end_decode(b.data, b.len, &g), 0);
	ck_assert_uint_eq(g.changed, 1);
	ck_assert_mem_eq(g.hash, f.hash, 16);
	ck_assert_uint_eq(g.literal, 1000);
	ck_assert_uint_eq(g.matched, (uint64_t)1 << 40);
	for (n = 0; n < b.len; n++)
		ck_assert_msg(file_end_decode(b.data, n, &g) == -1, "FILE_END of %zu bytes accepted", n);
	buf_put_u8(&b, 0);
	ck_assert_int_eq(file_end_decode(b.data, b.len, &g), -1);
	b.len--;
	b.data[0] = 2;
	ck_assert_int_eq(file_end_decode(b.data, b.len, &g), -1);
	buf_release(&b);
}
END_TEST

START_TEST(done_round_trip)
{
	struct stats st = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, UINT64_MAX }, g;
	struct buf b = BUF_INIT;
	uint8_t code = 0;
	size_t n;

	done_encode(&b, 23, &st);
	ck_assert_uint_eq(b.len, 1 + 8 * STATS_FIELDS);
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(done_decode(b.data, b.len, &code, &g), 0);
	ck_assert_uint_eq(code, 23);
	ck_assert_mem_eq(&g, &st, sizeof(st));
	for (n = 0; n < b.len; n++)
		ck_assert_msg(done_decode(b.data, n, &code, &g) == -1, "DONE of %zu bytes accepted", n);
	buf_put_u8(&b, 0);
	ck_assert_int_eq(done_decode(b.data, b.len, &code, &g), -1);
	buf_release(&b);
}
END_TEST

START_TEST(msg_round_trip)
{
	struct buf b = BUF_INIT;
	uint8_t kind;
	char *text, *big;
	size_t n;

	msg_encode(&b, 1, "hello\tworld\n");
	ck_assert_int_eq(msg_decode(b.data, b.len, &kind, &text), 0);
	ck_assert_uint_eq(kind, 1);
	/* a tab stays; a newline could forge a line of the reader's own */
	ck_assert_str_eq(text, "hello\tworld?");
	free(text);
	for (n = 0; n < b.len; n++)
		ck_assert_int_eq(msg_decode(b.data, n, &kind, &text), -1);
	buf_put_u8(&b, 0);
	ck_assert_int_eq(msg_decode(b.data, b.len, &kind, &text), -1);
	/* control bytes (a terminal escape) are neutralised, NUL included */
	buf_reset(&b);
	buf_put_u8(&b, 0);
	buf_put_str(&b, "a\x1b[2Jb\0c\rd\x7f", 11);
	ck_assert_int_eq(msg_decode(b.data, b.len, &kind, &text), 0);
	ck_assert_mem_eq(text, "a?[2Jb?c?d?", 11);
	free(text);
	/* encoder caps the text, decoder refuses more than the cap */
	big = malloc(MAX_MSG_LEN + 100);
	memset(big, 'm', MAX_MSG_LEN + 99);
	big[MAX_MSG_LEN + 99] = '\0';
	buf_reset(&b);
	msg_encode(&b, 0, big);
	ck_assert_uint_eq(b.len, 1 + 4 + MAX_MSG_LEN);
	ck_assert_int_eq(msg_decode(b.data, b.len, &kind, &text), 0);
	ck_assert_uint_eq(strlen(text), MAX_MSG_LEN);
	free(text);
	buf_reset(&b);
	buf_put_u8(&b, 0);
	buf_put_str(&b, big, MAX_MSG_LEN + 1);
	ck_assert_int_eq(msg_decode(b.data, b.len, &kind, &text), -1);
	free(big);
	buf_release(&b);
}
END_TEST

START_TEST(frame_names)
{
	ck_assert_str_eq(frame_name(F_HELLO), "HELLO");
	ck_assert_str_eq(frame_name(F_START), "START");
	ck_assert_str_eq(frame_name(F_READY), "READY");
	ck_assert_str_eq(frame_name(F_ERROR), "ERROR");
	ck_assert_str_eq(frame_name(F_MSG), "MSG");
	ck_assert_str_eq(frame_name(F_ENTRY), "ENTRY");
	ck_assert_str_eq(frame_name(F_END_LIST), "END_LIST");
	ck_assert_str_eq(frame_name(F_REQ), "REQ");
	ck_assert_str_eq(frame_name(F_SIG), "SIG");
	ck_assert_str_eq(frame_name(F_SIG_END), "SIG_END");
	ck_assert_str_eq(frame_name(F_FILE), "FILE");
	ck_assert_str_eq(frame_name(F_DATA), "DATA");
	ck_assert_str_eq(frame_name(F_FILE_END), "FILE_END");
	ck_assert_str_eq(frame_name(F_DONE), "DONE");
	ck_assert_str_eq(frame_name(F_PLAN), "PLAN");
	ck_assert_str_eq(frame_name(0), "unknown");
	ck_assert_str_eq(frame_name(255), "unknown");
}
END_TEST

/* ---- chan: framing over a socketpair ----------------------------------------------------- */

#define NFRAMES 60

static size_t frame_size(int i)
{
	static const size_t special[] = { 0, 1, MAX_FRAME, 4, 65536, MAX_FRAME - 1, 0, 5 };

	if (i < (int)(sizeof(special) / sizeof(special[0])))
		return special[i];
	return ((size_t)i * 7919u * 7919u) % (MAX_FRAME + 1);
}

static unsigned char frame_byte(int i, size_t k)
{
	return (unsigned char)(i * 31 + k * 7 + (k >> 8));
}

START_TEST(chan_round_trip)
{
	int sv[2], status, i;
	pid_t pid;
	struct chan c;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The writer: queue everything, then write it all, blocking. */
		unsigned char *p = malloc(MAX_FRAME);

		close(sv[0]);
		chan_init(&c, sv[1], sv[1]);
		for (i = 0; i < NFRAMES; i++) {
			size_t n = frame_size(i), k;

			for (k = 0; k < n; k++)
				p[k] = frame_byte(i, k);
			chan_send(&c, (uint8_t)(i + 1), p, n);
			if (i % 7 == 0 && chan_flush(&c, 1))
				_exit(2);
		}
		if (chan_flush(&c, 1) || chan_pending(&c))
			_exit(3);
		{
			uint64_t want = 0;

			for (i = 0; i < NFRAMES; i++)
				want += FRAME_HEADER + frame_size(i);
			if (c.sent != want)
				_exit(4);
		}
		chan_release(&c);
		free(p);
		_exit(0);
	}
	close(sv[1]);
	chan_init(&c, sv[0], sv[0]);
	{
		uint64_t total = 0;

		for (i = 0; i < NFRAMES; i++) {
			const unsigned char *p;
			size_t n, k;
			uint8_t t;

			ck_assert_int_eq(chan_recv(&c, &t, &p, &n, 1), 1);
			ck_assert_uint_eq(t, (uint8_t)(i + 1));
			ck_assert_uint_eq(n, frame_size(i));
			for (k = 0; k < n; k++)
				if (p[k] != frame_byte(i, k))
					ck_abort_msg("frame %d byte %zu differs", i, k);
			total += FRAME_HEADER + n;
		}
		ck_assert_uint_eq(c.received, total);
		/* then a clean EOF */
		{
			const unsigned char *p;
			size_t n;
			uint8_t t;

			ck_assert_int_eq(chan_recv(&c, &t, &p, &n, 1), -1);
			ck_assert_int_eq(c.eof, 1);
		}
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer status %d", status);
	chan_release(&c);
	close(sv[0]);
}
END_TEST

START_TEST(chan_nonblocking_recv)
{
	int sv[2];
	struct chan a, b;
	const unsigned char *p;
	size_t n;
	uint8_t t;
	int r = 0, tries;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	chan_init(&a, sv[0], sv[0]);
	chan_init(&b, sv[1], sv[1]);
	ck_assert_int_eq(chan_recv(&b, &t, &p, &n, 0), 0);
	ck_assert_int_eq(chan_has_frame(&b), 0);
	chan_send(&a, F_MSG, "abc", 3);
	chan_send(&a, F_DONE, NULL, 0);
	ck_assert_uint_eq(chan_pending(&a), 2 * FRAME_HEADER + 3);
	ck_assert_int_eq(chan_flush(&a, 0), 0);
	ck_assert_uint_eq(chan_pending(&a), 0);
	for (tries = 0; tries < 1000 && (r = chan_recv(&b, &t, &p, &n, 0)) == 0; tries++)
		chan_wait(&b, 10);
	ck_assert_int_eq(r, 1);
	ck_assert_uint_eq(t, F_MSG);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(p, "abc", 3);
	ck_assert_int_eq(chan_has_frame(&b), 1);
	ck_assert_int_eq(chan_recv(&b, &t, &p, &n, 0), 1);
	ck_assert_uint_eq(t, F_DONE);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(chan_recv(&b, &t, &p, &n, 0), 0);
	chan_release(&a);
	chan_release(&b);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Write raw bytes to one end, close it, and chan_recv on the other. */
static int recv_raw(const void *bytes, size_t len, int close_after, struct chan *c)
{
	int sv[2];
	const unsigned char *p;
	size_t n;
	uint8_t t;
	int r;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[0], bytes, len), (ssize_t)len);
	if (close_after)
		close(sv[0]);
	chan_init(c, sv[1], sv[1]);
	last_msg[0] = '\0';
	r = chan_recv(c, &t, &p, &n, 1);
	if (!close_after)
		close(sv[0]);
	close(sv[1]);
	return r;
}

START_TEST(chan_oversized_frame)
{
	unsigned char h[FRAME_HEADER + 16] = { F_DATA, 0, 0x04, 0, 1 };	/* MAX_FRAME + 1 */
	struct chan c;

	ck_assert_uint_eq(0x040001u, MAX_FRAME + 1);
	/* refused from the header alone: the connection stays open */
	ck_assert_int_eq(recv_raw(h, sizeof(h), 0, &c), -1);
	ck_assert_int_eq(c.eof, 0);
	ck_assert_msg(strstr(last_msg, "protocol error") != NULL, "message: %s", last_msg);
	ck_assert_uint_lt(c.in.cap, 1u << 20);	/* nothing allocated from the length */
	chan_release(&c);

	h[1] = h[2] = h[3] = h[4] = 0xff;
	ck_assert_int_eq(recv_raw(h, sizeof(h), 1, &c), -1);
	ck_assert_msg(strstr(last_msg, "protocol error") != NULL, "message: %s", last_msg);
	ck_assert_uint_lt(c.in.cap, 1u << 20);
	chan_release(&c);

	/* exactly MAX_FRAME is fine (needs the payload) */
	{
		unsigned char *f = calloc(1, FRAME_HEADER + MAX_FRAME);
		int sv[2];
		const unsigned char *p;
		size_t n;
		uint8_t t;
		pid_t pid;

		f[0] = F_DATA;
		f[2] = 0x04;
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		pid = fork();
		if (pid == 0) {
			close(sv[1]);
			_exit(write(sv[0], f, FRAME_HEADER + MAX_FRAME) == FRAME_HEADER + MAX_FRAME ? 0 : 1);
		}
		close(sv[0]);
		chan_init(&c, sv[1], sv[1]);
		ck_assert_int_eq(chan_recv(&c, &t, &p, &n, 1), 1);
		ck_assert_uint_eq(n, MAX_FRAME);
		waitpid(pid, NULL, 0);
		chan_release(&c);
		close(sv[1]);
		free(f);
	}
}
END_TEST

START_TEST(chan_eof_inside_frame)
{
	unsigned char f[FRAME_HEADER + 10] = { F_DATA, 0, 0, 0, 100 };
	struct chan c;

	/* header complete, payload short: the peer is gone mid-frame */
	ck_assert_int_eq(recv_raw(f, sizeof(f), 1, &c), -1);
	ck_assert_int_eq(c.eof, 1);
	ck_assert_msg(strstr(last_msg, "lost") != NULL && strstr(last_msg, "frame") != NULL,
		      "message: %s", last_msg);
	chan_release(&c);
	/* inside the header */
	ck_assert_int_eq(recv_raw(f, 3, 1, &c), -1);
	ck_assert_int_eq(c.eof, 1);
	ck_assert_msg(strstr(last_msg, "lost") != NULL && strstr(last_msg, "frame") != NULL,
		      "message: %s", last_msg);
	chan_release(&c);
	/* a whole frame, then EOF inside the next: the first still arrives */
	{
		unsigned char two[FRAME_HEADER + 2 + 4] = { F_MSG, 0, 0, 0, 2, 'h', 'i', F_MSG, 0, 0 };
		int sv[2];
		const unsigned char *p;
		size_t n;
		uint8_t t;

		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		ck_assert_int_eq(write(sv[0], two, sizeof(two)), (ssize_t)sizeof(two));
		close(sv[0]);
		chan_init(&c, sv[1], sv[1]);
		ck_assert_int_eq(chan_recv(&c, &t, &p, &n, 1), 1);
		ck_assert_uint_eq(n, 2);
		ck_assert_mem_eq(p, "hi", 2);
		ck_assert_int_eq(chan_recv(&c, &t, &p, &n, 1), -1);
		ck_assert_int_eq(c.eof, 1);
		chan_release(&c);
		close(sv[1]);
	}
	/* clean EOF between frames: "connection ... lost", no frame mentioned */
	ck_assert_int_eq(recv_raw(f, 0, 1, &c), -1);
	ck_assert_int_eq(c.eof, 1);
	ck_assert_msg(strstr(last_msg, "lost") != NULL && strstr(last_msg, "frame") == NULL,
		      "message: %s", last_msg);
	chan_release(&c);
}
END_TEST

/* ---- rsx: signature, delta, patch ---------------------------------------------------------- */

struct sinkbuf {
	struct buf b;
	size_t max_piece;
};

static int to_buf(void *arg, const void *p, size_t n)
{
	struct sinkbuf *s = arg;

	if (n > s->max_piece)
		s->max_piece = n;
	buf_put(&s->b, p, n);
	return 0;
}

/* Feed DATA in pieces of varied sizes, then EOF; the job must complete. */
static void feed_all(struct rsx *j, const unsigned char *data, size_t len, unsigned *seed)
{
	char why[WHYLEN];
	size_t off = 0;
	int r;

	while (off < len) {
		size_t n = 1 + (size_t)rand_r(seed) % 70000;

		if (n > len - off)
			n = len - off;
		r = rsx_feed(j, data + off, n, 0, why, sizeof(why));
		ck_assert_msg(r >= 0, "rsx_feed: %s", why);
		off += n;
	}
	do
		r = rsx_feed(j, NULL, 0, 1, why, sizeof(why));
	while (r == 0);
	ck_assert_msg(r == 1, "rsx_feed at EOF: %s", why);
}

static int temp_file(const unsigned char *data, size_t len)
{
	const char *dir = getenv("TMPDIR");
	char name[256];
	int fd;

	snprintf(name, sizeof(name), "%s/test_proto.XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(name);
	ck_assert_int_ge(fd, 0);
	unlink(name);
	if (len)
		ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	return fd;
}

static void mutate(unsigned char **data, size_t *len, unsigned *seed)
{
	int k, edits = 1 + rand_r(seed) % 8;

	for (k = 0; k < edits; k++) {
		size_t at = *len ? (size_t)rand_r(seed) % *len : 0, n = 1 + (size_t)rand_r(seed) % 5000;

		switch (rand_r(seed) % 3) {
		case 0:	/* overwrite */
			for (size_t i = at; i < *len && i < at + n; i++)
				(*data)[i] = (unsigned char)rand_r(seed);
			break;
		case 1:	/* insert */
			*data = realloc(*data, *len + n);
			memmove(*data + at + n, *data + at, *len - at);
			for (size_t i = 0; i < n; i++)
				(*data)[at + i] = (unsigned char)rand_r(seed);
			*len += n;
			break;
		case 2:	/* delete */
			if (n > *len - at)
				n = *len - at;
			memmove(*data + at, *data + at + n, *len - at - n);
			*len -= n;
			break;
		}
	}
}

/* Signature of BASIS, delta of NEW against it, patch: must give NEW back. */
static void rsx_cycle(const unsigned char *basis, size_t blen, const unsigned char *nw,
		      size_t nlen, unsigned *seed, uint64_t *lit, uint64_t *mat)
{
	struct sinkbuf sig = { BUF_INIT, 0 }, delta = { BUF_INIT, 0 }, out = { BUF_INIT, 0 };
	char why[WHYLEN];
	struct rsx *j;
	int fd;

	j = rsx_sig_new(blen, to_buf, &sig);
	ck_assert_ptr_nonnull(j);
	feed_all(j, basis, blen, seed);
	rsx_free(j);
	ck_assert_uint_eq(sig.b.len, rsx_sig_len(blen));

	j = rsx_delta_new(sig.b.data, sig.b.len, blen, to_buf, &delta, why, sizeof(why));
	ck_assert_msg(j != NULL, "rsx_delta_new: %s", why);
	feed_all(j, nw, nlen, seed);
	rsx_counts(j, lit, mat);
	rsx_free(j);

	fd = temp_file(basis, blen);
	j = rsx_patch_new(fd, blen, to_buf, &out);
	feed_all(j, delta.b.data, delta.b.len, seed);
	{
		uint64_t l2, m2;

		rsx_counts(j, &l2, &m2);
		ck_assert_uint_eq(l2 + m2, nlen);
	}
	rsx_free(j);
	close(fd);
	ck_assert_uint_eq(out.b.len, nlen);
	if (nlen)
		ck_assert_msg(memcmp(out.b.data, nw, nlen) == 0, "patched output differs");
	ck_assert_uint_le(sig.max_piece, 64u << 10);
	ck_assert_uint_le(delta.max_piece, 64u << 10);
	ck_assert_uint_le(out.max_piece, 64u << 10);
	buf_release(&sig.b);
	buf_release(&delta.b);
	buf_release(&out.b);
}

static unsigned char *random_bytes(size_t n, unsigned *seed)
{
	unsigned char *p = malloc(n ? n : 1);

	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(rand_r(seed) >> 7);
	return p;
}

START_TEST(rsx_round_trip)
{
	static const size_t sizes[] = { 0, 1, 100, 2047, 4096, 100000, 1000000, 3 << 20 };
	unsigned seed = 4242;

	rsx_setup();
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t blen = sizes[i], nlen = blen;
		unsigned char *basis = random_bytes(blen, &seed), *nw = malloc(blen ? blen : 1);
		uint64_t lit, mat;

		/* identical: almost all matched */
		memcpy(nw, basis, blen);
		rsx_cycle(basis, blen, nw, nlen, &seed, &lit, &mat);
		ck_assert_uint_eq(lit + mat, nlen);
		if (blen >= 100000)
			ck_assert_msg(mat >= blen * 9 / 10, "only %llu of %zu matched",
				      (unsigned long long)mat, blen);
		/* mutated */
		mutate(&nw, &nlen, &seed);
		rsx_cycle(basis, blen, nw, nlen, &seed, &lit, &mat);
		if (blen >= 1000000)
			ck_assert_msg(mat > 0, "nothing matched after small edits");
		/* empty new file, and a new file against nothing */
		rsx_cycle(basis, blen, nw, 0, &seed, &lit, &mat);
		rsx_cycle(basis, 0, nw, nlen, &seed, &lit, &mat);
		free(basis);
		free(nw);
	}
}
END_TEST

START_TEST(rsx_delta_rejects)
{
	struct sinkbuf sig = { BUF_INIT, 0 }, sink = { BUF_INIT, 0 };
	unsigned seed = 99;
	size_t blen = 300000;
	unsigned char *basis = random_bytes(blen, &seed), *bad;
	char why[WHYLEN];
	struct rsx *j;
	size_t i;

	j = rsx_sig_new(blen, to_buf, &sig);
	feed_all(j, basis, blen, &seed);
	rsx_free(j);
	bad = malloc(sig.b.len + 64);
	memcpy(bad, sig.b.data, sig.b.len);

#define REFUSED(p, n, bs) do { \
	why[0] = '\0'; \
	j = rsx_delta_new(p, n, bs, to_buf, &sink, why, sizeof(why)); \
	ck_assert_msg(j == NULL, "signature accepted (line %d)", __LINE__); \
	ck_assert_msg(why[0] != '\0', "no reason (line %d)", __LINE__); \
} while (0)

	/* sanity: the real one is accepted */
	j = rsx_delta_new(bad, sig.b.len, blen, to_buf, &sink, why, sizeof(why));
	ck_assert_msg(j != NULL, "%s", why);
	rsx_free(j);
	/* wrong magic, block length, strong length: each header byte */
	for (i = 0; i < 12; i++) {
		bad[i] ^= 0x01;
		REFUSED(bad, sig.b.len, blen);
		ck_assert_msg(strstr(why, "header") != NULL, "byte %zu: %s", i, why);
		bad[i] ^= 0x01;
	}
	/* other librsync magics (MD4, BLAKE2 without RabinKarp) */
	{
		static const uint32_t magics[] = { 0x72730136u, 0x72730137u, 0x72730236u, 0 };

		for (i = 0; i < 4; i++) {
			bad[0] = (unsigned char)(magics[i] >> 24);
			bad[1] = (unsigned char)(magics[i] >> 16);
			bad[2] = (unsigned char)(magics[i] >> 8);
			bad[3] = (unsigned char)magics[i];
			REFUSED(bad, sig.b.len, blen);
		}
		memcpy(bad, sig.b.data, 4);
	}
	/* wrong total length: one short, one long, one block's worth either way */
	REFUSED(bad, sig.b.len - 1, blen);
	memset(bad + sig.b.len, 0, 64);
	REFUSED(bad, sig.b.len + 1, blen);
	REFUSED(bad, sig.b.len - 36, blen);
	REFUSED(bad, sig.b.len + 36, blen);
	ck_assert_msg(strstr(why, "expected") != NULL, "%s", why);
	/* right bytes, claimed for another basis size */
	REFUSED(bad, sig.b.len, blen + 100000);
	REFUSED(bad, sig.b.len, 0);
	REFUSED(bad, sig.b.len, (uint64_t)INT64_MAX + 1);
	REFUSED(bad, sig.b.len, UINT64_MAX);
	/* too short for a header */
	REFUSED(bad, 0, blen);
	REFUSED(bad, 11, blen);
	/* the empty basis: header only */
	buf_reset(&sig.b);
	j = rsx_sig_new(0, to_buf, &sig);
	feed_all(j, NULL, 0, &seed);
	rsx_free(j);
	ck_assert_uint_eq(sig.b.len, 12);
	j = rsx_delta_new(sig.b.data, 12, 0, to_buf, &sink, why, sizeof(why));
	ck_assert_msg(j != NULL, "%s", why);
	rsx_free(j);
	REFUSED(sig.b.data, 12, 1);
#undef REFUSED
	free(bad);
	free(basis);
	buf_release(&sig.b);
	buf_release(&sink.b);
}
END_TEST

START_TEST(rsx_patch_beyond_basis)
{
	/* A delta made against a long basis, applied to a short one: refused, not a crash. */
	struct sinkbuf sig = { BUF_INIT, 0 }, delta = { BUF_INIT, 0 }, out = { BUF_INIT, 0 };
	unsigned seed = 7;
	size_t blen = 200000;
	unsigned char *basis = random_bytes(blen, &seed);
	char why[WHYLEN];
	struct rsx *j;
	int fd, r;

	j = rsx_sig_new(blen, to_buf, &sig);
	feed_all(j, basis, blen, &seed);
	rsx_free(j);
	j = rsx_delta_new(sig.b.data, sig.b.len, blen, to_buf, &delta, why, sizeof(why));
	feed_all(j, basis, blen, &seed);
	rsx_free(j);
	fd = temp_file(basis, 1000);
	j = rsx_patch_new(fd, 1000, to_buf, &out);
	r = rsx_feed(j, delta.b.data, delta.b.len, 1, why, sizeof(why));
	while (r == 0)
		r = rsx_feed(j, NULL, 0, 1, why, sizeof(why));
	ck_assert_int_eq(r, -1);
	ck_assert_msg(why[0] != '\0', "no reason");
	rsx_free(j);
	close(fd);
	/* garbage as a delta */
	fd = temp_file(basis, blen);
	j = rsx_patch_new(fd, blen, to_buf, &out);
	r = rsx_feed(j, basis, 5000, 1, why, sizeof(why));
	while (r == 0)
		r = rsx_feed(j, NULL, 0, 1, why, sizeof(why));
	ck_assert_int_eq(r, -1);
	rsx_free(j);
	close(fd);
	free(basis);
	buf_release(&sig.b);
	buf_release(&delta.b);
	buf_release(&out.b);
}
END_TEST

static int ln2(uint64_t v)
{
	int n = 0;

	while (v >>= 1)
		n++;
	return n;
}

START_TEST(rsx_sig_len_formula)
{
	/*
	 * doc/protocol.md: block = max(256, floor(floor(sqrt(basis)) / 2) rounded
	 * down to 128), strong = 2 + (log2(basis + 2^24) + log2(basis / block + 1)
	 * + 7) / 8, length 12 + ceil(basis / block) * (4 + strong). Worked out
	 * by hand for these sizes, and by the formula for the rest.
	 */
	static const struct { uint64_t basis, len; } fixed[] = {
		{ 0, 12 },
		{ 1000, 12 + 4 * (4 + 6) },			/* block 256, strong 6 */
		{ 1 << 20, 12 + 2048 * (4 + 7) },		/* block 512, strong 7 */
		{ (uint64_t)512 << 20, 12 + 46604 * (4 + 8) },	/* block 11520, strong 8 */
		{ (uint64_t)1 << 40, 12 + 2097152 * (4 + 10) },	/* block 2^19, strong 10 */
	};
	static const uint64_t sizes[] = { 1, 2047, 2048, 2049, 65535, 65536, 65537, 3u << 20,
					  (uint64_t)1 << 32, ((uint64_t)1 << 40) - 1 };

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		ck_assert_msg(rsx_sig_len(fixed[i].basis) == fixed[i].len, "rsx_sig_len(%llu) = %llu, not %llu",
			      (unsigned long long)fixed[i].basis,
			      (unsigned long long)rsx_sig_len(fixed[i].basis),
			      (unsigned long long)fixed[i].len);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t b = sizes[i], root = 0, block, strong;

		while ((root + 1) * (root + 1) <= b)
			root++;
		block = (root / 2) & ~(uint64_t)127;
		if (block < 256)
			block = 256;
		strong = 2 + (uint64_t)(ln2(b + (1u << 24)) + ln2(b / block + 1) + 7) / 8;
		ck_assert_uint_eq(rsx_sig_len(b), 12 + (b + block - 1) / block * (4 + strong));
	}
}
END_TEST

/*
 * A REQ carries any basis size up to INT64_MAX, and the sender refuses one
 * whose signature would exceed MAX_SIG_LEN by asking rsx_sig_len. The
 * header stores the block length in 32 bits, so whatever block length
 * librsync picks, the signature has at least ceil(basis / (2^32 - 1))
 * blocks: the length must never wrap to something small.
 */
static void sig_len_sane(uint64_t basis)
{
	uint64_t l = rsx_sig_len(basis), blocks = basis / 0xffffffffu + (basis % 0xffffffffu != 0);

	/* Above the delta limit there is no signature: such files go whole. */
	if (basis > MAX_DELTA_BASIS) {
		ck_assert_msg(l == UINT64_MAX, "rsx_sig_len(%llu) = %llu above the delta limit",
			      (unsigned long long)basis, (unsigned long long)l);
		return;
	}
	ck_assert_msg(l >= 12, "rsx_sig_len(%llu) = %llu", (unsigned long long)basis,
		      (unsigned long long)l);
	ck_assert_msg(blocks > (UINT64_MAX - 12) / 9 || l >= 12 + 9 * blocks,
		      "rsx_sig_len(%llu) = %llu: fewer than %llu blocks", (unsigned long long)basis,
		      (unsigned long long)l, (unsigned long long)blocks);
}

START_TEST(rsx_sig_len_no_wrap)
{
	uint64_t prev = 0;

	for (int k = 0; k <= 62; k++) {
		uint64_t basis = (uint64_t)1 << k, l = rsx_sig_len(basis);

		sig_len_sane(basis);
		sig_len_sane(basis + basis / 2);
		ck_assert_msg(l >= prev, "rsx_sig_len(2^%d) = %llu is below rsx_sig_len(2^%d) = %llu",
			      k, (unsigned long long)l, k - 1, (unsigned long long)prev);
		prev = l;
	}
	ck_assert_uint_gt(rsx_sig_len((uint64_t)1 << 62), MAX_SIG_LEN);
}
END_TEST

/* The largest basis size a REQ may carry: an answer, promptly (tcase timeout). */
START_TEST(rsx_sig_len_int64_max)
{
	sig_len_sane((uint64_t)INT64_MAX);
	sig_len_sane((uint64_t)INT64_MAX - 1);
	ck_assert_uint_gt(rsx_sig_len((uint64_t)INT64_MAX), MAX_SIG_LEN);
}
END_TEST

/*
 * sigfile_make gives exactly the bytes of one rsx_sig_new job over the file
 * and its XXH3-128, whether one thread signs it (small) or two do (from
 * 16 MiB, split at a block boundary), and nothing at all for a file that
 * is shorter than the size it is asked to sign.
 */
static int sig_sink_count;

static int to_buf_counted(void *arg, const void *p, size_t n)
{
	sig_sink_count++;
	return to_buf(arg, p, n);
}

START_TEST(sigfile_same_bytes)
{
	static const size_t sizes[] = { 0, 1, 5000, (16u << 20) - 1, 16u << 20, (40u << 20) + 12345 };
	size_t big = sizes[sizeof(sizes) / sizeof(sizes[0]) - 1];
	unsigned char *data = malloc(big), want_hash[HASH_LEN], got_hash[HASH_LEN];
	unsigned seed = 7;

	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < big; i++)
		data[i] = (unsigned char)(rand_r(&seed) >> 3);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct sinkbuf one = { BUF_INIT, 0 }, two = { BUF_INIT, 0 };
		size_t len = sizes[k];
		struct rsx *j = rsx_sig_new(len, to_buf, &one);
		int fd = temp_file(data, len);

		feed_all(j, data, len, &seed);
		rsx_free(j);
		hash_bytes(data, len, want_hash);
		ck_assert_int_eq(sigfile_make(fd, len, to_buf, &two, NULL, got_hash), 0);
		ck_assert_uint_eq(two.b.len, rsx_sig_len(len));
		ck_assert_msg(one.b.len == two.b.len && memcmp(one.b.data, two.b.data, one.b.len) == 0,
			      "sigfile_make of %zu bytes differs from one signature job", len);
		ck_assert_mem_eq(got_hash, want_hash, HASH_LEN);

		/* Asked for one byte more than the file has: nothing reaches the sink. */
		sig_sink_count = 0;
		errno = 0;
		ck_assert_int_eq(sigfile_make(fd, len + 1, to_buf_counted, &two, NULL, got_hash), -1);
		ck_assert_int_eq(errno, EIO);
		ck_assert_int_eq(sig_sink_count, 0);
		close(fd);
		buf_release(&one.b);
		buf_release(&two.b);
	}
	free(data);
}
END_TEST

static Suite *proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc;

	tc = tcase_create("codecs");
	tcase_add_test(tc, hello_round_trip);
	tcase_add_test(tc, hello_rejects);
	tcase_add_test(tc, start_round_trip);
	tcase_add_test(tc, start_max_patterns);
	tcase_add_test(tc, start_rejects);
	tcase_add_test(tc, start_count_before_alloc);
	tcase_add_test(tc, entry_round_trips);
	tcase_add_test(tc, entry_copy_is_deep);
	tcase_add_test(tc, entry_listing_shares_prefixes);
	tcase_add_test(tc, entry_every_truncation);
	tcase_add_test(tc, entry_trailing_and_hash_mismatch);
	tcase_add_test(tc, entry_bad_paths);
	tcase_add_test(tc, entry_bad_fields);
	tcase_add_test(tc, entry_bad_targets);
	tcase_add_test(tc, req_round_trip_and_rejects);
	tcase_add_test(tc, file_round_trips);
	tcase_add_test(tc, file_rejects);
	tcase_add_test(tc, file_end_round_trip);
	tcase_add_test(tc, done_round_trip);
	tcase_add_test(tc, msg_round_trip);
	tcase_add_test(tc, frame_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("chan");
	tcase_add_checked_fixture(tc, setup_capture, teardown_capture);
	tcase_add_test(tc, chan_round_trip);
	tcase_add_test(tc, chan_nonblocking_recv);
	tcase_add_test(tc, chan_oversized_frame);
	tcase_add_test(tc, chan_eof_inside_frame);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("rsx");
	tcase_add_checked_fixture(tc, setup_capture, teardown_capture);
	tcase_add_test(tc, rsx_round_trip);
	tcase_add_test(tc, rsx_delta_rejects);
	tcase_add_test(tc, rsx_patch_beyond_basis);
	tcase_add_test(tc, rsx_sig_len_formula);
	tcase_add_test(tc, sigfile_same_bytes);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	tc = tcase_create("rsx_limits");
	tcase_add_checked_fixture(tc, setup_capture, teardown_capture);
	tcase_add_test(tc, rsx_sig_len_no_wrap);
	tcase_add_test(tc, rsx_sig_len_int64_max);
	tcase_set_timeout(tc, 5);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tap_run(proto_suite());
}

/*
 * fuzz_rsx.c - the signature and delta framing (src/rsx.c over librsync):
 * what a hostile receiver can make the sender load, and what a hostile
 * sender can make the receiver apply.
 *
 * The first byte picks one of four cases; the rest is the case's input.
 *
 *   0 signature as sent: a basis size (u64) and signature bytes, to
 *     rsx_delta_new as the sender calls it after SIG_END. Accepted only
 *     when its length is exactly rsx_sig_len of the size; then a delta
 *     against it must run to the end.
 *   1 hostile sums: the header rsx_sig_new writes for a basis of up to
 *     64 KiB, then block sums from the input, then a new file to delta
 *     against them. The header must be accepted, the delta must complete
 *     and account for every byte, and, when it matched nothing (a match
 *     needs a BLAKE2 collision), patching it must give the new file.
 *   2 round trip: basis and new file from the input; signature, delta and
 *     patch must rebuild the new file exactly, and both jobs agree on the
 *     literal and matched bytes.
 *   3 delta as sent: arbitrary bytes as a delta to rsx_patch_new over a
 *     basis of up to 4 KiB in a memfd (which may have shrunk or grown
 *     since its size was taken), fed in pieces like DATA frames.
 *     The outcome must be what a plain reading of librsync's delta format
 *     (doc/format.md there) gives: every COPY inside the basis as it is on
 *     disk, output capped like the receiver caps it at the announced size.
 *
 * Sizes stay small so that an execution takes microseconds.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bounds.h"
#include "buf.h"
#include "fuzz.h"
#include "rsx.h"

#define WHYLEN 512
#define OUT_PIECE (64u << 10)	/* rsx.h: output in pieces of at most 64 KiB */
#define PATCH_CAP (1u << 20)	/* what the receiver would accept, here */
#define DELTA_MAGIC 0x72730236u	/* librsync's RS_DELTA_MAGIC */

/* ---- sinks, pieces, files ------------------------------------------------ */

struct out {
	struct buf b;
	size_t cap;		/* refuse output beyond this, as the receiver does */
};

static int sink(void *arg, const void *p, size_t n)
{
	struct out *o = arg;

	FUZZ_CHECK(n > 0 && n <= OUT_PIECE);
	if (o->b.len + n > o->cap)
		return -1;
	buf_put(&o->b, p, n);
	return 0;
}

static void out_init(struct out *o, size_t cap)
{
	memset(o, 0, sizeof(*o));
	o->cap = cap;
}

static size_t next_piece(uint32_t *state, size_t left)
{
	size_t k;

	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	k = 1 + *state % (*state & 0x100 ? 7 : 2048);
	return k < left ? k : left;
}

/*
 * Feed P (N bytes) in pieces, then the end, the way sender.c and
 * receiver.c do. Returns 1 when the job completed, -1 when it failed.
 */
static int feed(struct rsx *j, const uint8_t *p, size_t n, uint32_t seed)
{
	char why[WHYLEN];
	uint32_t state = seed | 1;
	size_t off = 0;
	int r;

	while (off < n) {
		size_t k = next_piece(&state, n - off);

		why[0] = '\0';
		r = rsx_feed(j, p + off, k, 0, why, sizeof(why));
		if (r < 0) {
			FUZZ_CHECK(why[0] != '\0');
			return -1;
		}
		off += k;
	}
	why[0] = '\0';
	r = rsx_feed(j, NULL, 0, 1, why, sizeof(why));
	FUZZ_CHECK(r != 0);	/* at the end a job finishes or fails */
	FUZZ_CHECK(r == 1 || why[0] != '\0');
	return r;
}

/* A basis file holding P (N bytes). */
static int basis_file(const uint8_t *p, size_t n)
{
	int fd = memfd_create("basis", MFD_CLOEXEC);
	size_t off = 0;

	FUZZ_CHECK(fd >= 0);
	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		FUZZ_CHECK(w > 0);
		off += (size_t)w;
	}
	return fd;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

/* ---- the jobs, chained ---------------------------------------------------- */

/* The signature of BASIS (N bytes), as the receiver makes it. */
static void make_sig(const uint8_t *basis, size_t n, uint32_t seed, struct out *sig)
{
	struct rsx *j;

	out_init(sig, SIZE_MAX);
	j = rsx_sig_new(n, sink, sig);
	FUZZ_CHECK(feed(j, basis, n, seed) == 1);
	FUZZ_CHECK(sig->b.len == rsx_sig_len(n));
	rsx_free(j);
}

/* Only the header of the signature for a basis of N bytes: all a job
 * writes before it sees input. */
static void make_sig_header(uint64_t n, struct out *sig)
{
	char why[WHYLEN];
	struct rsx *j;

	out_init(sig, SIZE_MAX);
	j = rsx_sig_new(n, sink, sig);
	FUZZ_CHECK(rsx_feed(j, NULL, 0, 0, why, sizeof(why)) == 0);
	FUZZ_CHECK(sig->b.len == 12);
	rsx_free(j);
}

/* Delta of NEW (NLEN bytes) against SIG; it must be accepted and complete. */
static void make_delta(const struct out *sig, uint64_t basis_size, const uint8_t *nw, size_t nlen,
		       uint32_t seed, struct out *delta, uint64_t *lit, uint64_t *mat)
{
	char why[WHYLEN];
	struct rsx *j;

	out_init(delta, SIZE_MAX);
	j = rsx_delta_new(sig->b.data, sig->b.len, basis_size, sink, delta, why, sizeof(why));
	FUZZ_CHECK(j != NULL);
	FUZZ_CHECK(feed(j, nw, nlen, seed) == 1);
	rsx_counts(j, lit, mat);
	FUZZ_CHECK(*lit + *mat == nlen);
	rsx_free(j);
}

/* Patch D (N bytes) over a basis file holding BASIS (BLEN bytes) that the
 * receiver believes has CLAIMED bytes. Returns what feed returns. */
static int apply(const uint8_t *d, size_t n, const uint8_t *basis, size_t blen, uint64_t claimed,
		 uint32_t seed, struct out *out, uint64_t *lit, uint64_t *mat)
{
	int fd = basis_file(basis, blen), r;
	struct rsx *j = rsx_patch_new(fd, claimed, sink, out);

	r = feed(j, d, n, seed);
	rsx_counts(j, lit, mat);
	rsx_free(j);
	close(fd);
	return r;
}

/* ---- case 0: a signature as the peer sent it ----------------------------- */

static void sig_as_sent(const uint8_t *p, size_t n)
{
	char why[WHYLEN];
	struct out delta;
	uint64_t basis_size, lit, mat;
	struct rsx *j;

	if (n < 8)
		return;
	basis_size = be(p, 8);
	p += 8;
	n -= 8;
	out_init(&delta, SIZE_MAX);
	why[0] = '\0';
	j = rsx_delta_new(p, n, basis_size, sink, &delta, why, sizeof(why));
	if (!j) {
		FUZZ_CHECK(why[0] != '\0');
		return;
	}
	FUZZ_CHECK(basis_size <= MAX_DELTA_BASIS && n == rsx_sig_len(basis_size));
	/* Whatever the sums, a delta against them runs to the end. */
	FUZZ_CHECK(feed(j, p, n, (uint32_t)n) == 1);
	rsx_counts(j, &lit, &mat);
	FUZZ_CHECK(lit + mat == n);
	rsx_free(j);
	buf_release(&delta.b);
}

/* ---- case 1: hostile sums under the right header ------------------------- */

static void hostile_sums(const uint8_t *p, size_t n)
{
	struct out sig, delta, out;
	uint64_t basis_size, lit, mat, plit, pmat;
	const uint8_t *nw;
	size_t blocks, body, nlen, per;
	uint8_t *zeros;
	int r;

	if (n < 3)
		return;
	/* Up to 256 blocks of 256 bytes: a basis of at most 64 KiB. A block's
	 * sums are 4 + strong bytes, the strong length the header's (it grows
	 * with the size: fewer blocks never need longer sums). */
	blocks = (size_t)be(p + 1, 2) % 257;
	for (;;) {
		basis_size = blocks ? blocks * 256 - p[0] : 0;
		make_sig_header(basis_size, &sig);
		per = 4 + be32(sig.b.data + 8);
		if (blocks <= (n - 3) / per)
			break;
		buf_release(&sig.b);
		blocks = (n - 3) / per;
	}
	body = blocks * per;
	nw = p + 3 + body;
	nlen = n - 3 - body;
	buf_put(&sig.b, p + 3, body);
	FUZZ_CHECK(sig.b.len == rsx_sig_len(basis_size));
	make_delta(&sig, basis_size, nw, nlen, p[0], &delta, &lit, &mat);

	/* Patched over a basis of that size, the delta gives the new file back
	 * whenever it matched nothing. */
	zeros = calloc(1, basis_size ? basis_size : 1);
	FUZZ_CHECK(zeros != NULL);
	out_init(&out, SIZE_MAX);
	r = apply(delta.b.data, delta.b.len, zeros, basis_size, basis_size, p[1], &out, &plit, &pmat);
	if (mat == 0) {
		FUZZ_CHECK(r == 1 && plit == lit && pmat == 0);
		FUZZ_CHECK(out.b.len == nlen && (nlen == 0 || memcmp(out.b.data, nw, nlen) == 0));
	}
	free(zeros);
	buf_release(&out.b);
	buf_release(&delta.b);
	buf_release(&sig.b);
}

/* ---- case 2: signature, delta, patch ------------------------------------- */

static void round_trip(const uint8_t *p, size_t n)
{
	struct out sig, delta, out;
	struct buf nw = BUF_INIT;
	uint64_t lit, mat, plit, pmat;
	size_t blen;

	if (n < 4)
		return;
	blen = (size_t)be(p + 2, 2);
	if (blen > n - 4)
		blen = n - 4;
	/* The new file: the rest of the input, or that spliced into the basis
	 * so that blocks match. */
	if (p[1] & 1) {
		size_t at = ((size_t)p[1] << 4) % (blen + 1);

		buf_put(&nw, p + 4, at);
		buf_put(&nw, p + 4 + blen, n - 4 - blen);
		buf_put(&nw, p + 4 + at, blen - at);
	} else {
		buf_put(&nw, p + 4 + blen, n - 4 - blen);
	}
	make_sig(p + 4, blen, p[0], &sig);
	make_delta(&sig, blen, nw.data, nw.len, p[1], &delta, &lit, &mat);
	out_init(&out, SIZE_MAX);
	FUZZ_CHECK(apply(delta.b.data, delta.b.len, p + 4, blen, blen, p[0] ^ p[1], &out,
			 &plit, &pmat) == 1);
	FUZZ_CHECK(out.b.len == nw.len && (nw.len == 0 || memcmp(out.b.data, nw.data, nw.len) == 0));
	FUZZ_CHECK(plit == lit && pmat == mat);
	buf_release(&out.b);
	buf_release(&delta.b);
	buf_release(&sig.b);
	buf_release(&nw);
}

/* ---- case 3: a delta as the peer sent it ---------------------------------- */

struct ref {
	struct buf out;
	uint64_t lit, mat;
	size_t used;		/* bytes of the delta up to its END */
};

/*
 * The delta format read plainly: u32 magic, then commands until END (0):
 * 0x01..0x40 literal of that many bytes; 0x41..0x44 literal with a 1, 2,
 * 4 or 8-byte length; 0x45..0x54 copy with a 1/2/4/8-byte position and a
 * 1/2/4/8-byte length; anything else is corrupt. Integers are big-endian
 * and read as signed 64-bit. Returns 1 with the output, 0 when a
 * correct patcher must refuse: bad magic, cut short, a length not
 * positive, a copy not inside the basis (AVAIL bytes), or more output
 * than CAP.
 */
static int ref_patch(const uint8_t *d, size_t n, const uint8_t *basis, uint64_t avail, size_t cap,
		     struct ref *rf)
{
	size_t i = 4;

	memset(rf, 0, sizeof(*rf));
	if (n < 4 || be32(d) != DELTA_MAGIC)
		return 0;
	for (;;) {
		int64_t pos = 0, len;
		uint8_t op;

		if (i >= n)
			return 0;
		op = d[i++];
		if (op == 0) {
			rf->used = i;
			return 1;
		}
		if (op <= 0x40) {
			len = op;
		} else if (op <= 0x44) {
			size_t w = (size_t)1 << (op - 0x41);

			if (n - i < w)
				return 0;
			len = (int64_t)be(d + i, w);
			i += w;
		} else if (op <= 0x54) {
			size_t pw = (size_t)1 << ((op - 0x45) / 4), lw = (size_t)1 << ((op - 0x45) % 4);

			if (n - i < pw + lw)
				return 0;
			pos = (int64_t)be(d + i, pw);
			len = (int64_t)be(d + i + pw, lw);
			i += pw + lw;
			if (len <= 0 || pos < 0 || (uint64_t)pos >= avail ||
			    (uint64_t)len > avail - (uint64_t)pos || (uint64_t)len > cap - rf->out.len)
				return 0;
			buf_put(&rf->out, basis + pos, (size_t)len);
			rf->mat += (uint64_t)len;
			continue;
		} else {
			return 0;
		}
		if (len <= 0 || (uint64_t)len > n - i || (uint64_t)len > cap - rf->out.len)
			return 0;
		buf_put(&rf->out, d + i, (size_t)len);
		rf->lit += (uint64_t)len;
		i += (size_t)len;
	}
}

static void delta_as_sent(const uint8_t *p, size_t n)
{
	uint8_t basis[4096];
	struct out out;
	struct ref rf;
	uint64_t claimed, lit, mat;
	size_t blen, i;
	int r, want;

	if (n < 4)
		return;
	blen = (size_t)be(p + 2, 2) % (sizeof(basis) + 1);
	for (i = 0; i < blen; i++)
		basis[i] = (uint8_t)(i * 131 + p[0]);
	/* The basis may have changed size after the receiver took it: bit 7,
	 * it shrank; bit 6, it grew. Either way only bytes that are both
	 * within the size taken and on disk may be copied. */
	claimed = blen;
	if (p[1] & 0x80)
		claimed += p[1] & 0x3fu;
	else if (p[1] & 0x40)
		claimed -= (p[1] & 0x3fu) < blen ? (p[1] & 0x3fu) : blen;
	out_init(&out, PATCH_CAP);
	r = apply(p + 4, n - 4, basis, blen, claimed, p[0] | (uint32_t)p[1] << 8, &out, &lit, &mat);
	want = ref_patch(p + 4, n - 4, basis, claimed < blen ? claimed : blen, PATCH_CAP, &rf);
	if (!want)
		FUZZ_CHECK(r == -1);
	if (want && rf.used == n - 4)
		FUZZ_CHECK(r == 1);
	/* Bytes after END may be ignored or refused; what completes must be right. */
	if (r == 1) {
		FUZZ_CHECK(want);
		FUZZ_CHECK(out.b.len == rf.out.len &&
			   (out.b.len == 0 || memcmp(out.b.data, rf.out.data, out.b.len) == 0));
		FUZZ_CHECK(lit == rf.lit && mat == rf.mat);
	}
	buf_release(&rf.out);
	buf_release(&out.b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fuzz_log_reset();
	rsx_setup();
	switch (data[0] & 3) {
	case 0:
		sig_as_sent(data + 1, size - 1);
		break;
	case 1:
		hostile_sums(data + 1, size - 1);
		break;
	case 2:
		round_trip(data + 1, size - 1);
		break;
	case 3:
		delta_as_sent(data + 1, size - 1);
		break;
	}
	return 0;
}

/* rsx.c - the one home of librsync; see rsx.h and notes/librsync.md. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librsync.h>

#include "bounds.h"
#include "buf.h"
#include "log.h"
#include "chan.h"
#include "rsx.h"

#define OUT_CHUNK (64u << 10)

struct rsx {
	rs_job_t *job;
	rs_signature_t *sig;	/* delta jobs: owned, freed after the job */
	rsx_sink_fn *sink;
	void *arg;
	int sink_failed;
	/* patch jobs: the basis */
	int basis_fd;
	uint64_t basis_size;
	int basis_errno;
	int basis_short;
	unsigned char out[OUT_CHUNK];
};

static void trace(rs_loglevel level, const char *msg)
{
	/* librsync reports failures that rsx_feed reports again with context. */
	(void)level;
	verbose("librsync: %s", msg);
}

void rsx_setup(void)
{
	rs_trace_to(trace);
	rs_trace_set_level(RS_LOG_ERR);
}

const char *rsx_lib_version(void)
{
	return rs_librsync_version;
}

static struct rsx *rsx_alloc(rsx_sink_fn *sink, void *arg)
{
	struct rsx *j = xmalloc(sizeof(*j));

	/* Not the output buffer: 64 KiB of zeros per file cost more than a small file's delta. */
	memset(j, 0, offsetof(struct rsx, out));
	j->sink = sink;
	j->arg = arg;
	j->basis_fd = -1;
	return j;
}

/*
 * The signature's shape for a basis of basis_size bytes (doc/protocol.md,
 * "Requests and replies"); both sides compute it and the sender accepts no
 * other. Blocks of half rs_sig_args' square root: a changed region costs
 * about a block of literal data, a block about 4 + strong bytes of
 * signature, and smaller blocks pay off once a file has more than a handful
 * of changes (bench W3: 100 of them in 512 MiB, 3.5 MiB on the wire with
 * the square root and 32-byte sums, about 2 MiB like this). Strong sums of
 * the minimum length rs_sig_args gives for that many blocks: safe against
 * chance collisions, and a collision is caught by the whole-file XXH3-128
 * and answered by sending the file whole (receiver.c, on_file_end).
 */
static void sig_params(uint64_t basis_size, size_t *block_len, size_t *strong_len)
{
	rs_magic_number magic = RS_RK_BLAKE2_SIG_MAGIC;
	uint64_t lo = 0, hi = 1u << 21;	/* the square root of MAX_DELTA_BASIS is 2^20 */

	while (lo < hi) {	/* lo = the whole square root of basis_size */
		uint64_t mid = (lo + hi + 1) / 2;

		if (mid * mid <= basis_size)
			lo = mid;
		else
			hi = mid - 1;
	}
	*block_len = (size_t)(lo / 2) & ~(size_t)127;
	if (*block_len < 256)
		*block_len = 256;
	*strong_len = (size_t)-1;	/* the minimum for this size and block count */
	/* Never fails for these arguments: a sane size and a valid magic. */
	if (rs_sig_args((rs_long_t)basis_size, &magic, block_len, strong_len) != RS_DONE)
		bug("rs_sig_args refused size %llu", (unsigned long long)basis_size);
}

size_t rsx_sig_block(uint64_t basis_size)
{
	size_t block, strong;

	if (basis_size > MAX_DELTA_BASIS)
		bug("signature block asked for a %llu-byte basis", (unsigned long long)basis_size);
	sig_params(basis_size, &block, &strong);
	return block;
}

uint64_t rsx_sig_len(uint64_t basis_size)
{
	size_t block, strong;

	if (basis_size > MAX_DELTA_BASIS)
		return UINT64_MAX;
	sig_params(basis_size, &block, &strong);
	return 12 + (basis_size + block - 1) / block * (4 + strong);
}

struct rsx *rsx_sig_new(uint64_t basis_size, rsx_sink_fn *sink, void *arg)
{
	if (basis_size > MAX_DELTA_BASIS)
		bug("signature asked for a %llu-byte basis", (unsigned long long)basis_size);
	struct rsx *j = rsx_alloc(sink, arg);
	size_t block, strong;

	sig_params(basis_size, &block, &strong);
	j->job = rs_sig_begin(block, strong, RS_RK_BLAKE2_SIG_MAGIC);
	return j;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct rsx *rsx_delta_new(const unsigned char *sig, size_t siglen, uint64_t basis_size,
			  rsx_sink_fn *sink, void *arg, char *why, size_t whylen)
{
	size_t block, strong;
	uint64_t want;
	struct rsx *j;
	rs_job_t *load;
	rs_buffers_t b;
	rs_result r;

	if (basis_size > MAX_DELTA_BASIS) {
		snprintf(why, whylen, "signature basis of %llu bytes is above the delta limit",
			 (unsigned long long)basis_size);
		return NULL;
	}
	sig_params(basis_size, &block, &strong);
	want = rsx_sig_len(basis_size);
	if (siglen < 12 || be32(sig) != RS_RK_BLAKE2_SIG_MAGIC || be32(sig + 4) != block ||
	    be32(sig + 8) != strong) {
		snprintf(why, whylen, "signature header is not the one for a %llu-byte basis",
			 (unsigned long long)basis_size);
		return NULL;
	}
	if (siglen != want) {
		snprintf(why, whylen, "signature of %zu bytes, expected %llu", siglen,
			 (unsigned long long)want);
		return NULL;
	}
	j = rsx_alloc(sink, arg);
	load = rs_loadsig_begin(&j->sig);
	memset(&b, 0, sizeof(b));
	b.next_in = (char *)sig;
	b.avail_in = siglen;
	b.eof_in = 1;
	do
		r = rs_job_iter(load, &b);
	while (r == RS_BLOCKED);
	rs_job_free(load);
	if (r != RS_DONE || (r = rs_build_hash_table(j->sig)) != RS_DONE) {
		snprintf(why, whylen, "signature refused by librsync: %s", rs_strerror(r));
		rsx_free(j);
		return NULL;
	}
	j->job = rs_delta_begin(j->sig);
	return j;
}

/* Copy callback of the patch job: bounded, synchronous pread (notes §4). */
static rs_result copy_cb(void *arg, rs_long_t pos, size_t *len, void **buf)
{
	struct rsx *j = arg;
	size_t want;
	ssize_t n;

	if (pos < 0 || (uint64_t)pos >= j->basis_size) {
		j->basis_short = 1;
		return RS_CORRUPT;
	}
	want = *len;
	if ((uint64_t)want > j->basis_size - (uint64_t)pos)
		want = (size_t)(j->basis_size - (uint64_t)pos);
	do
		n = pread(j->basis_fd, *buf, want, (off_t)pos);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		j->basis_errno = errno;
		return RS_IO_ERROR;
	}
	if (n == 0) {
		j->basis_short = 1;
		return RS_INPUT_ENDED;
	}
	*len = (size_t)n;
	chan_tick();	/* a long copy from the basis: keep the peer waiting, not leaving */
	return RS_DONE;
}

struct rsx *rsx_patch_new(int basis_fd, uint64_t basis_size, rsx_sink_fn *sink, void *arg)
{
	struct rsx *j = rsx_alloc(sink, arg);

	j->basis_fd = basis_fd;
	j->basis_size = basis_size;
	j->job = rs_patch_begin(copy_cb, j);
	return j;
}

int rsx_feed(struct rsx *j, const void *in, size_t n, int eof, char *why, size_t whylen)
{
	rs_buffers_t b;
	int idle = 0;

	memset(&b, 0, sizeof(b));
	b.next_in = (char *)in;
	b.avail_in = n;
	b.eof_in = eof;
	for (;;) {
		size_t made, before_in = b.avail_in;
		rs_result r;

		b.next_out = (char *)j->out;
		b.avail_out = sizeof(j->out);
		r = rs_job_iter(j->job, &b);
		made = sizeof(j->out) - b.avail_out;
		if (made && j->sink(j->arg, j->out, made))
			return snprintf(why, whylen, "output refused"), -1;
		if (r == RS_DONE)
			return 1;
		if (r != RS_BLOCKED) {
			if (j->basis_errno)
				snprintf(why, whylen, "reading the basis: %s", strerror(j->basis_errno));
			else if (j->basis_short)
				snprintf(why, whylen, "delta refers beyond the basis");
			else
				snprintf(why, whylen, "%s", rs_strerror(r));
			return -1;
		}
		if (!eof && b.avail_in == 0 && b.avail_out > 0)
			return 0;
		/* After eof librsync may need several calls to drain (notes §1). */
		idle = (made == 0 && b.avail_in == before_in) ? idle + 1 : 0;
		if (idle > 1000)
			return snprintf(why, whylen, "librsync made no progress"), -1;
	}
}

void rsx_counts(const struct rsx *j, uint64_t *literal, uint64_t *matched)
{
	const rs_stats_t *st = rs_job_statistics(j->job);

	*literal = (uint64_t)st->lit_bytes;
	*matched = (uint64_t)st->copy_bytes;
}

void rsx_free(struct rsx *j)
{
	if (!j)
		return;
	if (j->job)
		rs_job_free(j->job);
	if (j->sig)
		rs_free_sumset(j->sig);
	free(j);
}

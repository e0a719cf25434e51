/*
 * sigfile.c - the signature of a file on disk, on two cores when it is big.
 *
 * A signature is a header and then one entry per block, each depending on
 * its block alone. So for a big file a second thread signs the second half
 * (from a block boundary) into memory with a job of its own, while the
 * caller's thread signs the first half, hashes the whole file and keeps the
 * channel alive; the second job's entries, without its header, follow the
 * first's. BLAKE2 is half of a delta pass's CPU (bench W3): this halves the
 * receiver's share of the wait.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "bounds.h"
#include "buf.h"
#include "log.h"
#include "sigfile.h"

/* Below this a second thread is not worth starting. */
#define SPLIT_MIN (16u << 20)

struct part {
	int fd;
	uint64_t from, to;	/* sign bytes [from, to) */
	uint64_t size;		/* the whole file's: the signature's shape */
	struct hasher *h;	/* hash what is read, unless NULL */
	void (*tick)(void);
	struct rsx *job;	/* while [from, to) is read */
	struct buf out;		/* its signature bytes, header included */
	int err;		/* errno when a read failed, EIO when the file was short */
};

static int to_buf(void *arg, const void *p, size_t n)
{
	buf_put(arg, p, n);
	return 0;
}

/* Read [from, to) of P's file in chunks, giving each to FN; 0 or -1 with p->err. */
static int read_range(struct part *p, uint64_t from, uint64_t to,
		      void (*fn)(struct part *, const unsigned char *, size_t), unsigned char *chunk)
{
	while (from < to) {
		size_t want = to - from < IO_CHUNK ? (size_t)(to - from) : IO_CHUNK;
		ssize_t n = pread(p->fd, chunk, want, (off_t)from);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			p->err = n < 0 ? errno : EIO;
			return -1;
		}
		fn(p, chunk, (size_t)n);
		from += (uint64_t)n;
		if (p->tick)
			p->tick();
	}
	return 0;
}

static void feed_sig(struct part *p, const unsigned char *b, size_t n)
{
	char why[256];

	if (rsx_feed(p->job, b, n, 0, why, sizeof(why)) < 0)
		bug("signature job failed: %s", why);
	if (p->h)
		hasher_update(p->h, b, n);
}

static void feed_hash(struct part *p, const unsigned char *b, size_t n)
{
	hasher_update(p->h, b, n);
}

static void *sign_part(void *arg)
{
	struct part *p = arg;
	unsigned char *chunk = xmalloc(IO_CHUNK);
	char why[256];

	p->job = rsx_sig_new(p->size, to_buf, &p->out);
	if (read_range(p, p->from, p->to, feed_sig, chunk) == 0 &&
	    rsx_feed(p->job, NULL, 0, 1, why, sizeof(why)) < 0)
		bug("signature job failed at its end: %s", why);
	rsx_free(p->job);
	p->job = NULL;
	free(chunk);
	return NULL;
}

int sigfile_make(int fd, uint64_t size, rsx_sink_fn *sink, void *arg, void (*tick)(void),
		 unsigned char hash[HASH_LEN])
{
	struct part a = { .fd = fd, .from = 0, .to = size, .size = size, .tick = tick };
	struct part b = { .fd = fd, .to = size, .size = size };
	size_t block = rsx_sig_block(size);
	pthread_t t;
	int threaded = 0, err;

	a.h = hash ? hasher_new() : NULL;
	if (size >= SPLIT_MIN) {
		a.to = b.from = size / 2 / block * block;
		threaded = pthread_create(&t, NULL, sign_part, &b) == 0;
	}
	sign_part(&a);
	/* The second half still goes into the hash, after the first. */
	if (a.to < size && a.h && !a.err) {
		unsigned char *chunk = xmalloc(IO_CHUNK);

		read_range(&a, a.to, size, feed_hash, chunk);
		free(chunk);
	}
	if (threaded)
		pthread_join(t, NULL);
	else if (a.to < size && !a.err)
		sign_part(&b);
	err = a.err ? a.err : b.err;
	if (!err) {
		if (a.out.len + (b.out.len ? b.out.len - 12 : 0) != rsx_sig_len(size))
			bug("signature of %llu bytes came out %zu + %zu bytes long",
			    (unsigned long long)size, a.out.len, b.out.len);
		sink(arg, a.out.data, a.out.len);
		if (b.out.len > 12)
			sink(arg, b.out.data + 12, b.out.len - 12);
		if (a.h)
			hasher_final(a.h, hash);
	}
	if (a.h)
		hasher_free(a.h);
	buf_release(&a.out);
	buf_release(&b.out);
	errno = err;
	return err ? -1 : 0;
}

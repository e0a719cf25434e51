/* hash.c - XXH3-128 through libxxhash; see hash.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "bounds.h"
#include "buf.h"
#include "chan.h"
#include "hash.h"

struct hasher {
	XXH3_state_t *st;
};

struct hasher *hasher_new(void)
{
	struct hasher *h = xmalloc(sizeof(*h));

	h->st = XXH3_createState();
	if (!h->st) {
		fprintf(stderr, "shelter: error: out of memory (XXH3 state)\n");
		abort();
	}
	XXH3_128bits_reset(h->st);
	return h;
}

void hasher_update(struct hasher *h, const void *p, size_t n)
{
	XXH3_128bits_update(h->st, p, n);
}

void hasher_final(struct hasher *h, unsigned char out[HASH_LEN])
{
	XXH128_hash_t v = XXH3_128bits_digest(h->st);
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, v);
	memcpy(out, c.digest, HASH_LEN);
}

void hasher_reset(struct hasher *h)
{
	XXH3_128bits_reset(h->st);
}

void hasher_free(struct hasher *h)
{
	if (!h)
		return;
	XXH3_freeState(h->st);
	free(h);
}

void hash_bytes(const void *p, size_t n, unsigned char out[HASH_LEN])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(p, n));
	memcpy(out, c.digest, HASH_LEN);
}

int hash_fd(int fd, unsigned char out[HASH_LEN], uint64_t *size)
{
	struct hasher *h = hasher_new();
	unsigned char *chunk = xmalloc(IO_CHUNK);
	uint64_t off = 0;
	int ret = -1, saved = 0;

	for (;;) {
		ssize_t n = pread(fd, chunk, IO_CHUNK, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			saved = errno;
			goto out;
		}
		if (n == 0)
			break;
		hasher_update(h, chunk, (size_t)n);
		off += (uint64_t)n;
		chan_tick();
	}
	hasher_final(h, out);
	*size = off;
	ret = 0;
out:
	free(chunk);
	hasher_free(h);
	if (ret)
		errno = saved;
	return ret;
}

void hash_hex(const unsigned char h[HASH_LEN], char out[2 * HASH_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < HASH_LEN; i++) {
		out[2 * i] = hex[h[i] >> 4];
		out[2 * i + 1] = hex[h[i] & 15];
	}
	out[2 * HASH_LEN] = '\0';
}

const char *hash_lib_version(void)
{
	static char v[32];
	unsigned n = XXH_versionNumber();

	snprintf(v, sizeof(v), "%u.%u.%u", n / 10000, n / 100 % 100, n % 100);
	return v;
}

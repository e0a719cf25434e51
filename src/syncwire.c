/*
 * syncwire.c - the sync session's own frames that carry data (doc/sync.md):
 * SENTRY (a listing entry with its key) and HASH. Decoders bound and check
 * every field; they are what a hostile peer talks to.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "syncpeer.h"

static void put_key(struct buf *b, const struct skey *k, int with_size)
{
	if (with_size)
		buf_put_u64(b, k->size);
	buf_put_i64(b, k->mtime_sec);
	buf_put_u32(b, k->mtime_nsec);
	buf_put_u64(b, k->ino);
	buf_put_i64(b, k->ctime_sec);
	buf_put_u32(b, k->ctime_nsec);
}

static int get_key(struct rd *r, struct skey *k, int with_size)
{
	if (with_size)
		rd_u64(r, &k->size);
	rd_i64(r, &k->mtime_sec);
	rd_u32(r, &k->mtime_nsec);
	rd_u64(r, &k->ino);
	rd_i64(r, &k->ctime_sec);
	return rd_u32(r, &k->ctime_nsec) || k->mtime_nsec >= 1000000000u ||
	       k->ctime_nsec >= 1000000000u;
}

void hashed_encode(struct buf *b, uint32_t id, const struct hashed *h)
{
	buf_put_u32(b, id);
	buf_put_u8(b, h->status);
	buf_put_u8(b, (uint8_t)h->type);
	buf_put_u32(b, h->mode);
	buf_put(b, h->hash, HASH_LEN);
	put_key(b, &h->key, 1);
}

int hashed_decode(const unsigned char *p, size_t n, uint32_t *id, struct hashed *h)
{
	struct rd r;
	uint8_t type;

	memset(h, 0, sizeof(*h));
	rd_init(&r, p, n);
	rd_u32(&r, id);
	rd_u8(&r, &h->status);
	rd_u8(&r, &type);
	rd_u32(&r, &h->mode);
	rd_bytes(&r, h->hash, HASH_LEN);
	if (get_key(&r, &h->key, 1) || rd_end(&r) || h->status > HASH_STATUS_UNREADABLE ||
	    h->mode > 07777 || (type && !strchr("fdls", type)) ||
	    (type == 0) != (h->status == HASH_STATUS_MISSING))
		return -1;
	h->type = (char)type;
	return 0;
}

/*
 * SENTRY, version 2: the entry, then the key without the size and the
 * mtime, which are the entry's (the server takes both from one lstat):
 * u64 inode, i64 ctime seconds, u32 ctime nanoseconds.
 */
#define SKEY_LEN (8 + 8 + 4)

void sentry_encode(struct buf *b, const struct entry *e, const struct skey *k,
		   struct entry_ctx *x)
{
	entry_encode(b, e, 0, x);
	buf_put_u64(b, k->ino);
	buf_put_i64(b, k->ctime_sec);
	buf_put_u32(b, k->ctime_nsec);
}

int sentry_decode(const unsigned char *p, size_t n, struct entry *e, struct skey *k,
		  struct entry_ctx *x, char *why, size_t whylen)
{
	struct rd r;

	memset(k, 0, sizeof(*k));
	if (n < SKEY_LEN)
		return snprintf(why, whylen, "SENTRY too short"), -1;
	rd_init(&r, p + n - SKEY_LEN, SKEY_LEN);
	rd_u64(&r, &k->ino);
	rd_i64(&r, &k->ctime_sec);
	if (rd_u32(&r, &k->ctime_nsec) || rd_end(&r) || k->ctime_nsec >= 1000000000u)
		return snprintf(why, whylen, "SENTRY key malformed"), -1;
	if (entry_decode(p, n - SKEY_LEN, e, 0, x, why, whylen))
		return -1;
	k->size = e->size;
	k->mtime_sec = e->mtime_sec;
	k->mtime_nsec = e->mtime_nsec;
	return 0;
}


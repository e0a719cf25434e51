/*
 * buf.h - byte buffers for building and parsing frame payloads.
 *
 * struct buf is a growable byte string; the put_* functions append
 * big-endian integers and length-prefixed strings. Allocation failure
 * aborts: payloads are bounded by MAX_FRAME, so it means the machine is out
 * of memory, not that the peer asked for too much.
 *
 * struct rd is a read cursor over bytes someone else owns. Each get_*
 * returns 0, or -1 when the bytes run out or a bound is exceeded; once a
 * get fails the cursor is poisoned and every later get fails too, so a
 * parser can chain gets and check once.
 */
#ifndef SHELTER_BUF_H
#define SHELTER_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	unsigned char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_release(struct buf *b);		/* free the contents */
void buf_reset(struct buf *b);			/* len = 0, keep memory */
void buf_grow(struct buf *b, size_t extra);	/* room for EXTRA more */
void buf_put(struct buf *b, const void *p, size_t n);
void buf_put_u8(struct buf *b, uint8_t v);
void buf_put_u16(struct buf *b, uint16_t v);
void buf_put_u32(struct buf *b, uint32_t v);
void buf_put_u64(struct buf *b, uint64_t v);
void buf_put_i64(struct buf *b, int64_t v);
/* u32 length, then the bytes. */
void buf_put_str(struct buf *b, const void *s, size_t n);
/* Drop the first N bytes. */
void buf_consume(struct buf *b, size_t n);

struct rd {
	const unsigned char *p;
	size_t left;
	int bad;
};

void rd_init(struct rd *r, const void *p, size_t n);
int rd_u8(struct rd *r, uint8_t *v);
int rd_u16(struct rd *r, uint16_t *v);
int rd_u32(struct rd *r, uint32_t *v);
int rd_u64(struct rd *r, uint64_t *v);
int rd_i64(struct rd *r, int64_t *v);
int rd_bytes(struct rd *r, void *out, size_t n);
/*
 * A length-prefixed string of MIN..MAX bytes. *S points into the input
 * (not terminated); *N is its length.
 */
int rd_str(struct rd *r, const unsigned char **s, size_t *n, size_t min, size_t max);
/* Like rd_str, into a new NUL-terminated string the caller frees; rejects NUL bytes. */
int rd_cstr(struct rd *r, char **out, size_t min, size_t max);
/* 0 when everything was consumed and nothing failed. */
int rd_end(struct rd *r);

/* Allocation that aborts with a message rather than returning NULL. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif

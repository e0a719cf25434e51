/* buf.c - byte buffers and read cursors; see buf.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void oom(size_t n)
{
	fprintf(stderr, "shelter: error: out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

char *xstrndup(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

void buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
}

void buf_grow(struct buf *b, size_t extra)
{
	size_t want;

	if (extra > SIZE_MAX - b->len)
		oom(SIZE_MAX);
	want = b->len + extra;
	if (want <= b->cap)
		return;
	if (b->cap && b->cap > SIZE_MAX / 2)
		oom(want);
	b->cap = b->cap ? b->cap * 2 : 256;
	if (b->cap < want)
		b->cap = want;
	b->data = xrealloc(b->data, b->cap);
}

void buf_put(struct buf *b, const void *p, size_t n)
{
	if (!n)
		return;
	buf_grow(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void buf_put_u8(struct buf *b, uint8_t v)
{
	buf_put(b, &v, 1);
}

void buf_put_u16(struct buf *b, uint16_t v)
{
	unsigned char x[2] = { v >> 8, v };

	buf_put(b, x, 2);
}

void buf_put_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = { v >> 24, v >> 16, v >> 8, v };

	buf_put(b, x, 4);
}

void buf_put_u64(struct buf *b, uint64_t v)
{
	buf_put_u32(b, (uint32_t)(v >> 32));
	buf_put_u32(b, (uint32_t)v);
}

void buf_put_i64(struct buf *b, int64_t v)
{
	buf_put_u64(b, (uint64_t)v);
}

void buf_put_str(struct buf *b, const void *s, size_t n)
{
	buf_put_u32(b, (uint32_t)n);
	buf_put(b, s, n);
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void rd_init(struct rd *r, const void *p, size_t n)
{
	r->p = p;
	r->left = n;
	r->bad = 0;
}

static int need(struct rd *r, size_t n)
{
	if (r->bad || r->left < n) {
		r->bad = 1;
		return -1;
	}
	return 0;
}

int rd_bytes(struct rd *r, void *out, size_t n)
{
	if (need(r, n))
		return -1;
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return 0;
}

int rd_u8(struct rd *r, uint8_t *v)
{
	return rd_bytes(r, v, 1);
}

int rd_u16(struct rd *r, uint16_t *v)
{
	unsigned char x[2];

	if (rd_bytes(r, x, 2))
		return -1;
	*v = (uint16_t)(x[0] << 8 | x[1]);
	return 0;
}

int rd_u32(struct rd *r, uint32_t *v)
{
	unsigned char x[4];

	if (rd_bytes(r, x, 4))
		return -1;
	*v = (uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 | (uint32_t)x[2] << 8 | x[3];
	return 0;
}

int rd_u64(struct rd *r, uint64_t *v)
{
	uint32_t hi, lo;

	if (rd_u32(r, &hi) || rd_u32(r, &lo))
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int rd_i64(struct rd *r, int64_t *v)
{
	uint64_t u;

	if (rd_u64(r, &u))
		return -1;
	*v = (int64_t)u;
	return 0;
}

int rd_str(struct rd *r, const unsigned char **s, size_t *n, size_t min, size_t max)
{
	uint32_t len;

	if (rd_u32(r, &len))
		return -1;
	if (len < min || len > max || need(r, len)) {
		r->bad = 1;
		return -1;
	}
	*s = r->p;
	*n = len;
	r->p += len;
	r->left -= len;
	return 0;
}

int rd_cstr(struct rd *r, char **out, size_t min, size_t max)
{
	const unsigned char *s;
	size_t n;

	if (rd_str(r, &s, &n, min, max))
		return -1;
	if (memchr(s, '\0', n)) {
		r->bad = 1;
		return -1;
	}
	*out = xstrndup((const char *)s, n);
	return 0;
}

int rd_end(struct rd *r)
{
	return (r->bad || r->left) ? -1 : 0;
}

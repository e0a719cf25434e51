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

/*
 * N bytes at the end of B, counted in its length, for the caller to fill.
 * The integer puts below run once per field of every listing entry and
 * state record (W5: millions of calls), so they check the room once and
 * store directly rather than going through buf_put's copy.
 */
static unsigned char *put_room(struct buf *b, size_t n)
{
	unsigned char *p;

	if (b->cap - b->len < n)
		buf_grow(b, n);
	p = b->data + b->len;
	b->len += n;
	return p;
}

static void store_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

void buf_put(struct buf *b, const void *p, size_t n)
{
	if (!n)
		return;
	memcpy(put_room(b, n), p, n);
}

void buf_put_u8(struct buf *b, uint8_t v)
{
	*put_room(b, 1) = v;
}

void buf_put_u16(struct buf *b, uint16_t v)
{
	unsigned char *p = put_room(b, 2);

	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

void buf_put_u32(struct buf *b, uint32_t v)
{
	store_u32(put_room(b, 4), v);
}

void buf_put_u64(struct buf *b, uint64_t v)
{
	unsigned char *p = put_room(b, 8);

	store_u32(p, (uint32_t)(v >> 32));
	store_u32(p + 4, (uint32_t)v);
}

void buf_put_i64(struct buf *b, int64_t v)
{
	buf_put_u64(b, (uint64_t)v);
}

void buf_put_str(struct buf *b, const void *s, size_t n)
{
	unsigned char *p = put_room(b, 4 + n);

	store_u32(p, (uint32_t)n);
	if (n)
		memcpy(p + 4, s, n);
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

static uint32_t load_u32(const unsigned char *x)
{
	return (uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 | (uint32_t)x[2] << 8 | x[3];
}

int rd_u8(struct rd *r, uint8_t *v)
{
	if (need(r, 1))
		return -1;
	*v = *r->p++;
	r->left--;
	return 0;
}

int rd_u16(struct rd *r, uint16_t *v)
{
	if (need(r, 2))
		return -1;
	*v = (uint16_t)(r->p[0] << 8 | r->p[1]);
	r->p += 2;
	r->left -= 2;
	return 0;
}

int rd_u32(struct rd *r, uint32_t *v)
{
	if (need(r, 4))
		return -1;
	*v = load_u32(r->p);
	r->p += 4;
	r->left -= 4;
	return 0;
}

int rd_u64(struct rd *r, uint64_t *v)
{
	if (need(r, 8))
		return -1;
	*v = (uint64_t)load_u32(r->p) << 32 | load_u32(r->p + 4);
	r->p += 8;
	r->left -= 8;
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

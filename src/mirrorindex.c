/* mirrorindex.c - the mirror index as streams; see mirrorindex.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "escape.h"
#include "log.h"
#include "mirrorindex.h"
#include "path.h"

#define HEADER "shelter-mirror-index 1\n"
#define RBUF (256u << 10)

void mrec_stat(struct mrec *rec, const struct stat *st)
{
	rec->size = (uint64_t)st->st_size;
	rec->mtime_sec = st->st_mtim.tv_sec;
	rec->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	rec->ino = st->st_ino;
	rec->ctime_sec = st->st_ctim.tv_sec;
	rec->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
}

int mrec_matches(const struct mrec *rec, const struct stat *st)
{
	return rec->size == (uint64_t)st->st_size && rec->mtime_sec == st->st_mtim.tv_sec &&
	       rec->mtime_nsec == (uint32_t)st->st_mtim.tv_nsec && rec->ino == st->st_ino &&
	       rec->ctime_sec == st->st_ctim.tv_sec &&
	       rec->ctime_nsec == (uint32_t)st->st_ctim.tv_nsec;
}

/* ---- reading ------------------------------------------------------------- */

struct mireader {
	int fd;			/* -1: memory */
	char *buf;
	size_t len, off;
	int eof, done;
	struct hasher *h;
	uint64_t count;
	struct buf raw;		/* the last record's line */
	struct mrec rec;
	char why[600];
};

static int bad(struct mireader *r, const char *fmt, const char *arg)
{
	snprintf(r->why, sizeof(r->why), fmt, arg);
	return -1;
}

/* The next line (without its LF) at *LINE, length *N; 0, or -1 (why set). */
static int next_line(struct mireader *r, char **line, size_t *n)
{
	char *lf;

	for (;;) {
		lf = memchr(r->buf + r->off, '\n', r->len - r->off);
		if (lf)
			break;
		if (r->len - r->off > MI_LINE_MAX)
			return bad(r, "%s", "a line is too long (damaged)");
		if (r->fd < 0 || r->eof)
			return bad(r, "%s", "it ends without its end line (truncated)");
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
		for (;;) {
			ssize_t k = read(r->fd, r->buf + r->len, RBUF - r->len);

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return bad(r, "%s", strerror(errno));
			if (k == 0)
				r->eof = 1;
			r->len += (size_t)k;
			break;
		}
	}
	*line = r->buf + r->off;
	*n = (size_t)(lf - *line);
	return 0;
}

static void take(struct mireader *r, size_t n)
{
	hasher_update(r->h, r->buf + r->off, n);
	r->off += n;
}

/*
 * Strict decimal: digits only, no overflow. The overflow test divides by
 * constants only: a division per digit was a tenth of a no-change pass's
 * instructions over 200,000 records (four numbers each).
 */
static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0, d;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = (uint64_t)(*s - '0');
		if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* [-]SECONDS.NNNNNNNNN */
static int parse_time(char *s, int64_t *sec, uint32_t *nsec)
{
	char *dot = strchr(s, '.');
	int neg = *s == '-';
	uint64_t v, ns;

	if (!dot || strlen(dot + 1) != 9)
		return -1;
	*dot = '\0';
	if (parse_u64(s + neg, &v) || v > (uint64_t)INT64_MAX || parse_u64(dot + 1, &ns))
		return -1;
	*sec = neg ? -(int64_t)v : (int64_t)v;
	*nsec = (uint32_t)ns;
	return 0;
}

/* Lowercase hex digit values; -1 for every other byte. */
static signed char hexval[256];

static void hexval_init(void)
{
	int c;

	if (hexval['1'])
		return;
	memset(hexval, -1, sizeof(hexval));
	for (c = 0; c < 10; c++)
		hexval['0' + c] = (signed char)c;
	for (c = 0; c < 6; c++)
		hexval['a' + c] = (signed char)(10 + c);
}

static int parse_hash(const char *s, unsigned char out[HASH_LEN])
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;

	hexval_init();
	for (i = 0; i < HASH_LEN; i++) {
		int hi = hexval[u[2 * i]], lo;

		if (hi < 0)
			return -1;
		lo = hexval[u[2 * i + 1]];
		if (lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return u[2 * HASH_LEN] ? -1 : 0;
}

/* Split S at TABs into exactly N fields; 0 or -1. */
static int split(char *s, char **f, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		f[i] = s;
		s = strchr(s, '\t');
		if (i < n - 1) {
			if (!s)
				return -1;
			*s++ = '\0';
		} else if (s) {
			return -1;
		}
	}
	return 0;
}

static int parse_rec(struct mireader *r, char *line, struct mrec *m)
{
	char *f[7], *path;
	size_t n;
	char why[512];

	if (split(line, f, 7) || parse_u64(f[0], &m->size) ||
	    parse_time(f[1], &m->mtime_sec, &m->mtime_nsec) || parse_u64(f[2], &m->ino) ||
	    parse_time(f[3], &m->ctime_sec, &m->ctime_nsec) || parse_hash(f[4], m->hash) ||
	    (strcmp(f[5], "-") && strcmp(f[5], "damaged")))
		return snprintf(r->why, sizeof(r->why), "line %" PRIu64 " is not a valid record "
				"(damaged)", r->count + 2), -1;
	m->damaged = !strcmp(f[5], "damaged");
	path = unescape_bytes(f[6], &n);
	if (!path)
		return bad(r, "%s", "a record's path is malformed");
	if (path_valid(path, n, why, sizeof(why))) {
		free(path);
		return bad(r, "%s", why);
	}
	if (m->path && path_cmp(m->path, path) >= 0) {
		snprintf(r->why, sizeof(r->why), "record %.500s is out of order", f[6]);
		free(path);
		return -1;
	}
	free(m->path);
	m->path = path;
	return 0;
}

static struct mireader *reader_new(int fd)
{
	struct mireader *r = xmalloc(sizeof(*r));

	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->h = hasher_new();
	if (fd >= 0)
		r->buf = xmalloc(RBUF);
	return r;
}

static int read_header(struct mireader *r)
{
	char *line;
	size_t n;

	if (next_line(r, &line, &n))
		return bad(r, "%s", r->len ? "it is not a shelter mirror index" : "it is empty");
	if (n + 1 != strlen(HEADER) || memcmp(line, HEADER, n)) {
		if (n > 21 && !memcmp(line, "shelter-mirror-index ", 21))
			return bad(r, "%s", "its format version is not 1: written by a newer shelter?");
		return bad(r, "%s", "it is not a shelter mirror index");
	}
	take(r, n + 1);
	return 0;
}

int mireader_open(int dirfd, const char *name, const char *label, struct mireader **out,
		  char *why, size_t whylen)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct mireader *r;

	(void)label;
	*out = NULL;
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	r = reader_new(fd);
	if (read_header(r)) {
		snprintf(why, whylen, "%s", r->why);
		mireader_close(r);
		return -1;
	}
	*out = r;
	return 0;
}

int mireader_mem(const char *p, size_t n, struct mireader **out, char *why, size_t whylen)
{
	struct mireader *r = reader_new(-1);

	/* A copy: records are split in place. */
	r->buf = xmalloc(n + 1);
	memcpy(r->buf, p, n);
	r->len = n;
	r->eof = 1;
	*out = NULL;
	if (read_header(r)) {
		snprintf(why, whylen, "%s", r->why);
		mireader_close(r);
		return -1;
	}
	*out = r;
	return 0;
}

int mireader_next(struct mireader *r, struct mrec *rec)
{
	char *line, *f[3];
	size_t n;
	uint64_t count;
	unsigned char sum[HASH_LEN], want[HASH_LEN];

	if (r->done)
		return 0;
	if (r->why[0])
		return -1;
	if (next_line(r, &line, &n))
		return -1;
	if (memchr(line, '\0', n))
		return bad(r, "%s", "it holds a NUL byte (damaged)");
	line[n] = '\0';	/* was the LF */
	if (n >= 4 && !memcmp(line, "end\t", 4)) {
		hasher_final(r->h, sum);
		if (split(line, f, 3) || parse_u64(f[1], &count) || parse_hash(f[2], want))
			return bad(r, "%s", "its end line is malformed (damaged)");
		if (memcmp(sum, want, HASH_LEN))
			return bad(r, "%s", "its checksum does not match (damaged)");
		if (count != r->count)
			return bad(r, "%s", "its end line counts another number of records");
		r->off += n + 1;
		/* Anything after the end line is damage too. */
		if (r->off != r->len || (r->fd >= 0 && !r->eof && read(r->fd, sum, 1) != 0))
			return bad(r, "%s", "it goes on after its end line (damaged)");
		r->done = 1;
		return 0;
	}
	/* Hashed as read (with its LF), kept, then split in place. */
	line[n] = '\n';
	buf_reset(&r->raw);
	buf_put(&r->raw, line, n + 1);
	take(r, n + 1);
	line[n] = '\0';
	if (parse_rec(r, line, &r->rec))
		return -1;
	r->count++;
	*rec = r->rec;
	return 1;
}

const char *mireader_raw(const struct mireader *r, size_t *n)
{
	*n = r->raw.len;
	return (const char *)r->raw.data;
}

uint64_t mireader_count(const struct mireader *r)
{
	return r->count;
}

const char *mireader_why(const struct mireader *r)
{
	return r->why;
}

void mireader_close(struct mireader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r->rec.path);
	buf_release(&r->raw);
	hasher_free(r->h);
	free(r);
}

int mireader_check(int dirfd, const char *name, char *why, size_t whylen)
{
	struct mireader *r;
	struct mrec rec;
	int ret = mireader_open(dirfd, name, name, &r, why, whylen);

	if (ret)
		return ret;
	while ((ret = mireader_next(r, &rec)) == 1)
		;
	if (ret < 0)
		snprintf(why, whylen, "%s", r->why);
	mireader_close(r);
	return ret;
}

/* ---- writing --------------------------------------------------------------- */

static void writer_start(struct miwriter *w)
{
	w->count = 0;
	w->last = NULL;
	w->last_cap = 0;
	buf_put(&w->k.out, HEADER, strlen(HEADER));
}

int miwriter_open(struct miwriter *w, int dirfd, const char *tmp)
{
	memset(w, 0, sizeof(*w));
	if (ckw_open(&w->k, dirfd, tmp, "mirror index", "DEST/.shelter/"))
		return -1;
	writer_start(w);
	return 0;
}

void miwriter_open_lazy(struct miwriter *w, int dirfd, const char *tmp, size_t spill)
{
	memset(w, 0, sizeof(*w));
	ckw_open_lazy(&w->k, dirfd, tmp, "mirror index", "DEST/.shelter/", spill);
	writer_start(w);
}

void miwriter_mem(struct miwriter *w, struct buf *b)
{
	memset(w, 0, sizeof(*w));
	ckw_mem(&w->k, b, "mirror index");
	writer_start(w);
}

/* Decimal V at P; returns the end. */
static char *put_u64(char *p, uint64_t v)
{
	char t[20];
	int n = 0;

	do
		t[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*p++ = t[--n];
	return p;
}

/* [-]SECONDS.NNNNNNNNN at P (the sign of SEC, then its magnitude, as read back). */
static char *put_time(char *p, int64_t sec, uint32_t nsec)
{
	int i;

	if (sec < 0)
		*p++ = '-';
	p = put_u64(p, sec < 0 ? (uint64_t)0 - (uint64_t)sec : (uint64_t)sec);
	*p++ = '.';
	for (i = 8; i >= 0; i--, nsec /= 10)
		p[i] = (char)('0' + nsec % 10);
	return p + 9;
}

/* PATH needs escaping (doc/history.md): a byte below 0x20, 0x7f or a backslash. */
static int needs_escape(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '\\')
			return 1;
	return 0;
}

/* Check the order of PATH and remember it. */
static void set_last(struct miwriter *w, const char *path, size_t n)
{
	if (w->last && path_cmp(w->last, path) >= 0)
		bug("mirror index: %s written after %s", path, w->last);
	if (n + 1 > w->last_cap) {
		w->last_cap = n + 64;
		free(w->last);
		w->last = xmalloc(w->last_cap);
	}
	memcpy(w->last, path, n + 1);
}

void miwriter_put_raw(struct miwriter *w, const char *path, const char *raw, size_t n)
{
	set_last(w, path, strlen(path));
	buf_put(&w->k.out, raw, n);
	w->count++;
	ckw_flush(&w->k, 0);
}

void miwriter_put(struct miwriter *w, const struct mrec *m)
{
	char line[160], *p = line, *esc = NULL;
	size_t n = strlen(m->path);

	set_last(w, m->path, n);
	p = put_u64(p, m->size);
	*p++ = '\t';
	p = put_time(p, m->mtime_sec, m->mtime_nsec);
	*p++ = '\t';
	p = put_u64(p, m->ino);
	*p++ = '\t';
	p = put_time(p, m->ctime_sec, m->ctime_nsec);
	*p++ = '\t';
	hash_hex(m->hash, p);
	p += 2 * HASH_LEN;
	memcpy(p, m->damaged ? "\tdamaged\t" : "\t-\t", m->damaged ? 9 : 3);
	p += m->damaged ? 9 : 3;
	buf_put(&w->k.out, line, (size_t)(p - line));
	if (needs_escape(m->path)) {
		esc = escape_bytes(m->path, n);
		buf_put(&w->k.out, esc, strlen(esc));
		free(esc);
	} else {
		buf_put(&w->k.out, m->path, n);
	}
	buf_put_u8(&w->k.out, '\n');
	w->count++;
	ckw_flush(&w->k, 0);
}

int miwriter_finish(struct miwriter *w, const char *final)
{
	unsigned char sum[HASH_LEN];
	char hex[2 * HASH_LEN + 1], tail[80];
	int n;

	ckw_sum(&w->k, sum);
	hash_hex(sum, hex);
	n = snprintf(tail, sizeof(tail), "end\t%" PRIu64 "\t%s\n", w->count, hex);
	free(w->last);
	w->last = NULL;
	w->last_cap = 0;
	return ckw_close(&w->k, tail, (size_t)n, final);
}

void miwriter_abort(struct miwriter *w)
{
	free(w->last);
	w->last = NULL;
	w->last_cap = 0;
	ckw_abort(&w->k);
}

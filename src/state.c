/*
 * state.c - reading, checking and writing the sync state file as streams
 * (a pass never holds it whole), and the pair's lock. Everything read is
 * distrusted like wire data: every length is bounded, every path checked,
 * the order enforced, and the end mark and checksum verified before the
 * pass changes anything.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "buf.h"
#include "ckfile.h"
#include "log.h"
#include "path.h"
#include "state.h"

#define STATE_MAGIC "SHLTSYNC"
#define STATE_VERSION 1u
#define FIX " (move it away, or start over with --resync)"

/*
 * A record's fixed-size parts are encoded and decoded in place, a field at
 * a time into one array: a pass reads and writes every record of the pair
 * (twice each), so this is most of its CPU outside the scans.
 */
#define FIXED_LEN (1 + 4 + 8 + 8 + 4 + HASH_LEN)	/* type .. hash */
#define KEY_LEN (8 + 8 + 4 + 8 + 4 + 8)

static unsigned char *enc32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return p + 4;
}

static unsigned char *enc64(unsigned char *p, uint64_t v)
{
	return enc32(enc32(p, (uint32_t)(v >> 32)), (uint32_t)v);
}

static uint32_t dec32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t dec64(const unsigned char *p)
{
	return (uint64_t)dec32(p) << 32 | dec32(p + 4);
}

static unsigned char *put_key(unsigned char *p, const struct skey *k)
{
	p = enc64(p, k->ino);
	p = enc64(p, (uint64_t)k->ctime_sec);
	p = enc32(p, k->ctime_nsec);
	p = enc64(p, (uint64_t)k->mtime_sec);
	p = enc32(p, k->mtime_nsec);
	return enc64(p, k->size);
}

/* One key from KEY_LEN bytes at P; -1 when a nanosecond field is out of range. */
static int get_key(const unsigned char *p, struct skey *k)
{
	k->ino = dec64(p);
	k->ctime_sec = (int64_t)dec64(p + 8);
	k->ctime_nsec = dec32(p + 16);
	k->mtime_sec = (int64_t)dec64(p + 20);
	k->mtime_nsec = dec32(p + 28);
	k->size = dec64(p + 32);
	return k->ctime_nsec >= 1000000000u || k->mtime_nsec >= 1000000000u ? -1 : 0;
}

/* One record; 0, or -1 with the reason in WHY. */
static int get_rec(struct rd *r, struct srec *s, char *why, size_t whylen)
{
	const unsigned char *p;
	unsigned char f[FIXED_LEN], k[2 * KEY_LEN];
	size_t n;
	uint8_t type;

	memset(s, 0, sizeof(*s));
	if (rd_str(r, &p, &n, 1, MAX_PATH_LEN))
		return snprintf(why, whylen, "a record's path is malformed"), -1;
	if (path_valid((const char *)p, n, why, whylen))
		return -1;
	if (rd_bytes(r, f, FIXED_LEN))
		return snprintf(why, whylen, "it ends inside a record"), -1;
	type = f[0];
	s->mode = dec32(f + 1);
	s->size = dec64(f + 5);
	s->mtime_sec = (int64_t)dec64(f + 13);
	s->mtime_nsec = dec32(f + 21);
	memcpy(s->hash, f + 25, HASH_LEN);
	if ((type != 'f' && type != 'd' && type != 'l') || s->mode > 07777 ||
	    s->mtime_nsec >= 1000000000u || (type != 'f' && s->size))
		return snprintf(why, whylen, "the record for %.*s is malformed", (int)n, p), -1;
	s->type = (char)type;
	if (type == 'l') {
		const unsigned char *t;
		size_t tl;

		if (rd_str(r, &t, &tl, 1, MAX_TARGET_LEN) || memchr(t, '\0', tl))
			return snprintf(why, whylen, "the link target of %.*s is malformed", (int)n,
					p), -1;
		s->target = xstrndup((const char *)t, tl);
	}
	if (rd_bytes(r, k, sizeof(k)) || get_key(k, &s->side[0]) ||
	    get_key(k + KEY_LEN, &s->side[1])) {
		free(s->target);
		s->target = NULL;
		return snprintf(why, whylen, "the record for %.*s is malformed", (int)n, p), -1;
	}
	s->path = xstrndup((const char *)p, n);
	return 0;
}

/* ---- reading, as a stream ------------------------------------------------ */

/* The longest record: 'R', two strings at their bounds, the fixed fields. */
#define REC_MAX (1 + 4 + MAX_PATH_LEN + 1 + 4 + 8 + 12 + HASH_LEN + 4 + MAX_TARGET_LEN + 2 * 40)
#define RBUF (256u << 10)

struct sreader {
	int fd;			/* -1: reading memory */
	char *file;		/* for messages, or NULL */
	unsigned char *buf;
	size_t len, off;	/* bytes in buf, bytes consumed */
	size_t summed;		/* bytes of buf in the checksum so far (<= off) */
	int eof;
	struct hasher *h;
	uint64_t count;
	int64_t scan_start;
	int done;
	struct srec rec;	/* the last record returned */
	char why[512];
};

/* The consumed bytes into the checksum, in one call rather than one per record. */
static void sum_consumed(struct sreader *r)
{
	hasher_update(r->h, r->buf + r->summed, r->off - r->summed);
	r->summed = r->off;
}

/* Make N bytes (or what is left) available; 0, or -1 on a read error. */
static int fill(struct sreader *r, size_t n)
{
	if (r->fd < 0 || r->eof || r->len - r->off >= n)
		return 0;
	sum_consumed(r);
	memmove(r->buf, r->buf + r->off, r->len - r->off);
	r->len -= r->off;
	r->off = 0;
	r->summed = 0;
	while (!r->eof && r->len < n) {
		ssize_t k = read(r->fd, r->buf + r->len, RBUF - r->len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0)
			r->eof = 1;
		r->len += (size_t)k;
	}
	return 0;
}

/* Consume N bytes (they go into the checksum before they leave the buffer). */
static void take(struct sreader *r, size_t n)
{
	r->off += n;
}

static int bad(struct sreader *r, const char *fmt, const char *arg)
{
	snprintf(r->why, sizeof(r->why), fmt, arg);
	if (r->file)
		error("state file %s: %s%s", r->file, r->why, FIX);
	return -1;
}

static int read_header(struct sreader *r, const char *root1, const char *root2)
{
	struct rd rd;
	uint32_t version = 0;
	char *r1 = NULL, *r2 = NULL;
	char v[32];
	int ret;

	if (fill(r, 8 + 4 + 2 * (4 + MAX_ROOT_LEN) + 8) < 0)
		return bad(r, "%s", strerror(errno));
	if (r->len < 8 || memcmp(r->buf, STATE_MAGIC, 8))
		return bad(r, "%s", "not a shelter sync state file");
	rd_init(&rd, r->buf + 8, r->len - 8);
	if (rd_u32(&rd, &version) || version != STATE_VERSION) {
		snprintf(v, sizeof(v), "%u", version);
		snprintf(r->why, sizeof(r->why), "format version %s, this shelter reads %u", v,
			 STATE_VERSION);
		if (r->file)
			error("state file %s: %s%s", r->file, r->why, FIX);
		return -1;
	}
	if (rd_cstr(&rd, &r1, 1, MAX_ROOT_LEN) || rd_cstr(&rd, &r2, 1, MAX_ROOT_LEN) ||
	    rd_i64(&rd, &r->scan_start)) {
		free(r1);
		free(r2);
		return bad(r, "%s", "its header is malformed (truncated or damaged)");
	}
	ret = 0;
	if (strcmp(r1, root1) || strcmp(r2, root2)) {
		snprintf(r->why, sizeof(r->why), "it belongs to the pair %.200s and %.200s", r1, r2);
		if (r->file)
			error("state file %s: %s%s", r->file, r->why, FIX);
		ret = -1;
	}
	free(r1);
	free(r2);
	if (!ret)
		take(r, r->len - rd.left);
	return ret;
}

static struct sreader *reader_new(int fd, const char *file)
{
	struct sreader *r = xmalloc(sizeof(*r));

	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->file = file ? xstrdup(file) : NULL;
	r->h = hasher_new();
	if (fd >= 0)
		r->buf = xmalloc(RBUF);
	return r;
}

int sreader_open(const char *file, const char *root1, const char *root2, struct sreader **out)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct sreader *r;

	*out = NULL;
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0)
		return error("state file %s: %s", file, strerror(errno));
	r = reader_new(fd, file);
	if (read_header(r, root1, root2)) {
		sreader_close(r);
		return -1;
	}
	*out = r;
	return 0;
}

int sreader_mem(const unsigned char *p, size_t n, const char *root1, const char *root2,
		struct sreader **out, char *why, size_t whylen)
{
	struct sreader *r = reader_new(-1, NULL);

	r->buf = (unsigned char *)p;
	r->len = n;
	r->eof = 1;
	*out = NULL;
	if (read_header(r, root1, root2)) {
		snprintf(why, whylen, "%s", r->why);
		r->buf = NULL;
		sreader_close(r);
		return -1;
	}
	*out = r;
	return 0;
}

int64_t sreader_scan_start(const struct sreader *r)
{
	return r->scan_start;
}

const char *sreader_why(const struct sreader *r)
{
	return r->why;
}

uint64_t sreader_count(const struct sreader *r)
{
	return r->count;
}

int sreader_next(struct sreader *r, struct srec *rec)
{
	struct rd rd;
	char why[512];
	uint64_t count;
	unsigned char sum[HASH_LEN];
	char *prev = r->rec.path;

	if (r->done)
		return 0;
	if (fill(r, REC_MAX) < 0)
		return bad(r, "%s", strerror(errno));
	if (r->off == r->len)
		return bad(r, "%s", "it ends without its end mark (truncated)");
	if (r->buf[r->off] == 'E') {
		rd_init(&rd, r->buf + r->off + 1, r->len - r->off - 1);
		if (rd_u64(&rd, &count) || rd.left != HASH_LEN)
			return bad(r, "%s", "its end mark is malformed (truncated or damaged)");
		take(r, 9);
		sum_consumed(r);
		hasher_final(r->h, sum);
		if (memcmp(sum, r->buf + r->off, HASH_LEN))
			return bad(r, "%s", "its checksum does not match (truncated or damaged)");
		if (count != r->count)
			return bad(r, "%s", "its end mark counts another number of records");
		r->done = 1;
		return 0;
	}
	if (r->buf[r->off] != 'R')
		return bad(r, "%s", "it is damaged (a record does not start where one should)");
	rd_init(&rd, r->buf + r->off + 1, r->len - r->off - 1);
	r->rec.path = NULL;
	free(r->rec.target);
	r->rec.target = NULL;
	if (get_rec(&rd, &r->rec, why, sizeof(why))) {
		free(prev);
		return bad(r, "%s", why);
	}
	if (prev && path_cmp(prev, r->rec.path) >= 0) {
		free(prev);
		return bad(r, "record %s is out of order", r->rec.path);
	}
	free(prev);
	take(r, r->len - r->off - rd.left);
	r->count++;
	*rec = r->rec;
	return 1;
}

void sreader_close(struct sreader *r)
{
	if (!r)
		return;
	if (r->fd >= 0) {
		close(r->fd);
		free(r->buf);
	}
	free(r->rec.path);
	free(r->rec.target);
	hasher_free(r->h);
	free(r->file);
	free(r);
}

/* ---- writing, as a stream (ckfile.c) ----------------------------------- */

struct swriter {
	struct ckw k;
	uint64_t count;
};

static struct swriter *writer_new(const struct ckw *k, const char *root1, const char *root2,
				  int64_t scan_start)
{
	struct swriter *w = xmalloc(sizeof(*w));
	struct buf *b = &w->k.out;

	w->k = *k;
	w->count = 0;
	buf_put(b, STATE_MAGIC, 8);
	buf_put_u32(b, STATE_VERSION);
	buf_put_str(b, root1, strlen(root1));
	buf_put_str(b, root2, strlen(root2));
	buf_put_i64(b, scan_start);
	return w;
}

struct swriter *swriter_open(const char *tmp, const char *root1, const char *root2,
			     int64_t scan_start)
{
	struct ckw k;

	if (ckw_open(&k, AT_FDCWD, tmp, "state file", ""))
		return NULL;
	return writer_new(&k, root1, root2, scan_start);
}

struct swriter *swriter_mem(struct buf *b, const char *root1, const char *root2,
			    int64_t scan_start)
{
	struct ckw k;

	ckw_mem(&k, b, "state file");
	return writer_new(&k, root1, root2, scan_start);
}

void swriter_scratch(struct swriter *w)
{
	w->k.nosync = 1;
}

void swriter_put(struct swriter *w, const struct srec *s)
{
	struct buf *b = &w->k.out;
	size_t plen = strlen(s->path);
	unsigned char f[1 + 4 + FIXED_LEN], k[2 * KEY_LEN], *q;

	f[0] = 'R';
	enc32(f + 1, (uint32_t)plen);
	buf_put(b, f, 5);
	buf_put(b, s->path, plen);
	q = f;
	*q++ = (unsigned char)s->type;
	q = enc32(q, s->mode);
	q = enc64(q, s->type == 'f' ? s->size : 0);
	q = enc64(q, (uint64_t)s->mtime_sec);
	q = enc32(q, s->mtime_nsec);
	memcpy(q, s->hash, HASH_LEN);
	buf_put(b, f, FIXED_LEN);
	if (s->type == 'l')
		buf_put_str(b, s->target, strlen(s->target));
	put_key(put_key(k, &s->side[0]), &s->side[1]);
	buf_put(b, k, sizeof(k));
	w->count++;
	ckw_flush(&w->k, 0);
}

void swriter_abort(struct swriter *w)
{
	if (!w)
		return;
	ckw_abort(&w->k);
	free(w);
}

int swriter_finish(struct swriter *w, const char *final)
{
	unsigned char sum[HASH_LEN];
	int ret;

	buf_put_u8(&w->k.out, 'E');
	buf_put_u64(&w->k.out, w->count);
	ckw_sum(&w->k, sum);
	ret = ckw_close(&w->k, sum, HASH_LEN, final);
	free(w);
	return ret;
}

char *state_dir_file(const char *name)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	size_t n;
	char *out;

	if (!xdg || *xdg != '/')
		xdg = NULL;
	n = (xdg ? strlen(xdg) : strlen(home ? home : "") + 13) + strlen(name) + 10;
	out = xmalloc(n);
	if (xdg)
		snprintf(out, n, "%s/shelter/%s", xdg, name);
	else
		snprintf(out, n, "%s/.local/state/shelter/%s", home ? home : "", name);
	return out;
}

char *state_default_path(const char *root1, const char *root2)
{
	unsigned char h[HASH_LEN];
	char hex[2 * HASH_LEN + 1], name[2 * HASH_LEN + 16], *key;
	size_t l1 = strlen(root1), l2 = strlen(root2);

	key = xmalloc(l1 + l2 + 1);
	memcpy(key, root1, l1 + 1);
	memcpy(key + l1 + 1, root2, l2);
	hash_bytes(key, l1 + 1 + l2, h);
	free(key);
	hash_hex(h, hex);
	snprintf(name, sizeof(name), "sync-%s.state", hex);
	return state_dir_file(name);
}

int state_lock(const char *file, unsigned wait, int *busy)
{
	size_t n = strlen(file) + 8;
	char *lock = xmalloc(n);
	struct timespec t0, now;
	int fd;

	*busy = 0;
	snprintf(lock, n, "%s.lock", file);
	if (ckw_make_parents(AT_FDCWD, lock) < 0) {
		error("cannot create the directory of %s: %s", lock, strerror(errno));
		free(lock);
		return -1;
	}
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		error("cannot open the lock %s: %s", lock, strerror(errno));
		free(lock);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			error("cannot lock %s: %s", lock, strerror(errno));
			close(fd);
			free(lock);
			return -1;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= (time_t)wait) {
			error("another sync of this pair is running (it holds %s); wait for it, "
			      "or give --lock-wait SECONDS", lock);
			*busy = 1;
			close(fd);
			free(lock);
			return -1;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
	}
	free(lock);
	return fd;
}

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
#include "log.h"
#include "path.h"
#include "state.h"

#define STATE_MAGIC "SHLTSYNC"
#define STATE_VERSION 1u
#define FIX " (move it away, or start over with --resync)"

static void put_key(struct buf *b, const struct skey *k)
{
	buf_put_u64(b, k->ino);
	buf_put_i64(b, k->ctime_sec);
	buf_put_u32(b, k->ctime_nsec);
	buf_put_i64(b, k->mtime_sec);
	buf_put_u32(b, k->mtime_nsec);
	buf_put_u64(b, k->size);
}

static int get_key(struct rd *r, struct skey *k)
{
	rd_u64(r, &k->ino);
	rd_i64(r, &k->ctime_sec);
	rd_u32(r, &k->ctime_nsec);
	rd_i64(r, &k->mtime_sec);
	rd_u32(r, &k->mtime_nsec);
	return rd_u64(r, &k->size) || k->ctime_nsec >= 1000000000u ||
	       k->mtime_nsec >= 1000000000u;
}

/* One record; 0, or -1 with the reason in WHY. */
static int get_rec(struct rd *r, struct srec *s, char *why, size_t whylen)
{
	const unsigned char *p;
	size_t n;
	uint8_t type;

	memset(s, 0, sizeof(*s));
	if (rd_str(r, &p, &n, 1, MAX_PATH_LEN))
		return snprintf(why, whylen, "a record's path is malformed"), -1;
	if (path_valid((const char *)p, n, why, whylen))
		return -1;
	rd_u8(r, &type);
	rd_u32(r, &s->mode);
	rd_u64(r, &s->size);
	rd_i64(r, &s->mtime_sec);
	rd_u32(r, &s->mtime_nsec);
	if (rd_bytes(r, s->hash, HASH_LEN))
		return snprintf(why, whylen, "it ends inside a record"), -1;
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
	if (get_key(r, &s->side[0]) || get_key(r, &s->side[1])) {
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
	int eof;
	struct hasher *h;
	uint64_t count;
	int64_t scan_start;
	int done;
	struct srec rec;	/* the last record returned */
	char why[512];
};

/* Make N bytes (or what is left) available; 0, or -1 on a read error. */
static int fill(struct sreader *r, size_t n)
{
	if (r->fd < 0 || r->eof || r->len - r->off >= n)
		return 0;
	memmove(r->buf, r->buf + r->off, r->len - r->off);
	r->len -= r->off;
	r->off = 0;
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

/* Consume N bytes into the checksum. */
static void take(struct sreader *r, size_t n)
{
	hasher_update(r->h, r->buf + r->off, n);
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

/* ---- writing, as a stream ------------------------------------------------ */

struct swriter {
	int fd;			/* -1: into mem */
	char *tmp;
	struct buf out, *mem;
	struct hasher *h;
	uint64_t count;
	int failed;
};

static int write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

/* mkdir -p for the state directory (0700: it tells what a user syncs). */
int state_make_parents(const char *file)
{
	char *d = xstrdup(file), *p;
	int ret = 0;

	for (p = d + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(d, 0700) < 0 && errno != EEXIST) {
			ret = -1;
			break;
		}
		*p = '/';
	}
	free(d);
	return ret;
}

/* Hash and write what is buffered (all of it at the end, else in big pieces). */
static void flush_out(struct swriter *w, int all)
{
	if (!all && w->out.len < RBUF)
		return;
	hasher_update(w->h, w->out.data, w->out.len);
	if (w->mem)
		buf_put(w->mem, w->out.data, w->out.len);
	else if (!w->failed && write_all(w->fd, w->out.data, w->out.len)) {
		error("cannot write the state file %s: %s", w->tmp, strerror(errno));
		w->failed = 1;
	}
	buf_reset(&w->out);
}

static struct swriter *writer_new(const char *root1, const char *root2, int64_t scan_start)
{
	struct swriter *w = xmalloc(sizeof(*w));

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->h = hasher_new();
	buf_put(&w->out, STATE_MAGIC, 8);
	buf_put_u32(&w->out, STATE_VERSION);
	buf_put_str(&w->out, root1, strlen(root1));
	buf_put_str(&w->out, root2, strlen(root2));
	buf_put_i64(&w->out, scan_start);
	return w;
}

struct swriter *swriter_open(const char *tmp, const char *root1, const char *root2,
			     int64_t scan_start)
{
	struct swriter *w;
	int fd;

	if (state_make_parents(tmp) < 0) {
		error("cannot create the directory of %s: %s", tmp, strerror(errno));
		return NULL;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		error("cannot write the state file %s: %s", tmp, strerror(errno));
		return NULL;
	}
	w = writer_new(root1, root2, scan_start);
	w->fd = fd;
	w->tmp = xstrdup(tmp);
	return w;
}

struct swriter *swriter_mem(struct buf *b, const char *root1, const char *root2,
			    int64_t scan_start)
{
	struct swriter *w = writer_new(root1, root2, scan_start);

	w->mem = b;
	return w;
}

void swriter_put(struct swriter *w, const struct srec *s)
{
	struct buf *b = &w->out;

	buf_put_u8(b, 'R');
	buf_put_str(b, s->path, strlen(s->path));
	buf_put_u8(b, (uint8_t)s->type);
	buf_put_u32(b, s->mode);
	buf_put_u64(b, s->type == 'f' ? s->size : 0);
	buf_put_i64(b, s->mtime_sec);
	buf_put_u32(b, s->mtime_nsec);
	buf_put(b, s->hash, HASH_LEN);
	if (s->type == 'l')
		buf_put_str(b, s->target, strlen(s->target));
	put_key(b, &s->side[0]);
	put_key(b, &s->side[1]);
	w->count++;
	flush_out(w, 0);
}

static void writer_free(struct swriter *w)
{
	if (w->fd >= 0)
		close(w->fd);
	hasher_free(w->h);
	buf_release(&w->out);
	free(w->tmp);
	free(w);
}

void swriter_abort(struct swriter *w)
{
	if (!w)
		return;
	if (w->tmp)
		unlink(w->tmp);
	writer_free(w);
}

int swriter_finish(struct swriter *w, const char *final)
{
	unsigned char sum[HASH_LEN];
	char *dir, *slash;
	int dfd, ret = -1;

	buf_put_u8(&w->out, 'E');
	buf_put_u64(&w->out, w->count);
	flush_out(w, 1);
	hasher_final(w->h, sum);
	if (w->mem) {
		buf_put(w->mem, sum, HASH_LEN);
		writer_free(w);
		return 0;
	}
	if (w->failed || write_all(w->fd, sum, HASH_LEN) || fsync(w->fd) < 0) {
		if (!w->failed)
			error("cannot write the state file %s: %s", w->tmp, strerror(errno));
		swriter_abort(w);
		return -1;
	}
	if (!final) {
		writer_free(w);
		return 0;
	}
	if (rename(w->tmp, final) < 0) {
		error("cannot rename %s to %s: %s", w->tmp, final, strerror(errno));
		swriter_abort(w);
		return -1;
	}
	dir = xstrdup(final);
	slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir ? 1 : 0] = '\0';
	dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		error("fsync of the state directory %s: %s", slash ? dir : ".", strerror(errno));
	else
		ret = 0;
	if (dfd >= 0)
		close(dfd);
	free(dir);
	writer_free(w);
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
	if (state_make_parents(lock) < 0) {
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

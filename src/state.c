/*
 * state.c - reading, checking and writing the sync state file, and the
 * pair's lock. Everything read is distrusted like wire data: every length
 * is bounded, every path checked, the order enforced, the checksum first.
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

void state_add(struct state *st, const struct srec *r)
{
	struct srec *d;

	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 256;
		st->v = xrealloc(st->v, st->cap * sizeof(*st->v));
	}
	d = &st->v[st->n++];
	*d = *r;
	d->path = xstrdup(r->path);
	d->target = r->target ? xstrdup(r->target) : NULL;
}

void state_release(struct state *st)
{
	size_t i;

	for (i = 0; i < st->n; i++) {
		free(st->v[i].path);
		free(st->v[i].target);
	}
	free(st->v);
	free(st->root[0]);
	free(st->root[1]);
	memset(st, 0, sizeof(*st));
}

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

static int read_all(int fd, struct buf *b)
{
	for (;;) {
		ssize_t n;

		buf_grow(b, 65536);
		n = read(fd, b->data + b->len, b->cap - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		b->len += (size_t)n;
	}
}

int state_parse(const unsigned char *p, size_t n, const char *root1, const char *root2,
		struct state *st, char *why, size_t whylen)
{
	unsigned char sum[HASH_LEN];
	struct rd r;
	uint32_t version = 0;
	uint64_t count, i;

	memset(st, 0, sizeof(*st));
	if (n < 8 + HASH_LEN || memcmp(p, STATE_MAGIC, 8))
		return snprintf(why, whylen, "not a shelter sync state file"), -1;
	hash_bytes(p, n - HASH_LEN, sum);
	if (memcmp(sum, p + n - HASH_LEN, HASH_LEN))
		return snprintf(why, whylen, "its checksum does not match (truncated or damaged)"), -1;
	rd_init(&r, p + 8, n - 8 - HASH_LEN);
	if (rd_u32(&r, &version) || version != STATE_VERSION)
		return snprintf(why, whylen, "format version %u, this shelter reads %u", version,
				STATE_VERSION), -1;
	if (rd_cstr(&r, &st->root[0], 1, MAX_ROOT_LEN) || rd_cstr(&r, &st->root[1], 1, MAX_ROOT_LEN) ||
	    rd_i64(&r, &st->scan_start) || rd_u64(&r, &count)) {
		snprintf(why, whylen, "its header is malformed");
		goto bad;
	}
	if (strcmp(st->root[0], root1) || strcmp(st->root[1], root2)) {
		snprintf(why, whylen, "it belongs to the pair %s and %s", st->root[0], st->root[1]);
		goto bad;
	}
	/* A record is at least 100 bytes: a count the file cannot hold is refused first. */
	if (count > r.left / 100) {
		snprintf(why, whylen, "it claims %llu records in %zu bytes", (unsigned long long)count,
			 r.left);
		goto bad;
	}
	for (i = 0; i < count; i++) {
		struct srec rec;

		if (get_rec(&r, &rec, why, whylen))
			goto bad;
		if (st->n && path_cmp(st->v[st->n - 1].path, rec.path) >= 0) {
			snprintf(why, whylen, "record %s is out of order", rec.path);
			free(rec.path);
			free(rec.target);
			goto bad;
		}
		if (st->n == st->cap) {
			st->cap = st->cap ? st->cap * 2 : 256;
			st->v = xrealloc(st->v, st->cap * sizeof(*st->v));
		}
		st->v[st->n++] = rec;
	}
	if (rd_end(&r)) {
		snprintf(why, whylen, "trailing bytes after the records");
		goto bad;
	}
	return 0;
bad:
	state_release(st);
	return -1;
}

int state_load(const char *file, const char *root1, const char *root2, struct state *st)
{
	char why[512] = "";
	struct buf b = BUF_INIT;
	int fd, ret;

	memset(st, 0, sizeof(*st));
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0 || read_all(fd, &b)) {
		error("state file %s: %s", file, strerror(errno));
		if (fd >= 0)
			close(fd);
		buf_release(&b);
		return -1;
	}
	close(fd);
	ret = state_parse(b.data, b.len, root1, root2, st, why, sizeof(why));
	if (ret)
		error("state file %s: %s%s", file, why, FIX);
	buf_release(&b);
	return ret;
}

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
static int make_parents(const char *file)
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

void state_encode(struct buf *b, const struct state *st)
{
	unsigned char sum[HASH_LEN];
	size_t i;

	buf_put(b, STATE_MAGIC, 8);
	buf_put_u32(b, STATE_VERSION);
	buf_put_str(b, st->root[0], strlen(st->root[0]));
	buf_put_str(b, st->root[1], strlen(st->root[1]));
	buf_put_i64(b, st->scan_start);
	buf_put_u64(b, st->n);
	for (i = 0; i < st->n; i++) {
		const struct srec *s = &st->v[i];

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
	}
	hash_bytes(b->data, b->len, sum);
	buf_put(b, sum, HASH_LEN);
}

int state_save(const char *file, const struct state *st)
{
	struct buf b = BUF_INIT;
	char *tmp, *dir, *slash;
	size_t tl = strlen(file) + 16;
	int fd, dfd, ret = -1;

	state_encode(&b, st);

	tmp = xmalloc(tl);
	snprintf(tmp, tl, "%s.tmp", file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		error("cannot write the state file %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_all(fd, b.data, b.len) || fsync(fd) < 0) {
		error("cannot write the state file %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, file) < 0) {
		error("cannot rename %s to %s: %s", tmp, file, strerror(errno));
		unlink(tmp);
		goto out;
	}
	dir = xstrdup(file);
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
out:
	free(tmp);
	buf_release(&b);
	return ret;
}

char *state_default_path(const char *root1, const char *root2)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	unsigned char h[HASH_LEN];
	char hex[2 * HASH_LEN + 1], *key, *out;
	size_t l1 = strlen(root1), l2 = strlen(root2), n;

	key = xmalloc(l1 + l2 + 1);
	memcpy(key, root1, l1 + 1);
	memcpy(key + l1 + 1, root2, l2);
	hash_bytes(key, l1 + 1 + l2, h);
	free(key);
	hash_hex(h, hex);
	if (!xdg || *xdg != '/')
		xdg = NULL;
	n = (xdg ? strlen(xdg) : strlen(home ? home : "") + 13) + 64;
	out = xmalloc(n);
	if (xdg)
		snprintf(out, n, "%s/shelter/sync-%s.state", xdg, hex);
	else
		snprintf(out, n, "%s/.local/state/shelter/sync-%s.state", home ? home : "", hex);
	return out;
}

int state_lock(const char *file, unsigned wait, int *busy)
{
	size_t n = strlen(file) + 8;
	char *lock = xmalloc(n);
	struct timespec t0, now;
	int fd;

	*busy = 0;
	snprintf(lock, n, "%s.lock", file);
	if (make_parents(lock) < 0) {
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

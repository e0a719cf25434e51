/*
 * syncpeer.c - one side of a sync pass: listing, hashing and renaming
 * beneath its root, and the server's loop over the sync session's frames
 * (doc/sync.md "The sync session on the wire").
 */
#include "config.h"

#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "durable.h"
#include "exclude.h"
#include "exitcode.h"
#include "hash.h"
#include "log.h"
#include "opts.h"
#include "path.h"
#include "plan.h"
#include "role.h"
#include "scan.h"
#include "syncpeer.h"

#define WHYLEN 512

void key_from_stat(struct skey *k, const struct stat *st)
{
	k->ino = (uint64_t)st->st_ino;
	k->ctime_sec = st->st_ctim.tv_sec;
	k->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
	k->mtime_sec = st->st_mtim.tv_sec;
	k->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	k->size = (uint64_t)st->st_size;
}

void listing_add(struct listing *l, const struct entry *e, const struct skey *k)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	entry_copy(&l->v[l->n].e, e);
	l->v[l->n].key = *k;
	l->n++;
}

void listing_release(struct listing *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		entry_release(&l->v[i].e);
	free(l->v);
	memset(l, 0, sizeof(*l));
}


unsigned listing_scan(int root_fd, const struct exclude *ex, int dry, struct listing *l)
{
	struct scan *sc = scan_open(root_fd, ex, 0);
	struct entry e;
	struct stat st;
	unsigned errors;

	while (scan_next(sc, &e, &st)) {
		struct skey k;

		if (e.type != 'd' && is_tmp_name(path_base(e.path))) {
			/* A leftover of an interrupted pass: never user data. */
			if (!dry && unlinkat(scan_dirfd(sc), path_base(e.path), 0) < 0 &&
			    errno != ENOENT)
				warning("cannot remove leftover %s: %s", e.path, strerror(errno));
			continue;
		}
		key_from_stat(&k, &st);
		listing_add(l, &e, &k);
	}
	errors = scan_errors(sc);
	scan_close(sc);
	return errors;
}

void side_hash(struct beneath *b, const char *path, int stat_only, struct hashed *out)
{
	const char *base;
	struct stat st;
	int dirfd, fd;
	uint64_t size;

	memset(out, 0, sizeof(*out));
	dirfd = beneath_parent(b, path, &base);
	if (dirfd < 0 || fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		out->status = errno == ENOENT || errno == ENOTDIR ? HASH_STATUS_MISSING
								  : HASH_STATUS_UNREADABLE;
		if (out->status == HASH_STATUS_UNREADABLE) {
			warning("%s: %s", path, strerror(errno));
			out->type = 's';
		}
		return;
	}
	out->type = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd'
					       : S_ISLNK(st.st_mode) ? 'l' : 's';
	out->mode = st.st_mode & 07777;
	key_from_stat(&out->key, &st);
	if (stat_only || out->type != 'f')
		return;
	fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || hash_fd(fd, out->hash, &size)) {
		warning("cannot read %s: %s", path, strerror(errno));
		out->status = HASH_STATUS_UNREADABLE;
	} else if (fstat(fd, &st) == 0) {
		/* The key of what was hashed: a change while reading shows next time. */
		key_from_stat(&out->key, &st);
		out->key.size = size == (uint64_t)st.st_size ? size : UINT64_MAX;
	}
	if (fd >= 0)
		close(fd);
}

int side_rename(struct beneath *b, const char *from, const char *to, char *why, size_t whylen)
{
	const char *fbase, *tbase;
	int fdir, tdir, r;

	fdir = beneath_parent(b, from, &fbase);
	if (fdir < 0)
		return snprintf(why, whylen, "%s: %s", from, strerror(errno)), -1;
	fdir = dup(fdir);	/* the cache may move on */
	tdir = beneath_parent(b, to, &tbase);
	if (tdir < 0) {
		snprintf(why, whylen, "%s: %s", to, strerror(errno));
		close(fdir);
		return -1;
	}
	r = renameat2(fdir, fbase, tdir, tbase, RENAME_NOREPLACE);
	if (r < 0) {
		int e = errno;

		snprintf(why, whylen, "cannot rename %s to %s: %s", from, to, strerror(e));
		close(fdir);
		errno = e;
		return -1;
	}
	close(fdir);
	return 0;
}

/* ---- the server's loop --------------------------------------------------- */

struct peer {
	struct chan *c;
	int root_fd;
	const char *root_name;
	uint32_t flags;
	const struct exclude *ex;
	int whole;		/* receive whole files (a local pair) */
	struct beneath bn;
	int code;
};

static int peer_fail(struct peer *p, const char *what)
{
	p->code = EXIT_PROTOCOL;
	return error("protocol error from the client: %s", what);
}

static void send_listing(struct peer *p)
{
	struct scan *sc = scan_open(p->root_fd, p->ex, 0);
	struct buf b = BUF_INIT;
	struct entry e;
	struct stat st, root;
	struct entry_ctx x = ENTRY_CTX_INIT;
	uint64_t count = 0;

	while (scan_next(sc, &e, &st)) {
		struct skey k;

		if (e.type != 'd' && is_tmp_name(path_base(e.path))) {
			if (!(p->flags & OPT_DRY_RUN) &&
			    unlinkat(scan_dirfd(sc), path_base(e.path), 0) < 0 && errno != ENOENT)
				warning("cannot remove leftover %s: %s", e.path, strerror(errno));
			continue;
		}
		key_from_stat(&k, &st);
		buf_reset(&b);
		sentry_encode(&b, &e, &k, &x);
		chan_send(p->c, F_SENTRY, b.data, b.len);
		count++;
		/* Stream it: the client merges it with its own scan as it arrives. */
		if (chan_pending(p->c) > (1u << 20))
			chan_flush(p->c, 1);
		else if (chan_pending(p->c) > (64u << 10))
			chan_flush(p->c, 0);
	}
	if (scan_errors(sc))
		p->code = exit_worse(p->code, EXIT_PARTIAL);
	scan_close(sc);
	if (fstat(p->root_fd, &root) < 0)
		memset(&root, 0, sizeof(root));
	buf_reset(&b);
	buf_put_u64(&b, count);
	buf_put_u32(&b, root.st_mode & 07777);
	buf_put_u32(&b, root.st_uid);
	buf_put_u32(&b, root.st_gid);
	buf_put_i64(&b, root.st_mtim.tv_sec);
	buf_put_u32(&b, (uint32_t)root.st_mtim.tv_nsec);
	chan_send(p->c, F_END_LIST, b.data, b.len);
	buf_release(&b);
}

/*
 * A path from the client: valid, never below the top-level .shelter, and
 * not excluded (what the listing can never hold is never hashed, renamed
 * or listed either).
 */
static int wire_path(const struct peer *p, struct rd *r, int is_dir, char **out, char *why,
		     size_t whylen)
{
	const unsigned char *s;
	size_t n;

	if (rd_str(r, &s, &n, 1, MAX_PATH_LEN))
		return snprintf(why, whylen, "malformed path"), -1;
	if (path_valid((const char *)s, n, why, whylen))
		return -1;
	if (n >= 8 && !memcmp(s, ".shelter", 8) && (n == 8 || s[8] == '/'))
		return snprintf(why, whylen, "path %.*s is below .shelter", (int)n, s), -1;
	*out = xstrndup((const char *)s, n);
	if (exclude_hides(p->ex, *out, is_dir)) {
		snprintf(why, whylen, "path %s is excluded", *out);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static int on_hashreq(struct peer *p, const unsigned char *d, size_t n, uint32_t *next)
{
	char why[WHYLEN];
	struct hashed h;
	struct buf b = BUF_INIT;
	struct rd r;
	uint32_t id;
	uint8_t what;
	char *path;

	rd_init(&r, d, n);
	if (rd_u32(&r, &id) || rd_u8(&r, &what) || what > 1)
		return peer_fail(p, "malformed HASHREQ");
	if (wire_path(p, &r, 0, &path, why, sizeof(why)))
		return peer_fail(p, why);
	if (rd_end(&r) || id != *next) {
		free(path);
		return peer_fail(p, "malformed or out-of-order HASHREQ");
	}
	(*next)++;
	side_hash(&p->bn, path, what == 1, &h);
	free(path);
	hashed_encode(&b, id, &h);
	chan_send(p->c, F_HASH, b.data, b.len);
	buf_release(&b);
	if (chan_pending(p->c) > (256u << 10))
		chan_flush(p->c, 1);
	return 0;
}

static int on_renames(struct peer *p)
{
	char why[WHYLEN];
	uint32_t next = 1;

	for (;;) {
		const unsigned char *d;
		size_t n;
		uint8_t t;
		struct rd r;
		uint32_t id;
		char *from = NULL, *to = NULL;
		struct buf b = BUF_INIT;
		int k, rc;

		if (chan_recv(p->c, &t, &d, &n, 1) < 0)
			return p->code = p->c->eof ? EXIT_CONNECTION : EXIT_PROTOCOL, -1;
		if (t == F_RENAME_END) {
			if (n)
				return peer_fail(p, "RENAME_END with a payload");
			chan_send(p->c, F_RENAME_END, NULL, 0);
			return 0;
		}
		if (t != F_RENAME) {
			rc = role_common_frame(t, d, n, &k);
			if (rc < 0)
				return p->code = peer_code(k), -1;
			if (rc == 0)
				return peer_fail(p, "unexpected frame among RENAMEs");
			continue;
		}
		rd_init(&r, d, n);
		if (rd_u32(&r, &id) || id != next++)
			return peer_fail(p, "malformed or out-of-order RENAME");
		if (wire_path(p, &r, 0, &from, why, sizeof(why)) || wire_path(p, &r, 0, &to, why, sizeof(why)) ||
		    rd_end(&r)) {
			free(from);
			free(to);
			return peer_fail(p, why[0] ? why : "malformed RENAME");
		}
		rc = (p->flags & OPT_DRY_RUN) ? 0 : side_rename(&p->bn, from, to, why, sizeof(why));
		if (rc)
			rc = errno == EEXIST ? 2 : 1;	/* 2: the name is taken, try another */
		beneath_forget(&p->bn);
		buf_put_u32(&b, id);
		buf_put_u8(&b, (uint8_t)rc);
		buf_put_str(&b, rc ? why : "", rc ? strlen(why) : 0);
		chan_send(p->c, F_RENAMED, b.data, b.len);
		buf_release(&b);
		free(from);
		free(to);
	}
}

/* PLANENT... PLAN_END into PL. */
static int read_plan(struct peer *p, struct plan *pl)
{
	char why[WHYLEN];

	for (;;) {
		const unsigned char *d;
		size_t n;
		uint8_t t, op, type;
		struct rd r;
		char *path;
		int k, rc;

		if (chan_recv(p->c, &t, &d, &n, 1) < 0)
			return p->code = p->c->eof ? EXIT_CONNECTION : EXIT_PROTOCOL, -1;
		rd_init(&r, d, n);
		if (t == F_PLAN_END) {
			uint64_t count;

			if (rd_u64(&r, &count) || rd_end(&r) || count != pl->n)
				return peer_fail(p, "PLAN_END does not count the PLANENTs");
			return 0;
		}
		if (t != F_PLANENT) {
			rc = role_common_frame(t, d, n, &k);
			if (rc < 0)
				return p->code = peer_code(k), -1;
			if (rc == 0)
				return peer_fail(p, "unexpected frame in the plan");
			continue;
		}
		if (rd_u8(&r, &op) || rd_u8(&r, &type) || op < PLAN_CONTENT || op > PLAN_DELETE ||
		    !type || !strchr("fdl", type))
			return peer_fail(p, "malformed PLANENT");
		if (wire_path(p, &r, type == 'd', &path, why, sizeof(why)))
			return peer_fail(p, why);
		if (rd_end(&r) || (pl->n && path_cmp(pl->v[pl->n - 1].path, path) >= 0) ||
		    pl->n >= MAX_PLAN_ITEMS) {
			free(path);
			return peer_fail(p, "PLANENT out of order, malformed or too many");
		}
		plan_add(pl, path, op, (char)type);
		free(path);
	}
}

static int run_phase(struct peer *p, uint8_t what)
{
	struct role_args ra;
	struct stats stats;
	struct plan pl = { 0 };
	int code;

	memset(&ra, 0, sizeof(ra));
	ra.c = p->c;
	ra.root_fd = p->root_fd;
	ra.root_name = p->root_name;
	ra.flags = p->flags & ~(uint32_t)OPT_CHECKSUM;
	ra.ex = p->ex;
	if (what == 1)
		return on_renames(p);
	if (what == 2) {
		ra.sync = 1;
		ra.whole = p->whole;
		code = receiver_run(&ra, &stats);
	} else {
		if (read_plan(p, &pl)) {
			plan_release(&pl);
			return -1;
		}
		ra.plan = &pl;
		code = sender_run(&ra, &stats);
		plan_release(&pl);
	}
	p->code = exit_worse(p->code, code);
	return code == EXIT_CONNECTION || code == EXIT_PROTOCOL || code == EXIT_TIMEOUT ||
	       code == EXIT_SIGNAL ? -1 : 0;
}

int syncpeer_serve(struct chan *c, int root_fd, const char *root_name, uint32_t flags,
		   const struct exclude *ex, int whole)
{
	struct peer p;
	uint32_t next = 1;

	memset(&p, 0, sizeof(p));
	p.c = c;
	p.root_fd = root_fd;
	p.root_name = root_name;
	p.flags = flags;
	p.ex = ex;
	p.whole = whole;
	beneath_init(&p.bn, root_fd);
	send_listing(&p);
	for (;;) {
		const unsigned char *d;
		size_t n;
		uint8_t t;
		int k, rc;

		chan_flush(c, 0);
		if (chan_recv(c, &t, &d, &n, 1) < 0) {
			p.code = exit_worse(p.code, c->eof ? EXIT_CONNECTION : EXIT_PROTOCOL);
			break;
		}
		if (t == F_HASHREQ) {
			if (on_hashreq(&p, d, n, &next))
				break;
		} else if (t == F_HASH_END) {
			chan_send(c, F_HASH_END, NULL, 0);
		} else if (t == F_PHASE) {
			struct buf b = BUF_INIT;

			if (n != 1 || d[0] > 3) {
				peer_fail(&p, "malformed PHASE");
				break;
			}
			if (d[0] == 0) {
				done_encode(&b, (uint8_t)p.code, &(struct stats){ 0 });
				chan_send(c, F_DONE, b.data, b.len);
				buf_release(&b);
				break;
			}
			beneath_forget(&p.bn);
			if (run_phase(&p, d[0]))
				break;
			beneath_forget(&p.bn);
		} else {
			rc = role_common_frame(t, d, n, &k);
			if (rc < 0) {
				p.code = exit_worse(p.code, peer_code(k));
				break;
			}
			if (rc == 0) {
				peer_fail(&p, "unexpected frame in a sync session");
				break;
			}
		}
	}
	chan_flush(c, 1);
	beneath_release(&p.bn);
	return p.code;
}

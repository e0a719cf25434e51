/*
 * restore.c - `shelter restore [--at TIME] [--in-place] [-n] [-v] DEST[/PATH]
 * TARGET`: write the files, directories and symlinks at or below PATH as
 * they were at TIME into TARGET (doc/history.md, "shelter restore").
 *
 * The plan is made first (histindex.c: which version of each path was live
 * at TIME), then carried out in listing order, parents before children;
 * directories get their mode and mtime last, deepest first. Everything in
 * DEST and TARGET is opened beneath its root without following symlinks.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <popt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "bounds.h"
#include "buf.h"
#include "durable.h"
#include "escape.h"
#include "exclude.h"
#include "exitcode.h"
#include "hash.h"
#include "histindex.h"
#include "history.h"
#include "log.h"
#include "opts.h"
#include "path.h"
#include "proto.h"
#include "remote.h"
#include "report.h"
#include "restore.h"
#include "runlog.h"
#include "session.h"

#define WHYLEN 1024

/* ---- the plan ---------------------------------------------------------------- */

struct item {
	const char *path;		/* v->path, or owned (made-up directories) */
	const struct hversion *v;	/* NULL: a directory made up for what it holds */
	char type;
	int above;			/* above PATH: made only when missing */
	int has_meta;			/* mode, mtime (and owner) known */
	unsigned mode;
	struct timespec mtime;
	int has_owner;
	uid_t uid;
	gid_t gid;
};

struct plan {
	struct item *it;
	size_t n, cap;
};

static struct item *plan_add(struct plan *p)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->it = xrealloc(p->it, p->cap * sizeof(*p->it));
	}
	memset(&p->it[p->n], 0, sizeof(p->it[0]));
	return &p->it[p->n++];
}

static int cmp_items(const void *a, const void *b)
{
	return path_cmp(((const struct item *)a)->path, ((const struct item *)b)->path);
}

static void item_from(struct item *it, const struct hversion *v)
{
	it->v = v;
	it->path = v->path;
	it->type = v->type;
	it->has_meta = 1;
	it->mode = v->mode;
	it->mtime = v->mtime;
	it->has_owner = v->has_inode;
	it->uid = v->uid;
	it->gid = v->gid;
}

/* The versions of PATH in L: *FIRST and the count. */
static size_t versions_of(const struct hlist *l, const char *path, size_t *first)
{
	size_t lo = 0, hi = l->n, n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (path_cmp(l->v[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo + n < l->n && !strcmp(l->v[lo + n].path, path))
		n++;
	return n;
}

/*
 * Which version of each path at or below PATH to write (T NULL: the
 * current ones, else those live at T), plus the directories above them
 * that no version covers (made up, with the metadata the history has).
 */
static void make_plan(struct plan *p, const struct hlist *l, const char *path,
		      const struct timespec *t)
{
	size_t i, j, n;

	for (i = 0; i < l->n; i = j) {
		const struct hversion *v;

		for (j = i; j < l->n && !strcmp(l->v[j].path, l->v[i].path); j++)
			;
		if (*path && strcmp(path, l->v[i].path) && !path_is_within(path, l->v[i].path))
			continue;	/* a directory above PATH: only its metadata is wanted */
		if (!t)
			v = l->v[j - 1].event == HV_CURRENT ? &l->v[j - 1] : NULL;
		else
			v = hist_at(&l->v[i], j - i, t);
		if (v)
			item_from(plan_add(p), v);
	}
	/* Every parent directory, up to the top of TARGET, must be there. */
	n = p->n;
	for (i = 0; i < n; i++) {
		char *dir = xstrdup(p->it[i].path);
		size_t k;

		while ((k = path_parent_len(dir, strlen(dir))) > 0) {
			struct item key, *it;

			dir[k] = '\0';
			key.path = dir;
			if (bsearch(&key, p->it, n, sizeof(*p->it), cmp_items))
				continue;
			it = plan_add(p);
			it->path = xstrdup(dir);
			it->type = 'd';
		}
		free(dir);
	}
	if (p->n)
		qsort(p->it, p->n, sizeof(*p->it), cmp_items);
	/* The made-up ones twice over (two files in one new directory): once. */
	for (i = j = 0; i < p->n; i++) {
		if (j && !strcmp(p->it[i].path, p->it[j - 1].path)) {
			struct item *keep = &p->it[j - 1], *dup = &p->it[i];

			if (!keep->v && dup->v) {
				free((char *)keep->path);
				*keep = *dup;
			} else if (!dup->v) {
				free((char *)dup->path);
			}
			continue;
		}
		p->it[j++] = p->it[i];
	}
	p->n = j;
	for (i = 0; i < p->n; i++) {
		struct item *it = &p->it[i];
		size_t first, m;

		if (it->v)
			continue;
		it->above = strlen(it->path) < strlen(path);
		/* Its metadata: the version live at T, else the latest there is. */
		m = versions_of(l, it->path, &first);
		if (m) {
			const struct hversion *v = t ? hist_candidate(&l->v[first], m, t) : NULL;

			if (!v || v->type != 'd')
				v = &l->v[first + m - 1];
			if (v->type == 'd') {
				it->has_meta = 1;
				it->mode = v->mode;
				it->mtime = v->mtime;
				it->has_owner = v->has_inode;
				it->uid = v->uid;
				it->gid = v->gid;
			}
		}
	}
}

static void plan_release(struct plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!p->it[i].v)
			free((char *)p->it[i].path);
	free(p->it);
}

/* "Nothing to restore" into WHY: ARG as the user gave it, PATH within DEST, T or NULL. */
static void nothing_to_restore(char *why, size_t len, const char *arg, const char *path,
			       const struct timespec *t)
{
	char tt[40];

	if (t) {
		iso_time(tt, sizeof(tt), t, 0);
		snprintf(why, len, "%s: nothing to restore: %s did not exist at %s (see shelter "
			 "versions %s)", arg, *path ? path : "DEST", tt, arg);
	} else {
		snprintf(why, len, "%s: nothing to restore: %s is not in DEST's mirror (see shelter "
			 "versions %s, and use --at)", arg, *path ? path : "DEST", arg);
	}
}

/* ---- a restore source: the plan, read by a sender --------------------------------- */

struct restore_src {
	struct beneath db;
	struct hlist l;
	struct plan p;
};

struct restore_src *restore_src_new(int dest_fd, const char *arg, const char *path,
				    const struct timespec *t, unsigned *problems, char *why,
				    size_t whylen)
{
	struct restore_src *s = xmalloc(sizeof(*s));

	memset(s, 0, sizeof(*s));
	hist_load(&s->l, dest_fd, path, HIST_ANCESTORS);
	*problems = s->l.problems;
	make_plan(&s->p, &s->l, path, t);
	if (!s->p.n) {
		nothing_to_restore(why, whylen, arg, path, t);
		restore_src_free(s);
		return NULL;
	}
	beneath_init(&s->db, dest_fd);
	return s;
}

size_t restore_src_count(const struct restore_src *s)
{
	return s->p.n;
}

void restore_src_entry(const struct restore_src *s, size_t i, struct entry *e)
{
	const struct item *it = &s->p.it[i];

	memset(e, 0, sizeof(*e));
	e->path = (char *)it->path;
	e->path_len = strlen(it->path);
	e->type = it->type;
	e->mode = it->has_meta ? it->mode : 0755;
	e->uid = it->has_owner ? it->uid : getuid();
	e->gid = it->has_owner ? it->gid : getgid();
	e->mtime_sec = it->mtime.tv_sec;
	e->mtime_nsec = (uint32_t)it->mtime.tv_nsec;
	if (!it->has_meta) {
		/* A directory nothing is known of: made now, as a local restore makes it. */
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		e->mtime_sec = now.tv_sec;
		e->mtime_nsec = (uint32_t)now.tv_nsec;
	}
	if (it->v) {
		e->size = it->type == 'f' ? it->v->size : 0;
		e->target = it->v->target;
	} else if (it->above || !it->has_meta) {
		/* Above PATH, or nothing known of it: made when missing, else left alone. */
		e->flags = ENTRY_CONTEXT;
	}
}

int restore_src_open(struct restore_src *s, const char *path, struct restore_file *f)
{
	struct item key = { .path = path }, *it;
	const struct hversion *v;
	const char *base;
	int dfd;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	it = bsearch(&key, s->p.it, s->p.n, sizeof(*s->p.it), cmp_items);
	if (!it || !it->v || it->type != 'f') {
		errno = ENOENT;
		return -1;
	}
	v = it->v;
	if (v->pass) {
		f->where = xmalloc(strlen(v->pass) + strlen(v->path) + 32);
		sprintf(f->where, ".shelter/history/%s/tree/%s", v->pass, v->path);
	} else {
		f->where = xstrdup(v->path);
	}
	f->has_hash = v->has_hash;
	memcpy(f->hash, v->hash, HASH_LEN);
	f->size = v->size;
	f->mode = it->mode;
	f->mtime = it->mtime;
	dfd = beneath_parent(&s->db, f->where, &base);
	if (dfd >= 0)
		f->fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (f->fd < 0) {
		int e = errno;

		error("%s: cannot read DEST/%s: %s", path, f->where, strerror(e));
		free(f->where);
		f->where = NULL;
		errno = e == ENOENT ? EIO : e;	/* listed, but its copy is gone */
		return -1;
	}
	return 0;
}

void restore_src_free(struct restore_src *s)
{
	if (!s)
		return;
	if (s->p.n)
		beneath_release(&s->db);
	plan_release(&s->p);
	hist_release(&s->l);
	free(s);
}

/* ---- carrying it out ----------------------------------------------------------- */

struct restore {
	int dest_fd;
	int target_fd;			/* -1 in a dry run without TARGET */
	struct beneath db, tb;
	struct history h;
	struct durable dur;
	int dry, verbose, is_root;
	int code;			/* exit code so far */
	int stop;			/* TARGET cannot be written safely: stop */
	struct plan fix;		/* directories to finish, in listing order */
};

static void partial(struct restore *r)
{
	r->code = exit_worse(r->code, EXIT_PARTIAL);
}

static void say(struct restore *r, const char *path, char type, const char *target)
{
	char *e, *t;

	if (!r->verbose && !r->dry)
		return;
	e = escape_bytes(path, strlen(path));
	t = target ? escape_bytes(target, strlen(target)) : NULL;
	output("%s%s%s%s", e, type == 'd' ? "/" : "", t ? " -> " : "", t ? t : "");
	free(e);
	free(t);
}

/*
 * Move the entry NAME in DIRFD (lstat data ST) aside into
 * TARGET/.shelter/history/<PASS>/, as a backup pass would. 0, or -1 and
 * the restore stops: overwriting without keeping could lose data.
 */
static int keep_aside(struct restore *r, int dirfd, const char *name, const char *path,
		      const struct stat *st, int event)
{
	unsigned char hash[HASH_LEN];
	char target[MAX_TARGET_LEN + 1];
	const unsigned char *h = NULL;
	const char *tg = NULL;
	int ret;

	if (S_ISREG(st->st_mode)) {
		int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		uint64_t size;

		if (fd >= 0 && hash_fd(fd, hash, &size) == 0)
			h = hash;
		if (fd >= 0)
			close(fd);
	} else if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

		if (n > 0) {
			target[n] = '\0';
			tg = target;
		}
	}
	if (S_ISDIR(st->st_mode))
		event = HIST_DELETED;	/* a directory moves whole */
	ret = history_keep(&r->h, dirfd, name, path, st, h, tg, event);
	if (S_ISDIR(st->st_mode))
		beneath_forget(&r->tb);
	if (ret) {
		error("%s: not replaced in TARGET: what is there could not be kept first; "
		      "stopping (make TARGET/.shelter writable)", path);
		r->code = exit_worse(r->code, EXIT_DEST_IO);
		r->stop = 1;
	}
	return ret;
}

/* TARGET/PATH's directory again (the cache may have been dropped). */
static int target_parent(struct restore *r, const char *path, const char **base)
{
	int fd = beneath_parent(&r->tb, path, base);

	if (fd < 0) {
		error("%s: cannot open its directory in TARGET: %s (a symlink or a file is in the "
		      "way; restore with --in-place keeps it aside)", path, strerror(errno));
		partial(r);
	}
	return fd;
}

/* Put the finished temporary TMP in place of PATH; EXISTS: what is there now. */
static int install(struct restore *r, int dirfd, const char *tmp, const char *path,
		   const char *base, const struct stat *exists)
{
	if (exists) {
		int kept = keep_aside(r, dirfd, base, path, exists, HIST_CHANGED);

		/* Moving a directory dropped the cached fd: resolve DIRFD again. */
		if (S_ISDIR(exists->st_mode)) {
			dirfd = target_parent(r, path, &base);
			if (dirfd < 0) {
				session_set_tmp(-1, NULL);
				return -1;
			}
			session_set_tmp(dirfd, tmp);
		}
		if (kept)
			goto fail;
	}
	if (renameat(dirfd, tmp, dirfd, base) < 0) {
		error("%s: cannot rename into place in TARGET: %s", path, strerror(errno));
		partial(r);
		goto fail;
	}
	session_set_tmp(-1, NULL);
	durable_note(&r->dur, dirfd);
	return 0;
fail:
	unlinkat(dirfd, tmp, 0);
	session_set_tmp(-1, NULL);
	return -1;
}

/* The version's content, opened from DEST (its kept copy, or the mirror). */
static int open_source(struct restore *r, const struct hversion *v, char **where)
{
	const char *base;
	char *full;
	int dfd, fd;

	if (v->pass) {
		full = xmalloc(strlen(v->pass) + strlen(v->path) + 32);
		sprintf(full, ".shelter/history/%s/tree/%s", v->pass, v->path);
	} else {
		full = xstrdup(v->path);
	}
	*where = full;
	dfd = beneath_parent(&r->db, full, &base);
	if (dfd < 0)
		return -1;
	fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	return fd;
}

static int same_file(const struct item *it, int dirfd, const char *base, const struct stat *st)
{
	unsigned char h[HASH_LEN];
	uint64_t size;
	int fd, ok;

	if (!S_ISREG(st->st_mode) || (uint64_t)st->st_size != it->v->size ||
	    (st->st_mode & 07777) != it->mode || st->st_mtim.tv_sec != it->mtime.tv_sec ||
	    st->st_mtim.tv_nsec != it->mtime.tv_nsec)
		return 0;
	if (!it->v->has_hash)
		return 1;
	fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	ok = fd >= 0 && hash_fd(fd, h, &size) == 0 && !memcmp(h, it->v->hash, HASH_LEN);
	if (fd >= 0)
		close(fd);
	return ok;
}

static void restore_file(struct restore *r, const struct item *it, int dirfd, const char *base,
			 const struct stat *exists)
{
	const struct hversion *v = it->v;
	unsigned char *data = NULL, got[HASH_LEN];
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, it->mtime };
	struct hasher *hs = NULL;
	char tmp[64], *where = NULL;
	uint64_t total = 0;
	struct stat sst;
	int in = -1, out = -1;

	if (exists && same_file(it, dirfd, base, exists))
		return;
	say(r, it->path, 'f', NULL);
	if (r->dry)
		return;
	in = open_source(r, v, &where);
	if (in < 0 || fstat(in, &sst) < 0 || !S_ISREG(sst.st_mode)) {
		error("%s: cannot read DEST/%s: %s", it->path, where,
		      in < 0 ? strerror(errno) : "not a regular file");
		partial(r);
		goto out;
	}
	tmp_name(tmp, sizeof(tmp));
	out = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		error("%s: cannot create a temporary file in TARGET: %s", it->path, strerror(errno));
		partial(r);
		goto out;
	}
	session_set_tmp(dirfd, tmp);
	hs = hasher_new();
	data = xmalloc(IO_CHUNK);
	for (;;) {
		ssize_t n = read(in, data, IO_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error("%s: cannot read DEST/%s: %s", it->path, where, strerror(errno));
			goto bad;
		}
		if (n == 0)
			break;
		hasher_update(hs, data, (size_t)n);
		if (write_all(out, data, (size_t)n)) {
			error("%s: cannot write in TARGET: %s", it->path, strerror(errno));
			goto bad;
		}
		total += (uint64_t)n;
	}
	hasher_final(hs, got);
	if (v->has_hash && (total != v->size || memcmp(got, v->hash, HASH_LEN))) {
		error("%s: DEST/%s does not match the XXH3-128 its history index records (the "
		      "kept copy is damaged); not restored", it->path, where);
		goto bad;
	}
	if (!v->has_hash && total != v->size) {
		error("%s: DEST/%s changed while it was read; not restored", it->path, where);
		goto bad;
	}
	if (r->is_root && it->has_owner && fchown(out, it->uid, it->gid) < 0) {
		warning("chown %s: %s", it->path, strerror(errno));
		partial(r);
	}
	if (fchmod(out, it->mode) < 0 || futimens(out, ts) < 0 || fsync(out) < 0) {
		error("%s: cannot finish the temporary file in TARGET: %s", it->path,
		      strerror(errno));
		goto bad;
	}
	if (close(out) < 0) {
		out = -1;
		error("%s: cannot write in TARGET: %s", it->path, strerror(errno));
		goto bad;
	}
	out = -1;
	install(r, dirfd, tmp, it->path, base, exists);
	goto out;
bad:
	partial(r);
	unlinkat(dirfd, tmp, 0);
	session_set_tmp(-1, NULL);
out:
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	if (hs)
		hasher_free(hs);
	free(data);
	free(where);
}

static void restore_link(struct restore *r, const struct item *it, int dirfd, const char *base,
			 const struct stat *exists)
{
	const char *target = it->v->target;
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, it->mtime };
	char tmp[64];

	if (exists && S_ISLNK(exists->st_mode) && exists->st_mtim.tv_sec == it->mtime.tv_sec &&
	    exists->st_mtim.tv_nsec == it->mtime.tv_nsec) {
		char now[MAX_TARGET_LEN + 1];
		ssize_t n = readlinkat(dirfd, base, now, sizeof(now) - 1);

		if (n >= 0 && (size_t)n == strlen(target) && !memcmp(now, target, (size_t)n))
			return;
	}
	say(r, it->path, 'l', target);
	if (r->dry)
		return;
	tmp_name(tmp, sizeof(tmp));
	if (symlinkat(target, dirfd, tmp) < 0) {
		error("%s: cannot make the symlink in TARGET: %s", it->path, strerror(errno));
		partial(r);
		return;
	}
	session_set_tmp(dirfd, tmp);
	if (r->is_root && it->has_owner &&
	    fchownat(dirfd, tmp, it->uid, it->gid, AT_SYMLINK_NOFOLLOW) < 0) {
		warning("chown %s: %s", it->path, strerror(errno));
		partial(r);
	}
	if (utimensat(dirfd, tmp, ts, AT_SYMLINK_NOFOLLOW) < 0) {
		warning("set mtime of %s: %s", it->path, strerror(errno));
		partial(r);
	}
	install(r, dirfd, tmp, it->path, base, exists);
}

static void restore_dir(struct restore *r, const struct item *it, int dirfd, const char *base,
			const struct stat *exists)
{
	struct item *f;

	if (exists && S_ISDIR(exists->st_mode)) {
		if (it->above || !it->has_meta)
			return;
		if ((exists->st_mode & 07777) == it->mode &&
		    exists->st_mtim.tv_sec == it->mtime.tv_sec &&
		    exists->st_mtim.tv_nsec == it->mtime.tv_nsec &&
		    (!r->is_root || !it->has_owner ||
		     (exists->st_uid == it->uid && exists->st_gid == it->gid)))
			return;
	} else {
		say(r, it->path, 'd', NULL);
		if (r->dry)
			return;
		if (exists) {
			if (keep_aside(r, dirfd, base, it->path, exists, HIST_DELETED) ||
			    (dirfd = target_parent(r, it->path, &base)) < 0)
				return;
		}
		if (mkdirat(dirfd, base, 0700) < 0) {
			error("%s: cannot make the directory in TARGET: %s", it->path,
			      strerror(errno));
			partial(r);
			return;
		}
		durable_note(&r->dur, dirfd);
	}
	if (r->dry)
		return;
	f = plan_add(&r->fix);
	*f = *it;
	f->path = xstrdup(it->path);
	f->v = NULL;
}

static void restore_item(struct restore *r, const struct item *it)
{
	const char *base;
	struct stat st;
	int dirfd = -1, exists = 0;

	if (r->target_fd >= 0) {
		dirfd = beneath_parent(&r->tb, it->path, &base);
		if (dirfd < 0) {
			/* In a dry run, what is in the way would have been replaced. */
			if (!r->dry) {
				error("%s: cannot open its directory in TARGET: %s (a symlink or a file "
				      "is in the way; restore with --in-place keeps it aside)",
				      it->path, strerror(errno));
				partial(r);
				return;
			}
		} else if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			exists = 1;
		} else if (errno != ENOENT) {
			error("%s in TARGET: %s", it->path, strerror(errno));
			partial(r);
			return;
		}
	} else {
		base = path_base(it->path);
	}
	switch (it->type) {
	case 'd':
		restore_dir(r, it, dirfd, base, exists ? &st : NULL);
		break;
	case 'l':
		restore_link(r, it, dirfd, base, exists ? &st : NULL);
		break;
	default:
		restore_file(r, it, dirfd, base, exists ? &st : NULL);
		break;
	}
}

/* Directories get their owner, mode and mtime after everything in them. */
static void finish_dirs(struct restore *r)
{
	size_t i;

	for (i = r->fix.n; i-- > 0;) {
		const struct item *it = &r->fix.it[i];
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, it->mtime };
		const char *base;
		int dirfd = beneath_parent(&r->tb, it->path, &base);

		if (dirfd < 0) {
			warning("%s: cannot set its mode and mtime in TARGET: %s", it->path,
				strerror(errno));
			partial(r);
			continue;
		}
		if (r->is_root && it->has_owner && fchownat(dirfd, base, it->uid, it->gid, 0) < 0) {
			warning("chown %s: %s", it->path, strerror(errno));
			partial(r);
		}
		if (fchmodat(dirfd, base, it->has_meta ? it->mode : 0755, 0) < 0 ||
		    (it->has_meta && utimensat(dirfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)) {
			warning("%s: cannot set its mode and mtime in TARGET: %s", it->path,
				strerror(errno));
			partial(r);
		}
	}
}

/* ---- TARGET -------------------------------------------------------------------- */

/* 1 if directory A is B or holds it (both resolved). */
static int holds(const char *a, const char *b)
{
	size_t n = strlen(a);

	if (!strcmp(a, "/"))
		return 1;
	return !strncmp(a, b, n) && (b[n] == '\0' || b[n] == '/');
}

int restore_check_target(const char *target, const char *dest, int in_place, int *missing)
{
	char rdest[PATH_MAX], rtarget[PATH_MAX];
	struct stat st;

	*missing = 0;
	if (stat(target, &st) < 0) {
		char *copy, *slash;
		int ok;

		if (errno != ENOENT)
			return error("TARGET %s: %s", target, strerror(errno)), EXIT_ROOTS;
		*missing = 1;
		copy = xstrdup(target);
		while (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/')
			copy[strlen(copy) - 1] = '\0';
		slash = strrchr(copy, '/');
		if (slash)
			slash[slash == copy ? 1 : 0] = '\0';
		ok = realpath(slash ? copy : ".", rtarget) != NULL;
		free(copy);
		if (!ok)
			return error("TARGET %s: its parent directory: %s (restore creates TARGET, "
				     "not its parents)", target, strerror(errno)), EXIT_ROOTS;
	} else {
		DIR *d;
		struct dirent *de;
		int empty = 1;

		if (!S_ISDIR(st.st_mode))
			return error("TARGET %s: Not a directory (restore writes into a directory)",
				     target), EXIT_ROOTS;
		d = opendir(target);
		if (!d)
			return error("TARGET %s: %s", target, strerror(errno)), EXIT_ROOTS;
		while (empty && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				empty = 0;
		closedir(d);
		if (!empty && !in_place)
			return error("TARGET %s exists and is not empty: restore into a new or empty "
				     "directory, or add --in-place to restore over what is there (what "
				     "it replaces is kept under TARGET/.shelter/history/)", target),
			       EXIT_ROOTS;
		if (!realpath(target, rtarget))
			return error("TARGET %s: %s", target, strerror(errno)), EXIT_ROOTS;
	}
	if (!dest)
		return EXIT_OK;
	if (!realpath(dest, rdest))
		return error("DEST %s: %s", dest, strerror(errno)), EXIT_ROOTS;
	if (holds(rdest, rtarget) || (!*missing && holds(rtarget, rdest)))
		return error("TARGET %s and DEST %s: one is inside the other; restore into a "
			     "directory outside DEST", target, dest), EXIT_ROOTS;
	return EXIT_OK;
}

/* ---- the command ------------------------------------------------------------- */

int restore_main(int argc, const char **argv, const char *usage)
{
	const char *at = NULL, *arg = NULL, *run_log = NULL;
	char *run_log_arg = NULL;
	struct runlog *rl = NULL;
	struct runcounts counts;
	struct poptOption table[] = {
		{ "at", 0, POPT_ARG_STRING, &at, 'a', NULL, NULL },
		REMOTE_OPTIONS(&arg),
		{ "in-place", 0, POPT_ARG_NONE, NULL, 'p', NULL, NULL },
		{ "dry-run", 'n', POPT_ARG_NONE, NULL, 'n', NULL, NULL },
		{ "verbose", 'v', POPT_ARG_NONE, NULL, 'v', NULL, NULL },
		{ "run-log", 0, POPT_ARG_STRING, &run_log, 'l', NULL, NULL },
		{ "help", 'h', POPT_ARG_NONE, NULL, 'h', NULL, NULL },
		POPT_TABLEEND
	};
	poptContext pc = poptGetContext("shelter restore", argc, argv, table, 0);
	struct timespec now, when, *t = NULL;
	struct restore r;
	struct hlist l;
	struct plan p;
	struct opts o;
	const char **rest;
	char *dest = NULL, *path = NULL, *at_arg = NULL, why[WHYLEN];
	int rc, in_place = 0, missing = 0;
	size_t i;

	memset(&r, 0, sizeof(r));
	memset(&l, 0, sizeof(l));
	memset(&p, 0, sizeof(p));
	memset(&o, 0, sizeof(o));
	o.timeout = DEFAULT_TIMEOUT;
	o.excludes = exclude_new();
	r.dest_fd = r.target_fd = -1;
	while ((rc = poptGetNextOpt(pc)) > 0) {
		switch (rc) {
		case 'a':
			free(at_arg);
			at_arg = (char *)at;
			at = NULL;
			break;
		case 'e':
		case 'r':
		case 't':
			if (remote_option(&o, rc, &arg)) {
				rc = EXIT_USAGE;
				goto out;
			}
			break;
		case 'l':
			free(run_log_arg);
			run_log_arg = (char *)run_log;
			run_log = NULL;
			break;
		case 'p': in_place = 1; break;
		case 'n': r.dry = 1; break;
		case 'v': r.verbose = 1; break;
		case 'h':
			fputs(usage, stdout);
			rc = EXIT_OK;
			goto out;
		}
	}
	if (rc < -1) {
		popt_error(pc, rc);
		rc = EXIT_USAGE;
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (at_arg) {
		if (parse_when(at_arg, &now, &when, why, sizeof(why))) {
			fprintf(stderr, "shelter: --at '%s': %s\nTry 'shelter --help' for more "
				"information.\n", at_arg, why);
			rc = EXIT_USAGE;
			goto out;
		}
		t = &when;
	}
	rest = poptGetArgs(pc);
	if (!rest || !rest[0] || !rest[1] || rest[2]) {
		fprintf(stderr, "shelter: restore needs two paths: DEST[/PATH] TARGET\n"
			"Try 'shelter --help' for more information.\n");
		rc = EXIT_USAGE;
		goto out;
	}
	if (is_remote_arg(rest[0]) && is_remote_arg(rest[1])) {
		fprintf(stderr, "shelter: restore %s %s: both DEST and TARGET are remote; one "
			"side must be local\nTry 'shelter --help' for more information.\n", rest[0],
			rest[1]);
		rc = EXIT_USAGE;
		goto out;
	}
	/* The run log has a line for every restore that got this far. */
	rl = runlog_begin("restore", rest, 2, run_log_arg);
	rl->dry_run = r.dry;
	runlog_arm(rl);
	if (is_remote_arg(rest[0]) || is_remote_arg(rest[1])) {
		o.verbosity = r.verbose || r.dry ? 2 : 1;
		o.flags = r.dry ? OPT_DRY_RUN : 0;
		log_verbosity = o.verbosity;
		report_setup(0, o.verbosity);
		rc = restore_remote(&o, rest[0], rest[1], t, in_place);
		goto out;
	}
	if (hist_split(rest[0], &dest, &path)) {
		rc = EXIT_USAGE;
		goto out;
	}
	r.dest_fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r.dest_fd < 0) {
		error("DEST %s: %s", dest, strerror(errno));
		rc = EXIT_ROOTS;
		goto out;
	}
	rc = restore_check_target(rest[1], dest, in_place, &missing);
	if (rc)
		goto out;
	hist_load(&l, r.dest_fd, path, HIST_ANCESTORS);
	if (l.problems)
		partial(&r);
	make_plan(&p, &l, path, t);
	if (!p.n) {
		nothing_to_restore(why, sizeof(why), rest[0], path, t);
		error("%s", why);
		rc = EXIT_ROOTS;
		goto out;
	}
	if (missing && !r.dry && mkdir(rest[1], 0777) < 0) {
		error("TARGET %s: cannot create it: %s", rest[1], strerror(errno));
		rc = EXIT_DEST_IO;
		goto out;
	}
	if (!missing || !r.dry) {
		r.target_fd = open(rest[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r.target_fd < 0) {
			error("TARGET %s: %s", rest[1], strerror(errno));
			rc = EXIT_DEST_IO;
			goto out;
		}
	}
	r.is_root = geteuid() == 0;
	beneath_init(&r.db, r.dest_fd);
	beneath_init(&r.tb, r.target_fd);
	history_init(&r.h, r.target_fd, 1, &now);
	durable_init(&r.dur);
	if (!r.dry)
		session_signals();
	for (i = 0; i < p.n && !r.stop; i++)
		restore_item(&r, &p.it[i]);
	if (!r.dry) {
		finish_dirs(&r);
		if (history_close(&r.h))
			r.code = exit_worse(r.code, EXIT_DEST_IO);
		for (i = 0; i < (size_t)r.dur.n; i++)
			if (syncfs(r.dur.fd[i]) < 0) {
				error("syncfs of TARGET: %s", strerror(errno));
				r.code = exit_worse(r.code, EXIT_DEST_IO);
			}
	}
	durable_release(&r.dur);
	beneath_release(&r.db);
	beneath_release(&r.tb);
	plan_release(&r.fix);
	rc = r.code;
out:
	if (rl) {
		memset(&counts, 0, sizeof(counts));
		counts.known = 1;
		counts.s.files = p.n;
		runlog_set_counts(rl, &counts);
		runlog_end(rl, rc);
		runlog_write(rl);
		runlog_free(rl);
	}
	free(run_log_arg);
	free((char *)run_log);
	plan_release(&p);
	hist_release(&l);
	if (r.dest_fd >= 0)
		close(r.dest_fd);
	if (r.target_fd >= 0)
		close(r.target_fd);
	free(dest);
	free(path);
	free(at_arg);
	free((char *)at);
	free((void *)arg);
	free((void *)o.rsh);
	free((void *)o.remote_cmd);
	exclude_free(o.excludes);
	poptFreeContext(pc);
	return rc;
}

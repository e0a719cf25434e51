/*
 * receiver.c - the receiver role: merge the sender's listing with a scan
 * of DEST, decide per path, request content, write it safely, keep what it
 * replaces or deletes as history, and end the pass.
 *
 * The receiver never blocks on a write (its peer, the sender, may be
 * blocked writing to it): it reads whatever arrives and sends requests as
 * the window allows. Decisions happen as listing entries arrive; replies
 * are applied in request order.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <time.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "bounds.h"
#include "durable.h"
#include "exclude.h"
#include "exitcode.h"
#include "hash.h"
#include "history.h"
#include "log.h"
#include "mirrorindex.h"
#include "opts.h"
#include "partial.h"
#include "path.h"
#include "plan.h"
#include "proto.h"
#include "prune.h"
#include "report.h"
#include "role.h"
#include "rsx.h"
#include "sigfile.h"
#include "scan.h"
#include "session.h"

#define WHYLEN 512

/* A file whose content is wanted: queued, then in flight. */
struct want {
	struct want *next;
	struct entry src;	/* the sender's listing entry */
	int has_basis;		/* DEST has a regular file to patch */
	int basis_fd;		/* open while in flight */
	struct stat basis_st;
	unsigned char basis_hash[HASH_LEN];
	int hashed;		/* basis_hash is known */
	uint64_t sig_size;	/* bytes of the basis the signature covers */
	int from_partial;	/* the basis is DEST/.shelter/partial's, not DEST's */
	int damaged;		/* DEST's copy does not match its mirror index record */
	uint32_t id;
	unsigned reads;		/* times the sender read it and saw it change */
	int redo_whole;		/* a delta failed the hash: ask for the whole file */
};

struct queue {
	struct want *head, *tail;
	unsigned count;
};

/* The file being received now. */
struct incoming {
	struct want *w;
	struct file_hdr fh;
	int dirfd;		/* dup of the parent directory */
	int fd;			/* the temporary file */
	char tmp[40];
	struct rsx *job;
	struct hasher *h;
	uint64_t written;
	int failed;		/* a local write error: discard, keep reading */
	int overflow;		/* more content than announced: reported */
};

/* A finished temporary file waiting for the batch's syncfs and its rename. */
struct ready {
	struct ready *next;
	char *path;
	char tmp[40];
	uint64_t size;
	int has_basis;
	struct stat basis_st;
	unsigned char basis_hash[HASH_LEN];
	int hashed;
	int damaged;		/* the copy replaced is damaged: no history version */
	unsigned char hash[HASH_LEN];	/* of the new content (FILE_END) */
};

#define READY_MAX_FILES 2048
#define READY_MAX_BYTES (256u << 20)
/* Mirror index streams stay in memory up to this, then go to a scratch
 * file: 1 MiB covers about 10,000 files, and keeps a big tree's peak RSS
 * flat (8 MiB here cost W5 3.5 -> 10.5 MiB). */
#define MI_SPILL (1u << 20)

/* A directory whose metadata is set at the end, or which is removed then. */
struct dirnote {
	char *path;
	struct entry src;	/* metadata wanted (fix list) */
};

struct dirlist {
	struct dirnote *v;
	size_t n, cap;
};

struct receiver {
	const struct role_args *a;
	struct chan *c;
	uint32_t flags;
	int dry, checksum, is_root;
	struct beneath bn;
	struct entry_ctx ectx;	/* the previous ENTRY received (version 2 encoding) */
	struct history hist;
	struct stats st;
	int code;

	/* DEST scan, one entry ahead */
	struct scan *scan;
	int have_d;
	struct entry d;
	struct stat dst;

	/* listing validation: the open directories of the sender's listing */
	struct order ord;
	int list_done;
	uint64_t listed, received;
	struct entry root;	/* SRC's own metadata, from END_LIST */

	struct queue todo, inflight;
	uint32_t next_id;
	struct incoming in;
	int have_in;

	struct dirlist fix, rm;
	struct durable dur;
	struct ready *ready, **ready_tail;	/* finished, not yet renamed */
	unsigned nready;
	struct ready *syncing;	/* a full batch whose syncfs runs in the background */
	uint64_t ready_bytes;
	uint64_t planned;	/* content bytes requested in this pass */
	size_t plan_at;		/* sync mode: the next item of the plan we asked for */
	int pdir;		/* DEST/.shelter/partial, or -1 when there is none */

	/* The mirror index (doc/history.md "Mirror index"); backup only. */
	int shelter_fd;		/* DEST/.shelter, -1: no index this pass */
	int old_bad;		/* the old index turned out damaged */
	struct mireader *old;	/* the old index, in step with the listing */
	struct mrec oldrec;
	int have_old;
	struct miwriter keep;	/* records of the files as they are before the pass */
	int keep_open;
	struct mrec krec;	/* the one for the file being decided */
	int have_krec;
	int krec_old;		/* krec is the old record, unchanged */
	uint64_t kept_old;	/* records of the keep stream that are old ones, unchanged */
	uint64_t old_count;	/* records in the old index (once read through) */
	struct miwriter recv;	/* the files this pass wrote, with their hashes */
	int recv_open;
};

static int fatal(struct receiver *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fatal(struct receiver *r, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERROR, fmt, ap);
	va_end(ap);
	r->code = exit_worse(r->code, code);
	return -1;
}

static void partial(struct receiver *r)
{
	r->code = exit_worse(r->code, EXIT_PARTIAL);
}

/* History could not be written: what it would keep stays in place. */
static void hist_failed(struct receiver *r)
{
	r->code = exit_worse(r->code, EXIT_DEST_IO);
}

/* ---- small helpers ------------------------------------------------------ */

static void q_push(struct queue *q, struct want *w)
{
	w->next = NULL;
	if (q->tail)
		q->tail->next = w;
	else
		q->head = w;
	q->tail = w;
	q->count++;
}

static struct want *q_pop(struct queue *q)
{
	struct want *w = q->head;

	if (w) {
		q->head = w->next;
		if (!q->head)
			q->tail = NULL;
		q->count--;
	}
	return w;
}

static void want_free(struct want *w)
{
	if (!w)
		return;
	if (w->basis_fd >= 0)
		close(w->basis_fd);
	entry_release(&w->src);
	free(w);
}

static void dl_add(struct dirlist *l, const char *path, const struct entry *src)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n].path = xstrdup(path);
	memset(&l->v[l->n].src, 0, sizeof(l->v[l->n].src));
	if (src) {
		l->v[l->n].src = *src;
		l->v[l->n].src.path = NULL;
		l->v[l->n].src.target = NULL;
	}
	l->n++;
}

static void dl_release(struct dirlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
}

/* The parent directory of PATH, or -1 with an error printed. */
static int parent_fd(struct receiver *r, const char *path, const char **base)
{
	int fd = beneath_parent(&r->bn, path, base);

	if (fd < 0) {
		error("%s: cannot open its directory in DEST: %s", path, strerror(errno));
		partial(r);
	}
	return fd;
}

/* Something is written in the directory DIRFD: its filesystem needs a syncfs. */
static void dirty(struct receiver *r, int dirfd)
{
	durable_note(&r->dur, dirfd);
}

static void set_owner(struct receiver *r, int dirfd, const char *name, const struct entry *e,
		      int is_link)
{
	if (r->is_root &&
	    fchownat(dirfd, name, e->uid, e->gid, is_link ? AT_SYMLINK_NOFOLLOW : 0) < 0) {
		warning("chown %s: %s", e->path, strerror(errno));
		partial(r);
	}
}

static void set_mtime(struct receiver *r, int dirfd, const char *name, const struct entry *e)
{
	struct timespec ts[2] = {
		{ .tv_nsec = UTIME_OMIT },
		{ .tv_sec = e->mtime_sec, .tv_nsec = e->mtime_nsec },
	};

	if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0) {
		warning("set mtime of %s: %s", e->path, strerror(errno));
		partial(r);
	}
}

static int same_mtime(const struct entry *a, const struct stat *st)
{
	return a->mtime_sec == st->st_mtim.tv_sec && a->mtime_nsec == (uint32_t)st->st_mtim.tv_nsec;
}

/* Itemize code for an existing entry whose metadata differs. */
static void meta_code(char *code, char type, const struct entry *s, const struct stat *st,
		      int is_root, int content)
{
	memcpy(code, ".?.........", 12);
	code[0] = content ? (type == 'l' ? 'c' : '>') : '.';
	code[1] = type == 'l' ? 'L' : type;
	if (type == 'f' && s->size != (uint64_t)st->st_size)
		code[3] = 's';
	if (!same_mtime(s, st))
		code[4] = 't';
	if (type != 'l' && s->mode != (st->st_mode & 07777))
		code[5] = 'p';
	if (is_root && s->uid != st->st_uid)
		code[6] = 'o';
	if (is_root && s->gid != st->st_gid)
		code[7] = 'g';
}

static int code_changed(const char *code)
{
	return strspn(code + 2, ".") != 9;
}

/* ---- deletions ---------------------------------------------------------- */

/* Hash a DEST file about to be kept, for its history record. */
static int hash_dest(int dirfd, const char *name, unsigned char out[HASH_LEN])
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	uint64_t size;
	int ret;

	if (fd < 0)
		return -1;
	ret = hash_fd(fd, out, &size);
	close(fd);
	return ret;
}

/* ---- the mirror index: self-heal (doc/history.md "Self-heal") ------------ */

/* The old index's record for PATH, or NULL; the old index moves in listing order. */
static const struct mrec *old_lookup(struct receiver *r, const char *path)
{
	while (r->old) {
		int c;

		if (!r->have_old) {
			int got = mireader_next(r->old, &r->oldrec);

			if (got <= 0) {
				if (got < 0) {
					warning("DEST/.shelter/%s: %s; the pass rewrites it, hashing "
						"every file", MI_FILE, mireader_why(r->old));
					r->old_bad = 1;
				} else {
					r->old_count = mireader_count(r->old);
				}
				mireader_close(r->old);
				r->old = NULL;
				return NULL;
			}
			r->have_old = 1;
		}
		c = path_cmp(r->oldrec.path, path);
		if (c > 0)
			return NULL;
		if (c == 0)
			return &r->oldrec;
		r->have_old = 0;
	}
	return NULL;
}

/* The record of DEST's file PATH (lstat ST) with hash H, for the new index. */
static void krec_set(struct receiver *r, const char *path, const struct stat *st,
		     const unsigned char *h, int damaged)
{
	memset(&r->krec, 0, sizeof(r->krec));
	r->krec.path = (char *)path;
	mrec_stat(&r->krec, st);
	memcpy(r->krec.hash, h, HASH_LEN);
	r->krec.damaged = damaged;
	r->have_krec = 1;
	r->krec_old = 0;
}

/*
 * DEST's regular file S (lstat ST), which the pass leaves alone when SAME
 * (SRC's size and mtime; with -c, H is its hash, else NULL). Returns 1 when
 * it must be sent again all the same: verify flagged it, or it was written
 * in place since (same inode, another ctime) and hashes differently. Sets
 * r->krec to its record as the file is now, when one is known (doc/history.md
 * "Writing it", "Self-heal").
 */
static int mirror_check(struct receiver *r, const struct entry *s, const struct stat *st,
			int same, const unsigned char *h)
{
	const struct mrec *m = old_lookup(r, s->path);
	unsigned char got[HASH_LEN];
	const char *base;
	int dirfd;

	r->have_krec = 0;
	if (h) {
		krec_set(r, s->path, st, h, 0);
		return 0;
	}
	if (!same) {
		/* Sent again; if that fails, the old record still describes the file. */
		if (m && mrec_matches(m, st)) {
			krec_set(r, s->path, st, m->hash, m->damaged);
			r->krec_old = 1;
		}
		return 0;
	}
	if (m && m->damaged) {
		warning("%s in DEST was found damaged by shelter verify; sending it again", s->path);
		return 1;
	}
	if (m && mrec_matches(m, st)) {
		krec_set(r, s->path, st, m->hash, 0);
		r->krec_old = 1;
		return 0;
	}
	/* Another inode: replaced by a pass that died (or by hand), not damaged in place. */
	if (!(m && m->ino == (uint64_t)st->st_ino) && !r->keep_open)
		return 0;
	dirfd = parent_fd(r, s->path, &base);
	if (dirfd < 0 || hash_dest(dirfd, base, got)) {
		warning("%s: cannot read it in DEST for the mirror index: %s; it has no record",
			s->path, strerror(errno));
		return 0;
	}
	if (m && m->ino == (uint64_t)st->st_ino && memcmp(got, m->hash, HASH_LEN)) {
		warning("%s in DEST does not match its mirror index record (damaged, or written "
			"by a pass that was interrupted); sending it again", s->path);
		return 1;
	}
	krec_set(r, s->path, st, got, 0);
	return 0;
}

/* Write r->krec to the keep stream, with the ctime of FILE now when the pass changed it. */
static void keep_put(struct receiver *r, int restat)
{
	struct stat st;
	const char *base;
	int dirfd;

	if (!r->have_krec || !r->keep_open)
		return;
	r->have_krec = 0;
	if (restat) {
		dirfd = parent_fd(r, r->krec.path, &base);
		if (dirfd < 0 || fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_ino != (ino_t)r->krec.ino)
			return;
		mrec_stat(&r->krec, &st);
		r->krec_old = 0;
	}
	if (!r->keep.last || path_cmp(r->keep.last, r->krec.path) < 0) {
		if (r->krec_old && r->old && r->have_old) {
			/* The old record as it was: its line as read. */
			size_t n;
			const char *raw = mireader_raw(r->old, &n);

			miwriter_put_raw(&r->keep, r->krec.path, raw, n);
		} else {
			miwriter_put(&r->keep, &r->krec);
		}
		r->kept_old += r->krec_old;
	}
}

/* Keep (or drop) the DEST entry D, which the pass removes from the mirror. */
static int remove_entry(struct receiver *r, const struct entry *d, const struct stat *st,
			int whole_dir)
{
	unsigned char h[HASH_LEN];
	const unsigned char *hp = NULL;
	const char *base;
	int dirfd;

	if (r->dry)
		return 0;
	dirfd = parent_fd(r, d->path, &base);
	if (dirfd < 0)
		return -1;
	if (d->type == 'f' && r->hist.enabled && hash_dest(dirfd, base, h) == 0)
		hp = h;
	if (history_keep(&r->hist, dirfd, base, d->path, st, hp, d->target, HIST_DELETED)) {
		hist_failed(r);
		return -1;
	}
	dirty(r, dirfd);
	if (whole_dir)
		beneath_forget(&r->bn);
	return 0;
}

/* The DEST entry D is not in SRC. */
static void dest_only(struct receiver *r)
{
	struct entry *d = &r->d;

	if (is_tmp_name(path_base(d->path))) {
		const char *base;
		int dirfd;

		/* A leftover of an interrupted pass: never user data, never history. */
		if (d->type == 'd' || r->dry)
			return;
		dirfd = parent_fd(r, d->path, &base);
		if (dirfd >= 0 && unlinkat(dirfd, base, 0) < 0 && errno != ENOENT)
			warning("cannot remove leftover %s: %s", d->path, strerror(errno));
		return;
	}
	report_item("*deleting", d->path, d->type == 'd', NULL);
	r->st.deleted++;
	if (d->type == 'd') {
		/* Its contents come next in the scan; the directory goes at the end. */
		dl_add(&r->rm, d->path, NULL);
		if (!r->dry && history_note_dir(&r->hist, d->path, &r->dst))
			hist_failed(r);
		return;
	}
	remove_entry(r, d, &r->dst, 0);
}

/* ---- creating and updating ------------------------------------------------ */

static void make_dir(struct receiver *r, const struct entry *s)
{
	const char *base;
	int dirfd;

	report_item("cd+++++++++", s->path, 1, NULL);
	r->st.created++;
	dl_add(&r->fix, s->path, s);
	if (r->dry)
		return;
	dirfd = parent_fd(r, s->path, &base);
	if (dirfd < 0)
		return;
	/* Owner-writable until the end, when the real mode is set. */
	if (mkdirat(dirfd, base, 0700) < 0 && errno != EEXIST) {
		error("cannot create directory %s: %s", s->path, strerror(errno));
		partial(r);
		return;
	}
	dirty(r, dirfd);
}

/* Create or replace the symlink S; OLD is the DEST entry's stat or NULL. */
static void make_link(struct receiver *r, const struct entry *s, const struct stat *old,
		      const char *old_target)
{
	char tmp[40];
	const char *base;
	int dirfd;

	if (!old) {
		report_item("cL+++++++++", s->path, 0, s->target);
		r->st.created++;
	} else {
		char code[12];

		meta_code(code, 'l', s, old, r->is_root, 1);
		code[2] = 'c';
		report_item(code, s->path, 0, s->target);
	}
	if (r->dry)
		return;
	dirfd = parent_fd(r, s->path, &base);
	if (dirfd < 0)
		return;
	tmp_name(tmp, sizeof(tmp));
	if (symlinkat(s->target, dirfd, tmp) < 0) {
		error("cannot create symlink %s: %s", s->path, strerror(errno));
		partial(r);
		return;
	}
	set_owner(r, dirfd, tmp, s, 1);
	set_mtime(r, dirfd, tmp, s);
	if (old && history_keep(&r->hist, dirfd, base, s->path, old, NULL, old_target,
				HIST_CHANGED)) {
		unlinkat(dirfd, tmp, 0);
		hist_failed(r);
		return;
	}
	if (renameat(dirfd, tmp, dirfd, base) < 0) {
		error("cannot rename symlink into place as %s: %s", s->path, strerror(errno));
		unlinkat(dirfd, tmp, 0);
		partial(r);
		return;
	}
	dirty(r, dirfd);
}

static void want_file(struct receiver *r, const struct entry *s, int has_basis,
		      const struct stat *st, int damaged)
{
	struct want *w;

	if (!has_basis) {
		report_item(">f+++++++++", s->path, 0, NULL);
		r->st.created++;
	}
	if (r->dry)
		return;
	r->planned = r->planned + s->size < r->planned ? UINT64_MAX : r->planned + s->size;
	w = xmalloc(sizeof(*w));
	memset(w, 0, sizeof(*w));
	entry_copy(&w->src, s);
	w->has_basis = has_basis;
	w->damaged = damaged;
	w->basis_fd = -1;
	if (st)
		w->basis_st = *st;
	q_push(&r->todo, w);
}

/* Fix mode, owner and mtime of an up-to-date entry in place. */
static void fix_meta(struct receiver *r, const struct entry *s, const struct stat *st)
{
	const char *base;
	int dirfd;

	if (r->dry)
		return;
	dirfd = parent_fd(r, s->path, &base);
	if (dirfd < 0)
		return;
	if (r->is_root && (s->uid != st->st_uid || s->gid != st->st_gid))
		set_owner(r, dirfd, base, s, s->type == 'l');
	if (s->type != 'l' && s->mode != (st->st_mode & 07777) &&
	    fchmodat(dirfd, base, s->mode, AT_SYMLINK_NOFOLLOW) < 0) {
		warning("chmod %s: %s", s->path, strerror(errno));
		partial(r);
	}
	if (!same_mtime(s, st))
		set_mtime(r, dirfd, base, s);
}

/* The path exists in SRC only (or DEST's entry was just removed). */
static void src_only(struct receiver *r, const struct entry *s)
{
	switch (s->type) {
	case 'd':
		make_dir(r, s);
		break;
	case 'l':
		make_link(r, s, NULL, NULL);
		break;
	case 'f':
		want_file(r, s, 0, NULL, 0);
		break;
	}
}

/* Both sides have the path. */
static void both(struct receiver *r, const struct entry *s)
{
	struct entry *d = &r->d;
	char code[12];

	if (d->type != s->type) {
		/* A different kind of thing: keep the old one, then create anew. */
		report_item("*deleting", d->path, d->type == 'd', NULL);
		if (d->type == 'd' && r->scan)
			scan_skip(r->scan);	/* it goes whole */
		if (remove_entry(r, d, &r->dst, d->type == 'd') == 0 || r->dry)
			src_only(r, s);
		return;
	}
	switch (s->type) {
	case 'd':
		if ((s->flags & ENTRY_DIR_UNREAD) && r->scan)
			scan_skip(r->scan);	/* delete nothing below it */
		meta_code(code, 'd', s, &r->dst, r->is_root, 0);
		if (code_changed(code))
			report_item(code, s->path, 1, NULL);
		dl_add(&r->fix, s->path, s);
		break;
	case 'l':
		if (strcmp(s->target, d->target)) {
			make_link(r, s, &r->dst, d->target);
		} else {
			meta_code(code, 'l', s, &r->dst, r->is_root, 0);
			if (code_changed(code)) {
				report_item(code, s->path, 0, s->target);
				fix_meta(r, s, &r->dst);
			}
		}
		break;
	case 'f': {
		int same, damaged = 0;

		if (r->a->sync && !(r->flags & OPT_RESTORE)) {
			/* The plan says whether content moves (doc/sync.md). */
			same = !!(s->flags & ENTRY_META);
		} else if (r->checksum) {
			unsigned char h[HASH_LEN];
			const char *base;
			int dirfd = s->size == d->size ? parent_fd(r, s->path, &base) : -1;

			same = dirfd >= 0 && hash_dest(dirfd, base, h) == 0 &&
			       !memcmp(h, s->hash, HASH_LEN);
			mirror_check(r, s, &r->dst, same, same ? h : NULL);
		} else {
			same = s->size == d->size && same_mtime(s, &r->dst);
			if (mirror_check(r, s, &r->dst, same, NULL)) {
				same = 0;
				damaged = 1;
			}
		}
		meta_code(code, 'f', s, &r->dst, r->is_root, !same);
		if (!same) {
			if (r->checksum || damaged)
				code[2] = 'c';
			report_item(code, s->path, 0, NULL);
			want_file(r, s, 1, &r->dst, damaged);
			keep_put(r, 0);
		} else if (code_changed(code)) {
			report_item(code, s->path, 0, NULL);
			fix_meta(r, s, &r->dst);
			keep_put(r, 1);
		} else {
			verbose("%s is up to date", s->path);
			keep_put(r, 0);
		}
		break;
	}
	}
}

/*
 * Sync mode, when this side sent the plan: an entry must be the next item
 * of it (the sender may skip items that vanished) with the same op, or a
 * directory above the item that follows. Anything else is the peer
 * reaching for a path nobody decided to change.
 */
static int in_plan(struct receiver *r, const struct entry *s)
{
	const struct plan *pl = r->a->plan;
	uint8_t op = s->flags & ENTRY_DELETE ? PLAN_DELETE : s->flags & ENTRY_META ? PLAN_META
										    : PLAN_CONTENT;
	size_t lo = r->plan_at, hi = pl->n;

	if (s->flags & ENTRY_CONTEXT) {
		/* The first item after it in listing order must be below it. */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (path_cmp(pl->v[mid].path, s->path) <= 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo < pl->n && path_is_within(s->path, pl->v[lo].path);
	}
	while (r->plan_at < pl->n && path_cmp(pl->v[r->plan_at].path, s->path) < 0)
		r->plan_at++;
	if (r->plan_at == pl->n || strcmp(pl->v[r->plan_at].path, s->path) ||
	    pl->v[r->plan_at].op != op || pl->v[r->plan_at].type != s->type)
		return 0;
	r->plan_at++;
	return 1;
}

/* Sync mode: apply one planned entry to what DEST holds now (doc/sync.md). */
static void sync_entry(struct receiver *r, const struct entry *s)
{
	const char *base;
	int dirfd, have;

	if (r->a->root_fd < 0) {
		/* A dry run into a root that is not there yet: all of it would be new. */
		if (s->flags & ENTRY_CONTEXT)
			make_dir(r, s);
		else if (!(s->flags & ENTRY_DELETE))
			src_only(r, s);
		return;
	}
	dirfd = parent_fd(r, s->path, &base);
	if (dirfd < 0)
		return;
	have = entry_at(dirfd, base, s->path, &r->d, &r->dst);
	if (have < 0) {
		error("%s: %s", s->path, strerror(errno));
		partial(r);
		return;
	}
	if (s->flags & ENTRY_CONTEXT) {
		if (!have)
			make_dir(r, s);
		else if (r->d.type != 'd') {
			error("%s is no longer a directory in %s; left for the next pass", s->path,
			      r->a->root_name);
			partial(r);
		}
	} else if (s->flags & ENTRY_DELETE) {
		if (have && r->d.type == s->type) {
			report_item("*deleting", s->path, s->type == 'd', NULL);
			r->st.deleted++;
			if (s->type == 'd') {
				/* Its contents come first if they go; it goes at the end if empty. */
				dl_add(&r->rm, s->path, NULL);
				if (!r->dry && history_note_dir(&r->hist, s->path, &r->dst))
					hist_failed(r);
			} else {
				remove_entry(r, &r->d, &r->dst, 0);
			}
		} else if (have) {
			warning("%s changed type during the pass; left for the next pass", s->path);
		}
	} else if (!have) {
		src_only(r, s);
	} else {
		both(r, s);
	}
	if (have)
		entry_release(&r->d);
}

static void advance_dest(struct receiver *r)
{
	r->have_d = r->scan && scan_next(r->scan, &r->d, &r->dst);
}

/* ---- the sender's listing ------------------------------------------------- */

static int on_entry(struct receiver *r, const unsigned char *p, size_t n)
{
	char why[WHYLEN];
	struct entry s;

	if (r->list_done)
		return fatal(r, EXIT_PROTOCOL, "protocol error from the sender: ENTRY after END_LIST");
	if (entry_decode(p, n, &s, (r->checksum ? ENTRY_WITH_HASH : 0) |
			 (r->a->sync ? ENTRY_WITH_SYNC : 0), &r->ectx, why, sizeof(why)))
		return fatal(r, EXIT_PROTOCOL, "protocol error from the sender: %s", why);
	r->received++;
	if (!strcmp(s.path, ".shelter") ||
	    (r->a->ex && exclude_match(r->a->ex, s.path, s.type == 'd'))) {
		/* Never accept anything into DEST/.shelter, nor excluded paths. */
		int bad = !strcmp(s.path, ".shelter");

		entry_release(&s);
		if (bad)
			return fatal(r, EXIT_PROTOCOL, "protocol error from the sender: it listed .shelter");
		return 0;
	}
	if (order_check(&r->ord, &s, why, sizeof(why))) {
		entry_release(&s);
		return fatal(r, EXIT_PROTOCOL, "protocol error from the sender: %s", why);
	}
	r->listed++;
	r->st.files++;
	if (s.type == 'f') {
		r->st.regular++;
		r->st.total_size = r->st.total_size + s.size < r->st.total_size ? UINT64_MAX
									: r->st.total_size + s.size;
	} else if (s.type == 'd') {
		r->st.dirs++;
	} else {
		r->st.links++;
	}
	if (r->a->sync) {
		if ((r->flags & OPT_RESTORE) && (s.flags & (ENTRY_DELETE | ENTRY_META))) {
			fatal(r, EXIT_PROTOCOL, "protocol error from the sender: a restore listed %s "
			      "with flags 0x%x (a restore deletes nothing)", s.path, s.flags);
			entry_release(&s);
			return -1;
		}
		if (r->a->plan && !in_plan(r, &s)) {
			fatal(r, EXIT_PROTOCOL, "protocol error from the sender: listing entry %s (flags "
			      "0x%x) is not in the plan this side sent", s.path, s.flags);
			entry_release(&s);
			return -1;
		}
		sync_entry(r, &s);
		entry_release(&s);
		return 0;
	}
	while (r->have_d && path_cmp(r->d.path, s.path) < 0) {
		dest_only(r);
		advance_dest(r);
	}
	if (r->have_d && !strcmp(r->d.path, s.path)) {
		both(r, &s);
		advance_dest(r);
	} else {
		src_only(r, &s);
	}
	entry_release(&s);
	return 0;
}

static int on_end_list(struct receiver *r, const unsigned char *p, size_t n)
{
	struct entry *root = &r->root;
	struct rd rd;
	uint64_t count;

	rd_init(&rd, p, n);
	rd_u64(&rd, &count);
	rd_u32(&rd, &root->mode);
	rd_u32(&rd, &root->uid);
	rd_u32(&rd, &root->gid);
	rd_i64(&rd, &root->mtime_sec);
	rd_u32(&rd, &root->mtime_nsec);
	if (rd_end(&rd) || r->list_done || root->mode > 07777 || root->mtime_nsec >= 1000000000u)
		return fatal(r, EXIT_PROTOCOL, "protocol error from the sender: bad END_LIST");
	if (count != r->received)
		return fatal(r, EXIT_PROTOCOL, "protocol error from the sender: END_LIST counts %llu "
			     "entries, %llu were sent", (unsigned long long)count,
			     (unsigned long long)r->received);
	r->list_done = 1;
	/* Everything left in DEST is gone from SRC. */
	while (r->have_d) {
		dest_only(r);
		advance_dest(r);
	}
	/* Every decision is made: the sender (and our progress) learn the total. */
	{
		struct buf b = BUF_INIT;

		buf_put_u64(&b, r->planned);
		buf_put_u64(&b, r->next_id - 1 + r->todo.count);
		chan_send(r->c, F_PLAN, b.data, b.len);
		buf_release(&b);
		progress_plan(r->planned);
	}
	return 0;
}

/* ---- requests -------------------------------------------------------------- */

static int sig_sink(void *arg, const void *p, size_t n)
{
	struct receiver *r = arg;

	while (n) {
		size_t take = n < IO_CHUNK ? n : IO_CHUNK;

		chan_send(r->c, F_SIG, p, take);
		p = (const char *)p + take;
		n -= take;
	}
	return 0;
}

/*
 * What arrived of W's file in a pass that lost its peer: the basis when it
 * is bigger than DEST's own copy (or DEST has none), so a cut transfer
 * resumes. DEST's copy, when there is one, is then hashed for its history
 * record. Returns the open partial file, or -1.
 */
static int take_partial(struct receiver *r, struct want *w)
{
	struct stat pst;
	const char *base;
	int fd = partial_open(r->pdir, w->src.path, &pst), dirfd;

	if (fd < 0)
		return -1;
	if (pst.st_size == 0 || (uint64_t)pst.st_size > MAX_DELTA_BASIS ||
	    (w->has_basis && pst.st_size <= w->basis_st.st_size)) {
		close(fd);
		return -1;
	}
	if (w->has_basis) {
		dirfd = parent_fd(r, w->src.path, &base);
		w->hashed = dirfd >= 0 && hash_dest(dirfd, base, w->basis_hash) == 0;
	}
	w->from_partial = 1;
	verbose("%s: resuming from the %llu bytes that arrived before", w->src.path,
		(unsigned long long)pst.st_size);
	return fd;
}

/*
 * Stream the signature of the basis: PFD (a partial file) when it is not
 * -1, else DEST's copy. On failure fall back to a whole file.
 */
static void send_sig(struct receiver *r, struct want *w, struct req *q, int pfd)
{
	const char *base;
	struct stat st;
	int dirfd, fd = pfd;

	if (fd >= 0) {
		if (fstat(fd, &st) < 0) {
			close(fd);
			return;
		}
	} else {
		dirfd = parent_fd(r, w->src.path, &base);
		if (dirfd < 0 || (uint64_t)w->basis_st.st_size > MAX_DELTA_BASIS)
			return;	/* sent whole */
		fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_ino != w->basis_st.st_ino || st.st_size != w->basis_st.st_size) {
			/* DEST changed under us: send for the whole file instead. */
			if (fd >= 0)
				close(fd);
			return;
		}
	}
	if (r->a->whole && pfd < 0) {
		/* Whole file wanted: the basis is only hashed, for its history record. */
		uint64_t size;

		w->hashed = hash_fd(fd, w->basis_hash, &size) == 0 &&
			    size == (uint64_t)st.st_size;
		close(fd);
		return;
	}
	/* The hash of DEST's copy is its history record's when the pass replaces it. */
	if (sigfile_make(fd, (uint64_t)st.st_size, sig_sink, r, chan_tick,
			 pfd < 0 ? w->basis_hash : NULL) < 0) {
		verbose("%s: cannot read %s for its signature (%s); asking for the whole file",
			w->src.path, pfd < 0 ? "DEST's copy" : "what arrived before", strerror(errno));
		close(fd);
		w->from_partial = 0;
		return;
	}
	if (pfd < 0)
		w->hashed = 1;
	w->basis_fd = fd;
	w->sig_size = (uint64_t)st.st_size;
	q->has_sig = 1;
	q->basis_size = (uint64_t)st.st_size;
}

/* Send requests while the window and the output queue allow. */
static void issue(struct receiver *r)
{
	struct buf b = BUF_INIT;

	while (r->todo.head && r->inflight.count < MAX_IN_FLIGHT &&
	       chan_pending(r->c) < (4u << 20)) {
		struct want *w = q_pop(&r->todo);
		struct req q = { .id = r->next_id++, .path = w->src.path };
		size_t at;
		int pfd;

		w->id = q.id;
		/* The REQ goes first; its fields are patched once the signature is known. */
		buf_reset(&b);
		req_encode(&b, &q);
		at = chan_pending(r->c);
		chan_send(r->c, F_REQ, b.data, b.len);
		pfd = r->pdir >= 0 && !w->redo_whole ? take_partial(r, w) : -1;
		if (!w->redo_whole && (w->has_basis || pfd >= 0)) {
			send_sig(r, w, &q, pfd);
			if (q.has_sig) {
				struct buf e = BUF_INIT;

				buf_reset(&b);
				req_encode(&b, &q);
				/* Same length: the REQ bytes are rewritten in place. */
				memcpy(r->c->out.data + r->c->out_off + at + FRAME_HEADER, b.data, b.len);
				buf_put_u64(&e, rsx_sig_len(q.basis_size));
				chan_send(r->c, F_SIG_END, e.data, e.len);
				buf_release(&e);
			}
		}
		q_push(&r->inflight, w);
	}
	buf_release(&b);
}

/* ---- replies --------------------------------------------------------------- */

static int file_sink(void *arg, const void *p, size_t n)
{
	struct receiver *r = arg;
	struct incoming *in = &r->in;

	if (n > in->fh.size - in->written) {
		in->overflow = 1;
		return fatal(r, EXIT_PROTOCOL, "protocol error from the sender: %s is longer than "
			     "the %llu bytes announced", in->w->src.path,
			     (unsigned long long)in->fh.size);
	}
	in->written += n;
	hasher_update(in->h, p, n);
	progress_add(n);
	if (in->failed)
		return 0;
	while (n) {
		ssize_t k = write(in->fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			error("write %s (temporary file in DEST): %s", in->w->src.path, strerror(errno));
			in->failed = 1;
			partial(r);
			if (errno == ENOSPC || errno == EDQUOT || errno == EROFS)
				r->code = exit_worse(r->code, EXIT_DEST_IO);
			return 0;
		}
		p = (const char *)p + k;
		n -= (size_t)k;
	}
	return 0;
}

static void incoming_end(struct receiver *r, int keep_tmp)
{
	struct incoming *in = &r->in;

	session_set_tmp(-1, NULL);
	if (in->fd >= 0)
		close(in->fd);
	if (!keep_tmp && in->dirfd >= 0 && in->tmp[0])
		unlinkat(in->dirfd, in->tmp, 0);
	if (in->dirfd >= 0)
		close(in->dirfd);
	rsx_free(in->job);
	hasher_free(in->h);
	free(in->fh.reason);
	want_free(in->w);
	memset(in, 0, sizeof(*in));
	in->fd = in->dirfd = -1;
	r->have_in = 0;
}

static int on_file(struct receiver *r, const unsigned char *p, size_t n)
{
	char why[WHYLEN];
	struct incoming *in = &r->in;
	struct want *w;
	const char *base;
	int dirfd;

	if (r->have_in || !r->inflight.head)
		return fatal(r, EXIT_PROTOCOL, "protocol error from the sender: unrequested FILE");
	memset(in, 0, sizeof(*in));
	in->fd = in->dirfd = -1;
	if (file_decode(p, n, &in->fh, why, sizeof(why)))
		return fatal(r, EXIT_PROTOCOL, "protocol error from the sender: %s", why);
	w = q_pop(&r->inflight);
	in->w = w;
	r->have_in = 1;
	if (in->fh.id != w->id)
		return fatal(r, EXIT_PROTOCOL, "protocol error from the sender: reply %u to request %u",
			     in->fh.id, w->id);
	if (in->fh.status != FILE_OK) {
		/* The sender warned already; the old version stays. */
		r->code = exit_worse(r->code, in->fh.status == FILE_VANISHED ? EXIT_VANISHED
									      : EXIT_PARTIAL);
		incoming_end(r, 0);
		return 0;
	}
	if (in->fh.encoding == ENC_DELTA && w->basis_fd < 0)
		return fatal(r, EXIT_PROTOCOL, "protocol error from the sender: delta for %s, which "
			     "was requested whole", w->src.path);
	dirfd = parent_fd(r, w->src.path, &base);
	in->h = hasher_new();
	if (dirfd < 0 || (in->dirfd = dup(dirfd)) < 0) {
		in->failed = 1;
		return 0;
	}
	tmp_name(in->tmp, sizeof(in->tmp));
	in->fd = openat(in->dirfd, in->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (in->fd < 0) {
		error("cannot create a temporary file for %s in DEST: %s", w->src.path, strerror(errno));
		in->tmp[0] = '\0';
		in->failed = 1;
		partial(r);
		if (errno == ENOSPC || errno == EROFS || errno == EDQUOT)
			r->code = exit_worse(r->code, EXIT_DEST_IO);
		return 0;
	}
	session_set_tmp(in->dirfd, in->tmp);
	if (in->fh.encoding == ENC_DELTA)
		in->job = rsx_patch_new(w->basis_fd, w->sig_size, file_sink, r);
	return 0;
}

static int on_data(struct receiver *r, const unsigned char *p, size_t n)
{
	char why[WHYLEN];

	if (!r->have_in || n == 0)
		return fatal(r, EXIT_PROTOCOL, "protocol error from the sender: unexpected DATA");
	if (r->in.job) {
		if (rsx_feed(r->in.job, p, n, 0, why, sizeof(why)) < 0) {
			if (r->in.overflow)
				return -1;	/* file_sink said why */
			return fatal(r, EXIT_PROTOCOL, "protocol error from the sender: delta for %s: %s",
				     r->in.w->src.path, why);
		}
		return 0;
	}
	return file_sink(r, p, n);
}

/* Rename one finished file into place, keeping the version it replaces. */
static void rename_ready(struct receiver *r, struct ready *rd)
{
	const char *base;
	struct stat now;
	int dirfd = parent_fd(r, rd->path, &base);

	if (dirfd < 0)
		return;
	if (rd->has_basis && rd->damaged) {
		verbose("%s: the damaged copy is replaced, not kept as a version", rd->path);
	} else if (rd->has_basis) {
		/* Keep the version being replaced: it must still be the basis we read. */
		if (fstatat(dirfd, base, &now, AT_SYMLINK_NOFOLLOW) == 0) {
			if (now.st_ino == rd->basis_st.st_ino && now.st_dev == rd->basis_st.st_dev) {
				if (history_keep(&r->hist, dirfd, base, rd->path, &now,
						 rd->hashed ? rd->basis_hash : NULL, NULL, HIST_CHANGED)) {
					unlinkat(dirfd, rd->tmp, 0);
					hist_failed(r);
					return;
				}
			} else {
				warning("%s changed in DEST during the pass; that version is replaced "
					"without history", rd->path);
			}
		}
	}
	if (renameat(dirfd, rd->tmp, dirfd, base) < 0) {
		error("cannot rename into place %s: %s", rd->path, strerror(errno));
		unlinkat(dirfd, rd->tmp, 0);
		partial(r);
		return;
	}
	r->st.transferred++;
	r->st.xfer_size += rd->size;
	if (r->recv_open && (!r->recv.last || path_cmp(r->recv.last, rd->path) < 0) &&
	    fstatat(dirfd, base, &now, AT_SYMLINK_NOFOLLOW) == 0) {
		struct mrec m = { .path = rd->path };

		mrec_stat(&m, &now);
		memcpy(m.hash, rd->hash, HASH_LEN);
		miwriter_put(&r->recv, &m);
	}
}

/* Rename the files of LIST into place when SYNCED, else drop them; free LIST. */
static void rename_batch(struct receiver *r, struct ready *list, int synced)
{
	struct ready *rd, *next;

	for (rd = list; rd; rd = next) {
		next = rd->next;
		if (synced) {
			rename_ready(r, rd);
		} else {
			const char *base;
			int dirfd = beneath_parent(&r->bn, rd->path, &base);

			if (dirfd >= 0)
				unlinkat(dirfd, rd->tmp, 0);
			partial(r);
		}
		free(rd->path);
		free(rd);
	}
}

/* The batch whose syncfs runs in the background: wait, then rename it. */
static void collect_syncing(struct receiver *r)
{
	if (!r->syncing)
		return;
	rename_batch(r, r->syncing, durable_sync_wait(&r->dur) == 0);
	r->syncing = NULL;
}

static void take_ready(struct receiver *r, struct ready **list)
{
	*list = r->ready;
	r->ready = NULL;
	r->ready_tail = &r->ready;
	r->nready = 0;
	r->ready_bytes = 0;
}

/*
 * Make the finished files durable with one syncfs, then rename them all:
 * nothing reaches its final name before its content is on disk. Now, with
 * the batch in the background too.
 */
static void flush_ready(struct receiver *r)
{
	struct ready *list;

	collect_syncing(r);
	if (!r->ready)
		return;
	take_ready(r, &list);
	rename_batch(r, list, durable_sync(&r->dur) == 0);
}

/*
 * A full batch: its syncfs runs in a thread while the next batch is
 * received; its files are renamed when that is done (at the next full
 * batch, or at the end of the pass). The syncfs also writes whatever the
 * next batch has written by then: work that is due anyway.
 */
static void flush_ready_behind(struct receiver *r)
{
	collect_syncing(r);
	take_ready(r, &r->syncing);
	durable_sync_start(&r->dur);
}

/* Give the finished temporary file its metadata and queue it for renaming. */
static void install(struct receiver *r, const unsigned char hash[HASH_LEN])
{
	struct incoming *in = &r->in;
	struct want *w = in->w;
	struct ready *rd;
	struct timespec ts[2] = {
		{ .tv_nsec = UTIME_OMIT },
		{ .tv_sec = in->fh.mtime_sec, .tv_nsec = in->fh.mtime_nsec },
	};

	if (r->is_root && fchown(in->fd, w->src.uid, w->src.gid) < 0) {
		warning("chown %s: %s", w->src.path, strerror(errno));
		partial(r);
	}
	if (fchmod(in->fd, in->fh.mode) < 0 || futimens(in->fd, ts) < 0) {
		error("%s: cannot finish the temporary file: %s", w->src.path, strerror(errno));
		partial(r);
		return;
	}
	rd = xmalloc(sizeof(*rd));
	memset(rd, 0, sizeof(*rd));
	rd->path = xstrdup(w->src.path);
	memcpy(rd->tmp, in->tmp, sizeof(rd->tmp));
	rd->size = in->fh.size;
	rd->has_basis = w->has_basis;
	rd->basis_st = w->basis_st;
	memcpy(rd->basis_hash, w->basis_hash, HASH_LEN);
	rd->hashed = w->hashed;
	rd->damaged = w->damaged;
	memcpy(rd->hash, hash, HASH_LEN);
	*r->ready_tail = rd;
	r->ready_tail = &rd->next;
	r->nready++;
	r->ready_bytes += in->fh.size;
	in->tmp[0] = '\0';	/* no longer ours to remove */
	dirty(r, in->dirfd);
	if (r->nready >= READY_MAX_FILES || r->ready_bytes >= READY_MAX_BYTES)
		flush_ready_behind(r);
}

/*
 * A file the sender saw change while it read it (size, mtime, ctime or
 * inode differ before and after, or a read failed) is asked for again, up
 * to MAX_READS reads in all, after what is already queued.
 */
static void reread(struct receiver *r, struct want *w)
{
	if (w->basis_fd >= 0)
		close(w->basis_fd);
	w->basis_fd = -1;
	w->hashed = 0;
	w->from_partial = 0;
	q_push(&r->todo, w);
}

static int on_file_end(struct receiver *r, const unsigned char *p, size_t n)
{
	struct incoming *in = &r->in;
	struct file_end fe;
	unsigned char got[HASH_LEN];
	char why[WHYLEN];

	if (!r->have_in || file_end_decode(p, n, &fe))
		return fatal(r, EXIT_PROTOCOL, "protocol error from the sender: bad FILE_END");
	if (in->job && rsx_feed(in->job, NULL, 0, 1, why, sizeof(why)) < 0)
		return in->overflow ? -1 : fatal(r, EXIT_PROTOCOL, "protocol error from the sender: delta for %s: %s",
			     in->w->src.path, why);
	r->st.literal += fe.literal;
	r->st.matched += fe.matched;
	verbose("%s: %s, %llu literal and %llu matched bytes", in->w->src.path,
		in->fh.encoding == ENC_DELTA ? "delta" : "whole file",
		(unsigned long long)fe.literal, (unsigned long long)fe.matched);
	hasher_final(in->h, got);
	if (fe.changed && ++in->w->reads < MAX_READS) {
		/* Ask again behind the queue: by then the writer may be done. */
		verbose("%s changed while it was read; reading it again", in->w->src.path);
		reread(r, in->w);
		in->w = NULL;
	} else if (fe.changed) {
		warning("%s kept changing while it was read (%u reads); the previous version stays "
			"and it was not recorded as copied", in->w->src.path, in->w->reads);
		r->code = exit_worse(r->code, EXIT_CHANGING);
	} else if ((in->written != in->fh.size || memcmp(got, fe.hash, HASH_LEN)) &&
		   in->fh.encoding == ENC_DELTA && !in->w->redo_whole) {
		/*
		 * Short strong sums (rsx.c) can collide by chance, and DEST may
		 * have changed under the signature: the whole file settles it.
		 */
		verbose("%s: the delta did not reproduce the sender's XXH3-128; asking for the "
			"whole file", in->w->src.path);
		in->w->redo_whole = 1;
		reread(r, in->w);
		in->w = NULL;
	} else if (in->written != in->fh.size || memcmp(got, fe.hash, HASH_LEN)) {
		error("%s: the content received does not match the sender's XXH3-128; the previous "
		      "version stays", in->w->src.path);
		partial(r);
	} else if (!in->failed) {
		install(r, fe.hash);
	}
	incoming_end(r, 0);
	return 0;
}

/* ---- the mirror index: writing it (doc/history.md "Writing it") ------------- */

/* Backup with a DEST: open the old index and the two streams the new one is made of. */
static void index_begin(struct receiver *r)
{
	char why[600];

	r->shelter_fd = -1;
	if (r->a->root_fd < 0 || r->a->sync)
		return;
	if (r->dry)
		r->shelter_fd = openat(r->a->root_fd, ".shelter",
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	else
		r->shelter_fd = mkdir_beneath(r->a->root_fd, ".shelter", 0700);
	if (r->shelter_fd < 0) {
		if (!r->dry)
			warning("cannot open DEST/.shelter: %s; no mirror index is written",
				strerror(errno));
		return;
	}
	if (!r->dry) {
		/* Leftovers of a pass that died. */
		unlinkat(r->shelter_fd, MI_TMP, 0);
		unlinkat(r->shelter_fd, MI_RECV, 0);
		unlinkat(r->shelter_fd, MI_KEEP, 0);
	}
	if (mireader_open(r->shelter_fd, MI_FILE, MI_FILE, &r->old, why, sizeof(why)) < 0) {
		warning("DEST/.shelter/%s: %s; the pass rewrites it, hashing every file once",
			MI_FILE, why);
		r->old_bad = 1;
	}
	if (r->dry)
		return;
	/* Created only when they grow (MI_SPILL) or are used: a pass that
	 * changes nothing writes nothing (doc/history.md "Writing it"). */
	miwriter_open_lazy(&r->keep, r->shelter_fd, MI_KEEP, MI_SPILL);
	r->keep.k.nosync = 1;
	r->keep_open = 1;
	miwriter_open_lazy(&r->recv, r->shelter_fd, MI_RECV, MI_SPILL);
	r->recv.k.nosync = 1;
	r->recv_open = 1;
}

/* A reader for NAME, NULL when missing or damaged (said once). */
static struct mireader *index_reopen(struct receiver *r, const char *name)
{
	struct mireader *m = NULL;
	char why[600];

	if (mireader_open(r->shelter_fd, name, name, &m, why, sizeof(why)) < 0)
		warning("DEST/.shelter/%s: %s", name, why);
	return m;
}

/* The next record of *M into REC: 1, or 0 at its end; a damaged stream sets *BAD. */
static int index_next(struct mireader **m, struct mrec *rec, const char *name, int *bad)
{
	int got;

	if (!*m)
		return 0;
	got = mireader_next(*m, rec);
	if (got < 0) {
		warning("DEST/.shelter/%s: %s", name, mireader_why(*m));
		*bad = 1;
	}
	if (got <= 0) {
		mireader_close(*m);
		*m = NULL;
	}
	return got == 1;
}

/* Move reader *M to PATH; its record for PATH or NULL. A damaged stream is dropped. */
static const struct mrec *index_seek(struct mireader **m, struct mrec *rec, int *have,
				     const char *path, const char *name)
{
	int bad = 0;

	while (*m || *have) {
		int c;

		if (!*have && !(*have = index_next(m, rec, name, &bad)))
			return NULL;
		c = path_cmp(rec->path, path);
		if (c > 0)
			return NULL;
		*have = 0;
		if (c == 0)
			return rec;
	}
	return NULL;
}

/*
 * The fallback when the old index turned out damaged (its records may
 * have been used before its checksum said so): walk DEST and write the
 * index from the files written (RECV) and, for the rest, the content
 * hashed now. Returns 0, or -1 with an error printed.
 */
static int index_rescan(struct receiver *r, struct mireader *recv, struct miwriter *w)
{
	struct mrec rrec;
	int have_r = 0;
	struct scan *sc = scan_open(r->a->root_fd, NULL, SCAN_QUIET);
	struct entry e;
	struct stat st;

	while (scan_next(sc, &e, &st)) {
		const struct mrec *m;
		struct mrec rec = { .path = e.path };
		uint64_t size;
		int fd;

		if (e.type != 'f' || is_tmp_name(path_base(e.path)))
			continue;
		m = index_seek(&recv, &rrec, &have_r, e.path, MI_RECV);
		if (m && mrec_matches(m, &st)) {
			rec = *m;
			rec.path = e.path;
		} else {
			fd = openat(scan_dirfd(sc), path_base(e.path),
				    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
			if (fd < 0 || hash_fd(fd, rec.hash, &size) < 0) {
				warning("%s: cannot read it for the mirror index: %s; it has no record",
					e.path, strerror(errno));
				if (fd >= 0)
					close(fd);
				continue;
			}
			/* The stat after the read: a file written meanwhile fails the next match. */
			if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != size) {
				close(fd);
				continue;
			}
			close(fd);
			mrec_stat(&rec, &st);
		}
		miwriter_put(w, &rec);
	}
	scan_close(sc);
	mireader_close(recv);
	return miwriter_finish(w, MI_FILE);
}

/*
 * The end of a sound pass: the new index is the merge, in listing order,
 * of the records of the files as the pass found them (keep) and of the
 * files it wrote (recv), which win.
 */
static void index_end(struct receiver *r)
{
	struct mireader *keep = NULL, *recv = NULL;
	struct mrec krec, rrec;
	int have_k = 0, have_r = 0, bad = 0, ok = 0;
	struct miwriter w;

	/* The old index's checksum vouches for the records the pass took from it. */
	while (r->old) {
		int got = mireader_next(r->old, &r->oldrec);

		if (got < 0) {
			warning("DEST/.shelter/%s: %s; the pass rewrites it, hashing every file",
				MI_FILE, mireader_why(r->old));
			r->old_bad = 1;
		}
		if (got <= 0)
			break;
	}
	if (r->old)
		r->old_count = mireader_count(r->old);
	mireader_close(r->old);
	r->old = NULL;
	if (r->shelter_fd < 0 || r->dry)
		return;
	if (!r->old_bad && r->old_count && r->keep_open && r->recv_open && r->recv.count == 0 &&
	    r->keep.count == r->old_count && r->kept_old == r->old_count) {
		/* Every record is the old one: the index stands as it is. */
		miwriter_abort(&r->recv);
		miwriter_abort(&r->keep);
		r->recv_open = r->keep_open = 0;
		ok = 1;
		goto out;
	}
	if (!r->old_bad && r->keep_open && r->recv_open && r->recv.count == 0) {
		/* The pass wrote nothing: the keep stream is the new index. */
		miwriter_abort(&r->recv);
		r->recv_open = r->keep_open = 0;
		r->keep.k.nosync = 0;
		ok = miwriter_finish(&r->keep, MI_FILE) == 0;
		goto out;
	}
	if (r->recv_open) {
		r->recv_open = 0;
		if (miwriter_finish(&r->recv, NULL) == 0)
			recv = index_reopen(r, MI_RECV);
	}
	if (r->keep_open) {
		r->keep_open = 0;
		if (miwriter_finish(&r->keep, NULL) == 0)
			keep = index_reopen(r, MI_KEEP);
	}
	if (miwriter_open(&w, r->shelter_fd, MI_TMP))
		goto out;
	if (r->old_bad || !keep || !recv) {
		mireader_close(keep);
		keep = NULL;
		ok = index_rescan(r, recv, &w) == 0;
		recv = NULL;
		goto out;
	}
	for (;;) {
		int c;

		if (!have_k)
			have_k = index_next(&keep, &krec, MI_KEEP, &bad);
		if (!have_r)
			have_r = index_next(&recv, &rrec, MI_RECV, &bad);
		if (bad || (!have_k && !have_r))
			break;
		c = !have_k ? 1 : !have_r ? -1 : path_cmp(krec.path, rrec.path);
		if (c < 0) {
			miwriter_put(&w, &krec);
			have_k = 0;
		} else {
			miwriter_put(&w, &rrec);
			have_r = 0;
			have_k = have_k && c != 0;
		}
	}
	if (bad) {
		/* Our own scratch files: cannot happen but by a disk error. */
		miwriter_abort(&w);
		goto out;
	}
	ok = miwriter_finish(&w, MI_FILE) == 0;
out:
	mireader_close(recv);
	mireader_close(keep);
	unlinkat(r->shelter_fd, MI_RECV, 0);
	unlinkat(r->shelter_fd, MI_KEEP, 0);
	if (!ok) {
		error("the mirror index DEST/.shelter/%s was not updated (make DEST/.shelter "
		      "writable); the next pass hashes what it cannot vouch for", MI_FILE);
		partial(r);
	}
}

/* A pass that failed: the old index stays as it is. */
static void index_drop(struct receiver *r)
{
	mireader_close(r->old);
	r->old = NULL;
	if (r->recv_open)
		miwriter_abort(&r->recv);
	r->recv_open = 0;
	if (r->keep_open)
		miwriter_abort(&r->keep);
	r->keep_open = 0;
	if (r->shelter_fd >= 0)
		close(r->shelter_fd);
	r->shelter_fd = -1;
}

/* ---- the end of the pass ----------------------------------------------------- */

/* DEST itself takes SRC's mode, owner and mtime, after everything in it. */
static void finish_root(struct receiver *r)
{
	const struct entry *s = &r->root;
	struct timespec ts[2] = {
		{ .tv_nsec = UTIME_OMIT },
		{ .tv_sec = s->mtime_sec, .tv_nsec = s->mtime_nsec },
	};
	int fd = r->a->root_fd;

	if (fd < 0 || !r->list_done || r->a->sync)
		return;
	if (r->is_root && fchown(fd, s->uid, s->gid) < 0)
		warning("chown of DEST: %s", strerror(errno));
	if (fchmod(fd, s->mode | S_IRWXU) < 0 || futimens(fd, ts) < 0) {
		warning("setting the mode and mtime of DEST: %s", strerror(errno));
		partial(r);
	}
}

static void finish_dirs(struct receiver *r)
{
	size_t i;

	/* Deepest first: removed directories, then metadata (removals change parents' mtimes). */
	for (i = r->rm.n; i-- > 0;) {
		const char *base;
		int dirfd = beneath_parent(&r->bn, r->rm.v[i].path, &base);

		if (dirfd < 0 || unlinkat(dirfd, base, AT_REMOVEDIR) < 0) {
			if (errno == ENOTEMPTY || errno == EEXIST)
				verbose("keeping %s/: it holds excluded files", r->rm.v[i].path);
			else if (errno != ENOENT) {
				warning("cannot remove directory %s: %s", r->rm.v[i].path,
					strerror(errno));
				partial(r);
			}
			continue;
		}
	}
	for (i = r->fix.n; i-- > 0;) {
		struct entry *s = &r->fix.v[i].src;
		const char *base;
		struct stat st;
		int dirfd;

		s->path = r->fix.v[i].path;
		dirfd = beneath_parent(&r->bn, s->path, &base);
		if (dirfd < 0 || fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode)) {
			s->path = NULL;
			continue;
		}
		if (r->is_root && (st.st_uid != s->uid || st.st_gid != s->gid))
			set_owner(r, dirfd, base, s, 0);
		if ((st.st_mode & 07777) != s->mode && fchmodat(dirfd, base, s->mode, 0) < 0) {
			warning("chmod %s: %s", s->path, strerror(errno));
			partial(r);
		}
		if (!same_mtime(s, &st))
			set_mtime(r, dirfd, base, s);
		s->path = NULL;
	}
	finish_root(r);
}

static int on_frame(struct receiver *r, uint8_t t, const unsigned char *p, size_t n)
{
	int code, c;

	switch (t) {
	case F_ENTRY:
		return on_entry(r, p, n);
	case F_END_LIST:
		return on_end_list(r, p, n);
	case F_FILE:
		return on_file(r, p, n);
	case F_DATA:
		return on_data(r, p, n);
	case F_FILE_END:
		return on_file_end(r, p, n);
	case F_DONE:
		return fatal(r, EXIT_PROTOCOL, "protocol error from the sender: DONE before the pass ended");
	}
	c = role_common_frame(t, p, n, &code);
	if (c < 0) {
		r->code = exit_worse(r->code, peer_code(code));
		return -1;
	}
	if (c == 0)
		return fatal(r, EXIT_PROTOCOL, "protocol error from the sender: unexpected %s frame",
			     frame_name(t));
	return 0;
}

static int finished(const struct receiver *r)
{
	return r->list_done && !r->todo.head && !r->inflight.head && !r->have_in;
}

/* Wait for the sender's DONE; its code joins ours. */
static void await_done(struct receiver *r)
{
	const unsigned char *p;
	size_t n;
	uint8_t t;

	for (;;) {
		int code, c;

		if (chan_recv(r->c, &t, &p, &n, 1) < 0) {
			r->code = exit_worse(r->code, r->c->eof ? EXIT_CONNECTION : EXIT_PROTOCOL);
			return;
		}
		if (t == F_DONE) {
			struct stats dummy;
			uint8_t rc;

			if (done_decode(p, n, &rc, &dummy))
				fatal(r, EXIT_PROTOCOL, "protocol error from the sender: malformed DONE");
			else if (peer_code(rc) != rc)
				fatal(r, EXIT_PROTOCOL, "protocol error from the sender: DONE with exit "
				      "code %u, which shelter does not define", rc);
			else
				r->code = exit_worse(r->code, rc);
			return;
		}
		c = role_common_frame(t, p, n, &code);
		if (c <= 0) {
			if (c == 0)
				fatal(r, EXIT_PROTOCOL, "protocol error from the sender: %s after the pass",
				      frame_name(t));
			else
				r->code = exit_worse(r->code, peer_code(code));
			return;
		}
	}
}

int receiver_run(const struct role_args *a, struct stats *stats)
{
	struct receiver r;
	struct timespec start;
	struct buf b = BUF_INIT;
	int failed = 0, lost = 0;

	memset(&r, 0, sizeof(r));
	r.a = a;
	r.c = a->c;
	r.flags = a->flags;
	r.dry = !!(a->flags & OPT_DRY_RUN);
	r.checksum = !!(a->flags & OPT_CHECKSUM);
	r.is_root = geteuid() == 0;
	r.next_id = 1;
	durable_init(&r.dur);
	r.ready_tail = &r.ready;
	r.in.fd = r.in.dirfd = -1;
	r.pdir = r.dry ? -1 : partial_dir_open(a->root_fd);
	clock_gettime(CLOCK_REALTIME, &start);
	beneath_init(&r.bn, a->root_fd);
	history_init(&r.hist, a->root_fd, !(a->flags & OPT_NO_HISTORY), &start);
	index_begin(&r);
	if (a->root_fd >= 0 && a->sync) {
		dirty(&r, a->root_fd);
	} else if (a->root_fd >= 0) {
		dirty(&r, a->root_fd);
		r.scan = scan_open(a->root_fd, a->ex, SCAN_SPECIALS);
		advance_dest(&r);
	}

	while (!finished(&r)) {
		const unsigned char *p;
		size_t n;
		uint8_t t;
		int got;

		/* Decide on what has arrived before asking for more: the PLAN then
		 * goes out ahead of the first request when the listing is short. */
		if (!chan_has_frame(r.c))
			issue(&r);
		got = chan_recv(r.c, &t, &p, &n, 0);
		if (got == 1) {
			if (on_frame(&r, t, p, n)) {
				failed = 1;
				break;
			}
			continue;
		}
		if (got < 0) {
			r.code = exit_worse(r.code, r.c->eof ? EXIT_CONNECTION : EXIT_PROTOCOL);
			failed = 1;
			lost = r.c->eof;
			break;
		}
		/* At EOF, chan_recv reports what was lost (between or inside frames). */
		if (chan_wait(r.c, -1) < 0 && !r.c->eof) {
			r.code = exit_worse(r.code, EXIT_CONNECTION);
			failed = lost = 1;
			break;
		}
	}
	/* A file cut by a lost connection: what arrived is the next pass's basis. */
	if (r.have_in && (lost || r.c->timed_out) && !r.dry && r.in.fd >= 0 && !r.in.failed &&
	    r.in.written > 0 && r.in.tmp[0] &&
	    partial_save(a->root_fd, r.in.dirfd, r.in.tmp, r.in.w->src.path) == 0)
		r.in.tmp[0] = '\0';
	if (r.have_in)
		incoming_end(&r, 0);
	if (r.pdir >= 0)
		close(r.pdir);
	/* A pass that kept its peer to the end needs no partial file again. */
	if (!failed && !r.dry && r.pdir >= 0)
		partial_clear(a->root_fd);
	if (!failed) {
		flush_ready(&r);
		if (!r.dry)
			finish_dirs(&r);
		if (history_close(&r.hist))
			partial(&r);
		/* The renames, deletions and history moves of the pass (or the caller's to sync). */
		if (!r.dry && a->after)
			durable_add(a->after, &r.dur);
		else if (!r.dry && durable_sync(&r.dur))
			partial(&r);
		index_end(&r);
		/* A completed backup pass is a snapshot for retention (doc/history.md). */
		if (!r.dry && !a->sync && a->root_fd >= 0 &&
		    passes_append(a->root_fd, r.hist.pass, r.code))
			partial(&r);
		if (a->keep && a->root_fd >= 0 && passes_recorded(r.code))
			r.code = exit_worse(r.code, prune_run(a->root_fd, a->root_name, a->keep,
							      r.dry, log_verbosity >= 2));
		done_encode(&b, (uint8_t)r.code, &r.st);
		chan_send(r.c, F_DONE, b.data, b.len);
		if (chan_flush(r.c, 1) == 0)
			await_done(&r);
	} else if (!r.c->eof) {
		flush_ready(&r);
		msg_encode(&b, (uint8_t)r.code, "receiver stopped");
		chan_send(r.c, F_ERROR, b.data, b.len);
		chan_flush(r.c, 1);
		history_close(&r.hist);
	} else {
		/* The peer is gone: what was kept so far stays recorded. */
		flush_ready(&r);
		history_close(&r.hist);
	}
	/* Cleanup. */
	index_drop(&r);
	while (r.todo.head)
		want_free(q_pop(&r.todo));
	while (r.inflight.head)
		want_free(q_pop(&r.inflight));
	flush_ready(&r);
	durable_release(&r.dur);
	order_release(&r.ord);
	dl_release(&r.fix);
	dl_release(&r.rm);
	scan_close(r.scan);
	beneath_release(&r.bn);
	buf_release(&b);
	*stats = r.st;
	return r.code;
}

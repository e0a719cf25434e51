/*
 * sync.c - the client of a two-way pass (doc/sync.md): lock the pair,
 * read the state, list both sides (the local one here, the other through
 * its server), hash what the state cannot vouch for, decide per path,
 * check the safety limits, then rename conflict losers, run the two
 * transfer phases, look at both sides again, and record what they agree
 * on. Nothing is changed before every decision is made.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "durable.h"
#include "exclude.h"
#include "exitcode.h"
#include "log.h"
#include "path.h"
#include "plan.h"
#include "remote.h"
#include "report.h"
#include "role.h"
#include "scan.h"
#include "session.h"
#include "state.h"
#include "runlog.h"
#include "sync.h"
#include "syncpeer.h"

#define WHYLEN 512
#define WINDOW 64

enum act { A_NONE, A_COPY, A_META, A_DEL, A_CONFLICT, A_FORGET, A_SKIP };

struct side {
	const char *arg;	/* as typed */
	const char *label;	/* "ROOT1", "ROOT2" */
	char *canon;		/* for the state file */
	char *host, *rpath;	/* remote */
	int root_fd;		/* local only */
	struct beneath bn;
	uint64_t entries, nondirs;
	char hostname[256];
};

/*
 * A path something may happen to. Only these are kept in memory: a path
 * both sides still agree on is written to the new state as the listings
 * stream by, and forgotten.
 */
struct item {
	char *path;
	struct sent *x[2];	/* what each side holds now, or NULL */
	struct srec *s;		/* the state's record, or NULL */
	int pending;		/* waiting for the server's hash of its file */
	enum act act;
	int to;			/* COPY, META, DEL: the side changed; CONFLICT: the loser */
	int need_dir[2];	/* something below it stays on that side */
	long parent;		/* index of the parent directory's item, or -1 */
	char *cname;		/* CONFLICT: the loser's new name */
};

struct sync {
	const struct opts *o;
	struct side sd[2];
	int li, ri;		/* the local side, the server's side */
	struct conn cn;
	int connected;
	int reached;		/* the server answered READY: a lost connection may be retried */
	int first;
	struct sreader *old;	/* the last pass's state, read as the listings go */
	int64_t old_scan_start;
	uint64_t old_n;
	char *state_file;
	char *settled_file;	/* records of the paths nothing happens to */
	struct swriter *settled;
	struct durable after;	/* where this side received: synced before the new state */

	/* the three streams, one entry ahead */
	struct scan *lscan;
	int lhave, rhave, shave;
	struct sent lcur, rcur;
	struct srec scur;	/* owned by the reader */
	struct order rord;
	struct entry_ctx rctx;	/* the server's previous SENTRY (version 2 encoding) */
	uint64_t rcount;
	long *stack;		/* items of the directories above the current path */
	size_t depth;
	struct item *it;
	size_t n;
	uint32_t next_hash_id;
	int code;
	uint64_t conflicts, copied[2], deleted[2];
	struct timespec start;
};

/* ---- names ----------------------------------------------------------------- */

int is_conflict_name(const char *name)
{
	const char *p = strstr(name, ".conflict-");

	/* NAME.conflict-HOST-YYYYMMDD-HHMMSS[-N][.EXT] */
	for (; p; p = strstr(p + 1, ".conflict-")) {
		const char *q = p + 10;
		size_t i;

		q = strchr(q, '-');
		while (q) {
			for (i = 1; i <= 15; i++)
				if (i == 9 ? q[i] != '-' : (q[i] < '0' || q[i] > '9'))
					break;
			if (i == 16) {
				const char *e = q + 16;

				if (*e == '-' && e[1] >= '0' && e[1] <= '9')
					for (e++; *e >= '0' && *e <= '9'; e++)
						;
				if (*e == '\0' || *e == '.')
					return 1;
			}
			q = strchr(q + 1, '-');
		}
	}
	return 0;
}

/* PATH's conflict copy name: NAME.conflict-HOST-YYYYMMDD-HHMMSS[-N].EXT */
char *conflict_name(const char *path, const char *host, const struct timespec *t, unsigned n)
{
	const char *base = path_base(path), *dot = strrchr(base, '.');
	char stamp[48], *out;
	struct tm tm;
	size_t stem, len;

	if (dot == base)
		dot = NULL;	/* ".bashrc" has no extension */
	gmtime_r(&t->tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	if (n > 1)
		snprintf(stamp + strlen(stamp), sizeof(stamp) - strlen(stamp), "-%u", n);
	stem = dot ? (size_t)(dot - path) : strlen(path);
	len = strlen(path) + strlen(host) + 64;
	out = xmalloc(len);
	snprintf(out, len, "%.*s.conflict-%s-%s%s", (int)stem, path, host, stamp, dot ? dot : "");
	if (strlen(path_base(out)) > MAX_NAME_LEN || strlen(out) > MAX_PATH_LEN) {
		free(out);
		return NULL;
	}
	return out;
}

/* A host name fit for a file name: letters, digits, '.', '-', '_'. */
static void clean_host(char *h)
{
	for (; *h; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		      (*h >= '0' && *h <= '9') || *h == '.' || *h == '-' || *h == '_'))
			*h = '_';
}

/* ---- roots ------------------------------------------------------------------ */

/* An absolute form of the local path ARG, whether or not it exists. */
static char *canon_local(const char *arg)
{
	char buf[PATH_MAX], cwd[PATH_MAX];
	char *out;
	size_t n;

	if (realpath(arg, buf))
		return xstrdup(buf);
	if (arg[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		out = xstrdup(arg);
	else {
		n = strlen(cwd) + strlen(arg) + 2;
		out = xmalloc(n);
		snprintf(out, n, "%s/%s", cwd, arg);
	}
	n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	return out;
}

static int setup_sides(struct sync *y, const char *root1, const char *root2)
{
	int i;

	y->sd[0].arg = root1;
	y->sd[1].arg = root2;
	y->sd[0].label = "ROOT1";
	y->sd[1].label = "ROOT2";
	y->li = 0;
	for (i = 0; i < 2; i++) {
		struct side *s = &y->sd[i];

		s->root_fd = -1;
		if (remote_parse(s->arg, &s->host, &s->rpath)) {
			y->li = 1 - i;
			s->canon = xstrdup(s->arg);
			snprintf(s->hostname, sizeof(s->hostname), "%s",
				 strchr(s->host, '@') ? strchr(s->host, '@') + 1 : s->host);
		} else {
			s->canon = canon_local(s->arg);
			if (gethostname(s->hostname, sizeof(s->hostname) - 1) < 0)
				snprintf(s->hostname, sizeof(s->hostname), "local");
		}
		clean_host(s->hostname);
	}
	y->ri = 1 - y->li;
	if (!y->sd[0].host && !y->sd[1].host &&
	    (path_is_within(y->sd[0].canon, y->sd[1].canon) ||
	     path_is_within(y->sd[1].canon, y->sd[0].canon)))
		return error("ROOT1 %s and ROOT2 %s are the same directory or one holds the other; "
			     "choose two separate trees", root1, root2), EXIT_ROOTS;
	return 0;
}

/* ---- listings ---------------------------------------------------------------- */

/* The next entry of the server's listing into y->rcur (y->rhave 0 at its end). */
static int remote_next(struct sync *y)
{
	char why[WHYLEN];
	struct chan *c = &y->cn.c;

	y->rhave = 0;
	for (;;) {
		const unsigned char *p;
		size_t n;
		uint8_t t;
		struct entry e;
		struct skey k;
		int code, r;

		if (chan_recv(c, &t, &p, &n, 1) < 0)
			return c->eof ? EXIT_CONNECTION : EXIT_PROTOCOL;
		if (t == F_END_LIST) {
			struct rd rd;
			uint64_t count;

			rd_init(&rd, p, n);
			if (rd_u64(&rd, &count) || count != y->rcount)
				return error("protocol error from the server: END_LIST counts %llu "
					     "entries, %llu were sent", (unsigned long long)count,
					     (unsigned long long)y->rcount), EXIT_PROTOCOL;
			return 0;
		}
		if (t != F_SENTRY) {
			r = role_common_frame(t, p, n, &code);
			if (r < 0)
				return peer_code(code);
			if (r == 0)
				return error("protocol error from the server: %s in its listing",
					     frame_name(t)), EXIT_PROTOCOL;
			continue;
		}
		if (sentry_decode(p, n, &e, &k, &y->rctx, why, sizeof(why)))
			return error("protocol error from the server: %s", why), EXIT_PROTOCOL;
		if (order_check(&y->rord, &e, why, sizeof(why))) {
			entry_release(&e);
			return error("protocol error from the server: %s", why), EXIT_PROTOCOL;
		}
		if (!strcmp(e.path, ".shelter") || exclude_match(y->o->excludes, e.path, e.type == 'd')) {
			error("protocol error from the server: it listed %s, which is %s", e.path,
			      strcmp(e.path, ".shelter") ? "excluded" : "shelter's own");
			entry_release(&e);
			return EXIT_PROTOCOL;
		}
		y->rcount++;
		y->rcur.e = e;
		y->rcur.key = k;
		y->rhave = 1;
		return 0;
	}
}

/* The next entry of the local scan into y->lcur (leftover temporary files removed). */
static void local_next(struct sync *y)
{
	struct entry e;
	struct stat st;

	y->lhave = 0;
	while (y->lscan && scan_next(y->lscan, &e, &st)) {
		if (e.type != 'd' && is_tmp_name(path_base(e.path))) {
			if (!(y->o->flags & OPT_DRY_RUN) &&
			    unlinkat(scan_dirfd(y->lscan), path_base(e.path), 0) < 0 && errno != ENOENT)
				warning("cannot remove leftover %s: %s", e.path, strerror(errno));
			continue;
		}
		entry_copy(&y->lcur.e, &e);
		key_from_stat(&y->lcur.key, &st);
		y->lhave = 1;
		return;
	}
}

/* The next record of the old state into y->scur; -1 when the file is damaged. */
static int state_next(struct sync *y)
{
	int r = y->old ? sreader_next(y->old, &y->scur) : 0;

	y->shave = r == 1;
	if (r == 0 && y->old)
		y->old_n = sreader_count(y->old);
	return r < 0 ? -1 : 0;
}

static struct sent *take_sent(struct sent *cur)
{
	struct sent *x = xmalloc(sizeof(*x));

	*x = *cur;
	memset(cur, 0, sizeof(*cur));
	return x;
}

static void item_release(struct item *it)
{
	int i;

	for (i = 0; i < 2; i++)
		if (it->x[i]) {
			entry_release(&it->x[i]->e);
			free(it->x[i]);
		}
	if (it->s) {
		free(it->s->path);
		free(it->s->target);
		free(it->s);
	}
	free(it->path);
	free(it->cname);
}

/* The state vouches for side I's file: same key, not racily clean. */
static int clean(const struct sync *y, const struct item *it, int i)
{
	const struct srec *s = it->s;
	const struct skey *k = &it->x[i]->key, *r;

	if (!s || s->type != 'f' || y->o->flags & OPT_CHECKSUM)
		return 0;
	r = &s->side[i];
	return r->ino && r->ino == k->ino && r->ctime_sec == k->ctime_sec &&
	       r->ctime_nsec == k->ctime_nsec && r->mtime_sec == k->mtime_sec &&
	       r->mtime_nsec == k->mtime_nsec && r->size == k->size &&
	       k->mtime_sec < y->old_scan_start;
}

/* A hash came back for side I's entry of IT. */
static void take_hash(struct item *it, int i, const struct hashed *h, const char *label)
{
	struct sent *x = it->x[i];

	if (h->status != HASH_STATUS_OK || h->type != 'f' || h->key.size == UINT64_MAX) {
		if (h->status == HASH_STATUS_OK)
			warning("%s changed in %s while it was read; left for the next pass", it->path,
				label);
		else if (h->status == HASH_STATUS_MISSING)
			warning("%s vanished from %s during the pass; left for the next pass",
				it->path, label);
		it->act = A_SKIP;
		return;
	}
	memcpy(x->e.hash, h->hash, HASH_LEN);
	x->e.has_hash = 1;
	x->key = h->key;
}

/* HASHREQ for PATHS on the server, WINDOW at a time; *OUT gets the replies. */
static int remote_round(struct sync *y, char **paths, size_t n, int stat_only,
			struct hashed *out)
{
	struct chan *c = &y->cn.c;
	struct buf b = BUF_INIT;
	uint32_t base = y->next_hash_id;
	size_t sent = 0, got = 0;
	int ended = 0;

	while (!ended) {
		const unsigned char *p;
		size_t len;
		uint8_t t;
		int code, r;

		while (sent < n && sent - got < WINDOW) {
			buf_reset(&b);
			buf_put_u32(&b, base + (uint32_t)sent);
			buf_put_u8(&b, stat_only ? 1 : 0);
			buf_put_str(&b, paths[sent], strlen(paths[sent]));
			chan_send(c, F_HASHREQ, b.data, b.len);
			sent++;
			if (sent == n)
				chan_send(c, F_HASH_END, NULL, 0);
		}
		if (n == 0 && sent == 0) {
			chan_send(c, F_HASH_END, NULL, 0);
			sent = 1;	/* HASH_END is out */
		}
		if (chan_recv(c, &t, &p, &len, 1) < 0) {
			buf_release(&b);
			return c->eof ? EXIT_CONNECTION : EXIT_PROTOCOL;
		}
		if (t == F_HASH && got < n) {
			uint32_t id;

			if (hashed_decode(p, len, &id, &out[got]) || id != base + got) {
				error("protocol error from the server: malformed or out-of-order HASH");
				buf_release(&b);
				return EXIT_PROTOCOL;
			}
			got++;
		} else if (t == F_HASH_END && got == n && len == 0) {
			ended = 1;
		} else {
			r = role_common_frame(t, p, len, &code);
			if (r <= 0) {
				if (r == 0)
					error("protocol error from the server: unexpected %s", frame_name(t));
				buf_release(&b);
				return r < 0 ? peer_code(code) : EXIT_PROTOCOL;
			}
		}
	}
	y->next_hash_id = base + (uint32_t)n;
	buf_release(&b);
	return 0;
}

/* Look at side I's PATHS (stat only, or hash): here, or through the server. */
static int look(struct sync *y, int i, char **paths, size_t n, int stat_only, struct hashed *out)
{
	size_t k;

	if (i == y->ri)
		return remote_round(y, paths, n, stat_only, out);
	for (k = 0; k < n; k++)
		side_hash(&y->sd[i].bn, paths[k], stat_only, &out[k]);
	return 0;
}

static void decide(struct sync *y, struct item *it);

/* A record for the new state: version E, side keys K0 and K1 (NULL: unknown). */
static void make_record(struct srec *r, const char *path, const struct entry *e,
			const struct skey *k0, const struct skey *k1)
{
	memset(r, 0, sizeof(*r));
	r->path = (char *)path;
	r->type = e->type;
	r->mode = e->mode;
	r->size = e->type == 'f' ? e->size : 0;
	r->mtime_sec = e->mtime_sec;
	r->mtime_nsec = e->mtime_nsec;
	if (e->type == 'f')
		memcpy(r->hash, e->hash, HASH_LEN);
	r->target = e->target;
	if (k0)
		r->side[0] = *k0;
	if (k1)
		r->side[1] = *k1;
}

/*
 * One path of the union of both listings and the state: hash what the
 * state cannot vouch for (here at once; on the server later, in a batch),
 * decide, and either settle it (nothing to do: its record goes out now) or
 * keep it for the work to come.
 */
static void add_path(struct sync *y, struct item *it)
{
	int i, dir;

	for (i = 0; i < 2; i++) {
		struct sent *x = it->x[i];

		if (!x || x->e.type != 'f')
			continue;
		if (clean(y, it, i)) {
			memcpy(x->e.hash, it->s->hash, HASH_LEN);
			x->e.has_hash = 1;
		} else if (i == y->ri) {
			it->pending = 1;
		} else {
			struct hashed h;

			side_hash(&y->sd[i].bn, it->path, 0, &h);
			take_hash(it, i, &h, y->sd[i].label);
		}
	}
	if (!it->pending)
		decide(y, it);
	if (!it->pending && (it->act == A_NONE || it->act == A_FORGET)) {
		if (it->act == A_NONE && y->settled) {
			struct srec r;

			make_record(&r, it->path, &it->x[0]->e, &it->x[0]->key, &it->x[1]->key);
			swriter_put(y->settled, &r);
		}
		item_release(it);
		return;
	}
	/* Kept: link it to its parent directory's item, when that is kept too. */
	while (y->depth && !path_is_within(y->it[y->stack[y->depth - 1]].path, it->path))
		y->depth--;
	it->parent = -1;
	if (y->depth) {
		const char *up = y->it[y->stack[y->depth - 1]].path;
		size_t plen = path_parent_len(it->path, strlen(it->path));

		if (strlen(up) == plen)
			it->parent = y->stack[y->depth - 1];
	}
	if ((y->n & (y->n - 1)) == 0)
		y->it = xrealloc(y->it, (y->n ? y->n * 2 : 1) * sizeof(*y->it));
	y->it[y->n] = *it;
	dir = (it->x[0] && it->x[0]->e.type == 'd') || (it->x[1] && it->x[1]->e.type == 'd') ||
	      (it->s && it->s->type == 'd');
	if (dir)
		y->stack[y->depth++] = (long)y->n;
	y->n++;
}

/*
 * Merge the local scan, the server's listing and the old state, three
 * sorted streams, path by path. Returns 0 or an exit code.
 */
static int merge(struct sync *y)
{
	int code;

	y->stack = xmalloc(sizeof(long) * (MAX_PATH_LEN / 2 + 2));
	if (y->sd[y->li].root_fd >= 0)
		y->lscan = scan_open(y->sd[y->li].root_fd, y->o->excludes, 0);
	local_next(y);
	code = remote_next(y);
	if (!code && state_next(y))
		code = EXIT_STATE;
	while (!code && (y->lhave || y->rhave || y->shave)) {
		struct sent *heads[2] = { NULL, NULL };
		const char *p = NULL;
		struct item it;

		heads[y->li] = y->lhave ? &y->lcur : NULL;
		heads[y->ri] = y->rhave ? &y->rcur : NULL;
		if (heads[0])
			p = heads[0]->e.path;
		if (heads[1] && (!p || path_cmp(heads[1]->e.path, p) < 0))
			p = heads[1]->e.path;
		if (y->shave && (!p || path_cmp(y->scur.path, p) < 0))
			p = y->scur.path;
		memset(&it, 0, sizeof(it));
		it.path = xstrdup(p);
		if (heads[0] && !strcmp(heads[0]->e.path, it.path))
			it.x[0] = take_sent(heads[0]);
		if (heads[1] && !strcmp(heads[1]->e.path, it.path))
			it.x[1] = take_sent(heads[1]);
		if (y->shave && !strcmp(y->scur.path, it.path)) {
			it.s = xmalloc(sizeof(*it.s));
			*it.s = y->scur;
			it.s->path = xstrdup(y->scur.path);
			it.s->target = y->scur.target ? xstrdup(y->scur.target) : NULL;
			if (state_next(y))
				code = EXIT_STATE;
		}
		if (it.x[y->li]) {
			y->sd[y->li].entries++;
			y->sd[y->li].nondirs += it.x[y->li]->e.type != 'd';
			local_next(y);
		}
		if (it.x[y->ri]) {
			y->sd[y->ri].entries++;
			y->sd[y->ri].nondirs += it.x[y->ri]->e.type != 'd';
			code = code ? code : remote_next(y);
		}
		add_path(y, &it);
	}
	if (y->lscan && scan_errors(y->lscan))
		y->code = exit_worse(y->code, EXIT_PARTIAL);
	scan_close(y->lscan);
	y->lscan = NULL;
	if (y->lhave)
		entry_release(&y->lcur.e);
	if (y->rhave)
		entry_release(&y->rcur.e);
	y->lhave = y->rhave = 0;
	return code;
}

/* The server's hashes of the kept files that need one, then their decisions. */
static int remote_hashes(struct sync *y)
{
	char **paths = xmalloc(sizeof(char *) * (y->n + 1));
	size_t *idx = xmalloc(sizeof(size_t) * (y->n + 1)), n = 0, k;
	struct hashed *h;
	int code;

	for (k = 0; k < y->n; k++)
		if (y->it[k].pending) {
			paths[n] = y->it[k].path;
			idx[n++] = k;
		}
	h = xmalloc(sizeof(*h) * (n + 1));
	code = look(y, y->ri, paths, n, 0, h);
	for (k = 0; !code && k < n; k++) {
		struct item *it = &y->it[idx[k]];

		take_hash(it, y->ri, &h[k], y->sd[y->ri].label);
		it->pending = 0;
		decide(y, it);
	}
	free(h);
	free(idx);
	free(paths);
	return code;
}

/* ---- deciding ------------------------------------------------------------- */

/* Same type and content (hash, target); modes aside. */
static int same_content(const struct entry *a, const struct entry *b)
{
	if (a->type != b->type)
		return 0;
	if (a->type == 'f')
		return a->size == b->size && !memcmp(a->hash, b->hash, HASH_LEN);
	if (a->type == 'l')
		return !strcmp(a->target, b->target);
	return 1;
}

/* Side I's entry differs from the agreed one (absent counts). */
static int changed(const struct item *it, int i)
{
	const struct sent *x = it->x[i];
	const struct srec *s = it->s;

	if (!x || !s)
		return !!x != !!s;
	if (x->e.type != s->type)
		return 1;
	/* A file's mtime against its own side's record (never the other side's). */
	if (s->type == 'f')
		return x->e.size != s->size || memcmp(x->e.hash, s->hash, HASH_LEN) ||
		       x->e.mode != s->mode || x->e.mtime_sec != s->mtime_sec ||
		       x->e.mtime_nsec != s->mtime_nsec;
	if (s->type == 'l')
		return strcmp(x->e.target, s->target) != 0;
	return x->e.mode != s->mode;
}

static void decide_conflict(struct sync *y, struct item *it)
{
	const struct entry *a = &it->x[0]->e, *b = &it->x[1]->e;
	int prefer = y->o->prefer, winner;

	if (prefer != PREFER_NONE && a->type != 'd' && b->type != 'd') {
		int64_t d = a->mtime_sec != b->mtime_sec ? (a->mtime_sec > b->mtime_sec ? 1 : -1)
			    : a->mtime_nsec != b->mtime_nsec ? (a->mtime_nsec > b->mtime_nsec ? 1 : -1)
							     : 0;

		winner = prefer == PREFER_ROOT2 ? 1
			 : prefer == PREFER_NEWER ? (d < 0 ? 1 : 0)
			 : prefer == PREFER_OLDER ? (d > 0 ? 1 : 0)
						  : 0;
		it->act = A_COPY;
		it->to = 1 - winner;
		return;
	}
	if (is_conflict_name(path_base(it->path)) && a->type != 'd' && b->type != 'd') {
		/* A conflict copy never begets another: ROOT1's wins, the other is history. */
		it->act = A_COPY;
		it->to = 1;
		return;
	}
	it->act = A_CONFLICT;
	it->to = b->type == 'd' ? 0 : 1;	/* the loser: never the directory */
}

static void decide(struct sync *y, struct item *it)
{
	int c0, c1;

	if (it->act == A_SKIP)
		return;
	c0 = changed(it, 0);
	c1 = changed(it, 1);
	if (!c0 && !c1) {
		it->act = it->x[0] ? A_NONE : A_FORGET;
	} else if (c0 != c1) {
		int from = c0 ? 0 : 1, to = 1 - from;

		it->to = to;
		if (!it->x[from])
			it->act = A_DEL;
		else if (it->x[to] && same_content(&it->x[from]->e, &it->x[to]->e))
			it->act = A_META;
		else
			it->act = A_COPY;
	} else if (!it->x[0] && !it->x[1]) {
		it->act = A_FORGET;
	} else if (!it->x[0] || !it->x[1]) {
		/* Deleted on one side, changed on the other: the change wins. */
		it->act = A_COPY;
		it->to = it->x[0] ? 1 : 0;
	} else if (same_content(&it->x[0]->e, &it->x[1]->e)) {
		/* Adopted: no content moves; ROOT1's mode (and a file's mtime) win. */
		const struct entry *a = &it->x[0]->e, *b = &it->x[1]->e;

		it->act = (a->type != 'l' && a->mode != b->mode) ||
				  (a->type == 'f' && (a->mtime_sec != b->mtime_sec ||
						      a->mtime_nsec != b->mtime_nsec))
			  ? A_META : A_NONE;
		it->to = 1;
	} else {
		decide_conflict(y, it);
	}
}

/* What side I holds at IT's path once the pass is done: a type, or 0. */
static char after(const struct item *it, int i)
{
	switch (it->act) {
	case A_COPY:
		return it->to == i ? it->x[1 - i]->e.type : it->x[i]->e.type;
	case A_DEL:
		return it->to == i ? 0 : it->x[i] ? it->x[i]->e.type : 0;
	case A_CONFLICT:
		return it->x[1 - it->to]->e.type;
	case A_FORGET:
		return 0;
	default:
		return it->x[i] ? it->x[i]->e.type : 0;
	}
}

/*
 * A directory something below must stay in, on a side where the plan would
 * remove it or put a non-directory there, is kept (or brought back), or,
 * against a non-directory, becomes a conflict. Children come before their
 * parent in reverse listing order, so one backward walk settles all.
 */
static void keep_parents(struct sync *y)
{
	size_t k;

	for (k = y->n; k-- > 0;) {
		struct item *it = &y->it[k];
		int i;

		for (i = 0; i < 2; i++) {
			int dir;

			if (!it->need_dir[i] || after(it, i) == 'd')
				continue;
			dir = it->x[i] && it->x[i]->e.type == 'd' ? i
			      : it->x[1 - i] && it->x[1 - i]->e.type == 'd' ? 1 - i : -1;
			if (dir < 0)
				continue;	/* cannot happen: a child has a directory above it */
			if (it->x[1 - dir] && it->x[1 - dir]->e.type != 'd') {
				it->act = A_CONFLICT;
				it->to = 1 - dir;
			} else {
				it->act = A_COPY;
				it->to = 1 - dir;
			}
		}
		if (it->parent >= 0)
			for (i = 0; i < 2; i++)
				if (after(it, i))
					y->it[it->parent].need_dir[i] = 1;
	}
	/* Below a directory that wins a conflict against a file, nothing is deleted on
	 * the directory's side: it all goes to the other side. */
	for (k = 0; k < y->n; k++) {
		struct item *it = &y->it[k];
		long p;

		for (p = it->parent; p >= 0; p = y->it[p].parent) {
			struct item *up = &y->it[p];

			if (up->act == A_CONFLICT && it->act == A_DEL && it->to == 1 - up->to) {
				it->act = A_COPY;
				it->to = up->to;
				break;
			}
		}
	}
}

/* ---- reporting --------------------------------------------------------------- */

static void say_item(struct sync *y, const struct item *it)
{
	static const char *const arrow[2] = { "<", ">" };
	int show = y->o->verbosity >= 2 || ((y->o->flags & OPT_DRY_RUN) && y->o->verbosity >= 1) ||
		   (y->o->flags & OPT_ITEMIZE);

	if (!show)
		return;
	switch (it->act) {
	case A_COPY:
		output("%s %s%s", arrow[it->to], it->path,
		       it->x[1 - it->to]->e.type == 'd' ? "/" : "");
		break;
	case A_META:
		output("%s %s (mode)", arrow[it->to], it->path);
		break;
	case A_DEL:
		output("%sdel %s%s", arrow[it->to], it->path, it->x[it->to]->e.type == 'd' ? "/" : "");
		break;
	case A_CONFLICT:
		output("conflict %s", it->path);
		break;
	default:
		break;
	}
}

/* ---- safety -------------------------------------------------------------------- */

static int safety(struct sync *y)
{
	uint64_t dels[2] = { 0, 0 };
	size_t k;
	int i;

	for (i = 0; i < 2; i++)
		if (!y->first && y->old_n && y->sd[i].entries == 0)
			return error("%s %s is empty, but the last pass left %llu entries in it: is a "
				     "disk not mounted? Nothing was changed (give --resync to start "
				     "over from both sides as they are)", y->sd[i].label,
				     y->sd[i].arg, (unsigned long long)y->old_n), EXIT_ROOTS;
	for (k = 0; k < y->n; k++)
		if (y->it[k].act == A_DEL && y->it[k].x[y->it[k].to]->e.type != 'd')
			dels[y->it[k].to]++;
	for (i = 0; i < 2; i++)
		if (dels[i] && dels[i] * 100 > (uint64_t)y->o->max_delete * y->sd[i].nondirs)
			return error("this pass would delete %llu of the %llu files in %s %s, more than "
				     "--max-delete %u%%; nothing was changed (check the other side, "
				     "then run again with a higher --max-delete)",
				     (unsigned long long)dels[i], (unsigned long long)y->sd[i].nondirs,
				     y->sd[i].label, y->sd[i].arg, y->o->max_delete), EXIT_MAX_DELETE;
	return 0;
}

/* ---- applying ----------------------------------------------------------------- */

/* A path of the pass's work list (binary search: it is in listing order). */
static int is_work_path(const struct sync *y, const char *path)
{
	size_t lo = 0, hi = y->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = path_cmp(y->it[mid].path, path);

		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* IT's conflict copy name, the Nth try; 0, or -1 (reported, IT skipped). */
static int pick_name(struct sync *y, struct item *it, unsigned *n)
{
	for (;;) {
		free(it->cname);
		it->cname = conflict_name(it->path, y->sd[it->to].hostname, &y->start, *n);
		if (!it->cname || *n > 100) {
			error("%s: a conflict, but no free name for its conflict copy; left as it is",
			      it->path);
			it->act = A_SKIP;
			y->code = exit_worse(y->code, EXIT_PARTIAL);
			return -1;
		}
		if (!is_work_path(y, it->cname))
			return 0;
		(*n)++;
	}
}

/*
 * One round of RENAMEs on the server for the items at IDX; *RETRY gets
 * those whose new name was taken. Returns 0 or an exit code.
 */
static int remote_renames(struct sync *y, size_t *idx, size_t total, size_t *retry,
			  size_t *nretry)
{
	struct chan *c = &y->cn.c;
	struct buf b = BUF_INIT;
	size_t sent = 0, got = 0;

	*nretry = 0;
	chan_send(c, F_PHASE, (const uint8_t[]){ 1 }, 1);
	for (;;) {
		const unsigned char *p;
		size_t n;
		uint8_t t;
		int code, r;

		while (sent < total && sent - got < WINDOW) {
			struct item *it = &y->it[idx[sent]];

			buf_reset(&b);
			buf_put_u32(&b, (uint32_t)sent + 1);
			buf_put_str(&b, it->path, strlen(it->path));
			buf_put_str(&b, it->cname, strlen(it->cname));
			chan_send(c, F_RENAME, b.data, b.len);
			if (++sent == total) {
				chan_send(c, F_RENAME_END, NULL, 0);
				sent++;
			}
		}
		if (chan_recv(c, &t, &p, &n, 1) < 0) {
			buf_release(&b);
			return c->eof ? EXIT_CONNECTION : EXIT_PROTOCOL;
		}
		if (t == F_RENAMED && got < total) {
			struct rd rd;
			uint32_t id;
			uint8_t st;
			char *reason = NULL;

			rd_init(&rd, p, n);
			if (rd_u32(&rd, &id) || rd_u8(&rd, &st) ||
			    rd_cstr(&rd, &reason, 0, MAX_MSG_LEN) || rd_end(&rd) || id != got + 1 ||
			    st > 2) {
				free(reason);
				buf_release(&b);
				error("protocol error from the server: malformed RENAMED");
				return EXIT_PROTOCOL;
			}
			if (st == 2) {
				retry[(*nretry)++] = idx[got];
			} else if (st == 1) {
				error("%s: %s", y->sd[y->ri].label, reason);
				y->it[idx[got]].act = A_SKIP;
				y->code = exit_worse(y->code, EXIT_PARTIAL);
			}
			free(reason);
			got++;
		} else if (t == F_RENAME_END && got == total && n == 0) {
			break;
		} else {
			r = role_common_frame(t, p, n, &code);
			if (r <= 0) {
				if (r == 0)
					error("protocol error from the server: unexpected %s", frame_name(t));
				buf_release(&b);
				return r < 0 ? peer_code(code) : EXIT_PROTOCOL;
			}
		}
	}
	buf_release(&b);
	return 0;
}

/*
 * Rename each conflict's loser, on its own side, to its conflict copy
 * name; a name already taken (a conflict on the same path in the same
 * second) gets the next number.
 */
static int renames(struct sync *y)
{
	char why[WHYLEN];
	size_t k, total = 0, nretry;
	size_t *idx = xmalloc(sizeof(size_t) * (y->n + 1));
	size_t *retry = xmalloc(sizeof(size_t) * (y->n + 1));
	unsigned *tries = xmalloc(sizeof(unsigned) * (y->n + 1));
	int code = 0, dry = !!(y->o->flags & OPT_DRY_RUN);

	for (k = 0; k < y->n; k++) {
		struct item *it = &y->it[k];

		tries[k] = 1;
		if (it->act != A_CONFLICT || pick_name(y, it, &tries[k]))
			continue;
		if (it->to == y->ri) {
			idx[total++] = k;
			continue;
		}
		while (!dry && side_rename(&y->sd[it->to].bn, it->path, it->cname, why, sizeof(why))) {
			beneath_forget(&y->sd[it->to].bn);
			if (errno != EEXIST) {
				error("%s: %s", y->sd[it->to].label, why);
				it->act = A_SKIP;
				y->code = exit_worse(y->code, EXIT_PARTIAL);
				break;
			}
			tries[k]++;
			if (pick_name(y, it, &tries[k]))
				break;
		}
		beneath_forget(&y->sd[it->to].bn);
	}
	while (!dry && !code && total) {
		code = remote_renames(y, idx, total, retry, &nretry);
		total = 0;
		for (k = 0; !code && k < nretry; k++) {
			tries[retry[k]]++;
			if (!pick_name(y, &y->it[retry[k]], &tries[retry[k]]))
				idx[total++] = retry[k];
		}
	}
	free(tries);
	free(retry);
	free(idx);
	return code;
}

static int cmp_plan(const void *a, const void *b)
{
	return path_cmp(((const struct plan_item *)a)->path, ((const struct plan_item *)b)->path);
}

/* What goes to side I: listed by the other side's sender. */
static void build_plan(struct sync *y, int i, struct plan *pl)
{
	size_t k;

	for (k = 0; k < y->n; k++) {
		struct item *it = &y->it[k];

		if (it->act == A_COPY && it->to == i)
			plan_add(pl, it->path, PLAN_CONTENT, it->x[1 - i]->e.type);
		else if (it->act == A_META && it->to == i)
			plan_add(pl, it->path, PLAN_META, it->x[1 - i]->e.type);
		else if (it->act == A_DEL && it->to == i)
			plan_add(pl, it->path, PLAN_DELETE, it->x[i]->e.type);
		else if (it->act == A_CONFLICT && it->to == i)
			plan_add(pl, it->path, PLAN_CONTENT, it->x[1 - i]->e.type);
		else if (it->act == A_CONFLICT && it->to == 1 - i)
			plan_add(pl, it->cname, PLAN_CONTENT, it->x[1 - i]->e.type);
	}
	if (pl->n)
		qsort(pl->v, pl->n, sizeof(*pl->v), cmp_plan);
}

/* Run one transfer phase: side I receives PL. */
static int transfer(struct sync *y, int i, struct plan *pl)
{
	struct role_args ra;
	struct stats st;
	struct chan *c = &y->cn.c;
	struct buf b = BUF_INIT;
	size_t k;
	int code;

	if (!pl->n)
		return 0;
	memset(&ra, 0, sizeof(ra));
	ra.c = c;
	ra.root_fd = y->sd[y->li].root_fd;
	ra.root_name = y->sd[y->li].label;
	ra.flags = y->o->flags & (OPT_DRY_RUN | OPT_NO_HISTORY);
	ra.ex = y->o->excludes;
	ra.in_client = 1;
	/* Both roots on this machine: a delta saves no bytes anyone pays for. */
	ra.whole = !y->sd[y->ri].host;
	if (i == y->ri) {
		chan_send(c, F_PHASE, (const uint8_t[]){ 2 }, 1);
		ra.plan = pl;
		code = sender_run(&ra, &st);
	} else {
		chan_send(c, F_PHASE, (const uint8_t[]){ 3 }, 1);
		/* Its last syncfs comes with the new state's, after the other phase. */
		ra.after = &y->after;
		for (k = 0; k < pl->n; k++) {
			buf_reset(&b);
			buf_put_u8(&b, pl->v[k].op);
			buf_put_u8(&b, (uint8_t)pl->v[k].type);
			buf_put_str(&b, pl->v[k].path, strlen(pl->v[k].path));
			chan_send(c, F_PLANENT, b.data, b.len);
			if (chan_pending(c) > (1u << 20) && chan_flush(c, 1))
				break;
		}
		buf_reset(&b);
		buf_put_u64(&b, pl->n);
		chan_send(c, F_PLAN_END, b.data, b.len);
		ra.sync = 1;
		ra.plan = pl;	/* what the sender may list */
		code = receiver_run(&ra, &st);
	}
	buf_release(&b);
	return code;
}

/* ---- the new state ------------------------------------------------------------- */

/* Side I's look at a path agrees with the version E. */
static int agrees(const struct hashed *h, const struct entry *e)
{
	if (h->status != HASH_STATUS_OK || h->type != e->type)
		return 0;
	if (e->type == 'd')
		return h->mode == e->mode;
	if (e->type == 'l')
		return h->key.size == e->size;
	return h->key.size == e->size && h->mode == e->mode && h->key.mtime_sec == e->mtime_sec &&
	       h->key.mtime_nsec == e->mtime_nsec;
}

/* The key to keep for side I: the one seen now if it is the hashed one. */
static const struct skey *keep_key(const struct sent *x, const struct hashed *h)
{
	const struct skey *k = &x->key;

	if (x->e.type != 'f')
		return k;
	if (h && (h->key.ino != k->ino || h->key.ctime_sec != k->ctime_sec ||
		  h->key.ctime_nsec != k->ctime_nsec || h->key.mtime_sec != k->mtime_sec ||
		  h->key.mtime_nsec != k->mtime_nsec || h->key.size != k->size))
		return NULL;
	return k;
}

struct look {
	const char *path;
	const struct entry *e;	/* the version both sides should hold; NULL: none */
	struct hashed h[2];
	const struct sent *kept;	/* the side that kept its copy (its hash key), or NULL */
	int kept_side;
	const struct srec *old;
};

static int cmp_rec(const void *a, const void *b)
{
	return path_cmp(((const struct srec *)a)->path, ((const struct srec *)b)->path);
}

/* The syncfs the local receiver left to the pass; 0, or -1 (said). */
static int settle_received(struct sync *y)
{
	int r = durable_sync(&y->after);

	durable_release(&y->after);
	return r;
}

/*
 * Look at both sides again where the pass changed something and record
 * what they now agree on; where they do not (a failure, or a change during
 * the pass) the old record stays, with its keys dropped, so the next pass
 * decides again from the same ground and hashes what it must. These
 * records and the settled ones, merged in order, are the new state.
 */
static int new_state(struct sync *y)
{
	struct look *lk = xmalloc(sizeof(*lk) * (2 * y->n + 1));
	struct srec *wr = xmalloc(sizeof(*wr) * (2 * y->n + 1));
	struct sreader *rd = NULL;
	struct swriter *w;
	struct srec sr;
	size_t nl = 0, nw = 0, k, a = 0, i;
	int side, code = 0, more;
	char *tmp;

	for (k = 0; k < y->n; k++) {
		struct item *it = &y->it[k];
		struct look *l = &lk[nl];

		if (it->act == A_NONE) {
			make_record(&wr[nw++], it->path, &it->x[0]->e, &it->x[0]->key,
				    &it->x[1]->key);
			continue;
		}
		if (it->act == A_SKIP && it->s) {
			wr[nw] = *it->s;
			memset(wr[nw++].side, 0, sizeof(wr[0].side));
			continue;
		}
		if (it->act == A_FORGET || it->act == A_SKIP)
			continue;
		memset(l, 0, sizeof(*l));
		l->path = it->path;
		l->old = it->s;
		l->kept_side = -1;
		if (it->act == A_DEL) {
			l->e = NULL;
		} else if (it->act == A_CONFLICT) {
			struct look *c = &lk[++nl];

			l->e = &it->x[1 - it->to]->e;
			l->kept = it->x[1 - it->to];
			l->kept_side = 1 - it->to;
			memset(c, 0, sizeof(*c));
			c->path = it->cname;
			c->e = &it->x[it->to]->e;
			c->kept_side = -1;
		} else {
			int from = 1 - it->to;

			l->e = &it->x[from]->e;
			if (it->act == A_COPY) {
				l->kept = it->x[from];
				l->kept_side = from;
			}
		}
		nl++;
	}
	for (side = 0; side < 2 && !code; side++) {
		char **paths = xmalloc(sizeof(char *) * (nl + 1));
		struct hashed *h = xmalloc(sizeof(*h) * (nl + 1));

		for (k = 0; k < nl; k++)
			paths[k] = (char *)lk[k].path;
		code = look(y, side, paths, nl, 1, h);
		for (k = 0; !code && k < nl; k++)
			lk[k].h[side] = h[k];
		free(h);
		free(paths);
	}
	for (k = 0; !code && k < nl; k++) {
		struct look *l = &lk[k];
		int ok = 1;

		for (i = 0; i < 2; i++)
			ok = ok && (l->e ? agrees(&l->h[i], l->e)
					 : l->h[i].status == HASH_STATUS_MISSING);
		if (ok && l->e) {
			const struct skey *kk[2] = { &l->h[0].key, &l->h[1].key };

			if (l->kept)
				kk[l->kept_side] = keep_key(l->kept, &l->h[l->kept_side]);
			make_record(&wr[nw++], l->path, l->e, kk[0], kk[1]);
		} else if (!ok && l->old) {
			wr[nw] = *l->old;
			memset(wr[nw++].side, 0, sizeof(wr[0].side));
		}
	}
	free(lk);
	if (code) {
		free(wr);
		return code;
	}
	if (nw)
		qsort(wr, nw, sizeof(*wr), cmp_rec);

	/*
	 * Nothing to merge: the settled file, fsynced and checksummed like any
	 * state file, is the new state as it is. A pass with nothing to do
	 * no longer reads it back and writes it again (W5: 200,000 records).
	 */
	if (!nw) {
		free(wr);
		w = y->settled;
		y->settled = NULL;
		if (settle_received(y)) {
			swriter_abort(w);
			return EXIT_PARTIAL;
		}
		return swriter_finish(w, y->state_file) ? EXIT_PARTIAL : 0;
	}

	/* The settled records back, merged with these into the new file. */
	if (swriter_finish(y->settled, NULL) ||
	    sreader_open(y->settled_file, y->sd[0].canon, y->sd[1].canon, &rd)) {
		y->settled = NULL;
		free(wr);
		return EXIT_PARTIAL;
	}
	y->settled = NULL;
	tmp = xmalloc(strlen(y->state_file) + 8);
	sprintf(tmp, "%s.tmp", y->state_file);
	w = swriter_open(tmp, y->sd[0].canon, y->sd[1].canon, y->start.tv_sec);
	free(tmp);
	if (!w) {
		sreader_close(rd);
		free(wr);
		return EXIT_PARTIAL;
	}
	more = sreader_next(rd, &sr);
	while (more == 1 || a < nw) {
		if (more == 1 && (a == nw || path_cmp(sr.path, wr[a].path) < 0)) {
			swriter_put(w, &sr);
			more = sreader_next(rd, &sr);
		} else {
			swriter_put(w, &wr[a++]);
		}
	}
	sreader_close(rd);
	unlink(y->settled_file);
	free(wr);
	/*
	 * What this side received (renames, deletions, history) is durable
	 * before the state records it. Where the other side or the state file
	 * share its filesystem, their syncs have done most of this already.
	 */
	if (more < 0 || settle_received(y)) {
		swriter_abort(w);
		return EXIT_PARTIAL;
	}
	return swriter_finish(w, y->state_file) ? EXIT_PARTIAL : 0;
}

/* ---- the pass ------------------------------------------------------------------ */

static int open_local(struct sync *y)
{
	struct side *s = &y->sd[y->li];

	s->root_fd = open(s->canon, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0 && errno == ENOENT && y->first && !(y->o->flags & OPT_DRY_RUN)) {
		if (mkdir(s->canon, 0777) < 0)
			return error("%s %s: cannot create it: %s", s->label, s->arg, strerror(errno)),
			       EXIT_ROOTS;
		s->root_fd = open(s->canon, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (s->root_fd < 0 && !(errno == ENOENT && (y->o->flags & OPT_DRY_RUN)))
		return error("%s %s: %s", s->label, s->arg, strerror(errno)), EXIT_ROOTS;
	beneath_init(&s->bn, s->root_fd);
	return 0;
}

/* After the reason a root could not be opened: what that means for a pair with state. */
static void missing_root(const struct sync *y, int i)
{
	error("%s %s could not be opened (see above), but the last pass synced it: is a disk not "
	      "mounted? Nothing was changed", y->sd[i].label, y->sd[i].arg);
}

static void print_stats(const struct sync *y)
{
	output("Entries: %llu in %s, %llu in %s", (unsigned long long)y->sd[0].entries,
	       y->sd[0].label, (unsigned long long)y->sd[1].entries, y->sd[1].label);
	output("Copied to ROOT1: %llu, to ROOT2: %llu", (unsigned long long)y->copied[0],
	       (unsigned long long)y->copied[1]);
	output("Deleted in ROOT1: %llu, in ROOT2: %llu", (unsigned long long)y->deleted[0],
	       (unsigned long long)y->deleted[1]);
	output("Conflicts: %llu", (unsigned long long)y->conflicts);
	output("Bytes sent: %llu, received: %llu",
	       (unsigned long long)(y->connected ? y->cn.c.sent : 0),
	       (unsigned long long)(y->connected ? y->cn.c.received : 0));
}

static int run(struct sync *y)
{
	struct start st;
	struct plan pl[2] = { { 0 }, { 0 } };
	size_t k;
	int code, i;

	code = open_local(y);
	if (code == EXIT_ROOTS && !y->first)
		missing_root(y, y->li);
	if (code)
		return code;
	memset(&st, 0, sizeof(st));
	st.role = ROLE_SYNC;
	st.flags = (y->o->flags & OPT_DRY_RUN) | (y->first ? OPT_CREATE_ROOT : 0);
	st.root = y->sd[y->ri].host ? (*y->sd[y->ri].rpath ? y->sd[y->ri].rpath : (char *)".")
				    : y->sd[y->ri].canon;
	{
		/* Per-path lines come from the decisions here, not from the roles. */
		struct opts quiet = *y->o;

		if (quiet.verbosity > 1)
			quiet.verbosity = 1;
		code = session_open(&quiet, y->sd[y->ri].host, &st, &y->cn);
	}
	if (code == EXIT_ROOTS && !y->first)
		missing_root(y, y->ri);
	y->connected = 1;
	if (code)
		return code;
	y->reached = 1;
	if (!(y->o->flags & OPT_DRY_RUN)) {
		y->settled_file = xmalloc(strlen(y->state_file) + 16);
		sprintf(y->settled_file, "%s.settled", y->state_file);
		/* Its header is the new state's: when nothing changed it becomes the state. */
		y->settled = swriter_open(y->settled_file, y->sd[0].canon, y->sd[1].canon,
					  y->start.tv_sec);
		if (!y->settled)
			return EXIT_STATE;
		/* Read back and removed before the pass ends: never worth an fsync. */
		swriter_scratch(y->settled);
	}
	code = merge(y);
	if (!code)
		code = remote_hashes(y);
	if (code)
		return code;
	keep_parents(y);
	code = safety(y);
	if (code)
		return code;
	for (k = 0; k < y->n; k++) {
		struct item *it = &y->it[k];

		say_item(y, it);
		if (it->act == A_COPY || it->act == A_CONFLICT)
			y->copied[it->to]++;
		if (it->act == A_CONFLICT)
			y->copied[1 - it->to]++, y->conflicts++;
		if (it->act == A_DEL)
			y->deleted[it->to]++;
	}
	code = renames(y);
	if (code)
		return code;
	report_setup(0, y->o->verbosity > 1 ? 1 : y->o->verbosity);
	for (i = 0; i < 2 && !code; i++) {
		build_plan(y, i, &pl[i]);
		if (!(y->o->flags & OPT_DRY_RUN))
			code = exit_worse(code, transfer(y, i, &pl[i]));
	}
	report_setup(0, y->o->verbosity);
	plan_release(&pl[0]);
	plan_release(&pl[1]);
	if (code == EXIT_CONNECTION || code == EXIT_PROTOCOL || code == EXIT_TIMEOUT ||
	    code == EXIT_SIGNAL)
		return code;
	y->code = exit_worse(y->code, code);
	for (k = 0; k < y->n; k++) {
		struct item *it = &y->it[k];

		if (it->act == A_CONFLICT)
			warning("conflict: %s changed on both sides; %s's version is kept as %s on both",
				it->path, y->sd[it->to].label, it->cname);
	}
	if (!(y->o->flags & OPT_DRY_RUN)) {
		code = new_state(y);
		if (code == EXIT_PARTIAL)
			y->code = exit_worse(y->code, code);
		else if (code)
			return code;
	}
	chan_send(&y->cn.c, F_PHASE, (const uint8_t[]){ 0 }, 1);
	for (;;) {
		const unsigned char *p;
		size_t n;
		uint8_t t;
		int c, r;

		if (chan_recv(&y->cn.c, &t, &p, &n, 1) < 0)
			return y->cn.c.eof ? EXIT_CONNECTION : EXIT_PROTOCOL;
		if (t == F_DONE) {
			struct stats dummy;
			uint8_t rc;

			if (done_decode(p, n, &rc, &dummy) || peer_code(rc) != rc)
				return error("protocol error from the server: malformed DONE"),
				       EXIT_PROTOCOL;
			y->code = exit_worse(y->code, rc);
			break;
		}
		r = role_common_frame(t, p, n, &c);
		if (r <= 0)
			return r < 0 ? peer_code(c)
				     : (error("protocol error from the server: unexpected %s",
					      frame_name(t)), EXIT_PROTOCOL);
	}
	return 0;
}

/* One sync pass; *REACHED: the server answered READY. */
static int sync_once(const struct opts *o, const char *root1, const char *root2,
		     struct runcounts *out, int *reached)
{
	struct sync y;
	int code, lock = -1, busy, i, r;

	memset(&y, 0, sizeof(y));
	durable_init(&y.after);
	y.o = o;
	y.next_hash_id = 1;
	clock_gettime(CLOCK_REALTIME, &y.start);
	code = setup_sides(&y, root1, root2);
	if (code)
		goto out;
	y.state_file = o->state ? xstrdup(o->state)
				: state_default_path(y.sd[0].canon, y.sd[1].canon);
	lock = state_lock(y.state_file, o->lock_wait, &busy);
	if (lock < 0) {
		code = busy ? EXIT_LOCKED : EXIT_STATE;
		goto out;
	}
	session_not_for_server(lock);
	r = o->resync ? 1 : sreader_open(y.state_file, y.sd[0].canon, y.sd[1].canon, &y.old);
	if (r < 0) {
		code = EXIT_STATE;
		goto out;
	}
	y.first = r == 1;
	if (y.first && !o->resync && o->verbosity >= 2)
		verbose("no state for this pair yet (%s): a first pass, which deletes nothing",
			y.state_file);
	y.old_scan_start = y.first ? y.start.tv_sec : sreader_scan_start(y.old);
	code = run(&y);
	code = exit_worse(code, y.code);
	if (o->stats)
		print_stats(&y);
	if (out) {
		out->known = 1;
		out->s.files = y.sd[0].entries + y.sd[1].entries;
		out->s.transferred = y.copied[0] + y.copied[1];
		out->s.deleted = y.deleted[0] + y.deleted[1];
		out->conflicts = y.conflicts;
		out->wire_known = y.connected;
		out->wire_sent = y.connected ? y.cn.c.sent : 0;
		out->wire_received = y.connected ? y.cn.c.received : 0;
	}
	if (code == EXIT_OK && y.conflicts)
		code = EXIT_CONFLICTS;
out:
	/* No new state was written (a failure): what was received is made durable all the same. */
	if (y.after.n && settle_received(&y))
		code = exit_worse(code, EXIT_PARTIAL);
	if (y.connected)
		code = session_close(&y.cn, code);
	if (lock >= 0)
		close(lock);
	for (i = 0; i < 2; i++) {
		if (y.sd[i].root_fd >= 0) {
			beneath_release(&y.sd[i].bn);
			close(y.sd[i].root_fd);
		}
		free(y.sd[i].canon);
		free(y.sd[i].host);
		free(y.sd[i].rpath);
	}
	for (size_t k = 0; k < y.n; k++)
		item_release(&y.it[k]);
	free(y.it);
	free(y.stack);
	order_release(&y.rord);
	sreader_close(y.old);
	if (y.settled)
		swriter_abort(y.settled);
	else if (y.settled_file)
		unlink(y.settled_file);
	free(y.settled_file);
	free(y.state_file);
	*reached = y.reached;
	return code;
}

int client_sync(const struct opts *o, const char *root1, const char *root2,
		struct runcounts *out)
{
	return session_retry(o, sync_once, root1, root2, out);
}

/* ---- shelter conflicts ------------------------------------------------------------ */

int client_conflicts(const struct opts *o, const char *root)
{
	struct listing l = { 0 };
	size_t k, found = 0;
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return error("%s: %s", root, strerror(errno)), EXIT_ROOTS;
	listing_scan(fd, o->excludes, 1, &l);
	for (k = 0; k < l.n; k++)
		if (is_conflict_name(path_base(l.v[k].e.path))) {
			printf("%s\n", l.v[k].e.path);
			found++;
		}
	listing_release(&l);
	close(fd);
	return found ? EXIT_CONFLICTS : EXIT_OK;
}

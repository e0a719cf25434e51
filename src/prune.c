/*
 * prune.c - DEST/.shelter/passes and shelter prune; see prune.h. The rules
 * and the order of the changes are in doc/history.md ("Prune").
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <popt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "bounds.h"
#include "chan.h"
#include "buf.h"
#include "durable.h"
#include "escape.h"
#include "exitcode.h"
#include "histindex.h"
#include "log.h"
#include "path.h"
#include "opts.h"
#include "proto.h"
#include "prune.h"
#include "remote.h"
#include "retention.h"
#include "runlog.h"
#include "session.h"

#define PASSES_HEADER "shelter-passes 1\n"
#define INDEX_HEADER "shelter-history 1\n"

/* DEST/.shelter/lock, locked with OP (LOCK_EX, maybe | LOCK_NB); -1 with errno. */
static int take_lock(int sh_fd, int op)
{
	int fd = openat(sh_fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	while (flock(fd, op) < 0) {
		if (errno != EINTR) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
	}
	return fd;
}

int passes_recorded(int code)
{
	return code == EXIT_OK || code == EXIT_PARTIAL || code == EXIT_VANISHED ||
	       code == EXIT_CHANGING;
}

int passes_append(int dest_fd, const char *pass, int code)
{
	struct timespec end;
	char line[128];
	int sh, lk, fd, ret = 0;
	struct stat st;

	if (!passes_recorded(code))
		return 0;
	sh = mkdir_beneath(dest_fd, ".shelter", 0700);
	if (sh < 0)
		return error("cannot create DEST/.shelter to record the pass: %s (retention "
			     "will not know this pass; make DEST writable)", strerror(errno));
	lk = take_lock(sh, LOCK_EX);
	if (lk < 0) {
		error("cannot lock DEST/.shelter/lock: %s", strerror(errno));
		close(sh);
		return -1;
	}
	fd = openat(sh, "passes", O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = error("cannot open DEST/.shelter/passes: %s (retention will not know this "
			    "pass)", strerror(errno));
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &end);
	snprintf(line, sizeof(line), "%s\t%lld.%09ld\t%d\n", pass, (long long)end.tv_sec,
		 (long)end.tv_nsec, code);
	if ((st.st_size == 0 && write_all(fd, PASSES_HEADER, strlen(PASSES_HEADER))) ||
	    write_all(fd, line, strlen(line)) || fsync(fd) ||
	    (st.st_size == 0 && fsync(sh)))
		ret = error("cannot write DEST/.shelter/passes: %s (retention will not know this "
			    "pass)", strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	close(lk);
	close(sh);
	return ret;
}

/* ---- options ------------------------------------------------------------ */

int keep_option(struct keep_rules *r, const char *opt, const char *arg)
{
	static const char *const counts[] = {
		"--keep-last", "--keep-daily", "--keep-weekly", "--keep-monthly"
	};
	unsigned *field[] = { &r->last, &r->daily, &r->weekly, &r->monthly };
	size_t i;

	for (i = 0; i < 4; i++) {
		char *end;
		unsigned long v;

		if (strcmp(opt, counts[i]))
			continue;
		errno = 0;
		v = strtoul(arg, &end, 10);
		if (!*arg || *end || errno || arg[0] == '-' || arg[0] == '+' || v == 0 ||
		    v > MAX_KEEP) {
			fprintf(stderr, "shelter: %s '%s': give a whole number from 1 to %u\n"
				"Try 'shelter --help' for more information.\n", opt, arg, MAX_KEEP);
			return -1;
		}
		*field[i] = (unsigned)v;
		return 0;
	}
	if (!strcmp(opt, "--keep-within")) {
		struct timespec now = { (time_t)1 << 40, 0 }, then;
		size_t nd = strspn(arg, "0123456789");
		char why[200] = "";

		if (nd == 0 || !arg[nd] || arg[nd + 1] || !strchr("smhdw", arg[nd]) ||
		    parse_when(arg, &now, &then, why, sizeof(why)) || then.tv_sec == now.tv_sec ||
		    (unsigned long long)(now.tv_sec - then.tv_sec) > MAX_KEEP_WITHIN) {
			fprintf(stderr, "shelter: --keep-within '%s': %s\nTry 'shelter --help' for "
				"more information.\n", arg, why[0] ? why : "give a duration up to 100 "
				"years: a number from 1 and one unit, s, m (minutes), h, d or w, as in "
				"30d or 2w");
			return -1;
		}
		r->has_within = 1;
		r->within = (long long)(now.tv_sec - then.tv_sec);
		return 0;
	}
	return 1;
}

/* ---- reading passes and pass folders ------------------------------------ */

/* A pass name, YYYYMMDDTHHMMSS.NNNNNNNNNZ, as a time; -1 if it is not one. */
static int pass_time(const char *s, struct timespec *ts)
{
	struct tm tm;
	size_t i;

	if (strlen(s) != 26 || s[8] != 'T' || s[15] != '.' || s[25] != 'Z')
		return -1;
	for (i = 0; i < 25; i++)
		if (i != 8 && i != 15 && (s[i] < '0' || s[i] > '9'))
			return -1;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d%2d%2dT%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec) != 6 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	ts->tv_sec = timegm(&tm);
	ts->tv_nsec = atol(s + 16);
	return 0;
}

/* "SECONDS.NNNNNNNNN" (as in the index); -1 if malformed. */
static int parse_stamp(const char *s, size_t n, struct timespec *ts)
{
	char buf[64], *end;
	long long sec;
	size_t i;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	end = strchr(buf, '.');
	if (!end || strlen(end + 1) != 9 || end == buf)
		return -1;
	for (i = 0; buf + i < end; i++)
		if ((buf[i] < '0' || buf[i] > '9') && !(i == 0 && buf[i] == '-' && end > buf + 1))
			return -1;
	for (i = 1; i <= 9; i++)
		if (end[i] < '0' || end[i] > '9')
			return -1;
	errno = 0;
	sec = strtoll(buf, NULL, 10);
	if (errno)
		return -1;
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = atol(end + 1);
	return 0;
}

struct pline {			/* one line of passes */
	char *text;		/* without its LF */
	int valid;
	char pass[27];
	struct timespec end;
};

struct snapinfo {		/* one snapshot */
	const char *pass;	/* borrowed: a pline's or a folder name */
	struct timespec t;
	size_t line;		/* its pline, or (size_t)-1 for a folder-only one */
};

struct prune {
	int dest_fd, sh_fd, hist_fd;
	const char *dest;
	int dry, verbose;
	struct pline *lines;
	size_t nlines;
	int have_passes;
	char **folders;		/* history folder names, sorted */
	size_t nfolders;
	struct snapinfo *snaps;
	size_t nsnaps;
};

/* Read passes into P; -1 with an error when it is there but unusable. */
static int read_passes(struct prune *p)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t got;
	int fd = openat(p->sh_fd, "passes", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return error("%s/.shelter/passes: %s (nothing was pruned)", p->dest,
			     strerror(errno));
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return error("%s/.shelter/passes: %s", p->dest, strerror(errno));
	}
	p->have_passes = 1;
	while ((got = getline(&line, &cap, f)) > 0) {
		struct pline *pl;
		char *t1, *t2;

		lineno++;
		if (line[got - 1] == '\n')
			line[--got] = '\0';
		if (lineno == 1) {
			if (strcmp(line, "shelter-passes 1")) {
				free(line);
				fclose(f);
				return error("%s/.shelter/passes: not a version 1 passes file; nothing "
					     "was pruned (a newer shelter's? prune with that one)",
					     p->dest);
			}
			continue;
		}
		p->lines = xrealloc(p->lines, (p->nlines + 1) * sizeof(*p->lines));
		pl = &p->lines[p->nlines++];
		memset(pl, 0, sizeof(*pl));
		pl->text = xstrdup(line);
		t1 = strchr(line, '\t');
		t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (t1 && t2 && t1 - line == 26) {
			memcpy(pl->pass, line, 26);
			pl->pass[26] = '\0';
			if (pass_time(pl->pass, &pl->end) == 0 &&
			    parse_stamp(t1 + 1, (size_t)(t2 - t1 - 1), &pl->end) == 0 &&
			    t2[1] && strspn(t2 + 1, "0123456789") == strlen(t2 + 1))
				pl->valid = 1;
		}
		if (!pl->valid)
			warning("%s/.shelter/passes, line %zu: malformed (kept, not a snapshot)",
				p->dest, lineno);
	}
	free(line);
	if (ferror(f)) {
		fclose(f);
		return error("%s/.shelter/passes: %s (nothing was pruned)", p->dest,
			     strerror(errno));
	}
	fclose(f);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The history folder names (not the dot names prune and readers skip). */
static void read_folders(struct prune *p)
{
	DIR *d;
	struct dirent *de;
	int fd;

	if (p->hist_fd < 0)
		return;
	fd = dup(p->hist_fd);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);	/* a dup shares the offset of the last reading */
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		p->folders = xrealloc(p->folders, (p->nfolders + 1) * sizeof(*p->folders));
		p->folders[p->nfolders++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (p->nfolders)
		qsort(p->folders, p->nfolders, sizeof(*p->folders), cmp_str);
}

/* Snapshots: every valid passes line, and the folders older than the first. */
static void make_snaps(struct prune *p)
{
	struct timespec first = { 0, 0 };
	int have_first = 0;
	size_t i;

	for (i = 0; i < p->nlines; i++)
		if (p->lines[i].valid) {
			struct timespec st;

			pass_time(p->lines[i].pass, &st);
			if (!have_first || ts_cmp(&st, &first) < 0)
				first = st;
			have_first = 1;
		}
	p->snaps = xmalloc((p->nlines + p->nfolders + 1) * sizeof(*p->snaps));
	for (i = 0; i < p->nfolders; i++) {
		struct timespec t;

		if (pass_time(p->folders[i], &t) || (have_first && ts_cmp(&t, &first) >= 0))
			continue;
		p->snaps[p->nsnaps].pass = p->folders[i];
		p->snaps[p->nsnaps].t = t;
		p->snaps[p->nsnaps].line = (size_t)-1;
		p->nsnaps++;
	}
	for (i = 0; i < p->nlines; i++)
		if (p->lines[i].valid) {
			p->snaps[p->nsnaps].pass = p->lines[i].pass;
			p->snaps[p->nsnaps].t = p->lines[i].end;
			p->snaps[p->nsnaps].line = i;
			p->nsnaps++;
		}
}

/* ---- deciding ----------------------------------------------------------- */

/* Some kept snapshot time in [LO, HI) (LO NULL: minus infinity)? KT sorted. */
static int any_in(const struct timespec *kt, size_t nk, const struct timespec *lo,
		  const struct timespec *hi)
{
	size_t a = 0, b = nk;

	if (lo)
		while (a < b) {
			size_t m = a + (b - a) / 2;

			if (ts_cmp(&kt[m], lo) < 0)
				a = m + 1;
			else
				b = m;
		}
	return a < nk && ts_cmp(&kt[a], hi) < 0;
}

struct gone {			/* a version to remove */
	const struct hversion *v;
};

static int cmp_gone(const void *pa, const void *pb)
{
	const struct hversion *a = ((const struct gone *)pa)->v, *b = ((const struct gone *)pb)->v;
	int c = strcmp(a->pass, b->pass);

	if (c)
		return c;
	c = strcmp(a->path, b->path);
	if (c)
		return c;
	c = ts_cmp(&a->kept_at, &b->kept_at);
	if (c)
		return c;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return (int)a->event - (int)b->event;
}

static int cmp_ts(const void *a, const void *b)
{
	return ts_cmp(a, b);
}

/* ---- changing ----------------------------------------------------------- */

/* rm -r NAME in PARENT, no symlink followed. */
static int rm_rf(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int ret = 0;

	if (fd < 0) {
		if (errno == ENOTDIR || errno == ELOOP)
			return unlinkat(parent, name, 0);
		return errno == ENOENT ? 0 : -1;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		chan_tick();	/* a prune inside a pass: the peer waits for DONE */
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
			if (rm_rf(dirfd(d), de->d_name))
				ret = -1;
		} else if (unlinkat(dirfd(d), de->d_name, 0) && errno != ENOENT) {
			ret = -1;
		}
	}
	closedir(d);
	if (unlinkat(parent, name, AT_REMOVEDIR) && errno != ENOENT)
		ret = -1;
	return ret;
}

/* Write LEN bytes of DATA to DIR/NAME through DIR/TMP, fsynced, atomically. */
static int replace_file(int dir, const char *name, const char *tmp, const char *data,
			size_t len)
{
	int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) || fsync(fd)) {
		int e = errno;

		close(fd);
		unlinkat(dir, tmp, 0);
		errno = e;
		return -1;
	}
	close(fd);
	if (renameat(dir, tmp, dir, name)) {
		int e = errno;

		unlinkat(dir, tmp, 0);
		errno = e;
		return -1;
	}
	return fsync(dir);
}

/* One index record's identity: its type, event, kept_at and raw path. */
static int record_key(const char *line, struct hversion *k)
{
	const char *f[9];
	size_t nf = 0, plen;
	const char *p = line;

	f[nf++] = p;
	while (nf < 9 && (p = strchr(p, '\t'))) {
		p++;
		f[nf++] = p;
	}
	if (nf < 8 || f[1] - f[0] != 8 || f[2] - f[1] != 2)
		return -1;
	if (!strncmp(f[0], "changed\t", 8))
		k->event = HV_CHANGED;
	else if (!strncmp(f[0], "deleted\t", 8))
		k->event = HV_DELETED;
	else
		return -1;
	k->type = f[1][0];
	if (parse_stamp(f[6], (size_t)(f[7] - f[6] - 1), &k->kept_at))
		return -1;
	plen = nf == 9 ? (size_t)(f[8] - f[7] - 1) : strlen(f[7]);
	{
		char *esc = xstrndup(f[7], plen);

		k->path = unescape_bytes(esc, &plen);
		free(esc);
	}
	if (!k->path)
		return -1;
	if (strlen(k->path) != plen) {
		free(k->path);
		k->path = NULL;
		return -1;
	}
	return 0;
}

/* PATH is one of the N sorted strings KEPT. */
static int is_kept(char **kept, size_t n, const char *path)
{
	return n && bsearch(&path, kept, n, sizeof(*kept), cmp_str) != NULL;
}

/* Remove the GONE[0..N) versions of the folder PASS; counts into *EMPTIED. */
static int prune_folder(struct prune *p, const char *pass, struct gone *g, size_t n,
			int *emptied)
{
	char tmp[64], *line = NULL;
	struct buf keep = BUF_INIT;
	char **kept_paths = NULL;	/* of the records that stay, sorted */
	size_t nkp = 0, cap = 0, left = 0, i;
	ssize_t got;
	int fd, tree_fd, ret = 0, lineno = 0;
	int pass_fd = open_dir_at(p->hist_fd, pass);
	FILE *f;

	if (pass_fd < 0)
		return error("%s/.shelter/history/%s: %s", p->dest, pass, strerror(errno));
	fd = openat(pass_fd, "index", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		error("%s/.shelter/history/%s/index: %s", p->dest, pass, strerror(errno));
		if (fd >= 0)
			close(fd);
		close(pass_fd);
		return -1;
	}
	buf_put(&keep, INDEX_HEADER, strlen(INDEX_HEADER));
	while ((got = getline(&line, &cap, f)) > 0) {
		struct hversion k;
		struct gone key = { &k };
		int drop = 0;

		if (lineno++ == 0)
			continue;	/* the header, checked by hist_load */
		memset(&k, 0, sizeof(k));
		k.pass = (char *)pass;
		if (line[got - 1] == '\n')
			line[--got] = '\0';
		if (record_key(line, &k) == 0)
			drop = bsearch(&key, g, n, sizeof(*g), cmp_gone) != NULL;
		if (!drop) {
			buf_put(&keep, line, (size_t)got);
			buf_put(&keep, "\n", 1);
			left++;
			if (k.path) {
				kept_paths = xrealloc(kept_paths, (nkp + 1) * sizeof(*kept_paths));
				kept_paths[nkp++] = k.path;
				k.path = NULL;
			}
		}
		free(k.path);
	}
	if (ferror(f))
		ret = error("%s/.shelter/history/%s/index: %s", p->dest, pass, strerror(errno));
	fclose(f);
	free(line);
	if (ret)
		goto out;
	if (nkp)
		qsort(kept_paths, nkp, sizeof(*kept_paths), cmp_str);
	if (left == 0) {
		/* Nothing stays: out of the readers' sight; removed once every such
		 * rename is durable (prune_run: one fsync, then sweep). */
		snprintf(tmp, sizeof(tmp), ".prune-%s", pass);
		if (renameat(p->hist_fd, pass, p->hist_fd, tmp))
			ret = error("cannot rename %s/.shelter/history/%s: %s", p->dest, pass,
				    strerror(errno));
		else
			(*emptied)++;
		goto out;
	}
	/* The index first: a file no record names is never looked at. */
	if (replace_file(pass_fd, "index", ".index.tmp", (const char *)keep.data, keep.len)) {
		ret = error("cannot rewrite %s/.shelter/history/%s/index: %s (nothing of that "
			    "pass was removed)", p->dest, pass, strerror(errno));
		goto out;
	}
	tree_fd = open_dir_at(pass_fd, "tree");
	if (tree_fd >= 0) {
		struct beneath bn;

		beneath_init(&bn, tree_fd);
		for (i = 0; i < n; i++) {
			const char *base;
			int dfd;

			/* A directory goes below when empty; a path a record that stays
			 * names (the same path kept twice by one pass) stays. */
			if (g[i].v->type == 'd' || is_kept(kept_paths, nkp, g[i].v->path))
				continue;
			dfd = beneath_parent(&bn, g[i].v->path, &base);
			if (dfd >= 0 && unlinkat(dfd, base, 0) && errno != ENOENT) {
				error("cannot remove %s/.shelter/history/%s/tree/%s: %s", p->dest, pass,
				      g[i].v->path, strerror(errno));
				ret = -1;
			}
		}
		/* Then the directories left empty, deepest first, but not a kept one. */
		beneath_forget(&bn);
		for (i = n; i-- > 0;) {
			char *dir = xstrdup(g[i].v->path);
			size_t len = g[i].v->type == 'd' ? strlen(dir) : path_parent_len(dir, strlen(dir));

			while (len > 0) {
				const char *base;
				int dfd;

				dir[len] = '\0';
				if (is_kept(kept_paths, nkp, dir))
					break;
				dfd = beneath_parent(&bn, dir, &base);
				if (dfd < 0 || unlinkat(dfd, base, AT_REMOVEDIR))
					break;
				beneath_forget(&bn);
				len = path_parent_len(dir, len);
			}
			free(dir);
		}
		beneath_release(&bn);
		close(tree_fd);
	}
out:
	for (i = 0; i < nkp; i++)
		free(kept_paths[i]);
	free(kept_paths);
	buf_release(&keep);
	close(pass_fd);
	return ret;
}

/* passes without the forgotten snapshots' lines (KEEP: per line, stays). */
static int rewrite_passes(struct prune *p, const unsigned char *keep)
{
	struct buf b = BUF_INIT;
	size_t i;
	int ret = 0;

	buf_put(&b, PASSES_HEADER, strlen(PASSES_HEADER));
	for (i = 0; i < p->nlines; i++)
		if (keep[i]) {
			buf_put(&b, p->lines[i].text, strlen(p->lines[i].text));
			buf_put(&b, "\n", 1);
		}
	if (replace_file(p->sh_fd, "passes", "passes.tmp", (const char *)b.data, b.len))
		ret = error("cannot rewrite %s/.shelter/passes: %s (nothing was removed)", p->dest,
			    strerror(errno));
	buf_release(&b);
	return ret;
}

/* Leftovers of an interrupted prune. */
static void sweep(struct prune *p)
{
	DIR *d;
	struct dirent *de;
	int fd = dup(p->hist_fd);

	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, ".prune-", 7) && rm_rf(p->hist_fd, de->d_name))
			warning("cannot remove %s/.shelter/history/%s: %s", p->dest, de->d_name,
				strerror(errno));
	closedir(d);
}

static void release(struct prune *p)
{
	size_t i;

	for (i = 0; i < p->nlines; i++)
		free(p->lines[i].text);
	free(p->lines);
	for (i = 0; i < p->nfolders; i++)
		free(p->folders[i]);
	free(p->folders);
	free(p->snaps);
	if (p->hist_fd >= 0)
		close(p->hist_fd);
	if (p->sh_fd >= 0)
		close(p->sh_fd);
}

int prune_run(int dest_fd, const char *dest_name, const struct keep_rules *r, int dry,
	      int verbose)
{
	struct prune p;
	struct snap *s = NULL;
	struct timespec *kt = NULL, newest;
	struct hlist l;
	struct gone *g = NULL;
	unsigned char *line_keep = NULL;
	size_t i, j, nk = 0, ng = 0, nforgot = 0, nfolders = 0;
	unsigned long long bytes = 0;
	int lock = -1, rc = EXIT_OK, emptied = 0;
	const char *would = dry ? "would " : "";

	memset(&p, 0, sizeof(p));
	memset(&l, 0, sizeof(l));
	p.dest_fd = dest_fd;
	p.dest = dest_name;
	p.dry = dry;
	p.verbose = verbose;
	p.hist_fd = -1;
	p.sh_fd = open_dir_at(dest_fd, ".shelter");
	if (p.sh_fd < 0) {
		if (errno != ENOENT) {
			error("%s/.shelter: %s", dest_name, strerror(errno));
			return EXIT_DEST_IO;
		}
		output("prune %s: no history, nothing to prune", dest_name);
		return EXIT_OK;
	}
	if (!dry) {
		lock = take_lock(p.sh_fd, LOCK_EX | LOCK_NB);
		if (lock < 0) {
			int busy = errno == EWOULDBLOCK;

			error("%s/.shelter/lock: %s", dest_name, busy ? "another prune of this DEST "
			      "is running (try again when it is done)" : strerror(errno));
			release(&p);
			return busy ? EXIT_LOCKED : EXIT_DEST_IO;
		}
	}
	p.hist_fd = open_dir_at(p.sh_fd, "history");
	if (p.hist_fd < 0 && errno != ENOENT) {
		error("%s/.shelter/history: %s", dest_name, strerror(errno));
		rc = EXIT_DEST_IO;
		goto out;
	}
	if (read_passes(&p)) {
		rc = EXIT_DEST_IO;
		goto out;
	}
	read_folders(&p);
	make_snaps(&p);
	if (!p.nsnaps) {
		output("prune %s: no snapshots yet, nothing to prune", dest_name);
		goto out;
	}

	/* Which snapshots stay. */
	s = xmalloc(p.nsnaps * sizeof(*s));
	for (i = 0; i < p.nsnaps; i++) {
		s[i].t = p.snaps[i].t;
		s[i].id = i;
		s[i].keep = 0;
	}
	retention_apply(r, s, p.nsnaps);
	newest = s[0].t;
	kt = xmalloc(p.nsnaps * sizeof(*kt));
	line_keep = xmalloc(p.nlines + 1);
	for (i = 0; i < p.nlines; i++)
		line_keep[i] = 1;	/* malformed lines stay */
	for (i = 0; i < p.nsnaps; i++) {
		const struct snapinfo *si = &p.snaps[s[i].id];
		char when[64], why[128];

		iso_time(when, sizeof(when), &si->t, 0);
		if (s[i].keep) {
			kt[nk++] = si->t;
			retention_reasons(s[i].keep, why, sizeof(why));
			if (verbose)
				output("keep    %s  %s  (%s)", when, si->pass, why);
		} else {
			nforgot++;
			if (si->line != (size_t)-1)
				line_keep[si->line] = 0;
			output("%sforget %s  %s", would, when, si->pass);
		}
	}
	qsort(kt, nk, sizeof(*kt), cmp_ts);

	/* Which versions go: those no kept snapshot looks at. */
	hist_load(&l, dest_fd, "", 0);
	if (l.problems) {
		error("%s: %u problem%s reading the history (above); nothing was pruned (fix or "
		      "move aside what the warnings name, then prune again)", dest_name,
		      l.problems, l.problems == 1 ? "" : "s");
		rc = EXIT_DEST_IO;
		goto out;
	}
	g = xmalloc((l.n + 1) * sizeof(*g));
	for (i = 0; i < l.n;) {
		const struct timespec *prev = NULL;

		for (j = i; j < l.n && !strcmp(l.v[j].path, l.v[i].path); j++)
			;
		/* l.v[i..j): one path, kept versions by kept_at, then the current one. */
		while (i < j && l.v[i].pass) {
			size_t e = i;
			int need;

			while (e < j && l.v[e].pass && !ts_cmp(&l.v[e].kept_at, &l.v[i].kept_at))
				e++;
			need = ts_cmp(&l.v[i].kept_at, &newest) > 0 ||
			       any_in(kt, nk, prev, &l.v[i].kept_at);
			prev = &l.v[i].kept_at;
			for (; i < e; i++)
				if (!need) {
					g[ng++].v = &l.v[i];
					if (l.v[i].type == 'f')
						bytes += l.v[i].size;
				}
		}
		i = j;
	}
	if (ng)
		qsort(g, ng, sizeof(*g), cmp_gone);
	for (i = 0; i < ng; i++) {
		if (!i || strcmp(g[i].v->pass, g[i - 1].v->pass))
			nfolders++;
		if (verbose) {
			char *e = escape_bytes(g[i].v->path, strlen(g[i].v->path));

			output("%sremove %s/%s (%s, %llu bytes)", would, g[i].v->pass, e,
			       g[i].v->event == HV_CHANGED ? "changed" : "deleted",
			       (unsigned long long)g[i].v->size);
			free(e);
		}
	}
	if (!dry) {
		/* passes first: a crash then leaves only versions nobody needs. */
		if (nforgot && p.have_passes && rewrite_passes(&p, line_keep)) {
			rc = EXIT_DEST_IO;
			goto out;
		}
		for (i = 0; i < ng; i = j) {
			for (j = i; j < ng && !strcmp(g[j].v->pass, g[i].v->pass); j++)
				;
			chan_tick();
			if (prune_folder(&p, g[i].v->pass, g + i, j - i, &emptied))
				rc = EXIT_DEST_IO;
		}
		/* One fsync makes every rename to .prune-* durable before any removal. */
		if (p.hist_fd >= 0 && fsync(p.hist_fd)) {
			error("cannot fsync %s/.shelter/history: %s (the emptied pass folders stay "
			      "as .prune-*; the next prune removes them)", dest_name, strerror(errno));
			rc = EXIT_DEST_IO;
		} else if (p.hist_fd >= 0) {
			sweep(&p);
		}
	}
	if (dry)
		output("prune %s: dry run: %zu of %zu snapshots kept, %zu forgotten; %zu version%s "
		       "(%llu bytes) would be removed from %zu pass folder%s", dest_name, nk,
		       p.nsnaps, nforgot, ng, ng == 1 ? "" : "s", bytes, nfolders,
		       nfolders == 1 ? "" : "s");
	else
		output("prune %s: %zu of %zu snapshots kept, %zu forgotten; %zu version%s (%llu "
		       "bytes) removed from %zu pass folder%s, %d of them emptied and deleted",
		       dest_name, nk, p.nsnaps, nforgot, ng, ng == 1 ? "" : "s", bytes, nfolders,
		       nfolders == 1 ? "" : "s", emptied);
out:
	hist_release(&l);
	free(g);
	free(s);
	free(kt);
	free(line_keep);
	release(&p);
	if (lock >= 0)
		close(lock);
	return rc;
}

/* ---- the command -------------------------------------------------------- */

/* prune_run on the local directory DEST; an exit code. */
static int prune_dest(const char *dest, const struct keep_rules *r, int dry, int verbose)
{
	int fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0) {
		error("DEST %s: %s (nothing pruned)", dest, strerror(errno));
		return EXIT_ROOTS;
	}
	rc = prune_run(fd, dest, r, dry, verbose);
	close(fd);
	return rc;
}

int prune_main(int argc, const char **argv, const char *usage)
{
	const char *arg = NULL;
	struct poptOption table[] = {
		{ "keep-last", 0, POPT_ARG_STRING, &arg, 1, NULL, NULL },
		{ "keep-within", 0, POPT_ARG_STRING, &arg, 2, NULL, NULL },
		{ "keep-daily", 0, POPT_ARG_STRING, &arg, 3, NULL, NULL },
		{ "keep-weekly", 0, POPT_ARG_STRING, &arg, 4, NULL, NULL },
		{ "keep-monthly", 0, POPT_ARG_STRING, &arg, 5, NULL, NULL },
		{ "dry-run", 'n', POPT_ARG_NONE, NULL, 'n', NULL, NULL },
		{ "verbose", 'v', POPT_ARG_NONE, NULL, 'v', NULL, NULL },
		REMOTE_OPTIONS(&arg),
		{ "run-log", 0, POPT_ARG_STRING, &arg, 'l', NULL, NULL },
		{ "help", 'h', POPT_ARG_NONE, NULL, 'h', NULL, NULL },
		POPT_TABLEEND
	};
	static const char *const names[] = {
		"", "--keep-last", "--keep-within", "--keep-daily", "--keep-weekly", "--keep-monthly"
	};
	poptContext pc = poptGetContext("shelter prune", argc, argv, table, 0);
	struct keep_rules r;
	struct opts o;
	struct runlog *rl;
	const char **rest;
	char *run_log = NULL;
	int rc, dry = 0, verbose = 0, bad = 0;

	memset(&r, 0, sizeof(r));
	memset(&o, 0, sizeof(o));
	o.timeout = DEFAULT_TIMEOUT;
	while ((rc = poptGetNextOpt(pc)) > 0) {
		switch (rc) {
		case 'n': dry = 1; break;
		case 'v': verbose = 1; break;
		case 'e': case 'r': case 't':
			if (remote_option(&o, rc, &arg))
				bad = 1;
			break;
		case 'l':
			free(run_log);
			run_log = (char *)arg;
			arg = NULL;
			break;
		case 'h':
			fputs(usage, stdout);
			poptFreeContext(pc);
			return EXIT_OK;
		default:
			if (keep_option(&r, names[rc], arg))
				bad = 1;
			free((void *)arg);
			arg = NULL;
		}
	}
	if (rc < -1) {
		popt_error(pc, rc);
		poptFreeContext(pc);
		free((void *)o.rsh);
		free((void *)o.remote_cmd);
		free(run_log);
		return EXIT_USAGE;
	}
	rest = poptGetArgs(pc);
	if (bad) {
		rc = EXIT_USAGE;
	} else if (!rest || !rest[0] || rest[1]) {
		fprintf(stderr, "shelter: prune needs one path: DEST\n"
			"Try 'shelter --help' for more information.\n");
		rc = EXIT_USAGE;
	} else if (!retention_any(&r)) {
		fprintf(stderr, "shelter: prune %s: give at least one of --keep-last, "
			"--keep-within, --keep-daily, --keep-weekly, --keep-monthly (prune never "
			"removes all history by default)\nTry 'shelter --help' for more "
			"information.\n", rest[0]);
		rc = EXIT_USAGE;
	} else {
		rl = runlog_begin("prune", rest, 1, run_log);
		rl->dry_run = dry;
		runlog_arm(rl);
		rc = runlog_finish(rl, is_remote_arg(rest[0]) ?
				   remote_dest_command(&o, ROLE_PRUNE, rest[0], &r, dry, verbose) :
				   prune_dest(rest[0], &r, dry, verbose));
	}
	poptFreeContext(pc);
	free((void *)o.rsh);
	free((void *)o.remote_cmd);
	free(run_log);
	return rc;
}

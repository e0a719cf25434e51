/* history.c - versions kept under DEST/.shelter/history; see history.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beneath.h"
#include "buf.h"
#include "durable.h"
#include "escape.h"
#include "hash.h"
#include "history.h"
#include "log.h"
#include "path.h"
#include "scan.h"

void history_init(struct history *h, int dest_fd, int enabled, const struct timespec *start)
{
	struct tm tm;

	memset(h, 0, sizeof(*h));
	h->dest_fd = dest_fd;
	h->enabled = enabled;
	h->tree_fd = h->index_fd = h->last_dir_fd = -1;
	gmtime_r(&start->tv_sec, &tm);
	snprintf(h->pass, sizeof(h->pass), "%04d%02d%02dT%02d%02d%02d.%09ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, (long)start->tv_nsec);
}

static char type_char(mode_t m)
{
	return S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISREG(m) ? 'f' : 's';
}

char *history_record(int event, const struct stat *st, const unsigned char *hash,
		     const struct timespec *kept_at, const char *path, const char *target)
{
	char hex[2 * HASH_LEN + 1] = "-";
	char *epath = escape_bytes(path, strlen(path));
	char *etarget = target ? escape_bytes(target, strlen(target)) : NULL;
	size_t n = strlen(epath) + (etarget ? strlen(etarget) : 0) + 200;
	char *rec = xmalloc(n);

	if (hash)
		hash_hex(hash, hex);
	snprintf(rec, n, "%s\t%c\t%llu\t%lld.%09ld\t%04o\t%s\t%lld.%09ld\t%s%s%s",
		 event == HIST_CHANGED ? "changed" : "deleted", type_char(st->st_mode),
		 S_ISDIR(st->st_mode) ? 0ULL : (unsigned long long)st->st_size,
		 (long long)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec,
		 (unsigned)(st->st_mode & 07777), hex,
		 (long long)kept_at->tv_sec, (long)kept_at->tv_nsec, epath,
		 etarget ? "\t" : "", etarget ? etarget : "");
	free(epath);
	free(etarget);
	return rec;
}

/* Create .shelter/history/<PASS>/{tree,index} on first use. */
static int history_open(struct history *h)
{
	char dir[128];
	int fd;

	if (h->tree_fd >= 0)
		return 0;
	if (h->broken)
		return -1;
	h->broken = 1;	/* until everything below succeeds */
	snprintf(dir, sizeof(dir), ".shelter/history/%s", h->pass);
	fd = mkdir_beneath(h->dest_fd, dir, 0700);
	if (fd < 0)
		return error("cannot create DEST/%s: %s (the old versions it would keep stay in "
			     "place; make DEST/.shelter writable, or use --no-history)", dir, strerror(errno));
	h->index_fd = openat(fd, "index", O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (h->index_fd < 0) {
		error("cannot create DEST/%s/index: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	if (lseek(h->index_fd, 0, SEEK_END) == 0 &&
	    write_all(h->index_fd, "shelter-history 1\n", 18)) {
		error("cannot write DEST/%s/index: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	h->tree_fd = mkdir_beneath(fd, "tree", 0700);
	close(fd);
	if (h->tree_fd < 0)
		return error("cannot create DEST/%s/tree: %s", dir, strerror(errno));
	h->broken = 0;
	return 0;
}

static int append(struct history *h, int event, const struct stat *st,
		  const unsigned char *hash, const char *path, const char *target)
{
	struct timespec now;
	char *rec;
	int r;

	clock_gettime(CLOCK_REALTIME, &now);
	rec = history_record(event, st, hash, &now, path, target);
	r = write_all(h->index_fd, rec, strlen(rec));
	if (!r)
		r = write_all(h->index_fd, "\n", 1);
	free(rec);
	if (r)
		return error("cannot write DEST/.shelter/history/%s/index: %s", h->pass,
			     strerror(errno));
	return 0;
}

/* The tree directory that will hold PATH's copy. */
static int tree_dir(struct history *h, const char *path)
{
	size_t n = path_parent_len(path, strlen(path));
	char *dir;

	if (n == 0)
		return h->tree_fd;
	if (h->last_dir && strlen(h->last_dir) == n && !memcmp(h->last_dir, path, n))
		return h->last_dir_fd;
	dir = xstrndup(path, n);
	if (h->last_dir_fd >= 0)
		close(h->last_dir_fd);
	free(h->last_dir);
	h->last_dir = NULL;
	h->last_dir_fd = mkdir_beneath(h->tree_fd, dir, 0700);
	if (h->last_dir_fd < 0) {
		error("cannot create DEST/.shelter/history/%s/tree/%s: %s", h->pass, dir,
		      strerror(errno));
		free(dir);
		return -1;
	}
	h->last_dir = dir;
	return h->last_dir_fd;
}

/*
 * A directory goes into history whole: record every entry in it first (the
 * directory NAME in PARENT, at PATH), so the index alone tells what was
 * kept, and every record is written before its file moves.
 */
static int record_contents(struct history *h, int parent, const char *name, const char *path)
{
	struct scan *sc;
	struct entry e;
	struct stat st;
	int fd = open_dir_at(parent, name), ret = 0;

	if (fd < 0)
		return error("cannot read %s to keep it in history: %s", path, strerror(errno));
	sc = scan_open(fd, NULL, SCAN_SPECIALS | SCAN_QUIET | SCAN_ALL);
	while (scan_next(sc, &e, &st)) {
		unsigned char hash[HASH_LEN];
		char *full = path_join(path, e.path);
		int ok = 0;

		if (e.type == 'f') {
			int f = openat(scan_dirfd(sc), path_base(e.path),
				       O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
			uint64_t size;

			ok = f >= 0 && hash_fd(f, hash, &size) == 0;
			if (f >= 0)
				close(f);
		}
		if (append(h, HIST_DELETED, &st, ok ? hash : NULL, full, e.target))
			ret = -1;
		free(full);
	}
	scan_close(sc);
	close(fd);
	return ret;
}

/* rm -r NAME in DIRFD without following any symlink. */
static int remove_tree(int parent, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (remove_tree(dirfd(d), de->d_name) < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return unlinkat(parent, name, AT_REMOVEDIR);
}

int history_keep(struct history *h, int dirfd, const char *name, const char *path,
		 const struct stat *st, const unsigned char *hash, const char *target, int event)
{
	int tfd;

	if (!h->enabled) {
		if (event == HIST_CHANGED)
			return 0;
		if (S_ISDIR(st->st_mode) ? remove_tree(dirfd, name) < 0 : unlinkat(dirfd, name, 0) < 0)
			return error("cannot delete %s: %s", path, strerror(errno));
		return 0;
	}
	if (history_open(h) || append(h, event, st, hash, path, target))
		return -1;
	tfd = tree_dir(h, path);
	if (tfd < 0)
		return -1;
	if (event == HIST_CHANGED) {
		if (linkat(dirfd, name, tfd, path_base(path), 0) == 0)
			return 0;
		/* No hard links here (some FUSE and network filesystems): move it. */
		if (errno != EPERM && errno != ENOTSUP && errno != EMLINK)
			return error("cannot keep %s in history: link: %s", path, strerror(errno));
	}
	if (S_ISDIR(st->st_mode) && record_contents(h, dirfd, name, path))
		return -1;
	if (renameat(dirfd, name, tfd, path_base(path)) < 0)
		return error("cannot keep %s in history: rename: %s", path, strerror(errno));
	return 0;
}

int history_note_dir(struct history *h, const char *path, const struct stat *st)
{
	if (!h->enabled)
		return 0;
	if (history_open(h))
		return -1;
	return append(h, HIST_DELETED, st, NULL, path, NULL);
}

int history_close(struct history *h)
{
	int r = 0;

	if (h->index_fd >= 0) {
		if (fsync(h->index_fd) < 0)
			r = error("fsync DEST/.shelter/history/%s/index: %s", h->pass, strerror(errno));
		close(h->index_fd);
	}
	if (h->tree_fd >= 0)
		close(h->tree_fd);
	if (h->last_dir_fd >= 0)
		close(h->last_dir_fd);
	free(h->last_dir);
	h->index_fd = h->tree_fd = h->last_dir_fd = -1;
	h->last_dir = NULL;
	return r;
}

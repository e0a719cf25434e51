/* scan.c - sorted, symlink-free tree walk; see scan.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beneath.h"
#include "bounds.h"
#include "buf.h"
#include "exclude.h"
#include "log.h"
#include "path.h"
#include "scan.h"

struct level {
	int fd;
	char *path;		/* relative path of this directory, "" for the root */
	char **names;		/* sorted */
	size_t count, next;
};

struct scan {
	const struct exclude *ex;
	int flags;
	struct level *lv;
	size_t depth, cap;
	int pushed;		/* scan_next pushed a level for the entry it returned */
	int cur_dirfd;
	unsigned errors;
	struct entry cur;
	char *curpath;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read and sort the names of the directory FD (which stays open). */
static int read_names(int fd, char ***names, size_t *count)
{
	int dfd = dup(fd);
	DIR *d;
	struct dirent *de;
	size_t n = 0, cap = 0;
	char **v = NULL;

	if (dfd < 0)
		return -1;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -1;
	}
	rewinddir(d);
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = xstrdup(de->d_name);
	}
	if (errno) {
		int e = errno;

		while (n)
			free(v[--n]);
		free(v);
		closedir(d);
		errno = e;
		return -1;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_names);
	*names = v;
	*count = n;
	return 0;
}

static void push(struct scan *s, int fd, char *path, char **names, size_t count)
{
	if (s->depth == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->lv = xrealloc(s->lv, s->cap * sizeof(*s->lv));
	}
	s->lv[s->depth++] = (struct level){ fd, path, names, count, 0 };
}

static void pop(struct scan *s)
{
	struct level *l = &s->lv[--s->depth];

	while (l->next < l->count)
		free(l->names[l->next++]);
	free(l->names);
	free(l->path);
	close(l->fd);
}

struct scan *scan_open(int root_fd, const struct exclude *ex, int flags)
{
	struct scan *s = xmalloc(sizeof(*s));
	char **names;
	size_t count;
	int fd = dup(root_fd);

	memset(s, 0, sizeof(*s));
	s->ex = ex;
	s->flags = flags;
	s->cur_dirfd = -1;
	if (fd < 0 || read_names(fd, &names, &count)) {
		error("cannot read the root directory: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		s->errors++;
		return s;
	}
	push(s, fd, xstrdup(""), names, count);
	return s;
}

void scan_skip(struct scan *s)
{
	if (s->pushed) {
		pop(s);
		s->pushed = 0;
	}
}

int scan_dirfd(const struct scan *s)
{
	return s->cur_dirfd;
}

unsigned scan_errors(const struct scan *s)
{
	return s->errors;
}

static int is_special(mode_t m)
{
	return !S_ISREG(m) && !S_ISDIR(m) && !S_ISLNK(m);
}

int scan_next(struct scan *s, struct entry *e, struct stat *stp)
{
	struct stat st;

	s->pushed = 0;
	free(s->curpath);
	s->curpath = NULL;
	free(s->cur.target);
	s->cur.target = NULL;
	while (s->depth) {
		struct level *l = &s->lv[s->depth - 1];
		char *name, *path;

		if (l->next == l->count) {
			pop(s);
			continue;
		}
		name = l->names[l->next++];
		path = path_join(l->path, name);
		if (s->depth == 1 && !(s->flags & SCAN_ALL) && !strcmp(name, ".shelter"))
			goto skip;
		if (fstatat(l->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT) {
				error("stat %s: %s", path, strerror(errno));
				s->errors++;
			}
			goto skip;
		}
		if (strlen(path) > MAX_PATH_LEN) {
			warning("skipping %s: path longer than %u bytes", path, MAX_PATH_LEN);
			s->errors++;
			goto skip;
		}
		if (s->ex && exclude_match(s->ex, path, S_ISDIR(st.st_mode)))
			goto skip;
		if (is_special(st.st_mode) && !(s->flags & SCAN_SPECIALS)) {
			if (!(s->flags & SCAN_QUIET))
				warning("skipping special file %s", path);
			goto skip;
		}
		memset(&s->cur, 0, sizeof(s->cur));
		s->cur.path = path;
		s->cur.path_len = strlen(path);
		s->cur.mode = st.st_mode & 07777;
		s->cur.uid = st.st_uid;
		s->cur.gid = st.st_gid;
		s->cur.mtime_sec = st.st_mtim.tv_sec;
		s->cur.mtime_nsec = (uint32_t)st.st_mtim.tv_nsec;
		s->cur_dirfd = l->fd;
		if (S_ISREG(st.st_mode)) {
			s->cur.type = 'f';
			s->cur.size = (uint64_t)st.st_size;
		} else if (S_ISLNK(st.st_mode)) {
			char t[MAX_TARGET_LEN + 2];
			ssize_t n = readlinkat(l->fd, name, t, sizeof(t));

			if (n < 0 || (size_t)n > MAX_TARGET_LEN || n == 0) {
				if (n < 0 && errno == ENOENT)
					goto skip;
				error("readlink %s: %s", path,
					n < 0 ? strerror(errno) : "target too long");
				s->errors++;
				goto skip;
			}
			s->cur.type = 'l';
			s->cur.size = (uint64_t)n;
			s->cur.target = xstrndup(t, (size_t)n);
		} else if (S_ISDIR(st.st_mode)) {
			char **names;
			size_t count;
			int fd = open_dir_at(l->fd, name);

			s->cur.type = 'd';
			if (fd < 0 || read_names(fd, &names, &count)) {
				if (fd < 0 && errno == ENOENT)
					goto skip;
				error("cannot read directory %s: %s", path, strerror(errno));
				s->errors++;
				s->cur.flags |= ENTRY_DIR_UNREAD;
				if (fd >= 0)
					close(fd);
			} else {
				push(s, fd, xstrdup(path), names, count);
				s->pushed = 1;
			}
		} else {
			s->cur.type = 's';
		}
		free(name);
		s->curpath = path;
		*e = s->cur;
		if (stp)
			*stp = st;
		return 1;
skip:
		free(name);
		free(path);
	}
	return 0;
}

void scan_close(struct scan *s)
{
	if (!s)
		return;
	while (s->depth)
		pop(s);
	free(s->lv);
	free(s->curpath);
	free(s->cur.target);
	free(s);
}

int entry_at(int dirfd, const char *name, const char *path, struct entry *e, struct stat *st)
{
	memset(e, 0, sizeof(*e));
	if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	e->mode = st->st_mode & 07777;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->mtime_sec = st->st_mtim.tv_sec;
	e->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	if (S_ISREG(st->st_mode)) {
		e->type = 'f';
		e->size = (uint64_t)st->st_size;
	} else if (S_ISDIR(st->st_mode)) {
		e->type = 'd';
	} else if (S_ISLNK(st->st_mode)) {
		char t[MAX_TARGET_LEN + 2];
		ssize_t n = readlinkat(dirfd, name, t, sizeof(t));

		if (n < 0)
			return errno == ENOENT ? 0 : -1;
		if (n == 0 || (size_t)n > MAX_TARGET_LEN) {
			errno = ENAMETOOLONG;
			return -1;
		}
		e->type = 'l';
		e->size = (uint64_t)n;
		e->target = xstrndup(t, (size_t)n);
	} else {
		e->type = 's';
	}
	e->path = xstrdup(path);
	e->path_len = strlen(path);
	return 1;
}

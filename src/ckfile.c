/* ckfile.c - checksummed files written as streams; see ckfile.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckfile.h"
#include "durable.h"
#include "log.h"

#define CHUNK (256u << 10)

/* mkdir -p for the directories of FILE (0700: they tell what a user keeps). */
int ckw_make_parents(int dirfd, const char *file)
{
	char *d = xstrdup(file), *p;
	int ret = 0;

	for (p = d + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdirat(dirfd, d, 0700) < 0 && errno != EEXIST) {
			ret = -1;
			break;
		}
		*p = '/';
	}
	free(d);
	return ret;
}

static void init(struct ckw *w, const char *what)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->dirfd = AT_FDCWD;
	w->what = what;
	w->where = "";
	w->h = hasher_new();
}

int ckw_open(struct ckw *w, int dirfd, const char *tmp, const char *what, const char *where)
{
	init(w, what);
	w->where = where;
	if (ckw_make_parents(dirfd, tmp) < 0) {
		error("cannot create the directory of %s%s: %s", where, tmp, strerror(errno));
		hasher_free(w->h);
		return -1;
	}
	w->fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (w->fd < 0) {
		error("cannot write the %s %s%s: %s", what, where, tmp, strerror(errno));
		hasher_free(w->h);
		return -1;
	}
	w->dirfd = dirfd;
	w->tmp = xstrdup(tmp);
	return 0;
}

void ckw_open_lazy(struct ckw *w, int dirfd, const char *tmp, const char *what,
		   const char *where, size_t spill)
{
	init(w, what);
	w->where = where;
	w->dirfd = dirfd;
	w->tmp = xstrdup(tmp);
	w->spill = spill;
}

/* A lazy writer's file, created now with what is pending; 0 or -1 (failed, said). */
static int create(struct ckw *w)
{
	w->fd = openat(w->dirfd, w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		       0600);
	if (w->fd < 0 || write_all(w->fd, w->pend.data, w->pend.len)) {
		error("cannot write the %s %s%s: %s", w->what, w->where, w->tmp, strerror(errno));
		w->failed = 1;
	}
	w->spill = 0;
	buf_release(&w->pend);
	return w->failed ? -1 : 0;
}

void ckw_mem(struct ckw *w, struct buf *mem, const char *what)
{
	init(w, what);
	w->mem = mem;
}

void ckw_flush(struct ckw *w, int all)
{
	if (!all && w->out.len < CHUNK)
		return;
	hasher_update(w->h, w->out.data, w->out.len);
	if (w->mem) {
		buf_put(w->mem, w->out.data, w->out.len);
	} else if (w->spill) {
		buf_put(&w->pend, w->out.data, w->out.len);
		if (w->pend.len >= w->spill)
			create(w);
	} else if (!w->failed && write_all(w->fd, w->out.data, w->out.len)) {
		error("cannot write the %s %s%s: %s", w->what, w->where, w->tmp, strerror(errno));
		w->failed = 1;
	}
	buf_reset(&w->out);
}

void ckw_sum(struct ckw *w, unsigned char sum[HASH_LEN])
{
	ckw_flush(w, 1);
	hasher_final(w->h, sum);
}

static void release(struct ckw *w)
{
	if (w->fd >= 0)
		close(w->fd);
	hasher_free(w->h);
	buf_release(&w->out);
	buf_release(&w->pend);
	free(w->tmp);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

void ckw_abort(struct ckw *w)
{
	if (w->tmp && w->fd >= 0)
		unlinkat(w->dirfd, w->tmp, 0);
	release(w);
}

int ckw_close(struct ckw *w, const void *tail, size_t n, const char *final)
{
	char *dir, *slash;
	int dfd, ret = -1;

	if (w->mem) {
		buf_put(w->mem, tail, n);
		release(w);
		return 0;
	}
	if (w->spill && !w->failed)
		create(w);
	/* A scratch file that takes a final name is no longer scratch. */
	if (w->failed || write_all(w->fd, tail, n) || ((!w->nosync || final) && fsync(w->fd) < 0)) {
		if (!w->failed)
			error("cannot write the %s %s%s: %s", w->what, w->where, w->tmp,
			      strerror(errno));
		ckw_abort(w);
		return -1;
	}
	if (!final) {
		release(w);
		return 0;
	}
	if (renameat(w->dirfd, w->tmp, w->dirfd, final) < 0) {
		error("cannot rename %s%s to %s%s: %s", w->where, w->tmp, w->where, final,
		      strerror(errno));
		ckw_abort(w);
		return -1;
	}
	dir = xstrdup(final);
	slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir ? 1 : 0] = '\0';
	dfd = openat(w->dirfd, slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		error("fsync of the directory of the %s %s%s: %s", w->what, w->where, final,
		      strerror(errno));
	else
		ret = 0;
	if (dfd >= 0)
		close(dfd);
	free(dir);
	release(w);
	return ret;
}

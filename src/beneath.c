/* beneath.c - symlink-free resolution beneath a root; see beneath.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/openat2.h>
#endif

#include "beneath.h"
#include "buf.h"

void beneath_init(struct beneath *b, int root_fd)
{
	b->root_fd = root_fd;
	b->cache_path = NULL;
	b->cache_fd = -1;
}

void beneath_forget(struct beneath *b)
{
	if (b->cache_fd >= 0)
		close(b->cache_fd);
	free(b->cache_path);
	b->cache_path = NULL;
	b->cache_fd = -1;
}

void beneath_release(struct beneath *b)
{
	beneath_forget(b);
}

int open_dir_at(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

#if defined(SYS_openat2) && defined(RESOLVE_BENEATH)
static int have_openat2 = 1;

static int try_openat2(int root, const char *path)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	fd = syscall(SYS_openat2, root, path, &how, sizeof(how));
	if (fd < 0 && (errno == ENOSYS || errno == EPERM)) {
		/* Old kernel or a seccomp filter: use the portable walk from now on. */
		have_openat2 = 0;
		return -2;
	}
	return (int)fd;
}
#else
static int have_openat2 = 0;

static int try_openat2(int root, const char *path)
{
	(void)root;
	(void)path;
	return -2;
}
#endif

/* The portable walk: one component at a time. */
static int walk(int root, const char *path)
{
	int fd = dup(root);
	const char *p = path;

	if (fd < 0)
		return -1;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		char name[256];
		int next;

		if (n == 0 || n >= sizeof(name)) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		next = open_dir_at(fd, name);
		if (next < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
		close(fd);
		fd = next;
		p += n;
		if (*p == '/')
			p++;
	}
	return fd;
}

int beneath_dir(struct beneath *b, const char *dir, size_t dirlen)
{
	char *path;
	int fd = -2;

	if (dirlen == 0)
		return b->root_fd;
	if (b->cache_path && strlen(b->cache_path) == dirlen &&
	    memcmp(b->cache_path, dir, dirlen) == 0)
		return b->cache_fd;
	path = xstrndup(dir, dirlen);
	if (have_openat2)
		fd = try_openat2(b->root_fd, path);
	if (fd == -2)
		fd = walk(b->root_fd, path);
	if (fd < 0) {
		int e = errno;

		free(path);
		errno = e;
		return -1;
	}
	beneath_forget(b);
	b->cache_path = path;
	b->cache_fd = fd;
	return fd;
}

int beneath_parent(struct beneath *b, const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');

	*base = slash ? slash + 1 : path;
	return beneath_dir(b, path, slash ? (size_t)(slash - path) : 0);
}

int mkdir_beneath(int root_fd, const char *dir, unsigned mode)
{
	int fd = dup(root_fd);
	const char *p = dir;

	if (fd < 0)
		return -1;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		char name[256];
		int next;

		if (n == 0 || n >= sizeof(name)) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		next = open_dir_at(fd, name);
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(fd, name, mode) < 0 && errno != EEXIST) {
				int e = errno;

				close(fd);
				errno = e;
				return -1;
			}
			next = open_dir_at(fd, name);
		}
		if (next < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
		close(fd);
		fd = next;
		p += n;
		if (*p == '/')
			p++;
	}
	return fd;
}

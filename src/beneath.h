/*
 * beneath.h - open directories beneath a root without following symlinks.
 *
 * Every path that came from the wire, and every path a pass writes to, is
 * resolved here: from the root's directory fd, one component at a time,
 * refusing symlinks on every component (openat2 with RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS where the kernel has it, else openat with
 * O_NOFOLLOW|O_DIRECTORY per component). The last directory resolved is
 * cached, because a pass works through the tree in order.
 */
#ifndef SHELTER_BENEATH_H
#define SHELTER_BENEATH_H

#include <stddef.h>

struct beneath {
	int root_fd;		/* borrowed */
	char *cache_path;	/* relative path of cache_fd, or NULL */
	int cache_fd;
};

void beneath_init(struct beneath *b, int root_fd);
void beneath_release(struct beneath *b);

/* Drop the cache: call after renaming or removing any directory. */
void beneath_forget(struct beneath *b);

/*
 * A directory fd for DIR (DIRLEN bytes, relative, "" = the root itself).
 * The fd is borrowed: valid until the next call. Returns -1 with errno set
 * (ELOOP or ENOTDIR when a component is a symlink or not a directory).
 */
int beneath_dir(struct beneath *b, const char *dir, size_t dirlen);

/*
 * The directory holding PATH (a valid relative path); *BASE points at the
 * last component inside PATH. Same ownership and errors as beneath_dir.
 */
int beneath_parent(struct beneath *b, const char *path, const char **base);

/* Open one directory entry NAME in DIRFD as a directory, no symlinks. */
int open_dir_at(int dirfd, const char *name);

/*
 * Create directory DIR (relative to ROOT_FD) and any missing parents with
 * MODE, no symlinks followed; returns a new fd the caller closes, or -1.
 */
int mkdir_beneath(int root_fd, const char *dir, unsigned mode);

#endif

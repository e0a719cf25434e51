/*
 * scan.h - walk a tree in listing order (pre-order, siblings by name
 * bytes; see path.h), never following symlinks.
 *
 * Memory is one sorted name list per directory on the current path, not
 * the whole tree. Problems below the root are warned about and the walk
 * goes on: an unreadable directory comes back with ENTRY_DIR_UNREAD set,
 * a vanished entry is skipped. The top-level `.shelter` is never returned,
 * nor is anything the exclude list matches (nor what is below it).
 */
#ifndef SHELTER_SCAN_H
#define SHELTER_SCAN_H

#include <sys/stat.h>

#include "proto.h"

struct exclude;
struct scan;

#define SCAN_SPECIALS 0x1	/* return devices, FIFOs, sockets as type 's' */
#define SCAN_QUIET 0x2		/* no warning for skipped specials */
#define SCAN_ALL 0x4		/* return a top-level .shelter too */

/* Walk the directory ROOT_FD (borrowed). EX may be NULL. */
struct scan *scan_open(int root_fd, const struct exclude *ex, int flags);

/*
 * The next entry, into *E (owned by the scan, valid until the next call;
 * *ST gets its lstat data when ST is not NULL). Returns 1, or 0 at the end.
 * *E's hash is not filled.
 */
int scan_next(struct scan *s, struct entry *e, struct stat *st);

/* Do not descend into the directory scan_next just returned. */
void scan_skip(struct scan *s);

/* The fd of the directory holding the entry scan_next just returned. */
int scan_dirfd(const struct scan *s);

/* Problems met so far (unreadable directories, failed stats). */
unsigned scan_errors(const struct scan *s);

void scan_close(struct scan *s);

/*
 * The entry NAME in DIRFD, whose relative path is PATH, as a scan would
 * return it (type 's' for specials), without following a symlink. Returns
 * 1 with *E filled (release it with entry_release), 0 when it does not
 * exist, -1 with errno on another error.
 */
int entry_at(int dirfd, const char *name, const char *path, struct entry *e, struct stat *st);

#endif

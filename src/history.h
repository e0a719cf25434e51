/*
 * history.h - keeping what a pass replaces or deletes, under
 * DEST/.shelter/history/<PASS>/ (format: doc/history.md).
 *
 * Nothing is copied: a replaced file is hard-linked into the pass's tree
 * (then the new file is renamed over it by the caller), a deleted one is
 * renamed there. The index record is appended before the file moves.
 */
#ifndef SHELTER_HISTORY_H
#define SHELTER_HISTORY_H

#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

struct history {
	int dest_fd;		/* borrowed */
	int enabled;
	char pass[64];		/* YYYYMMDDTHHMMSS.NNNNNNNNNZ */
	int tree_fd;		/* -1 until the first keep */
	int index_fd;
	char *last_dir;		/* cache of the last tree subdirectory */
	int last_dir_fd;
	int broken;		/* DEST/.shelter could not be written: said once */
};

#define HIST_CHANGED 0
#define HIST_DELETED 1

/* Set up for a pass that started at START; nothing is created yet. */
void history_init(struct history *h, int dest_fd, int enabled, const struct timespec *start);

/*
 * Keep the entry NAME in DIRFD, whose relative path is PATH and whose lstat
 * data is ST. EVENT is HIST_CHANGED (hard link: the caller renames the new
 * version over NAME next) or HIST_DELETED (rename). HASH may be NULL
 * (directories, symlinks); TARGET is the symlink target or NULL. Returns 0
 * or -1 with an error printed. Disabled history: HIST_DELETED unlinks (or
 * removes an empty directory), HIST_CHANGED does nothing.
 */
int history_keep(struct history *h, int dirfd, const char *name, const char *path,
		 const struct stat *st, const unsigned char *hash, const char *target, int event);

/*
 * Record a deleted directory that the caller removes itself (rmdir after
 * its contents went). Returns 0 or -1.
 */
int history_note_dir(struct history *h, const char *path, const struct stat *st);

/* fsync and close the index; 0 or -1. */
int history_close(struct history *h);

/* Format one index record (without the newline) into a new string. */
char *history_record(int event, const struct stat *st, const unsigned char *hash,
		     const struct timespec *kept_at, const char *path, const char *target);

#endif

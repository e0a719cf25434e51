/*
 * restore.h - getting files back out of a local DEST: the commands
 * `shelter versions` (versions.c) and `shelter restore` (restore.c). How
 * they read the history: doc/history.md, "Reading the history".
 */
#ifndef SHELTER_RESTORE_H
#define SHELTER_RESTORE_H

/*
 * Each takes the words after the command name's own (ARGV[0] is the
 * command) and USAGE, the text --help prints; returns an exit code
 * (exitcode.h).
 */
int versions_main(int argc, const char **argv, const char *usage);
int restore_main(int argc, const char **argv, const char *usage);

/*
 * A restore over ssh: the side that holds DEST runs the sender from a
 * restore source, the state at a time of the paths at or below PATH, made
 * by the same plan as a local restore (doc/protocol.md, "Restore").
 */
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hash.h"

struct restore_src;
struct entry;

/* What the sender reads for one listed file. */
struct restore_file {
	int fd;			/* open for reading */
	char *where;		/* DEST-relative path it came from, for messages */
	int has_hash;		/* the history records its XXH3-128 */
	unsigned char hash[HASH_LEN];
	uint64_t size;		/* as recorded */
	unsigned mode;		/* the version's mode and mtime */
	struct timespec mtime;
};

/*
 * The plan for PATH in DEST (DEST_FD is borrowed), at *T or, T NULL, the
 * mirror; ARG names it in messages. NULL when there is nothing to restore,
 * with why in WHY. *PROBLEMS: history that could not be read (warned about).
 */
struct restore_src *restore_src_new(int dest_fd, const char *arg, const char *path,
				    const struct timespec *t, unsigned *problems, char *why,
				    size_t whylen);
size_t restore_src_count(const struct restore_src *s);
/* Item I as a listing entry; its strings belong to S. */
void restore_src_entry(const struct restore_src *s, size_t i, struct entry *e);
/* Open the content of the listed file PATH: 0, or -1 (errno ENOENT: not listed as a file). */
int restore_src_open(struct restore_src *s, const char *path, struct restore_file *f);
void restore_src_free(struct restore_src *s);

/*
 * Check TARGET: a directory, empty unless IN_PLACE, not inside DEST nor
 * holding it (DEST NULL: remote, not checked); *MISSING when it is not
 * there yet. Returns an exit code, the error printed.
 */
int restore_check_target(const char *target, const char *dest, int in_place, int *missing);

struct opts;
/* restore_main's work when ARG (DEST[/PATH]) or TARGET is [user@]host:path. */
int restore_remote(const struct opts *o, const char *arg, const char *target,
		   const struct timespec *t, int in_place);

#endif

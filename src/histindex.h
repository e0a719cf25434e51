/*
 * histindex.h - reading a DEST's history back: every version of the paths
 * at or below one PATH, kept (DEST/.shelter/history/<PASS>/index) or
 * current (the mirror), and the times that say which one was live when.
 * The rules are written down in doc/history.md, "Reading the history".
 *
 * Nothing here writes to DEST. Every path inside DEST is opened one
 * component at a time without following symlinks (beneath.h).
 */
#ifndef SHELTER_HISTINDEX_H
#define SHELTER_HISTINDEX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "hash.h"

enum hv_event { HV_CHANGED, HV_DELETED, HV_CURRENT };

/* One version of one path. All strings are owned by the hlist. */
struct hversion {
	char *path;		/* raw bytes, a valid relative path (path.h) */
	char *target;		/* symlinks: the raw target; else NULL */
	char *pass;		/* the pass folder of a kept version; NULL: current */
	enum hv_event event;
	char type;		/* 'f', 'd', 'l' */
	uint64_t size;		/* 0 for directories */
	struct timespec mtime;
	unsigned mode;		/* & 07777 */
	int has_hash;		/* files kept with a recorded hash */
	unsigned char hash[HASH_LEN];
	struct timespec kept_at;	/* kept versions only */
	int has_inode;		/* the kept copy (tree/<path>) or mirror entry is there */
	int has_birth;		/* birth time known and trusted */
	struct timespec birth;	/* when the inode entered DEST */
	uid_t uid;		/* of the inode, when has_inode */
	gid_t gid;
};

struct hlist {
	struct hversion *v;
	size_t n, cap;
	unsigned problems;	/* unreadable or malformed history, warned about */
};

/*
 * Split ARG, "DEST[/PATH]", into new strings *DEST and *PATH ("" for the
 * whole tree): the deepest directory on the way that holds .shelter/, or
 * the first "/./" (doc/history.md). Returns 0, or -1 with an error printed
 * (a PATH that is not a valid relative path, or that starts with .shelter).
 */
int hist_split(const char *arg, char **dest, char **path);

#define HIST_HASH_CURRENT 0x1	/* hash the mirror's files too */
#define HIST_ANCESTORS 0x2	/* also the directories above PATH (for their metadata) */

/*
 * Fill L with every version of the paths at or below PATH ("" = all) in
 * the DEST open as DEST_FD, sorted by path (listing order), then kept
 * versions by kept_at, then the current one; FLAGS are HIST_*. Problems
 * with the history are warned about and counted in L->problems. Returns 0
 * (L may be empty).
 */
int hist_load(struct hlist *l, int dest_fd, const char *path, int flags);

/*
 * Of the N versions V[0..N) of one path, the one that would be live at T
 * by the index alone: the kept one with the smallest kept_at after T, else
 * the current one; NULL if neither. Birth times are not looked at.
 */
const struct hversion *hist_candidate(const struct hversion *v, size_t n,
				      const struct timespec *t);

/*
 * Of the N versions V[0..N) of one path (in hist_load's order), the one
 * live at T, or NULL when the path did not exist at T (or, for a kept
 * directory of unknown birth, when that cannot be told; doc/history.md).
 */
const struct hversion *hist_at(const struct hversion *v, size_t n, const struct timespec *t);

void hist_release(struct hlist *l);

/* ts1 <, ==, > ts2: -1, 0, 1. */
int ts_cmp(const struct timespec *a, const struct timespec *b);

/* UTC, "YYYY-MM-DDTHH:MM:SSZ" or with ".NNNNNNNNN" before the Z. */
void iso_time(char *out, size_t n, const struct timespec *ts, int with_nsec);

/*
 * Parse a --at TIME: "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fraction]]"
 * (local time), the same with "Z" or "+HH:MM"/"-HH:MM" (UTC or that
 * offset), "@SECONDS[.fraction]", or "N" followed by s, m, h, d or w (that
 * long before NOW). Returns 0, or -1 with the reason in WHY.
 */
int parse_when(const char *s, const struct timespec *now, struct timespec *out,
	       char *why, size_t whylen);

/*
 * Append S (LEN bytes) to OUT as a JSON string with its quotes: valid
 * UTF-8 as itself, each other byte HH as \udcHH (doc/history.md).
 * Returns OUT's new length; OUT must have room for 6 * LEN + 3 bytes.
 */
size_t json_string(char *out, const char *s, size_t len);

#endif

/*
 * ckfile.h - a checksummed file written as a stream: bytes are buffered,
 * hashed (XXH3-128) and written in big pieces; at the end the owner adds
 * its trailer (which carries the checksum), and the file is fsynced and
 * renamed into place, its directory fsynced. The sync state file
 * (state.c) and the mirror index (mirrorindex.c) are written this way.
 */
#ifndef SHELTER_CKFILE_H
#define SHELTER_CKFILE_H

#include <stddef.h>

#include "buf.h"
#include "hash.h"

struct ckw {
	int dirfd;		/* TMP and FINAL are relative to it */
	int fd;			/* -1: into MEM */
	char *tmp;
	const char *what;	/* "state file", "mirror index": for messages */
	const char *where;	/* before TMP in messages ("DEST/.shelter/"), or "" */
	struct buf out, *mem;
	struct hasher *h;
	int failed;
	int nosync;		/* a scratch file: no fsync at the end, unless it is
				 * renamed to a final name after all */
	size_t spill;		/* lazy: not created before this much is written */
	struct buf pend;	/* lazy: what is written so far, not created yet */
};

/*
 * A new file TMP in DIRFD (AT_FDCWD for a plain path), its missing parent
 * directories made (0700); messages name it WHAT WHERE TMP. 0, or -1 with
 * an error printed.
 */
int ckw_open(struct ckw *w, int dirfd, const char *tmp, const char *what, const char *where);
/*
 * The same, but TMP is created only once SPILL bytes are written or at
 * ckw_close: a writer that ckw_abort ends never touches the disk. Errors
 * come then.
 */
void ckw_open_lazy(struct ckw *w, int dirfd, const char *tmp, const char *what,
		   const char *where, size_t spill);
/* The same into MEM (tests, fuzzing). */
void ckw_mem(struct ckw *w, struct buf *mem, const char *what);

/* Append to W->out, then call this: it hashes and writes once enough is buffered. */
void ckw_flush(struct ckw *w, int all);

/* Everything so far is hashed (and written): its checksum. */
void ckw_sum(struct ckw *w, unsigned char sum[HASH_LEN]);

/*
 * Append N bytes at TAIL, unhashed; for a file fsync, then (FINAL not NULL)
 * rename to FINAL and fsync its directory. Releases W; 0, or -1 with an
 * error printed (the temporary file is removed).
 */
int ckw_close(struct ckw *w, const void *tail, size_t n, const char *final);

/* mkdir -p (0700) the directories of FILE, relative to DIRFD; 0 or -1 with errno. */
int ckw_make_parents(int dirfd, const char *file);

/* Give up: remove the temporary file, release W. */
void ckw_abort(struct ckw *w);

#endif

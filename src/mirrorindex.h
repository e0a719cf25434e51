/*
 * mirrorindex.h - DEST/.shelter/mirror.index, the XXH3-128 of every
 * regular file of a backup's mirror (format: doc/history.md "Mirror
 * index"), read and written as streams in listing order. Everything read
 * is distrusted: every field is checked, the order enforced, and the end
 * line's count and checksum verified.
 */
#ifndef SHELTER_MIRRORINDEX_H
#define SHELTER_MIRRORINDEX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "ckfile.h"
#include "hash.h"

/* Names in DEST/.shelter. */
#define MI_FILE "mirror.index"
#define MI_TMP "mirror.index.tmp"
#define MI_RECV "mirror.index.recv"
#define MI_KEEP "mirror.index.keep"
#define MI_LINE_MAX 16640u

struct mrec {
	char *path;		/* raw bytes, a valid relative path */
	uint64_t size;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint64_t ino;
	int64_t ctime_sec;
	uint32_t ctime_nsec;
	unsigned char hash[HASH_LEN];
	int damaged;
};

/* Fill REC's stat fields (not path, hash, flag) from ST. */
void mrec_stat(struct mrec *rec, const struct stat *st);
/* REC still describes ST: same size, mtime, inode and ctime. */
int mrec_matches(const struct mrec *rec, const struct stat *st);

struct mireader;

/*
 * Open NAME in DIRFD (never following a symlink); LABEL names it in
 * messages. Returns 0, 1 when it does not exist, -1 when it cannot be
 * opened or its header is wrong (the reason in *WHY, nothing printed).
 */
int mireader_open(int dirfd, const char *name, const char *label, struct mireader **out,
		  char *why, size_t whylen);
/* The same over N bytes at P (tests). */
int mireader_mem(const char *p, size_t n, struct mireader **out, char *why, size_t whylen);
/*
 * The next record into *REC (owned by the reader, valid until the next
 * call). Returns 1; 0 at the end, once the end line's count and checksum
 * are verified; -1 when the file is damaged (mireader_why tells why).
 */
int mireader_next(struct mireader *r, struct mrec *rec);
const char *mireader_why(const struct mireader *r);
uint64_t mireader_count(const struct mireader *r);	/* records so far */
/* The last record's line as read (with its LF), *N bytes; valid until the next call. */
const char *mireader_raw(const struct mireader *r, size_t *n);
void mireader_close(struct mireader *r);

/* Read NAME in DIRFD through: 0 sound, 1 missing, -1 damaged (reason in WHY). */
int mireader_check(int dirfd, const char *name, char *why, size_t whylen);

struct miwriter {
	struct ckw k;
	uint64_t count;
	char *last;		/* the last path written, for the order (NULL: none) */
	size_t last_cap;
};

/* A new index at TMP in DIRFD: 0, or -1 with an error printed. */
int miwriter_open(struct miwriter *w, int dirfd, const char *tmp);
/* The same, created only once SPILL bytes are written or at miwriter_finish (ckfile.h). */
void miwriter_open_lazy(struct miwriter *w, int dirfd, const char *tmp, size_t spill);
void miwriter_mem(struct miwriter *w, struct buf *b);
/* Append REC; a record out of listing order is a bug. */
void miwriter_put(struct miwriter *w, const struct mrec *rec);
/* Append the record of PATH as the line RAW (N bytes, LF included) that a reader gave. */
void miwriter_put_raw(struct miwriter *w, const char *path, const char *raw, size_t n);
/* End line, fsync, rename to FINAL (NULL: stay TMP). 0, or -1 with an error printed. */
int miwriter_finish(struct miwriter *w, const char *final);
void miwriter_abort(struct miwriter *w);

#endif

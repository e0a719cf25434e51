/*
 * state.h - the sync state file (format: doc/sync.md "State file"): what
 * both sides agreed on at the end of the last pass, per path, and per side
 * what lets a scan trust that agreement without reading the file again.
 */
#ifndef SHELTER_STATE_H
#define SHELTER_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

/* What one side's file looked like when its hash was last known. */
struct skey {
	uint64_t ino;		/* 0: unknown */
	int64_t ctime_sec;
	uint32_t ctime_nsec;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint64_t size;
};

struct srec {
	char *path;
	char type;		/* 'f', 'd', 'l' */
	uint32_t mode;
	uint64_t size;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	unsigned char hash[HASH_LEN];
	char *target;		/* 'l' */
	struct skey side[2];
};

struct buf;
struct sreader;
struct swriter;

/*
 * Open FILE and read its header, checking it belongs to ROOT1 and ROOT2.
 * Returns 0, 1 when FILE does not exist, or -1 with an error that names
 * FILE printed.
 */
int sreader_open(const char *file, const char *root1, const char *root2, struct sreader **out);

/* The same over N bytes at P (tests, fuzzing): 0, or -1 with the reason in WHY. */
int sreader_mem(const unsigned char *p, size_t n, const char *root1, const char *root2,
		struct sreader **out, char *why, size_t whylen);

/*
 * The next record into *REC (owned by the reader, valid until the next
 * call). Returns 1; 0 at the end, once the end mark and the checksum of the
 * whole file are verified; -1 when the file is damaged (printed for a
 * file; sreader_why tells for memory).
 */
int sreader_next(struct sreader *r, struct srec *rec);
int64_t sreader_scan_start(const struct sreader *r);
uint64_t sreader_count(const struct sreader *r);	/* records so far */
const char *sreader_why(const struct sreader *r);
void sreader_close(struct sreader *r);

/* A new state file at TMP (made with its directories), or NULL with an error printed. */
struct swriter *swriter_open(const char *tmp, const char *root1, const char *root2,
			     int64_t scan_start);
/* The same into B. */
struct swriter *swriter_mem(struct buf *b, const char *root1, const char *root2,
			    int64_t scan_start);
/* A scratch file, read back in the same pass: no fsync when it is finished. */
void swriter_scratch(struct swriter *w);
/* Append a record; the caller keeps listing order. */
void swriter_put(struct swriter *w, const struct srec *rec);
/*
 * End mark and checksum; for a file fsync, then (FINAL not NULL) rename
 * to FINAL and fsync its directory. Frees W; 0, or -1 with an error
 * printed (the temporary file is removed).
 */
int swriter_finish(struct swriter *w, const char *final);
/* Give up: remove the temporary file, free W. */
void swriter_abort(struct swriter *w);

/* The default file for a pair: $XDG_STATE_HOME/shelter/sync-<hash>.state. */
char *state_default_path(const char *root1, const char *root2);

/* $XDG_STATE_HOME/shelter/NAME, else ~/.local/state/shelter/NAME (malloc'd). */
char *state_dir_file(const char *name);

/*
 * Lock the pair: flock on FILE.lock, waiting up to WAIT seconds. Returns
 * the fd to keep open, or -1 with the error printed (*BUSY set when
 * another pass holds it).
 */
int state_lock(const char *file, unsigned wait, int *busy);

#endif

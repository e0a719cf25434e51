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

struct state {
	char *root[2];
	int64_t scan_start;	/* of the pass that wrote it, seconds */
	struct srec *v;		/* in listing order */
	size_t n, cap;
};

/*
 * Read FILE into *ST, checking it belongs to ROOT1 and ROOT2. Returns 0, 1
 * when FILE does not exist (*ST is then empty), or -1 with an error that
 * names FILE printed.
 */
int state_load(const char *file, const char *root1, const char *root2, struct state *st);

/* The same checks on the N bytes at P; 0, or -1 with the reason in WHY. */
int state_parse(const unsigned char *p, size_t n, const char *root1, const char *root2,
		struct state *st, char *why, size_t whylen);

/* The file's bytes for *ST. */
struct buf;
void state_encode(struct buf *b, const struct state *st);

/* Write *ST to FILE atomically (temporary file, fsync, rename, fsync of the directory). */
int state_save(const char *file, const struct state *st);

/* Append a record (copied); the caller keeps listing order. */
void state_add(struct state *st, const struct srec *r);
void state_release(struct state *st);

/* The default file for a pair: $XDG_STATE_HOME/shelter/sync-<hash>.state. */
char *state_default_path(const char *root1, const char *root2);

/*
 * Lock the pair: flock on FILE.lock, waiting up to WAIT seconds. Returns
 * the fd to keep open, or -1 with the error printed (*BUSY set when
 * another pass holds it).
 */
int state_lock(const char *file, unsigned wait, int *busy);

#endif

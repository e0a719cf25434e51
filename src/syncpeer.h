/*
 * syncpeer.h - one side of a sync pass (doc/sync.md): its listing with the
 * keys that let the state trust a recorded hash, hashing and renaming
 * beneath its root, and the server's loop that offers all of this, and
 * the transfer phases, over the channel.
 */
#ifndef SHELTER_SYNCPEER_H
#define SHELTER_SYNCPEER_H

#include <stdint.h>
#include <sys/stat.h>

#include "beneath.h"
#include "chan.h"
#include "proto.h"
#include "state.h"

struct exclude;

/* A listing entry with its key; e.hash is valid when e.has_hash. */
struct sent {
	struct entry e;
	struct skey key;
};

struct listing {
	struct sent *v;
	size_t n, cap;
};

void key_from_stat(struct skey *k, const struct stat *st);

/* Append a copy of E. */
void listing_add(struct listing *l, const struct entry *e, const struct skey *k);
void listing_release(struct listing *l);

/*
 * Scan ROOT_FD into L in listing order, removing leftover temporary files
 * of an interrupted pass unless DRY. Returns the number of problems met
 * (each reported).
 */
unsigned listing_scan(int root_fd, const struct exclude *ex, int dry, struct listing *l);

#define HASH_STATUS_OK 0
#define HASH_STATUS_MISSING 1
#define HASH_STATUS_UNREADABLE 2

/* What HASH says of one path. */
struct hashed {
	uint8_t status;		/* HASH_STATUS_* */
	char type;		/* 'f', 'd', 'l', 's'; 0 when missing */
	uint32_t mode;
	unsigned char hash[HASH_LEN];	/* files, unless stat only */
	struct skey key;
};

/* Hash (or, with STAT_ONLY, only lstat) PATH beneath B. */
void side_hash(struct beneath *b, const char *path, int stat_only, struct hashed *out);

/* Rename FROM to TO beneath B, never replacing; 0, or -1 with the reason in WHY. */
int side_rename(struct beneath *b, const char *from, const char *to, char *why, size_t whylen);

void hashed_encode(struct buf *b, uint32_t id, const struct hashed *h);
int hashed_decode(const unsigned char *p, size_t n, uint32_t *id, struct hashed *h);
/* X: the listing's previous SENTRY (struct entry_ctx, proto.h). */
void sentry_encode(struct buf *b, const struct entry *e, const struct skey *k,
		   struct entry_ctx *x);
int sentry_decode(const unsigned char *p, size_t n, struct entry *e, struct skey *k,
		  struct entry_ctx *x, char *why, size_t whylen);

/*
 * The server's side of a sync session, after READY; WHOLE: its receiver
 * asks for whole files (a local pair). Returns the exit code.
 */
int syncpeer_serve(struct chan *c, int root_fd, const char *root_name, uint32_t flags,
		   const struct exclude *ex, int whole);

#endif

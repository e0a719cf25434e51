/*
 * proto.h - message types and the codecs of their payloads
 * (doc/protocol.md). Encoders append to a struct buf; decoders parse a
 * payload, check every bound and rule, and return 0 or -1 with the reason
 * in the error buffer the caller passes (never printed here: the caller
 * knows which side sent it).
 */
#ifndef SHELTER_PROTO_H
#define SHELTER_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bounds.h"
#include "buf.h"
#include "retention.h"
#include "stats.h"

enum frame_type {
	F_HELLO = 1,
	F_START = 2,
	F_READY = 3,
	F_ERROR = 4,
	F_MSG = 5,
	F_NOOP = 6,
	F_ENTRY = 10,
	F_END_LIST = 11,
	F_SENTRY = 12,		/* sync session: doc/sync.md */
	F_HASHREQ = 13,
	F_HASH_END = 14,
	F_HASH = 15,
	F_PHASE = 16,
	F_RENAME = 17,
	F_RENAME_END = 18,
	F_RENAMED = 19,
	F_REQ = 20,
	F_SIG = 21,
	F_SIG_END = 22,
	F_PLAN = 23,
	F_PLANENT = 24,		/* sync session: doc/sync.md */
	F_PLAN_END = 25,
	F_FILE = 30,
	F_DATA = 31,
	F_FILE_END = 32,
	F_DONE = 40,
};

const char *frame_name(uint8_t type);

#define HELLO_MAGIC "SHLT"

struct hello {
	uint16_t vmin, vmax;
	uint64_t caps;
};

void hello_encode(struct buf *b, const struct hello *h);
int hello_decode(const unsigned char *p, size_t n, struct hello *h, char *why, size_t whylen);

#define ROLE_SENDER 1
#define ROLE_RECEIVER 2
#define ROLE_SYNC 3		/* a sync peer (doc/sync.md) */
#define ROLE_RESTORE 4		/* a sender of DEST's history as it was (restore) */
#define ROLE_PRUNE 5		/* prune DEST by the rules START carries */
#define ROLE_VERIFY 6		/* verify DEST */

struct start {
	uint8_t role;		/* of the server */
	uint32_t flags;		/* OPT_* */
	uint8_t verbosity;
	uint32_t timeout;	/* --timeout seconds, 0 = none */
	char *root;
	char **patterns;
	uint32_t npatterns;
	struct keep_rules keep;	/* flags & OPT_KEEP: retention after the pass */
	int has_at;		/* ROLE_RESTORE: restore the state at AT, else the mirror */
	int64_t at_sec;
	uint32_t at_nsec;
};

void start_encode(struct buf *b, const struct start *s);
int start_decode(const unsigned char *p, size_t n, struct start *s, char *why, size_t whylen);
void start_release(struct start *s);

/* One listing entry. Strings are owned by the entry. */
struct entry {
	char *path;
	size_t path_len;
	char type;		/* 'f', 'd', 'l' */
	uint8_t flags;		/* ENTRY_* */
	uint32_t mode;		/* & 07777 */
	uint32_t uid, gid;
	uint64_t size;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	char *target;		/* symlinks */
	int has_hash;
	unsigned char hash[16];
};

#define ENTRY_DIR_UNREAD 0x1u	/* directory contents could not be read */
#define ENTRY_DELETE 0x2u	/* sync mode: remove this path (doc/sync.md) */
#define ENTRY_CONTEXT 0x4u	/* sync mode: a parent directory, change nothing */
#define ENTRY_META 0x8u		/* sync mode: metadata only, no content */
#define ENTRY_SYNC_FLAGS (ENTRY_DELETE | ENTRY_CONTEXT | ENTRY_META)

/* entry_decode's WITH: what the encoding carries beyond the listing. */
#define ENTRY_WITH_HASH 0x1	/* the XXH3-128 of a file */
#define ENTRY_WITH_SYNC 0x2	/* the sync-mode flags may be set */

/*
 * The previous entry of a listing, which the next one's encoding refers to
 * (doc/protocol.md, ENTRY, version 2): its path, mode, uid and gid. One per
 * listing and direction, all zero (ENTRY_CTX_INIT) before the first entry;
 * entry_encode updates it, entry_decode when it succeeds. It owns no memory.
 */
struct entry_ctx {
	int has_prev;
	size_t path_len;
	uint32_t mode, uid, gid;
	char path[MAX_PATH_LEN + 1];
};

#define ENTRY_CTX_INIT { 0, 0, 0, 0, 0, { 0 } }

void entry_encode(struct buf *b, const struct entry *e, int with_hash, struct entry_ctx *x);
int entry_decode(const unsigned char *p, size_t n, struct entry *e, int with,
		 struct entry_ctx *x, char *why, size_t whylen);
void entry_release(struct entry *e);
/* Deep copy. */
void entry_copy(struct entry *dst, const struct entry *src);

/*
 * Checking a listing from the wire, entry by entry: each strictly after
 * the one before, and its parent a directory listed and still open
 * (doc/protocol.md "Order").
 */
struct order {
	char **dirs;
	size_t n, cap;
	char *prev;
};

/* 0, or -1 with the reason in WHY. */
int order_check(struct order *o, const struct entry *e, char *why, size_t whylen);
void order_release(struct order *o);

/* MSG and ERROR. */
void msg_encode(struct buf *b, uint8_t kind, const char *text);
int msg_decode(const unsigned char *p, size_t n, uint8_t *kind, char **text);

/* REQ */
struct req {
	uint32_t id;
	char *path;
	uint64_t basis_size;
	uint8_t has_sig;
};
void req_encode(struct buf *b, const struct req *r);
int req_decode(const unsigned char *p, size_t n, struct req *r, char *why, size_t whylen);

/* FILE */
#define FILE_OK 0
#define FILE_VANISHED 1
#define FILE_UNREADABLE 2
#define ENC_RAW 0
#define ENC_DELTA 1
struct file_hdr {
	uint32_t id;
	uint8_t status;
	char *reason;		/* status != 0 */
	uint8_t encoding;
	uint64_t size;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint32_t mode;
};
void file_encode(struct buf *b, const struct file_hdr *f);
int file_decode(const unsigned char *p, size_t n, struct file_hdr *f, char *why, size_t whylen);

struct file_end {
	uint8_t changed;
	unsigned char hash[16];
	uint64_t literal, matched;
};
void file_end_encode(struct buf *b, const struct file_end *f);
int file_end_decode(const unsigned char *p, size_t n, struct file_end *f);

void done_encode(struct buf *b, uint8_t code, const struct stats *st);
int done_decode(const unsigned char *p, size_t n, uint8_t *code, struct stats *st);

#endif

/*
 * role.h - the two roles of a pass. Either runs in the client or in the
 * server; they talk only through the channel (doc/protocol.md).
 */
#ifndef SHELTER_ROLE_H
#define SHELTER_ROLE_H

#include <stdint.h>

#include "chan.h"
#include "stats.h"

struct durable;

struct exclude;
struct plan;
struct restore_src;

struct role_args {
	struct chan *c;
	int root_fd;		/* -1: the receiver's root does not exist (dry run) */
	const char *root_name;	/* for messages: "DEST" or the path */
	uint32_t flags;		/* OPT_* */
	const struct exclude *ex;
	int in_client;		/* this role runs in the process the user started */
	const struct plan *plan;	/* sync mode: the sender lists only this; a
					 * receiver accepts only this */
	int sync;		/* sync mode (doc/sync.md): receiver applies a plan */
	int whole;		/* receiver: ask for whole files, never with a signature
				 * (a local sync pair: a delta would only cost CPU) */
	struct durable *after;	/* receiver, sync client: not NULL, the pass's last
				 * syncfs is the caller's (before it records the new
				 * state); the filesystems to sync are added to it */
	struct restore_src *rsrc;	/* restore: the sender lists and reads this */
	int start_code;		/* sender: the pass's exit code so far (restore: history unread) */
	const struct keep_rules *keep;	/* backup --keep-...: prune after the pass; or NULL */
};

/*
 * Run the sender: stream the listing, answer requests, until DONE. Returns
 * the pass's exit code (this side's and the peer's combined); *STATS gets
 * the receiver's statistics.
 */
int sender_run(const struct role_args *a, struct stats *stats);

/* Run the receiver: merge, request, write, delete, end the pass. */
int receiver_run(const struct role_args *a, struct stats *stats);

/* Handle a frame every role accepts (MSG, ERROR). Returns 1 if handled,
 * 0 if not one of those, -1 after an ERROR (its code in *CODE). */
int role_common_frame(uint8_t type, const unsigned char *p, size_t n, int *code);

#endif

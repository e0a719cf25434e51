/*
 * sync.h - a two-way pass (doc/sync.md): scan both sides, decide per path
 * from both sides and the state, keep conflicts, apply, record the state.
 */
#ifndef SHELTER_SYNC_H
#define SHELTER_SYNC_H

#include "opts.h"

/* shelter sync ROOT1 ROOT2. Returns the exit code. */
struct runcounts;
/* What the pass counted goes to *OUT when OUT is not NULL (the run log). */
int client_sync(const struct opts *o, const char *root1, const char *root2,
		struct runcounts *out);

/* shelter conflicts ROOT: list the conflict copies under a local ROOT. */
int client_conflicts(const struct opts *o, const char *root);

/* 1 if NAME (one path component) is a conflict copy's name. */
int is_conflict_name(const char *name);

/*
 * PATH's conflict copy name for HOST at T (doc/sync.md), numbered N when
 * N > 1, or NULL when it would be too long for a name or a path.
 */
struct timespec;
char *conflict_name(const char *path, const char *host, const struct timespec *t, unsigned n);

#endif

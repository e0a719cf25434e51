/*
 * prune.h - the record of completed passes (DEST/.shelter/passes) and
 * shelter prune: forget snapshots by a --keep-... policy and remove the
 * kept versions no remaining snapshot needs (doc/history.md, "passes",
 * "Snapshots", "Retention", "Prune").
 */
#ifndef SHELTER_PRUNE_H
#define SHELTER_PRUNE_H

#include "retention.h"

/* A pass that ended with CODE recorded a snapshot (0, 23, 24, 26). */
int passes_recorded(int code);

/*
 * Append the pass PASS (its folder name) that ended now with exit code
 * CODE to DEST/.shelter/passes (DEST open as DEST_FD), fsynced, under the
 * DEST lock. A pass whose code is not 0, 23, 24 or 26 is not recorded.
 * Returns 0, or -1 with an error printed.
 */
int passes_append(int dest_fd, const char *pass, int code);

/*
 * A --keep-... option OPT ("--keep-last", ...) with its argument ARG into
 * R. Returns 0 if OPT is one of them and ARG is good, 1 if OPT is not a
 * keep option, -1 with a usage error printed.
 */
int keep_option(struct keep_rules *r, const char *opt, const char *arg);

/*
 * Prune the local DEST (open as DEST_FD, named DEST_NAME in messages) by
 * R. DRY: decide and list, change nothing. VERBOSE: list every snapshot
 * kept and every version removed. Returns an exit code.
 */
int prune_run(int dest_fd, const char *dest_name, const struct keep_rules *r, int dry,
	      int verbose);

/* shelter prune [OPTIONS] DEST; ARGV[0] is "prune". */
int prune_main(int argc, const char **argv, const char *usage);

#endif

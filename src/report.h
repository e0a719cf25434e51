/*
 * report.h - what a pass tells its user: itemized changes, -v lines,
 * --stats and --progress. Lines go through log.c, so a server's reach the
 * client as MSG frames.
 */
#ifndef SHELTER_REPORT_H
#define SHELTER_REPORT_H

#include <stdint.h>

#include "stats.h"

/* Set once per process: itemize (-i) and the verbosity. */
void report_setup(int itemize, int verbosity);

/*
 * One change. CODE is the 11-character itemize code ("*deleting" is
 * padded); PATH relative; IS_DIR adds a trailing slash; TARGET, when not
 * NULL, is printed as " -> TARGET".
 */
void report_item(const char *code, const char *path, int is_dir, const char *target);

void report_stats(const struct stats *st, uint64_t sent, uint64_t received);

/* --progress: enabled only in the client and only on a terminal. */
void progress_enable(int on);
void progress_add(uint64_t bytes);
/* The whole pass's content bytes, once known: progress shows time left. */
void progress_plan(uint64_t bytes);
void progress_end(void);

#endif

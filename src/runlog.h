/*
 * runlog.h - one JSON line per run in the run log (format: doc/runlog.md),
 * and what the hooks, mail and syslog report after a pass.
 *
 * A command calls runlog_begin before it starts, runlog_set_counts when it
 * knows them, runlog_end with its exit code, and runlog_write last. In
 * between, every error and warning the process prints is collected (the
 * first RUNLOG_MAX_ERRORS, then only counted). There is one current run per
 * process; runlog_begin replaces nothing that is still open.
 */
#ifndef SHELTER_RUNLOG_H
#define SHELTER_RUNLOG_H

#include <stdint.h>
#include <time.h>

#include "stats.h"

#define RUNLOG_MAX_ERRORS 100
#define RUNLOG_MAX_TEXT 1000	/* bytes of one message kept */

/* What a pass counted: the backup's struct stats, or sync's own counts. */
struct runcounts {
	int known;			/* 0: the pass did not get far enough */
	struct stats s;
	uint64_t conflicts;		/* sync only */
	int wire_known;
	uint64_t wire_sent, wire_received;	/* protocol bytes, both directions */
};

struct runmsg {
	int error;			/* 1 error, 0 warning */
	char *text;
};

struct runlog {
	const char *file;		/* the run log (owned) */
	const char *command;		/* "backup", "sync", "restore", ... */
	const char *roots[2];		/* as given */
	int nroots;
	int dry_run;			/* -n: logged, but status skips it */
	char host[256];
	struct timespec start, end;
	int code;			/* exit code, once ended */
	int ended;
	struct runcounts counts;
	struct runmsg *msgs;		/* the first RUNLOG_MAX_ERRORS */
	size_t nmsgs;
	uint64_t nerrors, nwarnings;	/* all of them */
};

/*
 * Start the current run: collect messages from now on. FILE is --run-log,
 * or NULL for the default. Returns the run (owned by runlog.c).
 */
struct runlog *runlog_begin(const char *command, const char *const *roots, int nroots,
			    const char *file);
/*
 * Make the line a signal would leave (exit 20), so that a pass that SIGINT,
 * SIGTERM or SIGHUP ends still has one; runlog_on_signal (from the signal
 * handler, async-signal-safe) stamps the time and appends it.
 */
void runlog_arm(struct runlog *rl);
void runlog_on_signal(int sig);
void runlog_set_counts(struct runlog *rl, const struct runcounts *c);
/* Stamp the end and the exit code; messages are still collected after. */
void runlog_end(struct runlog *rl, int code);
/*
 * Append the line (one write, O_APPEND). A failure is a warning and
 * returns -1; it never changes an exit code. Stops collecting.
 */
int runlog_write(struct runlog *rl);
void runlog_free(struct runlog *rl);
/* runlog_end, runlog_write and runlog_free at once; returns CODE. */
int runlog_finish(struct runlog *rl, int code);

/* "ok", "warning" or "failed" for the run as it ended. */
const char *runlog_result(const struct runlog *rl);
/* One line saying what an exit code means. */
const char *exit_meaning(int code);
/* The default run log: $XDG_STATE_HOME/shelter/runs.jsonl (malloc'd). */
char *runlog_default_path(void);

/* Send the summary and every later error to syslog (ident "shelter", LOG_USER). */
void runlog_syslog(struct runlog *rl);
void runlog_syslog_summary(const struct runlog *rl);

/* shelter status [--max-age AGE] [--json] [--run-log FILE] [ROOT...] (status.c). */
int status_main(int argc, const char **argv, const char *usage);

#endif

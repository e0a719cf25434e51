/*
 * opts.h - what a pass was asked to do. Filled by main.c from the command
 * line; the part the server needs travels in the START frame.
 */
#ifndef SHELTER_OPTS_H
#define SHELTER_OPTS_H

#include <stdint.h>

#include "retention.h"

struct exclude;

/* START flags (doc/protocol.md). */
#define OPT_DRY_RUN	0x1u
#define OPT_CHECKSUM	0x2u
#define OPT_NO_HISTORY	0x4u
#define OPT_ITEMIZE	0x8u
#define OPT_CREATE_ROOT	0x10u	/* sync: the server may create its root */
#define OPT_KEEP	0x20u	/* backup: START carries --keep-... rules (retention) */
#define OPT_RESTORE	0x40u	/* receiver: a restore (no scan, nothing deleted) */
#define OPT_IN_PLACE	0x80u	/* restore: TARGET need not be empty */
#define OPT_KNOWN_FLAGS	0xffu

struct opts {
	uint32_t flags;			/* OPT_* */
	int verbosity;			/* 0 quiet, 1 normal, 2 -v, 3 -vv */
	int stats;			/* --stats (client only) */
	int progress;			/* --progress (client only) */
	struct exclude *excludes;	/* never NULL once parsed */
	const char *rsh;		/* -e/--rsh COMMAND, or NULL for "ssh" */
	const char *remote_cmd;		/* --remote-cmd PATH, or NULL for "shelter" */
	unsigned timeout;		/* --timeout seconds, 0 = none */
	unsigned retries;		/* --retries: passes run again after a lost connection */
	unsigned retry_wait;		/* --retry-wait: seconds before the first retry */
	struct keep_rules keep;		/* backup --keep-...: prune after the pass */

	/* sync only */
	const char *state;		/* --state FILE, or NULL for the default */
	int resync;			/* --resync: forget the state, first-pass rules */
	int prefer;			/* PREFER_* */
	unsigned max_delete;		/* --max-delete PERCENT */
	unsigned lock_wait;		/* --lock-wait SECONDS */

	/* monitoring (runlog.c, hooks.c), client only */
	const char *run_log;		/* --run-log FILE, or NULL for the default */
	const char *pre, *post;		/* --pre CMD, --post CMD */
	const char *notify;		/* --notify CMD */
	const char *mail_to;		/* --mail-to ADDR */
	int mail_always;		/* --mail-on always (else: when not ok) */
	int syslog;			/* --syslog */
};

#define PREFER_NONE 0			/* keep both */
#define PREFER_NEWER 1
#define PREFER_OLDER 2
#define PREFER_ROOT1 3
#define PREFER_ROOT2 4

/*
 * A whole number from 0 to MAX for OPTION (WHAT names the kind, for the
 * message): 0 with *OUT set, or -1 with a usage error printed.
 */
int parse_number(const char *option, const char *arg, unsigned max, const char *what,
		 unsigned *out);

/*
 * The options of a command that may reach a remote side, beside its own:
 * -e/--rsh, --remote-cmd, --timeout (popt entries; their values are 'e',
 * 'r', 't'). remote_option stores one into O: 0, or -1 with a usage error
 * printed. It takes popt's copy of the argument (*ARG becomes NULL).
 */
#define REMOTE_OPTIONS(argp) \
	{ "rsh", 'e', POPT_ARG_STRING, argp, 'e', NULL, NULL }, \
	{ "remote-cmd", 0, POPT_ARG_STRING, argp, 'r', NULL, NULL }, \
	{ "timeout", 0, POPT_ARG_STRING, argp, 't', NULL, NULL }
int remote_option(struct opts *o, int val, const char **arg);

/* Print the usage error for popt's error RC (an unknown option, a missing value). */
struct poptContext_s;
void popt_error(struct poptContext_s *pc, int rc);


/* What a server may do (--server's own options, for authorized_keys). */
struct server_opts {
	const char *restrict_dir;	/* --restrict DIR: every root is inside it */
	int read_only;			/* --read-only: refuse to receive */
	int local;			/* forked by a client on this machine (a local
					 * pair): a sync receives whole files */
};

#endif

/*
 * exitcode.h - the exit codes, stable from release 0.1 on; the man page's
 * EXIT STATUS table lists the same. Numbers follow rsync's where the
 * meaning is the same, so scripts that know rsync know these.
 */
#ifndef SHELTER_EXITCODE_H
#define SHELTER_EXITCODE_H

enum exit_code {
	EXIT_OK = 0,
	EXIT_USAGE = 1,		/* bad option or arguments */
	EXIT_PROTO_VERSION = 2,	/* no protocol version in common, not shelter */
	EXIT_ROOTS = 3,		/* SRC/DEST missing, nested, wrong type */
	EXIT_CONFLICTS = 7,	/* sync finished, with conflicts (both versions kept) */
	EXIT_LOCKED = 8,	/* another sync of the same pair is running */
	EXIT_STATE = 9,		/* the sync state file is unreadable or damaged */
	EXIT_CONNECTION = 10,	/* could not start the peer, or lost it */
	EXIT_DEST_IO = 11,	/* I/O error on the destination that stops the pass */
	EXIT_PROTOCOL = 12,	/* malformed or hostile data from the peer */
	EXIT_VERIFY = 16,	/* verify: stored files damaged or missing */
	EXIT_STATUS = 17,	/* status: the last run failed or is older than --max-age */
	EXIT_PRE = 18,		/* the --pre command failed: the pass did not run */
	EXIT_SIGNAL = 20,	/* SIGINT, SIGTERM, SIGHUP */
	EXIT_PARTIAL = 23,	/* some files failed, the rest was done */
	EXIT_VANISHED = 24,	/* some source files vanished */
	EXIT_MAX_DELETE = 25,	/* sync stopped: it would delete more than --max-delete */
	EXIT_CHANGING = 26,	/* files kept changing while read: not recorded as good */
	EXIT_TIMEOUT = 30,	/* no data moved for --timeout seconds */
	EXIT_INTERNAL = 70,	/* a bug */
};

/*
 * An exit code from the peer (in DONE or ERROR) counts only when it is one
 * of the above; any other number is itself a protocol error.
 */
static inline int peer_code(int code)
{
	switch (code) {
	case EXIT_OK: case EXIT_USAGE: case EXIT_PROTO_VERSION: case EXIT_ROOTS:
	case EXIT_CONNECTION: case EXIT_DEST_IO: case EXIT_PROTOCOL: case EXIT_SIGNAL:
	case EXIT_PARTIAL: case EXIT_VANISHED: case EXIT_CHANGING: case EXIT_TIMEOUT:
	case EXIT_INTERNAL: case EXIT_VERIFY: case EXIT_LOCKED:
		return code;
	}
	return EXIT_PROTOCOL;
}

/* Which of two codes a pass reports: the more severe one. */
static inline int exit_worse(int a, int b)
{
	static const int rank[] = {
		/* higher wins */
		[EXIT_OK] = 0, [EXIT_VANISHED] = 1, [EXIT_CONFLICTS] = 1, [EXIT_CHANGING] = 1,
		[EXIT_PARTIAL] = 2, [EXIT_VERIFY] = 2, [EXIT_STATUS] = 2, [EXIT_PRE] = 7,
		[EXIT_LOCKED] = 7, [EXIT_STATE] = 7, [EXIT_MAX_DELETE] = 7,
		[EXIT_DEST_IO] = 3, [EXIT_CONNECTION] = 4, [EXIT_TIMEOUT] = 4, [EXIT_PROTOCOL] = 5,
		[EXIT_PROTO_VERSION] = 6, [EXIT_ROOTS] = 7, [EXIT_USAGE] = 8,
		[EXIT_SIGNAL] = 9, [EXIT_INTERNAL] = 10,
	};
	int ra = (a >= 0 && a < (int)(sizeof(rank) / sizeof(rank[0]))) ? rank[a] : 10;
	int rb = (b >= 0 && b < (int)(sizeof(rank) / sizeof(rank[0]))) ? rank[b] : 10;

	if (a == EXIT_OK)
		return b;
	if (b == EXIT_OK)
		return a;
	return ra >= rb ? a : b;
}

#endif

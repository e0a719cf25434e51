/*
 * session.h - starting a pass: the client side (check the roots, start the
 * server, shake hands, run its role) and the server side (shake hands,
 * open the root it is given, run its role).
 */
#ifndef SHELTER_SESSION_H
#define SHELTER_SESSION_H

#include <sys/types.h>

#include "chan.h"
#include "opts.h"
#include "proto.h"

struct runcounts;

/*
 * shelter backup SRC DEST (one may be remote). Returns the exit code; what
 * the pass counted goes to *OUT when OUT is not NULL (the run log).
 */
int client_backup(const struct opts *o, const char *src, const char *dest,
		  struct runcounts *out);

/*
 * One pass of a command; *REACHED set to 1 once the server answered READY.
 * session_retry runs PASS again after a lost connection or a timeout
 * (--retries, --retry-wait) and returns the last exit code.
 */
typedef int session_pass_fn(const struct opts *o, const char *a, const char *b,
			    struct runcounts *out, int *reached);
int session_retry(const struct opts *o, session_pass_fn *pass, const char *a, const char *b,
		  struct runcounts *out);

/* A client's connection to its server (for a sync pass). */
struct conn {
	struct chan c;
	int fd;
	pid_t pid;
	const char *host;	/* NULL: a forked local server */
	int started;		/* the handshake went through */
};

/*
 * Start the server (forked, or on HOST over -e/ssh), shake hands, send ST
 * (its verbosity, timeout and patterns filled from O) and wait for READY.
 * Returns 0 or the exit code (reported); call session_close either way.
 */
int session_open(const struct opts *o, const char *host, struct start *st, struct conn *cn);

/*
 * FD (a lock) is closed in a forked local server, so that it is held by
 * the client alone and freed when the client dies, even by kill -9.
 */
void session_not_for_server(int fd);

/* Close the channel and wait for the server; returns the pass's exit code. */
int session_close(struct conn *cn, int code);

/*
 * A command the server runs on its DEST (ST's role: ROLE_PRUNE or
 * ROLE_VERIFY): open the session, print what the server says, end with its
 * exit code.
 */
int session_remote_command(const struct opts *o, const char *host, struct start *st);

struct keep_rules;
/*
 * prune (ROLE_PRUNE, by KEEP) or verify (ROLE_VERIFY) of the remote DEST
 * ARG ([user@]host:path) with O's -e, --remote-cmd and --timeout. Returns
 * the exit code.
 */
int remote_dest_command(const struct opts *o, int role, const char *arg,
			const struct keep_rules *keep, int dry, int verbose);

/* shelter --server on IN_FD/OUT_FD, within what SO allows. Returns the exit code. */
int server_main(int in_fd, int out_fd, const struct server_opts *so);

/* SIGINT, SIGTERM, SIGHUP end the process with exit 20 (the temporary file below removed). */
void session_signals(void);

/*
 * The temporary file being written, removed if a signal ends the process
 * (NAME must stay valid until cleared with DIRFD -1).
 */
void session_set_tmp(int dirfd, const char *name);

#endif

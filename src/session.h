/*
 * session.h - starting a pass: the client side (check the roots, start the
 * server, shake hands, run its role) and the server side (shake hands,
 * open the root it is given, run its role).
 */
#ifndef SHELTER_SESSION_H
#define SHELTER_SESSION_H

#include "opts.h"

/* shelter backup SRC DEST, both local. Returns the exit code. */
int client_backup(const struct opts *o, const char *src, const char *dest);

/* shelter --server on IN_FD/OUT_FD, within what SO allows. Returns the exit code. */
int server_main(int in_fd, int out_fd, const struct server_opts *so);

/*
 * The temporary file being written, removed if a signal ends the process
 * (NAME must stay valid until cleared with DIRFD -1).
 */
void session_set_tmp(int dirfd, const char *name);

#endif

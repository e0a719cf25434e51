/*
 * partial.h - what arrived of a file before the connection was lost, kept
 * in DEST/.shelter/partial/ so that the next pass (a --retries attempt or a
 * later run) uses it as the delta basis and sends only the rest.
 *
 * One file per path: partial/<XXH3-128 of the path, 32 hex digits>. Its
 * bytes are a prefix of what the sender was sending; it is never trusted as
 * content (the delta against it is checked by the whole file's hash like
 * any other), only as a source of matching blocks. A pass that ends
 * without losing its peer removes the folder: partials never pile up.
 */
#ifndef SHELTER_PARTIAL_H
#define SHELTER_PARTIAL_H

#include <sys/stat.h>

/* Open DEST/.shelter/partial if it exists: a directory fd, or -1. */
int partial_dir_open(int dest_fd);

/*
 * Move the temporary file TMP in DIRFD (the receiving copy of PATH) into
 * DEST/.shelter/partial/. Returns 0, or -1 with a warning printed (the
 * temporary file is then left for the caller to remove).
 */
int partial_save(int dest_fd, int dirfd, const char *tmp, const char *path);

/* The partial file of PATH in PDIR, opened read-only, with its stat in *ST; or -1. */
int partial_open(int pdir, const char *path, struct stat *st);

/* Remove DEST/.shelter/partial and what it holds; quietly, best effort. */
void partial_clear(int dest_fd);

#endif

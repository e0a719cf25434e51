/*
 * sigfile.h - the librsync signature of a file on disk, and its XXH3-128,
 * in one read, on two cores when the file is big.
 */
#ifndef SHELTER_SIGFILE_H
#define SHELTER_SIGFILE_H

#include <stdint.h>

#include "hash.h"
#include "rsx.h"

/*
 * Sign the first SIZE bytes of the open file FD (the size it had when the
 * caller looked) and hash them into HASH (when not NULL). Nothing reaches
 * SINK unless the whole signature was made: it then gets all of it, in
 * order, exactly the bytes rsx_sig_new(SIZE) would make. TICK (may be NULL)
 * is called between reads to keep the peer from giving up.
 * Returns 0, or -1 with errno when the file could not be read as SIZE bytes
 * (it shrank, or a read failed): the caller sends for the whole file.
 */
int sigfile_make(int fd, uint64_t size, rsx_sink_fn *sink, void *arg, void (*tick)(void),
		 unsigned char hash[HASH_LEN]);

#endif

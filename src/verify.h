/* verify.h - `shelter verify`: re-hash a backup against its records (doc/history.md "verify"). */
#ifndef SHELTER_VERIFY_H
#define SHELTER_VERIFY_H

int verify_main(int argc, const char **argv, const char *usage);

/* Verify the DEST open as DEST_FD (a server's role 6); VERBOSE lists sound files too. */
int verify_dest(int dest_fd, int verbose);

#endif
